"""How the cost of a training step grows, glassnet vs PyTorch CPU in the same run: training samples/s of

    mlp     MLP 784-H-10 (ReLU, SGD lr 0.001 momentum 0.9) over hidden width H x batch size
    length  LSTM(32 -> 64), last state -> Linear(64, 10), batch 64, Adam, over the sequence length
    hidden  LSTM(32 -> H), sequences of 50, same head, over the hidden size H
    image   a Conv2d stack (Conv2d 8@3x3 pad 1, ReLU, MaxPool 2, Conv2d 16@3x3 pad 1, ReLU, global
            average pool, Linear 16 -> 10), batch 32, Adam, over the image size S (1 x S x S)

The models, the step (forward, cross-entropy, zero_grad, backward, optimizer step) and the way of
measuring are benchmarks/vision_and_sequence.py's: each peer has its own child process for a
curve, and the two run side by side. At each point both make 2 warm-up steps and time a third;
then each times 5 chunks (--quick: 3) of the same number of steps, about ``--seconds`` in all for
the slower peer, the peer that goes first alternating. A point's ratio is the median of the
paired chunks' ratios; each curve runs ``--repeats`` times with fresh processes (default 3), and
all the chunks of all the repeats count. Threads are pinned (``--threads``, default 1) and
subnormal floats flushed to zero (not with ``--keep-subnormals``) as in vision_and_sequence.py.

It writes ``scaling.csv`` (one row per point: the curve, its sizes, both peers' samples/s and the
ratio glassnet / PyTorch with its quartiles) and ``scaling.png`` (the curves and the ratios) into ``--out``, and prints
the crossover points: along each one-dimensional sweep, the sizes between which the ratio falls
below 1 (PyTorch overtakes glassnet) or rises above it again, and every point below 0.9x.

    python benchmarks/scaling.py [--quick] [--repeats 3] [--threads 1] [--out benchmarks/out]

--quick (a coarse grid, 0.3 s per point: about 3 minutes on an idle 2-core machine) or the full
grid (1 s per point: about 15 minutes).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import vision_and_sequence as vs  # noqa: E402 (the shared harness, beside this file)

PEERS = ("glassnet", "pytorch")

# Each curve: the model kind, its batch and optimizer, and the sizes of each point.
GRIDS = {
    "full": {
        "mlp": [{"hidden": h, "batch": b} for h in (32, 64, 128, 256, 512, 1024, 2048)
                for b in (1, 4, 16, 64, 256, 1024)],
        "length": [{"length": n} for n in (10, 25, 50, 100, 200, 400)],
        "hidden": [{"hidden": h} for h in (16, 32, 64, 128, 256)],
        "image": [{"image": s} for s in (8, 12, 16, 24, 32, 48, 64)],
    },
    "quick": {
        "mlp": [{"hidden": h, "batch": b} for h in (32, 256, 2048) for b in (1, 32, 1024)],
        "length": [{"length": n} for n in (10, 50, 400)],
        "hidden": [{"hidden": h} for h in (16, 64, 256)],
        "image": [{"image": s} for s in (8, 16, 32, 64)],
    },
    "tiny": {  # the smoke test's (tests/test_benchmarks_issue15.py): seconds, not a measurement
        "mlp": [{"hidden": h, "batch": b} for h in (4, 8) for b in (1, 2)],
        "length": [{"length": n} for n in (2, 3)],
        "hidden": [{"hidden": h} for h in (2, 4)],
        "image": [{"image": s} for s in (4, 8)],
    },
}
CURVES = ("mlp", "length", "hidden", "image")
# The sweep variable of each curve (mlp sweeps both: along batch at each width, along width at each batch).
AXES = {"mlp": ("hidden", "batch"), "length": ("length",), "hidden": ("hidden",), "image": ("image",)}


def workload(curve: str, point: dict) -> tuple:
    """(kind, sizes, batch, optimizer) of one point of a curve."""
    if curve == "mlp":
        return "mlp", {"sizes": (784, point["hidden"], 10)}, point["batch"], "sgd"
    if curve == "length":
        return "rnn", {"cell": "lstm", "input_size": 32, "hidden_size": 64, "length": point["length"]}, 64, "adam"
    if curve == "hidden":
        return "rnn", {"cell": "lstm", "input_size": 32, "hidden_size": point["hidden"], "length": 50}, 64, "adam"
    if curve == "image":
        return "conv_stack", {"image": point["image"]}, 32, "adam"
    raise ValueError(f"unknown curve {curve!r}")


def serve(peer: str, curve: str, grid: str, threads: int, commands=None, answer=None) -> None:
    """A child that measures the points of one curve on request (the protocol of
    vision_and_sequence.serve): ``point i`` builds point i's model and data, makes 2 warm-up steps
    and times a third (answer: its seconds and loss); ``run k`` times k steps (answer: seconds per
    step); ``done`` ends. ``commands`` and ``answer`` replace standard input and output."""
    commands = sys.stdin if commands is None else commands
    answer = answer or (lambda line: print(line, flush=True))
    limiter = vs.pin_threads(peer, threads)
    step = batches = None
    done = 0
    answer("ready")
    for line in commands:
        command, *value = line.split()
        if command == "point":
            kind, sizes, batch, optimizer = workload(curve, GRIDS[grid][curve][int(value[0])])
            batches = vs.make_batches(peer, kind, batch, 4, **sizes)
            step = vs.make_step(peer, kind, optimizer, **sizes)
            for i in range(2):  # the first steps allocate (optimizer state, buffers)
                step(*batches[i])
            start = time.perf_counter()
            loss = float(step(*batches[2]).data)
            answer(json.dumps({"seconds": time.perf_counter() - start, "loss": loss}))
            done = 3
        elif command == "run":
            answer(json.dumps(vs.time_chunk(step, batches, done, int(value[0]))))
            done += int(value[0])
        else:
            break
    limiter.restore_original_limits()
    answer(json.dumps({}))


def measure_curve(curve: str, grid: str, threads: int, seconds: float, chunks: int) -> list:
    """Every point of a curve, both peers side by side (vision_and_sequence's pairing): per point,
    ``chunks`` chunks of the same number of steps each (about ``seconds`` in all for the slower
    peer), the peer going first alternating. Per point: each peer's seconds per chunk and loss."""
    args = ["--threads", str(threads)]
    peers = {peer: vs.Peer(__file__, ["--serve", peer, curve, grid, *args], threads) for peer in PEERS}
    points = []
    try:
        for index in range(len(GRIDS[grid][curve])):
            first = {peer: child.ask(f"point {index}") for peer, child in peers.items()}
            per_chunk = max(1, round(seconds / chunks / max(max(f["seconds"] for f in first.values()), 1e-6)))
            times = vs.alternate(peers, chunks, threads, per_chunk)
            points.append({"seconds": times, "loss": {peer: first[peer]["loss"] for peer in PEERS}})
    finally:
        for child in peers.values():
            child.close()
    return points


def collect(results: dict, curves: list, grid: str) -> list:
    """One row per point: its sizes, each peer's median samples/s over all its chunks, and the
    median of the paired chunks' ratios (glassnet / PyTorch) with its quartiles, and their count."""
    rows = []
    for curve in curves:
        for index, point in enumerate(GRIDS[grid][curve]):
            batch = workload(curve, point)[2]
            seconds = {peer: [t for run in results[curve] for t in run[index]["seconds"][peer]] for peer in PEERS}
            rows.append({"curve": curve, "hidden": point.get("hidden", ""), "batch": batch,
                         "length": point.get("length", ""), "image": point.get("image", ""),
                         **vs.compare(seconds, batch)})
    return rows


def sweeps(rows: list) -> list:
    """The one-dimensional sweeps of the rows: (label, variable, [(value, ratio, row), ...])."""
    found = []
    for curve in CURVES:
        mine = [row for row in rows if row["curve"] == curve]
        if not mine:
            continue
        for variable in AXES[curve]:
            others = [name for name in AXES[curve] if name != variable]  # held fixed (mlp: the other axis)
            groups: dict = {}
            for row in mine:
                groups.setdefault(tuple(row[name] for name in others), []).append(row)
            for key, members in groups.items():
                members.sort(key=lambda row: row[variable])
                fixed = ", ".join(f"{name} {value}" for name, value in zip(others, key))
                label = f"{curve} over {variable}" + (f" ({fixed})" if fixed else "")
                found.append((label, variable, [(row[variable], row["ratio"], row) for row in members]))
    return found


def crossovers(rows: list) -> list:
    """Lines naming where the ratio crosses 1 along each sweep, and the points below 0.9x."""
    lines = []
    for label, variable, series in sweeps(rows):
        ratios = " ".join(f"{value}:{ratio:.2f}x" for value, ratio, _ in series)
        crossings = []
        for (a, ra, _), (b, rb, _) in zip(series, series[1:]):
            if (ra >= 1.0) != (rb >= 1.0):
                who = "PyTorch overtakes glassnet" if rb < 1.0 else "glassnet overtakes PyTorch"
                crossings.append(f"{who} between {variable} {a} and {b}")
        if series and not crossings:
            crossings.append("glassnet ahead everywhere" if series[0][1] >= 1.0 else "PyTorch ahead everywhere")
        lines.append(f"{label}: {ratios} -> {'; '.join(crossings)}")
    below = [row for row in rows if row["ratio"] < 0.9]
    for row in below:
        sizes = ", ".join(f"{name} {row[name]}" for name in ("hidden", "batch", "length", "image") if row[name] != "")
        lines.append(f"below 0.9x: {row['curve']} ({sizes}): {row['ratio']:.2f}x")
    return lines


def write_csv(rows: list, path: Path) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def plot(rows: list, path: Path, title: str) -> None:
    """Samples/s of both peers along each sweep (glassnet solid, PyTorch dashed) and all the ratios."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    found = sweeps(rows)
    panels = [("mlp over batch", "batch", "MLP 784-H-10, SGD"), ("mlp over hidden", "hidden", "MLP 784-H-10, SGD"),
              ("length over", "length", "LSTM 32->64, batch 64"), ("hidden over", "hidden", "LSTM T=50, batch 64"),
              ("image over", "image", "Conv2d stack, batch 32")]
    figure, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    for ax, (prefix, variable, name) in zip(axes.flat, panels):
        for index, (label, _, series) in enumerate(s for s in found if s[0].startswith(prefix)):
            values = [value for value, _, _ in series]
            color = f"C{index % 10}"
            fixed = label.split("(")[-1].rstrip(")") + ": " if "(" in label else ""
            ax.plot(values, [row["glassnet_samples_per_s"] for _, _, row in series], "o-", color=color,
                    label=f"{fixed}glassnet")
            ax.plot(values, [row["pytorch_samples_per_s"] for _, _, row in series], "s--", color=color, alpha=0.7,
                    label=f"{fixed}PyTorch")
        ax.set(xscale="log", yscale="log", xlabel=variable, ylabel="samples/s", title=f"{name}: over {variable}")
        if ax.lines:
            ax.legend(fontsize=7)
    ratio_ax = axes.flat[5]
    for index, (label, _, series) in enumerate(found):
        ratio_ax.plot(range(len(series)), [ratio for _, ratio, _ in series], "o-", color=f"C{index % 10}",
                      label=label, linewidth=1)
    ratio_ax.axhline(1.0, color="black", linewidth=0.8)
    ratio_ax.axhline(0.9, color="gray", linestyle=":", linewidth=0.8)
    ratio_ax.set(yscale="log", xlabel="point along the sweep (small to large)", ylabel="glassnet / PyTorch",
                 title="ratio of samples/s (above 1: glassnet faster)")
    if ratio_ax.lines:
        ratio_ax.legend(fontsize=5, ncol=2)
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main(argv=None) -> list:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="the coarse grid, 0.3 s per point")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each (curve, peer) pair (default 3)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and PyTorch threads (default 1)")
    parser.add_argument("--curves", default=",".join(CURVES), help=f"subset of {','.join(CURVES)}")
    parser.add_argument("--seconds", type=float, default=None,
                        help="timed seconds per point (default 0.3 with --quick, else 1.0)")
    parser.add_argument("--out", default=str(HERE / "out"), help="folder of scaling.csv and scaling.png")
    parser.add_argument("--keep-subnormals", action="store_true",
                        help="compute with subnormal floats (vision_and_sequence.flush_subnormals)")
    parser.add_argument("--grid", choices=tuple(GRIDS), default=None, help=argparse.SUPPRESS)
    parser.add_argument("--serve", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.keep_subnormals:
        os.environ[vs.KEEP_SUBNORMALS] = "1"  # the children inherit it
    grid = args.grid or ("quick" if args.quick else "full")
    seconds = args.seconds if args.seconds is not None else (0.3 if args.quick else 1.0)
    if args.serve:
        peer, curve, grid = args.serve
        vs.child_floats(peer)
        serve(peer, curve, grid, args.threads)
        return []
    curves = [c for c in args.curves.split(",") if c]
    if not curves or any(c not in CURVES for c in curves):
        parser.error(f"--curves takes names from {','.join(CURVES)}, got {args.curves!r}")
    if args.repeats < 1 or args.threads < 1 or not seconds > 0:
        parser.error("--repeats and --threads must be >= 1 and --seconds > 0")
    print(f"python scaling.py {' '.join(argv if argv is not None else sys.argv[1:])}; {vs.load()}")
    begin = time.perf_counter()
    chunks = 3 if grid == "quick" else 5
    results: dict = {c: [] for c in curves}
    for round_ in range(args.repeats):
        for curve in curves:
            points = measure_curve(curve, grid, args.threads, seconds, chunks)
            results[curve].append(points)
            print(f"round {round_ + 1}: {curve:7s} ratios " + " ".join(
                f"{statistics.median(pt / gn for gn, pt in zip(*(p['seconds'][peer] for peer in PEERS))):.2f}"
                for p in points) + f"  {vs.load()}", file=sys.stderr, flush=True)
    rows = collect(results, curves, grid)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    write_csv(rows, out / "scaling.csv")
    plot(rows, out / "scaling.png", f"glassnet vs PyTorch CPU, {args.threads} thread(s), {grid} grid, "
         f"median of {args.repeats}")
    print(f"\n{grid} grid, {args.threads} thread(s), median of {args.repeats}, {seconds} s per point, "
          f"{time.perf_counter() - begin:.0f} s in all; {vs.load()}")
    print(f"{'curve':7s} {'hidden':>6s} {'batch':>5s} {'length':>6s} {'image':>5s} {'glassnet/s':>11s} "
          f"{'PyTorch/s':>10s} {'ratio':>7s}")
    for row in rows:
        print(f"{row['curve']:7s} {row['hidden']!s:>6s} {row['batch']:5d} {row['length']!s:>6s} {row['image']!s:>5s} "
              f"{row['glassnet_samples_per_s']:11,.0f} {row['pytorch_samples_per_s']:10,.0f} {row['ratio']:6.2f}x")
    print("\nCrossover points (ratio = glassnet samples/s / PyTorch's; below 1: PyTorch faster):")
    for line in crossovers(rows):
        print("  " + line)
    print(f"wrote {out / 'scaling.csv'} and {out / 'scaling.png'}")
    return rows


if __name__ == "__main__":
    main()
