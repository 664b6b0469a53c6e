"""The ``tinygrad-moons`` script's entry point: Ctrl-C while the command line loads."""

import builtins
from pathlib import Path

import tinygrad_moons.__main__ as entry
from tinygrad_moons import cli

PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"


def test_the_script_runs_the_entry_point_that_catches_ctrl_c_during_imports():
    assert 'tinygrad-moons = "tinygrad_moons.__main__:main"' in PYPROJECT.read_text()


def test_ctrl_c_while_the_commands_load_is_one_line_and_exit_code_130(monkeypatch, capsys):
    real_import = builtins.__import__

    def interrupted(name, *args, **kwargs):
        if name == "tinygrad_moons.cli":  # the seconds of loading sklearn, scipy, matplotlib
            raise KeyboardInterrupt
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", interrupted)
    assert entry.main(["train"]) == cli.INTERRUPTED
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.strip() == "tinygrad-moons: interrupted"


def test_the_entry_point_runs_the_command(capsys):
    assert entry.main(["compile", "--hidden", "2"]) == 0
    assert "def backward" in capsys.readouterr().out
