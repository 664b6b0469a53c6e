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
