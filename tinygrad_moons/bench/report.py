"""The benchmark's results as data (measurements, ratios, targets) and as tables."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from tinygrad_moons.bench.profile import Profile, duration
from tinygrad_moons.bench.steps import BASELINE, BASELINES, METHODS

SHORT = {
    "writeup": "write-up",
    "numpy": "numpy",
    "writeup_loop": "write-up's loop",
    "minibatch_loop": "hand-written mini-batch loop",
    "dropout_loop": "hand-written dropout loop",
}


@dataclass(frozen=True)
class Target:
    """A ratio to a baseline's time or peak memory, on one workload, not to be passed."""

    method: str
    workload: tuple[int, int]
    kind: str  # "time" or "memory"
    limit: float
    baseline: str = BASELINE

    def describe(self) -> str:
        what = "peak memory" if self.kind == "memory" else "time"
        n, hidden = self.workload
        return (
            f"{METHODS[self.method]} {what} on ({n}, {hidden}) <= {self.limit:g}x "
            f"{SHORT[self.baseline]}"
        )


TARGETS: tuple[Target, ...] = (
    Target("compiled", (200, 3), "time", 0.9),
    Target("compiled", (200, 50), "time", 1.0),
    Target("compiled", (10_000, 64), "time", 1.0),
    Target("compiled", (100_000, 500), "time", 1.0),
    Target("compiled", (200, 3), "memory", 1.0, "numpy"),
    Target("compiled", (10_000, 64), "memory", 1.0, "numpy"),
    Target("compiled", (100_000, 500), "memory", 1.0, "numpy"),
    Target("fit", (200, 3), "time", 0.6, "writeup_loop"),
    Target("minibatch_fit", (200, 3), "time", 1.0, "minibatch_loop"),
    Target("dropout_fit", (200, 50), "time", 1.0, "dropout_loop"),
    Target("tensor", (200, 3), "time", 1.5, "numpy"),
    Target("nn", (200, 3), "time", 1.7, "numpy"),
    Target("tensor", (10_000, 64), "time", 1.05, "numpy"),
    Target("tensor", (100_000, 500), "time", 1.05, "numpy"),
)


FLOORS = {
    "compiled": "floor",
    "tensor": "floor",
    "nn": "floor",
    "fit": "fit_floor",
    "minibatch_fit": "minibatch_floor",
    "dropout_fit": "dropout_floor",
}
"""Each target's floor: the same maths as straight-line numpy into reused buffers."""


@dataclass
class Measurement:
    """One method on one workload: the median seconds per step and one step's peak bytes."""

    n: int
    hidden: int
    method: str
    seconds: float
    samples: list[float]
    peak_bytes: int | None


@dataclass
class TargetCheck:
    """A target, its ratio in the run and, for a miss, what bounds it: the floor's ratio to
    the same baseline in the same run, and a profile of the measured thing's time."""

    target: Target
    ratio: float | None  # None when the run did not measure it
    floor_ratio: float | None = None
    profile: Profile | None = None

    @property
    def status(self) -> str:
        if self.ratio is None:
            return "NOT MEASURED"
        return "MET" if self.ratio <= self.target.limit else "NOT MET"

    @property
    def bounded(self) -> bool:
        """Not met, and the floor of the same maths misses it too: no plain numpy meets it
        on this machine, measured in this run."""
        return (
            self.status == "NOT MET"
            and self.floor_ratio is not None
            and self.floor_ratio > self.target.limit
        )

    def bound_lines(self) -> list[str]:
        """For a miss: the floor's ratio (and whether it meets the target), then the profile."""
        if self.status != "NOT MET":
            return []
        floor = FLOORS.get(self.target.method)
        if floor is None:
            lines = ["no floor of the same maths to measure beside it"]
        elif self.floor_ratio is None:
            lines = [f"the floor ({METHODS[floor]}) was not measured in this run"]
        elif self.bounded:
            lines = [
                f"BOUNDED: floor {_times(self.floor_ratio)} ({METHODS[floor]}, same run): the "
                f"target is below the floor of the same maths on this machine"
            ]
        else:
            lines = [
                f"floor {_times(self.floor_ratio)} ({METHODS[floor]}, same run): the same "
                f"maths written plainly meets the target here"
            ]
        if self.profile is not None:
            lines += self.profile.lines()
        return lines


@dataclass
class BenchmarkResult:
    measurements: list[Measurement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    profiles: dict[tuple[str, tuple[int, int]], Profile] = field(default_factory=dict)

    def find(self, method: str, workload: tuple[int, int]) -> Measurement | None:
        for m in self.measurements:
            if m.method == method and (m.n, m.hidden) == tuple(workload):
                return m
        return None

    def ratio(self, method: str, workload: tuple[int, int], to: str | None = None) -> float | None:
        """Median time of ``method`` over that of ``to`` (its baseline by default), same run."""
        to = to or BASELINES.get(method, BASELINE)
        mine, theirs = self.find(method, workload), self.find(to, workload)
        if mine is None or theirs is None:
            return None
        return mine.seconds / theirs.seconds

    def memory_ratio(
        self, method: str, workload: tuple[int, int], to: str = "numpy"
    ) -> float | None:
        mine, theirs = self.find(method, workload), self.find(to, workload)
        if mine is None or theirs is None or not mine.peak_bytes or not theirs.peak_bytes:
            return None
        return mine.peak_bytes / theirs.peak_bytes

    def targets(self) -> list[TargetCheck]:
        checks = []
        for target in TARGETS:
            floor = FLOORS.get(target.method)
            measure = self.memory_ratio if target.kind == "memory" else self.ratio
            ratio = measure(target.method, target.workload, target.baseline)
            floor_ratio = measure(floor, target.workload, target.baseline) if floor else None
            profile = self.profiles.get((target.method, target.workload))
            checks.append(TargetCheck(target, ratio, floor_ratio, profile))
        return checks

    def time_ratios(self) -> dict[str, dict[tuple[int, int], float]]:
        """Each measured method's time over its baseline's: label -> workload -> ratio.

        Plain data for ``plot.benchmark_ratios``; the baselines themselves (always 1) are
        left out, and fit's ratio is to the write-up's training loop.
        """
        baselines = {BASELINE, *BASELINES.values()}
        ratios: dict[str, dict[tuple[int, int], float]] = {}
        for method, label in METHODS.items():
            for m in self.measurements:
                ratio = self.ratio(method, (m.n, m.hidden))
                if method not in baselines and m.method == method and ratio is not None:
                    ratios.setdefault(label, {})[(m.n, m.hidden)] = ratio
        return ratios

    def time_limits(self) -> dict[tuple[str, tuple[int, int]], float]:
        """The time targets against the ratios ``time_ratios`` draws: (label, workload) -> limit."""
        return {
            (METHODS[t.method], t.workload): t.limit
            for t in TARGETS
            if t.kind == "time" and t.baseline == BASELINES.get(t.method, BASELINE)
        }

    def to_records(self) -> list[dict[str, Any]]:
        """One plain dict per measurement, ratios included: for a docs page or a plot."""
        records = []
        for m in self.measurements:
            record = asdict(m)
            workload = (m.n, m.hidden)
            record["ratio_baseline"] = self.ratio(m.method, workload)
            record["ratio_numpy"] = self.ratio(m.method, workload, to="numpy")
            record["ratio_torch"] = self.ratio(m.method, workload, to="torch")
            record["memory_ratio_numpy"] = self.memory_ratio(m.method, workload)
            records.append(record)
        return records


def _size(n_bytes: int | None) -> str:
    if n_bytes is None:
        return "-"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.3g} {unit}"
    return f"{n_bytes} B"


def _times(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x"


def _table_rows(result: BenchmarkResult) -> list[tuple[str, ...]]:
    """The header, then one row of cells per measurement: what both tables show."""
    rows = [("workload", "step", "time", "/write-up", "/numpy", "/torch", "peak memory", "/numpy")]
    for m in result.measurements:
        workload = (m.n, m.hidden)
        whole = m.method in BASELINES
        rows.append(
            (
                f"{m.n} x {m.hidden}",
                METHODS[m.method],
                duration(m.seconds),
                _times(result.ratio(m.method, workload)),
                "-" if whole else _times(result.ratio(m.method, workload, to="numpy")),
                "-" if whole else _times(result.ratio(m.method, workload, to="torch")),
                _size(m.peak_bytes),
                _times(result.memory_ratio(m.method, workload)),
            )
        )
    return rows


def format_table(result: BenchmarkResult) -> str:
    """The measurements as a text table, then each target with MET or NOT MET."""
    rows = _table_rows(result)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append("targets (ratios in this run, to each baseline named; under a miss, its bound):")
    for check in result.targets():
        lines.append(f"  {check.status:<12} {_times(check.ratio):>7}  {check.target.describe()}")
        lines.extend(f"{'':23}{line}" for line in check.bound_lines())
    lines.extend(f"note: {note}" for note in result.notes)
    return "\n".join(lines)


def markdown_table(result: BenchmarkResult) -> str:
    """The same measurements and targets as ``format_table``, as two Markdown tables.

    For the docs' benchmarks page: paste the output of a fresh run over the old one.

    >>> result = BenchmarkResult(
    ...     [Measurement(200, 3, "writeup", 2e-4, [2e-4], None),
    ...      Measurement(200, 3, "numpy", 1e-4, [1e-4], 2000)]
    ... )
    >>> print(markdown_table(result).splitlines()[3])
    | 200 x 3 | hand-written numpy | 100 us | 0.50x | 1.00x | - | 2 KB | 1.00x |
    """
    rows = _table_rows(result)
    header = list(rows[0])
    header[-1] = "memory /numpy"
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    lines += ["", "| target | ratio | status |", "| --- | --- | --- |"]
    misses = []
    for check in result.targets():
        lines.append(f"| {check.target.describe()} | {_times(check.ratio)} | {check.status} |")
        if check.bound_lines():
            floor, *profile = check.bound_lines()
            where = f" {profile[0]} {'; '.join(profile[1:])}" if profile else ""
            misses.append(f"- {check.target.describe()}: {floor}.{where}")
    if misses:
        lines += ["", "What bounds each target not met (this run, this machine):", "", *misses]
    return "\n".join(lines)
