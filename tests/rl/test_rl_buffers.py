"""The replay buffer: storage, wrap-around, uniform sampling from the given generator."""

import numpy as np
import pytest

from glassnet.rl.buffers import ReplayBuffer


def fill(buffer, n, start=0):
    for t in range(start, start + n):
        buffer.add([t, -t], action=t % 3, reward=float(t), next_obs=[t + 1, -t - 1],
                   terminated=t % 5 == 4, truncated=t % 7 == 6)


def test_stores_each_field_in_its_slot():
    buffer = ReplayBuffer(10, obs_dim=2)
    fill(buffer, 8)
    assert len(buffer) == 8 and buffer.pos == 8 and not buffer.full
    np.testing.assert_array_equal(buffer.obs[:8], np.stack([np.arange(8), -np.arange(8)], axis=1))
    np.testing.assert_array_equal(buffer.next_obs[:8, 0], np.arange(1, 9))
    np.testing.assert_array_equal(buffer.actions[:8], np.arange(8) % 3)
    np.testing.assert_array_equal(buffer.rewards[:8], np.arange(8))
    np.testing.assert_array_equal(np.flatnonzero(buffer.terminated), [4])
    np.testing.assert_array_equal(np.flatnonzero(buffer.truncated), [6])
    assert buffer.obs.dtype == np.float32 and buffer.actions.dtype == np.int64


def test_wraps_around_overwriting_the_oldest():
    buffer = ReplayBuffer(5, obs_dim=2)
    fill(buffer, 5)
    assert buffer.full and buffer.pos == 0 and len(buffer) == 5
    fill(buffer, 2, start=5)        # transitions 5 and 6 replace 0 and 1
    assert len(buffer) == 5 and buffer.pos == 2
    np.testing.assert_array_equal(buffer.obs[:, 0], [5, 6, 2, 3, 4])
    np.testing.assert_array_equal(buffer.rewards, [5, 6, 2, 3, 4])
    np.testing.assert_array_equal(buffer.truncated, [False, True, False, False, False])
    np.testing.assert_array_equal(buffer.terminated, [False, False, False, False, True])


def test_sampling_is_uniform_over_the_filled_part_and_seeded():
    buffer = ReplayBuffer(100, obs_dim=2)
    fill(buffer, 4)                 # only slots 0..3 may be drawn
    batch = buffer.sample(4000, np.random.default_rng(1))
    counts = np.bincount(batch.obs[:, 0].astype(int), minlength=4)
    assert counts.shape == (4,) and np.all(np.abs(counts - 1000) < 120)
    # each row is one whole transition, its fields kept together
    np.testing.assert_array_equal(batch.next_obs[:, 0], batch.obs[:, 0] + 1)
    np.testing.assert_array_equal(batch.rewards, batch.obs[:, 0])
    np.testing.assert_array_equal(batch.actions, batch.obs[:, 0].astype(int) % 3)
    again = buffer.sample(4000, np.random.default_rng(1))
    np.testing.assert_array_equal(again.obs, batch.obs)
    expected = np.random.default_rng(1).integers(0, 4, size=4000)
    np.testing.assert_array_equal(batch.obs[:, 0], expected)


def test_bad_input():
    with pytest.raises(ValueError, match="capacity"):
        ReplayBuffer(0, obs_dim=2)
    buffer = ReplayBuffer(3, obs_dim=2)
    with pytest.raises(ValueError, match="empty"):
        buffer.sample(2, np.random.default_rng(0))
    with pytest.raises(ValueError, match="2 values"):
        buffer.add([1, 2, 3], 0, 1.0, [1, 2], False, False)
    with pytest.raises(TypeError, match="terminated"):
        buffer.add([1, 2], 0, 1.0, [1, 2], 1, False)
    assert len(buffer) == 0 and buffer.pos == 0
