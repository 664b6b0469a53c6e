"""The write-up's training, written with the autodiff engine instead of hand-derived backprop.

The same network and update as ``reference.py``, but the gradient comes from ``backward()``
on the summed objective, written as a user would write it::

    loss = F.softmax_cross_entropy(tanh(X W1 + b1) W2 + b2, y, reduction="sum")
           + reg / 2 * F.l2(W1, W2)

``reference.py`` is the oracle this is compared with, pass by pass.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import tinygrad_moons.functional as F
from tinygrad_moons import reference
from tinygrad_moons.tensor import Tensor, no_grad

PARAM_NAMES = ("W1", "b1", "W2", "b2")


def as_tensors(params: reference.Params) -> dict[str, Tensor]:
    """Copies of the parameter arrays as Tensors that require grad."""
    return {name: Tensor(params[name], requires_grad=True) for name in PARAM_NAMES}


def logits(params: dict[str, Tensor], X: Tensor | np.ndarray) -> Tensor:
    """z2 = tanh(X W1 + b1) W2 + b2."""
    hidden = (X @ params["W1"] + params["b1"]).tanh()
    return hidden @ params["W2"] + params["b2"]


def summed_objective(
    params: dict[str, Tensor], X: Tensor | np.ndarray, y: np.ndarray, reg: float
) -> Tensor:
    """Summed cross-entropy plus reg/2 |W|^2 (biases not penalised): N times the loss."""
    data_loss = F.softmax_cross_entropy(logits(params, X), y, reduction="sum")
    return data_loss + reg / 2 * F.l2(params["W1"], params["W2"])


def autodiff_gradients(
    params: reference.Params, X: np.ndarray, y: np.ndarray, reg: float
) -> reference.Params:
    """The gradient of the summed objective at ``params``, by ``backward()``."""
    tensors = as_tensors(params)
    summed_objective(tensors, X, y, reg).backward()
    return {name: tensors[name].grad for name in PARAM_NAMES}


def train(
    X: np.ndarray,
    y: np.ndarray,
    hidden: int,
    *,
    epsilon: float = 0.01,
    reg: float = 0.01,
    passes: int = 20000,
    seed: int = 0,
    on_pass: Callable[[int, float], None] | None = None,
) -> tuple[reference.Params, np.ndarray]:
    """Full-batch gradient descent with autodiff gradients, from ``reference.init_params``.

    Returns the final parameters (arrays) and ``losses[i]``, the write-up's loss after the
    update of pass i. ``on_pass(i, losses[i])`` is called after every pass.
    """
    X = Tensor(X)
    n = len(X)
    tensors = as_tensors(reference.init_params(hidden, seed))
    objective = summed_objective(tensors, X, y, reg)
    losses = np.empty(passes)
    for i in range(passes):
        objective.backward()
        with no_grad():
            for t in tensors.values():
                t.data -= epsilon * t.grad
                t.grad = None
        # The next pass's forward is the loss after this update: computed once, used twice.
        objective = summed_objective(tensors, X, y, reg)
        losses[i] = objective.item() / n
        if on_pass is not None:
            on_pass(i, losses[i])
    return {name: t.data for name, t in tensors.items()}, losses
