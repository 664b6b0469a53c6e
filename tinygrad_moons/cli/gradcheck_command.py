"""``tinygrad-moons gradcheck``: autodiff, hand-derived and finite-difference gradients."""

from __future__ import annotations

import argparse

import numpy as np

from tinygrad_moons import data, plot, reference, three_gradients
from tinygrad_moons.cli.options import add_training_options, figure_file
from tinygrad_moons.cli.terminal import UserError
from tinygrad_moons.cli.types import difference_step

DESCRIPTION = (
    "Relative errors of the three gradients of the write-up's summed objective, at the\n"
    "initial parameters and after training; exit 1 if a bound breaks."
)
EXAMPLE = "tinygrad-moons gradcheck --hidden 3 --plot steps.png"
DEFAULT_EPS = 1e-6
BOUNDS = {"autodiff_vs_formulas": 1e-10, "autodiff_vs_fd": 1e-6, "formulas_vs_fd": 1e-6}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_training_options(parser, epochs=1000, one_hidden_layer=True)
    parser.add_argument(
        "--eps", type=difference_step, default=DEFAULT_EPS, help="difference step, 1e-10 to 1e-2"
    )
    parser.add_argument(
        "--plot",
        type=figure_file,
        metavar="PNG",
        help="also draw error against step size (default: no figure)",
    )


def _plot_step_sizes(args: argparse.Namespace, X: np.ndarray, y: np.ndarray, params) -> None:
    steps = np.logspace(-12, -1, 45)
    errors = three_gradients.finite_difference_error_by_step(params, X, y, args.reg, steps)
    ax = plot.step_size_curve(
        steps,
        errors,
        title=f"Central differences vs autodiff: 2-{args.hidden}-2 network at its start, "
        f"reg {args.reg:g}",
    )
    print(f"Step-size curve written to {plot.save(ax.figure, args.plot)}")


def run(args: argparse.Namespace) -> int:
    X, y = data.make_moons()
    with np.errstate(all="ignore"):  # a rate that overflows is judged below, in one line
        trained, _ = reference.train(
            X, y, args.hidden, epsilon=args.lr, reg=args.reg, passes=args.epochs, seed=args.seed
        )
    if not all(np.all(np.isfinite(value)) for value in trained.values()):
        raise UserError(
            f"training at --lr {args.lr:g} diverged: the parameters after {args.epochs} "
            f"passes are not finite, so there are no gradients to check (try a smaller --lr)"
        )
    points = [("initial", reference.init_params(args.hidden, args.seed))]
    points.append((f"after {args.epochs} passes", trained))
    print(
        f"Gradients of the summed objective, hidden size {args.hidden}, reg {args.reg}: "
        f"normwise relative error max|a-b| / max(max|a|, max|b|); central differences "
        f"with eps {args.eps:g}"
    )
    print(f"{'parameters':<22}{'param':<7}" + "".join(f"{k:>22}" for k in BOUNDS))
    print(" " * 29 + "".join(f"{'(bound ' + format(b, 'g') + ')':>22}" for b in BOUNDS.values()))
    broken = []
    for label, params in points:
        rows = three_gradients.gradient_agreement(params, X, y, args.reg, eps=args.eps)
        for name, errors in rows.items():
            cells = ""
            for key, bound in BOUNDS.items():
                ok = errors[key] <= bound
                cells += f"{errors[key]:>20.2e}{'  ' if ok else ' !'}"
                if not ok:
                    broken.append(f"{label} {name} {key} {errors[key]:.2e} > {bound:g}")
            print(f"{label:<22}{name:<7}{cells}")
    if args.plot:
        _plot_step_sizes(args, X, y, points[0][1])
    if broken:
        print("FAILED: " + "; ".join(broken))
        if all("_fd " in b for b in broken) and args.eps != DEFAULT_EPS:
            print(
                f"Autodiff and the formulas agree: only the central differences miss, and"
                f" with --eps {args.eps:g} the step may be to blame (the default is"
                f" {DEFAULT_EPS:g}; --plot draws the error against the step)"
            )
        return 1
    print("OK: all three gradients agree within the bounds")
    return 0
