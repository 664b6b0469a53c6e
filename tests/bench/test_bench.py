"""The benchmark runs with tiny settings and reports every method and target (never speed)."""

import numpy as np
import pytest

from tinygrad_moons import bench, cli


def test_the_command_prints_a_table_with_every_target_and_its_progress_on_stderr(capsys):
    assert cli.main(["bench", "--workloads", "20x3", "--repeats", "1"]) == 0
    out, err = capsys.readouterr()
    assert "bench: workload 1/1, 20 x 3: timing" in err and "1 repeats" in err
    assert "compiled step" not in err
    for method in ("writeup", "numpy", "floor", "tensor", "compiled"):
        assert bench.METHODS[method] in out
    assert "/write-up" in out and "/numpy" in out and "peak memory" in out
    for target in bench.TARGETS:
        assert target.describe() in out
    assert out.count("NOT MEASURED") >= 5  # only (20, 3) ran: every target's workload is absent


def test_run_benchmark_returns_records_with_ratios():
    result = bench.run_benchmark(((20, 3),), repeats=2, min_time=0.0)
    records = result.to_records()
    methods = {r["method"] for r in records}
    assert {"writeup", "numpy", "floor", "tensor", "compiled"} <= methods
    baseline = next(r for r in records if r["method"] == "writeup")
    assert baseline["ratio_baseline"] == 1.0 and baseline["peak_bytes"] > 0
    for record in records:
        assert record["seconds"] > 0 and len(record["samples"]) == 2


@pytest.mark.filterwarnings("ignore::tinygrad_moons.train.NoProgressWarning")  # 1 dropout epoch
def test_the_write_up_training_runs_beside_fit_on_its_own_workload():
    result = bench.run_benchmark(
        ((200, 3),), repeats=1, min_time=0.0, fit_epochs=3, fit_repeats=2, minibatch_epochs=2
    )
    loop, fit = result.find("writeup_loop", (200, 3)), result.find("fit", (200, 3))
    assert len(loop.samples) == len(fit.samples) == 2
    assert result.ratio("fit", (200, 3)) == fit.seconds / loop.seconds
    problem = bench.Problem.make(200, 3)
    assert abs(bench.writeup_loop(problem, 1) - bench.fit_run(problem, 1)) < 1e-12


def test_targets_are_met_or_not_by_their_limit_against_their_baseline():
    result = bench.BenchmarkResult(
        [
            bench.Measurement(200, 3, "writeup", 1.0, [1.0], 100),
            bench.Measurement(200, 3, "numpy", 0.5, [0.5], 100),
            bench.Measurement(200, 3, "tensor", 0.7, [0.7], 100),
            bench.Measurement(200, 3, "compiled", 0.95, [0.95], 90),
        ]
    )
    status = {(c.target.method, c.target.workload, c.target.kind): c for c in result.targets()}
    assert status[("tensor", (200, 3), "time")].status == "MET"  # 1.4x numpy <= 1.5x
    assert status[("compiled", (200, 3), "time")].status == "NOT MET"  # 0.95x write-up > 0.9x
    assert status[("compiled", (200, 3), "memory")].ratio == 0.9
    assert status[("nn", (200, 3), "time")].status == "NOT MEASURED"


def test_every_step_starts_from_the_same_parameters_and_takes_the_same_step():
    problem = bench.Problem.make(20, 3)
    steps = bench.make_steps(problem, [])
    for step in steps.values():
        step()
        step.reset()
        step()
    numpy_step = steps["numpy"]
    for name in ("writeup", "floor"):
        for key, value in steps[name].params.items():
            np.testing.assert_allclose(value, numpy_step.params[key], rtol=1e-12, atol=1e-15)
    for name in ("tensor", "compiled"):
        for key, t in steps[name].params.items():
            np.testing.assert_allclose(t.data, numpy_step.params[key], rtol=1e-12, atol=1e-15)


def small_result():
    return bench.BenchmarkResult(
        [
            bench.Measurement(200, 3, "writeup", 1e-4, [1e-4], 1000),
            bench.Measurement(200, 3, "tensor", 1.4e-4, [1.4e-4], 3000),
            bench.Measurement(200, 3, "compiled", 1.2e-4, [1.2e-4], 2000),
            bench.Measurement(200, 50, "writeup", 2e-4, [2e-4], 1000),
            bench.Measurement(200, 50, "tensor", 2.2e-4, [2.2e-4], 1000),
        ],
        ["PyTorch: skipped, torch is not importable"],
    )


def test_markdown_table_has_a_row_per_measurement_and_per_target():
    lines = bench.markdown_table(small_result()).splitlines()
    assert lines[0].startswith("| workload | step | time | /write-up |")
    assert "| 200 x 3 | Tensor + F | 140 us | 1.40x | - | - | 3 KB | - |" in lines
    target_rows = [line for line in lines if " <= " in line]
    assert len(target_rows) >= len(bench.TARGETS) - 1
    assert "| compiled step time on (200, 3) <= 0.9x write-up | 1.20x | NOT MET |" in lines


def test_benchmark_ratios_draws_one_bar_per_measured_ratio_and_the_targets():
    from tinygrad_moons import plot

    result = small_result()
    baseline = bench.METHODS[bench.BASELINE]
    ax = plot.benchmark_ratios(result.time_ratios(), result.time_limits(), baseline=baseline)
    heights = sorted(round(patch.get_height(), 6) for patch in ax.patches)
    assert heights == [1.1, 1.2, 1.4]  # the write-up's step itself is the line at 1, not a bar
    labels = ax.get_legend_handles_labels()[1]
    assert sorted(labels) == ["Tensor + F", "compiled step", "target", "write-up's step"]
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["N=200, H=3", "N=200, H=50"]


@pytest.mark.parametrize("value", ["False", "True", 0, 1, None])
@pytest.mark.parametrize("option", ["memory", "profile"])
def test_run_benchmarks_switches_take_a_bool(option, value):
    """bool("False") is True: memory="False" would measure peak memory (slowly) and
    profile="False" profile every missed target."""
    with pytest.raises(
        TypeError, match=f"run_benchmark's {option} takes True or False, got {value!r}"
    ):
        bench.run_benchmark(((20, 3),), repeats=1, min_time=0.0, **{option: value})


def test_run_benchmark_takes_numpys_bools():
    result = bench.run_benchmark(
        ((20, 3),), repeats=1, min_time=0.0, memory=np.False_, profile=np.False_
    )
    assert all(r["peak_bytes"] is None for r in result.to_records())
    assert not result.profiles
