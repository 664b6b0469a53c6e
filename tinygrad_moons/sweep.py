"""The write-up's hidden-size sweep, one model per size, in parallel with joblib.

Each size trains ``MLP([2, H, 2])`` with ``fit`` on the write-up's 200 points (with the
defaults, the write-up's own training) and is scored on fresh points from the same
generator. ``backend="dask"`` sends the same jobs to a Dask cluster through joblib's Dask
backend; the results are identical to a local run, since every job is seeded.

>>> [r.hidden for r in hidden_size_sweep([1, 2], passes=5)]
[1, 2]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from tinygrad_moons import data, nn
from tinygrad_moons.train import fit, predict


@dataclass(frozen=True)
class SweepResult:
    """One trained size: its accuracies, final loss and parameters (``state``)."""

    hidden: int
    train_accuracy: float
    test_accuracy: float
    final_loss: float
    state: dict[str, np.ndarray]

    def model(self) -> nn.MLP:
        """The trained network, rebuilt from ``state``."""
        model = nn.MLP([2, self.hidden, 2], seed=0)
        model.load_state_dict(self.state)
        return model


def train_hidden_size(
    hidden: int, *, passes: int = 20000, lr: float = 0.01, reg: float = 0.01, seed: int = 0
) -> SweepResult:
    """Train one write-up network of ``hidden`` units and score it on held-out points."""
    X, y = data.make_moons()
    X_test, y_test = data.held_out_moons()
    model = nn.MLP([2, hidden, 2], seed=seed)
    history = fit(model, X, y, epochs=passes, lr=lr, reg=reg, progress=False)
    return SweepResult(
        hidden=hidden,
        train_accuracy=history.accuracy[-1],
        test_accuracy=float(np.mean(predict(model, X_test) == y_test)),
        final_loss=history.loss[-1],
        state=model.state_dict(),
    )


def hidden_size_sweep(
    sizes: Sequence[int],
    *,
    passes: int = 20000,
    lr: float = 0.01,
    reg: float = 0.01,
    seed: int = 0,
    n_jobs: int = 1,
    backend: str | None = None,
    scheduler: str | None = None,
) -> list[SweepResult]:
    """Train one network per hidden size, ``n_jobs`` at a time; results in ``sizes`` order.

    ``backend`` is any joblib backend ("loky", "threading", ...); "dask" connects a
    ``dask.distributed.Client`` to ``scheduler`` (an address such as "tcp://host:8786")
    and runs the jobs on that cluster.
    """
    from joblib import Parallel, delayed, parallel_config

    jobs = [
        delayed(train_hidden_size)(int(h), passes=passes, lr=lr, reg=reg, seed=seed) for h in sizes
    ]
    if backend != "dask":
        with parallel_config(backend=backend or "loky", n_jobs=n_jobs):
            return Parallel()(jobs)
    if not scheduler:
        raise ValueError("backend 'dask' needs the scheduler's address, e.g. tcp://host:8786")
    try:
        from dask.distributed import Client
    except ImportError:
        raise ValueError(
            "backend 'dask' needs dask.distributed: pip install 'tinygrad_moons[distributed]'"
        ) from None
    with Client(scheduler), parallel_config(backend="dask", n_jobs=n_jobs):
        return Parallel()(jobs)
