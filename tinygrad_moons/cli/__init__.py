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
    tinygrad-moons bench --quick                  one training step against numpy, PyTorch

Each command is one module holding its options next to its code: ``SUMMARY``,
``DESCRIPTION``, ``EXAMPLE``, ``add_arguments(parser)`` and ``run(args) -> exit code``.
``COMMANDS`` maps each command's name to its module.

What the user sees when something goes wrong: a bad option or value, or options that do
not go together, is one line on stderr and exit code 2; an input problem found while
running (a malformed CSV row, a file that is not a model, a diverging run) one line and
exit code 1; Ctrl-C one line and exit code 130, with no half-written output file; a
closed standard output (``| head``) no message and exit code 141; a file system that
refuses a write one line and exit code 1. An output path is checked before any work. A
Python warning is one line, ``tinygrad-moons COMMAND: warning: ...``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from importlib.metadata import version
from types import ModuleType

from tinygrad_moons.cli import (
    baseline_command,
    bench_command,
    compile_command,
    gradcheck_command,
    graph_command,
    predict_command,
    reproduce_command,
    sweep_command,
    train_command,
)
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

COMMANDS: dict[str, ModuleType] = {
    "reproduce": reproduce_command,
    "train": train_command,
    "predict": predict_command,
    "sweep": sweep_command,
    "baseline": baseline_command,
    "gradcheck": gradcheck_command,
    "graph": graph_command,
    "compile": compile_command,
    "bench": bench_command,
}

INTERRUPTED = 130  # what a shell reports for a process ended by SIGINT (128 + 2)
CLOSED_PIPE = 141  # ... and by SIGPIPE (128 + 13): the reader of stdout went away


def build_parser() -> Parser:
    """The parser of every command in ``COMMANDS``, each with --help and an example."""
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


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; return its exit code."""
    name = PROG
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if args.command is None:  # `tinygrad-moons` alone: what it can do, not an error
            parser.print_help()
            return 0
        name = f"{PROG} {args.command}"
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


__all__ = ["COMMANDS", "build_parser", "main"]
