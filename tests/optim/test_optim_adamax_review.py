"""A hostile review of optim.Adamax against torch.optim.Adamax: bit for bit where NumPy can do
torch's arithmetic, step by step in float32 and float64 (weight decay, parameters left without a
gradient, eps = 0 on zero gradients), and exact resumes: state_dict/load_state_dict, and gn.fit
interrupted and resumed by BackupAndRestore, each equal to a run that was never interrupted."""

import numpy as np
import pytest
import torch

import glassnet as gn
from glassnet import nn, optim

SHAPES = [(40, 30), (30,)]


def side_by_side(dtype, steps, gradient, skip=lambda step, index: False, **settings):
    """Both optimizers on the same weights and gradients; the weights and states after each step."""
    rng = np.random.default_rng(3)
    weights = [rng.normal(size=shape).astype(dtype) for shape in SHAPES]
    ours = [gn.Parameter(w.copy()) for w in weights]
    theirs = [torch.tensor(w.copy(), requires_grad=True) for w in weights]
    ours_opt = optim.Adamax(ours, **settings)
    theirs_opt = torch.optim.Adamax(theirs, foreach=False, **settings)
    history = []
    for step in range(steps):
        for index, (a, b) in enumerate(zip(ours, theirs)):
            grad = None if skip(step, index) else gradient(rng, a.shape).astype(dtype)
            a.grad = None if grad is None else grad.copy()
            b.grad = None if grad is None else torch.tensor(grad.copy())
        ours_opt.step()  # no RuntimeWarning, even for 0 / 0 with eps = 0 (the tests make one an error)
        theirs_opt.step()
        history.append(([a.data.copy() for a in ours], [b.detach().numpy().copy() for b in theirs]))
    return history


def normal(rng, shape):
    return rng.normal(size=shape)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("settings", [{}, {"lr": 0.1, "eps": 0.0}, {"lr": 0.02, "betas": (0.8, 0.9), "eps": 1e-3}],
                         ids=str)
def test_the_first_step_equals_torch_bit_for_bit(dtype, settings):
    """torch's addcdiv multiplies lr / (1 - beta1) into m before dividing by u; (m / u) * lr rounds
    otherwise in about one weight in ten. (From the second step on torch's lerp of m is a fused
    multiply-add, which NumPy cannot do: the next test bounds that.)"""
    (ours, theirs), = side_by_side(dtype, 1, normal, **settings)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-13), (np.float32, 1e-5)], ids=["float64", "float32"])
@pytest.mark.parametrize("settings", [{}, {"lr": 0.02, "betas": (0.8, 0.9), "eps": 1e-3, "weight_decay": 0.1},
                                      {"lr": 0.05, "betas": (0.3, 0.5), "weight_decay": 0.5}], ids=str)
def test_steps_follow_torch_with_decay_and_parameters_left_without_a_gradient(dtype, rtol, settings):
    def skip(step, index):  # the bias gets no gradient on every third step, the weight on every fourth
        return step % (3 if index else 4) == 1

    history = side_by_side(dtype, 40, normal, skip=skip, **settings)
    for step, (ours, theirs) in enumerate(history):
        for index, (a, b) in enumerate(zip(ours, theirs)):
            np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol, err_msg=f"step {step}, parameter {index}")
            if skip(step, index) and step > 0:
                np.testing.assert_array_equal(a, history[step - 1][0][index])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_eps_zero_and_a_gradient_that_was_always_zero_gives_nan_where_torch_does(dtype):
    """u = max(beta2 u, |g|) stays 0 for a weight whose gradient has always been 0, and m / u is
    0 / 0: NaN there, silently, as in PyTorch (a RuntimeWarning raised as an error would stop the
    step halfway, after m and u changed); every other weight moves as in PyTorch."""
    def gradient(rng, shape):  # even positions: always 0; odd: 0 on the second step only
        grad = rng.normal(size=shape)
        grad.reshape(-1)[::2] = 0.0
        return grad
    history = side_by_side(dtype, 3, gradient, lr=0.01, eps=0.0)
    for ours, theirs in history:
        for a, b in zip(ours, theirs):
            assert np.array_equal(np.isnan(a), np.isnan(b))
            assert np.isnan(a.reshape(-1)[::2]).all() and not np.isnan(a.reshape(-1)[1::2]).any()
            np.testing.assert_allclose(a, b, rtol=1e-5, equal_nan=True)


def adamax_run(grads, steps, params=None, state=None):
    """Parameters (float32) and an Adamax with weight decay after the given steps on ``grads``;
    ``params`` and ``state``: start from these weights and this state_dict."""
    rng = np.random.default_rng(0)
    params = params or [gn.Parameter(rng.normal(size=shape).astype(np.float32)) for shape in [(4, 3), (3,)]]
    opt = optim.Adamax(params, lr=0.05, weight_decay=0.01)
    if state is not None:
        opt.load_state_dict(state)
    for step in steps:
        for p, g in zip(params, grads[step]):
            p.grad = g.copy()
        opt.step()
    return params, opt


def test_state_dict_after_k_steps_resumes_to_the_uninterrupted_weights_bit_for_bit():
    rng = np.random.default_rng(1)
    grads = [[rng.normal(size=shape).astype(np.float32) for shape in [(4, 3), (3,)]] for _ in range(12)]
    uninterrupted, _ = adamax_run(grads, range(12))
    first, first_opt = adamax_run(grads, range(5))
    saved, weights = first_opt.state_dict(), [p.data.copy() for p in first]
    adamax_run(grads, range(5, 8), first)  # the first run goes on: what was saved does not change
    resumed, resumed_opt = adamax_run(grads, range(5, 12), [gn.Parameter(w) for w in weights], saved)
    assert resumed_opt.state_dict()["state"][0]["step"] == 12
    for p, q in zip(resumed, uninterrupted):
        np.testing.assert_array_equal(p.data, q.data)


class Interrupt(Exception):
    pass


class StopAt(gn.Callback):
    """Raises inside fit after a given batch of a given epoch: a crash in the middle of a run."""

    def __init__(self, epoch, batch) -> None:
        self.where, self.epoch = (epoch, batch), -1

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        if (self.epoch, batch) == self.where:
            raise Interrupt


def fit_adamax(backup_dir, stop=None):
    gn.seed(5)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(64, 5)).astype(np.float32)
    y = (X[:, 0] - X[:, 1] > 0).astype(np.int64)
    model = nn.Sequential(nn.Linear(5, 16, rng=0), nn.Tanh(), nn.Dropout(0.2), nn.Linear(16, 2, rng=1))
    # the same callbacks in every run (BackupAndRestore compares their names): StopAt(None) never stops
    backup = gn.BackupAndRestore(str(backup_dir), save_freq=3)
    callbacks = [backup, stop or StopAt(None, None)]
    history = gn.fit(model, X, y, loss="cross_entropy", optimizer=optim.Adamax(model.parameters(), lr=0.02,
                                                                              weight_decay=0.01),
                     epochs=6, batch_size=16, shuffle=True, callbacks=callbacks, seed=3, verbose=0)
    return model, history, backup.resumed_at


def test_fit_with_adamax_interrupted_and_resumed_by_backup_and_restore_equals_an_uninterrupted_fit(tmp_path):
    reference, reference_history, _ = fit_adamax(tmp_path / "reference")
    with pytest.raises(Interrupt):
        fit_adamax(tmp_path / "run", StopAt(3, 2))  # after batch 2 of epoch 3: the backup of batch 12
    assert (tmp_path / "run").exists()
    resumed, history, resumed_at = fit_adamax(tmp_path / "run")
    assert resumed_at == (3, 0)  # batch 12, 4 a epoch, is the end of epoch 2: it resumed, not started over
    for name, value in reference.state_dict().items():
        np.testing.assert_array_equal(resumed.state_dict()[name], value, err_msg=name)
    assert history.history == reference_history.history
    assert reference_history.history["loss"][-1] < reference_history.history["loss"][0]


def test_make_optimizer_and_the_cli_give_adamax(tmp_path, monkeypatch):
    from glassnet import cli

    opt = optim.make_optimizer("adamax", [gn.Parameter(np.zeros(2))], 0.004)
    group = opt.param_groups[0]
    assert type(opt) is optim.Adamax and opt.lr == 0.004 and group["betas"] == (0.9, 0.999) and group["eps"] == 1e-8
    seen = []
    real_fit = gn.fit

    def spy(model, X, y, **kwargs):
        seen.append(kwargs["optimizer"])
        return real_fit(model, X, y, **kwargs)

    monkeypatch.setattr(gn, "fit", spy)
    assert cli.main(["train", "--data", "xor", "--epochs", "2", "--quiet", "--optimizer", "adamax", "--lr", "0.01",
                     "--weight-decay", "0.001", "--out", str(tmp_path)]) == 0
    assert type(seen[-1]) is optim.Adamax and seen[-1].lr == 0.01 and seen[-1].param_groups[0]["weight_decay"] == 0.001
    assert seen[-1].state and all(entry["step"] > 0 for entry in seen[-1].state.values())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("betas", [(0.0, 0.9), (0.5, 0.999)], ids=str)
def test_beta1_of_0_or_one_half_follows_torch_bit_for_bit_on_every_step(dtype, betas):
    """For 1 - beta1 >= 0.5 torch's lerp computes g - (g - m)(1 - w), not m + w (g - m): exact
    for beta1 = 0 (m = g) and beta1 = 0.5 (a GAN's usual setting), where no multiply-add rounds."""
    history = side_by_side(dtype, 8, normal, lr=0.05, betas=betas)
    for ours, theirs in history:
        for a, b in zip(ours, theirs):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("beta1", [0.0, 0.5])
def test_adams_first_moment_follows_torch_bit_for_bit_for_beta1_of_0_or_one_half(beta1):
    rng = np.random.default_rng(4)
    ours, theirs = gn.Parameter(rng.normal(size=(50, 20))), torch.tensor(rng.normal(size=(50, 20)), requires_grad=True)
    ours_opt = optim.Adam([ours], lr=0.01, betas=(beta1, 0.99))
    theirs_opt = torch.optim.Adam([theirs], lr=0.01, betas=(beta1, 0.99), foreach=False)
    for _ in range(6):
        grad = rng.normal(size=ours.shape)
        ours.grad, theirs.grad = grad.copy(), torch.tensor(grad)
        ours_opt.step()
        theirs_opt.step()
        np.testing.assert_array_equal(ours_opt.state_dict()["state"][0]["exp_avg"],
                                      theirs_opt.state[theirs]["exp_avg"].numpy())


def test_adam_eps_zero_on_a_zero_gradient_is_nan_as_in_torch_without_a_warning():
    """Adam's 0 / 0 (eps = 0, a weight whose gradient was always 0) makes NaN as torch does, and
    the whole step is taken: no RuntimeWarning stops it halfway when warnings are errors."""
    ours = gn.Parameter(np.array([1.0, 2.0]))
    theirs = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    opt, ref = optim.Adam([ours], lr=0.1, eps=0.0), torch.optim.Adam([theirs], lr=0.1, eps=0.0)
    ours.grad = np.array([0.0, 3.0])
    theirs.grad = torch.tensor([0.0, 3.0], dtype=torch.float64)
    opt.step(error_if_nonfinite=False)
    ref.step()
    np.testing.assert_array_equal(np.isnan(ours.data), torch.isnan(theirs.detach()).numpy())
    np.testing.assert_allclose(ours.data[1], theirs.detach().numpy()[1], rtol=1e-15)
    assert opt.state[0]["step"] == 1
