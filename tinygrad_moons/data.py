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
from tinygrad_moons.validate import Seed, features, number, random_state, whole, width

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


def make_moons(
    n: int = 200, noise: float | None = 0.20, seed: Seed = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Two interleaving half circles: ``sklearn.datasets.make_moons(n, noise=noise)``.

    Drawn from ``np.random.RandomState(seed)``, which is what seeding numpy's global state
    with ``seed`` gives scikit-learn, so the defaults are exactly the write-up's data
    (``seed`` may also be a RandomState, used as given, or None). Returns X (n, 2) float64
    and y (n,) int64 labels 0 and 1. ``n`` is an int >= 1 (a bool or a float is refused)
    and ``noise`` a finite number >= 0 or None (none).
    """
    n = whole("n", n)
    noise = None if noise is None else number("noise", noise)
    X, y = sklearn.datasets.make_moons(n, noise=noise, random_state=random_state(seed))
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
    classes: int | None = None,
    spread: float = 1.0,
    seed: Seed = 0,
    centers: Any = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian blobs in the plane, one per class: ``sklearn.datasets.make_blobs``.

    The write-up's exercise with three classes; ``spread`` is each blob's standard
    deviation (scikit-learn's ``cluster_std``). Without ``centers`` the ``classes`` centres
    (3 when None) are drawn in [-10, 10]^2 from the seed, so another seed is another
    problem; pass ``centers`` (one row (x, y) per class, finite) to draw fresh points of
    the same problem, as ``ring_centers`` gives: ``classes`` is then their number, and
    another ``classes`` is a ValueError naming both. ``n`` and ``classes`` are ints >= 1.

    >>> X, y = make_blobs()
    >>> X.shape, np.bincount(y).tolist()
    ((300, 2), [100, 100, 100])
    """
    n = whole("n", n)
    if classes is not None:
        classes = whole("classes", classes)
    if centers is None:
        blobs: int | np.ndarray = 3 if classes is None else classes
    else:
        blobs = features(centers, "centers")
        width("centers", blobs.shape, 2, "make_blobs (blobs in the plane, one row (x, y) each)")
        if classes is not None and classes != len(blobs):
            raise ValueError(
                f"classes={classes} but centers holds {len(blobs)} centres (one per class): "
                f"pass one of them, or as many centres as classes"
            )
    X, y = sklearn.datasets.make_blobs(
        n_samples=n,
        n_features=2,
        centers=blobs,
        cluster_std=spread,
        random_state=random_state(seed),
    )
    return X.astype(np.float64), y.astype(np.int64)


def ring_centers(classes: int, radius: float = 2.0) -> np.ndarray:
    """``classes`` points evenly spaced on a circle: blob centres that overlap a little.
    ``classes`` is an int >= 1 and ``radius`` a finite number > 0.

    >>> ring_centers(4).round(6).tolist()
    [[2.0, 0.0], [0.0, 2.0], [-2.0, 0.0], [-0.0, -2.0]]
    """
    classes = whole("classes", classes)
    radius = number("radius", radius, low_open=True)
    angles = 2.0 * np.pi * np.arange(classes) / classes
    return radius * np.column_stack([np.cos(angles), np.sin(angles)])
