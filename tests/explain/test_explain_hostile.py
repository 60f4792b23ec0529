"""Hostile arguments to the gradient explainers: a clear error (TypeError for a wrong type,
ValueError for a wrong value) before the model runs (a wrong target: after one run on one example
at most); and attribution never changes the model: its modes, BatchNorm's running statistics,
its parameters' .grad."""

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn
from glassnet.explain import InputXGradient, IntegratedGradients, NoiseTunnel, Saliency

X = np.random.default_rng(4).normal(size=(3, 5))


class Counted:
    """A three-class model that counts the rows it is given."""

    def __init__(self):
        self.model = nn.Sequential(nn.Linear(5, 4, dtype=np.float64, rng=0), nn.Tanh(),
                                   nn.Linear(4, 3, dtype=np.float64, rng=1))
        self.rows = []

    def __call__(self, x, *args):
        self.rows.append(len(x))
        return self.model(x)


def explainers(forward):
    return {"saliency": lambda **kw: Saliency(forward).attribute(**kw),
            "input_x_gradient": lambda **kw: InputXGradient(forward).attribute(**kw),
            "integrated": lambda **kw: IntegratedGradients(forward).attribute(**kw),
            "noise": lambda **kw: NoiseTunnel(Saliency(forward)).attribute(rng=0, **kw)}


BAD_INPUTS = [
    (np.where(X > 1, np.nan, X), ValueError, "NaN"),
    (np.full((2, 5), np.inf), ValueError, "infinite"),
    (np.zeros((0, 5)), ValueError, r"N >= 1"),
    (3.0, ValueError, r"shape \(\)"),
    (np.zeros((3, 0)), ValueError, "at least one value"),
    (np.array([["a"] * 5]), TypeError, "real array"),
    ([[1.0, 2.0], [3.0]], ValueError, "rectangular"),
]


@pytest.mark.parametrize("name", ["saliency", "input_x_gradient", "integrated", "noise"])
@pytest.mark.parametrize(("inputs", "error", "match"), BAD_INPUTS)
def test_bad_inputs_fail_before_the_model_runs(name, inputs, error, match):
    forward = Counted()
    with pytest.raises(error, match=match):
        explainers(forward)[name](inputs=inputs, target=0)
    assert forward.rows == []


BAD_TARGETS = [
    (3, r"target must be in \[0, 3\).*\(3, 3\)"),
    (-1, r"target must be in \[0, 3\)"),
    ([0, 1], r"target has 2 entries but there are 3 examples.*\(3, 3\)"),
    ([0, 1, 2, 0], "target has 4 entries"),
    (1.0, r"sequence of ints.*\(3, 3\)"),
    ([0.0, 1.0, 2.0], "sequence of ints"),
    (np.float64(1), "sequence of ints"),
    (True, "sequence of ints"),
    ("1", "sequence of ints"),
    ([[0], [1], [2]], "sequence of ints"),
    (None, r"target is None, but the model's output has shape \(3, 3\)"),
]


@pytest.mark.parametrize("name", ["saliency", "input_x_gradient", "integrated", "noise"])
@pytest.mark.parametrize(("target", "match"), BAD_TARGETS)
def test_bad_targets_are_value_errors_naming_the_output_shape(name, target, match):
    forward = Counted()
    generator = np.random.default_rng(0)
    state = generator.bit_generator.state
    with pytest.raises(ValueError, match=match):
        if name == "noise":
            NoiseTunnel(Saliency(forward)).attribute(X, target=target, rng=generator)
        else:
            explainers(forward)[name](inputs=X, target=target)
    assert forward.rows in ([], [1])  # at most the one-example run that tells the output's shape
    assert generator.bit_generator.state == state  # no noise drawn


def test_an_int_target_on_one_value_per_example_is_refused():
    with pytest.raises(ValueError, match=r"target must be None for an output of shape \(3,\)"):
        Saliency(lambda x: Counted()(x)[:, 0]).attribute(X, target=0)


BAD_ARGUMENTS = [
    (dict(n_steps=0), ValueError, "n_steps must be a positive int"),
    (dict(n_steps=1, method="riemann_trapezoid"), ValueError, "n_steps must be >= 2"),
    (dict(n_steps=1.5), TypeError, "n_steps"),
    (dict(n_steps=True), TypeError, "n_steps"),
    (dict(method="simpson"), ValueError, "method must be"),
    (dict(method=None), TypeError, "method must be"),
    (dict(internal_batch_size=0), ValueError, "internal_batch_size"),
    (dict(return_convergence_delta="yes"), TypeError, "return_convergence_delta"),
    (dict(baselines=np.zeros((2, 5))), ValueError, r"baselines must be .* \(5,\) .* \(3, 5\).*got shape \(2, 5\)"),
    (dict(baselines=np.zeros(4)), ValueError, r"got shape \(4,\)"),
    (dict(baselines=np.nan), ValueError, "baselines must be a finite number"),
    (dict(baselines=np.full((3, 5), np.inf)), ValueError, "baselines contains NaN or infinite"),
    (dict(baselines="zeros"), TypeError, "baselines must be None, a number or an array"),
    (dict(baselines=True), TypeError, "baselines"),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD_ARGUMENTS)
def test_bad_integrated_gradients_arguments_fail_before_the_model_runs(kwargs, error, match):
    forward = Counted()
    with pytest.raises(error, match=match):
        IntegratedGradients(forward).attribute(X, target=0, **kwargs)
    assert forward.rows == []


BAD_NOISE_ARGUMENTS = [
    (dict(nt_type="mean"), ValueError, "nt_type must be"),
    (dict(nt_samples=0), ValueError, "nt_samples must be a positive int"),
    (dict(nt_samples=2.0), TypeError, "nt_samples"),
    (dict(nt_samples_batch_size=0), ValueError, "nt_samples_batch_size"),
    (dict(stdevs=-1.0), ValueError, "stdevs must be >= 0"),
    (dict(stdevs=np.nan), ValueError, "stdevs must be finite"),
    (dict(stdevs="big"), TypeError, "stdevs"),
    (dict(draw_baseline_from_distrib=1), TypeError, "draw_baseline_from_distrib"),
    (dict(draw_baseline_from_distrib=True), ValueError, "needs baselines"),
    (dict(draw_baseline_from_distrib=True, baselines=np.zeros((4, 3))), ValueError, r"got \(4, 3\)"),
    (dict(baselines=np.zeros((2, 5))), ValueError, "baselines must be"),
    (dict(n_step=10), TypeError, "IntegratedGradients.attribute does not take"),
    (dict(rng="seed"), TypeError, "rng must be"),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), BAD_NOISE_ARGUMENTS)
def test_bad_noise_tunnel_arguments_fail_before_any_noise_is_drawn(kwargs, error, match):
    forward = Counted()
    generator = np.random.default_rng(0)
    state = generator.bit_generator.state
    arguments = dict(rng=generator, target=0) | kwargs
    with pytest.raises(error, match=match):
        NoiseTunnel(IntegratedGradients(forward)).attribute(X, **arguments)
    assert forward.rows in ([], [1])
    assert generator.bit_generator.state == state


def test_a_failure_inside_the_method_puts_the_generator_back():
    forward = Counted()
    generator = np.random.default_rng(0)
    state = generator.bit_generator.state
    with pytest.raises(ValueError, match="n_steps"):
        NoiseTunnel(IntegratedGradients(forward)).attribute(X, target=0, n_steps=0, rng=generator)
    assert generator.bit_generator.state == state


BAD_CONSTRUCTORS = [
    (lambda: Saliency(5), TypeError, "forward_func must be a glassnet Module or a callable"),
    (lambda: IntegratedGradients("model"), TypeError, "forward_func"),
    (lambda: IntegratedGradients(Counted(), multiply_by_inputs=1), TypeError, "multiply_by_inputs"),
    (lambda: NoiseTunnel(Counted().model), TypeError, "attribution_method must be an explainer"),
    (lambda: Saliency(Counted()).attribute(X, target=0, abs=None), TypeError, "abs must be True or False"),
]


@pytest.mark.parametrize(("make", "error", "match"), BAD_CONSTRUCTORS)
def test_bad_constructors_and_flags(make, error, match):
    with pytest.raises(error, match=match):
        make()


BAD_FORWARDS = [
    (lambda m: lambda x: m(x).reshape(len(x), 3, 1), ValueError, r"shape \(1,\), \(1, 1\) or \(1, classes\)"),
    (lambda m: lambda x: m(x)[:1], ValueError, r"for a batch of 3, got shape \(1, 3\)"),
    (lambda m: lambda x: m(x).sum(axis=0), ValueError, r"got shape \(3,\)"),
    (lambda m: lambda x: m(x).data, TypeError, "must return a glassnet Tensor"),
    (lambda m: lambda x: gn.Tensor(m(x).data), ValueError, "does not depend on its input"),
    (lambda m: lambda x: m(gn.Tensor(x.data)), ValueError, "does not depend on its input"),
]


@pytest.mark.parametrize(("wrap", "error", "match"), BAD_FORWARDS)
def test_a_forward_func_that_returns_the_wrong_thing(wrap, error, match):
    forward = Counted()
    with pytest.raises(error, match=match):
        Saliency(wrap(forward)).attribute(X, target=0)


def model_in_training_mode():
    model = nn.Sequential(nn.Linear(5, 6, rng=0), nn.BatchNorm1d(6), nn.ReLU(), nn.Dropout(0.5, rng=0),
                          nn.Linear(6, 3, rng=1))
    gn.fit(model, X.astype(np.float32), np.array([0, 1, 2]), loss=gn.losses.cross_entropy,
           optimizer=gn.optim.SGD(model.parameters(), lr=0.1), epochs=2, batch_size=3, verbose=0, seed=0)
    model.train()
    gn.losses.cross_entropy(model(X.astype(np.float32)), np.array([0, 1, 2])).backward()  # leave a .grad behind
    return model


def snapshot(model):
    return ([m.training for m in model.modules()], {k: v.copy() for k, v in model.state_dict().items()},
            [None if p.grad is None else p.grad.copy() for p in model.parameters()])


def assert_same(model, before):
    modes, state, grads = snapshot(model)
    assert modes == before[0]
    assert state.keys() == before[1].keys()
    for key in state:
        np.testing.assert_array_equal(state[key], before[1][key], err_msg=key)
    for got, expected in zip(grads, before[2]):
        np.testing.assert_array_equal(got, expected)


def test_attribution_leaves_the_model_as_it_was_and_runs_it_in_eval_mode():
    model = model_in_training_mode()
    before = snapshot(model)
    x = X.astype(np.float32)
    results = [Saliency(model).attribute(x, target=1), InputXGradient(model).attribute(x, target=[0, 1, 2]),
               IntegratedGradients(model).attribute(x, target=2, n_steps=16, internal_batch_size=5)[0],
               NoiseTunnel(Saliency(model)).attribute(x, target=1, rng=0)]
    assert_same(model, before)
    model.eval()  # the same numbers as the model in eval mode: Dropout off, BatchNorm on running statistics
    evaluated = [Saliency(model).attribute(x, target=1), InputXGradient(model).attribute(x, target=[0, 1, 2]),
                 IntegratedGradients(model).attribute(x, target=2, n_steps=16)[0],
                 NoiseTunnel(Saliency(model)).attribute(x, target=1, rng=0)]
    for got, expected in zip(results, evaluated):
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_a_failing_forward_puts_the_modes_back_and_a_frozen_batch_norm_stays_frozen():
    model = model_in_training_mode()
    model[1].freeze()
    model.train()
    before = snapshot(model)
    calls = []

    def failing(x):
        calls.append(len(x))
        if len(calls) > 1:
            raise RuntimeError("the model broke")
        return model(x)

    with pytest.raises(RuntimeError, match="the model broke"):
        IntegratedGradients(failing).attribute(X.astype(np.float32), target=0)
    assert_same(model, before)
    # a Module's bound method is run in eval mode too (Dropout off: the same numbers twice)
    bound = IntegratedGradients(model.forward).attribute(X.astype(np.float32), target=0, n_steps=8)
    np.testing.assert_array_equal(IntegratedGradients(model.forward).attribute(X.astype(np.float32), target=0,
                                                                               n_steps=8)[0], bound[0])
    assert_same(model, before)
    model.unfreeze()
    assert model[1].training  # freeze() recorded the mode train() asked for, and it was not changed
