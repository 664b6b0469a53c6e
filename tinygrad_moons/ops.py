"""Every primitive op as a Function: forward and backward side by side.

Each ``backward`` receives ``grad``, d loss / d output, and returns d loss / d input for
each forward argument: the vector-Jacobian product. Ops that broadcast sum the gradient
back to each input's shape with ``unbroadcast``. Work for an input that needs no gradient
is skipped by looking at ``ctx.needs_input_grad``. A ``backward`` never writes into
``grad`` or into what ``forward`` saved: one array may be handed to several inputs.

To add an op, copy the shape of a neighbour: a ``Function`` subclass here, and a method or
a function in ``functional.py`` that calls its ``apply``. The graph code never changes.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from tinygrad_moons import tensor as _tensor_module
from tinygrad_moons.tensor import Function


def unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Sum ``grad`` over the axes that numpy broadcasting added or stretched from ``shape``.

    If y = f(x) broadcast x of shape (3, 1) to (3, 4), every copy of x[i, 0] contributed,
    so d loss / d x[i, 0] is the sum of grad[i, :].
    """
    if grad.shape == shape:
        return grad
    leading = grad.ndim - len(shape)
    if leading:
        grad = grad.sum(axis=tuple(range(leading)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


def _reduced_axes(ndim: int, axis: Any) -> tuple[int, ...]:
    """The non-negative axes a reduction over ``axis`` removes from an ``ndim`` array."""
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, tuple) else (axis,)
    return tuple(a % ndim if ndim else a for a in axes)


def _expand_reduced(grad: np.ndarray, ndim: int, axis: Any, keepdims: bool) -> np.ndarray:
    """Put back, as size-1 axes, the axes a reduction without keepdims removed."""
    if keepdims or ndim == 0:
        return grad
    return np.expand_dims(grad, _reduced_axes(ndim, axis))


# ---------------------------------------------------------------------- arithmetic
class Add(Function):
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


class Sub(Function):
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


class Mul(Function):
    """z = x * y;  dz/dx = y, dz/dy = x."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x * y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        dx = unbroadcast(grad * y, x.shape) if ctx.needs_input_grad[0] else None
        dy = unbroadcast(grad * x, y.shape) if ctx.needs_input_grad[1] else None
        return dx, dy


class Div(Function):
    """z = x / y;  dz/dx = 1 / y, dz/dy = -x / y^2."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.save_for_backward(x, y)
        return x / y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        dx = unbroadcast(grad / y, x.shape) if ctx.needs_input_grad[0] else None
        dy = unbroadcast(-grad * x / (y * y), y.shape) if ctx.needs_input_grad[1] else None
        return dx, dy


class Neg(Function):
    """z = -x;  dz/dx = -1."""

    @staticmethod
    def forward(ctx, x):
        return -x

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Pow(Function):
    """z = x ** p for a number p;  dz/dx = p x^(p-1)."""

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
        return grad * p * x ** (p - 1.0), None


def _check_matmul_shapes(name: str, x: np.ndarray, w: np.ndarray) -> None:
    if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[0]:
        raise ValueError(
            f"{name} needs 2-D operands (n, k) @ (k, m); got shapes {x.shape} and {w.shape}"
        )


class MatMul(Function):
    """Z = X @ W for 2-D X (n, k) and W (k, m);  dX = G W^T, dW = X^T G."""

    @staticmethod
    def forward(ctx, x, w):
        _check_matmul_shapes("matmul", x, w)
        ctx.save_for_backward(x, w)
        return x @ w

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        dx = grad @ w.T if ctx.needs_input_grad[0] else None
        dw = x.T @ grad if ctx.needs_input_grad[1] else None
        return dx, dw


class Linear(Function):
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
        ctx.save_for_backward(x, w)
        ctx.bias_shape = b.shape
        out = x @ w
        out += b  # out is new: adding in place saves an (n, m) temporary
        return out

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        dx = grad @ w.T if ctx.needs_input_grad[0] else None
        dw = x.T @ grad if ctx.needs_input_grad[1] else None
        db = unbroadcast(grad, ctx.bias_shape) if ctx.needs_input_grad[2] else None
        return dx, dw, db


# ---------------------------------------------------------------------- reductions
class Sum(Function):
    """z = sum of x over ``axis``;  dz/dx = 1 for every summed element."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        return np.sum(x, axis=axis, keepdims=keepdims)

    @staticmethod
    def backward(ctx, grad):
        grad = _expand_reduced(grad, len(ctx.shape), ctx.axis, ctx.keepdims)
        return np.broadcast_to(grad, ctx.shape), None, None


class Mean(Function):
    """z = mean of x over ``axis``;  dz/dx = 1 / (number of averaged elements)."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        ctx.shape, ctx.axis, ctx.keepdims = x.shape, axis, keepdims
        out = np.mean(x, axis=axis, keepdims=keepdims)
        ctx.count = x.size / max(np.size(out), 1) if x.size else 1.0
        return out

    @staticmethod
    def backward(ctx, grad):
        grad = _expand_reduced(grad, len(ctx.shape), ctx.axis, ctx.keepdims)
        return np.broadcast_to(grad / ctx.count, ctx.shape), None, None


class Max(Function):
    """z = max of x over ``axis``; the gradient goes to the maxima, shared equally on ties."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        out = np.max(x, axis=axis, keepdims=True)
        is_max = x == out
        ctx.save_for_backward(is_max / is_max.sum(axis=axis, keepdims=True))
        ctx.ndim, ctx.axis, ctx.keepdims = x.ndim, axis, keepdims
        return out if keepdims else np.squeeze(out, axis=_reduced_axes(x.ndim, axis))

    @staticmethod
    def backward(ctx, grad):
        (share,) = ctx.saved_tensors
        return share * _expand_reduced(grad, ctx.ndim, ctx.axis, ctx.keepdims), None, None


# ---------------------------------------------------------------------- elementwise
class Exp(Function):
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


class Log(Function):
    """z = ln x;  dz/dx = 1 / x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / x


class Sqrt(Function):
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


class Abs(Function):
    """z = |x|;  dz/dx = sign(x), 0 at x = 0 (as torch)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.abs(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * np.sign(x)


class Tanh(Function):
    """a = tanh(z);  da/dz = 1 - a^2, from the output a, not from z (the write-up's delta2)."""

    @staticmethod
    def forward(ctx, x):
        out = np.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        dx = np.asarray(out * out)  # one buffer for 1 - a^2 and the product (0-d too)
        np.subtract(1.0, dx, out=dx)
        dx *= grad
        return dx


class Sigmoid(Function):
    """s = 1 / (1 + e^-x), computed as (1 + tanh(x/2)) / 2 to stay finite;  ds/dx = s (1 - s)."""

    @staticmethod
    def forward(ctx, x):
        out = 0.5 * (np.tanh(0.5 * x) + 1.0)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * out * (1.0 - out)


class ReLU(Function):
    """z = max(x, 0);  dz/dx = 1 where x > 0, else 0."""

    @staticmethod
    def forward(ctx, x):
        positive = x > 0
        ctx.save_for_backward(positive)
        return np.where(positive, x, 0.0)

    @staticmethod
    def backward(ctx, grad):
        (positive,) = ctx.saved_tensors
        return grad * positive


class LeakyReLU(Function):
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


class Softplus(Function):
    """z = ln(1 + e^x), via logaddexp;  dz/dx = sigmoid(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0.0, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 0.5 * (np.tanh(0.5 * x) + 1.0)


# ---------------------------------------------------------------------- shape
class Reshape(Function):
    """z = x viewed with another shape;  the gradient is reshaped back."""

    @staticmethod
    def forward(ctx, x, shape):
        ctx.shape = x.shape
        return x.reshape(shape)

    @staticmethod
    def backward(ctx, grad):
        return grad.reshape(ctx.shape), None


class Transpose(Function):
    """z = x with its axes reversed (x.T);  the gradient is transposed back."""

    @staticmethod
    def forward(ctx, x):
        return x.T

    @staticmethod
    def backward(ctx, grad):
        return grad.T


class GetItem(Function):
    """z = x[index];  the gradient is scatter-added, so repeated indices accumulate."""

    @staticmethod
    def forward(ctx, x, index):
        ctx.shape, ctx.index = x.shape, index
        return np.array(x[index], dtype=np.float64)

    @staticmethod
    def backward(ctx, grad):
        dx = np.zeros(ctx.shape)
        np.add.at(dx, ctx.index, grad)
        return dx, None


# ---------------------------------------------------------------------- softmax family
def _shifted(x: np.ndarray, axis: int) -> np.ndarray:
    """x minus its maximum along ``axis``: the same softmax, and e^x can no longer overflow."""
    return x - np.max(x, axis=axis, keepdims=True)


class Softmax(Function):
    """s = e^x / sum e^x along ``axis``;  dx = s * (g - sum(g * s))."""

    @staticmethod
    def forward(ctx, x, axis):
        e = np.exp(_shifted(x, axis))
        out = e / np.sum(e, axis=axis, keepdims=True)
        ctx.save_for_backward(out)
        ctx.axis = axis
        return out

    @staticmethod
    def backward(ctx, grad):
        (s,) = ctx.saved_tensors
        return s * (grad - np.sum(grad * s, axis=ctx.axis, keepdims=True)), None


class LogSoftmax(Function):
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
        return grad - np.exp(out) * np.sum(grad, axis=ctx.axis, keepdims=True), None


def _reduce(losses: np.ndarray, reduction: str) -> np.ndarray:
    if reduction == "sum":
        return losses.sum()
    if reduction == "mean":
        return losses.mean()
    return losses


def _reduction_grad(grad: np.ndarray, reduction: str, count: int) -> np.ndarray:
    """d loss / d (per-element losses) for the reduction that made the loss."""
    if reduction == "sum":
        return grad
    if reduction == "mean":
        return grad / count
    return grad


def _row_reduce(ufunc: np.ufunc, x: np.ndarray) -> np.ndarray:
    """``ufunc.reduce(x, axis=1, keepdims=True)`` for a 2-D x, fast when x has few columns.

    numpy pays a reduction's overhead once per row, which for the moons' two classes is
    most of the cost; folding the columns one at a time pays it once per column instead.
    """
    if x.shape[1] > 16 or x.shape[1] == 0:
        return ufunc.reduce(x, axis=1, keepdims=True)
    out = x[:, :1].copy()
    for j in range(1, x.shape[1]):
        ufunc(out, x[:, j : j + 1], out=out)
    return out


class SoftmaxCrossEntropy(Function):
    """Per row, l = logsumexp(z) - z[y], fused and stable;  dl/dz = softmax(z) - onehot(y).

    ``labels`` are validated integer class indices (see ``functional.softmax_cross_entropy``).
    """

    @staticmethod
    def forward(ctx, logits, labels, reduction):
        rows = np.arange(logits.shape[0])
        shifted = logits - _row_reduce(np.maximum, logits)
        exp = np.exp(shifted)
        total = _row_reduce(np.add, exp)
        losses = np.log(total[:, 0]) - shifted[rows, labels]
        exp /= total
        ctx.save_for_backward(exp, labels)
        ctx.rows, ctx.reduction = rows, reduction
        return _reduce(losses, reduction)

    @staticmethod
    def backward(ctx, grad):
        probs, labels = ctx.saved_tensors
        dz = probs.copy()
        dz[ctx.rows, labels] -= 1.0
        scale = _reduction_grad(grad, ctx.reduction, len(labels))
        if np.ndim(scale):
            dz *= scale[:, None]
        elif scale != 1.0:  # backward() of a summed loss seeds 1.0: nothing to scale
            dz *= scale
        return dz, None, None


class BinaryCrossEntropyWithLogits(Function):
    """l = max(x, 0) - x t + ln(1 + e^-|x|), stable for any finite x;  dl/dx = sigmoid(x) - t."""

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
        dx = (0.5 * (np.tanh(0.5 * x) + 1.0) - targets) * scale
        dt = -x * scale if ctx.needs_input_grad[1] else None
        return dx, dt, None


class SumOfSquares(Function):
    """l2 = sum over all tensors of sum(x^2);  d l2 / dx = 2 x for each."""

    @staticmethod
    def forward(ctx, *arrays):
        ctx.save_for_backward(*arrays)
        return np.float64(sum(np.vdot(a, a) for a in arrays))

    @staticmethod
    def backward(ctx, grad):
        scale = 2.0 * float(grad)  # one number, not a 0-d array per tensor
        grads = tuple(scale * a for a in ctx.saved_tensors)
        return grads[0] if len(grads) == 1 else grads


_tensor_module._ops = sys.modules[__name__]  # the methods of Tensor dispatch here; see tensor.py
