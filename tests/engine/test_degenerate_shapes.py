"""Degenerate shapes and values against PyTorch float64 and numpy: arrays with no elements
((0,), (0, 3), (3, 0), (2, 0, 3)), 0-d tensors, size-1 axes that broadcast, and inf, NaN,
-0.0, subnormals and 1e308 in reductions and activations. Each row of a table is an op, its
inputs and torch's spelling (or the exact answer); values, gradients (backward through
grad) and second derivatives (grad with create_graph=True) must agree, shapes included.
Where torch answers and the library deliberately refuses (docs/api.md), the refusal is
asserted instead."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch_twin import assert_same, ours, theirs

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, grad, nn

EMPTY = [(0,), (0, 3), (3, 0), (2, 0, 3)]


def _data(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def agree(our_fn, torch_fn, arrays):
    """Value, first and second derivatives of ours and torch's agree, shapes included."""
    arrays = [np.asarray(a, dtype=float) for a in arrays]
    got, want = ours(our_fn, arrays), theirs(torch_fn, arrays)
    assert got[0].shape == want[0].shape, (got[0].shape, want[0].shape)
    assert_same(got[0], want[0], "value")
    for order, name in ((1, "gradient"), (2, "second derivative")):
        for i, (g, w) in enumerate(zip(got[order], want[order])):
            assert g.shape == arrays[i].shape, f"{name} of input {i}: shape {g.shape}"
            assert_same(g, w, f"{name} of input {i}")


# (name, ours, torch's, input shapes): every row at every shape in EMPTY and its axes
AXIS_OPS = {
    "sum": (lambda x, a: x.sum(axis=a), lambda x, a: x.sum(dim=a)),
    "sum keepdims": (lambda x, a: x.sum(axis=a, keepdims=True), lambda x, a: x.sum(a, True)),
    "mean": (lambda x, a: x.mean(axis=a), lambda x, a: x.mean(dim=a)),
    "prod": (lambda x, a: x.prod(axis=a), lambda x, a: x.prod(dim=a)),
    "prod keepdims": (lambda x, a: F.prod(x, a, keepdims=True), lambda x, a: x.prod(a, True)),
    "cumsum": (lambda x, a: x.cumsum(axis=a), lambda x, a: x.cumsum(a)),
    "cumprod": (lambda x, a: F.cumprod(x, axis=a), lambda x, a: x.cumprod(a)),
    "softmax": (lambda x, a: F.softmax(x, axis=a), lambda x, a: torch.softmax(x, a)),
    "log_softmax": (lambda x, a: F.log_softmax(x, axis=a), lambda x, a: torch.log_softmax(x, a)),
    "sort": (lambda x, a: x.sort(axis=a), lambda x, a: x.sort(dim=a, stable=True).values),
    "flip": (lambda x, a: x.flip(axis=a), lambda x, a: x.flip((a,))),
    "roll": (lambda x, a: x.roll(1, axis=a), lambda x, a: x.roll(1, a)),
    "diff": (lambda x, a: F.diff(x, axis=a), lambda x, a: torch.diff(x, dim=a)),
    "repeat": (lambda x, a: x.repeat(2, axis=a), lambda x, a: x.repeat_interleave(2, a)),
    "concatenate": (
        lambda x, a: F.concatenate([x, x * 2], axis=a),
        lambda x, a: torch.cat([x, x * 2], a),
    ),
    "stack": (lambda x, a: F.stack([x, x], axis=a), lambda x, a: torch.stack([x, x], a)),
}


@pytest.mark.parametrize("name", sorted(AXIS_OPS))
@pytest.mark.parametrize("shape", EMPTY, ids=str)
def test_ops_along_every_axis_of_an_empty_array_agree_with_torch(name, shape):
    """(0, 3).prod(axis=1) was a ValueError ("cannot reshape array of size 0 into shape
    (0,newaxis)"): the reshape to (rows, -1) cannot infer -1 when rows hold nothing."""
    our_op, torch_op = AXIS_OPS[name]
    for axis in range(-len(shape), len(shape)):
        agree(lambda x, a=axis: our_op(x, a), lambda x, a=axis: torch_op(x, a), [_data(shape)])


@pytest.mark.parametrize("shape", EMPTY, ids=str)
def test_whole_array_reductions_of_empty_arrays_are_numpys(shape):
    """sum 0, prod 1, mean NaN (numpy and torch), max and min refused (numpy and torch)."""
    x = Tensor(np.zeros(shape), requires_grad=True)
    for reduce, value in (("sum", 0.0), ("prod", 1.0)):
        out = getattr(x, reduce)()
        assert out.shape == () and out.item() == value
        (g,) = grad(out, [x])
        assert g.shape == shape
    with warnings.catch_warnings():  # numpy's "Mean of empty slice"
        warnings.simplefilter("ignore", RuntimeWarning)
        assert np.isnan(x.mean().item())
    for reduce in ("max", "min"):
        with pytest.raises(ValueError):
            getattr(x, reduce)()
        with pytest.raises(ValueError):
            getattr(x, reduce)(axis=shape.index(0))


@pytest.mark.parametrize(
    "a, b",
    [
        ((3, 0), (0, 4)),
        ((0, 3), (3, 4)),
        ((3, 4), (4, 0)),
        ((2, 3, 0), (0, 4)),
        ((1, 3, 0), (2, 0, 4)),
    ],
    ids=str,
)
def test_matmul_and_linear_with_an_empty_axis_agree_with_torch(a, b):
    """An inner size of 0 gives zeros of the result's shape, and gradients of the inputs'."""
    agree(lambda x, w: x @ w, lambda x, w: x @ w, [_data(a), _data(b, 1)])
    if len(a) == 2 and len(b) == 2:
        args = [_data(a), _data(b, 1), _data(b[1:], 2)]
        agree(F.linear, lambda x, w, c: x @ w + c, args)


BROADCASTS = [
    ((0,), (1,)),
    ((0,), ()),
    ((0, 3), (1, 3)),
    ((0, 3), (3,)),
    ((3, 0), (3, 1)),
    ((0, 1), (1, 0)),
    ((1,), ()),
    ((1, 1), ()),
    ((1,), (1, 1)),
    ((2, 1), (1, 3)),
]
BINARY = {
    "+": (lambda x, y: x + y,) * 2,
    "*": (lambda x, y: x * y,) * 2,
    "/": (lambda x, y: x / y,) * 2,
    "**": (lambda x, y: x**y,) * 2,
    "maximum": (F.maximum, torch.maximum),
    "arctan2": (F.arctan2, torch.atan2),
    "logaddexp": (F.logaddexp, torch.logaddexp),
}


@pytest.mark.parametrize("op", sorted(BINARY))
@pytest.mark.parametrize("a, b", BROADCASTS, ids=str)
def test_broadcasting_against_size_one_and_empty_unbroadcasts_gradients(op, a, b):
    """Each input's gradient has its own shape: (1,) against (), (1, 1) and empty arrays."""
    arrays = [np.abs(_data(a)) + 0.5, np.abs(_data(b, 1)) + 0.5]
    agree(*BINARY[op], arrays)
    agree(*BINARY[op], arrays[::-1])


@pytest.mark.parametrize(
    "index",
    [
        np.array([], dtype=int),
        np.zeros(3, dtype=bool),
        (np.array([], dtype=int), np.array([], dtype=int)),
        np.zeros((3, 4), dtype=bool),
        np.array(False),
        np.array(True),
        slice(5, None),
    ],
    ids=lambda i: repr(i)[:30],
)
def test_indexing_with_nothing_selected_agrees_with_torch(index):
    as_torch = tuple(map(torch.tensor, index)) if isinstance(index, tuple) else index
    as_torch = torch.tensor(index) if isinstance(index, np.ndarray) else as_torch
    agree(lambda x: x[index], lambda x: x[as_torch], [_data((3, 4))])


JOINS = [
    (
        "concatenate",
        lambda a, b: F.concatenate([a, b]),
        lambda a, b: torch.cat([a, b]),
        (0, 3),
        (2, 3),
    ),
    (
        "concatenate 1",
        lambda a, b: F.concatenate([a, b], 1),
        lambda a, b: torch.cat([a, b], 1),
        (2, 0),
        (2, 3),
    ),
    (
        "concatenate None",
        lambda a, b: F.concatenate([a, b], None),
        lambda a, b: torch.cat([a.ravel(), b.ravel()]),
        (0, 3),
        (2, 3),
    ),
    ("stack 0-d", lambda a, b: F.stack([a, b], -1), lambda a, b: torch.stack([a, b], -1), (), ()),
    ("hstack", lambda a, b: F.hstack([a, b]), lambda a, b: torch.hstack([a, b]), (0,), (3,)),
    ("vstack", lambda a, b: F.vstack([a, b]), lambda a, b: torch.vstack([a, b]), (0, 3), (3,)),
    ("vstack 0-d", lambda a, b: F.vstack([a, b]), lambda a, b: torch.vstack([a, b]), (), ()),
    ("dstack 0-d", lambda a, b: F.dstack([a, b]), lambda a, b: torch.dstack([a, b]), (), ()),
    (
        "column_stack",
        lambda a, b: F.column_stack([a, b]),
        lambda a, b: torch.column_stack([a, b]),
        (0,),
        (0,),
    ),
    (
        "einsum",
        lambda a, b: F.einsum("ij,jk->ik", a, b),
        lambda a, b: torch.einsum("ij,jk->ik", a, b),
        (3, 0),
        (0, 4),
    ),
    ("outer", F.outer, torch.outer, (0,), (3,)),
    ("inner", F.inner, torch.inner, (0,), (0,)),
    ("kron", F.kron, torch.kron, (0,), (3,)),
    ("cross", F.cross, torch.linalg.cross, (0, 3), (0, 3)),
]


@pytest.mark.parametrize("name, our_op, torch_op, a, b", JOINS, ids=[j[0] for j in JOINS])
def test_joins_and_products_with_empty_parts_agree_with_torch(name, our_op, torch_op, a, b):
    agree(our_op, torch_op, [_data(a), _data(b, 1)])


UNARY_0D_AND_EMPTY = {
    "exp": (Tensor.exp, torch.exp),
    "abs": (Tensor.abs, torch.abs),
    "relu": (Tensor.relu, torch.relu),
    "sigmoid": (Tensor.sigmoid, torch.sigmoid),
    "reshape(-1)": (lambda x: x.reshape(-1), lambda x: x.reshape(-1)),
    "T": (lambda x: x.T, lambda x: x.permute(tuple(reversed(range(x.ndim))))),
    "clip": (lambda x: x.clip(-0.5, 0.5), lambda x: x.clamp(-0.5, 0.5)),
    "atleast_3d": (F.atleast_3d, torch.atleast_3d),
    "tile": (lambda x: F.tile(x, (2, 2)), lambda x: torch.tile(x, (2, 2))),
    "l2": (F.l2, lambda x: (x * x).sum()),
    "sum": (Tensor.sum, torch.sum),
    "cumsum": (Tensor.cumsum, lambda x: x.reshape(-1).cumsum(0)),
    "sort None": (lambda x: x.sort(axis=None), lambda x: x.reshape(-1).sort().values),
    "max_pool2d": (
        lambda x: F.max_pool2d(x.reshape(0, 2, 4, 4) if x.size == 0 else x.reshape(1, 1, 1, -1), 1),
        lambda x: TF.max_pool2d(
            x.reshape(0, 2, 4, 4) if x.numel() == 0 else x.reshape(1, 1, 1, -1), 1
        ),
    ),
}


@pytest.mark.parametrize("name", sorted(UNARY_0D_AND_EMPTY))
@pytest.mark.parametrize("shape", [(), (0,), (0, 32)], ids=str)
def test_elementwise_and_reshaping_of_0d_and_empty_agree_with_torch(name, shape):
    agree(*UNARY_0D_AND_EMPTY[name], [_data(shape)])


@pytest.mark.parametrize("padding", [0, 1])
@pytest.mark.parametrize("pool", ["max_pool2d", "avg_pool2d"])
def test_pooling_a_batch_of_no_images_agrees_with_torch(pool, padding):
    """max_pool2d of x (0, 2, 4, 4) was a ValueError ("cannot reshape array of size 0 into
    shape (0,2,2,2,newaxis)"): each window was flattened with -1, which no element fixes."""
    agree(
        lambda x: getattr(F, pool)(x, 2, padding=padding),
        lambda x: getattr(TF, pool)(x, 2, padding=padding),
        [_data((0, 2, 4, 4))],
    )


def test_conv2d_of_no_images_and_of_no_channels():
    """N = 0 as torch's; C = 0 sums over nothing: the bias alone, (N, O, OH, OW) (torch's
    result is (N, 0, OH, OW), O lost)."""
    agree(F.conv2d, TF.conv2d, [_data((0, 2, 5, 5)), _data((3, 2, 3, 3), 1), _data((3,), 2)])
    x, w = Tensor(np.ones((2, 0, 5, 5)), requires_grad=True), Tensor(np.ones((3, 0, 3, 3)))
    out = F.conv2d(x, w, np.arange(3.0))
    assert out.shape == (2, 3, 3, 3)
    np.testing.assert_array_equal(
        out.data, np.broadcast_to(np.arange(3.0)[:, None, None], (2, 3, 3, 3))
    )
    (g,) = grad(out.sum(), [x])
    assert g.shape == (2, 0, 5, 5)


@pytest.mark.parametrize("axis", [0, -1])
@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
def test_softmax_of_a_number_along_its_own_axis_is_torchs(name, axis):
    """torch's softmax and log_softmax take a 0-d tensor with dim 0 or -1 (1 and 0, with
    derivatives 0); it was refused here as the reductions refuse it. Another axis is
    refused by both."""
    agree(
        lambda x: getattr(F, name)(x, axis) * x,  # times x: a live second derivative
        lambda x: getattr(torch, name)(x, axis) * x,
        [np.array(-2.5)],
    )
    assert getattr(F, name)(Tensor(3.0), axis).shape == ()
    with pytest.raises(IndexError):
        getattr(torch, name)(torch.tensor(3.0), 1)
    with pytest.raises(ValueError, match=r"axis 1 is out of range for shape \(\)"):
        getattr(F, name)(Tensor(3.0), 1)


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric", "wrap"])
def test_padding_a_0d_tensor_gives_it_back_as_numpys(mode):
    """np.pad(np.array(1.5), 1) is array(1.5): a 0-d array has no axis to pad. F.pad gave
    it back for the copying modes but raised IndexError ("index 0 is out of bounds for
    size 0") for "constant", the default, reading a constant of no axis."""
    x = Tensor(1.5, requires_grad=True)
    out = F.pad(x, 1, mode=mode)
    assert out.shape == () and out.item() == np.pad(np.array(1.5), 1, mode=mode)
    assert out is not x and grad(out, [x])[0].item() == 1.0
    with pytest.raises(ValueError, match="pad's mode"):
        F.pad(x, 1, mode="circular")


# ---------------------------------------------------------------- extreme values
inf, nan = np.inf, np.nan
VALUES = {
    "nan": [1.0, nan, 3.0],
    "nan first": [nan, 1.0, 2.0],
    "inf": [1.0, inf, 2.0],
    "-inf": [-inf, 1.0, 2.0],
    "all -inf": [-inf, -inf, -inf],
    "inf and -inf": [inf, -inf, 0.0],
    "nan and infs": [nan, inf, -inf],
    "-0.0": [-0.0, 0.0, 0.0],
    "subnormal": [5e-324, 1e-310, 0.0],
    "1e308": [1e308, 1e308, -1e308],
    "tie": [2.0, 2.0, 1.0],
}
EXTREME_OPS = {
    "max": (lambda x: x.max(axis=-1), lambda x: x.amax(-1)),
    "min": (lambda x: x.min(axis=-1), lambda x: x.amin(-1)),
    "sum": (lambda x: x.sum(axis=-1), lambda x: x.sum(-1)),
    "mean": (lambda x: x.mean(axis=-1), lambda x: x.mean(-1)),
    "cumsum": (lambda x: x.cumsum(axis=-1), lambda x: x.cumsum(-1)),
    "softmax": (F.softmax, lambda x: torch.softmax(x, -1)),
    "log_softmax": (F.log_softmax, lambda x: torch.log_softmax(x, -1)),
    "sort": (lambda x: x.sort(), lambda x: x.sort(stable=True).values),
    "var": (lambda x: x.var(axis=-1), lambda x: x.var(-1, correction=0)),
    "norm": (lambda x: (x * x).sum(axis=-1).sqrt(), lambda x: (x * x).sum(-1).sqrt()),
    "relu": (F.relu, torch.relu),
    "leaky_relu": (F.leaky_relu, TF.leaky_relu),
    "clip": (lambda x: x.clip(-1.0, 1.5), lambda x: x.clamp(-1.0, 1.5)),
    "maximum": (lambda x: F.maximum(x, x.flip(-1)), lambda x: torch.maximum(x, x.flip(-1))),
    "fmax": (lambda x: F.fmax(x, x.flip(-1)), lambda x: torch.fmax(x, x.flip(-1))),
    "max_pool2d": (
        lambda x: F.max_pool2d(x.reshape(1, 2, 1, 3), (1, 3)),
        lambda x: TF.max_pool2d(x.reshape(1, 2, 1, 3), (1, 3)),
    ),
    "sigmoid": (F.sigmoid, torch.sigmoid),
    "tanh": (F.tanh, torch.tanh),
}


@pytest.mark.parametrize("name", sorted(EXTREME_OPS))
@pytest.mark.parametrize("values", sorted(VALUES))
def test_extreme_values_agree_with_torch(name, values):
    """NaN propagates through max, min and relu as in torch and numpy; softmax of a row of
    -inf is NaN in both. relu(NaN) was 0 with gradient 0 (x > 0 is False at NaN): a NaN
    from upstream vanished, silently, where torch's and np.maximum(x, 0) give NaN."""
    if (name, values) == ("var", "1e308"):
        pytest.skip("the sum in the mean overflows (numpy's and torch's too): see below")
    row = np.array(VALUES[values])
    agree(*EXTREME_OPS[name], [np.stack([row, row[::-1]])])


def test_variance_beyond_the_float_range_is_inf():
    """Σ (x - mean)² / n of [1e308, 1e308, -1e308] is some 9e615: inf, where torch's
    Welford answers -inf and NaN. (Its gradient is not checked: the mean's sum overflows,
    in numpy and torch alike, so 2 (x - mean) / n is -inf where it is some 4e307.)"""
    x = Tensor(np.array([[1e308, 1e308, -1e308], [-1e308, 1e308, 1e308]]))
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(x.var(axis=-1).data, [inf, inf])


def test_relu_keeps_nan_through_every_spelling():
    """F.relu, Tensor.relu and nn.ReLU give np.maximum(x, 0): NaN stays NaN."""
    x = np.array([nan, -1.0, 2.0, -0.0])
    for out in (F.relu(x), Tensor(x).relu(), nn.ReLU()(Tensor(x))):
        np.testing.assert_array_equal(out.data, np.maximum(x, 0.0))


# ---------------------------------------------------------------- deliberate differences
def test_documented_refusals_where_torch_answers():
    """docs/api.md: var and std over no elements, an empty batch's mean loss, and an axis
    given to a 0-d tensor (which has none) are ValueErrors here; torch answers NaN, NaN
    and the value itself."""
    with pytest.raises(ValueError, match="var over 0 element"):
        Tensor(np.zeros((0, 3))).var(axis=0)
    with pytest.raises(ValueError, match="var over 0 element"):
        Tensor(np.zeros((3, 0))).std()
    with pytest.raises(ValueError, match="N=0"):
        F.softmax_cross_entropy(np.zeros((0, 3)), np.zeros(0, dtype=int))
    with pytest.raises(ValueError, match="N=0"):
        F.mse(np.zeros((3, 0)), np.zeros((3, 0)))
    for axis in (0, -1):
        for reduce in ("sum", "mean", "max", "prod", "cumsum", "sort"):
            with pytest.raises(ValueError, match=r"out of range for shape \(\)"):
                getattr(Tensor(1.5), reduce)(axis=axis)
    assert Tensor(np.ones((2, 3))).sum(axis=()).shape == (2, 3)  # numpy's: nothing reduced


@pytest.mark.parametrize("axis", [(0, 0), (1, -1)])
def test_repeated_axes_are_refused_as_numpys(axis):
    x = Tensor(np.ones((2, 3)))
    for reduce in (x.sum, x.mean, x.max, x.prod, x.var):
        with pytest.raises(ValueError, match="repeated"):
            reduce(axis=axis)


# ---------------------------------------------------------------- drawn shapes
SHAPES = st.lists(st.integers(0, 3), min_size=1, max_size=3).map(tuple)
DRAWN = ["sum", "mean", "prod", "cumsum", "cumprod", "softmax", "log_softmax", "sort", "diff"]


@settings(max_examples=60, deadline=None, derandomize=True)
@given(shape=SHAPES, name=st.sampled_from(DRAWN), data=st.data())
def test_drawn_shapes_with_empty_axes_agree_with_torch(shape, name, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1), label="axis")
    our_op, torch_op = AXIS_OPS[name]
    agree(lambda x: our_op(x, axis), lambda x: torch_op(x, axis), [_data(shape)])


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    shapes=hnp.mutually_broadcastable_shapes(
        num_shapes=2, min_dims=0, max_dims=3, min_side=0, max_side=2
    ),
    op=st.sampled_from(sorted(BINARY)),
)
def test_drawn_broadcasts_with_empty_and_size_one_axes_agree_with_torch(shapes, op):
    """Every gradient unbroadcast to its own input's shape, whatever 0s and 1s meet."""
    a, b = shapes.input_shapes
    agree(*BINARY[op], [np.abs(_data(a)) + 0.5, np.abs(_data(b, 1)) + 0.5])


@pytest.mark.parametrize("name", ["arcsin", "arccos", "arccosh"])
@pytest.mark.parametrize("value", [2.0, -2.0, 1e155, -1e155, 1e308, -1e308, inf, -inf])
def test_inverse_functions_have_no_derivative_outside_their_domain(name, value):
    """Where arcsin, arccos or arccosh is NaN, so are its first and second derivatives.
    arcsin'(1e200) was 0, not NaN: ((1 - x)(1 + x)) ** -0.5 with the product overflowing
    to -inf is pow(-inf, -0.5) = +0 (torch's NaN); arccosh' at -inf the same way."""
    if name == "arccosh" and value >= 1.0:
        return
    x = Tensor([value], requires_grad=True)
    with np.errstate(invalid="ignore", over="ignore"):  # (1 - x)(1 + x) overflows
        out = getattr(x, name)()
        (first,) = grad(out.sum(), [x], create_graph=True)
        (second,) = grad(first.sum(), [x])
    assert np.isnan(out.item()) and np.isnan(first.item()) and np.isnan(second.item())
