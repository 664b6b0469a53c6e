"""A bias's gradient, the column sums of a 2-D gradient (``ops.column_sums``, BLAS's
ones @ grad), against torch float64 and against numpy's sum over the rows."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_moons import Tensor, gradcheck, ops


@settings(max_examples=25, deadline=None)
@given(
    rows=st.integers(0, 40),
    cols=st.integers(1, 5),
    kept=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_a_bias_gradient_is_torchs(rows, cols, kept, seed):
    """x (rows, cols) + b, b of shape (cols,) or (1, cols): b's gradient as torch's."""
    rng = np.random.default_rng(seed)
    x, b = rng.normal(size=(rows, cols)), rng.normal(size=(1, cols) if kept else (cols,))
    seed_grad = rng.normal(size=(rows, cols))
    ours = Tensor(b, requires_grad=True)
    (Tensor(x) + ours).backward(seed_grad)
    theirs = torch.tensor(b, requires_grad=True)
    (torch.tensor(x) + theirs).backward(torch.tensor(seed_grad))
    assert ours.grad.shape == b.shape
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_column_sums_of_non_contiguous_and_non_finite_gradients():
    """A transposed gradient sums as a contiguous one; NaN and infinities propagate as in
    numpy's sum, which warns of inf + -inf as the matmul does."""
    g = np.random.default_rng(0).normal(size=(3, 50))
    np.testing.assert_allclose(ops.unbroadcast(g.T, (3,)), g.sum(axis=1), rtol=1e-13)
    g = np.array([[1.0, np.inf, np.nan], [2.0, 1.0, 0.0]])
    np.testing.assert_array_equal(ops.unbroadcast(g, (1, 3)), [[3.0, np.inf, np.nan]])
    with pytest.warns(RuntimeWarning, match="invalid value"):
        total = ops.unbroadcast(np.array([[np.inf], [-np.inf]]), (1,))
    assert np.isnan(total).all()


def test_the_ones_are_shared_and_read_only():
    ones = ops.ones_vector(7)
    assert ops.ones_vector(7) is ones and not ones.flags.writeable
    with pytest.raises(ValueError):
        ones[0] = 2.0


def test_kept_constants_are_few():
    """ops.kept holds a few arrays at a time: new lengths at every call (a fit's last
    batches, a sweep's sizes) never grow it without bound."""
    for n in range(1, 40):
        np.testing.assert_array_equal(ops.kept(np.arange, 0, 2 * n, 2), np.arange(0, 2 * n, 2))
    assert len(ops._KEPT) <= 16


def test_linear_and_add_bias_gradients_pass_gradcheck():
    rng = np.random.default_rng(1)
    x, w = Tensor(rng.normal(size=(6, 3))), Tensor(rng.normal(size=(3, 2)), requires_grad=True)
    b = Tensor(rng.normal(size=(1, 2)), requires_grad=True)
    assert gradcheck(lambda w, b: (x @ w + b).tanh(), [w, b])
