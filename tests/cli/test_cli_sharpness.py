"""``tinygrad-moons sharpness``: the write-up's story told by the command, and its errors."""

import re

import matplotlib.image
import numpy as np
import pytest

from tinygrad_moons import cli

END = r"hidden size (\d+): sharpness after epochs (\d+) and (\d+): ([\d.]+) and ([\d.]+)"


def test_the_writeups_20000_passes_end_in_a_cycle_for_3_and_converge_for_5(tmp_path, capsys):
    out = tmp_path / "sharpness.png"
    argv = ["sharpness", "--hidden", "3", "5", "--every", "5000", "--out", str(out)]
    assert cli.main(argv) == 0
    text = capsys.readouterr().out
    assert "2/lr = 200" in text
    ends = {
        int(m[0]): (int(m[1]), int(m[2]), float(m[3]), float(m[4])) for m in re.findall(END, text)
    }
    assert sorted(ends) == [3, 5]
    assert ends[3][:2] == ends[5][:2] == (19998, 19999)
    low, high = sorted(ends[3][2:])
    assert low < 200 < high  # the two points of the cycle, one on each side of 2/lr
    line_3 = next(line for line in text.splitlines() if line.startswith("hidden size 3"))
    assert "a period-2 cycle straddling 2/lr = 200" in line_3
    assert "(loss 0.07" in line_3
    assert max(ends[5][2:]) < 200
    line_5 = next(line for line in text.splitlines() if line.startswith("hidden size 5"))
    assert "converged" in line_5
    assert f"Figure written to {out}" in text
    image = matplotlib.image.imread(out)
    assert image.shape[0] > 200 and np.std(image[..., :3]) > 0.05


def test_the_largest_seen_is_reported_with_its_epoch(tmp_path, capsys):
    argv = ["sharpness", "--hidden", "5", "--epochs", "200", "--every", "99"]
    assert cli.main([*argv, "--out", str(tmp_path / "s.png")]) == 0
    text = capsys.readouterr().out
    # Measured after epochs 0, 1, 99, 100, 198, 199: early on, size 5 alternates above and
    # below 2/lr from one pass to the next (the largest is after pass 99).
    assert re.search(r"largest seen 2\d\d\.\d \(epoch 99\)", text)


def test_a_run_at_chance_is_not_called_converged_and_exits_1(tmp_path, capsys):
    """lr 5 blows the loss up to ~957 at 50% accuracy: the sharpness there is ~0, below
    2/lr, but nothing converged; train exits 1 for such a run, and so does sharpness."""
    argv = ["sharpness", "--hidden", "3", "--epochs", "50", "--lr", "5"]
    assert cli.main([*argv, "--out", str(tmp_path / "s.png")]) == 1
    out, err = capsys.readouterr()
    assert "converged" not in out and "no better than chance: training accuracy 50.0%" in out
    assert "hidden size 3 ended no better than chance" in err and "smaller --lr" in err


def test_two_epochs_are_too_few_to_call_converged(tmp_path, capsys):
    argv = ["sharpness", "--hidden", "3", "--epochs", "2"]
    assert cli.main([*argv, "--out", str(tmp_path / "s.png")]) == 0
    out = capsys.readouterr().out
    assert "converged:" not in out and "too few epochs to tell whether it converged" in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--every", "0"], "--every"),
        (["--epochs", "1"], "--epochs must be at least 2"),
        (["--hidden"], "--hidden"),
        (["--out", "figure.txt"], "suffix names the format"),
    ],
)
def test_bad_options_are_one_line_and_exit_code_2(argv, message, capsys, tmp_path):
    try:
        code = cli.main(["sharpness", *argv])
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
