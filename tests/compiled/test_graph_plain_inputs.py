"""Plain arrays and lists a captured function reads (labels, targets, masks, indices,
constant operands of any dtype, data handed to F) are read as they are at every replay, as
each eager call reads them: a change in place between replays is seen, never a value
fixed at capture. Each case changes its input in place and compares replay with eager, bit
for bit, value and gradients."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, ops
from tinygrad_moons.graph import capture

W0 = np.array([[0.5, -1.0], [2.0, 0.25], [-0.75, 1.5]])


def _changed(value):
    """Change ``value`` (an array or a list) in place to other numbers, valid where the
    old ones were (labels stay labels, targets stay in [0, 1])."""
    if isinstance(value, list):
        value.reverse()
        value[0] = value[-1]
    elif value.dtype == np.bool_:
        np.logical_not(value, out=value)
    elif value.ndim == 0:
        value += 1
    else:
        value[...] = value[::-1].copy()
        value.flat[0] = value.flat[-1]


# (name, make the plain input, the function of W and it); labels and indices in range
CASES = [
    ("labels ndarray", lambda: np.array([0, 1, 1]),
     lambda w, y: F.softmax_cross_entropy(w, y, reduction="sum")),
    ("labels list", lambda: [0, 1, 1], lambda w, y: F.softmax_cross_entropy(w, y)),
    ("labels float", lambda: np.array([0.0, 1.0, 1.0]),
     lambda w, y: F.softmax_cross_entropy(w, y)),
    ("bce targets", lambda: np.array([[0.0, 1.0], [1.0, 0.0], [0.25, 0.5]]),
     lambda w, t: F.binary_cross_entropy_with_logits(w, t, reduction="sum")),
    ("mse target", lambda: np.arange(6.0).reshape(3, 2), lambda w, t: F.mse(w, t)),
    ("int operand", lambda: np.array([[1, 2], [3, 4], [5, 6]]), lambda w, c: (w * c).sum()),
    ("float32 operand", lambda: np.array([1.0, 2.0], dtype=np.float32),
     lambda w, c: (w * c).sum()),
    ("list operand", lambda: [1.0, 2.0], lambda w, c: (w * c).sum()),
    ("0-d operand", lambda: np.array(2.0), lambda w, c: (w * c).sum()),
    ("where mask", lambda: np.array([[True, False]] * 3), lambda w, m: F.where(m, w, 0.0).sum()),
    ("where mask list", lambda: [True, False], lambda w, m: F.where(m, w, 0.0).sum()),
    ("where mask nested list", lambda: [[True, False], [False, True], [True, True]],
     lambda w, m: F.where(m, w, 1.0).sum()),
    ("index array", lambda: np.array([0, 2]), lambda w, i: (w[i] * W0[:2]).sum()),
    ("index list", lambda: [0, 2], lambda w, i: (w[i] * W0[:2]).sum()),
    ("linear input", lambda: np.array([[1.0, 2.0, 3.0]]),
     lambda w, x: F.softmax_cross_entropy(F.linear(x, w), [1]).sum()),
    ("tanh of data", lambda: np.array([0.5, -0.5]), lambda w, x: (F.tanh(x) * w).sum()),
    ("maximum bound", lambda: np.array([0.0, 1.0]), lambda w, b: F.maximum(w, b).sum()),
    ("clip bounds", lambda: np.array([-0.5, 0.5]), lambda w, b: F.clip(w, b, 5.0).sum()),
    ("concatenate", lambda: np.array([[1.0, 2.0]]),
     lambda w, c: (F.concatenate([w, c]) ** 2).sum()),
    ("arctan2", lambda: np.array([1.0, -2.0]), lambda w, c: F.arctan2(w, c).sum()),
    ("einsum", lambda: np.array([1.0, 3.0]), lambda w, c: F.einsum("ij,j->", w, c)),
    ("tensor from data", lambda: np.array([1.0, 2.0]), lambda w, c: (w * Tensor(c)).sum()),
    ("labels to the op", lambda: np.array([0, 1, 1]),
     lambda w, y: ops.SoftmaxCrossEntropy.apply(w, y, "sum")),
    ("read-only view of labels", lambda: np.array([0, 1, 1]),
     lambda w, y: ops.SoftmaxCrossEntropy.apply(w, _read_only_view(y), "sum")),
]  # fmt: skip


def _read_only_view(array):
    """A read-only view: its base may still be written, so it is no constant."""
    view = array.view()
    view.flags.writeable = False
    return view


@pytest.mark.parametrize("make, fn", [case[1:] for case in CASES], ids=[c[0] for c in CASES])
def test_a_plain_input_changed_in_place_between_replays_is_read_afresh(make, fn):
    w = Tensor(W0.copy(), requires_grad=True)
    plain = make()
    graph = capture(lambda: fn(w, plain))
    for _ in range(2):
        _changed(plain)
        w.grad = None
        replayed = graph.replay().data.copy()
        replayed_grad = w.grad.copy()
        w.grad = None
        eager = fn(w, plain)
        eager.backward()
        assert np.array_equal(replayed, eager.data)
        assert np.array_equal(replayed_grad, w.grad)


def test_fits_own_labels_are_constants_of_its_full_batch_step(monkeypatch):
    # fit's labels are its own read-only copy: its step keeps their one-hot rows instead of
    # reading them again every epoch; the caller's y is neither written nor made read-only
    from tinygrad_moons import data, nn, train

    captured = []

    def keep(*args, **kwargs):
        captured.append(capture(*args, **kwargs))
        return captured[-1]

    monkeypatch.setattr(train, "capture", keep)
    X, y = data.make_moons(40, seed=0)
    y_given = y.copy()
    train.fit(nn.MLP([2, 3, 2], seed=0), X, y, epochs=3, progress=False)
    assert captured and all("np.subtract(probs, onehot" in g.source for g in captured)
    assert np.array_equal(y, y_given) and y.flags.writeable
