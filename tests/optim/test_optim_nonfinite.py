"""optimizer.step is all or nothing: a NaN or infinite gradient is an error before any parameter
(or the optimizer's state) changes, and Ctrl-C during a step lands after its last update."""

import os
import signal

import numpy as np
import pytest

import glassnet as gn
from glassnet import optim

MAKERS = [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: optim.Adagrad(ps, lr=0.1),
    lambda ps: optim.RMSprop(ps, lr=0.1), lambda ps: optim.Adam(ps, lr=0.1), lambda ps: optim.AdamW(ps, lr=0.1),
    lambda ps: optim.Adamax(ps, lr=0.1),
]


def three_parameters():
    rng = np.random.default_rng(0)
    return [gn.Parameter(rng.normal(size=shape).astype(np.float32)) for shape in ((3, 4), (4,), (4, 2))]


def one_step(optimizer, params, bad=None, value=np.nan):
    """Gradients of ones, one value of parameter ``bad`` set to ``value``; then a step."""
    for index, param in enumerate(params):
        param.grad = np.ones_like(param.data)
        if index == bad:
            param.grad[1] = value
    optimizer.step()


@pytest.mark.parametrize("make", MAKERS)
@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_a_non_finite_gradient_changes_no_parameter_and_no_state(make, value):
    params = three_parameters()
    optimizer = make(params)
    one_step(optimizer, params)  # a good step first: there is state to keep
    weights, state = [p.data.copy() for p in params], optimizer.state_dict()
    with pytest.raises(FloatingPointError, match=r"gradient of parameter 2 \(shape \(4, 2\)\) holds NaN or inf"):
        one_step(optimizer, params, bad=2, value=value)
    for param, before in zip(params, weights):
        np.testing.assert_array_equal(param.data, before)
    after = optimizer.state_dict()
    assert after["state"].keys() == state["state"].keys()
    for index, entries in state["state"].items():
        for key, value_before in entries.items():
            np.testing.assert_array_equal(after["state"][index][key], value_before)


def test_huge_finite_gradients_whose_sum_overflows_still_step():
    param = gn.Parameter(np.zeros(4, np.float32))
    optimizer = optim.SGD([param], lr=1e-38)
    param.grad = np.full(4, 3e38, np.float32)  # each finite; their sum is inf in float32
    optimizer.step()
    np.testing.assert_allclose(param.data, np.full(4, -3.0, np.float32))


def test_error_if_nonfinite_false_applies_the_step_as_pytorch_does():
    param = gn.Parameter(np.zeros(2, np.float32))
    optimizer = optim.SGD([param], lr=0.1)
    param.grad = np.array([np.nan, 1.0], np.float32)
    optimizer.step(error_if_nonfinite=False)
    assert np.isnan(param.data[0]) and param.data[1] == np.float32(-0.1)


class InterruptedAdam(optim.Adam):
    """Adam that receives a real SIGINT while it updates its second parameter."""

    def _update(self, weight, grad, state, group):
        if weight.shape == (4,):
            os.kill(os.getpid(), signal.SIGINT)
        super()._update(weight, grad, state, group)


def test_ctrl_c_during_a_step_in_whole_steps_lands_after_every_parameter_is_updated():
    params, reference = three_parameters(), three_parameters()
    optimizer, expected = InterruptedAdam(params, lr=0.1), optim.Adam(reference, lr=0.1)
    one_step(expected, reference)
    with pytest.raises(KeyboardInterrupt), optim.whole_steps():
        one_step(optimizer, params)
    for param, want in zip(params, reference):  # the whole step, not part of it
        np.testing.assert_array_equal(param.data, want.data)
    assert [optimizer.state[i]["step"] for i in range(3)] == [1, 1, 1]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handler is put back


def test_ctrl_c_during_an_estimators_fit_keeps_whole_steps(monkeypatch):
    """scikit-learn's MLPs keep what they learned when Ctrl-C stops fit (a warning): every
    parameter has taken the same number of Adam steps, none is half a step behind."""
    import warnings

    from glassnet.sklearn import MLPClassifier

    X = np.random.default_rng(0).normal(size=(200, 5))
    y = (X[:, 0] > 0).astype(int)
    updates = {"count": 0}
    original = optim.Adam._update

    def update(self, weight, grad, state, group):
        updates["count"] += 1
        if updates["count"] == 30:  # the 2nd parameter of the 8th step
            os.kill(os.getpid(), signal.SIGINT)
        original(self, weight, grad, state, group)

    monkeypatch.setattr(optim.Adam, "_update", update)
    estimator = MLPClassifier(max_iter=50, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X, y)
    steps = [estimator._optimizer.state[index]["step"] for index in range(4)]
    assert steps == [8, 8, 8, 8]


def test_whole_steps_installs_its_handler_once_per_run_and_leaves_a_foreign_one_alone():
    """Outside whole_steps a step changes no signal handler (no cost per step); inside, Ctrl-C
    between steps is an ordinary KeyboardInterrupt; a handler of the user's is left as it is."""
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    params = three_parameters()
    optimizer = optim.Adam(params, lr=0.1)
    one_step(optimizer, params)
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with pytest.raises(KeyboardInterrupt), optim.whole_steps():
        assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
        os.kill(os.getpid(), signal.SIGINT)  # not inside a step: it lands at once
        raise AssertionError("the interrupt should have landed")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    received = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        with optim.whole_steps():
            assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
            os.kill(os.getpid(), signal.SIGINT)
        assert received == [signal.SIGINT]
    finally:
        signal.signal(signal.SIGINT, previous)
