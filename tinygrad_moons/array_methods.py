"""numpy's array methods that reorder, repeat or reduce by composition: a base class of
``Tensor``, written with Tensor's own operators alone (``reshape``, ``transpose``,
indexing, ``*``), so each is differentiable to any order with no backward of its own.
``functional`` (through ``arrays.py``) offers each as a function too.

>>> from tinygrad_moons import Tensor
>>> Tensor([[1.0, 2.0], [3.0, 4.0]]).flip(0).data
array([[3., 4.],
       [1., 2.]])
"""

from __future__ import annotations

import math
import operator
from typing import Any

import numpy as np

from tinygrad_moons import habits
from tinygrad_moons.validate import axes as _axes
from tinygrad_moons.validate import keepdims as _keepdims

Axis = int | tuple[int, ...] | None


def _along(axis: int, ndim: int, index: Any) -> tuple[Any, ...]:
    """An index that applies ``index`` along ``axis`` and takes everything elsewhere."""
    return (slice(None),) * axis + (index,) + (slice(None),) * (ndim - axis - 1)


_SORTED_ALONE = "; it gives the sorted values alone (np.sort), not torch's (values, indices)"


class ArrayMethods:
    """Tensor's composed array methods (numpy's names and semantics; see the module)."""

    __slots__ = ()
    # Provided by Tensor: shape, ndim, reshape, transpose, __getitem__, __mul__, data, and
    # _derived (tensor.derived: a value computed from the data, recorded by a capture),
    # _diagonal_view (a recorded view, as torch's).
    shape: tuple[int, ...]
    ndim: int
    data: np.ndarray
    _derived: Any
    _diagonal_view: Any

    def _one_axis(self, axis: Any) -> int:
        (found,) = _axes(axis, self.ndim, self.shape)
        return found

    def _gather(self, axis: int, positions: np.ndarray) -> Any:
        """The slices at ``positions`` along ``axis`` (repeats allowed), as ``np.take``."""
        return self[_along(axis, self.ndim, positions)]  # type: ignore[index]

    # ------------------------------------------------------------------ reshaping
    def ravel(self) -> Any:
        """One axis, in row-major order."""
        return self.reshape(-1)  # type: ignore[attr-defined]

    def flatten(self, start_axis: int = 0, end_axis: int = -1, **torch_keywords: Any) -> Any:
        """The axes from ``start_axis`` to ``end_axis`` (both included) merged into one, as
        torch's flatten; with no arguments, numpy's ``ndarray.flatten``."""
        if torch_keywords:
            habits.keywords("Tensor.flatten", torch_keywords, ("start_dim", "end_dim"))
        if self.ndim == 0:
            return self.reshape(1)  # type: ignore[attr-defined]
        start, end = self._one_axis(start_axis), self._one_axis(end_axis)
        if start > end:
            raise ValueError(f"flatten: start_axis {start_axis} comes after end_axis {end_axis}")
        merged = (*self.shape[:start], -1, *self.shape[end + 1 :])
        return self.reshape(merged)  # type: ignore[attr-defined]

    def swapaxes(self, axis1: int, axis2: int) -> Any:
        """Two axes exchanged, as ``np.swapaxes``."""
        order = list(range(self.ndim))
        a, b = self._one_axis(axis1), self._one_axis(axis2)
        order[a], order[b] = b, a
        return self.transpose(order)  # type: ignore[attr-defined]

    def moveaxis(self, source: Any, destination: Any) -> Any:
        """The ``source`` axes moved to ``destination``, the others kept in order, as
        ``np.moveaxis``."""
        src = _axes(source, self.ndim, self.shape)
        dst = _axes(destination, self.ndim, self.shape)
        if len(src) != len(dst):
            raise ValueError(
                "`source` and `destination` arguments must have the same number of elements"
            )
        order = [a for a in range(self.ndim) if a not in src]
        for d, s in sorted(zip(dst, src, strict=True)):
            order.insert(d, s)
        return self.transpose(order)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ reordering, repeating
    def flip(self, axis: Axis = None, **torch_keywords: Any) -> Any:
        """Reversed along ``axis`` (None: every axis), as ``np.flip``, as a new tensor, as
        torch's (numpy's is a view: a later write into either would reach the other)."""
        if torch_keywords:
            habits.keywords("Tensor.flip", torch_keywords, ("dims",))
        flipped = range(self.ndim) if axis is None else _axes(axis, self.ndim, self.shape)
        backwards = slice(None, None, -1)
        index = tuple(backwards if a in flipped else slice(None) for a in range(self.ndim))
        return self[index].clone()  # type: ignore[index]

    def roll(self, shift: Any, axis: Axis = None, **torch_keywords: Any) -> Any:
        """Shifted ``shift`` places along ``axis`` (None: flattened), the end wrapping round
        to the start, as ``np.roll``."""
        if torch_keywords:
            habits.keywords("Tensor.roll", torch_keywords, ("dims",))
        if axis is None:
            return self.ravel().roll(shift, 0).reshape(self.shape)
        # numpy's: shift and axis broadcast together, and an axis named twice rolls twice
        shifts, axes = np.broadcast_arrays(
            np.asarray(shift, dtype=int), np.asarray(axis, dtype=object)
        )
        if axes.ndim > 1:
            raise ValueError("'shift' and 'axis' should be scalars or 1D sequences")
        total: dict[int, int] = {}
        for a, s in zip(axes.ravel(), shifts.ravel(), strict=True):
            a = self._one_axis(a)
            total[a] = total.get(a, 0) + int(s)
        out: Any = self
        for a, s in total.items():
            out = out._gather(a, np.roll(np.arange(self.shape[a]), s))
        return out

    def repeat(self, repeats: Any, axis: int | None = None) -> Any:
        """Each element repeated ``repeats`` times along ``axis`` (None: flattened), as
        ``np.repeat``; the gradient adds the copies' gradients."""
        if axis is None:
            return self.ravel().repeat(repeats, 0)
        axis = self._one_axis(axis)
        return self._gather(axis, np.repeat(np.arange(self.shape[axis]), repeats))

    def sort(self, axis: int | None = -1, **torch_keywords: Any) -> Any:
        """The values sorted along ``axis`` (None: flattened), as ``np.sort`` (a new tensor:
        a Tensor is never sorted in place); the gradient follows each value to where it
        came from (a stable sort: ties keep their order)."""
        if torch_keywords:
            habits.keywords("Tensor.sort", torch_keywords, ("dim", "descending"), _SORTED_ALONE)
        if axis is None:
            return self.ravel().sort(0)
        axis = self._one_axis(axis)
        # derived: a captured step sorts afresh at every replay, never by the captured order
        order = self._derived(np.argsort, self, axis=axis, kind="stable")
        index = list(np.ix_(*[np.arange(n) for n in self.shape])) if self.ndim else []
        index[axis] = order
        return self[tuple(index)]  # type: ignore[index]

    # ------------------------------------------------------------------ diagonals
    def diagonal(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
        """The diagonal ``offset`` above the main one of the (axis1, axis2) planes, as the
        last axis, as ``np.diagonal``: a view, as torch's (an in-place update of it
        updates t; numpy's is read-only)."""
        if self.ndim < 2:
            raise ValueError("diag requires an array of at least two dimensions")
        a, b = self._one_axis(axis1), self._one_axis(axis2)
        if a == b:
            raise ValueError("axis1 and axis2 cannot be the same")
        return self._diagonal_view(operator.index(offset), a, b)

    def trace(self, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Any:
        """The sum of the diagonal ``diagonal(offset, axis1, axis2)``, as ``np.trace``."""
        return self.diagonal(offset, axis1, axis2).sum(-1)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ products
    def prod(self, axis: Axis = None, keepdims: bool = False, **torch_keywords: Any) -> Any:
        """The product over ``axis``, as ``np.prod``; computed as a tree of pairwise
        products, so each element's gradient is the product of the others, exact where
        some are 0 (as torch's)."""
        if torch_keywords:
            habits.keywords("Tensor.prod", torch_keywords, ("dim", "keepdim"))
        keepdims = _keepdims("Tensor.prod", keepdims)
        axes = tuple(range(self.ndim)) if axis is None else _axes(axis, self.ndim, self.shape)
        kept = [a for a in range(self.ndim) if a not in axes]
        out_shape = tuple(1 if a in axes else n for a, n in enumerate(self.shape))
        if not keepdims:
            out_shape = tuple(self.shape[a] for a in kept)
        rows = tuple(self.shape[a] for a in kept)
        reduced = math.prod(self.shape[a] for a in axes)  # not -1: rows may hold no elements
        x = self.transpose([*kept, *axes]).reshape(*rows, reduced)  # type: ignore[attr-defined]
        if x.shape[-1] == 0:
            return x.sum(-1).reshape(out_shape) + 1.0
        if x.shape[-1] == 1:  # a new tensor, as torch's: never a view of the input
            return x.reshape(out_shape).clone()  # type: ignore[attr-defined]
        leftovers = []
        while x.shape[-1] > 1:
            half = x.shape[-1] // 2
            if x.shape[-1] % 2:
                leftovers.append(x[..., 2 * half :])
            x = x[..., :half] * x[..., half : 2 * half]
        for leftover in leftovers:
            x = x * leftover
        return x.reshape(out_shape)
