"""What every command shares on the terminal: the parser, errors, warnings, progress.

- ``Parser``: argparse whose usage errors are one line on stderr and exit code 2, and
  whose ``--help`` shows every option's default.
- ``UserError``: a problem with the user's input found while running: one line, exit 1;
  ``UsageError``: options that do not go together: one line, exit 2.
- ``one_line_warnings()``: Python warnings printed as ``tinygrad-moons CMD: warning: ...``
  (above any progress bar), not in the ``file:line: Category: text`` format.
- ``LossLog``: a fit callback printing the write-up's "Loss after iteration i" lines; on a
  terminal a progress bar too, the lines printed above it.
- ``period_two(losses)``: the two values the losses alternate between, if they do.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from tqdm.auto import tqdm

PROG = "tinygrad-moons"


class UserError(Exception):
    """An input problem to report in one line (exit code 1), not as a traceback."""


class UsageError(Exception):
    """Options that do not go together, found after parsing: one line, exit code 2."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Descriptions as written; every option that has a default shows it."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        unset = action.default is None or action.default is False
        shown = not unset and action.default != argparse.SUPPRESS and "default" not in text
        if shown and (action.option_strings or action.nargs in ("?", "*")):
            default = action.default
            if isinstance(default, list):  # as it is typed: --hidden 1 2 3
                default = " ".join(map(str, default))
            text += f" (default: {str(default).replace('%', '%%')})"
        return text


class Parser(argparse.ArgumentParser):
    """argparse that reports a bad option or value in one line, exit code 2."""

    def error(self, message: str) -> None:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")

    def command_parser(self, command: str) -> argparse.ArgumentParser:
        """The parser of the subcommand ``command``."""
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction):
                return action.choices[command]
        raise KeyError(command)


def say(line: str, *, error: bool = False) -> None:
    """Print one line to stdout (stderr with ``error``), above any progress bar."""
    tqdm.write(line, file=sys.stderr if error else sys.stdout)


def one_line(message: object) -> str:
    """A message's text on one line: a multi-line error or warning joined by spaces."""
    return " ".join(str(message).split())


@contextmanager
def one_line_warnings(command: str) -> Iterator[None]:
    """Inside the block, each warning is one line: ``tinygrad-moons COMMAND: warning: ...``."""

    def show(message: Warning | str, *args: Any, **kwargs: Any) -> None:
        say(f"{PROG} {command}: warning: {one_line(message)}", error=True)

    with warnings.catch_warnings():
        warnings.showwarning = show
        yield


def period_two(losses: Sequence[float]) -> tuple[float, float] | None:
    """(previous, last) when the last four losses alternate between two distinct values.

    "Alternate" means each loss repeats the one two epochs before it to within a hundredth
    of the jump between neighbours, and that jump is more than 1e-6 of the loss: what a
    step too long for the minimum's curvature does, bouncing across it for ever.

    >>> period_two([0.5, 0.3, 0.5, 0.3])
    (0.5, 0.3)
    >>> period_two([0.5, 0.4, 0.3, 0.2]) is None
    True
    """
    if len(losses) < 4:
        return None
    a, b, c, d = losses[-4:]
    jump = abs(d - c)
    if jump <= 1e-6 * abs(d) or abs(d - b) > 0.01 * jump or abs(c - a) > 0.01 * jump:
        return None
    return c, d


class LossLog:
    """A ``fit`` callback: the write-up's "Loss after iteration i" every ``every`` epochs.

    With ``bar`` a tqdm bar counts the epochs and shows the latest loss, and the lines are
    printed above it. Used as a context manager, the bar closes showing the last loss.
    """

    def __init__(self, epochs: int, every: int, *, bar: bool) -> None:
        self.every = every
        self.bar = tqdm(total=epochs, unit="epoch", desc="train", leave=True) if bar else None
        self.postfix_every = max(1, epochs // 100)
        self.last: float | None = None

    def __call__(self, epoch: int, history: Any) -> None:
        self.last = history.loss[-1]
        if epoch % self.every == 0:
            say(f"Loss after iteration {epoch}: {self.last:f}")
        if self.bar is not None:
            if epoch % self.postfix_every == 0:
                self.bar.set_postfix(loss=f"{self.last:.6f}", refresh=False)
            self.bar.update(1)

    def __enter__(self) -> LossLog:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            if self.last is not None:
                self.bar.set_postfix(loss=f"{self.last:.6f}", refresh=False)
            self.bar.close()


def bar(total: int, unit: str, desc: str, *, on: bool) -> Any:
    """A tqdm bar of ``total`` steps when ``on``; otherwise None."""
    return tqdm(total=total, unit=unit, desc=desc) if on else None
