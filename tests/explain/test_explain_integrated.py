"""IntegratedGradients equals Captum's formula computed with PyTorch on a twin of the model
(float64): every quadrature rule, every form of baseline and target; its step sizes and alphas
are Captum's; internal batching changes nothing."""

import numpy as np
import pytest
import torch

from explain_twins import captum_step_sizes_and_alphas, cnn, integrated_gradients, mlp
from glassnet import nn
from glassnet.explain import IntegratedGradients
from glassnet.explain.integrated import METHODS, step_sizes_and_alphas

RNG = np.random.default_rng(2)
X_MLP = RNG.normal(size=(4, 5))
X_CNN = RNG.normal(size=(2, 1, 8, 8))
BASELINES = {"none": None, "number": 0.5, "per-example": RNG.normal(size=(4, 5)), "shared": RNG.normal(size=(5,))}


@pytest.mark.parametrize("n_steps", [2, 3, 7, 50])
@pytest.mark.parametrize("method", METHODS)
def test_step_sizes_and_alphas_are_captums(method, n_steps):
    sizes, alphas = step_sizes_and_alphas(n_steps, method)
    expected_sizes, expected_alphas = captum_step_sizes_and_alphas(method, n_steps)
    np.testing.assert_allclose(sizes, expected_sizes, rtol=1e-15, atol=1e-17)
    np.testing.assert_allclose(alphas, expected_alphas, rtol=1e-15, atol=1e-17)
    assert sizes.dtype == alphas.dtype == np.float64


def test_the_rules_integrate_what_they_should():
    # Gauss-Legendre with n points is exact for polynomials of degree 2n - 1: a^5 with n = 3
    sizes, alphas = step_sizes_and_alphas(3, "gausslegendre")
    assert abs((sizes * alphas ** 5).sum() - 1 / 6) < 1e-15
    sizes, alphas = step_sizes_and_alphas(10, "riemann_trapezoid")
    assert abs(sizes.sum() - (1 - 1 / 10)) < 1e-15  # Captum's trapezoid weights sum to 1 - 1/n


@pytest.mark.parametrize("baseline", BASELINES.values(), ids=BASELINES.keys())
@pytest.mark.parametrize("method", METHODS)
def test_integrated_gradients_of_an_mlp_equal_torch(method, baseline):
    ours, theirs = mlp()
    target = [0, 2, 1, 2]
    got, delta = IntegratedGradients(ours).attribute(X_MLP, baselines=baseline, target=target, n_steps=12,
                                                     method=method)
    base = 0.0 if baseline is None else baseline
    expected, expected_delta = integrated_gradients(theirs, X_MLP, base, target, 12, method)
    assert got.shape == X_MLP.shape and got.dtype == np.float64 and delta.shape == (4,)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(delta, expected_delta, rtol=1e-8, atol=1e-12)


@pytest.mark.parametrize("target", [1, [3, 0]], ids=["int", "per-example"])
@pytest.mark.parametrize("method", ["gausslegendre", "riemann_trapezoid", "riemann_left"])
def test_integrated_gradients_of_a_cnn_equal_torch(method, target):
    ours, theirs = cnn()
    baseline = RNG.normal(size=X_CNN.shape)
    got, delta = IntegratedGradients(ours).attribute(X_CNN, baselines=baseline, target=target, n_steps=9,
                                                     method=method)
    expected, expected_delta = integrated_gradients(theirs, X_CNN, baseline, target, 9, method)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(delta, expected_delta, rtol=1e-8, atol=1e-12)


def test_one_output_per_example_with_target_none_and_without_multiplying_by_inputs():
    ours, theirs = mlp(outputs=1)
    ig = IntegratedGradients(ours, multiply_by_inputs=False)
    got, delta = ig.attribute(X_MLP, baselines=0.25, n_steps=20, method="riemann_middle")
    expected, expected_delta = integrated_gradients(theirs, X_MLP, 0.25, None, 20, "riemann_middle",
                                                    multiply_by_inputs=False)
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(delta, expected_delta, rtol=1e-8, atol=1e-12)
    flat = IntegratedGradients(lambda t: ours(t).reshape(len(t)))
    np.testing.assert_allclose(flat.attribute(X_MLP, n_steps=20, return_convergence_delta=False),
                               integrated_gradients(theirs, X_MLP, 0.0, None, 20, "gausslegendre")[0],
                               rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("internal_batch_size", [1, 3, 4, 5, 17, 48, 1000])
def test_internal_batch_size_changes_nothing(internal_batch_size):
    ours, _ = mlp()
    calls = []

    def counted(x):
        calls.append(len(x))
        return ours(x)

    ig = IntegratedGradients(counted)
    whole, whole_delta = ig.attribute(X_MLP, baselines=0.1, target=[2, 1, 0, 1], n_steps=12)
    calls.clear()
    got, delta = ig.attribute(X_MLP, baselines=0.1, target=[2, 1, 0, 1], n_steps=12,
                              internal_batch_size=internal_batch_size)
    np.testing.assert_allclose(got, whole, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(delta, whole_delta, rtol=1e-9, atol=1e-13)
    assert max(calls) <= internal_batch_size  # at most that many rows per forward pass
    assert sum(calls[1:]) == 4 * 12 + 2 * 4  # after the one-example probe: the path, then f(x) and f(baseline)


def test_completeness_of_a_linear_model_is_exact():
    model = nn.Linear(6, 3, dtype=np.float64, rng=0)
    x, baseline = RNG.normal(size=(5, 6)), RNG.normal(size=(5, 6))
    for method in ("riemann_left", "riemann_right", "riemann_middle", "gausslegendre"):
        attributions, delta = IntegratedGradients(model).attribute(x, baselines=baseline, target=1, n_steps=4,
                                                                   method=method)
        np.testing.assert_allclose(attributions, (x - baseline) * model.weight.data[:, 1], rtol=1e-12)
        np.testing.assert_allclose(delta, 0.0, atol=1e-12)
    # Captum's trapezoid weights sum to 1 - 1/n: a constant gradient is integrated to (1 - 1/n) of it
    attributions, delta = IntegratedGradients(model).attribute(x, baselines=baseline, target=1, n_steps=4,
                                                               method="riemann_trapezoid")
    np.testing.assert_allclose(attributions, 0.75 * (x - baseline) * model.weight.data[:, 1], rtol=1e-12)
    np.testing.assert_allclose(delta, -0.25 * ((x - baseline) @ model.weight.data[:, 1]), rtol=1e-10)


def test_additional_forward_args_go_with_each_point_of_the_path():
    ours, theirs = mlp()
    shift = RNG.normal(size=X_MLP.shape)
    got, delta = IntegratedGradients(lambda x, s, scale: ours(scale * x + s)).attribute(
        X_MLP, target=1, n_steps=10, additional_forward_args=(shift, 0.5), internal_batch_size=7)
    # Captum repeats a per-example argument with the steps (step after step, as the inputs)
    def twin(t):
        return theirs(0.5 * t + torch.tensor(shift).repeat(len(t) // len(shift), 1))
    expected, expected_delta = integrated_gradients(twin, X_MLP, 0.0, 1, 10, "gausslegendre")
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(delta, expected_delta, rtol=1e-8, atol=1e-12)


def test_float32_model_and_inputs():
    model = nn.Sequential(nn.Linear(5, 8, rng=0), nn.Tanh(), nn.Linear(8, 3, rng=1))
    x = X_MLP.astype(np.float32)
    attributions, delta = IntegratedGradients(model).attribute(x, target=0, n_steps=64)
    assert attributions.dtype == delta.dtype == np.float32
    change = model(x).data[:, 0] - model(np.zeros_like(x)).data[:, 0]
    np.testing.assert_allclose(attributions.sum(axis=1) - change, delta, atol=1e-5)
    assert np.all(np.abs(delta) <= 1e-4 * np.abs(change).max())
