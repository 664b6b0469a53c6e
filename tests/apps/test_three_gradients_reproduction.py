"""The write-up's training with autodiff, held to the reproduction table against reference.py.

Both sides are computed here: ``reference.train`` (the write-up's hand-derived formulas,
naive softmax) and ``fit(nn.MLP([2, H, 2], seed=0), X, y)`` (backward() on the summed
objective with the stable fused loss). "Pass i" is the loss after the update of pass i.
"""

import functools

import numpy as np
import pytest
from writeup_table import assert_table_holds, passes_needed, reference_losses

from tinygrad_moons import nn, reference, three_gradients
from tinygrad_moons.data import make_moons
from tinygrad_moons.train import fit


@functools.cache
def autodiff_losses(hidden):
    X, y = make_moons()
    model = nn.MLP([2, hidden, 2], seed=0)
    return np.array(fit(model, X, y, epochs=passes_needed(hidden), progress=False).loss)


@pytest.mark.parametrize("hidden", sorted(three_gradients.COMPARED_PASSES))
def test_autodiff_training_holds_the_reproduction_table(hidden):
    assert_table_holds(hidden, autodiff_losses(hidden))


def test_hidden_3_ends_in_a_period_2_oscillation():
    ref_losses, auto_losses = reference_losses(3), autodiff_losses(3)
    for losses in (ref_losses, auto_losses):
        tail = losses[-1000:]
        np.testing.assert_allclose(tail[2::2], tail[:-2:2], rtol=1e-8)
        np.testing.assert_allclose(tail[3::2], tail[1:-2:2], rtol=1e-8)
        assert abs(tail[1] - tail[0]) > 5e-4


def test_printed_six_decimal_values_for_hidden_3():
    ref_losses, auto_losses = reference_losses(3), autodiff_losses(3)
    for losses in (ref_losses, auto_losses):
        print(f"pass 0: {losses[0]:f}, pass 1000: {losses[1000]:f}")
        assert f"{losses[0]:f}" == "0.432387"
        assert f"{losses[1000]:f}" == "0.068947"
        assert {f"{losses[19000]:f}", f"{losses[19001]:f}"} == {"0.071316", "0.070758"}


def test_loss_before_any_update_for_hidden_3():
    X, y = make_moons()
    start = reference.loss(reference.init_params(3), X, y, 0.01)
    assert f"{start:f}" == "0.583940"
    objective = three_gradients.summed_objective(
        three_gradients.as_tensors(reference.init_params(3)), X, y, 0.01
    ).item()
    assert objective / len(X) == pytest.approx(start, rel=1e-14)


@pytest.mark.parametrize("hidden", [1, 3, 50])
@pytest.mark.parametrize("passes", [0, 1000])
def test_hand_derived_gradients_equal_autodiff_to_1e_10(hidden, passes):
    X, y = make_moons()
    params = reference.init_params(hidden)
    if passes:
        params, _ = reference.train(X, y, hidden, passes=passes)
    formulas = reference.gradients(params, X, y, 0.01)
    autodiff = three_gradients.autodiff_gradients(params, X, y, 0.01)
    for name in three_gradients.PARAM_NAMES:
        assert autodiff[name].shape == params[name].shape
        assert three_gradients.relative_error(autodiff[name], formulas[name]) <= 1e-10


def test_finite_differences_confirm_both_gradients():
    X, y = make_moons()
    params = reference.init_params(3)
    rows = three_gradients.gradient_agreement(params, X, y, 0.01)
    for errors in rows.values():
        assert errors["autodiff_vs_fd"] <= 1e-6 and errors["formulas_vs_fd"] <= 1e-6


def test_table_gaps_see_an_early_slip_and_a_late_one_but_not_a_swapped_phase():
    expected = reference_losses(3)
    early_gap, last_gap = three_gradients.table_gaps(3, expected, expected)
    assert early_gap == 0.0 and last_gap == 0.0
    slipped = expected.copy()
    slipped[500] *= 1 + 1e-8
    assert three_gradients.table_gaps(3, slipped, expected)[0] == pytest.approx(1e-8, rel=1e-3)
    swapped = expected.copy()
    swapped[-2:] = expected[-2:][::-1]  # the other phase of the period-2 cycle
    assert three_gradients.table_gaps(3, swapped, expected)[1] == 0.0
    late = expected.copy()
    late[-1] *= 1 + 1e-7
    assert three_gradients.table_gaps(3, late, expected)[1] == pytest.approx(1e-7, rel=1e-3)
    assert three_gradients.table_gaps(2, expected[:401], expected[:401])[1] is None
