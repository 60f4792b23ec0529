"""Crafted BackupAndRestore files: generator states that numpy would refuse with OverflowError or
take silently (a float, an even increment), optimizer states of the wrong dtype, callbacks'
states that break the run an epoch later, an entry named twice, a FIFO in the backup's place.
Each is a ValueError naming the backup, raised before anything changes (weights, optimizer,
generators), and the backup is left as it was."""

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from test_train_backup import Interrupt, problem, setup, snapshot

import glassnet as gn
from glassnet import _safetensors_file as files


def callbacks(folder: Path, interrupt=None) -> list:
    return [gn.EarlyStopping(monitor="loss", patience=3), gn.TerminateOnNaN(stream=io.StringIO()),
            gn.LearningRateSchedule("step", step_size=2, gamma=0.5),
            gn.ModelCheckpoint(str(folder / "best.safetensors"), monitor="loss"), Interrupt(interrupt),
            gn.BackupAndRestore(folder / "backup")]


def train(model, optimizer, folder: Path, interrupt=None):
    X, y = problem()
    return gn.fit(model, X, y, loss="cross_entropy", optimizer=optimizer, epochs=6, batch_size=16,
                  callbacks=callbacks(folder, interrupt), seed=0, verbose=0)


@pytest.fixture(scope="module")
def backup_bytes(tmp_path_factory):
    """The bytes of a backup written at the end of epoch 3 (of 6) by a run with every callback."""
    folder = tmp_path_factory.mktemp("interrupted")
    model, optimizer = setup()
    with pytest.raises(KeyboardInterrupt):
        train(model, optimizer, folder, interrupt=3)
    return (folder / "backup" / "backup.safetensors").read_bytes()


def entry(node: dict, key):
    """The value under ``key`` of an encoded dict ({"dict": [[key, value], ...]})."""
    return next(value for name, value in node["dict"] if name == key)


def put(node: dict, key, value) -> None:
    for pair in node["dict"]:
        if pair[0] == key:
            pair[1] = value
            return
    node["dict"].append([key, value])


def generator(index, key, value, inner=False):
    def edit(state, tensors):
        target = entry(state, "generators")[index]
        put(entry(target, "state") if inner else target, key, value)
    return edit


def start(key, value, inner=False):
    def edit(state, tensors):
        target = entry(state, "start")
        put(entry(target, "state") if inner else target, key, value)
    return edit


def callback(name, key, value):
    def edit(state, tensors):
        put(next(s for n, s in entry(state, "callbacks") if n == name), key, value)
    return edit


def optimizer_state(edit_entries):
    def edit(state, tensors):
        edit_entries(entry(entry(entry(state, "optimizer"), "state"), 0), tensors)
    return edit


def array_of(entries, key, tensors, change):
    name = entry(entries, key)["array"]
    tensors[name] = change(tensors[name])


HOSTILE = {
    # generator states: OverflowError escaped, or numpy took them and drew another stream
    "a negative generator state": generator(0, "state", -1, inner=True),
    "a generator state of 2**200": generator(0, "state", 2 ** 200, inner=True),
    "a float generator state": generator(0, "state", 1.5, inner=True),
    "a bool generator state": generator(1, "state", True, inner=True),
    "an even increment": generator(1, "inc", 2, inner=True),
    "has_uint32 of 5": generator(0, "has_uint32", 5),
    "a negative uinteger": generator(0, "uinteger", -1),
    "an extra generator entry": generator(0, "evil", 1),
    "an MT19937 state": generator(0, "bit_generator", "MT19937"),
    "a negative start state": start("state", -1, inner=True),
    "a float start state": start("state", 0.5, inner=True),
    # the optimizer's state
    "a float64 moment": optimizer_state(lambda e, t: array_of(e, "exp_avg", t, lambda a: a.astype(np.float64))),
    "an int8 moment": optimizer_state(lambda e, t: array_of(e, "exp_avg", t, lambda a: a.astype(np.int8))),
    "a negative second moment": optimizer_state(lambda e, t: array_of(e, "exp_avg_sq", t, lambda a: -1 - a)),
    "a negative step": optimizer_state(lambda e, t: put(e, "step", -5)),
    "a missing moment": optimizer_state(lambda e, t: e["dict"].pop(1)),
    # the callbacks' states
    "a history that is no list": callback("History", "history", {"dict": [["loss", 5]]}),
    "history epochs that are text": callback("History", "epoch", ["a"]),
    "a negative patience count": callback("EarlyStopping", "wait", -100),
    "a NaN best value": callback("EarlyStopping", "best", {"float": "nan"}),
    "a negative best epoch": callback("EarlyStopping", "best_epoch", -1),
    "a schedule's negative lr": callback("LearningRateSchedule", "initial_lr", [-0.5]),
    "a schedule's NaN lr": callback("LearningRateSchedule", "initial_lr", [{"float": "nan"}]),
    "a schedule's lr that is not a list": callback("LearningRateSchedule", "initial_lr", 0.5),
    "a schedule's lr list that is too long": callback("LearningRateSchedule", "initial_lr", [0.5, 0.5]),
    "checkpoint paths that are numbers": callback("ModelCheckpoint", "saved", [1, 2]),
    "a NaN checkpoint best": callback("ModelCheckpoint", "best", {"float": "nan"}),
    "last good weights that are text": callback("TerminateOnNaN", "_good", {"tuple": ["x", None]}),
    "last good weights of another shape": callback("TerminateOnNaN", "_good", {"tuple": [
        {"dict": [["0.weight", 1.0]]}, None]}),
    "a last good optimizer state that does not load": lambda state, tensors: entry(next(
        s for n, s in entry(state, "callbacks") if n == "TerminateOnNaN"), "_good")["tuple"].__setitem__(
        1, {"dict": [["type", "SGD"]]}),
    "a negative TerminateOnNaN epoch": callback("TerminateOnNaN", "_epoch", -1),
    # the structure
    "an entry named twice": lambda state, tensors: state["dict"].append(["epoch", 0]),
}


def rewritten(path: Path, edit) -> None:
    metadata, tensors = files.read(str(path))
    state = json.loads(metadata["state"])
    edit(state, tensors)
    metadata["state"] = json.dumps(state)
    files.write_atomically(str(path), tensors, metadata)


def assert_refused(folder: Path, words="cannot resume from the backup"):
    path = folder / "backup" / "backup.safetensors"
    kept = path.read_bytes()
    model, optimizer = setup()
    before = snapshot(model, optimizer)
    with pytest.raises(ValueError, match=words) as info:
        train(model, optimizer, folder)
    weights, _, default_generator = before
    assert all(np.array_equal(model.state_dict()[k], v) for k, v in weights.items())
    assert optimizer.state_dict()["state"] == {}
    assert gn.random.get_rng(None).bit_generator.state == default_generator
    assert path.read_bytes() == kept and len(str(info.value)) < 800
    return str(info.value)


def test_the_untouched_backup_resumes(tmp_path, backup_bytes):
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "backup.safetensors").write_bytes(backup_bytes)
    model, optimizer = setup()
    train(model, optimizer, tmp_path)
    assert not (tmp_path / "backup").exists()


@pytest.mark.parametrize("damage", sorted(HOSTILE))
def test_a_crafted_backup_is_refused_before_anything_changes(tmp_path, backup_bytes, damage):
    (tmp_path / "backup").mkdir()
    path = tmp_path / "backup" / "backup.safetensors"
    path.write_bytes(backup_bytes)
    rewritten(path, HOSTILE[damage])
    assert_refused(tmp_path)


def test_a_json_key_named_twice_in_the_state_is_refused(tmp_path, backup_bytes):
    (tmp_path / "backup").mkdir()
    path = tmp_path / "backup" / "backup.safetensors"
    path.write_bytes(backup_bytes)
    metadata, tensors = files.read(str(path))
    metadata["state"] = metadata["state"].replace('{"dict":', '{"dict": [], "dict":', 1)
    files.write_atomically(str(path), tensors, metadata)
    assert "twice" in assert_refused(tmp_path)


def test_a_fifo_in_place_of_the_backup_is_refused_before_training(tmp_path):
    (tmp_path / "backup").mkdir()
    os.mkfifo(tmp_path / "backup" / "backup.safetensors")
    model, optimizer = setup()
    before = snapshot(model, optimizer)
    with pytest.raises(ValueError, match="not a regular file"):
        train(model, optimizer, tmp_path)  # was: trained an epoch, then failed to write the backup
    assert all(np.array_equal(model.state_dict()[k], v) for k, v in before[0].items())
