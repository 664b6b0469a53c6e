"""The command line: ``tinygrad-moons COMMAND`` or ``python -m tinygrad_moons COMMAND``.

    tinygrad-moons reproduce                      the write-up's 20 lines, autodiff beside them
    tinygrad-moons train                          the write-up's network, its log, the figure
    tinygrad-moons train --hidden 10 10 --activation relu --optimizer adam --lr 0.01
    tinygrad-moons predict --model model.npz --input points.csv
    tinygrad-moons sweep --hidden 1 2 3 4 5 20 50 --n-jobs 2
    tinygrad-moons baseline                       logistic regression beside the network
    tinygrad-moons gradcheck --hidden 3           autodiff vs hand-derived vs differences
    tinygrad-moons graph                          the 2-H-2 loss's computation graph
    tinygrad-moons compile --hidden 3             the numpy its compiled training step runs
    tinygrad-moons sharpness --hidden 3 5         the top Hessian eigenvalue against 2/lr
    tinygrad-moons bench --quick                  one training step against numpy, PyTorch

Each command is one module holding its options next to its code: ``DESCRIPTION``,
``EXAMPLE``, ``add_arguments(parser)`` and ``run(args) -> exit code``. ``COMMANDS`` maps
each command's name to its summary and its module, which is imported only when that
command runs.

What the user sees when something goes wrong: a bad option or value, or options that do
not go together, is one line on stderr and exit code 2; an input problem found while
running (a malformed CSV row, a file that is not a model, a diverging run) one line and
exit code 1; Ctrl-C one line and exit code 130, with no half-written output file; a
closed standard output (``| head``) no message and exit code 141; a file system that
refuses a write one line and exit code 1; an error of the library (a diverging run, too
little memory) one line and exit code 1. Output paths are checked before any work (their
folder must exist, and no output may be an input or another output), and so are sizes. A
Python warning is one line, ``tinygrad-moons COMMAND: warning: ...``.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Sequence
from importlib.metadata import version
from types import ModuleType
from typing import Any

from tinygrad_moons.cli.terminal import (
    PROG,
    HelpFormatter,
    Parser,
    UsageError,
    UserError,
    one_line,
    one_line_warnings,
    say,
)


class Command:
    """A command: its one-line summary, and its module, imported when first used (so that
    ``tinygrad-moons --help`` or one command does not import every command's libraries).
    Reading any other attribute (``run``, ``add_arguments``, ``DESCRIPTION``, ``EXAMPLE``)
    reads the module's."""

    def __init__(self, module: str, summary: str) -> None:
        self.module_name = f"{__name__}.{module}"
        self.SUMMARY = summary

    @property
    def module(self) -> ModuleType:
        return importlib.import_module(self.module_name)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.module, name)


COMMANDS: dict[str, Command] = {
    "reproduce": Command(
        "reproduce_command",
        "the write-up's 20 printed losses, then the same network by autodiff beside them",
    ),
    "train": Command("train_command", "train a network and draw its decision boundary"),
    "predict": Command("predict_command", "classify the points of a CSV file with a saved model"),
    "sweep": Command(
        "sweep_command", "train one network per hidden size in parallel; draw the grid"
    ),
    "baseline": Command(
        "baseline_command", "logistic regression's straight boundary beside the network's"
    ),
    "gradcheck": Command(
        "gradcheck_command", "compare autodiff, hand-derived and finite-difference gradients"
    ),
    "graph": Command("graph_command", "draw the computation graph of the write-up's loss"),
    "compile": Command(
        "compile_command", "print the generated Python of the write-up network's training step"
    ),
    "sharpness": Command(
        "sharpness_command", "the sharpness (top Hessian eigenvalue) along training, against 2/lr"
    ),
    "bench": Command(
        "bench_command", "time one training step against the write-up's (and numpy's, PyTorch's)"
    ),
}

INTERRUPTED = 130  # what a shell reports for a process ended by SIGINT (128 + 2)
CLOSED_PIPE = 141  # ... and by SIGPIPE (128 + 13): the reader of stdout went away


def build_parser(only: str | None = None) -> Parser:
    """The parser of every command in ``COMMANDS``, each with --help and an example; with
    ``only``, the options of that command alone (the others keep their summary)."""
    parser = Parser(
        prog=PROG,
        description="The two-moons network of 'Implementing a Neural Network from Scratch "
        "in Python', trained with a small autodiff engine.",
    )
    parser.add_argument(
        "--version", action="version", version=f"%(prog)s {version('tinygrad_moons')}"
    )
    subparsers = parser.add_subparsers(dest="command", parser_class=Parser)
    for name, command in COMMANDS.items():
        if only is not None and name != only:
            subparsers.add_parser(name, help=command.SUMMARY)
            continue
        command.add_arguments(
            subparsers.add_parser(
                name,
                help=command.SUMMARY,
                description=command.DESCRIPTION,
                epilog=f"example: {command.EXAMPLE}",
                formatter_class=HelpFormatter,
            )
        )
    return parser


def _command_named(argv: Sequence[str]) -> str:
    """The command ``argv`` names (its first word that is not an option), or "" for none."""
    return next((word for word in argv if not word.startswith("-")), "")


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code."""
    name = PROG
    try:
        argv = sys.argv[1:] if argv is None else list(argv)
        parser = build_parser(_command_named(argv))
        args = parser.parse_args(argv)
        if args.command is None:  # `tinygrad-moons` alone: what it can do, not an error
            parser.print_help()
            return 0
        name = f"{PROG} {args.command}"
        from tinygrad_moons.cli import preflight  # checks the options together, before work

        preflight.check(parser.command_parser(args.command), args)
        with one_line_warnings(args.command):
            return COMMANDS[args.command].run(args)
    except UsageError as error:
        say(f"{name}: error: {one_line(error)} (see {name} --help)", error=True)
        return 2
    except UserError as error:
        say(f"{name}: error: {one_line(error)}", error=True)
        return 1
    except KeyboardInterrupt:
        print(f"\n{name}: interrupted", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:  # `tinygrad-moons train | head`: stop quietly, as a shell tool does
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no flush error at exit
        return CLOSED_PIPE
    except OSError as error:  # the file system refused a write the options could not foresee
        say(f"{name}: error: {error.strerror or error}: {error.filename}", error=True)
        return 1
    except MemoryError:
        say(f"{name}: error: out of memory (try smaller sizes or fewer points)", error=True)
        return 1
    except (ValueError, ArithmeticError) as error:  # the library refused what it was given
        say(f"{name}: error: {one_line(error)}", error=True)
        return 1


__all__ = ["COMMANDS", "build_parser", "main"]
