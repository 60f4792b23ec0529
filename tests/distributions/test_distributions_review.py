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


@pytest.mark.parametrize("swap", [False, True])
def test_kl_of_two_constant_distributions_takes_the_float64_one_in_either_order(swap):
    """Numbers make float32, float64 arrays float64: the pair is computed in float64, as a float64
    array beside a number is, whichever comes first (was float32 with the numbers first)."""
    from glassnet.distributions import Categorical, Normal, kl_divergence

    pairs = [(Normal(0.0, 1.0), Normal(np.array([1e-3]), np.array([1.0 + 1e-12])),
              TD.Normal(torch.tensor(0.0, dtype=torch.float64), torch.tensor(1.0, dtype=torch.float64)),
              TD.Normal(torch.tensor([1e-3], dtype=torch.float64), torch.tensor([1.0 + 1e-12], dtype=torch.float64))),
             (Categorical(probs=[0.5, 0.5]), Categorical(logits=np.array([0.0, 0.3])),
              TD.Categorical(probs=torch.tensor([0.5, 0.5], dtype=torch.float64)),
              TD.Categorical(logits=torch.tensor([0.0, 0.3], dtype=torch.float64)))]
    for p, q, tp, tq in pairs:
        if swap:
            p, q, tp, tq = q, p, tq, tp
        kl = kl_divergence(p, q)
        assert kl.dtype == np.float64
        np.testing.assert_allclose(kl.data, TD.kl_divergence(tp, tq).numpy(), rtol=1e-12, atol=0)


def test_kl_against_a_constant_that_overflows_the_tensors_dtype_names_the_overflow():
    import glassnet as gn
    from glassnet.distributions import Normal, kl_divergence

    p = Normal(gn.Tensor(np.zeros(1, np.float32)), 1.0)
    with pytest.raises(ValueError, match=r"Normal scale: the values overflow float32"):
        kl_divergence(p, Normal(np.zeros(1), np.array([1e300])))


def test_repr_names_each_parameter_as_pytorch_does():
    """A number's value, a larger parameter's shape (PyTorch: 'Normal(loc: 0.0, scale: 1.0)'),
    then the dtype (was only the batch shape and dtype, with no parameter)."""
    import glassnet as gn
    from glassnet.distributions import Categorical, Normal

    assert repr(Normal(0.0, 1.0)) == "Normal(loc: 0.0, scale: 1.0, dtype=float32)"
    assert repr(Normal(np.zeros((2, 1)), np.ones(3))) == "Normal(loc: (2, 3), scale: (2, 3), dtype=float64)"
    assert repr(Bernoulli(probs=0.25)) == "Bernoulli(probs: 0.25, dtype=float32)"
    assert repr(Bernoulli(logits=gn.Tensor(np.zeros(3)))) == "Bernoulli(logits: (3,), dtype=float64)"
    assert repr(Categorical(logits=np.zeros((2, 3, 4)))) == "Categorical(logits: (2, 3, 4), dtype=float64)"


def test_kl_divergence_finds_the_closed_form_for_a_subclass_as_pytorch_does():
    """torch dispatches kl_divergence along the classes' MRO (was NotImplementedError here)."""
    from glassnet.distributions import Normal, kl_divergence

    class Prior(Normal):
        pass

    class TorchPrior(TD.Normal):
        pass

    ours = kl_divergence(Normal(np.array(0.0), np.array(1.0)), Prior(np.array(1.0), np.array(2.0)))
    zero, one, two = (torch.tensor(x, dtype=torch.float64) for x in (0.0, 1.0, 2.0))
    theirs = TD.kl_divergence(TD.Normal(zero, one), TorchPrior(one, two))
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-12, atol=0)
    assert kl_divergence(Prior(0.0, 1.0), Prior(0.0, 1.0)).item() == 0.0
