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
from typing import Any

import numpy as np

from tinygrad_moons import habits, ops, validate

# numpy's functions over Tensors, second wave: F's public names, each defined in its module.
from tinygrad_moons.arrays import (  # noqa: F401
    append,
    array_split,
    atleast_1d,
    atleast_2d,
    atleast_3d,
    broadcast_to,
    column_stack,
    concatenate,
    dsplit,
    dstack,
    flatten,
    flip,
    fliplr,
    flipud,
    hsplit,
    hstack,
    moveaxis,
    pad,
    ravel,
    repeat,
    roll,
    rollaxis,
    rot90,
    split,
    stack,
    swapaxes,
    tile,
    vsplit,
    vstack,
)
from tinygrad_moons.convolution import avg_pool2d, conv2d, max_pool2d  # noqa: F401
from tinygrad_moons.elementwise import (  # noqa: F401
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctan2,
    arctanh,
    ceil,
    cosh,
    degrees,
    exp2,
    floor,
    floor_divide,
    fmax,
    fmin,
    hypot,
    log2,
    log10,
    logaddexp,
    logaddexp2,
    mod,
    nan_to_num,
    radians,
    remainder,
    sign,
    sinc,
    sinh,
    tan,
)
from tinygrad_moons.products import (  # noqa: F401
    cross,
    cumprod,
    cumsum,
    diag,
    diagonal,
    diff,
    dot,
    einsum,
    inner,
    kron,
    outer,
    prod,
    sort,
    tensordot,
    trace,
    tril,
    triu,
)
from tinygrad_moons.tensor import Tensor, derived
from tinygrad_moons.tensor import is_recording as _is_recording
from tinygrad_moons.validate import axes as _axes
from tinygrad_moons.validate import finite


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


def leaky_relu(x: Any, slope: float = 0.01, **torch_keywords: Any) -> Tensor:
    """x for x > 0, else slope * x (PyTorch's ``negative_slope``); ``slope`` a real number."""
    if torch_keywords:
        habits.keywords("F.leaky_relu", torch_keywords, ("negative_slope",))
    if isinstance(slope, (bool, np.bool_)) or not isinstance(slope, numbers.Real):
        raise TypeError(f"leaky_relu's slope must be a real number, got {slope!r}")
    return ops.LeakyReLU.apply(_tensor(x), float(slope))


def softplus(x: Any, beta: float = 1.0, threshold: float | None = None) -> Tensor:
    """ln(1 + e^(beta x)) / beta, finite for any input; d/dx = sigmoid(beta x). With a
    ``threshold`` (torch's default is 20), x itself where beta x > threshold, as torch's;
    None (the default here) keeps the formula everywhere (2e-9 above torch's x at 20).

    >>> softplus([0.0, 30.0], beta=2.0, threshold=20.0).data
    array([ 0.34657359, 30.        ])
    """
    x = _tensor(x)
    beta, threshold = validate.softplus_options(beta, threshold)
    scaled = x if beta == 1.0 else x * beta
    out = ops.Softplus.apply(scaled)
    if beta != 1.0:
        out = out / beta
    return out if threshold is None else where(scaled > threshold, x, out)


def _a_number_along_its_own_axis(x: Tensor, axis: Any) -> bool:
    """A 0-d x with axis 0 or -1, which torch's softmax and log_softmax take as the one
    axis of a single number (numpy's reductions refuse a 0-d array an axis)."""
    return x.ndim == 0 and validate.is_int(axis) and axis in (0, -1)


def softmax(x: Any, axis: int = -1, **torch_keywords: Any) -> Tensor:
    """e^x / sum(e^x) along ``axis``, computed from x - max(x) so it never overflows; a
    0-d x along axis 0 or -1 is 1, as torch's."""
    if torch_keywords:
        habits.keywords("F.softmax", torch_keywords, ("dim",))
    x = _tensor(x)
    if _a_number_along_its_own_axis(x, axis):  # torch's: 1 (and d/dx 0)
        return softmax(x.reshape(1), 0).reshape(())
    _axes(axis, x.ndim, x.shape)
    if x.size == 0:  # no element: the empty result, as torch's (numpy's max has no identity)
        return x.reshape(x.shape)
    return ops.Softmax.apply(x, axis)


def log_softmax(x: Any, axis: int = -1, **torch_keywords: Any) -> Tensor:
    """x - logsumexp(x) along ``axis``; exact where softmax would round to 0 or 1 (a 0-d x
    along axis 0 or -1 is 0, as torch's).

    >>> log_softmax([1000.0, 0.0]).data
    array([    0., -1000.])
    """
    if torch_keywords:
        habits.keywords("F.log_softmax", torch_keywords, ("dim",))
    x = _tensor(x)
    if _a_number_along_its_own_axis(x, axis):  # torch's: 0 (and d/dx 0)
        return log_softmax(x.reshape(1), 0).reshape(())
    _axes(axis, x.ndim, x.shape)
    if x.size == 0:  # no element: the empty result, as torch's
        return x.reshape(x.shape)
    return ops.LogSoftmax.apply(x, axis)


def linear(x: Any, weight: Any, bias: Any = None) -> Tensor:
    """x @ weight + bias, the write-up's layout: x (n, in), weight (in, out), bias (out,) or
    (1, out) or None. dx = G W^T, dW = x^T G, db = sum over rows of G. For a 2-D x one
    fused op; another x, one sample (in,) or a batch of sequences (..., n, in), is ``@``
    plus the bias, and a bias of another shape that broadcasts to the output without
    enlarging it ((1,), (), ...) is added as torch's linear adds it.

    >>> x = Tensor([[1.0, 2.0]])
    >>> linear(x, Tensor([[1.0], [1.0]]), Tensor([0.5])).data
    array([[3.5]])
    """
    # speed: nn.Linear's every call: Tensors passed on as they are, without calls
    x = x if type(x) is Tensor else _tensor(x)
    weight = weight if type(weight) is Tensor else _tensor(weight)
    if weight._array.ndim != 2:
        raise ValueError(
            f"linear needs a weight (k, m); got shapes {x.shape} for x and {weight.shape} "
            f"for weight"
        )
    if bias is None:
        return x @ weight
    bias = bias if type(bias) is Tensor else _tensor(bias)
    if x._array.ndim == 2 and bias.shape in ((weight.shape[1],), (1, weight.shape[1])):
        return ops.Linear.apply(x, weight, bias)
    out = x @ weight
    validate.bias_fits(bias.shape, out.shape)
    return ops.Add.apply(out, bias)


# ---------------------------------------------------------------------- combining, selecting
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
    validate.unmasked("where's condition", condition)
    # a mask a capture traced stays traced; a list (or tuple) of bools is derived, so a
    # capture reads it afresh at every replay as eager does, not a copy made at capture
    if not isinstance(condition, np.ndarray):
        condition = derived(np.asarray, condition)
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
    """max(x, y) elementwise, broadcasting; tied elements share the gradient equally, and
    where x or y is NaN both get all of it (torch's).

    >>> maximum(Tensor([1.0, 5.0]), 3.0).data
    array([3., 5.])
    """
    return ops.Maximum.apply(_tensor(x), _tensor(y))


def minimum(x: Any, y: Any) -> Tensor:
    """min(x, y) elementwise, broadcasting; tied elements share the gradient equally, and
    where x or y is NaN both get all of it (torch's)."""
    return ops.Minimum.apply(_tensor(x), _tensor(y))


def clip(x: Any, low: Any = None, high: Any = None, *, min: Any = None, max: Any = None) -> Tensor:
    """x limited to [low, high], as ``np.clip`` (where low > high, every value is high);
    either bound may be None, and a bound that is a Tensor gets its gradient. The bounds
    by position or as numpy 2's (and torch's) ``min=`` and ``max=``.

    Gradients as ``torch.clamp``: x gets it where low <= x <= high (bounds included), low
    where x < low, high where x > high.

    >>> clip(Tensor([-2.0, 0.5, 2.0]), -1.0, 1.0).data
    array([-1. ,  0.5,  1. ])
    """
    low, high = validate.clip_bounds(low, high, min, max)
    low = None if low is None else _tensor(low)
    high = None if high is None else _tensor(high)
    return ops.Clip.apply(_tensor(x), low, high)


# ---------------------------------------------------------------------- validation
def _check_not_empty(values: np.ndarray, reduction: str) -> None:
    """ "mean" over no elements is 0/0: refused rather than a silent NaN."""
    if reduction == "mean" and values.size == 0:
        raise ValueError(
            f"an empty batch (N=0, shape {values.shape}) has no mean; use reduction='sum' "
            f"(0 for no elements) or 'none' (an empty array)"
        )


def class_labels(
    labels: Any, n_rows: int, n_classes: int, *, name: str = "labels", rows: str = "the logits"
) -> np.ndarray:
    """Labels (a Tensor's data too) as an int64 array of length ``n_rows`` with values in
    [0, n_classes): ``validate.class_labels``, which names the first bad label and its place.

    >>> class_labels([0.0, 1.0, 1.0], 3, 2)
    array([0, 1, 1])
    """
    labels = labels.data if isinstance(labels, Tensor) else labels
    return validate.class_labels(labels, n_rows, n_classes, name=name, rows=rows)


def _labels_read_afresh(labels: Any, n_rows: int, n_classes: int) -> np.ndarray:
    """``class_labels`` for a capture: a copy while it records (the op it feeds keeps them),
    the checked labels themselves at a replay, whose cross-entropy reads them at once into
    the positions it picks (no copy of the labels per replay)."""
    labels = labels.data if isinstance(labels, Tensor) else labels
    return validate.class_labels(labels, n_rows, n_classes, copy=_is_recording())


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
    validate.reduction(reduction)
    logits = _tensor(logits)
    values = logits.data  # speed: the array's own shape, not the Tensor's properties
    shape = values.shape
    validate.logits_shape(shape)
    _check_not_empty(values, reduction)
    # speed: one BLAS pass finds the common case, every logit finite; a NaN or an infinity
    # makes the sum of squares NaN or inf (so can overflow: then the full check decides)
    if not math.isfinite(np.vdot(values, values)):
        finite("logits", values)
    if (
        isinstance(labels, Tensor)
        or (isinstance(labels, np.ndarray) and type(labels) is not np.ndarray)
        or _is_recording()
    ):
        # labels in a Tensor, derived from data (argmax), or any labels a capture sees (an
        # array or a list may change in place between replays): read and checked through
        # derived, so a captured step takes them afresh at every replay, as eagerly
        y = derived(_labels_read_afresh, labels, shape[0], shape[1])
    else:  # not a Tensor: validate's check itself (class_labels reads a Tensor's data)
        y = validate.class_labels(labels, shape[0], shape[1])
    return ops.SoftmaxCrossEntropy.apply(logits, y, reduction, True)  # checked: above


def binary_cross_entropy_with_logits(logits: Any, targets: Any, reduction: str = "mean") -> Tensor:
    """Elementwise -[t ln s(x) + (1 - t) ln(1 - s(x))] with s the sigmoid, stable for any x.

    ``targets`` in [0, 1] with the logits' shape. "mean" averages over all elements, as
    PyTorch does: the Coursera port's cost (summed over outputs, averaged over m) is
    ``binary_cross_entropy_with_logits(z, Y, reduction="sum") / m``.

    No elements (an empty batch, N = 0) give 0 for "sum" and an empty array for "none",
    as PyTorch does; their "mean" is a ValueError (PyTorch returns NaN).
    """
    validate.reduction(reduction)
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
    validate.reduction(reduction)
    pred = _tensor(pred)
    target = _tensor(target)
    if pred.shape != target.shape:
        raise ValueError(
            f"mse needs pred and target of the same shape; got {pred.shape} and {target.shape}"
        )
    _check_not_empty(pred.data, reduction)
    finite("target", target.data)
    residual = pred - target
    squared = residual * residual
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


def __getattr__(name: str) -> Any:
    """PyTorch's names this module spells another way (``cross_entropy``, ``mse_loss``,
    ...): an AttributeError naming ours (habits.py)."""
    raise habits.missing(__name__, name)
