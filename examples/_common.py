"""What the example scripts share: their command line, accuracy, a table, the verdict.

Each script's ``main(argv)`` returns its numbers as a dict, ``finding_holds`` among them:
whether this run bears out the finding its docstring states. Run as a script, it exits
with status 1 when the finding does not hold (``exit_with``), so a shell or CI notices.

The scripts import it as ``_common``: running ``python examples/NAME.py`` puts this folder
first on ``sys.path``, and ``tests/project/test_examples.py`` puts it there too.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure

from tinygrad_moons import plot
from tinygrad_moons.cli.types import positive_int
from tinygrad_moons.nn import Module
from tinygrad_moons.train import predict

FIGURES = Path(__file__).resolve().parent / "figures"


class _Parser(argparse.ArgumentParser):
    """argparse where ``--quick`` stands for the script's small settings (``quick``); options
    given beside it win, as they come after."""

    def __init__(self, quick: Sequence[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.quick = list(quick)

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:
        args = sys.argv[1:] if args is None else list(args)
        if "--quick" in args:
            args = [*self.quick, *(arg for arg in args if arg != "--quick")]
        return super().parse_args(args, namespace)


def parser(doc: str | None, quick: Sequence[str] = ()) -> argparse.ArgumentParser:
    """An ArgumentParser described by the script's docstring, with ``--out-dir`` and, when
    the full run is long, ``--quick``: the settings ``quick`` of a run of a few seconds whose
    finding holds too (the default test suite runs it; the full run is a slow test)."""
    result = _Parser(quick, description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    result.add_argument(
        "--out-dir", type=Path, default=FIGURES, help=f"folder for the PNG ({FIGURES})"
    )
    if quick:
        result.add_argument("--quick", action="store_true", help=f"a small run: {' '.join(quick)}")
    return result


def add_epochs(parser: argparse.ArgumentParser, default: int, help: str, *aliases: str) -> None:
    """``--epochs`` (fit's word for a pass over the data), with ``aliases`` such as --passes."""
    parser.add_argument(
        "--epochs",
        *aliases,
        dest="epochs",
        type=positive_int,
        default=default,
        help=f"{help} ({default})",
    )


def verdict(holds: bool, finding: str, why_not: str = "") -> bool:
    """Print whether this run bears out the finding (and why not); return ``holds``."""
    if holds:
        print(f"The finding holds: {finding}")
    else:
        print(f"The finding does NOT hold: {finding}" + (f"; {why_not}" if why_not else ""))
    return holds


def exit_with(result: dict) -> None:
    """End a script run from the command line: status 0 if its finding held, else 1."""
    raise SystemExit(0 if result["finding_holds"] else 1)


def accuracy(model: Module, X: np.ndarray, y: np.ndarray) -> float:
    """The fraction of rows of X the model puts in class y (eval mode, no graph)."""
    return float(np.mean(predict(model, X) == y))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print rows under headers in aligned columns; floats with 4 significant digits."""
    cells = [[f"{c:.4g}" if isinstance(c, float) else str(c) for c in row] for row in rows]
    widths = [max(len(str(h)), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    print("  ".join(f"{h:>{w}}" for h, w in zip(headers, widths, strict=True)))
    for row in cells:
        print("  ".join(f"{c:>{w}}" for c, w in zip(row, widths, strict=True)))


def save(figure: Figure, out_dir: Path, name: str) -> Path:
    """Write the figure as out_dir/name, say where, and return the path."""
    path = plot.save(figure, Path(out_dir) / name)
    print(f"Figure written to {path}")
    return path
