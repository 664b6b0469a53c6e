"""The write-up's objective written with the autodiff engine, and three gradients of it.

The summed objective of ``reference.py``'s network, written as a user would write it::

    loss = F.softmax_cross_entropy(tanh(X W1 + b1) W2 + b2, y, reduction="sum")
           + reg / 2 * F.l2(W1, W2)

Its gradient by ``backward()``, by the write-up's hand-derived formulas
(``reference.gradients``) and by central differences are compared here
(``gradient_agreement``, behind ``tinygrad-moons gradcheck``). The write-up's training with
autodiff is ``train.fit(nn.MLP([2, H, 2], seed=0), X, y)``: the table at the end says how
closely it follows ``reference.train``, pass by pass.
"""

from __future__ import annotations

import numpy as np

import tinygrad_moons.functional as F
from tinygrad_moons import reference
from tinygrad_moons.gradcheck import central_differences
from tinygrad_moons.tensor import Tensor

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


def finite_difference_gradients(
    params: reference.Params, X: np.ndarray, y: np.ndarray, reg: float, eps: float = 1e-6
) -> reference.Params:
    """Central differences of the summed objective, N * ``reference.loss``: no autodiff.

    The differences are gradcheck's own (``central_differences``), taken of the write-up's
    formulas rather than of a Tensor graph.
    """
    n = len(X)
    perturbed = {name: np.array(value, dtype=np.float64) for name, value in params.items()}

    def summed() -> float:
        return n * reference.loss(perturbed, X, y, reg)

    return {
        name: central_differences(summed, perturbed[name], eps).reshape(params[name].shape)
        for name in PARAM_NAMES
    }


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """Normwise relative error max|a - b| / max(max|a|, max|b|, 1e-300)."""
    scale = max(np.max(np.abs(a)), np.max(np.abs(b)), 1e-300)
    return float(np.max(np.abs(a - b)) / scale)


def gradient_agreement(
    params: reference.Params, X: np.ndarray, y: np.ndarray, reg: float, eps: float = 1e-6
) -> dict[str, dict[str, float]]:
    """Per parameter, the relative errors of the three gradients against each other.

    Keys of each row: "autodiff_vs_formulas", "autodiff_vs_fd", "formulas_vs_fd".
    """
    autodiff = autodiff_gradients(params, X, y, reg)
    formulas = reference.gradients(params, X, y, reg)
    numeric = finite_difference_gradients(params, X, y, reg, eps)
    return {
        name: {
            "autodiff_vs_formulas": relative_error(autodiff[name], formulas[name]),
            "autodiff_vs_fd": relative_error(autodiff[name], numeric[name]),
            "formulas_vs_fd": relative_error(formulas[name], numeric[name]),
        }
        for name in PARAM_NAMES
    }


def finite_difference_error_by_step(
    params: reference.Params, X: np.ndarray, y: np.ndarray, reg: float, steps: np.ndarray
) -> np.ndarray:
    """Relative error of the central-difference gradient against autodiff, per step size.

    Small steps lose digits to rounding (error ~ machine epsilon * |J| / eps), large steps to
    truncation (error ~ eps^2 |J'''|): a V with its floor near eps = 1e-6 to 1e-5 in float64.
    """
    exact = autodiff_gradients(params, X, y, reg)
    exact_flat = np.concatenate([exact[k].ravel() for k in PARAM_NAMES])
    errors = []
    for eps in steps:
        numeric = finite_difference_gradients(params, X, y, reg, float(eps))
        numeric_flat = np.concatenate([numeric[k].ravel() for k in PARAM_NAMES])
        errors.append(relative_error(numeric_flat, exact_flat))
    return np.array(errors)


# ---------------------------------------------------------------------- the reproduction table
# How closely a correct implementation follows reference.py (docs/api.md, "Reproducing the
# write-up"): passes 0..COMPARED_PASSES[H] agree to a relative EARLY_RTOL; for the SETTLED
# sizes the last two losses of FULL_PASSES agree, as an unordered pair (a period-2 cycle's phase is
# set by rounding), to LAST_RTOL. Size 2 turns chaotic from pass ~460 and size 4 depends
# on the implementation after ~1050, so only their early passes are compared.
FULL_PASSES = 20000
COMPARED_PASSES = {1: 1000, 2: 400, 3: 1000, 4: 1000, 5: 1000, 20: 1000, 50: 1000}
SETTLED = frozenset({1, 3, 5, 20, 50})
EARLY_RTOL, LAST_RTOL = 1e-9, 1e-8


def table_gaps(hidden: int, losses: np.ndarray, expected: np.ndarray) -> tuple[float, float | None]:
    """The gaps the reproduction table bounds between ``losses`` and reference's ``expected``.

    Returns the largest relative gap over the compared early passes, and the relative gap
    of the last two losses as unordered pairs (None for sizes whose end is not compared).
    """
    losses, expected = np.asarray(losses), np.asarray(expected)
    early = COMPARED_PASSES[hidden] + 1
    gap = np.abs(losses[:early] - expected[:early]) / np.abs(expected[:early])
    if hidden not in SETTLED or len(losses) < 2:
        return float(gap.max()), None
    ours, theirs = np.sort(losses[-2:]), np.sort(expected[-2:])
    return float(gap.max()), float(np.max(np.abs(ours - theirs) / np.abs(theirs)))
