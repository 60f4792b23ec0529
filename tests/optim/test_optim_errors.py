"""Bad hyperparameters and parameter lists raise clear errors that name the bad value."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import optim


def params():
    return [gn.Parameter(np.zeros((2, 3))), gn.Parameter(np.zeros(3))]


@pytest.mark.parametrize("make", [
    lambda lr: optim.SGD(params(), lr=lr), lambda lr: optim.Adagrad(params(), lr=lr),
    lambda lr: optim.RMSprop(params(), lr=lr), lambda lr: optim.Adam(params(), lr=lr),
    lambda lr: optim.AdamW(params(), lr=lr),
])
@pytest.mark.parametrize("lr, message", [
    (0, "lr must be > 0, got 0"), (0.0, "lr must be > 0, got 0.0"), (-0.1, "lr must be > 0, got -0.1"),
    (float("nan"), "lr must be finite, got nan"), (float("inf"), "lr must be finite, got inf"),
])
def test_learning_rate_must_be_positive(make, lr, message):
    with pytest.raises(ValueError, match=message):
        make(lr)


def test_lr_is_checked_when_a_schedule_sets_it():
    optimizer = optim.SGD(params(), lr=0.1)
    optimizer.lr = 0.05
    assert optimizer.lr == 0.05
    with pytest.raises(ValueError, match="lr must be > 0, got -1"):
        optimizer.lr = -1
    assert optimizer.lr == 0.05
    with pytest.raises(TypeError, match="lr must be a real number, got str '0.1'"):
        optimizer.lr = "0.1"


@pytest.mark.parametrize("make, error, message", [
    (lambda: optim.SGD(params(), lr=0.1, momentum=-0.5), ValueError, r"momentum must be in \[0, 1\), got -0.5"),
    (lambda: optim.SGD(params(), lr=0.1, momentum=1.0), ValueError, r"momentum must be in \[0, 1\), got 1.0"),
    (lambda: optim.SGD(params(), lr=0.1, nesterov=True), ValueError, "nesterov=True needs momentum > 0"),
    (lambda: optim.SGD(params(), lr=0.1, weight_decay=-1e-4), ValueError, "weight_decay must be >= 0, got -0.0001"),
    (lambda: optim.Adagrad(params(), eps=-1e-10), ValueError, "eps must be >= 0, got -1e-10"),
    (lambda: optim.Adagrad(params(), initial_accumulator_value=-1), ValueError,
     "initial_accumulator_value must be >= 0, got -1"),
    (lambda: optim.RMSprop(params(), alpha=1.5), ValueError, r"alpha must be in \[0, 1\), got 1.5"),
    (lambda: optim.RMSprop(params(), momentum=-0.1), ValueError, r"momentum must be in \[0, 1\), got -0.1"),
    (lambda: optim.Adam(params(), betas=(0.9, 1.0)), ValueError, r"betas\[1\] must be in \[0, 1\), got 1.0"),
    (lambda: optim.Adam(params(), betas=(-0.1, 0.999)), ValueError, r"betas\[0\] must be in \[0, 1\), got -0.1"),
    (lambda: optim.Adam(params(), betas=0.9), TypeError, r"betas must be a pair \(beta1, beta2\), got 0.9"),
    (lambda: optim.AdamW(params(), weight_decay=-0.01), ValueError, "weight_decay must be >= 0, got -0.01"),
    (lambda: optim.Adam(params(), eps=-1.0), ValueError, "eps must be >= 0, got -1.0"),
    (lambda: optim.Adamax(params(), betas=(0.9, 1.5)), ValueError, r"betas\[1\] must be in \[0, 1\), got 1.5"),
    (lambda: optim.Adamax(params(), betas=[0.9]), TypeError, r"betas must be a pair \(beta1, beta2\), got \[0.9\]"),
    (lambda: optim.Adamax(params(), eps=-1e-8), ValueError, "eps must be >= 0, got -1e-08"),
    (lambda: optim.Adamax(params(), weight_decay=-1.0), ValueError, "weight_decay must be >= 0, got -1.0"),
])
def test_bad_hyperparameters(make, error, message):
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize("bad, error, message", [
    ([], ValueError, "SGD: got an empty list of parameters"),
    ((p for p in []), ValueError, "SGD: got an empty list of parameters"),
    ([np.zeros(3)], TypeError, "SGD: parameter 0 is a ndarray, expected a Parameter"),
    ([gn.Parameter(np.zeros(3)), gn.Tensor(np.zeros(3))], ValueError,
     "SGD: parameter 1 does not require grad"),
    (gn.Parameter(np.zeros(3)), TypeError, "wrap a single one in a list"),
    (3.0, TypeError, "params must be an iterable of Parameters .* got float"),
])
def test_bad_parameter_lists(bad, error, message):
    with pytest.raises(error, match=message):
        optim.SGD(bad, lr=0.1)


def test_the_same_parameter_twice_is_an_error():
    w = gn.Parameter(np.zeros(3))
    with pytest.raises(ValueError, match="parameter 1 appears twice"):
        optim.Adam([w, w])


def test_gradient_of_the_wrong_shape_or_dtype():
    w = gn.Parameter(np.zeros((2, 3)))
    optimizer = optim.Adam([w])
    w.grad = np.zeros(3)
    with pytest.raises(ValueError, match=r"parameter 0 has shape \(2, 3\) but its gradient has shape \(3,\)"):
        optimizer.step()
    w.grad = np.zeros((2, 3), dtype=np.float32)
    with pytest.raises(TypeError, match="parameter 0 is float64 but its gradient is float32"):
        optimizer.step()
    np.testing.assert_array_equal(w.data, np.zeros((2, 3)))  # nothing moved


def test_a_bad_gradient_leaves_every_parameter_unchanged():
    import numpy as np

    import glassnet as gn

    first, second = gn.Parameter(np.ones(3)), gn.Parameter(np.ones(2))
    opt = gn.optim.SGD([first, second], lr=0.1)
    first.grad, second.grad = np.ones(3), np.ones(5)  # the second has the wrong shape
    try:
        opt.step()
    except ValueError as error:
        assert "parameter 1" in str(error) and "(5,)" in str(error)
    else:
        raise AssertionError("step() accepted a gradient of the wrong shape")
    np.testing.assert_array_equal(first.data, np.ones(3))
