"""Mini-batches: one epoch of a data set in batches, in order or shuffled from a seed.

``fit`` draws its batches here; ``data.batches`` is this same function.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from tinygrad_moons.seeding import Seed, as_random_state
from tinygrad_moons.validate import whole

__all__ = ["batches"]


def batches(
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool = True,
    seed: Seed = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of ``(X_batch, y_batch)``: every row once, the last batch smaller if need be.

    With ``shuffle`` the order is a permutation drawn from ``seed`` (an int, a RandomState,
    which then advances, or None for fresh entropy); without, rows come in order.

    >>> X, y = np.arange(10.0).reshape(5, 2), np.arange(5)
    >>> [yb.tolist() for _, yb in batches(X, y, 2, shuffle=False)]
    [[0, 1], [2, 3], [4]]
    """
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
    batch_size = whole("batch_size", batch_size)
    n = len(X)
    order = as_random_state(seed).permutation(n) if shuffle else None
    for start in range(0, n, batch_size):
        rows = (
            slice(start, start + batch_size) if order is None else order[start : start + batch_size]
        )
        yield X[rows], y[rows]
