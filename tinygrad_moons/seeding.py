"""Where random numbers come from: every ``seed`` argument of nn, data and train.

Nothing here touches numpy's global random state: a ``seed`` is an int (it seeds a new
``np.random.RandomState``), a RandomState (used as given, so it advances) or None (fresh
entropy).
"""

from __future__ import annotations

import numpy as np

Seed = int | np.random.RandomState | None

__all__ = ["Seed", "as_random_state"]


def as_random_state(seed: Seed) -> np.random.RandomState:
    """An int seeds a new RandomState; a RandomState is used as given; None: fresh entropy.

    >>> as_random_state(0).randn() == np.random.RandomState(0).randn()
    True
    """
    if isinstance(seed, np.random.RandomState):
        return seed
    if seed is None:
        return np.random.RandomState()
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.RandomState(int(seed))
    raise TypeError(f"seed must be an int, a numpy RandomState or None, got {type(seed).__name__}")
