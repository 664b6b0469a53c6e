"""The command line checks seeds and output paths before any work, and a write or a pipe
that fails while running is one line, never a traceback."""

import errno
import subprocess
import sys

import pytest

from tinygrad_moons import cli, plot

COMMANDS_WITH_A_SEED = ["train", "sweep", "baseline", "gradcheck"]


def exit_code(argv):
    """``cli.main``'s exit code, argparse's exit on a bad option included."""
    try:
        return cli.main(argv)
    except SystemExit as stop:
        return stop.code


def one_line_error(capsys):
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert len(captured.err.strip().splitlines()) == 1, captured.err
    return captured


@pytest.mark.parametrize("command", COMMANDS_WITH_A_SEED)
@pytest.mark.parametrize("value", ["-1", str(2**32)])
def test_a_seed_numpy_cannot_take_is_a_usage_error(command, value, capsys):
    assert exit_code([command, "--seed", value]) == 2
    assert "--seed" in one_line_error(capsys).err


@pytest.fixture
def a_file(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("0,0\n")
    return path


def output_options(folder):
    """(argv, option) for every option that names a file to write, below ``folder``."""
    model = folder / "model.npz"
    return [
        (["train", "--out", str(folder / "a.png")], "--out"),
        (["train", "--save", str(folder / "m.npz")], "--save"),
        (["sweep", "--out", str(folder / "a.png")], "--out"),
        (["baseline", "--out", str(folder / "a.png")], "--out"),
        (["gradcheck", "--plot", str(folder / "a.png")], "--plot"),
        (["graph", "--out", str(folder / "a.png")], "--out"),
        (["predict", "--model", str(model), "--input", "x", "--output", str(folder / "o")], None),
    ]


@pytest.mark.parametrize("index", range(7))
def test_an_output_below_a_file_fails_before_any_work(index, a_file, capsys):
    argv, option = output_options(a_file)[index]
    assert exit_code(argv) == 2
    captured = one_line_error(capsys)
    assert captured.out == ""  # nothing trained, drawn or read
    assert "is not a folder" in captured.err and (option or "--output") in captured.err


@pytest.mark.parametrize("text", ["", "somewhere/"])
def test_an_output_that_names_no_file_is_a_usage_error(text, capsys):
    assert exit_code(["train", "--out", text]) == 2
    assert "expected a file name" in one_line_error(capsys).err


def test_an_existing_folder_or_device_is_not_an_output(tmp_path, capsys):
    assert exit_code(["train", "--out", str(tmp_path)]) == 2
    assert "expected a file name" in one_line_error(capsys).err
    assert exit_code(["train", "--save", "/dev/null"]) == 2
    assert "not a regular file" in one_line_error(capsys).err


def test_a_symbolic_link_is_not_an_output_and_is_left_as_it_is(tmp_path, capsys):
    (tmp_path / "real.npz").write_bytes(b"kept")
    link = tmp_path / "link.npz"
    link.symlink_to(tmp_path / "real.npz")
    assert exit_code(["train", "--save", str(link)]) == 2
    assert "it is a symbolic link, not a regular file" in one_line_error(capsys).err
    assert link.is_symlink() and (tmp_path / "real.npz").read_bytes() == b"kept"


@pytest.mark.parametrize("index", range(7))
def test_a_missing_folder_is_refused_before_any_work_never_created(index, tmp_path, capsys):
    argv, option = output_options(tmp_path / "new" / "folder")[index]
    assert exit_code(argv) == 2
    captured = one_line_error(capsys)
    assert captured.out == ""
    assert "does not exist (create it first)" in captured.err
    assert list(tmp_path.iterdir()) == []


def test_a_write_the_file_system_refuses_is_one_line_and_exit_code_1(tmp_path, capsys, monkeypatch):
    def full_disk(figure, path, dpi=120):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(plot, "save", full_disk)
    out = tmp_path / "a.png"
    assert exit_code(["train", "--epochs", "2", "--out", str(out)]) == 1
    err = one_line_error(capsys).err
    assert "No space left on device" in err and str(out) in err


def test_a_closed_standard_output_ends_quietly_with_exit_code_141(tmp_path):
    argv = [sys.executable, "-m", "tinygrad_moons", "train", "--epochs", "3000"]
    argv += ["--print-every", "1", "--out", str(tmp_path / "a.png")]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout.readline().startswith(b"Training")
    process.stdout.close()  # as `| head -1` does
    assert process.wait(timeout=120) == cli.CLOSED_PIPE
    assert process.stderr.read() == b""
    assert not (tmp_path / "a.png").exists()


@pytest.mark.parametrize("command", [["train", "--epochs", "2"], ["graph"]])
def test_a_figure_suffix_matplotlib_cannot_write_is_a_usage_error_before_any_work(
    tmp_path, capsys, command
):
    """train --out a.txt used to write a PNG named a.txt."""
    out = tmp_path / "boundary.txt"
    with pytest.raises(SystemExit) as stop:
        cli.main([*command, "--out", str(out)])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert "the suffix names the format, one of" in err and "png" in err
    assert not out.exists()


def test_a_figure_is_written_in_the_format_its_suffix_names(tmp_path):
    out = tmp_path / "graph.svg"
    assert cli.main(["graph", "--out", str(out)]) == 0
    assert out.read_text().lstrip().startswith("<?xml")
