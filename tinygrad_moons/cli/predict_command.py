"""``tinygrad-moons predict``: classify the points of a CSV file with a saved model."""

from __future__ import annotations

import argparse
import csv
import io
import os
import re
import reprlib
import stat
import sys
import zipfile
from itertools import pairwise

import numpy as np

from tinygrad_moons import checkpoint, nn, reading, validate
from tinygrad_moons.atomic import written_whole
from tinygrad_moons.cli.options import activation_name, add_activation
from tinygrad_moons.cli.terminal import UserError
from tinygrad_moons.cli.types import input_file, output_file
from tinygrad_moons.train import predict_proba

DESCRIPTION = (
    "Read rows of numbers, one column per input of the model (a first line that holds no\n"
    "number is a header), write a header and, per row, the predicted class and the class\n"
    "probabilities. --input - reads the standard input. Make a file of points with, for\n"
    "example,\n"
    "  printf 'x,y\\n0.5,0.25\\n-1,0.5\\n2,-0.5\\n' > points.csv"
)
EXAMPLE = "tinygrad-moons predict --model model.npz --input points.csv --output out.csv"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", required=True, type=input_file, metavar="NPZ", help="saved by train --save"
    )
    parser.add_argument(
        "--input", required=True, type=input_file, metavar="CSV", help="the points; -: stdin"
    )
    parser.add_argument(
        "--output",
        type=output_file,
        metavar="CSV",
        help="file to write (default: the standard output)",
    )
    add_activation(
        parser, None, "the model's activation, when it is your own (default: the file's)"
    )


def _mlp_shapes(sizes: list[int]) -> dict[str, tuple[int, ...]]:
    """The parameter names and shapes of ``nn.MLP(sizes)``: its Linears are layers 0, 2, ..."""
    shapes: dict[str, tuple[int, ...]] = {}
    for layer, (n_in, n_out) in enumerate(pairwise(sizes)):
        shapes[f"{2 * layer}.weight"] = (n_in, n_out)
        shapes[f"{2 * layer}.bias"] = (n_out,)
    return shapes


def load_model(path: str, chosen: str | None = None) -> nn.MLP:
    """The MLP saved at ``path`` by ``train --save``, its architecture from the file.

    The weights are read (``checkpoint.read``, which refuses shapes the file is too small
    to hold) before the model is built, so a few bytes of JSON cannot make it allocate.
    A file never makes this import code: an activation the file names as
    ``package.module:function`` is imported only when ``chosen`` (``--activation``)
    names the same, and an ``chosen`` other than the file's is refused."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise UserError(f"cannot read model {path}: no such file") from None
    except OSError as error:
        raise UserError(f"cannot read model {path}: {error.strerror or error}") from None
    if not stat.S_ISREG(mode):  # zipfile would wait on a pipe or read a device for ever
        raise UserError(
            f"cannot read model {path}: it is {validate.file_kind(mode)}, not a model file"
        )
    if not zipfile.is_zipfile(path):
        raise UserError(
            f"{path} is not a model file: train --save writes .npz archives, and this file "
            f"is not one"
        )
    try:
        config = nn.load_config(path)
    except OSError as error:
        raise UserError(f"cannot read model {path}: {error.strerror or error}") from None
    except ValueError as error:  # "cannot read 'path': ...", said once
        raise UserError(error) from None
    if not isinstance(config, dict) or "sizes" not in config:
        raise UserError(f"{path} holds no architecture; save models with train --save")
    sizes, activation = config.get("sizes"), config.get("activation", "tanh")
    if not (
        isinstance(sizes, list)
        and len(sizes) >= 2
        and all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in sizes)
    ):
        raise UserError(
            f"{path}: the architecture's sizes {reprlib.repr(sizes)} are not positive integers"
        )
    if not isinstance(activation, str):
        raise UserError(
            f"{path}: the architecture's activation {reprlib.repr(activation)} is not a name"
        )
    if chosen is not None and chosen != activation:
        raise UserError(
            f"{path} was trained with the activation {activation!r}; --activation gave {chosen!r}"
        )
    if chosen is None and activation not in nn.ACTIVATIONS:
        raise UserError(
            f"{path}: unknown activation {reprlib.repr(activation)}; known: "
            f"{', '.join(nn.ACTIVATIONS)}"
            + (f"; to import yours, pass --activation {activation}" if ":" in activation else "")
        )
    try:
        state, _, problems = checkpoint.read(path, _mlp_shapes(sizes))
    except OSError as error:
        raise UserError(f"cannot read model {path}: {error.strerror or error}") from None
    if problems:
        raise UserError(f"cannot load model {path}: {checkpoint.summary(problems)}")
    model = nn.MLP(sizes, activation_name(activation))
    model.load_state_dict(state)
    return model


# A CSV number: an optional sign, ASCII digits with an optional point, an optional exponent;
# or nan/inf, read to be reported as not finite. float() takes more ("1_0" is 10, "１" 1).
_PLAIN = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NOT_FINITE = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_PLAIN_RULE = "a plain decimal number (ASCII digits, an optional sign, point and exponent)"


def _number(cell: str) -> float | None:
    """The value of a cell written as a plain decimal number (or nan/inf), else None."""
    text = cell.strip()
    if _PLAIN.fullmatch(text) or _NOT_FINITE.fullmatch(text):
        return float(text)
    return None


def _python_number(cell: str) -> bool:
    """Whether float() reads ``cell``, which ``_number`` refuses ("1_0", "１"): a bad
    number, never a header's name."""
    try:
        float(cell)
    except ValueError:
        return False
    return True


def read_points(path: str, n_features: int) -> tuple[np.ndarray, list[int]]:
    """Rows of ``n_features`` finite numbers from a CSV file ("-": the standard input),
    and the line each came from.

    The first non-empty line is a header when none of its cells is a number; any other
    line, the first included, must hold ``n_features`` finite numbers, each written as a
    plain decimal number (``-1.5e-3``: not ``1_0`` or full-width digits, which float()
    would read). A bad line is a ``UserError`` naming its line number and, for a bad
    value, its column and cell.
    """
    name = "the standard input" if path == "-" else path
    try:
        rows_read = list(reading.csv_rows(reading.read_text(path)))
    except ValueError as error:
        raise UserError(error if str(error).startswith("cannot") else f"{name}, {error}") from None
    rows, lines = [], []
    first = True
    for line_number, row in rows_read:
        if all(not cell.strip() for cell in row):
            continue
        values = [_number(cell) for cell in row]
        if first and all(v is None and not _python_number(c) for c, v in zip(row, values)):
            first = False
            continue  # a header
        first = False
        where = f"{name}, line {line_number}"
        for column, (cell, value) in enumerate(zip(row, values), start=1):
            if value is None or not np.isfinite(value):
                if value is not None:
                    kind = "not a finite number"
                else:
                    kind = f"not {_PLAIN_RULE}" if _python_number(cell) else "not a number"
                raise UserError(f"{where}, column {column}: {reprlib.repr(cell.strip())} is {kind}")
        if len(values) != n_features:
            raise UserError(
                f"{where}: expected {n_features} numbers (the model's inputs), got "
                f"{len(values)}: {reprlib.repr(','.join(row))}"
            )
        rows.append(values)
        lines.append(line_number)
    if not rows:
        raise UserError(f"{name} holds no points")
    return np.array(rows), lines


def run(args: argparse.Namespace) -> int:
    model = load_model(args.model, args.activation)
    points, lines = read_points(args.input, model.sizes[0])
    try:
        probabilities = predict_proba(model, points)
    except ValueError as error:  # a row whose outputs overflow: name its line
        row = re.search(r"row (\d+)", str(error))
        where = "the standard input" if args.input == "-" else args.input
        raise UserError(
            f"{where}, line {lines[int(row[1])]}: {error}" if row else f"{where}: {error}"
        ) from None
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["class", *[f"p{k}" for k in range(probabilities.shape[1])]])
    for row in probabilities:
        writer.writerow([int(row.argmax()), *[f"{p:.6f}" for p in row]])
    if args.output:
        with written_whole(args.output) as partial:
            partial.write_text(out.getvalue())
        print(f"{len(points)} predictions written to {args.output}")
    else:
        sys.stdout.write(out.getvalue())
    return 0
