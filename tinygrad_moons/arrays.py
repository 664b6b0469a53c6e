"""numpy's array toolkit over Tensors: joining, splitting, reshaping, reordering, padding.

Almost all are composed from the recorded ops ``Reshape``, ``Transpose``, ``GetItem``
(gathering by index arrays, whose gradient scatter-adds) and ``Concatenate``, so they are
differentiable to any order with no backward of their own; constant padding is
``ops.Pad``. Names, arguments and results are numpy's; ``functional`` re-exports them.

>>> from tinygrad_moons import Tensor
>>> x = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> (roll(x, 1, axis=1) * Tensor([[1.0, 0.0], [0.0, 0.0]])).sum().backward()
>>> x.grad
array([[0., 1.],
       [0., 0.]])
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tinygrad_moons import habits, ops
from tinygrad_moons.elementwise import as_tensor
from tinygrad_moons.tensor import Tensor
from tinygrad_moons.validate import axes as _axes

_tensor = as_tensor


def _axis(axis: Any, x: Tensor) -> int:
    """One axis of ``x``, non-negative, checked."""
    (found,) = _axes(axis, x.ndim, x.shape)
    return found


def _along(axis: int, ndim: int, index: Any) -> tuple[Any, ...]:
    """An index that applies ``index`` along ``axis`` and takes everything elsewhere."""
    return (slice(None),) * axis + (index,) + (slice(None),) * (ndim - axis - 1)


# ---------------------------------------------------------------------- joining
def _tensor_list(tensors: Any, what: str) -> list[Tensor]:
    if isinstance(tensors, (Tensor, np.ndarray)):
        raise TypeError(f"{what} takes a sequence of tensors, got one {type(tensors).__name__}")
    listed = [_tensor(t) for t in tensors]
    if not listed:
        raise ValueError(f"{what} needs at least one tensor")
    return listed


def concatenate(tensors: Sequence[Any], axis: int | None = 0, **torch_keywords: Any) -> Tensor:
    """The tensors joined along an existing ``axis`` (None: flattened first), as
    ``np.concatenate``; each gets its own slice of the gradient.

    >>> concatenate([Tensor([[1.0, 2.0]]), Tensor([[3.0, 4.0]])], axis=1).data
    array([[1., 2., 3., 4.]])
    """
    if torch_keywords:
        habits.keywords("F.concatenate", torch_keywords, ("dim",))
    listed = _tensor_list(tensors, "concatenate")
    if axis is None:
        listed = [ravel(t) for t in listed]
        axis = 0
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


def stack(tensors: Sequence[Any], axis: int = 0, **torch_keywords: Any) -> Tensor:
    """Tensors of one shape stacked along a new ``axis``, as ``np.stack``.

    >>> stack([Tensor([1.0, 2.0]), Tensor([3.0, 4.0])], axis=1).data
    array([[1., 3.],
           [2., 4.]])
    """
    if torch_keywords:
        habits.keywords("F.stack", torch_keywords, ("dim",))
    listed = _tensor_list(tensors, "stack")
    shapes = [t.shape for t in listed]
    if len(set(shapes)) > 1:
        raise ValueError(f"stack needs tensors of one shape; got shapes {shapes}")
    (axis,) = _axes(axis, listed[0].ndim + 1, shapes[0])
    return ops.Concatenate.apply(axis, *[t.expand_dims(axis) for t in listed])


def _at_least(tensors: tuple[Any, ...], shape_of: Any) -> Any:
    reshaped = [_tensor(t).reshape(shape_of(_tensor(t).shape)) for t in tensors]
    return reshaped[0] if len(reshaped) == 1 else reshaped


def atleast_1d(*tensors: Any) -> Any:
    """Each tensor with at least one axis (a 0-d one becomes shape (1,)), as numpy's: one
    tensor for one argument, a list for several."""
    return _at_least(tensors, lambda s: s if len(s) >= 1 else (1,))


def atleast_2d(*tensors: Any) -> Any:
    """Each tensor with at least two axes: () -> (1, 1), (n,) -> (1, n), as numpy's."""
    return _at_least(tensors, lambda s: s if len(s) >= 2 else (1,) * (2 - len(s)) + s)


def atleast_3d(*tensors: Any) -> Any:
    """Each tensor with at least three axes: () -> (1, 1, 1), (n,) -> (1, n, 1),
    (m, n) -> (m, n, 1), as numpy's."""

    def shape_of(s: tuple[int, ...]) -> tuple[int, ...]:
        return {0: (1, 1, 1), 1: (1, *s, 1), 2: (*s, 1)}.get(len(s), s)

    return _at_least(tensors, shape_of)


def _as_list(value: Any) -> list[Tensor]:
    return value if isinstance(value, list) else [value]


def hstack(tensors: Sequence[Any]) -> Tensor:
    """Joined along the second axis (the first for 1-D tensors), as ``np.hstack``."""
    listed = _as_list(atleast_1d(*_tensor_list(tensors, "hstack")))
    return concatenate(listed, axis=0 if listed[0].ndim == 1 else 1)


def vstack(tensors: Sequence[Any]) -> Tensor:
    """Joined along the first axis, 1-D tensors as rows, as ``np.vstack``."""
    return concatenate(_as_list(atleast_2d(*_tensor_list(tensors, "vstack"))), axis=0)


def dstack(tensors: Sequence[Any]) -> Tensor:
    """Joined along the third axis, as ``np.dstack``."""
    return concatenate(_as_list(atleast_3d(*_tensor_list(tensors, "dstack"))), axis=2)


def column_stack(tensors: Sequence[Any]) -> Tensor:
    """1-D tensors as columns, 2-D ones as they are, joined along the second axis."""
    listed = _tensor_list(tensors, "column_stack")
    columns = [t.reshape(-1, 1) if t.ndim < 2 else t for t in listed]
    return concatenate(columns, axis=1)


def append(x: Any, values: Any, axis: int | None = None) -> Tensor:
    """x with ``values`` after it along ``axis`` (None: both flattened), as ``np.append``."""
    return concatenate([x, values], axis=axis)


# ---------------------------------------------------------------------- splitting
def _split_points(n: int, sections: Any, what: str, equal: bool) -> list[int]:
    if isinstance(sections, (int, np.integer)):
        if sections <= 0:
            raise ValueError(f"{what}: the number of sections must be larger than 0")
        if equal and n % sections:
            raise ValueError(f"{what}: array split does not result in an equal division")
        size, extra = divmod(n, int(sections))
        sizes = [size + 1] * extra + [size] * (int(sections) - extra)
        return list(np.cumsum(sizes)[:-1])
    return [int(i) for i in sections]


def _split(x: Any, sections: Any, axis: int, what: str, equal: bool) -> list[Tensor]:
    x = _tensor(x)
    axis = _axis(axis, x)
    n = x.shape[axis]
    bounds = [0, *_split_points(n, sections, what, equal), n]
    return [x[_along(axis, x.ndim, slice(lo, hi))] for lo, hi in zip(bounds, bounds[1:])]


def split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """Pieces of x along ``axis``: ``n`` equal ones (an unequal division is numpy's
    ValueError) or cut at the given indices, as ``np.split``."""
    return _split(x, indices_or_sections, axis, "split", equal=True)


def array_split(x: Any, indices_or_sections: Any, axis: int = 0) -> list[Tensor]:
    """As ``split``, but ``n`` pieces need not be equal (the first ones one longer)."""
    return _split(x, indices_or_sections, axis, "array_split", equal=False)


def _split_at_least(x: Any, sections: Any, ndim: int, axis: int, what: str) -> list[Tensor]:
    x = _tensor(x)
    if x.ndim < ndim:
        raise ValueError(f"{what} only works on arrays of {ndim} or more dimensions")
    return split(x, sections, axis)


def hsplit(x: Any, indices_or_sections: Any) -> list[Tensor]:
    """``split`` along the second axis (the first for 1-D x), as ``np.hsplit``."""
    x = _tensor(x)
    return _split_at_least(x, indices_or_sections, 1, 0 if x.ndim == 1 else 1, "hsplit")


def vsplit(x: Any, indices_or_sections: Any) -> list[Tensor]:
    """``split`` along the first axis of an array of 2 or more dimensions."""
    return _split_at_least(x, indices_or_sections, 2, 0, "vsplit")


def dsplit(x: Any, indices_or_sections: Any) -> list[Tensor]:
    """``split`` along the third axis of an array of 3 or more dimensions."""
    return _split_at_least(x, indices_or_sections, 3, 2, "dsplit")


# ---------------------------------------------------------------------- methods as functions
def ravel(x: Any) -> Tensor:
    """x as one axis, in row-major order (``Tensor.ravel``)."""
    return _tensor(x).ravel()


def flatten(x: Any, start_axis: int = 0, end_axis: int = -1) -> Tensor:
    """The axes from ``start_axis`` to ``end_axis`` merged, as torch's (``Tensor.flatten``)."""
    return _tensor(x).flatten(start_axis, end_axis)


def swapaxes(x: Any, axis1: int, axis2: int) -> Tensor:
    """x with two axes exchanged, as ``np.swapaxes`` (``Tensor.swapaxes``)."""
    return _tensor(x).swapaxes(axis1, axis2)


def moveaxis(x: Any, source: Any, destination: Any) -> Tensor:
    """x with the ``source`` axes moved to ``destination``, as ``np.moveaxis``."""
    return _tensor(x).moveaxis(source, destination)


def flip(x: Any, axis: Any = None) -> Tensor:
    """x reversed along ``axis`` (None: every axis), as ``np.flip``."""
    return _tensor(x).flip(axis)


def roll(x: Any, shift: Any, axis: Any = None) -> Tensor:
    """x shifted ``shift`` places along ``axis`` (None: flattened), wrapping round, as
    ``np.roll``."""
    return _tensor(x).roll(shift, axis)


def repeat(x: Any, repeats: Any, axis: int | None = None) -> Tensor:
    """Each element repeated ``repeats`` times along ``axis`` (None: flattened), as
    ``np.repeat``; the gradient adds the copies' gradients."""
    return _tensor(x).repeat(repeats, axis)


# ---------------------------------------------------------------------- reshaping
def rollaxis(x: Any, axis: int, start: int = 0) -> Tensor:
    """``axis`` moved to before ``start``, as ``np.rollaxis`` (prefer ``moveaxis``)."""
    x = _tensor(x)
    axis = _axis(axis, x)
    if not -x.ndim <= start <= x.ndim:
        raise ValueError(f"rollaxis: start {start} is out of range for shape {x.shape}")
    start = start + x.ndim if start < 0 else start  # numpy's: -1 is before the last axis
    if axis < start:
        start -= 1
    return moveaxis(x, axis, start) if axis != start else x.reshape(x.shape)


def broadcast_to(x: Any, shape: Any) -> Tensor:
    """x repeated along size-1 and new leading axes to ``shape``, as ``np.broadcast_to``;
    the gradient sums back over them."""
    x = _tensor(x)
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    try:
        fits = np.broadcast_shapes(x.shape, shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(f"broadcast_to cannot broadcast shape {x.shape} to {shape}")
    return x * Tensor._wrap(np.ones(shape))


# ---------------------------------------------------------------------- reordering, repeating
def flipud(x: Any) -> Tensor:
    """x reversed along its first axis."""
    return flip(x, 0)


def fliplr(x: Any) -> Tensor:
    """x reversed along its second axis."""
    x = _tensor(x)
    if x.ndim < 2:
        raise ValueError("Input must be >= 2-d.")
    return flip(x, 1)


def rot90(x: Any, k: int = 1, axes: tuple[int, int] = (0, 1)) -> Tensor:
    """x turned by 90 degrees ``k`` times in the plane of ``axes``, from the first axis
    towards the second, as ``np.rot90``."""
    x = _tensor(x)
    a, b = _axes(tuple(axes), x.ndim, x.shape) if len(axes) == 2 else (0, 0)
    if len(axes) != 2 or a == b:
        raise ValueError(f"rot90 needs two different axes, got {axes} for shape {x.shape}")
    k %= 4
    if k == 0:
        return x.reshape(x.shape)
    if k == 2:
        return flip(x, (a, b))
    order = list(range(x.ndim))
    order[a], order[b] = order[b], order[a]
    if k == 1:
        return flip(x, b).transpose(order)
    return flip(x.transpose(order), b)


def tile(x: Any, reps: Any) -> Tensor:
    """x repeated ``reps`` times along each axis, as ``np.tile`` (missing axes are size
    1 on whichever side is shorter)."""
    x = _tensor(x)
    reps = (int(reps),) if isinstance(reps, (int, np.integer)) else tuple(int(r) for r in reps)
    ndim = max(x.ndim, len(reps))
    x = x.reshape((1,) * (ndim - x.ndim) + x.shape)
    reps = (1,) * (ndim - len(reps)) + reps
    if ndim == 0:
        return x.reshape(())
    positions = [np.tile(np.arange(n), r) for n, r in zip(x.shape, reps)]
    return x[np.ix_(*positions)]


# ---------------------------------------------------------------------- padding
_INDEX_MODES = ("edge", "reflect", "symmetric", "wrap")


def _pad_widths(pad_width: Any, ndim: int) -> list[tuple[int, int]]:
    widths = np.broadcast_to(np.asarray(pad_width, dtype=int), (ndim, 2))
    if (widths < 0).any():
        raise ValueError("index can't contain negative values")
    return [(int(lo), int(hi)) for lo, hi in widths]


def pad(x: Any, pad_width: Any, mode: str = "constant", constant_values: Any = 0) -> Tensor:
    """x with ``pad_width`` (numpy's forms: n, (before, after), or one pair per axis)
    added round each axis, as ``np.pad``: ``mode`` "constant" (``constant_values``, one
    number or numpy's per-axis pairs) or one that copies x's own values, "edge",
    "reflect", "symmetric" or "wrap" (a gathering, so those values share their gradient).
    """
    x = _tensor(x)
    widths = _pad_widths(pad_width, x.ndim)
    if mode != "constant" and mode not in _INDEX_MODES:
        raise ValueError(f"pad's mode must be 'constant' or one of {_INDEX_MODES}, got {mode!r}")
    if not x.ndim:  # numpy's: a 0-d array has no axis to pad round
        return x.reshape(())
    if mode == "constant":
        values = np.broadcast_to(np.asarray(constant_values, dtype=np.float64), (x.ndim, 2))
        if (values == values.flat[0]).all():
            return ops.Pad.apply(x, widths, float(values.flat[0]))
        for a, (lo, hi) in enumerate(widths):  # numpy's order: axis by axis
            zero = [(0, 0)] * x.ndim
            x = ops.Pad.apply(x, zero[:a] + [(lo, 0)] + zero[a + 1 :], float(values[a, 0]))
            x = ops.Pad.apply(x, zero[:a] + [(0, hi)] + zero[a + 1 :], float(values[a, 1]))
        return x
    if x.size == 0 and any(lo or hi for lo, hi in widths):
        raise ValueError(f"can't extend empty axes with mode {mode!r} (shape {x.shape})")
    positions = [np.pad(np.arange(n), w, mode=mode) for n, w in zip(x.shape, widths)]
    return x[np.ix_(*positions)]
