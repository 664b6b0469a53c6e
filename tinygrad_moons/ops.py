"""Every primitive op as a Function: forward and backward side by side.

Each ``backward`` receives ``grad``, d loss / d output, and returns d loss / d input for
each forward argument: the vector-Jacobian product. Ops that broadcast sum the gradient
back to each input's shape with ``unbroadcast``. Work for an input that needs no gradient
is skipped by looking at ``ctx.needs_input_grad``. A ``backward`` never writes into
``grad`` or into what ``forward`` saved: one array may be handed to several inputs.

One backward, every order. A backward here runs on ndarrays for a first derivative (the
fast path: ``backward()``, ``grad()``) and on Tensors under ``grad(..., create_graph=True)``,
where it is recorded like any forward and so can be differentiated again. The same lines
serve both because a backward is written only with

- the operators (``+ - * / ** @``, unary ``-``, comparisons, which give boolean ndarrays
  for both) and the methods both types share (``.sum(axis=, keepdims=)``, ``.mean``,
  ``.reshape``, ``.transpose``, ``.T``, ``.shape``, ``.ndim``, indexing);
- the functions of ``xp`` (below) for the rest: ``xp.exp(x)`` is ``np.exp`` on an ndarray
  and the recorded ``Exp`` on a Tensor;
- ``ctx.saved_tensors`` holding forward's inputs and output only (the engine hands them
  back as Tensors in the graph), masks and labels (boolean or integer: constants), and
  attributes on ``ctx`` for constants (shapes, axes, piecewise-constant weights).
  A differentiable value computed in forward (a centred x, softmax probabilities) is
  recomputed in backward from a saved input, never saved, or its second derivative
  would be lost; ``SoftmaxCrossEntropy`` keeps its probabilities on ``ctx`` for the fast
  path and rebuilds them (``xp.softmax``) when handed Tensors.

In-place operators (``dz *= s``) are allowed on what the backward itself computed. Each
op subclasses ``Op`` (``higher_order = True``); a user's ``Function`` is differentiable
once. To add an op, copy the shape of a neighbour: an ``Op`` subclass here, and a Tensor
method in ``tensor.py`` or a function in ``functional.py`` that calls its ``apply``. The
graph code never changes.

Add, Mul, MatMul, Linear, Tanh, SoftmaxCrossEntropy and SumOfSquares are also written out
in ``codegen/rules.py`` (the compiled step's inline maths); ``tests/compiled/test_codegen.py``
holds each pair bit for bit, so a change to one of these seven changes its rule too.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from tinygrad_moons.tensor import Function, Tensor
from tinygrad_moons.validate import cross_entropy_call


def _exact_value(exact: np.ndarray, saved: Any, approximate: Callable[[Any], Any]) -> Any:
    """``exact`` where ``saved`` is an ndarray (the first order); on a Tensor,
    ``approximate(saved)`` plus the difference as a constant: the value ``exact`` (to an
    ulp) and the derivative of ``approximate``, whose value only has lost digits (z + 1
    for e^x from z = e^x - 1). Where the difference is not finite (inf - inf),
    ``approximate(saved)`` as it is."""
    if not isinstance(saved, Tensor):
        return exact
    approximated = approximate(saved)
    with np.errstate(invalid="ignore"):
        difference = exact - approximated._array
    return approximated + np.where(np.isfinite(difference), difference, 0.0)


class Op(Function):
    """A built-in op: its backward follows the rules above, so it is differentiable to any
    order (``grad(..., create_graph=True)`` records it)."""

    higher_order = True


class xp:  # noqa: N801 (a namespace, as the array API's ``xp``)
    """The functions a backward calls besides operators and methods: numpy's on ndarrays,
    the recorded op on Tensors, so one formula serves first and higher order."""

    @staticmethod
    def exp(x: Any) -> Any:
        return Exp.apply(x) if isinstance(x, Tensor) else np.exp(x)

    @staticmethod
    def log(x: Any) -> Any:
        return Log.apply(x) if isinstance(x, Tensor) else np.log(x)

    @staticmethod
    def sin(x: Any) -> Any:
        return Sin.apply(x) if isinstance(x, Tensor) else np.sin(x)

    @staticmethod
    def cos(x: Any) -> Any:
        return Cos.apply(x) if isinstance(x, Tensor) else np.cos(x)

    @staticmethod
    def tanh(x: Any) -> Any:
        return Tanh.apply(x) if isinstance(x, Tensor) else np.tanh(x)

    @staticmethod
    def sigmoid(x: Any) -> Any:
        """1 / (1 + e^-x) to a few ulp for any x (``_sigmoid_pair``)."""
        return Sigmoid.apply(x) if isinstance(x, Tensor) else _sigmoid_pair(x)[0]

    @staticmethod
    def softmax(x: Any, axis: int) -> Any:
        if isinstance(x, Tensor):
            return Softmax.apply(x, axis)
        e = np.exp(_shifted(x, axis))
        return e / np.sum(e, axis=axis, keepdims=True)

    @staticmethod
    def sign(x: Any) -> np.ndarray:
        """-1, 0 or 1 per element: a constant (its derivative is 0 almost everywhere)."""
        return np.sign(x._array if isinstance(x, Tensor) else x)

    @staticmethod
    def where(condition: Any, x: Any, y: Any) -> Any:
        """x where the boolean ``condition``, else y (numpy's where; a Tensor records it)."""
        if isinstance(x, Tensor) or isinstance(y, Tensor):
            return Where.apply(condition, x, y)
        return np.where(condition, x, y)

    @staticmethod
    def subtract_from(value: float, x: Any) -> Any:
        """value - x, into x's own array when it is an ndarray (one the backward made)."""
        if type(x) is np.ndarray:
            return np.subtract(value, x, out=x)
        return value - x

    @staticmethod
    def zeros_like(x: Any) -> Any:
        """Zeros of x's shape, a constant."""
        zeros = np.zeros(x.shape)
        return Tensor._wrap(zeros) if isinstance(x, Tensor) else zeros

    @staticmethod
    def broadcast_to(x: Any, shape: tuple[int, ...]) -> Any:
        """x repeated to ``shape``, as a new contiguous array (never a stride-0 view, whose
        matmul numpy computes in another order than BLAS's)."""
        if isinstance(x, Tensor):
            return BroadcastTo.apply(x, shape)
        return np.array(np.broadcast_to(x, shape))

    @staticmethod
    def scatter_add(x: Any, index: Any, shape: tuple[int, ...]) -> Any:
        """Zeros of ``shape`` with x added at ``index`` (repeated positions add up)."""
        if isinstance(x, Tensor):
            return IndexAdd.apply(x, index, shape)
        out = np.zeros(shape)
        np.add.at(out, index, x)
        return out


def unbroadcast(grad: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``grad`` over the axes that numpy broadcasting added or stretched from ``shape``.

    If y = f(x) broadcast x of shape (3, 1) to (3, 4), every copy of x[i, 0] contributed,
    so d loss / d x[i, 0] is the sum of grad[i, :].
    """
    grad_shape = grad.shape
    if grad_shape == shape:
        return grad
    if (
        len(grad_shape) == 2
        and type(grad) is np.ndarray
        and grad.dtype == np.float64
        and (shape == grad_shape[1:] or shape == (1, grad_shape[1]))
    ):
        return column_sums(grad).reshape(shape)  # a bias's gradient, the commonest case
    # speed: np.add.reduce is ndarray.sum without its Python wrapper (the same sums)
    total = np.add.reduce if type(grad) is np.ndarray else _tensor_sum
    leading = len(grad_shape) - len(shape)
    if leading:
        grad = total(grad, axis=tuple(range(leading)))
        grad_shape = grad_shape[leading:]
    stretched = tuple([i for i, n in enumerate(shape) if n == 1 and grad_shape[i] != 1])
    if stretched:
        grad = total(grad, axis=stretched, keepdims=True)
    return grad


_KEPT: dict[tuple[Any, ...], np.ndarray] = {}  # constant arrays, a few at a time


def kept(make: Callable[..., np.ndarray], *args: Any) -> np.ndarray:
    """``make(*args)``, read-only, kept for the next call with the same arguments: the
    constants an op needs at every step (a column sum's ones, a cross-entropy's row starts)."""
    key = (make, *args)
    array = _KEPT.get(key)
    if array is None:
        if len(_KEPT) >= 16:
            _KEPT.clear()
        array = _KEPT[key] = make(*args)
        array.flags.writeable = False
    return array


def ones_vector(n: int) -> np.ndarray:
    """A read-only vector of ``n`` ones, kept for the next column sum of ``n`` rows."""
    return kept(np.ones, n)


def column_sums(grad: np.ndarray) -> np.ndarray:
    """The sums of the columns of a 2-D float64 array, shape (m,): ``ones @ grad`` by BLAS,
    about four times quicker than numpy's reduction over the rows, which calls its inner
    loop once per row (3.8 -> 0.9 us at 200 x 3; 320 -> 80 us at 10000 x 64)."""
    return matrix_product(kept(np.ones, grad.shape[0]), grad)  # ones_vector's ones


_FLOAT64 = np.dtype(np.float64)
_NDARRAY = np.ndarray


def matrix_product(a: Any, b: Any) -> Any:
    """``a @ b`` for a matrix or vector ``a`` and a matrix ``b``; for float64 ndarrays laid out
    whole in memory (C or Fortran order, a transpose included) by ``ndarray.dot``, which
    reaches the same BLAS call with the same bits in about 0.3 us less at the write-up's
    sizes. A strided operand goes to ``@``: there the two differ in the last bits."""
    if (
        type(a) is _NDARRAY
        and type(b) is _NDARRAY
        and a.dtype is _FLOAT64
        and b.dtype is _FLOAT64
        and a.flags.forc
        and b.flags.forc
    ):
        return a.dot(b)
    return a @ b


def _tensor_sum(grad: Tensor, axis: tuple[int, ...], keepdims: bool = False) -> Tensor:
    return grad.sum(axis=axis, keepdims=keepdims)


def _reduced_axes(ndim: int, axis: Any) -> tuple[int, ...]:
    """The non-negative axes a reduction over ``axis`` removes from an ``ndim`` array."""
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(a % ndim if ndim else a for a in axes)


def _kept_shape(shape: tuple[int, ...], axis: Any) -> tuple[int, ...]:
    """The shape of a reduction over ``axis`` with keepdims: reduced axes as size 1."""
    reduced = _reduced_axes(len(shape), axis)
    return tuple(1 if i in reduced else n for i, n in enumerate(shape))


def _expand_reduced(grad: Any, shape: tuple[int, ...], axis: Any, keepdims: bool) -> Any:
    """Put back, as size-1 axes, the axes a reduction of ``shape`` without keepdims removed."""
    if keepdims or not shape:
        return grad
    return grad.reshape(_kept_shape(shape, axis))


# ---------------------------------------------------------------------- arithmetic
class Add(Op):
    """z = x + y;  dz/dx = dz/dy = 1 (summed over broadcast axes)."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.shapes = (x.shape, y.shape)
        return x + y

    @staticmethod
    def backward(ctx, grad):
        x_shape, y_shape = ctx.shapes
        dx = unbroadcast(grad, x_shape) if ctx.needs_input_grad[0] else None
        dy = unbroadcast(grad, y_shape) if ctx.needs_input_grad[1] else None
        return dx, dy


class Sub(Op):
    """z = x - y;  dz/dx = 1, dz/dy = -1."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.shapes = (x.shape, y.shape)
        return x - y

    @staticmethod
    def backward(ctx, grad):
        x_shape, y_shape = ctx.shapes
        dx = unbroadcast(grad, x_shape) if ctx.needs_input_grad[0] else None
        dy = -unbroadcast(grad, y_shape) if ctx.needs_input_grad[1] else None
        return dx, dy


def _needed(ctx: Function, x: Any, y: Any) -> None:
    """Save x if y needs a gradient and y if x does (torch saves no more): an input that
    only a constant's gradient would read may then change in place without an error."""
    need_x, need_y = ctx.needs_input_grad[:2]
    ctx.save_for_backward(x if need_y else None, y if need_x else None)


class Mul(Op):
    """z = x * y;  dz/dx = y, dz/dy = x."""

    @staticmethod
    def forward(ctx, x, y):
        need_x, need_y = ctx.needs_input_grad  # _needed, written out: the commonest op
        ctx.save_for_backward(x if need_y else None, y if need_x else None)
        ctx.shapes = (x.shape, y.shape)
        return x * y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        x_shape, y_shape = ctx.shapes
        dx = unbroadcast(grad * y, x_shape) if ctx.needs_input_grad[0] else None
        dy = unbroadcast(grad * x, y_shape) if ctx.needs_input_grad[1] else None
        return dx, dy


class Div(Op):
    """z = x / y;  dz/dx = 1 / y, dz/dy = -(x / y) / y (as torch's: y * y would overflow
    or underflow where x / y^2 need not, and its derivative at y = 0 be inf * 0)."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x if ctx.needs_input_grad[1] else None, y)
        ctx.shapes = (x.shape, y.shape)
        return x / y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        x_shape, y_shape = ctx.shapes
        dx = unbroadcast(grad / y, x_shape) if ctx.needs_input_grad[0] else None
        dy = unbroadcast(-grad * ((x / y) / y), y_shape) if ctx.needs_input_grad[1] else None
        return dx, dy


class Neg(Op):
    """z = -x;  dz/dx = -1."""

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Clone(Op):
    """z = a copy of x;  dz/dx = 1 (``t.clone()``: a copy recorded in the graph)."""

    @staticmethod
    def forward(ctx, x):
        return x.copy()

    @staticmethod
    def backward(ctx, grad):
        return grad


class NewData(Op):
    """z = x's array after (or, for a leaf, before) ``x.data = ...``, still linked to x's
    node: the array given to a tensor made by an op (``tensor._renamed``: torch's
    ``t.data = ...`` keeps ``grad_fn``), or a leaf's former array that an op saved
    (``tensor._former_data``). Never applied;  dz/dx = 1."""

    @staticmethod
    def backward(ctx, grad):
        return grad


class Overwrite(Op):
    """z = x written into ``into``, an existing array, which z then is;  dz/dx = 1 (a
    recorded in-place update of memory that ``detach()`` shares, as torch writes one)."""

    @staticmethod
    def forward(ctx, x, into):
        np.copyto(into, x)
        return into

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class Pow(Op):
    """z = x ** p for a number p;  dz/dx = p x^(p-1), and 0 for p = 0 (x^0 = 1 even at 0)."""

    @staticmethod
    def forward(ctx, x, p):
        ctx.save_for_backward(x)
        ctx.p = p
        return x**p

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        p = ctx.p
        if p == 2.0:
            return grad * 2.0 * x, None
        if p == 0.0:
            return xp.zeros_like(grad), None
        return grad * p * x ** (p - 1.0), None


class TensorPow(Op):
    """z = x ** y elementwise, y a Tensor or array;  dz/dx = y x^(y-1), dz/dy = z ln x.

    As torch: dz/dx is 0 where y = 0, dz/dy is 0 where x = 0 and y >= 0; elsewhere the
    derivative may be inf (x = 0, y < 1) or NaN (ln x for x < 0), and is returned as such.
    Differentiated again (``create_graph``), the second derivatives are the maths' where
    it has them (d2/dx2 at y = 0 is 0, as x^0 = 1 for every x; d2/dxdy at y = 0 is 1/x)
    and NaN where it has none: at x = 0, d/dy of dz/dx for y = 1 or y = 0 (dz/dx jumps
    there), d/dy of dz/dy for y = 0 (z jumps from 1 to 0), d/dx of dz/dy for 0 <= y <= 1
    (x^(y-1) ln x has no finite limit), and d/dy of dz/dx at y = 0 for x < 0 (ln x).
    """

    @staticmethod
    def forward(ctx, x, y):
        out = x**y
        ctx.save_for_backward(x, y, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, y, out = ctx.saved_tensors
        dx = dy = None
        recorded = isinstance(out, Tensor)  # create_graph: the slopes are differentiated
        # Where the answer is 0 by definition, the other branch is fed a harmless value
        # (y = 1, x = 1), so no inf * 0 = NaN reaches a derivative of higher order.
        with np.errstate(divide="ignore", invalid="ignore"):  # inf / NaN are the answer there
            if ctx.needs_input_grad[0]:
                zero = y == 0.0
                y_safe = xp.where(zero, 1.0, y)
                slope = xp.where(zero, 0.0, y_safe * x ** (y_safe - 1.0))
                if recorded:
                    slope = slope + _pow_dx_at_edges(x, y, zero)
                dx = unbroadcast(grad * slope, x.shape)
            if ctx.needs_input_grad[1]:
                zero = (x == 0.0) & (y >= 0.0)
                slope = xp.where(zero, 0.0, out * xp.log(xp.where(zero, 1.0, x)))
                if recorded:  # z(0, y) = 0 for y > 0: flat in y, but not in x for y <= 1
                    slope = slope + NoSlope.apply(y, zero & (y == 0.0))
                    slope = slope + NoSlope.apply(x, zero & (y <= 1.0))
                dy = unbroadcast(grad * slope, y.shape)
        return dx, dy


def _pow_dx_at_edges(x: Tensor, y: Tensor, zero: np.ndarray) -> Tensor:
    """What ``TensorPow``'s dz/dx = 0 at y = 0 leaves out of its own derivatives: a term
    of value 0 whose d/dy is 1/x where x > 0 (y x^(y-1) near y = 0), NaN where x <= 0 or
    1/x^2 overflows; and NaN for d/dy at x = 0, y = 1 (dz/dx is 0, 1, inf across it)."""
    plain = x.data
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        smooth = zero & (plain > 1e-150)  # 1/x and its x-derivative -1/x^2 finite
        inverse = 1.0 / xp.where(smooth, x, 1.0)
        near_zero = xp.where(smooth, y * inverse, 0.0)  # value 0: y = 0 there
    edges = (zero & ~smooth) | ((plain == 0.0) & (y.data == 1.0))
    return near_zero + NoSlope.apply(y, edges)


class NoSlope(Op):
    """z = 0 (the broadcast shape of x and ``mask``);  dz/dx = NaN where ``mask``, else 0:
    added to a derivative where the maths gives it no derivative of its own (x ** y)."""

    @staticmethod
    def forward(ctx, x, mask):
        ctx.mask, ctx.shape = mask, np.shape(x)
        return np.zeros(np.broadcast_shapes(np.shape(x), np.shape(mask)))

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(xp.where(ctx.mask, grad * math.nan, 0.0), ctx.shape), None


def _check_matmul_shapes(x: np.ndarray, w: np.ndarray) -> None:
    """Refuse what numpy's matmul would refuse, or treat as a vector, naming both shapes."""
    if x.ndim == 2 and w.ndim == 2 and x.shape[1] == w.shape[0]:
        return
    if x.ndim >= 2 and w.ndim >= 2 and x.shape[-1] == w.shape[-2]:
        try:
            np.broadcast_shapes(x.shape[:-2], w.shape[:-2])
            return
        except ValueError:
            pass
    raise ValueError(
        f"matmul needs operands of 2 or more dimensions, (..., n, k) @ (..., k, m) with batch "
        f"dimensions that broadcast; got shapes {x.shape} and {w.shape}"
    )


def _swap_last(a: Any) -> Any:
    """The matrix transpose of every matrix in a stack: a.T for a 2-D array."""
    if a.ndim == 2:
        return a.T
    return a.transpose(tuple(range(a.ndim - 2)) + (a.ndim - 1, a.ndim - 2))


def _private_copies(ctx: Function, x: np.ndarray, w: np.ndarray) -> tuple[Any, Any]:
    """Copies of the operands of a batched matmul that its backward will read, noted on
    ``ctx`` as its inputs' (``Function._copies``, which ``create_graph`` differentiates
    through). torch's matmul copies an operand it broadcasts over the batch or folds into
    a matrix, and a write into that input after the forward then leaves its backward
    alone; copying whatever the backward reads answers wherever torch does."""
    need_x, need_w = ctx.needs_input_grad[:2]
    x, w = (x.copy() if need_w else x), (w.copy() if need_x else w)
    ctx._copies = {id(a): i for i, (a, copied) in enumerate(((x, need_w), (w, need_x))) if copied}
    return x, w


class MatMul(Op):
    """Z = X @ W, numpy's matmul for 2 or more dimensions: X (..., n, k), W (..., k, m);
    dX = G W^T, dW = X^T G per matrix of the stack, summed over broadcast batch axes.
    """

    @staticmethod
    def forward(ctx, x, w):
        if x.ndim == 2 and w.ndim == 2 and x.shape[1] == w.shape[0]:  # speed: the common case
            _needed(ctx, x, w)
            return matrix_product(x, w)
        _check_matmul_shapes(x, w)
        _needed(ctx, *_private_copies(ctx, x, w))
        ctx.shapes = (x.shape, w.shape)  # for the sums over broadcast batch axes (backward)
        return x @ w

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        if grad.ndim == 2:  # speed: two matrices (a 2-D product has no batch to sum over)
            need_x, need_w = ctx.needs_input_grad
            return (
                matrix_product(grad, w.T) if need_x else None,
                matrix_product(x.T, grad) if need_w else None,
            )
        x_shape, w_shape = ctx.shapes
        dx = unbroadcast(grad @ _swap_last(w), x_shape) if ctx.needs_input_grad[0] else None
        dw = unbroadcast(_swap_last(x) @ grad, w_shape) if ctx.needs_input_grad[1] else None
        return dx, dw


class Linear(Op):
    """Z = X W + b, one op: X (n, k), W (k, m), b (m,) or (1, m);  dX = G W^T, dW = X^T G,
    db = sum over rows of G. Saves one (n, m) array and one graph node against ``X @ W + b``.
    """

    @staticmethod
    def forward(ctx, x, w, b):
        if (
            x.ndim != 2
            or w.ndim != 2
            or x.shape[1] != w.shape[0]
            or b.shape not in ((w.shape[1],), (1, w.shape[1]))
        ):
            raise ValueError(
                f"linear needs x (n, k), weight (k, m) and bias (m,) or (1, m); got shapes "
                f"{x.shape}, {w.shape} and {b.shape}"
            )
        _needed(ctx, x, w)
        ctx.bias_shape = b.shape
        out = matrix_product(x, w)
        out += b  # out is new: adding in place saves an (n, m) temporary
        return out

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        dx = matrix_product(grad, w.T) if ctx.needs_input_grad[0] else None
        dw = matrix_product(x.T, grad) if ctx.needs_input_grad[1] else None
        db = unbroadcast(grad, ctx.bias_shape) if ctx.needs_input_grad[2] else None
        return dx, dw, db


# ---------------------------------------------------------------------- reductions
class Sum(Op):
    """z = sum of x over ``axis``;  dz/dx = 1 for every summed element."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        return np.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        grad = _expand_reduced(grad, ctx.shape, ctx.axis, ctx.keepdims)
        return xp.broadcast_to(grad, ctx.shape), None, None


class BroadcastTo(Op):
    """z = x repeated to ``shape`` (numpy broadcasting);  dz/dx sums back (``unbroadcast``).
    Sum's backward, and so its own backward's."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return np.array(np.broadcast_to(x, shape))

    @staticmethod
    def backward(ctx, grad):
        return unbroadcast(grad, ctx.shape), None


class Mean(Op):
    """z = mean of x over ``axis``;  dz/dx = 1 / (number of averaged elements)."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        out = np.mean(x, axis=axis, keepdims=keepdims)
        ctx.count = x.size / max(np.size(out), 1) if x.size else 1.0
        return out

    @staticmethod
    def backward(ctx, grad):
        grad = _expand_reduced(grad, ctx.shape, ctx.axis, ctx.keepdims)
        return xp.broadcast_to(grad / ctx.count, ctx.shape), None, None


def _extremum(ctx: Function, x: np.ndarray, axis: Any, keepdims: bool, reduce: Any) -> np.ndarray:
    """The forward of Max and Min: the extremum, and each element's share of its gradient
    (piecewise constant in x, so a constant on ctx)."""
    out = reduce(x, axis=axis, keepdims=True)
    hit = x == out
    ctx.share = hit / hit.sum(axis=axis, keepdims=True)
    ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
    return out if keepdims else np.squeeze(out, axis=_reduced_axes(x.ndim, axis))


def _extremum_grad(ctx: Function, grad: Any) -> tuple[Any, None, None]:
    """The backward of Max and Min: the gradient goes to the extrema, shared on ties."""
    return _expand_reduced(grad, ctx.shape, ctx.axis, ctx.keepdims) * ctx.share, None, None


class Max(Op):
    """z = max of x over ``axis``; the gradient goes to the maxima, shared equally on ties."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        return _extremum(ctx, x, axis, keepdims, np.max)

    @staticmethod
    def backward(ctx, grad):
        return _extremum_grad(ctx, grad)


class Min(Op):
    """z = min of x over ``axis``; the gradient goes to the minima, shared equally on ties."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        return _extremum(ctx, x, axis, keepdims, np.min)

    @staticmethod
    def backward(ctx, grad):
        return _extremum_grad(ctx, grad)


def _divisor(x: np.ndarray, axis: Any, ddof: int) -> int:
    """n - ddof for a variance over ``axis``, checked positive."""
    count = int(np.prod([x.shape[a] for a in _reduced_axes(x.ndim, axis)]))
    if count - ddof <= 0:
        raise ValueError(
            f"var over {count} element(s) with ddof={ddof} would divide by "
            f"{count - ddof}: it needs more than ddof elements along axis {axis} of "
            f"shape {x.shape}"
        )
    return count - ddof


def _var_grad(ctx: Function, x: Any, grad: Any) -> Any:
    """dv/dx contracted with ``grad`` (of the kept shape): 2 (x - mean) / (n - ddof)."""
    centred = x - x.mean(axis=ctx.axis, keepdims=True)
    return grad * centred * (2.0 / ctx.divisor)


class Var(Op):
    """v = sum (x - mean)^2 / (n - ddof) over ``axis``, n the number of elements reduced;
    dv/dx = 2 (x - mean) / (n - ddof) (the mean's own dependence on x sums to zero).
    """

    @staticmethod
    def forward(ctx, x, axis, keepdims, ddof):
        ctx.divisor = _divisor(x, axis, ddof)
        centred = x - np.mean(x, axis=axis, keepdims=True)
        ctx.save_for_backward(x)
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        return np.sum(centred * centred, axis=axis, keepdims=keepdims) / ctx.divisor

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        grad = _expand_reduced(grad, ctx.shape, ctx.axis, ctx.keepdims)
        return _var_grad(ctx, x, grad), None, None, None


class Std(Op):
    """s = sqrt(var) over ``axis``;  ds/dx = dv/dx / (2 s), and 0 where s = 0 (one element,
    or all equal), as torch's."""

    @staticmethod
    def forward(ctx, x, axis, keepdims, ddof):
        ctx.divisor = _divisor(x, axis, ddof)
        centred = x - np.mean(x, axis=axis, keepdims=True)
        out = np.sqrt(np.sum(centred * centred, axis=axis, keepdims=keepdims) / ctx.divisor)
        ctx.save_for_backward(x, out)
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        return out

    @staticmethod
    def backward(ctx, grad):
        x, out = ctx.saved_tensors
        grad = _expand_reduced(grad, ctx.shape, ctx.axis, ctx.keepdims)
        out = _expand_reduced(out, ctx.shape, ctx.axis, ctx.keepdims)
        flat = out == 0.0
        half = xp.where(flat, 0.0, grad / (2.0 * xp.where(flat, 1.0, out)))
        return _var_grad(ctx, x, half), None, None, None


# ---------------------------------------------------------------------- elementwise
class Exp(Op):
    """z = e^x;  dz/dx = e^x = z."""

    @staticmethod
    def forward(ctx, x):
        out = np.exp(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out


class Log(Op):
    """z = ln x;  dz/dx = 1 / x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / x


class Log1p(Op):
    """z = ln(1 + x), exact for tiny x;  dz/dx = 1 / (1 + x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log1p(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (1.0 + x)


class Expm1(Op):
    """z = e^x - 1, exact for tiny x;  dz/dx = e^x, from the forward (z + 1 keeps none of
    e^x's digits where z rounds to -1: 0 at x = -40, 5e-8 relative off at -20)."""

    @staticmethod
    def forward(ctx, x):
        out = np.expm1(x)
        ctx.save_for_backward(out)  # as torch: a later write into x is no error
        ctx.exp = np.exp(x)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * _exact_value(ctx.exp, out, lambda z: z + 1.0)


class Sin(Op):
    """z = sin x;  dz/dx = cos x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * xp.cos(x)


class Cos(Op):
    """z = cos x;  dz/dx = -sin x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return -grad * xp.sin(x)


class Sqrt(Op):
    """z = sqrt(x);  dz/dx = 1 / (2 z)."""

    @staticmethod
    def forward(ctx, x):
        out = np.sqrt(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad / (2.0 * out)


class Abs(Op):
    """z = |x|;  dz/dx = sign(x), 0 at x = 0 (as torch)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * xp.sign(x)


class Tanh(Op):
    """a = tanh(z);  da/dz = 1 - a^2, from the output a, not from z (the write-up's delta2)."""

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        dx = xp.subtract_from(1.0, out * out)  # one buffer for 1 - a^2 and the product
        dx *= grad
        return dx


def _sigmoid_pair(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(s(x), 1 - s(x)) as (1 / (1 + E), E / (1 + E)) with E = e^-x, each to 1.5 ulp
    relative for any x; where E overflows (x < -709.78), (e^x, 1). (1 + tanh(x/2)) / 2
    cancels for x < 0, 1e-12 relative off at -10 and 0 at -100 for 3.7e-44; 1 - s cancels
    for x > 0, 0 from x = 37 on. No branch on the sign of x: np.where on a mixed-sign
    mask costs as much as the rest together."""
    with np.errstate(over="ignore", invalid="ignore"):  # inf / inf: replaced below
        e = np.exp(-x)
        denominator = e + 1.0
        out, complement = 1.0 / denominator, e / denominator
        overflowed = e == np.inf
        if overflowed.any():  # rare: 0-d arrays too
            out, complement = (
                np.where(overflowed, np.exp(x), out),
                np.where(overflowed, 1.0, complement),
            )
    return out, complement


class Sigmoid(Op):
    """s = 1 / (1 + e^-x) (``_sigmoid_pair``);  ds/dx = s (1 - s), 1 - s = s(-x) from the
    forward."""

    @staticmethod
    def forward(ctx, x):
        out, ctx.complement = _sigmoid_pair(x)
        ctx.save_for_backward(out)  # as torch: a later write into x is no error
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * _exact_value(ctx.complement, out, lambda s: 1.0 - s)


class ReLU(Op):
    """z = max(x, 0), NaN for NaN;  dz/dx = 0 where x <= 0, else 1 (at NaN too, as torch's)."""

    @staticmethod
    def forward(ctx, x):
        positive = ~(x <= 0)  # not x > 0: relu(NaN) is NaN (torch's, np.maximum's), never 0
        ctx.save_for_backward(positive)
        return np.where(positive, x, 0.0)

    @staticmethod
    def backward(ctx, grad):
        (positive,) = ctx.saved_tensors
        return xp.where(positive, grad, 0.0)  # exactly 0 where masked, as torch's (not inf * 0)


class LeakyReLU(Op):
    """z = x where x > 0, else slope * x;  dz/dx = 1 or slope."""

    @staticmethod
    def forward(ctx, x, slope):
        positive = x > 0
        ctx.save_for_backward(positive)
        ctx.slope = slope
        return np.where(positive, x, slope * x)

    @staticmethod
    def backward(ctx, grad):
        (positive,) = ctx.saved_tensors
        return grad * np.where(positive, 1.0, ctx.slope), None


class Softplus(Op):
    """z = ln(1 + e^x), via logaddexp;  dz/dx = sigmoid(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0.0, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * xp.sigmoid(x)


# ---------------------------------------------------------------------- selection
def _shared_pick(ctx: Function, grad: Any) -> tuple[Any, Any]:
    """The backward of Maximum and Minimum: x gets ``ctx.shares[0]`` of each gradient, y
    ``ctx.shares[1]`` (piecewise constant: constants)."""
    x_shape, y_shape = ctx.shapes
    x_share, y_share = ctx.shares
    dx = unbroadcast(_share_of(grad, x_share), x_shape) if ctx.needs_input_grad[0] else None
    dy = unbroadcast(_share_of(grad, y_share), y_shape) if ctx.needs_input_grad[1] else None
    return dx, dy


def _share_of(grad: Any, share: np.ndarray) -> Any:
    """grad * share, exactly 0 where the share is 0 (as torch's, where an infinite or NaN
    gradient of the side that lost would give inf * 0 = NaN)."""
    return xp.where(share == 0.0, 0.0, grad) * share


def _shares(x_loses: np.ndarray, y_loses: np.ndarray, tie: np.ndarray) -> tuple[Any, Any]:
    """Each side's share of the gradient, as torch's: all of it unless it loses, half on a
    tie; where x or y is NaN nothing compares true, so both get all of it."""
    half = 0.5 * tie
    return 1.0 - x_loses - half, 1.0 - y_loses - half


class Maximum(Op):
    """z = max(x, y) elementwise;  dz/dx = 1 where x > y, 1/2 where x = y, 0 where x < y,
    and 1 to both where either is NaN (z NaN), as torch's."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.shapes = (x.shape, y.shape)
        with np.errstate(invalid="ignore"):
            ctx.shares = _shares(x < y, x > y, x == y)
        return np.maximum(x, y)

    @staticmethod
    def backward(ctx, grad):
        return _shared_pick(ctx, grad)


class Minimum(Op):
    """z = min(x, y) elementwise;  dz/dx = 1 where x < y, 1/2 where x = y, 0 where x > y,
    and 1 to both where either is NaN (z NaN), as torch's."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.shapes = (x.shape, y.shape)
        with np.errstate(invalid="ignore"):
            ctx.shares = _shares(x > y, x < y, x == y)
        return np.minimum(x, y)

    @staticmethod
    def backward(ctx, grad):
        return _shared_pick(ctx, grad)


class Clip(Op):
    """z = min(max(x, low), high), numpy's clip (high wins where low > high); low or high
    may be None. Gradients as torch's clamp: dz/dx = 1 where low <= x <= high; dz/dlow = 1
    where x < low < high; dz/dhigh = 1 where x > high or high < low; else 0.
    """

    @staticmethod
    def forward(ctx, x, low, high):
        ctx.save_for_backward(x, low, high)
        ctx.shapes = (x.shape, np.shape(low), np.shape(high))
        return np.clip(x, low, high)

    @staticmethod
    def backward(ctx, grad):
        x, low, high = ctx.saved_tensors
        x_shape, low_shape, high_shape = ctx.shapes
        inside = True
        if low is not None:
            inside = inside & (x >= low)
        if high is not None:
            inside = inside & (x <= high)
        dx = unbroadcast(xp.where(inside, grad, 0.0), x_shape) if ctx.needs_input_grad[0] else None
        dlow = dhigh = None
        if ctx.needs_input_grad[1]:
            below = x < low if high is None else (x < low) & (low < high)
            dlow = unbroadcast(xp.where(below, grad, 0.0), low_shape)
        if ctx.needs_input_grad[2]:
            above = x > high if low is None else (x > high) | (high < low)
            dhigh = unbroadcast(xp.where(above, grad, 0.0), high_shape)
        return dx, dlow, dhigh


class Where(Op):
    """z = x where ``condition``, else y (numpy's where, all three broadcast);
    dz/dx = condition, dz/dy = not condition, each summed back to its input's shape.
    """

    @staticmethod
    def forward(ctx, condition, x, y):
        # a copy: the caller's mask may change before backward (m = x > 0; ...; m[:] = 0),
        # and the gradient must be that of the values computed
        ctx.condition, ctx.shapes = np.array(condition, dtype=bool), (np.shape(x), np.shape(y))
        return np.where(ctx.condition, x, y)

    @staticmethod
    def backward(ctx, grad):
        x_shape, y_shape = ctx.shapes
        picked = np.broadcast_to(ctx.condition, grad.shape)
        dx = unbroadcast(xp.where(picked, grad, 0.0), x_shape) if ctx.needs_input_grad[1] else None
        dy = unbroadcast(xp.where(picked, 0.0, grad), y_shape) if ctx.needs_input_grad[2] else None
        return None, dx, dy


# ---------------------------------------------------------------------- shape
class Reshape(Op):
    """z = x viewed with another shape;  the gradient is reshaped back."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape), None


class Transpose(Op):
    """z = x with its axes permuted (``axes`` None: reversed, as x.T);  the gradient is
    permuted back by the inverse permutation.
    """

    @staticmethod
    def forward(ctx, x, axes):
        ctx.axes = axes
        return np.transpose(x, axes)

    @staticmethod
    def backward(ctx, grad):
        if ctx.axes is None:
            return grad.T, None
        return grad.transpose(tuple(int(a) for a in np.argsort(ctx.axes))), None


def basic_index(index: Any) -> tuple | None:
    """``index`` as a tuple when it is numpy's basic indexing (ints, slices, None,
    ``...``), whose result is a view; None when it holds arrays, lists or bools."""
    parts = index if type(index) is tuple else (index,)
    for part in parts:
        if type(part) is bool or not (
            isinstance(part, (int, np.integer, slice)) or part is None or part is Ellipsis
        ):
            return None
    return parts


def _kept_index(index: Any) -> Any:
    """``index`` with a copy of each array in it: the caller's index array may change
    before backward (``idx[:] = ...``), and the gradient must go where the values came
    from (ints, slices, None and ``...`` are kept as they are)."""
    if isinstance(index, np.ndarray):
        return np.array(index)
    if type(index) is tuple and any(isinstance(part, np.ndarray) for part in index):
        return tuple(np.array(part) if isinstance(part, np.ndarray) else part for part in index)
    return index


class GetItem(Op):
    """z = x[index];  the gradient is scatter-added, so repeated indices accumulate.

    Ints, slices, None and ``...`` give a view of x's array (a 0-d one for a single
    element), as numpy's and torch's basic indexing do; arrays of ints or bools a copy."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.index = x.shape, _kept_index(index)
        parts = basic_index(index)
        if parts is not None:
            return x[parts if Ellipsis in parts else parts + (Ellipsis,)]
        return np.array(x[index], dtype=np.float64)

    @staticmethod
    def backward(ctx, grad):
        return xp.scatter_add(grad, ctx.index, ctx.shape), None


class IndexAdd(Op):
    """z = zeros of ``shape`` with x added at ``index``;  dz/dx = z[index]: GetItem's
    backward, and so its own backward's."""

    @staticmethod
    def forward(ctx, x, index, shape):
        ctx.index = index = _kept_index(index)
        out = np.zeros(shape)
        np.add.at(out, index, x)
        return out

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.index], None, None


class SetItem(Op):
    """z = x with z[index] = v (``t[index] = v`` recorded);  dz/dx = 1 outside ``index``,
    0 inside; dz/dv = 1 at ``index`` (summed over what v was broadcast to)."""

    @staticmethod
    def forward(ctx, x, v, index):
        index = _kept_index(index)
        out = x.copy()
        out[index] = v
        kept = np.ones(x.shape, dtype=bool)
        kept[index] = False
        ctx.kept, ctx.index, ctx.v_shape = kept, index, np.shape(v)
        return out

    @staticmethod
    def backward(ctx, grad):
        dx = xp.where(ctx.kept, grad, 0.0) if ctx.needs_input_grad[0] else None
        dv = unbroadcast(grad[ctx.index], ctx.v_shape) if ctx.needs_input_grad[1] else None
        return dx, dv, None


def _diagonal_of(x: np.ndarray, where: tuple[int, int, int]) -> np.ndarray:
    """np.diagonal's view of x (``where``: offset, axis1, axis2), writable where x is."""
    view = np.diagonal(x, *where)
    if x.flags.writeable:
        view.flags.writeable = True
    return view


class Diagonal(Op):
    """z = the diagonal ``offset`` of x's (axis1, axis2) planes as its last axis, a view of
    x's array (torch's; numpy's is read-only);  the gradient goes on that diagonal of zeros."""

    @staticmethod
    def forward(ctx, x, offset, axis1, axis2):
        ctx.shape, ctx.where = x.shape, (offset, axis1, axis2)
        return _diagonal_of(x, ctx.where)

    @staticmethod
    def backward(ctx, grad):
        if isinstance(grad, Tensor):
            return DiagonalEmbed.apply(grad, ctx.shape, *ctx.where), None, None, None
        return DiagonalEmbed.forward(ctx, grad, ctx.shape, *ctx.where), None, None, None


class DiagonalEmbed(Op):
    """z = zeros of ``shape`` with x on the diagonal ``offset`` of its (axis1, axis2)
    planes;  dz/dx = that diagonal of the gradient (Diagonal's backward, and Diagonal its)."""

    @staticmethod
    def forward(ctx, x, shape, offset, axis1, axis2):
        ctx.where = (offset, axis1, axis2)
        out = np.zeros(shape)
        _diagonal_of(out, ctx.where)[...] = x
        return out

    @staticmethod
    def backward(ctx, grad):
        if isinstance(grad, Tensor):
            return Diagonal.apply(grad, *ctx.where), None, None, None, None
        return np.diagonal(grad, *ctx.where).copy(), None, None, None, None


class SetDiagonal(Op):
    """z = x with v on the diagonal ``offset`` of its (axis1, axis2) planes (an update of
    ``t.diagonal()`` recorded);  dz/dx = 1 off that diagonal, 0 on it; dz/dv = 1 on it."""

    @staticmethod
    def forward(ctx, x, v, offset, axis1, axis2):
        ctx.where = (offset, axis1, axis2)
        out = x.copy()
        _diagonal_of(out, ctx.where)[...] = v
        return out

    @staticmethod
    def backward(ctx, grad):
        need_x, need_v = ctx.needs_input_grad[:2]
        if isinstance(grad, Tensor):
            dx = SetDiagonal.apply(grad, 0.0, *ctx.where) if need_x else None
            dv = Diagonal.apply(grad, *ctx.where) if need_v else None
            return dx, dv, None, None, None
        dx = SetDiagonal.forward(ctx, grad, 0.0, *ctx.where) if need_x else None
        dv = np.diagonal(grad, *ctx.where).copy() if need_v else None
        return dx, dv, None, None, None


class Concatenate(Op):
    """z = the arrays joined along ``axis``;  each input's gradient is its own slice of dz."""

    @staticmethod
    def forward(ctx, axis, *arrays):
        out = np.concatenate(arrays, axis=axis)
        ctx.axis = axis % out.ndim
        ends = np.cumsum([a.shape[axis] for a in arrays])
        ctx.bounds = list(zip([0, *ends[:-1].tolist()], ends.tolist()))
        return out

    @staticmethod
    def backward(ctx, grad):
        before = (slice(None),) * ctx.axis
        needed = ctx.needs_input_grad[1:]
        return (
            None,
            *[
                grad[(*before, slice(start, end))] if need else None
                for (start, end), need in zip(ctx.bounds, needed)
            ],
        )


# ---------------------------------------------------------------------- softmax family
def _shifted(x: np.ndarray, axis: int) -> np.ndarray:
    """x minus its maximum along ``axis``: the same softmax, and e^x can no longer overflow."""
    return x - np.max(x, axis=axis, keepdims=True)


class Softmax(Op):
    """s = e^x / sum e^x along ``axis``;  dx = s * (g - sum(g * s))."""

    @staticmethod
    def forward(ctx, x, axis):
        out = xp.softmax(x, axis)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        (s,) = ctx.saved_tensors
        return s * (grad - (grad * s).sum(axis=ctx.axis, keepdims=True)), None


class LogSoftmax(Op):
    """y = x - logsumexp(x) along ``axis``;  dx = g - softmax(x) * sum(g)."""

    @staticmethod
    def forward(ctx, x, axis):
        shifted = _shifted(x, axis)
        out = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad - xp.exp(out) * grad.sum(axis=ctx.axis, keepdims=True), None


def _reduce(losses: np.ndarray, reduction: str) -> np.ndarray:
    """The losses summed or averaged into a 0-d array (``out=``: no numpy scalar to
    convert), or as they are for "none"."""
    if reduction == "sum":
        return np.add.reduce(losses, axis=None, out=np.empty(()))  # speed: np.sum's own call
    if reduction == "mean":
        return np.mean(losses, out=np.empty(()))
    return losses


def _reduction_grad(grad: Any, reduction: str, count: int) -> Any:
    """d loss / d (per-element losses) for the reduction that made the loss."""
    if reduction == "mean":
        return grad / count
    return grad


def _scaled(dz: Any, scale: Any) -> Any:
    """dz times the per-row (1-D) or whole (0-d) ``scale``; an ndarray scale of 1.0 (the
    seed of a summed loss's backward) is skipped, a Tensor one never (its gradient)."""
    if scale.ndim:
        return dz * scale.reshape(-1, 1)
    if isinstance(scale, Tensor) or float(scale) != 1.0:  # speed: no 0-d comparison
        dz *= scale  # dz is the backward's own array (or a recorded Tensor)
    return dz


def _fold_rows(ufunc: np.ufunc, rows: np.ndarray) -> np.ndarray:
    """``ufunc`` folded over the rows of a 2-D array, first to last: one elementwise call
    per row (a reduction over few rows pays numpy's overhead once per column instead)."""
    if len(rows) == 1:
        return rows[0].copy()
    out = ufunc(rows[0], rows[1])
    for j in range(2, len(rows)):
        ufunc(out, rows[j], out=out)
    return out


class SoftmaxCrossEntropy(Op):
    """Per row, l = logsumexp(z) - z[y], fused and stable;  dl/dz = softmax(z) - onehot(y).

    ``labels`` are integer class indices, checked here (``validate.cross_entropy_call``:
    the words of ``F.softmax_cross_entropy``) and, in a capture, at every replay that may
    read other labels; ``checked=True`` skips both, for a caller that has checked them and
    whose labels cannot change unchecked (``F.softmax_cross_entropy``, ``fit``).
    The probabilities stay on ``ctx`` for the first-order backward; handed Tensors, the
    backward rebuilds them from the logits (``xp.softmax``), so they are differentiated too.
    """

    @staticmethod
    def forward(ctx, logits, labels, reduction="mean", checked=False):
        if checked is not True:  # a negative label would pick another row's logit
            labels = cross_entropy_call(logits, labels, reduction)
        n, classes = logits.shape
        # speed: z.reshape(-1).take(picks) and flat indexing beat z[rows, labels] twice
        # over. Labels a capture traces (a batch's) are read as numbers, as z[rows, labels]
        # reads them: the capture's own rule for this op reads them at every replay.
        starts = kept(np.arange, 0, n * classes, classes)  # the flat position of each z[n, 0]
        picks = starts + (labels if type(labels) is np.ndarray else np.asarray(labels))
        if 0 < classes <= 16:
            # speed: few classes, one per row of the transpose, so the row maximum and the
            # row sum are elementwise folds over contiguous rows (class 0 with 1, then 2...)
            # and the broadcasts run along rows: the same operations in the same order as
            # by rows, so the same bits, in two thirds of the time at the moons' 2 classes
            shifted = logits.T.copy()
            rowmax = _fold_rows(np.maximum, shifted)
            shifted -= rowmax
            exp = np.exp(shifted)
            total = _fold_rows(np.add, exp)
            picked = logits.reshape(-1).take(picks)
            picked -= rowmax  # z[y] - max: the shifted logit, by the same subtraction
            losses = np.log(total)
            losses -= picked
            exp /= total
            exp = exp.T  # (n, classes), F order: backward's copy is C order
        else:
            shifted = logits - np.maximum.reduce(logits, axis=1, keepdims=True)
            exp = np.exp(shifted)
            total = np.add.reduce(exp, axis=1, keepdims=True)
            losses = np.log(total[:, 0]) - shifted.reshape(-1).take(picks)
            exp /= total
        ctx.save_for_backward(logits, labels)
        # the first order reads the probabilities, not the logits: a write into the logits
        # after the forward is no error there, as in torch (which saves log-softmax's output)
        ctx.read_first_order = (labels,)
        ctx.probs, ctx.picks, ctx.reduction = exp, picks, reduction
        return _reduce(losses, reduction)

    @staticmethod
    def backward(ctx, grad):
        logits, labels = ctx.saved_tensors
        if isinstance(logits, Tensor):
            onehot = np.zeros(logits.shape)
            onehot.reshape(-1)[ctx.picks] = 1.0
            dz = xp.softmax(logits, 1) - onehot
        else:
            dz = ctx.probs.copy()  # C order, whichever order forward left the probabilities in
            dz.reshape(-1)[ctx.picks] -= 1.0
        dz = _scaled(dz, _reduction_grad(grad, ctx.reduction, len(labels)))
        return (dz, None, None, None)[: len(ctx.needs_input_grad)]  # None per other argument


class BinaryCrossEntropyWithLogits(Op):
    """l = max(x, 0) - x t + ln(1 + e^-|x|), stable for any finite x;  dl/dx = sigmoid(x) - t,
    dl/dt = -x."""

    @staticmethod
    def forward(ctx, x, targets, reduction):
        ctx.save_for_backward(x, targets)
        ctx.reduction = reduction
        losses = np.maximum(x, 0.0) - x * targets + np.log1p(np.exp(-np.abs(x)))
        return _reduce(losses, reduction)

    @staticmethod
    def backward(ctx, grad):
        x, targets = ctx.saved_tensors
        scale = _reduction_grad(grad, ctx.reduction, x.size)
        dx = (xp.sigmoid(x) - targets) * scale if ctx.needs_input_grad[0] else None
        dt = -x * scale if ctx.needs_input_grad[1] else None
        return dx, dt, None


class SumOfSquares(Op):
    """l2 = sum over all tensors of sum(x^2);  d l2 / dx = 2 x for each."""

    @staticmethod
    def forward(ctx, *arrays):
        # only the inputs that need a gradient are saved (torch's x * x saves no constant):
        # a constant may then change in place after the forward without an error
        needs = ctx.needs_input_grad
        ctx.save_for_backward(*[a if need else None for a, need in zip(arrays, needs)])
        return np.array(sum([np.vdot(a, a) for a in arrays]))  # 0-d: no scalar to convert

    @staticmethod
    def backward(ctx, grad):
        scale = 2.0 * grad
        saved = ctx.saved_tensors
        if len(saved) == 1:
            return scale * saved[0]
        return tuple([None if a is None else scale * a for a in saved])


# ====================================================================== second wave
# numpy's elementwise functions, scans, einsum and sliding windows. Each backward follows
# the rules of the module docstring: ``xp`` for what is already there, ``_each`` for these
# ops' own functions (numpy on ndarrays, the op itself on Tensors).
def _each(op: type[Function], ufunc: Any, *args: Any) -> Any:
    """``op`` applied to ``args`` if any is a Tensor (a recorded op), else ``ufunc(*args)``."""
    if any(isinstance(a, Tensor) for a in args):
        return op.apply(*args)
    return ufunc(*args)


def _const_like(grad: Any, values: np.ndarray) -> Any:
    """``values`` as the kind of thing ``grad`` is: an ndarray, or a constant Tensor."""
    return Tensor._wrap(values) if isinstance(grad, Tensor) else values


class _Unary(Op):
    """z = ufunc(x);  dz/dx = slope(x). A subclass names ``ufunc`` and ``slope``: the
    forward's numpy function and the derivative, written so that it also takes a Tensor."""

    ufunc: Any = None

    @staticmethod
    def slope(x: Any) -> Any:
        raise NotImplementedError("a _Unary subclass defines slope(x)")

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            return ctx.ufunc(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):  # inf / NaN are the answer there
            return grad * ctx.slope(x)


class _Flat(Op):
    """z = ufunc(x), piecewise constant;  dz/dx = 0 everywhere (torch's, even at the jumps)."""

    ufunc: Any = None

    @staticmethod
    def forward(ctx, x):
        return ctx.ufunc(x)

    @staticmethod
    def backward(ctx, grad):
        return xp.zeros_like(grad)


class Sign(_Flat):
    """z = sign x (0 at 0);  dz/dx = 0."""

    ufunc = np.sign


class Floor(_Flat):
    """z = floor x;  dz/dx = 0."""

    ufunc = np.floor


class Ceil(_Flat):
    """z = ceil x;  dz/dx = 0."""

    ufunc = np.ceil


_LN2, _LN10 = float(np.log(2.0)), float(np.log(10.0))


class Log2(_Unary):
    """z = log2 x;  dz/dx = 1 / (x ln 2)."""

    ufunc = np.log2

    @staticmethod
    def slope(x):
        return 1.0 / (x * _LN2)


class Log10(_Unary):
    """z = log10 x;  dz/dx = 1 / (x ln 10)."""

    ufunc = np.log10

    @staticmethod
    def slope(x):
        return 1.0 / (x * _LN10)


class Exp2(_Unary):
    """z = 2^x;  dz/dx = 2^x ln 2."""

    ufunc = np.exp2

    @staticmethod
    def slope(x):
        return _each(Exp2, np.exp2, x) * _LN2


class Tan(_Unary):
    """z = tan x;  dz/dx = 1 / cos^2 x."""

    ufunc = np.tan

    @staticmethod
    def slope(x):
        cos = xp.cos(x)
        return 1.0 / (cos * cos)


class Sinh(_Unary):
    """z = sinh x;  dz/dx = cosh x."""

    ufunc = np.sinh

    @staticmethod
    def slope(x):
        return _each(Cosh, np.cosh, x)


class Cosh(_Unary):
    """z = cosh x;  dz/dx = sinh x."""

    ufunc = np.cosh

    @staticmethod
    def slope(x):
        return _each(Sinh, np.sinh, x)


def _one_minus_square(x: Any) -> Any:
    """1 - x^2 to an ulp, as (1 - x)(1 + x): 1 - x*x cancels near |x| = 1 (at 1 - 1e-8,
    2.7e-10 relative). On a Tensor, 1 - x*x plus that difference as a constant: the same
    value, and the derivative -2x, exact (that of the product, -(1 + x) + (1 - x), cancels
    near 0, and is 0 * inf = NaN at |x| = 1 under an infinite outer derivative)."""
    values = x._array if isinstance(x, Tensor) else x
    return _exact_value((1.0 - values) * (1.0 + values), x, lambda t: 1.0 - t * t)


def _nan_outside(x: Any, inside: Any) -> Any:
    """1 where ``inside(x)`` holds, NaN elsewhere (a constant, exact as a factor): a
    derivative ``u ** -0.5`` is +0, not NaN, where u overflows to -inf (pow(-inf, -1/2)),
    so arcsin' would be 0 at |x| >= 1.4e154 and arccosh' at -inf, where the value is NaN."""
    values = x._array if isinstance(x, Tensor) else x
    with np.errstate(invalid="ignore"):
        return _const_like(x, np.where(inside(values), 1.0, np.nan))


def _within_one(values: np.ndarray) -> np.ndarray:
    return np.abs(values) <= 1.0


class Arcsin(_Unary):
    """z = arcsin x;  dz/dx = ((1 - x)(1 + x))^(-1/2) (``_one_minus_square``), NaN
    for |x| > 1."""

    ufunc = np.arcsin

    @staticmethod
    def slope(x):
        return _one_minus_square(x) ** -0.5 * _nan_outside(x, _within_one)


class Arccos(_Unary):
    """z = arccos x;  dz/dx = -((1 - x)(1 + x))^(-1/2) (``_one_minus_square``), NaN
    for |x| > 1."""

    ufunc = np.arccos

    @staticmethod
    def slope(x):
        return -(_one_minus_square(x) ** -0.5) * _nan_outside(x, _within_one)


class Arctan(_Unary):
    """z = arctan x;  dz/dx = 1 / (1 + x^2), as (1 / h) / h with h = hypot(1, x): no
    overflow of x^2 (nor of h^2 in the second derivative)."""

    ufunc = np.arctan

    @staticmethod
    def slope(x):
        h = _each(Hypot, np.hypot, x, 1.0)
        return (1.0 / h) / h


class Arcsinh(_Unary):
    """z = arcsinh x;  dz/dx = 1 / hypot(1, x) (x^2 would overflow at huge |x|)."""

    ufunc = np.arcsinh

    @staticmethod
    def slope(x):
        return 1.0 / _each(Hypot, np.hypot, x, 1.0)


class Arccosh(_Unary):
    """z = arccosh x;  dz/dx = (x - 1)^(-1/2) (x + 1)^(-1/2): x - 1 exact near 1, where
    x^2 - 1 cancels, and no x^2 to overflow at huge x; NaN for x < 1 (-inf included)."""

    ufunc = np.arccosh

    @staticmethod
    def slope(x):
        factor = _nan_outside(x, lambda values: values >= 1.0)
        return (x - 1.0) ** -0.5 * (x + 1.0) ** -0.5 * factor


class Arctanh(_Unary):
    """z = arctanh x;  dz/dx = 1 / ((1 - x)(1 + x)) (``_one_minus_square``)."""

    ufunc = np.arctanh

    @staticmethod
    def slope(x):
        return 1.0 / _one_minus_square(x)


# sinc'(x) / x = sum over k >= 1 of (-1)^k pi^2k 2k / (2k + 1)! x^(2k - 2), its first 9
# terms: below |x| = 1/4 they are exact to 2e-16 (first and second derivatives against 50
# digits), where the quotient (cos(pi x) - sinc x) / x cancels (1e-8: 5% off); above, the
# quotient is within 4e-16 and 7e-16 (tests/engine/test_ops_precision.py)
_SINC_SERIES = tuple(
    (-1) ** k * np.pi ** (2 * k) * 2 * k / math.factorial(2 * k + 1) for k in range(1, 10)
)
_SINC_SMALL = 0.25


class Sinc(_Unary):
    """z = sin(pi x) / (pi x), 1 at 0;  dz/dx = (cos(pi x) - sinc x) / x, its Taylor series
    for |x| < 1/4 (-(pi^2 / 3) x at 0: 0 as torch's, whose second derivative there is NaN)."""

    ufunc = staticmethod(np.sinc)  # a Python function, not a ufunc: no binding

    @staticmethod
    def slope(x):
        small = (x < _SINC_SMALL) & (x > -_SINC_SMALL)  # masks, for Tensors too
        near = xp.where(small, x, 0.0)  # no overflow in the branch where() drops
        square, series = near * near, _SINC_SERIES[-1]
        for c in reversed(_SINC_SERIES[:-1]):  # Horner's rule in x^2
            series = series * square + c
        safe = xp.where(small, 1.0, x)  # no cancellation or 0/0 in the branch dropped
        quotient = (xp.cos(np.pi * safe) - _each(Sinc, np.sinc, safe)) / safe
        return xp.where(small, series * near, quotient)


# ---------------------------------------------------------------------- binary, second wave
class _Binary(Op):
    """z = ufunc(x, y), broadcasting;  dz/dx, dz/dy = slopes(x, y), each summed back to its
    input's shape. A subclass names ``ufunc`` and ``slopes``, written to take Tensors too."""

    ufunc: Any = None

    @staticmethod
    def slopes(x: Any, y: Any) -> tuple[Any, Any]:
        raise NotImplementedError("a _Binary subclass defines slopes(x, y)")

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        with np.errstate(divide="ignore", invalid="ignore"):
            return ctx.ufunc(x, y)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        with np.errstate(divide="ignore", invalid="ignore"):
            dx, dy = ctx.slopes(x, y)
            dx = unbroadcast(grad * dx, x.shape) if ctx.needs_input_grad[0] else None
            dy = unbroadcast(grad * dy, y.shape) if ctx.needs_input_grad[1] else None
        return dx, dy


class Arctan2(_Binary):
    """z = arctan2(y, x) (numpy's order: y first);  dz/dy = (x / r) / r, dz/dx = -(y / r) / r
    with r = hypot(x, y) (x^2 + y^2 would underflow or overflow where these need not), and
    0 at the origin, as torch's."""

    ufunc = np.arctan2

    @staticmethod
    def slopes(y, x):
        r = _each(Hypot, np.hypot, x, y)
        origin = r == 0.0  # a mask: comparisons give ndarrays for Tensors too
        safe = xp.where(origin, 1.0, r)  # no 0/0 in the branch where() drops
        return xp.where(origin, 0.0, (x / safe) / safe), xp.where(origin, 0.0, (-y / safe) / safe)


class Hypot(_Binary):
    """z = sqrt(x^2 + y^2) without overflow;  dz/dx = x / z, dz/dy = y / z."""

    ufunc = np.hypot

    @staticmethod
    def slopes(x, y):
        z = _each(Hypot, np.hypot, x, y)
        return x / z, y / z


class LogAddExp(_Binary):
    """z = ln(e^x + e^y);  dz/dx = sigmoid(x - y), dz/dy = sigmoid(y - x)."""

    ufunc = np.logaddexp

    @staticmethod
    def slopes(x, y):
        return xp.sigmoid(x - y), xp.sigmoid(y - x)


class LogAddExp2(_Binary):
    """z = log2(2^x + 2^y);  dz/dx = sigmoid((x - y) ln 2), dz/dy = sigmoid((y - x) ln 2)."""

    ufunc = np.logaddexp2

    @staticmethod
    def slopes(x, y):
        d = (x - y) * _LN2
        return xp.sigmoid(d), xp.sigmoid(-d)


class Mod(Op):
    """z = x mod y, numpy's (the sign of y);  dz/dx = 1, dz/dy = -floor(x / y) (torch's)."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.shapes = (x.shape, y.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            ctx.quotient = np.floor_divide(x, y)  # piecewise constant: a constant to all orders
            return np.mod(x, y)

    @staticmethod
    def backward(ctx, grad):
        x_shape, y_shape = ctx.shapes
        dx = unbroadcast(grad, x_shape) if ctx.needs_input_grad[0] else None
        if ctx.needs_input_grad[1]:
            dy = unbroadcast(grad * _const_like(grad, -ctx.quotient), y_shape)
        else:
            dy = None
        return dx, dy


class FloorDivide(Op):
    """z = floor(x / y), numpy's ``//``, piecewise constant;  dz/dx = dz/dy = 0 (the value
    where the derivative exists; torch has none for tensor operands)."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.shapes = (x.shape, y.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.floor_divide(x, y)

    @staticmethod
    def backward(ctx, grad):
        x_shape, y_shape = ctx.shapes
        dx = _const_like(grad, np.zeros(x_shape)) if ctx.needs_input_grad[0] else None
        dy = _const_like(grad, np.zeros(y_shape)) if ctx.needs_input_grad[1] else None
        return dx, dy


# ---------------------------------------------------------------------- scans, padding
def _reversed_along(axis: int, ndim: int) -> tuple[slice, ...]:
    """The index that reverses an array of ``ndim`` axes along ``axis`` (a view)."""
    return (slice(None),) * axis + (slice(None, None, -1),) + (slice(None),) * (ndim - axis - 1)


class CumSum(Op):
    """z_i = sum of x_j for j <= i along ``axis``;  dx_j = sum of g_i for i >= j (the
    cumulative sum of the gradient taken from the other end)."""

    @staticmethod
    def forward(ctx, x, axis):
        ctx.axis = axis
        return np.cumsum(x, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        back = _reversed_along(ctx.axis, grad.ndim)
        summed = _each(CumSum, lambda g, a: np.cumsum(g, axis=a), grad[back], ctx.axis)
        return summed[back], None


class Pad(Op):
    """z = x with ``widths`` (before, after) of ``value`` around each axis;  dx = the
    middle of the gradient, where x sits."""

    @staticmethod
    def forward(ctx, x, widths, value):
        ctx.middle = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, x.shape, strict=True))
        return np.pad(x, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, grad):
        return grad[ctx.middle], None, None


# ---------------------------------------------------------------------- einsum
class Einsum(Op):
    """z = einsum(spec, *operands), ``spec`` explicit ("ij,jk->ik", no ellipsis);
    d operand_i = einsum of the gradient with the other operands into operand i's indices
    (a repeated index of operand i puts the gradient on that diagonal, an index only it
    has spreads it there)."""

    @staticmethod
    def forward(ctx, spec, *operands):
        ctx.spec = spec
        ctx.save_for_backward(*operands)
        # In C order, as a compiled step's buffers are: numpy would lay a contraction's
        # result out in its operands' order (a convolution's (n, o, y, x) came out as
        # (o, n, y, x) in memory), the elementwise ops after it would follow that layout
        # eagerly, and a sum over them (the bias's gradient) would add in another order
        # than the replay's, different in the last bits.
        return np.einsum(spec, *operands, optimize=len(operands) > 1, order="C")

    @staticmethod
    def backward(ctx, grad):
        inputs, output = ctx.spec.split("->")
        terms = inputs.split(",")
        operands = ctx.saved_tensors
        sizes = {c: n for term, a in zip(terms, operands) for c, n in zip(term, a.shape)}
        grads = [None]
        for i in range(len(terms)):
            if not ctx.needs_input_grad[i + 1]:
                grads.append(None)
                continue
            grads.append(_einsum_grad(grad, output, terms, operands, i, sizes))
        return tuple(grads)


_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _einsum_grad(grad, output, terms, operands, i, sizes):
    """The gradient of operand ``i`` of an einsum, as one einsum of the gradient, the other
    operands and constant delta (identity) and ones arrays."""
    term = terms[i]
    used = set("".join(terms)) | set(output)
    fresh = iter(c for c in _LETTERS if c not in used)
    # Operand i's indices with each repeat renamed, deltas tying the renamed to the first.
    target, seen, extra_terms, extra = [], set(), [], []
    for c in term:
        if c in seen:
            renamed = next(fresh)
            extra_terms.append(c + renamed)
            extra.append(np.eye(sizes[c]))
            target.append(renamed)
        else:
            seen.add(c)
            target.append(c)
    others = [t for j, t in enumerate(terms) if j != i]
    reachable = set(output) | set("".join(others))
    for c in seen - reachable:  # summed in operand i alone: its gradient is spread evenly
        extra_terms.append(c)
        extra.append(np.ones(sizes[c]))
    spec = ",".join([output, *others, *extra_terms]) + "->" + "".join(target)
    rest = [a for j, a in enumerate(operands) if j != i]
    args = [grad, *rest, *[_const_like(grad, e) for e in extra]]
    if any(isinstance(a, Tensor) for a in args):
        lifted = [a if isinstance(a, Tensor) else Tensor._wrap(a) for a in args]
        return Einsum.apply(spec, *lifted)
    return np.einsum(spec, *args, optimize=True, order="C")  # C order: see forward


# ---------------------------------------------------------------------- sliding windows
Pair = tuple[int, int]


def _window_view(x: np.ndarray, kernel: Pair, stride: Pair, dilation: Pair) -> np.ndarray:
    """The windows of x (N, C, H, W): ``kernel`` taps ``dilation`` apart, one window every
    ``stride``; a view (N, C, OH, OW, kh, kw)."""
    (kh, kw), (dh, dw) = kernel, dilation
    span = ((kh - 1) * dh + 1, (kw - 1) * dw + 1)
    windows = np.lib.stride_tricks.sliding_window_view(x, span, axis=(2, 3))
    return windows[:, :, :: stride[0], :: stride[1], ::dh, ::dw]


def _fold(cols: np.ndarray, shape: tuple[int, ...], stride: Pair, dilation: Pair) -> np.ndarray:
    """The adjoint of ``_window_view``: each window's values added back where they came
    from, one strided slice per kernel tap (no loop over pixels)."""
    out = np.zeros(shape)
    _, _, oh, ow, kh, kw = cols.shape
    (sh, sw), (dh, dw) = stride, dilation
    for a in range(kh):
        for b in range(kw):
            rows = slice(a * dh, a * dh + sh * (oh - 1) + 1, sh)
            columns = slice(b * dw, b * dw + sw * (ow - 1) + 1, sw)
            out[:, :, rows, columns] += cols[:, :, :, :, a, b]
    return out


class Unfold(Op):
    """z = the windows of x (N, C, H, W), (N, C, OH, OW, kh, kw) (im2col);  dx = each
    window's gradient added back where the window lies (``Fold``, its adjoint)."""

    @staticmethod
    def forward(ctx, x, kernel, stride, dilation):
        ctx.shape, ctx.stride, ctx.dilation = x.shape, stride, dilation
        return np.ascontiguousarray(_window_view(x, kernel, stride, dilation))

    @staticmethod
    def backward(ctx, grad):
        if isinstance(grad, Tensor):
            return Fold.apply(grad, ctx.shape, ctx.stride, ctx.dilation), None, None, None
        return _fold(grad, ctx.shape, ctx.stride, ctx.dilation), None, None, None


class Fold(Op):
    """z = windows (N, C, OH, OW, kh, kw) added into an (N, C, H, W) array (col2im), the
    adjoint of Unfold;  dx = the windows of the gradient (``Unfold``)."""

    @staticmethod
    def forward(ctx, cols, shape, stride, dilation):
        ctx.kernel, ctx.stride, ctx.dilation = cols.shape[4:], stride, dilation
        return _fold(cols, shape, stride, dilation)

    @staticmethod
    def backward(ctx, grad):
        if isinstance(grad, Tensor):
            return Unfold.apply(grad, ctx.kernel, ctx.stride, ctx.dilation), None, None, None
        windows = _window_view(grad, ctx.kernel, ctx.stride, ctx.dilation)
        return np.ascontiguousarray(windows), None, None, None
