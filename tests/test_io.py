"""glassnet.save / load / save_weights / load_weights: round trips, clear errors for bad files,
loading that never runs code, atomic writes."""

import builtins
import importlib
import json
import os
import re
import sys
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest
from safetensors import numpy as safetensors_numpy
from safetensors import safe_open

import glassnet as gn
import glassnet._io_build as gio_build
from glassnet import losses, nn, optim
from glassnet.io import ModelFileError
from glassnet.nn import activation


def every_activation():
    """A layer of every registered activation (step first), some at parameters other than their
    defaults, so that a new registry entry is saved and loaded too."""
    other = {"leaky_relu": {"alpha": 0.2}, "elu": {"alpha": 0.5}, "log_softmax": {"axis": 1}}
    names = [name for name, entry in gn.functional.ACTIVATIONS.items() if name == entry.name]
    return [nn.make_activation(name, **other.get(name, {})) for name in names]


def trained_mlp(dtype=np.float32, steps=5):
    """An MLP with BatchNorm1d, Dropout and every activation, after a few Adam steps (so the
    running statistics and num_batches_tracked are not their initial values)."""
    step, *activations = every_activation()
    # Step first, on the input: its gradient is 0, and every layer after it learns.
    layers = [step, nn.Linear(4, 8, rng=0, dtype=dtype), nn.BatchNorm1d(8, momentum=0.3, dtype=dtype),
              nn.Dropout(0.25, rng=1)]
    for index, layer in enumerate(activations):
        layers += [layer, nn.Linear(8, 8, rng=10 + index, dtype=dtype)]
    model = nn.Sequential(*layers, nn.Linear(8, 3, bias=False, weight_init="he_normal", rng=2, dtype=dtype))
    data = np.random.default_rng(3)
    x = data.normal(1.0, 2.0, size=(32, 4)).astype(dtype)
    y = data.integers(0, 3, size=32)
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    for _ in range(steps):
        loss = losses.cross_entropy(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval(), x


def assert_same_state(model, expected):
    state, expected_state = model.state_dict(), expected.state_dict()
    assert list(state) == list(expected_state)
    for key, array in state.items():
        assert array.dtype == expected_state[key].dtype, key
        np.testing.assert_array_equal(array, expected_state[key], err_msg=key)


@pytest.fixture
def path(tmp_path):
    return tmp_path / "model.safetensors"


def saved_linear(path):
    gn.save(nn.Sequential(nn.Linear(3, 2, rng=0), nn.Tanh()), path)
    return path


def rewrite(path, tensors, **metadata_changes):
    """Write ``tensors`` to ``path`` with the metadata of the file at ``path``, changed."""
    with safe_open(path, "np") as file:
        metadata = file.metadata()
    metadata.update(metadata_changes)
    safetensors_numpy.save_file(tensors, path, metadata={k: v for k, v in metadata.items() if v is not None})


def load_error(path):
    with pytest.raises(ModelFileError) as info:
        gn.load(path)
    assert str(path) in str(info.value)
    return str(info.value)


# ---- round trips -----------------------------------------------------------------------------
def test_round_trip_trained_mlp_with_batchnorm_dropout_and_every_activation(path):
    model, x = trained_mlp()
    assert {type(layer).__name__ for layer in model} >= set(activation.__all__)
    assert model[2].num_batches_tracked == 5 and np.abs(model[2].running_mean).min() > 1e-3
    expected = model(x).numpy()

    gn.save(model, path)
    loaded = gn.load(path)

    assert repr(loaded) == repr(model)
    assert_same_state(loaded, model)
    assert not any(module.training for module in loaded.modules())  # loaded in eval mode
    prediction = loaded(x).numpy()
    assert prediction.dtype == np.float32
    np.testing.assert_array_equal(prediction, expected)
    assert [layer.get_config() for layer in loaded] == [layer.get_config() for layer in model]


def test_loaded_model_trains_on(path):
    model, x = trained_mlp(steps=1)
    gn.save(model, path)
    loaded = gn.load(path).train()
    before = loaded[1].weight.data.copy()
    optimizer = optim.SGD(loaded.parameters(), lr=0.1)
    losses.cross_entropy(loaded(x), np.zeros(len(x), dtype=np.int64)).backward()
    optimizer.step()
    assert np.abs(loaded[1].weight.data - before).max() > 0
    assert loaded[2].num_batches_tracked == 2


def test_round_trip_nested_and_named_sequential(path):
    model = nn.Sequential(OrderedDict(
        encoder=nn.Sequential(nn.Linear(5, 4, rng=0), nn.ELU(alpha=0.3),
                              nn.Sequential(nn.Linear(4, 4, rng=1), nn.BatchNorm1d(4))),
        head=nn.Linear(4, 2, rng=2),
    ))
    gn.save(model, path)
    loaded = gn.load(path)
    assert list(loaded.state_dict()) == [
        "encoder.0.weight", "encoder.0.bias", "encoder.2.0.weight", "encoder.2.0.bias",
        "encoder.2.1.weight", "encoder.2.1.bias", "encoder.2.1.running_mean",
        "encoder.2.1.running_var", "encoder.2.1.num_batches_tracked", "head.weight", "head.bias"]
    assert repr(loaded) == repr(model)
    assert_same_state(loaded, model)
    x = np.random.default_rng(0).normal(size=(6, 5)).astype(np.float32)
    np.testing.assert_array_equal(loaded(x).numpy(), model.eval()(x).numpy())


def test_float64_model_stays_float64(path):
    model, x = trained_mlp(dtype=np.float64, steps=2)
    gn.save(model, path)
    with safe_open(path, "np") as file:
        assert {file.get_tensor(key).dtype.name for key in file.keys()} == {"float64", "int64"}
    loaded = gn.load(path)
    assert {array.dtype.name for array in loaded.state_dict().values()} == {"float64", "int64"}
    prediction = loaded(x).numpy()
    assert prediction.dtype == np.float64
    np.testing.assert_array_equal(prediction, model(x).numpy())


def test_file_layout_is_documented_metadata(path):
    gn.save(nn.Sequential(nn.Linear(2, 3, rng=0), nn.LeakyReLU(alpha=0.1)), path)
    with safe_open(path, "np") as file:
        metadata, keys = file.metadata(), sorted(file.keys())
    assert keys == ["0.bias", "0.weight"]
    assert metadata["format"] == "glassnet.model"
    assert metadata["format_version"] == "1"
    assert metadata["glassnet_version"] == gn.__version__
    assert json.loads(metadata["architecture"]) == {"class": "Sequential", "config": {}, "children": [
        {"name": "0", "class": "Linear", "config": {
            "in_features": 2, "out_features": 3, "bias": True, "weight_init": "xavier_uniform",
            "bias_init": "zeros", "dtype": "float32"}},
        {"name": "1", "class": "LeakyReLU", "config": {"alpha": 0.1}},
    ]}


def test_a_single_layer_round_trips(path):
    layer = nn.BatchNorm1d(3, momentum=None, affine=False, dtype=np.float64)
    layer(np.random.default_rng(0).normal(size=(8, 3)))
    gn.save(layer, str(path))  # str or PathLike
    loaded = gn.load(str(path))
    assert type(loaded) is nn.BatchNorm1d and loaded.get_config() == layer.get_config()
    assert_same_state(loaded, layer)


def test_save_and_load_leave_the_default_generator_alone(path):
    model = nn.Sequential(nn.Linear(3, 4), nn.Dropout(0.5))  # rng=None: the default generator
    gn.seed(0)
    expected = gn.random.get_rng().random(3)
    gn.seed(0)
    gn.save(model, path)
    gn.load(path)
    np.testing.assert_array_equal(gn.random.get_rng().random(3), expected)


def test_save_leaves_the_model_as_it_was(path):
    model, x = trained_mlp(steps=1)
    model.train()
    state = model.state_dict()
    gn.save(model, path)
    assert model.training
    for key, array in model.state_dict().items():
        np.testing.assert_array_equal(array, state[key])


def test_json_arrays_come_back_as_tuples():
    assert gio_build.from_json([1, [2, 3], {"a": [4]}]) == (1, (2, 3), {"a": (4,)})


# ---- what save refuses -----------------------------------------------------------------------
class TwoLayer(nn.Module):
    def __init__(self, hidden=4, rng=0):
        super().__init__()
        self.hidden = nn.Linear(2, hidden, rng=rng)
        self.out = nn.Linear(hidden, 1, rng=rng + 1)

    def forward(self, x):
        return self.out(self.hidden(x).tanh())


class MyLinear(nn.Linear):
    pass


@pytest.mark.parametrize("model, where", [
    (TwoLayer(), "the model"),
    (nn.Sequential(nn.Linear(2, 2), nn.Sequential(nn.ReLU(), MyLinear(2, 2))), "layer '1.1'"),
], ids=["custom-module", "glassnet-subclass-nested"])
def test_save_refuses_a_user_defined_module(path, model, where):
    with pytest.raises(TypeError) as info:
        gn.save(model, path)
    message = str(info.value)
    assert f"cannot save {where}" in message
    assert type(model if where == "the model" else model[1][1]).__qualname__ in message
    assert "not a glassnet.nn layer" in message
    assert "glassnet.save_weights(model, path)" in message and "glassnet.load_weights" in message
    assert os.listdir(path.parent) == []


def test_module_without_get_config_names_the_class():
    with pytest.raises(NotImplementedError, match="TwoLayer does not define get_config"):
        TwoLayer().get_config()


def test_save_refuses_tied_weights(path):
    shared = nn.Linear(3, 3)
    with pytest.raises(ValueError, match=r"'0.weight' and '1.weight' are the same array.*save_weights"):
        gn.save(nn.Sequential(shared, shared), path)
    assert os.listdir(path.parent) == []


def test_save_refuses_a_config_that_does_not_rebuild_the_layer(path, monkeypatch):
    original = nn.Linear.get_config
    monkeypatch.setattr(nn.Linear, "get_config", lambda self: {**original(self), "out_features": 5})
    with pytest.raises(ValueError, match=r"does not rebuild it: '0.weight' has shape \(3, 2\) in the "
                                         r"model, its description needs shape \(3, 5\)"):
        gn.save(nn.Sequential(nn.Linear(3, 2)), path)
    monkeypatch.setattr(nn.Linear, "get_config", lambda self: {"in_features": 3})
    with pytest.raises(ValueError, match=r"does not rebuild it.*Linear\(\*\*\{'in_features': 3\}\).*"
                                         r"out_features"):
        gn.save(nn.Linear(3, 2), path)
    monkeypatch.setattr(nn.Linear, "get_config", lambda self: {**original(self), "dtype": np.float32})
    with pytest.raises(TypeError, match=r"Linear.get_config\(\)\['dtype'\] is a type .*not a JSON value"):
        gn.save(nn.Linear(3, 2), path)
    assert os.listdir(path.parent) == []


def test_save_checks_its_arguments(tmp_path):
    with pytest.raises(TypeError, match="save expects a glassnet.nn.Module, got ndarray"):
        gn.save(np.ones(3), tmp_path / "m.safetensors")
    with pytest.raises(FileNotFoundError, match=r"the directory '.*missing' does not exist"):
        gn.save(nn.ReLU(), tmp_path / "missing" / "m.safetensors")
    with pytest.raises(IsADirectoryError, match="it is a directory"):
        gn.save(nn.ReLU(), tmp_path)
    with pytest.raises(TypeError, match="path must be a str or an os.PathLike, got int"):
        gn.save(nn.ReLU(), 3)
    assert os.listdir(tmp_path) == []


# ---- atomic writes ---------------------------------------------------------------------------
@pytest.mark.parametrize("failing", ["serializer", "fsync", "replace"])
def test_a_failed_write_leaves_the_old_file_and_no_temporary(path, monkeypatch, failing):
    saved_linear(path)
    good = path.read_bytes()
    seen = []

    def fail(*args, **kwargs):
        seen.append(sorted(os.listdir(path.parent)))  # the temporary file exists by now
        raise OSError("disk full")

    target = {"serializer": (safetensors_numpy, "save"), "fsync": (os, "fsync"),
              "replace": (os, "replace")}[failing]
    monkeypatch.setattr(*target, fail)
    with pytest.raises(OSError, match="disk full"):
        gn.save(nn.Sequential(nn.Linear(5, 5)), path)
    monkeypatch.undo()

    assert len(seen) == 1 and len(seen[0]) == 2 and seen[0][0].startswith(".model.safetensors.")
    assert os.listdir(path.parent) == ["model.safetensors"]
    assert path.read_bytes() == good
    assert repr(gn.load(path)[0]) == "Linear(in_features=3, out_features=2, bias=True)"


def test_saving_over_a_file_replaces_it_with_normal_permissions(path):
    saved_linear(path)
    gn.save(nn.Sequential(nn.Linear(5, 1)), path)
    assert gn.load(path)[0].in_features == 5
    assert os.listdir(path.parent) == ["model.safetensors"]
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask


def test_a_refused_model_does_not_clobber_the_existing_file(path):
    saved_linear(path)
    good = path.read_bytes()
    with pytest.raises(TypeError):
        gn.save(TwoLayer(), path)
    assert path.read_bytes() == good and os.listdir(path.parent) == ["model.safetensors"]


# ---- bad files -------------------------------------------------------------------------------
def test_truncated_file(path):
    gn.save(nn.Linear(30, 20, rng=0), path)  # 2,480 bytes of tensors after a short header
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    message = load_error(path)
    assert "the file is truncated: its tensors need 2480 bytes of data after the header" in message
    path.write_bytes(data[:40])  # cut inside the header
    assert "the file is truncated: its first 8 bytes announce a header of" in load_error(path)


@pytest.mark.parametrize("content", [np.random.default_rng(0).bytes(300), b"", b"abc",
                                     b"\x05\x00\x00\x00\x00\x00\x00\x00[1,2]"],
                         ids=["random", "empty", "3-bytes", "json-list-header"])
def test_not_a_safetensors_file(path, content):
    path.write_bytes(content)
    assert "it is not a safetensors file" in load_error(path)


def test_missing_file_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="cannot load '.*nothing.safetensors': no such file"):
        gn.load(tmp_path / "nothing.safetensors")
    with pytest.raises(IsADirectoryError, match="it is a directory"):
        gn.load(tmp_path)


def test_wrong_shape_names_the_key_and_both_shapes(path):
    saved_linear(path)
    rewrite(path, nn.Sequential(nn.Linear(4, 2, rng=0)).state_dict())
    message = load_error(path)
    assert "its weights do not match its architecture" in message
    assert "'0.weight' has shape (4, 2) in the file, the architecture needs shape (3, 2)" in message


def test_missing_unexpected_and_wrong_dtype_tensors(path):
    saved_linear(path)
    state = nn.Sequential(nn.Linear(3, 2, rng=0)).state_dict()
    rewrite(path, {"0.weight": state["0.weight"].astype(np.float64), "extra": np.zeros(2)})
    message = load_error(path)
    assert "the file has no tensor '0.bias' (the architecture needs shape (2,))" in message
    assert "the file has a tensor 'extra' that the architecture does not have" in message
    assert "'0.weight' has dtype float64 in the file, the architecture needs dtype float32" in message


@pytest.mark.parametrize("changes, problem", [
    ({"architecture": '{"class": "Sequential", "children": ['},
     "the architecture in its metadata is not valid JSON"),
    ({"architecture": None}, "its metadata has no 'architecture'"),
    ({"format_version": "2"}, "its format version is '2'; glassnet 0.1.0 reads version 1"),
    ({"format_version": None}, "its format version is None"),
    ({"format": "keras"}, "its format is 'keras', not 'glassnet.model'"),
    ({"format": None}, "it has no glassnet metadata"),
    ({"format": "glassnet.weights"}, "it holds weights only (written by glassnet.save_weights)"),
    ({"architecture": '{"class": "Linear", "config": {"in_features": NaN}}'}, "not valid JSON (NaN"),
])
def test_missing_or_garbled_metadata(path, changes, problem):
    saved_linear(path)
    with safe_open(path, "np") as file:
        tensors = {key: file.get_tensor(key) for key in file.keys()}
    rewrite(path, tensors, **changes)
    assert problem in load_error(path)


def test_a_safetensors_file_without_metadata(path):
    safetensors_numpy.save_file({"weight": np.zeros((2, 2), np.float32)}, path)
    assert "it has no glassnet metadata" in load_error(path)


def test_deeply_nested_architecture(path):
    saved_linear(path)
    rewrite(path, {}, architecture='{"class": "Sequential", "children": [' * 10_000 + "]}" * 10_000)
    assert "the architecture in its metadata is not valid JSON (maximum recursion depth" in load_error(path)


@pytest.mark.parametrize("class_name", [
    "os.system", "system", "antigravity", "antigravity.fly", "subprocess.Popen", "eval",
    "Module", "Parameter", "LoadResult", "_AlongAxis", "Tensor", "np", "glassnet.nn.Linear", "",
])
def test_a_class_outside_glassnet_nn_is_refused_without_importing_it(path, monkeypatch, class_name):
    saved_linear(path)
    architecture = {"class": "Sequential", "config": {}, "children": [
        {"name": "0", "class": class_name, "config": {"command": "echo owned"}}]}
    rewrite(path, {}, architecture=json.dumps(architecture))
    imported = []
    real_import = builtins.__import__

    def recording_import(name, *args, **kwargs):
        imported.append(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(importlib, "import_module", recording_import)
    monkeypatch.setattr(builtins, "__import__", recording_import)
    imported.clear()  # monkeypatch itself may import
    try:
        gn.load(path)
    except ModelFileError as error:
        message = str(error)
    monkeypatch.undo()
    assert (f"the architecture of layer '0' names the class {class_name!r}, which is not a layer of "
            "glassnet.nn") in message
    assert "Linear, " in message  # the classes a file may name are listed
    assert imported == []
    assert "antigravity" not in sys.modules


def test_every_layer_class_of_glassnet_nn_may_be_named_and_nothing_else():
    layers = {name for name in nn.__all__
              if isinstance(getattr(nn, name), type) and issubclass(getattr(nn, name), nn.Module)}
    layers.discard("Module")
    assert {"Linear", "Sequential", "BatchNorm1d", "Dropout", "ReLU"} <= layers
    assert set(gio_build.layer_names()) == layers
    assert all(gio_build.layer_class(name) is getattr(nn, name) for name in layers)


@pytest.mark.parametrize("node, problem", [
    ({"class": "Linear", "config": {"in_features": 3, "out_features": {"__class__": "x"}}},
     "the architecture of the model is Linear(**{'in_features': 3, 'out_features': {'__class__': 'x'}}), "
     "which raises TypeError: out_features must be a positive int"),
    ({"class": "Linear", "config": {"in_features": 3, "out_features": 2, "shell": "rm -rf"}},
     "raises TypeError"),
    ({"class": "Linear", "config": [3, 2]}, "has a config that is not a JSON object: [3, 2]"),
    ({"class": "ReLU", "children": []}, "lists children, but ReLU builds its own sub-modules"),
    ({"class": "Sequential", "children": {"0": {}}}, "must list its children"),
    ({"class": "Sequential", "children": [{"class": "ReLU"}]}, "has a child without a unique name"),
    ({"class": "Sequential", "children": [{"name": "a", "class": "ReLU"}, {"name": "a", "class": "Tanh"}]},
     "has a child without a unique name"),
    ({"class": "Sequential", "children": [{"name": "forward", "class": "ReLU"}]},
     "has a child that cannot be added"),
    ({"class": "Sequential", "children": [{"name": "0", "class": "ReLU", "code": "x"}]},
     "the architecture of layer '0' has unknown entries ['code']"),
    ({"config": {}}, "must name its class as a string, got None"),
    ([1, 2], "the architecture of the model must be a JSON object, got list"),
])
def test_malformed_architecture(path, node, problem):
    saved_linear(path)
    rewrite(path, {}, architecture=json.dumps(node))
    assert problem in load_error(path)


# ---- weights only ----------------------------------------------------------------------------
def test_save_weights_load_weights_round_trip_for_a_custom_module(path):
    model = TwoLayer(rng=0)
    gn.save_weights(model, path)
    with safe_open(path, "np") as file:
        assert file.metadata()["format"] == "glassnet.weights"
    other = TwoLayer(rng=5).eval()
    result = gn.load_weights(other, path)
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert_same_state(other, model)
    assert not other.training  # the mode is left as it was
    x = np.ones((3, 2), np.float32)
    np.testing.assert_array_equal(other(x).numpy(), model(x).numpy())


def test_load_weights_mismatch_names_the_file_key_and_shapes_and_changes_nothing(path):
    gn.save_weights(TwoLayer(hidden=4), path)
    other = TwoLayer(hidden=3, rng=7)
    before = other.state_dict()
    with pytest.raises(ModelFileError) as info:
        gn.load_weights(other, path)
    message = str(info.value)
    assert f"cannot load the weights of '{path}'" in message
    assert ("shape mismatch for 'hidden.weight': the state_dict has shape (2, 4), the model has "
            "shape (2, 3)") in message
    for key, array in other.state_dict().items():
        np.testing.assert_array_equal(array, before[key])


def test_load_weights_strict_and_not_strict(path):
    gn.save_weights(nn.Sequential(nn.Linear(2, 4, rng=0)), path)
    with pytest.raises(ModelFileError, match=r"missing keys: '1.weight', '1.bias'"):
        gn.load_weights(nn.Sequential(nn.Linear(2, 4), nn.Linear(4, 1)), path)
    model = nn.Sequential(nn.Linear(2, 4), nn.Linear(4, 1))
    result = gn.load_weights(model, path, strict=False)
    assert result.missing_keys == ["1.weight", "1.bias"] and result.unexpected_keys == []
    np.testing.assert_array_equal(model[0].weight.data, nn.Linear(2, 4, rng=0).weight.data)


def test_load_weights_reads_a_model_file_and_bad_files(path):
    model, x = trained_mlp(steps=1)
    gn.save(model, path)
    fresh, _ = trained_mlp(steps=0)
    gn.load_weights(fresh, path)
    np.testing.assert_array_equal(fresh(x).numpy(), model(x).numpy())
    path.write_bytes(b"\x00" * 5)
    with pytest.raises(ModelFileError, match="is not a safetensors file"):
        gn.load_weights(fresh, path)
    with pytest.raises(TypeError, match="load_weights expects a glassnet.nn.Module, got dict"):
        gn.load_weights({}, path)


def test_readme_saving_models_example_runs(tmp_path, monkeypatch):
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    code = re.search(r"## Saving models\s+```python\n(.*?)```", readme, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    model, my_model = nn.Sequential(nn.Linear(2, 3, rng=0), nn.ReLU()), TwoLayer(rng=0)
    namespace = {"gn": gn, "model": model, "my_model": my_model}
    exec(compile(code, "README.md", "exec"), namespace)
    assert sorted(os.listdir(tmp_path)) == ["model.safetensors", "weights.safetensors"]
    assert repr(namespace["model"]) == repr(model) and namespace["model"] is not model
    assert_same_state(namespace["model"], model)


def test_the_tensors_of_a_file_come_back_in_name_order(tmp_path):
    """The parser lists tensors in a hash map's order, which changes from process to process; the
    reader sorts them by name (as safetensors' safe_open does), so that what follows from the
    order (load_weights' unexpected_keys) is the same in every run."""
    from glassnet import _safetensors_file as files

    names = [f"layer{i}.{part}" for i in range(12) for part in ("weight", "bias")]
    path = str(tmp_path / "many.safetensors")
    files.write_atomically(path, {name: np.zeros(2, np.float32) for name in reversed(names)}, {})
    assert list(files.read(path)[1]) == sorted(names)
    model = nn.Sequential(nn.Linear(2, 2))
    result = gn.load_weights(model, path, strict=False)
    assert result.unexpected_keys == sorted(names) and result.missing_keys == ["0.weight", "0.bias"]
