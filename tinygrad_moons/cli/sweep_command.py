"""``tinygrad-moons sweep``: one network per hidden size, in parallel, drawn as a grid."""

from __future__ import annotations

import argparse
import sys
import time

from tinygrad_moons import data, plot
from tinygrad_moons.cli.options import add_out, add_training_options
from tinygrad_moons.cli.terminal import UsageError, UserError, bar, say
from tinygrad_moons.cli.train_command import chance_advice, chance_level
from tinygrad_moons.cli.types import n_jobs, positive_int
from tinygrad_moons.sweep import SweepResult, hidden_size_sweep, workers
from tinygrad_moons.train import TrainingDiverged, predict

DESCRIPTION = (
    "The write-up's hidden-size sweep: one single-hidden-layer network per value of\n"
    "--hidden, trained in parallel with joblib (or on a Dask cluster), drawn as a grid.\n"
    "A line is printed as each network finishes (and a bar over the networks on a terminal)."
)
EXAMPLE = "tinygrad-moons sweep --hidden 1 2 3 4 5 20 50 --n-jobs 2 --out grid.png"
HEADER = f"{'hidden':>6} {'final loss':>11} {'train acc':>10} {'held-out acc':>13}"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--hidden", type=positive_int, nargs="+", default=[1, 2, 3, 4, 5, 20, 50], help="sizes"
    )
    add_training_options(parser, epochs=20000)
    parser.add_argument(
        "--n-jobs", type=n_jobs, default=1, metavar="N", help="networks at once; -1: every core"
    )
    parser.add_argument(
        "--backend", choices=("loky", "threading", "dask"), default="loky", help="joblib's"
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="Dask scheduler, with --backend dask (default: none)"
    )
    add_out(parser, "hidden_sizes.png")


def _row(r: SweepResult) -> str:
    return f"{r.hidden:>6} {r.final_loss:>11.6f} {r.train_accuracy:>10.1%} {r.test_accuracy:>13.1%}"


def run(args: argparse.Namespace) -> int:
    if args.backend == "dask" and not args.scheduler:
        raise UsageError("--backend dask needs --scheduler ADDRESS (e.g. tcp://host:8786)")
    if args.scheduler and args.backend != "dask":
        raise UsageError(f"--scheduler is only used with --backend dask, not {args.backend}")
    print(
        f"Training {len(args.hidden)} networks for {args.epochs} epochs each, "
        f"{workers(args.n_jobs, len(args.hidden), local=args.backend != 'dask')} at a time "
        f"({args.backend})"
    )
    start = time.perf_counter()
    progress = bar(len(args.hidden), "network", "sweep", on=sys.stdout.isatty())

    def finished(result: SweepResult) -> None:
        seconds = time.perf_counter() - start
        say(
            f"hidden size {result.hidden} trained ({seconds:.1f} s): final loss "
            f"{result.final_loss:.6f}, train {result.train_accuracy:.1%}, held-out "
            f"{result.test_accuracy:.1%}"
        )
        if progress is not None:
            progress.update(1)

    try:
        results = hidden_size_sweep(
            args.hidden,
            epochs=args.epochs,
            lr=args.lr,
            reg=args.reg,
            seed=args.seed,
            n_jobs=args.n_jobs,
            backend=args.backend,
            scheduler=args.scheduler,
            on_result=finished,
        )
    except (TrainingDiverged, OSError) as error:
        raise UserError(str(error)) from None
    finally:
        if progress is not None:
            progress.close()
    X, y = data.make_moons()
    print(HEADER)
    panels = []
    for r in results:
        print(_row(r))
        model = r.model()
        title = (
            f"Hidden size {r.hidden}: train {r.train_accuracy:.1%}, held-out {r.test_accuracy:.1%}"
        )
        panels.append((title, lambda P, m=model: predict(m, P)))
    figure = plot.decision_boundary_grid(
        panels,
        X,
        y,
        title=f"The write-up's network by hidden-layer size: {args.epochs} epochs of batch "
        f"gradient descent, lr {args.lr:g}, reg {args.reg:g}",
    )
    print(f"Grid written to {plot.save(figure, args.out)}")
    chance = chance_level(y)
    at_chance = [r for r in results if r.train_accuracy <= chance]
    if at_chance:  # train's rule: a run no better than chance is an error
        sizes = ", ".join(f"{r.hidden} ({r.train_accuracy:.1%})" for r in at_chance)
        raise UserError(
            f"hidden size{'s' * (len(at_chance) > 1)} {sizes} ended no better than chance"
            f" ({chance:.1%}, what always answering the commonest class scores on the"
            f" training points); {chance_advice(args.lr)}"
        )
    return 0
