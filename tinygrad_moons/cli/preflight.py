"""Checks of a command's options taken together, before any work: no file is both read and
written or written twice, and no network or workload is too large to allocate.

Options name their files through types whose ``path_role`` is "output" (``output_file``,
``figure_file``) or "input" (``input_file``); the check finds them by it, so a new
command's paths are checked without being listed here.
"""

from __future__ import annotations

import argparse
import math
import os
from itertools import pairwise

from tinygrad_moons.cli.terminal import UsageError

# The most parameters (weights and biases) a command builds, and the most numbers one
# layer's activations hold in a benchmark: 5 * 10**7 float64 are 400 MB, and training
# keeps several copies (parameters, gradients, the optimiser's state).
MAX_PARAMETERS = 5 * 10**7
MAX_ACTIVATIONS = 5 * 10**7


def _paths(
    parser: argparse.ArgumentParser, args: argparse.Namespace
) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(inputs, outputs): (option, path) of every file option given a path."""
    inputs, outputs = [], []
    for action in parser._actions:
        value = getattr(args, action.dest, None)
        if not action.option_strings or not isinstance(value, str) or value == "-":
            continue
        role = getattr(action.type, "path_role", None)
        if role == "output":
            outputs.append((action.option_strings[0], value))
        elif role == "input":
            inputs.append((action.option_strings[0], value))
    return inputs, outputs


def _same(a: str, b: str) -> bool:
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)  # hard links: two names, one file
    except OSError:
        return False


def check_paths(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """A UsageError when an output is an input, or two outputs are one file."""
    inputs, outputs = _paths(parser, args)
    for index, (option, path) in enumerate(outputs):
        for other_option, other in inputs + outputs[:index]:
            if _same(path, other):
                verb = "would overwrite" if (other_option, other) in inputs else "is also"
                raise UsageError(
                    f"{option} {path} {verb} {other_option} {other}: give each file its own name"
                )


def check_sizes(args: argparse.Namespace) -> None:
    """A UsageError for a network or a benchmark workload too large to allocate."""
    hidden = getattr(args, "hidden", None)
    if hidden is not None:
        hidden = hidden if isinstance(hidden, list) else [hidden]
        sizes = [2, *hidden, max(2, getattr(args, "classes", 2))]
        parameters = sum(n_in * n_out + n_out for n_in, n_out in pairwise(sizes))
        if parameters > MAX_PARAMETERS:
            raise UsageError(
                f"--hidden {' '.join(map(str, hidden))} makes a network of {parameters:,} "
                f"parameters, more than the {MAX_PARAMETERS:,} this command builds"
            )
    for n, units in getattr(args, "workloads", None) or []:
        if math.prod((n, units)) > MAX_ACTIVATIONS:
            raise UsageError(
                f"--workloads {n}x{units}: {n * units:,} activations per layer, more than "
                f"the {MAX_ACTIVATIONS:,} a benchmark allocates"
            )


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Every check above, on the parser of the command ``args`` was parsed for."""
    check_paths(parser, args)
    check_sizes(args)
