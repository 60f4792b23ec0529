"""The lecture's topics from the perceptron to backpropagation, in the course notes' order: each
is the course's claim and the check of it on the numbers measured. The thresholds are those the
examples' own tests assert (tests/test_examples_course.py), which hold at seeds 0-19 unless said."""

from __future__ import annotations

import numpy as np

from ._lecture_core import Context, Outcome, Topic, example_topic, figures_of, png, quietly, run_example


def _perceptron(r: dict, context: Context):
    held = r["perceptron_accuracy"] <= 0.75 and r["mlp_accuracy"] == 1.0
    return held, [f"perceptron on XOR: accuracy {r['perceptron_accuracy']:.2f} (no line does better than 0.75); an "
                  f"error in every one of its {r['perceptron_epochs']} epochs (fewest {r['perceptron_fewest_errors']})",
                  f"MLP 2-4-1 on XOR: accuracy {r['mlp_accuracy']:.2f}, loss {r['mlp_loss']:.4f}"]


def _activations(context: Context) -> Outcome:
    """Each activation's derivative by backpropagation against central differences (float64)."""
    from .. import functional as F
    from .. import plot
    from ..tensor import Tensor

    z = np.linspace(-4, 4, 801)
    z = z[np.abs(z) > 1e-3]          # step and ReLU have a kink at 0: no derivative there
    worst, step_grad = 0.0, None
    for name in ("step", *F.hidden_activation_names()):
        function = F.get_activation(name).function
        x = Tensor(z, requires_grad=True)
        function(x).sum().backward()
        h = 1e-6
        numeric = (function(Tensor(z + h)).numpy() - function(Tensor(z - h)).numpy()) / (2 * h)
        derivative = np.asarray(x.grad)
        if name == "step":
            step_grad = float(np.abs(derivative).max())
        else:
            worst = max(worst, float(np.abs(derivative - numeric).max()))
    names = F.hidden_activation_names()
    numbers = [f"{len(names)} activations between hidden layers: {', '.join(names)}",
               f"largest |backprop derivative - central difference| over z in [-4, 4]: {worst:.1e} (float64)",
               f"step: largest derivative {step_grad:g}: no gradient to learn from, hence the perceptron's own rule"]
    figure = plot.activations()
    return Outcome(numbers, worst <= 1e-6 and step_grad == 0, [("activations and their derivatives", png(figure))])


def _circles(r: dict, context: Context):
    held = r["mlp_test_accuracy"] >= 0.95 and r["perceptron_accuracy"] <= 0.7
    return held, [f"perceptron on circles: test accuracy {r['perceptron_accuracy']:.2f} (chance 0.50)",
                  f"MLP 2-10-2: test accuracy {r['mlp_test_accuracy']:.2f} (training {r['mlp_train_accuracy']:.2f}) "
                  f"after {r['epochs']} epochs; the course asks for >= 0.95"]


def _iris(context: Context) -> Outcome:
    from ._demo_figures import iris_figure

    result, printed = run_example("iris_softmax", context)
    regions, petals_printed = quietly(iris_figure, context.seed)
    held = result["test_accuracy"] >= 0.93 and result["largest_sum_deviation"] <= 1e-6
    numbers = [f"softmax layer 4-3 on the 4 measurements: test accuracy {result['test_accuracy']:.3f}; the course "
               "asks for >= 0.93",
               f"each row of probabilities sums to 1 (largest deviation {result['largest_sum_deviation']:.1e})",
               f"on petal length and width alone (the figure), MLP 2-10-3 with a softmax output: test accuracy "
               f"{regions['test_accuracy']:.3f}"]
    figures = [*figures_of(result), ("3 decision regions on petal length and width", regions["png"])]
    return Outcome(numbers, held, figures, printed + petals_printed)


def _initialization(r: dict, context: Context):
    runs = r["results"]
    zeros = runs["zeros"]
    randoms = [name for name in runs if name != "zeros"]
    held = (zeros["distinct_units"] == 1 and zeros["spread"] == 0
            and all(runs[name]["distinct_units"] > 1 and runs[name]["test_accuracy"] > zeros["test_accuracy"] + 0.2
                    for name in randoms))
    return held, [f"{name} init: {run['distinct_units']} distinct hidden units of 10 after {r['epochs']} epochs "
                  f"(largest difference between units {run['spread']:.3g}), test accuracy {run['test_accuracy']:.2f}"
                  for name, run in runs.items()]


def _losses(context: Context) -> Outcome:
    """glassnet's losses against the course's formulas, written out in NumPy (float64)."""
    from .. import losses, plot
    from ..tensor import Tensor

    rng = np.random.default_rng(context.seed)
    prediction, target = rng.normal(size=50), rng.normal(size=50)
    p, y = rng.uniform(0.01, 0.99, size=50), rng.integers(0, 2, size=50).astype(float)
    logits, labels = rng.normal(size=(50, 3)), rng.integers(0, 3, size=50)
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    margins_target = 2 * y - 1
    pairs = {
        "MSE": (losses.mse(Tensor(prediction), target), np.mean((target - prediction) ** 2)),
        "MAE": (losses.mae(Tensor(prediction), target), np.mean(np.abs(target - prediction))),
        "binary cross-entropy": (losses.binary_cross_entropy(Tensor(p), y),
                                 -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))),
        "cross-entropy": (losses.cross_entropy(Tensor(logits), labels), -np.mean(log_softmax[np.arange(50), labels])),
        "hinge": (losses.hinge(Tensor(prediction), margins_target),
                  np.mean(np.maximum(0, 1 - margins_target * prediction))),
    }
    errors = {name: abs(float(value.item()) - float(formula)) for name, (value, formula) in pairs.items()}
    numbers = [f"{name}: glassnet {float(value.item()):.6f}, the course's formula {float(formula):.6f}"
               for name, (value, formula) in pairs.items()]
    numbers.append(f"largest difference {max(errors.values()):.1e} (float64, 50 random samples)")
    figure = ("the course's loss functions", png(plot.loss_functions()))
    return Outcome(numbers, max(errors.values()) <= 1e-12, [figure])


def _backpropagation(context: Context) -> Outcome:
    """An MLP's gradient by backpropagation against central differences of the loss, every weight."""
    from .. import losses, nn

    rng = np.random.default_rng(context.seed)
    X, y = rng.normal(size=(16, 4)), rng.integers(0, 3, size=16)
    model = nn.Sequential(nn.Linear(4, 8, rng=rng, dtype=np.float64), nn.Tanh(),
                          nn.Linear(8, 3, rng=rng, dtype=np.float64))

    def loss() -> float:
        return float(losses.cross_entropy(model(X), y).item())

    model.zero_grad()
    losses.cross_entropy(model(X), y).backward()
    analytic, numeric, h = [], [], 1e-6
    for parameter in model.parameters():
        for index in np.ndindex(parameter.data.shape):
            saved = parameter.data[index]
            parameter.data[index] = saved + h
            up = loss()
            parameter.data[index] = saved - h
            down = loss()
            parameter.data[index] = saved
            analytic.append(np.asarray(parameter.grad)[index])
            numeric.append((up - down) / (2 * h))
    gradient, difference = np.array(analytic), np.array(analytic) - np.array(numeric)
    # the whole gradient's relative error: entries near 0 would make an entry-wise ratio meaningless
    relative = float(np.linalg.norm(difference) / (np.linalg.norm(gradient) + np.linalg.norm(numeric)))
    numbers = [f"MLP 4-8-3 (tanh), cross-entropy on 16 samples: {len(gradient)} weights and biases",
               f"largest |backpropagation - central difference| {np.abs(difference).max():.1e} (gradient entries up "
               f"to {np.abs(gradient).max():.2f})",
               f"relative error of the whole gradient ||g - g_numeric|| / (||g|| + ||g_numeric||): {relative:.1e}"]
    return Outcome(numbers, relative <= 1e-7)


TOPICS = [
    example_topic("perceptron", "Limitations of the Perceptron", "A perceptron cannot learn XOR",
                  "A perceptron can only solve linearly separable problems: it cannot model XOR. Multi-layer "
                  "networks overcome this.", "perceptron_xor", _perceptron),
    Topic("activations", "Non-linear activation functions", "Activation functions and their derivatives",
          "The perceptron uses a step function; sigmoid, tanh and the hinge family (ReLU) are the non-linear "
          "decision functions of modern units, and backpropagation needs their derivatives.",
          "glassnet.functional (the activation registry), glassnet.plot.activations", _activations),
    example_topic("circles", "Multi layer network", "Hidden layers learn a non-linear boundary",
                  "Hidden layers enable the network to learn complex, non-linear patterns: one hidden layer of 10 "
                  "units separates two concentric circles (test accuracy >= 0.95), which no line can.",
                  "circles_boundary", _circles),
    Topic("iris", "Multi-class loss function / Iris Dataset", "Softmax output on the three iris species",
          "A softmax output layer turns scores into class probabilities that sum to 1; trained with the "
          "cross-entropy it classifies the three iris species (test accuracy >= 0.93).",
          "examples/iris_softmax.py, glassnet demo's decision regions", _iris),
    example_topic("initialization", "Weight Initialization Techniques", "Zero initialization keeps units identical",
                  "Weights initialized to zero keep every hidden unit identical (the symmetry is never broken); "
                  "random initialization (Xavier/Glorot, He) gives distinct units and a far better fit.",
                  "zero_init_symmetry", _initialization),
    Topic("losses", "Loss Functions", "The course's loss functions",
          "MSE and MAE for regression, (binary) cross-entropy for probabilities, hinge for margins: each is the "
          "formula of the course notes.", "glassnet.losses, glassnet.plot.loss_functions", _losses),
    Topic("backpropagation", "Backpropagation", "Backpropagation gives the exact gradient",
          "Backpropagation applies the chain rule from the loss back through every layer and gives the gradient "
          "of the loss with respect to every weight.", "glassnet.Tensor.backward", _backpropagation),
]
