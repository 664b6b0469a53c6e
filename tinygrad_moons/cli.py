"""The command line: ``tinygrad-moons COMMAND`` or ``python -m tinygrad_moons COMMAND``.

    tinygrad-moons train                          the write-up's network, its log, the figure
    tinygrad-moons train --hidden 10 10 --activation relu --optimizer adam --lr 0.01
    tinygrad-moons predict --model model.npz --input points.csv
    tinygrad-moons sweep --hidden 1 2 3 4 5 20 50 --n-jobs 2
    tinygrad-moons baseline                       logistic regression beside the network
    tinygrad-moons gradcheck --hidden 3           autodiff vs hand-derived vs differences
    tinygrad-moons graph                          the 2-H-2 loss's computation graph
    tinygrad-moons compile --hidden 3             the Python its compiled training step runs
    tinygrad-moons bench --quick                  one training step against numpy, PyTorch

This module only parses; the commands live in ``commands.py``. A bad option or value is
one line on stderr and exit code 2; an input problem found while running (a malformed
CSV row, a model file that does not load) is one line and exit code 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import numpy as np

from tinygrad_moons.nn import ACTIVATIONS
from tinygrad_moons.optim import OPTIMIZERS


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option or value in one line, exit code 2."""

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _number(text: str, kind: type, minimum: float, strict: bool) -> float:
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not np.isfinite(value) or value < minimum or (strict and value == minimum):
        relation = ">" if strict else ">="
        raise argparse.ArgumentTypeError(f"expected a number {relation} {minimum}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def positive_float(text: str) -> float:
    return _number(text, float, 0.0, strict=True)


def non_negative_float(text: str) -> float:
    return _number(text, float, 0.0, strict=False)


def workload(text: str) -> tuple[int, int]:
    """A benchmark workload "NxH": N points, H hidden units."""
    try:
        n, hidden = (int(part) for part in text.lower().split("x"))
    except ValueError:
        n = hidden = 0
    if n < 1 or hidden < 1:
        raise argparse.ArgumentTypeError(f"a workload is NxH, e.g. 200x3; got {text!r}")
    return n, hidden


def _command(commands, name: str, summary: str, description: str, example: str):
    return commands.add_parser(
        name,
        help=summary,
        description=description,
        epilog=f"example: {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _add_training_options(
    parser: argparse.ArgumentParser, passes: int, one_hidden_layer: bool = False
) -> None:
    if one_hidden_layer:
        parser.add_argument("--hidden", type=positive_int, default=3, help="hidden units (3)")
    parser.add_argument(
        "--passes", type=positive_int, default=passes, help=f"epochs of training ({passes})"
    )
    parser.add_argument("--lr", type=positive_float, default=0.01, help="learning rate (0.01)")
    parser.add_argument("--reg", type=non_negative_float, default=0.01, help="L2 lambda (0.01)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights (0)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tinygrad-moons",
        description="The two-moons network of 'Implementing a Neural Network from Scratch "
        "in Python', trained with a small autodiff engine.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = _command(
        commands,
        "train",
        "train a network and draw its decision boundary",
        "Train on the write-up's 200 moons (or blobs with --classes 3 and more), print the "
        "loss every 1000 passes\n(a progress bar on a terminal), the training and held-out "
        "accuracy, and write the decision boundary.\nWith the defaults it is the write-up's "
        "network: 2-3-2, tanh, batch gradient descent, lr 0.01, reg 0.01.",
        "tinygrad-moons train --hidden 10 10 --activation relu --optimizer adam --save m.npz",
    )
    train.add_argument(
        "--hidden", type=positive_int, nargs="+", default=[3], help="hidden layer sizes (3)"
    )
    train.add_argument("--activation", choices=list(ACTIVATIONS), default="tanh", help="(tanh)")
    train.add_argument("--optimizer", choices=list(OPTIMIZERS), default="sgd", help="(sgd)")
    _add_training_options(train, passes=20000)
    train.add_argument("--batch-size", type=positive_int, help="mini-batch size (full batch)")
    train.add_argument("--classes", type=positive_int, default=2, help="2: moons; 3+: blobs")
    train.add_argument("--out", default="decision_boundary.png", help="figure path (PNG)")
    train.add_argument("--save", metavar="PATH", help="save the model (.npz with its config)")
    train.add_argument("--print-every", type=positive_int, default=1000, help="(1000)")

    predict = _command(
        commands,
        "predict",
        "classify the points of a CSV file with a saved model",
        "Read rows of two numbers (a header line is allowed), write a header and, per row,\n"
        "the predicted class and the class probabilities.",
        "tinygrad-moons predict --model model.npz --input points.csv --output out.csv",
    )
    predict.add_argument("--model", required=True, help="a model saved by train --save")
    predict.add_argument("--input", required=True, help="CSV of points")
    predict.add_argument("--output", help="CSV to write (default: standard output)")

    sweep = _command(
        commands,
        "sweep",
        "train one network per hidden size in parallel; draw the grid",
        "The write-up's hidden-size sweep: one single-hidden-layer network per value of\n"
        "--hidden, trained in parallel with joblib (or on a Dask cluster), drawn as a grid.",
        "tinygrad-moons sweep --hidden 1 2 3 4 5 20 50 --n-jobs 2 --out grid.png",
    )
    sweep.add_argument(
        "--hidden", type=positive_int, nargs="+", default=[1, 2, 3, 4, 5, 20, 50], help="sizes"
    )
    _add_training_options(sweep, passes=20000)
    sweep.add_argument("--n-jobs", type=int, default=1, help="parallel jobs; -1 for all cores")
    sweep.add_argument("--backend", choices=("loky", "threading", "dask"), default="loky")
    sweep.add_argument("--scheduler", help="Dask scheduler address, with --backend dask")
    sweep.add_argument("--out", default="hidden_sizes.png", help="figure path (PNG)")

    baseline = _command(
        commands,
        "baseline",
        "logistic regression's straight boundary beside the network's",
        "Fit scikit-learn's LogisticRegressionCV, as the write-up did, and the network on\n"
        "the write-up's data; draw both boundaries with their accuracies.",
        "tinygrad-moons baseline --out baseline.png",
    )
    _add_training_options(baseline, passes=20000, one_hidden_layer=True)
    baseline.add_argument("--out", default="baseline.png", help="figure path (PNG)")

    check = _command(
        commands,
        "gradcheck",
        "compare autodiff, hand-derived and finite-difference gradients",
        "Relative errors of the three gradients of the write-up's summed objective, at the\n"
        "initial parameters and after training; exit 1 if a bound breaks.",
        "tinygrad-moons gradcheck --hidden 3 --plot steps.png",
    )
    _add_training_options(check, passes=1000, one_hidden_layer=True)
    check.add_argument("--eps", type=positive_float, default=1e-6, help="step (1e-6)")
    check.add_argument("--plot", metavar="PATH", help="also draw error against step size")

    graph = _command(
        commands,
        "graph",
        "draw the computation graph of the write-up's loss",
        "Build the 2-H-2 summed objective on the write-up's data, run backward, and draw\n"
        "its graph: each node with its op, shape and gradient norm (matplotlib only).",
        "tinygrad-moons graph --hidden 3 --out graph.png",
    )
    graph.add_argument("--hidden", type=positive_int, default=3, help="hidden units (3)")
    graph.add_argument("--reg", type=non_negative_float, default=0.01, help="L2 lambda (0.01)")
    graph.add_argument("--out", default="graph.png", help="figure path (PNG)")

    compiled = _command(
        commands,
        "compile",
        "print the generated Python of the write-up network's training step",
        "Capture the 2-H-2 summed objective on the write-up's data with graph.capture and\n"
        "print the straight-line numpy it generated: forward(), then backward(), which\n"
        "reads like the write-up's delta3/delta2 step (replay runs exactly this code).",
        "tinygrad-moons compile --hidden 3",
    )
    compiled.add_argument("--hidden", type=positive_int, default=3, help="hidden units (3)")
    compiled.add_argument("--reg", type=non_negative_float, default=0.01, help="L2 lambda (0.01)")
    compiled.set_defaults(handler="compile_step")  # not `compile`: that is a builtin's name

    bench = _command(
        commands,
        "bench",
        "time one training step against hand-written numpy (and PyTorch)",
        "Time, interleaved and repeated, one full-batch step of the write-up's network:\n"
        "Tensor + F, nn.MLP + optim.SGD, graph replay, hand-written numpy and PyTorch\n"
        "(when importable); print each one's ratio to numpy, peak memory and the targets.",
        "tinygrad-moons bench --quick --workloads 200x3 10000x64",
    )
    bench.add_argument("--quick", action="store_true", help="under 30 s: small workloads")
    bench.add_argument("--repeats", type=positive_int, help="interleaved repeats (7; 3 quick)")
    bench.add_argument(
        "--workloads", type=workload, nargs="+", metavar="NxH", help="N points x H hidden units"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code."""
    from tinygrad_moons import commands

    args = build_parser().parse_args(argv)
    try:
        return getattr(commands, getattr(args, "handler", args.command))(args)
    except commands.UserError as error:
        print(f"tinygrad-moons {args.command}: error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
