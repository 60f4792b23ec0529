"""Property-based tests of the model-file loader (hypothesis): generated mutations of valid files
(bytes, header JSON, tensor tables, config trees) either raise ModelFileError or load exactly
what the mutated file describes, never any other exception, within a bounded allocation
(tracemalloc) and time.

"Exactly what the file describes" rather than "the original model": the data section has no
checksum, so a flipped bit in a weight is a valid file of another model, and a config edit such
as Dropout(0.1) -> Dropout(0.5) is a valid architecture. What a load may never do is change or
cast a value on the way: the loaded state equals the file's tensors, name by name, dtype by
dtype, bit by bit. A mutation that changes nothing the format gives meaning to (the order of
the header's keys, its spacing) loads the original model.
"""

import json
import struct

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from safetensors import numpy as safetensors_numpy

import glassnet as gn
from crafted_files import file_bytes, measured, split
from glassnet import nn
from glassnet._io_build import MAX_DEPTH
from glassnet.io import ModelFileError

MiB = 2 ** 20
SECONDS = 1.0  # per load, on a loaded CI machine too: the files here are a few kB
PEAK = 4 * MiB  # traced bytes per load, beyond a few times the file's size
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def base_models():
    """Small models covering every kind of layer with weights or buffers."""
    mlp = nn.Sequential(nn.Standardize(3), nn.Linear(3, 4, rng=0), nn.BatchNorm1d(4), nn.LeakyReLU(0.2),
                        nn.Dropout(0.1), nn.Linear(4, 2, bias=False, rng=1))
    mlp(np.random.default_rng(0).normal(size=(8, 3)))  # running statistics that are not their defaults
    sequence = nn.Sequential(
        nn.Embedding(6, 4, padding_idx=0, rng=2), nn.PositionalEncoding(4, max_len=16), nn.LayerNorm(4),
        nn.TransformerEncoder(nn.TransformerEncoderLayer(4, nhead=2, dim_feedforward=3), num_layers=1, rng=3),
        nn.GRU(4, 3, rng=4), nn.Conv1d(3, 2, kernel_size=2, rng=5), nn.MultiheadAttention(2, 1, kdim=3, rng=6))
    return [mlp.eval(), sequence.eval()]


BASES = base_models()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return tmp_path_factory.mktemp("mutations")


@pytest.fixture(scope="module")
def originals(folder):
    """(model, file bytes) of each base model."""
    result = []
    for index, model in enumerate(BASES):
        path = folder / f"base{index}.safetensors"
        gn.save(model, path)
        result.append((model, path.read_bytes()))
    return result


def assert_same_model(loaded, expected):
    assert repr(loaded) == repr(expected)
    state, expected_state = loaded.state_dict(), expected.state_dict()
    assert list(state) == list(expected_state)
    for key, array in state.items():
        assert array.dtype == expected_state[key].dtype and array.tobytes() == expected_state[key].tobytes(), key


def file_tensors(content: bytes) -> dict:
    """The file's tensors as safetensors' own NumPy reader gives them (BF16 decoded here)."""
    header, data = split(content)
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        begin, end = entry["data_offsets"]
        if entry["dtype"] == "BF16":
            bits = np.frombuffer(data[begin:end], "<u2").astype(np.uint32) << 16
            tensors[name] = bits.view(np.float32).reshape(entry["shape"])
        else:
            tensors[name] = safetensors_numpy.load(file_bytes({name: {**entry, "data_offsets": [0, end - begin]}},
                                                              data[begin:end]))[name]
    return tensors


def check_load(folder, content: bytes):
    """Load ``content``: a ModelFileError or a model holding the file's tensors unchanged, within
    the time and memory bounds. Returns the model or None."""
    path = folder / "mutated.safetensors"
    path.write_bytes(content)
    result, seconds, peak = measured(gn.load, path)
    assert seconds < SECONDS, seconds
    assert peak < PEAK + 4 * len(content), peak
    if isinstance(result, ModelFileError):
        assert len(str(result)) <= 1500
        return None
    assert not isinstance(result, BaseException), f"{type(result).__name__}: {result}"
    expected = file_tensors(content)
    state = result.state_dict()
    assert sorted(state) == sorted(expected)
    for key, array in state.items():  # nothing cast, nothing changed on the way
        assert array.dtype == expected[key].dtype and array.shape == expected[key].shape, key
        assert array.tobytes() == expected[key].tobytes(), key
    return result


# ---- bytes -------------------------------------------------------------------------------------
@SETTINGS
@given(base=st.integers(0, len(BASES) - 1), data=st.data())
def test_byte_mutations(folder, originals, base, data):
    model, content = originals[base]
    kind = data.draw(st.sampled_from(["flip", "truncate", "insert", "delete", "header size"]))
    position = data.draw(st.integers(0, len(content) - 1))
    if kind == "flip":
        flips = data.draw(st.lists(st.tuples(st.integers(0, len(content) - 1), st.integers(1, 255)),
                                   min_size=1, max_size=4))
        mutated = bytearray(content)
        for where, mask in flips:
            mutated[where] ^= mask
        mutated = bytes(mutated)
    elif kind == "truncate":
        mutated = content[:position]
    elif kind == "insert":
        mutated = content[:position] + data.draw(st.binary(min_size=1, max_size=16)) + content[position:]
    elif kind == "delete":
        mutated = content[:position] + content[position + data.draw(st.integers(1, 16)):]
    else:
        size = data.draw(st.one_of(st.integers(0, 2 ** 64 - 1), st.integers(0, len(content))))
        mutated = struct.pack("<Q", size) + content[8:]
    check_load(folder, mutated)


# ---- the header: tensor table and metadata --------------------------------------------------------
# (st.builds, not st.just, for lists and dicts: a mutation edits what it draws in place)
ODD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-2 ** 70, 2 ** 70), st.sampled_from([0, 1, -1, 2 ** 31, 2 ** 63, 10 ** 30]),
    st.floats(allow_nan=False), st.text(max_size=5), st.builds(list), st.builds(dict),
    st.builds(lambda: [[1], [1], [1]]),
    st.just("x" * 3000))
DTYPE_NAMES = st.sampled_from(["F64", "F32", "F16", "BF16", "I64", "I32", "I8", "U8", "U64", "BOOL", "F8_E4M3",
                               "F8_E5M2", "C64", "F4", "f32", ""])


def header_edit(data, header: dict) -> None:
    """Change ``header`` in place, one way or another."""
    names = [name for name in header if name != "__metadata__"]
    if not names:
        return
    name = data.draw(st.sampled_from(names))
    entry = header[name]
    kind = data.draw(st.sampled_from(["dtype", "shape", "dimension", "offsets", "rename", "delete",
                                      "duplicate", "entry", "metadata", "reorder"]))
    if not isinstance(entry, dict) and kind in ("dtype", "shape", "dimension", "offsets", "duplicate"):
        kind = "delete"
    if kind == "dtype":
        entry["dtype"] = data.draw(st.one_of(DTYPE_NAMES, ODD_VALUES))
    elif kind == "shape":
        entry["shape"] = data.draw(st.one_of(
            st.lists(st.integers(0, 2 ** 64), max_size=4), st.builds(lambda: [1] * 65),
            st.builds(lambda: [1] * 64 + [0]), st.builds(lambda: [0, 2 ** 62, 2 ** 62]), ODD_VALUES))
    elif kind == "dimension" and isinstance(entry.get("shape"), list) and entry["shape"]:
        index = data.draw(st.integers(0, len(entry["shape"]) - 1))
        entry["shape"][index] = data.draw(ODD_VALUES)
    elif kind == "offsets":
        entry["data_offsets"] = data.draw(st.one_of(
            st.lists(st.integers(-1, 2 ** 64), min_size=2, max_size=2),
            st.builds(lambda: entry["data_offsets"][::-1] if isinstance(entry.get("data_offsets"), list) else []),
            ODD_VALUES))
    elif kind == "rename":
        header[data.draw(st.one_of(st.sampled_from(names), st.text(max_size=3), st.just("__metadata__")))] = \
            header.pop(name)
    elif kind == "delete":
        del header[name]
    elif kind == "duplicate":
        header[name + "x"] = dict(entry)
    elif kind == "entry":
        header[name] = data.draw(ODD_VALUES)
    elif kind == "metadata" and isinstance(header.get("__metadata__"), dict):
        key = data.draw(st.sampled_from(["format", "format_version", "glassnet_version", "architecture", "other"]))
        header["__metadata__"][key] = data.draw(st.one_of(st.text(max_size=8), ODD_VALUES))
    else:  # the order of the keys has no meaning
        items = list(header.items())
        header.clear()
        header.update(data.draw(st.permutations(items)))


@SETTINGS
@given(base=st.integers(0, len(BASES) - 1), data=st.data(), edits=st.integers(1, 3))
def test_header_mutations(folder, originals, base, data, edits):
    model, content = originals[base]
    header, body = split(content)
    for _ in range(edits):
        header_edit(data, header)
    loaded = check_load(folder, file_bytes(header, body))
    if loaded is not None and header == split(content)[0]:
        assert_same_model(loaded, model)  # only the order of the keys (or nothing) changed


@SETTINGS
@given(base=st.integers(0, len(BASES) - 1), data=st.data())
def test_tensor_table_mutations_with_consistent_layouts(folder, originals, base, data):
    """Valid safetensors files whose tensors no longer fit the architecture: another dtype (BF16
    included), another shape of the same size, a tensor dropped or added."""
    model, content = originals[base]
    header, body = split(content)
    tensors = file_tensors(content)
    name = data.draw(st.sampled_from(sorted(tensors)))
    kind = data.draw(st.sampled_from(["astype", "bf16", "reshape", "drop", "add"]))
    raw = {key: (dict(header[key]), body[slice(*header[key]["data_offsets"])]) for key in tensors}
    array = tensors[name]
    if kind == "astype":
        converted = array.astype(data.draw(st.sampled_from(["<f8", "<f2", "i1", "<u8", "?", "<i8", "<f4"])))
        raw[name] = ({"dtype": {"f8": "F64", "f2": "F16", "i1": "I8", "u8": "U64", "b1": "BOOL", "i8": "I64",
                                "f4": "F32"}[converted.dtype.str[1:]], "shape": list(array.shape)},
                     converted.tobytes())
    elif kind == "bf16" and array.dtype == np.float32:
        bits = (array.view(np.uint32) >> 16).astype("<u2")
        raw[name] = ({"dtype": "BF16", "shape": list(array.shape)}, bits.tobytes())
    elif kind == "reshape" and array.size > 1:
        raw[name] = ({**raw[name][0], "shape": [array.size]}, raw[name][1])
    elif kind == "drop":
        del raw[name]
    elif kind == "add":
        raw[name + ".extra"] = ({"dtype": "F32", "shape": [2]}, b"\0" * 8)
    new_header, new_body = {"__metadata__": header["__metadata__"]}, b""
    for key, (entry, chunk) in raw.items():
        new_header[key] = {"dtype": entry["dtype"], "shape": entry["shape"],
                           "data_offsets": [len(new_body), len(new_body) + len(chunk)]}
        new_body += chunk
    loaded = check_load(folder, file_bytes(new_header, new_body))
    if kind == "bf16" and array.dtype == np.float32 and loaded is not None:  # BF16 loads as float32
        assert loaded.state_dict()[name].dtype == np.float32


# ---- the architecture: config trees ---------------------------------------------------------------
def nodes(value, found):
    """Every dict and list in the JSON ``value``."""
    if isinstance(value, (dict, list)):
        found.append(value)
        for child in (value.values() if isinstance(value, dict) else value):
            nodes(child, found)
    return found


def deep(depth: int):
    value: object = 1
    for _ in range(depth):
        value = [value]
    return value


CONFIG_VALUES = st.one_of(
    ODD_VALUES, st.integers(1, 2 ** 64).map(lambda n: n * 1000), st.sampled_from([10 ** 6, 10 ** 9, 10 ** 18, 8000]),
    st.sampled_from([MAX_DEPTH - 2, MAX_DEPTH + 1, 900]).map(deep), st.lists(st.integers(-2, 10 ** 6), max_size=5),
    st.sampled_from(["float16", "int8", "object", "S1000000", "(1000,1000)f8", "float64", "he_normal", "relu",
                     "tanh", "Linear"]),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=3))
CLASS_NAMES = st.sampled_from(["Linear", "Sequential", "ReLU", "TransformerEncoder", "GRU", "Embedding",
                               "Standardize", "LayerNorm", "PositionalEncoding", "Conv2d", "Module", "os.system",
                               "_ActivationLayer", "Parameter", "", "Tensor"])


@SETTINGS
@given(base=st.integers(0, len(BASES) - 1), data=st.data(), edits=st.integers(1, 3))
def test_config_tree_mutations(folder, originals, base, data, edits):
    model, content = originals[base]
    header, body = split(content)
    architecture = json.loads(header["__metadata__"]["architecture"])
    for _ in range(edits):
        node = data.draw(st.sampled_from(nodes(architecture, [])))
        kind = data.draw(st.sampled_from(["size", "value", "delete", "add", "class", "wrap", "repeat"]))
        if isinstance(node, list):
            if node and kind in ("value", "delete"):
                index = data.draw(st.integers(0, len(node) - 1))
                node[index:index + 1] = [] if kind == "delete" else [data.draw(CONFIG_VALUES)]
            elif kind == "repeat" and node:
                node.extend(node * data.draw(st.sampled_from([1, 10, 100])))
            continue
        keys = sorted(node)
        sizes = [key for key in keys if type(node[key]) is int]
        if kind == "size" and sizes:  # a declared size, far beyond the file
            node[data.draw(st.sampled_from(sizes))] = data.draw(st.sampled_from([8000, 10 ** 6, 10 ** 9, 10 ** 18]))
        elif kind == "value" and keys:
            node[data.draw(st.sampled_from(keys))] = data.draw(CONFIG_VALUES)
        elif kind == "delete" and keys:
            del node[data.draw(st.sampled_from(keys))]
        elif kind == "add":
            key = data.draw(st.sampled_from(["children", "name", "code", "rng", "num_layers"]))
            node[key] = data.draw(CONFIG_VALUES)
        elif kind == "class" and "class" in node:
            node["class"] = data.draw(CLASS_NAMES)
        elif kind == "wrap":
            for _ in range(data.draw(st.sampled_from([1, 5, 40]))):
                architecture = {"class": "Sequential", "config": {}, "children": [{"name": "0", **architecture}]}
    header["__metadata__"]["architecture"] = json.dumps(architecture)
    loaded = check_load(folder, file_bytes(header, body))
    if loaded is not None:  # a valid architecture, loaded: saving it again gives the same model
        path = folder / "again.safetensors"
        gn.save(loaded, path)
        assert_same_model(gn.load(path), loaded)


# ---- load_weights ---------------------------------------------------------------------------------
@SETTINGS
@given(data=st.data())
def test_load_weights_of_a_mutated_file_is_all_or_nothing(folder, originals, data):
    model, content = originals[0]
    header, body = split(content)
    kind = data.draw(st.sampled_from(["bytes", "header"]))
    if kind == "bytes":
        mutated = bytearray(content)
        for _ in range(data.draw(st.integers(1, 3))):
            mutated[data.draw(st.integers(0, len(content) - 1))] ^= data.draw(st.integers(1, 255))
        mutated = bytes(mutated)
    else:
        header_edit(data, header)
        mutated = file_bytes(header, body)
    path = folder / "weights.safetensors"
    path.write_bytes(mutated)
    target = base_models()[0]
    before = target.state_dict()
    strict = data.draw(st.booleans())
    result, seconds, peak = measured(gn.load_weights, target, path, strict)
    assert seconds < SECONDS and peak < PEAK + 4 * len(mutated)
    state = target.state_dict()
    if isinstance(result, ModelFileError):
        for key, array in state.items():  # nothing changed
            assert array.tobytes() == before[key].tobytes(), key
        return
    assert not isinstance(result, BaseException), f"{type(result).__name__}: {result}"
    expected = file_tensors(mutated)
    for key, array in state.items():
        if key in expected:
            assert array.dtype == expected[key].dtype and array.tobytes() == expected[key].tobytes(), key
        else:
            assert not strict and array.tobytes() == before[key].tobytes(), key


def test_the_bounds_are_not_vacuous(folder, originals):
    """A mutation that declares a huge layer is refused within the bounds the properties use."""
    model, content = originals[0]
    header, body = split(content)
    architecture = json.loads(header["__metadata__"]["architecture"])
    architecture["children"][1]["config"]["in_features"] = 10 ** 9
    header["__metadata__"]["architecture"] = json.dumps(architecture)
    assert check_load(folder, file_bytes(header, body)) is None
