"""Exercise 2: annealing, lr0 / (1 + k t) from a larger start against the fixed lr 0.01.

Finding: over the write-up's 20,000 epochs, 0.03 / (1 + 0.001 t) settles at loss 0.06782
while the fixed 0.01 ends oscillating between 0.07076 and 0.07132; the fixed 0.03 alone
oscillates with spikes up to 1.38, 0.1 stalls (loss 0.49 to 10.7, 85% accuracy) and
1000 diverges at epoch 157.

The write-up's network and data; t counts epochs (fit steps the schedule once per epoch).
Each run is classed by what its loss does over the last 10% of the epochs: it "settles"
(never rises by more than a relative 1e-6 from one epoch to the next), "oscillates" (it
does), "stalls" (ends above twice the loss of lr 0.01) or "diverges" (fit raises
TrainingDiverged, which is caught and reported here).

    python examples/annealing.py
    python examples/annealing.py --quick
"""

from __future__ import annotations

import _common
import matplotlib
import numpy as np

from tinygrad_moons import data, nn, optim, plot
from tinygrad_moons.cli.types import non_negative_float, positive_float, positive_int
from tinygrad_moons.train import History, TrainingDiverged, fit

# --quick: a run of a few seconds whose finding holds too
QUICK = ["--epochs", "3000", "--fixed", "0.03", "1000"]


def train(lr: float, epochs: int, k: float | None = None) -> History | TrainingDiverged:
    """SGD on the write-up's network from lr (decayed by k when given): History or error."""
    X, y = data.make_moons()
    model = nn.MLP([2, 3, 2], seed=0)
    optimizer = optim.SGD(model.parameters(), lr)
    schedule = optim.InverseTimeDecay(optimizer, k) if k is not None else None
    try:
        return fit(model, X, y, epochs=epochs, optimizer=optimizer, schedule=schedule)
    except TrainingDiverged as error:
        return error


def behaviour(run: History | TrainingDiverged, baseline: float) -> dict:
    """What a run's loss does at the end: final loss, range of the last 10%, a verdict."""
    if isinstance(run, TrainingDiverged):
        return {"verdict": f"diverges (epoch {run.epoch})", "final": None, "tail": None}
    loss = np.array(run.loss)
    tail = loss[-max(2, len(loss) // 10) :]
    largest_rise = np.max(np.diff(tail) / tail[:-1])
    if loss[-1] > 2 * baseline:
        verdict = "stalls"
    elif largest_rise > 1e-6:
        verdict = "oscillates"
    else:
        verdict = "settles"
    return {"verdict": verdict, "final": float(loss[-1]), "tail": (tail.min(), tail.max())}


def main(argv: list[str] | None = None) -> dict:
    parser = _common.parser(__doc__, QUICK)
    parser.add_argument("--epochs", type=positive_int, default=20000, help="epoch budget (20000)")
    parser.add_argument("--lr0", type=positive_float, default=0.03, help="annealing's start (0.03)")
    parser.add_argument(
        "--k", type=non_negative_float, default=0.001, help="decay per epoch (0.001)"
    )
    parser.add_argument(
        "--fixed",
        type=positive_float,
        nargs="+",
        default=[0.03, 0.1, 1000.0],
        help="larger fixed rates",
    )
    args = parser.parse_args(argv)

    baseline_run = train(0.01, args.epochs)
    baseline = baseline_run.loss[-1]
    runs = {"fixed 0.01": baseline_run}
    runs[f"{args.lr0:g} / (1 + {args.k:g} t)"] = train(args.lr0, args.epochs, args.k)
    for lr in args.fixed:
        runs[f"fixed {lr:g}"] = train(lr, args.epochs)

    results, rows = {}, []
    for label, run in runs.items():
        b = behaviour(run, baseline)
        results[label] = b
        final = "-" if b["final"] is None else f"{b['final']:.5f}"
        tail = "-" if b["tail"] is None else f"{b['tail'][0]:.5f} .. {b['tail'][1]:.5f}"
        accuracy = "-" if isinstance(run, TrainingDiverged) else f"{run.accuracy[-1]:.1%}"
        rows.append((label, final, tail, accuracy, b["verdict"]))
    print(f"Learning rates on the write-up's network, {args.epochs} epochs each:")
    _common.print_table(["rate", "final loss", "last 10% of epochs", "accuracy", "it"], rows)
    annealed = f"{args.lr0:g} / (1 + {args.k:g} t)"
    for label, run in runs.items():
        if isinstance(run, TrainingDiverged):
            print(f"{label}: {run}")

    finished = {label: run for label, run in runs.items() if isinstance(run, History)}
    compared = {label: finished[label] for label in ("fixed 0.01", annealed)}
    larger = {label: run for label, run in finished.items() if label not in compared}
    figure = plot.new_figure(17.0, 4.8)
    left, middle, right = figure.subplots(1, 3)
    title = "Annealing against the fixed 0.01 (reg 0.01)"
    plot.history_curves(compared, ax=left, log=True, title=title)
    left.set_ylim(0.9 * min(min(run.loss) for run in compared.values()), 0.5)
    colors = matplotlib.rcParams["axes.prop_cycle"].by_key()["color"]
    window = max(1, args.epochs // 200)
    for i, (label, run) in enumerate(larger.items()):
        # A loss jumping every epoch draws as a solid band: show, per window of epochs, the
        # range it spans (shaded) and its median (the line) instead.
        color = colors[(len(compared) + i) % len(colors)]
        losses = np.asarray(run.loss)
        rows = losses[: len(losses) // window * window].reshape(-1, window)
        epochs = np.arange(len(rows)) * window + window / 2
        middle.fill_between(epochs, rows.min(axis=1), rows.max(axis=1), color=color, alpha=0.25)
        middle.plot(epochs, np.median(rows, axis=1), color=color, label=f"{label}, median")
    middle.set(
        yscale="log",
        xlabel="epoch",
        ylabel="loss",
        title=f"Larger fixed rates alone (reg 0.01): range and median per {window} epochs"
        if larger
        else "",
    )
    if larger:
        middle.legend()
        middle.grid(True, alpha=0.3)
    diverged = [
        f"{label}: diverged at epoch {run.epoch}"
        for label, run in runs.items()
        if isinstance(run, TrainingDiverged)
    ]
    if diverged:
        middle.text(0.02, 0.02, "\n".join(diverged), transform=middle.transAxes, color="C3")
    middle.set_title(middle.get_title() or "Larger fixed rates alone")
    title = "Learning rate per epoch (reg 0.01 throughout)"
    plot.history_curves(finished, key="lr", ax=right, log=True, title=title)
    right.legend(loc="center right")
    holds = (
        results[annealed]["verdict"] == "settles"
        and results["fixed 0.01"]["verdict"] == "oscillates"
        and results[annealed]["final"] < baseline
    )
    _common.verdict(
        holds,
        f"{annealed} settles below the fixed 0.01, which ends oscillating",
        f"annealing {results[annealed]['verdict']} at {results[annealed]['final']}, the fixed "
        f"0.01 {results['fixed 0.01']['verdict']} at {baseline:.5f}",
    )
    path = _common.save(figure, args.out_dir, "annealing.png")
    return {
        "finding_holds": holds,
        "fixed_final": baseline,
        "annealed_final": results[annealed]["final"],
        "by_rate": results,
        "annealed": annealed,
        "figure": path,
    }


if __name__ == "__main__":
    _common.exit_with(main())
