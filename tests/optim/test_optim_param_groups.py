"""Parameter groups as PyTorch writes them, every optimizer step by step against torch.optim:
two groups with different hyperparameters, a group added mid-training, a schedule editing one
group; plus frozen parameters, editing and saving groups, and bad groups."""

import copy

import numpy as np
import pytest
import torch
from optim_side_by_side import run_side_by_side

import glassnet as gn
from glassnet import nn, optim

# name -> (glassnet class, torch class, group 0 (the "body": W1, b1), group 1 (the "head": W2, b2)
# settings beyond the defaults, defaults). Each group differs in lr, and in weight_decay and
# momentum/betas where the optimizer has them.
GROUPED = {
    "sgd": (optim.SGD, torch.optim.SGD, {"lr": 0.01, "weight_decay": 0.1}, {}, {"lr": 0.2}),
    "sgd-momentum": (optim.SGD, torch.optim.SGD, {"lr": 0.01, "momentum": 0.5, "weight_decay": 0.05},
                     {"nesterov": True}, {"lr": 0.1, "momentum": 0.9}),
    # torch's Adagrad fills every group's "sum" with the constructor's initial_accumulator_value
    # (it ignores a group's own): so it is compared here as a default only (see the test below).
    "adagrad": (optim.Adagrad, torch.optim.Adagrad, {"lr": 0.02, "weight_decay": 0.1},
                {}, {"lr": 0.1, "eps": 0.0, "initial_accumulator_value": 0.3}),
    "rmsprop": (optim.RMSprop, torch.optim.RMSprop, {"lr": 0.001, "momentum": 0.5, "centered": True},
                {"weight_decay": 0.1, "alpha": 0.9}, {"lr": 0.01}),
    "adam": (optim.Adam, torch.optim.Adam, {"lr": 0.001, "betas": (0.8, 0.9), "weight_decay": 0.1},
             {"amsgrad": True}, {"lr": 0.02}),
    "adamw": (optim.AdamW, torch.optim.AdamW, {"lr": 0.001, "weight_decay": 0.5}, {"eps": 1e-3}, {"lr": 0.02}),
    "adamax": (optim.Adamax, torch.optim.Adamax, {"lr": 0.001, "weight_decay": 0.1}, {"betas": (0.5, 0.9)},
               {"lr": 0.02}),
}


def grouped(make, body, head, defaults):
    return lambda p: make([{"params": p[:2], **body}, {"params": p[2:], **head}], **defaults)


@pytest.mark.parametrize("name", GROUPED)
def test_two_groups_follow_torch(name):
    ours, theirs, body, head, defaults = GROUPED[name]
    worst = run_side_by_side(grouped(ours, body, head, defaults), grouped(theirs, body, head, defaults))
    assert worst < 1e-7


@pytest.mark.parametrize("name", GROUPED)
def test_a_group_added_mid_training_follows_torch(name):
    """The head trains alone for 8 steps (the body gets gradients but is in no group), then the
    body joins with its own settings, as add_param_group does in PyTorch."""
    ours, theirs, body, head, defaults = GROUPED[name]

    def add_body(step, optimizer, reference, ours_params, theirs_params):
        if step == 8:
            optimizer.add_param_group({"params": ours_params[:2], **body})
            reference.add_param_group({"params": theirs_params[:2], **body})

    worst = run_side_by_side(lambda p: ours([{"params": p[2:], **head}], **defaults),
                             lambda p: theirs([{"params": p[2:], **head}], **defaults), before_step=add_body)
    assert worst < 1e-7


@pytest.mark.parametrize("name", GROUPED)
def test_a_schedule_editing_one_group_follows_torch(name):
    """The head's lr decays every step (as a scheduler writes param_groups[1]["lr"]); the body's
    stays. SGD with momentum is left out of the edited group: its velocity holds the course's
    eta (v = gamma v + eta grad), so an lr change acts gradually there, by design (see SGD)."""
    ours, theirs, body, head, defaults = GROUPED[name]
    if ours is optim.SGD:
        head = {**head, "momentum": 0.0, "nesterov": False}

    def decay_head(step, optimizer, reference, ours_params, theirs_params):
        lr = defaults["lr"] * 0.8 ** step
        optimizer.param_groups[1]["lr"] = lr
        reference.param_groups[1]["lr"] = lr

    worst = run_side_by_side(grouped(ours, body, head, defaults), grouped(theirs, body, head, defaults),
                             before_step=decay_head)
    assert worst < 1e-7


def test_groups_take_the_defaults_and_keep_their_own_values():
    p = [gn.Parameter(np.zeros(2)) for _ in range(3)]
    opt = optim.SGD([{"params": p[:1], "lr": 1e-4}, {"params": p[1:], "weight_decay": 0.1}], lr=1e-2, momentum=0.9)
    assert opt.param_groups == [
        {"params": p[:1], "lr": 1e-4, "momentum": 0.9, "nesterov": False, "weight_decay": 0.0},
        {"params": p[1:], "lr": 1e-2, "momentum": 0.9, "nesterov": False, "weight_decay": 0.1}]
    assert opt.defaults == {"lr": 1e-2, "momentum": 0.9, "nesterov": False, "weight_decay": 0.0}
    assert opt.params == p
    single = optim.Adam(iter(p), lr=0.1)  # a plain iterable: one group
    assert len(single.param_groups) == 1 and single.lr == 0.1 and single.param_groups[0]["params"] == p
    assert optim.Adam({"params": p, "lr": 0.5}).param_groups[0]["lr"] == 0.5  # one dict: one group
    assert optim.Adam([{"params": p[0]}]).param_groups[0]["params"] == [p[0]]  # a single Tensor in a group
    assert "2 groups" in repr(opt) and "lr=0.0001" in repr(opt)


def test_adagrad_fills_each_groups_sum_with_its_own_initial_value():
    """Where torch.optim.Adagrad (2.13) uses the constructor's value for every group."""
    a, b = gn.Parameter(np.ones(2)), gn.Parameter(np.ones(2))
    opt = optim.Adagrad([{"params": [a], "initial_accumulator_value": 0.3}, {"params": [b]}], lr=0.1, eps=0.0)
    a.grad, b.grad = np.full(2, 0.5), np.full(2, 0.5)
    opt.step()
    np.testing.assert_allclose(opt.state[0]["sum"], 0.55)
    np.testing.assert_allclose(opt.state[1]["sum"], 0.25)
    np.testing.assert_allclose(a.data, 1 - 0.1 * 0.5 / np.sqrt(0.55))


def test_lr_is_the_only_groups_and_an_error_with_several():
    p = [gn.Parameter(np.zeros(2)) for _ in range(2)]
    opt = optim.SGD([{"params": p[:1], "lr": 1e-4}, {"params": p[1:]}], lr=1e-2)
    with pytest.raises(AttributeError, match=r"2 parameter groups.*param_groups\[i\]\['lr'\]"):
        _ = opt.lr
    with pytest.raises(AttributeError, match="2 parameter groups"):
        opt.lr = 0.5
    assert [g["lr"] for g in opt.param_groups] == [1e-4, 1e-2]


def test_edited_groups_are_checked_at_the_next_step_before_anything_changes():
    p = [gn.Parameter(np.ones(2)) for _ in range(2)]
    opt = optim.SGD([{"params": p[:1]}, {"params": p[1:]}], lr=0.1, momentum=0.9)
    for param in p:
        param.grad = np.ones(2)
    opt.step()
    before = [param.data.copy() for param in p], copy.deepcopy(opt.state)
    for key, value, words in [("lr", -1.0, r"param group 1, lr must be > 0, got -1.0"),
                              ("momentum", 1.5, r"param group 1, momentum must be in \[0, 1\)"),
                              ("nesterov", "yes", "param group 1, nesterov must be True or False"),
                              ("betas", (0.9, 0.99), "param group 1, unknown hyperparameter 'betas'")]:
        group = opt.param_groups[1]
        saved = dict(group)
        group[key] = value
        with pytest.raises((TypeError, ValueError), match=words):
            opt.step()
        assert all(np.array_equal(a.data, b) for a, b in zip(p, before[0]))
        assert all(np.array_equal(opt.state[i]["velocity"], before[1][i]["velocity"]) for i in (0, 1))
        group.clear()
        group.update(saved)
    del opt.param_groups[1]["lr"]
    with pytest.raises(ValueError, match="param group 1, the group lacks 'lr'"):
        opt.step()


def test_switching_an_option_on_mid_training_gives_the_state_its_entries():
    p = [gn.Parameter(np.ones(3))]
    opt = optim.Adam(p, lr=0.1)
    p[0].grad = np.full(3, 2.0)
    opt.step()
    opt.param_groups[0]["amsgrad"] = True
    opt.step()
    assert np.array_equal(opt.state[0]["max_exp_avg_sq"], opt.state[0]["exp_avg_sq"])
    sgd = optim.SGD(p, lr=0.1)
    sgd.step()
    sgd.param_groups[0]["momentum"] = 0.9
    before = p[0].data.copy()
    sgd.step()  # v = 0.9 * 0 + 0.1 * 2: torch's first momentum step, b = g
    np.testing.assert_allclose(p[0].data, before - 0.2)
    sgd.param_groups[0]["momentum"] = 0.0
    sgd.step()
    assert sgd.state[0] == {}
    other = optim.SGD([gn.Parameter(np.ones(3))], lr=0.1)
    other.load_state_dict(sgd.state_dict())  # the state matches the group's settings again


def test_a_group_appended_by_hand_is_checked_and_completed():
    p = [gn.Parameter(np.ones(2)) for _ in range(2)]
    opt = optim.Adam(p[:1], lr=0.1)
    opt.param_groups.append({"params": p[1:], "lr": 0.01})
    p[1].grad = np.ones(2)
    opt.step()
    assert opt.param_groups[1]["betas"] == (0.9, 0.999) and 1 in opt.state
    opt.param_groups.append({"params": p[:1]})
    with pytest.raises(ValueError, match="already in another parameter group"):
        opt.step()
    del opt.param_groups[0]
    with pytest.raises(ValueError, match="a group was removed from param_groups"):
        opt.step()


@pytest.mark.parametrize("params, error, words", [
    ([{"lr": 0.1}], ValueError, "param group 0, the group has no 'params' entry"),
    ([{"params": []}], ValueError, "the parameter groups hold no parameter"),
    ("P0", TypeError, "a set, whose order changes"),
    ("G0", TypeError, "param group 0, params is a set"),
    ("TWICE", ValueError, "param group 1, parameter 0 is already in another parameter group"),
    ("MIXED", TypeError, "mixes Parameters and parameter-group dicts"),
    ([{"params": [gn.Parameter(np.ones(2))], "momentum": 0.9}], ValueError,
     "param group 0, unknown hyperparameter 'momentum'; it takes lr, betas, eps, weight_decay, amsgrad"),
    ([{"params": [gn.Parameter(np.ones(2))], "lr": 0.0}], ValueError, "param group 0, lr must be > 0, got 0.0"),
    ([{"params": [gn.Parameter(np.ones(2))], "betas": 0.9}], TypeError, r"param group 0, betas must be a pair"),
    ([{"params": [gn.Parameter(np.ones(2)) * 2]}], ValueError, "the result of an operation, not a leaf"),
    ([{"params": [gn.Tensor(np.ones(2))]}], ValueError, "does not require grad"),
    ([[gn.Parameter(np.ones(2))]], TypeError, "parameter 0 is a list"),
    ([{"params": nn.Sequential(nn.Linear(2, 2))}], TypeError, "params is a Sequential module; pass its .parameters()"),
    (nn.Linear(2, 2), TypeError, "params is a Linear module; pass its .parameters()"),
])
def test_bad_groups_are_clear_errors(params, error, words):
    a, b = gn.Parameter(np.ones(2)), gn.Parameter(np.ones(2))
    params = {"P0": {a, b}, "G0": [{"params": {a, b}}], "TWICE": [{"params": [a]}, {"params": [a]}],
              "MIXED": [a, {"params": [b]}]}.get(params, params) if isinstance(params, str) else params
    with pytest.raises(error, match=words):
        optim.Adam(params, lr=0.1)


def test_add_param_group_is_checked_before_anything_changes():
    a, b = gn.Parameter(np.ones(2)), gn.Parameter(np.ones(2))
    opt = optim.SGD([a], lr=0.1)
    for group, error, words in [({"params": [b], "lr": -1}, ValueError, "param group 1, lr must be > 0"),
                                ({"params": [a]}, ValueError, "already in another parameter group"),
                                ([b], TypeError, "a parameter group must be a dict"),
                                ({"params": [b], "eps": 1.0}, ValueError, "unknown hyperparameter 'eps'")]:
        with pytest.raises(error, match=words):
            opt.add_param_group(group)
        assert len(opt.param_groups) == 1 and opt.params == [a]


def test_frozen_parameters_are_skipped_even_with_an_old_gradient():
    """No update, no weight decay (AdamW's decoupled one included), no state, until unfrozen."""
    for make in (lambda p: optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.1),
                 lambda p: optim.AdamW(p, lr=0.1, weight_decay=0.5),
                 lambda p: optim.Adagrad(p, lr=0.1, weight_decay=0.1)):
        frozen, live = gn.Parameter(np.ones(3)), gn.Parameter(np.ones(3))
        frozen.requires_grad = False
        opt = make([frozen, live])
        frozen.grad, live.grad = np.ones(3), np.ones(3)  # a gradient from before freezing
        for _ in range(3):
            opt.step()
        assert np.array_equal(frozen.data, np.ones(3)) and 0 not in opt.state
        assert not np.array_equal(live.data, np.ones(3))
        frozen.requires_grad = True
        opt.step()
        assert not np.array_equal(frozen.data, np.ones(3)) and 0 in opt.state


def test_state_dict_round_trip_with_groups_resumes_exactly():
    def build(seed=0):
        rng = np.random.default_rng(seed)
        params = [gn.Parameter(rng.normal(size=s)) for s in [(4, 3), (3,), (3, 2)]]
        opt = optim.Adam([{"params": params[:2], "lr": 1e-3, "amsgrad": True}, {"params": params[2:]}], lr=0.05)
        return params, opt

    def grads(params, step):
        rng = np.random.default_rng(10 + step)
        for p in params:
            p.grad = rng.normal(size=p.shape)

    straight, opt = build()
    for step in range(6):
        grads(straight, step)
        opt.step()
    half, interrupted = build()
    for step in range(3):
        grads(half, step)
        interrupted.step()
    saved = interrupted.state_dict()
    assert [g["params"] for g in saved["param_groups"]] == [[0, 1], [2]]
    resumed_params, resumed = build()
    for p, q in zip(resumed_params, half):
        p.data[...] = q.data
    resumed.param_groups[1]["lr"] = 0.5  # overwritten by the loaded group, as in PyTorch
    resumed.load_state_dict(saved)
    assert resumed.param_groups[1]["lr"] == 0.05
    for step in range(3, 6):
        grads(resumed_params, step)
        resumed.step()
    for a, b in zip(straight, resumed_params):
        np.testing.assert_array_equal(a.data, b.data)
    one_group = optim.Adam([gn.Parameter(p.data.copy()) for p in half], lr=0.05)
    with pytest.raises(ValueError, match="the state has 2 parameter groups, Adam has 1"):
        one_group.load_state_dict(saved)


def test_fit_with_groups_and_a_schedule_per_group():
    """A body at lr/100 and a head: the schedule scales each from its own initial lr (PyTorch's
    schedulers do the same); groups=[1] leaves the body's alone. fit logs the first group's lr."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 4)).astype(np.float32), rng.integers(0, 2, size=64)
    model = nn.Sequential(nn.Linear(4, 8, rng=0), nn.ReLU(), nn.Linear(8, 2, rng=1))
    opt = optim.SGD([{"params": model[0].parameters(), "lr": 1e-3}, {"params": model[2].parameters()}], lr=0.1)
    history = gn.fit(model, X, y, loss="cross_entropy", optimizer=opt, epochs=3, batch_size=16, verbose=0,
                     callbacks=[gn.LearningRateSchedule("exponential", gamma=0.5)])
    assert [g["lr"] for g in opt.param_groups] == [2.5e-4, 0.025]
    assert history.history["lr"] == [1e-3, 5e-4, 2.5e-4]
    opt = optim.SGD([{"params": model[0].parameters(), "lr": 1e-3}, {"params": model[2].parameters()}], lr=0.1)
    gn.fit(model, X, y, loss="cross_entropy", optimizer=opt, epochs=3, batch_size=16, verbose=0,
           callbacks=[gn.LearningRateSchedule("step", step_size=1, gamma=0.1, groups=[1])])
    assert opt.param_groups[0]["lr"] == 1e-3 and opt.param_groups[1]["lr"] == pytest.approx(1e-3)
    with pytest.raises(ValueError, match=r"groups=\[2\]\): the optimizer has 2 parameter groups"):
        gn.fit(model, X, y, loss="cross_entropy", optimizer=opt, epochs=1, verbose=0,
               callbacks=[gn.LearningRateSchedule("step", groups=[2])])
    for bad, error in [("1", TypeError), ([], ValueError), ([1, 1], ValueError), ([-1], ValueError)]:
        with pytest.raises(error):
            gn.LearningRateSchedule("step", groups=bad)


def test_fit_refuses_an_optimizer_whose_parameters_are_all_frozen():
    model = nn.Sequential(nn.Linear(2, 2, rng=0))
    for p in model.parameters():
        p.requires_grad = False
    opt = optim.SGD(model.parameters(), lr=0.1)
    weights = model.state_dict()
    with pytest.raises(ValueError, match="is frozen .*training would change nothing"):
        gn.fit(model, np.ones((4, 2), np.float32), np.array([0, 1, 0, 1]), loss="cross_entropy", optimizer=opt,
               verbose=0)
    assert all(np.array_equal(model.state_dict()[k], v) for k, v in weights.items())


class _StopAt(gn.Callback):
    def __init__(self, epoch) -> None:
        self.epoch = epoch

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.epoch:
            raise KeyboardInterrupt


def test_a_run_with_groups_and_a_schedule_resumes_exactly(tmp_path):
    """BackupAndRestore keeps every group's hyperparameters and the schedule's initial rates:
    an interrupted and resumed run ends with the weights of the straight one, bit for bit."""
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(80, 4)).astype(np.float32), rng.integers(0, 2, size=80)

    def run(folder, stop=None):
        model = nn.Sequential(nn.Linear(4, 8, rng=0), nn.ReLU(), nn.Linear(8, 2, rng=1))
        opt = optim.SGD([{"params": model[0].parameters(), "lr": 1e-3, "momentum": 0.5},
                         {"params": model[2].parameters(), "weight_decay": 0.01}], lr=0.1, momentum=0.9)
        backup = gn.BackupAndRestore(folder)
        callbacks = [gn.LearningRateSchedule("exponential", gamma=0.7), _StopAt(stop), backup]
        gn.fit(model, X, y, loss="cross_entropy", optimizer=opt, epochs=5, batch_size=16, callbacks=callbacks,
               seed=0, verbose=0)
        return model, opt, backup

    straight, straight_opt, _ = run(tmp_path / "a")
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "b", stop=3)
    resumed, resumed_opt, backup = run(tmp_path / "b")
    assert backup.resumed_at == (3, 0)
    for a, b in zip(straight.parameters(), resumed.parameters()):
        assert np.array_equal(a.data, b.data)
    assert [g["lr"] for g in resumed_opt.param_groups] == [g["lr"] for g in straight_opt.param_groups]


def test_parameters_put_in_a_group_by_hand_are_checked():
    a, b, c = (gn.Parameter(np.ones(2)) for _ in range(3))
    opt = optim.SGD([{"params": [a]}, {"params": [b]}], lr=0.1, momentum=0.9)
    opt.param_groups[1]["params"].append(b)  # twice: it would be updated twice
    with pytest.raises(ValueError, match="param group 1, parameter 1 appears twice"):
        opt.step()
    opt.param_groups[1]["params"] = [b, a]
    with pytest.raises(ValueError, match="param group 1, parameter 1 is already in another parameter group"):
        opt.step()
    opt.param_groups[1]["params"] = [b]
    a.grad, b.grad, c.grad = np.ones(2), np.ones(2), np.ones(2)
    opt.step()
    opt.param_groups[1]["params"].append(c)  # appended to the last group: every state keeps its place
    opt.step()
    assert sorted(opt.state) == [0, 1, 2] and not np.array_equal(c.data, np.ones(2))
    opt.param_groups[0]["params"].append(gn.Parameter(np.ones(2)))  # would shift b's and c's states
    with pytest.raises(ValueError, match="param group 0, its parameters were changed after the optimizer made"):
        opt.step()
