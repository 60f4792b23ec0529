"""DQN's parts against hand-computed values and a PyTorch formulation of one update."""

import numpy as np
import pytest
import torch

from glassnet import nn, optim
from glassnet.rl.buffers import Transitions
from glassnet.rl.dqn import dqn_loss, dqn_targets, gradient_step, linear_schedule


def test_targets_without_a_terminal_state():
    # y = r + gamma * max_a Q'(s', a)
    y = dqn_targets(np.array([1.0, 0.0, -1.0]), np.array([[2.0, 5.0], [-3.0, -4.0], [0.5, 0.5]]),
                    np.array([False, False, False]), gamma=0.9)
    np.testing.assert_allclose(y, [1 + 0.9 * 5, 0.9 * -3, -1 + 0.9 * 0.5])


def test_targets_with_a_terminal_state_do_not_bootstrap():
    y = dqn_targets(np.array([1.0, 2.0]), np.array([[10.0, 20.0], [10.0, 20.0]]),
                    np.array([True, False]), gamma=0.5)
    np.testing.assert_allclose(y, [1.0, 2.0 + 0.5 * 20.0])


def test_truncated_transitions_bootstrap_in_the_loss():
    """A time limit is not a terminal state: the loss with truncated=True equals the one with
    nothing flagged, and differs from the one with terminated=True."""
    rng = np.random.default_rng(0)
    q_net = nn.Sequential(nn.Linear(3, 4, rng=0, dtype=np.float64), nn.Linear(4, 2, rng=1, dtype=np.float64))
    target = nn.Sequential(nn.Linear(3, 4, rng=2, dtype=np.float64), nn.Linear(4, 2, rng=3, dtype=np.float64))
    obs, next_obs = rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    flags = {"none": [False, False], "truncated": [False, True], "terminated": [False, True]}

    def loss(kind):
        terminated = np.array(flags[kind]) if kind == "terminated" else np.zeros(2, bool)
        truncated = np.array(flags[kind]) if kind == "truncated" else np.zeros(2, bool)
        batch = Transitions(obs, np.array([0, 1]), np.array([1.0, 1.0]), next_obs, terminated, truncated)
        return float(dqn_loss(q_net, target, batch, gamma=0.99).data)

    # by hand: Huber(delta=1) of Q(s, a) - y, mean over the batch
    q = q_net(obs).data[[0, 1], [0, 1]]
    next_max = target(next_obs).data.max(axis=1)
    for kind, alive in (("none", [1, 1]), ("truncated", [1, 1]), ("terminated", [1, 0])):
        d = q - (1.0 + 0.99 * np.array(alive) * next_max)
        huber = np.where(np.abs(d) <= 1, 0.5 * d ** 2, np.abs(d) - 0.5)
        assert loss(kind) == pytest.approx(huber.mean(), rel=1e-12)
    assert loss("truncated") == loss("none") != loss("terminated")


def test_epsilon_schedule_is_stable_baselines3s_linear_one():
    eps = linear_schedule(1.0, 0.04, 0.16)
    # hand values: linear from 1 to 0.04 over the first 16% of training, then flat
    assert eps(1.0) == 1.0
    assert eps(1 - 0.08) == pytest.approx(0.52)
    assert eps(1 - 0.16) == pytest.approx(0.04)
    assert eps(0.5) == eps(0.0) == 0.04
    for p in np.linspace(1, 0, 101):      # SB3's get_linear_fn, written out
        progress = 1 - p
        expected = 0.04 if progress > 0.16 else 1.0 + progress * (0.04 - 1.0) / 0.16
        assert eps(p) == pytest.approx(expected, abs=1e-15)


def test_one_update_matches_pytorch():
    """Loss, clipped gradients and the Adam step of one update, against torch with the same
    weights (ours are the transposes of torch's), the same batch, smooth_l1_loss and clip_grad_norm_."""
    rng = np.random.default_rng(3)
    sizes = [(4, 16), (16, 2)]
    q_net = nn.Sequential(nn.Linear(4, 16, rng=0, dtype=np.float64), nn.ReLU(),
                          nn.Linear(16, 2, rng=1, dtype=np.float64))
    target = nn.Sequential(nn.Linear(4, 16, rng=2, dtype=np.float64), nn.ReLU(),
                           nn.Linear(16, 2, rng=3, dtype=np.float64))

    def to_torch(net):
        layers = [torch.nn.Linear(*sizes[0]), torch.nn.ReLU(), torch.nn.Linear(*sizes[1])]
        for ours, theirs in zip([net[0], net[2]], [layers[0], layers[2]]):
            theirs.weight.data = torch.tensor(ours.weight.data.T.copy())
            theirs.bias.data = torch.tensor(ours.bias.data.copy())
        return torch.nn.Sequential(*layers).double()

    tq, tt = to_torch(q_net), to_torch(target)
    batch = Transitions(rng.normal(size=(8, 4)) * 3, rng.integers(0, 2, 8), rng.normal(size=8) * 4,
                        rng.normal(size=(8, 4)), rng.random(8) < 0.3, rng.random(8) < 0.3)
    opt = optim.Adam(q_net.parameters(), lr=0.01)
    topt = torch.optim.Adam(tq.parameters(), lr=0.01)
    loss, grad_norm = gradient_step(q_net, target, opt, batch, gamma=0.9, max_grad_norm=0.5)

    with torch.no_grad():
        next_q = tt(torch.tensor(batch.next_obs)).max(dim=1).values
        y = torch.tensor(batch.rewards) + 0.9 * (1 - torch.tensor(batch.terminated, dtype=torch.float64)) * next_q
    q = tq(torch.tensor(batch.obs)).gather(1, torch.tensor(batch.actions)[:, None]).squeeze(1)
    expected = torch.nn.functional.smooth_l1_loss(q, y)
    topt.zero_grad()
    expected.backward()
    expected_norm = torch.nn.utils.clip_grad_norm_(tq.parameters(), 0.5)
    assert expected_norm > 0.5          # the clip is exercised
    topt.step()

    assert loss == pytest.approx(expected.item(), rel=1e-10)
    assert grad_norm == pytest.approx(expected_norm.item(), rel=1e-10)
    for ours, theirs in zip([q_net[0], q_net[2]], [tq[0], tq[2]]):
        np.testing.assert_allclose(ours.weight.grad, theirs.weight.grad.numpy().T, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(ours.weight.data, theirs.weight.data.numpy().T, rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(ours.bias.data, theirs.bias.data.numpy(), rtol=1e-9, atol=1e-12)
    # the target network is not touched by the update
    assert target[0].weight.grad is None


def test_torch_default_init_draws_uniform_within_one_over_sqrt_fan_in():
    from glassnet.rl._base import mlp
    from glassnet.rl.dqn import torch_default_init

    net = torch_default_init(mlp(4, 3, [256, 64], "relu", np.random.default_rng(0)), np.random.default_rng(1))
    linears = [layer for layer in net if isinstance(layer, nn.Linear)]
    for layer, fan_in in zip(linears, (4, 256, 64)):
        bound = 1 / np.sqrt(fan_in)
        for values in (layer.weight.data, layer.bias.data):
            assert values.dtype == np.float32
            assert np.abs(values).max() <= bound
        # U(-b, b) has standard deviation b / sqrt(3)
        assert layer.weight.data.std() == pytest.approx(bound / np.sqrt(3), rel=0.05)
    assert linears[1].weight.shape == (256, 64) and np.all(linears[0].bias.data != 0)
