"""``tinygrad-moons baseline``: logistic regression's straight boundary beside the network's."""

from __future__ import annotations

import argparse
import warnings

import numpy as np

from tinygrad_moons import data, nn, plot
from tinygrad_moons.cli.options import add_out, add_training_options
from tinygrad_moons.train import fit, predict

DESCRIPTION = (
    "Fit scikit-learn's LogisticRegressionCV, as the write-up did, and the network on\n"
    "the write-up's data; draw both boundaries with their accuracies."
)
EXAMPLE = "tinygrad-moons baseline --out baseline.png"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_training_options(parser, epochs=20000, one_hidden_layer=True)
    add_out(parser, "baseline.png")


def run(args: argparse.Namespace) -> int:
    from sklearn.linear_model import LogisticRegressionCV  # scikit-learn only for this one

    X, y = data.make_moons()
    with warnings.catch_warnings():  # new defaults announced; the old ones are the write-up's
        warnings.simplefilter("ignore", FutureWarning)
        logistic = LogisticRegressionCV().fit(X, y)
    model = nn.MLP([2, args.hidden, 2], seed=args.seed)  # the write-up's network and training
    fit(model, X, y, epochs=args.epochs, lr=args.lr, reg=args.reg, progress=None)  # bar on a tty
    panels = []
    for name, classify in [
        ("Logistic regression", logistic.predict),
        (f"Network, hidden layer size {args.hidden}", lambda P: predict(model, P)),
    ]:
        accuracy = np.mean(classify(X) == y)
        print(f"{name}: training accuracy {accuracy:.1%}")
        panels.append((f"{name} ({accuracy:.1%})", classify))
    title = (
        f"A straight line against the 2-{args.hidden}-2 network after {args.epochs} epochs "
        f"(lr {args.lr:g}, reg {args.reg:g})"
    )
    figure = plot.decision_boundary_grid(panels, X, y, title=title)
    print(f"Figure written to {plot.save(figure, args.out)}")
    return 0
