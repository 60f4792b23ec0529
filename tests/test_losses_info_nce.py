"""losses.info_nce (SimCLR's NT-Xent) against two PyTorch formulations and the formula written
out anchor by anchor; gradients against PyTorch and finite differences at several temperatures,
batches of 1 and 2, zero vectors; float32 stays float32; errors name the problem."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassnet as gn
from glassnet import losses
from oracle import check_against_torch, check_finite_differences

TEMPERATURES = [0.05, 0.1, 0.5, 1.0, 3.0]


def torch_nt_xent(z1, z2, temperature=0.5, reduction="mean"):
    """The usual PyTorch SimCLR loss: unit rows, a (2N, 2N) similarity matrix with its diagonal
    masked to -inf, cross-entropy with the other view as the class."""
    n = z1.shape[0]
    z = TF.normalize(torch.cat([z1, z2]), dim=1, eps=1e-8)
    logits = (z @ z.T / temperature).masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    targets = (torch.arange(2 * n) + n) % (2 * n)
    return TF.cross_entropy(logits, targets, reduction=reduction)


def torch_nt_xent_pairwise(z1, z2, temperature=0.5):
    """The same loss from F.cosine_similarity of every pair, and the anchor's own term removed
    by indexing (no mask at all)."""
    n = z1.shape[0]
    z = torch.cat([z1, z2])
    s = TF.cosine_similarity(z[:, None, :], z[None, :, :], dim=-1) / temperature
    terms = []
    for i in range(2 * n):
        others = torch.cat([s[i, :i], s[i, i + 1:]])
        terms.append(torch.logsumexp(others, 0) - s[i, (i + n) % (2 * n)])
    return torch.stack(terms).mean()


def formula(z1, z2, t):
    """l(i, j) = -log( exp(s_ij/t) / sum_{k != i} exp(s_ik/t) ), averaged over the 2N anchors,
    in plain NumPy, one anchor at a time."""
    z = np.concatenate([z1, z2])
    n2 = len(z)
    unit = z / np.linalg.norm(z, axis=1, keepdims=True)
    s = unit @ unit.T
    total = 0.0
    for i in range(n2):
        j = (i + n2 // 2) % n2
        denominator = sum(np.exp(s[i, k] / t) for k in range(n2) if k != i)
        total += -np.log(np.exp(s[i, j] / t) / denominator)
    return total / n2


@pytest.mark.parametrize("temperature", TEMPERATURES)
@pytest.mark.parametrize("n, d", [(1, 3), (2, 3), (2, 1), (5, 4), (8, 16)], ids=str)
def test_info_nce_against_torch_and_finite_differences(n, d, temperature):
    rng = np.random.default_rng(n * 100 + d)
    z1, z2 = rng.normal(size=(n, d)), rng.normal(size=(n, d))

    def ours(a, b):
        return losses.info_nce(a, b, temperature=temperature)

    out = check_against_torch(ours, lambda a, b: torch_nt_xent(a, b, temperature), z1, z2,
                              atol=1e-10, rtol=1e-9)
    check_against_torch(ours, lambda a, b: torch_nt_xent_pairwise(a, b, temperature), z1, z2,
                        atol=1e-10, rtol=1e-9)
    np.testing.assert_allclose(out.item(), formula(z1, z2, temperature), rtol=1e-10)
    check_finite_differences(ours, z1, z2)
    out32 = check_against_torch(ours, lambda a, b: torch_nt_xent(a, b, temperature), z1, z2,
                                dtype=np.float32, atol=1e-4, rtol=1e-4)
    assert out32.dtype == np.float32


def test_a_batch_of_two_by_hand():
    """N = 2: rows a, b (view 1) and a', b' (view 2). Anchor a: positive a', negatives b, b'."""
    z1 = np.array([[1.0, 0.0], [0.0, 1.0]])
    z2 = np.array([[1.0, 1.0], [0.0, -2.0]])
    c = np.sqrt(0.5)
    s = np.array([[1, 0, c, 0], [0, 1, c, -1], [c, c, 1, -c], [0, -1, -c, 1]])  # cosines of a, b, a', b'
    t = 0.5
    positives = [2, 3, 0, 1]
    terms = [np.log(sum(np.exp(s[i, k] / t) for k in range(4) if k != i)) - s[i, positives[i]] / t
             for i in range(4)]
    out = losses.info_nce(gn.Tensor(z1), gn.Tensor(z2), temperature=t, reduction="none")
    np.testing.assert_allclose(out.data, terms, rtol=1e-14)
    np.testing.assert_allclose(losses.info_nce(z1, z2, t).item(), np.mean(terms), rtol=1e-14)
    np.testing.assert_allclose(losses.info_nce(z1, z2, t, reduction="sum").item(), np.sum(terms), rtol=1e-14)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_reductions_against_torch(reduction, rng):
    z1, z2 = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    out = check_against_torch(lambda a, b: losses.info_nce(a, b, 0.2, reduction=reduction),
                              lambda a, b: torch_nt_xent(a, b, 0.2, reduction), z1, z2, atol=1e-10, rtol=1e-9)
    assert out.shape == ((8,) if reduction == "none" else ())


def test_one_sample_has_nothing_to_contrast():
    """N = 1: the positive is the only other row, so each term is -log(1) = 0, gradient 0; the
    masked PyTorch formulation agrees."""
    z1 = gn.Tensor(np.array([[1.0, 2.0, 3.0]]), requires_grad=True)
    z2 = gn.Tensor(np.array([[-1.0, 0.5, 0.0]]), requires_grad=True)
    loss = losses.info_nce(z1, z2)
    assert loss.item() == 0.0
    loss.backward()
    np.testing.assert_array_equal(z1.grad, np.zeros((1, 3)))
    np.testing.assert_array_equal(z2.grad, np.zeros((1, 3)))
    assert torch_nt_xent(torch.tensor(z1.data), torch.tensor(z2.data)).item() == 0.0


def test_zero_vectors_like_torch():
    """A zero projection has cosine 0 with everything (its norm is clamped at 1e-8), and its
    gradient is that of torch's F.normalize(eps=1e-8) formulation."""
    rng = np.random.default_rng(5)
    z1, z2 = rng.normal(size=(3, 4)), rng.normal(size=(3, 4))
    z1[1] = 0.0
    z2[2] = 0.0
    out = check_against_torch(lambda a, b: losses.info_nce(a, b, 0.5), lambda a, b: torch_nt_xent(a, b, 0.5),
                              z1, z2, atol=1e-6, rtol=1e-9)
    assert np.isfinite(out.item())


def test_invariant_to_the_length_of_each_projection(rng):
    z1, z2 = rng.normal(size=(6, 5)), rng.normal(size=(6, 5))
    scale = rng.uniform(0.01, 100, size=(6, 1))
    np.testing.assert_allclose(losses.info_nce(z1 * scale, z2, 0.3).item(),
                               losses.info_nce(z1, z2, 0.3).item(), rtol=1e-12)


def test_small_temperatures_stay_finite_in_float32():
    """s / t reaches 1e4 for t = 1e-4: the masked log-sum-exp is shifted by the row max, so no
    exp overflows, and the masked entry (-inf) gets an exact 0 gradient, not a nan."""
    rng = np.random.default_rng(2)
    z1 = gn.Tensor(rng.normal(size=(4, 3)).astype(np.float32), requires_grad=True)
    z2 = gn.Tensor(rng.normal(size=(4, 3)).astype(np.float32), requires_grad=True)
    loss = losses.info_nce(z1, z2, temperature=1e-4)
    loss.backward()
    assert loss.dtype == np.float32 and z1.grad.dtype == np.float32
    assert np.isfinite(loss.item()) and np.all(np.isfinite(z1.grad)) and np.all(np.isfinite(z2.grad))
    expected = torch_nt_xent(torch.tensor(z1.data, dtype=torch.float64), torch.tensor(z2.data, dtype=torch.float64),
                             1e-4).item()
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-3)


def test_well_separated_views_give_a_loss_near_its_floor():
    """Identical views of orthogonal samples: s_ii' = 1, every negative 0, so each term is
    log(e^(1/t) + (2N - 2)) - 1/t: small for a small temperature."""
    z = np.eye(4)
    t = 0.1
    expected = np.log(np.exp(1 / t) + 6) - 1 / t
    np.testing.assert_allclose(losses.info_nce(z, z, t).item(), expected, rtol=1e-12)


def test_not_a_loss_by_name_for_fit():
    """fit calls loss(model(X), y): info_nce takes two projections, so it stays out of LOSSES."""
    assert "info_nce" not in losses.LOSSES
    with pytest.raises(ValueError, match="info_nce"):
        losses.get("info_nce")


def test_errors_name_the_problem():
    z = gn.Tensor(np.ones((3, 2)))
    bad = np.ones((3, 2))
    with pytest.raises(ValueError, match=r"one shape \(N, D\).*\(3, 2\) and \(4, 2\)"):
        losses.info_nce(z, np.ones((4, 2)))
    with pytest.raises(ValueError, match=r"one shape \(N, D\).*\(3,\) and \(3,\)"):
        losses.info_nce(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="at least one sample"):
        losses.info_nce(np.ones((0, 2)), np.ones((0, 2)))
    with pytest.raises(ValueError, match="at least one sample and one feature"):
        losses.info_nce(np.ones((3, 0)), np.ones((3, 0)))
    for value in (np.nan, np.inf, -np.inf):
        bad[1, 1] = value
        with pytest.raises(ValueError, match="z2 contains NaN or inf"):
            losses.info_nce(z, bad)
        with pytest.raises(ValueError, match="z1 contains NaN or inf"):
            losses.info_nce(bad, z)
    for temperature in (0.0, -0.5, np.nan, np.inf):
        with pytest.raises(ValueError, match="temperature"):
            losses.info_nce(z, z, temperature=temperature)
    with pytest.raises(TypeError, match="temperature"):
        losses.info_nce(z, z, temperature="0.5")
    with pytest.raises(ValueError, match="too small for float32"):
        losses.info_nce(np.ones((2, 2), np.float32), np.ones((2, 2), np.float32), temperature=1e-39)
    with pytest.raises(TypeError, match="float64 and float32"):
        losses.info_nce(z, gn.Tensor(np.ones((3, 2), np.float32)))
    with pytest.raises(ValueError, match="reduction"):
        losses.info_nce(z, z, reduction="batchmean")
