"""Argument checks shared by nn, optim, data and train, so each kind has one message."""

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
