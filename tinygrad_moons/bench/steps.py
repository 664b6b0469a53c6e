"""The ways of writing one training step of the write-up's network, each a callable object.

Every step starts from the same parameters (``reset``) and takes the same full-batch SGD
step on the summed objective: softmax cross-entropy summed over the points + reg/2 |W|^2.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np

import tinygrad_moons.functional as F  # noqa: N812 (the documented spelling)
from tinygrad_moons import graph, nn, ops, optim, reference, three_gradients
from tinygrad_moons.flat_step import Layout
from tinygrad_moons.tensor import Tensor, no_grad

REG = 0.01
METHODS: dict[str, str] = {
    "writeup": "write-up's step",
    "numpy": "hand-written numpy",
    "floor": "floor: straight-line numpy",
    "tensor": "Tensor + F",
    "nn": "nn.MLP + optim.SGD",
    "compiled": "compiled step",
    "torch": "PyTorch eager",
    "writeup_loop": "write-up's training loop",
    "fit": "fit() with History",
    "fit_floor": "floor: fit's epochs, reused buffers",
    "minibatch_loop": "hand-written mini-batch loop (batch 20)",
    "minibatch_floor": "floor: mini-batch loop, reused buffers",
    "minibatch_fit": "fit(), batch 20",
    "dropout_loop": "hand-written inverted-dropout loop (p 0.2)",
    "dropout_floor": "floor: dropout loop, reused buffers",
    "dropout_fit": "fit(), Dropout(0.2)",
}
BASELINE = "writeup"  # what a time ratio divides by, unless the method is in BASELINES
BASELINES = {
    "fit": "writeup_loop",
    "writeup_loop": "writeup_loop",
    "fit_floor": "writeup_loop",
    "minibatch_loop": "minibatch_loop",
    "minibatch_floor": "minibatch_loop",
    "minibatch_fit": "minibatch_loop",
    "dropout_loop": "dropout_loop",
    "dropout_floor": "dropout_loop",
    "dropout_fit": "dropout_loop",
}


@dataclass(frozen=True)
class Problem:
    """One workload: the data, the learning rate and the starting parameters."""

    X: np.ndarray
    y: np.ndarray
    hidden: int
    lr: float
    start: reference.Params

    @classmethod
    def make(cls, n: int, hidden: int) -> Problem:
        from sklearn.datasets import make_moons  # only the benchmark needs scikit-learn here

        X, y = make_moons(n, noise=0.2, random_state=0)
        return cls(X, y, hidden, 0.01 * 200 / n, reference.init_params(hidden, seed=0))


class _ArrayStep:
    """A step on plain arrays: its own copy of the starting parameters."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.params = {name: a.copy() for name, a in problem.start.items()}

    def reset(self) -> None:
        for name, array in self.params.items():
            array[...] = self.problem.start[name]


class WriteupStep(_ArrayStep):
    """The write-up's step as it wrote it: its numpy operations, in its order, on its dict."""

    def __call__(self) -> None:
        X, y, model = self.problem.X, self.problem.y, self.params
        num_examples, epsilon, reg_lambda = len(X), self.problem.lr, REG
        W1, b1, W2, b2 = model["W1"], model["b1"], model["W2"], model["b2"]
        # Forward propagation
        a1, probs = reference.forward(model, X)  # its forward, as in build_model
        # Backpropagation
        delta3 = probs
        delta3[range(num_examples), y] -= 1
        dW2 = (a1.T).dot(delta3)
        db2 = np.sum(delta3, axis=0, keepdims=True)
        delta2 = delta3.dot(W2.T) * (1 - np.power(a1, 2))
        dW1 = np.dot(X.T, delta2)
        db1 = np.sum(delta2, axis=0)
        # Add regularization terms (b1 and b2 don't have regularization terms)
        dW2 += reg_lambda * W2
        dW1 += reg_lambda * W1
        # Gradient descent parameter update
        W1 += -epsilon * dW1
        b1 += -epsilon * db1
        W2 += -epsilon * dW2
        b2 += -epsilon * db2


class FloorStep(_ArrayStep):
    """What a step cannot beat: the engine's maths written by hand as straight-line numpy
    (fused linear, stable softmax cross-entropy with its loss, tanh's backward in one buffer,
    the bias gradients' column sums by BLAS, L2, SGD in place) into buffers allocated once,
    the products by ``ndarray.dot`` (numpy's quickest call for them), no Python between the
    numpy calls.

    Its parts serve the whole-training floors too (``bench/trainings.py``): ``forward``
    leaves the loss in ``loss`` and the logits in ``z2``; with ``keep`` (inverted dropout's
    scaled mask) the hidden layer is multiplied by it, in forward and in backward alike.
    """

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem)
        n, h = len(problem.X), problem.hidden
        self.buffers = [np.empty(shape) for shape in [(n, h)] * 5 + [(n, 2)] * 3 + [(n, 1)] * 2]
        self.z2 = self.buffers[5]
        self.rows = [np.empty(n) for _ in range(2)]
        # the parameters, their gradients and the update's scratch each in one array laid out
        # as fit's flat step lays them out, so that SGD is two calls, not two per parameter
        layout = Layout([a.shape for a in self.params.values()])
        start = self.params
        self.flat, self.params = _flat(layout, start)
        self.flat_grads, self.grads = _flat(layout, start)
        self.flat_parts, self.parts = _flat(layout, start)
        for name, view in self.params.items():
            view[...] = start[name]
        self.onehot = np.zeros((n, 2))
        self.onehot[np.arange(n), problem.y] = 1.0
        self.picks = np.arange(n) * 2 + problem.y
        self.loss = np.empty(())

    def __call__(self) -> None:
        self.forward()
        self.backward()
        self.update()

    def forward(self, keep: np.ndarray | None = None) -> None:
        """The logits into ``z2``, the summed objective into ``loss``, the probabilities kept."""
        X, W1, b1, W2, b2 = self.problem.X, *(self.params[k] for k in ("W1", "b1", "W2", "b2"))
        z1, a1, h, _, _, z2, shifted, probs, rowmax, total = self.buffers
        losses, picked = self.rows
        X.dot(W1, out=z1)
        np.add(z1, b1, out=z1)
        np.tanh(z1, out=a1)
        if keep is not None:
            np.multiply(a1, keep, out=h)
        (a1 if keep is None else h).dot(W2, out=z2)
        np.add(z2, b2, out=z2)
        np.maximum(z2[:, :1], z2[:, 1:], out=rowmax)
        np.subtract(z2, rowmax, out=shifted)
        np.exp(shifted, out=probs)
        np.add(probs[:, :1], probs[:, 1:], out=total)
        np.log(total[:, 0], out=losses)
        shifted.reshape(-1).take(self.picks, out=picked)
        np.subtract(losses, picked, out=losses)
        np.divide(probs, total, out=probs)
        self.loss[...] = np.add.reduce(losses) + REG / 2 * (np.vdot(W1, W1) + np.vdot(W2, W2))

    def backward(self, keep: np.ndarray | None = None) -> None:
        """The gradients of the latest ``forward`` (with the same ``keep``) into ``grads``."""
        X, W2, g = self.problem.X, self.params["W2"], self.grads
        _, a1, h, da1, dz1, _, _, probs, _, _ = self.buffers
        np.subtract(probs, self.onehot, out=probs)
        ones = ops.ones_vector(len(X))  # the bias gradients as the engine sums them
        ones.dot(probs, out=g["b2"][0])
        probs.dot(W2.T, out=da1)
        (a1 if keep is None else h).T.dot(probs, out=g["W2"])
        if keep is not None:
            np.multiply(da1, keep, out=da1)
        np.multiply(a1, a1, out=dz1)
        np.subtract(1.0, dz1, out=dz1)
        np.multiply(dz1, da1, out=dz1)
        ones.dot(dz1, out=g["b1"][0])
        X.T.dot(dz1, out=g["W1"])

    def update(self, reg: float = REG) -> None:
        """L2 (``reg``) on the weights, then SGD in place on all the parameters at once."""
        g, part = self.grads, self.parts
        for name in ("W1", "W2"):
            np.multiply(reg, self.params[name], out=part[name])
            np.add(g[name], part[name], out=g[name])
        np.multiply(self.flat_grads, self.problem.lr, out=self.flat_parts)
        np.subtract(self.flat, self.flat_parts, out=self.flat)


def _flat(layout: Layout, names: dict[str, np.ndarray]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """A zeroed flat array of ``layout``, and its views by the names of ``names``."""
    flat = layout.array()
    return flat, dict(zip(names, layout.views(flat), strict=True))


class NumpyStep(_ArrayStep):
    """reference.gradients, then params += -lr * grads: the write-up's own loop body."""

    def __call__(self) -> None:
        p = self.problem
        grads = reference.gradients(self.params, p.X, p.y, REG)
        for name in three_gradients.PARAM_NAMES:
            self.params[name] += -p.lr * grads[name]


class TensorStep:
    """The summed objective built from Tensors and F, backward(), then SGD on ``.data``."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.X = Tensor(problem.X)
        self.params = three_gradients.as_tensors(problem.start)

    def reset(self) -> None:
        for name, t in self.params.items():
            t.data[...] = self.problem.start[name]
            t.grad = None

    def update(self) -> None:
        with no_grad():
            for t in self.params.values():
                t.data -= self.problem.lr * t.grad
                t.grad = None

    def objective(self) -> Tensor:
        return three_gradients.summed_objective(self.params, self.X, self.problem.y, REG)

    def __call__(self) -> None:
        self.objective().backward()
        self.update()

    # The step in parts, each timed around its call by ``bench.profile.time_step_parts``.
    EAGER = True
    PARTS = ("forward", "backward", "update")
    PART_LABELS = {"forward": "forward", "backward": "backward", "update": "SGD update"}

    def forward(self) -> None:
        self.loss = self.objective()

    def backward(self) -> None:
        self.loss.backward()
        del self.loss


class CompiledStep(TensorStep):
    """The Tensor step captured once with ``graph.capture``; its generated code replayed."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem)
        self.graph = graph.capture(self.objective)
        self.held_bytes = self.graph.nbytes  # its buffers count towards its memory

    def update(self) -> None:
        lr = self.problem.lr
        for t in self.params.values():
            t.data -= lr * t.grad
            t.grad = None

    def __call__(self) -> None:
        self.graph.replay()
        self.update()

    EAGER = False
    PART_LABELS = {
        "forward": "generated forward",
        "backward": "generated backward",
        "update": "SGD update",
    }

    def forward(self) -> None:
        self.graph.forward()

    def backward(self) -> None:
        self.graph.backward()


class ModuleStep:
    """model = nn.MLP([2, H, 2]); opt = optim.SGD(...): zero_grad, loss, backward, step."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.X = Tensor(problem.X)
        self.model = nn.MLP([2, problem.hidden, 2], seed=0)
        named = dict(self.model.named_parameters())
        self.penalised = (named["0.weight"], named["2.weight"])
        self.named = named
        self.start = {name: t.data.copy() for name, t in named.items()}
        self.optimizer = optim.SGD(self.model.parameters(), lr=problem.lr)

    def reset(self) -> None:
        for name, t in self.named.items():
            t.data[...] = self.start[name]
            t.grad = None

    def __call__(self) -> None:
        self.forward()
        self.backward()
        self.update()

    EAGER = True
    PARTS = ("forward", "backward", "update")
    PART_LABELS = {
        "forward": "forward (with zero_grad)",
        "backward": "backward",
        "update": "optimiser step",
    }

    def forward(self) -> None:
        self.optimizer.zero_grad()
        logits = self.model(self.X)
        loss = F.softmax_cross_entropy(logits, self.problem.y, reduction="sum")
        self.loss = loss + REG / 2 * F.l2(*self.penalised)

    def backward(self) -> None:
        self.loss.backward()
        del self.loss

    def update(self) -> None:
        self.optimizer.step()


class TorchStep:
    """The same step in PyTorch eager, float64 on the CPU, written as a PyTorch user would."""

    def __init__(self, problem: Problem, torch: Any) -> None:
        self.problem = problem
        self.torch = torch
        self.X = torch.from_numpy(problem.X)
        self.y = torch.from_numpy(problem.y).long()
        self.params = {
            name: torch.tensor(a, requires_grad=True) for name, a in problem.start.items()
        }

    def reset(self) -> None:
        with self.torch.no_grad():
            for name, t in self.params.items():
                t.copy_(self.torch.from_numpy(self.problem.start[name]))
                t.grad = None

    def __call__(self) -> None:
        torch, p = self.torch, self.params
        hidden = torch.tanh(self.X @ p["W1"] + p["b1"])
        logits = hidden @ p["W2"] + p["b2"]
        loss = torch.nn.functional.cross_entropy(logits, self.y, reduction="sum")
        loss = loss + REG / 2 * (p["W1"].pow(2).sum() + p["W2"].pow(2).sum())
        loss.backward()
        with torch.no_grad():
            for t in p.values():
                t -= self.problem.lr * t.grad
                t.grad = None


STEPS = {
    "writeup": WriteupStep,
    "numpy": NumpyStep,
    "tensor": TensorStep,
    "floor": FloorStep,
    "nn": ModuleStep,
    "compiled": CompiledStep,
}
"""The steps that need only numpy and the library, by method name, in the tables' order."""


def make_steps(problem: Problem, notes: list[str]) -> dict[str, Any]:
    """The steps that can run here, by method name; ``notes`` gets why any other cannot."""
    steps: dict[str, Any] = {name: kind(problem) for name, kind in STEPS.items()}
    try:
        steps["torch"] = TorchStep(problem, importlib.import_module("torch"))
    except ImportError:
        if (note := "PyTorch: skipped, torch is not importable") not in notes:
            notes.append(note)
    return steps


def writeup_loop(problem: Problem, epochs: int) -> float:
    """The write-up's build_model: its step ``epochs`` times, its loss every 1000 passes."""
    step = WriteupStep(problem)
    losses = []
    for i in range(epochs):
        step()
        if i % 1000 == 0:  # its calculate_loss: reference.loss, the same numpy
            losses.append(reference.loss(step.params, problem.X, problem.y, REG))
    return losses[-1]


def fit_run(problem: Problem, epochs: int) -> float:
    """``fit(MLP([2, H, 2], seed=0), X, y, epochs)`` with its defaults: History every epoch."""
    from tinygrad_moons import train

    model = nn.MLP([2, problem.hidden, 2], seed=0)
    history = train.fit(model, problem.X, problem.y, epochs=epochs, lr=problem.lr, progress=False)
    return history.loss[-1]
