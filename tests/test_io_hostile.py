"""Model files made to hurt: declared sizes far beyond the file, dtypes glassnet does not read,
deep nesting, long messages; load_weights' dtype check; save through a symlink, over a private
file, under a long name. Each test reproduces a failure of issue 10 (items 4 to 7)."""

import json
import os
import stat

import numpy as np
import pytest
from safetensors import numpy as safetensors_numpy

import glassnet as gn
import glassnet._io_build as build
import glassnet.io as gio
from crafted_files import MODEL_METADATA, file_bytes, measured, model_file, split, tensor_file
from glassnet import nn
from glassnet.io import ModelFileError
from glassnet.nn import module as module_file

MiB = 2 ** 20


@pytest.fixture
def path(tmp_path):
    return tmp_path / "model.safetensors"


def load_error(path, loader=gn.load, *args):
    with pytest.raises(ModelFileError) as info:
        loader(*args, path) if args else loader(path)
    return str(info.value)


def cheap_failure(path, content, *, seconds=0.5, peak=2 * MiB):
    """Write ``content``, load it: a ModelFileError, within ``seconds`` and ``peak`` bytes."""
    path.write_bytes(content)
    error, elapsed, traced = measured(gn.load, path)
    assert isinstance(error, ModelFileError), error
    assert elapsed < seconds and traced < peak, (elapsed, traced)
    return str(error)


# ---- item 4: load_weights refuses a dtype the model does not have ------------------------------
@pytest.mark.parametrize("dtype", [np.int8, np.bool_, np.uint64, np.float64, np.float16])
def test_load_weights_refuses_another_dtype_and_changes_nothing(path, dtype):
    model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.BatchNorm1d(3))
    state = model.state_dict()
    # the first tensor fits: the refusal must come before any weight is copied
    changed = {key: np.ones_like(array) for key, array in state.items()}
    changed["1.weight"] = changed["1.weight"].astype(dtype)
    path.write_bytes(tensor_file(changed, {"format": "glassnet.weights", "format_version": "1"}))
    message = load_error(path, gn.load_weights, model)
    assert f"'1.weight' has dtype {np.dtype(dtype).name} in the file, the model needs dtype float32" in message
    assert str(path) in message and "nothing was changed" in message
    for key, array in model.state_dict().items():
        np.testing.assert_array_equal(array, state[key], err_msg=key)
        assert array.dtype == state[key].dtype


def test_load_weights_not_strict_checks_the_dtypes_of_the_keys_it_loads(path):
    path.write_bytes(tensor_file({"0.weight": np.ones((2, 3), np.int64), "other": np.ones(2, np.int8)}))
    model = nn.Sequential(nn.Linear(2, 3, rng=0))
    assert "'0.weight' has dtype int64 in the file" in load_error(path, gn.load_weights, model)
    path.write_bytes(tensor_file({"0.weight": np.ones((2, 3), np.float32), "other": np.ones(2, np.int8)}))
    result = gn.load_weights(model, path, strict=False)
    assert result.unexpected_keys == ["other"] and (model[0].weight.data == 1).all()


# ---- item 5: what a file declares is checked against what it holds, before anything is built ---
def test_a_small_file_declaring_a_huge_linear_fails_fast(path):
    content = model_file({"class": "Linear", "config": {"in_features": 8000, "out_features": 8000}})
    assert len(content) < 300
    message = cheap_failure(path, content)  # was 733 MiB and seconds
    assert "the architecture of the model declares more than the file holds" in message
    assert "Linear makes an array of shape (8000, 8000) (64000000 values)" in message
    assert "the file's 0 tensors hold 0 values" in message


@pytest.mark.parametrize("num_layers", [8000, 10 ** 7])
def test_a_small_file_declaring_a_deep_transformer_fails_fast(path, num_layers):
    layer = nn.TransformerEncoderLayer(4, nhead=1, dim_feedforward=4).get_config()
    content = model_file({"class": "TransformerEncoder",
                          "config": {"encoder_layer": layer, "num_layers": num_layers}})
    message = cheap_failure(path, content)  # 8000 was 6 s here, 10^7 hours
    assert "declares more than the file holds" in message and "arrays" in message


def test_the_budget_counts_what_the_file_holds(path):
    """A Linear(8000, 8000) whose weight is in the file is built; one tensor short, it is not."""
    weight = np.zeros((300, 200), np.float32)
    architecture = {"class": "Linear", "config": {"in_features": 300, "out_features": 200, "bias": False}}
    path.write_bytes(model_file(architecture, {"weight": weight}))
    assert gn.load(path).weight.shape == (300, 200)
    path.write_bytes(model_file({**architecture, "config": {**architecture["config"], "in_features": 3000}},
                                {"weight": weight}))
    error, _, peak = measured(gn.load, path)
    assert "declares more than the file holds" in str(error) and peak < 3 * MiB


# Every layer class given a declared size far beyond a file without tensors.
HUGE = {
    "Linear": {"in_features": 10 ** 6, "out_features": 10 ** 6},
    "Embedding": {"num_embeddings": 10 ** 9, "embedding_dim": 64},
    "RNN": {"input_size": 4, "hidden_size": 4, "num_layers": 10 ** 9},
    "LSTM": {"input_size": 10 ** 8, "hidden_size": 4},
    "GRU": {"input_size": 4, "hidden_size": 10 ** 5, "bidirectional": True},
    "Conv1d": {"in_channels": 1, "out_channels": 1, "kernel_size": 10 ** 10},
    "Conv2d": {"in_channels": 3, "out_channels": 8, "kernel_size": [10 ** 5, 10 ** 5]},
    "BatchNorm1d": {"num_features": 10 ** 9},
    "BatchNorm2d": {"num_features": 10 ** 9, "affine": False},
    "LayerNorm": {"normalized_shape": [10 ** 5, 10 ** 5]},
    "Standardize": {"num_features": 10 ** 9},
    "Impute": {"num_features": 10 ** 9, "strategy": "median"},
    "MultiheadAttention": {"embed_dim": 10 ** 5, "num_heads": 1},
    "TransformerEncoderLayer": {"d_model": 8, "nhead": 2, "dim_feedforward": 10 ** 9},
}


@pytest.mark.parametrize("class_name", sorted(HUGE))
def test_every_layer_with_weights_fails_fast_on_a_huge_declared_size(path, class_name):
    message = cheap_failure(path, model_file({"class": class_name, "config": HUGE[class_name]}))
    assert "declares more than the file holds" in message and class_name in message


def test_a_subarray_dtype_cannot_multiply_the_allocation(path):
    """np.dtype('(1000,1000)f8') is a valid NumPy dtype; Standardize took any np.dtype."""
    content = model_file({"class": "Standardize", "config": {"num_features": 4, "dtype": ["f8", [1000, 1000]]}})
    message = cheap_failure(path, content)
    assert "Standardize" in message and "float32 or float64" in message


def test_positional_encoding_builds_its_table_when_used_not_when_loaded(path):
    content = model_file({"class": "PositionalEncoding", "config": {"d_model": 4000, "max_len": 10 ** 6}})
    path.write_bytes(content)
    layer, seconds, peak = measured(gn.load, path)  # was 1.2 GiB for max_len 20000
    assert isinstance(layer, nn.PositionalEncoding) and seconds < 0.5 and peak < 2 * MiB
    x = np.zeros((2, 3, 4000), np.float32)
    out, _, peak = measured(layer, x)
    assert peak < 2 * MiB
    full = nn.PositionalEncoding(4000, max_len=50).pe
    np.testing.assert_array_equal(out.numpy(), np.broadcast_to(full[:3], x.shape))


def test_positional_encoding_table_is_the_same_computed_in_parts():
    layer = nn.PositionalEncoding(10, max_len=300)
    reference = gn.functional.sinusoidal_positional_encoding(300, 10)
    for length in (1, 7, 64, 65, 299, 3):  # growing, then shorter
        out = layer(np.zeros((length, 10), np.float32)).numpy()
        np.testing.assert_array_equal(out, reference[:length])
    np.testing.assert_array_equal(layer.pe, reference)
    assert layer.pe.shape == (300, 10) and layer.state_dict() == {}


def test_every_layer_makes_its_weights_through_the_guarded_constructor():
    """The budget sees an array before it is allocated only if the layer asks state_array for it:
    for each layer class, the arrays it asked for are exactly its parameters and buffers."""
    made = []

    class Recorder:
        def array(self, shape, dtype):
            made.append(tuple(shape) if isinstance(shape, tuple) else (shape,))

        def module(self):
            pass

    examples = {
        "TransformerEncoder": {"encoder_layer": {"d_model": 4, "nhead": 2, "dim_feedforward": 3}, "num_layers": 2,
                               "norm": True},
        "MultiheadAttention": {"embed_dim": 4, "num_heads": 2, "kdim": 3, "vdim": 5},
        "Conv2d": {"in_channels": 2, "out_channels": 3, "kernel_size": 2}, "Conv1d": {"in_channels": 2,
                   "out_channels": 3, "kernel_size": 2},
        "ConvTranspose1d": {"in_channels": 2, "out_channels": 3, "kernel_size": 2},
        "ConvTranspose2d": {"in_channels": 2, "out_channels": 3, "kernel_size": 2, "bias": False},
        "Upsample": {"scale_factor": 2}, "Unflatten": {"dim": 1, "unflattened_size": (2, 3)},
        "MaxPool1d": {"kernel_size": 2}, "MaxPool2d": {"kernel_size": 2}, "AvgPool1d": {"kernel_size": 2},
        "AvgPool2d": {"kernel_size": 2}, "LayerNorm": {"normalized_shape": 3},
        "PositionalEncoding": {"d_model": 4}, "TransformerEncoderLayer": {"d_model": 4, "nhead": 2},
        **{name: dict(HUGE[name], **{key: 3 for key, value in HUGE[name].items() if type(value) is int})
           for name in ("Linear", "Embedding", "RNN", "LSTM", "GRU", "BatchNorm1d", "BatchNorm2d", "Standardize",
                         "Impute")},
    }
    for name in build.layer_names():
        made.clear()
        token = module_file._construction_guard.set(Recorder())
        try:
            layer = getattr(nn, name)(**examples.get(name, {}))
        finally:
            module_file._construction_guard.reset(token)
        assert sorted(made) == sorted(array.shape for _, array in layer._state_items()), name


def test_at_most_max_modules_are_built(path, monkeypatch):
    monkeypatch.setattr(build, "MAX_MODULES", 50)
    children = [{"name": str(i), "class": "ReLU"} for i in range(60)]
    message = cheap_failure(path, model_file({"class": "Sequential", "children": children}))
    assert "more than 50 modules" in message
    path.write_bytes(model_file({"class": "Sequential", "children": children[:49]}))
    assert len(gn.load(path)) == 49


def test_loading_costs_a_few_times_the_file_size(path):
    model = nn.Sequential(nn.Linear(400, 300, rng=0), nn.ReLU(), nn.Linear(300, 200, rng=1))
    gn.save(model, path)
    loaded, seconds, peak = measured(gn.load, path)
    assert repr(loaded) == repr(model)
    size = os.path.getsize(path)
    assert peak < 6 * size, (peak, size)


# ---- item 6: every problem of a file is a ModelFileError, with a short message -----------------
def bf16(values):
    """(the bfloat16 bytes of float32 ``values``, their float32 values): bf16 is the top 16 bits."""
    bits = np.asarray(values, np.float32).view(np.uint32) >> 16
    return bits.astype("<u2").tobytes(), (bits << 16).astype(np.uint32).view(np.float32)


def test_bf16_tensors_load_as_float32_exactly(path):
    weight, expected_weight = bf16(np.random.default_rng(0).normal(size=(2, 3)))
    bias, expected_bias = bf16([1.5, -2.0, 3.1415])
    tensors = {"weight": ("BF16", [2, 3], weight), "bias": ("BF16", [3], bias)}
    architecture = json.dumps(nn.Linear(2, 3).get_config())
    path.write_bytes(tensor_file(tensors, {**MODEL_METADATA, "architecture": json.dumps(
        {"class": "Linear", "config": json.loads(architecture)})}))
    loaded = gn.load(path)  # was KeyError: 'BF16'
    assert loaded.weight.dtype == np.float32
    np.testing.assert_array_equal(loaded.weight.data, expected_weight.reshape(2, 3))
    np.testing.assert_array_equal(loaded.bias.data, expected_bias)
    model = nn.Linear(2, 3, rng=5)
    gn.load_weights(model, path)
    np.testing.assert_array_equal(model.bias.data, [1.5, -2.0, expected_bias[2]])


@pytest.mark.parametrize("dtype", ["F8_E4M3", "F8_E5M2", "F4", "C128", "X"])
def test_a_dtype_glassnet_does_not_read_is_named(path, dtype):
    content = tensor_file({"weight": (dtype, [2, 3], b"\0" * 6)},
                          {**MODEL_METADATA, "architecture": '{"class": "ReLU"}'})
    path.write_bytes(content)
    for message in (load_error(path), load_error(path, gn.load_weights, nn.ReLU())):
        assert "'weight'" in message and dtype in message  # was KeyError: 'F8_E4M3'


def test_sixty_five_dimensions(path):
    content = tensor_file({"x": ("F32", [1] * 65, b"\0" * 4)}, {**MODEL_METADATA, "architecture": '{"class": "ReLU"}'})
    path.write_bytes(content)
    for message in (load_error(path), load_error(path, gn.load_weights, nn.ReLU())):
        assert "'x' has 65 dimensions" in message  # was NumPy's ValueError


@pytest.mark.parametrize("depth", [65, 900])
def test_a_deeply_nested_config_is_refused_by_its_depth(path, depth):
    value = "[" * depth + "1" + "]" * depth
    content = model_file('{"class": "Linear", "config": {"in_features": 2, "out_features": 3, "bias": ' + value + "}}")
    message = cheap_failure(path, content)  # 900 was RecursionError
    assert "nested more than 64 levels deep" in message


def test_deeply_nested_sequentials_are_refused_by_their_depth(path):
    depth = 300
    text = ('{"class": "Sequential", "children": ['
            + '{"name": "0", "class": "Sequential", "children": [' * (depth - 1)
            + '{"name": "0", "class": "ReLU"}' + "]}" * depth)
    assert "nested more than 64 levels deep" in cheap_failure(path, model_file(text))
    nested = nn.ReLU()
    for _ in range(30):
        nested = nn.Sequential(nested)
    gn.save(nested, path)
    assert repr(gn.load(path)) == repr(nested)
    for _ in range(5):
        nested = nn.Sequential(nested)
    with pytest.raises(ValueError, match="nested more than 64 levels deep"):
        gn.save(nested, path)


def test_a_long_problem_is_a_short_message(path):
    children = [{"name": str(i), "class": "Linear", "config": {"in_features": 2, "out_features": 2}}
                for i in range(4000)]
    tensors = {}
    for i in range(4000):  # float64 where the architecture says float32
        tensors.update({f"{i}.weight": np.zeros((2, 2)), f"{i}.bias": np.zeros(2)})
    message = cheap_failure(path, model_file({"class": "Sequential", "children": children}, tensors),
                            seconds=10, peak=64 * MiB)
    assert len(message) < 2000  # was 600 kB
    assert "'0.weight' has dtype float64 in the file, the architecture needs dtype float32" in message
    assert "and 7990 more" in message


def test_a_long_name_or_config_is_cut_in_the_message(path):
    config = {"in_features": 2, "out_features": "x" * 100_000}
    message = cheap_failure(path, model_file({"class": "Sequential", "children": [
        {"name": "0", "class": "Linear", "config": config}]}))
    assert len(message) < 2000 and "out_features must be a positive int" in message
    message = cheap_failure(path, model_file({"class": "y" * 100_000}))
    assert len(message) < 2000 and "names the class 'yyyy" in message


def test_any_other_failure_while_building_is_a_model_file_error(path, monkeypatch):
    gn.save(nn.Sequential(nn.Linear(2, 3)), path)

    def broken(self, *args, **kwargs):
        raise KeyError("surprise")

    monkeypatch.setattr(nn.Linear, "__init__", broken)
    message = load_error(path)
    assert "layer '0'" in message and "KeyError" in message and "surprise" in message


def test_an_unexpected_failure_reading_the_file_is_a_model_file_error(path, monkeypatch):
    gn.save(nn.Linear(2, 3), path)
    monkeypatch.setattr(gio, "_architecture", lambda *args: 1 / 0)
    with pytest.raises(ModelFileError, match="ZeroDivisionError") as info:
        gn.load(path)
    assert isinstance(info.value.__cause__, ZeroDivisionError)  # the traceback is kept


# ---- item 7: save writes like an ordinary file write ------------------------------------------
def test_overwriting_keeps_the_mode_of_the_file(path):
    gn.save(nn.Linear(2, 2), path)
    os.chmod(path, 0o600)
    gn.save(nn.Linear(3, 2), path)  # was 0644
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600 and gn.load(path).in_features == 3
    os.chmod(path, 0o640)
    gn.save_weights(nn.Linear(3, 2), path)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o640


def test_saving_through_a_symlink_writes_its_target(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "model.safetensors"
    gn.save(nn.Linear(2, 2), target)
    os.chmod(target, 0o600)
    link = tmp_path / "link.safetensors"
    link.symlink_to(target)
    gn.save(nn.Linear(3, 2), link)  # the link was replaced by a file
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert gn.load(target).in_features == 3 and stat.S_IMODE(os.stat(target).st_mode) == 0o600
    assert sorted(os.listdir(tmp_path)) == ["link.safetensors", "real"]
    assert os.listdir(tmp_path / "real") == ["model.safetensors"]
    dangling = tmp_path / "dangling.safetensors"
    dangling.symlink_to(tmp_path / "real" / "new.safetensors")
    gn.save_weights(nn.Linear(2, 2), dangling)  # as open(path, "w") does: the target is created
    assert dangling.is_symlink() and (tmp_path / "real" / "new.safetensors").is_file()


def test_a_failed_save_through_a_symlink_leaves_the_target(tmp_path, monkeypatch):
    target, link = tmp_path / "model.safetensors", tmp_path / "link.safetensors"
    gn.save(nn.Linear(2, 2), target)
    link.symlink_to(target.name)
    good = target.read_bytes()
    monkeypatch.setattr(os, "fsync", lambda *args: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        gn.save(nn.Linear(3, 2), link)
    monkeypatch.undo()
    assert target.read_bytes() == good and link.is_symlink()
    assert sorted(os.listdir(tmp_path)) == ["link.safetensors", "model.safetensors"]


def test_a_long_file_name_can_be_saved(tmp_path, monkeypatch):
    name = "m" * (os.pathconf(tmp_path, "PC_NAME_MAX") - len(".safetensors")) + ".safetensors"
    path = tmp_path / name
    gn.save(nn.Linear(2, 2), path)  # was "File name too long": the temporary name was 14 longer
    gn.save(nn.Linear(3, 2), path)
    assert gn.load(path).in_features == 3 and os.listdir(tmp_path) == [name]
    monkeypatch.setattr(safetensors_numpy, "save", lambda *args, **kwargs: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        gn.save(nn.Linear(4, 2), path)
    assert os.listdir(tmp_path) == [name]


def test_saving_over_a_symlink_to_a_directory_is_refused(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "folder")
    with pytest.raises(IsADirectoryError):
        gn.save(nn.Linear(2, 2), tmp_path / "link")
    assert os.listdir(tmp_path / "folder") == []


def test_split_helper_reads_what_file_bytes_writes():
    header, data = split(file_bytes({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, b"abcd"))
    assert header["a"]["shape"] == [1] and data == b"abcd"


def test_a_size_too_large_to_print_is_still_a_short_message(path):
    content = model_file({"class": "LayerNorm", "config": {"normalized_shape": [int("9" * 4000)] * 20}})
    message = cheap_failure(path, content)
    assert "declares more than the file holds" in message and "about 2**" in message
    assert len(message) < 1500
