"""plot.history_curves: one line per History, against epoch or wall time."""

import pytest

from tinygrad_moons import plot
from tinygrad_moons.train import History


def test_history_curves_draws_one_line_per_history_against_epoch_or_seconds():
    a = History(loss=[1.0, 0.5, 0.25], seconds=[0.1, 0.2, 0.3], lr=[0.1, 0.1, 0.1])
    b = History(loss=[2.0, 1.0], seconds=[1.0, 2.0], lr=[0.2, 0.1])
    ax = plot.history_curves({"a": a, "b": b}, log=True)
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b"]
    assert list(ax.get_lines()[0].get_xdata()) == [1, 2, 3]
    assert ax.get_yscale() == "log"
    ax = plot.history_curves({"b": b}, key="lr", against="seconds")
    assert list(ax.get_lines()[0].get_xdata()) == [1.0, 2.0]
    assert list(ax.get_lines()[0].get_ydata()) == [0.2, 0.1]


def test_history_curves_refuses_an_unknown_x_axis():
    with pytest.raises(ValueError, match="against"):
        plot.history_curves({"a": History(loss=[1.0])}, against="steps")
