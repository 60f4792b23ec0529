"""The two oracles every differentiable thing is checked against.

* :func:`check_finite_differences`: glassnet's gradients vs central differences, in float64.
* :func:`check_against_torch`: glassnet's forward values and input gradients vs PyTorch's, on the
  same arrays, with the same upstream gradient.

Both take the function under test as ``fn(*tensors)`` and the inputs as NumPy arrays; every array
input gets ``requires_grad=True``. A test is one line::

    check_against_torch(lambda x: F.gelu(x), torch.nn.functional.gelu, rng.normal(size=(4, 5)))

For a layer, whose parameters matter as much as its inputs, the same two oracles take the module:

* :func:`check_module_gradients`: the gradients of every parameter and input vs central differences.
* :func:`check_module_against_torch`: outputs and the gradients of every input and parameter vs a
  PyTorch module whose parameters have the same names (ours are the transposes of PyTorch's).

    check_module_gradients(nn.GRU(3, 2, dtype=np.float64, rng=0), rng.normal(size=(2, 4, 3)))
"""

from __future__ import annotations

import numpy as np
import torch

import glassnet as gn
from glassnet.gradcheck import central_differences

torch.set_default_dtype(torch.float64)


def check_finite_differences(fn, *arrays, eps=1e-6, atol=1e-5, rtol=1e-3):
    """Autodiff gradients of ``fn`` at float64 copies of ``arrays`` vs central differences."""
    inputs = [gn.Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    assert gn.gradcheck(fn, *inputs, eps=eps, atol=atol, rtol=rtol)


def check_against_torch(fn, torch_fn, *arrays, dtype=np.float64, atol=1e-6, rtol=1e-5, seed=0):
    """Forward values and gradients of every input, glassnet vs PyTorch.

    The output is reduced with the same random upstream gradient on both sides, so a non-scalar
    output checks the whole vector-Jacobian product. Returns the glassnet output for further checks.
    """
    ours = [gn.Tensor(np.array(a, dtype=dtype), requires_grad=True) for a in arrays]
    theirs = [torch.tensor(np.array(a, dtype=dtype), requires_grad=True) for a in arrays]
    out = fn(*ours)
    expected = torch_fn(*theirs)
    assert out.shape == tuple(expected.shape), f"shape {out.shape} != torch's {tuple(expected.shape)}"
    assert out.dtype == np.dtype(dtype), f"output dtype {out.dtype}, expected {np.dtype(dtype)}"
    np.testing.assert_allclose(out.data, expected.detach().numpy(), atol=atol, rtol=rtol,
                               err_msg="forward values differ from PyTorch")
    upstream = np.random.default_rng(seed).normal(size=out.shape).astype(dtype)
    out.backward(upstream)
    expected.backward(torch.tensor(upstream))
    for i, (a, b) in enumerate(zip(ours, theirs)):
        expected_grad = b.grad.numpy() if b.grad is not None else np.zeros(a.shape)
        got = a.grad if a.grad is not None else np.zeros(a.shape)
        assert got.dtype == np.dtype(dtype), f"grad of input {i} has dtype {got.dtype}"
        np.testing.assert_allclose(got, expected_grad, atol=atol, rtol=rtol,
                                   err_msg=f"gradient of input {i} differs from PyTorch")
    return out


def to_torch(array):
    """A float64 leaf tensor for PyTorch from an array (or a glassnet Tensor's values)."""
    if isinstance(array, gn.Tensor):
        array = array.data
    return torch.tensor(np.array(array, dtype=np.float64), requires_grad=True)


def outputs_of(result) -> list:
    """A module's result as a flat list of Tensors: a Tensor, or (nested) tuples and lists of them
    (an RNN's ``(output, (h_n, c_n))``, attention's ``(output, weights)``); None entries are dropped."""
    if result is None:
        return []
    if isinstance(result, (tuple, list)):
        return [tensor for item in result for tensor in outputs_of(item)]
    return [result]


def _call(module, inputs, forward):
    return module(*inputs) if forward is None else forward(module, *inputs)


def check_module_gradients(module, *arrays, forward=None, loss=None, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0):
    """Autodiff gradients of every parameter of a float64 glassnet Module, and of every array
    input, vs central differences.

    ``forward(module, *inputs)`` calls the module (default ``module(*inputs)``; pass a lambda for
    keyword arguments, or to use one input as query, key and value). ``loss(result)`` turns what it
    returns into a scalar Tensor; by default sum_k sum(v_k * output_k) with fixed random v_k drawn
    from ``seed`` in output order, which checks the whole vector-Jacobian product of every output.
    """
    not_float64 = [name for name, p in module.named_parameters() if p.dtype != np.float64]
    assert not not_float64, f"finite differences need a float64 module; {not_float64} are not"
    inputs = [gn.Tensor(np.array(a, dtype=np.float64), requires_grad=True) for a in arrays]
    projections = []

    def objective():
        result = _call(module, inputs, forward)
        if loss is not None:
            return loss(result)
        outputs = outputs_of(result)
        if not projections:
            rng = np.random.default_rng(seed)
            projections.extend(rng.normal(size=out.shape) for out in outputs)
        return sum((out * gn.Tensor(v)).sum() for v, out in zip(projections, outputs))

    leaves = {f"input {i}": tensor for i, tensor in enumerate(inputs)}
    leaves.update(module.named_parameters())
    for leaf in leaves.values():
        leaf.grad = None
    objective().backward()

    def value():
        with gn.no_grad():
            return float(objective().data)

    for name, leaf in leaves.items():
        got = leaf.grad if leaf.grad is not None else np.zeros(leaf.shape)
        np.testing.assert_allclose(got, central_differences(value, leaf.data, eps), atol=atol, rtol=rtol,
                                   err_msg=f"gradient of {name} differs from central differences")


def check_module_against_torch(ours, theirs, *arrays, forward=None, torch_forward=None, dtype=np.float64,
                               atol=1e-10, rtol=1e-8, seed=1):
    """Outputs and the gradients of every input and every parameter, a glassnet Module vs a
    ``torch.nn.Module`` with the same parameter names and values (ours are the transposes of
    PyTorch's: ``x @ W`` against ``x @ W.T``), under the same random upstream gradients.

    ``forward(module, *inputs)`` calls our module and ``torch_forward`` PyTorch's (defaults: the
    module on the inputs; ``torch_forward`` defaults to ``forward``). Both results are flattened by
    :func:`outputs_of` and compared output by output. Returns our flattened outputs.
    """
    torch_forward = torch_forward or forward
    our_inputs = [gn.Tensor(np.array(a, dtype=dtype), requires_grad=True) for a in arrays]
    their_inputs = [torch.tensor(np.array(a, dtype=dtype), requires_grad=True) for a in arrays]
    our_outputs = outputs_of(_call(ours, our_inputs, forward))
    their_outputs = outputs_of(_call(theirs, their_inputs, torch_forward))
    assert len(our_outputs) == len(their_outputs), f"{len(our_outputs)} outputs, PyTorch {len(their_outputs)}"
    rng = np.random.default_rng(seed)
    upstream = [rng.normal(size=out.shape).astype(dtype) for out in our_outputs]
    for k, (a, b) in enumerate(zip(our_outputs, their_outputs)):
        assert a.shape == tuple(b.shape), f"output {k}: shape {a.shape} != PyTorch's {tuple(b.shape)}"
        assert a.dtype == np.dtype(dtype), f"output {k} has dtype {a.dtype}, expected {np.dtype(dtype)}"
        np.testing.assert_allclose(a.data, b.detach().numpy(), atol=atol, rtol=rtol,
                                   err_msg=f"output {k} differs from PyTorch")
    sum((out * gn.Tensor(g)).sum() for out, g in zip(our_outputs, upstream)).backward()
    sum((out * torch.tensor(g)).sum() for out, g in zip(their_outputs, upstream)).backward()

    their_parameters = dict(theirs.named_parameters())
    our_parameters = dict(ours.named_parameters())
    assert sorted(our_parameters) == sorted(their_parameters), "parameter names differ from PyTorch's"
    pairs = [(f"input {i}", a.grad, b.grad) for i, (a, b) in enumerate(zip(our_inputs, their_inputs))]
    pairs += [(name, p.grad if p.grad is None else p.grad.T, their_parameters[name].grad)
              for name, p in our_parameters.items()]
    for name, got, expected in pairs:
        assert got is not None and expected is not None, f"{name}: a gradient on one side only"
        assert got.dtype == np.dtype(dtype), f"gradient of {name} has dtype {got.dtype}"
        np.testing.assert_allclose(got, expected.numpy(), atol=atol, rtol=rtol,
                                   err_msg=f"gradient of {name} differs from PyTorch")
    return our_outputs
