"""Data sets from scikit-learn's generators, its train/test split, and mini-batches.

``batches`` is ``train.batches`` (``fit`` draws its mini-batches in the same order),
re-exported here.

Nothing here touches numpy's global random state: every generator gets its own
``RandomState``. The write-up's data, ``np.random.seed(0); make_moons(200, noise=0.20)``,
is ``make_moons()``:

>>> X, y = make_moons()
>>> X.shape, y.shape, sorted(set(y.tolist()))
((200, 2), (200,), [0, 1])
"""

from __future__ import annotations

from typing import Any

import numpy as np
import sklearn.datasets
from sklearn.model_selection import train_test_split

from tinygrad_moons.train import batches

__all__ = [
    "HELD_OUT_POINTS",
    "HELD_OUT_SEED",
    "batches",
    "held_out_moons",
    "make_blobs",
    "make_moons",
    "ring_centers",
    "train_test_split",
]

# Held-out points: the write-up's generator with another seed, never a slice of its 200.
HELD_OUT_POINTS = 1000
HELD_OUT_SEED = 1


def make_moons(n: int = 200, noise: float = 0.20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: ``sklearn.datasets.make_moons(n, noise=noise)``.

    Drawn from ``np.random.RandomState(seed)``, which is what seeding numpy's global state
    with ``seed`` gives scikit-learn, so the defaults are exactly the write-up's data.
    Returns X (n, 2) float64 and y (n,) int64 labels 0 and 1.
    """
    X, y = sklearn.datasets.make_moons(n, noise=noise, random_state=np.random.RandomState(seed))
    return X.astype(np.float64), y.astype(np.int64)


def held_out_moons(noise: float = 0.20) -> tuple[np.ndarray, np.ndarray]:
    """Fresh points from the write-up's generator, another seed: the held-out set.

    >>> X_test, y_test = held_out_moons()
    >>> X_test.shape
    (1000, 2)
    """
    return make_moons(HELD_OUT_POINTS, noise=noise, seed=HELD_OUT_SEED)


def make_blobs(
    n: int = 300,
    classes: int = 3,
    spread: float = 1.0,
    seed: int = 0,
    centers: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs in the plane, one per class: ``sklearn.datasets.make_blobs``.

    The write-up's exercise with three classes; ``spread`` is each blob's standard
    deviation (scikit-learn's ``cluster_std``). Without ``centers`` the centres are drawn in
    [-10, 10]^2 from the seed, so another seed is another problem; pass ``centers`` (one
    row per class) to draw fresh points of the same problem, as ``ring_centers`` gives.

    >>> X, y = make_blobs()
    >>> X.shape, np.bincount(y).tolist()
    ((300, 2), [100, 100, 100])
    """
    X, y = sklearn.datasets.make_blobs(
        n_samples=n,
        n_features=2,
        centers=classes if centers is None else np.asarray(centers, dtype=np.float64),
        cluster_std=spread,
        random_state=np.random.RandomState(seed),
    )
    return X.astype(np.float64), y.astype(np.int64)


def ring_centers(classes: int, radius: float = 2.0) -> np.ndarray:
    """``classes`` points evenly spaced on a circle: blob centres that overlap a little.

    >>> ring_centers(4).round(6).tolist()
    [[2.0, 0.0], [0.0, 2.0], [-2.0, 0.0], [-0.0, -2.0]]
    """
    angles = 2.0 * np.pi * np.arange(classes) / classes
    return radius * np.column_stack([np.cos(angles), np.sin(angles)])
