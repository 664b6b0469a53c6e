"""Captures of steps with the same source share its compiled code, never its values."""

import numpy as np
import pytest

from tinygrad_moons import Tensor
from tinygrad_moons.codegen import _compiled
from tinygrad_moons.graph import capture


def _objective(w: Tensor, x: Tensor, scale: float):
    return lambda: ((x * w).tanh() * scale).sum()


def test_two_captures_of_one_source_keep_their_own_values_and_gradients():
    w1, x1 = Tensor([0.5, -1.0], requires_grad=True), Tensor([1.0, 2.0])
    w2, x2 = Tensor([2.0, 0.25], requires_grad=True), Tensor([-3.0, 1.0])
    first = capture(_objective(w1, x1, 3.0))
    hits = _compiled.cache_info().hits
    second = capture(_objective(w2, x2, 3.0))
    assert second.source == first.source
    assert _compiled.cache_info().hits > hits  # the second compiled nothing
    value1, value2 = first.replay().item(), second.replay().item()
    for w, x, value in ((w1, x1, value1), (w2, x2, value2)):
        eager_w = Tensor(w.data.copy(), requires_grad=True)
        expected = (Tensor(x.data) * eager_w).tanh().__mul__(3.0).sum()
        expected.backward()
        assert value == expected.item()
        np.testing.assert_array_equal(w.grad, eager_w.grad)


@pytest.mark.parametrize("scale", [3.0, 5.0])
def test_a_step_whose_constant_differs_runs_its_own_code(scale):
    w, x = Tensor([0.5, -1.0], requires_grad=True), Tensor([1.0, 2.0])
    capture(_objective(w, x, 3.0)).replay(backward=False)
    graph = capture(_objective(w, x, scale))
    assert graph.replay(backward=False).item() == (np.tanh(x.data * w.data) * scale).sum()


def _two_branches(x: Tensor, y: Tensor, w: Tensor):
    """Two branches whose buffers share arrays when x and y have one shape, not otherwise."""
    return lambda: ((x * w).tanh() * 2.0).sum() + ((y * w.sum()).tanh() * 3.0).sum()


def _fresh_analyses():
    from tinygrad_moons.codegen import _named, _value_lines
    from tinygrad_moons.codegen.program import _plan

    for analysis in (_plan, _value_lines, _named):
        analysis.kept.clear()


@pytest.mark.parametrize("shapes", [((3,), (3,)), ((3,), (4,)), ((4,), (3,))])
def test_steps_of_one_text_and_other_shapes_are_planned_for_their_own_shapes(shapes):
    rng = np.random.default_rng(0)
    w = Tensor(rng.normal(size=shapes[0]), requires_grad=True)
    graphs = {}
    for y_shape in ((3,), (4,)):  # first the other shape, then the one tested
        graphs = {}
        for order in (y_shape, shapes[1]):
            x, y = Tensor(rng.normal(size=shapes[0])), Tensor(rng.normal(size=order))
            graphs[order] = (capture(_two_branches(x, y, w)), x, y)
    graph, x, y = graphs[shapes[1]]
    _fresh_analyses()
    alone = capture(_two_branches(x, y, w))
    assert graph.nbytes == alone.nbytes and graph.source == alone.source
    w.grad = None
    value = graph.replay().item()
    grad = w.grad.copy()
    eager_w = Tensor(w.data.copy(), requires_grad=True)
    expected = _two_branches(Tensor(x.data), Tensor(y.data), eager_w)()
    expected.backward()
    assert value == expected.item()
    np.testing.assert_array_equal(grad, eager_w.grad)
