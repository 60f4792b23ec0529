"""SGD's updates of large weights (at least ``_AXPY_MIN`` entries) run through BLAS axpy in
chunks (``Optimizer._add_scaled``); smaller ones, and weights that are not C-contiguous, through
NumPy. Both paths must give torch.optim.SGD's weights, step by step."""

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import optim
from glassnet.optim import optimizer as base

CONFIGS = {
    "plain": {"lr": 0.1},
    "momentum": {"lr": 0.1, "momentum": 0.9},
    "nesterov": {"lr": 0.05, "momentum": 0.8, "nesterov": True},
    "momentum-decay": {"lr": 0.1, "momentum": 0.5, "weight_decay": 0.01},
}
# One shape above the axpy limit whose size is not a multiple of the chunk (the last chunk is
# short), one below it (NumPy).
SHAPES = [(613, 509), (30, 20)]


def run_both(config: dict, dtype, order: str = "C", steps: int = 4) -> float:
    """The largest deviation of glassnet's weights from torch's over ``steps`` steps, relative
    to the largest weight, with the same random gradients on both sides."""
    rng = np.random.default_rng(0)
    start = [rng.normal(size=shape).astype(dtype) for shape in SHAPES]
    ours = [gn.Parameter(np.array(w, order=order)) for w in start]
    theirs = [torch.tensor(w, requires_grad=True) for w in start]
    opt, torch_opt = optim.SGD(ours, **config), torch.optim.SGD(theirs, **config)
    assert base._AXPY_MIN <= ours[0].data.size and ours[1].data.size < base._AXPY_MIN
    assert ours[0].data.size % base._AXPY_CHUNK != 0
    worst = 0.0
    for _ in range(steps):
        for p, t in zip(ours, theirs):
            grad = rng.normal(size=p.data.shape).astype(dtype)
            p.grad, t.grad = np.array(grad, order=order), torch.from_numpy(grad.copy())
        before = [p.data for p in ours]
        opt.step()
        torch_opt.step()
        assert all(p.data is array for p, array in zip(ours, before))  # updated in place
        for p, t in zip(ours, theirs):
            expected = t.detach().numpy()
            worst = max(worst, float(np.abs(p.data - expected).max() / np.abs(expected).max()))
    return worst


@pytest.mark.parametrize("name", CONFIGS)
def test_large_and_small_weights_match_torch_float64(name):
    assert run_both(CONFIGS[name], np.float64) < 1e-12


@pytest.mark.parametrize("name", CONFIGS)
def test_large_and_small_weights_match_torch_float32(name):
    # float32 rounds in a different order on each side (axpy may fuse the multiply-add).
    assert run_both(CONFIGS[name], np.float32) < 1e-6


def test_weights_that_are_not_c_contiguous_take_the_numpy_path():
    # Fortran-ordered weights and gradients: axpy on their flattened views would pair entries
    # wrongly if the path were taken; the NumPy path gives torch's numbers.
    assert run_both(CONFIGS["nesterov"], np.float64, order="F") < 1e-12


def test_add_scaled_covers_every_entry_and_leaves_the_rest_alone():
    # Through the chunk boundaries: every entry moves by exactly scale * x (x an integer, scale
    # a power of two: exact in float32), in place.
    opt = optim.SGD([gn.Parameter(np.zeros(3, np.float32))], lr=0.1)
    size = 2 * base._AXPY_MIN + 5
    target = np.arange(size, dtype=np.float32) % 7
    x = (np.arange(size, dtype=np.float32) % 5) - 2
    expected = target + 0.25 * x
    same = target
    opt._add_scaled(target, 0.25, x)
    assert target is same
    np.testing.assert_array_equal(target, expected)


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_a_read_only_weight_is_refused_before_anything_changes(momentum):
    # BLAS would write through a read-only array; the step refuses it first, state untouched.
    big = gn.Parameter(np.zeros((613, 509), np.float32))
    small = gn.Parameter(np.zeros(3, np.float32))
    opt = optim.SGD([small, big], lr=0.1, momentum=momentum)
    big.data.flags.writeable = False
    small.grad, big.grad = np.ones(3, np.float32), np.ones((613, 509), np.float32)
    with pytest.raises(ValueError, match="parameter 1 is read-only"):
        opt.step()
    assert not big.data.any() and not small.data.any() and not opt.state
