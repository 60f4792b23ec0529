"""glassnet.interop with bad input: every error names the problem, and nothing changes before it.

A wrong type is a TypeError, a wrong value a ValueError listing every mismatch at once (missing,
unexpected, shape in PyTorch's layout, a lossy dtype, a shared layer given two values); a bad
file is a ModelFileError (a ValueError) or the system's error; ``save_torch`` writes whole files
or none.
"""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import safetensors.numpy
import safetensors.torch
import torch

from glassnet import _safetensors_file as files
from glassnet import nn, save_weights
from glassnet.interop import load_torch, save_torch, torch_state_dict
from glassnet.io import ModelFileError


def model_and_twin():
    """A glassnet model with batch norm, and its PyTorch twin's state_dict as NumPy arrays."""
    ours = nn.Sequential(nn.Linear(3, 4, rng=0), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2, rng=1))
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(),
                                 torch.nn.Linear(4, 2)).float()  # float32 whatever default an oracle module set
    return ours, {name: t.detach().numpy().copy() for name, t in theirs.state_dict().items()}


def assert_unchanged(model, before: dict) -> None:
    after = model.state_dict()
    assert list(after) == list(before)
    for name in before:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)


# ---- wrong types -----------------------------------------------------------------------------
@pytest.mark.parametrize("call, message", [
    (lambda: load_torch({"weight": np.zeros(2)}, {}), "load_torch expects a glassnet.nn.Module, got dict"),
    (lambda: load_torch(nn.Linear(2, 3), 42), "a state_dict (a dict from names to NumPy arrays) or the path"),
    (lambda: load_torch(nn.Linear(2, 3), [("weight", np.zeros((3, 2)))]), "got list"),
    (lambda: load_torch(nn.Linear(2, 3), "no/such/file.safetensors", strict="yes"), "strict must be True or False"),
    (lambda: torch_state_dict(torch.nn.Linear(2, 3)), "torch_state_dict expects a glassnet.nn.Module, got Linear"),
    (lambda: save_torch("model.safetensors", nn.Linear(2, 3)), "save_torch expects a glassnet.nn.Module, got str"),
])
def test_wrong_types_are_type_errors(call, message):
    with pytest.raises(TypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        call()


def test_torch_tensors_are_refused_with_the_conversion_to_use():
    ours, state = model_and_twin()
    before = ours.state_dict()
    tensors = {name: torch.from_numpy(array) for name, array in state.items()}
    with pytest.raises(TypeError) as error:
        load_torch(ours, tensors)
    assert "'0.weight' must be a NumPy array, got torch.Tensor" in str(error.value)
    assert "tensor.detach().cpu().numpy()" in str(error.value)
    assert_unchanged(ours, before)


@pytest.mark.parametrize("value, message", [
    (np.array(["a", "b"]), "'bias' is not numeric (dtype <U1)"),
    (np.array([1 + 2j, 0j]), "'bias' is not numeric (dtype complex128)"),
    ([0.0, 0.0], "'bias' must be a NumPy array, got builtins.list"),
])
def test_values_that_are_not_numeric_arrays_are_type_errors(value, message):
    layer = nn.Linear(2, 2, rng=0)
    before = layer.state_dict()
    with pytest.raises(TypeError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_torch(layer, {"weight": np.zeros((2, 2)), "bias": value})
    assert_unchanged(layer, before)


def test_a_key_that_is_not_a_str_is_a_type_error():
    with pytest.raises(TypeError, match="keys must be str names such as '0.weight', got int 0"):
        load_torch(nn.Linear(2, 2), {0: np.zeros((2, 2))})


# ---- mismatches: all at once, by name, nothing changed --------------------------------------
def test_missing_unexpected_and_shapes_are_reported_together_and_nothing_changes():
    ours, state = model_and_twin()
    before = ours.state_dict()
    del state["1.running_var"]
    state["3.weight"] = state["3.weight"].T  # glassnet's layout by mistake
    state["1.bias"] = np.zeros(5, np.float32)
    state["4.weight"] = np.zeros((2, 2), np.float32)
    with pytest.raises(ValueError) as error:
        load_torch(ours, state)
    message = str(error.value)
    assert message.startswith("cannot load the PyTorch state_dict into Sequential (nothing was changed)")
    assert "missing keys: '1.running_var'" in message
    assert "unexpected keys: '4.weight'" in message
    assert "'3.weight' has shape (4, 2), the model's Linear needs (2, 4) (PyTorch's layout; glassnet's is (4, 2))" \
        in message
    assert "'1.bias' has shape (5,), the model's BatchNorm1d needs (4,)" in message
    assert_unchanged(ours, before)


def test_a_glassnet_state_dict_is_refused_for_its_layout():
    source, target = nn.Linear(3, 5, rng=0), nn.Linear(3, 5, rng=1)
    before = target.state_dict()
    with pytest.raises(ValueError, match=r"'weight' has shape \(3, 5\), the model's Linear needs \(5, 3\)"):
        load_torch(target, source.state_dict())
    assert_unchanged(target, before)


def test_long_lists_of_names_are_cut():
    model = nn.Sequential(*(nn.Linear(2, 2) for _ in range(30)))
    with pytest.raises(ValueError, match=r"missing keys: '0.weight', '0.bias', .*'9.bias' \.\.\. and 40 more"):
        load_torch(model, {})


def test_strict_false_loads_the_shared_keys_and_still_checks_shapes():
    ours, state = model_and_twin()
    before = ours.state_dict()
    partial = {name: state[name] for name in ("0.weight", "0.bias")} | {"head.weight": np.zeros(3, np.float32)}
    assert load_torch(ours, partial, strict=False) is ours
    np.testing.assert_array_equal(ours[0].weight.data, state["0.weight"].T)
    np.testing.assert_array_equal(ours[3].weight.data, before["3.weight"])  # missing: left alone
    partial["0.bias"] = np.zeros(7, np.float32)
    with pytest.raises(ValueError, match=r"'0.bias' has shape \(7,\)"):
        load_torch(ours, partial, strict=False)
    np.testing.assert_array_equal(ours[0].bias.data, state["0.bias"])


def test_an_older_checkpoint_without_num_batches_tracked_loads():
    ours, state = model_and_twin()
    ours[1].num_batches_tracked[...] = 5
    del state["1.num_batches_tracked"]
    load_torch(ours, state)
    assert int(ours[1].num_batches_tracked) == 5
    np.testing.assert_array_equal(ours[1].running_var, state["1.running_var"])


# ---- dtypes ------------------------------------------------------------------------------------
def test_a_lossless_cast_is_made_and_a_lossy_one_refused():
    layer64 = nn.Linear(2, 3, dtype=np.float64, rng=0)
    values = {"weight": np.random.default_rng(0).normal(size=(3, 2)).astype(np.float32),
              "bias": np.arange(3, dtype=np.float32)}
    load_torch(layer64, values)
    assert layer64.weight.dtype == np.float64
    np.testing.assert_array_equal(layer64.weight.data, values["weight"].T.astype(np.float64))
    layer32 = nn.Linear(2, 3, rng=0)
    before = layer32.state_dict()
    lossy = {"weight": np.full((3, 2), 0.1), "bias": np.array([1e300, 0.0, 0.0])}
    with pytest.raises(ValueError) as error:
        load_torch(layer32, lossy)
    for name in ("weight", "bias"):
        assert f"'{name}' has dtype float64, and casting it to the model's float32 changes its values" \
            in str(error.value)
    assert "build the model with dtype=float64" in str(error.value)
    assert_unchanged(layer32, before)
    with pytest.raises(ValueError, match="'weight' has dtype int64, and casting it to the model's float32 changes its "
                                         "values; convert the array$"):
        load_torch(layer32, {"weight": np.full((3, 2), 2**30 + 1), "bias": np.zeros(3, np.int64)})
    exact = {"weight": np.full((3, 2), 0.5), "bias": np.array([1.0, -2.0, np.nan])}  # float64, exact in float32
    load_torch(layer32, exact)
    np.testing.assert_array_equal(layer32.bias.data, np.array([1.0, -2.0, np.nan], np.float32))


@pytest.mark.parametrize("count, loads", [(np.array(3.0), True), (np.array(np.nan), False),
                                          (np.array(2.5), False), (np.array(2**70, dtype=np.float64), False),
                                          (np.int32(7), True)])
def test_the_batch_counter_takes_whole_numbers_only(count, loads):
    _, state = model_and_twin()
    layer = nn.BatchNorm1d(4)
    source = {name.removeprefix("1."): value for name, value in state.items() if name.startswith("1.")}
    source["num_batches_tracked"] = count
    if loads:
        load_torch(layer, source)
        assert layer.num_batches_tracked.dtype == np.int64 and int(layer.num_batches_tracked) == int(count)
    else:
        with pytest.raises(ValueError, match="'num_batches_tracked' has dtype float64"):
            load_torch(layer, source)
        assert int(layer.num_batches_tracked) == 0


def test_a_read_only_array_in_the_model_is_named():
    layer = nn.Linear(2, 2, rng=0)
    layer.bias.data.setflags(write=False)
    with pytest.raises(ValueError, match="the model's array 'bias' is read-only"):
        load_torch(layer, {"weight": np.ones((2, 2), np.float32), "bias": np.ones(2, np.float32)})
    assert not (layer.weight.data == 1).all()


# ---- sharing, prefixes, PyTorch-only options -------------------------------------------------
def test_a_shared_layer_must_get_one_value():
    shared = nn.Linear(2, 2, rng=0)
    model = nn.Sequential(shared, nn.Tanh(), shared)
    state = torch_state_dict(model)
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]  # PyTorch lists both names
    twin = torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.Tanh())
    twin.append(twin[0])
    assert list(twin.state_dict()) == list(state)
    state["2.bias"] = state["2.bias"] + 1
    before = model.state_dict()
    with pytest.raises(ValueError, match="'0.bias' and '2.bias' are one array in the model"):
        load_torch(model, state)
    assert_unchanged(model, before)
    state["0.bias"] = state["2.bias"]
    load_torch(model, state)
    np.testing.assert_array_equal(shared.bias.data, before["0.bias"] + 1)


def test_a_wrapper_prefix_gets_a_hint():
    ours, state = model_and_twin()
    wrapped = {"module." + name: array for name, array in state.items()}
    with pytest.raises(ValueError, match=r"carry the prefix 'module\.'; strip it"):
        load_torch(ours, wrapped)


def test_pytorch_options_glassnet_lacks_are_named():
    torch.manual_seed(0)
    projected = torch.nn.LSTM(4, 6, proj_size=3, batch_first=True)
    state = {name: t.detach().numpy() for name, t in projected.state_dict().items()}
    with pytest.raises(ValueError) as error:
        load_torch(nn.LSTM(4, 6), state)
    message = str(error.value)
    assert "unexpected keys: 'weight_hr_l0'" in message and "has no proj_size" in message
    assert "'weight_hh_l0' has shape (24, 3), the model's LSTM needs (24, 6)" in message
    bidirectional = torch.nn.LSTM(4, 6, proj_size=3, bidirectional=True)
    state = {name: t.detach().numpy() for name, t in bidirectional.state_dict().items()}
    with pytest.raises(ValueError, match=r"'weight_hr_l0', 'weight_hr_l0_reverse' \(glassnet's LSTM has no proj_size"):
        load_torch(nn.LSTM(4, 6, bidirectional=True), state)
    attention = torch.nn.MultiheadAttention(6, 2, add_bias_kv=True)
    state = {name: t.detach().numpy() for name, t in attention.state_dict().items()}
    with pytest.raises(ValueError, match=r"unexpected keys: 'bias_k', 'bias_v' \(glassnet's MultiheadAttention has "
                                         r"no add_bias_kv"):
        load_torch(nn.MultiheadAttention(6, 2), state)
    with pytest.raises(ValueError, match=r"unexpected keys: 'bias_kernel'$"):  # a user's name: no hint
        load_torch(nn.ReLU(), {"bias_kernel": np.zeros(2)})


# ---- torch_state_dict ------------------------------------------------------------------------
def test_torch_state_dict_gives_new_contiguous_arrays():
    model = nn.Sequential(nn.Linear(3, 4, rng=0), nn.BatchNorm1d(4))
    state = torch_state_dict(model)
    assert all(array.flags.c_contiguous and array.flags.writeable for array in state.values())
    assert state["1.num_batches_tracked"].dtype == np.int64 and state["1.num_batches_tracked"].shape == ()
    state["0.weight"][...] = 7
    state["1.running_mean"][...] = 7
    assert not (model[0].weight.data == 7).any() and not (model[1].running_mean == 7).any()


def test_a_user_parameter_keeps_its_layout():
    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(np.arange(6.0).reshape(2, 3))

        def forward(self, x):
            return x * self.scale

    model = Scaled()
    np.testing.assert_array_equal(torch_state_dict(model)["scale"], model.scale.data)
    load_torch(model, {"scale": np.ones((2, 3))})
    assert (model.scale.data == 1).all()


# ---- files -----------------------------------------------------------------------------------
def test_bad_files_are_named_and_change_nothing(tmp_path):
    ours, state = model_and_twin()
    before = ours.state_dict()
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_torch(ours, tmp_path / "missing.safetensors")
    with pytest.raises(IsADirectoryError, match="it is a directory"):
        load_torch(ours, tmp_path)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"not a safetensors file at all")
    with pytest.raises(ModelFileError, match="it is not a safetensors file"):
        load_torch(ours, garbage)
    whole = tmp_path / "whole.safetensors"
    safetensors.numpy.save_file(state, str(whole))
    truncated = tmp_path / "truncated.safetensors"
    truncated.write_bytes(whole.read_bytes()[:-10])
    with pytest.raises(ModelFileError, match="the file is truncated"):
        load_torch(ours, truncated)
    assert_unchanged(ours, before)
    load_torch(ours, str(whole))  # a str path too
    np.testing.assert_array_equal(ours[3].weight.data, state["3.weight"].T)


def test_a_glassnet_weights_file_is_refused_for_its_layout(tmp_path):
    ours, _ = model_and_twin()
    before = ours.state_dict()
    path = tmp_path / "weights.safetensors"
    save_weights(ours, path)
    with pytest.raises(ModelFileError, match=r"glassnet.save_weights wrote it, in glassnet's layout.*load_weights"):
        load_torch(ours, path)
    assert_unchanged(ours, before)


def test_half_precision_files_load_exactly(tmp_path):
    torch.manual_seed(0)
    theirs = torch.nn.Linear(3, 2)
    for dtype in (torch.bfloat16, torch.float16):
        path = tmp_path / f"{dtype}.safetensors"
        safetensors.torch.save_file({k: v.to(dtype) for k, v in theirs.state_dict().items()}, str(path))
        layer = load_torch(nn.Linear(3, 2), path)
        expected = theirs.weight.detach().to(dtype).to(torch.float32).numpy()
        np.testing.assert_array_equal(layer.weight.data, expected.T)


def test_save_torch_checks_the_path_before_writing(tmp_path):
    model = nn.Linear(2, 3, rng=0)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        save_torch(model, tmp_path / "no" / "folder.safetensors")
    with pytest.raises(IsADirectoryError):
        save_torch(model, tmp_path)
    with pytest.raises(ValueError, match="the path is empty"):
        save_torch(model, "")
    assert os.listdir(tmp_path) == []


def test_save_torch_never_leaves_half_a_file(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    save_torch(nn.Linear(2, 3, rng=0), path)
    old = path.read_bytes()

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(files.safetensors_numpy, "save", fail)
    with pytest.raises(OSError, match="disk full"):
        save_torch(nn.Linear(2, 3, rng=1), path)
    assert path.read_bytes() == old and os.listdir(tmp_path) == ["model.safetensors"]


def test_a_model_without_state_saves_an_empty_file(tmp_path):
    path = tmp_path / "empty.safetensors"
    save_torch(nn.Sequential(nn.ReLU(), nn.Flatten()), path)
    assert safetensors.torch.load_file(str(path)) == {}
    layer = nn.ReLU()
    assert load_torch(layer, path) is layer
    with pytest.raises(ValueError, match="unexpected keys: 'weight'"):
        load_torch(nn.ReLU(), {"weight": np.zeros(2)})


def test_the_library_never_imports_torch(tmp_path):
    script = ("import sys, numpy as np\n"
              "from glassnet import nn\n"
              "from glassnet.interop import load_torch, save_torch, torch_state_dict\n"
              "model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.LSTM(4, 2))\n"
              "save_torch(model, 'model.safetensors')\n"
              "load_torch(model, 'model.safetensors')\n"
              "load_torch(model, torch_state_dict(model))\n"
              "print(sorted(name for name in sys.modules if name.split('.')[0] == 'torch'))\n")
    source = Path(__file__).resolve().parents[1] / "src"
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(source)}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
