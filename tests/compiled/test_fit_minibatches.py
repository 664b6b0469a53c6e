"""fit's mini-batches, compiled: each batch's rows gathered into its pass's inputs, the
labels read afresh at every replay, the permutation drawn as ``batches`` draws it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tinygrad_moons import data, nn
from tinygrad_moons.bench import trainings
from tinygrad_moons.bench.steps import Problem
from tinygrad_moons.train import NoProgressWarning, batches, fit


def _fit(X, y, compiled, **options):
    model = nn.MLP([2, 3, 2], seed=0)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", "fit runs this step eagerly")  # nothing to fall back
        warnings.simplefilter("ignore", NoProgressWarning)  # opposite labels learn nothing
        history = fit(model, X, y, progress=False, compiled=compiled, **options)
    return history, [p.data.copy() for p in model.parameters()]


@pytest.mark.parametrize("epochs", [1, 3])
def test_mini_batch_fit_is_the_hand_written_loops_maths(epochs):
    # batches of 7 over 200 rows: 28 of 7, then a last one of 4
    problem = Problem.make(200, 3)
    history, _ = _fit(
        problem.X, problem.y, None, epochs=epochs, lr=problem.lr, batch_size=7, seed=0
    )
    loop = trainings.minibatch_loop(problem, epochs, batch_size=7)
    assert history.loss[-1] == pytest.approx(loop, rel=1e-12)


@pytest.mark.parametrize("shuffle", [True, False])
@pytest.mark.parametrize("batch_size", [7, 29, 30])
def test_compiled_mini_batches_equal_eager_ones_bit_for_bit(shuffle, batch_size):
    X, y = data.make_moons(31, noise=0.3, seed=2)  # 31 rows: a last smaller batch, or one of 1
    options = {"epochs": 4, "batch_size": batch_size, "shuffle": shuffle, "seed": 5}
    eager, eager_params = _fit(X, y, False, **options)
    compiled, compiled_params = _fit(X, y, None, **options)
    assert compiled.loss == eager.loss and compiled.accuracy == eager.accuracy
    for a, b in zip(eager_params, compiled_params, strict=True):
        assert np.array_equal(a, b)


def test_each_replay_reads_its_own_batchs_labels():
    # Two batches of the same rows' features with opposite labels: a replay that kept the
    # labels it was captured with would step both ways alike, and part from eager.
    X, y = data.make_moons(20, noise=0.3, seed=1)
    X2, y2 = np.concatenate([X, X]), np.concatenate([y, 1 - y])
    runs = [_fit(X2, y2, c, epochs=3, batch_size=20, shuffle=False) for c in (False, None)]
    (eager, eager_params), (compiled, compiled_params) = runs
    assert compiled.loss == eager.loss
    for a, b in zip(eager_params, compiled_params, strict=True):
        assert np.array_equal(a, b)


def test_fit_draws_one_permutation_per_epoch_from_its_seed_as_batches_does():
    X, y = data.make_moons(30, noise=0.3, seed=0)
    stream, expected = np.random.RandomState(7), np.random.RandomState(7)
    _fit(X, y, None, epochs=3, batch_size=8, seed=stream)
    for _ in range(3):
        list(batches(X, y, 8, seed=expected))
    assert stream.randint(1 << 30) == expected.randint(1 << 30)
