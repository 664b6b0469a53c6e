"""Every op of the contract: values against numpy and gradients against finite differences."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_moons import Tensor, gradcheck

rng = np.random.default_rng(0)


def leaf(shape, low=-2.0, high=2.0):
    return Tensor(rng.uniform(low, high, size=shape), requires_grad=True)


# ---------------------------------------------------------------- binary ops, broadcasting
BINARY = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}
SHAPE_PAIRS = [((3, 1), (1, 4)), ((4,), (3, 4)), ((2, 3, 4), (3, 1)), ((), (2, 3)), ((2, 2), ())]


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("shapes", SHAPE_PAIRS, ids=str)
def test_binary_op_gradients_sum_back_over_broadcast_axes(name, shapes):
    a = leaf(shapes[0])
    b = leaf(shapes[1], low=0.5, high=2.0)  # away from 0 for the division
    assert gradcheck(BINARY[name], [a, b])
    np.testing.assert_allclose(BINARY[name](a, b).data, BINARY[name](a.data, b.data))


@pytest.mark.parametrize("name", BINARY)
def test_binary_op_with_python_number_on_either_side(name):
    x = leaf((2, 3), low=0.5, high=2.0)
    op = BINARY[name]
    assert gradcheck(lambda t: op(t, 1.5), [x])
    assert gradcheck(lambda t: op(1.5, t), [x])
    np.testing.assert_allclose(op(1.5, x).data, op(1.5, x.data))


def test_binary_op_gradient_for_only_one_input_requiring_it():
    a = leaf((3, 4))
    b = Tensor(rng.uniform(0.5, 2, size=(4,)))
    assert gradcheck(lambda x, w: x / w + w * x, [a, b])


def test_neg_and_pow():
    x = leaf((3, 2), low=0.5, high=2.0)
    assert gradcheck(lambda t: -t, [x])
    for p in (2, 3, 0.5, -1.5):
        assert gradcheck(lambda t, p=p: t**p, [x])
        np.testing.assert_allclose((x**p).data, x.data**p)


def test_matmul_values_and_gradients():
    a, b = leaf((4, 3)), leaf((3, 5))
    np.testing.assert_allclose((a @ b).data, a.data @ b.data)
    assert gradcheck(lambda x, w: x @ w, [a, b])
    assert gradcheck(lambda w: np.ones((2, 4)) @ w, [a])


# ---------------------------------------------------------------- reductions
AXES = [None, 0, 1, -1, (0, 2)]


@pytest.mark.parametrize("axis", AXES, ids=str)
@pytest.mark.parametrize("keepdims", [False, True])
@pytest.mark.parametrize("name", ["sum", "mean", "max"])
def test_reductions(name, axis, keepdims):
    x = leaf((2, 3, 4))
    out = getattr(x, name)(axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(out.data, getattr(np, name)(x.data, axis=axis, keepdims=keepdims))
    assert gradcheck(lambda t: getattr(t, name)(axis=axis, keepdims=keepdims), [x])


def test_reductions_of_a_0d_tensor():
    x = Tensor(1.5, requires_grad=True)
    for name in ("sum", "mean", "max"):
        assert gradcheck(lambda t, name=name: getattr(t, name)(), [x])


def test_full_max_shares_the_gradient_among_ties_like_torch_amax():
    x = Tensor([1.0, 3.0, 3.0, 2.0], requires_grad=True)
    x.max().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.5, 0.5, 0.0])


def test_axis_max_shares_the_gradient_among_ties_per_slice():
    x = Tensor([[2.0, 2.0, 2.0], [1.0, 0.0, 1.0]], requires_grad=True)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(x.grad, [[1 / 3, 1 / 3, 1 / 3], [0.5, 0.0, 0.5]])


# ---------------------------------------------------------------- elementwise
UNARY = {
    "exp": (np.exp, -2, 2),
    "log": (np.log, 0.2, 3),
    "sqrt": (np.sqrt, 0.2, 3),
    "abs": (np.abs, -2, 2),
    "tanh": (np.tanh, -3, 3),
    "sigmoid": (lambda v: 1 / (1 + np.exp(-v)), -5, 5),
    "relu": (lambda v: np.maximum(v, 0), -2, 2),
}


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("shape", [(), (5,), (3, 4)], ids=str)
def test_unary_ops(name, shape):
    numpy_fn, low, high = UNARY[name]
    x = leaf(shape, low, high)
    if name in ("abs", "relu"):  # keep away from the kink, where differences are one-sided
        x.data[np.abs(x.data) < 0.05] = 0.5
    out = getattr(x, name)()
    np.testing.assert_allclose(out.data, numpy_fn(x.data), rtol=1e-14)
    assert gradcheck(lambda t: getattr(t, name)(), [x])


def test_gradients_at_the_kinks_follow_torch():
    x = Tensor([0.0, 0.0], requires_grad=True)
    (x.abs() + x.relu()).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0])


def test_sigmoid_is_finite_and_exact_at_extremes():
    s = Tensor([-1000.0, 0.0, 1000.0]).sigmoid().data
    np.testing.assert_array_equal(s, [0.0, 0.5, 1.0])


# ---------------------------------------------------------------- shape ops
def test_reshape_accepts_a_tuple_or_separate_ints():
    x = leaf((2, 6))
    assert x.reshape(3, 4).shape == (3, 4)
    assert x.reshape((4, 3)).shape == (4, 3)
    assert x.reshape(-1).shape == (12,)
    assert gradcheck(lambda t: t.reshape(3, 4) * np.arange(12.0).reshape(3, 4), [x])


def test_transpose():
    x = leaf((2, 3))
    np.testing.assert_array_equal(x.T.data, x.data.T)
    assert gradcheck(lambda t: t.T @ np.ones((2, 2)), [x])


@pytest.mark.parametrize(
    "index",
    [
        1,
        slice(0, 2),
        (slice(None), 1),
        np.array([0, 2, 2]),
        np.array([True, False, True]),
        (np.array([0, 1]), np.array([2, 0])),
    ],
    ids=["int", "slice", "column", "int_array", "bool_mask", "fancy_pair"],
)
def test_indexing_values_and_scatter_add_gradients(index):
    x = leaf((3, 3))
    np.testing.assert_array_equal(x[index].data, x.data[index])
    assert gradcheck(lambda t: t[index] * 2.0, [x])


def test_repeated_indices_accumulate_their_gradients():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[np.array([0, 0, 2])].sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 0.0, 1.0])


# ---------------------------------------------------------------- property-based
finite = st.floats(-3, 3, allow_nan=False, allow_infinity=False)
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)


@settings(max_examples=25, deadline=None)
@given(data=hnp.arrays(np.float64, shapes, elements=finite))
def test_elementwise_chain_gradient_for_drawn_shapes_and_values(data):
    x = Tensor(data, requires_grad=True)
    assert gradcheck(lambda t: (t.tanh() * t.sigmoid() + (t * t + 1.0).sqrt()).exp(), [x])


@settings(max_examples=25, deadline=None)
@given(
    data=hnp.arrays(np.float64, shapes, elements=finite),
    reduction=st.sampled_from(["sum", "mean"]),
    keepdims=st.booleans(),
    pick_axis=st.integers(min_value=-1, max_value=2),
)
def test_reductions_for_drawn_shapes_and_axes(data, reduction, keepdims, pick_axis):
    axis = None if data.ndim == 0 or pick_axis < 0 else pick_axis % data.ndim
    x = Tensor(data, requires_grad=True)
    out = getattr(x, reduction)(axis=axis, keepdims=keepdims)
    np.testing.assert_allclose(out.data, getattr(np, reduction)(data, axis=axis, keepdims=keepdims))
    assert gradcheck(lambda t: getattr(t, reduction)(axis=axis, keepdims=keepdims) ** 2, [x])


@settings(max_examples=25, deadline=None)
@given(
    pair=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3),
    values=st.integers(0, 2**32 - 1),
)
def test_broadcast_products_for_drawn_shape_pairs(pair, values):
    draw = np.random.default_rng(values)
    a = Tensor(draw.uniform(0.5, 2, size=pair.input_shapes[0]), requires_grad=True)
    b = Tensor(draw.uniform(0.5, 2, size=pair.input_shapes[1]), requires_grad=True)
    assert (a * b / (a + b)).shape == pair.result_shape
    assert gradcheck(lambda x, y: x * y / (x + y) - y, [a, b])
