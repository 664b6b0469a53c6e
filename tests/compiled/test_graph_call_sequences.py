"""Any sequence of a captured graph's calls gives eager's numbers or raises: forward(),
forward(value=False), value(), backward() (twice, overwrite or not), replay(), the
parameters moved in between. A number computed from buffers a backward overwrote, from
no forward at all or from another forward's values is never returned silently."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, nn, ops
from tinygrad_moons.graph import capture


def _mlp_sum(hidden=3):
    rng = np.random.RandomState(0)
    model = nn.MLP([2, hidden, 2], seed=0)
    X, labels = Tensor(rng.randn(7, 2)), rng.randint(0, 2, 7)

    def fn():
        logits = model(X)
        weights = (model[0].weight, model[2].weight)
        loss = ops.SoftmaxCrossEntropy.apply(logits, labels, "sum") + 0.005 * F.l2(*weights)
        return loss, logits

    return fn, list(model.parameters())


def _mlp_mean():
    rng = np.random.RandomState(1)
    model = nn.MLP([2, 4, 3], seed=1)
    X, labels = Tensor(rng.randn(5, 2)), rng.randint(0, 3, 5)
    return (lambda: F.softmax_cross_entropy(model(X), labels) + 0.1 * F.l2(model[0].weight)), list(
        model.parameters()
    )


def _mean_of_squares():
    rng = np.random.RandomState(2)
    w = Tensor(rng.randn(3, 2), requires_grad=True)
    x, t = Tensor(rng.randn(4, 3)), Tensor(rng.randn(4, 2))
    return (lambda: (((x @ w).tanh() - t) ** 2).mean()), [w]


def _tanh_sum():
    w = Tensor(np.random.RandomState(3).randn(4), requires_grad=True)
    return (lambda: w.tanh().sum()), [w]


GRAPHS = {
    "mlp_sum": _mlp_sum,
    # hidden as wide as the logits: the backward's buffers take the shifted logits' array
    "mlp_narrow": lambda: _mlp_sum(hidden=2),
    "mlp_mean": _mlp_mean,
    "mean_of_squares": _mean_of_squares,
    "tanh_sum": _tanh_sum,
}
CALLS = (
    *("forward", "lean", "value", "backward", "overwrite", "replay", "replay_only", "zero"),
    "move",  # the parameters get new arrays, as p.data = p.data - lr * p.grad gives
)


class _Eager:
    """What eager ``fn()`` and ``fn().backward()`` give, at given parameter arrays."""

    def __init__(self, fn, params):
        self.fn, self.params = fn, params

    def __call__(self, arrays, grads=None):
        """(outputs' data, gradients) at ``arrays``, adding into ``grads`` as eager does;
        the parameters' data and .grad are put back."""
        data = [p._array for p in self.params]
        kept = [p._grad for p in self.params]
        try:
            for p, a, g in zip(self.params, arrays, grads or [None] * len(arrays), strict=True):
                p._array, p._grad = a, None if g is None else g.copy()
            out = self.fn()
            outputs = out if isinstance(out, tuple) else (out,)
            outputs[0].backward()
            return [o.data.copy() for o in outputs], [p.grad.copy() for p in self.params]
        finally:
            for p, a, g in zip(self.params, data, kept, strict=True):
                p._array, p._grad = a, g


def _same(a, b):
    return all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def _check_output(graph, eager, at_value, lean):
    """``output``'s data is eager's value at ``at_value``, or (after a lean forward) reading
    it raises."""
    try:
        data = graph.output.data.copy()
    except RuntimeError:
        assert lean, "output refused to be read, but it has a value"
        return
    assert np.array_equal(data, eager(at_value)[0][0])


def _run(name, calls, seed):
    fn, params = GRAPHS[name]()
    eager = _Eager(fn, params)
    graph = capture(fn)
    rng = np.random.RandomState(seed)
    snapshot = lambda: [p.data for p in params]  # noqa: E731 (moves rebind, never write)
    at_forward = None  # the parameters the buffers' values are of, by the fresh step
    at_value = snapshot()  # the parameters of output's value (the capture's call)
    backwarded = False
    lean = False  # a forward(value=False) since output last got a value
    for call in calls:
        _check_output(graph, eager, at_value, lean)
        grads = [None if p.grad is None else p.grad.copy() for p in params]
        if call in ("forward", "lean", "replay_only"):
            if call == "lean":
                graph.forward(value=False)
            elif call == "forward":
                graph.forward()
            else:
                graph.replay(backward=False)
            at_forward = at_value = snapshot()
            backwarded, lean = False, call == "lean"
            outputs, _ = eager(at_forward)
            assert _same([o.data for o in graph.outputs[1:]], outputs[1:])
        elif call == "value":
            try:
                graph.value()
            except RuntimeError:
                assert backwarded, "value() refused before any backward"
                continue
            assert np.array_equal(graph.output.data, eager(at_value)[0][0])
            lean = False
        elif call in ("backward", "overwrite"):
            fresh = at_forward is not None and not backwarded
            try:
                graph.backward(overwrite=call == "overwrite")
            except RuntimeError:
                assert not fresh, "a first backward of a forward was refused"
                continue
            except ValueError:
                assert call == "backward" and any(g is not None for g in grads)
                continue
            assert at_forward is not None, "a backward ran on buffers no forward wrote"
            assert _same([p.grad for p in params], eager(at_forward)[1])
            backwarded = True
        elif call == "replay":
            graph.replay()
            at_forward = at_value = snapshot()
            lean = False
            outputs, expected = eager(at_forward, grads)
            assert _same([o.data for o in graph.outputs], outputs)
            assert _same([p.grad for p in params], expected)
            if any(g is not None for g in grads):
                at_forward = None  # the accumulating step's values, kept apart
            backwarded = True
        elif call == "zero":
            for p in params:
                p.grad = None
        else:  # move
            for p in params:
                p.data = p.data + 0.1 * rng.randn(*p.shape)
    _check_output(graph, eager, at_value, lean)


@pytest.mark.parametrize("name", sorted(GRAPHS))
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calls=st.lists(st.sampled_from(CALLS), max_size=10), seed=st.integers(0, 2**16))
def test_every_sequence_of_calls_gives_eagers_numbers_or_raises(name, calls, seed):
    _run(name, calls, seed)


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_the_reported_sequences(name):
    """backward() twice after one forward (the report), forward(value=False) then value()
    and backward() twice, a backward after replay(), and a backward with no forward."""
    for calls in [
        ["forward", "backward", "overwrite"],
        ["forward", "backward", "zero", "backward"],
        ["lean", "backward", "value", "overwrite"],
        ["lean", "value", "backward", "value", "overwrite"],
        ["replay", "overwrite", "replay", "overwrite"],
        ["backward"],
        ["forward", "move", "backward"],
        ["lean", "move", "value", "backward"],
    ]:
        _run(name, calls, 0)
