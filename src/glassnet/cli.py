"""The ``glassnet`` command line: ``demo``, ``train``, ``evaluate`` and ``predict``.

Bad input (a missing file, an unknown dataset or option, a non-numeric column, NaN, a file that
is not a glassnet model) prints one line on stderr and exits with status 2, without a traceback.

Example
-------
>>> import os, tempfile
>>> from glassnet.cli import main
>>> folder = tempfile.TemporaryDirectory()
>>> main(["train", "--data", "xor", "--epochs", "2", "--quiet", "--out", folder.name])
train: accuracy ...
test:  accuracy ...   (2 epochs)
model saved to .../model.safetensors (description in .../model.json)
0
>>> main(["evaluate", os.path.join(folder.name, "model.safetensors"), "--data", "xor"])
accuracy ... on 100 samples
0
>>> folder.cleanup()
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import warnings
from pathlib import Path

import numpy as np

from . import functional as F
from . import nn, optim
from ._checks import non_negative_number, positive_int, positive_number, probability
from ._version import __version__
from .data.csv_file import read_csv_features, read_csv_header


class UsageError(Exception):
    """A problem with what the user asked for: reported in one line, exit status 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of argparse's usage block
        raise UsageError(f"{self.prog}: {message}")


# ---- scoring -----------------------------------------------------------------------------------
def accuracy(model, X, y) -> float:
    from .train import predict

    return float(np.mean(predict(model, X).argmax(axis=1) == y))


# ---- glassnet demo ----------------------------------------------------------------------------
def demo(out_dir="glassnet-demo", seed=0, verbose=1, stream=None):
    """The course's story in three acts; returns the summary rows (name, train acc, test acc)."""
    import glassnet as gn
    from glassnet import data, losses, plot
    from glassnet.sklearn import Perceptron

    stream = stream or sys.stdout
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    say = (lambda text: print(text, file=stream)) if verbose else (lambda text: None)
    rows = []

    circles = data.load_circles(seed=seed)
    say("1. A perceptron (step activation, the course's learning rule) on circles: not linearly separable.")
    with warnings.catch_warnings():  # it cannot converge here: that is the point
        warnings.simplefilter("ignore")
        perceptron = Perceptron(random_state=seed).fit(circles.X_train, circles.y_train)
    rows.append(("perceptron", "circles", perceptron.score(circles.X_train, circles.y_train),
                 perceptron.score(circles.X_test, circles.y_test), "fails: about chance"))
    plot.decision_boundary(perceptron, circles.X_test, circles.y_test, title="perceptron on circles",
                           path=out / "perceptron_circles.png")

    say("2. An MLP with one hidden layer of 10 units on the same data.")
    gn.seed(seed)
    mlp = nn.mlp(2, (10,), 2, activation="tanh", rng=seed)
    history = gn.fit(mlp, circles.X_train, circles.y_train, loss=losses.cross_entropy,
                     optimizer=gn.optim.Adam(mlp.parameters(), lr=0.03), epochs=150, batch_size=32,
                     validation_split=0.2, seed=seed, verbose=0)
    rows.append(("MLP 2-10-2", "circles", accuracy(mlp, circles.X_train, circles.y_train),
                 accuracy(mlp, circles.X_test, circles.y_test), "solves it (>= 0.95)"))
    plot.decision_boundary(mlp, circles.X_test, circles.y_test, title="MLP 2-10-2 on circles",
                           path=out / "mlp_circles.png")
    plot.history(history, title="MLP on circles", path=out / "mlp_circles_loss.png")

    say("3. Iris, three classes, with a softmax output layer and cross-entropy.")
    iris = data.load_iris(seed=seed)
    gn.seed(seed)
    net = nn.mlp(4, (10,), 3, activation="relu", standardize_with=iris.X_train, rng=seed)
    history = gn.fit(net, iris.X_train, iris.y_train, loss=losses.cross_entropy,
                     optimizer=gn.optim.Adam(net.parameters(), lr=0.01), epochs=200, batch_size=16,
                     validation_split=0.2, seed=seed, verbose=0)
    rows.append(("MLP 4-10-3 softmax", "iris", accuracy(net, iris.X_train, iris.y_train),
                 accuracy(net, iris.X_test, iris.y_test), "works (>= 0.93)"))
    plot.history(history, title="softmax MLP on iris", path=out / "iris_loss.png")

    if verbose:
        _summary_table(rows, stream)
        say(f"Figures written to {out}/: " + ", ".join(sorted(p.name for p in out.glob("*.png"))))
    return rows


def _summary_table(rows, stream):
    from rich.console import Console
    from rich.table import Table

    table = Table(title="glassnet demo: the course's story")
    for column in ("model", "data", "train accuracy", "test accuracy", "the course says"):
        table.add_column(column)
    for name, dataset, train, test, claim in rows:
        table.add_row(name, dataset, f"{train:.3f}", f"{test:.3f}", claim)
    Console(file=stream, width=100).print(table)


# ---- glassnet train / evaluate / predict ----------------------------------------------------
def _load_data(name: str, target: str | None, seed: int):
    from glassnet import data

    if name.endswith(".csv") or Path(name).is_file():  # a file path, not a dataset name
        if not Path(name).is_file():
            raise UsageError(f"no such file: {name}")
        if target is None:
            raise UsageError(f"--target COLUMN is needed to read labels from {name}")
        return data.load_csv(name, target=target, seed=seed)
    if name not in data.DATASETS:
        raise UsageError(f"unknown dataset {name!r}; choose one of {', '.join(sorted(data.DATASETS))} or a .csv file")
    return data.load_dataset(name, seed=seed)


def _parse_hidden(text: str) -> tuple:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise UsageError(f"--hidden must be comma-separated positive integers such as 10,10, got {text!r}") from None
    if any(size <= 0 for size in sizes):
        raise UsageError(f"--hidden sizes must be positive, got {text!r}")
    return sizes


def _score(model, X, y, task: str) -> dict:
    """Accuracy for a classifier; mean squared error and R^2 for a regressor."""
    if task == "classification":
        return {"accuracy": accuracy(model, X, y)}
    from .train import predict

    predicted = predict(model, X).reshape(-1)
    mse = float(np.mean((predicted - y) ** 2))
    return {"mse": mse, "r2": 1.0 - mse / float(np.var(y)) if np.var(y) > 0 else float("nan")}


def _format(scores: dict) -> str:
    return "  ".join(f"{name} {value:.4f}" for name, value in scores.items())


def train(args, stream=None) -> dict:
    import glassnet as gn
    from glassnet import losses, plot

    stream = stream or sys.stdout
    backup_dir = Path(args.out) / "backup"  # --resume: a killed run continues from here
    if not getattr(args, "resume", False) and (backup_dir / "backup.safetensors").exists():
        raise UsageError(f"{backup_dir} holds the backup of an unfinished run: pass --resume to continue it, or "
                         "delete that folder to start afresh")
    dataset = _load_data(args.data, args.target, args.seed)
    classifier = dataset.task == "classification"
    n_outputs = dataset.n_classes if classifier else 1
    y_train = dataset.y_train if classifier else dataset.y_train.reshape(-1, 1)
    gn.seed(args.seed)
    model = nn.mlp(dataset.n_features, _parse_hidden(args.hidden), n_outputs, activation=args.activation,
                   batch_norm=args.batch_norm, dropout=args.dropout, standardize_with=dataset.X_train,
                   rng=args.seed)
    # --weight-decay is the optimizer's own (None: its default, 0.01 for adamw and 0 for the others)
    decay = {} if args.weight_decay is None else {"weight_decay": args.weight_decay}
    optimizer = optim.make_optimizer(args.optimizer, model.parameters(), args.lr, **decay)
    callbacks: list = []
    if args.early_stopping:
        callbacks.append(gn.EarlyStopping(monitor="val_loss", patience=args.early_stopping,
                                          restore_best_weights=True))
    backup = gn.BackupAndRestore(backup_dir) if getattr(args, "resume", False) else None
    callbacks += [backup] if backup is not None else []
    history = gn.fit(model, dataset.X_train, y_train, loss=losses.cross_entropy if classifier else losses.mse,
                     optimizer=optimizer, epochs=args.epochs, batch_size=args.batch_size, l1=args.l1, l2=args.l2,
                     metrics=("accuracy",) if classifier else ("mae",),
                     validation_split=0.2 if args.early_stopping else None, callbacks=callbacks,
                     seed=args.seed, verbose=0 if args.quiet else 1)
    train_scores = _score(model, dataset.X_train, dataset.y_train, dataset.task)
    test_scores = _score(model, dataset.X_test, dataset.y_test, dataset.task)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    info = {"task": dataset.task, "features": [str(f) for f in dataset.feature_names],
            "target": args.target or "label", "data": args.data,
            "classes": [str(c) for c in dataset.target_names] if classifier else None}
    gn.save(model, out / "model.safetensors")
    (out / "model.json").write_text(json.dumps(info, indent=2))
    if args.plot:
        plot.history(history, title=f"{args.data}", path=out / "loss.png")
        if classifier and dataset.n_features == 2:
            plot.decision_boundary(model, dataset.X_test, dataset.y_test, title=f"{args.data}: test data",
                                   path=out / "decision_boundary.png")
    epochs_run = len(history.history["loss"])
    if backup is not None and backup.resumed_at is not None:
        print(f"resumed the run backed up in {backup_dir} at epoch {backup.resumed_at[0] + 1}", file=stream)
    print(f"train: {_format(train_scores)}", file=stream)
    print(f"test:  {_format(test_scores)}   ({epochs_run} epochs)", file=stream)
    print(f"model saved to {out / 'model.safetensors'} (description in {out / 'model.json'})", file=stream)
    return {"train": train_scores, "test": test_scores, "epochs_run": epochs_run}


def _load_model(path: str):
    import glassnet as gn

    if not Path(path).is_file():
        raise UsageError(f"no such model file: {path}")
    model = gn.load(path)
    info_path = Path(path).with_suffix(".json")
    info = json.loads(info_path.read_text()) if info_path.is_file() else {}
    return model, info


def evaluate(args, stream=None) -> dict:
    stream = stream or sys.stdout
    model, info = _load_model(args.model)
    dataset = _load_data(args.data, args.target, args.seed)
    if args.data.endswith(".csv"):  # a file given for evaluation is evaluated whole
        X = np.concatenate([dataset.X_train, dataset.X_test])
        y = np.concatenate([dataset.y_train, dataset.y_test])
    else:
        X, y = dataset.X_test, dataset.y_test
    _check_width(model, X, args.model)
    scores = _score(model, X, y, info.get("task", dataset.task))
    print(f"{_format(scores)} on {len(X)} samples", file=stream)
    return scores


def _check_width(model, X, path):
    expected = getattr(model[0], "num_features", None) or getattr(model[0], "in_features", None)
    if expected is not None and X.shape[1] != expected:
        raise UsageError(f"the model in {path} takes {expected} features, the data has {X.shape[1]}")


def predict(args, stream=None) -> np.ndarray:
    import glassnet as gn

    stream = stream or sys.stdout
    model, info = _load_model(args.model)
    X, columns = _read_features(args.input, info)
    _check_width(model, X, args.model)
    logits = gn.predict(model, X)
    if info.get("task") == "regression":
        rows = [[f"{value:.6g}"] for value in logits.reshape(-1)]
        _write_rows(["prediction"], rows, args.output, stream)
        return logits.reshape(-1)
    probabilities = gn.functional.softmax(gn.Tensor(logits)).numpy()
    classes = info.get("classes") or [str(k) for k in range(logits.shape[1])]
    labels = [classes[k] for k in logits.argmax(axis=1)]
    rows = [[label] + [f"{p:.6f}" for p in row] for label, row in zip(labels, probabilities)]
    _write_rows(["prediction"] + [f"p_{name}" for name in classes], rows, args.output, stream)
    return np.array(labels)


def _write_rows(header, rows, output, stream):
    if output:
        with open(output, "w", newline="") as handle:
            csv.writer(handle).writerows([header] + rows)
        print(f"{len(rows)} predictions written to {output}", file=stream)
    else:
        csv.writer(stream).writerows([header] + rows)


def _read_features(path: str, info: dict):
    """The feature columns of a CSV file: the model's, when the file has columns of those names,
    else every column but the label."""
    if not Path(path).is_file():
        raise UsageError(f"no such file: {path}")
    header = read_csv_header(path)
    wanted = [name for name in info.get("features", []) if name in header] or [
        name for name in header if name != info.get("target")]
    return read_csv_features(path, wanted), wanted


# ---- argument parsing -------------------------------------------------------------------------
def _checked(convert, check, **options):
    """An argparse ``type``: the text converted (``int`` or ``float``), then checked by the shared
    ``check`` of :mod:`glassnet._checks`; a bad value is one usage line such as
    ``argument --epochs: must be a positive int, got 0`` (exit status 2)."""
    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            value = text  # not a number at all: the check says what was expected
        try:
            return check(value, "value", **options)
        except (TypeError, ValueError) as error:
            raise argparse.ArgumentTypeError(str(error).removeprefix("value ")) from None

    parse.__name__ = check.__name__
    return parse


_positive_int = _checked(int, positive_int)
_non_negative = _checked(float, non_negative_number)
_positive = _checked(float, positive_number)
_probability = _checked(float, probability)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="glassnet", description="A glass-box neural-network library on NumPy.")
    parser.add_argument("--version", action="version", version=f"glassnet {__version__}")
    commands = parser.add_subparsers(dest="command", parser_class=_Parser)

    demo_parser = commands.add_parser("demo", help="the course's story: perceptron vs MLP on circles, softmax on iris",
                                      description="In under a minute: a perceptron fails on circles, an MLP with 10 "
                                      "hidden units solves them, a softmax MLP classifies iris. Prints a summary "
                                      "table and writes figures.")
    demo_parser.add_argument("--out", default="glassnet-demo", help="folder for the figures (default ./glassnet-demo)")
    demo_parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")

    train_parser = commands.add_parser("train", help="train an MLP on a dataset or CSV file and save it",
                                       description="Train an MLP classifier; show progress, print the final "
                                       "accuracy, save the model (and figures with --plot).")
    train_parser.add_argument("--data", required=True, help="a dataset name (circles, moons, xor, spirals, "
                              "blobs, iris, digits, mnist1d) or a CSV file")
    train_parser.add_argument("--target", help="the label column of a CSV file")
    train_parser.add_argument("--hidden", default="10", help="hidden layer sizes, e.g. 10,10 (default 10)")
    train_parser.add_argument("--activation", default="relu", choices=F.hidden_activation_names(aliases=True))
    train_parser.add_argument("--optimizer", default="adam", choices=optim.OPTIMIZERS)
    train_parser.add_argument("--lr", type=_positive, default=0.01, help="learning rate (default 0.01)")
    train_parser.add_argument("--epochs", type=_positive_int, default=100)
    train_parser.add_argument("--batch-size", type=_positive_int, default=32,
                              help="1 = stochastic, a number = mini-batch (default 32)")
    train_parser.add_argument("--full-batch", action="store_true", help="batch gradient descent (all samples per step)")
    train_parser.add_argument("--dropout", type=_probability, default=0.0,
                              help="dropout probability after each hidden layer")
    train_parser.add_argument("--batch-norm", action="store_true", help="BatchNorm1d after each hidden Linear")
    train_parser.add_argument("--l1", type=_non_negative, default=0.0,
                              help="L1 penalty: adds l1 * sum |w| over the weights (not biases) to the loss")
    train_parser.add_argument("--l2", type=_non_negative, default=0.0,
                              help="L2 penalty: adds l2 * sum w^2 over the weights (not biases) to the loss")
    train_parser.add_argument("--weight-decay", type=_non_negative, default=None,
                              help="the optimizer's weight decay on every parameter, biases included "
                                   "(decoupled for adamw; default 0, 0.01 for adamw)")
    train_parser.add_argument("--early-stopping", type=_positive_int, nargs="?", const=10, default=None,
                              metavar="PATIENCE", help="stop when the validation loss stops improving"
                                   " (default patience 10)")
    train_parser.add_argument("--seed", type=int, default=0)
    train_parser.add_argument("--out", default="glassnet-model", help="output folder (default ./glassnet-model)")
    train_parser.add_argument("--plot", action="store_true", help="write loss (and decision boundary) figures")
    train_parser.add_argument("--quiet", action="store_true", help="no progress bar")
    train_parser.add_argument("--resume", action="store_true",
                              help="back up the run after every epoch to OUT/backup, and continue a killed run "
                                   "from the backup it left there (run with the same arguments)")

    eval_parser = commands.add_parser("evaluate",
                                      help="accuracy of a saved model on a dataset or CSV file",
                                      description="Evaluate a saved model on a dataset's test split or on a "
                                                  "whole CSV file.")
    eval_parser.add_argument("model", help="a model.safetensors written by glassnet train")
    eval_parser.add_argument("--data", required=True)
    eval_parser.add_argument("--target")
    eval_parser.add_argument("--seed", type=int, default=0)

    predict_parser = commands.add_parser("predict", help="predict classes for the rows of a CSV file",
                                         description="Predict a class and class probabilities for each row of "
                                                     "a CSV file.")
    predict_parser.add_argument("model", help="a model.safetensors written by glassnet train")
    predict_parser.add_argument("--input", required=True,
                                help="CSV file of features (a header row with the column names)")
    predict_parser.add_argument("--output", help="CSV file to write (default: standard output)")
    return parser


def main(argv=None) -> int:
    from .io import ModelFileError

    parser = _parser()
    try:
        args = parser.parse_args(argv)
        if args.command == "demo":
            demo(out_dir=args.out, seed=args.seed)
        elif args.command == "train":
            if args.full_batch:
                args.batch_size = None
            train(args)
        elif args.command == "evaluate":
            evaluate(args)
        elif args.command == "predict":
            predict(args)
        else:
            parser.print_help()
        return 0
    except UsageError as error:
        print(f"glassnet: error: {error}" if not str(error).startswith("glassnet") else f"{error}", file=sys.stderr)
    except (ModelFileError, FileNotFoundError, ValueError, TypeError) as error:
        print(f"glassnet: error: {error}".replace("\n", " "), file=sys.stderr)
    return 2
