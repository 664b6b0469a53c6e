"""Regenerate the figures of the docs pages, with the library's own commands and plots.

    PYTHONPATH=. python docs/make_figures.py                  every figure (minutes: the
                                                              sweep and the benchmark)
    PYTHONPATH=. python docs/make_figures.py benchmark.png    one figure by name
    PYTHONPATH=. python docs/make_figures.py --quick --out /tmp/figures

The decision boundaries, the sweep grid, the graph and the step-size curve come from the
command line (``tinygrad-moons train|baseline|sweep|graph|gradcheck|sharpness``), exactly as a user
gets them; the rest from ``plot``. PNGs are then reduced to a 64-colour palette so each
stays small in the repository. ``benchmark.png`` runs the full benchmark (a few minutes),
keeps its measurements in ``benchmark.json`` and prints the Markdown tables for
``benchmarks.md``; ``--reuse-benchmark`` redraws from that file instead. ``--quick`` trains
for a few passes and times a tiny workload: it checks that every figure can be made (the
tests use it), it does not make figures for the docs.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
from collections.abc import Callable
from pathlib import Path

import numpy as np

from tinygrad_moons import bench, cli, data, nn, plot
from tinygrad_moons.train import fit

FIGURES_DIR = Path(__file__).resolve().parent / "figures"
DPI = 90
MAX_WIDTH = 900  # pixels; wider PNGs are scaled down


def _moons(out: Path, quick: bool) -> None:
    """The write-up's 200 points, coloured by class."""
    X, y = data.make_moons()
    ax = plot.new_axes(6.0, 4.5)
    plot.class_scatter(ax, X, y)
    ax.set(xlabel="$x_1$", ylabel="$x_2$", title="make_moons(200, noise=0.20), seed 0")
    plot.save(ax.figure, out, dpi=DPI)


def _loss(out: Path, quick: bool) -> None:
    """fit's History for hidden size 3: the loss over 20,000 passes, and its last 40."""
    X, y = data.make_moons()
    epochs = 60 if quick else 20000
    history = fit(nn.MLP([2, 3, 2], seed=0), X, y, epochs=epochs, progress=False)
    figure = plot.new_figure(9.0, 3.6)
    whole, tail = figure.subplots(1, 2, width_ratios=[1.6, 1])
    whole.semilogy(history.loss)
    plot.plain_log_ticks(whole.yaxis)
    whole.set(
        xlabel="pass", ylabel="loss", title=f"The write-up's loss, hidden size 3, {epochs} passes"
    )
    last = np.arange(len(history))[-40:]
    tail.plot(last, np.array(history.loss)[last], ".-")
    tail.set(xlabel="pass", title="The last 40 passes: a period-2 cycle")
    tail.ticklabel_format(useOffset=False)
    plot.save(figure, out, dpi=DPI)


def _hidden_units(out: Path, quick: bool) -> None:
    """One hidden unit's straight boundary; the 2-3-2 network's boundary with each hidden
    unit's line x . W1[:, j] + b1[j] = 0 drawn over it."""
    from tinygrad_moons.train import predict

    X, y = data.make_moons()
    epochs = 30 if quick else 20000
    figure = plot.new_figure(11.0, 4.6)
    left, right = figure.subplots(1, 2)
    for ax, hidden in ((left, 1), (right, 3)):
        model = nn.MLP([2, hidden, 2], seed=0)
        history = fit(model, X, y, epochs=epochs, progress=False)
        title = f"{hidden} hidden unit{'s' if hidden > 1 else ''}: train {history.accuracy[-1]:.1%}"
        plot.decision_boundary(lambda P, m=model: predict(m, P), X, y, ax=ax, title=title)
        if hidden == 3:
            x1 = np.linspace(*ax.get_xlim(), 200)
            W1, b1 = model[0].weight.data, model[0].bias.data
            for j in range(hidden):  # x1 W1[0, j] + x2 W1[1, j] + b1[j] = 0
                x2 = -(x1 * W1[0, j] + b1[j]) / W1[1, j]
                color = ("black", "tab:orange", "tab:green")[j]
                ax.plot(x1, x2, "--", color=color, lw=2.2, label=f"unit {j + 1}")
            ax.set_ylim(X[:, 1].min() - 0.5, X[:, 1].max() + 0.5)
            ax.legend(loc="lower left", fontsize=8, title="hidden unit's line")
    figure.suptitle(f"The write-up's training, {epochs} passes, lr 0.01, reg 0.01")
    plot.save(figure, out, dpi=DPI)


def _loss_spikes(out: Path, quick: bool) -> None:
    """The post's own loss (reference.train) over passes 1000-2500: the chaotic stretch."""
    from tinygrad_moons import reference

    X, y = data.make_moons()
    passes = 60 if quick else 2500
    _, losses = reference.train(X, y, 3, passes=passes)
    start = 1000 if not quick else 0
    ax = plot.new_axes(8.0, 3.6)
    ax.plot(np.arange(start, passes), losses[start:], lw=0.8)
    ax.set(
        xlabel="pass",
        ylabel="loss",
        title="The post's loss, hidden size 3 (lr 0.01, reg 0.01): spikes, then a settled cycle",
    )
    plot.save(ax.figure, out, dpi=DPI)


def _command(argv: Callable[[Path, bool], list[str]]) -> Callable[[Path, bool], None]:
    """A figure made by ``tinygrad-moons ARGV``; a failing command stops the script."""

    def make(out: Path, quick: bool) -> None:
        code = cli.main(argv(out, quick))
        if code != 0:
            raise SystemExit(f"tinygrad-moons {' '.join(argv(out, quick))} exited with {code}")

    return make


def _epochs(quick: bool, full: int = 20000) -> list[str]:
    return ["--epochs", "30" if quick else str(full)]


def _benchmark(out: Path, quick: bool, reuse: bool = False) -> None:
    """The time ratios of one benchmark run; the measurements saved beside the figure."""
    saved = out.with_suffix(".json")
    if reuse:
        record = json.loads(saved.read_text())
        measurements = [bench.Measurement(**m) for m in record["measurements"]]
        result = bench.BenchmarkResult(measurements, record["notes"])
        for p in record.get("profiles", []):  # what bounds each miss (older runs: none)
            key = (p.pop("method"), tuple(p.pop("workload")))
            result.profiles[key] = bench.Profile(**p)
    else:
        if quick:
            result = bench.run_benchmark(((20, 3),), repeats=1, min_time=0.0, memory=False)
        else:
            result = bench.run_benchmark()
        record = {
            "date": datetime.date.today().isoformat(),
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, "
            f"{platform.python_implementation()} {platform.python_version()}, "
            f"numpy {np.__version__}, load average {os.getloadavg()[2]:.1f} (15 min)",
            "measurements": [vars(m) for m in result.measurements],
            "notes": result.notes,
            "profiles": [
                {"method": method, "workload": list(workload), **vars(profile)}
                for (method, workload), profile in result.profiles.items()
            ],
        }
        saved.write_text(json.dumps(record, indent=1) + "\n")
    ax = plot.benchmark_ratios(
        result.time_ratios(),
        result.time_limits(),
        baseline=bench.METHODS[bench.BASELINE],
        title=f"One training step against the write-up's ({record['date']})",
    )
    plot.save(ax.figure, out, dpi=DPI)
    print(f"measured {record['date']} on {record['machine']}")
    print(bench.markdown_table(result))


FIGURES: dict[str, Callable[[Path, bool], None]] = {
    "moons.png": _moons,
    "loss.png": _loss,
    "baseline.png": _command(lambda out, q: ["baseline", "--out", str(out), *_epochs(q)]),
    "hidden_3.png": _command(lambda out, q: ["train", "--out", str(out), *_epochs(q)]),
    "hidden_sizes.png": _command(
        lambda out, q: ["sweep", "--n-jobs", "1" if q else "2", "--out", str(out), *_epochs(q)]
    ),
    "graph.png": _command(lambda out, q: ["graph", "--out", str(out)]),
    "gradcheck_steps.png": _command(
        lambda out, q: ["gradcheck", "--plot", str(out), *_epochs(q, full=1000)]
    ),
    "sharpness.png": _command(
        lambda out, q: [
            "sharpness",
            "--out",
            str(out),
            *_epochs(q),
            "--every",
            "10" if q else "100",
        ]
    ),
    "hidden_units.png": _hidden_units,
    "loss_spikes.png": _loss_spikes,
    "benchmark.png": _benchmark,
}


def shrink(path: Path, max_width: int = MAX_WIDTH) -> None:
    """Scale a PNG down to ``max_width`` pixels at most and store it with a 64-colour palette."""
    from PIL import Image

    image = Image.open(path).convert("RGB")
    if image.width > max_width:
        height = round(image.height * max_width / image.width)
        image = image.resize((max_width, height), Image.Resampling.LANCZOS)
    image.quantize(colors=64).save(path, optimize=True)


def main(argv: list[str] | None = None) -> int:
    """Make the named figures (all by default) in ``--out``; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"figures to make, of {', '.join(FIGURES)}")
    parser.add_argument("--out", type=Path, default=FIGURES_DIR, help="folder (docs/figures)")
    parser.add_argument("--quick", action="store_true", help="tiny settings, for the tests")
    parser.add_argument(
        "--reuse-benchmark", action="store_true", help="redraw benchmark.png from its .json"
    )
    args = parser.parse_args(argv)
    unknown = [name for name in args.names if name not in FIGURES]
    if unknown:
        parser.error(f"no figure named {', '.join(unknown)}; the figures are {', '.join(FIGURES)}")
    for name in args.names or FIGURES:
        path = args.out / name
        print(f"--- {path}")
        if name == "benchmark.png":
            _benchmark(path, args.quick, reuse=args.reuse_benchmark)
        else:
            FIGURES[name](path, args.quick)
        shrink(path, MAX_WIDTH)
        print(f"{path}: {path.stat().st_size / 1000:.0f} KB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
