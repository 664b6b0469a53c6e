"""reference.py, the oracle: the write-up's initialisation, loss and formulas."""

import numpy as np
import pytest

from tinygrad_moons import reference, three_gradients
from tinygrad_moons.data import make_moons


@pytest.mark.parametrize("hidden", [1, 3, 50])
def test_init_params_is_the_writeups_draw_without_touching_global_state(hidden):
    before = np.random.get_state()[1].copy()
    params = reference.init_params(hidden, seed=0)
    np.testing.assert_array_equal(np.random.get_state()[1], before)

    state = np.random.get_state()
    try:
        np.random.seed(0)
        W1 = np.random.randn(2, hidden) / np.sqrt(2)
        W2 = np.random.randn(hidden, 2) / np.sqrt(hidden)
    finally:
        np.random.set_state(state)
    np.testing.assert_array_equal(params["W1"], W1)
    np.testing.assert_array_equal(params["W2"], W2)
    np.testing.assert_array_equal(params["b1"], np.zeros((1, hidden)))
    np.testing.assert_array_equal(params["b2"], np.zeros((1, 2)))


def test_loss_is_the_mean_cross_entropy_plus_the_scaled_penalty():
    X, y = make_moons()
    params = reference.init_params(4, seed=3)
    _, probs = reference.forward(params, X)
    cross_entropy = -np.log(probs[np.arange(len(y)), y]).sum()
    penalty = 0.05 / 2 * (np.sum(params["W1"] ** 2) + np.sum(params["W2"] ** 2))
    assert reference.loss(params, X, y, 0.05) == pytest.approx(
        (cross_entropy + penalty) / len(y), rel=1e-14
    )


def test_gradients_are_of_the_summed_objective_with_each_parameters_shape():
    X, y = make_moons()
    params = reference.init_params(5, seed=1)
    grads = reference.gradients(params, X, y, 0.01)
    numeric = three_gradients.finite_difference_gradients(params, X, y, 0.01)
    for name, value in params.items():
        assert grads[name].shape == value.shape
        assert three_gradients.relative_error(grads[name], numeric[name]) < 1e-6


def test_gradients_do_not_change_the_parameters():
    X, y = make_moons()
    params = reference.init_params(3)
    copies = {k: v.copy() for k, v in params.items()}
    reference.gradients(params, X, y, 0.01)
    for name in params:
        np.testing.assert_array_equal(params[name], copies[name])


def test_train_records_the_loss_after_each_update():
    X, y = make_moons()
    params, losses = reference.train(X, y, 3, passes=3)
    assert losses.shape == (3,)
    assert losses[-1] == reference.loss(params, X, y, 0.01)


@pytest.mark.parametrize(
    "X, y, pattern",
    [
        (np.zeros((4, 3)), np.zeros(4, dtype=int), r"X must have shape \(N, 2\).*\(4, 3\)"),
        (np.zeros((4, 2)), np.zeros(3, dtype=int), r"y must have shape \(4,\).*\(3,\)"),
        (np.zeros((2, 2)), np.array([0, 2]), "labels 0 and 1"),
    ],
)
def test_bad_data_is_refused(X, y, pattern):
    with pytest.raises(ValueError, match=pattern):
        reference.loss(reference.init_params(2), X, y, 0.01)


def test_hidden_size_must_be_a_positive_integer():
    with pytest.raises(ValueError, match="positive integer"):
        reference.init_params(0)


def test_finite_difference_error_is_a_v_with_its_floor_near_1e_6():
    X, y = make_moons()
    steps = np.logspace(-12, -1, 23)
    errors = three_gradients.finite_difference_error_by_step(
        reference.init_params(3), X, y, 0.01, steps
    )
    best = int(np.argmin(errors))
    assert 1e-7 <= steps[best] <= 1e-4
    assert errors[best] < 1e-8
    assert errors[0] > 1e3 * errors[best] and errors[-1] > 1e3 * errors[best]
