"""The command line against hostile inputs, outputs and sizes: each case a refusal before
any work, or a correct result; one line, exit code 2 (usage) or 1 (bad input), no
traceback, no file of the user's overwritten."""

import io
import os
import subprocess
import sys
import time

import numpy as np
import pytest
from hostile_zip import overlapping_npz

from tinygrad_moons import cli, nn


def run(argv, capsys):
    """(exit code, stdout, the one line of stderr) of ``cli.main(argv)``."""
    try:
        code = cli.main(argv)
    except SystemExit as stop:
        code = stop.code
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) <= 1, captured.err
    return code, captured.out, lines[0] if lines else ""


@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "model.npz"
    nn.save(nn.MLP([2, 3, 2], seed=0), path, config={"sizes": [2, 3, 2], "activation": "tanh"})
    return path


@pytest.fixture
def points(tmp_path):
    path = tmp_path / "points.csv"
    path.write_text("x,y\n0.5,0.25\n-1,1\n")
    return path


# ---------------------------------------------------------------------- model files
def test_a_model_of_overlapping_entries_is_refused_at_once(tmp_path, points, capsys):
    bomb = tmp_path / "bomb.npz"
    overlapping_npz(bomb, entries=30, kernel_bytes=2**20, config_text='{"sizes": [2, 3, 2]}')
    start = time.perf_counter()
    code, out, err = run(["predict", "--model", str(bomb), "--input", str(points)], capsys)
    assert code == 1 and out == "" and "'bomb0.npy' and 'bomb1.npy' overlap" in err
    assert time.perf_counter() - start < 2


def test_a_config_of_fifty_thousand_layers_is_summarised_in_one_short_line(
    tmp_path, points, capsys
):
    path = tmp_path / "deep.npz"
    nn.save(nn.MLP([2, 3, 2], seed=0), path, config={"sizes": [2] * 50_001})
    code, _, err = run(["predict", "--model", str(path), "--input", str(points)], capsys)
    assert code == 1 and "problems, the first 10" in err and "more" in err
    assert len(err) < 2000


# ---------------------------------------------------------------------- inputs
@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null"])
def test_a_device_as_input_is_refused_without_reading_it(model_file, device, capsys):
    code, _, err = run(["predict", "--model", str(model_file), "--input", device], capsys)
    assert code == 1 and "not a regular file" in err


def test_a_fifo_as_input_is_refused_without_waiting_on_it(tmp_path, model_file):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    argv = ["predict", "--model", str(model_file), "--input", str(fifo)]
    done = subprocess.run(
        [sys.executable, "-m", "tinygrad_moons", *argv], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1 and "not a regular file" in done.stderr


def test_a_folder_as_input_is_named_a_folder(tmp_path, model_file, capsys):
    folder = tmp_path / "points"
    folder.mkdir()
    code, out, err = run(["predict", "--model", str(model_file), "--input", str(folder)], capsys)
    assert code == 1 and out == "" and f"cannot read {folder}: it is a folder" in err


@pytest.mark.parametrize("kind", ["folder", "fifo", "device"])
def test_a_model_that_is_not_a_regular_file_is_named_for_what_it_is(tmp_path, points, capsys, kind):
    model = tmp_path / "model.npz"
    if kind == "folder":
        model.mkdir()
    elif kind == "fifo":
        os.mkfifo(model)
    else:
        model = "/dev/zero"
    code, out, err = run(["predict", "--model", str(model), "--input", str(points)], capsys)
    called = {"folder": "a folder", "fifo": "a named pipe (FIFO)", "device": "a device"}[kind]
    assert code == 1 and out == "" and f"cannot read model {model}: it is {called}" in err
    assert "no such file" not in err


def test_a_damaged_config_is_said_once_not_cannot_read_twice(tmp_path, points, capsys):
    model = tmp_path / "model.npz"
    np.savez(model, **nn.MLP([2, 3, 2]).state_dict(), __config__=np.array('{"sizes": 1e400}'))
    code, _, err = run(["predict", "--model", str(model), "--input", str(points)], capsys)
    assert code == 1 and err.count("cannot read") == 1 and "1e400" in err


@pytest.mark.skipif(not np.isfinite(np.longdouble("1e400")), reason="np.longdouble is float64 here")
def test_a_model_of_longdoubles_beyond_float64_is_refused_not_predicted(tmp_path, points, capsys):
    state = nn.MLP([2, 3, 2], seed=0).state_dict()
    state["0.weight"] = np.full((2, 3), np.longdouble("1e400"))
    model = tmp_path / "wide.npz"
    np.savez(model, **state, __config__=np.array('{"sizes": [2, 3, 2], "activation": "tanh"}'))
    code, out, err = run(["predict", "--model", str(model), "--input", str(points)], capsys)
    assert code == 1 and out == "" and "not finite: '0.weight' holds 1e+400" in err


def test_a_file_over_the_size_bound_is_refused_before_it_is_read(
    tmp_path, model_file, capsys, monkeypatch
):
    from tinygrad_moons import reading

    monkeypatch.setattr(reading, "MAX_INPUT_BYTES", 100)
    monkeypatch.setattr(reading.read_text, "__defaults__", (100,))
    big = tmp_path / "big.csv"
    big.write_text("0.5,0.5\n" * 20)
    code, _, err = run(["predict", "--model", str(model_file), "--input", str(big)], capsys)
    assert code == 1 and "160 bytes, more than 100" in err


def test_a_byte_order_mark_without_a_header_is_read_as_excel_writes_it(
    tmp_path, model_file, capsys
):
    path = tmp_path / "excel.csv"
    path.write_text("0.5,1\n", encoding="utf-8-sig")
    code, out, _ = run(["predict", "--model", str(model_file), "--input", str(path)], capsys)
    assert code == 0 and out.splitlines()[0] == "class,p0,p1" and len(out.splitlines()) == 2


def test_a_cell_over_csvs_field_limit_is_one_line_naming_it(tmp_path, model_file, capsys):
    path = tmp_path / "long.csv"
    path.write_text("0.5,1\n" + "9" * 200_000 + ",1\n")
    code, _, err = run(["predict", "--model", str(model_file), "--input", str(path)], capsys)
    assert code == 1 and "line 2: field larger than field limit" in err
    assert len(err) < 300


def test_input_dash_reads_the_standard_input(model_file, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"0.5,0.5\n-1,1\n")))
    code, out, _ = run(["predict", "--model", str(model_file), "--input", "-"], capsys)
    assert code == 0 and len(out.splitlines()) == 3


# ---------------------------------------------------------------------- outputs
def test_predict_never_overwrites_its_points(tmp_path, model_file, points, capsys):
    (tmp_path / "adir").mkdir()
    before = points.read_text()
    output = str(tmp_path / "adir" / ".." / "points.csv")
    argv = ["predict", "--model", str(model_file), "--input", str(points), "--output", output]
    code, out, err = run(argv, capsys)
    assert code == 2 and out == "" and "would overwrite --input" in err
    assert points.read_text() == before


def test_predict_never_overwrites_its_model(tmp_path, model_file, points, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = model_file.read_bytes()
    argv = ["predict", "--model", "model.npz", "--input", str(points), "--output", "./model.npz"]
    code, _, err = run(argv, capsys)
    assert code == 2 and "would overwrite --model" in err
    assert model_file.read_bytes() == before


def test_a_hard_link_to_an_input_is_the_same_file(tmp_path, model_file, points, capsys):
    os.link(points, tmp_path / "alias.csv")
    argv = ["predict", "--model", str(model_file), "--input", str(points)]
    code, _, err = run([*argv, "--output", str(tmp_path / "alias.csv")], capsys)
    assert code == 2 and "would overwrite" in err


def test_two_outputs_naming_one_file_are_refused_before_training(tmp_path, capsys):
    same = str(tmp_path / "same.png")
    code, out, err = run(["train", "--epochs", "2", "--out", same, "--save", same], capsys)
    assert code == 2 and out == "" and "--save" in err and "--out" in err
    assert list(tmp_path.iterdir()) == []


def test_a_long_name_saves_its_temporary_fits_and_a_too_long_one_is_refused(tmp_path, capsys):
    name = tmp_path / ("m" * 245 + ".npz")  # 249 characters: the file system's limit is 255
    code, _, _ = run(["train", "--epochs", "2", "--out", str(tmp_path / "a.png"),
                      "--save", str(name)], capsys)  # fmt: skip
    assert code == 0 and nn.load_config(name)["sizes"] == [2, 3, 2]
    code, out, err = run(["train", "--save", str(tmp_path / ("m" * 300 + ".npz"))], capsys)
    assert code == 2 and out == "" and "longer than the 255" in err


# ---------------------------------------------------------------------- sizes and errors
@pytest.mark.parametrize(
    "argv",
    [
        ["train", "--hidden", "100000", "100000"],
        ["compile", "--hidden", "1000000000"],
        ["bench", "--workloads", "1000000000x3"],
        ["sweep", "--hidden", "3", "100000000"],
    ],
)
def test_a_size_too_large_to_allocate_is_refused_before_any_work(argv, capsys):
    start = time.perf_counter()
    code, out, err = run(argv, capsys)
    assert code == 2 and out == "" and "more than the" in err
    assert time.perf_counter() - start < 5


def test_a_memory_error_is_one_line(capsys, monkeypatch):
    def out_of_memory(args):
        raise MemoryError

    monkeypatch.setattr(cli.COMMANDS["graph"], "run", out_of_memory)
    code, _, err = run(["graph"], capsys)
    assert code == 1 and "out of memory" in err


def test_a_diverging_baseline_is_one_line(capsys, tmp_path):
    code, _, err = run(["baseline", "--lr", "1e300", "--out", str(tmp_path / "b.png")], capsys)
    assert code == 1 and "diverged" in err


def test_gradcheck_at_a_rate_that_overflows_is_one_line(capsys, tmp_path):
    code, _, err = run(["gradcheck", "--lr", "1e308", "--epochs", "2"], capsys)
    assert code == 1 and "diverged" in err and "--lr" in err


def test_predict_refuses_a_point_whose_outputs_overflow_naming_its_line(tmp_path, capsys):
    model = tmp_path / "relu.npz"
    nn.save(nn.MLP([2, 3, 2], "relu", seed=0), model, config={"sizes": [2, 3, 2],
            "activation": "relu"})  # fmt: skip
    path = tmp_path / "p.csv"
    path.write_text("0.5,0.5\n1e308,1e308\n")
    code, out, err = run(["predict", "--model", str(model), "--input", str(path)], capsys)
    assert code == 1 and out == "" and f"{path}, line 2" in err and "not finite" in err


def test_sweep_starts_no_more_workers_than_networks(capsys, tmp_path):
    from tinygrad_moons.sweep import workers

    assert workers(1000, 1) == 1 and workers(-1, 1) == 1 and workers(2, 5) == 2
    argv = ["sweep", "--hidden", "1", "--epochs", "2", "--n-jobs", "1000"]
    code, out, _ = run([*argv, "--out", str(tmp_path / "s.png")], capsys)
    assert code == 0 and "1 at a time" in out
