"""Losses against finite differences and PyTorch for every reduction; stability at extreme inputs;
errors that say what is wrong."""

from functools import partial

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassnet as gn
from glassnet import losses
from oracle import check_against_torch, check_finite_differences

REDUCTIONS = ["mean", "sum", "none"]


def torch_reduce(terms, reduction):
    return {"mean": terms.mean, "sum": terms.sum, "none": lambda: terms}[reduction]()


def softmax_rows(z):
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


# ---- one line per loss: (glassnet, torch, prediction, target) ------------------------------------
def _data(seed):
    rng = np.random.default_rng(seed)
    probabilities = softmax_rows(rng.normal(size=(5, 4)))
    sparse = probabilities * (rng.random((5, 4)) < 0.6)  # zeros in the target distribution
    sparse[:, 0] += 0.1
    return {
        "real": rng.normal(size=(6, 3)),
        "real target": rng.normal(size=(6, 3)),
        "column": rng.normal(size=(6, 1)),
        "column target": rng.normal(size=6),
        "probs": rng.uniform(0.05, 0.95, size=(6, 3)),
        "binary": (rng.random((6, 3)) < 0.5).astype(float),
        "soft": rng.uniform(0, 1, size=(6, 3)),
        "logits": rng.normal(size=(5, 4)) * 2,
        "labels": rng.integers(0, 4, size=5),
        "pm one": rng.choice([-1.0, 1.0], size=(6, 3)),
        "predicted distribution": softmax_rows(rng.normal(size=(5, 4))),
        "distribution": probabilities,
        "sparse distribution": sparse / sparse.sum(axis=-1, keepdims=True),
    }


DATA = _data(13)


def like(y, p):
    """A target for PyTorch: integer labels as they are, others in the prediction's dtype."""
    y = np.asarray(y)
    return torch.tensor(y) if y.dtype.kind in "iu" else torch.tensor(y, dtype=p.dtype)

CLASS_WEIGHT = [0.5, 2.0, 1.0, 3.0]
LOSSES = {  # name: (glassnet (p, y, reduction=), torch (p, y, r) with y a torch tensor, p key, y key)
    "mse": (losses.mse, lambda p, y, r: TF.mse_loss(p, y, reduction=r), "real", "real target"),
    "mse (n, 1) vs (n,)": (losses.mse, lambda p, y, r: TF.mse_loss(p, y.reshape(-1, 1), reduction=r),
                           "column", "column target"),
    "mae": (losses.mae, lambda p, y, r: TF.l1_loss(p, y, reduction=r), "real", "real target"),
    "huber": (losses.huber, lambda p, y, r: TF.huber_loss(p, y, reduction=r), "real", "real target"),
    "huber delta 0.5": (partial(losses.huber, delta=0.5),
                        lambda p, y, r: TF.huber_loss(p, y, reduction=r, delta=0.5), "real", "real target"),
    "bce": (losses.binary_cross_entropy, lambda p, y, r: TF.binary_cross_entropy(p, y, reduction=r),
            "probs", "binary"),
    "bce soft targets": (losses.binary_cross_entropy,
                         lambda p, y, r: TF.binary_cross_entropy(p, y, reduction=r), "probs", "soft"),
    "bce with logits": (losses.binary_cross_entropy_with_logits,
                        lambda p, y, r: TF.binary_cross_entropy_with_logits(p, y, reduction=r),
                        "real", "binary"),
    "bce with logits soft": (losses.binary_cross_entropy_with_logits,
                             lambda p, y, r: TF.binary_cross_entropy_with_logits(p, y, reduction=r),
                             "real", "soft"),
    "cross entropy labels": (losses.cross_entropy, lambda p, y, r: TF.cross_entropy(p, y, reduction=r),
                             "logits", "labels"),
    "cross entropy float labels": (
        lambda p, y, reduction: losses.cross_entropy(p, y * 1.0, reduction=reduction),
        lambda p, y, r: TF.cross_entropy(p, y, reduction=r), "logits", "labels"),
    "cross entropy one-hot": (
        lambda p, y, reduction: losses.cross_entropy(p, np.eye(4)[y], reduction=reduction),
        lambda p, y, r: TF.cross_entropy(p, y, reduction=r), "logits", "labels"),
    "cross entropy probabilities": (losses.cross_entropy, lambda p, y, r: TF.cross_entropy(p, y, reduction=r),
                                    "logits", "distribution"),
    "cross entropy class weights": (
        partial(losses.cross_entropy, weight=CLASS_WEIGHT),
        lambda p, y, r: TF.cross_entropy(p, y, weight=like(CLASS_WEIGHT, p), reduction=r),
        "logits", "labels"),
    "hinge": (losses.hinge, lambda p, y, r: torch_reduce(torch.clamp(1 - y * p, min=0), r), "real", "pm one"),
    "hinge 0/1 targets": (losses.hinge,
                          lambda p, y, r: torch_reduce(torch.clamp(1 - (2 * y - 1) * p, min=0), r),
                          "real", "binary"),
    "kl_div": (losses.kl_div, lambda p, y, r: torch_kl_div(p, y, r),
               "predicted distribution", "distribution"),
    "kl_div zeros in target": (losses.kl_div, lambda p, y, r: torch_kl_div(p, y, r),
                               "predicted distribution", "sparse distribution"),
}


def torch_kl_div(prediction, target, reduction):
    """Ours reduces over classes first: "mean" is PyTorch's "batchmean", "none" is per sample."""
    if reduction == "none":
        return TF.kl_div(prediction.log(), target, reduction="none").sum(-1)
    return TF.kl_div(prediction.log(), target, reduction="batchmean" if reduction == "mean" else "sum")


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", LOSSES)
def test_loss(name, reduction):
    fn, torch_fn, prediction_key, target_key = LOSSES[name]
    prediction, target = DATA[prediction_key], DATA[target_key]
    ours = lambda p: fn(p, target, reduction=reduction)  # noqa: E731
    check_finite_differences(ours, prediction)
    out = check_against_torch(ours, lambda p: torch_fn(p, like(target, p), reduction), prediction)
    expected_shape = () if reduction != "none" else (
        prediction.shape[:1] if name.startswith(("cross", "kl")) else prediction.shape)
    assert out.shape == expected_shape


@pytest.mark.parametrize("name", LOSSES)
def test_loss_keeps_float32(name):
    """A float32 prediction gives a float32 loss and gradient, whatever the target's dtype."""
    fn, torch_fn, prediction_key, target_key = LOSSES[name]
    prediction, target = DATA[prediction_key], DATA[target_key]
    out = check_against_torch(lambda p: fn(p, target, reduction="mean"),
                              lambda p: torch_fn(p, like(target, p), "mean"),
                              prediction, dtype=np.float32, atol=1e-5, rtol=1e-4)
    assert out.dtype == np.float32


def test_loss_accepts_a_tensor_target_and_sends_it_no_gradient():
    prediction = gn.Tensor(DATA["real"], requires_grad=True)
    target = gn.Tensor(DATA["real target"], requires_grad=True)
    loss = losses.mse(prediction, target)
    loss.backward()
    assert target.grad is None
    np.testing.assert_allclose(loss.item(), np.mean((DATA["real"] - DATA["real target"]) ** 2))


# ---- extreme inputs -------------------------------------------------------------------------------
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy_is_finite_at_zero_and_one_like_torch(reduction):
    p = np.array([0.0, 1.0, 0.0, 1.0, 0.5, 0.0, 1.0, 1e-20])
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.3, 0.7, 1.0])
    for dtype in [np.float64, np.float32]:
        out = check_against_torch(lambda t: losses.binary_cross_entropy(t, y, reduction),
                                  lambda t: TF.binary_cross_entropy(t, like(y, t), reduction=reduction),
                                  p, dtype=dtype)
        assert np.all(np.isfinite(out.data))
    terms = losses.binary_cross_entropy(gn.Tensor(p), y, "none").data
    np.testing.assert_allclose(terms[:4], [0.0, 0.0, 100.0, 100.0])  # log clamped at -100


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_at_huge_logits(reduction):
    z = np.array([-1e4, 1e4, -1e4, 1e4, 0.0, 1e3])
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0, 0.5])
    for dtype in [np.float64, np.float32]:
        out = check_against_torch(
            lambda t: losses.binary_cross_entropy_with_logits(t, y, reduction),
            lambda t: TF.binary_cross_entropy_with_logits(t, like(y, t), reduction=reduction), z, dtype=dtype)
        assert np.all(np.isfinite(out.data))


@pytest.mark.parametrize("target", ["labels", "probabilities", "weighted"])
def test_cross_entropy_at_huge_logits(target):
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [0.0, 0.0, -1e4], [-1e4, -1e4, -1e4]])
    labels = np.array([1, 0, 2, 1])
    weight = np.array([1.0, 2.0, 0.5])
    if target == "labels":
        ours = lambda t: losses.cross_entropy(t, labels)  # noqa: E731
        theirs = lambda t: TF.cross_entropy(t, like(labels, t))  # noqa: E731
    elif target == "probabilities":
        probs = np.array([[0.2, 0.8, 0.0], [1.0, 0.0, 0.0], [0.0, 0.5, 0.5], [0.3, 0.3, 0.4]])
        ours = lambda t: losses.cross_entropy(t, probs)  # noqa: E731
        theirs = lambda t: TF.cross_entropy(t, like(probs, t))  # noqa: E731
    else:
        ours = lambda t: losses.cross_entropy(t, labels, weight=weight)  # noqa: E731
        theirs = lambda t: TF.cross_entropy(t, like(labels, t), weight=like(weight, t))  # noqa: E731
    for dtype in [np.float64, np.float32]:
        out = check_against_torch(ours, theirs, logits, dtype=dtype, rtol=1e-5)
        assert np.isfinite(out.item())


def test_kl_div_of_identical_distributions_is_zero():
    y = DATA["sparse distribution"]
    np.testing.assert_allclose(losses.kl_div(gn.Tensor(y), y).item(), 0.0, atol=1e-12)
    one = losses.kl_div(gn.Tensor(np.array([0.5, 0.5])), np.array([0.25, 0.75]))  # a 1-D pair
    np.testing.assert_allclose(one.item(), 0.25 * np.log(0.5) + 0.75 * np.log(1.5))


# ---- errors ---------------------------------------------------------------------------------------------
ELEMENTWISE = ["mse", "mae", "huber", "binary_cross_entropy", "binary_cross_entropy_with_logits",
               "hinge", "kl_div"]
ALL = ELEMENTWISE + ["cross_entropy"]


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_shape_mismatch_names_both_shapes(name):
    prediction = gn.Tensor(np.full((4, 3), 0.5))
    with pytest.raises(ValueError, match=rf"{name}: prediction shape \(4, 3\) and target shape \(3, 4\)"):
        getattr(losses, name)(prediction, np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(4, 1\)"):
        getattr(losses, name)(prediction, np.ones((4, 1)))  # would broadcast in NumPy


def test_cross_entropy_shape_errors():
    logits = gn.Tensor(np.zeros((4, 3)))
    with pytest.raises(ValueError, match="4 rows of logits but 5 labels"):
        losses.cross_entropy(logits, np.zeros(5, int))
    with pytest.raises(ValueError, match=r"shape \(4,\) \(labels\) or \(4, 3\).*got \(4, 2\)"):
        losses.cross_entropy(logits, np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"\(batch, classes\), got \(3,\)"):
        losses.cross_entropy(gn.Tensor(np.zeros(3)), np.zeros(3, int))


@pytest.mark.parametrize("labels", [[0, 1, 3, 2], [0, -1, 1, 2]], ids=str)
def test_cross_entropy_labels_out_of_range(labels):
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 2\] for 3 classes"):
        losses.cross_entropy(gn.Tensor(np.zeros((4, 3))), np.array(labels))


def test_cross_entropy_label_and_weight_errors():
    logits = gn.Tensor(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="must be integers"):
        losses.cross_entropy(logits, np.array([0.5, 1.0]))
    with pytest.raises(TypeError, match="labels must be integers"):
        losses.cross_entropy(logits, np.array([True, False]))
    with pytest.raises(ValueError, match=r"weight must have shape \(3,\), got \(2,\)"):
        losses.cross_entropy(logits, np.array([0, 1]), weight=[1.0, 2.0])
    with pytest.raises(ValueError, match="class weights need integer labels"):
        losses.cross_entropy(logits, np.full((2, 3), 1 / 3), weight=[1.0, 2.0, 3.0])


@pytest.mark.parametrize("name", ALL)
def test_unknown_reduction(name):
    with pytest.raises(ValueError, match="reduction must be 'mean', 'sum' or 'none', got 'avg'"):
        getattr(losses, name)(gn.Tensor(np.full((2, 3), 0.5)), np.zeros(2, int), reduction="avg")


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_target(name, bad):
    target = np.full((2, 3), 0.5)
    target[1, 2] = bad
    with pytest.raises(ValueError, match="NaN or inf"):
        getattr(losses, name)(gn.Tensor(np.full((2, 3), 0.5)), target)


def test_nan_label_is_rejected():
    with pytest.raises(ValueError, match="must be integers"):
        losses.cross_entropy(gn.Tensor(np.zeros((2, 3))), np.array([0.0, np.nan]))


def test_value_errors_of_particular_losses():
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        losses.binary_cross_entropy(gn.Tensor(np.array([1.5, 0.5])), np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        losses.binary_cross_entropy(gn.Tensor(np.array([0.5, 0.5])), np.array([2.0, 0.0]))
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        losses.binary_cross_entropy_with_logits(gn.Tensor(np.array([3.0])), np.array([-1.0]))
    with pytest.raises(ValueError, match=r"-1/\+1 \(or 0/1\), got values \[0.0, 2.0\]"):
        losses.hinge(gn.Tensor(np.array([0.5, 0.5])), np.array([2.0, 0.0]))
    with pytest.raises(ValueError, match="non-negative"):
        losses.kl_div(gn.Tensor(np.array([[0.5, 0.5]])), np.array([[1.5, -0.5]]))
    with pytest.raises(ValueError, match="delta must be > 0, got 0"):
        losses.huber(gn.Tensor(np.array([0.5])), np.array([0.0]), delta=0)
    with pytest.raises(TypeError, match="target must be numeric"):
        losses.mse(gn.Tensor(np.array([0.5])), np.array(["a"]))


FROM_LOGITS = {"cross_entropy": True, "binary_cross_entropy_with_logits": True, "hinge": True,
               "binary_cross_entropy": False, "kl_div": False, "mse": False, "mae": False, "huber": False}
# Losses of something else than (prediction, target), which fit cannot call by name: outside LOSSES.
NOT_BY_NAME = {"info_nce"}  # two views' projections (tests/test_losses_info_nce.py)


def test_every_loss_says_whether_it_takes_logits():
    public = {name for name, value in vars(losses).items()
              if callable(value) and not name.startswith("_") and getattr(value, "__module__", None) == losses.__name__}
    # a new loss must be marked, and added here
    assert public - {"get"} - NOT_BY_NAME == set(FROM_LOGITS) == set(losses.LOSSES)
    assert NOT_BY_NAME <= public and not any(hasattr(getattr(losses, name), "from_logits") for name in NOT_BY_NAME)
    assert all(losses.get(name) is losses.LOSSES[name] for name in FROM_LOGITS)
    for name, expected in FROM_LOGITS.items():
        assert getattr(losses, name).from_logits is expected, name


EMPTY_CASES = {
    "cross_entropy": (np.zeros((0, 3)), np.zeros(0, np.int64)),
    "mse": (np.zeros((0, 2)), np.zeros((0, 2))),
    "mae": (np.zeros((0, 2)), np.zeros((0, 2))),
    "huber": (np.zeros((0, 2)), np.zeros((0, 2))),
    "binary_cross_entropy": (np.zeros((0, 1)), np.zeros((0, 1))),
    "binary_cross_entropy_with_logits": (np.zeros((0, 1)), np.zeros((0, 1))),
    "hinge": (np.zeros((0, 1)), np.zeros((0, 1))),
    "kl_div": (np.zeros((0, 3)), np.zeros((0, 3))),
}


@pytest.mark.parametrize("name", EMPTY_CASES)
def test_the_mean_over_no_samples_is_a_clear_error_and_sum_and_none_are_defined(name):
    # cross_entropy raised ZeroDivisionError, the others returned nan with a RuntimeWarning.
    prediction, target = EMPTY_CASES[name]
    loss = losses.LOSSES[name]
    with pytest.raises(ValueError, match=rf"{name}: the mean over an empty batch \(0 samples\) is undefined"):
        loss(gn.Tensor(prediction), target)
    x = gn.Tensor(prediction, requires_grad=True)
    total = loss(x, target, reduction="sum")
    assert total.item() == 0.0
    total.backward()
    assert x.grad.shape == prediction.shape
    assert loss(gn.Tensor(prediction), target, reduction="none").shape[0] == 0


def test_a_target_too_large_for_float32_is_named_as_such():
    with pytest.raises(ValueError, match=r"mse: target holds values that overflow float32 \(max 3.4e\+38\)"):
        losses.mse(gn.Tensor(np.zeros((2, 1), np.float32)), np.array([[1e300], [0.0]]))
    with pytest.raises(ValueError, match="mse: target contains NaN or inf"):
        losses.mse(gn.Tensor(np.zeros((2, 1), np.float32)), np.array([[np.inf], [0.0]]))
