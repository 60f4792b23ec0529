"""Optimizer.load_state_dict against hostile or foreign state dicts (a crafted backup reaches it):
each is a clear TypeError or ValueError raised before anything changes, never a state that
breaks the next step() halfway through the parameters or silently changes the numbers."""

import copy

import numpy as np
import pytest

import glassnet as gn
from glassnet import optim


def trained(make=lambda params: optim.Adam(params, lr=0.01), dtype=np.float32, steps=2):
    """(parameters, optimizer, its state_dict) after ``steps`` steps on fixed gradients."""
    rng = np.random.default_rng(0)
    params = [gn.Parameter(rng.normal(size=shape).astype(dtype)) for shape in [(4, 3), (3,)]]
    optimizer = make(params)
    for _ in range(steps):
        for p in params:
            p.grad = rng.normal(size=p.shape).astype(dtype)
        optimizer.step()
    return params, optimizer, optimizer.state_dict()


def assert_refused(optimizer, state_dict, error, words):
    """load_state_dict raises ``error`` matching ``words``, and the optimizer is as it was."""
    before = optimizer.state_dict()
    with pytest.raises(error, match=words):
        optimizer.load_state_dict(state_dict)
    after = optimizer.state_dict()
    assert after["param_groups"] == before["param_groups"]
    assert after["state"].keys() == before["state"].keys()
    for index, entries in before["state"].items():
        assert after["state"][index].keys() == entries.keys()
        for key, value in entries.items():
            assert np.array_equal(after["state"][index][key], value)


def edited(state_dict, edit):
    state_dict = copy.deepcopy(state_dict)
    edit(state_dict)
    return state_dict


@pytest.mark.parametrize("edit, error, words", [
    (lambda s: s["state"][0].pop("exp_avg"), ValueError, r"parameter 0 lacks 'exp_avg'"),
    (lambda s: s["state"][1].pop("step"), ValueError, r"parameter 1 lacks 'step'"),
    (lambda s: s["state"][0].update(evil=np.zeros((4, 3), np.float32)), ValueError, r"'evil'.*Adam does not keep"),
    (lambda s: s["state"][0].update(step=-3), ValueError, r"'step' of parameter 0 is -3; a step count is an int >= 0"),
    (lambda s: s["state"][0].update(step=True), TypeError, r"'step' of parameter 0 is True"),
    (lambda s: s["state"][0].update(step=2.5), TypeError, r"'step' of parameter 0 is 2.5"),
    (lambda s: s["state"][0].update(exp_avg=s["state"][0]["exp_avg"].astype(object)), TypeError,
     r"'exp_avg' of parameter 0 has dtype object, the parameter has dtype float32"),
    (lambda s: s["state"][0].update(exp_avg=s["state"][0]["exp_avg"].astype(np.float64)), TypeError,
     r"has dtype float64, the parameter has dtype float32; nothing is cast"),
    (lambda s: s["state"][0].update(exp_avg=s["state"][0]["exp_avg"] > 0), TypeError, r"has dtype bool"),
    (lambda s: s["state"][0].update(exp_avg="hello"), TypeError, r"has dtype <U5"),
    (lambda s: s["state"][0].update(exp_avg_sq=-s["state"][0]["exp_avg_sq"]), ValueError,
     r"'exp_avg_sq' of parameter 0 holds negative values"),
    (lambda s: s["state"].update({0: [1, 2]}), TypeError, r"the state of parameter 0 must be a dict, got list"),
    (lambda s: s["state"].update({"zero": s["state"][0]}), TypeError, r"parameter index 'zero'"),
    (lambda s: s.update(state={True: s["state"][1]}), TypeError, r"parameter index True"),
    (lambda s: s["state"].update({0.5: s["state"][0]}), TypeError, r"parameter index 0.5"),
    (lambda s: s["state"].update({"1": s["state"][1]}), ValueError, r"two states for parameter 1"),
    (lambda s: s["state"].update({7: s["state"][1]}), ValueError, r"state for parameter 7, but Adam has 2"),
    (lambda s: s.update(state=[1]), TypeError, r"'state' must be a dict, got list"),
    (lambda s: s.update(param_groups={"lr": 1.0}), TypeError, r"'param_groups' must be a list, got dict"),
    (lambda s: s.update(param_groups=[]), ValueError, r"the state has 0 parameter groups, Adam has 1"),
    (lambda s: s.update(param_groups=[1]), TypeError, r"param group 0 must be a dict, got int"),
    (lambda s: s["param_groups"][0].update(params=[1, 0]), ValueError, r"param group 0 holds the parameters \[1, 0\]"),
    (lambda s: s["param_groups"][0].update(lr=-1.0), ValueError, r"param group 0: lr must be > 0, got -1.0"),
    (lambda s: s["param_groups"][0].update(momentum=0.9), ValueError,
     r"param group 0: unknown hyperparameter 'momentum'"),
    (lambda s: s.update(hyperparameters={}), ValueError, r"unknown entries \['hyperparameters'\]"),
    (lambda s: s.update(type="SGD"), ValueError, r"saved by SGD, not Adam"),
    (lambda s: s["param_groups"][0].update(amsgrad=True), ValueError, r"parameter 0 lacks 'max_exp_avg_sq'"),
])
def test_a_bad_adam_state_is_refused_and_changes_nothing(edit, error, words):
    params, optimizer, saved = trained()
    assert_refused(optimizer, edited(saved, edit), error, words)
    before = [p.data.copy() for p in params]
    optimizer.step()  # still the optimizer it was: a step works (it was KeyError halfway through)
    assert all(not np.array_equal(p.data, b) for p, b in zip(params, before))


def test_not_a_dict_is_a_type_error():
    _, optimizer, _ = trained()
    assert_refused(optimizer, [("state", {})], TypeError, "expects the dict of state_dict")


@pytest.mark.parametrize("make, key", [
    (lambda p: optim.Adagrad(p, lr=0.1), "sum"),
    (lambda p: optim.RMSprop(p, lr=0.01, momentum=0.9), "square_avg"),
    (lambda p: optim.Adam(p, lr=0.01, amsgrad=True), "max_exp_avg_sq"),
    (lambda p: optim.Adamax(p, lr=0.01), "exp_inf"),
])
def test_a_negative_sum_of_squares_is_refused(make, key):
    """No run makes these negative; the square root of one would put NaN in the weights."""
    _, optimizer, saved = trained(make)
    assert_refused(optimizer, edited(saved, lambda s: s["state"][1][key].__setitem__(0, -1.0)), ValueError,
                   f"'{key}' of parameter 1 holds negative values")


def test_sgd_without_momentum_keeps_no_state_and_refuses_one():
    _, optimizer, saved = trained(lambda p: optim.SGD(p, lr=0.1))
    assert saved["state"] == {0: {}, 1: {}}
    assert_refused(optimizer, edited(saved, lambda s: s["state"][0].update(velocity=np.zeros((4, 3), np.float32))),
                   ValueError, "'velocity'.*SGD does not keep")
    momentum = optim.SGD([gn.Parameter(np.ones((4, 3), np.float32)), gn.Parameter(np.ones(3, np.float32))],
                         lr=0.1, momentum=0.9)
    # was KeyError at the next step
    assert_refused(momentum, {**saved, "param_groups": [{}]}, ValueError, "parameter 0 lacks 'velocity'")


def test_nan_in_a_state_is_kept_as_it_was_saved():
    """A run that diverged has NaN in its weights and its moments; resuming it (BackupAndRestore)
    must go on as the uninterrupted run would, so NaN is loaded as saved, not refused."""
    params, optimizer, saved = trained(dtype=np.float64)
    saved["state"][0]["exp_avg"][0, 0] = np.nan
    other = optim.Adam([gn.Parameter(p.data.copy()) for p in params], lr=0.5)
    other.load_state_dict(saved)
    assert np.isnan(other.state[0]["exp_avg"][0, 0]) and other.lr == 0.01
    assert other.state[0]["exp_avg"] is not saved["state"][0]["exp_avg"]  # a copy


def test_a_state_saved_as_json_keys_and_numpy_ints_loads():
    """Indices written as strings (a JSON object's keys) and NumPy ints load as before."""
    params, optimizer, saved = trained(dtype=np.float64)
    text_keys = {**saved, "state": {str(i): {**e, "step": np.int64(e["step"])} for i, e in saved["state"].items()}}
    other = optim.Adam([gn.Parameter(p.data.copy()) for p in params])
    other.load_state_dict(text_keys)
    assert other.state[1]["step"] == 2 and type(other.state[1]["step"]) is int
    np.testing.assert_array_equal(other.state[1]["exp_avg_sq"], saved["state"][1]["exp_avg_sq"])
