"""The model file as a file: what is at the path may be a FIFO, a device, a symlink loop, a file
being rewritten, or a header that names a tensor twice; what is saved over may be a FIFO, a
file of another owner or group, or a path that no ordinary write would accept. Loading is
bounded by the file's size and never waits; saving writes a regular file or refuses."""

import json
import os
import stat
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

import glassnet as gn
from crafted_files import MODEL_METADATA, file_bytes, measured, model_file, split, tensor_file
from glassnet import _safetensors_file as files
from glassnet import nn
from glassnet.io import ModelFileError

SRC = Path(gn.__file__).resolve().parent.parent


@pytest.fixture
def path(tmp_path):
    return tmp_path / "model.safetensors"


def finishes(function, *args, seconds=5.0):
    """(finished in time, the result or the exception raised) of ``function(*args)`` in a thread."""
    outcome = {}

    def run():
        try:
            outcome["result"] = function(*args)
        except BaseException as error:  # noqa: BLE001 (what is raised is what the test checks)
            outcome["result"] = error

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return not thread.is_alive(), outcome.get("result")


# ---- loading what is not a regular file ---------------------------------------------------------
@pytest.mark.parametrize("loader", ["load", "load_weights"])
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path, loader):
    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)
    call = (lambda: gn.load(fifo)) if loader == "load" else (lambda: gn.load_weights(nn.Linear(2, 2), fifo))
    done, result = finishes(call)
    if not done:  # the old code blocks in open() until a writer comes: be that writer, so it ends
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert done, "loading a FIFO waited for a writer"
    assert isinstance(result, ModelFileError) and "not a regular file" in str(result) and "FIFO" in str(result)


def test_a_device_is_refused_before_a_byte_is_read():
    """/dev/zero never ends: the old code read it until memory ran out (run in a child process
    with a memory limit, so that a regression fails the test instead of the machine)."""
    code = ("import resource, glassnet as gn\n"
            "resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, 3 * 2**30))\n"
            "try:\n    gn.load('/dev/zero')\n"
            "except Exception as error:\n    print(type(error).__name__, error)\n")
    env = {**os.environ, "PYTHONPATH": str(SRC)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert done.stdout.startswith("ModelFileError"), done.stdout + done.stderr
    assert "'/dev/zero'" in done.stdout and "not a regular file (a character device)" in done.stdout


def test_a_symlink_loop_is_named_as_one(tmp_path):
    first, second = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    first.symlink_to(second)
    second.symlink_to(first)
    for call in (lambda: gn.load(first), lambda: gn.load_weights(nn.Linear(2, 2), first)):
        with pytest.raises(OSError) as info:
            call()
        assert not isinstance(info.value, FileNotFoundError)  # was "no such file"
        assert "a.safetensors" in str(info.value) and "symbolic links" in str(info.value)


def test_a_file_rewritten_while_it_is_loaded_loads_whole_or_is_refused(path):
    """A writer rewrites the file in place, a few bytes at a time, while it is loaded again and
    again: each load gives one of the two models or a ModelFileError, nothing in between."""
    small, large = nn.Linear(2, 3, rng=0), nn.Linear(40, 30, rng=1)
    contents = []
    for model in (small, large):
        gn.save(model, path)
        contents.append(path.read_bytes())
    stop = threading.Event()

    def rewrite():
        while not stop.is_set():
            for content in contents:
                with open(path, "wb") as file:
                    for start in range(0, len(content), 997):
                        file.write(content[start:start + 997])
                        file.flush()

    writer = threading.Thread(target=rewrite, daemon=True)
    writer.start()
    outcomes = set()
    try:
        for _ in range(300):
            try:
                loaded = gn.load(path)
            except ModelFileError:
                outcomes.add("refused")
                continue
            expected = small if loaded.in_features == 2 else large
            assert all(np.array_equal(a, b) for a, b in zip(loaded.state_dict().values(),
                                                            expected.state_dict().values()))
            outcomes.add(loaded.in_features)
    finally:
        stop.set()
        writer.join()
    assert outcomes <= {2, 40, "refused"} and outcomes  # (which ones: as the threads happen to run)
    assert gn.load(path).in_features == 40  # the writer's last complete file


# ---- a header that says two things --------------------------------------------------------------
def duplicated(content: bytes, key: str, entry) -> bytes:
    """``content`` with a second header entry ``key`` written before the first (JSON parsers
    differ on which one wins: Python's and safetensors' keep the last)."""
    header, data = split(content)
    text = json.dumps(header).replace(f'"{key}": ', f'"{key}": {json.dumps(entry)}, "{key}": ', 1)
    return _with_header(text, data)


def _with_header(text: str, data: bytes) -> bytes:
    raw = text.encode()
    raw += b" " * (-len(raw) % 8)
    return len(raw).to_bytes(8, "little") + raw + data


def test_a_tensor_named_twice_in_the_header_is_refused(path):
    gn.save(nn.Linear(2, 3, rng=0), path)
    path.write_bytes(duplicated(path.read_bytes(), "weight",
                                {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]}))
    for call in (lambda: gn.load(path), lambda: gn.load_weights(nn.Linear(2, 3), path)):
        with pytest.raises(ModelFileError, match="its header names 'weight' twice"):
            call()  # was loaded: another reader may take the other entry


def test_a_metadata_entry_named_twice_is_refused(path):
    gn.save(nn.Linear(2, 3, rng=0), path)
    path.write_bytes(duplicated(path.read_bytes(), "architecture", json.dumps({"class": "ReLU"})))
    with pytest.raises(ModelFileError, match="its header names 'architecture' twice"):
        gn.load(path)


def test_a_config_entry_named_twice_is_refused(path):
    architecture = '{"class": "Linear", "config": {"in_features": 9, "in_features": 2, "out_features": 3}}'
    path.write_bytes(model_file(architecture, dict(nn.Linear(2, 3, rng=0).state_dict())))
    with pytest.raises(ModelFileError, match="names 'in_features' twice"):
        gn.load(path)


# ---- dtypes: BF16 as PyTorch converts it, F16 as it is ------------------------------------------
def test_bf16_reads_as_pytorch_converts_it_for_every_bit_pattern(path):
    bits = np.arange(2 ** 16, dtype="<u2")  # every bfloat16: zeros, subnormals, infinities, NaNs
    path.write_bytes(tensor_file({"w": ("BF16", [2 ** 16], bits.tobytes())}))
    _, tensors = files.read(str(path))
    oracle = torch.from_numpy(bits.view(np.int16).copy()).view(torch.bfloat16).to(torch.float32).numpy()
    assert tensors["w"].dtype == np.float32
    np.testing.assert_array_equal(tensors["w"].view(np.uint32), oracle.view(np.uint32))  # bit for bit


def test_f16_reads_as_it_is_and_is_refused_for_float32_weights(path):
    halves = np.arange(2 ** 16, dtype="<u2").view(np.float16)
    path.write_bytes(tensor_file({"w": halves}))
    _, tensors = files.read(str(path))
    assert tensors["w"].dtype == np.float16
    np.testing.assert_array_equal(tensors["w"].view(np.uint16), halves.view(np.uint16))
    path.write_bytes(tensor_file(
        {"weight": np.ones((2, 3), np.float16), "bias": np.ones(3, np.float16)},
        {**MODEL_METADATA, "architecture": json.dumps({"class": "Linear", "config": nn.Linear(2, 3).get_config()})}))
    with pytest.raises(ModelFileError, match="'weight' has dtype float16 in the file"):
        gn.load(path)


# ---- saving onto what is not a regular file ------------------------------------------------------
def test_saving_onto_a_fifo_is_refused_and_leaves_it(tmp_path):
    fifo = tmp_path / "model.safetensors"
    os.mkfifo(fifo)
    for save in (gn.save, gn.save_weights):
        with pytest.raises(ValueError, match="it is a FIFO, not a regular file"):
            save(nn.Linear(2, 2), fifo)  # was replaced by a regular file (as root, /dev/null too)
        assert stat.S_ISFIFO(os.lstat(fifo).st_mode) and os.listdir(tmp_path) == ["model.safetensors"]


@pytest.mark.parametrize("bad, error, words", [
    ("", ValueError, "the path is empty"),
    ("model.safetensors/", IsADirectoryError, "ends with a path separator"),
    ("mo\0del.safetensors", ValueError, "NUL character"),
])
def test_paths_no_ordinary_write_accepts_are_refused(tmp_path, monkeypatch, bad, error, words):
    monkeypatch.chdir(tmp_path)
    for save in (gn.save, gn.save_weights):
        with pytest.raises(error, match=words):
            save(nn.Linear(2, 2), bad)  # "" wrote a temporary file into the parent folder of the
    assert os.listdir(tmp_path) == [] and os.listdir(tmp_path.parent).count("model.safetensors") == 0


def test_a_file_inside_a_file_is_named(path):
    gn.save(nn.Linear(2, 2), path)
    with pytest.raises(NotADirectoryError, match="is not a directory"):
        gn.save(nn.Linear(2, 2), path / "inner.safetensors")


def test_a_dangling_symlink_into_a_missing_folder_names_the_folder(tmp_path):
    link = tmp_path / "link.safetensors"
    link.symlink_to(tmp_path / "missing" / "model.safetensors")
    with pytest.raises(FileNotFoundError, match="it is a symlink to .*missing.*, whose folder does not exist"):
        gn.save(nn.Linear(2, 2), link)  # was the temporary file's name
    assert os.listdir(tmp_path) == ["link.safetensors"]


def test_saving_over_a_file_keeps_its_owner_and_group(path):
    """The owner and group of the file saved over are kept as far as the user may give them: any
    for root (the file was left root:root, the group lost it), a group the user is in otherwise."""
    gn.save(nn.Linear(2, 2), path)
    owner, group = (4321, 1234) if os.geteuid() == 0 else (os.geteuid(), max(os.getgroups() or [os.getegid()]))
    os.chown(path, owner, group)
    os.chmod(path, 0o640)
    gn.save(nn.Linear(3, 2), path)
    info = os.stat(path)
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (owner, group, 0o640)
    assert gn.load(path).in_features == 3
    os.chmod(path, 0o660)
    gn.save_weights(nn.Linear(3, 2), path)
    assert os.stat(path).st_gid == group and stat.S_IMODE(os.stat(path).st_mode) == 0o660


def test_saving_into_a_folder_that_takes_no_file_keeps_the_old_file(path, monkeypatch):
    gn.save(nn.Linear(2, 2), path)
    good = path.read_bytes()
    real_open = os.open

    def read_only(name, flags, *args):  # a read-only folder, even for root
        if flags & os.O_CREAT:
            raise PermissionError(13, "Permission denied", name)
        return real_open(name, flags, *args)

    monkeypatch.setattr(os, "open", read_only)
    with pytest.raises(PermissionError):
        gn.save(nn.Linear(3, 2), path)
    monkeypatch.undo()
    assert path.read_bytes() == good and os.listdir(path.parent) == ["model.safetensors"]


@pytest.mark.parametrize("character", ["é", "😀", "あ"])
def test_a_name_of_255_bytes_of_multibyte_characters_is_saved(tmp_path, character):
    width = len(character.encode())
    name = character * (255 // width) + "m" * (255 % width)
    assert len(name.encode()) == 255
    gn.save(nn.Linear(2, 2, rng=0), tmp_path / name)
    gn.save(nn.Linear(3, 2, rng=0), tmp_path / name)
    assert gn.load(tmp_path / name).in_features == 3 and os.listdir(tmp_path) == [name]


# ---- what loading costs -------------------------------------------------------------------------
@pytest.mark.parametrize("layers", [1, 20])
def test_loading_a_large_model_costs_a_few_times_its_size(path, layers):
    model = nn.Sequential(*[nn.Linear(300, 300, rng=i, dtype="float64") for i in range(layers)])
    gn.save(model, path)
    loaded, _, peak = measured(gn.load, path)
    assert isinstance(loaded, nn.Sequential) and peak < 3 * os.path.getsize(path) + 2 ** 20, peak


@pytest.mark.parametrize("item", ["{}", "[]", '{"name": "x"}'])
def test_an_architecture_of_many_small_objects_is_refused_before_it_is_parsed(path, item):
    """Python's JSON objects cost 20 to 45 times their text: 600 kB of "{}" took 27 MB."""
    content = model_file('{"class": "Sequential", "children": [' + ", ".join([item] * 200_000) + "]}")
    path.write_bytes(content)
    error, seconds, peak = measured(gn.load, path)
    assert isinstance(error, ModelFileError) and "more than 160000 JSON objects and arrays" in str(error)
    assert peak < 3 * len(content) + 2 ** 20, peak


def test_a_header_of_many_small_tensors_costs_a_bounded_multiple_of_its_size(path):
    """A header of 20,000 empty tensors: Python's objects for it cost about 10 times its text;
    the header's dicts go before the parser makes its own, and each view once decoded (the three
    used to add up to 30 times the file)."""
    header = {"__metadata__": {**MODEL_METADATA, "architecture": '{"class": "ReLU"}'}}
    header.update({f"t{i}": {"dtype": "F32", "shape": [0], "data_offsets": [0, 0]} for i in range(20_000)})
    content = file_bytes(header)
    path.write_bytes(content)
    error, _, peak = measured(gn.load, path)
    assert isinstance(error, ModelFileError) and "that the architecture does not have" in str(error)
    assert peak < 16 * len(content), (peak, len(content))
