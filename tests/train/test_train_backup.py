"""BackupAndRestore: a fit killed by SIGKILL and started again ends with the weights (bit for bit)
and the history of a run that was never interrupted; a damaged or foreign backup is refused
before anything changes."""

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet import _safetensors_file as files
from glassnet import nn, optim

CHILD = Path(__file__).with_name("backup_child.py")
SRC = Path(gn.__file__).resolve().parent.parent
EPOCHS = 14  # the child's EarlyStopping (patience 4) stops the seeded run after epoch 7 (of 0 to 13)


def run_child(folder: Path, **spec):
    """Run backup_child.py in its own process; (return code, run.json or None, weight bytes or None)."""
    folder.mkdir(exist_ok=True)
    spec = {"out": str(folder), "seed": 7, "save_freq": "epoch", "epochs": EPOCHS, "kill": None, **spec}
    (folder / "spec.json").write_text(json.dumps(spec))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, str(CHILD), str(folder / "spec.json")], env=env, capture_output=True,
                          text=True, timeout=300)
    if done.returncode not in (0, -signal.SIGKILL):
        raise AssertionError(done.stderr)
    weights = folder / "weights.bin"
    run = json.loads((folder / "run.json").read_text()) if done.returncode == 0 else None
    return done.returncode, run, weights.read_bytes() if weights.exists() else None


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    """The reference runs, by (seed, save_freq): never killed."""
    cache = {}

    def get(seed, save_freq):
        if (seed, save_freq) not in cache:
            folder = tmp_path_factory.mktemp("uninterrupted")
            code, run, weights = run_child(folder, seed=seed, save_freq=save_freq)
            assert code == 0 and not (folder / "backup" / "backup.safetensors").exists()
            cache[seed, save_freq] = run, weights
        return cache[seed, save_freq]
    return get


@pytest.mark.parametrize("seed, save_freq, kill, resumed_batches", [
    (7, "epoch", ["batch", 4, 2], 20),        # mid-epoch: back to the end of epoch 3, 4 epochs of 5 batches left
    (7, "epoch", ["epoch", 6], 10),           # at an epoch boundary: epoch 5's backup is the newest
    (None, 3, ["batch", 4, 2], 29),           # save_freq=3: back to batch 21 (of 50), epoch 4 batch 0: 2 lost
    (7, "epoch", ["replace", 4], 25),         # inside the write of the 4th backup: the 3rd one is used
    (7, "epoch", ["train_end"], 0),           # stopped by EarlyStopping, the backup not yet deleted
])
def test_a_killed_fit_resumes_to_bit_identical_weights_and_history(tmp_path, uninterrupted, seed, save_freq, kill,
                                                                  resumed_batches):
    reference, reference_weights = uninterrupted(seed, save_freq)
    code, _, _ = run_child(tmp_path, seed=seed, save_freq=save_freq, kill=kill)
    assert code == -signal.SIGKILL
    backup = tmp_path / "backup" / "backup.safetensors"
    assert backup.exists()
    code, resumed, weights = run_child(tmp_path, seed=seed, save_freq=save_freq)
    assert code == 0
    assert weights == reference_weights                     # the final weights, byte for byte
    assert resumed["history"] == reference["history"] and resumed["epoch"] == reference["epoch"]
    assert resumed["batches"] < reference["batches"]        # it resumed: it did not start over
    if resumed_batches is not None:
        assert resumed["batches"] == resumed_batches
    assert not backup.exists() and not (tmp_path / "backup").exists()  # deleted, temporary files too


def test_the_reference_run_exercises_dropout_the_schedule_and_early_stopping(uninterrupted):
    run, _ = uninterrupted(7, "epoch")
    assert len(run["epoch"]) == 8 < EPOCHS                   # EarlyStopping stopped it
    assert run["history"]["lr"][:2] == [0.02, 0.02 * 0.8]    # the schedule ran
    assert run["batches"] == 40                               # 68 training rows, batches of 16


# ---- in one process ------------------------------------------------------------------------------------
def problem(n=80, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    return X, ((X[:, 0] + rng.normal(size=n)) > 0).astype(np.int64)


def setup(hidden=8):
    model = nn.Sequential(nn.Linear(4, hidden, rng=0), nn.ReLU(), nn.Dropout(0.2, rng=1), nn.Linear(hidden, 2, rng=2))
    return model, optim.Adam(model.parameters(), lr=0.01)


class Interrupt(gn.Callback):
    """Raises at the end of epoch ``at`` (after the backup of the epoch before it)."""

    def __init__(self, at=None) -> None:
        self.at = at

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == self.at:
            raise KeyboardInterrupt


def train(model, optimizer, folder, epochs=6, X=None, interrupt=None, **options):
    X, y = problem() if X is None else (X, problem()[1])
    callbacks = [gn.EarlyStopping(monitor="loss", patience=3), Interrupt(interrupt),
                 gn.BackupAndRestore(folder, **options.pop("backup", {}))]
    return gn.fit(model, X, y, loss="cross_entropy", optimizer=optimizer, epochs=epochs, batch_size=16,
                  callbacks=callbacks, seed=options.pop("seed", 0), verbose=0, **options)


def interrupted(folder, **options):
    model, optimizer = setup()
    with pytest.raises(KeyboardInterrupt):
        train(model, optimizer, folder, interrupt=3, **options)
    return Path(folder) / "backup.safetensors"


def test_restarting_from_the_weights_alone_does_not_give_the_same_run(tmp_path):
    """Why the backup holds more than weights: the optimizer's moments and the generators'
    states. Restarting from saved weights (a fresh Adam, the seed again) ends elsewhere."""
    model, optimizer = setup()
    train(model, optimizer, tmp_path / "a")
    path = interrupted(tmp_path / "b")
    restarted, restarted_optimizer = setup()
    _, tensors = files.read(str(path))
    restarted.load_state_dict({k[len("model."):]: v for k, v in tensors.items() if k.startswith("model.")})
    path.unlink()
    gn.fit(restarted, *problem(), loss="cross_entropy", optimizer=restarted_optimizer, epochs=3, batch_size=16,
           seed=0, verbose=0)
    assert not np.array_equal(restarted[0].weight.data, model[0].weight.data)
    resumed, resumed_optimizer = setup()
    train(resumed, resumed_optimizer, tmp_path / "b")
    assert np.array_equal(resumed[0].weight.data, model[0].weight.data)


def snapshot(model, optimizer):
    return ({k: v.copy() for k, v in model.state_dict().items()}, optimizer.state_dict(),
            gn.random.get_rng(None).bit_generator.state)


def assert_unchanged(before, model, optimizer):
    weights, optimizer_state, generator = before
    assert all(np.array_equal(model.state_dict()[k], v) for k, v in weights.items())
    assert optimizer.state_dict()["state"] == {} and optimizer_state["state"] == {}
    assert gn.random.get_rng(None).bit_generator.state == generator


def rewrite(path, change):
    metadata, tensors = files.read(str(path))
    change(metadata, tensors)
    files.write_atomically(str(path), tensors, metadata)


def state_change(edit):
    def change(metadata, tensors):
        state = json.loads(metadata["state"])
        edit(state)
        metadata["state"] = json.dumps(state)
    return change


def nested(depth):
    """A state whose epoch is a list ``depth`` deep (as text: json.dumps itself would recurse)."""
    def change(metadata, tensors):
        metadata["state"] = '{"dict": [["epoch", ' + "[" * depth + "0" + "]" * depth + "]]}"
    return change


HOSTILE = {
    "truncated": lambda path: path.write_bytes(path.read_bytes()[:200]),
    "not safetensors": lambda path: path.write_bytes(b"\x00" * 64),
    "a model file": lambda path: gn.save(setup()[0], str(path)),
    "another format version": lambda path: rewrite(path, lambda m, t: m.update(format_version="9")),
    "garbled state": lambda path: rewrite(path, lambda m, t: m.update(state="{not json")),
    "a negative epoch": lambda path: rewrite(path, state_change(lambda s: s["dict"][0].__setitem__(1, -1))),
    "an epoch beyond the run": lambda path: rewrite(path, state_change(lambda s: s["dict"][0].__setitem__(1, 10**9))),
    "an unknown tag": lambda path: rewrite(path, state_change(lambda s: s["dict"][2].__setitem__(1, {"code": "x"}))),
    "nested 150 deep": lambda path: rewrite(path, nested(150)),
    "nested 100000 deep": lambda path: rewrite(path, nested(100_000)),
    "a missing array": lambda path: rewrite(path, lambda m, t: t.pop(min(k for k in t if k.startswith("state.")))),
    "an extra tensor": lambda path: rewrite(path, lambda m, t: t.update(evil=np.zeros(3, np.float32))),
    "weights of another shape": lambda path: rewrite(
        path, lambda m, t: t.update({"model.0.bias": np.zeros(3, np.float32)})),
    "a bad generator state": lambda path: rewrite(path, state_change(
        lambda s: s["dict"][5][1][0]["dict"][1].__setitem__(1, "x"))),
    "a wrong callback state": lambda path: rewrite(path, state_change(
        lambda s: s["dict"][4][1][1][1]["dict"].append(["wait", "three"]))),
}


@pytest.mark.parametrize("damage", sorted(HOSTILE))
def test_a_damaged_backup_is_refused_before_anything_changes(tmp_path, damage):
    path = interrupted(tmp_path)
    HOSTILE[damage](path)
    kept = path.read_bytes()
    model, optimizer = setup()
    before = snapshot(model, optimizer)
    with pytest.raises(ValueError, match="cannot resume from the backup") as error:
        train(model, optimizer, tmp_path)
    assert len(str(error.value)) < 600
    assert_unchanged(before, model, optimizer)
    assert path.read_bytes() == kept   # the backup is left for the user to look at


@pytest.mark.parametrize("change, words", [
    (lambda: dict(epochs=7), "epochs is 6 there and 7 here"),
    (lambda: dict(X=problem(seed=1)[0]), "its training data differ"),
    (lambda: dict(shuffle=False), "shuffle is True there and False here"),
    (lambda: dict(seed=1), "seed is 0 there and 1 here"),
    (lambda: dict(hidden=9), "its layers"[:3]),
    (lambda: dict(lr=0.5), "optimizer is"),
])
def test_a_backup_of_another_run_is_refused_saying_what_differs(tmp_path, change, words):
    path = interrupted(tmp_path)
    options = change()
    model, optimizer = setup(options.pop("hidden", 8))
    if "lr" in options:
        optimizer = optim.Adam(model.parameters(), lr=options.pop("lr"))
    before = snapshot(model, optimizer)
    with pytest.raises(ValueError, match="written by a different run") as error:
        train(model, optimizer, tmp_path, **options)
    assert words in str(error.value)
    assert_unchanged(before, model, optimizer)
    assert path.exists()


def test_another_model_is_named_in_the_error(tmp_path):
    interrupted(tmp_path)
    model, optimizer = setup(hidden=9)
    with pytest.raises(ValueError, match="its layers differ|its weights differ"):
        train(model, optimizer, tmp_path)


def test_delete_checkpoint_false_keeps_the_backup_and_a_rerun_has_nothing_left_to_do(tmp_path):
    model, optimizer = setup()
    first = train(model, optimizer, tmp_path, backup={"delete_checkpoint": False})
    assert (tmp_path / "backup.safetensors").exists()
    again, again_optimizer = setup()
    second = train(again, again_optimizer, tmp_path, backup={"delete_checkpoint": False})
    assert second.history == first.history
    assert all(np.array_equal(a, b) for a, b in zip(again.state_dict().values(), model.state_dict().values()))


def test_the_backup_holds_every_state_and_no_pickle(tmp_path):
    path = interrupted(tmp_path, backup={"save_freq": 2})
    metadata, tensors = files.read(str(path))
    assert metadata["format"] == "glassnet.backup"
    state = json.loads(metadata["state"])
    assert [key for key, _ in state["dict"]] == ["epoch", "batch", "stop", "optimizer", "callbacks",
                                                 "generators", "epoch_start", "start"]
    assert {k for k in tensors if k.startswith("model.")} == {"model.0.weight", "model.0.bias", "model.3.weight",
                                                             "model.3.bias"}
    assert b"pickle" not in path.read_bytes() and all(t.dtype != object for t in tensors.values())


def test_callbacks_state_dicts_round_trip():
    stopper = gn.EarlyStopping(patience=4)
    stopper.on_train_begin()
    stopper.wait, stopper.best = 2, 0.25
    copy = gn.EarlyStopping(patience=4)
    copy.load_state_dict(stopper.state_dict())
    assert (copy.wait, copy.best, copy.best_epoch) == (2, 0.25, None)
    schedule = gn.LearningRateSchedule("step")
    schedule.initial_lr = [0.3, 0.01]  # one per parameter group
    assert schedule.state_dict() == {"initial_lr": [0.3, 0.01]}
    with pytest.raises(ValueError, match="'wait'"):
        copy.load_state_dict({"wait": "two"})
    with pytest.raises(ValueError, match="'nope'"):
        copy.load_state_dict({"nope": 1})
    assert copy.wait == 2


@pytest.mark.parametrize("arguments, error, words", [
    (dict(backup_dir=3), TypeError, "backup_dir"),
    (dict(backup_dir="b", save_freq="batch"), ValueError, "save_freq"),
    (dict(backup_dir="b", save_freq=0), ValueError, "save_freq"),
    (dict(backup_dir="b", save_freq=True), TypeError, "save_freq"),
    (dict(backup_dir="b", delete_checkpoint="yes"), TypeError, "delete_checkpoint"),
])
def test_bad_arguments_are_named(arguments, error, words):
    with pytest.raises(error, match=words):
        gn.BackupAndRestore(**arguments)


def test_a_file_as_backup_dir_and_two_backups_fail_before_any_step(tmp_path):
    (tmp_path / "file").write_text("x")
    model, optimizer = setup()
    before = snapshot(model, optimizer)
    with pytest.raises(ValueError, match="is a file, not a folder"):
        train(model, optimizer, tmp_path / "file")
    with pytest.raises(ValueError, match="is not a folder it may write to"):
        train(model, optimizer, tmp_path / "file" / "backup")
    with pytest.raises(ValueError, match="2 BackupAndRestore"):
        gn.fit(model, *problem(), loss="cross_entropy", optimizer=optimizer, verbose=0,
               callbacks=[gn.BackupAndRestore(tmp_path / "a"), gn.BackupAndRestore(tmp_path / "b")])
    assert_unchanged(before, model, optimizer)


# ---- the command line ------------------------------------------------------------------------------------
CLI_TRAIN = ["train", "--data", "moons", "--epochs", "80", "--hidden", "16,16", "--dropout", "0.2", "--quiet"]


def cli(*args, **options):
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")])}
    return subprocess.Popen([sys.executable, "-m", "glassnet", *args], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **options)


def model_file(path):
    metadata, tensors = files.read(str(path))
    return metadata, {name: (array.dtype, array.shape, array.tobytes()) for name, array in tensors.items()}


def test_glassnet_train_resume_continues_a_killed_run_to_the_same_model(tmp_path):
    reference = cli(*CLI_TRAIN, "--out", str(tmp_path / "reference"))
    killed = cli(*CLI_TRAIN, "--resume", "--out", str(tmp_path / "run"))
    backup = tmp_path / "run" / "backup" / "backup.safetensors"
    while not backup.exists() and killed.poll() is None:
        time.sleep(0.01)
    time.sleep(0.2)
    killed.send_signal(signal.SIGKILL)
    assert killed.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    assert backup.exists() and not (tmp_path / "run" / "model.safetensors").exists()
    # without --resume the backup is neither used nor overwritten: one line, exit 2, nothing done
    refused = cli(*CLI_TRAIN, "--out", str(tmp_path / "run"))
    _, error = refused.communicate(timeout=300)
    assert refused.returncode == 2 and "pass --resume to continue it" in error and len(error.splitlines()) == 1
    assert not (tmp_path / "run" / "model.safetensors").exists()
    resumed = cli(*CLI_TRAIN, "--resume", "--out", str(tmp_path / "run"))
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0 and reference.wait(timeout=300) == 0
    epoch = int(re.search(r"resumed the run backed up in .* at epoch (\d+)", output).group(1))
    assert 1 < epoch <= 80                                  # it continued: it did not start over
    final, uninterrupted = tmp_path / "run" / "model.safetensors", tmp_path / "reference" / "model.safetensors"
    assert model_file(final) == model_file(uninterrupted)  # the same metadata, the same bytes of every tensor
    assert not (tmp_path / "run" / "backup").exists()


def test_readme_resuming_example_runs(tmp_path, monkeypatch):
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    code = re.search(r"## Resuming training\n.*?```python\n(.*?)```", readme, re.S).group(1)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run").mkdir()
    model, optimizer = setup()
    X, y = problem(40)
    namespace = {"gn": gn, "losses": gn.losses, "model": model, "optimizer": optimizer, "X_train": X, "y_train": y}
    exec(compile(code, "README.md", "exec"), namespace)
    assert len(namespace["history"].epoch) > 1 and sorted(os.listdir(tmp_path / "run")) == []


def test_model_checkpoint_and_early_stopping_carry_on_after_a_resume(tmp_path):
    """Their best values, best epoch, patience counter and saved paths come back with the backup:
    the resumed run saves and stops exactly where the uninterrupted one did."""
    def run(folder, interrupt=None):
        model, optimizer = setup()
        checkpoint = gn.ModelCheckpoint(str(tmp_path / (folder + "-{epoch}.safetensors")), monitor="loss")
        stopper = gn.EarlyStopping(monitor="loss", patience=2)
        X, y = problem()
        gn.fit(model, X, y, loss="cross_entropy", optimizer=optimizer, epochs=8, batch_size=16, seed=0, verbose=0,
               callbacks=[checkpoint, stopper, Interrupt(interrupt), gn.BackupAndRestore(tmp_path / folder)])
        names = [Path(p).name for p in checkpoint.saved]
        return names, checkpoint.best, (stopper.best, stopper.best_epoch, stopper.wait)

    reference = run("a")
    with pytest.raises(KeyboardInterrupt):
        run("b", interrupt=4)
    saved, best, stopper = run("b")
    assert saved == [name.replace("a-", "b-") for name in reference[0]] and len(saved) > 4
    assert (best, stopper) == reference[1:]
