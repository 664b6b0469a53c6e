"""Figures with matplotlib's object API (no pyplot state, no display needed).

>>> import numpy as np
>>> X = np.array([[0.0, 0.0], [1.0, 1.0]]); y = np.array([0, 1])
>>> figure = decision_boundary(lambda P: (P.sum(axis=1) > 1).astype(int), X, y).figure
>>> len(figure.axes)
1
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib
import numpy as np
from matplotlib import ticker
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backend_bases import FigureCanvasBase
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from tinygrad_moons.atomic import written_whole
from tinygrad_moons.tensor import Function, Tensor, backward_order

CMAP = "Spectral"


def new_figure(width: float = 6.0, height: float = 5.0) -> Figure:
    """A fresh Figure that belongs to no window (no pyplot state, no display)."""
    return Figure(figsize=(width, height), layout="constrained")


def new_axes(width: float = 6.0, height: float = 5.0) -> Axes:
    """One Axes on a fresh Figure."""
    return new_figure(width, height).add_subplot()


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


# ---------------------------------------------------------------------- the graph drawing
@dataclass(eq=False)
class GraphInput:
    """An argument of an op that carries no gradient: data (X, y) or a constant."""

    name: str
    shape: tuple[int, ...]


@dataclass
class GraphLayout:
    """A graph in layers, inputs at the top and the loss at the bottom.

    ``labels[node]`` and ``position[node]`` (x, y; y = minus the layer) for every op,
    parameter (``leaves``) and input carrying no gradient (``inputs``); ``edges`` as
    (from, to); ``routes[edge]`` the points an edge passes through between its ends, one
    per layer it crosses, each with a place of its own in that layer's row, so that no
    edge runs behind a node.
    """

    labels: dict[object, str]
    position: dict[object, tuple[float, float]]
    edges: list[tuple[object, object]]
    leaves: list[object]
    inputs: list[GraphInput] = field(default_factory=list)
    routes: dict[tuple[object, object], list[tuple[float, float]]] = field(default_factory=dict)


def _input_node(arg: Any, names: Mapping[str, Any]) -> GraphInput | None:
    """The node for an op's argument without gradient; None for settings (axes, "sum").

    Its name is the one ``names`` gives the same object or, for an array an op converted
    (labels become int64), an array of equal values; else its value or "input".
    """
    if isinstance(arg, (str, bool, int, type(None), tuple, slice)):
        return None
    values = arg.data if isinstance(arg, Tensor) else np.asarray(arg)
    for name, named in names.items():
        named_values = named.data if isinstance(named, Tensor) else named
        if named is arg or (
            isinstance(named_values, np.ndarray)
            and named_values.shape == values.shape
            and np.array_equal(named_values, values)
        ):
            return GraphInput(name, values.shape)
    if values.size == 1:
        return GraphInput(f"constant {values.item():g}", values.shape)
    return GraphInput("input", values.shape)


def graph_layout(
    root: Tensor,
    names: Mapping[str, Any] | None = None,
    gradients: Mapping | None = None,
    arguments: Mapping[Any, Sequence[Any]] | None = None,
) -> GraphLayout:
    """Place every op and leaf that ``root`` depends on in layers, top to bottom.

    An op sits as low as it can: one layer above the highest op that uses its output, the
    loss at the bottom; a leaf sits just above the first op that uses it. Each op is
    labelled with its name, output shape and, when
    ``gradients`` (from ``trace_backward``) is given, the norm of the gradient that reached
    it; a leaf with its name from ``names``, its shape and the norm of its ``.grad``.
    ``arguments`` maps an op's context to the arguments it was applied to (graph capture's
    recording): the ones that carry no gradient (data, labels, constants) are drawn too,
    named from ``names`` (by identity) or by their value. Within a layer, nodes are
    ordered by the mean place of their neighbours (sweeps down and up), which keeps
    crossings few.
    """
    if root._ctx is None:
        raise ValueError("draw the graph of a tensor made by ops, not of a leaf")
    by_id = {id(value): name for name, value in (names or {}).items()}
    ops = backward_order(root)[::-1]  # inputs first
    level: dict[object, int] = {}
    edges: list[tuple[object, object]] = []
    leaves: list[object] = []
    inputs: dict[int, GraphInput] = {}
    labels: dict[object, str] = {}
    for op in ops:
        args = arguments.get(op) if arguments is not None else None
        for i, parent in enumerate(op.parents):
            if parent is None:
                if args is None or i >= len(args):
                    continue
                node = inputs.get(id(args[i])) or _input_node(args[i], names or {})
                if node is None:
                    continue
                if id(args[i]) not in inputs:
                    inputs[id(args[i])] = node
                    labels[node] = f"{node.name}\n{node.shape}"
                parent = node
            elif isinstance(parent, Tensor) and parent not in labels:
                leaves.append(parent)
                norm = "" if parent.grad is None else f"\n|grad| {np.linalg.norm(parent.grad):.3g}"
                labels[parent] = f"{by_id.get(id(parent), 'leaf')}\n{parent.shape}{norm}"
            edges.append((parent, op))
        level[op] = 1 + max(
            (level[p] for p, child in edges if child is op and p in level), default=0
        )
        norm = "" if gradients is None else f"\n|grad| {np.linalg.norm(gradients[op]):.3g}"
        labels[op] = f"{type(op).__name__}\n{op._shape}{norm}"
    depth = {root._ctx: 0}  # the longest path down to the loss: each op just above its use
    for op in reversed(ops):
        for parent, child in edges:
            if child is op and isinstance(parent, Function):
                depth[parent] = max(depth.get(parent, 0), depth[op] + 1)
    for op in ops:
        level[op] = max(depth.values()) - depth[op] + 1
    for node in [*leaves, *inputs.values()]:
        level[node] = min(level[child] for parent, child in edges if parent is node) - 1
    return _place(labels, level, edges, leaves, list(inputs.values()))


def _place(labels, level, edges, leaves, inputs) -> GraphLayout:
    """Rows of nodes and edge waypoints, ordered and spaced; see ``graph_layout``."""
    shift = min(level.values())
    rows: list[list[object]] = [[] for _ in range(max(level.values()) - shift + 1)]
    for node in labels:
        rows[level[node] - shift].append(node)
    waypoints: dict[tuple[object, object], list[object]] = {}
    for edge in edges:
        parent, child = edge
        waypoints[edge] = []
        for row in range(level[parent] - shift + 1, level[child] - shift):
            point = ("waypoint", id(parent), id(child), row)
            rows[row].append(point)
            waypoints[edge].append(point)
    above: dict[object, list[object]] = {}
    below: dict[object, list[object]] = {}
    for edge in edges:
        chain = [edge[0], *waypoints[edge], edge[1]]
        for upper, lower in zip(chain, chain[1:]):
            below.setdefault(upper, []).append(lower)
            above.setdefault(lower, []).append(upper)
    x: dict[object, float] = {}
    for row in rows:
        for i, node in enumerate(row):
            x[node] = float(i)
    for _ in range(4):  # barycentre sweeps: down, then up
        for sweep, neighbours in ((rows[1:], above), (rows[::-1][1:], below)):
            for row in sweep:
                row.sort(key=lambda n: np.mean([x[m] for m in neighbours.get(n, [])] or [x[n]]))
                _spread(row, x, labels)
    for row in rows:  # then centre every row under the widest
        _spread(row, x, labels)
    for edge, points in waypoints.items():
        _straighten(points, x, rows, labels, (x[edge[0]] + x[edge[1]]) / 2)
    position = {node: (x[node], float(-level[node])) for node in labels}
    routes = {
        edge: [(x[point], float(-(point[3] + shift))) for point in points]
        for edge, points in waypoints.items()
    }
    return GraphLayout(labels, position, edges, leaves, inputs, routes)


def _straighten(
    points: list[object], x: dict[object, float], rows: list[list[object]], labels, aim: float
) -> None:
    """Give a long edge's waypoints one x, clear of every node in their rows, nearest ``aim``."""
    if not points:
        return
    crossed = [node for point in points for node in rows[point[3]] if node is not point]
    lanes = np.arange(min(x.values()) - 1.0, max(x.values()) + 1.01, 0.25)

    def clear(lane: float) -> bool:
        return all(abs(lane - x[n]) >= (0.6 if n in labels else 0.3) for n in crossed)

    free = [lane for lane in lanes if clear(lane)]
    if free:
        lane = float(min(free, key=lambda lane: abs(lane - aim)))
        for point in points:
            x[point] = lane


def _spread(row: list[object], x: dict[object, float], labels: Mapping) -> None:
    """Keep the row's order; put each node at least its width from its neighbour, centred."""
    widths = [1.0 if node in labels else 0.35 for node in row]
    wanted = [x[node] for node in row]
    placed = [wanted[0]]
    for i in range(1, len(row)):
        placed.append(max(wanted[i], placed[-1] + (widths[i - 1] + widths[i]) / 2))
    offset = float(np.mean(wanted) - np.mean(placed))
    for node, value in zip(row, placed):
        x[node] = value + offset


GRAPH_COLOURS = {
    "parameter (gets a gradient)": "#cfe2f3",
    "input or constant (no gradient)": "#e8e8e8",
    "op: output shape, |gradient| reaching it": "#fce5cd",
}


# The graph drawing's scale: inches per column and per layer, and the text size in points.
GRAPH_INCHES = (1.75, 0.95)
GRAPH_FONT = 9.0


def graph_box(label: str) -> tuple[float, float]:
    """Half the width and height of a node's box, in columns and layers (an estimate)."""
    lines = label.split("\n")
    pad = 2 * 0.35 * GRAPH_FONT + 2  # the box's padding and edge, in points
    width = max(len(line) for line in lines) * 0.6 * GRAPH_FONT + pad
    height = len(lines) * 1.2 * GRAPH_FONT + pad
    return width / 72 / GRAPH_INCHES[0] / 2, height / 72 / GRAPH_INCHES[1] / 2


def graph_edge_points(layout: GraphLayout, edge: tuple[object, object]) -> list:
    """The points an edge is drawn through, from the bottom of its start's box to the top
    of its end's box.

    Within a layer's band (the height of its tallest box) an edge runs straight down, at
    its node's or its waypoint's place; it turns only between bands, where no box is, so
    it passes behind no node.
    """
    parent, child = edge
    band = max(graph_box(label)[1] for label in layout.labels.values())
    (px, py), (cx, cy) = layout.position[parent], layout.position[child]
    points = [(px, py - graph_box(layout.labels[parent])[1]), (px, py - band)]
    for x, y in layout.routes.get(edge, []):
        points += [(x, y + band), (x, y - band)]
    # The last piece comes straight down from a little above the band: room for the arrow.
    return [*points, (cx, cy + band + 0.15), (cx, cy + graph_box(layout.labels[child])[1])]


def computation_graph(layout: GraphLayout, *, title: str | None = None) -> Figure:
    """Draw a ``graph_layout``: parameters blue, inputs grey, ops orange, arrows downwards.

    Each arrow leaves the bottom of its node and enters the top of the next, through its
    route's waypoints; text is 9 points at any size of graph, the figure grows instead.
    """
    inch_x, inch_y = GRAPH_INCHES
    xs = [x for x, _ in layout.position.values()]
    ys = [y for _, y in layout.position.values()]
    figure = new_figure(inch_x * (max(xs) - min(xs) + 1.2), inch_y * (max(ys) - min(ys) + 1.2) + 1)
    ax = figure.add_subplot()
    for edge in layout.edges:
        points = graph_edge_points(layout, edge)
        ax.plot(*zip(*points[:-1]), color="0.45", linewidth=1.1, zorder=1)
        ax.annotate(
            "",
            xy=points[-1],
            xytext=points[-2],
            arrowprops={
                "arrowstyle": "-|>",
                "color": "0.45",
                "shrinkA": 0,
                "shrinkB": 0,
                "linewidth": 1.1,
            },
            zorder=1,
        )
    colours = list(GRAPH_COLOURS.values())
    leaves, inputs = set(map(id, layout.leaves)), set(map(id, layout.inputs))
    for node, (x, y) in layout.position.items():
        colour = (
            colours[0] if id(node) in leaves else colours[1] if id(node) in inputs else colours[2]
        )
        box = {"boxstyle": "round,pad=0.35", "facecolor": colour, "edgecolor": "0.3"}
        ax.text(x, y, layout.labels[node], ha="center", va="center", fontsize=GRAPH_FONT, bbox=box)
    ax.set_xlim(min(xs) - 0.6, max(xs) + 0.6)
    ax.set_ylim(min(ys) - 0.6, max(ys) + 0.6)
    ax.set_axis_off()
    handles = [Patch(facecolor=c, edgecolor="0.3", label=name) for name, c in GRAPH_COLOURS.items()]
    figure.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    if title:
        ax.set_title(title, fontsize=10)
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
