"""The command line: the train job, the gradient-check table, clean errors."""

import re
import subprocess
import sys

import matplotlib.image
import numpy as np
import pytest

from tinygrad_moons import cli


def test_train_prints_the_writeups_log_and_writes_the_figure(tmp_path, capsys):
    out = tmp_path / "boundary.png"
    assert cli.main(["train", "--passes", "1001", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Loss after iteration 0: 0.432387" in text
    assert "Loss after iteration 1000: 0.068947" in text
    accuracy = float(re.search(r"Training accuracy: ([\d.]+)%", text).group(1))
    assert accuracy >= 95.0
    assert str(out) in text
    image = matplotlib.image.imread(out)
    assert image.shape[0] > 300 and image.shape[1] > 300
    assert np.std(image[..., :3]) > 0.05  # not blank


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
    # A step of 0.5 makes the central differences far too coarse for the 1e-6 bound.
    assert cli.main(["gradcheck", "--hidden", "3", "--passes", "10", "--eps", "0.5"]) == 1
    assert "FAILED" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, pattern",
    [
        (["train", "--hidden", "0"], "positive integer"),
        (["train", "--lr", "fast"], "expected a number"),
        (["train", "--reg", "-1"], ">= 0"),
        (["train", "--bogus"], "unrecognized arguments"),
        (["fly"], "invalid choice"),
    ],
)
def test_bad_options_get_one_line_and_exit_code_2(argv, pattern, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and re.search(pattern, err)


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


def test_gradcheck_plot_draws_the_step_size_v_curve(tmp_path, capsys):
    out = tmp_path / "steps.png"
    assert cli.main(["gradcheck", "--hidden", "2", "--passes", "5", "--plot", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    image = matplotlib.image.imread(out)
    assert np.std(image[..., :3]) > 0.05


def test_baseline_shows_the_straight_line_losing_to_the_network(tmp_path, capsys):
    out = tmp_path / "baseline.png"
    assert cli.main(["baseline", "--passes", "2000", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    logistic = float(re.search(r"Logistic regression: training accuracy ([\d.]+)%", text)[1])
    network = float(re.search(r"Network.*: training accuracy ([\d.]+)%", text)[1])
    assert 75.0 < logistic < 90.0 and network > logistic + 5.0
    assert np.std(matplotlib.image.imread(out)[..., :3]) > 0.05
