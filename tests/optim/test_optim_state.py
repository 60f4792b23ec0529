"""In-place float32 updates, read-only gradients, zero_grad, and saving/loading optimizer state."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import optim

OPTIMIZERS = {
    "sgd": lambda p: optim.SGD(p, lr=0.1),
    "sgd-nesterov-decay": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "adagrad": lambda p: optim.Adagrad(p, lr=0.1, weight_decay=0.01),
    "rmsprop-centered-momentum": lambda p: optim.RMSprop(p, lr=0.01, momentum=0.9, centered=True,
                                                          weight_decay=0.01),
    "adam-amsgrad-decay": lambda p: optim.Adam(p, lr=0.01, amsgrad=True, weight_decay=0.01),
    "adamw": lambda p: optim.AdamW(p, lr=0.01),
    "adamax-decay": lambda p: optim.Adamax(p, lr=0.01, weight_decay=0.01),
}


def model(dtype, seed=0):
    rng = np.random.default_rng(seed)
    return [gn.Parameter(rng.normal(size=shape).astype(dtype)) for shape in [(4, 3), (3,), (3, 2)]]


def set_gradients(params, step):
    rng = np.random.default_rng(100 + step)
    for p in params:
        p.grad = rng.normal(size=p.shape).astype(p.dtype)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_float32_stays_float32_in_place_and_grad_is_read_only(name):
    params = model(np.float32)
    arrays = [p.data for p in params]
    before = [p.data.copy() for p in params]
    optimizer = OPTIMIZERS[name](params)
    optimizer.lr = np.float64(optimizer.lr)  # a schedule may compute lr in float64
    for step in range(3):
        set_gradients(params, step)
        grads = [p.grad for p in params]
        grad_values = [g.copy() for g in grads]
        optimizer.step()
        for p, array, g, value in zip(params, arrays, grads, grad_values):
            assert p.data is array and p.data.dtype == np.float32
            assert p.grad is g
            np.testing.assert_array_equal(g, value)  # step() never writes into .grad
    for entries in optimizer.state.values():
        for value in entries.values():
            assert not isinstance(value, np.ndarray) or value.dtype == np.float32
    assert all(np.max(np.abs(p.data - b)) > 1e-4 for p, b in zip(params, before))


def test_module_parameters_generator_and_zero_grad():
    params = model(np.float64)
    optimizer = optim.SGD((p for p in params), lr=0.5)  # like model.parameters()
    assert optimizer.params == params
    set_gradients(params, 0)
    expected = [p.data - 0.5 * p.grad for p in params]
    optimizer.step()
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.data, e, rtol=1e-15)
    optimizer.zero_grad()
    assert all(p.grad is None for p in params)
    optimizer.step()  # no gradients: nothing moves
    for p, e in zip(params, expected):
        np.testing.assert_allclose(p.data, e, rtol=1e-15)


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_state_dict_round_trip_resumes_exactly(name):
    straight = model(np.float64)
    optimizer = OPTIMIZERS[name](straight)
    for step in range(6):
        set_gradients(straight, step)
        optimizer.step()

    first_half = model(np.float64)
    interrupted = OPTIMIZERS[name](first_half)
    for step in range(3):
        set_gradients(first_half, step)
        interrupted.step()
    saved = interrupted.state_dict()
    resumed_params = [gn.Parameter(p.data.copy()) for p in first_half]
    resumed = OPTIMIZERS[name](resumed_params)
    resumed.load_state_dict(saved)
    for step in range(3, 6):
        set_gradients(resumed_params, step)
        resumed.step()
    for a, b in zip(straight, resumed_params):
        np.testing.assert_array_equal(a.data, b.data)
    assert resumed.state_dict()["param_groups"] == saved["param_groups"]


def test_state_dict_is_a_copy_and_restores_hyperparameters():
    params = model(np.float64)
    optimizer = optim.Adam(params, lr=0.01)
    set_gradients(params, 0)
    optimizer.step()
    saved = optimizer.state_dict()
    assert saved["type"] == "Adam"
    assert saved["param_groups"] == [{"lr": 0.01, "betas": (0.9, 0.999), "eps": 1e-8,
                                      "weight_decay": 0.0, "amsgrad": False, "params": [0, 1, 2]}]
    assert saved["state"][0]["step"] == 1
    m = saved["state"][0]["exp_avg"].copy()
    optimizer.step()
    np.testing.assert_array_equal(saved["state"][0]["exp_avg"], m)

    other = optim.Adam(model(np.float64), lr=0.5, betas=(0.5, 0.5))
    other.load_state_dict(saved)
    assert (other.lr, other.param_groups[0]["betas"]) == (0.01, (0.9, 0.999))
    np.testing.assert_array_equal(other.state[0]["exp_avg"], m)


def test_load_state_dict_errors_leave_the_optimizer_unchanged():
    params = model(np.float64)
    optimizer = optim.SGD(params, lr=0.1, momentum=0.9)
    set_gradients(params, 0)
    optimizer.step()
    saved = optimizer.state_dict()
    with pytest.raises(ValueError, match="saved by SGD, not Adam"):
        optim.Adam(model(np.float64)).load_state_dict(saved)
    bad = optimizer.state_dict()
    bad["param_groups"][0]["momentum"] = 1.5
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\), got 1.5"):
        optimizer.load_state_dict(bad)
    assert optimizer.param_groups[0]["momentum"] == 0.9
    wrong_shape = optim.SGD(model(np.float64)[::-1], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"'velocity' of parameter 0 has shape \(4, 3\)"):
        wrong_shape.load_state_dict(saved)
    assert wrong_shape.state == {}


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_step_allocates_no_temporary_arrays(name):
    # Updates go through in-place ops and one shared scratch area: after the first step (which
    # makes the state), a step allocates nothing of the parameters' size (here 400 kB).
    import tracemalloc

    params = [gn.Parameter(np.ones((250, 200), dtype=np.float64)), gn.Parameter(np.ones(200))]
    optimizer = OPTIMIZERS[name](params)
    set_gradients(params, 0)
    optimizer.step()
    tracemalloc.start()
    try:
        optimizer.step()
        optimizer.step()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10_000, f"{name}: a step allocated {peak} bytes"
