"""The command line: ``tinygrad-moons COMMAND`` or ``python -m tinygrad_moons COMMAND``.

tinygrad-moons train                  # the write-up's network, its loss log, the figure
tinygrad-moons gradcheck --hidden 3   # autodiff vs hand-derived vs finite differences
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Sequence

import numpy as np

from tinygrad_moons import reference, writeup

WRITEUP_SEED = 0  # the write-up's np.random.seed(0) before make_moons(200, noise=0.20)


class _Parser(argparse.ArgumentParser):
    """argparse that reports a bad option or value in one line, exit code 2."""

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not np.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    value = _non_negative_float(text)
    if value == 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text!r}")
    return value


def writeup_moons(n: int = 200, noise: float = 0.20) -> tuple[np.ndarray, np.ndarray]:
    """The write-up's data: ``np.random.seed(0); make_moons(200, noise=0.20)``."""
    from sklearn.datasets import make_moons

    return make_moons(n, noise=noise, random_state=np.random.RandomState(WRITEUP_SEED))


def _add_network_options(parser: argparse.ArgumentParser, passes: int) -> None:
    parser.add_argument("--hidden", type=_positive_int, default=3, help="hidden units (3)")
    parser.add_argument(
        "--passes", type=_positive_int, default=passes, help=f"gradient steps ({passes})"
    )
    parser.add_argument("--lr", type=_positive_float, default=0.01, help="epsilon (0.01)")
    parser.add_argument("--reg", type=_non_negative_float, default=0.01, help="lambda (0.01)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the initial weights (0)")


def _train(args: argparse.Namespace) -> int:
    from tinygrad_moons import plot

    X, y = writeup_moons()

    def report(i: int, loss: float) -> None:
        if i % args.print_every == 0:
            print(f"Loss after iteration {i}: {loss:f}", flush=True)

    params, losses = writeup.train(
        X,
        y,
        args.hidden,
        epsilon=args.lr,
        reg=args.reg,
        passes=args.passes,
        seed=args.seed,
        on_pass=report,
    )
    if not np.isfinite(losses[-1]):
        print(f"training diverged: loss {losses[-1]} with lr {args.lr}", file=sys.stderr)
        return 1
    accuracy = np.mean(reference.predict(params, X) == y)
    print(f"Final loss after {args.passes} passes: {losses[-1]:f}")
    print(f"Training accuracy: {accuracy:.1%} of {len(y)} points")
    ax = plot.decision_boundary(
        lambda P: reference.predict(params, P),
        X,
        y,
        title=f"Decision boundary for hidden layer size {args.hidden}",
    )
    path = plot.save(ax.figure, args.out)
    print(f"Decision boundary written to {path}")
    return 0


def _plot_step_sizes(args: argparse.Namespace, X: np.ndarray, y: np.ndarray, params) -> None:
    from tinygrad_moons import plot

    steps = np.logspace(-12, -1, 45)
    errors = writeup.finite_difference_error_by_step(params, X, y, args.reg, steps)
    ax = plot.step_size_curve(
        steps, errors, title=f"Central differences vs autodiff, hidden size {args.hidden}"
    )
    print(f"Step-size curve written to {plot.save(ax.figure, args.plot)}")


def _gradcheck(args: argparse.Namespace) -> int:
    X, y = writeup_moons()
    bounds = {
        "autodiff_vs_formulas": 1e-10,
        "autodiff_vs_fd": 1e-6,
        "formulas_vs_fd": 1e-6,
    }
    trained, _ = reference.train(
        X, y, args.hidden, epsilon=args.lr, reg=args.reg, passes=args.passes, seed=args.seed
    )
    points = [("initial", reference.init_params(args.hidden, args.seed))]
    points.append((f"after {args.passes} passes", trained))
    print(
        f"Gradients of the summed objective, hidden size {args.hidden}, reg {args.reg}: "
        f"normwise relative error max|a-b| / max(max|a|, max|b|); central differences "
        f"with eps {args.eps:g}"
    )
    header = f"{'parameters':<22}{'param':<7}" + "".join(f"{k:>22}" for k in bounds)
    print(header)
    print(" " * 29 + "".join(f"{'(bound ' + format(b, 'g') + ')':>22}" for b in bounds.values()))
    broken = []
    for label, params in points:
        rows = writeup.gradient_agreement(params, X, y, args.reg, eps=args.eps)
        for name, errors in rows.items():
            cells = ""
            for key, bound in bounds.items():
                ok = errors[key] <= bound
                cells += f"{errors[key]:>20.2e}{'  ' if ok else ' !'}"
                if not ok:
                    broken.append(f"{label} {name} {key} {errors[key]:.2e} > {bound:g}")
            print(f"{label:<22}{name:<7}{cells}")
    if args.plot:
        _plot_step_sizes(args, X, y, points[0][1])
    if broken:
        print("FAILED: " + "; ".join(broken))
        return 1
    print("OK: all three gradients agree within the bounds")
    return 0


def _baseline(args: argparse.Namespace) -> int:
    from sklearn.linear_model import LogisticRegressionCV

    from tinygrad_moons import plot

    X, y = writeup_moons()
    with (
        warnings.catch_warnings()
    ):  # scikit-learn announces new defaults; the old ones are the write-up's
        warnings.simplefilter("ignore", FutureWarning)
        logistic = LogisticRegressionCV().fit(X, y)
    params, _ = writeup.train(
        X, y, args.hidden, epsilon=args.lr, reg=args.reg, passes=args.passes, seed=args.seed
    )
    panels = []
    for name, predict in [
        ("Logistic regression", logistic.predict),
        (f"Network, hidden layer size {args.hidden}", lambda P: reference.predict(params, P)),
    ]:
        accuracy = np.mean(predict(X) == y)
        print(f"{name}: training accuracy {accuracy:.1%}")
        panels.append((f"{name} ({accuracy:.1%})", predict))
    figure = plot.decision_boundary_grid(panels, X, y)
    print(f"Figure written to {plot.save(figure, args.out)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="tinygrad-moons",
        description="The two-moons network of 'Implementing a Neural Network from Scratch', "
        "trained with a small autodiff engine.",
    )
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = commands.add_parser(
        "train",
        help="train the write-up's network and draw its decision boundary",
        description="Train the 2-H-2 tanh network on the write-up's 200 moons with batch "
        "gradient descent, print the loss every 1000 passes and write the figure.",
        epilog="example: tinygrad-moons train --hidden 3 --passes 20000 --out boundary.png",
    )
    _add_network_options(train, passes=20000)
    train.add_argument("--out", default="decision_boundary.png", help="PNG path")
    train.add_argument("--print-every", type=_positive_int, default=1000, help="(1000)")
    train.set_defaults(run=_train)

    check = commands.add_parser(
        "gradcheck",
        help="compare autodiff, hand-derived and finite-difference gradients",
        description="Relative errors of the three gradients of the write-up's summed "
        "objective, at the initial parameters and after training; exit 1 if a bound breaks.",
        epilog="example: tinygrad-moons gradcheck --hidden 3",
    )
    _add_network_options(check, passes=1000)
    check.add_argument("--eps", type=_positive_float, default=1e-6, help="step (1e-6)")
    check.add_argument("--plot", metavar="PATH", help="also draw error against step size")
    check.set_defaults(run=_gradcheck)

    baseline = commands.add_parser(
        "baseline",
        help="logistic regression's straight boundary beside the network's",
        description="Fit scikit-learn's LogisticRegressionCV, as the write-up did, and the "
        "network on the write-up's data; draw both boundaries with their accuracies.",
        epilog="example: tinygrad-moons baseline --out baseline.png",
    )
    _add_network_options(baseline, passes=20000)
    baseline.add_argument("--out", default="baseline.png", help="PNG path")
    baseline.set_defaults(run=_baseline)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.run(args)


if __name__ == "__main__":
    raise SystemExit(main())
