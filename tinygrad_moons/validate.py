"""Argument checks shared by functional, gradcheck, nn, optim, data and train, so each
kind of bad value has one message. numpy only: the engine uses it too."""

from __future__ import annotations

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


def finite(name: str, values: np.ndarray) -> np.ndarray:
    """``values`` unchanged when every element is finite; else a ValueError naming the first
    NaN or infinity and its index.

    >>> finite("logits", np.array([[0.0, 1.0], [np.inf, 2.0]]))
    Traceback (most recent call last):
    ...
    ValueError: logits must be finite; found inf at index (1, 0)
    """
    bad = ~np.isfinite(values)
    if np.any(bad):
        index = tuple(int(i) for i in np.argwhere(bad)[0])
        raise ValueError(f"{name} must be finite; found {values[index].item()} at index {index}")
    return values


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
