"""A hostile review of the transposed convolutions, interpolate/Upsample and Unflatten through
the public API: random cases against PyTorch (values and every gradient), sizes where the float
rounding order matters, layers in model files, state dicts and training loops, bad inputs."""

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import functional as F
from glassnet import nn

torch.set_default_dtype(torch.float64)


def against_torch(ours_fn, torch_fn, x, dtype, atol, rtol=0.0, seed=0):
    """Forward values and the input gradient of ``ours_fn`` vs ``torch_fn`` on the array x."""
    ours, theirs = gn.Tensor(x.astype(dtype), requires_grad=True), torch.tensor(x.astype(dtype), requires_grad=True)
    y, expected = ours_fn(ours), torch_fn(theirs)
    assert y.shape == tuple(expected.shape) and y.dtype == np.dtype(dtype)
    np.testing.assert_allclose(y.numpy(), expected.detach().numpy(), atol=atol, rtol=rtol)
    upstream = np.random.default_rng(seed).normal(size=y.shape).astype(dtype)
    y.backward(upstream)
    expected.backward(torch.tensor(upstream))
    assert ours.grad.dtype == np.dtype(dtype)
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), atol=atol, rtol=rtol)


# ---- interpolate: long float32 axes, where PyTorch's rounding order shows --------------------
@pytest.mark.parametrize("shape, kwargs, mode", [
    ((1, 2, 2100), {"scale_factor": 2.5}, "linear"),
    ((1, 1, 4097), {"size": 9001}, "linear"),
    ((1, 1, 10000), {"scale_factor": 1.7}, "linear"),
    ((1, 1, 2100, 3), {"scale_factor": (2.5, 1.5)}, "bilinear"),
    ((1, 1, 3, 3000), {"size": (5, 8100)}, "bilinear"),
])
def test_float32_linear_positions_round_as_in_pytorch(shape, kwargs, mode):
    # PyTorch computes scale * (j + 0.5) - 0.5 in double (j + 0.5 is a double) and rounds the
    # position to float only then; rounding every step in float32 moved lam by up to 2^-12
    # on axes of thousands of entries, so outputs differed from PyTorch by 5e-4.
    x = np.random.default_rng(0).normal(size=shape)
    against_torch(lambda t: F.interpolate(t, mode=mode, **kwargs),
                  lambda t: torch.nn.functional.interpolate(t, mode=mode, **kwargs),
                  x, np.float32, atol=2e-6)


def test_float64_nearest_1d_gradient_is_the_gradient_of_the_returned_output():
    # The documented PyTorch quirk: its float64 1-D backward uses a float32 scale (output 81 of
    # 3000 * 2.7 is read from entry 30 by the forward, its gradient sent to 29 by PyTorch).
    # Our forward equals PyTorch's; our gradient is the exact adjoint of our forward.
    x = np.random.default_rng(1).normal(size=(1, 1, 3000))
    y = F.interpolate(gn.Tensor(x), scale_factor=2.7)
    np.testing.assert_array_equal(y.numpy(), torch.nn.functional.interpolate(torch.tensor(x), scale_factor=2.7).numpy())
    t = gn.Tensor(x, requires_grad=True)
    upstream = np.random.default_rng(2).normal(size=y.shape)
    F.interpolate(t, scale_factor=2.7).backward(upstream)
    # <interpolate(x), g> == <x, grad>: the adjoint identity, exact for a gather.
    assert np.isclose(np.sum(y.numpy() * upstream), np.sum(x * t.grad), rtol=1e-12)
    assert np.isclose(t.grad[0, 0, 30], upstream[0, 0, 81:84].sum(), rtol=1e-12)


# ---- conv_transpose: bad operands -----------------------------------------------------------
@pytest.mark.parametrize("x_shape, w_shape", [
    ((1, 3, 4), (3, 2, 0)), ((1, 3, 4, 4), (3, 2, 0, 2)), ((1, 0, 4), (0, 2, 3)), ((1, 3, 4), (3, 0, 2)),
])
def test_an_empty_weight_is_refused_as_pytorch_does(x_shape, w_shape):
    # A zero-size kernel used to return bias-only outputs of a made-up size ((1, 2, 3) here);
    # PyTorch raises for each of these.
    with pytest.raises(RuntimeError):
        torch.nn.functional.conv_transpose1d(torch.ones(x_shape), torch.ones(w_shape)) if len(w_shape) == 3 \
            else torch.nn.functional.conv_transpose2d(torch.ones(x_shape), torch.ones(w_shape))
    with pytest.raises(ValueError, match=r"needs at least 1 entry on every axis, got shape"):
        F.conv_transpose(np.ones(x_shape), np.ones(w_shape))


# ---- random cases against PyTorch -----------------------------------------------------------
def random_transpose_case(rng):
    """A random ConvTranspose1d/2d case PyTorch accepts: tuples per axis, padding up to 5 (more
    than the kernel covers), output_padding below the stride or the dilation, batch 0, 1 or 3."""
    while True:
        d = int(rng.integers(1, 3))
        kernel = tuple(int(k) for k in rng.integers(1, 5, d))
        stride, dilation = tuple(int(s) for s in rng.integers(1, 4, d)), tuple(int(s) for s in rng.integers(1, 4, d))
        padding = tuple(int(p) for p in rng.integers(0, 6, d))
        output_padding = tuple(int(rng.integers(0, max(s, dl))) for s, dl in zip(stride, dilation))
        size = tuple(int(n) for n in rng.integers(1, 6, d))
        out = [(n - 1) * s - 2 * p + dl * (k - 1) + op + 1
               for n, k, s, p, op, dl in zip(size, kernel, stride, padding, output_padding, dilation)]
        if min(out) >= 1:
            shape = (int(rng.choice([0, 1, 3])), int(rng.integers(1, 4))) + size
            weight_shape = (shape[1], int(rng.integers(1, 4))) + kernel
            return shape, weight_shape, dict(stride=stride, padding=padding, output_padding=output_padding,
                                             dilation=dilation), bool(rng.integers(0, 2))


@pytest.mark.parametrize("seed", range(60))
def test_random_transposed_convolutions_match_torch_values_and_every_gradient(seed):
    rng = np.random.default_rng(seed)
    shape, weight_shape, kwargs, with_bias = random_transpose_case(rng)
    arrays = [rng.normal(size=shape), rng.normal(size=weight_shape), rng.normal(size=weight_shape[1])]
    ours = [gn.Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    torch_fn = torch.nn.functional.conv_transpose1d if len(shape) == 3 else torch.nn.functional.conv_transpose2d
    y = F.conv_transpose(ours[0], ours[1], ours[2] if with_bias else None, **kwargs)
    expected = torch_fn(theirs[0], theirs[1], theirs[2] if with_bias else None, **kwargs)
    assert y.shape == tuple(expected.shape)
    np.testing.assert_allclose(y.numpy(), expected.detach().numpy(), atol=1e-12, rtol=1e-12)
    upstream = rng.normal(size=y.shape)
    y.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for a, b in zip(ours[:3 if with_bias else 2], theirs):
        np.testing.assert_allclose(a.grad, b.grad.numpy(), atol=1e-12, rtol=1e-12)


@pytest.mark.parametrize("seed", range(40))
def test_random_interpolations_match_torch(seed):
    rng = np.random.default_rng(100 + seed)
    d = int(rng.integers(1, 3))
    mode = str(rng.choice(["nearest", ("linear", "bilinear")[d - 1]]))
    size = tuple(int(n) for n in rng.integers(1, 9, d))
    choice = seed % 4
    if choice == 0:
        kwargs = {"size": tuple(int(n) for n in rng.integers(1, 20, d))}
    elif choice == 1:
        kwargs = {"scale_factor": int(rng.integers(1, 5))}
    elif choice == 2:
        kwargs = {"scale_factor": float(np.round(rng.uniform(0.2, 4), 3))}
    else:
        kwargs = {"scale_factor": tuple(float(f) for f in np.round(rng.uniform(0.3, 4, d), 2))}
    factor = kwargs.get("scale_factor")
    factors = factor if isinstance(factor, tuple) else (factor,) * d
    if factor is not None:  # at least one output entry per axis (PyTorch refuses 0 as we do)
        size = tuple(max(n, int(np.ceil(1 / f))) for n, f in zip(size, factors))
    if mode == "nearest" and d == 1 and factor is not None and int(size[0] * factors[0]) in (size[0], 2 * size[0]):
        factors = None  # PyTorch's backward shortcut (documented in nearest_source): values only
    dtype = (np.float32, np.float64)[seed % 2]
    x = rng.normal(size=(2, 3) + size)

    def ours(t):
        return F.interpolate(t, mode=mode, **kwargs)

    def theirs(t):
        return torch.nn.functional.interpolate(t, mode=mode, **kwargs)

    if factors is None:
        np.testing.assert_allclose(ours(gn.Tensor(x.astype(dtype))).numpy(),
                                   theirs(torch.tensor(x.astype(dtype))).numpy(), atol=1e-6)
    else:
        against_torch(ours, theirs, x, dtype, atol=1e-6 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("dim, sizes", [(1, (2, 3)), (-1, (3, -1)), (-2, (-1, 2)), (0, (1, -1)), (2, (1, 4, 1))])
def test_unflatten_matches_torch_with_negative_dims_and_inferred_sizes(dim, sizes):
    x = np.random.default_rng(0).normal(size=(2, 6, 4))
    if dim in (2, -1):
        x = x[..., :4].reshape(2, 6, 4)
    against_torch(lambda t: nn.Unflatten(dim, sizes)(t), lambda t: torch.nn.Unflatten(dim, sizes)(t),
                  x if dim != -1 else x.reshape(2, 4, 6), np.float64, atol=0)


@pytest.mark.parametrize("dim, sizes, match", [
    (1, (4, 2), r"has 6 entries, which cannot be split into \(4, 2\)"),
    (1, (4, -1), r"has 6 entries, which cannot be split into \(4, -1\)"),
    (3, (2, 3), r"dim 3 is out of range for an input of shape \(2, 6, 4\)"),
    (-4, (2, 3), r"dim -4 is out of range"),
])
def test_unflatten_refuses_sizes_that_do_not_multiply_out(dim, sizes, match):
    with pytest.raises(ValueError, match=match):
        nn.Unflatten(dim, sizes)(np.zeros((2, 6, 4)))


@pytest.mark.parametrize("sizes, error", [((2, -1, -1), ValueError), ((0, 3), ValueError), ((), TypeError),
                                          ((2.0, 3), TypeError), (6, TypeError), ((True, 3), TypeError)])
def test_unflatten_refuses_bad_sizes_when_built(sizes, error):
    with pytest.raises(error):
        nn.Unflatten(1, sizes)


# ---- layers: model files, state dicts, training -----------------------------------------------
def autoencoder_1d(dtype=np.float64):
    """Conv1d -> ... -> ConvTranspose1d on signals of 16, every new layer inside."""
    return nn.Sequential(
        nn.Conv1d(1, 4, 3, stride=2, padding=1, rng=0, dtype=dtype), nn.ReLU(), nn.Flatten(),
        nn.Linear(32, 6, rng=1, dtype=dtype), nn.Linear(6, 32, rng=2, dtype=dtype), nn.Unflatten(1, (4, -1)),
        nn.ConvTranspose1d(4, 2, 4, stride=2, padding=1, rng=3, dtype=dtype),
        nn.Upsample(scale_factor=(1.5,), mode="linear"),
        nn.ConvTranspose1d(2, 1, (3,), padding=(6,), dilation=2, bias=False, rng=4, dtype=dtype))


def generator_2d():
    return nn.Sequential(
        nn.Linear(3, 32, rng=0), nn.Unflatten(-1, (8, 2, 2)),
        nn.ConvTranspose2d(8, 4, (3, 2), stride=(2, 1), padding=(1, 0), output_padding=(1, 0), dilation=(1, 2), rng=1),
        nn.Upsample(size=(9, 7), mode="bilinear"), nn.ConvTranspose2d(4, 1, 1, rng=2),
        nn.Upsample(scale_factor=(0.5, 2)))


@pytest.mark.parametrize("build, shape", [(autoencoder_1d, (5, 1, 16)), (generator_2d, (5, 3))])
def test_models_mixing_the_new_layers_round_trip_through_model_files(build, shape, tmp_path):
    model = build()
    x = np.random.default_rng(0).normal(size=shape).astype(model[0].weight.dtype)
    gn.save(model, tmp_path / "m.model")
    loaded = gn.load(tmp_path / "m.model")
    assert repr(loaded) == repr(model)
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())
    assert model(x).shape == ((5, 1, 16) if build is autoencoder_1d else (5, 1, 4, 14))


def test_repr_names_every_argument_that_differs_from_the_default():
    assert repr(generator_2d()[2]) == ("ConvTranspose2d(8, 4, kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), "
                                       "dilation=(1, 2), output_padding=(1, 0))")
    assert repr(nn.Upsample(size=(9, 7), mode="bilinear")) == "Upsample(size=(9, 7), mode='bilinear')"
    assert repr(nn.Unflatten(-1, (8, -1))) == "Unflatten(dim=-1, unflattened_size=(8, -1))"


@pytest.mark.parametrize("config, match", [
    ({"in_channels": 10 ** 9, "out_channels": 10 ** 9, "kernel_size": 3}, r"shape \(1000000000, 1000000000, 3, 3\)"),
    ({"in_channels": 2, "out_channels": 3, "kernel_size": 10 ** 6}, r"shape \(2, 3, 1000000, 1000000\)"),
    ({"in_channels": 2, "out_channels": 3, "kernel_size": [1, 10 ** 6], "bias": False}, r"shape \(2, 3, 1, 1000000\)"),
])
def test_a_file_declaring_a_huge_transposed_convolution_is_refused_before_allocating(config, match, tmp_path):
    import tracemalloc

    from crafted_files import model_file

    path = tmp_path / "huge.model"
    path.write_bytes(model_file({"class": "ConvTranspose2d", "config": config}))
    tracemalloc.start()
    with pytest.raises(gn.io.ModelFileError, match=r"declares more than the file holds: its ConvTranspose2d makes "
                                                   r"an array of " + match):
        gn.load(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 2 ** 21


@pytest.mark.parametrize("config, match", [
    ({"in_channels": 2, "out_channels": 3, "kernel_size": 2, "stride": 2, "output_padding": 2}, "output_padding"),
    ({"in_channels": 2, "out_channels": 3, "kernel_size": 2, "dtype": "int8"}, "dtype"),
    ({"in_channels": 2.5, "out_channels": 3, "kernel_size": 2}, "in_channels"),
])
def test_a_file_with_a_bad_transposed_convolution_config_is_a_model_file_error(config, match, tmp_path):
    from crafted_files import model_file

    path = tmp_path / "bad.model"
    path.write_bytes(model_file({"class": "ConvTranspose1d", "config": config}))
    with pytest.raises(gn.io.ModelFileError, match=match):
        gn.load(path)


def test_load_state_dict_with_wrong_shapes_changes_nothing():
    layer = nn.ConvTranspose2d(2, 3, (3, 2), rng=0)
    before = {key: value.copy() for key, value in layer.state_dict().items()}
    # (out, in, ...) is Conv2d's layout, not this layer's: refused, not silently reshaped.
    for state in ({"weight": np.zeros((3, 2, 3, 2), np.float32), "bias": np.zeros(3, np.float32)},
                  {"weight": np.zeros((2, 3, 2, 3), np.float32), "bias": np.zeros(3, np.float32)},
                  {"weight": np.zeros((2, 3, 3, 2), np.float32), "bias": np.zeros(2, np.float32)},
                  {"weight": np.zeros((2, 3, 3, 2), np.float32)}):
        with pytest.raises(ValueError, match="nothing was changed"):
            layer.load_state_dict(state)
    for key, value in layer.state_dict().items():
        np.testing.assert_array_equal(value, before[key])


def test_float64_layers_pass_gradcheck_on_inputs_and_weights():
    layer = nn.ConvTranspose2d(2, 3, (2, 3), stride=(2, 1), padding=(0, 1), output_padding=(1, 0),
                               dtype=np.float64, rng=0)
    x = gn.Tensor(np.random.default_rng(2).normal(size=(2, 2, 3, 4)), requires_grad=True)
    assert gn.gradcheck(lambda t, w, b: F.conv_transpose2d(t, w, b, (2, 1), (0, 1), (1, 0)),
                        x, layer.weight, layer.bias)
    assert gn.gradcheck(lambda t: F.interpolate(t, scale_factor=(1.7, 0.6), mode="bilinear"), x)
    assert gn.gradcheck(lambda t: nn.Unflatten(1, (1, 2))(t) * t.reshape(2, 1, 2, 3, 4), x)


def test_non_contiguous_and_nan_inputs_behave_as_in_torch():
    x = np.random.default_rng(3).normal(size=(2, 4, 3, 5))[:, ::2, :, ::-1].transpose(0, 1, 3, 2)
    x[0, 1, 2, 1] = np.nan
    layer = nn.ConvTranspose2d(2, 3, (2, 3), stride=(2, 1), padding=(0, 1), output_padding=(1, 0),
                               dtype=np.float64, rng=0)
    reference = torch.nn.ConvTranspose2d(2, 3, (2, 3), stride=(2, 1), padding=(0, 1), output_padding=(1, 0))
    with torch.no_grad():
        reference.weight.copy_(torch.tensor(layer.weight.data))
        reference.bias.copy_(torch.tensor(layer.bias.data))
    expected = reference(torch.tensor(x.copy())).detach().numpy()
    np.testing.assert_array_equal(np.isnan(layer(x).numpy()), np.isnan(expected))
    np.testing.assert_allclose(layer(x).numpy(), expected, atol=1e-12)
    for mode in ("nearest", "bilinear"):
        ours = F.interpolate(gn.Tensor(x), scale_factor=2.5, mode=mode).numpy()
        np.testing.assert_allclose(ours, torch.nn.functional.interpolate(torch.tensor(x.copy()), scale_factor=2.5,
                                                                         mode=mode).numpy(), atol=1e-12)


class Interrupt(gn.Callback):
    """Raises at the start of epoch 2 while ``armed`` (the same callbacks in both runs)."""

    armed = True

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 2 and self.armed:
            raise KeyboardInterrupt


def test_a_conv_autoencoder_trains_in_fit_and_resumes_from_a_backup_bit_for_bit(tmp_path):
    X = np.random.default_rng(5).normal(size=(64, 1, 16))

    interrupt = Interrupt()

    def run(folder):
        model = autoencoder_1d()
        history = gn.fit(model, X, X, loss="mse", optimizer=gn.optim.Adam(model.parameters(), lr=1e-2), epochs=4,
                         batch_size=16, callbacks=[interrupt, gn.BackupAndRestore(folder, save_freq=3)], seed=0,
                         verbose=0, metrics=())
        return model, history

    interrupt.armed = False
    model, history = run(tmp_path / "a")
    assert history.history["loss"][-1] < 0.9 * history.history["loss"][0]
    interrupt.armed = True
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "b")
    assert (tmp_path / "b" / "backup.safetensors").exists()  # the resumed run starts from it
    interrupt.armed = False
    resumed, resumed_history = run(tmp_path / "b")
    assert resumed_history.history["loss"] == history.history["loss"]
    for (name, a), (_, b) in zip(model.state_dict().items(), resumed.state_dict().items()):
        np.testing.assert_array_equal(a, b, err_msg=name)


@pytest.mark.parametrize("shape, scale_factor", [
    ((1, 1, 64, 1), (2.001, 1.0)), ((1, 1, 63, 2), (2.001, 1.0)), ((2, 3, 40, 40), (2.01, 1.3)),
    ((1, 2, 30, 30), (2.01, 1.3)), ((1, 1, 128, 1), (1.001, 1.0)), ((1, 1, 127, 1), (1.001, 1.0)),
    ((2, 1, 3000, 2), (2.0001, 1.0)), ((1, 1, 5, 400), (1.0, 2.001)), ((1, 1, 33, 64), (2.01, 1.0)),
])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_2d_nearest_takes_pytorchs_shortcuts_only_on_small_images(shape, scale_factor, dtype):
    # PyTorch's 2-D kernel copies an unchanged axis and halves indices on a doubled one only
    # while the output's height + width <= 128; beyond, it reads floor(j / scale_factor) like
    # any other size. glassnet took the shortcuts at every size: (1, 1, 64, 1) * 2.001 read
    # entry 1 at output 2 where PyTorch reads entry 0. (PyTorch's backward takes the shortcuts
    # at every size, whatever its forward read: ours is the adjoint of the output we return.)
    x = np.random.default_rng(0).normal(size=shape).astype(dtype)
    t = gn.Tensor(x, requires_grad=True)
    y = F.interpolate(t, scale_factor=scale_factor)
    expected = torch.nn.functional.interpolate(torch.tensor(x), scale_factor=scale_factor)
    np.testing.assert_array_equal(y.numpy(), expected.numpy())
    upstream = np.random.default_rng(1).normal(size=y.shape).astype(dtype)
    y.backward(upstream)
    assert np.isclose(np.sum(y.numpy().astype(np.float64) * upstream), np.sum(x.astype(np.float64) * t.grad),
                      rtol=1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("kwargs", [{"scale_factor": 1e308}, {"scale_factor": 1e20}, {"scale_factor": (1.0, 1e300)},
                                    {"size": 10 ** 30}, {"size": (2, 2 ** 63)}])
def test_a_resize_beyond_any_array_is_a_clear_value_error(kwargs):
    # Was OverflowError ("cannot convert float infinity to integer") or NumPy's bare
    # "Maximum allowed size exceeded"; the layer from a model file fails the same way.
    with pytest.raises(ValueError, match="asks for more output entries than an array can index"):
        F.interpolate(np.zeros((1, 1, 10, 10)), **kwargs)
    with pytest.raises(ValueError, match="asks for more output entries than an array can index"):
        nn.Upsample(**kwargs)(np.zeros((1, 1, 10, 10)))


@pytest.mark.parametrize("kwargs", [
    {"stride": (2, 1), "padding": 1, "dilation": (1, 2), "output_padding": (1, 0), "bias": False},
    {"stride": 2, "output_padding": 1, "bias": False}, {"stride": 2, "output_padding": 1}, {"bias": False}, {},
])
def test_repr_is_pytorchs(kwargs):
    # output_padding came after bias=False ("..., bias=False, output_padding=(1, 0)").
    assert repr(nn.ConvTranspose2d(2, 3, (3, 2), **kwargs)) == repr(torch.nn.ConvTranspose2d(2, 3, (3, 2), **kwargs))
