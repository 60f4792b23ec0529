"""A model written by ``glassnet train``: ``model.safetensors`` and, beside it, ``model.json``, which
says what the model was trained on. evaluate and predict take everything from it: the feature
columns (by name), the target column, the classes (in the order of the model's outputs) and the
task. Both files are checked before any row is read.

model.json holds::

    {"task": "classification" | "regression",
     "features": ["a", "b", ...],        # the columns the model takes, in this order
     "target": "label",                  # the column it was trained to predict
     "classes": ["cat", "dog"] | null,   # output k is classes[k]; null for a regressor
     "impute": "mean" | ... | null,      # whether the model fills missing cells itself
     "data": "..."}                      # what it was trained on (not read back)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._safetensors_file import short
from ..nn.preprocessing import IMPUTE_STRATEGIES
from ._common import UsageError

__all__ = ["MAX_INFO_BYTES", "ModelInfo", "load_model", "read_model_info"]

MAX_INFO_BYTES = 64 << 20
"""The largest model.json read (64 MiB): room for a million long column names."""


@dataclass(frozen=True)
class ModelInfo:
    """What model.json says about a model: see the module's docstring.

    Example
    -------
    >>> from glassnet.cli._model import ModelInfo
    >>> info = ModelInfo.from_json({"task": "classification", "features": ["a", "b"],
    ...                             "target": "kind", "classes": ["cat", "dog"]}, "model.json")
    >>> info.features, info.classes, info.impute
    (('a', 'b'), ('cat', 'dog'), None)
    """

    task: str
    features: tuple[str, ...]
    target: str
    classes: tuple[str, ...] | None
    impute: str | None = None

    @classmethod
    def from_json(cls, data, where: str) -> ModelInfo:
        """Check the parsed JSON ``data`` of the file ``where``; a UsageError names what is wrong."""
        def bad(message):
            return UsageError(f"{where}: {message}")

        if not isinstance(data, dict):
            raise bad(f"must hold a JSON object (task, features, target, classes), got {short(data)}")
        task = data.get("task")
        if task not in ("classification", "regression"):
            raise bad(f"'task' must be 'classification' or 'regression', got {short(task)}")
        features = _names(data.get("features"), "features", "column names", where)
        target = data.get("target")
        if not isinstance(target, str) or not target:
            raise bad(f"'target' must be a column name (a string), got {short(target)}")
        classes = data.get("classes")
        if task == "classification":
            classes = _names(classes, "classes", "class names", where)
        elif classes is not None:
            raise bad(f"'classes' must be null for a regression model, got {short(classes)}")
        impute = data.get("impute")
        if impute is not None and impute not in IMPUTE_STRATEGIES:
            strategies = ", ".join(map(repr, IMPUTE_STRATEGIES))
            raise bad(f"'impute' must be one of {strategies} or null, got {short(impute)}")
        return cls(task, features, target, classes, impute)


def load_model(path: str):
    """``(model, info)``: the Sequential network in ``path`` and its :class:`ModelInfo`, read from
    the ``.json`` file of the same name, each checked against the other."""
    import glassnet as gn
    from glassnet import nn

    model_path = Path(path)
    if model_path.is_dir():
        raise UsageError(f"{path} is a folder, not a model file")
    if not model_path.is_file():
        raise UsageError(f"no such model file: {path}")
    model = gn.load(model_path)
    info_path = model_path.with_suffix(".json")
    info = read_model_info(info_path, path)
    if not isinstance(model, nn.Sequential):
        raise UsageError(f"{path} holds a {type(model).__name__}, not a Sequential network as glassnet "
                         "train writes")
    if len(model) == 0:
        raise UsageError(f"{path} holds an empty Sequential: no layers to predict with")
    _check_fits(model, info, path, info_path)
    return model, info


def read_model_info(info_path: Path, model_path: str) -> ModelInfo:
    """The :class:`ModelInfo` in ``info_path``; a missing file or bad JSON is a UsageError."""
    if not info_path.is_file():
        raise UsageError(f"no {info_path.name} beside {model_path}: evaluate and predict read the model's "
                         "features, classes and task from the model.json that glassnet train writes")
    size = info_path.stat().st_size
    if size > MAX_INFO_BYTES:   # train writes a few hundred bytes a feature name; don't read a huge file
        raise UsageError(f"{info_path} is larger than a model description can be ({size:,} bytes; at most "
                         f"{MAX_INFO_BYTES:,})")
    try:
        data = json.loads(info_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        raise UsageError(f"{info_path} is not JSON: {error.msg} (line {error.lineno}, column "
                         f"{error.colno})") from None
    except UnicodeDecodeError:
        raise UsageError(f"{info_path} is not JSON: not UTF-8 text") from None
    except RecursionError:
        raise UsageError(f"{info_path} is not a model description: nested too deep") from None
    except ValueError as error:   # e.g. a number of more than 4,300 digits
        raise UsageError(f"{info_path} is not a model description: {str(error)[:100]}") from None
    return ModelInfo.from_json(data, str(info_path))


def _check_fits(model, info: ModelInfo, path: str, info_path: Path) -> None:
    """The model takes as many inputs as info names features and gives one output per class (one
    for a regressor): checked on the first layer, then on one row of zeros."""
    from glassnet import nn
    from glassnet.train import predict

    n_features = len(info.features)
    first = model[0]
    # model.json's "impute" decides whether a gap is read as NaN: the model must be the one to fill it
    strategy = first.strategy if isinstance(first, nn.Impute) else None
    if info.impute is not None and strategy is None:
        raise UsageError(f"{info_path}: 'impute' is {info.impute!r} but the model has no Impute layer to fill "
                         "missing values")
    if info.impute is None and strategy is not None:
        raise UsageError(f"{info_path}: 'impute' is null but the model starts with an Impute layer "
                         f"({strategy!r}); it must say {strategy!r}")
    if info.impute != strategy:
        raise UsageError(f"{info_path}: 'impute' is {info.impute!r} but the model's Impute layer fills with "
                         f"{strategy!r}")
    width = getattr(first, "in_features", None) or getattr(first, "num_features", None)
    if isinstance(width, int) and width != n_features:
        raise UsageError(f"{path}: the model takes {width} features, model.json lists {n_features}")
    try:
        outputs = predict(model, np.zeros((1, n_features)))
    except (ValueError, TypeError) as error:
        raise UsageError(f"{path}: the model does not take the {n_features} features model.json "
                         f"lists ({str(error)[:120]})") from None
    n_outputs = outputs.shape[1] if outputs.ndim == 2 else -1
    if info.classes is not None and n_outputs != len(info.classes):
        raise UsageError(f"{info_path}: {len(info.classes)} classes but the model gives {n_outputs} outputs")
    if info.task == "regression" and n_outputs != 1:
        raise UsageError(f"{info_path}: a regression model gives 1 output, this one gives {n_outputs}")


def _names(value, key: str, what: str, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(name, str) for name in value):
        raise UsageError(f"{where}: '{key}' must be a list of {what} (strings), got {short(value)}")
    if not value:
        raise UsageError(f"{where}: '{key}' is empty")
    seen: set[str] = set()
    for name in value:
        if name in seen:
            raise UsageError(f"{where}: '{key}' names {name!r} twice")
        seen.add(name)
    return tuple(value)
