"""Figures with matplotlib's object API (no pyplot state, no display needed).

Decision boundaries, loss curves, the step-size curve, the benchmark's ratios and ``save``;
the computation-graph drawing (``graph_layout``, ``computation_graph``) is in
``plot/graph_drawing.py``, and the figures they all draw on (``new_figure``, ``new_axes``)
in ``plot/figures.py``, both re-exported here. Each function returns the Axes or Figure
it drew; in Jupyter, a cell ending with one shows the figure.

>>> import numpy as np
>>> X = np.array([[0.0, 0.0], [1.0, 1.0]]); y = np.array([0, 1])
>>> figure = decision_boundary(lambda P: (P.sum(axis=1) > 1).astype(int), X, y).figure
>>> len(figure.axes)
1
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.figure import Figure

from tinygrad_moons.atomic import written_whole
from tinygrad_moons.plot.figures import new_axes, new_figure
from tinygrad_moons.plot.graph_drawing import (
    GraphInput,
    GraphLayout,
    computation_graph,
    graph_box,
    graph_edge_points,
    graph_layout,
)
from tinygrad_moons.validate import flag

CMAP = "Spectral"


def class_colors(n_classes: int) -> np.ndarray:
    """One RGBA colour per class from the write-up's Spectral colour map: its two ends for
    two classes; for more, spread over its darker halves, never its pale middle (pale
    points on their pale region would vanish)."""
    if n_classes <= 2:
        return matplotlib.colormaps[CMAP](np.array([0.0, 1.0]))
    warm, cool = -(-n_classes // 2), n_classes // 2
    positions = np.r_[np.linspace(0.0, 0.3, warm), np.linspace(0.75, 1.0, cool)]
    return matplotlib.colormaps[CMAP](positions)


def class_scatter(ax: Axes, X: np.ndarray, y: np.ndarray, colors: np.ndarray | None = None) -> None:
    """The points of X coloured by class y, with a legend naming each class's colour.

    The shaded regions of a decision boundary use the same colours, lighter.
    """
    y = np.asarray(y).astype(int)
    colors = class_colors(int(y.max()) + 1) if colors is None else colors
    for k in np.unique(y):
        at = y == k
        ax.scatter(
            X[at, 0], X[at, 1], color=colors[k], s=25, edgecolors="k", linewidths=0.6,
            label=f"class {k}",
        )  # fmt: skip
    ax.legend(loc="upper right", fontsize=8, framealpha=0.85, handletextpad=0.2)


class _PlainLogFormatter(ticker.LogFormatter):
    """A log axis's labels as plain numbers: 0.4, 2, 1e-06; never 4x10^-1."""

    def _num_to_string(self, x: float, vmin: float, vmax: float) -> str:
        return f"{x:g}"


def plain_log_ticks(axis: Axis) -> None:
    """Label a log axis with plain numbers, its in-between ticks too when it spans little."""
    axis.set_major_formatter(_PlainLogFormatter())
    axis.set_minor_formatter(_PlainLogFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.5)))


def decision_boundary(
    predict: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    y: np.ndarray,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    step: float = 0.01,
    margin: float = 0.5,
) -> Axes:
    """Fill the plane by ``predict``'s class and draw the points of X coloured by y.

    ``predict`` maps an (M, 2) array of points to M class labels, as in the write-up's
    ``plot_decision_boundary``: a grid of spacing ``step`` covers the data plus ``margin``.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision boundaries are drawn for 2-D points; X has shape {X.shape}")
    ax = ax if ax is not None else new_axes()
    x_min, y_min = X.min(axis=0) - margin
    x_max, y_max = X.max(axis=0) + margin
    xx, yy = np.meshgrid(np.arange(x_min, x_max, step), np.arange(y_min, y_max, step))
    classes = np.asarray(predict(np.c_[xx.ravel(), yy.ravel()])).reshape(xx.shape)
    y = np.asarray(y).astype(int)
    colors = class_colors(int(max(classes.max(), y.max())) + 1)
    levels = np.arange(len(colors) + 1) - 0.5
    ax.contourf(xx, yy, classes, levels=levels, colors=colors, alpha=0.35)
    class_scatter(ax, X, y, colors)
    ax.set(xlim=(x_min, x_max), ylim=(y_min, y_max), xlabel="$x_1$", ylabel="$x_2$")
    if title:
        ax.set_title(title)
    return ax


def decision_boundary_grid(
    panels: list[tuple[str, Callable[[np.ndarray], np.ndarray]]],
    X: np.ndarray,
    y: np.ndarray,
    *,
    columns: int = 2,
    panel_size: tuple[float, float] = (5.5, 4.4),
    title: str | None = None,
) -> Figure:
    """One decision-boundary panel per (title, predict) pair, ``columns`` to a row.

    ``title`` heads the whole figure: say there what was run (epochs, settings).
    """
    columns = min(columns, len(panels))
    rows = -(-len(panels) // columns)
    figure = new_figure(panel_size[0] * columns, panel_size[1] * rows)
    axes = np.atleast_1d(figure.subplots(rows, columns)).ravel()
    for ax, (panel_title, predict) in zip(axes, panels):
        decision_boundary(predict, X, y, ax=ax, title=panel_title)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
    if title:
        figure.suptitle(title)
    return figure


def step_size_curve(
    steps: np.ndarray, errors: np.ndarray, *, ax: Axes | None = None, title: str | None = None
) -> Axes:
    """Log-log plot of a finite difference's relative error against its step size."""
    ax = ax if ax is not None else new_axes(6.5, 4.5)
    ax.loglog(steps, errors, "o-", markersize=3, label="central difference vs autodiff")
    best = int(np.argmin(errors))
    ax.axvline(1e-6, color="0.5", linestyle="--", linewidth=1, label="gradcheck's eps = 1e-6")
    ax.annotate(
        f"best: eps = {steps[best]:.0e}, error {errors[best]:.0e}",
        (steps[best], errors[best]),
        xytext=(0.04, 0.06),
        textcoords="axes fraction",
        arrowprops={"arrowstyle": "->", "color": "0.3"},
    )
    plain_log_ticks(ax.xaxis)
    plain_log_ticks(ax.yaxis)
    ax.set(xlabel="step size eps", ylabel="normwise relative error")
    ax.set_title(title or "Finite-difference error against step size (float64)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper center")
    return ax


def benchmark_ratios(
    ratios: Mapping[str, Mapping[tuple[int, int], float]],
    limits: Mapping[tuple[str, tuple[int, int]], float] | None = None,
    *,
    baseline: str = "hand-written numpy",
    ax: Axes | None = None,
    title: str | None = None,
) -> Axes:
    """Bars of each method's time per step over a baseline's, one group per workload.

    ``ratios`` maps a method's label to {(N, H): ratio}; ``limits`` maps (label, (N, H))
    to that method's time target there (``bench.BenchmarkResult.time_ratios()`` and
    ``time_limits()`` give both; ``baseline`` names what the ratios divide by, the
    benchmark's ``bench.METHODS[bench.BASELINE]``). The dashed line at 1 is the baseline,
    on a log scale so that twice as slow and twice as fast stand equally far from it; a
    black bar over a method's bar is its target on that workload. A method without a ratio
    on a workload has no bar there.
    """
    limits = limits or {}
    workloads = list(dict.fromkeys(w for by_workload in ratios.values() for w in by_workload))
    ax = ax if ax is not None else new_axes(1.6 + 1.9 * len(workloads), 4.5)
    width = 0.8 / max(len(ratios), 1)
    target_label = "target"
    for i, (method, by_workload) in enumerate(ratios.items()):
        label = method
        for j, workload in enumerate(workloads):
            ratio = by_workload.get(workload)
            if ratio is None:
                continue
            x = j - 0.4 + width * (i + 0.5)
            ax.bar(x, ratio, width * 0.9, color=f"C{i}", label=label)
            label = "_"  # one legend entry per method
            ax.annotate(
                f"{ratio:.2f}",
                (x, ratio),
                xytext=(0, 2),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=7,
            )
            limit = limits.get((method, workload))
            if limit is not None:
                ax.hlines(
                    limit,
                    x - width / 2,
                    x + width / 2,
                    colors="k",
                    linewidth=2.5,
                    label=target_label,
                )
                target_label = "_"
    ax.axhline(1.0, color="0.3", linestyle="--", linewidth=1, label=baseline)
    ax.set_yscale("log")
    plain_log_ticks(ax.yaxis)
    ax.set_xticks(range(len(workloads)), [f"N={n}, H={h}" for n, h in workloads])
    ax.set(xlabel="workload: N points, H hidden units", ylabel=f"time / {baseline}'s")
    ax.set_title(title or f"One training step, time relative to {baseline}")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def sharpness_curves(
    runs: Mapping[str, tuple[Sequence[int], Sequence[float], Sequence[float]]],
    *,
    limit: float,
    title: str | None = None,
) -> Figure:
    """Sharpness against epoch above, loss beneath: one colour per labelled run of
    ``(measured epochs, sharpness, loss after every epoch)``. The even and the odd epochs
    are drawn apart (solid and dashed), the two branches of a period-2 cycle, and the
    stability limit ``limit`` (2/lr) as a horizontal line."""
    figure = new_figure(8.0, 6.5)
    top, bottom = figure.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    for (label, (epochs, sharpness, loss)), color in zip(
        runs.items(), matplotlib.colormaps["tab10"].colors, strict=False
    ):
        epochs, sharpness = np.asarray(epochs), np.asarray(sharpness)
        for parity, style, name in [(0, "-", "even epochs"), (1, "--", "odd epochs")]:
            chosen = epochs % 2 == parity
            top.plot(
                epochs[chosen] + 1,
                sharpness[chosen],
                style,
                color=color,
                linewidth=1.0,
                marker=".",
                markersize=3,
                label=f"{label}, {name}",
            )
        bottom.plot(np.arange(1, len(loss) + 1), loss, color=color, linewidth=1.0, label=label)
    top.axhline(limit, color="0.2", linestyle=":", linewidth=1.2, label=f"2/lr = {limit:g}")
    top.set(ylabel="sharpness (top Hessian eigenvalue)")
    top.legend(fontsize="small", ncols=2)
    top.grid(True, alpha=0.3)
    bottom.set_xscale("log")  # the early bouncing and the long end, both legible
    plain_log_ticks(bottom.xaxis)
    bottom.set_yscale("log")
    plain_log_ticks(bottom.yaxis)
    bottom.set(xlabel="epoch (pass over the data, log scale)", ylabel="loss")
    bottom.legend(fontsize="small")
    bottom.grid(True, which="major", alpha=0.3)
    if title:
        top.set_title(title)
    return figure


def history_curves(
    histories: Mapping[str, Any],
    *,
    key: str = "loss",
    against: str = "epoch",
    ax: Axes | None = None,
    title: str | None = None,
    log: bool = False,
) -> Axes:
    """One line per labelled ``History``: its ``key`` list against epoch or wall time.

    ``key`` is a History field ("loss", "accuracy", "val_loss", "val_accuracy", "lr");
    ``against`` is "epoch" (1, 2, ...) or "seconds" (time since ``fit`` started).
    """
    log = flag("history_curves' log", log)
    if against not in ("epoch", "seconds"):
        raise ValueError(f"against must be 'epoch' or 'seconds', got {against!r}")
    ax = ax if ax is not None else new_axes(6.5, 4.5)
    for label, history in histories.items():
        values = getattr(history, key)
        x = history.seconds if against == "seconds" else np.arange(1, len(values) + 1)
        ax.plot(x, values, label=label, linewidth=1.2)
    if log:
        ax.set_yscale("log")
        plain_log_ticks(ax.yaxis)
    xlabel = "wall time since fit started (s)" if against == "seconds" else "epoch"
    ax.set(xlabel=xlabel, ylabel=key.replace("_", " "))
    if title:
        ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    return ax


# The formats matplotlib writes, chosen by a file's suffix ("png", "pdf", "svg", ...).
FIGURE_FORMATS = tuple(sorted(FigureCanvasBase.get_supported_filetypes()))


def figure_format(path: str | Path) -> str:
    """The format a figure saved at ``path`` is written in: its suffix's, PNG without one.

    >>> figure_format("boundary.svg"), figure_format("boundary")
    ('svg', 'png')
    >>> figure_format("boundary.txt")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: cannot write a figure as boundary.txt: the suffix names the format, one of ...
    """
    suffix = Path(path).suffix.lower().lstrip(".")
    if not suffix:
        return "png"
    if suffix not in FIGURE_FORMATS:
        raise ValueError(
            f"cannot write a figure as {path}: the suffix names the format, one of "
            f"{', '.join(FIGURE_FORMATS)}"
        )
    return suffix


def save(figure: Figure, path: str | Path, dpi: int = 120) -> Path:
    """Write ``figure`` in the format its suffix names (PNG without one; parent folders
    created) and return its path; a suffix matplotlib cannot write is a ValueError.

    The file is written whole under a temporary name and then renamed, so an interrupted
    save never leaves a half-written figure at ``path``.
    """
    path = Path(path)
    chosen = figure_format(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with written_whole(path) as partial:
        figure.savefig(partial, dpi=dpi, format=chosen)
    return path


__all__ = [
    "GraphInput",
    "GraphLayout",
    "benchmark_ratios",
    "class_colors",
    "class_scatter",
    "computation_graph",
    "decision_boundary",
    "decision_boundary_grid",
    "figure_format",
    "graph_box",
    "graph_edge_points",
    "graph_layout",
    "history_curves",
    "new_axes",
    "new_figure",
    "plain_log_ticks",
    "save",
    "sharpness_curves",
    "step_size_curve",
]
