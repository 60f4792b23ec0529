"""Module forward hooks and pre-hooks: PyTorch's rules (order, replacement, kwargs, removal)."""

import copy
import pickle

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn


def _model():
    return nn.Sequential(nn.Linear(3, 4, rng=0), nn.ReLU(), nn.Linear(4, 2, rng=1))


def test_forward_hook_sees_inputs_and_output_and_is_removed():
    model, calls = _model(), []
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    handle = model[1].register_forward_hook(lambda m, args, out: calls.append((m, args[0].data, out.data)))
    expected = model(x).data
    assert len(calls) == 1 and calls[0][0] is model[1]
    np.testing.assert_array_equal(calls[0][2], np.maximum(calls[0][1], 0))
    handle.remove()
    handle.remove()  # a second remove does nothing
    np.testing.assert_array_equal(model(x).data, expected)
    assert len(calls) == 1 and "_hooks" not in model[1].__dict__  # back to the plain call


def test_replacing_output_and_arguments_matches_torch():
    rng = np.random.default_rng(0)
    w, b, x = rng.normal(size=(3, 2)), rng.normal(size=2), rng.normal(size=(4, 3))
    ours = nn.Linear(3, 2, dtype=np.float64)
    ours.weight.data[...], ours.bias.data[...] = w, b
    theirs = torch.nn.Linear(3, 2, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(w.T))
        theirs.bias.copy_(torch.tensor(b))
    for module in (ours, theirs):
        module.register_forward_pre_hook(lambda m, args: args[0] * 2)  # non-tuple: wrapped
        module.register_forward_hook(lambda m, args, out: out + 1)
        module.register_forward_hook(lambda m, args, out: None)  # None keeps the output
        module.register_forward_hook(lambda m, args, out: out * 3)
    got = ours(x).data
    want = theirs(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(got, want, rtol=1e-12)
    np.testing.assert_allclose(got, ((2 * x) @ w + b + 1) * 3, rtol=1e-12)


def test_order_prepend_and_with_kwargs():
    class Scale(nn.Module):
        def forward(self, x, factor=1.0):
            return x * factor

    module, order = Scale(), []
    module.register_forward_hook(lambda m, a, o: order.append("post-1"))
    module.register_forward_hook(lambda m, a, o: order.append("post-0"), prepend=True)
    module.register_forward_pre_hook(lambda m, a: order.append("pre-1"))
    module.register_forward_pre_hook(lambda m, a, k: ((a[0],), {**k, "factor": 5.0}), with_kwargs=True)
    seen = {}
    module.register_forward_hook(lambda m, a, k, o: seen.update(k), with_kwargs=True)
    out = module(gn.Tensor([1.0, 2.0]), factor=2.0)
    assert out.data.tolist() == [5.0, 10.0] and seen == {"factor": 5.0}
    assert order == ["pre-1", "post-0", "post-1"]


def test_gradients_flow_through_hooked_modules():
    model = _model()
    x = gn.Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    model(x).sum().backward()
    plain = x.grad.copy()
    captured = []
    with model[0].register_forward_hook(lambda m, a, o: captured.append(o)):
        x2 = gn.Tensor(np.ones((2, 3), np.float32), requires_grad=True)
        model(x2).sum().backward()
    np.testing.assert_array_equal(x2.grad, plain)
    assert captured[0].requires_grad  # the hook saw the graph's own tensor


def test_hostile_hooks_are_refused_and_a_raising_hook_leaves_no_trace():
    model = _model()
    with pytest.raises(TypeError, match="callable"):
        model.register_forward_hook("not a function")
    with pytest.raises(TypeError, match="with_kwargs"):
        model.register_forward_hook(lambda *a: None, with_kwargs="yes")
    handle = model.register_forward_pre_hook(lambda m, a, k: "bad", with_kwargs=True)
    with pytest.raises(TypeError, match=r"pair \(args, kwargs\)"):
        model(np.ones((1, 3)))
    handle.remove()

    def boom(m, a, o):
        raise RuntimeError("hook failed")
    with model.register_forward_hook(boom), pytest.raises(RuntimeError, match="hook failed"):
        model(np.ones((1, 3)))
    assert "_hooks" not in model.__dict__


def test_copies_and_pickles_of_a_hookless_model_carry_nothing():
    model = _model()
    with model.register_forward_hook(lambda m, a, o: None):
        clone = copy.deepcopy(model)
    assert "_hooks" in clone.__dict__  # a deep copy keeps the hooks, as torch's does
    restored = pickle.loads(pickle.dumps(model))
    assert "_hooks" not in restored.__dict__
    np.testing.assert_array_equal(restored(np.ones((1, 3))).data, model(np.ones((1, 3))).data)
