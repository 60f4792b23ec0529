"""PyTorch twins of small glassnet models and Captum's formulas written with torch.autograd.grad,
the oracle of the tests of glassnet.explain (Captum itself is not installed).

The twins run in float64 on the same weights: a glassnet Linear's weight is (in, out), the
transpose of torch's; convolution weights have the same layout in both. Each formula here is
written from Captum's definitions (captum/attr/_core/saliency.py, input_x_gradient.py,
integrated_gradients.py and _utils/approximation_methods.py), not from glassnet's code.
"""

import numpy as np
import torch

from glassnet import nn

torch.set_default_dtype(torch.float64)


def _copy_linear(ours, theirs):
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(ours.weight.data.T))
        theirs.bias.copy_(torch.tensor(ours.bias.data))


def _randomize_biases(model, rng):
    for name, parameter in model.named_parameters():
        if name.endswith("bias"):
            parameter.data[...] = rng.normal(scale=0.3, size=parameter.shape)


def mlp(outputs=3, seed=0):
    """(glassnet model, torch twin): 5 -> 8 (tanh) -> 6 (relu) -> outputs, float64."""
    rng = np.random.default_rng(seed)
    ours = nn.Sequential(nn.Linear(5, 8, dtype=np.float64, rng=rng), nn.Tanh(),
                         nn.Linear(8, 6, dtype=np.float64, rng=rng), nn.ReLU(),
                         nn.Linear(6, outputs, dtype=np.float64, rng=rng))
    _randomize_biases(ours, rng)
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 6), torch.nn.ReLU(),
                                 torch.nn.Linear(6, outputs))
    for i in (0, 2, 4):
        _copy_linear(ours[i], theirs[i])
    return ours, theirs


def cnn(seed=0):
    """(glassnet model, torch twin): (N, 1, 8, 8) -> Conv2d(1, 3, 3, padding=1) -> ReLU ->
    MaxPool2d(2) -> Flatten -> Linear(48, 4), float64."""
    rng = np.random.default_rng(seed)
    ours = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1, dtype=np.float64, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(48, 4, dtype=np.float64, rng=rng))
    _randomize_biases(ours, rng)
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 3, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                 torch.nn.Flatten(), torch.nn.Linear(48, 4))
    with torch.no_grad():
        theirs[0].weight.copy_(torch.tensor(ours[0].weight.data))
        theirs[0].bias.copy_(torch.tensor(ours[0].bias.data))
    _copy_linear(ours[4], theirs[4])
    return ours, theirs


def select(out, target):
    """Captum's _select_targets: the whole output for None, column ``target`` for an int, one
    entry per row for a list."""
    if target is None:
        return out.reshape(len(out))
    if isinstance(target, int):
        return out[:, target]
    return out[torch.arange(len(out)), torch.tensor(target)]


def gradient(model, x, target):
    """d model(x)[target] / dx of each row, by torch.autograd.grad."""
    inputs = torch.tensor(x, requires_grad=True)
    (grad,) = torch.autograd.grad(select(model(inputs), target).sum(), inputs)
    return grad.numpy()


def saliency(model, x, target, abs=True):
    grad = gradient(model, x, target)
    return np.abs(grad) if abs else grad


def input_x_gradient(model, x, target):
    return x * gradient(model, x, target)


def captum_step_sizes_and_alphas(method, n):
    """captum/attr/_utils/approximation_methods.py, restated."""
    if method == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n)
        return list(0.5 * weights), list(0.5 * (1 + nodes))
    deltas = [1 / n] * n
    if method == "riemann_trapezoid":
        deltas[0] /= 2
        deltas[-1] /= 2
        return deltas, list(np.linspace(0, 1, n))
    alphas = {"riemann_left": np.linspace(0, 1 - 1 / n, n),
              "riemann_middle": np.linspace(1 / (2 * n), 1 - 1 / (2 * n), n),
              "riemann_right": np.linspace(1 / n, 1, n)}[method]
    return deltas, list(alphas)


def integrated_gradients(model, x, baseline, target, n_steps, method, multiply_by_inputs=True):
    """Captum's IntegratedGradients._attribute and compute_convergence_delta: the scaled inputs of
    every step stacked step after step, the target repeated with them, the gradients weighted by
    the step sizes and summed over the steps; delta = sum of attributions - (f(x) - f(baseline))."""
    step_sizes, alphas = captum_step_sizes_and_alphas(method, n_steps)
    x_t, b_t = torch.tensor(x), torch.tensor(np.broadcast_to(baseline, x.shape).copy())
    scaled = torch.cat([b_t + alpha * (x_t - b_t) for alpha in alphas]).requires_grad_()
    expanded = target * n_steps if isinstance(target, list) else target
    (grads,) = torch.autograd.grad(select(model(scaled), expanded).sum(), scaled)
    weighted = grads.reshape(n_steps, -1) * torch.tensor(step_sizes).reshape(n_steps, 1)
    total = weighted.reshape((n_steps,) + x.shape).sum(0)
    attributions = total * (x_t - b_t) if multiply_by_inputs else total
    with torch.no_grad():
        change = select(model(x_t), target) - select(model(b_t), target)
    delta = attributions.reshape(len(x), -1).sum(1) - change
    return attributions.detach().numpy(), delta.detach().numpy()
