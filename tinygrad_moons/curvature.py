"""Hessian spectra of a loss: its sharpness and top eigenvalues, from Hessian-vector products.

The Hessian H of a scalar loss over n parameters is never written out for the eigensolver:
``scipy.sparse.linalg.eigsh`` (ARPACK's Lanczos) only asks for products H v, and each is
one more backward pass through the gradient's own graph (reverse over reverse)::

    g = grad(loss, params, create_graph=True)      # once per point, recorded
    H v = grad(g, params, grad_outputs=v)           # d(g . v)/d params, per product

The sharpness, the largest eigenvalue of H, is what decides whether gradient descent with
step size lr can settle: along the top eigenvector a step multiplies the distance to the
valley floor by (1 - lr * sharpness), which shrinks only while the sharpness is below 2/lr.
scipy is imported only when a spectrum is asked for.

>>> from tinygrad_moons import Tensor
>>> x = Tensor([1.0, 2.0], requires_grad=True)
>>> round(sharpness(lambda: (x[0] ** 2) * 3.0 + x[0] * x[1] + x[1] ** 2, [x]), 10)
6.2360679775
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from tinygrad_moons.autograd import grad
from tinygrad_moons.parameters import FlatParameters, parameter_list, scalar_loss
from tinygrad_moons.tensor import Tensor
from tinygrad_moons.validate import finite, whole

if TYPE_CHECKING:
    from scipy.sparse.linalg import LinearOperator

# The starting vector of the Lanczos iteration: fixed, so that a spectrum is reproducible.
_LANCZOS_SEED = 0


def hessian_operator(loss_fn: Callable[[], Tensor], params: Sequence[Tensor]) -> LinearOperator:
    """The Hessian of ``loss_fn()`` with respect to ``params`` (flattened and concatenated,
    in order) at their current values, as a symmetric ``scipy.sparse.linalg.LinearOperator``
    whose products come from autodiff. ``loss_fn`` runs once, here; change the parameters
    and the operator is stale: make a new one."""
    from scipy.sparse.linalg import LinearOperator

    params = parameter_list(params, taker="the Hessian")
    flat = FlatParameters(params)
    loss = scalar_loss(loss_fn)
    finite("the loss", loss.data)
    gradients = grad(loss, params, create_graph=True, allow_unused=True)
    # A gradient with no graph (the loss is linear in that parameter, or does not use it)
    # contributes nothing to H v.
    recorded = [
        (position, g) for position, g in enumerate(gradients) if g is not None and g.requires_grad
    ]

    def product(vector: np.ndarray) -> np.ndarray:
        """H v for one vector v of the parameters' total size."""
        pieces = flat.split(vector)
        if not recorded:
            return np.zeros(flat.size)
        products = grad(
            [g for _, g in recorded],
            params,
            grad_outputs=[pieces[position] for position, _ in recorded],
            allow_unused=True,
        )
        return finite(
            "the Hessian-vector product",
            flat.join([None if p is None else p.data for p in products]),
        )

    return LinearOperator((flat.size, flat.size), matvec=product, rmatvec=product, dtype=np.float64)


def hessian_matrix(operator: LinearOperator) -> np.ndarray:
    """The full n x n matrix of a Hessian operator, one product per column, symmetrised
    (autodiff's H e_i and H e_j agree to rounding, not bit for bit)."""
    columns = operator.matmat(np.eye(operator.shape[1]))
    return (columns + columns.T) / 2


def top_eigenvalues(
    loss_fn: Callable[[], Tensor], params: Sequence[Tensor], k: int = 1
) -> np.ndarray:
    """The ``k`` largest eigenvalues, descending, of the Hessian of the scalar ``loss_fn()``
    with respect to ``params`` (a sequence of Tensors that require grad) at their current
    values: ``scipy.sparse.linalg.eigsh`` (largest algebraic, to machine precision) over
    the Hessian-vector products of ``hessian_operator``. When ``k`` equals the number of
    parameters, which eigsh cannot do, the whole matrix is built from n products and
    ``numpy.linalg.eigvalsh`` gives them all. The parameters are left as they were."""
    k = whole("k", k)
    return _largest_eigenvalues(hessian_operator(loss_fn, params), k)


def _largest_eigenvalues(operator: LinearOperator, k: int) -> np.ndarray:
    """The ``k`` largest eigenvalues, descending, of a symmetric n x n operator."""
    from scipy.sparse.linalg import eigsh

    k = whole("k", k)
    n = operator.shape[0]
    if k > n:
        raise ValueError(f"k must be at most the number of parameters ({n}), got {k}")
    if k == n:
        return np.linalg.eigvalsh(hessian_matrix(operator))[::-1].copy()
    start = np.random.default_rng(_LANCZOS_SEED).standard_normal(n)
    values = eigsh(operator, k=k, which="LA", tol=0, v0=start, return_eigenvectors=False)
    return np.sort(values)[::-1]


def sharpness(loss_fn: Callable[[], Tensor], params: Sequence[Tensor]) -> float:
    """The largest eigenvalue of the Hessian of ``loss_fn()`` with respect to ``params``.
    Gradient descent with step size lr on that loss is stable near a minimum only while
    it is below 2/lr: above, each step overshoots along its eigenvector."""
    return float(top_eigenvalues(loss_fn, params, 1)[0])


__all__ = ["hessian_matrix", "hessian_operator", "sharpness", "top_eigenvalues"]
