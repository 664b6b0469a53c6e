"""The command line: every command's output, figures, files and clean errors."""

import io
import re
import subprocess
import sys

import matplotlib.image
import numpy as np
import pytest

from tinygrad_moons import cli


def assert_png_not_blank(path):
    image = matplotlib.image.imread(path)
    assert image.shape[0] > 200 and image.shape[1] > 200
    assert np.std(image[..., :3]) > 0.05


def accuracy(pattern, text):
    return float(re.search(pattern + r" ([\d.]+)%", text).group(1))


# ---------------------------------------------------------------- train
def test_train_prints_the_writeups_log_and_writes_the_figure(tmp_path, capsys):
    out = tmp_path / "boundary.png"
    assert cli.main(["train", "--passes", "1001", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Loss after iteration 0: 0.432387" in text
    assert "Loss after iteration 1000: 0.068947" in text
    assert accuracy("Training accuracy:", text) >= 95.0
    assert accuracy("Held-out accuracy:", text) >= 94.0
    assert str(out) in text
    assert_png_not_blank(out)


def test_train_any_architecture_and_optimiser(tmp_path, capsys):
    argv = ["train", "--hidden", "10", "10", "--activation", "relu", "--optimizer", "adam"]
    argv += ["--passes", "300", "--batch-size", "50", "--out", str(tmp_path / "b.png")]
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    assert "[2, 10, 10, 2]" in text and "relu" in text and "adam" in text
    assert accuracy("Held-out accuracy:", text) >= 90.0


def test_train_says_a_batch_size_above_the_points_is_clipped(tmp_path, capsys):
    argv = ["train", "--passes", "3", "--batch-size", "500", "--out", str(tmp_path / "b.png")]
    cli.main(argv)
    err = capsys.readouterr().err
    assert "warning: batch_size=500 is larger than the 200 training samples" in err


def test_train_three_classes_measures_held_out_accuracy_on_fresh_points(tmp_path, capsys):
    argv = ["train", "--classes", "3", "--passes", "300", "--optimizer", "adam"]
    assert cli.main([*argv, "--out", str(tmp_path / "b.png")]) == 0
    text = capsys.readouterr().out
    assert "[2, 3, 3]" in text and "of 1000 fresh points" in text
    assert accuracy("Held-out accuracy:", text) >= 80.0
    assert_png_not_blank(tmp_path / "b.png")


def test_a_run_no_better_than_chance_says_so_and_exits_1(tmp_path, capsys):
    argv = ["train", "--lr", "5", "--passes", "300", "--out", str(tmp_path / "b.png")]
    assert cli.main(argv) == 1
    captured = capsys.readouterr()
    assert "period-2" not in captured.out and "Training accuracy: 50.0%" in captured.out
    assert "no better than chance" in captured.err and "(50.0%)" in captured.err
    assert "made no progress" in captured.err
    assert not (tmp_path / "b.png").exists()


def test_a_diverging_run_is_one_line_and_exit_code_1(tmp_path, capsys):
    argv = ["train", "--lr", "1000", "--passes", "400", "--out", str(tmp_path / "b.png")]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert "diverged" in err and "1000" in err and len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------- save and predict
@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("model")
    argv = ["train", "--passes", "1000", "--hidden", "5", "--out", str(folder / "b.png")]
    assert cli.main([*argv, "--save", str(folder / "model.npz")]) == 0
    return folder / "model.npz"


def test_predict_writes_class_and_probabilities_per_row(saved_model, tmp_path, capsys):
    points = tmp_path / "points.csv"
    points.write_text("x1,x2\n-1.0,0.5\n2.0,-0.5\n\n0.0,1.0\n")
    out = tmp_path / "out.csv"
    assert cli.main(["predict", "--model", str(saved_model), "--input", str(points),
                     "--output", str(out)]) == 0  # fmt: skip
    lines = out.read_text().splitlines()
    assert lines[0] == "class,p0,p1" and len(lines) == 4
    rows = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    np.testing.assert_allclose(rows[:, 1:].sum(axis=1), 1.0, atol=3e-6)
    np.testing.assert_array_equal(rows[:, 0], rows[:, 1:].argmax(axis=1))
    assert rows[:, 0].tolist() == [0.0, 1.0, 0.0]  # upper-left moon is class 0


def test_predict_without_output_prints_the_csv(saved_model, tmp_path, capsys):
    points = tmp_path / "points.csv"
    points.write_text("2.0,-0.5\n")
    assert cli.main(["predict", "--model", str(saved_model), "--input", str(points)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == "class,p0,p1"


def test_predict_reads_the_points_from_the_standard_input(saved_model, monkeypatch, capsys):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"x,y\n2.0,-0.5\n-1,oops\n")))
    assert cli.main(["predict", "--model", str(saved_model), "--input", "-"]) == 1
    assert "the standard input, line 3, column 2: 'oops' is not a number" in capsys.readouterr().err
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b"x,y\n2.0,-0.5\n-1,0.5\n")))
    assert cli.main(["predict", "--model", str(saved_model), "--input", "-"]) == 0
    assert [line[0] for line in capsys.readouterr().out.splitlines()[1:]] == ["1", "0"]


@pytest.mark.parametrize(
    "content, pattern",
    [
        ("x1,x2\n1.0,2.0\n1.0,oops\n", r"line 3, column 2: 'oops' is not a number"),
        ("1.0,2.0\n1.0,2.0,3.0\n", r"line 2: expected 2 numbers \(the model's inputs\), got 3"),
        ("1.0,2.0\nnan,1.0\n", r"line 2, column 1: 'nan' is not a finite number"),
        ("x1,x2\n", r"holds no points"),
        # A first line with numbers is data, never a header: its bad value is an error.
        ("1.0,oops\n1.0,2.0\n", r"line 1, column 2: 'oops' is not a number"),
        ("\n1.5,inf\n", r"line 2, column 2: 'inf' is not a finite number"),
        # float() reads "1_0" as 10 and full-width digits as digits: a CSV holds neither.
        ("1.0,2.0\n1_0,2.0\n", r"line 2, column 1: '1_0' is not a plain decimal number"),
        ("1.0,\uff11\n", r"line 1, column 2: '\uff11' is not a plain decimal number"),
        # A first line of such numbers is refused, never skipped as a header.
        ("\uff11,\uff12\n1.0,2.0\n", r"line 1, column 1: '\uff11' is not a plain decimal"),
        ("x,y\n1.0,0x10\n", r"line 2, column 2: '0x10' is not a number"),
        ("x,y\n1.0,1e1_0\n", r"line 2, column 2: '1e1_0' is not a plain decimal number"),
        ("x,y\n1.0,-Infinity\n", r"line 2, column 2: '-Infinity' is not a finite number"),
    ],
)
def test_a_malformed_row_is_reported_by_line_and_nothing_is_written(
    saved_model, tmp_path, capsys, content, pattern
):
    points = tmp_path / "points.csv"
    points.write_text(content, encoding="utf-8")
    out = tmp_path / "out.csv"
    argv = ["predict", "--model", str(saved_model), "--input", str(points), "--output", str(out)]
    assert cli.main(argv) == 1
    assert re.search(pattern, capsys.readouterr().err)
    assert not out.exists()


def test_plain_decimal_numbers_in_every_spelling_are_read(saved_model, tmp_path, capsys):
    points = tmp_path / "points.csv"
    points.write_text("x,y\n+2,-.5\n 2.0 ,-5E-1\n2.,-0.5e0\n")
    argv = ["predict", "--model", str(saved_model), "--input", str(points)]
    assert cli.main(argv) == 0
    rows = capsys.readouterr().out.splitlines()[1:]
    assert len(rows) == 3 and len(set(rows)) == 1


def test_predict_refuses_a_file_that_is_not_a_model(tmp_path, capsys):
    bogus = tmp_path / "model.npz"
    bogus.write_bytes(b"not a zip file")
    points = tmp_path / "p.csv"
    points.write_text("1,2\n")
    assert cli.main(["predict", "--model", str(bogus), "--input", str(points)]) == 1
    err = capsys.readouterr().err
    assert "is not a model file" in err and len(err.splitlines()) == 1


def test_predict_given_the_csv_as_model_says_so_without_numpys_pickle_advice(tmp_path, capsys):
    points = tmp_path / "points.csv"
    points.write_text("1,2\n")
    assert cli.main(["predict", "--model", str(points), "--input", str(points)]) == 1
    err = capsys.readouterr().err
    assert f"{points} is not a model file" in err
    assert "pickle" not in err and len(err.splitlines()) == 1


def test_predict_refuses_an_architecture_larger_than_the_file_before_building_it(
    tmp_path, capsys, monkeypatch
):
    """A tiny file whose config declares 16 GB of weights is refused, nothing allocated."""
    from tinygrad_moons import nn

    tiny = tmp_path / "tiny.npz"
    nn.save(nn.MLP([2, 3, 2], seed=0), tiny, config={"sizes": [2, 10**9, 2]})
    points = tmp_path / "p.csv"
    points.write_text("1,2\n")
    monkeypatch.setattr(nn, "MLP", lambda *args: pytest.fail("the model was built"))
    assert cli.main(["predict", "--model", str(tiny), "--input", str(points)]) == 1
    err = capsys.readouterr().err
    assert "need 40000000016 bytes" in err and "the file is damaged" in err
    assert len(err.splitlines()) == 1


def test_predict_names_a_missing_model_file(tmp_path, capsys):
    points = tmp_path / "points.csv"
    points.write_text("1,2\n")
    missing = tmp_path / "missing.npz"
    assert cli.main(["predict", "--model", str(missing), "--input", str(points)]) == 1
    assert f"cannot read model {missing}: no such file" in capsys.readouterr().err


# ---------------------------------------------------------------- gradcheck
@pytest.mark.parametrize("hidden", [1, 3, 50])
def test_gradcheck_command_reports_agreement_and_exits_0(hidden, capsys):
    assert cli.main(["gradcheck", "--hidden", str(hidden)]) == 0
    text = capsys.readouterr().out
    for label in ("initial", "after 1000 passes"):
        for name in ("W1", "b1", "W2", "b2"):
            row = re.search(rf"^{label}\s+{name}\s+(\S+)\s+(\S+)\s+(\S+)", text, re.M)
            errors = [float(v) for v in row.groups()]
            assert errors[0] <= 1e-10 and errors[1] <= 1e-6 and errors[2] <= 1e-6
    assert "OK" in text


def test_gradcheck_command_exits_1_when_a_bound_breaks(capsys):
    # A step of 1e-2 makes the central differences too coarse for the 1e-6 bound.
    assert cli.main(["gradcheck", "--hidden", "3", "--passes", "10", "--eps", "1e-2"]) == 1
    out = capsys.readouterr().out
    assert "FAILED" in out and "with --eps 0.01 the step may be to blame" in out


@pytest.mark.parametrize("eps", ["1e300", "1e-300", "0.5", "1e-11"])
def test_gradcheck_refuses_a_step_that_checks_nothing(eps, capsys):
    """1e300 printed a table of nan, 1e-300 failed every gradient: both blamed the gradients."""
    with pytest.raises(SystemExit) as stop:
        cli.main(["gradcheck", "--passes", "2", "--eps", eps])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "--eps" in err and "from 1e-10 to 1e-2" in err and len(err.strip().splitlines()) == 1


def test_gradcheck_plot_draws_the_step_size_v_curve(tmp_path, capsys):
    out = tmp_path / "steps.png"
    assert cli.main(["gradcheck", "--hidden", "2", "--passes", "5", "--plot", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    assert_png_not_blank(out)


# ---------------------------------------------------------------- baseline and sweep
def test_baseline_shows_the_straight_line_losing_to_the_network(tmp_path, capsys):
    out = tmp_path / "baseline.png"
    assert cli.main(["baseline", "--passes", "2000", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    logistic = accuracy("Logistic regression: training accuracy", text)
    network = accuracy(r"Network.*: training accuracy", text)
    assert 75.0 < logistic < 90.0 and network > logistic + 5.0
    assert logistic == 85.0  # docs/reproduce.md says so
    assert_png_not_blank(out)


def test_sweep_trains_one_model_per_size_and_draws_the_grid(tmp_path, capsys):
    out = tmp_path / "grid.png"
    argv = ["sweep", "--hidden", "1", "3", "--passes", "1500", "--n-jobs", "2"]
    assert cli.main([*argv, "--out", str(out)]) == 0
    text = capsys.readouterr().out
    rows = re.findall(r"^\s+(\d+)\s+([\d.]+)\s+([\d.]+)%\s+([\d.]+)%$", text, re.M)
    assert [int(r[0]) for r in rows] == [1, 3]
    assert float(rows[1][2]) > float(rows[0][2]) + 5  # 3 units bend; 1 unit is a line
    # A line as each network finishes, before the table: progress, not 30 s of silence.
    finished = re.findall(r"^hidden size (\d+) trained \([\d.]+ s\): final loss", text, re.M)
    assert sorted(finished) == ["1", "3"]
    assert text.index("hidden size") < text.index("final loss  ")
    assert_png_not_blank(out)


def test_a_sweep_size_that_ends_at_chance_exits_1_as_train_does(tmp_path, capsys):
    argv = ["sweep", "--hidden", "1", "3", "--lr", "50", "--epochs", "50"]
    assert cli.main([*argv, "--out", str(tmp_path / "grid.png")]) == 1
    err = capsys.readouterr().err
    assert "hidden sizes 1 (50.0%), 3 (50.0%) ended no better than chance (50.0%" in err
    assert "smaller --lr" in err


@pytest.mark.parametrize("classes", ["31", "1000"])
def test_more_classes_than_the_training_points_can_hold_is_a_usage_error(classes, capsys):
    """300 blob points: 1000 classes left most classes without a point (exit 0 at 2.0%)."""
    assert cli.main(["train", "--classes", classes, "--epochs", "2"]) == 2
    err = capsys.readouterr().err
    assert f"--classes {classes} is too many for the 300 training points: at most 30" in err
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "argv, pattern",
    [
        (["--backend", "dask"], "--backend dask needs --scheduler"),
        (["--scheduler", "tcp://host:8786"], "--scheduler is only used with --backend dask"),
    ],
)
def test_sweep_options_that_do_not_go_together_are_a_usage_error(argv, pattern, capsys):
    assert cli.main(["sweep", "--hidden", "1", *argv]) == 2
    err = capsys.readouterr().err
    assert pattern in err and len(err.strip().splitlines()) == 1


# ---------------------------------------------------------------- the parser
@pytest.mark.parametrize(
    "argv, pattern",
    [
        (["train", "--hidden", "0"], "positive integer"),
        (["train", "--hidden", "3", "x"], "positive integer"),
        (["train", "--lr", "fast"], "expected a number"),
        (["train", "--reg", "-1"], ">= 0"),
        (["train", "--activation", "cosh"], "invalid choice"),
        (["train", "--bogus"], "unrecognized arguments"),
        (["predict", "--input", "x.csv"], "--model"),
        (["fly"], "invalid choice"),
        (["bench", "--workloads", "200by3"], "a workload is NxH"),
        (["bench", "--repeats", "0"], "positive integer"),
        (["sweep", "--n-jobs", "0"], "or -1 for every core; got '0'"),
        (["sweep", "--n-jobs", "-3"], "or -1 for every core; got '-3'"),
        (["train", "--classes", "1"], "an integer >= 2, got '1'"),
        (["train", "--epochs", "0"], "positive integer, got '0'"),
        (["gradcheck", "--passes", "x"], "positive integer, got 'x'"),
    ],
)
def test_bad_options_get_one_line_and_exit_code_2(argv, pattern, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and re.search(pattern, err)


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_every_command_has_help_with_an_example(command, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main([command, "--help"])
    assert info.value.code == 0
    assert "example: tinygrad-moons " + command in capsys.readouterr().out


def test_python_dash_m_runs_the_same_command_line(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "tinygrad_moons", "train", "--passes", "5", "--hidden", "2"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        check=True,
    )
    assert "Loss after iteration 0:" in result.stdout
    assert (tmp_path / "decision_boundary.png").exists()


# ---------------------------------------------------------------- graph and bench
def test_graph_draws_every_op_and_parameter_with_gradient_norms(tmp_path, capsys):
    out = tmp_path / "graph.png"
    assert cli.main(["graph", "--hidden", "3", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "9 ops, 4 parameters" in text
    for label in ("W1  (2, 3)", "b2  (1, 2)", "Tanh  (200, 3)", "SoftmaxCrossEntropy  ()"):
        assert label in text
    assert re.search(r"SumOfSquares  \(\)  \|grad\| 0.005\b", text)  # reg / 2
    assert_png_not_blank(out)


def test_compile_prints_the_generated_step_which_is_the_code_replay_runs(capsys):
    from tinygrad_moons import Tensor, data, reference, three_gradients
    from tinygrad_moons.graph import capture

    assert cli.main(["compile", "--hidden", "4", "--reg", "0.02"]) == 0
    text = capsys.readouterr().out
    X, y = data.make_moons()
    X = Tensor(X)
    params = three_gradients.as_tensors(reference.init_params(4, seed=0))
    step = capture(
        lambda: three_gradients.summed_objective(params, X, y, 0.02), names={"X": X, **params}
    )
    assert step.source in text and "np.multiply(0.02, W1, out=dW1)" in text
    assert text.startswith("# The training step of the 2-4-2 network")


def test_bench_subcommand_hands_its_options_to_the_benchmark(capsys):
    assert cli.main(["bench", "--quick", "--repeats", "3", "--workloads", "200x3"]) == 0
    text = capsys.readouterr().out
    assert "200 x 3" in text and "hand-written numpy" in text and "Tensor + F" in text
