"""F.interpolate, nn.Upsample and nn.Unflatten: values and gradients against PyTorch for every
mode, integer and fractional scale factors and explicit sizes, float64 and float32; finite
differences; the index arithmetic read off PyTorch; errors; configs and model files."""

import json

import numpy as np
import pytest
import torch

import glassnet as gn
import glassnet.ops.interpolate
from glassnet import functional as F
from glassnet import nn
from glassnet.functional.interpolate import linear_source, nearest_source
from oracle import check_against_torch, check_finite_differences

# (mode, input spatial shape, size, scale_factor): upsampling, downsampling, integer and
# fractional factors, a different factor per axis, sizes that are not multiples.
CASES = [
    ("nearest", (5,), None, 2), ("nearest", (5,), None, 3), ("nearest", (7,), None, 2.5),
    ("nearest", (10,), None, 0.5), ("nearest", (9,), None, 0.37), ("nearest", (6,), None, 1.7),
    ("nearest", (4,), 11, None), ("nearest", (12,), 5, None), ("nearest", (1,), 4, None),
    ("linear", (5,), None, 2), ("linear", (5,), None, 3), ("linear", (7,), None, 2.5),
    ("linear", (10,), None, 0.5), ("linear", (9,), None, 0.37), ("linear", (6,), None, 1.7),
    ("linear", (4,), 11, None), ("linear", (12,), 5, None), ("linear", (1,), 4, None),
    ("linear", (3,), None, 1.2), ("linear", (13,), 1, None),
    ("nearest", (3, 4), None, 2), ("nearest", (3, 4), None, (2, 3)), ("nearest", (5, 4), None, (1.5, 2.25)),
    ("nearest", (6, 8), None, 0.5), ("nearest", (3, 5), (7, 4), None), ("nearest", (3, 4), None, (1.2, 2.1)),
    ("nearest", (1, 1), (3, 2), None),
    ("bilinear", (3, 4), None, 2), ("bilinear", (3, 4), None, (2, 3)), ("bilinear", (5, 4), None, (1.5, 2.25)),
    ("bilinear", (6, 8), None, 0.5), ("bilinear", (3, 5), (7, 4), None), ("bilinear", (4, 3), None, (0.6, 3.3)),
    ("bilinear", (1, 2), (3, 5), None),
]


def interpolation(mode, size, scale_factor):
    def ours(x):
        return F.interpolate(x, size=size, scale_factor=scale_factor, mode=mode)

    def theirs(x):
        return torch.nn.functional.interpolate(x, size=size, scale_factor=scale_factor, mode=mode)
    return ours, theirs


@pytest.mark.parametrize("mode, spatial, size, scale_factor", CASES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("backward", ["matrix", "segment sums"])
def test_interpolate_matches_torch(mode, spatial, size, scale_factor, dtype, backward, monkeypatch):
    if backward == "segment sums":  # the path of large axes, taken here for small ones
        monkeypatch.setattr(glassnet.ops.interpolate, "DENSE_LIMIT", 0)
    x = np.random.default_rng(0).normal(size=(2, 3) + spatial)
    tolerance = dict(atol=1e-12, rtol=1e-12) if dtype == np.float64 else dict(atol=1e-5, rtol=1e-5)
    check_against_torch(*interpolation(mode, size, scale_factor), x, dtype=dtype, **tolerance)


@pytest.mark.parametrize("mode, spatial, size, scale_factor", [
    ("nearest", (4,), None, 2.5), ("nearest", (9,), None, 0.37), ("linear", (4,), None, 1.6),
    ("linear", (9,), 4, None), ("nearest", (3, 4), None, (1.5, 0.75)), ("bilinear", (3, 4), None, (1.5, 0.75)),
    ("bilinear", (4, 2), (3, 5), None),
])
def test_interpolate_gradients_match_finite_differences(mode, spatial, size, scale_factor):
    x = np.random.default_rng(1).normal(size=(2, 2) + spatial)
    check_finite_differences(lambda t: F.interpolate(t, size, scale_factor, mode) ** 2, x)


def test_nearest_with_an_integer_factor_repeats_and_its_gradient_sums_the_copies():
    x = gn.Tensor(np.array([[[1.0, 2.0, 3.0]]]), requires_grad=True)
    y = F.interpolate(x, scale_factor=3)
    assert np.array_equal(y.data, np.repeat(x.data, 3, axis=-1))
    y.backward(np.arange(9.0).reshape(1, 1, 9))
    assert np.array_equal(x.grad, [[[0 + 1 + 2, 3 + 4 + 5, 6 + 7 + 8]]])


def test_a_long_axis_takes_the_segment_sums_and_matches_torch():
    x = np.random.default_rng(8).normal(size=(1, 2, 2100))  # 2100 * 4200 > DENSE_LIMIT
    assert 2100 * 4200 > glassnet.ops.interpolate.DENSE_LIMIT
    for mode in ("nearest", "linear"):
        check_against_torch(*interpolation(mode, None, 2), x, atol=1e-12, rtol=1e-12)


def test_downsampling_leaves_entries_nobody_reads_with_zero_gradient():
    x = gn.Tensor(np.arange(10.0).reshape(1, 1, 10), requires_grad=True)
    y = F.interpolate(x, scale_factor=0.3)  # reads entries 0, 3, 6
    assert np.array_equal(y.data, [[[0.0, 3.0, 6.0]]])
    y.sum().backward()
    assert np.array_equal(x.grad[0, 0], [1, 0, 0, 1, 0, 0, 1, 0, 0, 0])


# ---- the index arithmetic, read off PyTorch ------------------------------------------------------
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_nearest_indices_are_pytorchs(dtype):
    """On an input holding its own indices, PyTorch's output is the index each output copies."""
    rng = np.random.default_rng(2)
    for _ in range(300):
        n_in = int(rng.integers(1, 40))
        factor = float(rng.choice([rng.uniform(0.2, 4.0), round(rng.uniform(0.2, 4.0), 2), rng.integers(1, 5)]))
        if int(n_in * factor) < 1:
            continue
        signal = torch.arange(n_in, dtype=torch.float64 if dtype == np.float64 else torch.float32)
        expected = torch.nn.functional.interpolate(signal.reshape(1, 1, -1), scale_factor=factor).flatten()
        got = nearest_source(n_in, int(n_in * factor), factor, dtype, shortcuts=False)
        assert np.array_equal(got, expected.numpy().astype(int)), (n_in, factor)
        image = signal.reshape(1, 1, -1, 1).expand(1, 1, n_in, 2)
        expected = torch.nn.functional.interpolate(image, scale_factor=(factor, 1.0))[0, 0, :, 0]
        got = nearest_source(n_in, int(n_in * factor), factor, dtype, shortcuts=True)
        assert np.array_equal(got, expected.numpy().astype(int)), (n_in, factor)


def test_linear_weights_are_pytorchs():
    """Output j of the linear resize of a one-hot input e_i is the weight of entry i in it."""
    rng = np.random.default_rng(3)
    for _ in range(60):
        n_in, n_out = (int(n) for n in rng.integers(1, 20, 2))
        factor = None if rng.random() < 0.5 else float(rng.uniform(0.3, 3.0))
        if factor is not None:
            n_out = int(n_in * factor)
            if n_out < 1:
                continue
        size = None if factor is not None else n_out
        weights = torch.nn.functional.interpolate(torch.eye(n_in).reshape(n_in, 1, n_in), size=size,
                                                  scale_factor=factor, mode="linear")[:, 0, :].numpy()
        index0, index1, lam = linear_source(n_in, n_out, factor, np.float64)
        ours = np.zeros((n_in, n_out))
        np.add.at(ours, (index0, np.arange(n_out)), 1 - lam)  # the test may scatter slowly
        np.add.at(ours, (index1, np.arange(n_out)), lam)
        np.testing.assert_allclose(ours, weights, atol=1e-14, err_msg=f"{n_in} -> {n_out}, factor {factor}")


def test_1d_nearest_keeps_the_gradient_of_its_own_output():
    """PyTorch's 1-D nearest forward maps 3 entries by factor 1.2 to entries (0, 0, 1), but its
    backward treats an unchanged size as a copy; ours is the gradient of the output it computes."""
    x = gn.Tensor(np.array([[[1.0, 2.0, 3.0]]]), requires_grad=True)
    y = F.interpolate(x, scale_factor=1.2)
    expected = torch.nn.functional.interpolate(torch.tensor(x.data), scale_factor=1.2)
    assert np.array_equal(y.data, expected.numpy()) and np.array_equal(y.data, [[[1.0, 1.0, 2.0]]])
    y.backward(np.array([[[1.0, 10.0, 100.0]]]))
    assert np.array_equal(x.grad, [[[11.0, 100.0, 0.0]]])
    check_finite_differences(lambda t: F.interpolate(t, scale_factor=1.2) ** 2, np.array([[[1.0, 2.0, 3.0]]]))


def test_float32_stays_float32():
    x = gn.Tensor(np.ones((2, 3, 4, 5), np.float32), requires_grad=True)
    y = F.interpolate(x, scale_factor=1.5, mode="bilinear")
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float32 and y.shape == (2, 3, 6, 7)
    np.testing.assert_allclose(y.data, 1.0, rtol=1e-6)


# ---- the layer -----------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, spatial", [
    (dict(scale_factor=2), (6,)), (dict(scale_factor=2, mode="linear"), (6,)),
    (dict(size=9, mode="linear"), (6,)), (dict(scale_factor=(2, 1.5), mode="bilinear"), (3, 4)),
    (dict(size=(5, 7)), (3, 4)), (dict(scale_factor=0.5, mode="bilinear"), (6, 6)),
])
def test_upsample_layer_matches_torch(kwargs, spatial):
    x = np.random.default_rng(4).normal(size=(2, 3) + spatial)
    layer, theirs = nn.Upsample(**kwargs), torch.nn.Upsample(**kwargs)
    check_against_torch(layer, theirs, x, atol=1e-12, rtol=1e-12)


def test_decoder_with_upsample_matches_torch_float32():
    """Linear -> Unflatten -> Upsample -> Conv1d, the autoencoder decoder shape, in float32."""
    ours = nn.Sequential(nn.Linear(4, 16, rng=0), nn.Unflatten(1, (2, 8)), nn.Upsample(scale_factor=2, mode="linear"),
                         nn.Conv1d(2, 1, 3, padding=1, rng=1))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 16), torch.nn.Unflatten(1, (2, 8)),
                                 torch.nn.Upsample(scale_factor=2, mode="linear"),
                                 torch.nn.Conv1d(2, 1, 3, padding=1)).float()
    with torch.no_grad():
        for (name, ours_p), theirs_p in zip(ours.named_parameters(), theirs.parameters()):
            theirs_p.copy_(torch.tensor(ours_p.data.T if name == "0.weight" else ours_p.data))
    x = np.random.default_rng(5).normal(size=(3, 4)).astype(np.float32)
    out, expected = ours(x), theirs(torch.tensor(x))
    assert out.shape == (3, 1, 16) and out.dtype == np.float32
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(), ValueError, "exactly one of size and scale_factor, got neither"),
    (dict(size=4, scale_factor=2), ValueError, "got both"),
    (dict(scale_factor=0), ValueError, "positive and finite"),
    (dict(scale_factor=-2.0), ValueError, "positive and finite"),
    (dict(scale_factor=float("nan")), ValueError, "positive and finite"),
    (dict(scale_factor=float("inf")), ValueError, "positive and finite"),
    (dict(size=0), ValueError, "size must be positive"),
    (dict(size=2.5), TypeError, "size must be an int"),
    (dict(size=True), TypeError, "size must be an int"),
    (dict(scale_factor="2"), TypeError, "scale_factor must be a number"),
    (dict(scale_factor=(2, 2, 2)), ValueError, "one entry per spatial axis"),
    (dict(scale_factor=(2, 2), mode="linear"), ValueError, r"one entry per spatial axis \(1\)"),
    (dict(scale_factor=2, mode="bicubic"), ValueError, "mode"),
    (dict(scale_factor=2, mode="linear", align_corners=True), ValueError, "align_corners"),
    (dict(scale_factor=2, align_corners=False), ValueError, "align_corners"),
])
def test_upsample_arguments_are_checked_when_built(kwargs, error, match):
    with pytest.raises(error, match=match):
        nn.Upsample(**kwargs)


@pytest.mark.parametrize("shape, kwargs, error, match", [
    ((1, 2, 4), dict(scale_factor=2, mode="bilinear"), ValueError, r"'bilinear' needs a 4-D \(N, C, H, W\) input"),
    ((1, 2, 4, 4), dict(scale_factor=2, mode="linear"), ValueError, r"'linear' needs a 3-D \(N, C, L\) input"),
    ((2, 4), dict(scale_factor=2), ValueError, "'nearest' needs a 3-D"),
    ((1, 2, 3, 3, 3), dict(scale_factor=2), ValueError, "'nearest' needs a 3-D .* or 4-D"),
    ((1, 2, 4), dict(scale_factor=0.2), ValueError, "at least 1 entry"),
    ((1, 2, 4), dict(size=(3, 3)), ValueError, "one entry per spatial axis"),
    ((1, 2, 4), dict(scale_factor=2, mode="area"), ValueError, "mode"),
    ((1, 2, 0), dict(size=3), ValueError, "every spatial axis of the input needs at least 1 entry"),
    ((1, 2, 3, 0), dict(scale_factor=2), ValueError, "at least 1 entry, got shape"),
])
def test_interpolate_rejects_bad_arguments(shape, kwargs, error, match):
    with pytest.raises(error, match=match):
        F.interpolate(np.ones(shape), **kwargs)


def test_upsample_layer_rejects_a_wrong_rank():
    with pytest.raises(ValueError, match=r"Upsample\(mode='linear'\) expects an input of 3 dimensions"):
        nn.Upsample(scale_factor=2, mode="linear")(np.ones((1, 1, 2, 2)))
    layer = nn.Upsample(scale_factor=(2, 3))  # nearest: the tuple fits a 2-D input only
    assert layer(np.ones((1, 1, 2, 2))).shape == (1, 1, 4, 6)
    with pytest.raises(ValueError, match="one entry per spatial axis"):
        layer(np.ones((1, 1, 2)))


# ---- Unflatten -----------------------------------------------------------------------------------
@pytest.mark.parametrize("dim, sizes, shape", [
    (1, (3, 4), (2, 12)), (1, (2, 3, 2), (2, 12, 5)), (-1, (5, 2), (3, 4, 10)), (0, (2, 3), (6, 4)),
    (-2, (2, -1), (3, 8, 2)), (1, [4, 1], (2, 4)), (2, (1,), (2, 3, 1)),
])
def test_unflatten_matches_torch(dim, sizes, shape):
    x = np.random.default_rng(6).normal(size=shape)
    check_against_torch(nn.Unflatten(dim, sizes), torch.nn.Unflatten(dim, sizes), x)


@pytest.mark.parametrize("dim, sizes, error, match", [
    (1.0, (2, 3), TypeError, "dim"), (True, (2, 3), TypeError, "dim"),
    (1, 6, TypeError, "unflattened_size must be a non-empty tuple"), (1, (), TypeError, "non-empty"),
    (1, (2, 0), ValueError, "positive ints and at most one -1"), (1, (-1, -1), ValueError, "at most one -1"),
    (1, (2, 1.5), TypeError, "unflattened_size"),
])
def test_unflatten_arguments_are_checked_when_built(dim, sizes, error, match):
    with pytest.raises(error, match=match):
        nn.Unflatten(dim, sizes)


def test_unflatten_rejects_an_input_it_cannot_split():
    with pytest.raises(ValueError, match=r"has 12 entries, which cannot be split into \(5, 2\)"):
        nn.Unflatten(1, (5, 2))(np.ones((2, 12)))
    with pytest.raises(ValueError, match=r"cannot be split into \(5, -1\)"):
        nn.Unflatten(1, (5, -1))(np.ones((2, 12)))
    with pytest.raises(ValueError, match="dim 3 is out of range"):
        nn.Unflatten(3, (2, 6))(np.ones((2, 12)))


# ---- configs and model files ---------------------------------------------------------------------
@pytest.mark.parametrize("layer", [
    nn.Upsample(scale_factor=2), nn.Upsample(size=(5, 7), mode="bilinear"),
    nn.Upsample(scale_factor=(1.5, 2), mode="nearest"),
    nn.Upsample(scale_factor=2.5, mode="linear", align_corners=False),
    nn.Unflatten(-1, (2, -1)),
], ids=repr)
def test_config_is_json_and_rebuilds_the_layer(layer):
    text = json.dumps(layer.get_config(), allow_nan=False)
    rebuilt = type(layer)(**json.loads(text))
    assert repr(rebuilt) == repr(layer) and json.dumps(rebuilt.get_config()) == text


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_saved_decoder_with_every_new_layer_loads_the_same(tmp_path, dtype):
    model = nn.Sequential(nn.Linear(3, 8, dtype=dtype, rng=0), nn.Unflatten(1, (2, 4)),
                          nn.Upsample(scale_factor=2, mode="linear"),
                          nn.ConvTranspose1d(2, 2, 4, 2, 1, dtype=dtype, rng=1),
                          nn.Unflatten(1, (1, 2)), nn.Upsample(size=(3, 20), mode="bilinear"),
                          nn.ConvTranspose2d(1, 1, 3, stride=2, output_padding=1, dtype=dtype, rng=2),
                          nn.Upsample(scale_factor=(0.5, 1.5)))
    x = np.random.default_rng(7).normal(size=(2, 3)).astype(dtype)
    expected = model(x).numpy()
    assert expected.shape == (2, 1, 4, 63) and expected.dtype == np.dtype(dtype)
    path = tmp_path / "decoder.safetensors"
    gn.save(model, path)
    loaded = gn.load(path)
    assert repr(loaded) == repr(model)
    assert np.array_equal(loaded(x).numpy(), expected)


def test_the_scale_factor_comes_first_as_the_issue_writes_it():
    """``nn.Upsample(scale_factor, mode)``: Upsample(2) doubles (torch.nn.Upsample(2) would mean
    size 2); by name, each argument is PyTorch's."""
    x = np.arange(6.0).reshape(1, 2, 3)
    expected = torch.nn.Upsample(scale_factor=2, mode="linear")(torch.tensor(x)).numpy()
    np.testing.assert_array_equal(nn.Upsample(2, "linear")(gn.Tensor(x)).numpy(), expected)
    assert nn.Upsample(2)(np.zeros((1, 1, 4, 5))).shape == (1, 1, 8, 10)
    assert nn.Upsample(size=7)(np.zeros((1, 1, 3))).shape == (1, 1, 7)
    assert nn.Upsample(0.5, size=None)(np.zeros((1, 1, 6))).shape == (1, 1, 3)
