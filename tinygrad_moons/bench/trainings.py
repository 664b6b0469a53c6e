"""Whole trainings, timed against hand-written numpy loops of the same maths.

The write-up's network on its 200 points, trained by ``fit`` (History every epoch: the loss
on all the data and the accuracy) against numpy written by hand:

    minibatch_loop   mini-batch SGD as a reader writes it: each epoch a permutation, each
                     batch of 20 forward, backward and the update on its summed cross-entropy
                     + reg/2 |W|^2 * 20/N, then the loss and accuracy on all the data
    minibatch_floor  the same maths as straight-line numpy into buffers allocated once
    minibatch_fit    ``fit(MLP([2, H, 2], seed=0), X, y, batch_size=20, seed=0)``
    dropout_loop     full-batch SGD of ``MLP([2, 50, 2])`` with inverted dropout (p = 0.2)
                     after the hidden layer, then the loss and accuracy in eval mode; its
                     masks from fit's stream (the dropout stream of ``MLP(..., seed=0)``)
    dropout_floor    the same maths and masks as straight-line numpy into buffers
                     allocated once (the mask's uniform draws are the one new array)
    dropout_fit      ``fit(MLP([2, 50, 2], dropout=0.2, seed=0), X, y)``

and the full-batch floor beside ``fit`` and the write-up's loop (``bench/steps.py``):

    fit_floor        fit's maths per epoch as straight-line numpy into buffers allocated
                     once: the step's backward and update, then the forward on all the data
                     that gives History's loss and accuracy and the next step's forward (as
                     fit reuses it); not the divergence guard's copies and checks

Each returns the loss after its last epoch, so the tests can hold the loops and floors to
``fit``.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from tinygrad_moons import nn, reference
from tinygrad_moons.bench.steps import REG, FloorStep, Problem

BATCH = 20
MINIBATCH_EPOCHS = 500
DROPOUT_HIDDEN = 50
DROPOUT_P = 0.2


def _scores(params: reference.Params, X: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """History's loss (summed cross-entropy + reg/2 |W|^2, over N) and accuracy."""
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    z = np.tanh(X @ W1 + b1) @ W2 + b2
    shifted = z - z.max(axis=1, keepdims=True)
    losses = np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(len(y)), y]
    penalty = REG / 2 * (np.vdot(W1, W1) + np.vdot(W2, W2))
    return (losses.sum() + penalty) / len(y), float(np.mean(z.argmax(axis=1) == y))


def _batches(n: int, epochs: int, batch_size: int) -> Iterator[np.ndarray | None]:
    """Each epoch's batches of rows, a permutation per epoch from ``RandomState(0)`` (fit's
    with ``seed=0``), then None at the end of the epoch."""
    rng = np.random.RandomState(0)
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            yield order[start : start + batch_size]
        yield None


def minibatch_loop(problem: Problem, epochs: int, batch_size: int = BATCH) -> float:
    """Mini-batch SGD written by hand, a permutation per epoch from ``RandomState(0)``."""
    X, y, lr, n = problem.X, problem.y, problem.lr, len(problem.y)
    params = {name: a.copy() for name, a in problem.start.items()}
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    loss = np.nan
    for rows in _batches(n, epochs, batch_size):
        if rows is None:
            loss, _ = _scores(params, X, y)
        else:
            Xb, yb, m = X[rows], y[rows], len(rows)
            a1 = np.tanh(Xb @ W1 + b1)
            z2 = a1 @ W2 + b2
            shifted = z2 - z2.max(axis=1, keepdims=True)
            exp = np.exp(shifted)
            delta3 = exp / exp.sum(axis=1, keepdims=True)
            delta3[np.arange(m), yb] -= 1
            delta2 = delta3 @ W2.T * (1 - a1 * a1)
            scale = REG * m / n
            W2 -= lr * (a1.T @ delta3 + scale * W2)
            b2 -= lr * delta3.sum(axis=0)
            W1 -= lr * (Xb.T @ delta2 + scale * W1)
            b1 -= lr * delta2.sum(axis=0)
    return loss


class _Buffers:
    """The arrays of one batch size's step, allocated once."""

    def __init__(self, m: int, hidden: int, classes: int = 2) -> None:
        self.Xb = np.empty((m, 2))
        self.z1, self.a1, self.da1, self.dz1 = (np.empty((m, hidden)) for _ in range(4))
        self.z2, self.probs = np.empty((m, classes)), np.empty((m, classes))
        self.rowmax, self.total = np.empty((m, 1)), np.empty((m, 1))
        self.flat = self.probs.reshape(-1)
        self.starts = np.arange(m) * classes
        self.picks = np.empty(m, dtype=np.intp)
        self.ones = np.ones(m)  # the bias gradients' column sums, as ops.column_sums


class _FloorScores:
    """History's loss and accuracy on all the data, by a ``FloorStep``'s forward into its
    buffers: the floors' scoring."""

    def __init__(self, step: FloorStep) -> None:
        y = step.problem.y
        self.step, self.n = step, len(y)
        self.label_is_1, self.correct = y == 1, np.empty(len(y), dtype=bool)
        self.z0, self.z1 = step.z2[:, 0], step.z2[:, 1]

    def __call__(self) -> tuple[float, float]:
        self.step.forward()
        correct = np.greater(self.z1, self.z0, out=self.correct)
        right = np.count_nonzero(np.equal(correct, self.label_is_1, out=correct))
        return float(self.step.loss) / self.n, right / self.n


def minibatch_floor(problem: Problem, epochs: int, batch_size: int = BATCH) -> float:
    """``minibatch_loop``'s maths as straight-line numpy into buffers allocated once: what
    a mini-batch epoch costs with no Python between the numpy calls but the loops."""
    X, y, n, hidden = problem.X, problem.y, len(problem.y), problem.hidden
    step = FloorStep(problem)  # its forward scores, its update steps (on all parameters at once)
    scores = _FloorScores(step)
    params, grads = step.params, step.grads  # the parameters it scores are the ones trained
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    buffers: dict[int, _Buffers] = {}
    loss = np.nan
    for rows in _batches(n, epochs, batch_size):
        if rows is None:
            loss, _ = scores()
        else:
            m = len(rows)
            b = buffers.get(m) or buffers.setdefault(m, _Buffers(m, hidden))
            X.take(rows, axis=0, out=b.Xb)
            b.Xb.dot(W1, out=b.z1)
            np.add(b.z1, b1, out=b.z1)
            np.tanh(b.z1, out=b.a1)
            b.a1.dot(W2, out=b.z2)
            np.add(b.z2, b2, out=b.z2)
            np.maximum(b.z2[:, :1], b.z2[:, 1:], out=b.rowmax)
            np.subtract(b.z2, b.rowmax, out=b.probs)
            np.exp(b.probs, out=b.probs)
            np.add(b.probs[:, :1], b.probs[:, 1:], out=b.total)
            np.divide(b.probs, b.total, out=b.probs)
            np.add(b.starts, y.take(rows), out=b.picks)
            b.flat[b.picks] -= 1.0
            b.probs.dot(W2.T, out=b.da1)
            b.a1.T.dot(b.probs, out=grads["W2"])
            b.ones.dot(b.probs, out=grads["b2"][0])  # as ops.column_sums
            np.multiply(b.a1, b.a1, out=b.dz1)
            np.subtract(1.0, b.dz1, out=b.dz1)
            np.multiply(b.dz1, b.da1, out=b.dz1)
            b.Xb.T.dot(b.dz1, out=grads["W1"])
            b.ones.dot(b.dz1, out=grads["b1"][0])
            step.update(REG * m / n)
    return loss


def minibatch_fit(problem: Problem, epochs: int, batch_size: int = BATCH) -> float:
    """``fit`` with mini-batches of ``batch_size``, shuffled from seed 0: History every epoch."""
    from tinygrad_moons import train

    model = nn.MLP([2, problem.hidden, 2], seed=0)
    history = train.fit(
        model, problem.X, problem.y, epochs=epochs, lr=problem.lr, batch_size=batch_size,
        seed=0, progress=False,
    )  # fmt: skip
    return history.loss[-1]


def fit_floor(problem: Problem, epochs: int) -> float:
    """``fit``'s full-batch epochs as straight-line numpy into buffers allocated once: the
    step's backward and update, then the forward on all the data (History's loss and
    accuracy, and the next step's forward)."""
    step = FloorStep(problem)
    scores = _FloorScores(step)
    step.forward()
    loss = np.nan
    for _ in range(epochs):
        step.backward()
        step.update()
        loss, _ = scores()  # and the next step's forward
    return loss


def dropout_stream(problem: Problem, p: float = DROPOUT_P) -> np.random.RandomState:
    """A copy of the masks' stream of ``MLP([2, H, 2], dropout=p, seed=0)``, the model
    ``dropout_fit`` trains: drawing from it gives fit's masks, in fit's order."""
    model = nn.MLP([2, problem.hidden, 2], dropout=p, seed=0)
    (stream,) = {id(m.rng): m.rng for m in model.modules() if isinstance(m, nn.Dropout)}.values()
    copy = np.random.RandomState()
    copy.set_state(stream.get_state())
    return copy


def dropout_loop(problem: Problem, epochs: int, p: float = DROPOUT_P) -> float:
    """Full-batch SGD with inverted dropout after the hidden layer, written by hand; its
    masks from fit's stream. ``problem.start`` must have the dropout network's shapes."""
    X, y, lr = problem.X, problem.y, problem.lr
    params = {name: a.copy() for name, a in problem.start.items()}
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    rng = dropout_stream(problem, p)
    n, loss = len(y), np.nan
    for _ in range(epochs):
        a1 = np.tanh(X @ W1 + b1)
        keep = (rng.random_sample(a1.shape) >= p) / (1.0 - p)
        h = a1 * keep
        z2 = h @ W2 + b2
        shifted = z2 - z2.max(axis=1, keepdims=True)
        exp = np.exp(shifted)
        delta3 = exp / exp.sum(axis=1, keepdims=True)
        delta3[np.arange(n), y] -= 1
        delta2 = (delta3 @ W2.T) * keep * (1 - a1 * a1)
        W2 -= lr * (h.T @ delta3 + REG * W2)
        b2 -= lr * delta3.sum(axis=0)
        W1 -= lr * (X.T @ delta2 + REG * W1)
        b1 -= lr * delta2.sum(axis=0)
        loss, _ = _scores(params, X, y)
    return loss


def dropout_floor(problem: Problem, epochs: int, p: float = DROPOUT_P) -> float:
    """``dropout_loop``'s maths and masks as straight-line numpy into buffers allocated
    once; each epoch's uniform draws are the one new array (RandomState has no ``out``)."""
    step, shape = FloorStep(problem), (len(problem.y), problem.hidden)
    rng, kept, keep = dropout_stream(problem, p), np.empty(shape, dtype=bool), np.empty(shape)
    scores = _FloorScores(step)
    loss = np.nan
    for _ in range(epochs):
        np.greater_equal(rng.random_sample(shape), p, out=kept)
        np.divide(kept, 1.0 - p, out=keep)
        step.forward(keep)
        step.backward(keep)
        step.update()
        loss, _ = scores()  # in eval mode: no mask
    return loss


def dropout_fit(problem: Problem, epochs: int, p: float = DROPOUT_P) -> float:
    """``fit(MLP([2, H, 2], dropout=p, seed=0), X, y)``: full batches, History every epoch."""
    from tinygrad_moons import train

    model = nn.MLP([2, problem.hidden, 2], dropout=p, seed=0)
    history = train.fit(model, problem.X, problem.y, epochs=epochs, lr=problem.lr, progress=False)
    return history.loss[-1]


TRAININGS = {
    "minibatch_loop": minibatch_loop,
    "minibatch_floor": minibatch_floor,
    "minibatch_fit": minibatch_fit,
    "dropout_loop": dropout_loop,
    "dropout_floor": dropout_floor,
    "dropout_fit": dropout_fit,
}
