"""The whole trainings the benchmark times: the hand-written loops are the same maths as fit."""

from __future__ import annotations

import math

import pytest

from tinygrad_moons import bench
from tinygrad_moons.bench import trainings
from tinygrad_moons.bench.steps import Problem


def test_the_hand_written_mini_batch_loops_are_fits_maths_to_the_last_bits():
    problem = Problem.make(200, 3)
    fitted = trainings.minibatch_fit(problem, 3)
    assert trainings.minibatch_loop(problem, 3) == pytest.approx(fitted, rel=1e-12)
    assert trainings.minibatch_floor(problem, 3) == pytest.approx(fitted, rel=1e-12)


def test_the_dropout_loop_and_its_floor_are_fits_maths_and_masks_to_the_last_bits():
    problem = Problem.make(200, trainings.DROPOUT_HIDDEN)
    start = trainings._scores(problem.start, problem.X, problem.y)[0]
    fitted = trainings.dropout_fit(problem, 30)
    assert math.isfinite(fitted) and fitted < start
    assert trainings.dropout_loop(problem, 30) == pytest.approx(fitted, rel=1e-12)
    assert trainings.dropout_floor(problem, 30) == pytest.approx(fitted, rel=1e-12)


def test_the_full_batch_floor_is_fits_maths_to_the_last_bits():
    problem = Problem.make(200, 3)
    for epochs in (1, 4):
        fitted = bench.fit_run(problem, epochs)
        assert trainings.fit_floor(problem, epochs) == pytest.approx(fitted, rel=1e-12)


def test_the_trainings_are_measured_with_their_targets():
    result = bench.run_benchmark(
        workloads=((200, 3),), repeats=1, min_time=0.001, memory=False, fit_epochs=40,
        fit_repeats=1, minibatch_epochs=3,
    )  # fmt: skip
    checks = {(c.target.method, c.target.workload): c for c in result.targets()}
    for method, workload in [("minibatch_fit", (200, 3)), ("dropout_fit", (200, 50))]:
        assert checks[method, workload].ratio is not None
    for floor, workload in [
        ("fit_floor", (200, 3)), ("minibatch_floor", (200, 3)), ("dropout_floor", (200, 50)),
    ]:  # fmt: skip
        assert result.ratio(floor, workload) is not None


def test_the_floors_score_as_history_does():
    problem = Problem.make(200, 3)
    step = bench.steps.FloorStep(problem)
    step.params["W2"][:, 0] *= -1.0  # somewhere between all right and all wrong
    loss, accuracy = trainings._FloorScores(step)()
    expected_loss, expected_accuracy = trainings._scores(step.params, problem.X, problem.y)
    assert loss == pytest.approx(expected_loss, rel=1e-12) and accuracy == expected_accuracy
    assert 0.0 < accuracy < 1.0


def test_the_mini_batch_trainings_run_the_targets_epochs_whatever_the_full_batch_fits():
    # The target is set at 500 epochs: --quick's shorter full-batch fit must not shorten
    # them, or fit's setup per fit (its captures) would weigh ten times more.
    assert trainings.MINIBATCH_EPOCHS == 500
    for fit_epochs in (2000, 20_000):
        assert bench.training_epochs("minibatch_fit", fit_epochs) == 500
        assert bench.training_epochs("minibatch_loop", fit_epochs, 7) == 7
    assert bench.training_epochs("dropout_fit", 2000) == 200
