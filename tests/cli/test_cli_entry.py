"""The ``tinygrad-moons`` script's entry point: Ctrl-C while the command line loads, the
command alone, --version."""

import builtins
from pathlib import Path

import pytest

import tinygrad_moons.__main__ as entry
from tinygrad_moons import __version__, cli

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


def test_the_command_alone_prints_the_commands_and_exits_0(capsys):
    assert entry.main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: tinygrad-moons") and all(name in out for name in cli.COMMANDS)


def test_version_prints_the_package_version_and_exits_0(capsys):
    with pytest.raises(SystemExit) as exit_:
        entry.main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"tinygrad-moons {__version__}"
