"""Argument checks shared by every layer, so each kind of bad value has one message.
numpy only, and arrays or numbers in (never Tensors): the engine uses it too."""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np


def whole(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an int of at least ``minimum``; floats and bools are refused.

    >>> whole("epochs", 3)
    3
    >>> whole("batch_size", 0)
    Traceback (most recent call last):
    ...
    ValueError: batch_size must be an int >= 1, got 0
    """
    is_int = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
    if not is_int or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def number(
    name: str,
    value: Any,
    low: float = 0.0,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a float when it is a finite real number in the interval from ``low`` to
    ``high`` (each end included unless ``low_open``/``high_open``); else a ValueError naming
    ``name``, the interval and the value. Bools and strings are refused.

    >>> number("momentum", 0.9, high=1.0)
    0.9
    >>> number("lr", float("nan"), low_open=True)
    Traceback (most recent call last):
    ...
    ValueError: lr must be a finite number in (0, inf), got nan
    """
    is_real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    inside = (
        is_real
        and math.isfinite(value)
        and (value > low if low_open else value >= low)
        and (value < high if high_open or math.isinf(high) else value <= high)
    )
    if not inside:
        closing = ")" if high_open or math.isinf(high) else "]"
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{closing}"
        raise ValueError(f"{name} must be a finite number in {interval}, got {value!r}")
    return float(value)


def finite(name: str, values: np.ndarray) -> np.ndarray:
    """``values`` unchanged when every element is finite; else a ValueError naming the first
    NaN or infinity and its index.

    >>> finite("logits", np.array([[0.0, 1.0], [np.inf, 2.0]]))
    Traceback (most recent call last):
    ...
    ValueError: logits must be finite; found inf at index (1, 0)
    """
    index = first_non_finite(values)
    if index is not None:
        raise ValueError(f"{name} must be finite; found {values[index].item()} at index {index}")
    return values


def first_non_finite(values: np.ndarray) -> tuple[int, ...] | None:
    """The index of the first NaN or infinity in ``values`` (row-major), or None.

    >>> first_non_finite(np.array([[0.0, 1.0], [np.nan, np.inf]]))
    (1, 0)
    """
    if np.isfinite(values).all():  # the common case: one pass, no index array
        return None
    return tuple(int(i) for i in np.argwhere(~np.isfinite(values))[0])


def as_user_array(values: Any, kinds: str, what: str) -> np.ndarray:
    """``values`` as an array; if they are not all numbers of the dtype ``kinds`` and did
    not come as an array, an object array of the user's own values, so that an error can
    name the bad one (numpy turns [0, 1, "x"] into the strings "0", "1", "x"). Ragged
    values are a ValueError saying ``what`` they must be.

    >>> as_user_array([0, 1, "x"], "iuf", "labels").tolist()
    [0, 1, 'x']
    """
    try:
        array = np.asarray(values)
        if array.dtype.kind not in kinds and not isinstance(values, np.ndarray):
            array = np.asarray(values, dtype=object)
    except ValueError as error:
        raise ValueError(f"{what}: {error}") from None
    return array


def axes(axis: Any, ndim: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    """``axis`` (an int or a sequence of ints) as distinct non-negative axes of ``ndim``.

    ``shape`` is named in the message when an axis is out of range or repeated.

    >>> axes(-1, 2, (3, 4))
    (1,)
    >>> axes((0, 2), 2, (3, 4))
    Traceback (most recent call last):
    ...
    ValueError: axis 2 is out of range for shape (3, 4) (axes -2 to 1)
    """
    parts = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    found = []
    for part in parts:
        if not isinstance(part, (int, np.integer)) or isinstance(part, bool):
            raise ValueError(f"an axis must be an int, got {part!r} for shape {shape}")
        if not -ndim <= part < ndim:
            raise ValueError(
                f"axis {part} is out of range for shape {shape} (axes {-ndim} to {ndim - 1})"
            )
        if int(part) % ndim in found:
            raise ValueError(f"axis {part} is repeated in {axis} for shape {shape}")
        found.append(int(part) % ndim)
    return tuple(found)
