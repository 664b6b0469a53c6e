"""The figures every plot draws on: matplotlib's object API, no pyplot state, no window.

Jupyter shows pyplot's figures at the end of a cell because pyplot keeps a list of them;
these are on no list, so they show themselves instead: a cell whose last value is one of
these Figures, or one of their Axes (what the plot functions return), displays the figure
as a PNG (IPython's ``_repr_png_``). Outside a notebook nothing is drawn until ``save``.
"""

from __future__ import annotations

import io
from typing import Any

from matplotlib.axes import Axes
from matplotlib.figure import Figure


def _png(figure: Figure) -> bytes:
    """The figure as PNG bytes, trimmed to what is drawn, as Jupyter's inline figures are."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


class ShownAxes(Axes):
    """An Axes that a notebook displays as its whole figure when a cell ends with it."""

    def _repr_png_(self) -> bytes:
        return _png(self.figure)


class ShownFigure(Figure):
    """A Figure that a notebook displays when a cell ends with it; its subplots are
    ``ShownAxes`` unless another class or projection is asked for."""

    def _repr_png_(self) -> bytes:
        return _png(self)

    def add_subplot(self, *args: Any, **kwargs: Any) -> Axes:
        chosen = {"axes_class", "projection", "polar"} & kwargs.keys()
        if not chosen and not (args and isinstance(args[0], Axes)):
            kwargs["axes_class"] = ShownAxes
        return super().add_subplot(*args, **kwargs)


def new_figure(width: float = 6.0, height: float = 5.0) -> Figure:
    """A fresh Figure that belongs to no window (no pyplot state); shown in a notebook."""
    return ShownFigure(figsize=(width, height), layout="constrained")


def new_axes(width: float = 6.0, height: float = 5.0) -> Axes:
    """One Axes on a fresh Figure."""
    return new_figure(width, height).add_subplot()
