"""numpy's elementwise functions over Tensors, second wave: each a recorded op of ``ops.py``
(forward and derivative side by side) or composed from recorded ops, differentiable to any
order. ``functional`` re-exports them; Tensor has the one-argument ones as methods.

Gradients are torch's: sign, floor and ceil have derivative 0 everywhere; fmax and fmin give
a tie to their first argument; nan_to_num passes the gradient where x is finite.

>>> from tinygrad_moons import Tensor
>>> x = Tensor([0.5], requires_grad=True)
>>> arcsin(x).backward()
>>> round(float(x.grad[0]), 6)
1.154701
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tinygrad_moons import ops
from tinygrad_moons.tensor import Function, Tensor, derived


def as_tensor(x: Any) -> Tensor:
    """``x`` as a Tensor: Tensors pass through; numbers and arrays become constants."""
    return x if isinstance(x, Tensor) else Tensor(x)


def _unary(op: type[Function], name: str) -> Callable[[Any], Tensor]:
    def function(x: Any) -> Tensor:
        return op.apply(as_tensor(x))

    function.__name__ = function.__qualname__ = name
    function.__doc__ = f"numpy's {name}, elementwise: {op.__doc__}"
    return function


sign = _unary(ops.Sign, "sign")
floor = _unary(ops.Floor, "floor")
ceil = _unary(ops.Ceil, "ceil")
log2 = _unary(ops.Log2, "log2")
log10 = _unary(ops.Log10, "log10")
exp2 = _unary(ops.Exp2, "exp2")
tan = _unary(ops.Tan, "tan")
sinh = _unary(ops.Sinh, "sinh")
cosh = _unary(ops.Cosh, "cosh")
arcsin = _unary(ops.Arcsin, "arcsin")
arccos = _unary(ops.Arccos, "arccos")
arctan = _unary(ops.Arctan, "arctan")
arcsinh = _unary(ops.Arcsinh, "arcsinh")
arccosh = _unary(ops.Arccosh, "arccosh")
arctanh = _unary(ops.Arctanh, "arctanh")
sinc = _unary(ops.Sinc, "sinc")


def degrees(x: Any) -> Tensor:
    """Radians to degrees, x * 180 / pi, as numpy's; d/dx = 180 / pi."""
    return as_tensor(x) * (180.0 / np.pi)


def radians(x: Any) -> Tensor:
    """Degrees to radians, x * pi / 180, as numpy's; d/dx = pi / 180."""
    return as_tensor(x) * (np.pi / 180.0)


def arctan2(y: Any, x: Any) -> Tensor:
    """The angle of the point (x, y), numpy's arctan2(y, x) (y first), broadcasting;
    d/dy = x / (x^2 + y^2), d/dx = -y / (x^2 + y^2), and 0 at the origin (torch's)."""
    return ops.Arctan2.apply(as_tensor(y), as_tensor(x))


def hypot(x: Any, y: Any) -> Tensor:
    """sqrt(x^2 + y^2) without overflow, broadcasting; d/dx = x / hypot (NaN at the origin,
    as torch's)."""
    return ops.Hypot.apply(as_tensor(x), as_tensor(y))


def logaddexp(x: Any, y: Any) -> Tensor:
    """ln(e^x + e^y) without overflow, broadcasting; d/dx = sigmoid(x - y)."""
    return ops.LogAddExp.apply(as_tensor(x), as_tensor(y))


def logaddexp2(x: Any, y: Any) -> Tensor:
    """log2(2^x + 2^y) without overflow, broadcasting; d/dx = sigmoid((x - y) ln 2)."""
    return ops.LogAddExp2.apply(as_tensor(x), as_tensor(y))


def mod(x: Any, y: Any) -> Tensor:
    """x mod y with the sign of y, numpy's ``%`` (torch's remainder), broadcasting;
    d/dx = 1, d/dy = -floor(x / y)."""
    return ops.Mod.apply(as_tensor(x), as_tensor(y))


remainder = mod


def floor_divide(x: Any, y: Any) -> Tensor:
    """floor(x / y), numpy's ``//``, broadcasting; derivative 0 (piecewise constant)."""
    return ops.FloorDivide.apply(as_tensor(x), as_tensor(y))


def _pick(x: Any, y: Any, keep_x: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Tensor:
    """x where ``keep_x`` of the values says so, else y; the mask is derived, so a captured
    step computes it afresh at every replay."""
    x, y = as_tensor(x), as_tensor(y)
    return ops.Where.apply(derived(keep_x, x, y), x, y)


def _x_is_fmax(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (a >= b) | np.isnan(b)


def _x_is_fmin(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore"):
        return (a <= b) | np.isnan(b)


def fmax(x: Any, y: Any) -> Tensor:
    """max(x, y) elementwise ignoring NaN (NaN only where both are), broadcasting; as
    torch's, x gets the gradient where x >= y or y is NaN, y elsewhere."""
    return _pick(x, y, _x_is_fmax)


def fmin(x: Any, y: Any) -> Tensor:
    """min(x, y) elementwise ignoring NaN (NaN only where both are), broadcasting; as
    torch's, x gets the gradient where x <= y or y is NaN, y elsewhere."""
    return _pick(x, y, _x_is_fmin)


def nan_to_num(
    x: Any, nan: float = 0.0, posinf: float | None = None, neginf: float | None = None
) -> Tensor:
    """x with NaN, +inf and -inf replaced (by 0 and the largest finite floats unless
    given), as numpy's; the gradient passes where x is finite and is 0 elsewhere."""
    x = as_tensor(x)
    # derived: a captured step finds the non-finite values afresh at every replay
    replaced = derived(np.nan_to_num, x, nan=nan, posinf=posinf, neginf=neginf)
    return ops.Where.apply(derived(np.isfinite, x), x, Tensor(replaced))
