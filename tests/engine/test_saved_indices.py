"""An op keeps its own copy of the index arrays and masks it was given: the caller may
change them in place before backward() (``idx[:] = ...``, ``rng.shuffle(perm)`` under a
view ``perm[:2]``), and the gradient must be that of the values computed. Each test
compares with the same expression on arrays nobody changes."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, grad

WEIGHTS = np.array([1.0, 10.0, 100.0, 1000.0])


def _gradient(build, mutate):
    """d(sum(w * build(...)))/dW with the index changed after the forward, and without."""
    grads = []
    for change in (True, False):
        W = Tensor(np.arange(4.0), requires_grad=True)
        index, out = build(W)
        if change:
            mutate(index)
        (out * WEIGHTS[: out.shape[0]]).sum().backward()
        grads.append(W.grad)
    return grads


@pytest.mark.parametrize(
    "make_index, mutate",
    [
        (lambda: np.array([0, 1]), lambda i: i.__setitem__(slice(None), [2, 3])),
        (lambda: np.array([True, True, False, False]), lambda i: i.__setitem__(slice(None), ~i)),
        (lambda: (np.array([0, 1]),), lambda i: i[0].__setitem__(slice(None), [3, 3])),
    ],
    ids=["ints", "mask", "tuple"],
)
def test_indexing_differentiates_the_positions_it_read(make_index, mutate):
    def build(W):
        index = make_index()
        return index, W[index]

    changed, unchanged = _gradient(build, mutate)
    assert np.array_equal(changed, unchanged)


def test_a_view_of_a_permutation_shuffled_before_backward():
    grads = []
    for change in (True, False):
        rng = np.random.RandomState(0)
        W = Tensor(np.arange(6.0), requires_grad=True)
        perm, loss = np.arange(6), 0.0
        for _ in range(2):
            rng.shuffle(perm)  # in place: the first batch's view perm[:2] changes with it
            rows = perm[:2] if change else perm[:2].copy()
            loss = loss + (W[rows] * np.array([1.0, 100.0])).sum()
        loss.backward()
        grads.append(W.grad)
    assert np.array_equal(grads[0], grads[1])


def test_setitem_sends_each_gradient_to_the_positions_written():
    for change in (True, False):
        W = Tensor(np.arange(4.0), requires_grad=True)
        v = Tensor([5.0, 6.0], requires_grad=True)
        index = np.array([0, 1])
        c = W * 1.0
        c[index] = v
        if change:
            index[:] = [2, 3]
        (c * WEIGHTS).sum().backward()
        if change:
            changed = (W.grad, v.grad)
    assert np.array_equal(changed[0], W.grad) and np.array_equal(changed[1], v.grad)
    assert np.array_equal(v.grad, [1.0, 10.0])


def test_where_differentiates_the_mask_it_used():
    def build(W):
        mask = np.array([True, True, False, False])
        return mask, F.where(mask, W, 0.0)

    changed, unchanged = _gradient(build, lambda m: m.__setitem__(slice(None), False))
    assert np.array_equal(changed, unchanged) and np.array_equal(unchanged, [1.0, 10.0, 0.0, 0.0])


def test_the_second_derivative_of_indexing_uses_the_positions_read():
    W = Tensor(np.arange(4.0), requires_grad=True)
    index = np.array([0, 0, 1])
    (first,) = grad((W[index] ** 3).sum(), W, create_graph=True)
    index[:] = [3, 3, 3]
    (second,) = grad((first * WEIGHTS).sum(), W)
    assert np.array_equal(second.data, [0.0, 60.0, 0.0, 0.0])  # 6 W * (2 at 0, 1 at 1) * w
