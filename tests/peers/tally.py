"""Run the ported peer suites and print, per peer, the tests ported, passed, failed and
skipped, then the names the skipped tests are missing, the one unlocking most tests first.

    .venv/bin/python tests/peers/tally.py [more pytest arguments, e.g. -n 2]

micrograd's two tests live with the engine's (tests/engine); they are found by name and
counted here. A known bug is a strict xfail: counted as failed, with its reason.
"""

from __future__ import annotations

import collections
import re
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
MICROGRAD_TESTS = ("test_sanity_check", "test_more_ops")
OUTCOMES = ("passed", "failed", "skipped")


def micrograd_node_ids() -> list[str]:
    """The node ids of micrograd's two tests, wherever tests/engine keeps them."""
    found = []
    for path in sorted((ROOT / "tests" / "engine").glob("test_*.py")):
        text = path.read_text()
        for name in MICROGRAD_TESTS:
            if re.search(rf"^def {name}\(", text, re.MULTILINE):
                found.append(f"{path.relative_to(ROOT)}::{name}")
    return found


def peer_of(node_id: str) -> str:
    match = re.search(r"test_peer_(\w+)\.py::", node_id)
    return match.group(1) if match else "micrograd"


def skip_reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    text = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
    return text.removeprefix("Skipped: ")


class Tally:
    """A pytest plugin: one outcome per test, the worst of its phases."""

    def __init__(self) -> None:
        self.outcomes: dict[str, tuple[str, str]] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid in self.outcomes and self.outcomes[report.nodeid][0] != "passed":
            return  # a failed or skipped phase decides
        if hasattr(report, "wasxfail") and report.skipped:
            self.outcomes[report.nodeid] = ("failed", report.wasxfail)
        elif report.failed:
            self.outcomes[report.nodeid] = ("failed", "")
        elif report.skipped:
            self.outcomes[report.nodeid] = ("skipped", skip_reason(report))
        elif report.when == "call":
            self.outcomes[report.nodeid] = ("passed", "")

    def table(self) -> str:
        counts: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        unlocks: collections.Counter = collections.Counter()
        bugs: collections.Counter = collections.Counter()
        for node_id, (outcome, reason) in self.outcomes.items():
            counts[peer_of(node_id)][outcome] += 1
            if outcome == "skipped":
                unlocks[reason.removeprefix("missing: ").split(" (")[0]] += 1
            elif reason:
                bugs[reason] += 1
        lines = [f"{'peer':<16}{'ported':>8}" + "".join(f"{o:>9}" for o in OUTCOMES)]
        total: collections.Counter = collections.Counter()
        for peer in sorted(counts):
            total.update(counts[peer])
            lines.append(self._row(peer, counts[peer]))
        lines.append(self._row("all", total))
        lines.append("\nskipped tests by the name they are missing (tests each would unlock):")
        lines += [f"  {count:>4}  {name}" for name, count in unlocks.most_common()]
        if bugs:
            lines.append("\nknown bugs (strict xfails, counted as failed):")
            lines += [f"  {count:>4}  {reason}" for reason, count in bugs.most_common()]
        return "\n".join(lines)

    @staticmethod
    def _row(name: str, counts: collections.Counter) -> str:
        return f"{name:<16}{sum(counts.values()):>8}" + "".join(f"{counts[o]:>9}" for o in OUTCOMES)


def main(args: list[str]) -> int:
    tally = Tally()
    code = pytest.main(["-q", str(HERE), *micrograd_node_ids(), *args], plugins=[tally])
    print("\n" + tally.table())
    if not any(peer_of(n) == "micrograd" for n in tally.outcomes):
        print(f"\nmicrograd: {', '.join(MICROGRAD_TESTS)} not found in tests/engine")
    return int(code)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
