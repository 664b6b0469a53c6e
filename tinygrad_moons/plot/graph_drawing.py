"""Drawing a computation graph: ``graph_layout`` places the ops in layers,
``computation_graph`` draws them (``tinygrad-moons graph``; ``plot`` re-exports both).

"Graph" here is the drawing; the compiled step that ``tinygrad_moons.graph`` captures is
another thing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from tinygrad_moons.plot.figures import new_figure
from tinygrad_moons.tensor import Function, Tensor, backward_order


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
    width, height = inch_x * (max(xs) - min(xs) + 1.2), inch_y * (max(ys) - min(ys) + 1.2) + 1
    figure = new_figure(width, height)
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
