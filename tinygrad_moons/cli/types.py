"""Command-line value types: each turns an option's text into a value or one clear error.

Each raises ``argparse.ArgumentTypeError`` naming the text it was given; argparse reports
it as a usage error (exit code 2).

>>> positive_int("3")
3
>>> workload("200x3")
(200, 3)
>>> n_jobs("0")
Traceback (most recent call last):
...
argparse.ArgumentTypeError: expected a positive integer, or -1 for every core; got '0'
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
from pathlib import Path

MAX_SEED = 2**32 - 1  # numpy's legacy seeding, which the write-up's start uses


def _integer(text: str, what: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def _real(text: str, minimum: float, strict: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or value < minimum or (strict and value == minimum):
        relation = ">" if strict else ">="
        raise argparse.ArgumentTypeError(f"expected a number {relation} {minimum:g}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = _integer(text, "a positive integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def class_count(text: str) -> int:
    """A number of classes: an integer >= 2."""
    value = _integer(text, "an integer >= 2")
    if value < 2:
        raise argparse.ArgumentTypeError(f"expected an integer >= 2, got {text!r}")
    return value


def seed(text: str) -> int:
    """A seed for numpy's legacy generator: an integer in [0, 2**32 - 1]."""
    what = f"an integer from 0 to {MAX_SEED}"
    value = _integer(text, what)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def output_file(text: str) -> str:
    """A file the command can create: checked before any work, so that a long run does
    not end in an unwritable path. Missing parent folders are fine (they are created);
    the nearest existing one must be a folder that accepts a new file."""
    path = Path(text)
    if not text or text.endswith(("/", os.sep)) or path.is_dir():
        raise argparse.ArgumentTypeError(f"expected a file name, got {text!r}")
    if path.exists() and not path.is_file():  # a device or a pipe would be replaced by a file
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: it is not a regular file")
    folder = path.parent
    while not folder.exists():
        folder = folder.parent
    if not folder.is_dir():
        raise argparse.ArgumentTypeError(f"cannot write {text!r}: {folder} is not a folder")
    try:
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as error:
        raise argparse.ArgumentTypeError(
            f"cannot write {text!r}: {folder} does not accept a new file "
            f"({error.strerror or error})"
        ) from None
    return text


def n_jobs(text: str) -> int:
    """joblib's worker count: a positive integer, or -1 for one worker per core."""
    what = "a positive integer, or -1 for every core;"
    value = _integer(text, what.rstrip(";"))
    if value < 1 and value != -1:
        raise argparse.ArgumentTypeError(f"expected {what} got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    return _real(text, 0.0, strict=True)


def non_negative_float(text: str) -> float:
    """A finite number >= 0."""
    return _real(text, 0.0, strict=False)


def workload(text: str) -> tuple[int, int]:
    """A benchmark workload "NxH": N points, H hidden units."""
    try:
        n, hidden = (int(part) for part in text.lower().split("x"))
    except ValueError:
        n = hidden = 0
    if n < 1 or hidden < 1:
        raise argparse.ArgumentTypeError(f"a workload is NxH, e.g. 200x3; got {text!r}")
    return n, hidden
