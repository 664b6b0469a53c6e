"""fit's mini-batches, compiled: each batch's rows gathered into its pass's inputs, the
labels read afresh at every replay, the permutation drawn as ``batches`` draws it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tinygrad_moons import data, nn
from tinygrad_moons.bench import trainings
from tinygrad_moons.bench.steps import Problem
from tinygrad_moons.train import NoProgressWarning, TrainingDiverged, batches, fit


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


def _outcome(X, y, compiled, layer, name, value, replace=False):
    """fit's History, or its TrainingDiverged message, when a callback sets one Linear's
    ``name`` (weight or bias) to ``value`` after epoch 2 (so that the next batch's forward
    is a later replay of its pass, which leaves the loss out when a cheap bound vouches):
    in place, or with ``replace`` in a new array."""
    model = nn.MLP([2, 3, 2], seed=0)

    def set_weights(epoch, history):
        if epoch == 2:
            param = getattr(model[layer], name)
            if replace:
                param.data = np.full_like(param.data, value)
            else:
                param.data[...] = value

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoProgressWarning)
            history = fit(
                model, X, y, epochs=5, batch_size=8, seed=0, progress=False,
                compiled=compiled, callbacks=[set_weights],
            )  # fmt: skip
        result = (history.loss, history.accuracy)
    except TrainingDiverged as error:
        result = str(error)
    return result, [p.data.copy() for p in model.parameters()]


@pytest.mark.parametrize(
    ("layer", "name", "value", "diverges"),
    [
        (0, "weight", 1e160, True),  # tanh keeps the logits small, but |W|^2 overflows
        (2, "weight", 1e200, True),  # logits of 1e200: their squares overflow, and |W|^2's
        (2, "weight", 1e151, False),  # too large for the cheap bound, yet a finite loss
        (2, "bias", 1e200, False),  # logits of 1e200, |W|^2 small: a finite loss
        (2, "bias", np.nan, True),  # NaN logits, |W|^2 small
        (2, "bias", np.inf, True),
    ],
)
@pytest.mark.parametrize("replace", [False, True])
def test_a_loss_the_cheap_bound_cannot_vouch_for_is_checked_exactly_as_eagerly(
    layer, name, value, diverges, replace
):
    # Replaced, a weight's array is no longer its view of the flat step's arrays, whose
    # sum of squares bounds |W|^2 only while they hold the weights.
    X, y = data.make_moons(32, noise=0.3, seed=3)
    eager, eager_params = _outcome(X, y, False, layer, name, value, replace)
    compiled, compiled_params = _outcome(X, y, None, layer, name, value, replace)
    assert isinstance(eager, str) == diverges
    assert str(compiled) == str(eager)  # the message, or the History (NaN != NaN in a list)
    for a, b in zip(eager_params, compiled_params, strict=True):
        assert np.array_equal(a, b, equal_nan=True)


@pytest.mark.parametrize(("n", "captures"), [(40, 2), (45, 3)])
def test_each_shape_of_pass_is_captured_once_per_fit(monkeypatch, n, captures):
    # Batches of 20: the scoring pass and the batch pass, and a pass for a last batch of 5
    # only when there is one; never a pass captured again in a later epoch.
    from tinygrad_moons import train

    made = []
    real = train.capture
    monkeypatch.setattr(train, "capture", lambda *a, **k: made.append(1) or real(*a, **k))
    X, y = data.make_moons(n, noise=0.3, seed=0)
    _fit(X, y, None, epochs=4, batch_size=20, seed=0)
    assert len(made) == captures
