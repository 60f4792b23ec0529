"""Element-wise ops against both oracles: finite differences (float64) and PyTorch (float64 and
float32), on fixed-seed random inputs, with the broadcasting cases that un-broadcast must undo.

Inputs are drawn away from kinks (abs and relu at 0, clip at its bounds, ties of maximum); the
kinks get their own tests, against PyTorch's choice of subgradient.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassnet as gn
from glassnet import ops
from oracle import check_against_torch, check_finite_differences


def check(fn, torch_fn, *arrays):
    """Both oracles, and PyTorch once more in float32 (which also checks that no op upcasts)."""
    check_finite_differences(fn, *arrays)
    check_against_torch(fn, torch_fn, *arrays)
    check_against_torch(fn, torch_fn, *arrays, dtype=np.float32, atol=1e-4, rtol=1e-3)


# ---- input domains (each keeps clear of the op's singular points and kinks) ----------------
def real(rng, shape):
    return rng.normal(size=shape)


def positive(rng, shape):
    return rng.uniform(0.5, 2.0, size=shape)


def nonzero(rng, shape):
    return rng.uniform(0.2, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def above_minus_one(rng, shape):
    return rng.uniform(-0.5, 2.0, size=shape)


def random_broadcast_pair(seed):
    """Two shapes that broadcast: b drops some leading axes of a and sets others to 1."""
    rng = np.random.default_rng(seed)
    a = tuple(int(n) for n in rng.integers(2, 4, size=rng.integers(2, 4)))
    b = tuple(1 if rng.random() < 0.4 else n for n in a[rng.integers(0, 2):])
    return (a, b) if seed % 2 else (b, a)


# ---- binary ops: one line per op ------------------------------------------------------------
BINARY = {  # name: (glassnet, torch, domain of a, domain of b)
    "add": (lambda a, b: a + b, lambda a, b: a + b, real, real),
    "sub": (lambda a, b: a - b, lambda a, b: a - b, real, real),
    "mul": (lambda a, b: a * b, lambda a, b: a * b, real, real),
    "div": (lambda a, b: a / b, lambda a, b: a / b, real, nonzero),
    "pow": (lambda a, b: a ** b, lambda a, b: a ** b, positive, real),
    "maximum": (gn.maximum, torch.maximum, real, real),
    "minimum": (gn.minimum, torch.minimum, real, real),
}
SHAPES = [
    ((3, 4), (3, 4)),
    ((3, 1), (1, 4)),
    ((2, 3, 4), (4,)),
    ((4,), (2, 3, 4)),
    ((2, 1, 3), (4, 1)),
    ((), (2, 3)),
    ((2, 3), ()),
    random_broadcast_pair(1),
    random_broadcast_pair(2),
    random_broadcast_pair(3),
]


@pytest.mark.parametrize("shapes", SHAPES, ids=str)
@pytest.mark.parametrize("name", BINARY)
def test_binary_op(name, shapes):
    fn, torch_fn, domain_a, domain_b = BINARY[name]
    rng = np.random.default_rng(len(name))
    check(fn, torch_fn, domain_a(rng, shapes[0]), domain_b(rng, shapes[1]))


# ---- ops with a Python scalar on one side, and unary ops ------------------------------------
UNARY = {  # name: (glassnet, torch, domain)
    "x + 2.5": (lambda x: x + 2.5, lambda x: x + 2.5, real),
    "2.5 + x": (lambda x: 2.5 + x, lambda x: 2.5 + x, real),
    "x - 2.5": (lambda x: x - 2.5, lambda x: x - 2.5, real),
    "2.5 - x": (lambda x: 2.5 - x, lambda x: 2.5 - x, real),
    "x * -1.5": (lambda x: x * -1.5, lambda x: x * -1.5, real),
    "-1.5 * x": (lambda x: -1.5 * x, lambda x: -1.5 * x, real),
    "x / 4": (lambda x: x / 4, lambda x: x / 4, real),
    "4 / x": (lambda x: 4 / x, lambda x: 4 / x, nonzero),
    "x ** 2": (lambda x: x ** 2, lambda x: x ** 2, real),
    "x ** 3": (lambda x: x ** 3, lambda x: x ** 3, real),
    "x ** -1.5": (lambda x: x ** -1.5, lambda x: x ** -1.5, positive),
    "x ** 0.5": (lambda x: x ** 0.5, lambda x: x ** 0.5, positive),
    "2 ** x": (lambda x: 2.0 ** x, lambda x: 2.0 ** x, real),
    "0.5 ** x": (lambda x: 0.5 ** x, lambda x: 0.5 ** x, real),
    "neg": (lambda x: -x, lambda x: -x, real),
    "exp": (lambda x: x.exp(), torch.exp, real),
    "log": (lambda x: x.log(), torch.log, positive),
    "sqrt": (lambda x: x.sqrt(), torch.sqrt, positive),
    "abs": (lambda x: x.abs(), torch.abs, nonzero),
    "log1p": (ops.log1p, torch.log1p, above_minus_one),
    "tanh": (lambda x: x.tanh(), torch.tanh, real),
    "sigmoid": (lambda x: x.sigmoid(), torch.sigmoid, real),
    "relu": (lambda x: x.relu(), torch.relu, nonzero),
    "softplus": (ops.softplus, TF.softplus, real),
    "erf": (ops.erf, torch.erf, real),
    "clip": (lambda x: x.clip(-0.5, 0.5), lambda x: x.clamp(-0.5, 0.5), real),
    "clip low": (lambda x: x.clip(low=-0.3), lambda x: x.clamp(min=-0.3), real),
    "clip high": (lambda x: x.clip(high=0.3), lambda x: x.clamp(max=0.3), real),
    "x * x (used twice)": (lambda x: x * x, lambda x: x * x, real),
    "x - x (used twice)": (lambda x: x - x * 0.5, lambda x: x - x * 0.5, real),
    "x / x (used twice)": (lambda x: x / (x * x + 1.0), lambda x: x / (x * x + 1.0), real),
}
UNARY_SHAPES = [(), (5,), (3, 4), (2, 3, 4)]


@pytest.mark.parametrize("shape", UNARY_SHAPES, ids=str)
@pytest.mark.parametrize("name", UNARY)
def test_unary_op(name, shape):
    fn, torch_fn, domain = UNARY[name]
    check(fn, torch_fn, domain(np.random.default_rng(7), shape))


# ---- where ------------------------------------------------------------------------------------
WHERE_SHAPES = [  # condition, a, b
    ((3, 4), (3, 4), (3, 4)),
    ((3, 1), (1, 4), (3, 4)),
    ((4,), (2, 3, 4), ()),
    ((2, 3, 4), (3, 1), (4,)),
]


@pytest.mark.parametrize("shapes", WHERE_SHAPES, ids=str)
def test_where(shapes, rng):
    condition = rng.random(shapes[0]) < 0.5
    check(lambda a, b: gn.where(condition, a, b),
          lambda a, b: torch.where(torch.tensor(condition), a, b),
          rng.normal(size=shapes[1]), rng.normal(size=shapes[2]))


def test_where_with_constant_branch_and_tensor_condition(rng):
    x = rng.normal(size=(3, 4))
    check(lambda a: gn.where(a > 0, a, 0.0), lambda a: torch.where(a > 0, a, 0.0), x)
    check(lambda a: gn.where(a < 0, np.ones((3, 4)), a * 2),
          lambda a: torch.where(a < 0, torch.ones(3, 4), a * 2), x)


# ---- kinks: the subgradient PyTorch picks -----------------------------------------------------
def test_maximum_and_minimum_split_ties_like_torch():
    a = np.array([1.0, 2.0, 3.0, -1.0, 0.0])
    b = np.array([1.0, 0.0, 3.0, 5.0, 0.0])
    out = check_against_torch(gn.maximum, torch.maximum, a, b)
    np.testing.assert_array_equal(out.data, [1, 2, 3, 5, 0])
    check_against_torch(gn.minimum, torch.minimum, a, b)
    # With a constant on one side the tensor gets half the gradient at a tie.
    x = gn.Tensor(np.array([0.0, 1.0, -1.0]), requires_grad=True)
    gn.maximum(x, 0.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.5, 1.0, 0.0])


def test_maximum_ties_with_broadcasting():
    a = np.array([[1.0], [2.0]])
    b = np.array([1.0, 2.0, 0.5])
    check_against_torch(gn.maximum, torch.maximum, a, b)
    check_against_torch(gn.minimum, torch.minimum, a, b)


def test_clip_passes_gradient_at_its_bounds_like_torch():
    x = np.array([-1.0, -0.5, 0.0, 0.5, 1.0])
    out = check_against_torch(lambda t: t.clip(-0.5, 0.5), lambda t: t.clamp(-0.5, 0.5), x)
    np.testing.assert_array_equal(out.data, [-0.5, -0.5, 0.0, 0.5, 0.5])


def test_clip_needs_a_bound():
    with pytest.raises(ValueError, match="low or high"):
        gn.Tensor([1.0]).clip()


@pytest.mark.parametrize("name", ["abs", "relu"])
def test_gradient_at_zero_like_torch(name):
    fn, torch_fn, _ = UNARY[name]
    x = np.array([-2.0, 0.0, 3.0])
    check_against_torch(fn, torch_fn, x)


def test_power_with_exponent_zero_at_base_zero_like_torch():
    x = np.array([0.0, 2.0, -3.0])
    out = check_against_torch(lambda t: t ** 0, lambda t: t ** 0, x)
    np.testing.assert_array_equal(out.data, [1.0, 1.0, 1.0])
    base = np.array([0.0, 1.5, 2.0])
    exponent = np.array([0.0, 0.0, 2.0])
    check_against_torch(lambda a, b: a ** b, lambda a, b: a ** b, base, exponent)


def test_power_gradient_of_exponent_at_positive_base_only(rng):
    """tensor ** tensor with a positive base checks d/db = a^b log a against both oracles."""
    base, exponent = positive(rng, (3, 4)), rng.normal(size=(4,))
    check(lambda a, b: a ** b, lambda a, b: a ** b, base, exponent)


# ---- astype -------------------------------------------------------------------------------------
@pytest.mark.parametrize("source, target", [(np.float64, np.float32), (np.float32, np.float64),
                                            (np.float64, np.float64)])
def test_astype_values_and_gradient_dtype(source, target, rng):
    values = rng.normal(size=(3, 4))
    x = gn.Tensor(values.astype(source), requires_grad=True)
    theirs = torch.tensor(values.astype(source), requires_grad=True)
    y = x.astype(target)
    expected = theirs.to(torch.float32 if target == np.float32 else torch.float64)
    assert y.dtype == np.dtype(target)
    np.testing.assert_array_equal(y.data, expected.detach().numpy())
    upstream = rng.normal(size=(3, 4)).astype(target)
    (y * upstream).sum().backward()
    (expected * torch.tensor(upstream)).sum().backward()
    assert x.grad.dtype == np.dtype(source)
    np.testing.assert_allclose(x.grad, theirs.grad.numpy(), rtol=1e-6)


def test_astype_finite_differences(rng):
    check_finite_differences(lambda x: (x.astype(np.float32) * 3.0).astype(np.float64) * x,
                             rng.normal(size=(2, 3)), eps=1e-3, atol=1e-3, rtol=1e-3)


def test_astype_rejects_non_float():
    with pytest.raises(TypeError, match="float32 or float64"):
        gn.Tensor([1.0]).astype(np.int32)
