"""Every primitive op as a Function: forward and backward side by side.

Each ``backward`` receives ``grad``, d loss / d output, and returns d loss / d input for
each forward argument: the vector-Jacobian product. Ops that broadcast sum the gradient
back to each input's shape with ``unbroadcast``. Work for an input that needs no gradient
is skipped by looking at ``ctx.needs_input_grad``. A ``backward`` never writes into
``grad`` or into what ``forward`` saved: one array may be handed to several inputs.

To add an op, copy the shape of a neighbour: a ``Function`` subclass here, and a Tensor
method in ``tensor.py`` or a function in ``functional.py`` that calls its
``apply``. The graph code never changes.

Add, Mul, MatMul, Linear, Tanh, SoftmaxCrossEntropy and SumOfSquares are also written out
in ``codegen/rules.py`` (the compiled step's inline maths); ``tests/compiled/test_codegen.py``
holds each pair bit for bit, so a change to one of these seven changes its rule too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

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
            return np.zeros_like(grad), None
        return grad * p * x ** (p - 1.0), None


class TensorPow(Function):
    """z = x ** y elementwise, y a Tensor or array;  dz/dx = y x^(y-1), dz/dy = z ln x.

    As torch: dz/dx is 0 where y = 0, dz/dy is 0 where x = 0 and y >= 0; elsewhere the
    derivative may be inf (x = 0, y < 1) or NaN (ln x for x < 0), and is returned as such.
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
        with np.errstate(divide="ignore", invalid="ignore"):  # inf / NaN are the answer there
            if ctx.needs_input_grad[0]:
                slope = np.where(y == 0.0, 0.0, y * x ** (y - 1.0))
                dx = unbroadcast(grad * slope, x.shape)
            if ctx.needs_input_grad[1]:
                slope = np.where((x == 0.0) & (y >= 0.0), 0.0, out * np.log(x))
                dy = unbroadcast(grad * slope, y.shape)
        return dx, dy


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


def _swap_last(a: np.ndarray) -> np.ndarray:
    """The matrix transpose of every matrix in a stack: a.T for a 2-D array."""
    return a.T if a.ndim == 2 else np.swapaxes(a, -1, -2)


class MatMul(Function):
    """Z = X @ W, numpy's matmul for 2 or more dimensions: X (..., n, k), W (..., k, m);
    dX = G W^T, dW = X^T G per matrix of the stack, summed over broadcast batch axes.
    """

    @staticmethod
    def forward(ctx, x, w):
        _check_matmul_shapes(x, w)
        ctx.save_for_backward(x, w)
        return x @ w

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        dx = unbroadcast(grad @ _swap_last(w), x.shape) if ctx.needs_input_grad[0] else None
        dw = unbroadcast(_swap_last(x) @ grad, w.shape) if ctx.needs_input_grad[1] else None
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


def _extremum(ctx: Function, x: np.ndarray, axis: Any, keepdims: bool, reduce: Any) -> np.ndarray:
    """The forward of Max and Min: the extremum, and each element's share of its gradient."""
    out = reduce(x, axis=axis, keepdims=True)
    hit = x == out
    ctx.save_for_backward(hit / hit.sum(axis=axis, keepdims=True))
    ctx.ndim, ctx.axis, ctx.keepdims = x.ndim, axis, keepdims
    return out if keepdims else np.squeeze(out, axis=_reduced_axes(x.ndim, axis))


def _extremum_grad(ctx: Function, grad: np.ndarray) -> tuple[np.ndarray, None, None]:
    """The backward of Max and Min: the gradient goes to the extrema, shared on ties."""
    (share,) = ctx.saved_tensors
    return share * _expand_reduced(grad, ctx.ndim, ctx.axis, ctx.keepdims), None, None


class Max(Function):
    """z = max of x over ``axis``; the gradient goes to the maxima, shared equally on ties."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        return _extremum(ctx, x, axis, keepdims, np.max)

    @staticmethod
    def backward(ctx, grad):
        return _extremum_grad(ctx, grad)


class Min(Function):
    """z = min of x over ``axis``; the gradient goes to the minima, shared equally on ties."""

    @staticmethod
    def forward(ctx, x, axis, keepdims):
        return _extremum(ctx, x, axis, keepdims, np.min)

    @staticmethod
    def backward(ctx, grad):
        return _extremum_grad(ctx, grad)


class Var(Function):
    """v = sum (x - mean)^2 / (n - ddof) over ``axis``, n the number of elements reduced;
    dv/dx = 2 (x - mean) / (n - ddof) (the mean's own dependence on x sums to zero).
    """

    @staticmethod
    def forward(ctx, x, axis, keepdims, ddof):
        count = int(np.prod([x.shape[a] for a in _reduced_axes(x.ndim, axis)]))
        if count - ddof <= 0:
            raise ValueError(
                f"var over {count} element(s) with ddof={ddof} would divide by "
                f"{count - ddof}: it needs more than ddof elements along axis {axis} of "
                f"shape {x.shape}"
            )
        centred = x - np.mean(x, axis=axis, keepdims=True)
        ctx.save_for_backward(centred)
        ctx.ndim, ctx.axis, ctx.keepdims = x.ndim, axis, keepdims
        ctx.divisor = count - ddof
        return np.sum(centred * centred, axis=axis, keepdims=keepdims) / ctx.divisor

    @staticmethod
    def backward(ctx, grad):
        (centred,) = ctx.saved_tensors
        grad = _expand_reduced(grad, ctx.ndim, ctx.axis, ctx.keepdims)
        return grad * centred * (2.0 / ctx.divisor), None, None, None


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


class Log1p(Function):
    """z = ln(1 + x), exact for tiny x;  dz/dx = 1 / (1 + x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.log1p(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (1.0 + x)


class Expm1(Function):
    """z = e^x - 1, exact for tiny x;  dz/dx = e^x = z + 1."""

    @staticmethod
    def forward(ctx, x):
        out = np.expm1(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (out + 1.0)


class Sin(Function):
    """z = sin x;  dz/dx = cos x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.sin(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * np.cos(x)


class Cos(Function):
    """z = cos x;  dz/dx = -sin x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.cos(x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return -grad * np.sin(x)


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


# ---------------------------------------------------------------------- selection
def _shared_pick(ctx: Function, grad: np.ndarray, x_share: np.ndarray) -> tuple[Any, Any]:
    """The backward of Maximum and Minimum: x gets ``x_share`` of each gradient, y the rest."""
    x_shape, y_shape = ctx.shapes
    dx = unbroadcast(grad * x_share, x_shape) if ctx.needs_input_grad[0] else None
    dy = unbroadcast(grad * (1.0 - x_share), y_shape) if ctx.needs_input_grad[1] else None
    return dx, dy


class Maximum(Function):
    """z = max(x, y) elementwise;  dz/dx = 1 where x > y, 1/2 where x = y (torch's), else 0."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.shapes = (x.shape, y.shape)
        ctx.save_for_backward((x > y) + 0.5 * (x == y))
        return np.maximum(x, y)

    @staticmethod
    def backward(ctx, grad):
        return _shared_pick(ctx, grad, ctx.saved_tensors[0])


class Minimum(Function):
    """z = min(x, y) elementwise;  dz/dx = 1 where x < y, 1/2 where x = y (torch's), else 0."""

    @staticmethod
    def forward(ctx, x, y):
        ctx.shapes = (x.shape, y.shape)
        ctx.save_for_backward((x < y) + 0.5 * (x == y))
        return np.minimum(x, y)

    @staticmethod
    def backward(ctx, grad):
        return _shared_pick(ctx, grad, ctx.saved_tensors[0])


class Clip(Function):
    """z = min(max(x, low), high), numpy's clip (high wins where low > high); low or high
    may be None. Gradients as torch's clamp: dz/dx = 1 where low <= x <= high; dz/dlow = 1
    where x < low < high; dz/dhigh = 1 where x > high or high < low; else 0.
    """

    @staticmethod
    def forward(ctx, x, low, high):
        ctx.save_for_backward(x, low, high)
        return np.clip(x, low, high)

    @staticmethod
    def backward(ctx, grad):
        x, low, high = ctx.saved_tensors
        inside = True
        if low is not None:
            inside = inside & (x >= low)
        if high is not None:
            inside = inside & (x <= high)
        dx = unbroadcast(np.where(inside, grad, 0.0), x.shape) if ctx.needs_input_grad[0] else None
        dlow = dhigh = None
        if ctx.needs_input_grad[1]:
            below = x < low if high is None else (x < low) & (low < high)
            dlow = unbroadcast(np.where(below, grad, 0.0), np.shape(low))
        if ctx.needs_input_grad[2]:
            above = x > high if low is None else (x > high) | (high < low)
            dhigh = unbroadcast(np.where(above, grad, 0.0), np.shape(high))
        return dx, dlow, dhigh


class Where(Function):
    """z = x where ``condition``, else y (numpy's where, all three broadcast);
    dz/dx = condition, dz/dy = not condition, each summed back to its input's shape.
    """

    @staticmethod
    def forward(ctx, condition, x, y):
        ctx.condition, ctx.shapes = condition, (x.shape, y.shape)
        return np.where(condition, x, y)

    @staticmethod
    def backward(ctx, grad):
        x_shape, y_shape = ctx.shapes
        picked = np.broadcast_to(ctx.condition, grad.shape)
        dx = unbroadcast(np.where(picked, grad, 0.0), x_shape) if ctx.needs_input_grad[1] else None
        dy = unbroadcast(np.where(picked, 0.0, grad), y_shape) if ctx.needs_input_grad[2] else None
        return None, dx, dy


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
        return np.transpose(grad, np.argsort(ctx.axes)), None


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


class Concatenate(Function):
    """z = the arrays joined along ``axis``;  each input's gradient is its own slice of dz."""

    @staticmethod
    def forward(ctx, axis, *arrays):
        ctx.axis = axis
        ctx.ends = np.cumsum([a.shape[axis] for a in arrays])[:-1]
        return np.concatenate(arrays, axis=axis)

    @staticmethod
    def backward(ctx, grad):
        slices = np.split(grad, ctx.ends, axis=ctx.axis)
        needed = ctx.needs_input_grad[1:]
        return (None, *[part if need else None for part, need in zip(slices, needed)])


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
