"""Command-line value types: each turns an option's text into a value or one clear error.

Shared by the command line (``tinygrad_moons.cli``) and the benchmark's own entry point
(``python -m tinygrad_moons.bench``), which sits below the command line and so cannot
import it. Each raises ``argparse.ArgumentTypeError`` naming the text it was given;
argparse reports it as a usage error (exit code 2).

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
