"""glassnet.autograd.grad: PyTorch's torch.autograd.grad, checked against it; no .grad is touched."""

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn
from glassnet.autograd import grad


def _pair(seed=0):
    rng = np.random.default_rng(seed)
    w1, b1 = rng.normal(size=(4, 5)), rng.normal(size=5)
    w2 = rng.normal(size=(5, 3))
    x = rng.normal(size=(6, 4))
    return w1, b1, w2, x


def _glassnet_graph(w1, b1, w2, x):
    xt = gn.Tensor(x, requires_grad=True, dtype=np.float64)
    w1t = gn.Tensor(w1, requires_grad=True, dtype=np.float64)
    hidden = (xt @ w1t + gn.Tensor(b1, dtype=np.float64)).tanh()
    out = hidden @ gn.Tensor(w2, requires_grad=True, dtype=np.float64)
    return xt, w1t, hidden, out


def _torch_graph(w1, b1, w2, x):
    xt = torch.tensor(x, requires_grad=True)
    w1t = torch.tensor(w1, requires_grad=True)
    hidden = torch.tanh(xt @ w1t + torch.tensor(b1))
    out = hidden @ torch.tensor(w2, requires_grad=True)
    return xt, w1t, hidden, out


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_grad_equals_torch_for_leaves_and_intermediates(seed):
    w1, b1, w2, x = _pair(seed)
    upstream = np.random.default_rng(seed + 10).normal(size=(6, 3))
    xg, w1g, hg, og = _glassnet_graph(w1, b1, w2, x)
    xt, w1t, ht, ot = _torch_graph(w1, b1, w2, x)
    ours = grad(og, (xg, hg, w1g), grad_outputs=upstream)
    theirs = torch.autograd.grad(ot, (xt, ht, w1t), grad_outputs=torch.tensor(upstream))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b.numpy(), rtol=1e-12, atol=1e-12)
    assert xg.grad is None and w1g.grad is None  # nothing stored


def test_grad_of_a_scalar_and_of_a_tensor_used_twice():
    x = gn.Tensor([1.0, -2.0, 3.0], requires_grad=True)
    y = x * x + x  # x used twice
    (gx,) = grad(y.sum(), x)
    np.testing.assert_array_equal(gx, 2 * x.data + 1)
    assert gx.dtype == np.float32 and x.grad is None


def test_grad_leaves_parameters_gradients_alone():
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.ReLU(), nn.Linear(4, 2, rng=1))
    x = gn.Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    model(x).sum().backward()
    before = [p.grad.copy() for p in model.parameters()]
    x2 = gn.Tensor(np.full((2, 3), 0.5, np.float32), requires_grad=True)
    (gx,) = grad(model(x2)[:, 1].sum(), x2)
    for p, saved in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.grad, saved)
    x3 = gn.Tensor(x2.data.copy(), requires_grad=True)
    model(x3)[:, 1].sum().backward()  # the same gradient by backward, which does store
    np.testing.assert_array_equal(gx, x3.grad)


def test_grad_root_as_input_and_retain_graph():
    x = gn.Tensor([2.0], requires_grad=True)
    y = x * 3
    (gy, gx) = grad(y, (y, x), retain_graph=True)
    assert gy.tolist() == [1.0] and gx.tolist() == [3.0]
    (gx,) = grad(y, x)  # the graph was kept for this second pass
    assert gx.tolist() == [3.0]
    with pytest.raises(RuntimeError, match="retain_graph"):
        grad(y, x)


def test_grad_refuses_bad_arguments():
    x = gn.Tensor([1.0, 2.0], requires_grad=True)
    unused = gn.Tensor([5.0], requires_grad=True)
    y = x * 2
    with pytest.raises(ValueError, match="grad_outputs is needed"):
        grad(y, x)
    with pytest.raises(ValueError, match=r"needs shape \(2,\)"):
        grad(y, x, grad_outputs=np.ones(3))
    with pytest.raises(ValueError, match=r"inputs\[1\].*not used"):
        grad(y.sum(), (x, unused), retain_graph=True)
    assert grad(y.sum(), (x, unused), allow_unused=True)[1] is None
    with pytest.raises(ValueError, match="does not require grad"):
        grad((x * 2).sum(), gn.Tensor([1.0]))
    with pytest.raises(TypeError, match="must be a Tensor"):
        grad((x * 2).sum(), [np.ones(2)])
    with pytest.raises(TypeError, match="outputs must be a Tensor"):
        grad(np.ones(1), x)
    with pytest.raises(ValueError, match="at least one input"):
        grad((x * 2).sum(), [])
    with gn.no_grad():
        z = x * 2
    with pytest.raises(ValueError, match="outputs does not require grad"):
        grad(z.sum(), x)
