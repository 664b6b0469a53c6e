"""What users call: activations, softmax, log_softmax, the ops that combine and select
tensors (concatenate, stack, where, maximum, minimum, clip), the fused losses and L2.

Inputs may be Tensors, arrays or numbers. The losses validate their inputs here, at the
edge, so a wrong label or shape is a ValueError that names it, never a silent NaN.

>>> import numpy as np
>>> from tinygrad_moons import Tensor
>>> import tinygrad_moons.functional as F
>>> logits = Tensor([[2.0, 0.0], [0.0, 2.0]], requires_grad=True)
>>> loss = F.softmax_cross_entropy(logits, np.array([0, 1]), reduction="sum")
>>> round(loss.item(), 6)
0.253856
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

from tinygrad_moons import ops
from tinygrad_moons.tensor import Tensor
from tinygrad_moons.validate import as_user_array, finite
from tinygrad_moons.validate import axes as _axes

_REDUCTIONS = ("mean", "sum", "none")


def _tensor(x: Any) -> Tensor:
    return x if isinstance(x, Tensor) else Tensor(x)


# ---------------------------------------------------------------------- activations
def tanh(x: Any) -> Tensor:
    """tanh(x); d/dx tanh(x) = 1 - tanh(x)^2."""
    return ops.Tanh.apply(_tensor(x))


def sigmoid(x: Any) -> Tensor:
    """1 / (1 + e^-x), finite for any input; d/dx = s (1 - s)."""
    return ops.Sigmoid.apply(_tensor(x))


def relu(x: Any) -> Tensor:
    """max(x, 0); the gradient at 0 is 0, as in PyTorch."""
    return ops.ReLU.apply(_tensor(x))


def leaky_relu(x: Any, slope: float = 0.01) -> Tensor:
    """x for x > 0, else slope * x (PyTorch's ``negative_slope``)."""
    return ops.LeakyReLU.apply(_tensor(x), float(slope))


def softplus(x: Any) -> Tensor:
    """ln(1 + e^x), finite for any input; d/dx = sigmoid(x)."""
    return ops.Softplus.apply(_tensor(x))


def softmax(x: Any, axis: int = -1) -> Tensor:
    """e^x / sum(e^x) along ``axis``, computed from x - max(x) so it never overflows."""
    x = _tensor(x)
    _axes(axis, x.ndim, x.shape)
    return ops.Softmax.apply(x, axis)


def log_softmax(x: Any, axis: int = -1) -> Tensor:
    """x - logsumexp(x) along ``axis``; exact where softmax would round to 0 or 1.

    >>> log_softmax([1000.0, 0.0]).data
    array([    0., -1000.])
    """
    x = _tensor(x)
    _axes(axis, x.ndim, x.shape)
    return ops.LogSoftmax.apply(x, axis)


def linear(x: Any, weight: Any, bias: Any = None) -> Tensor:
    """x @ weight + bias, the write-up's layout: x (n, in), weight (in, out), bias (out,) or
    (1, out) or None. dx = G W^T, dW = x^T G, db = sum over rows of G. For a 2-D x one
    fused op; x of more dimensions (..., n, in), such as a batch of sequences, is a batched
    matmul plus the bias, as torch's ``nn.Linear``.

    >>> x = Tensor([[1.0, 2.0]])
    >>> linear(x, Tensor([[1.0], [1.0]]), Tensor([0.5])).data
    array([[3.5]])
    """
    x, weight = _tensor(x), _tensor(weight)
    if bias is None:
        return ops.MatMul.apply(x, weight)
    bias = _tensor(bias)
    if x.ndim <= 2:
        return ops.Linear.apply(x, weight, bias)
    if weight.ndim != 2 or bias.shape not in ((weight.shape[-1],), (1, weight.shape[-1])):
        raise ValueError(
            f"linear needs weight (k, m) and bias (m,) or (1, m) for x (..., n, k); got "
            f"shapes {x.shape}, {weight.shape} and {bias.shape}"
        )
    return ops.Add.apply(ops.MatMul.apply(x, weight), bias)


# ---------------------------------------------------------------------- combining, selecting
def _tensor_list(tensors: Any, what: str) -> list[Tensor]:
    if isinstance(tensors, (Tensor, np.ndarray)):
        raise TypeError(f"{what} takes a sequence of tensors, got one {type(tensors).__name__}")
    listed = [_tensor(t) for t in tensors]
    if not listed:
        raise ValueError(f"{what} needs at least one tensor")
    return listed


def concatenate(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """The tensors joined along an existing ``axis``, as ``np.concatenate``; each gets its
    own slice of the gradient.

    >>> concatenate([Tensor([[1.0, 2.0]]), Tensor([[3.0, 4.0]])], axis=1).data
    array([[1., 2., 3., 4.]])
    """
    listed = _tensor_list(tensors, "concatenate")
    shapes = [t.shape for t in listed]
    ndim = listed[0].ndim
    if ndim == 0 or any(t.ndim != ndim for t in listed):
        raise ValueError(
            f"concatenate needs tensors with the same number of dimensions, at least 1; "
            f"got shapes {shapes}"
        )
    (axis,) = _axes(axis, ndim, shapes[0])
    others = {shape[:axis] + shape[axis + 1 :] for shape in shapes}
    if len(others) > 1:
        raise ValueError(
            f"concatenate along axis {axis} needs equal sizes on every other axis; "
            f"got shapes {shapes}"
        )
    return ops.Concatenate.apply(axis, *listed)


def stack(tensors: Sequence[Any], axis: int = 0) -> Tensor:
    """Tensors of one shape stacked along a new ``axis``, as ``np.stack``.

    >>> stack([Tensor([1.0, 2.0]), Tensor([3.0, 4.0])], axis=1).data
    array([[1., 3.],
           [2., 4.]])
    """
    listed = _tensor_list(tensors, "stack")
    shapes = [t.shape for t in listed]
    if len(set(shapes)) > 1:
        raise ValueError(f"stack needs tensors of one shape; got shapes {shapes}")
    (axis,) = _axes(axis, listed[0].ndim + 1, shapes[0])
    return ops.Concatenate.apply(axis, *[t.expand_dims(axis) for t in listed])


def where(condition: Any, x: Any, y: Any) -> Tensor:
    """x where ``condition`` holds, else y, as ``np.where``; all three broadcast.

    ``condition`` is a boolean array (comparisons of Tensors give one); x gets the gradient
    where it holds, y where it does not.

    >>> t = Tensor([-1.0, 2.0])
    >>> where(t > 0, t, 0.0).data
    array([0., 2.])
    """
    if isinstance(condition, Tensor):
        raise TypeError(
            "where takes its condition as a boolean array, not a Tensor (its float64 data "
            "are not a mask): compare the Tensor, e.g. where(t > 0, t, 0.0)"
        )
    condition = np.asanyarray(condition)  # a mask a capture traced stays traced
    if condition.dtype != np.bool_:
        raise TypeError(f"where needs a boolean condition, got dtype {condition.dtype}")
    x, y = _tensor(x), _tensor(y)
    try:
        np.broadcast_shapes(condition.shape, x.shape, y.shape)
    except ValueError:
        raise ValueError(
            f"where needs condition, x and y that broadcast together; got shapes "
            f"{condition.shape}, {x.shape} and {y.shape}"
        ) from None
    return ops.Where.apply(condition, x, y)


def maximum(x: Any, y: Any) -> Tensor:
    """max(x, y) elementwise, broadcasting; tied elements share the gradient equally.

    >>> maximum(Tensor([1.0, 5.0]), 3.0).data
    array([3., 5.])
    """
    return ops.Maximum.apply(_tensor(x), _tensor(y))


def minimum(x: Any, y: Any) -> Tensor:
    """min(x, y) elementwise, broadcasting; tied elements share the gradient equally."""
    return ops.Minimum.apply(_tensor(x), _tensor(y))


def clip(x: Any, low: Any, high: Any) -> Tensor:
    """x limited to [low, high], as ``np.clip`` (where low > high, every value is high);
    either bound may be None, and a bound that is a Tensor gets its gradient.

    Gradients as ``torch.clamp``: x gets it where low <= x <= high (bounds included), low
    where x < low, high where x > high.

    >>> clip(Tensor([-2.0, 0.5, 2.0]), -1.0, 1.0).data
    array([-1. ,  0.5,  1. ])
    """
    if low is None and high is None:
        raise ValueError("clip needs low or high (or both); got None for both")
    low = None if low is None else _tensor(low)
    high = None if high is None else _tensor(high)
    return ops.Clip.apply(_tensor(x), low, high)


# ---------------------------------------------------------------------- validation
def _check_reduction(reduction: str) -> None:
    if reduction not in _REDUCTIONS:
        raise ValueError(f"reduction must be one of {_REDUCTIONS}, got {reduction!r}")


def _check_not_empty(values: np.ndarray, reduction: str) -> None:
    """ "mean" over no elements is 0/0: refused rather than a silent NaN."""
    if reduction == "mean" and values.size == 0:
        raise ValueError(
            f"an empty batch (N=0, shape {values.shape}) has no mean; use reduction='sum' "
            f"(0 for no elements) or 'none' (an empty array)"
        )


def _label_problem(value: Any, n_classes: int) -> str | None:
    """Why one label is not a class index in [0, n_classes), or None if it is one."""
    if value is None:
        return "is None, not a number"
    if isinstance(value, str):
        return "is a string, not a number"
    if isinstance(value, (bool, np.bool_)):
        return "is a boolean, not a class index"
    if not isinstance(value, numbers.Real):
        return f"is a {type(value).__name__}, not a real number"
    if isinstance(value, numbers.Integral):
        value = int(value)
    elif math.isnan(value):
        return "is not a number"
    elif not math.isfinite(value):
        return "is not finite"
    elif value != math.floor(value):
        return "is not a whole number"
    if value < 0:
        return "is negative"
    if value >= n_classes:
        return f"is not below {n_classes}"
    return None


def _first_bad_label(raw: np.ndarray, n_classes: int) -> int | None:
    """The position of the first label that is not a class index, found without a Python
    loop for numeric dtypes; None if every label is one."""
    if raw.dtype.kind in "iu":
        bad = (raw < 0) | (raw >= n_classes)
    elif raw.dtype.kind == "f":
        bad = ~np.isfinite(raw) | (raw != np.floor(raw)) | (raw < 0) | (raw >= n_classes)
    else:
        bad = np.array([_label_problem(v, n_classes) is not None for v in raw.tolist()], bool)
    return int(np.argmax(bad)) if bad.any() else None


def class_labels(
    labels: Any, n_rows: int, n_classes: int, *, name: str = "labels", rows: str = "the logits"
) -> np.ndarray:
    """Labels as an int64 array of length ``n_rows`` with values in [0, n_classes).

    Anything else is a ValueError naming the first offending label and its position (a
    string, bool, NaN, infinity, fraction, negative or too large value), or the lengths.
    Floats with whole values are accepted. ``name`` and ``rows`` word the messages.
    ``softmax_cross_entropy`` checks its labels with it, and ``fit`` its y.

    >>> class_labels([0.0, 1.0, 1.0], 3, 2)
    array([0, 1, 1])
    """
    if isinstance(labels, Tensor):
        labels = labels.data
    raw = as_user_array(labels, "iuf", f"{name} must be a 1-D array of class indices")
    if raw.ndim != 1 or len(raw) != n_rows:
        if raw.ndim != 1:
            detail = f"it is {raw.ndim}-D"
        elif len(raw) > n_rows:
            detail = f"label {raw[n_rows].item()!r} at position {n_rows} has no row"
        else:
            detail = f"row {len(raw)} has no label"
        raise ValueError(
            f"{name} must hold one label per row of {rows}, shape ({n_rows},); got shape "
            f"{raw.shape}: {detail}"
        )
    position = _first_bad_label(raw, n_classes)
    if position is not None:
        value = raw[position]
        value = value.item() if isinstance(value, np.generic) else value
        raise ValueError(
            f"{name} must be integer class indices (whole numbers in [0, {n_classes}) for "
            f"{n_classes} classes), got dtype {raw.dtype}: label {value!r} at position "
            f"{position} {_label_problem(value, n_classes)}"
        )
    return raw.astype(np.int64)


# ---------------------------------------------------------------------- losses
def softmax_cross_entropy(logits: Any, labels: Any, reduction: str = "mean") -> Tensor:
    """Cross-entropy of softmax(logits) against integer labels, fused and stable.

    Per row n: l_n = logsumexp(z_n) - z_n[y_n]; its gradient is softmax(z_n) - onehot(y_n).
    ``logits`` has shape (N, C); ``labels`` shape (N,), integers in [0, C) (floats with
    whole values are accepted). ``reduction``: "mean" (PyTorch's default), "sum" (the
    write-up's summed objective) or "none" (shape (N,)).

    An empty batch (N = 0) gives 0 for "sum" and an empty array for "none", as PyTorch
    does; its "mean" is a ValueError (PyTorch returns NaN).
    """
    _check_reduction(reduction)
    logits = _tensor(logits)
    if logits.ndim != 2:
        raise ValueError(f"logits must have shape (N, C); got shape {logits.shape}")
    if logits.shape[1] == 0:
        raise ValueError(f"logits must score at least one class (C >= 1); got shape {logits.shape}")
    _check_not_empty(logits.data, reduction)
    finite("logits", logits.data)
    y = class_labels(labels, logits.shape[0], logits.shape[1])
    return ops.SoftmaxCrossEntropy.apply(logits, y, reduction)


def binary_cross_entropy_with_logits(logits: Any, targets: Any, reduction: str = "mean") -> Tensor:
    """Elementwise -[t ln s(x) + (1 - t) ln(1 - s(x))] with s the sigmoid, stable for any x.

    ``targets`` in [0, 1] with the logits' shape. "mean" averages over all elements, as
    PyTorch does: the Coursera port's cost (summed over outputs, averaged over m) is
    ``binary_cross_entropy_with_logits(z, Y, reduction="sum") / m``.

    No elements (an empty batch, N = 0) give 0 for "sum" and an empty array for "none",
    as PyTorch does; their "mean" is a ValueError (PyTorch returns NaN).
    """
    _check_reduction(reduction)
    logits = _tensor(logits)
    targets = targets if isinstance(targets, Tensor) else Tensor(targets)
    if targets.shape != logits.shape:
        raise ValueError(f"targets must have the logits' shape {logits.shape}; got {targets.shape}")
    _check_not_empty(logits.data, reduction)
    finite("logits", logits.data)
    t = targets.data
    bad = ~((t >= 0.0) & (t <= 1.0))
    if np.any(bad):
        position = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"targets must lie in [0, 1]; found {t[position].item()} at {position}")
    return ops.BinaryCrossEntropyWithLogits.apply(logits, targets, reduction)


def mse(pred: Any, target: Any, reduction: str = "mean") -> Tensor:
    """Squared error (pred - target)^2, mean over all elements by default, no factor 1/2.

    Shapes must be equal: (N,) against (N, 1) is a ValueError, never a silent (N, N).
    No elements (an empty batch, N = 0) give 0 for "sum" and an empty array for "none",
    as PyTorch does; their "mean" is a ValueError (PyTorch returns NaN).
    """
    _check_reduction(reduction)
    pred = _tensor(pred)
    target = _tensor(target)
    if pred.shape != target.shape:
        raise ValueError(
            f"mse needs pred and target of the same shape; got {pred.shape} and {target.shape}"
        )
    _check_not_empty(pred.data, reduction)
    finite("target", target.data)
    diff = pred - target
    squared = diff * diff
    if reduction == "sum":
        return squared.sum()
    if reduction == "mean":
        return squared.mean()
    return squared


def l2(*tensors: Tensor) -> Tensor:
    """Sum of the squares of every element of every tensor, no factor 1/2.

    The write-up's penalty is ``reg / 2 * l2(W1, W2)``; d l2 / dW = 2 W.
    """
    if not tensors:
        raise ValueError("l2 needs at least one tensor")
    return ops.SumOfSquares.apply(*[_tensor(t) for t in tensors])
