"""Occlusion and FeatureAblation equal a hand loop (Captum's arithmetic written out plainly), for
several windows, strides, baselines and feature masks; batching the perturbations changes nothing;
the model is left as it was; bad arguments fail before the model runs."""

import itertools

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.explain import FeatureAblation, Occlusion


def cnn(dtype=np.float64):
    return nn.Sequential(nn.Conv2d(2, 3, 3, padding=1, dtype=dtype, rng=0), nn.Tanh(), nn.Flatten(),
                         nn.Linear(3 * 5 * 6, 4, dtype=dtype, rng=1))


def images(n=2, dtype=np.float64):
    return np.random.default_rng(2).normal(size=(n, 2, 5, 6)).astype(dtype)


def score_of(model, x, target, *args):
    """f(x)[target] of each example, computed one example at a time (the hand loop's oracle)."""
    values = []
    with gn.no_grad():
        for n in range(len(x)):
            out = model(gn.Tensor(x[n:n + 1]), *(a[n:n + 1] if isinstance(a, np.ndarray) else a for a in args)).data
            values.append(out.reshape(-1)[0] if target is None else out[0, target[n]])
    return np.array(values)


def starts(size, window, stride):
    """Where the window starts along one axis: every stride while it fits, plus one cut at the
    edge when the last stride does not land on it."""
    first = list(range(0, size - window + 1, stride))
    if first[-1] + window < size:
        first.append(first[-1] + stride)
    return first


def occlusion_by_hand(model, x, window, strides, baseline, target, *args):
    base = np.broadcast_to(baseline, x.shape)
    full = score_of(model, x, target, *args)
    total, count = np.zeros_like(x), np.zeros_like(x)
    for corner in itertools.product(*(starts(s, w, st) for s, w, st in zip(x.shape[1:], window, strides))):
        where = (slice(None),) + tuple(slice(c, c + w) for c, w in zip(corner, window))
        occluded = x.copy()
        occluded[where] = base[where]
        total[where] += (full - score_of(model, occluded, target, *args)).reshape((-1,) + (1,) * (x.ndim - 1))
        count[where] += 1
    return total / count


def ablation_by_hand(model, x, mask, baseline, target, *args):
    mask = np.broadcast_to(mask, x.shape)
    base = np.broadcast_to(baseline, x.shape)
    result = np.zeros_like(x)
    full = score_of(model, x, target, *args)
    for n in range(len(x)):
        for group in np.unique(mask[n]):
            ablated = x[n:n + 1].copy()
            ablated[0][mask[n] == group] = base[n][mask[n] == group]
            one_args = tuple(a[n:n + 1] if isinstance(a, np.ndarray) else a for a in args)
            one_target = None if target is None else target[n:n + 1]
            result[n][mask[n] == group] = full[n] - score_of(model, ablated, one_target, *one_args)[0]
    return result


@pytest.mark.parametrize("window, strides", [((1, 1, 1), None), ((1, 2, 2), 1), ((2, 3, 2), (1, 2, 1)),
                                             ((2, 3, 3), 2), ((2, 5, 6), None), ((1, 4, 4), (1, 3, 2))])
@pytest.mark.parametrize("baselines", [None, 0.5, "example", "per_example"])
def test_occlusion_equals_the_hand_loop(window, strides, baselines):
    model, x = cnn(), images()
    base = {None: 0.0, 0.5: 0.5, "example": np.linspace(-1, 1, 60).reshape(2, 5, 6),
            "per_example": np.random.default_rng(5).normal(size=x.shape)}[baselines]
    target = np.array([1, 3])
    expected = occlusion_by_hand(model, x, window, (strides,) * 3 if isinstance(strides, int) else strides or (1, 1, 1),
                                 base, target)
    for per_eval in (1, 3, 1000):
        got = Occlusion(model).attribute(x, window, strides=strides, baselines=None if baselines is None else base,
                                         target=[1, 3], perturbations_per_eval=per_eval)
        assert got.dtype == np.float64 and got.shape == x.shape
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("mask", [None, "groups", "per_example", "channels"])
@pytest.mark.parametrize("baselines", [None, -0.25, "per_example"])
def test_feature_ablation_equals_the_hand_loop(mask, baselines):
    model, x = cnn(), images(3)
    rng = np.random.default_rng(7)
    feature_mask = {None: None,
                    "groups": rng.choice([-3, 4, 10, 11], size=(2, 5, 6)),          # any ints, one example's shape
                    "per_example": rng.integers(0, 5, size=(3, 2, 5, 6)),            # one mask per example
                    "channels": np.array([[[0]], [[9]]])}[mask]                       # (2, 1, 1): broadcast
    hand_mask = np.arange(60).reshape(2, 5, 6) if feature_mask is None else feature_mask
    base = {None: 0.0, -0.25: -0.25, "per_example": rng.normal(size=x.shape)}[baselines]
    expected = ablation_by_hand(model, x, hand_mask, base, np.array([0, 2, 3]))
    for per_eval in (1, 4, 500):
        got = FeatureAblation(model).attribute(x, baselines=None if baselines is None else base, target=[0, 2, 3],
                                               feature_mask=feature_mask, perturbations_per_eval=per_eval)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


class Gated(nn.Module):
    """A model with an additional per-example argument: the scores times a gate per example."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(5, 6, dtype=np.float64, rng=3), nn.ReLU(), nn.Linear(6, 1, dtype=np.float64,
                                                                                                  rng=4))

    def forward(self, x, gate, offset):
        return self.body(x) * gate.reshape(-1, 1) + offset


def test_tabular_model_with_additional_forward_args_and_one_output():
    model, rng = Gated(), np.random.default_rng(9)
    x, gate = rng.normal(size=(4, 5)), rng.uniform(0.5, 2.0, size=4)
    expected = ablation_by_hand(model, x, np.arange(5), 0.0, None, gate, 0.25)
    got = FeatureAblation(model).attribute(x, additional_forward_args=(gate, 0.25), perturbations_per_eval=2)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)
    expected = occlusion_by_hand(model, x, (2,), (1,), 1.0, None, gate, 0.25)
    got = Occlusion(model).attribute(x, (2,), baselines=1.0, additional_forward_args=(gate, 0.25),
                                     perturbations_per_eval=3)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-14)


def test_a_function_and_the_linear_case():
    """For a linear score w.x the ablation of feature i gives w_i (x_i - b_i); occlusion with
    windows of one feature gives the same."""
    w = np.array([1.0, -2.0, 0.0, 3.5])
    f = lambda t: (t * w).sum(axis=1)  # noqa: E731
    x = np.random.default_rng(1).normal(size=(3, 4))
    np.testing.assert_allclose(FeatureAblation(f).attribute(x, baselines=0.5), w * (x - 0.5), rtol=1e-12)
    np.testing.assert_allclose(Occlusion(f).attribute(x, (1,), baselines=0.5), w * (x - 0.5), rtol=1e-12)


def test_dtypes():
    f = lambda t: t.sum(axis=1)  # noqa: E731
    assert FeatureAblation(f).attribute(np.ones((2, 3), np.float32)).dtype == np.float32
    assert Occlusion(f).attribute(np.ones((2, 3), np.int64), (2,)).dtype == np.float32
    assert Occlusion(f).attribute(gn.Tensor(np.ones((2, 3))), (2,)).dtype == np.float64
    got = FeatureAblation(f).attribute(np.array([[1, 2, 3]]))
    np.testing.assert_array_equal(got, [[1.0, 2.0, 3.0]])


def test_the_model_is_left_as_it_was():
    model = nn.Sequential(nn.Linear(4, 6, dtype=np.float64, rng=0), nn.BatchNorm1d(6, dtype=np.float64), nn.ReLU(),
                          nn.Dropout(0.5, rng=1), nn.Linear(6, 2, dtype=np.float64, rng=2))
    x = np.random.default_rng(3).normal(size=(5, 4))
    model.train()
    loss = model(gn.Tensor(x)).sum()
    loss.backward()
    model[1].running_mean[:] = 0.3
    before = {name: value.copy() for name, value in model.state_dict().items()}
    grads = [p.grad.copy() for p in model.parameters()]
    first = Occlusion(model).attribute(x, (2,), target=1)
    second = FeatureAblation(model).attribute(x, target=0)
    assert model.training and all(m.training for m in model.modules())
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])
    for p, g in zip(model.parameters(), grads):
        np.testing.assert_array_equal(p.grad, g)
    # eval mode inside: Dropout off, so the same call gives the same numbers, equal to the hand loop
    model.eval()
    np.testing.assert_allclose(first, occlusion_by_hand(model, x, (2,), (1,), 0.0, np.full(5, 1)), rtol=1e-12)
    np.testing.assert_allclose(second, ablation_by_hand(model, x, np.arange(4), 0.0, np.zeros(5, int)), rtol=1e-12)


class Counting:
    """A forward function that counts its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, t):
        self.calls += 1
        return t.sum(axis=(1, 2)).reshape(-1, 1) * gn.Tensor(np.ones((1, 3)))


@pytest.mark.parametrize("call, error, words", [
    (lambda x: Occlusion(Counting()).attribute(x, (4, 3)), ValueError, "cannot exceed"),
    (lambda x: Occlusion(Counting()).attribute(x, (2,)), ValueError, "one entry per axis"),
    (lambda x: Occlusion(Counting()).attribute(x, (2, 2), strides=(1, 1, 1)), ValueError, "one entry per axis"),
    (lambda x: Occlusion(Counting()).attribute(x, (2, 2), strides=(3, 1)), ValueError, "cannot be larger"),
    (lambda x: Occlusion(Counting()).attribute(x, (2, 0)), ValueError, "sliding_window_shapes[1]"),
    (lambda x: Occlusion(Counting()).attribute(x, "2, 2"), TypeError, "sliding_window_shapes"),
    (lambda x: Occlusion(Counting()).attribute(x, (2, 2), strides=1.5), TypeError, "strides"),
    (lambda x: Occlusion(Counting()).attribute(x, (2, 2), perturbations_per_eval=0), ValueError,
     "perturbations_per_eval"),
    (lambda x: Occlusion(Counting()).attribute(x, (2, 2), baselines=np.zeros((4, 4))), ValueError, "baselines"),
    (lambda x: FeatureAblation(Counting()).attribute(x, feature_mask=np.zeros((3, 2), int)), ValueError,
     "feature_mask"),
    (lambda x: FeatureAblation(Counting()).attribute(x, feature_mask=np.zeros((5, 3, 3), int)), ValueError,
     "feature_mask"),
    (lambda x: FeatureAblation(Counting()).attribute(x, feature_mask=np.zeros((3, 3))), TypeError, "integer"),
    (lambda x: FeatureAblation(Counting()).attribute(x, feature_mask=np.zeros((3, 3), bool)), TypeError, "integer"),
    (lambda x: FeatureAblation(Counting()).attribute(x * np.nan), ValueError, "NaN"),
    (lambda x: FeatureAblation(Counting()).attribute(x, target=3), ValueError, "target"),
    (lambda x: FeatureAblation(Counting()).attribute(x, target=[0, 1, 2]), ValueError, "target"),
    (lambda x: FeatureAblation(Counting()).attribute(x, target=None), ValueError, "target"),
    (lambda x: Occlusion(Counting()).attribute(x, (1, 1), target=1.5), ValueError, "target"),
])
def test_bad_arguments_fail_before_any_perturbation(call, error, words):
    x = np.ones((2, 3, 3))
    with pytest.raises(error, match=words.replace("[", r"\[").replace("]", r"\]")):
        call(x)


def test_no_forward_before_the_argument_checks():
    f = Counting()
    with pytest.raises(ValueError, match="cannot exceed"):
        Occlusion(f).attribute(np.ones((2, 3, 3)), (4, 3))
    with pytest.raises(ValueError, match="feature_mask"):
        FeatureAblation(f).attribute(np.ones((2, 3, 3)), feature_mask=np.zeros((3, 2), int))
    assert f.calls == 0
    with pytest.raises(ValueError, match="target"):
        FeatureAblation(f).attribute(np.ones((2, 3, 3)), target=5)
    assert f.calls == 1  # one run on the first example tells the output's shape; no perturbation ran
    with pytest.raises(TypeError, match="forward_func"):
        Occlusion("model")
