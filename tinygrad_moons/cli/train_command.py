"""``tinygrad-moons train``: train a network, print the write-up's log, draw the boundary."""

from __future__ import annotations

import argparse
import sys

import numpy as np

from tinygrad_moons import data, nn, optim, plot
from tinygrad_moons.cli.options import (
    activation_name,
    add_activation,
    add_out,
    add_training_options,
)
from tinygrad_moons.cli.terminal import LossLog, UsageError, UserError, period_two
from tinygrad_moons.cli.types import class_count, output_file, positive_int
from tinygrad_moons.train import TrainingDiverged, fit, predict

DESCRIPTION = (
    "Train on the write-up's 200 moons (or blobs with --classes 3 and more), print the\n"
    "write-up's 'Loss after iteration i' every --print-every epochs (above a progress bar\n"
    "on a terminal), the training and held-out accuracy, and draw the decision boundary.\n"
    "With the defaults it is the write-up's network: 2-3-2, tanh, batch gradient descent,\n"
    "lr 0.01, reg 0.01, 20,000 passes."
)
EXAMPLE = "tinygrad-moons train --hidden 10 10 --activation relu --optimizer adam --save m.npz"
TRAIN_BLOBS = 300
MIN_POINTS_PER_CLASS = 10  # fewer training points than this per class teach it nothing
MAX_CLASSES = TRAIN_BLOBS // MIN_POINTS_PER_CLASS
WRITEUP_LR = 0.01


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--hidden", type=positive_int, nargs="+", default=[3], help="hidden layer sizes"
    )
    add_activation(parser, "tanh", "of the hidden layers")
    parser.add_argument(
        "--optimizer", choices=list(optim.OPTIMIZERS), default="sgd", help="the update rule"
    )
    add_training_options(parser, epochs=20000)
    parser.add_argument(
        "--batch-size",
        type=positive_int,
        help="mini-batch size (default: the full batch; a larger one is clipped, with a warning)",
    )
    parser.add_argument(
        "--classes",
        type=class_count,
        default=2,
        help=f"2: moons; 3 to {MAX_CLASSES}: blobs, {TRAIN_BLOBS} training points",
    )
    add_out(parser, "decision_boundary.png")
    parser.add_argument(
        "--save",
        type=output_file,
        metavar="NPZ",
        help="save the model with its architecture (default: not saved)",
    )
    parser.add_argument(
        "--print-every", type=positive_int, default=1000, metavar="N", help="epochs between lines"
    )


def _data_sets(classes: int) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Training and held-out data: the write-up's moons, or blobs around a ring."""
    if classes == 2:
        return data.make_moons(), data.held_out_moons()
    centers = data.ring_centers(classes)
    return (
        data.make_blobs(TRAIN_BLOBS, classes, seed=0, centers=centers),
        data.make_blobs(data.HELD_OUT_POINTS, classes, seed=data.HELD_OUT_SEED, centers=centers),
    )


def chance_level(y: np.ndarray) -> float:
    """The accuracy of always answering the commonest class: what a network that learnt
    nothing scores."""
    return float(np.bincount(y).max() / len(y))


def chance_advice(lr: float) -> str:
    """What to try after a run that ended no better than chance at rate ``lr``."""
    rate = "a smaller" if lr >= WRITEUP_LR else "a larger"
    return f"try {rate} --lr (the write-up's is {WRITEUP_LR:g}) or more --epochs"


def final_loss_line(losses: list[float], learnt: bool = True) -> str:
    """ "Final loss after N epochs: ...", saying so when the losses end in a period-2 cycle
    around a minimum (``learnt``: the network beat chance; a saturated network that did not
    can alternate too, far from any minimum)."""
    line = f"Final loss after {len(losses)} epochs: {losses[-1]:f}"
    cycle = period_two(losses)
    if cycle is not None and learnt:
        line += (
            f" (a period-2 cycle: the loss alternates {cycle[0]:f}, {cycle[1]:f}; the step"
            f" overshoots the minimum, a smaller --lr settles)"
        )
    return line


def run(args: argparse.Namespace) -> int:
    if args.classes > MAX_CLASSES:
        raise UsageError(
            f"--classes {args.classes} is too many for the {TRAIN_BLOBS} training points:"
            f" at most {MAX_CLASSES}, so that each class has at least {MIN_POINTS_PER_CLASS}"
        )
    (X, y), (X_test, y_test) = _data_sets(args.classes)
    sizes = [X.shape[1], *args.hidden, args.classes]
    model = nn.MLP(sizes, activation_name(args.activation), seed=args.seed)
    optimizer = optim.OPTIMIZERS[args.optimizer](model.parameters(), lr=args.lr)
    print(f"Training {model.__class__.__name__} {sizes} ({args.activation}, {args.optimizer})")
    try:
        with LossLog(args.epochs, args.print_every, bar=sys.stdout.isatty()) as log:
            history = fit(
                model,
                X,
                y,
                epochs=args.epochs,
                reg=args.reg,
                optimizer=optimizer,
                batch_size=args.batch_size,
                callbacks=[log],
                progress=False,
                seed=args.seed,
            )
    except TrainingDiverged as error:
        raise UserError(str(error)) from None
    test_accuracy = np.mean(predict(model, X_test) == y_test)
    chance = chance_level(y)
    learnt = history.accuracy[-1] > chance
    print(final_loss_line(history.loss, learnt))
    print(f"Training accuracy: {history.accuracy[-1]:.1%} of {len(y)} points")
    print(f"Held-out accuracy: {test_accuracy:.1%} of {len(y_test)} fresh points")
    if not learnt:
        raise UserError(
            f"the network ended no better than chance: {history.accuracy[-1]:.1%} of the"
            f" training points, what always answering the commonest class scores"
            f" ({chance:.1%}); {chance_advice(args.lr)}"
        )
    ax = plot.decision_boundary(
        lambda P: predict(model, P),
        X,
        y,
        title=f"Network {sizes}, {args.activation}, {args.optimizer} lr {args.lr:g}, "
        f"reg {args.reg:g}, {len(history)} epochs\n"
        f"train {history.accuracy[-1]:.1%}, held-out {test_accuracy:.1%}",
    )
    print(f"Decision boundary written to {plot.save(ax.figure, args.out)}")
    if args.save:
        nn.save(model, args.save, config={"sizes": sizes, "activation": args.activation})
        print(f"Model written to {args.save}")
    return 0
