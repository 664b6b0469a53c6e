"""The write-up's hidden-size sweep, one model per size, in parallel with joblib.

Each size trains ``MLP([2, H, 2])`` with ``fit`` on the write-up's 200 points (with the
defaults, the write-up's own training) and is scored on fresh points from the same
generator. ``backend="dask"`` sends the same jobs to a Dask cluster through joblib's Dask
backend; the results are identical to a local run, since every job is seeded.

>>> [r.hidden for r in hidden_size_sweep([1, 2], epochs=5)]
[1, 2]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from tinygrad_moons import data, nn
from tinygrad_moons.train import fit, predict
from tinygrad_moons.validate import flag


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
    hidden: int, *, epochs: int = 20000, lr: float = 0.01, reg: float = 0.01, seed: int = 0
) -> SweepResult:
    """Train one write-up network of ``hidden`` units and score it on held-out points."""
    X, y = data.make_moons()
    X_test, y_test = data.held_out_moons()
    model = nn.MLP([2, hidden, 2], seed=seed)
    history = fit(model, X, y, epochs=epochs, lr=lr, reg=reg, progress=False)
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
    epochs: int = 20000,
    lr: float = 0.01,
    reg: float = 0.01,
    seed: int = 0,
    n_jobs: int = 1,
    backend: str | None = None,
    scheduler: str | None = None,
    on_result: Callable[[SweepResult], None] | None = None,
) -> list[SweepResult]:
    """Train one network per hidden size, ``n_jobs`` at a time (never more workers than
    networks); results in ``sizes`` order.

    ``backend`` is any joblib backend ("loky", "threading", ...); "dask" connects a
    ``dask.distributed.Client`` to ``scheduler`` (an address such as "tcp://host:8786")
    and runs the jobs on that cluster. ``on_result`` is called with each result as soon
    as its network is trained, in the order they finish (for progress reports).
    """
    from joblib import Parallel, delayed, parallel_config

    n_jobs = workers(n_jobs, len(sizes), local=backend != "dask")
    jobs = [
        delayed(train_hidden_size)(int(h), epochs=epochs, lr=lr, reg=reg, seed=seed) for h in sizes
    ]
    if backend != "dask":
        with parallel_config(backend=backend or "loky", n_jobs=n_jobs):
            return _in_order(sizes, Parallel(return_as="generator_unordered")(jobs), on_result)
    if not scheduler:
        raise ValueError("backend 'dask' needs the scheduler's address, e.g. tcp://host:8786")
    try:
        from dask.distributed import Client
    except ImportError:
        raise ValueError(
            "backend 'dask' needs dask.distributed: pip install 'tinygrad_moons[distributed]'"
        ) from None
    with Client(scheduler), parallel_config(backend="dask", n_jobs=n_jobs):
        return _in_order(sizes, Parallel(return_as="generator_unordered")(jobs), on_result)


def workers(n_jobs: int, networks: int, *, local: bool = True) -> int:
    """How many workers train ``networks`` networks: ``n_jobs`` (-1: every core of this
    machine, when ``local``), never more than the networks."""
    local = flag("workers' local", local)
    from joblib import effective_n_jobs

    if n_jobs == -1 and not local:
        return n_jobs  # a cluster's size is the cluster's to say
    return max(1, min(effective_n_jobs(n_jobs), networks))


def _in_order(
    sizes: Sequence[int],
    finished: Iterable[SweepResult],
    on_result: Callable[[SweepResult], None] | None,
) -> list[SweepResult]:
    """The results as they finish, handed to ``on_result``, then put in ``sizes`` order."""
    results = []
    for result in finished:
        if on_result is not None:
            on_result(result)
        results.append(result)
    by_size: dict[int, list[SweepResult]] = {}
    for result in results:
        by_size.setdefault(result.hidden, []).append(result)
    return [by_size[int(h)].pop() for h in sizes]
