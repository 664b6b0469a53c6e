"""The write-up's training with autodiff, held to DESIGN's table against reference.py.

Both sides are computed here: ``reference.train`` (the write-up's hand-derived formulas,
naive softmax) and ``writeup.train`` (backward() on the summed objective with the stable
fused loss). "Pass i" is the loss after the update of pass i.
"""

import functools

import numpy as np
import pytest

from tinygrad_moons import reference, writeup
from tinygrad_moons.data import make_moons

# hidden size -> (passes compared pass by pass, whether all 20,000 passes are compared)
TABLE = {1: (1000, True), 2: (400, False), 3: (1000, True), 4: (1000, False)}
TABLE.update({5: (1000, True), 20: (1000, True), 50: (1000, True)})
FULL_PASSES = 20000


@functools.cache
def runs(hidden):
    X, y = make_moons()
    compared, full = TABLE[hidden]
    passes = FULL_PASSES if full else compared + 1
    _, ref_losses = reference.train(X, y, hidden, passes=passes)
    _, auto_losses = writeup.train(X, y, hidden, passes=passes)
    return ref_losses, auto_losses


@pytest.mark.parametrize("hidden", sorted(TABLE))
def test_early_passes_agree_pass_by_pass_to_1e_9(hidden):
    ref_losses, auto_losses = runs(hidden)
    compared = TABLE[hidden][0] + 1
    np.testing.assert_allclose(auto_losses[:compared], ref_losses[:compared], rtol=1e-9, atol=0)


@pytest.mark.parametrize("hidden", [h for h, (_, full) in TABLE.items() if full])
def test_last_two_losses_after_20000_passes_agree_as_an_unordered_pair(hidden):
    ref_losses, auto_losses = runs(hidden)
    assert len(ref_losses) == len(auto_losses) == FULL_PASSES
    np.testing.assert_allclose(
        np.sort(auto_losses[-2:]), np.sort(ref_losses[-2:]), rtol=1e-8, atol=0
    )


def test_hidden_3_ends_in_a_period_2_oscillation():
    ref_losses, auto_losses = runs(3)
    for losses in (ref_losses, auto_losses):
        tail = losses[-1000:]
        np.testing.assert_allclose(tail[2::2], tail[:-2:2], rtol=1e-8)
        np.testing.assert_allclose(tail[3::2], tail[1:-2:2], rtol=1e-8)
        assert abs(tail[1] - tail[0]) > 5e-4


def test_printed_six_decimal_values_for_hidden_3():
    ref_losses, auto_losses = runs(3)
    for losses in (ref_losses, auto_losses):
        print(f"pass 0: {losses[0]:f}, pass 1000: {losses[1000]:f}")
        assert f"{losses[0]:f}" == "0.432387"
        assert f"{losses[1000]:f}" == "0.068947"
        assert {f"{losses[19000]:f}", f"{losses[19001]:f}"} == {"0.071316", "0.070758"}


def test_loss_before_any_update_for_hidden_3():
    X, y = make_moons()
    start = reference.loss(reference.init_params(3), X, y, 0.01)
    assert f"{start:f}" == "0.583940"
    objective = writeup.summed_objective(
        writeup.as_tensors(reference.init_params(3)), X, y, 0.01
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
    autodiff = writeup.autodiff_gradients(params, X, y, 0.01)
    for name in writeup.PARAM_NAMES:
        assert autodiff[name].shape == params[name].shape
        assert writeup.relative_error(autodiff[name], formulas[name]) <= 1e-10


def test_finite_differences_confirm_both_gradients():
    X, y = make_moons()
    params = reference.init_params(3)
    rows = writeup.gradient_agreement(params, X, y, 0.01)
    for errors in rows.values():
        assert errors["autodiff_vs_fd"] <= 1e-6 and errors["formulas_vs_fd"] <= 1e-6
