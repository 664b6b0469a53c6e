"""The benchmark runs with tiny settings and reports every method and target (never speed)."""

from tinygrad_moons import bench


def test_main_prints_a_table_with_every_target(capsys):
    assert bench.main(["--workloads", "20x3", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "hand-written numpy" in out and "Tensor + F" in out and "graph replay" in out
    assert "/numpy" in out and "peak memory" in out
    for target in bench.TARGETS:
        assert target.describe() in out
    assert out.count("NOT MEASURED") >= 5  # only (20, 3) ran: every target's workload is absent


def test_run_benchmark_returns_records_with_ratios():
    result = bench.run_benchmark(((20, 3),), repeats=2, min_time=0.0)
    records = result.to_records()
    methods = {r["method"] for r in records}
    assert {"numpy", "tensor", "replay"} <= methods
    numpy_record = next(r for r in records if r["method"] == "numpy")
    assert numpy_record["ratio_numpy"] == 1.0 and numpy_record["peak_bytes"] > 0
    for record in records:
        assert record["seconds"] > 0 and len(record["samples"]) == 2


def test_targets_are_met_or_not_by_their_limit():
    result = bench.BenchmarkResult(
        [
            bench.Measurement(200, 3, "numpy", 1.0, [1.0], 100),
            bench.Measurement(200, 3, "tensor", 1.4, [1.4], 100),
            bench.Measurement(200, 3, "replay", 1.2, [1.2], 100),
        ]
    )
    status = {(c.target.method, c.target.workload): c.status for c in result.targets()}
    assert status[("tensor", (200, 3))] == "MET"
    assert status[("replay", (200, 3))] == "NOT MET"
    assert status[("nn", (200, 3))] == "NOT MEASURED"


def test_every_step_starts_from_the_same_parameters():
    problem = bench.Problem.make(20, 3)
    for step in bench.make_steps(problem, []).values():
        step()
        step.reset()
        step()
    numpy_step = bench.NumpyStep(problem)
    numpy_step()
    tensor_step = bench.TensorStep(problem)
    tensor_step.reset()
    tensor_step()
    for name, t in tensor_step.params.items():
        assert abs(t.data - numpy_step.params[name]).max() < 1e-12


def small_result():
    return bench.BenchmarkResult(
        [
            bench.Measurement(200, 3, "numpy", 1e-4, [1e-4], 1000),
            bench.Measurement(200, 3, "tensor", 1.4e-4, [1.4e-4], 3000),
            bench.Measurement(200, 3, "replay", 1.2e-4, [1.2e-4], 2000),
            bench.Measurement(200, 50, "numpy", 2e-4, [2e-4], 1000),
            bench.Measurement(200, 50, "tensor", 2.2e-4, [2.2e-4], 1000),
        ],
        ["PyTorch: skipped, torch is not importable"],
    )


def test_markdown_table_has_a_row_per_measurement_and_per_target():
    lines = bench.markdown_table(small_result()).splitlines()
    assert lines[0].startswith("| workload | step | time/step |")
    assert "| 200 x 3 | Tensor + F | 140 us | 1.40x | - | 3 KB | 3.00x |" in lines
    target_rows = [line for line in lines if "x numpy |" in line]
    assert len(target_rows) == len(bench.TARGETS)
    assert "| Tensor + F time on (200, 3) <= 1.5x numpy | 1.40x | MET |" in lines


def test_benchmark_ratios_draws_one_bar_per_measured_ratio_and_the_targets():
    from tinygrad_moons import plot

    result = small_result()
    ax = plot.benchmark_ratios(result.time_ratios(), result.time_limits())
    heights = sorted(round(patch.get_height(), 6) for patch in ax.patches)
    assert heights == [1.1, 1.2, 1.4]  # numpy itself is the line at 1, not a bar
    labels = ax.get_legend_handles_labels()[1]
    assert sorted(labels) == ["Tensor + F", "graph replay", "hand-written numpy", "target"]
    assert ax.get_yscale() == "log"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["N=200, H=3", "N=200, H=50"]
