"""Training speed of image-shaped and recurrent workloads, glassnet vs PyTorch CPU, at 1 and 2 threads:
the table of issue 15 plus a digits CNN and a GRU.

    lenet        LeNet-5 on 1x28x28: Conv2d 6@5x5 pad 2, ReLU, MaxPool 2, Conv2d 16@5x5, ReLU,
                 MaxPool 2, Flatten, 400-120-84-10 (ReLU), batch 64, Adam
    lstm         LSTM(32 -> 64) over sequences of 50, last state -> Linear(64, 10), batch 64, Adam
    mnist1d_cnn  the MNIST-1D CNN of the paper (benchmarks/deep.py's "cnn": the model of
                 examples/mnist1d_table.py and its PyTorch twin), batch 100, Adam
    sgd1         stochastic gradient descent: MLP 784-1024-10 (ReLU), batch 1, SGD lr 0.001 momentum 0.9
    digits_cnn   examples/digits_cnn.py's model on 1x8x8 (Conv2d 16@3x3, Conv2d 32@3x3, MaxPool 2,
                 Dropout 0.25, Linear 512 -> 10), batch 32, Adam
    gru          GRU(32 -> 128) over sequences of 50, last state -> Linear(128, 10), batch 64, Adam

One step is forward, cross-entropy, zero_grad, backward, optimizer step, on random inputs whose
targets move from pass to pass (:func:`make_batches`: the speed does not depend on the values, as
long as no gradient is all zeros and no float subnormal). The two peers run side by side, each in
its own child process that pins its threads (glassnet: ``threadpoolctl.threadpool_limits``; PyTorch:
``torch.set_num_threads``; both also get OPENBLAS/OMP/MKL_NUM_THREADS), flushes subnormal floats to
zero (:func:`flush_subnormals`; not with ``--keep-subnormals``), builds its model, makes ``--warmup`` untimed steps and
then waits. The parent asks them in turn for ``--chunks`` chunks of steps each (the peer that goes
first alternates), so each glassnet chunk has a PyTorch chunk timed right next to it: on a shared
machine whose speed drifts within seconds, the ratio of two neighbouring chunks is far steadier
than the ratio of two runs made a minute apart. Before each chunk the parent waits ``SETTLE``
seconds: a peer's idle worker threads keep spinning for a while after its chunk (OpenBLAS's for
up to ~0.1 s), and at 2 threads they would take a core from the other peer's chunk. This is
done ``--repeats`` times with fresh processes (default 3). The table shows each peer's median
samples/s over all its chunks and the median of the paired ratios (glassnet / PyTorch, chunk by
chunk), with their quartiles.

Memory: every child reports its peak resident set (``resource.getrusage(...).ru_maxrss``) and its
growth during training (the peak minus the resident set just before the first step, after the
imports, the model and the data). The LeNet child trains one epoch of distinct batches (warmup +
chunks x chunk batches of 64: 4,416 images by default), so its two numbers are the issue's "peak
memory of a LeNet-5 training epoch". The peak includes the library itself (importing torch costs far more
than importing NumPy); the growth is the training's own memory.

    python benchmarks/vision_and_sequence.py [--repeats 3] [--chunks 8] [--models lenet,...] [--threads 1,2]
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"
PEERS = ("glassnet", "pytorch")
CLASSES = 10

# name: (model kind, its sizes, batch, optimizer, default timed steps (1-3 s per child before issue 15;
# a chunk is a fifth of them), target)
WORKLOADS = {
    "lenet": ("lenet", {}, 64, "adam", 40, 1.0),
    "lstm": ("rnn", {"cell": "lstm", "input_size": 32, "hidden_size": 64, "length": 50}, 64, "adam", 30, 1.0),
    "mnist1d_cnn": ("mnist1d_cnn", {}, 100, "adam", 100, 1.0),
    "sgd1": ("mlp", {"sizes": (784, 1024, 10)}, 1, "sgd", 300, 1.0),
    "digits_cnn": ("digits_cnn", {}, 32, "adam", 60, None),
    "gru": ("rnn", {"cell": "gru", "input_size": 32, "hidden_size": 128, "length": 50}, 64, "adam", 20, None),
}
TITLES = {
    "lenet": "LeNet-5 1x28x28", "lstm": "LSTM 32->64, T=50", "mnist1d_cnn": "MNIST-1D CNN",
    "sgd1": "SGD b=1 784-1024-10", "digits_cnn": "digits CNN 8x8", "gru": "GRU 32->128, T=50",
}
ADAM_LR, SGD_LR, MOMENTUM = 1e-3, 0.001, 0.9
SETTLE = 0.3  # seconds between chunks (see the docstring)


# ---- models: one builder per kind and peer (the scaling benchmark builds its grids from these) ---
def sample_shape(kind: str, **sizes) -> tuple:
    """The shape of one input sample of a model kind."""
    if kind == "mlp":
        return (sizes["sizes"][0],)
    if kind == "rnn":
        return (sizes["length"], sizes["input_size"])
    if kind == "conv_stack":
        return (1, sizes["image"], sizes["image"])
    return {"lenet": (1, 28, 28), "digits_cnn": (1, 8, 8), "mnist1d_cnn": (40,)}[kind]


def glassnet_model(kind: str, **sizes):
    """The glassnet model of a kind (float32, seeded)."""
    from glassnet import nn

    rng = np.random.default_rng(0)
    if kind == "mlp":
        layers: list = []
        widths = sizes["sizes"]
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(fan_in, fan_out, rng=rng), nn.ReLU()]
        return nn.Sequential(*layers[:-1])
    if kind == "lenet":
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5, rng=rng), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120, rng=rng), nn.ReLU(), nn.Linear(120, 84, rng=rng), nn.ReLU(),
            nn.Linear(84, CLASSES, rng=rng))
    if kind == "conv_stack":
        return nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1, rng=rng), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1, rng=rng), nn.ReLU(), nn.GlobalAvgPool2d(),
            nn.Linear(16, CLASSES, rng=rng))
    if kind == "rnn":
        cell = {"lstm": nn.LSTM, "gru": nn.GRU}[sizes["cell"]]

        class LastState(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.rnn = cell(sizes["input_size"], sizes["hidden_size"], batch_first=True, rng=rng)
                self.linear = nn.Linear(sizes["hidden_size"], CLASSES, rng=rng)

            def forward(self, x):
                output, _ = self.rnn(x)
                return self.linear(output[:, -1])

        return LastState()
    sys.path.insert(0, str(EXAMPLES))
    if kind == "digits_cnn":
        import digits_cnn

        return digits_cnn.build_model(seed=0)
    if kind == "mnist1d_cnn":
        import mnist1d_table

        return mnist1d_table.build_model("cnn", seed=0)
    raise ValueError(f"unknown model kind {kind!r}")


def torch_model(kind: str, **sizes):
    """The PyTorch twin of :func:`glassnet_model` (PyTorch's default initialization)."""
    import torch
    from torch import nn

    torch.manual_seed(0)
    if kind == "mlp":
        layers: list = []
        widths = sizes["sizes"]
        for fan_in, fan_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
        return nn.Sequential(*layers[:-1])
    if kind == "lenet":
        return nn.Sequential(
            nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
            nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(), nn.Linear(84, CLASSES))
    if kind == "conv_stack":
        return nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
            nn.Linear(16, CLASSES))
    if kind == "digits_cnn":
        return nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(2), nn.Flatten(), nn.Dropout(0.25), nn.Linear(32 * 4 * 4, CLASSES))
    if kind == "mnist1d_cnn":
        sys.path.insert(0, str(HERE))
        import deep

        return deep.torch_model("cnn")
    if kind == "rnn":
        cell = {"lstm": nn.LSTM, "gru": nn.GRU}[sizes["cell"]]

        class LastState(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.rnn = cell(sizes["input_size"], sizes["hidden_size"], batch_first=True)
                self.linear = nn.Linear(sizes["hidden_size"], CLASSES)

            def forward(self, x):
                output, _ = self.rnn(x)
                return self.linear(output[:, -1])

        return LastState()
    raise ValueError(f"unknown model kind {kind!r}")


def make_step(peer: str, kind: str, optimizer: str, **sizes):
    """``step(x, y) -> loss``: one training step of a freshly built model of ``peer``."""
    if peer == "glassnet":
        import glassnet as gn
        from glassnet import losses, optim

        model = glassnet_model(kind, **sizes)
        model.train()
        opt = (optim.Adam(model.parameters(), lr=ADAM_LR) if optimizer == "adam"
               else optim.SGD(model.parameters(), lr=SGD_LR, momentum=MOMENTUM))

        def step(x, y):
            loss = losses.cross_entropy(model(gn.Tensor(x)), y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            return loss

        return step
    import torch

    model = torch_model(kind, **sizes)
    model.train()
    opt = (torch.optim.Adam(model.parameters(), lr=ADAM_LR) if optimizer == "adam"
           else torch.optim.SGD(model.parameters(), lr=SGD_LR, momentum=MOMENTUM))
    loss_fn = torch.nn.functional.cross_entropy

    def torch_step(x, y):
        loss = loss_fn(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        return loss

    return torch_step


def make_batches(peer: str, kind: str, batch: int, count: int, **sizes) -> list:
    """``count`` distinct random batches (float32 inputs, integer targets) in ``peer``'s arrays,
    listed ``CLASSES`` times over with the targets shifted by one class per pass (the inputs are
    shared, not copied), so that a run cycling through the list never sees an input with the
    target it had before.

    Why: a model cycling through a few random batches memorizes them within a few hundred steps:
    its loss reaches exactly 0 in float32 and every later step runs on zero gradients ("sgd1"
    after ~100 steps on 20 samples), which is not a training step; and SGD's velocities, decaying
    with nothing added, turn subnormal, which costs x86 ~10x per multiply (glassnet's batch-1 step
    measured 1.6 ms in one such run, 2.7 ms in another, 1.45 ms training for real). With moving
    targets the loss stays near log(CLASSES) and the gradients are real."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(count * batch, *sample_shape(kind, **sizes))).astype(np.float32)
    y = rng.integers(0, CLASSES, count * batch)
    batches = [(X[i:i + batch], (y[i:i + batch] + shift) % CLASSES)
               for shift in range(CLASSES) for i in range(0, count * batch, batch)]
    if peer == "pytorch":
        import torch

        batches = [(torch.from_numpy(x), torch.from_numpy(t)) for x, t in batches]
    return batches


KEEP_SUBNORMALS = "GLASSNET_BENCH_KEEP_SUBNORMALS"  # "1": the children compute with subnormals


def flush_subnormals(peer: str) -> bool:
    """Make this child's main thread flush subnormal floats to zero (x86's FTZ and DAZ bits), for
    either peer: PyTorch by ``torch.set_flush_denormal(True)``, glassnet's child by glibc's
    ``fesetenv`` (the library itself never touches the floating-point environment). Linux on
    x86-64 only, else neither peer does it; returns whether it was done.

    Why: a float32 below 1.2e-38 makes each multiply that touches it ~10-30x slower, in both
    libraries, and how many a run meets is chance: SGD velocities of weights that get no more
    gradient, LSTM gradients vanishing over 200 time steps (17% of the gate gradients subnormal:
    283 ms a step against 16.5 ms at 100 steps, PyTorch alike). Flushed, both peers time their
    own code rather than the CPU's slow path. ``--keep-subnormals`` measures the default."""
    if not (sys.platform.startswith("linux") and platform.machine() == "x86_64"):
        return False
    if peer == "pytorch":
        import torch

        return bool(torch.set_flush_denormal(True))
    libm = ctypes.CDLL(ctypes.util.find_library("m"))
    env = (ctypes.c_uint * 8)()  # glibc's x86-64 fenv_t: the x87 environment (28 bytes), then MXCSR
    if libm.fegetenv(env) != 0:
        return False
    env[7] |= 0x8040  # MXCSR bit 15: flush results to zero; bit 6: read subnormal inputs as zero
    return libm.fesetenv(env) == 0


def child_floats(peer: str) -> bool:
    """What a child (``--serve``) does first: :func:`flush_subnormals` unless ``KEEP_SUBNORMALS``
    is "1". Never in a test's process: the floating-point mode would stay for every later test."""
    return os.environ.get(KEEP_SUBNORMALS) != "1" and flush_subnormals(peer)


def pin_threads(peer: str, threads: int):
    """Pin the BLAS (and PyTorch) threads of this child; keep the returned limiter alive."""
    from threadpoolctl import threadpool_limits

    limiter = threadpool_limits(threads)
    if peer == "pytorch":
        import torch

        torch.set_num_threads(threads)
    return limiter


def resident_mib() -> float:
    """This process's resident set now, MiB (Linux /proc; 0 where it cannot be read)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def peak_mib() -> float:
    """This process's peak resident set so far, MiB (ru_maxrss is KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def time_chunk(step, batches: list, start: int, steps: int) -> float:
    """Seconds per step of ``steps`` steps on the batches from index ``start`` on (cycling)."""
    begin = time.perf_counter()
    for i in range(start, start + steps):
        step(*batches[i % len(batches)])
    return (time.perf_counter() - begin) / steps


def serve(peer: str, name: str, threads: int, warmup: int, chunk: int, chunks: int,
          commands=None, answer=None) -> None:
    """A child that times chunks on request: after the warm-up it answers ``ready`` and then, for
    each command ``run`` (a line of its standard input), times ``chunk`` steps and answers their
    seconds per step; on ``done`` (or the end of its input) it answers its last loss and memory, as
    JSON. ``commands`` (lines) and ``answer`` (a function of one line) replace standard input and
    output (the tests run it in process)."""
    commands = sys.stdin if commands is None else commands
    answer = answer or (lambda line: print(line, flush=True))
    limiter = pin_threads(peer, threads)
    kind, sizes, batch, optimizer, _, _ = WORKLOADS[name]
    # LeNet: one epoch of distinct batches (the memory target); the others cycle through 20 batches.
    count = warmup + chunk * chunks if name == "lenet" else min(20, warmup + chunk * chunks)
    batches = make_batches(peer, kind, batch, count, **sizes)
    step = make_step(peer, kind, optimizer, **sizes)
    before = resident_mib()
    for i in range(warmup):
        step(*batches[i % len(batches)])
    done = warmup
    answer("ready")
    for line in commands:
        if line.strip() != "run":
            break
        answer(json.dumps(time_chunk(step, batches, done, chunk)))
        done += chunk
    loss = float(step(*batches[0]).data)  # .data: glassnet's ndarray, PyTorch's detached tensor
    limiter.restore_original_limits()
    answer(json.dumps({"loss": loss, "peak_mib": peak_mib(), "growth_mib": max(0.0, peak_mib() - before)}))


class Peer:
    """One :func:`serve` child: ``run()`` times one chunk (seconds per step), ``close()`` returns
    its last loss and memory."""

    def __init__(self, script: str, args: list, threads: int) -> None:
        env = dict(os.environ)
        for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[variable] = str(threads)
        # The child's warnings go to a file, not a pipe: a pipe nobody reads fills up and blocks it.
        self.errors = tempfile.TemporaryFile(mode="w+")
        self.process = subprocess.Popen([sys.executable, script, *args], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.errors, text=True, env=env)
        self._answer()  # "ready"

    def _answer(self) -> str:
        line = self.process.stdout.readline()
        if not line:
            self.process.wait()
            self.errors.seek(0)
            raise RuntimeError(f"child {self.process.args} failed:\n{self.errors.read()}")
        return line

    def ask(self, command: str):
        """Send one command line; the child's answer, decoded from JSON."""
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return json.loads(self._answer())

    def run(self, steps: int | None = None) -> float:
        return self.ask("run" if steps is None else f"run {steps}")

    def close(self) -> dict:
        result = self.ask("done")
        self.process.wait()
        self.errors.close()
        return result


def paired(script: str, name: str, threads: int, warmup: int, chunk: int, chunks: int) -> dict:
    """One repeat of one workload: both peers' children side by side, ``chunks`` chunks each, the
    peer that goes first alternating. Seconds per step of every chunk, per peer, and memory."""
    args = ["--warmup", str(warmup), "--chunk", str(chunk), "--chunks", str(chunks)]
    peers = {peer: Peer(script, ["--serve", peer, name, str(threads), *args], threads) for peer in PEERS}
    try:
        seconds = alternate(peers, chunks, threads)
    finally:
        closing = {peer: child.close() for peer, child in peers.items()}
    return {"seconds": seconds, "memory": closing}


def alternate(peers: dict, chunks: int, threads: int, steps: int | None = None) -> dict:
    """``chunks`` chunks from each peer's child (of ``steps`` steps, or the child's own chunk),
    the peer that goes first alternating, after ``SETTLE`` s each: seconds per step, per peer."""
    seconds: dict = {peer: [] for peer in PEERS}
    for index in range(chunks):
        for peer in (PEERS if index % 2 == 0 else PEERS[::-1]):
            time.sleep(SETTLE if threads > 1 else SETTLE / 10)
            seconds[peer].append(peers[peer].run(steps))
    return seconds


def compare(seconds: dict, batch: int) -> dict:
    """From every paired chunk's seconds per step (per peer): each peer's samples/s (median
    chunk) and the paired ratios glassnet / PyTorch, their median and quartiles."""
    ratios = [theirs / ours for ours, theirs in zip(seconds["glassnet"], seconds["pytorch"])]
    if len(ratios) == 1:
        q1 = ratio = q3 = ratios[0]
    else:
        q1, ratio, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    speeds = {f"{peer}_samples_per_s": batch / statistics.median(seconds[peer]) for peer in PEERS}
    return {**speeds, "ratio": ratio, "ratio_q1": q1, "ratio_q3": q3, "chunks": len(ratios)}


def load() -> str:
    """The 1-minute load average (the machine is shared: say how busy it was)."""
    try:
        return "load {:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        return "load unknown"


def summarize(name: str, threads: int, repeats: list) -> dict:
    """One table row from the repeats of :func:`paired`: each peer's median samples/s over all its
    chunks, the paired ratios' quartiles, and each peer's median memory over the repeats."""
    batch = WORKLOADS[name][2]
    seconds = {peer: [t for r in repeats for t in r["seconds"][peer]] for peer in PEERS}
    row = {"model": name, "threads": threads, "batch": batch, "target": WORKLOADS[name][5],
           **compare(seconds, batch)}
    for peer in PEERS:
        for key in ("peak_mib", "growth_mib"):
            row[f"{peer}_{key}"] = statistics.median(r["memory"][peer][key] for r in repeats)
    return row


def report(rows: list, threads: int, repeats: int) -> None:
    """Print the table of one thread count."""
    print(f"\n{threads} thread(s), {repeats} repeat(s) of {rows[0]['chunks'] // repeats} paired chunks; "
          f"samples/s (median chunk), ratio glassnet / PyTorch (median of the paired chunks, "
          f"quartiles); peak RSS / growth during training, MiB")
    print(f"{'workload':20s} {'batch':>5s} {'glassnet/s':>11s} {'PyTorch/s':>10s} {'ratio':>7s} {'quartiles':>11s} "
          f"{'target':>6s} {'gn peak':>8s} {'gn grow':>8s} {'pt peak':>8s} {'pt grow':>8s}")
    for row in rows:
        target = row["target"]
        print(f"{TITLES[row['model']]:20s} {row['batch']:5d} {row['glassnet_samples_per_s']:11,.0f} "
              f"{row['pytorch_samples_per_s']:10,.0f} {row['ratio']:6.2f}x "
              f"{row['ratio_q1']:5.2f}-{row['ratio_q3']:.2f} "
              f"{'' if target is None else f'{target:.1f}x':>6s} "
              + " ".join(f"{row[f'{peer}_{key}']:8.0f}" for peer in PEERS for key in ("peak_mib", "growth_mib")))


def parse_thread_counts(parser: argparse.ArgumentParser, text: str) -> list:
    """``--threads``' comma-separated counts as ints (each >= 1), or the parser's error (exit 2)."""
    try:
        counts = [int(t) for t in text.split(",") if t]
    except ValueError:
        parser.error(f"--threads takes integers separated by commas, got {text!r}")
    if not counts or min(counts) < 1:
        parser.error(f"--threads must be integers >= 1, got {text!r}")
    return counts


def check_json_path(parser: argparse.ArgumentParser, path: str | None) -> None:
    """``--json`` must name a file that can be written, in a folder that exists: the parser's error
    now (exit 2), not a traceback after the run."""
    if path is None:
        return
    folder = Path(path).resolve().parent
    if not path or Path(path).is_dir():
        parser.error(f"--json needs a file name, got {path!r}")
    if not folder.is_dir() or not os.access(folder, os.W_OK):
        parser.error(f"--json: no folder {str(folder)!r} to write {path!r} into")


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="fresh pairs of children per workload (default 3)")
    parser.add_argument("--chunks", type=int, default=8, help="paired chunks per repeat (default 8)")
    parser.add_argument("--chunk", type=int, default=None,
                        help="steps per chunk (default: a fifth of the workload's timed steps)")
    parser.add_argument("--models", default=",".join(WORKLOADS), help=f"subset of {','.join(WORKLOADS)}")
    parser.add_argument("--threads", default="1,2", help="thread counts, comma-separated (default 1,2)")
    parser.add_argument("--warmup", type=int, default=5, help="untimed steps first (default 5)")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    parser.add_argument("--keep-subnormals", action="store_true",
                        help="compute with subnormal floats, the CPU's default (see flush_subnormals)")
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.keep_subnormals:
        os.environ[KEEP_SUBNORMALS] = "1"  # the children inherit it
    if args.serve:
        peer, name, threads = args.serve
        child_floats(peer)
        serve(peer, name, int(threads), args.warmup, args.chunk, args.chunks)
        return []
    models = [m for m in args.models.split(",") if m]
    if not models or any(m not in WORKLOADS for m in models):
        parser.error(f"--models takes names from {','.join(WORKLOADS)}, got {args.models!r}")
    thread_counts = parse_thread_counts(parser, args.threads)
    if args.repeats < 1 or args.chunks < 1 or (args.chunk is not None and args.chunk < 1) or args.warmup < 0:
        parser.error("--repeats, --chunks and --chunk must be >= 1, --warmup >= 0")
    check_json_path(parser, args.json)
    print(f"python {' '.join([Path(__file__).name, *(argv if argv is not None else sys.argv[1:])])}; {load()}")
    rows = []
    for threads in thread_counts:
        table = []
        for name in models:
            chunk = args.chunk or max(1, WORKLOADS[name][4] // 5)
            repeats = []
            for round_ in range(args.repeats):
                result = paired(__file__, name, threads, args.warmup, chunk, args.chunks)
                repeats.append(result)
                speeds = {peer: WORKLOADS[name][2] / statistics.median(result["seconds"][peer]) for peer in PEERS}
                print(f"repeat {round_ + 1}: {threads} thread(s) {name:12s} glassnet {speeds['glassnet']:10,.0f} "
                      f"PyTorch {speeds['pytorch']:10,.0f} samples/s  {load()}", file=sys.stderr, flush=True)
            table.append(summarize(name, threads, repeats))
        report(table, threads, args.repeats)
        print(f"({load()})")
        rows += table
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
