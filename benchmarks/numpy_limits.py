"""Where NumPy's ceiling lies for issue 15's unmet targets (LeNet-5 and the LSTM-64 against PyTorch,
above all at 2 threads): the measurements behind the proposal of an optional compiled extra.

    layers    LeNet-5's layers one at a time (batch 64), forward and forward + backward from
              cleared gradients, glassnet against PyTorch: which layers lose, and by how much.
    products  the three matrix products of LeNet's second convolution as glassnet makes them
              (forward W2 @ cols, weight gradient cols @ G^T, column gradient W2^T @ G, each here as
              one call into a reused output), run by NumPy's BLAS, in billions of multiply-adds a
              second, beside a square 512 product (the BLAS's best rate here) and the useful
              multiply-adds a second of PyTorch's whole convolution, forward and forward + backward.
    threads   what a second Python thread buys NumPy (NumPy's own threads pinned to 1): a large
              copy, a ufunc, a convolution-shaped BLAS product and a cache-sized ReLU, each split in
              two halves (a waiting worker thread does one, the calling thread the other), against
              one thread doing both; and the round trip of handing the worker nothing.
    lstm      one time step of LSTM(32 -> 64), batch 64 (forward + backward, from a T = 50 layer),
              glassnet against PyTorch, glassnet's split into its products (the step's two, as
              glassnet makes them, and its share of the sequence's input projection and weight
              gradient), its cell's element-wise passes (glassnet.ops.recurrent's lstm_step and
              lstm_step_backward on one step's arrays, less their products) and the rest (the
              passes' cache misses over the whole sequence, per-sequence copies, the graph, Python).

Each peer runs in its own child process that pins its threads (as benchmarks/vision_and_sequence.py:
threadpoolctl, torch.set_num_threads, flushed subnormals); every figure is the median of
``--samples`` timings after a warm-up, and the median over ``--repeats`` children, which run in turn.

    python benchmarks/numpy_limits.py [--threads 1,2] [--sections layers,products,threads,lstm]
                                      [--repeats 3] [--samples 30] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import queue
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import vision_and_sequence as vs  # noqa: E402 (thread pinning and subnormal flushing, beside this file)

SECTIONS = ("layers", "products", "threads", "lstm")
PEERS_OF = {"layers": vs.PEERS, "products": ("pytorch", "glassnet"), "threads": ("glassnet",),
            "lstm": vs.PEERS}
BATCH = 64
# LeNet-5's layers: name, the module's class (the same name in torch.nn and glassnet.nn), its
# arguments and options, the input's shape.
LENET = (
    ("conv1 1->6 5x5 pad 2", "Conv2d", (1, 6, 5), {"padding": 2}, (BATCH, 1, 28, 28)),
    ("relu 6x28x28", "ReLU", (), {}, (BATCH, 6, 28, 28)),
    ("maxpool 6x28x28", "MaxPool2d", (2,), {}, (BATCH, 6, 28, 28)),
    ("conv2 6->16 5x5", "Conv2d", (6, 16, 5), {}, (BATCH, 6, 14, 14)),
    ("relu 16x10x10", "ReLU", (), {}, (BATCH, 16, 10, 10)),
    ("maxpool 16x10x10", "MaxPool2d", (2,), {}, (BATCH, 16, 10, 10)),
    ("linear 400->120", "Linear", (400, 120), {}, (BATCH, 400)),
)
CONV2_MACS = 16 * 6 * 25 * 10 * 10 * BATCH  # multiply-adds of LeNet's conv2 forward (and of each gradient)
LSTM = {"input": 32, "hidden": 64, "length": 50}
# Element-wise passes of a glassnet LSTM time step (glassnet.ops.recurrent): lstm_step makes 10
# (the gate regrouping copy; the input projection's add; one tanh over the gates; two for the
# sigmoids' halves; f c, i g and their sum; tanh c'; o tanh c') and lstm_step_backward with its
# caller's dh + g makes 15 (dh + g; four for dc's slope; dc + it; four gate gradients; three for
# the gates' slopes; their product with da; dc f), besides one product each.
LSTM_PASSES = 25


def median_us(f, samples: int) -> float:
    """Median microseconds of ``samples`` calls of f, after 3 untimed ones."""
    for _ in range(3):
        f()
    times = []
    for _ in range(samples):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e6


def fresh_gradients(*holders) -> None:
    """``.grad = None`` on the parameters of each module and on each tensor among ``holders`` (either
    library): a timed backward then starts as after zero_grad, rather than adding into the last one's."""
    for holder in holders:
        for tensor in holder.parameters() if hasattr(holder, "parameters") else [holder]:
            tensor.grad = None


# ---- children: each measures one section for one peer and returns {name: microseconds} --------
def layer_timers(peer: str, kind: str, args: tuple, options: dict, x: np.ndarray, needs_grad: bool, rng) -> tuple:
    """``(forward, step)``: one layer's forward without a graph, and its forward + backward."""
    if peer == "pytorch":
        import torch

        module = getattr(torch.nn, kind)(*args, **options)
        xt = torch.from_numpy(x).requires_grad_(needs_grad)
        grad = torch.ones_like(module(xt))

        def forward():
            with torch.no_grad():
                module(xt)

        def step():
            fresh_gradients(module, xt)
            module(xt).backward(grad)

        return forward, step
    import glassnet as gn
    from glassnet import nn

    ours = getattr(nn, kind)(*args, **options, **({"rng": rng} if kind in ("Conv2d", "Linear") else {}))
    grad_np = np.ones(ours(gn.Tensor(x)).shape, np.float32)

    def glassnet_forward():
        with gn.no_grad():
            ours(gn.Tensor(x))

    def glassnet_step():
        fresh_gradients(ours)
        ours(gn.Tensor(x, requires_grad=needs_grad)).backward(grad_np)

    return glassnet_forward, glassnet_step


def layers(peer: str, samples: int) -> dict:
    rng = np.random.default_rng(0)
    result = {}
    for name, kind, args, options, shape in LENET:
        x = rng.normal(size=shape).astype(np.float32)
        needs_grad = name != LENET[0][0]  # LeNet's input needs no gradient; every later layer's does
        forward, step = layer_timers(peer, kind, args, options, x, needs_grad, rng)
        result[name + ": forward"] = median_us(forward, samples)
        result[name + ": forward+backward"] = median_us(step, samples)
    return result


# glassnet's products for LeNet's conv2, named with their sizes (rows x inner x columns): its
# wide column layout gives each image 9 * 14 + 10 = 136 columns for 10 x 10 outputs.
WIDE = BATCH * (9 * 14 + 10)
PRODUCTS = {"W2 @ cols": (16, 150, WIDE), "cols @ G^T": (150, WIDE, 16), "W2^T @ G": (150, 16, WIDE),
            "square 512": (512, 512, 512)}


def products(peer: str, samples: int) -> dict:
    """glassnet: NumPy's time for conv2's products (in the step, the forward's runs in blocks of 6
    images, each on columns just written into the cache: one call here); pytorch: its whole
    convolution."""
    rng = np.random.default_rng(0)
    if peer == "pytorch":
        x = rng.normal(size=(BATCH, 6, 14, 14)).astype(np.float32)
        forward, step = layer_timers(peer, "Conv2d", (6, 16, 5), {}, x, True, rng)
        return {"pytorch conv2 forward": median_us(forward, samples),
                "pytorch conv2 forward+backward": median_us(step, samples)}
    w2 = rng.normal(size=(16, 150)).astype(np.float32)
    cols = rng.normal(size=(150, WIDE)).astype(np.float32)
    g2 = rng.normal(size=(16, WIDE)).astype(np.float32)
    square = rng.normal(size=(512, 512)).astype(np.float32)
    # each into a reused output, as glassnet's conv writes them (y2, its weight gradient, dcols)
    outputs = {name: np.empty((m, n), np.float32) for name, (m, _, n) in PRODUCTS.items()}
    operands = {"W2 @ cols": (w2, cols), "cols @ G^T": (cols, g2.T), "W2^T @ G": (w2.T, g2),
                "square 512": (square, square)}
    return {name: median_us(lambda name=name: np.matmul(*operands[name], out=outputs[name]), samples)
            for name in PRODUCTS}


def product_macs(name: str) -> float:
    """Multiply-adds of a product of :data:`PRODUCTS`, or the useful ones of PyTorch's conv2."""
    if name.startswith("pytorch conv2"):
        return CONV2_MACS * (3 if "backward" in name else 1)
    rows, inner, columns = PRODUCTS[name]
    return rows * inner * columns


class Worker:
    """One waiting thread: ``run(f)`` hands it f, ``wait()`` waits for f to finish and raises what
    f raised. (NumPy releases the GIL inside its loops and BLAS, so the two threads' array work can
    overlap.)"""

    def __init__(self) -> None:
        self.tasks: queue.SimpleQueue = queue.SimpleQueue()
        self.done: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            task = self.tasks.get()
            if task is None:
                return
            try:
                task()
                self.done.put(None)
            except BaseException as error:  # handed back to wait(), so that the caller never hangs
                self.done.put(error)

    def run(self, task) -> None:
        self.tasks.put(task)

    def wait(self) -> None:
        error = self.done.get()
        if error is not None:
            raise error

    def close(self) -> None:
        self.tasks.put(None)


PASS_NAMES = ("copy 2 x 8 MB", "sin 2 x 1 MB", "relu 2 x 0.6 MB", f"BLAS 2 x (16x150 @ 150x{WIDE // 2})")


def threads(peer: str, samples: int) -> dict:
    rng = np.random.default_rng(0)
    big = rng.normal(size=(2, 1 << 21)).astype(np.float32)  # two halves of 8 MB each
    big_out = np.empty_like(big)
    mid = rng.normal(size=(2, 1 << 18)).astype(np.float32)
    mid_out = np.empty_like(mid)
    small = rng.normal(size=(2, 150_528)).astype(np.float32)  # LeNet's first ReLU, 1.2 MB in all
    small_out = np.empty_like(small)
    w2 = rng.normal(size=(16, 150)).astype(np.float32)
    cols = rng.normal(size=(2, 150, WIDE // 2)).astype(np.float32)
    y = np.empty((2, 16, cols.shape[2]), np.float32)
    passes = dict(zip(PASS_NAMES, (
        lambda half: np.copyto(big_out[half], big[half]),
        lambda half: np.sin(mid[half], out=mid_out[half]),
        lambda half: np.maximum(small[half], 0, out=small_out[half]),
        lambda half: np.matmul(w2, cols[half], out=y[half]),
    )))
    worker = Worker()
    try:
        def round_trip():
            worker.run(lambda: None)
            worker.wait()

        result = {"round trip": median_us(round_trip, samples)}
        for name, work in passes.items():
            def one(work=work):
                work(0)
                work(1)

            def split(work=work):
                worker.run(lambda: work(1))
                work(0)
                worker.wait()

            result[name + ": one thread"] = median_us(one, samples)
            result[name + ": two threads"] = median_us(split, samples)
    finally:
        worker.close()
    return result


def lstm(peer: str, samples: int) -> dict:
    rng = np.random.default_rng(0)
    n, h, length, features = BATCH, LSTM["hidden"], LSTM["length"], LSTM["input"]
    x = rng.normal(size=(n, length, features)).astype(np.float32)
    if peer == "pytorch":
        import torch

        layer = torch.nn.LSTM(features, h, batch_first=True)
        xt = torch.from_numpy(x)

        def step():
            fresh_gradients(layer)
            out, _ = layer(xt)
            out.sum().backward()

        return {"whole step": median_us(step, samples) / length}
    import glassnet as gn
    from glassnet import nn
    from glassnet.ops import recurrent

    layer = nn.LSTM(features, h, batch_first=True, rng=rng)

    def glassnet_step():
        fresh_gradients(layer)
        out, _ = layer(gn.Tensor(x))
        out.sum().backward()

    def array(*shape):
        return rng.normal(size=shape).astype(np.float32)

    # One time step's cell, forward and backward, on glassnet's own functions and layouts (gates
    # (4, D, H, N), states (D, H, N), weights in one-thread row chunks), and its two products alone.
    w_hh_t, w_hh = recurrent.chunked(array(1, 4 * h, h), n), recurrent.chunked(array(1, h, 4 * h), n)
    gx, state, c, g_step = array(4, 1, h, n), array(1, h, n), array(1, h, n), array(1, h, n)
    h_out, product_out = np.empty((1, h, n), np.float32), np.empty((1, h, n), np.float32)
    da, gates_out = array(4, 1, h, n), np.empty((1, 4 * h, n), np.float32)  # da: the backward's output
    _, cache = recurrent.lstm_step(gx, state, c, w_hh_t, h_out)

    def cell_forward():
        recurrent.lstm_step(gx, state, c, w_hh_t, h_out)

    def cell_backward():
        recurrent.lstm_step_backward(state + g_step, c, cache, w_hh, da)

    forward_product = median_us(lambda: recurrent.step_matmul(w_hh_t, state, gates_out), samples)
    backward_product = median_us(lambda: recurrent.step_matmul(w_hh, da.reshape(1, 4 * h, n), product_out), samples)
    # The step's share of the sequence's products: its input projection (one batched matmul over
    # the steps) and the weight gradients of W_ih and W_hh (one product over the whole sequence).
    w_ih_t, x_steps = array(1, 1, 4 * h, features), array(1, length, features, n)
    da_sequence, stacked = array(1, 4 * h, length * n), array(1, length * n, features + h)
    sequence_products = (median_us(lambda: w_ih_t @ x_steps, samples)
                         + median_us(lambda: da_sequence @ stacked, samples)) / length
    return {"whole step": median_us(glassnet_step, samples) / length,
            "products": forward_product + backward_product + sequence_products,
            "cell passes": median_us(cell_forward, samples) + median_us(cell_backward, samples)
            - forward_product - backward_product}


CHILDREN = {"layers": layers, "products": products, "threads": threads, "lstm": lstm}


def child(section: str, peer: str, thread_count: int, samples: int) -> dict:
    """A child's work: pin the threads (the limiter lives as long as this call), flush subnormals,
    measure."""
    limiter = vs.pin_threads(peer, thread_count)  # noqa: F841 (held, not read)
    vs.child_floats(peer)
    return CHILDREN[section](peer, samples)


# ---- the parent ----------------------------------------------------------------------------
CHILD_TIMEOUT = 600  # seconds: a child that takes longer is stuck


def run_child(section: str, peer: str, thread_count: int, samples: int) -> dict:
    command = [sys.executable, str(Path(__file__).resolve()), "--child", section, "--peer", peer,
               "--threads", str(thread_count), "--samples", str(samples)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=CHILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"{section} child ({peer}) took over {CHILD_TIMEOUT} s") from None
    if done.returncode != 0:
        how = f"killed by signal {-done.returncode}" if done.returncode < 0 else f"exit status {done.returncode}"
        raise RuntimeError(f"{section} child ({peer}) failed ({how}):\n{done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(section: str, thread_count: int, repeats: int, samples: int) -> dict:
    """{peer: {name: median over the repeats}}; the peers' children run in turn, order alternating."""
    runs: dict = {peer: [] for peer in PEERS_OF[section]}
    for repeat in range(repeats):
        order = PEERS_OF[section] if repeat % 2 == 0 else PEERS_OF[section][::-1]
        for peer in order:
            runs[peer].append(run_child(section, peer, thread_count, samples))
    return {peer: {name: statistics.median(run[name] for run in results) for name in results[0]}
            for peer, results in runs.items()}


def report(section: str, thread_count: int, numbers: dict) -> list:
    """Print one section's table; return its rows."""
    rows = []
    print(f"\n== {section}, {thread_count} thread{'s' * (thread_count > 1)} ==")

    def row(name: str, **values) -> None:
        rows.append({"section": section, "threads": thread_count, "name": name, **values})

    if section in ("layers", "lstm"):
        ours, theirs = numbers["glassnet"], numbers["pytorch"]
        print("  (ratio: PyTorch's time / glassnet's; above 1, glassnet is faster)")
        for name in theirs:
            ratio = theirs[name] / ours[name]
            print(f"  {name:40s} glassnet {ours[name]:8.0f} us  PyTorch {theirs[name]:8.0f} us  {ratio:5.2f}x")
            row(name, glassnet_us=ours[name], pytorch_us=theirs[name], ratio=ratio)
        if section == "lstm":
            whole, products, passes = ours["whole step"], ours["products"], ours["cell passes"]
            rest = whole - products - passes
            print(f"  glassnet's step: products {products:.0f} us ({products / whole:.0%}), the cell's {LSTM_PASSES} "
                  f"element-wise passes {passes:.0f} us ({passes / whole:.0%}; {passes / LSTM_PASSES:.1f} us each on "
                  f"one step's arrays), the rest {rest:.0f} us ({rest / whole:.0%}: the passes' cache misses over the "
                  f"sequence, per-sequence copies, the graph, Python)")
            if theirs["whole step"] < products + rest:
                print(f"  PyTorch's step ({theirs['whole step']:.0f} us) is shorter than glassnet's products and rest "
                      f"alone ({products + rest:.0f} us)")
            else:
                print(f"  to match PyTorch's step glassnet would have to save {whole - theirs['whole step']:.0f} us a "
                      f"step ({1 - theirs['whole step'] / whole:.0%})")
            row("split", products_us=products, passes_us=passes, rest_us=rest, pass_us=passes / LSTM_PASSES)
    elif section == "products":
        for peer in PEERS_OF[section]:
            for name, us in numbers[peer].items():
                rate = product_macs(name) / us / 1e3
                sizes = "x".join(map(str, PRODUCTS[name])) if name in PRODUCTS else "useful"
                print(f"  {name:32s} {sizes:>13s} {us:8.0f} us  {rate:5.1f} GMAC/s")
                row(name, us=us, gmacs=rate)
    else:
        mine = numbers["glassnet"]
        print(f"  {'hand-off round trip (empty task)':40s} {mine['round trip']:8.1f} us")
        row("round trip", us=mine["round trip"])
        for name in PASS_NAMES:
            one, two = mine[f"{name}: one thread"], mine[f"{name}: two threads"]
            print(f"  {name:40s} one thread {one:8.0f} us  two {two:8.0f} us  {one / two:5.2f}x")
            row(name, one_us=one, two_us=two, speedup=one / two)
    return rows


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", default="1,2", help="thread counts, comma-separated (default 1,2)")
    parser.add_argument("--sections", default=",".join(SECTIONS), help=f"subset of {','.join(SECTIONS)}")
    parser.add_argument("--repeats", type=int, default=3, help="children per peer, in turn (default 3)")
    parser.add_argument("--samples", type=int, default=30, help="timings per figure in a child (default 30)")
    parser.add_argument("--json", default=None, help="also write the rows to this JSON file")
    parser.add_argument("--child", choices=SECTIONS, help=argparse.SUPPRESS)
    parser.add_argument("--peer", choices=vs.PEERS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    sections = [s for s in args.sections.split(",") if s]
    if not sections or any(s not in SECTIONS for s in sections):
        parser.error(f"--sections takes names from {','.join(SECTIONS)}, got {args.sections!r}")
    thread_counts = vs.parse_thread_counts(parser, args.threads)
    if args.repeats < 1 or args.samples < 1:
        parser.error("--repeats and --samples must be >= 1")
    vs.check_json_path(parser, args.json)
    if args.child and args.peer not in PEERS_OF[args.child]:
        parser.error(f"--child {args.child} needs --peer {' or '.join(PEERS_OF[args.child])}")
    if args.child:
        print(json.dumps(child(args.child, args.peer, thread_counts[0], args.samples)))
        return []
    print(f"python {' '.join([Path(__file__).name, *(argv if argv is not None else sys.argv[1:])])}; {vs.load()}")
    rows = []
    for section in sections:
        # the threads section pins NumPy to one thread and splits by hand, whatever --threads says
        for thread_count in [1] if section == "threads" else thread_counts:
            rows += report(section, thread_count, measure(section, thread_count, args.repeats, args.samples))
    print(f"({vs.load()})")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))
    return rows


if __name__ == "__main__":
    main()
