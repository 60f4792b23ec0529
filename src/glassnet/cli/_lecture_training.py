"""The lecture's topics on training, in the course notes' order: gradient descent and its
variants, the optimizers, the challenges of deep networks (vanishing and exploding gradients),
batch normalization and regularization (dropout, early stopping). Each check uses the threshold
the example's own test asserts."""

from __future__ import annotations

from ._lecture_core import Context, example_topic


def _variants(r: dict, context: Context):
    runs = r["results"]
    held = (all(run["final_loss"] < run["initial_loss"] for run in runs.values())
            and runs["stochastic"]["expected_updates_per_epoch"] == r["n_train"]
            and runs["batch"]["expected_updates_per_epoch"] == 1)
    return held, [f"{name} (batch size {run['batch_size'] or 'all'}): {run['expected_updates_per_epoch']} updates "
                  f"per epoch, loss {run['initial_loss']:.3f} -> {run['final_loss']:.3f} in {r['epochs']} epochs, "
                  f"test accuracy {run['test_accuracy']:.3f}" for name, run in runs.items()]


def _optimizers(r: dict, context: Context):
    final = r["final_loss"]
    held = final["momentum"] < final["SGD"] and final["Adam"] < final["SGD"] and final["RMSprop"] < final["SGD"]
    numbers = [f"{name}: training loss {loss:.4f}, accuracy {r['final_accuracy'][name]:.3f}"
               for name, loss in sorted(final.items(), key=lambda item: item[1])]
    numbers.append(f"same learning rate {r['learning_rate']} for all, {r['epochs']} epochs: momentum ends "
                   f"{final['SGD'] / final['momentum']:.1f}x and Adam {final['SGD'] / final['Adam']:.1f}x lower than "
                   "plain SGD")
    return held, numbers


def _vanishing(r: dict, context: Context):
    nets = r["networks"]
    glorot, relu, norm = nets["sigmoid + Glorot"], nets["ReLU + He"], nets["sigmoid + batch norm"]
    held = (glorot["ratio_at_init"] < 0.01 and "vanishing" in glorot["findings"]
            and relu["ratio_at_init"] > 0.3 and norm["ratio_at_init"] > 0.3
            and relu["test_accuracy"][-1] > glorot["test_accuracy"][-1] + 0.5)
    return held, [f"{name}: first / last hidden layer's gradient norm {net['ratio_at_init']:.2g} at initialization; "
                  f"after {r['epochs']} epochs loss {net['loss'][-1]:.3f}, test accuracy {net['test_accuracy'][-1]:.3f}"
                  f"; monitor: {', '.join(net['findings']) or 'nothing'}" for name, net in nets.items()]


def _exploding(r: dict, context: Context):
    plain, clipped = r["no_clipping"], r["clipping"]
    held = (plain["diverged"] and not clipped["diverged"] and plain["first_grad_norm"] > 100 * r["he_grad_norm"]
            and clipped["loss"][-1] < clipped["loss"][0])
    return held, [
        f"weights at twice He's scale: first gradient norm {plain['first_grad_norm']:.3g} (He's scale: "
        f"{r['he_grad_norm']:.2g})",
        f"no clipping: {'diverged (NaN) after ' if plain['diverged'] else 'finite after '}{plain['steps']} steps; "
        f"largest finite gradient norm {plain['largest_finite_grad_norm']:.2g}",
        f"clip_grad_norm={r['max_norm']:g}: {clipped['steps']} steps, finite throughout, "
        f"loss {clipped['loss'][-1]:.3g} "
        f"after {r['epochs']} epochs, test accuracy {clipped['test_accuracy'][-1]:.3f}; {r['clipped_steps']} steps "
        "were rescaled"]


def _batchnorm(r: dict, context: Context):
    plain, norm, high = r["results"]["plain"], r["results"]["batch norm"], r["high_lr"]
    # the plain network can learn the task (at some lower rate), and fails at the high one, where batch norm trains
    held = (norm[high]["loss"] < 0.1 and plain[high]["loss"] > 10 * norm[high]["loss"]
            and any(plain[lr]["loss"] < 0.1 for lr in plain if lr < high))
    return held, [f"peak learning rate {lr}: plain loss {plain[lr]['loss']:.4f} (test accuracy "
                  f"{plain[lr]['test_accuracy']:.3f}), with batch norm {norm[lr]['loss']:.4f} (test accuracy "
                  f"{norm[lr]['test_accuracy']:.3f})" for lr in plain]


def _dropout(r: dict, context: Context):
    plain, dropped = r["results"]["no dropout"], r["results"]["dropout 0.5"]
    held = dropped["accuracy_gap"] < plain["accuracy_gap"] and dropped["loss_gap"] < plain["loss_gap"]
    return held, [f"{name}: accuracy train {run['train_accuracy']:.3f} / validation {run['val_accuracy']:.3f} "
                  f"(gap {run['accuracy_gap']:.3f}); loss train {run['train_loss']:.3f} / validation "
                  f"{run['val_loss']:.3f} (gap {run['loss_gap']:.3f})" for name, run in r["results"].items()]


def _early_stopping(r: dict, context: Context):
    held = (r["epochs_run"] < r["epoch_budget"] / 2 and r["val_loss_at_stop"] > r["best_val_loss"]
            and abs(r["restored_val_loss"] - r["best_val_loss"]) <= 1e-6)
    numbers = [f"validation loss lowest at epoch {r['best_epoch'] + 1}: {r['best_val_loss']:.4f}",
               f"stopped after epoch {r['epochs_run']} of {r['epoch_budget']} (validation loss then "
               f"{r['val_loss_at_stop']:.4f})",
               f"the restored model, re-evaluated: validation loss {r['restored_val_loss']:.4f}, accuracy "
               f"{r['restored_val_accuracy']:.3f}"]
    if r.get("full_budget"):
        numbers.append(f"trained for all {r['epoch_budget']} epochs instead: validation loss "
                       f"{r['full_budget']['val_loss']:.3f}, accuracy {r['full_budget']['val_accuracy']:.3f}")
    return held, numbers


TOPICS = [
    example_topic("gradient_descent", "Gradient Descent", "Batch, stochastic and mini-batch gradient descent",
                  "Batch gradient descent updates once per pass over the data, stochastic gradient descent once per "
                  "sample, mini-batch once per batch; all three lower the loss.", "gradient_descent_variants",
                  _variants),
    example_topic("optimizers", "Optimization Algorithms", "Momentum, Adagrad, RMSprop and Adam against SGD",
                  "Momentum and the adaptive methods (RMSprop, Adam) reach a lower loss than plain SGD at the same "
                  "learning rate.", "optimizers_compared", _optimizers),
    example_topic("vanishing_gradients", "Challenges in Training Deep Networks", "Vanishing gradients",
                  "In a deep sigmoid network the gradients become very small in the first layers and learning stalls; "
                  "the choice of activation and initialization (ReLU + He) or batch norm keeps them alive.",
                  "vanishing_gradients", _vanishing),
    example_topic("exploding_gradients", "Challenges in Training Deep Networks", "Exploding gradients and clipping",
                  "Gradients can grow exponentially and make training unstable; gradient clipping keeps it finite.",
                  "exploding_gradients", _exploding),
    example_topic("batch_norm", "Batch Normalization", "Batch norm allows higher learning rates",
                  "Batch normalization normalizes each layer's input and allows for higher learning rates.",
                  "batchnorm_learning_rate", _batchnorm),
    example_topic("dropout", "Regularization Techniques", "Dropout narrows the generalization gap",
                  "Dropout randomly drops units during training and reduces overfitting: the gap between training "
                  "and validation narrows.", "dropout_overfitting", _dropout),
    example_topic("early_stopping", "Regularization Techniques", "Early stopping",
                  "Early stopping stops training when the validation loss starts to increase, and keeps the best "
                  "epoch's weights.", "early_stopping", _early_stopping),
]
