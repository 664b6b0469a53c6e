"""A replayed forward that leaves out what only the loss's value needs (``forward(value=False)``,
then ``value()`` when asked): the same numbers as the whole forward, bit for bit."""

from __future__ import annotations

import numpy as np

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, nn, ops
from tinygrad_moons.graph import capture


def _objective(model, X, labels, weights):
    logits = model(X)
    loss = ops.SoftmaxCrossEntropy.apply(logits, labels, "sum") + 0.005 * F.l2(*weights)
    return loss, logits


def test_the_lean_forward_leaves_out_the_loss_and_value_computes_it_as_forward_does():
    model = nn.MLP([2, 4, 3], seed=0)
    weights = [model[0].weight, model[2].weight]
    X = Tensor(np.random.RandomState(0).randn(6, 2))
    labels = np.array([0, 1, 2, 0, 1, 2])
    graph = capture(lambda: _objective(model, X, labels, weights))
    lean = graph.source.split("def lean_forward():")[1].split("def value():")[0]
    assert "np.log(" not in lean and "vdot" not in lean and "np.exp(" in lean
    for _ in range(3):
        graph.forward()
        whole = graph.outputs[0].data.copy(), graph.outputs[1].data.copy()
        for p in model.parameters():
            p.grad = None
        graph.backward()
        grads = [p.grad.copy() for p in model.parameters()]
        graph.forward(value=False)
        assert np.array_equal(graph.outputs[1].data, whole[1])
        graph.value()
        assert graph.outputs[0].data == whole[0]
        graph.forward(value=False)  # the gradients need no value
        for p in model.parameters():
            p.grad = None
        graph.backward()
        assert all(np.array_equal(p.grad, g) for p, g in zip(model.parameters(), grads))
        for p in model.parameters():
            p.data = p.data - 0.1 * p.grad
        X.data = X.data[::-1].copy()


def test_with_nothing_to_leave_out_the_lean_forward_is_the_whole_forward():
    w = Tensor(np.arange(1.0, 4.0), requires_grad=True)
    graph = capture(lambda: w.log().sum().exp())  # exp's backward reads its own output
    assert "def value():" not in graph.source
    w.data = np.array([1.0, 2.0, 5.0])
    assert graph.forward(value=False).item() == np.exp(np.log([1.0, 2.0, 5.0]).sum())
