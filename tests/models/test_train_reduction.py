"""fit(reduction="mean"): each step on its batch's objective divided by its rows."""

import numpy as np
import pytest

from tinygrad_moons import data, nn
from tinygrad_moons.train import fit


@pytest.fixture(scope="module")
def moons():
    return data.make_moons()


def test_full_batch_mean_with_lr_times_n_takes_the_write_ups_steps(moons):
    X, y = moons
    summed = fit(nn.MLP([2, 3, 2], seed=0), X, y, epochs=50, progress=False)
    mean = fit(
        nn.MLP([2, 3, 2], seed=0), X, y, epochs=50, lr=0.01 * len(y), reduction="mean",
        progress=False,
    )  # fmt: skip
    np.testing.assert_allclose(mean.loss, summed.loss, rtol=1e-12)
    assert mean.lr == [0.01 * len(y)] * 50  # the rate the caller gave, not a converted one


@pytest.mark.parametrize("compiled", [True, False])
def test_mini_batch_mean_divides_each_step_by_the_batch_rows(moons, compiled):
    X, y = moons
    kwargs = dict(epochs=5, batch_size=40, seed=0, progress=False, compiled=compiled)
    summed = fit(nn.MLP([2, 3, 2], seed=0), X, y, lr=0.01, **kwargs)
    mean = fit(nn.MLP([2, 3, 2], seed=0), X, y, lr=0.4, reduction="mean", **kwargs)
    np.testing.assert_allclose(mean.loss, summed.loss, rtol=1e-12)


def test_a_last_smaller_batch_takes_a_whole_step_on_its_mean(moons):
    """With 200 rows in batches of 150, the last batch has 50: "mean" divides its gradient
    by 50 (not 150), so it is not the "sum" run at lr / 150."""
    X, y = moons
    kwargs = dict(epochs=3, batch_size=150, shuffle=False, progress=False)
    summed = fit(nn.MLP([2, 3, 2], seed=0), X, y, lr=0.01, **kwargs)
    mean = fit(nn.MLP([2, 3, 2], seed=0), X, y, lr=1.5, reduction="mean", **kwargs)
    assert not np.allclose(mean.loss, summed.loss, rtol=1e-6)


def test_compiled_and_eager_mean_agree_bit_for_bit(moons):
    X, y = moons
    runs = [
        fit(nn.MLP([2, 3, 2], seed=0), X, y, epochs=20, lr=2.0, reduction="mean",
            progress=False, compiled=compiled).loss
        for compiled in (True, False)
    ]  # fmt: skip
    assert runs[0] == runs[1]


def test_an_unknown_reduction_is_refused_by_name(moons):
    with pytest.raises(ValueError, match="reduction must be 'sum' or 'mean', got 'avg'"):
        fit(nn.MLP([2, 3, 2], seed=0), *moons, epochs=1, reduction="avg", progress=False)
