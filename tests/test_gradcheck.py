"""gradcheck, the public finite-difference oracle: it passes correct gradients, catches a wrong
backward and says where, and leaves its inputs alone."""

import re

import numpy as np
import pytest

import glassnet as gn
from glassnet import functional as F


def wrong_square(x):
    """x ** 2 with the backward of x ** 2 / 2: the gradient is off by a factor of 2."""
    def backward(g):
        return g * x.data

    return gn.Tensor._from_op(x.data ** 2, (x,), backward, "wrong_square")


def wrong_at_one_entry(x):
    """The identity, whose backward adds 1 to the gradient of entry (1, 2) only."""
    def backward(g):
        grad = g.copy()
        grad[1, 2] += 1.0
        return grad

    return gn.Tensor._from_op(x.data.copy(), (x,), backward, "wrong_at_one_entry")


def tensor(array, requires_grad=True):
    return gn.Tensor(np.array(array, dtype=np.float64), requires_grad=requires_grad)


def test_passes_on_correct_functions(rng):
    x, w = tensor(rng.normal(size=(3, 4))), tensor(rng.normal(size=(4, 2)))
    assert gn.gradcheck(lambda a: (a * a).tanh(), x) is True
    assert gn.gradcheck(lambda a, b: F.softmax(a @ b).sum(), x, w) is True
    assert gn.gradcheck(lambda a: F.gelu(a).mean(axis=0), x) is True
    assert gn.gradcheck(lambda a: a.sum(), tensor(2.0)) is True


def test_a_wrong_backward_raises_and_names_the_input_and_worst_entry():
    a = tensor([[0.5, -0.25], [1.0, 0.75]])
    b = tensor([[0.1, 0.2], [3.0, -0.4]])  # the error |2b - b| = |b| is largest at (1, 0)
    with pytest.raises(gn.GradcheckError) as error:
        gn.gradcheck(lambda p, q: (p * 2.0 + wrong_square(q)).sum(), a, b)
    message = str(error.value)
    assert "input 1 at index (1, 0)" in message
    # The scalar output is scaled by the projection v, so the two numbers are 3 v and 6 v.
    numbers = re.search(r"autodiff gives (\S+), finite differences (\S+) ", message).groups()
    got, expected = map(float, numbers)
    np.testing.assert_allclose(expected, 2 * got, rtol=1e-6)
    np.testing.assert_allclose(abs(got) / 3.0, abs(np.random.default_rng(0).normal(size=())), rtol=1e-6)
    assert isinstance(error.value, AssertionError)  # pytest shows it as a failed check


def test_the_worst_entry_of_a_non_scalar_output_is_found(rng):
    x = tensor(rng.normal(size=(3, 4)))
    with pytest.raises(gn.GradcheckError, match=r"input 0 at index \(1, 2\)"):
        gn.gradcheck(wrong_at_one_entry, x)
    with pytest.raises(gn.GradcheckError, match=r"input 0 at index \(1, 2\)"):
        gn.gradcheck(lambda t: wrong_at_one_entry(t) * 3.0 + 1.0, x)


def test_non_scalar_outputs_are_checked_through_a_random_projection(rng):
    x = tensor(rng.normal(size=(4,)))
    assert gn.gradcheck(lambda t: t.exp() * 2.0, x)
    with pytest.raises(gn.GradcheckError, match="input 0"):
        gn.gradcheck(wrong_square, x)  # the output (4,) is not reduced by the function
    for seed in range(3):  # whatever projection is drawn, the wrong gradient shows
        assert gn.gradcheck(wrong_square, x, seed=seed, raise_exception=False) is False


def test_raise_exception_false_returns_false():
    x = tensor([1.0, 2.0])
    assert gn.gradcheck(lambda t: wrong_square(t).sum(), x, raise_exception=False) is False
    assert gn.gradcheck(lambda t: (t * t).sum(), x, raise_exception=False) is True


def test_tolerances_decide():
    x = tensor([1.0, 2.0])
    off_by_a_little = lambda t: (t * 1.0).sum() + wrong_square(t * 1e-3).sum()  # noqa: E731
    # The error is 1e-6 * x, far below atol=1e-5: it passes, and fails once the tolerance is tight.
    assert gn.gradcheck(off_by_a_little, x)
    assert not gn.gradcheck(off_by_a_little, x, atol=1e-9, rtol=1e-9, raise_exception=False)


def test_only_inputs_that_require_grad_are_checked_and_others_pass_through(rng):
    x = tensor(rng.normal(size=(2, 3)))
    fixed = tensor(rng.normal(size=(2, 3)), requires_grad=False)
    assert gn.gradcheck(lambda a, b, scale: wrong_square(b).sum() + (a * scale).sum(), x, fixed, 3.0)
    with pytest.raises(ValueError, match="no input is a Tensor with requires_grad=True"):
        gn.gradcheck(lambda a: a.sum(), fixed)


def test_the_inputs_are_not_modified_and_float32_is_checked_in_float64():
    values = np.array([[0.3, -1.2, 2.0]], dtype=np.float32)
    x = gn.Tensor(values.copy(), requires_grad=True)
    assert gn.gradcheck(lambda t: (t * t * t).sum(), x)
    np.testing.assert_array_equal(x.data, values)
    assert x.data.dtype == np.float32 and x.grad is None


def test_fn_must_return_a_tensor():
    with pytest.raises(TypeError, match="must return a Tensor, got float"):
        gn.gradcheck(lambda t: 1.0, tensor([1.0]))
