"""Options that several commands take, with the same names, types and help everywhere.

``--epochs`` is fit's word for one pass over the data; ``--passes``, the write-up's word
for the same thing, is accepted as its alias.
"""

from __future__ import annotations

import argparse
import importlib
from typing import Any

import numpy as np

from tinygrad_moons import nn, plot
from tinygrad_moons.cli.types import (
    non_negative_float,
    output_file,
    positive_float,
    positive_int,
    seed,
)
from tinygrad_moons.tensor import Tensor


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


# A small input on which an imported activation must act as one: a Tensor of this shape.
_PROBE = np.linspace(-2.0, 2.0, 6).reshape(2, 3)


def activation_name(text: str) -> str:
    """The name in ``nn.ACTIVATIONS`` that ``text`` stands for: a registered name, or
    ``package.module:function`` (a function Tensor -> Tensor or an nn.Module class), which
    is imported, tried on a small Tensor and registered under its own name. Each failure
    is an ArgumentTypeError of one line saying which step failed."""
    if text in nn.ACTIVATIONS:
        return text
    if ":" not in text:
        raise argparse.ArgumentTypeError(
            f"invalid choice: {text!r} (choose from {', '.join(nn.ACTIVATIONS)}, or name "
            f"your own as package.module:function)"
        )
    module_name, _, attribute = text.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        raise argparse.ArgumentTypeError(
            f"{text!r}: cannot import {module_name!r} ({error})"
        ) from None
    except Exception as error:  # noqa: BLE001 (the module's own code failed: say how)
        raise argparse.ArgumentTypeError(
            f"{text!r}: importing {module_name!r} raised {type(error).__name__}: {error}"
        ) from None
    source = getattr(module, attribute, None) if attribute.isidentifier() else None
    if source is None:
        raise argparse.ArgumentTypeError(f"{text!r}: module {module_name!r} has no {attribute!r}")
    for name, registered in nn.ACTIVATIONS.items():
        if registered is source or getattr(registered, "function", None) is source:
            return name
    _check_activation(text, source)
    name = source.__name__
    if name in nn.ACTIVATIONS:
        raise argparse.ArgumentTypeError(
            f"{text!r}: the name {name!r} is registered already, as another activation"
        )
    nn.register_activation(name, source)
    return name


def _check_activation(text: str, source: Any) -> None:
    """An ArgumentTypeError unless ``source`` acts as an activation on a small Tensor."""
    is_class = isinstance(source, type)
    if (is_class and not issubclass(source, nn.Module)) or not callable(source):
        raise argparse.ArgumentTypeError(
            f"{text!r} is a {type(source).__name__}, not a function or an nn.Module class"
        )
    try:
        with np.errstate(all="ignore"):  # a NaN is judged below, in one message
            out = (source() if is_class else source)(Tensor(_PROBE))
    except Exception as error:  # noqa: BLE001 (whatever it raised, it is not an activation)
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an activation: on a {_PROBE.shape} Tensor it raised "
            f"{type(error).__name__}: {error}"
        ) from None
    if not isinstance(out, Tensor) or out.shape != _PROBE.shape:
        got = f"shape {out.shape}" if isinstance(out, Tensor) else type(out).__name__
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an activation: on a {_PROBE.shape} Tensor it returned {got}, "
            f"not a Tensor of the same shape"
        )
    if not np.all(np.isfinite(out.data)):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an activation: it is not finite on [-2, 2]"
        )


def activation_option(text: str) -> str:
    """--activation's type: ``text`` once ``activation_name`` accepts it."""
    activation_name(text)
    return text


def add_activation(parser: argparse.ArgumentParser, default: str | None, help: str) -> None:
    parser.add_argument(
        "--activation",
        type=activation_option,
        default=default,
        metavar="NAME",
        help=f"{help}: one of {', '.join(nn.ACTIVATIONS)}, or package.module:function",
    )
