"""Model files written byte by byte, as a hostile or a careless tool would write them, and the
measure of what loading one costs. Shared by test_io_hostile.py and test_io_properties.py."""

import json
import struct
import time
import tracemalloc

import numpy as np

MODEL_METADATA = {"format": "glassnet.model", "format_version": "1", "glassnet_version": "0.1.0"}

# safetensors' dtype names and the NumPy dtypes of the bytes (BF16 and F8 have none in NumPy)
NUMPY_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4", "I16": "<i2",
                "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1", "BOOL": "?"}
NAMES = {np.dtype(numpy): name for name, numpy in NUMPY_DTYPES.items()}


def file_bytes(header: dict, data: bytes = b"") -> bytes:
    """A safetensors file: the u64 little-endian header size, the header JSON (padded with
    spaces to 8 bytes, as safetensors writes it), then the data."""
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def tensor_file(tensors: dict, metadata: dict | None = None, dtypes: dict | None = None) -> bytes:
    """A safetensors file of ``tensors`` (name -> ndarray, or name -> (dtype name, shape, bytes)
    for a dtype NumPy has no name for), in order, with contiguous offsets."""
    header: dict = {} if metadata is None else {"__metadata__": metadata}
    data = b""
    for name, value in tensors.items():
        if isinstance(value, tuple):
            dtype, shape, raw = value
        else:
            array = np.ascontiguousarray(value)
            dtype, shape, raw = NAMES[array.dtype.newbyteorder("<") if array.dtype.itemsize > 1
                                      else array.dtype], list(array.shape), array.tobytes()
        header[name] = {"dtype": (dtypes or {}).get(name, dtype), "shape": shape,
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    return file_bytes(header, data)


def model_file(architecture, tensors: dict | None = None) -> bytes:
    """A glassnet.model file declaring ``architecture`` (a dict, or JSON text) over ``tensors``."""
    text = architecture if isinstance(architecture, str) else json.dumps(architecture)
    return tensor_file(tensors or {}, {**MODEL_METADATA, "architecture": text})


def split(content: bytes) -> tuple[dict, bytes]:
    """(header, data) of a well-formed safetensors file."""
    (size,) = struct.unpack("<Q", content[:8])
    return json.loads(content[8:8 + size]), content[8 + size:]


def measured(function, *args):
    """(result or the exception raised, seconds, peak bytes traced by tracemalloc) of a call."""
    tracemalloc.start()
    start = time.perf_counter()
    try:
        result = function(*args)
    except Exception as error:  # noqa: BLE001 (what is raised is what the caller checks)
        result = error
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, seconds, peak
