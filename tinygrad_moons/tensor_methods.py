"""Tensor's operators and methods: each records an op of ``ops.py`` (or changes data in place).

Why they live here and not in ``tensor.py``: every op is a ``Function``, so ``ops.py``
imports ``tensor.py``, and ``tensor.py`` cannot import ``ops`` back without a cycle. The
methods are therefore written below as the body of ``_TensorMethods``, exactly as they would
read inside ``class Tensor``, and ``_attach`` copies them onto ``Tensor`` once, as the last
line of this module. ``tinygrad_moons/__init__.py`` imports this module, so every
``import tinygrad_moons...`` gives the full Tensor. This is the one place that adds to the
class: the import graph stays one-way (tensor <- ops <- tensor_methods), and no module
writes into another's globals.

In-place updates (``+=``, ``-=``, ``*=``, ``/=``, ``**=``, ``t[index] = v``) change
``.data`` itself, as PyTorch's do, and record nothing: so they are refused, with PyTorch's
message, wherever a graph would need them (see ``_check_in_place``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from types import FunctionType
from typing import Any

import numpy as np

from tinygrad_moons import ops
from tinygrad_moons.tensor import Tensor, derived, is_grad_enabled
from tinygrad_moons.validate import axes as _axes

Axis = int | tuple[int, ...] | None


def _lift(value: Any) -> Tensor:
    """An operand as a Tensor: Tensors pass through, numbers and arrays become constants.

    A float64 array is wrapped, not copied: a constant is only ever read, never written.
    (As with ``torch.from_numpy``, changing that array before ``backward()`` changes the
    gradient of ops that saved it.)
    """
    if isinstance(value, Tensor):
        return value
    if type(value) is np.ndarray and value.dtype == np.float64:
        return Tensor._wrap(value)
    if type(value) is float or type(value) is int:
        return Tensor._wrap(np.array(value, dtype=np.float64))
    return Tensor(value)


def _plain_index(index: Any) -> Any:
    """Refuse Tensors as indices: their float64 data cannot tell a mask from positions."""
    parts = index if isinstance(index, tuple) else (index,)
    for part in parts:
        if isinstance(part, Tensor):
            raise TypeError(
                "index a Tensor with ints, slices or an ndarray of ints or bools, not with a "
                "Tensor (its float64 data cannot tell a boolean mask from positions)"
            )
    return index


def _values(other: Any) -> Any:
    """The numbers an operand stands for, for comparisons and in-place updates."""
    return other.data if isinstance(other, Tensor) else other


def _check_in_place(tensor: Tensor, other: Any, what: str) -> None:
    """Refuse an in-place update that a graph would need to record, as PyTorch does.

    Allowed: under ``no_grad()``, or on a tensor that needs no gradient with an operand that
    needs none either. Refused: a tensor made by a recorded op (its data may be saved for
    that op's backward), a tensor that requires grad while a graph is being recorded (the
    update would be invisible to backward), and an operand that requires grad (the result
    would need a gradient that an in-place update cannot record).
    """
    if tensor._ctx is not None:
        raise RuntimeError(
            f"{what} on a tensor made by {type(tensor._ctx).__name__} in a recorded graph: "
            f"its data may be saved for backward, and in-place updates are not recorded; "
            f"write t = t + x (a new tensor), or update a copy, Tensor(t)"
        )
    if not is_grad_enabled():
        return
    if tensor.requires_grad:
        raise RuntimeError(
            f"a leaf Tensor that requires grad is being used in an in-place operation "
            f"({what}); update parameters inside `with no_grad():`, as in PyTorch, or write "
            f"t = t + x to record a new tensor"
        )
    if isinstance(other, Tensor) and other.requires_grad:
        raise RuntimeError(
            f"{what} with an operand that requires grad: the result would need a gradient, "
            f"and in-place updates record none; write t = t + x instead"
        )


def _update(tensor: Tensor, ufunc: np.ufunc, other: Any, symbol: str) -> Tensor:
    """``tensor.data <symbol>= other`` into the same array, after ``_check_in_place``."""
    _check_in_place(tensor, other, f"t {symbol}= ...")
    values = _values(other)
    try:
        ufunc(tensor.data, values, out=tensor.data)
    except ValueError:
        raise ValueError(
            f"t {symbol}= x changes t in place, so x must broadcast to t's shape "
            f"{tensor.shape}; got shape {np.shape(values)}"
        ) from None
    return tensor


def _checked_axis(tensor: Tensor, axis: Any) -> Any:
    """``axis`` unchanged, once checked against the tensor's shape: a ValueError naming the
    shape, instead of numpy's AxisError from inside the op."""
    if axis is not None:
        _axes(axis, tensor.ndim, tensor.shape)
    return axis


def _transpose_axes(ndim: int, shape: tuple[int, ...], axes: tuple[Any, ...]) -> Any:
    """The permutation ``transpose(*axes)`` stands for, checked: None for reversed."""
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    if not axes:
        return None
    permutation = _axes(axes, ndim, shape)
    if len(permutation) != ndim:
        raise ValueError(
            f"transpose needs a permutation of all {ndim} axes of shape {shape}, got {axes}"
        )
    return permutation


class _TensorMethods:
    """The body of Tensor's operator methods; ``_attach`` copies them onto ``Tensor``."""

    __slots__ = ()

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other: Any) -> Tensor:
        return ops.Add.apply(self, _lift(other))

    def __radd__(self, other: Any) -> Tensor:
        return ops.Add.apply(_lift(other), self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(self, _lift(other))

    def __rsub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(_lift(other), self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(self, _lift(other))

    def __rmul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(_lift(other), self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(self, _lift(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(_lift(other), self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __pow__(self, exponent: Any) -> Tensor:
        """x ** p for a number p (``ops.Pow``), or elementwise for a Tensor or array
        exponent (``ops.TensorPow``, which also gives the exponent its gradient)."""
        if not isinstance(exponent, Tensor) and np.ndim(exponent) == 0:
            return ops.Pow.apply(self, float(exponent))
        return ops.TensorPow.apply(self, _lift(exponent))

    def __rpow__(self, base: Any) -> Tensor:
        """base ** t for a number or array base: d/dt = base^t ln(base)."""
        return ops.TensorPow.apply(_lift(base), self)

    def __matmul__(self, other: Any) -> Tensor:
        """numpy's matmul for operands of 2 or more dimensions, batch dimensions broadcasting;
        a 1-D operand or mismatched inner sizes is a ValueError naming both shapes."""
        return ops.MatMul.apply(self, _lift(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.MatMul.apply(_lift(other), self)

    # ------------------------------------------------------------------ in place
    def __iadd__(self, other: Any) -> Tensor:
        """t += x into t's own array (see ``_check_in_place`` for when it is refused)."""
        return _update(self, np.add, other, "+")

    def __isub__(self, other: Any) -> Tensor:
        """t -= x into t's own array: ``with no_grad(): p -= lr * p.grad`` updates p."""
        return _update(self, np.subtract, other, "-")

    def __imul__(self, other: Any) -> Tensor:
        return _update(self, np.multiply, other, "*")

    def __itruediv__(self, other: Any) -> Tensor:
        return _update(self, np.divide, other, "/")

    def __ipow__(self, other: Any) -> Tensor:
        return _update(self, np.power, other, "**")

    def __setitem__(self, index: Any, value: Any) -> None:
        """t[index] = v into t's own array, refused where ``t -= v`` would be."""
        _check_in_place(self, value, "t[index] = ...")
        values = _values(value)
        try:
            self.data[_plain_index(index)] = values
        except ValueError:
            raise ValueError(
                f"t[index] = v needs v to broadcast to the shape of t[index], "
                f"{self.data[index].shape}; got shape {np.shape(values)}"
            ) from None

    # ------------------------------------------------------------------ comparisons
    # Boolean ndarrays, no gradient (as torch's, whose results do not require grad); computed
    # through ``derived`` so that a graph capture recomputes them at every replay.
    def __lt__(self, other: Any) -> np.ndarray:
        return derived(np.less, self, other)

    def __le__(self, other: Any) -> np.ndarray:
        return derived(np.less_equal, self, other)

    def __gt__(self, other: Any) -> np.ndarray:
        return derived(np.greater, self, other)

    def __ge__(self, other: Any) -> np.ndarray:
        return derived(np.greater_equal, self, other)

    def __eq__(self, other: Any) -> np.ndarray:  # type: ignore[override]
        return derived(np.equal, self, other)

    def __ne__(self, other: Any) -> np.ndarray:  # type: ignore[override]
        return derived(np.not_equal, self, other)

    # Defining __eq__ would make Tensors unhashable; they hash by identity, as torch's,
    # so they can be kept in sets and used as dict keys.
    __hash__ = object.__hash__

    # ------------------------------------------------------------------ reductions
    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.Sum.apply(self, _checked_axis(self, axis), keepdims)

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.Mean.apply(self, _checked_axis(self, axis), keepdims)

    def max(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Maximum; tied maxima share the gradient equally, like ``torch.amax``."""
        return ops.Max.apply(self, _checked_axis(self, axis), keepdims)

    def min(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Minimum; tied minima share the gradient equally, like ``torch.amin``."""
        return ops.Min.apply(self, _checked_axis(self, axis), keepdims)

    def var(self, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        """Variance, sum (x - mean)^2 / (n - ddof), numpy's default ddof=0 (torch's
        ``correction``); n - ddof <= 0 is a ValueError."""
        return ops.Var.apply(self, _checked_axis(self, axis), keepdims, ddof)

    def std(self, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        """sqrt(var): its gradient is NaN where the values are all equal, as torch's."""
        return ops.Sqrt.apply(ops.Var.apply(self, _checked_axis(self, axis), keepdims, ddof))

    def argmax(self, axis: int = -1) -> np.ndarray:
        """Indices of the maxima along ``axis``, as an ndarray (no gradient)."""
        return derived(np.argmax, self, axis=_checked_axis(self, axis))

    # ------------------------------------------------------------------ elementwise
    def exp(self) -> Tensor:
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        return ops.Log.apply(self)

    def log1p(self) -> Tensor:
        """ln(1 + x), exact for tiny x."""
        return ops.Log1p.apply(self)

    def expm1(self) -> Tensor:
        """e^x - 1, exact for tiny x."""
        return ops.Expm1.apply(self)

    def sin(self) -> Tensor:
        return ops.Sin.apply(self)

    def cos(self) -> Tensor:
        return ops.Cos.apply(self)

    def sqrt(self) -> Tensor:
        return ops.Sqrt.apply(self)

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    def tanh(self) -> Tensor:
        return ops.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return ops.ReLU.apply(self)

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = tuple(shape[0])
        return ops.Reshape.apply(self, shape)

    @property
    def T(self) -> Tensor:
        """The axes reversed, as numpy's ``.T``."""
        return ops.Transpose.apply(self, None)

    def transpose(self, *axes: int) -> Tensor:
        """The axes permuted: ``t.transpose(1, 0, 2)`` or ``t.transpose((1, 0, 2))``; with
        no axes reversed, as numpy (torch's ``permute``)."""
        return ops.Transpose.apply(self, _transpose_axes(self.ndim, self.shape, axes))

    def squeeze(self, axis: int | tuple[int, ...] | None = None) -> Tensor:
        """Without the size-1 axes (all of them, or those named: another size is a
        ValueError, as numpy)."""
        if axis is None:
            return ops.Reshape.apply(self, tuple(n for n in self.shape if n != 1))
        dropped = _axes(axis, self.ndim, self.shape)
        for a in dropped:
            if self.shape[a] != 1:
                raise ValueError(
                    f"squeeze: axis {a} of shape {self.shape} has size {self.shape[a]}, not 1"
                )
        kept = tuple(n for a, n in enumerate(self.shape) if a not in dropped)
        return ops.Reshape.apply(self, kept)

    def expand_dims(self, axis: int | tuple[int, ...]) -> Tensor:
        """With new size-1 axes at the positions ``axis`` names in the result, as numpy
        (torch's ``unsqueeze``)."""
        ndim = self.ndim + (len(axis) if isinstance(axis, (tuple, list)) else 1)
        added = _axes(axis, ndim, self.shape)
        sizes = iter(self.shape)
        return ops.Reshape.apply(self, tuple(1 if a in added else next(sizes) for a in range(ndim)))

    def __getitem__(self, index: Any) -> Tensor:
        return ops.GetItem.apply(self, _plain_index(index))

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]


# What a class body holds besides the methods; none of it is copied onto Tensor.
_CLASS_MACHINERY = frozenset(
    {"__module__", "__qualname__", "__doc__", "__slots__", "__firstlineno__"}
    | {"__static_attributes__", "__dict__", "__weakref__"}
)


def _attach(methods: type, cls: type) -> None:
    """Copy every method of ``methods`` onto ``cls``, each under its own name once."""
    for name, value in vars(methods).items():
        if name in _CLASS_MACHINERY:
            continue
        if name in vars(cls):
            raise RuntimeError(f"{cls.__name__}.{name} is defined both in its class and here")
        function = value.fget if isinstance(value, property) else value
        if isinstance(function, FunctionType):  # not object.__hash__
            function.__qualname__ = f"{cls.__name__}.{name}"
        setattr(cls, name, value)


_attach(_TensorMethods, Tensor)
