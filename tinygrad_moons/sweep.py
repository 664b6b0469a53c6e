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
from tinygrad_moons.validate import Seed, flag, is_int, random_state, whole


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
    hidden = whole("hidden", hidden)
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
    seed: Seed = 0,
    n_jobs: int | None = 1,
    backend: str | None = None,
    scheduler: str | None = None,
    on_result: Callable[[SweepResult], None] | None = None,
) -> list[SweepResult]:
    """Train one network per hidden size, ``n_jobs`` at a time (never more workers than
    networks); results in ``sizes`` order, a size given twice twice.

    ``sizes`` are ints >= 1 (a float, a bool or a string is refused, never rounded).
    ``seed`` is an int (every network starts from it, as ``MLP([2, H, 2], seed=seed)``), a
    RandomState or None: then one int seed per size is drawn from it here, in ``sizes``
    order, before any job starts, so the results never depend on ``n_jobs`` or the backend.
    ``n_jobs`` is joblib's: an int other than 0 (-1: every core) or None (one).

    ``backend`` is any joblib backend ("loky", "threading", ...); "dask" connects a
    ``dask.distributed.Client`` to ``scheduler`` (an address such as "tcp://host:8786")
    and runs the jobs on that cluster; a ``scheduler`` with any other backend is refused,
    as it would be ignored. ``on_result`` is called with each result as soon as its
    network is trained, in the order they finish (for progress reports).
    """
    from joblib import Parallel, delayed, parallel_config

    sizes = [whole(f"sizes[{i}]", h) for i, h in enumerate(sizes)]
    if scheduler is not None and backend != "dask":
        raise ValueError(
            f"scheduler is only used with backend 'dask', not {backend!r}: "
            f"pass backend='dask' or no scheduler"
        )
    n_jobs = workers(n_jobs, len(sizes), local=backend != "dask")
    seeds = _seeds(seed, len(sizes))
    jobs = [
        delayed(_job)(i, h, epochs=epochs, lr=lr, reg=reg, seed=s)
        for i, (h, s) in enumerate(zip(sizes, seeds, strict=True))
    ]
    if backend != "dask":
        with parallel_config(backend=backend or "loky", n_jobs=n_jobs):
            return _in_order(Parallel(return_as="generator_unordered")(jobs), on_result)
    if not scheduler:
        raise ValueError("backend 'dask' needs the scheduler's address, e.g. tcp://host:8786")
    try:
        from dask.distributed import Client
    except ImportError:
        raise ValueError(
            "backend 'dask' needs dask.distributed: pip install 'tinygrad_moons[distributed]'"
        ) from None
    with Client(scheduler), parallel_config(backend="dask", n_jobs=n_jobs):
        return _in_order(Parallel(return_as="generator_unordered")(jobs), on_result)


def _seeds(seed: Seed, count: int) -> list[int]:
    """Each network's int seed: an int seed for every one (the write-up's start for each
    size); from a RandomState or None, ``count`` ints drawn in order in the caller, so
    that no job advances its own pickled copy of the state."""
    if is_int(seed):
        return [int(seed)] * count
    rng = random_state(seed)  # a RandomState as given, None fresh entropy, else a TypeError
    return [int(s) for s in rng.randint(0, 2**32, size=count, dtype=np.int64)]


def _job(index: int, hidden: int, **options) -> tuple[int, SweepResult]:
    """One job of a sweep: its place in ``sizes`` and its trained network."""
    return index, train_hidden_size(hidden, **options)


def workers(n_jobs: int | None, networks: int, *, local: bool = True) -> int:
    """How many workers train ``networks`` networks: ``n_jobs`` (joblib's: an int other
    than 0, -1 every core of this machine when ``local``; None one), never more than the
    networks. A float, a bool, a string or 0 is a ValueError."""
    local = flag("workers' local", local)
    if n_jobs is not None and (not is_int(n_jobs) or n_jobs == 0):
        raise ValueError(
            f"n_jobs must be an int other than 0 (joblib's: -1 every core, -2 all but one) "
            f"or None, got {n_jobs!r}"
        )
    n_jobs = None if n_jobs is None else int(n_jobs)
    from joblib import effective_n_jobs

    if n_jobs == -1 and not local:
        return n_jobs  # a cluster's size is the cluster's to say
    return max(1, min(effective_n_jobs(n_jobs), networks))


def _in_order(
    finished: Iterable[tuple[int, SweepResult]],
    on_result: Callable[[SweepResult], None] | None,
) -> list[SweepResult]:
    """The results as they finish, handed to ``on_result``, then put in ``sizes`` order
    by each job's place (a size given twice is two jobs, two places)."""
    results: dict[int, SweepResult] = {}
    for index, result in finished:
        if on_result is not None:
            on_result(result)
        results[index] = result
    return [results[index] for index in sorted(results)]
