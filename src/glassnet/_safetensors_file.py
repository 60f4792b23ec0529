"""The file side of ``glassnet.io``: reading a safetensors file with clear errors for a bad one,
and writing one atomically. Any safetensors file is read here; what its metadata means is
``glassnet.io``'s business."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import reprlib
import struct

import numpy as np
import safetensors
from safetensors import SafetensorError
from safetensors import numpy as safetensors_numpy

__all__ = ["ModelFileError", "cut", "problem", "read", "short", "source_path", "target_path", "write_atomically"]


class ModelFileError(ValueError):
    """A file that ``glassnet.load`` or ``glassnet.load_weights`` cannot use: not a safetensors file,
    truncated, missing or garbled metadata, an unknown layer class, an unsupported format version,
    or weights that do not fit the architecture. The message names the file and the problem."""


def read(path: str) -> tuple[dict, dict]:
    """(metadata, name -> ndarray) of a safetensors file, with a clear error for a bad one. The
    header is read here first, so that a truncated file or one of another kind is named as such
    rather than by the parser's terse error; then safetensors checks the layout (offsets that
    cover the data exactly, sizes that match the shapes) and each tensor is decoded here."""
    with open(path, "rb") as file:
        data = file.read()
    if len(data) < 8:
        raise ModelFileError(problem(path, f"it is not a safetensors file (only {len(data)} bytes)"))
    (header_size,) = struct.unpack("<Q", data[:8])  # safetensors: u64 little-endian, then JSON
    if 8 + header_size > len(data):
        kind = "the file is truncated" if data[8:9] == b"{" else "it is not a safetensors file"
        raise ModelFileError(problem(
            path, f"{kind}: its first 8 bytes announce a header of {header_size} bytes, and only "
                  f"{len(data) - 8} bytes follow"))
    try:
        header = json.loads(data[8:8 + header_size])
    except (ValueError, RecursionError):
        header = None
    if not isinstance(header, dict):
        raise ModelFileError(problem(path, "it is not a safetensors file: its header is not a JSON object"))
    data_size = len(data) - 8 - header_size
    needed = max((_end_offset(entry) for key, entry in header.items() if key != "__metadata__"), default=0)
    if needed > data_size:
        raise ModelFileError(problem(
            path, f"the file is truncated: its tensors need {needed} bytes of data after the header, "
                  f"and only {data_size} are there"))
    metadata = header.get("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise ModelFileError(problem(path, "its metadata is not a map from strings to strings"))
    for name, entry in header.items():  # before the parser: it would name the first bad one only
        dtype = entry.get("dtype") if isinstance(entry, dict) else None
        if name != "__metadata__" and isinstance(dtype, str) and dtype not in DTYPES:
            raise ModelFileError(problem(path, f"tensor {short(name)} has dtype {short(entry.get('dtype'))}, "
                                               f"which glassnet does not read ({_READABLE})"))
    try:
        views = safetensors.deserialize(data)
    except SafetensorError as error:
        raise ModelFileError(problem(path, f"it is not a valid safetensors file ({short(error)})")) from None
    del data  # each tensor has its own copy now
    return metadata, {name: _decode(path, name, view) for name, view in views}


# safetensors' dtype names -> NumPy's (the format is little-endian). BF16, the top 16 bits of a
# float32, is read as that float32, exactly; the 8-bit floats have no NumPy type and are refused.
DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4",
          "I16": "<i2", "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}
_READABLE = "it reads " + ", ".join(DTYPES) + "; convert the tensor to one of these, F32 for weights"
MAX_DIMENSIONS = 64  # NumPy's limit


def _decode(path: str, name: str, view: dict) -> np.ndarray:
    """The array of one tensor from safetensors' (checked) view of it."""
    shape = view["shape"]
    if len(shape) > MAX_DIMENSIONS:
        raise ModelFileError(problem(path, f"tensor {short(name)} has {len(shape)} dimensions; an "
                                           f"array has at most {MAX_DIMENSIONS}"))
    array = np.frombuffer(view["data"], DTYPES[view["dtype"]])
    if view["dtype"] == "BF16":
        array = (array.astype(np.uint32) << 16).view(np.float32)
    try:
        return array.reshape(shape)
    except ValueError as error:  # a shape NumPy cannot hold, such as one with 0 and 2**63
        raise ModelFileError(problem(path, f"tensor {short(name)} has shape {short(shape)}, which "
                                           f"NumPy cannot make ({error})")) from None


def _end_offset(entry) -> int:
    offsets = entry.get("data_offsets") if isinstance(entry, dict) else None
    if isinstance(offsets, list) and len(offsets) == 2 and isinstance(offsets[1], int):
        return offsets[1]
    return 0  # malformed: the safetensors parser names it


def write_atomically(path: str, tensors: dict, metadata: dict) -> None:
    """Write to a new temporary file beside ``path``, then rename it over ``path`` (os.replace is
    atomic): readers see the old file or the new one, never half of one. As an ordinary write
    would: through a symlink, the file it points to is written (the link stays); an existing
    file keeps its permissions, a new one gets the umask's. (safetensors' own save_file is not
    used: it leaves files readable by their owner only.)"""
    path = os.path.realpath(path)  # a symlink's target: the rename must not replace the link
    directory, name = os.path.split(path)
    try:
        mode = os.stat(path).st_mode & 0o777  # the permissions (not setuid and the like)
    except FileNotFoundError:
        mode = None
    temporary, descriptor = _new_temporary_file(directory, name)
    try:
        with os.fdopen(descriptor, "wb") as file:
            if mode is not None:
                os.fchmod(file.fileno(), mode)
            file.write(safetensors_numpy.save(tensors, metadata=metadata))
            file.flush()
            os.fsync(file.fileno())  # the bytes are on disk before the rename makes them the file
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _new_temporary_file(directory: str, name: str) -> tuple[str, int]:
    """(path, open descriptor) of a new, empty file ``.name.<random>.tmp`` in ``directory``, the
    name cut to its first 32 characters so that the temporary name is short whatever the target's.
    Unlike tempfile.mkstemp (mode 0600), its permissions follow the umask, as for any file the
    user writes."""
    for _ in range(100):
        temporary = os.path.join(directory, f".{name[:32]}.{os.urandom(4).hex()}.tmp")
        try:
            return temporary, os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
    raise FileExistsError(f"cannot create a temporary file in '{directory}'")


def target_path(path) -> str:
    """``path`` as a str, checked before anything is written."""
    path = _as_path(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot save to '{path}': the directory '{directory}' does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(
            f"cannot save to '{path}': it is a directory; give a file name such as "
            f"'{os.path.join(path, 'model.safetensors')}'")
    return path


def source_path(path) -> str:
    path = _as_path(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot load '{path}': it is a directory, not a model file")
    if not os.path.exists(path):
        raise FileNotFoundError(f"cannot load '{path}': no such file")
    return path


def _as_path(path) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or an os.PathLike, got {type(path).__name__} {path!r}")
    path = os.fspath(path)
    if not isinstance(path, str):
        raise TypeError(f"path must be a str path, got {type(path).__name__} {path!r}")
    return path


MAX_MESSAGE = 1500  # characters of a ModelFileError's message, the path included


def problem(path: str | None, what: str) -> str:
    """The message of a ModelFileError: the file, then what is wrong with it."""
    return cut(f"cannot load '{path}': {what}" if path is not None else what)


def cut(message: str) -> str:
    """``message`` cut to MAX_MESSAGE characters: a file may hold a megabyte of names, and an
    error message is read, not scrolled."""
    if len(message) <= MAX_MESSAGE:
        return message
    return message[:MAX_MESSAGE - 30] + f" ... ({len(message) - MAX_MESSAGE + 30} characters cut)"


class _Short(reprlib.Repr):
    """reprlib's shortened repr, with a dict's keys in their own order (reprlib sorts them)."""

    def __init__(self) -> None:
        super().__init__()  # (keyword arguments only from Python 3.12)
        self.maxlevel, self.maxtuple, self.maxlist, self.maxdict = 4, 8, 8, 12
        self.maxstring, self.maxlong, self.maxother = 80, 40, 80

    def repr_dict(self, x, level):
        if not x:
            return "{}"
        if level <= 0:
            return "{...}"
        items = [f"{self.repr1(key, level - 1)}: {self.repr1(value, level - 1)}"
                 for key, value in itertools.islice(x.items(), self.maxdict)]
        return "{" + ", ".join(items + ["..."] * (len(x) > self.maxdict)) + "}"


_SHORT = _Short()


def short(value) -> str:
    """``repr(value)``, shortened (as reprlib does) for a message about a file's content."""
    try:
        return _SHORT.repr(value)
    except ValueError:  # an int of more than 4300 digits, which Python will not print
        return f"<{type(value).__name__}>"
