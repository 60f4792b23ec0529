"""``glassnet demo`` and ``glassnet train``, and the command line's entry point, :func:`main`: the
arguments, and one line on stderr with exit status 2 for every problem a user can cause."""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import warnings
from pathlib import Path

import numpy as np

from .. import functional as F
from .. import nn, optim
from .._checks import non_negative_number, positive_int, positive_number, probability, real_number
from .._version import __version__
from ..data.csv_file import MissingValueError
from ..nn.preprocessing import IMPUTE_STRATEGIES
from ._callbacks import print_diagnosis, train_callbacks
from ._common import UsageError, accuracy, data_source, format_scores, output_folder, score, written_whole
from ._demo_figures import decision_regions
from ._lecture import add_parser as add_lecture_parser
from ._lecture import lecture
from ._predict import evaluate, predict

__all__ = ["demo", "main", "train"]

TEST_SIZE = 0.25
"""The part of a CSV file train keeps for its test score."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of argparse's usage block
        raise UsageError(f"{self.prog}: {message}")


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
    say("   The course's figure: its 3 decision regions on petal length and width, beside the circles boundary.")
    rows.append(decision_regions(mlp, circles, seed, out / "decision_regions.png"))

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


# ---- glassnet train ---------------------------------------------------------------------------
def _parse_hidden(text: str) -> tuple:
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise UsageError(f"--hidden must be comma-separated positive integers such as 10,10, got {text!r}") from None
    if any(size <= 0 for size in sizes):
        raise UsageError(f"--hidden sizes must be positive, got {text!r}")
    return sizes


def train(args, stream=None) -> dict:
    import glassnet as gn
    from glassnet import losses, plot

    stream = stream or sys.stdout
    files = ["model.safetensors", "model.json", *(["loss.png", "decision_boundary.png"] if args.plot else []),
             *([os.path.join("backup", "backup.safetensors")] if args.resume else [])]
    out = output_folder(args.out, "--out", files)   # before training: a bad --out would waste it
    backup_dir = out / "backup"  # --resume: a killed run continues from here
    if not args.resume and (backup_dir / "backup.safetensors").exists():
        raise UsageError(f"{backup_dir} holds the backup of an unfinished run: pass --resume to continue it, or "
                         "delete that folder to start afresh")
    hidden = _parse_hidden(args.hidden)
    if args.fill_value is not None and args.impute is None:
        raise UsageError("--fill-value is the value --impute fills in: give --impute too")
    try:  # with --impute, a missing cell is read as NaN, for the model's Impute layer to fill
        dataset = _load_data(args, stream)
    except MissingValueError as error:
        raise UsageError(f"{error.where}; fill in or drop missing values, or train with "
                         "--impute mean|median|constant to fill them") from None
    classifier = dataset.task == "classification"
    n_outputs = dataset.n_classes if classifier else 1
    # a regressor learns the standardized target (prices in the 100,000s would swamp the loss),
    # and its last layer is rescaled after training, so that the saved model predicts in units
    y_train, target_scale = (dataset.y_train, None) if classifier else _standardized(dataset.y_train)
    gn.seed(args.seed)
    with warnings.catch_warnings(record=True) as caught:  # e.g. a column with no value to impute from
        warnings.simplefilter("always")
        model = nn.mlp(dataset.n_features, hidden, n_outputs, activation=args.activation,
                       batch_norm=args.batch_norm, dropout=args.dropout, standardize_with=dataset.X_train,
                       impute=args.impute, fill_value=args.fill_value or 0.0, rng=args.seed)
    for warning in caught:
        print(f"glassnet: warning: {warning.message}", file=sys.stderr)
    # --weight-decay is the optimizer's own (None: its default, 0.01 for adamw and 0 for the others)
    decay = {} if args.weight_decay is None else {"weight_decay": args.weight_decay}
    optimizer = optim.make_optimizer(args.optimizer, model.parameters(), args.lr, **decay)
    callbacks, backup, monitor = train_callbacks(args, backup_dir)
    try:
        history = gn.fit(model, dataset.X_train, y_train, loss=losses.cross_entropy if classifier else losses.mse,
                         optimizer=optimizer, epochs=args.epochs, batch_size=args.batch_size, l1=args.l1,
                         l2=args.l2, metrics=("accuracy",) if classifier else ("mae",),
                         validation_split=0.2 if args.early_stopping else None, callbacks=callbacks,
                         seed=args.seed, verbose=0 if args.quiet else 1, clip_grad_norm=args.clip_grad_norm)
    except KeyboardInterrupt:   # Ctrl-C: main says so in one line, with where the run is kept
        if backup is None or not os.path.exists(backup.path):
            raise
        raise KeyboardInterrupt(f"the run is backed up in {backup_dir}: the same command (with --resume) "
                                "continues it") from None
    if target_scale is not None:
        _predict_in_units(model, *target_scale)
    train_scores = score(model, dataset.X_train, dataset.y_train, dataset.task)
    test_scores = score(model, dataset.X_test, dataset.y_test, dataset.task)
    info = {"task": dataset.task, "features": [str(f) for f in dataset.feature_names],
            "target": args.target or "label", "data": args.data,
            "classes": [str(c) for c in dataset.target_names] if classifier else None,
            "impute": args.impute}
    try:
        _save_model(model, out, info)
    except (OSError, ValueError) as error:
        if backup is None:
            raise
        raise UsageError(f"{error}; the trained run is kept in {backup_dir}: the same command (with --resume) "
                         "saves it without training again") from None
    if backup is not None:   # saved: the backup has done its work
        backup.delete_checkpoint = True
        backup.on_train_end()
    if args.plot:
        plot.history(history, title=f"{args.data}", path=out / "loss.png")
        if classifier and dataset.n_features == 2:
            plot.decision_boundary(model, dataset.X_test, dataset.y_test, title=f"{args.data}: test data",
                                   path=out / "decision_boundary.png")
    epochs_run = len(history.history["loss"])
    if backup is not None and backup.resumed_at is not None:
        print(f"resumed the run backed up in {backup_dir} at epoch {backup.resumed_at[0] + 1}", file=stream)
    print(f"train: {format_scores(train_scores)}", file=stream)
    print(f"test:  {format_scores(test_scores)}   ({epochs_run} epochs)", file=stream)
    print(f"model saved to {out / 'model.safetensors'} (description in {out / 'model.json'})", file=stream)
    if monitor is not None:
        print_diagnosis(monitor, stream)
    return {"train": train_scores, "test": test_scores, "epochs_run": epochs_run}


def _standardized(y: np.ndarray) -> tuple[np.ndarray, tuple[float, float]]:
    """``((y - mean) / std`` as a column, ``(mean, std))``; a constant target keeps std 1."""
    mean, std = float(y.mean()), float(y.std())
    std = std if std > 0 else 1.0
    return ((y - mean) / std).reshape(-1, 1), (mean, std)


def _predict_in_units(model, mean: float, std: float) -> None:
    """Fold ``y = mean + std * output`` into the last Linear layer (w -> std w, b -> std b + mean),
    so that the model trained on the standardized target predicts the target itself."""
    last = model[-1]
    last.weight.data *= last.weight.data.dtype.type(std)
    last.bias.data *= last.bias.data.dtype.type(std)
    last.bias.data += last.bias.data.dtype.type(mean)


def _save_model(model, out: Path, info: dict) -> None:
    """``model.safetensors`` and ``model.json`` into the folder ``out`` (made if need be)."""
    import glassnet as gn

    out.mkdir(parents=True, exist_ok=True)
    with written_whole(out / "model.json") as description:   # renamed onto model.json once the model is saved
        description.write(json.dumps(info, indent=2))
        gn.save(model, out / "model.safetensors")


def _load_data(args, stream):
    """The dataset to train on: a built-in one by name, or a CSV file whose task is ``--task`` or
    inferred from its target column (and printed, with how to override it)."""
    from glassnet import data
    from glassnet.data.csv_file import infer_task, read_csv_dataset

    path = data_source(args.data)
    if path is None:
        dataset = data.load_dataset(args.data, seed=args.seed)
        if args.task not in (None, dataset.task):
            raise UsageError(f"{args.data} is a {dataset.task} dataset; --task {args.task} needs a CSV file")
        return dataset
    if args.target is None:
        raise UsageError(f"--target COLUMN is needed to read labels from {args.data}")
    task = args.task
    if task != "regression":   # read as classes first: every row checked, the classes counted
        # gaps in the features are the imputer's to fill, when train has --impute
        missing = "nan" if args.impute else "error"
        _, y, _, names, _ = read_csv_dataset(path, args.target, task="classification", missing=missing)
        if task is None:
            task, reason = infer_task(names[k] for k in y)
            other = "regression" if task == "classification" else "classification"
            override = "" if reason == "the target holds text" else f"; use --task {other} to override"
            print(f"task: {task} (inferred: {reason}{override})", file=stream)
        if task == "classification":
            _check_splittable(np.bincount(y), names, args)
    if args.task:
        print(f"task: {task}", file=stream)
    return data.load_csv(path, target=args.target, test_size=TEST_SIZE, seed=args.seed, task=task,
                         missing="nan" if args.impute else "error")


def _check_splittable(counts: np.ndarray, names: tuple, args) -> None:
    """The classes can be split into stratified train and test sets (scikit-learn's conditions,
    said in the CLI's words): two rows of each class, and one row of each in either set."""
    flag = "--task classification" if args.task else "task classification (inferred)"
    numeric = all(_is_number(name) for name in names)
    advice = "use --task regression for a numeric target" if numeric else "drop or merge the rare classes"
    rare = int(np.argmin(counts))
    if counts[rare] < 2:
        raise UsageError(f"{flag}: class {names[rare]!r} of column {args.target!r} has only 1 row "
                         f"({len(names)} classes in {counts.sum()} rows); a stratified train/test split needs "
                         f"at least 2 rows of each class; {advice}")
    n_test = math.ceil(TEST_SIZE * counts.sum())
    if min(n_test, counts.sum() - n_test) < len(names):
        raise UsageError(f"{flag}: {len(names)} classes need at least {len(names)} test rows and as many "
                         f"training rows; {counts.sum()} rows give {n_test} test rows; {advice}")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


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
_real = _checked(float, real_number)


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
                                       description="Train an MLP classifier or regressor; show progress, print "
                                       "the final scores, save the model and model.json (and figures with --plot).")
    train_parser.add_argument("--data", required=True, help="a dataset name (circles, moons, xor, spirals, "
                              "blobs, iris, digits, mnist1d) or a CSV file")
    train_parser.add_argument("--target", help="the label column of a CSV file")
    train_parser.add_argument("--task", choices=("classification", "regression"), default=None,
                              help="default: inferred from the target column and printed (text or at most 20 "
                                   "whole numbers, each seen twice: classification; else regression)")
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
    train_parser.add_argument("--impute", choices=IMPUTE_STRATEGIES, default=None,
                              help="read missing CSV cells (empty, NA, NaN, ?) as NaN and fill them inside "
                                   "the model with each column's training mean or median, or --fill-value "
                                   "(default: a missing cell is an error)")
    train_parser.add_argument("--fill-value", type=_real, default=None, metavar="VALUE",
                              help="the value --impute constant fills in (default 0)")
    train_parser.add_argument("--clip-grad-norm", type=_positive, default=None, metavar="MAX",
                              help="clip the gradients' joint L2 norm to MAX after each backward (default: off)")
    train_parser.add_argument("--diagnose", action="store_true", help="watch the gradients per layer (a "
                              "GradientMonitor) and print what it finds after training, with remedies")
    train_parser.add_argument("--plot", action="store_true", help="write loss (and decision boundary) figures")
    train_parser.add_argument("--quiet", action="store_true", help="no progress bar")
    train_parser.add_argument("--resume", action="store_true",
                              help="back up the run after every epoch to OUT/backup, and continue a killed run "
                                   "from the backup it left there (run with the same arguments)")

    eval_parser = commands.add_parser("evaluate",
                                      help="score a saved model on a dataset or CSV file",
                                      description="Score a saved model (accuracy, or mse and r2) on a dataset's "
                                                  "test split or on a whole CSV file, with the features, classes "
                                                  "and task stored in its model.json; columns by name.")
    eval_parser.add_argument("model", help="a model.safetensors written by glassnet train")
    eval_parser.add_argument("--data", required=True, help="a dataset name (its test split) or a CSV file (all rows)")
    eval_parser.add_argument("--target", help="the label column (default: the model's, from model.json)")
    eval_parser.add_argument("--seed", type=int, default=0, help="the dataset's split, as given to train (default 0)")

    predict_parser = commands.add_parser("predict", help="predict for each row of a CSV file",
                                         description="Predict a class and class probabilities (or a value, for a "
                                                     "regressor) for each row of a CSV file, read in chunks.")
    predict_parser.add_argument("model", help="a model.safetensors written by glassnet train")
    predict_parser.add_argument("--input", required=True,
                                help="CSV file with the model's feature columns, by name (a header row)")
    predict_parser.add_argument("--output", help="CSV file to write (default: standard output)")
    add_lecture_parser(commands)
    return parser


def main(argv=None) -> int:
    """Run the command line with ``argv`` (default: ``sys.argv[1:]``); the exit status: 0, or 2
    after one line on stderr for a problem with the input (1 when the output pipe closed, 130
    after one line when interrupted with Ctrl-C)."""
    from ..io import ModelFileError

    parser = _parser()
    status = 0
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
        elif args.command == "lecture":   # 1: a topic failed (the report says which and why)
            status = 1 if lecture(args.out, fast=args.fast, seed=args.seed, topics=args.topics)["errors"] else 0
        else:
            parser.print_help()
        if sys.stdout is not None:   # None: started with stdout closed, nothing to flush
            sys.stdout.flush()   # a closed pipe shows here, not at exit
        return status
    except KeyboardInterrupt as interrupt:   # Ctrl-C: no traceback; an output file is left as it was
        print(_one_line("glassnet: interrupted" + (f"; {interrupt}" if str(interrupt) else "")), file=sys.stderr)
        return 130   # 128 + SIGINT, as a shell reports it
    except BrokenPipeError:   # `glassnet predict ... | head`: the reader has all it wants
        _quiet_stdout()
        return 1
    except UsageError as error:
        print(_one_line(f"glassnet: error: {error}" if not str(error).startswith("glassnet") else f"{error}"),
              file=sys.stderr)
    except MissingValueError as error:   # evaluate / predict (train says so itself): not missing='nan' here
        print(_one_line(f"glassnet: error: {error.where}; the model was trained without --impute, so every "
                        "feature cell must hold a number: fill in or drop missing values"), file=sys.stderr)
    except (ModelFileError, OSError, ValueError, TypeError) as error:
        print(_one_line(f"glassnet: error: {error}"), file=sys.stderr)
    return 2


def _one_line(message: str, limit: int = 1000) -> str:
    """The message on one line, cut to ``limit`` characters whatever a file made it say."""
    message = " ".join(message.split("\n"))
    return message if len(message) <= limit else message[:limit - 3] + "..."


def _quiet_stdout() -> None:
    """Point stdout at the null device, so that the interpreter's last flush cannot fail again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):   # not a real file (a test's capture): nothing is flushed at exit
        pass
