"""What capture's two calls compare: an unchanged NaN is no change, a changed value is."""

import numpy as np
import pytest

from tinygrad_moons import Tensor
from tinygrad_moons.graph import GraphChangedError, capture


def test_an_input_holding_nan_is_captured_and_replays_as_eagerly():
    w = Tensor([1.0, 2.0, -0.5], requires_grad=True)
    x = Tensor([np.nan, 1.0, -0.0])
    graph = capture(lambda: (w * x).sum())
    value = graph.replay().item()
    eager_w = Tensor(w.data.copy(), requires_grad=True)
    expected = (eager_w * Tensor(x.data)).sum()
    expected.backward()
    assert np.isnan(value) and np.isnan(expected.item())
    np.testing.assert_array_equal(w.grad, eager_w.grad)  # NaN where NaN, as eagerly


def test_a_constant_array_holding_nan_is_the_same_constant_on_both_calls():
    w = Tensor([1.0, 2.0], requires_grad=True)
    table = np.array([np.nan, 3.0])
    graph = capture(lambda: (w * Tensor(table)).sum())
    assert np.isnan(graph.replay(backward=False).item())


@pytest.mark.parametrize("start", [[np.nan, 1.0], [0.0, 1.0], [-0.0, 2.0]])
def test_a_function_changing_what_it_reads_is_refused_whatever_the_values(start):
    x = Tensor(start)
    w = Tensor([1.0, 1.0], requires_grad=True)

    def step():
        out = (w * x).sum()
        x.data[1] += 1.0  # state a replay would not update
        return out

    with pytest.raises(GraphChangedError, match="changed the data|other data"):
        capture(step)


def test_a_sign_of_zero_flipped_in_place_is_an_equal_value_not_a_change():
    x = Tensor([0.0, 1.0])
    w = Tensor([1.0, 1.0], requires_grad=True)

    def step():
        out = (w * x).sum()
        x.data[0] = -x.data[0]  # 0.0 <-> -0.0: other bits, the same number
        return out

    assert capture(step).replay(backward=False).item() == 1.0


@pytest.mark.parametrize("start", [[np.nan, 1.0], [1.0, 2.0]])
def test_a_function_changing_a_parameter_it_reads_is_refused(start):
    w = Tensor(start, requires_grad=True)

    def step():
        out = (w * 2.0).sum()
        w.data[1] *= 0.5  # a parameter updated inside the step: a replay would not
        return out

    with pytest.raises(GraphChangedError, match="changed the data"):
        capture(step)
