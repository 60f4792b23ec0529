"""LayerGradCam equals Captum's formula computed with PyTorch on a twin of the model (float64):
the gradient of the target's score with respect to the layer's output (or input), averaged over
the spatial axes, weighting the channels; interpolate equals torch's F.interpolate."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassnet as gn
from glassnet import nn
from glassnet.explain import LayerGradCam, interpolate


def cnn2d(dtype=np.float64):
    return nn.Sequential(nn.Conv2d(2, 4, 3, padding=1, dtype=dtype, rng=0), nn.ReLU(),
                         nn.Conv2d(4, 3, 3, dtype=dtype, rng=1), nn.Tanh(), nn.Flatten(),
                         nn.Linear(3 * 4 * 4, 5, dtype=dtype, rng=2))


def cnn1d():
    return nn.Sequential(nn.Conv1d(3, 4, 3, dtype=np.float64, rng=0), nn.ReLU(), nn.Conv1d(4, 2, 2, dtype=np.float64,
                                                                                          rng=1),
                         nn.Flatten(), nn.Linear(2 * 5, 3, dtype=np.float64, rng=2))


def twin(model):
    """The PyTorch twin: the same layers and weights (Linear weights transposed)."""
    layers = []
    for layer in model:
        if isinstance(layer, (nn.Conv1d, nn.Conv2d)):
            kind = torch.nn.Conv1d if isinstance(layer, nn.Conv1d) else torch.nn.Conv2d
            t = kind(layer.in_channels, layer.out_channels, layer.kernel_size, padding=layer.padding)
            t.weight.data = torch.tensor(layer.weight.data)
            t.bias.data = torch.tensor(layer.bias.data)
        elif isinstance(layer, nn.Linear):
            t = torch.nn.Linear(*layer.weight.shape)
            t.weight.data = torch.tensor(layer.weight.data.T.copy())
            t.bias.data = torch.tensor(layer.bias.data)
        else:
            t = {nn.ReLU: torch.nn.ReLU, nn.Tanh: torch.nn.Tanh, nn.Flatten: torch.nn.Flatten}[type(layer)]()
        layers.append(t)
    return torch.nn.Sequential(*layers).double()


def captum_gradcam(model, index, x, target, to_input=False, relu=False, summation=True):
    """Captum's LayerGradCam with PyTorch: torch.autograd.grad of the summed target scores with
    respect to the layer's output (or input), caught by a forward hook."""
    torch_model = twin(model)
    caught = []
    handle = torch_model[index].register_forward_hook(lambda m, args, out: caught.append(args[0] if to_input else out))
    inputs = torch.tensor(x, requires_grad=True)
    out = torch_model(inputs)
    handle.remove()
    score = out[torch.arange(len(x)), torch.as_tensor(target)].sum()
    (grads,) = torch.autograd.grad(score, caught[0])
    weights = grads.mean(dim=tuple(range(2, grads.ndim)), keepdim=True) if grads.ndim > 2 else grads
    maps = weights * caught[0]
    if summation:
        maps = maps.sum(dim=1, keepdim=True)
    if relu:
        maps = TF.relu(maps)
    return maps.detach().numpy()


@pytest.mark.parametrize("index", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("to_input", [False, True])
@pytest.mark.parametrize("relu, summation", [(False, True), (True, True), (False, False)])
def test_layer_gradcam_equals_captums_formula_2d(index, to_input, relu, summation):
    model = cnn2d()
    x = np.random.default_rng(0).normal(size=(3, 2, 6, 6))
    target = [4, 0, 2]
    got = LayerGradCam(model, model[index]).attribute(x, target=target, attribute_to_layer_input=to_input,
                                                      relu_attributions=relu, attr_dim_summation=summation)
    expected = captum_gradcam(model, index, x, target, to_input, relu, summation)
    assert got.shape == expected.shape and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-13)


def test_layer_gradcam_shapes_are_the_layers_resolution():
    model = cnn2d()
    x = np.random.default_rng(1).normal(size=(2, 2, 6, 6))
    assert LayerGradCam(model, model[2]).attribute(x, target=1).shape == (2, 1, 4, 4)
    assert LayerGradCam(model, model[0]).attribute(x, target=1).shape == (2, 1, 6, 6)
    assert LayerGradCam(model, model[4]).attribute(x, target=1).shape == (2, 1)  # (N, C): no spatial axes
    assert LayerGradCam(model, model[2]).attribute(x, target=1, attr_dim_summation=False).shape == (2, 3, 4, 4)


@pytest.mark.parametrize("index, to_input", [(0, False), (2, False), (2, True), (1, True)])
def test_layer_gradcam_equals_captums_formula_1d(index, to_input):
    model = cnn1d()
    x = np.random.default_rng(2).normal(size=(4, 3, 8))
    got = LayerGradCam(model, model[index]).attribute(x, target=2, attribute_to_layer_input=to_input)
    expected = captum_gradcam(model, index, x, [2] * 4, to_input)
    assert got.shape == expected.shape == ((4, 1, 6) if (index, to_input) == (0, False) else expected.shape)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-13)


def test_float32_model_and_a_function():
    x = np.random.default_rng(3).normal(size=(2, 2, 6, 6))
    small = cnn2d(np.float32)
    got = LayerGradCam(small, small[2]).attribute(x.astype(np.float32), target=1)
    assert got.dtype == np.float32
    expected = captum_gradcam(small, 2, x.astype(np.float32).astype(np.float64), [1, 1])
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)
    # float64 inputs to a float32 model: computed by the model in float32, returned in float64
    assert LayerGradCam(small, small[2]).attribute(x, target=1).dtype == np.float64
    # a function that calls the model: the layer is found by its hook
    model = cnn2d()
    got = LayerGradCam(lambda t: model(t) * 2.0, model[2]).attribute(x, target=1)
    np.testing.assert_allclose(got, 2 * captum_gradcam(model, 2, x, [1, 1]), rtol=1e-10, atol=1e-13)


def test_the_model_is_left_as_it_was():
    model = nn.Sequential(nn.Conv2d(1, 3, 3, dtype=np.float64, rng=0), nn.BatchNorm2d(3, dtype=np.float64), nn.ReLU(),
                          nn.Dropout(0.5, rng=0), nn.Flatten(), nn.Linear(3 * 4 * 4, 2, dtype=np.float64, rng=1))
    x = np.random.default_rng(4).normal(size=(3, 1, 6, 6))
    model(gn.Tensor(x)).sum().backward()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    grads = [p.grad.copy() for p in model.parameters()]
    first = LayerGradCam(model, model[1]).attribute(x, target=0)
    second = LayerGradCam(model, model[1]).attribute(x, target=0)
    np.testing.assert_array_equal(first, second)  # eval mode: no dropout, running statistics
    assert all(m.training for m in model.modules())
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v, before[k])
    for p, g in zip(model.parameters(), grads):
        np.testing.assert_array_equal(p.grad, g)
    assert all("_hooks" not in m.__dict__ for m in model.modules())  # hooks removed
    # with gn.no_grad() around it, the gradient is still taken
    with gn.no_grad():
        np.testing.assert_array_equal(LayerGradCam(model, model[1]).attribute(x, target=0), first)


@pytest.mark.parametrize("size", [(12, 12), (7, 9), (3, 2), (4, 4)])
@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_interpolate_equals_torch(size, mode, dtype):
    maps = np.random.default_rng(5).normal(size=(2, 1, 4, 4)).astype(dtype)
    got = interpolate(maps, size, mode=mode)
    expected = TF.interpolate(torch.tensor(maps), size=size, mode=mode,
                              **({} if mode == "nearest" else {"align_corners": False})).numpy()
    assert got.dtype == dtype and got.shape == (2, 1) + size
    np.testing.assert_allclose(got, expected, rtol=1e-6 if dtype == np.float32 else 1e-13, atol=1e-7)


@pytest.mark.parametrize("mode, torch_mode", [("bilinear", "linear"), ("nearest", "nearest")])
def test_interpolate_1d_equals_torch(mode, torch_mode):
    maps = np.random.default_rng(6).normal(size=(3, 1, 6))
    got = interpolate(gn.Tensor(maps), (16,), mode=mode)
    expected = TF.interpolate(torch.tensor(maps), size=(16,), mode=torch_mode,
                              **({} if mode == "nearest" else {"align_corners": False})).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-14)


class Recurrent(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.GRU(3, 4, dtype=np.float64, rng=0)
        self.head = nn.Linear(4, 2, dtype=np.float64, rng=1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def test_bad_arguments():
    model = cnn2d()
    x = np.random.default_rng(7).normal(size=(2, 2, 6, 6))
    with pytest.raises(ValueError, match="not a sub-module"):
        LayerGradCam(model, nn.Conv2d(2, 4, 3))
    with pytest.raises(TypeError, match="layer must be a glassnet Module"):
        LayerGradCam(model, "0")
    with pytest.raises(TypeError, match="forward_func"):
        LayerGradCam(None, model[0])
    other = cnn2d()
    with pytest.raises(ValueError, match="called 0 times"):  # a function that never calls the layer
        LayerGradCam(lambda t: other(t), model[0]).attribute(x, target=0)
    with pytest.raises(ValueError, match="NaN"):
        LayerGradCam(model, model[0]).attribute(np.full_like(x, np.nan), target=0)
    with pytest.raises(ValueError, match="target"):
        LayerGradCam(model, model[0]).attribute(x, target=5)
    with pytest.raises(ValueError, match="target"):
        LayerGradCam(model, model[0]).attribute(x, target=None)
    with pytest.raises(TypeError, match="relu_attributions"):
        LayerGradCam(model, model[0]).attribute(x, target=0, relu_attributions="yes")
    recurrent = Recurrent()
    with pytest.raises(TypeError, match="one Tensor"):
        LayerGradCam(recurrent, recurrent.rnn).attribute(np.ones((2, 5, 3)), target=0)
    assert all("_hooks" not in m.__dict__ for m in (*recurrent.modules(), *model.modules()))
    with pytest.raises(ValueError, match="shape"):
        interpolate(np.ones((4, 4)), (8, 8))
    with pytest.raises(ValueError, match="one entry per spatial axis"):
        interpolate(np.ones((2, 4, 4)), (8, 8))
    with pytest.raises(ValueError, match="mode"):
        interpolate(np.ones((1, 1, 4, 4)), (8, 8), mode="bicubic")
    with pytest.raises(ValueError, match="size"):
        interpolate(np.ones((1, 1, 4, 4)), (8, 8, 8))
