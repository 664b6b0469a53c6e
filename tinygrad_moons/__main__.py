"""``python -m tinygrad_moons`` and the ``tinygrad-moons`` script: the command line.

The commands' modules load scikit-learn, scipy and matplotlib, seconds on a busy machine,
so they are imported inside ``main``: a Ctrl-C while they load is the command line's one
line and exit code 130, as it is once a command runs, not a traceback through the imports.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    """Load the command line, then run one command; return its exit code."""
    try:
        from tinygrad_moons.cli import main as run_command
    except KeyboardInterrupt:
        print("\ntinygrad-moons: interrupted", file=sys.stderr)
        return 128 + signal.SIGINT  # what a shell reports for a process ended by SIGINT
    return run_command(argv)


if __name__ == "__main__":
    raise SystemExit(main())
