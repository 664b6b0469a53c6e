"""``tinygrad-moons bench``: time one training step against the write-up's (``bench``)."""

from __future__ import annotations

import argparse

from tinygrad_moons import bench
from tinygrad_moons.cli.terminal import PROG, say
from tinygrad_moons.cli.types import positive_int, workload

DESCRIPTION = (
    "Time, interleaved and repeated, one full-batch step of the write-up's network: its\n"
    "own step, the hand-written one, the straight-line floor, Tensor + F, nn.MLP +\n"
    "optim.SGD, the compiled step and PyTorch (when importable); and on 200x3 fit's\n"
    "20,000 epochs against the write-up's loop and fit's floor (2,000 with --quick), the\n"
    "mini-batch fit (500 epochs, --quick too) and the dropout fit against their\n"
    "hand-written loops and floors. Print each one's ratio to its baseline, peak memory\n"
    "and the targets; beside each target not met, its floor's ratio (BOUNDED when the\n"
    "floor misses it too) and where its time goes by part, timed in the same run. Then the\n"
    "Hessian-vector product of the summed objective against torch.autograd.functional.hvp\n"
    "at 200x3 and 10000x64. Progress goes to stderr."
)
EXAMPLE = "tinygrad-moons bench --quick --workloads 200x3 10000x64"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--quick", action="store_true", help="about a minute: small workloads, 2,000 epochs"
    )
    parser.add_argument(
        "--repeats", type=positive_int, help="interleaved repeats (default: 7; 3 with --quick)"
    )
    parser.add_argument(
        "--workloads",
        type=workload,
        nargs="+",
        metavar="NxH",
        help="N points x H hidden units (default: "
        + " ".join(f"{n}x{h}" for n, h in bench.WORKLOADS)
        + "; with --quick the first three)",
    )


def _progress(text: str) -> None:
    say(f"{PROG} bench: {text} ...", error=True)


def run(args: argparse.Namespace) -> int:
    """Run the benchmark the options ask for; print the table and the targets."""
    workloads = args.workloads or (bench.QUICK_WORKLOADS if args.quick else bench.WORKLOADS)
    result = bench.run_benchmark(
        tuple(workloads),
        args.repeats or (3 if args.quick else 7),
        min_time=0.02 if args.quick else 0.05,
        fit_epochs=2000 if args.quick else bench.FIT_EPOCHS,
        fit_repeats=3,  # whole trainings: the median of three, --quick too (~2 s more)
        progress=_progress,
    )
    print(bench.format_table(result))
    from tinygrad_moons.bench.hvp import HVP_WORKLOADS, time_hvp  # needs autograd's hvp

    _progress(f"Hessian-vector products at {', '.join(f'{n}x{h}' for n, h in HVP_WORKLOADS)}")
    for timing in time_hvp(HVP_WORKLOADS, repeats=3 if args.quick else 5):
        print(timing.line())
    return 0
