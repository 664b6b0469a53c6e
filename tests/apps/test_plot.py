"""plot: history curves, the graph drawing, boundaries, log ticks, and what a notebook shows."""

import io

import matplotlib.image
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


# ---------------------------------------------------------------- the graph drawing
import numpy as np  # noqa: E402
from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: E402

import tinygrad_moons.functional as F  # noqa: E402
from tinygrad_moons import data, graph, nn, reference, three_gradients  # noqa: E402
from tinygrad_moons.tensor import Tensor, trace_backward  # noqa: E402


def recorded_layout(fn, names):
    (output,), applications = graph.record(fn)
    gradients = trace_backward(output)
    arguments = {ctx: args for ctx, args, _ in applications}
    return plot.graph_layout(output, names=names, gradients=gradients, arguments=arguments)


def writeup_layout():
    X, y = data.make_moons(20)
    params = three_gradients.as_tensors(reference.init_params(3, seed=0))
    X_tensor = Tensor(X)
    return recorded_layout(
        lambda: three_gradients.summed_objective(params, X_tensor, y, 0.01),
        {**params, "X": X_tensor, "y": y},
    )


def deeper_layout():
    model = nn.MLP([2, 4, 4, 4, 2], seed=0)
    X, y = data.make_moons(10)
    X_tensor = Tensor(X)

    def loss():
        logits = model(X_tensor)
        return F.softmax_cross_entropy(logits, y) + 0.1 * F.l2(*model.parameters()[::2])

    return recorded_layout(loss, {**dict(model.named_parameters()), "X": X_tensor})


def segments(layout):
    """Each straight piece of each edge as drawn: (edge, start, end)."""
    for edge in layout.edges:
        points = plot.graph_edge_points(layout, edge)
        for a, b in zip(points, points[1:]):
            yield edge, np.array(a), np.array(b)


def crosses_box(a, b, centre, box):
    """Whether the segment a-b passes through the box around centre (sampled finely)."""
    t = np.linspace(0.0, 1.0, 400)[:, None]
    points = a + t * (b - a)
    inside = np.all(np.abs(points - np.array(centre)) < np.array(box), axis=1)
    return bool(inside.any())


@pytest.mark.parametrize("make", [writeup_layout, deeper_layout])
def test_every_edge_runs_downwards_and_behind_no_node(make):
    layout = make()
    for parent, child in layout.edges:
        assert layout.position[child][1] < layout.position[parent][1]  # top to bottom
    for edge, a, b in segments(layout):
        for node, centre in layout.position.items():
            if all(node is not end for end in edge):
                box = plot.graph_box(layout.labels[node])
                assert not crosses_box(a, b, centre, box), (layout.labels[node], edge)


def test_nodes_of_a_layer_do_not_overlap():
    layout = deeper_layout()
    by_layer = {}
    for node, (x, y) in layout.position.items():
        by_layer.setdefault(y, []).append((x, plot.graph_box(layout.labels[node])[0]))
    for row in by_layer.values():
        row.sort()
        for (x1, w1), (x2, w2) in zip(row, row[1:]):
            assert x2 - x1 >= w1 + w2


def test_the_inputs_and_constants_are_drawn_with_their_names():
    layout = writeup_layout()
    inputs = sorted(layout.labels[node] for node in layout.inputs)
    assert inputs == ["X\n(20, 2)", "constant 0.005\n()", "y\n(20,)"]
    assert len(layout.leaves) == 4
    x_node = next(node for node in layout.inputs if node.name == "X")
    first_matmul = next(child for parent, child in layout.edges if parent is x_node)
    assert type(first_matmul).__name__ == "MatMul"


def test_the_graph_figure_reads_at_a_glance():
    figure = plot.computation_graph(writeup_layout(), title="t")
    width, height = figure.get_size_inches()
    assert 0.5 <= width / height <= 2.0
    FigureCanvasAgg(figure).draw()
    ax = figure.axes[0]
    assert min(text.get_fontsize() for text in ax.texts) >= 9
    legend = [t.get_text() for t in figure.legends[0].get_texts()]
    assert legend == list(plot.graph_drawing.GRAPH_COLOURS)


# ---------------------------------------------------------------- legends, ticks, titles
def test_decision_boundaries_name_each_class_colour_in_a_legend():
    X, y = data.make_moons(20)
    ax = plot.decision_boundary(lambda P: (P[:, 0] > 0.5).astype(int), X, y)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["class 0", "class 1"]


def tick_labels(axis):
    axis.figure.canvas = FigureCanvasAgg(axis.figure)
    axis.figure.canvas.draw()
    labels = axis.get_ticklabels(minor=False) + axis.get_ticklabels(minor=True)
    return [t.get_text() for t in labels if t.get_text()]


def test_log_axes_have_plain_tick_labels():
    ax = plot.new_axes()
    ax.plot([1, 2], [0.35, 3.0])
    ax.set_yscale("log")
    plot.plain_log_ticks(ax.yaxis)
    labels = tick_labels(ax.yaxis)
    assert "0.4" in labels and "2" in labels
    assert not any("$" in label or "10^" in label or "×" in label for label in labels)


def test_the_benchmark_and_step_size_figures_use_plain_log_ticks():
    ratios = {"Tensor + F": {(200, 3): 1.4, (200, 50): 0.6}}
    ax = plot.benchmark_ratios(ratios, {("Tensor + F", (200, 3)): 1.5})
    labels = tick_labels(ax.yaxis)
    assert labels and not any("$" in label for label in labels)
    steps = np.logspace(-8, -2, 10)
    ax = plot.step_size_curve(steps, steps**2 + 1e-10)
    assert not any("$" in label for label in tick_labels(ax.xaxis) + tick_labels(ax.yaxis))


def test_a_grid_of_boundaries_carries_the_title_of_the_run():
    X, y = data.make_moons(20)
    panels = [("a", lambda P: np.zeros(len(P), int)), ("b", lambda P: np.ones(len(P), int))]
    figure = plot.decision_boundary_grid(panels, X, y, title="2000 epochs")
    assert figure.get_suptitle() == "2000 epochs"


# ---------------------------------------------------------------- in a notebook
def shown_in_a_notebook(value):
    """What Jupyter would display for a cell ending with ``value``: IPython's formatters."""
    formatters = pytest.importorskip("IPython.core.formatters")
    shown, _ = formatters.DisplayFormatter().format(value)
    return shown


def test_a_cell_ending_with_a_plot_shows_the_figure_as_a_png():
    X, y = data.make_moons(20)
    boundary = plot.decision_boundary(lambda P: (P[:, 1] > 0).astype(int), X, y, step=0.2)
    grid = plot.decision_boundary_grid([("a", lambda P: np.zeros(len(P), int))], X, y)
    graph_figure = plot.computation_graph(writeup_layout())
    ax = plot.new_axes()
    plot.class_scatter(ax, X, y)  # the notebook's own drawing on the library's Axes
    curves = plot.history_curves({"a": History(loss=[1.0, 0.5])})
    for value in (boundary, grid, graph_figure, ax, curves, plot.new_figure().add_subplot()):
        png = shown_in_a_notebook(value).get("image/png")
        assert png is not None and png.startswith(b"\x89PNG"), value


def test_an_axes_shows_its_whole_figure():
    X, y = data.make_moons(20)
    figure = plot.decision_boundary_grid([("a", lambda P: np.zeros(len(P), int))] * 2, X, y)
    whole = matplotlib.image.imread(io.BytesIO(shown_in_a_notebook(figure)["image/png"]))
    first = matplotlib.image.imread(io.BytesIO(shown_in_a_notebook(figure.axes[0])["image/png"]))
    assert first.shape == whole.shape and whole.shape[1] > 2 * whole.shape[0]  # both panels


@pytest.mark.parametrize("value", ["False", "True", 0, 1, None])
def test_history_curves_log_takes_a_bool(value):
    """bool("False") is True: log="False" would draw a log scale."""
    histories = {"a": History(loss=[1.0, 0.5])}
    with pytest.raises(TypeError, match=f"history_curves' log takes True or False, got {value!r}"):
        plot.history_curves(histories, log=value)
    for ok, scale in ((True, "log"), (False, "linear"), (np.True_, "log"), (np.False_, "linear")):
        assert plot.history_curves(histories, log=ok).get_yscale() == scale
