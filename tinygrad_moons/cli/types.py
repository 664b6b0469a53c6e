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
import os
import tempfile
from pathlib import Path

from tinygrad_moons.atomic import target_problem
from tinygrad_moons.validate import number

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
    try:
        return number("", value, minimum, low_open=strict)  # the one rule; this message names text
    except ValueError:
        relation = ">" if strict else ">="
        message = f"expected a number {relation} {minimum:g}, got {text!r}"
        raise argparse.ArgumentTypeError(message) from None


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


def _check_name_length(text: str, path: Path) -> None:
    """An ArgumentTypeError when a part of ``path`` is longer than the file system allows
    (the temporary name a write uses is cut to fit, so only the name itself counts)."""
    folder = next((p for p in [path.parent, *path.parents] if p.is_dir()), Path("."))
    try:
        longest = os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        longest = 255
    for part in path.parts:
        if len(os.fsencode(part)) > longest:
            raise argparse.ArgumentTypeError(
                f"cannot write {text!r}: a name of {len(os.fsencode(part))} bytes is longer "
                f"than the {longest} the file system allows"
            )


def output_file(text: str) -> str:
    """A file the command can create: checked before any work, so that a long run does
    not end in an unwritable path. Its folder must exist (none is created) and accept a
    new file, and its name must fit the file system's limit."""
    # No file name, or a folder, a device, a pipe or a symbolic link, which the write would
    # replace by a file: the check written_whole makes, made here before any work.
    problem = target_problem(text)
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    path = Path(text)
    _check_name_length(text, path)
    folder = path.parent
    if not folder.exists():
        nearest = next(parent for parent in folder.parents if parent.exists())
        if nearest.is_dir():
            raise argparse.ArgumentTypeError(
                f"cannot write {text!r}: the folder {folder} does not exist (create it first)"
            )
        folder = nearest
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


output_file.path_role = "output"  # type: ignore[attr-defined]  (cli.preflight reads it)


def input_file(text: str) -> str:
    """A file the command reads ("-": the standard input, where the command says so);
    read later, within bounds, and never the same file as an output."""
    if not text:
        raise argparse.ArgumentTypeError("expected a file name, got ''")
    return text


input_file.path_role = "input"  # type: ignore[attr-defined]


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


def difference_step(text: str) -> float:
    """A central-difference step in [1e-10, 1e-2]: outside it the differences are rounding
    noise (a smaller step) or curvature, nan even (a larger one), not a gradient check."""
    value = _real(text, 0.0, strict=True)
    if not 1e-10 <= value <= 1e-2:
        raise argparse.ArgumentTypeError(
            f"expected a step from 1e-10 to 1e-2 (the best is near 1e-6), got {text!r}"
        )
    return value


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
