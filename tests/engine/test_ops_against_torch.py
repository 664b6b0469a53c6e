"""The ops a layer author reaches for, against PyTorch: values and gradients over drawn shapes
(hypothesis), each also gradchecked against finite differences. torch is a test dependency
(the `test` extra): these tests never skip."""

import re

import numpy as np
import pytest
import torch
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, gradcheck

EXAMPLES = settings(max_examples=20, deadline=None)
seeds = st.integers(0, 2**32 - 1)
shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)
pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3)


def agree_with_torch(ours, theirs, arrays, seed=0):
    """ours(*Tensors) and theirs(*torch tensors) give the same values, and backward from
    the same random output gradient gives the same gradient to every input."""
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    torch_inputs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    out = ours(*tensors)
    expected = theirs(*torch_inputs)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-12, atol=1e-14)
    assert out.shape == tuple(expected.shape)
    out_grad = np.random.default_rng(seed).normal(size=out.shape)
    out.backward(out_grad)
    expected.backward(torch.tensor(out_grad))
    for position, (t, tt) in enumerate(zip(tensors, torch_inputs)):
        want = np.zeros(t.shape) if tt.grad is None else tt.grad.numpy()
        got = np.zeros(t.shape) if t.grad is None else t.grad
        np.testing.assert_allclose(got, want, rtol=1e-11, atol=1e-13, err_msg=f"input {position}")
    return tensors


def check(ours, theirs, arrays, seed=0):
    """agree_with_torch, then gradcheck of ours at the same point."""
    tensors = agree_with_torch(ours, theirs, arrays, seed)
    for t in tensors:
        t.grad = None
    assert gradcheck(ours, tensors)


def uniform(seed, shape, low=-2.0, high=2.0):
    return np.random.default_rng(seed).uniform(low, high, size=shape)


def ties(seed, shape):
    """Values from {0, 1, 2}: many ties, where gradient-sharing rules show."""
    return np.random.default_rng(seed).integers(0, 3, size=shape).astype(np.float64)


# ---------------------------------------------------------------- powers
@EXAMPLES
@given(pair=pairs, seed=seeds)
def test_tensor_exponent_matches_torch_pow(pair, seed):
    base = uniform(seed, pair.input_shapes[0], 0.5, 2.0)
    exponent = uniform(seed + 1, pair.input_shapes[1], -2.0, 2.0)
    check(lambda x, y: x**y, torch.pow, [base, exponent], seed)


@EXAMPLES
@given(shape=shapes, base=st.sampled_from([0.5, 2.0, np.e, 3.7]), seed=seeds)
def test_number_to_a_tensor_power_matches_torch(shape, base, seed):
    check(lambda t: base**t, lambda t: base**t, [uniform(seed, shape)], seed)


def test_array_base_to_a_tensor_power():
    t = Tensor([1.0, 2.0], requires_grad=True)
    (np.array([2.0, 3.0]) ** t).sum().backward()
    np.testing.assert_allclose(t.grad, [2.0 * np.log(2.0), 9.0 * np.log(3.0)])


def test_power_zero_has_gradient_zero_everywhere_as_torch():
    values = np.array([0.0, 1.0, -2.0])
    check(lambda x: x**0, lambda x: x**0, [values])
    x = Tensor(values, requires_grad=True)
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 0.0, 0.0])  # not NaN at 0


def test_tensor_power_at_a_zero_base_follows_torch():
    # d/dx x^y is 0 where y = 0; d/dy x^y is 0 where x = 0 and y >= 0 (torch's masks)
    base, exponent = np.array([0.0, 0.0, 0.0, 2.0]), np.array([0.0, 1.0, 2.0, 0.0])
    tensors = agree_with_torch(lambda x, y: x**y, torch.pow, [base, exponent])
    assert np.isfinite(tensors[0].grad).all() and np.isfinite(tensors[1].grad).all()


# ---------------------------------------------------------------- matmul
@EXAMPLES
@given(
    batch=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3),
    sizes=st.tuples(*[st.integers(1, 3)] * 3),
    seed=seeds,
)
def test_batched_matmul_matches_torch(batch, sizes, seed):
    n, k, m = sizes
    a = uniform(seed, batch.input_shapes[0] + (n, k))
    b = uniform(seed + 1, batch.input_shapes[1] + (k, m))
    check(lambda x, w: x @ w, torch.matmul, [a, b], seed)


@pytest.mark.parametrize(
    "shapes",
    [((3,), (4, 2)), ((2, 3), (4,)), ((2, 3), (2, 3)), ((2, 2, 3), (3, 3, 1))],
    ids=str,
)
def test_matmul_refuses_mismatched_shapes_naming_both(shapes):
    """Vectors are numpy's (tests/engine/test_matmul_vectors.py); sizes that do not fit are
    refused."""
    a, b = Tensor(np.ones(shapes[0])), Tensor(np.ones(shapes[1]))
    with pytest.raises(ValueError, match=re.escape(f"{shapes[0]} and {shapes[1]}")):
        a @ b


# ---------------------------------------------------------------- reductions
def torch_axis(axis, ndim):
    return tuple(range(ndim)) if axis is None else axis


@EXAMPLES
@given(
    shape=shapes,
    pick=st.integers(-1, 2),
    keepdims=st.booleans(),
    name=st.sampled_from(["min", "max"]),
    seed=seeds,
)
def test_min_and_max_share_the_gradient_among_ties_as_torch_amin_amax(
    shape, pick, keepdims, name, seed
):
    axis = None if pick < 0 else pick % len(shape)
    torch_fn = torch.amin if name == "min" else torch.amax
    agree_with_torch(
        lambda t: getattr(t, name)(axis=axis, keepdims=keepdims),
        lambda t: torch_fn(t, dim=torch_axis(axis, len(shape)), keepdim=keepdims),
        [ties(seed, shape)],
        seed,
    )
    x = Tensor(uniform(seed, shape), requires_grad=True)  # no ties: differentiable
    assert gradcheck(lambda t: getattr(t, name)(axis=axis, keepdims=keepdims), [x])


def test_min_of_a_0d_tensor():
    x = Tensor(1.5, requires_grad=True)
    x.min().backward()
    assert x.grad == 1.0


@EXAMPLES
@given(
    shape=shapes,
    pick=st.integers(-1, 2),
    keepdims=st.booleans(),
    ddof=st.sampled_from([0, 1]),
    name=st.sampled_from(["var", "std"]),
    seed=seeds,
)
def test_var_and_std_match_torch_with_ddof_as_correction(shape, pick, keepdims, ddof, name, seed):
    axis = None if pick < 0 else pick % len(shape)
    count = np.prod(shape) if axis is None else shape[axis]
    assume(count > ddof and (name == "var" or count > 1))  # std of one value: NaN slope
    torch_fn = getattr(torch, name)
    check(
        lambda t: getattr(t, name)(axis=axis, keepdims=keepdims, ddof=ddof),
        lambda t: torch_fn(t, dim=torch_axis(axis, len(shape)), correction=ddof, keepdim=keepdims),
        [uniform(seed, shape)],
        seed,
    )


def test_var_values_follow_numpy_for_axis_tuples():
    x = Tensor(uniform(3, (2, 3, 4)))
    for ddof in (0, 1):
        np.testing.assert_allclose(
            x.var(axis=(0, 2), ddof=ddof).data, np.var(x.data, axis=(0, 2), ddof=ddof)
        )
        np.testing.assert_allclose(x.std(ddof=ddof).data, np.std(x.data, ddof=ddof))


def test_var_with_no_more_elements_than_ddof_is_refused_naming_them():
    with pytest.raises(ValueError, match=r"1 element\(s\) with ddof=1"):
        Tensor(np.ones((3, 1))).var(axis=1, ddof=1)


# ---------------------------------------------------------------- shape ops
@EXAMPLES
@given(data=st.data(), shape=shapes, seed=seeds)
def test_transpose_by_any_permutation_matches_torch_permute(data, shape, seed):
    axes = data.draw(st.permutations(range(len(shape))))
    check(lambda t: t.transpose(*axes), lambda t: t.permute(*axes), [uniform(seed, shape)], seed)
    x = Tensor(uniform(seed, shape))
    np.testing.assert_array_equal(x.transpose(tuple(axes)).data, np.transpose(x.data, axes))
    np.testing.assert_array_equal(x.transpose().data, x.data.T)


def test_transpose_refuses_what_is_not_a_permutation():
    x = Tensor(np.ones((2, 3, 4)))
    with pytest.raises(ValueError, match=r"all 3 axes of shape \(2, 3, 4\)"):
        x.transpose(0, 1)
    with pytest.raises(ValueError, match="repeated"):
        x.transpose(0, 1, 1)


squeezable = hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=2)


@EXAMPLES
@given(shape=squeezable, seed=seeds)
def test_squeeze_matches_numpy_values_and_torch_gradients(shape, seed):
    ones = tuple(a for a, n in enumerate(shape) if n == 1)
    check(lambda t: t.squeeze(), lambda t: t.squeeze(), [uniform(seed, shape)], seed)
    if ones:
        axis = ones[-1]
        check(lambda t: t.squeeze(axis), lambda t: t.squeeze(axis), [uniform(seed, shape)], seed)
        x = Tensor(uniform(seed, shape))
        np.testing.assert_array_equal(x.squeeze(ones).data, np.squeeze(x.data, ones))


def test_squeeze_of_an_axis_that_is_not_size_1_is_refused_as_numpy():
    with pytest.raises(ValueError, match=r"axis 1 of shape \(1, 3\) has size 3"):
        Tensor(np.ones((1, 3))).squeeze(1)


@EXAMPLES
@given(shape=shapes, pick=st.integers(-4, 3), seed=seeds)
def test_expand_dims_matches_numpy_values_and_torch_unsqueeze(shape, pick, seed):
    axis = pick % (len(shape) + 1) - (len(shape) + 1) * (pick < 0)
    check(lambda t: t.expand_dims(axis), lambda t: t.unsqueeze(axis), [uniform(seed, shape)], seed)
    x = Tensor(uniform(seed, shape))
    np.testing.assert_array_equal(x.expand_dims((0, -1)).data, np.expand_dims(x.data, (0, -1)))


# ---------------------------------------------------------------- combining
@EXAMPLES
@given(
    count=st.integers(1, 3),
    shape=shapes,
    pick=st.integers(0, 2),
    sizes=st.lists(st.integers(1, 3), min_size=3, max_size=3),
    seed=seeds,
)
def test_concatenate_matches_torch_cat(count, shape, pick, sizes, seed):
    axis = pick % len(shape)
    parts = [
        uniform(seed + i, shape[:axis] + (sizes[i],) + shape[axis + 1 :]) for i in range(count)
    ]
    check(
        lambda *ts: F.concatenate(ts, axis=axis),
        lambda *ts: torch.cat(ts, dim=axis),
        parts,
        seed,
    )


@EXAMPLES
@given(count=st.integers(1, 3), shape=shapes, pick=st.integers(-4, 3), seed=seeds)
def test_stack_matches_torch_stack(count, shape, pick, seed):
    axis = pick % (len(shape) + 1)
    parts = [uniform(seed + i, shape) for i in range(count)]
    check(lambda *ts: F.stack(ts, axis=axis), lambda *ts: torch.stack(ts, dim=axis), parts, seed)


def test_concatenate_and_stack_refuse_mismatched_shapes_naming_them():
    a, b = Tensor(np.ones((2, 3))), Tensor(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"axis 0 .*\[\(2, 3\), \(2, 4\)\]"):
        F.concatenate([a, b])
    assert F.concatenate([a, b], axis=1).shape == (2, 7)
    with pytest.raises(ValueError, match=r"one shape; got shapes \[\(2, 3\), \(2, 4\)\]"):
        F.stack([a, b])
    with pytest.raises(ValueError, match="at least one"):
        F.concatenate([])
    with pytest.raises(TypeError, match="sequence of tensors"):
        F.stack(a)
    with pytest.raises(ValueError, match="out of range"):
        F.concatenate([a, a], axis=2)


# ---------------------------------------------------------------- selecting
@EXAMPLES
@given(
    shapes3=hnp.mutually_broadcastable_shapes(num_shapes=3, min_dims=0, max_dims=3, max_side=3),
    seed=seeds,
)
def test_where_matches_torch_where(shapes3, seed):
    condition_shape, x_shape, y_shape = shapes3.input_shapes
    condition = np.random.default_rng(seed).random(condition_shape) < 0.5
    check(
        lambda x, y: F.where(condition, x, y),
        lambda x, y: torch.where(torch.tensor(condition), x, y),
        [uniform(seed, x_shape), uniform(seed + 1, y_shape)],
        seed,
    )


def test_where_takes_a_boolean_condition_only():
    x = Tensor([1.0, -1.0])
    with pytest.raises(TypeError, match="not a Tensor"):
        F.where(x, x, 0.0)
    with pytest.raises(TypeError, match="int64"):
        F.where(np.array([1, 0]), x, 0.0)
    with pytest.raises(ValueError, match=r"\(3,\), \(2,\) and \(\)"):
        F.where(np.array([True, False, True]), x, 0.0)


@EXAMPLES
@given(pair=pairs, name=st.sampled_from(["maximum", "minimum"]), seed=seeds)
def test_maximum_and_minimum_share_ties_equally_as_torch(pair, name, seed):
    arrays = [ties(seed, pair.input_shapes[0]), ties(seed + 1, pair.input_shapes[1])]
    agree_with_torch(getattr(F, name), getattr(torch, name), arrays, seed)
    continuous = [uniform(seed, pair.input_shapes[0]), uniform(seed + 1, pair.input_shapes[1])]
    check(getattr(F, name), getattr(torch, name), continuous, seed)


def test_maximum_of_equal_values_gives_each_half():
    x, y = Tensor([1.0], requires_grad=True), Tensor([1.0], requires_grad=True)
    F.maximum(x, y).sum().backward()
    assert x.grad == 0.5 and y.grad == 0.5


bounds = st.sampled_from(["none", "number", "tensor"])


@EXAMPLES
@given(pair=pairs, low_kind=bounds, high_kind=bounds, tied=st.booleans(), seed=seeds)
def test_clip_matches_numpy_values_and_torch_clamp_gradients(pair, low_kind, high_kind, tied, seed):
    assume(low_kind != "none" or high_kind != "none")
    draw = ties if tied else uniform
    x = draw(seed, pair.result_shape)  # torch.clamp keeps x's shape: bounds broadcast to it
    bound_shape = pair.input_shapes[1]
    # tensor bounds are drawn independently: low > high in about half their elements
    low = {"none": None, "number": 0.5, "tensor": draw(seed + 1, bound_shape)}[low_kind]
    high = {"none": None, "number": 1.0, "tensor": draw(seed + 2, bound_shape)}[high_kind]
    tensor_bounds = [b for b in (low, high) if isinstance(b, np.ndarray)]

    def split(args):
        """(x, low, high): the bounds drawn as arrays are inputs, the others as given."""
        rest = iter(args[1:])
        return (
            args[0],
            next(rest) if isinstance(low, np.ndarray) else low,
            next(rest) if isinstance(high, np.ndarray) else high,
        )

    def ours(*args):
        return F.clip(*split(args))

    def theirs(*args):
        x_, low_, high_ = split(args)
        if tensor_bounds:  # torch.clamp takes two numbers or two tensors, not one of each
            low_, high_ = (
                b if b is None else torch.as_tensor(b, dtype=torch.float64) for b in (low_, high_)
            )
        return torch.clamp(x_, low_, high_)

    x_out = ours(*[Tensor(a) for a in [x, *tensor_bounds]]).data
    np.testing.assert_array_equal(x_out, np.clip(x, low, high))
    if tied:
        agree_with_torch(ours, theirs, [x, *tensor_bounds], seed)
    else:
        check(ours, theirs, [x, *tensor_bounds], seed)


def test_clip_where_low_exceeds_high_is_high_with_its_gradient_as_torch():
    x, low, high = np.array([-1.0, 0.5, 3.0]), np.array([2.0, 2.0, 2.0]), np.array([1.0])
    agree_with_torch(F.clip, torch.clamp, [x, low, high])
    tensors = [Tensor(a, requires_grad=True) for a in (x, low, high)]
    out = F.clip(*tensors)
    out.sum().backward()
    np.testing.assert_array_equal(out.data, [1.0, 1.0, 1.0])
    np.testing.assert_array_equal([t.grad.sum() for t in tensors], [0.0, 0.0, 3.0])


def test_clip_broadcasts_x_against_larger_bounds_as_numpy():
    x, low = Tensor([0.0, 3.0], requires_grad=True), Tensor([[1.0], [-1.0]], requires_grad=True)
    np.testing.assert_array_equal(F.clip(x, low, 2.0).data, np.clip(x.data, low.data, 2.0))
    assert gradcheck(lambda x, low: F.clip(x, low, 2.0), [x, low])


def test_clip_needs_a_bound():
    with pytest.raises(ValueError, match="low or high"):
        F.clip(Tensor([1.0]), None, None)


def test_clip_passes_the_gradient_at_the_bounds_as_torch():
    x = Tensor([-1.0, 0.0, 1.0, 2.0], requires_grad=True)
    F.clip(x, 0.0, 1.0).sum().backward()
    np.testing.assert_array_equal(x.grad, [0.0, 1.0, 1.0, 0.0])


# ---------------------------------------------------------------- elementwise
UNARY = {
    "log1p": (torch.log1p, -0.5, 2.0),
    "expm1": (torch.expm1, -2.0, 2.0),
    "sin": (torch.sin, -4.0, 4.0),
    "cos": (torch.cos, -4.0, 4.0),
}


@EXAMPLES
@given(shape=shapes, name=st.sampled_from(sorted(UNARY)), seed=seeds)
def test_unary_ops_match_torch(shape, name, seed):
    torch_fn, low, high = UNARY[name]
    check(lambda t: getattr(t, name)(), torch_fn, [uniform(seed, shape, low, high)], seed)


def test_log1p_and_expm1_are_exact_for_tiny_inputs():
    tiny = Tensor([1e-20])
    assert tiny.log1p().item() == 1e-20 and tiny.expm1().item() == 1e-20
