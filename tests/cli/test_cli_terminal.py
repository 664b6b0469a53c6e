"""What a user sees on a terminal: loss lines above the bar, progress, one-line errors,
warnings and Ctrl-C, defaults in --help, and output files written whole or not at all."""

import argparse
import fcntl
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
import warnings

import pytest

from tinygrad_moons import cli, plot
from tinygrad_moons.atomic import written_whole
from tinygrad_moons.cli import terminal, train_command


def run_on_a_terminal(argv, cwd, timeout=60.0):
    """``python -m tinygrad_moons ARGV`` with stdout and stderr on a pseudo-terminal."""
    leader, follower = pty.openpty()
    # A fresh pseudo-terminal is 0 columns wide; give it a window as a terminal has.
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 120, 0, 0))
    process = subprocess.Popen(
        [sys.executable, "-m", "tinygrad_moons", *argv],
        stdout=follower,
        stderr=follower,
        cwd=cwd,
    )
    os.close(follower)
    chunks = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        elif process.poll() is not None:
            break
    os.close(leader)
    return process.wait(timeout=10), b"".join(chunks).decode(errors="replace")


def screen_lines(text):
    """The lines a terminal ends up showing: each carriage return restarts its line."""
    return [line.split("\r")[-1] for line in text.replace("\r\n", "\n").split("\n")]


# ---------------------------------------------------------------- train on a terminal
def test_train_on_a_terminal_prints_the_loss_lines_above_the_bar(tmp_path):
    argv = ["train", "--epochs", "301", "--print-every", "100", "--out", "b.png"]
    code, text = run_on_a_terminal(argv, tmp_path)
    assert code == 0, text
    lines = screen_lines(text)
    logged = [line for line in lines if line.startswith("Loss after iteration")]
    assert [line.split(":")[0] for line in logged] == [
        f"Loss after iteration {i}" for i in (0, 100, 200, 300)
    ]
    assert logged[0] == "Loss after iteration 0: 0.432387"
    bar = [line for line in lines if "301/301" in line]
    assert bar, "no finished progress bar"
    final = re.search(r"Final loss after 301 epochs: ([\d.]+)", text).group(1)
    assert f"loss={final}" in bar[-1]  # the bar ends on the loss the summary reports
    # Every loss line is printed above the bar, none after it is finished.
    assert lines.index(logged[-1]) < lines.index(bar[-1])


def test_ctrl_c_ends_a_command_with_one_line_and_exit_code_130(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "tinygrad_moons", "train", "--epochs", "1000000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    assert process.stdout.readline().startswith("Training")
    assert process.stdout.readline().startswith("Loss after iteration 0")
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130
    assert err.strip() == "tinygrad-moons train: interrupted"
    assert list(tmp_path.iterdir()) == []  # no figure, no half-written file


# ---------------------------------------------------------------- the loss lines
def test_the_final_loss_line_names_a_period_two_cycle():
    line = train_command.final_loss_line([0.3, 0.0713158, 0.0707579, 0.0713158, 0.0707579])
    assert line.startswith("Final loss after 5 epochs: 0.070758 (a period-2 cycle")
    assert "0.071316, 0.070758" in line


def test_a_network_that_learnt_nothing_is_not_said_to_bounce_around_a_minimum():
    losses = [0.58, 1214.547368, 843.638037, 1214.547368, 843.638037]  # what --lr 5 ends on
    assert train_command.final_loss_line(losses, learnt=False).endswith("843.638037")


@pytest.mark.parametrize(
    "losses",
    [
        [0.5, 0.4, 0.3, 0.2],  # still falling
        [0.07, 0.07, 0.07, 0.07],  # settled
        [0.1],  # too short to tell
        [0.08, 0.07, 0.0801, 0.0701],  # alternating while drifting: not yet a cycle
    ],
)
def test_a_run_that_does_not_alternate_gets_a_plain_final_loss_line(losses):
    line = train_command.final_loss_line(losses)
    assert line == f"Final loss after {len(losses)} epochs: {losses[-1]:f}"


def test_train_off_a_terminal_prints_a_line_every_print_every_epochs(tmp_path, capsys):
    argv = ["train", "--epochs", "7", "--print-every", "3", "--out", str(tmp_path / "b.png")]
    assert cli.main(argv) == 0
    out = capsys.readouterr().out
    assert re.findall(r"Loss after iteration (\d+):", out) == ["0", "3", "6"]
    assert "\r" not in out  # no bar off a terminal


# ---------------------------------------------------------------- warnings and errors
def test_a_warning_during_a_command_is_one_clean_line(tmp_path, capsys, monkeypatch):
    real_fit = train_command.fit

    def fit_that_warns(*args, **kwargs):
        history = real_fit(*args, **kwargs)
        warnings.warn(
            "training ended no better than it started\n  try a smaller --lr", stacklevel=2
        )
        return history

    monkeypatch.setattr(train_command, "fit", fit_that_warns)
    assert cli.main(["train", "--epochs", "2", "--out", str(tmp_path / "b.png")]) == 0
    err = capsys.readouterr().err
    assert err == (
        "tinygrad-moons train: warning: training ended no better than it started try a "
        "smaller --lr\n"
    )


def test_warnings_are_shown_as_before_once_the_command_is_done(tmp_path):
    cli.main(["train", "--epochs", "1", "--out", str(tmp_path / "b.png")])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.warn("after the command", stacklevel=1)
    assert [str(w.message) for w in caught] == ["after the command"]


def test_a_keyboard_interrupt_while_saving_leaves_no_file(tmp_path, capsys, monkeypatch):
    def interrupted_savefig(self, path, **kwargs):
        with open(path, "wb") as file:
            file.write(b"\x89PNG half")
        raise KeyboardInterrupt

    monkeypatch.setattr(plot.Figure, "savefig", interrupted_savefig)
    out = tmp_path / "b.png"
    assert cli.main(["train", "--epochs", "2", "--out", str(out)]) == 130
    assert capsys.readouterr().err.strip() == "tinygrad-moons train: interrupted"
    assert list(tmp_path.iterdir()) == []


def test_written_whole_keeps_the_old_file_when_the_write_fails(tmp_path):
    path = tmp_path / "out.csv"
    path.write_text("old\n")
    with pytest.raises(RuntimeError), written_whole(path) as partial:
        partial.write_text("new, half")
        raise RuntimeError("disk full")
    assert path.read_text() == "old\n"
    assert list(tmp_path.iterdir()) == [path]


# ---------------------------------------------------------------- names and --help
def test_epochs_and_the_writeups_passes_are_one_option():
    parser = cli.build_parser()
    for command in ("train", "sweep", "baseline", "gradcheck"):
        assert parser.parse_args([command, "--epochs", "7"]).epochs == 7
        assert parser.parse_args([command, "--passes", "7"]).epochs == 7


def subcommand_parsers():
    parser = cli.build_parser()
    subparsers = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return subparsers.choices


@pytest.mark.parametrize("command", list(cli.COMMANDS))
def test_help_shows_every_default_output_paths_included(command):
    sub = subcommand_parsers()[command]
    text = " ".join(sub.format_help().split())
    for action in sub._actions:
        if action.option_strings and action.dest != "help":
            assert action.help, f"{command} {action.option_strings[0]} has no help"
            if action.default is not None and action.default is not False:
                default = action.default
                shown = " ".join(map(str, default)) if isinstance(default, list) else default
                assert f"(default: {default})" in text or f"(default: {shown})" in text, (
                    command,
                    action.option_strings,
                )


def test_help_names_the_figure_each_command_writes():
    help_of = {name: " ".join(p.format_help().split()) for name, p in subcommand_parsers().items()}
    assert "(default: decision_boundary.png)" in help_of["train"]
    assert "(default: hidden_sizes.png)" in help_of["sweep"]
    assert "(default: the standard output)" in help_of["predict"]


def test_the_activation_choices_come_from_the_registry(monkeypatch):
    from tinygrad_moons import nn

    monkeypatch.setitem(nn.ACTIVATIONS, "cosh_test", nn.ACTIVATIONS["tanh"])
    args = cli.build_parser().parse_args(["train", "--activation", "cosh_test"])
    assert args.activation == "cosh_test"


def test_usage_error_after_parsing_is_exit_2_with_the_help_hint(capsys):
    assert cli.main(["sweep", "--backend", "dask"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tinygrad-moons sweep: error: --backend dask needs --scheduler")
    assert err.rstrip().endswith("(see tinygrad-moons sweep --help)")


def test_say_writes_above_a_bar_on_the_stream_asked_for(capsys):
    terminal.say("to stdout")
    terminal.say("to stderr", error=True)
    captured = capsys.readouterr()
    assert captured.out == "to stdout\n" and captured.err == "to stderr\n"


def test_an_error_of_several_lines_is_reported_on_one(tmp_path, capsys, monkeypatch):
    def several_lines(path):
        raise ValueError("cannot load:\n  missing: 0.weight\n  unexpected: w")

    monkeypatch.setattr(cli.predict_command.nn, "load_config", several_lines)
    model = tmp_path / "m.npz"
    cli.train_command.nn.save(cli.train_command.nn.MLP([2, 2]), model)
    points = tmp_path / "p.csv"
    points.write_text("1,2\n")
    assert cli.main(["predict", "--model", str(model), "--input", str(points)]) == 1
    err = capsys.readouterr().err
    assert err.endswith("cannot load: missing: 0.weight unexpected: w\n")
    assert len(err.splitlines()) == 1


def test_help_lists_every_command_without_importing_one():
    """The top-level --help reads the summaries from COMMANDS; a command's module (and the
    libraries it needs) is imported only when that command runs."""
    code = (
        "import sys\nfrom tinygrad_moons import cli\ntry:\n    cli.main(['--help'])\n"
        "except SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('tinygrad_moons.cli.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "['tinygrad_moons.cli.terminal']"
    text = " ".join(out.stdout.split())
    for command in cli.COMMANDS.values():
        assert command.SUMMARY in text
