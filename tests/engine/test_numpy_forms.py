"""Forms numpy 2 and torch take that a habit types: ``clip(min=, max=)``,
``reshape(..., order="F")``, and ``F.linear`` with a bias that broadcasts ((1,), (), ...)
or one sample x (in,). Values against numpy, derivatives against torch float64 (first and
second order) or finite differences where torch has no such form."""

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import tinygrad_moons.functional as F
from tests.torch_twin import assert_same, ours, theirs
from tinygrad_moons import Tensor, grad
from tinygrad_moons.gradcheck import gradcheck, gradgradcheck

X = np.array([[-2.0, -0.5, 0.0], [0.5, 1.0, 3.0]])


# ---------------------------------------------------------------------- clip
@pytest.mark.parametrize(
    "bounds",
    [{"min": -0.5}, {"max": 0.7}, {"min": -1.0, "max": 1.0}, {"min": np.array([0.0, -3.0, 1.0])}],
    ids=str,
)
def test_clip_takes_numpy_2s_min_and_max_keywords(bounds):
    want = np.clip(X, **bounds) if "min" in bounds and "max" in bounds else X.clip(**bounds)
    np.testing.assert_array_equal(Tensor(X).clip(**bounds).data, want)
    np.testing.assert_array_equal(F.clip(X, **bounds).data, want)
    t, tt = Tensor(X, requires_grad=True), torch.tensor(X, requires_grad=True)
    (t.clip(**bounds) * Tensor(X + 5)).sum().backward()
    torch_bounds = {k: torch.tensor(v) for k, v in bounds.items()}
    (tt.clamp(**torch_bounds) * torch.tensor(X + 5)).sum().backward()
    np.testing.assert_array_equal(t.grad, tt.grad.numpy())


def test_clip_keywords_take_tensor_bounds_and_their_gradients_as_torch():
    rng = np.random.default_rng(0)
    x, low, high = rng.normal(size=(3, 4)), rng.normal(size=4) - 0.5, rng.normal(size=4) + 0.5
    for got, want, part in zip(
        ours(lambda x, lo, hi: F.clip(x, min=lo, max=hi) ** 3, [x, low, high]),
        theirs(lambda x, lo, hi: torch.clamp(x, min=lo, max=hi) ** 3, [x, low, high]),
        ("value", "d1", "d2"),
    ):
        for g, w in zip(*((got, want) if part != "value" else ([got], [want]))):
            assert_same(g, w, f"clip {part}")


@pytest.mark.parametrize(
    ("call", "error", "message"),
    [
        (lambda t: t.clip(0.0, min=1.0), TypeError, "each bound once"),
        (lambda t: t.clip(None, 1.0, max=2.0), TypeError, "each bound once"),
        (lambda t: F.clip(t, 0.0, min=1.0), TypeError, "each bound once"),
        (lambda t: t.clip(), ValueError, "needs low or high"),
        (lambda t: t.clip(min=None, max=None), ValueError, "needs low or high"),
    ],
)
def test_clip_refuses_a_bound_given_twice_or_none(call, error, message):
    with pytest.raises(error, match=message):
        call(Tensor(X))


# ---------------------------------------------------------------------- reshape order
@pytest.mark.parametrize(
    ("shape", "new"),
    [((2, 3), (3, 2)), ((2, 3), (6,)), ((2, 3, 4), (4, -1)), ((6,), (2, 3)), ((2, 3), (1, 6, 1))],
)
def test_reshape_in_fortran_order_is_numpys_with_gradients(shape, new):
    rng = np.random.default_rng(1)
    a = rng.normal(size=shape)
    out = Tensor(a).reshape(new, order="F")
    np.testing.assert_array_equal(out.data, a.reshape(new, order="F"))
    np.testing.assert_array_equal(
        Tensor(a).reshape(*new, order="F").data, a.reshape(new, order="F")
    )
    # d/da sum(w * reshape(a)) is w put back in a's shape by the same order
    t = Tensor(a, requires_grad=True)
    w = rng.normal(size=out.shape)
    (t.reshape(new, order="F") * Tensor(w)).sum().backward()
    np.testing.assert_array_equal(t.grad, w.reshape(shape, order="F"))
    t = Tensor(a, requires_grad=True)
    assert gradcheck(lambda x: x.reshape(new, order="F") ** 3, [t])
    assert gradgradcheck(lambda x: x.reshape(new, order="F") ** 3, [t])


def test_reshape_in_c_order_is_unchanged_and_a_view():
    a = Tensor(np.arange(6.0))
    assert np.shares_memory(a.reshape(2, 3, order="C").data, a.data)


@pytest.mark.parametrize(
    ("order", "message"),
    [
        ("A", "order='A' reads in the memory order"),
        ("K", "must be 'C' or 'F'"),
        ("f", "must be 'C' or 'F'"),
    ],
)
def test_reshape_refuses_other_orders(order, message):
    with pytest.raises(ValueError, match=message):
        Tensor(np.arange(6.0)).reshape(2, 3, order=order)


# ---------------------------------------------------------------------- linear's bias
@pytest.mark.parametrize(
    ("x_shape", "bias_shape"),
    [
        ((4, 3), (1,)),
        ((4, 3), ()),
        ((4, 3), (1, 1)),
        ((4, 3), (4, 2)),
        ((3,), (2,)),
        ((3,), (1,)),
        ((3,), ()),
        ((2, 4, 3), (1,)),
        ((2, 4, 3), (4, 2)),
    ],
)
def test_linear_adds_a_bias_that_broadcasts_as_torchs(x_shape, bias_shape):
    """Values, first and second derivatives against torch's linear (its weight (out, in),
    ours (in, out))."""
    rng = np.random.default_rng(2)
    x, w, b = rng.normal(size=x_shape), rng.normal(size=(3, 2)), rng.normal(size=bias_shape)
    got = ours(lambda x, w, b: F.linear(x, w, b).tanh(), [x, w, b])
    want = theirs(lambda x, w, b: TF.linear(x, w.T, b).tanh(), [x, w, b])
    assert got[0].shape == want[0].shape
    assert_same(got[0], want[0], "linear's value")
    for g, h in zip(got[1] + got[2], want[1] + want[2], strict=True):
        assert g.shape == h.shape
        assert_same(g, h, "linear's derivatives")


def test_linear_of_one_sample_without_bias_is_a_vector_product():
    x, w = Tensor([1.0, 2.0], requires_grad=True), Tensor([[1.0, 0.0, 2.0], [3.0, 1.0, 0.0]])
    out = F.linear(x, w)
    np.testing.assert_array_equal(out.data, [7.0, 2.0, 2.0])
    (g,) = grad(out.sum(), [x])
    np.testing.assert_array_equal(g.data, [3.0, 4.0])


def test_linear_refuses_a_weight_that_is_not_a_matrix():
    with pytest.raises(ValueError, match=r"linear needs a weight \(k, m\)"):
        F.linear(np.ones((2, 3)), np.ones(3))
