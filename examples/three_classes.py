"""Exercise 4: three classes, a softmax over 3 outputs on three overlapping Gaussian blobs.

Finding: the 2-3-3 softmax network classifies 92.1% of the held-out points right (94.7%
of its training points), 0.6 points under the 92.7% of the best possible rule.

The data are scikit-learn's make_blobs around three centres on a circle of radius 2
(``data.ring_centers``), standard deviation 1: 300 training points (seed 0) and 1000
held-out points of the same problem (seed 1). The blobs overlap, so no classifier is
perfect: with equal spreads and equal class sizes the best possible rule is "nearest
centre", whose held-out accuracy is printed beside the network's as the ceiling.

    python examples/three_classes.py
    python examples/three_classes.py --quick
"""

from __future__ import annotations

import _common
import numpy as np

from tinygrad_moons import data, nn, plot
from tinygrad_moons.cli.types import positive_int
from tinygrad_moons.train import fit, predict

CLASSES = 3


# --quick: a run of a few seconds whose finding holds too
QUICK = ["--epochs", "1000"]


def nearest_centre(centers: np.ndarray):
    """The Bayes-optimal rule for equal isotropic blobs of equal size: the nearest centre."""

    def predict_classes(P: np.ndarray) -> np.ndarray:
        return np.argmin(((P[:, None, :] - centers[None]) ** 2).sum(axis=2), axis=1)

    return predict_classes


def main(argv: list[str] | None = None) -> dict:
    parser = _common.parser(__doc__, QUICK)
    parser.add_argument(
        "--epochs", type=positive_int, default=5000, help="full-batch epochs (5000)"
    )
    parser.add_argument("--hidden", type=positive_int, default=3, help="hidden units (3)")
    parser.add_argument(
        "--train-points", type=positive_int, default=300, help="training points (300)"
    )
    args = parser.parse_args(argv)

    centers = data.ring_centers(CLASSES)
    X, y = data.make_blobs(args.train_points, CLASSES, seed=0, centers=centers)
    X_test, y_test = data.make_blobs(1000, CLASSES, seed=1, centers=centers)
    model = nn.MLP([2, args.hidden, CLASSES], seed=0)
    history = fit(model, X, y, epochs=args.epochs)
    train, test = history.accuracy[-1], _common.accuracy(model, X_test, y_test)
    ceiling = float(np.mean(nearest_centre(centers)(X_test) == y_test))
    print(f"Three blobs, 2-{args.hidden}-3 softmax network, {args.epochs} epochs:")
    _common.print_table(
        ["loss", "train", "held-out", "nearest centre (held-out)"],
        [(f"{history.loss[-1]:.4f}", f"{train:.1%}", f"{test:.1%}", f"{ceiling:.1%}")],
    )

    panels = [
        (
            f"Network 2-{args.hidden}-3 (lr 0.01, reg 0.01), training points ({train:.1%})",
            lambda P: predict(model, P),
        ),
        (f"Network, held-out points ({test:.1%})", lambda P: predict(model, P)),
    ]
    figure = plot.new_figure(16.5, 4.8)
    axes = figure.subplots(1, 3)
    for ax, (title, predict_classes), (points, labels) in zip(
        axes, panels, [(X, y), (X_test, y_test)], strict=False
    ):
        plot.decision_boundary(predict_classes, points, labels, ax=ax, title=title)
    plot.decision_boundary(
        nearest_centre(centers),
        X_test,
        y_test,
        ax=axes[2],
        title=f"Nearest centre, held-out points ({ceiling:.1%})",
    )
    path = _common.save(figure, args.out_dir, "three_classes.png")
    holds = test >= ceiling - 0.02 and test > 0.85
    _common.verdict(
        holds,
        "the network comes within 2 points of the best possible rule (nearest centre) held out",
        f"{test:.1%} against {ceiling:.1%}",
    )
    return {
        "finding_holds": holds,
        "loss": history.loss[-1],
        "train_accuracy": train,
        "test_accuracy": test,
        "nearest_centre_accuracy": ceiling,
        "figure": path,
    }


if __name__ == "__main__":
    _common.exit_with(main())
