"""The two oracles every differentiable thing is checked against.

* :func:`check_finite_differences`: glassnet's gradients vs central differences, in float64.
* :func:`check_against_torch`: glassnet's forward values and input gradients vs PyTorch's, on the
  same arrays, with the same upstream gradient.

Both take the function under test as ``fn(*tensors)`` and the inputs as NumPy arrays; every array
input gets ``requires_grad=True``. A test is one line::

    check_against_torch(lambda x: F.gelu(x), torch.nn.functional.gelu, rng.normal(size=(4, 5)))
"""

from __future__ import annotations

import numpy as np
import torch

import glassnet as gn

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
