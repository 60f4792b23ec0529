"""nn.Embedding against torch.nn.Embedding (repeated indices, padding_idx, any index shape),
finite differences, initialization, errors, config."""

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import functional as F
from glassnet import nn
from oracle import check_finite_differences


def compare(indices, num_embeddings=7, dim=3, padding_idx=None, dtype=np.float64, tol=1e-12):
    ours = nn.Embedding(num_embeddings, dim, padding_idx=padding_idx, dtype=dtype, rng=0)
    theirs = torch.nn.Embedding(num_embeddings, dim, padding_idx=padding_idx,
                                dtype=torch.float64 if dtype == np.float64 else torch.float32)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data))
    out = ours(indices)
    expected = theirs(torch.tensor(np.asarray(indices)))
    assert out.shape == tuple(expected.shape) and out.dtype == dtype
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=tol, atol=tol)
    upstream = np.random.default_rng(1).normal(size=out.shape).astype(dtype)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy(), rtol=tol, atol=tol)
    return ours


@pytest.mark.parametrize("indices", [
    np.array([3, 1, 3, 3, 0]),                         # repeated indices accumulate
    np.array([[0, 6, 2], [2, 2, 5]]),                  # a batch of sequences
    np.random.default_rng(0).integers(0, 7, (2, 3, 4)),
    np.array(4),                                       # a single index
    [1, 2, 1],                                         # a list
    np.array([], dtype=np.int64),                      # nothing
    np.array([5, 0, 5], dtype=np.int32),
])
def test_matches_torch(indices):
    compare(indices)


@pytest.mark.parametrize("padding_idx", [0, 3, -1])
def test_padding_idx_row_gets_no_gradient(padding_idx):
    indices = np.array([[0, 3, 6, 3], [6, 0, 0, 1]])
    ours = compare(indices, padding_idx=padding_idx)
    row = padding_idx % 7
    assert ours.padding_idx == row
    np.testing.assert_array_equal(ours.weight.grad[row], 0)
    assert np.abs(ours.weight.grad[1]).sum() > 0


def test_only_padding_indices():
    ours = compare(np.array([[2, 2], [2, 2]]), padding_idx=2)
    np.testing.assert_array_equal(ours.weight.grad, 0)


def test_float32():
    compare(np.array([[1, 4, 1]]), dtype=np.float32, tol=1e-6)


def test_finite_differences():
    indices = np.array([[0, 2, 2], [4, 0, 1]])
    check_finite_differences(lambda w: F.embedding(indices, w) * F.embedding(indices[::-1], w),
                             np.random.default_rng(2).normal(size=(5, 3)))
    # (With padding_idx the padding row's gradient is zero by design, not the derivative.)


def test_init_is_standard_normal_with_a_zero_padding_row():
    layer = nn.Embedding(1000, 64, padding_idx=5, rng=0)
    assert layer.weight.dtype == np.float32 and layer.weight.shape == (1000, 64)
    np.testing.assert_array_equal(layer.weight.data[5], 0)
    np.testing.assert_allclose(layer.weight.data.std(), 1.0, rtol=0.02)
    np.testing.assert_allclose(layer.weight.data.mean(), 0.0, atol=0.01)
    np.testing.assert_array_equal(nn.Embedding(5, 2, rng=3).weight.data, nn.Embedding(5, 2, rng=3).weight.data)


def test_gradients_accumulate_over_calls():
    layer = nn.Embedding(4, 2, rng=0)
    layer(np.array([1])).sum().backward()
    layer(np.array([1, 3])).sum().backward()
    np.testing.assert_array_equal(layer.weight.grad, [[0, 0], [2, 2], [0, 0], [1, 1]])


def test_errors():
    layer = nn.Embedding(10, 4)
    with pytest.raises(IndexError, match=r"indices must be in \[0, 10\), got values from 0 to 10"):
        layer(np.array([0, 10]))
    with pytest.raises(IndexError, match=r"got values from -1 to 3"):
        layer(np.array([3, -1]))
    with pytest.raises(TypeError, match="embedding needs integer indices, got an array of dtype float64"):
        layer(np.array([1.0, 2.0]))
    with pytest.raises(TypeError, match="got an array of dtype bool"):
        layer(np.array([True, False]))
    with pytest.raises(TypeError, match="got a float32 Tensor"):
        layer(gn.Tensor(np.array([1, 2])))
    with pytest.raises(ValueError, match=r"padding_idx must be in \[-10, 10\), got 10"):
        nn.Embedding(10, 4, padding_idx=10)
    with pytest.raises(TypeError, match="padding_idx must be an int or None"):
        nn.Embedding(10, 4, padding_idx=1.0)
    with pytest.raises(ValueError, match="embedding_dim must be a positive int"):
        nn.Embedding(10, 0)


def test_config_and_repr():
    layer = nn.Embedding(10, 4, padding_idx=-1, dtype="float64")
    config = layer.get_config()
    assert config == {"num_embeddings": 10, "embedding_dim": 4, "padding_idx": 9, "dtype": "float64"}
    assert nn.Embedding(**config).get_config() == config
    assert repr(layer) == "Embedding(10, 4, padding_idx=9)"
