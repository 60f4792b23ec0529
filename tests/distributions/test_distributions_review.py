"""A hostile review of glassnet.distributions against torch.distributions: the edges where the
rounding of a formula shows (large logits in float32 and float64), compared with a relative
tolerance only, so that a value of 4e-18 is not "equal" to 0."""

import numpy as np
import pytest
import torch
import torch.distributions as TD

from glassnet.distributions import Bernoulli

LOGITS = np.array([-1e4, -100.0, -40.0, -30.0, -20.0, -10.0, -1.0, 0.0, 1.0, 10.0, 20.0, 30.0, 40.0, 100.0, 1e4])


@pytest.mark.parametrize("dtype, rtol", [(np.float64, 1e-12), (np.float32, 1e-6)], ids=["float64", "float32"])
def test_bernoulli_log_prob_and_entropy_at_large_logits_equal_torch_without_an_absolute_tolerance(dtype, rtol):
    """PyTorch computes both as binary_cross_entropy_with_logits, (1 - x) l - log sigmoid(l): at
    l = 40, log p(1) = -4.2e-18 there, not 0; at l = -10 in float32 the entropy rounds as there."""
    # LOGITS[3:-3] leaves out |l| = 100 and 1e4 in float32, whose tiny values are subnormal numbers
    # (below 1.2e-38) that NumPy's and PyTorch's log1p round differently
    logits = (LOGITS if dtype == np.float64 else LOGITS[3:-3]).astype(dtype)
    ours, theirs = Bernoulli(logits=logits), TD.Bernoulli(logits=torch.tensor(logits))
    for value in (0.0, 1.0):
        np.testing.assert_allclose(ours.log_prob(np.full(logits.shape, value, dtype)).data,
                                   theirs.log_prob(torch.full(logits.shape, value, dtype=theirs.logits.dtype)).numpy(),
                                   rtol=rtol, atol=0)
    np.testing.assert_allclose(ours.entropy().data, theirs.entropy().numpy(), rtol=rtol, atol=0)
    assert np.all(np.isfinite(ours.entropy().data)) and np.all(ours.entropy().data >= 0)


def test_bernoulli_entropy_from_probs_at_the_edges_equals_torch_without_an_absolute_tolerance():
    probs = np.array([0.0, 1e-300, 1e-20, 0.3, 1 - 1e-12, 1.0])
    np.testing.assert_allclose(Bernoulli(probs=probs).entropy().data,
                               TD.Bernoulli(probs=torch.tensor(probs)).entropy().numpy(), rtol=1e-12, atol=0)
