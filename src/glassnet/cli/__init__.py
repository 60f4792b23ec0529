"""The ``glassnet`` command line: ``demo``, ``train``, ``evaluate``, ``predict`` and ``lecture``.

``train`` writes ``model.safetensors`` and, beside it, ``model.json``: the task, the feature
columns, the target column and the classes. ``evaluate`` and ``predict`` take all of that from
model.json: the feature columns by name (in any order, other columns ignored; a missing one is an
error that names it), the labels through the model's classes, the task as trained. A CSV file is
any existing file (``DATA.CSV``, ``table.txt``); ``evaluate`` scores all its rows, a dataset name
its test split. ``predict`` reads, predicts and writes 4,096 rows at a time, so its memory does not
grow with the file, and its ``--output`` appears whole or not at all. ``train --task`` says
whether the target is classes or values; without it the task is inferred and printed.

Bad input (a missing or malformed file, an unknown dataset or option, a non-numeric cell, NaN, a
missing column, an output path that is a folder, a file that is not a glassnet model) prints one
line on stderr and exits with status 2, before any work is done and without a traceback.

``lecture`` runs the course's examples in the course's order and writes one self-contained HTML
report (``OUT/index.html``): each topic's claim, the numbers measured, whether the claim held, and
the figures inline; ``--fast`` for the shortened settings, ``--topics`` for a few topics.

Where things are: ``_main.py`` the arguments, :func:`main`, ``demo`` and ``train``;
``_demo_figures.py`` the iris decision regions (demo and lecture); ``_predict.py`` ``evaluate``
and ``predict``; ``_model.py`` a saved model and its model.json; ``_common.py`` the usage error,
scores and output files; ``_lecture.py`` the lecture command, ``_lecture_core.py`` its topics and
the example scripts (from ``examples/``, or ``glassnet/_examples/`` in an installed package),
``_lecture_basics.py``, ``_lecture_training.py``, ``_lecture_architectures.py`` and
``_lecture_advanced.py`` the topics in the course's order, ``_lecture_html.py`` the report.

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

from ._common import CHUNK_ROWS, UsageError, accuracy
from ._lecture import lecture
from ._main import demo, main, train
from ._predict import evaluate, predict

__all__ = ["CHUNK_ROWS", "UsageError", "accuracy", "demo", "evaluate", "lecture", "main", "predict", "train"]
