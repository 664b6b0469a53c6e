"""Figures with matplotlib's object API (no pyplot state, no display needed).

>>> import numpy as np
>>> X = np.array([[0.0, 0.0], [1.0, 1.0]]); y = np.array([0, 1])
>>> figure = decision_boundary(lambda P: (P.sum(axis=1) > 1).astype(int), X, y).figure
>>> len(figure.axes)
1
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from tinygrad_moons.tensor import Tensor, _topological_order

CMAP = "Spectral"


def new_figure(width: float = 6.0, height: float = 5.0) -> Figure:
    """A fresh Figure that belongs to no window (no pyplot state, no display)."""
    return Figure(figsize=(width, height), layout="constrained")


def new_axes(width: float = 6.0, height: float = 5.0) -> Axes:
    """One Axes on a fresh Figure."""
    return new_figure(width, height).add_subplot()


def class_colors(n_classes: int) -> np.ndarray:
    """One RGBA colour per class, spread over the write-up's Spectral colour map."""
    return matplotlib.colormaps[CMAP](np.linspace(0.0, 1.0, max(n_classes, 2)))


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
    ax.scatter(X[:, 0], X[:, 1], c=colors[y], s=25, edgecolors="k", linewidths=0.6)
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
) -> Figure:
    """One decision-boundary panel per (title, predict) pair, ``columns`` to a row."""
    columns = min(columns, len(panels))
    rows = -(-len(panels) // columns)
    figure = new_figure(panel_size[0] * columns, panel_size[1] * rows)
    axes = np.atleast_1d(figure.subplots(rows, columns)).ravel()
    for ax, (title, predict) in zip(axes, panels):
        decision_boundary(predict, X, y, ax=ax, title=title)
    for ax in axes[len(panels) :]:
        ax.set_visible(False)
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
    ax.set(xlabel="step size eps", ylabel="normwise relative error")
    ax.set_title(title or "Finite-difference error against step size (float64)")
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(loc="upper center")
    return ax


def benchmark_ratios(result, *, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Bars of each method's time per step over hand-written numpy's, one group per workload.

    ``result`` is a ``bench.BenchmarkResult``. The dashed line at 1 is numpy itself, on a
    log scale so that twice as slow and twice as fast stand equally far from it; a black
    bar over a method's bar is its time target on that workload (memory targets are not
    drawn). Methods a run did not measure (PyTorch when torch is absent) have no bars.
    """
    from tinygrad_moons.bench import METHODS

    workloads = list(dict.fromkeys((m.n, m.hidden) for m in result.measurements))
    present = {m.method for m in result.measurements}
    methods = [name for name in METHODS if name in present and name != "numpy"]
    ax = ax if ax is not None else new_axes(1.6 + 1.9 * len(workloads), 4.5)
    width = 0.8 / max(len(methods), 1)
    limits = {
        (c.target.method, c.target.workload): c.target.limit
        for c in result.targets()
        if c.target.kind == "time"
    }
    target_label = "target"
    for i, method in enumerate(methods):
        label = METHODS[method]
        for j, workload in enumerate(workloads):
            ratio = result.ratio(method, workload)
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
    ax.axhline(1.0, color="0.3", linestyle="--", linewidth=1, label="hand-written numpy")
    ax.set_yscale("log")
    ax.set_xticks(range(len(workloads)), [f"N={n}, H={h}" for n, h in workloads])
    ax.set(xlabel="workload: N points, H hidden units", ylabel="time per step / numpy's")
    ax.set_title(title or "One training step, time relative to hand-written numpy")
    ax.grid(True, axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=8)
    return ax


@dataclass
class GraphLayout:
    """The nodes of a graph in columns, inputs left: ``labels[node]`` and ``position[node]``."""

    labels: dict[object, str]
    position: dict[object, tuple[float, float]]
    edges: list[tuple[object, object]]
    leaves: list[object]


def graph_layout(
    root: Tensor,
    names: dict[str, Tensor] | None = None,
    gradients: dict | None = None,
) -> GraphLayout:
    """Place every op and leaf that ``root`` depends on: column = longest path from a leaf.

    Each op is labelled with its name, output shape and, when ``gradients`` (from
    ``trace_backward``) is given, the norm of the gradient that reached it; a leaf with
    its name from ``names``, its shape and the norm of its ``.grad``.
    """
    if root._ctx is None:
        raise ValueError("draw the graph of a tensor made by ops, not of a leaf")
    leaf_names = {id(t): name for name, t in (names or {}).items()}
    ops = _topological_order(root._ctx)[::-1]  # inputs first
    level: dict[object, int] = {}
    edges, leaves, labels = [], [], {}
    for op in ops:
        parents = [p for p in op.parents if p is not None]
        for parent in parents:
            if isinstance(parent, Tensor) and parent not in level:
                level[parent] = 0
                leaves.append(parent)
                norm = "" if parent.grad is None else f"\n|grad| {np.linalg.norm(parent.grad):.3g}"
                name = leaf_names.get(id(parent), "leaf")
                labels[parent] = f"{name}\n{parent.shape}{norm}"
            edges.append((parent, op))
        level[op] = 1 + max(level[p] for p in parents)
        norm = "" if gradients is None else f"\n|grad| {np.linalg.norm(gradients[op]):.3g}"
        labels[op] = f"{type(op).__name__}\n{op._shape}{norm}"
    for leaf in leaves:  # just left of the first op that uses it
        level[leaf] = min(level[op] for parent, op in edges if parent is leaf) - 1
    position: dict[object, tuple[float, float]] = {}
    for x in range(max(level.values()) + 1):
        column = [node for node in [*ops, *leaves] if level[node] == x]
        column.sort(key=lambda node: _mean_parent_height(node, edges, position))
        for i, node in enumerate(column):
            position[node] = (float(x), (len(column) - 1) / 2.0 - i)
    return GraphLayout(labels, position, edges, leaves)


def _mean_parent_height(node: object, edges: list, position: dict) -> float:
    """Minus the mean height of the node's placed inputs: columns sorted by it cross less."""
    heights = [
        position[parent][1] for parent, child in edges if child is node and parent in position
    ]
    return -float(np.mean(heights)) if heights else 0.0


def computation_graph(layout: GraphLayout, *, title: str | None = None) -> Figure:
    """Draw a ``graph_layout``: leaves in blue, ops in orange, arrows along the data."""
    width = max(xs for xs, _ in layout.position.values()) + 1
    height = max(abs(ys) for _, ys in layout.position.values()) * 2 + 1
    figure = new_figure(2.3 * width + 1, 1.3 * height + 1.5)
    ax = figure.add_subplot()
    for parent, child in layout.edges:
        ax.annotate(
            "",
            xy=layout.position[child],
            xytext=layout.position[parent],
            arrowprops={
                "arrowstyle": "-|>",
                "color": "0.45",
                "shrinkA": 28,
                "shrinkB": 28,
                "connectionstyle": "arc3,rad=-0.12",  # curved, so long edges clear the boxes
            },
            zorder=1,
        )
    leaves = set(map(id, layout.leaves))
    for node, (x, y) in layout.position.items():
        color = "#cfe2f3" if id(node) in leaves else "#fce5cd"
        box = {"boxstyle": "round,pad=0.4", "facecolor": color, "edgecolor": "0.3"}
        ax.text(x, y, layout.labels[node], ha="center", va="center", fontsize=8, bbox=box, zorder=2)
    ax.set_xlim(-0.6, width - 0.4)
    ax.set_ylim(-height / 2 - 0.2, height / 2 + 0.2)
    ax.set_axis_off()
    if title:
        ax.set_title(title)
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
    if against not in ("epoch", "seconds"):
        raise ValueError(f"against must be 'epoch' or 'seconds', got {against!r}")
    ax = ax if ax is not None else new_axes(6.5, 4.5)
    for label, history in histories.items():
        values = getattr(history, key)
        x = history.seconds if against == "seconds" else np.arange(1, len(values) + 1)
        ax.plot(x, values, label=label, linewidth=1.2)
    if log:
        ax.set_yscale("log")
    xlabel = "wall time since fit started (s)" if against == "seconds" else "epoch"
    ax.set(xlabel=xlabel, ylabel=key.replace("_", " "))
    if title:
        ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend()
    return ax


def save(figure: Figure, path: str | Path, dpi: int = 120) -> Path:
    """Write ``figure`` as a PNG (parent folders created) and return its path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    return path
