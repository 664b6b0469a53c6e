"""Each target not met is printed with what bounds it: its floor's ratio and a profile."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_moons import bench, graph, train
from tinygrad_moons.bench import profile, report
from tinygrad_moons.bench.steps import Problem
from tinygrad_moons.tensor import Function


def fit_result(fit: float, floor: float | None) -> bench.BenchmarkResult:
    measurements = [
        bench.Measurement(200, 3, "writeup_loop", 1.0, [1.0], None),
        bench.Measurement(200, 3, "fit", fit, [fit], None),
    ]
    if floor is not None:
        measurements.append(bench.Measurement(200, 3, "fit_floor", floor, [floor], None))
    return bench.BenchmarkResult(measurements)


def fit_check(result: bench.BenchmarkResult) -> bench.TargetCheck:
    (check,) = [c for c in result.targets() if c.target.method == "fit"]
    return check


def test_a_target_below_its_floor_is_reported_as_bounded_not_met():
    result = fit_result(fit=0.9, floor=0.8)  # the target is 0.6x the write-up's loop
    check = fit_check(result)
    assert (check.status, check.bounded, check.floor_ratio) == ("NOT MET", True, 0.8)
    table = bench.format_table(result)
    assert "NOT MET        0.90x  fit() with History" in table
    assert "BOUNDED: floor 0.80x" in table and "below the floor of the same maths" in table
    assert "MET            0.90x" not in table


def test_a_miss_whose_floor_meets_the_target_says_so_and_a_met_target_has_no_bound():
    check = fit_check(fit_result(fit=0.9, floor=0.5))
    assert not check.bounded
    assert "meets the target here" in check.bound_lines()[0]
    assert "was not measured" in fit_check(fit_result(fit=0.9, floor=None)).bound_lines()[0]
    met = fit_check(fit_result(fit=0.5, floor=0.4))
    assert met.status == "MET" and not met.bounded and met.bound_lines() == []


def test_the_markdown_report_lists_what_bounds_each_miss():
    result = fit_result(fit=0.9, floor=0.8)
    result.profiles["fit", (200, 3)] = profile.Profile(
        "epoch", 10, {"generated forward": 3e-5, "other": 1e-5}, "test"
    )
    markdown = bench.markdown_table(result)
    assert "| fit() with History time on (200, 3) <= 0.6x write-up's loop | 0.90x | NOT MET |" in (
        markdown
    )
    (line,) = [row for row in markdown.splitlines() if row.startswith("- fit() with History")]
    assert "BOUNDED: floor 0.80x" in line and "40 us per epoch: generated forward 75% 30 us" in line
    assert line.endswith(
        "machine-dependent): 40 us per epoch: generated forward 75% 30 us, other 25% 10 us"
    )


def test_fits_profile_times_its_parts_in_one_more_run_and_puts_the_originals_back():
    problem = Problem.make(200, 3)
    originals = graph.StaticGraph.forward, train._Accuracy.__call__, train._check_loss
    prof = profile.time_run_parts(lambda: bench.fit_run(problem, 5), 5, "epoch")
    assert (graph.StaticGraph.forward, train._Accuracy.__call__, train._check_loss) == originals
    for part in ("generated forward", "generated backward", "optimiser (zero_grad, step)"):
        assert prof.parts[part] > 0
    assert list(prof.parts)[-1] == profile.OTHER and prof.missing == []
    assert "eager forward" not in prof.parts  # fit of nn.MLP runs compiled
    assert prof.lines()[0].endswith(f"{profile.duration(prof.total)} per epoch:")


def test_an_eager_fit_is_profiled_as_eager_and_a_name_the_tree_lacks_is_listed():
    problem = Problem.make(40, 3)
    model = bench.steps.nn.MLP([2, 3, 2], seed=0)

    def run():
        train.fit(model, problem.X, problem.y, epochs=3, compiled=False, progress=False)

    gone = ["tinygrad_moons.train:NoSuchThing.step", "tinygrad_moons.no_such_module:f"]
    prof = profile.time_run_parts(run, 3, "epoch", {**profile.FIT_PARTS, "gone": tuple(gone)})
    assert prof.parts["eager forward"] > 0 and prof.parts["eager backward walk"] > 0
    assert "generated forward" not in prof.parts
    assert prof.missing == gone
    assert "not in this tree" in prof.lines()[-1]


@pytest.mark.parametrize("method", ["tensor", "nn", "compiled"])
def test_a_steps_parts_called_in_order_are_its_step(method):
    problem = Problem.make(20, 3)
    whole, parts = bench.STEPS[method](problem), bench.STEPS[method](problem)
    whole()
    for part in parts.PARTS:
        getattr(parts, part)()
    for name, t in whole.params.items() if method != "nn" else whole.named.items():
        mine = parts.params[name] if method != "nn" else parts.named[name]
        np.testing.assert_array_equal(mine.data, t.data)
    before = {c: c.__dict__.get("forward") for c in profile._subclasses(Function)}
    prof = profile.time_step_parts(parts, 3)
    assert before == {c: c.__dict__.get("forward") for c in profile._subclasses(Function)}
    assert prof.units == 3 and all(s > 0 for s in prof.parts.values()) and prof.missing == []
    if method == "compiled":  # the generated code calls no op's forward
        assert len(prof.parts) == 3 and "ops)" not in prof.how
    else:  # forward and backward each split into the ops' maths and the rest
        assert len(prof.parts) == 5 and "ops)" in prof.how
        assert sum("ops' maths" in part for part in prof.parts) == 2


def test_the_benchmark_profiles_every_time_target_it_misses(monkeypatch):
    impossible = tuple(
        report.Target(t.method, t.workload, t.kind, 1e-9, t.baseline) for t in report.TARGETS
    )
    monkeypatch.setattr(report, "TARGETS", impossible)
    result = bench.run_benchmark(
        ((200, 3),), repeats=1, min_time=0.0, memory=False, fit_epochs=40, fit_repeats=1,
        minibatch_epochs=3,
    )  # fmt: skip
    misses = [c for c in result.targets() if c.status == "NOT MET"]
    assert {(c.target.method, c.target.workload) for c in misses} == {
        ("compiled", (200, 3)), ("fit", (200, 3)), ("minibatch_fit", (200, 3)),
        ("dropout_fit", (200, 50)), ("tensor", (200, 3)), ("nn", (200, 3)),
    }  # fmt: skip
    for check in misses:
        assert check.bounded and check.profile is not None
        assert len(check.bound_lines()) == 3
    assert result.profiles["dropout_fit", (200, 50)].units == 4  # a tenth of fit's epochs
    assert result.profiles["minibatch_fit", (200, 3)].units == 3  # minibatch_epochs
