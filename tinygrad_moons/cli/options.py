"""Options that several commands take, with the same names, types and help everywhere.

``--epochs`` is fit's word for one pass over the data; ``--passes``, the write-up's word
for the same thing, is accepted as its alias.
"""

from __future__ import annotations

import argparse

from tinygrad_moons import plot
from tinygrad_moons.arguments import (
    non_negative_float,
    output_file,
    positive_float,
    positive_int,
    seed,
)


def add_training_options(
    parser: argparse.ArgumentParser, epochs: int, one_hidden_layer: bool = False
) -> None:
    """--hidden (with ``one_hidden_layer``), --epochs/--passes, --lr, --reg and --seed."""
    if one_hidden_layer:
        add_hidden(parser)
    add_epochs(parser, epochs)
    parser.add_argument("--lr", type=positive_float, default=0.01, help="learning rate")
    add_reg(parser)
    parser.add_argument("--seed", type=seed, default=0, help="seed of the initial weights")


def add_hidden(parser: argparse.ArgumentParser) -> None:
    """--hidden: the units of the write-up's one hidden layer (its 3 by default)."""
    parser.add_argument("--hidden", type=positive_int, default=3, help="hidden units")


def add_epochs(parser: argparse.ArgumentParser, epochs: int) -> None:
    parser.add_argument(
        "--epochs",
        "--passes",
        dest="epochs",
        type=positive_int,
        default=epochs,
        metavar="N",
        help="epochs of training: passes over the data, the write-up's 'passes'",
    )


def add_reg(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reg", type=non_negative_float, default=0.01, help="L2 strength, the write-up's lambda"
    )


def figure_file(text: str) -> str:
    """A file ``output_file`` accepts whose suffix names a format matplotlib writes."""
    try:
        plot.figure_format(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return output_file(text)


def add_out(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--out", type=figure_file, default=default, metavar="PNG", help="figure to write"
    )
