import numpy as np
import pytest

import glassnet as gn
from glassnet import nn


def test_standardize_fits_train_statistics_and_survives_save(tmp_path, rng):
    X = rng.normal(loc=[5.0, -3.0, 0.0], scale=[2.0, 0.5, 1.0], size=(200, 3))
    X[:, 2] = 7.0  # a constant column gets scale 1, not a division by zero
    layer = nn.Standardize(3).fit(X)
    out = layer(X).numpy()
    np.testing.assert_allclose(out[:, :2].mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(out[:, :2].std(axis=0), 1, atol=1e-5)
    np.testing.assert_array_equal(out[:, 2], 0)
    model = nn.Sequential(layer, nn.Linear(3, 2, rng=0))
    gn.save(model, tmp_path / "m.safetensors")
    loaded = gn.load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(loaded(X).numpy(), model(X).numpy())


def test_standardize_gradient_and_errors(rng):
    layer = nn.Standardize(2, dtype="float64").fit(rng.normal(size=(10, 2)))
    x = gn.Tensor(rng.normal(size=(4, 2)), requires_grad=True)
    layer(x).sum().backward()
    np.testing.assert_allclose(x.grad, np.broadcast_to(1 / layer.scale, (4, 2)))
    with pytest.raises(ValueError, match=r"\(batch, 2\), got \(4, 3\)"):
        layer(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="finite"):
        nn.Standardize(2).fit(np.array([[0.0, np.nan]]))
