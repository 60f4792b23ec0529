"""The file side of ``glassnet.io``: reading a safetensors file with clear errors for a bad one,
and writing one atomically. Any safetensors file is read here; what its metadata means is
``glassnet.io``'s business."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import reprlib
import stat
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
    data = _file_bytes(path)
    if len(data) < 8:
        raise ModelFileError(problem(path, f"it is not a safetensors file (only {len(data)} bytes)"))
    (header_size,) = struct.unpack("<Q", data[:8])  # safetensors: u64 little-endian, then JSON
    if 8 + header_size > len(data):
        kind = "the file is truncated" if data[8:9] == b"{" else "it is not a safetensors file"
        raise ModelFileError(problem(
            path, f"{kind}: its first 8 bytes announce a header of {header_size} bytes, and only "
                  f"{len(data) - 8} bytes follow"))
    try:
        header = json.loads(data[8:8 + header_size], object_pairs_hook=unique_keys)
    except DuplicateKey as error:  # parsers differ on which entry wins: the file says two things
        raise ModelFileError(problem(path, f"its header {error}")) from None
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
    del header  # (the parser makes its own: a header of many small tensors costs ~10 times its size)
    try:
        views = safetensors.deserialize(data)
    except SafetensorError as error:
        raise ModelFileError(problem(path, f"it is not a valid safetensors file ({short(error)})")) from None
    del data  # each tensor has its own copy now
    views.sort(key=lambda item: item[0])  # by name, as safe_open lists them: the parser's order is a hash map's
    tensors = {}
    for position, (name, view) in enumerate(views):
        views[position] = None  # each view goes once decoded, so that views and arrays do not add up
        tensors[name] = _decode(path, name, view)
    return metadata, tensors


def _file_bytes(path: str) -> bytes:
    """The bytes of the regular file at ``path``, as many as its size when opened. Anything else
    is refused before a byte is read: a FIFO would wait for a writer, a device (/dev/zero) would
    never end. (Opened without blocking, so that opening a FIFO does not wait either; one
    descriptor, so that a file replaced meanwhile is read whole, the old one or the new one.)"""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    with open(descriptor, "rb") as file:  # (os.fdopen imports io: loading imports nothing)
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise ModelFileError(problem(path, f"it is not a regular file (a {_kind(info.st_mode)})"))
        if hasattr(os, "O_NONBLOCK"):
            os.set_blocking(descriptor, True)
        return file.read(info.st_size)


def _kind(mode: int) -> str:
    """What a file that is not a regular file is, in words."""
    kinds = [(stat.S_ISDIR, "directory"), (stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"),
             (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket")]
    return next((name for test, name in kinds if test(mode)), "special file")


class DuplicateKey(ValueError):
    """A JSON object that names a key twice (its message: "names 'key' twice")."""


def unique_keys(pairs: list) -> dict:
    """``object_pairs_hook`` for json.loads: the object as a dict, refusing a key named twice (the
    JSON standard leaves open which one counts, and parsers differ)."""
    result = dict(pairs)
    if len(result) != len(pairs):
        counts: dict = {}
        for key, _ in pairs:
            counts[key] = counts.get(key, 0) + 1
        raise DuplicateKey(f"names {short(next(key for key, count in counts.items() if count > 1))} twice")
    return result


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
    file keeps its permissions, and its owner and group where the user may give them; a new one
    gets the umask's. What is not a regular file (a FIFO, a device) is refused, not replaced.
    (safetensors' own save_file is not used: it leaves files readable by their owner only.)"""
    target = os.path.realpath(path)  # a symlink's target: the rename must not replace the link
    directory, name = os.path.split(target)
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot save to '{path}': it is a symlink to '{target}', whose folder "
                                "does not exist")
    info = _existing(path, target)
    temporary, descriptor = new_temporary_file(directory, name)
    try:
        with os.fdopen(descriptor, "wb") as file:
            if info is not None:
                _keep_owner(file.fileno(), info)
                os.fchmod(file.fileno(), info.st_mode & 0o777)  # the permissions (not setuid and the like)
            file.write(safetensors_numpy.save(tensors, metadata=metadata))
            file.flush()
            os.fsync(file.fileno())  # the bytes are on disk before the rename makes them the file
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _existing(path: str, target: str) -> os.stat_result | None:
    """The stat of the file a save replaces (None if there is none); anything but a regular file
    raises ValueError: an ordinary write would write into the FIFO or the device, not replace it."""
    try:
        info = os.stat(target)
    except FileNotFoundError:
        return None
    if not stat.S_ISREG(info.st_mode):
        kind = _kind(info.st_mode)
        if kind == "directory":
            raise IsADirectoryError(f"cannot save to '{path}': it is a directory")
        raise ValueError(f"cannot save to '{path}': it is a {kind}, not a regular file; a model file "
                         "is written beside it and renamed over it, which would replace it")
    return info


def _keep_owner(descriptor: int, info: os.stat_result) -> None:
    """Give the new file the owner and group of the one it replaces, as far as the user may
    (root: both; another user: a group they are in; else the file stays theirs)."""
    for owner in (info.st_uid, -1) if hasattr(os, "fchown") else ():
        with contextlib.suppress(PermissionError):
            os.fchown(descriptor, owner, info.st_gid)
            return


def new_temporary_file(directory: str, name: str) -> tuple[str, int]:
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
        if os.path.exists(directory):
            raise NotADirectoryError(f"cannot save to '{path}': '{directory}' is not a directory")
        raise FileNotFoundError(f"cannot save to '{path}': the directory '{directory}' does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(
            f"cannot save to '{path}': it is a directory; give a file name such as "
            f"'{os.path.join(path, 'model.safetensors')}'")
    if path.endswith(tuple({os.sep, os.altsep or os.sep})):
        raise IsADirectoryError(f"cannot save to '{path}': it ends with a path separator, so it names a "
                                "directory; give a file name")
    _existing(path, os.path.realpath(path))
    return path


def source_path(path) -> str:
    path = _as_path(path)
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot load '{path}': it is a directory, not a model file")
    try:
        os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"cannot load '{path}': no such file") from None
    except OSError as error:  # a symlink loop, a name too long, no permission: the system's words
        raise type(error)(error.errno, f"cannot load '{path}': {error.strerror}") from None
    return path


def _as_path(path) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or an os.PathLike, got {type(path).__name__} {path!r}")
    path = os.fspath(path)
    if not isinstance(path, str):
        raise TypeError(f"path must be a str path, got {type(path).__name__} {path!r}")
    if not path:
        raise ValueError("the path is empty; give a file name such as 'model.safetensors'")
    if "\0" in path:
        raise ValueError(f"the path {path!r} holds a NUL character, which no file name may hold")
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
