"""PyTorch weights in both directions, without importing torch.

glassnet keeps PyTorch's parameter names on purpose (``0.weight``, ``weight_hh_l1_reverse``,
``layers.0.self_attn.in_proj_weight``, ``running_mean``, ``num_batches_tracked``), so a glassnet
model and its PyTorch twin (the same layers, in the same order, under the same attribute names)
have the same state_dict keys, in the same order. What differs is the layout of the weights of a
product: glassnet stores the course's W of z = x @ W + b, ``(in, out)``, and PyTorch its transpose
``(out, in)``. The gate order is the same (LSTM i, f, g, o; GRU r, z, n), so nothing is reordered.

| glassnet layer | its parameters (glassnet's layout) | PyTorch's layout |
|---|---|---|
| Linear | ``weight`` ``(in_features, out_features)`` | the transpose |
| RNN, LSTM, GRU | ``weight_ih_l{k}`` ``(input, G*H)``, ``weight_hh_l{k}`` ``(H, G*H)``, ``..._reverse`` | transposes |
| MultiheadAttention | ``in_proj_weight`` ``(E, 3E)`` (or ``q_proj_weight``, ``k_proj_weight``, ...) | transposes |
| Conv1d, Conv2d | ``weight`` ``(out_channels, in_channels, *kernel)`` | the same |
| ConvTranspose1d, 2d | ``weight`` ``(in_channels, out_channels, *kernel)`` | the same |
| BatchNorm1d, 2d | ``weight``, ``bias``, ``running_mean``, ``running_var``, ``num_batches_tracked`` | the same |
| LayerNorm, Embedding | ``weight`` (and LayerNorm's ``bias``) | the same |
| any layer, a user's Module | every bias and buffer, a Parameter of the user's own | the same |

MultiheadAttention's ``out_proj`` is a Linear. A subclass of one of these layers is converted as
the layer. A square weight (``Linear(4, 4)``) has the same shape both ways, so only its values
show a state_dict given in the wrong layout.

Example
-------
>>> import numpy as np
>>> from glassnet import nn
>>> from glassnet.interop import load_torch, torch_state_dict
>>> model = nn.Sequential(nn.Linear(3, 2, rng=0), nn.ReLU())
>>> state = torch_state_dict(model)          # what torch's load_state_dict takes, as NumPy arrays
>>> state["0.weight"].shape                  # PyTorch's (out_features, in_features)
(2, 3)
>>> twin = load_torch(nn.Sequential(nn.Linear(3, 2, rng=1), nn.ReLU()), state)
>>> bool((twin[0].weight.data == model[0].weight.data).all())
True
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Mapping
from typing import NamedTuple

import numpy as np

from . import _safetensors_file as files
from ._checks import FLOAT_DTYPES, boolean
from ._io_build import MODEL_FORMAT, WEIGHTS_FORMAT
from .nn import GRU, LSTM, RNN, Linear, Module, MultiheadAttention

__all__ = ["load_torch", "save_torch", "torch_state_dict"]

_RECURRENT_WEIGHTS = ("weight_ih_l", "weight_hh_l")
_ATTENTION_WEIGHTS = ("in_proj_weight", "q_proj_weight", "k_proj_weight", "v_proj_weight")

# PyTorch parameters that no glassnet layer has (a name, or a stem and a layer number): a hint
# when one comes as an unexpected key.
_TORCH_ONLY = {
    "weight_hr_l": "glassnet's LSTM has no proj_size (PyTorch's weight_hr_l*)",
    "bias_k": "glassnet's MultiheadAttention has no add_bias_kv (PyTorch's bias_k, bias_v)",
    "bias_v": "glassnet's MultiheadAttention has no add_bias_kv (PyTorch's bias_k, bias_v)",
}
_LISTED = 20  # names listed in a message before "... and N more"


class _Entry(NamedTuple):
    """One parameter or buffer of a model, as ``load_torch`` and ``torch_state_dict`` see it."""

    array: np.ndarray  # the live array, in glassnet's layout
    transposed: bool  # PyTorch stores its transpose
    layer: str  # the class of the layer that owns it, for messages
    optional: bool  # a buffer PyTorch's older checkpoints may lack (num_batches_tracked)


def _is_transposed(layer: Module, name: str) -> bool:
    """Whether ``layer``'s own parameter ``name`` is the transpose of PyTorch's: the weight W of
    a product x @ W, which PyTorch stores as W.T to compute x @ W.T."""
    if isinstance(layer, Linear):
        return name == "weight"
    if isinstance(layer, (RNN, LSTM, GRU)):
        return name.startswith(_RECURRENT_WEIGHTS)
    if isinstance(layer, MultiheadAttention):
        return name in _ATTENTION_WEIGHTS
    return False


def _entries(model: Module) -> OrderedDict[str, _Entry]:
    """Every parameter and buffer of ``model`` by its state_dict name, in state_dict order (a
    layer reached by two paths under both names, as in PyTorch)."""
    entries: OrderedDict[str, _Entry] = OrderedDict()

    def walk(module: Module, prefix: str) -> None:
        layer = type(module).__name__
        for name, parameter in module._parameters.items():
            if parameter is not None:
                entries[prefix + name] = _Entry(parameter.data, _is_transposed(module, name), layer, False)
        optional = getattr(module, "_optional_state", ())
        for name, buffer in module._buffers.items():
            if buffer is not None:
                entries[prefix + name] = _Entry(buffer, False, layer, name in optional)
        for name, child in module._modules.items():
            if child is not None:
                walk(child, prefix + name + ".")

    walk(model, "")
    return entries


# ---- glassnet -> PyTorch ---------------------------------------------------------------------
def torch_state_dict(model: Module) -> OrderedDict[str, np.ndarray]:
    """``model``'s state_dict with PyTorch's names and layouts: an ordered dict from names to new
    NumPy arrays (C-contiguous copies, the model's dtypes; BatchNorm's ``num_batches_tracked``
    int64 of shape ()), which the PyTorch twin loads with
    ``twin.load_state_dict({name: torch.from_numpy(array) for name, array in state.items()})``.

    Parameters
    ----------
    model : glassnet.nn.Module
        Any Module: Sequential, a layer, or a user's own subclass.

    Returns
    -------
    OrderedDict
        name -> ndarray; a Linear's ``weight`` is ``(out_features, in_features)`` here.

    Example
    -------
    >>> from glassnet import nn
    >>> from glassnet.interop import torch_state_dict
    >>> lstm = nn.LSTM(input_size=3, hidden_size=5, rng=0)
    >>> {name: array.shape for name, array in torch_state_dict(lstm).items()}
    {'weight_ih_l0': (20, 3), 'weight_hh_l0': (20, 5), 'bias_ih_l0': (20,), 'bias_hh_l0': (20,)}
    >>> lstm.weight_ih_l0.shape       # glassnet's layout: (input_size, 4 * hidden_size)
    (3, 20)
    """
    _check_module(model, "torch_state_dict")
    return OrderedDict((name, _in_torch_layout(entry)) for name, entry in _entries(model).items())


def _in_torch_layout(entry: _Entry) -> np.ndarray:
    return np.array(entry.array.T if entry.transposed else entry.array, order="C")  # a copy


def save_torch(model: Module, path: str | os.PathLike[str]) -> None:
    """Write ``torch_state_dict`` of ``model`` to a safetensors file at ``path``, which
    ``safetensors.torch.load_file(path)`` reads as the PyTorch twin's state_dict (metadata
    ``{"format": "pt"}``, as PyTorch's tools write). The file is written atomically (a temporary
    file beside it, then renamed over it): a failure never leaves half a file.

    Example
    -------
    >>> import os, tempfile
    >>> from glassnet import nn
    >>> from glassnet.interop import load_torch, save_torch
    >>> folder = tempfile.TemporaryDirectory()
    >>> path = os.path.join(folder.name, "model.safetensors")
    >>> save_torch(nn.Conv2d(1, 4, kernel_size=3, rng=0), path)
    >>> layer = load_torch(nn.Conv2d(1, 4, kernel_size=3, rng=1), path)
    >>> bool((layer.weight.data == nn.Conv2d(1, 4, kernel_size=3, rng=0).weight.data).all())
    True
    >>> folder.cleanup()
    """
    _check_module(model, "save_torch")
    path = files.target_path(path)
    files.write_atomically(path, torch_state_dict(model), {"format": "pt"})


# ---- PyTorch -> glassnet ---------------------------------------------------------------------
def load_torch(model: Module, source: Mapping[str, np.ndarray] | str | os.PathLike[str], *,
               strict: bool = True) -> Module:
    """Copy PyTorch weights into ``model``, in place (an optimizer that holds the parameters keeps
    working), converting each to glassnet's layout (see the table of this module). The names map
    one to one: the PyTorch twin's names are the glassnet model's.

    Parameters
    ----------
    model : glassnet.nn.Module
    source : dict or path
        A PyTorch state_dict as NumPy arrays,
        ``{name: tensor.detach().cpu().numpy() for name, tensor in twin.state_dict().items()}``,
        or the path of a safetensors file written from PyTorch
        (``safetensors.torch.save_file(twin.state_dict(), path)``; BF16 and F16 are read exactly).
    strict : bool
        True (default): every key of the model must be in the source and every key of the source
        in the model (a missing ``num_batches_tracked`` is allowed, as in PyTorch). False: the
        keys both share are loaded, the others left alone; shapes and dtypes are checked all the same.

    Returns
    -------
    Module
        ``model`` itself; its mode (train or eval) is left as it was.

    Raises
    ------
    TypeError
        ``model`` is not a Module, ``source`` is neither a mapping nor a path, or a value is not
        a numeric NumPy array (a torch.Tensor: convert it with ``.numpy()``).
    ValueError
        Every mismatch at once, each by name: missing and unexpected keys, a shape that is not
        PyTorch's layout of the model's array, a dtype whose values a cast would change (float64
        values into a float32 model; a lossless cast, such as float32 into float64, is made), a
        layer shared by two names given two different values. Nothing is changed. A file that is
        not a safetensors file, or that glassnet.save / save_weights wrote (glassnet's layout),
        is a ModelFileError (a ValueError).

    Example
    -------
    >>> import numpy as np
    >>> from glassnet import nn
    >>> from glassnet.interop import load_torch
    >>> state = {"weight": np.arange(6.0).reshape(2, 3), "bias": np.zeros(2)}   # torch.nn.Linear(3, 2)
    >>> layer = load_torch(nn.Linear(3, 2, dtype=np.float64), state)
    >>> layer.weight.data                        # glassnet's layout (in_features, out_features)
    array([[0., 3.],
           [1., 4.],
           [2., 5.]])
    >>> load_torch(nn.Linear(2, 3), state)
    Traceback (most recent call last):
        ...
    ValueError: cannot load the PyTorch state_dict into Linear (nothing was changed):
      'weight' has shape (2, 3), the model's Linear needs (3, 2) (PyTorch's layout; glassnet's is (2, 3))
      'bias' has shape (2,), the model's Linear needs (3,)
    """
    _check_module(model, "load_torch")
    strict = boolean(strict, "strict")
    state, origin = _read_source(source)
    for target, value in _matched(model, state, origin, strict):
        target[...] = value
    return model


def _read_source(source) -> tuple[Mapping, str]:
    """(name -> ndarray, how to name the source in messages) of a state_dict or a file."""
    if isinstance(source, Mapping):
        _check_state_dict(source)
        return source, "the PyTorch state_dict"
    if isinstance(source, (str, os.PathLike)):
        path = files.source_path(source)
        metadata, tensors = files.read(path)
        written_by = {MODEL_FORMAT: "glassnet.save", WEIGHTS_FORMAT: "glassnet.save_weights"}
        if metadata.get("format") in written_by:
            raise files.ModelFileError(files.problem(
                path, f"{written_by[metadata['format']]} wrote it, in glassnet's layout (a Linear's "
                      "weight is (in_features, out_features)), not PyTorch's; load it with "
                      "glassnet.load_weights(model, path) or glassnet.load(path)"))
        return tensors, f"'{path}'"
    raise TypeError("load_torch expects a state_dict (a dict from names to NumPy arrays) or the path of a "
                    f"safetensors file, got {type(source).__name__}")


def _check_state_dict(state: Mapping) -> None:
    """TypeError for a key that is not a str or a value that is not a numeric NumPy array."""
    for key, value in state.items():
        if not isinstance(key, str):
            raise TypeError(f"the state_dict's keys must be str names such as '0.weight', got "
                            f"{type(key).__name__} {key!r}")
        if not isinstance(value, (np.ndarray, np.generic)):
            kind = type(value)
            hint = ("; convert a PyTorch state_dict with {name: tensor.detach().cpu().numpy() for name, "
                    "tensor in state_dict.items()}" if kind.__module__.split(".")[0] == "torch" else "")
            raise TypeError(f"the state_dict value of {key!r} must be a NumPy array, got "
                            f"{kind.__module__}.{kind.__qualname__}{hint}")
        if np.asarray(value).dtype.kind not in "biuf":
            raise TypeError(f"the state_dict value of {key!r} is not numeric (dtype {np.asarray(value).dtype})")


def _matched(model: Module, state: Mapping, origin: str, strict: bool) -> list:
    """(live array, value in glassnet's layout and the array's dtype) for each array to copy; or
    ValueError listing every problem. Changes nothing."""
    entries = _entries(model)
    missing = [name for name, entry in entries.items() if name not in state and not entry.optional]
    unexpected = [name for name in state if name not in entries]
    problems = []
    if strict and missing:
        problems.append("missing keys: " + _names(missing))
    if strict and unexpected:
        problems.append("unexpected keys: " + _names(unexpected) + _hints(missing, unexpected))
    copies: list = []
    seen: dict = {}  # id of a live array -> (its first name, its value)
    for name, entry in entries.items():
        if name not in state:
            continue
        problem, value = _converted(name, entry, np.asarray(state[name]))
        if problem:
            problems.append(problem)
        elif id(entry.array) in seen:  # a layer reached by two paths: one array, two names
            first, first_value = seen[id(entry.array)]
            if not np.array_equal(first_value, value, equal_nan=value.dtype.kind == "f"):
                problems.append(f"{first!r} and {name!r} are one array in the model (a layer shared by two "
                                "names), and the source gives them different values")
        else:
            seen[id(entry.array)] = (name, value)
            copies.append((entry.array, value))
    if problems:
        raise ValueError(f"cannot load {origin} into {type(model).__name__} (nothing was changed):\n  "
                         + "\n  ".join(problems))
    return copies


def _converted(name: str, entry: _Entry, value: np.ndarray) -> tuple[str | None, np.ndarray]:
    """(None, ``value`` in glassnet's layout and the model's dtype), or (the problem, ``value``)."""
    target = entry.array
    expected = target.shape[::-1] if entry.transposed else target.shape
    if value.shape != expected:
        problem = f"{name!r} has shape {value.shape}, the model's {entry.layer} needs {expected}"
        if entry.transposed:
            problem += f" (PyTorch's layout; glassnet's is {target.shape})"
        return problem, value
    if not target.flags.writeable:
        return f"the model's array {name!r} is read-only", value
    if entry.transposed:
        value = value.T
    if value.dtype == target.dtype:
        return None, value  # copied into the model later: no copy here
    with np.errstate(all="ignore"):  # a cast that overflows or meets NaN is found by casting back
        cast = value.astype(target.dtype)
        lossless = np.array_equal(cast.astype(value.dtype), value, equal_nan=value.dtype.kind == "f")
    if not lossless:
        hint = (f"build the model with dtype={value.dtype.name} or convert the array"
                if value.dtype in FLOAT_DTYPES and target.dtype in FLOAT_DTYPES else "convert the array")
        return (f"{name!r} has dtype {value.dtype}, and casting it to the model's {target.dtype} changes "
                f"its values; {hint}"), value
    return None, cast


def _names(names: list) -> str:
    shown = ", ".join(map(repr, names[:_LISTED]))
    return shown + (f" ... and {len(names) - _LISTED} more" if len(names) > _LISTED else "")


def _hints(missing: list, unexpected: list) -> str:
    """Why the source may hold keys the model lacks: PyTorch options glassnet has not, or a
    prefix of a wrapper (DataParallel's 'module.') in front of the model's names."""
    hints: set[str] = set()
    for key in unexpected:
        last = key.rpartition(".")[2].removesuffix("_reverse")
        hints.update(hint for stem, hint in _TORCH_ONLY.items()
                     if (last.startswith(stem) and last[len(stem):].isdigit()) or last == stem)
    if missing:
        prefixes = {key[:-len(missing[0])] for key in unexpected if key.endswith("." + missing[0])}
        unexpected_keys = set(unexpected)
        for prefix in prefixes:
            if all(prefix + name in unexpected_keys for name in missing):
                hints.add(f"the source's names carry the prefix {prefix!r}; strip it: "
                          f"{{name.removeprefix({prefix!r}): array for name, array in state.items()}}")
    return "".join(f" ({hint})" for hint in sorted(hints))


def _check_module(model, function: str) -> None:
    if not isinstance(model, Module):
        raise TypeError(f"{function} expects a glassnet.nn.Module, got {type(model).__name__}")
