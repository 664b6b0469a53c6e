"""The second wave of ops (numpy's elementwise functions, array building and reshaping,
products, diagonals, scans) against PyTorch float64: values, gradients and second
derivatives at rtol 1e-9 over hypothesis-drawn shapes and axes, then gradcheck and
gradgradcheck at one drawn point. One table row per op; ``torch`` is a test dependency."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, grad, gradcheck, gradgradcheck

EXAMPLES = settings(max_examples=8, deadline=None)
RTOL, ATOL = 1e-9, 1e-12


def _torch(a: np.ndarray) -> torch.Tensor:
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


def _close(got, want, what):
    got = np.zeros(np.shape(want)) if got is None else np.asarray(got)
    np.testing.assert_allclose(got, want, rtol=RTOL, atol=ATOL, err_msg=what)


def agree_to_second_order(ours, theirs, arrays, seed=0):
    """Values, vector-Jacobian products and the derivatives of those (second order) of
    ours(*Tensors) and theirs(*torch tensors) agree, for one random output gradient and
    one random direction."""
    rng = np.random.default_rng(seed)
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    torch_inputs = [_torch(a) for a in arrays]
    out, expected = ours(*tensors), theirs(*torch_inputs)
    assert out.shape == tuple(expected.shape)
    _close(out.data, expected.detach().numpy(), "values")
    seed_grad = rng.normal(size=out.shape)
    firsts = grad(out, tensors, seed_grad, create_graph=True, allow_unused=True)
    torch_firsts = torch.autograd.grad(
        expected, torch_inputs, torch.tensor(seed_grad), create_graph=True, allow_unused=True
    )
    for i, (g, tg) in enumerate(zip(firsts, torch_firsts)):
        want = np.zeros(arrays[i].shape) if tg is None else tg.detach().numpy()
        _close(None if g is None else g.data, want, f"gradient of input {i}")
    pairs = [(g, tg) for g, tg in zip(firsts, torch_firsts) if g is not None and tg is not None]
    pairs = [(g, tg) for g, tg in pairs if g.requires_grad and tg.requires_grad]
    if not pairs:
        return
    directions = [rng.normal(size=g.shape) for g, _ in pairs]
    ours_inner = sum(((g * d).sum() for (g, _), d in zip(pairs, directions)), Tensor(0.0))
    theirs_inner = sum((tg * torch.tensor(d)).sum() for (_, tg), d in zip(pairs, directions))
    seconds = grad(ours_inner, tensors, allow_unused=True)
    torch_seconds = torch.autograd.grad(theirs_inner, torch_inputs, allow_unused=True)
    for i, (h, th) in enumerate(zip(seconds, torch_seconds)):
        want = np.zeros(arrays[i].shape) if th is None else th.numpy()
        _close(None if h is None else h.data, want, f"second derivative of input {i}")


def finite_differences_agree(ours, arrays):
    tensors = [Tensor(a, requires_grad=True) for a in arrays]
    assert gradcheck(ours, tensors)
    assert gradgradcheck(ours, tensors)


shapes = st.lists(st.integers(1, 3), min_size=1, max_size=3).map(tuple)
matrices = st.lists(st.integers(1, 3), min_size=2, max_size=3).map(tuple)  # 2 or 3 axes


def uniform(rng, shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape)


# ---------------------------------------------------------------------- elementwise
UNARY = {  # name: (torch's function, low, high) of the drawn inputs
    "sign": (torch.sign, -2, 2),
    "floor": (torch.floor, -2, 2),
    "ceil": (torch.ceil, -2, 2),
    "log2": (torch.log2, 0.2, 3),
    "log10": (torch.log10, 0.2, 3),
    "exp2": (torch.exp2, -2, 2),
    "tan": (torch.tan, -1.2, 1.2),
    "sinh": (torch.sinh, -2, 2),
    "cosh": (torch.cosh, -2, 2),
    "arcsin": (torch.asin, -0.9, 0.9),
    "arccos": (torch.acos, -0.9, 0.9),
    "arctan": (torch.atan, -3, 3),
    "arcsinh": (torch.asinh, -3, 3),
    "arccosh": (torch.acosh, 1.1, 4),
    "arctanh": (torch.atanh, -0.9, 0.9),
    "degrees": (torch.rad2deg, -3, 3),
    "radians": (torch.deg2rad, -200, 200),
    "sinc": (torch.sinc, -2, 2),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@EXAMPLES
@given(shape=shapes, seed=st.integers(0, 2**32 - 1))
def test_unary_against_torch(name, shape, seed):
    theirs, low, high = UNARY[name]
    x = uniform(np.random.default_rng(seed), shape, low, high)
    agree_to_second_order(getattr(F, name), theirs, [x], seed)
    if name not in ("degrees", "radians"):
        agree_to_second_order(getattr(Tensor, name), theirs, [x], seed)


@pytest.mark.parametrize("name", sorted(UNARY))
def test_unary_against_finite_differences(name):
    _, low, high = UNARY[name]
    x = uniform(np.random.default_rng(1), (2, 3), low, high)
    if name in ("sign", "floor", "ceil"):
        x = np.round(x, 1) + 0.05  # away from the jumps, where differences see them
    finite_differences_agree(getattr(F, name), [x])


def test_sinc_at_zero_first_derivative_as_torch_second_the_true_one():
    """torch's second derivative of sinc at 0 is NaN (0/0 inside its masked formula); ours
    is the true -pi^2/3, which finite differences confirm."""
    x = Tensor([0.0, 0.5], requires_grad=True)
    tx = _torch(np.array([0.0, 0.5]))
    (first,) = grad(F.sinc(x).sum(), x, create_graph=True)
    (torch_first,) = torch.autograd.grad(torch.sinc(tx).sum(), tx, create_graph=True)
    _close(first.data, torch_first.detach().numpy(), "first derivative")
    (second,) = grad(first.sum(), x)
    (torch_second,) = torch.autograd.grad(torch_first.sum(), tx)
    assert np.isnan(torch_second[0].item())
    _close(second.data, [-(np.pi**2) / 3.0, torch_second[1].item()], "second derivative")
    finite_differences_agree(F.sinc, [np.array([0.0, 0.5])])


def test_zero_gradients_of_sign_floor_ceil_even_at_the_jumps():
    x = np.array([0.0, 1.0, -2.0, 0.5])
    for name in ("sign", "floor", "ceil"):
        t = Tensor(x, requires_grad=True)
        getattr(F, name)(t).sum().backward()
        np.testing.assert_array_equal(t.grad, np.zeros(4))


BINARY = {  # name: (torch's function, low, high)
    "arctan2": (torch.atan2, -2, 2),
    "hypot": (torch.hypot, -2, 2),
    "logaddexp": (torch.logaddexp, -3, 3),
    "logaddexp2": (torch.logaddexp2, -3, 3),
    "mod": (torch.remainder, -3, 3),
    "fmax": (torch.fmax, -2, 2),
    "fmin": (torch.fmin, -2, 2),
}
pair_shapes = st.sampled_from([((3,), (3,)), ((2, 3), (3,)), ((2, 1), (1, 3)), ((), (2, 2))])


@pytest.mark.parametrize("name", sorted(BINARY))
@EXAMPLES
@given(shapes=pair_shapes, seed=st.integers(0, 2**32 - 1))
def test_binary_against_torch(name, shapes, seed):
    theirs, low, high = BINARY[name]
    rng = np.random.default_rng(seed)
    x, y = (uniform(rng, s, low, high) for s in shapes)
    if name == "mod":
        y = np.where(np.abs(y) < 0.3, 0.7, y)
    agree_to_second_order(getattr(F, name), theirs, [x, y], seed)


@pytest.mark.parametrize("name", sorted(BINARY))
def test_binary_against_finite_differences(name):
    rng = np.random.default_rng(2)
    x, y = uniform(rng, (2, 3), 0.3, 2), uniform(rng, (3,), -2, -0.5)
    finite_differences_agree(getattr(F, name), [x, y])


def test_floor_divide_is_numpy_with_zero_gradients():
    x, y = (
        Tensor([5.0, -5.0, 7.5], requires_grad=True),
        Tensor([3.0, 3.0, -2.0], requires_grad=True),
    )
    z = x // y
    np.testing.assert_array_equal(z.data, np.floor_divide(x.data, y.data))
    np.testing.assert_array_equal((np.array([7.0]) // Tensor([2.0])).data, [3.0])
    z.sum().backward()
    np.testing.assert_array_equal(x.grad, np.zeros(3))
    np.testing.assert_array_equal(y.grad, np.zeros(3))
    assert gradgradcheck(lambda a, b: F.floor_divide(a, b), [x, y])


def test_percent_is_numpy_mod():
    x = Tensor([5.0, -5.0, 5.5], requires_grad=True)
    np.testing.assert_array_equal((x % 3.0).data, np.mod(x.data, 3.0))
    np.testing.assert_array_equal((7.0 % Tensor([3.0, -3.0])).data, [1.0, -2.0])


def test_fmax_fmin_ties_and_nan_as_torch():
    x = np.array([1.0, np.nan, 2.0, np.nan])
    y = np.array([1.0, 3.0, np.nan, np.nan])
    for ours, theirs in ((F.fmax, torch.fmax), (F.fmin, torch.fmin)):
        a, b = Tensor(x, requires_grad=True), Tensor(y, requires_grad=True)
        ta, tb = _torch(x), _torch(y)
        out, expected = ours(a, b), theirs(ta, tb)
        np.testing.assert_array_equal(out.data, expected.detach().numpy())
        out.backward(np.ones(4))
        expected.backward(torch.ones(4, dtype=torch.float64))
        np.testing.assert_array_equal(a.grad, ta.grad.numpy())
        np.testing.assert_array_equal(b.grad, tb.grad.numpy())


def test_nan_to_num_as_torch():
    x = np.array([np.nan, np.inf, -np.inf, 1.5])
    agree_to_second_order(
        lambda t: F.nan_to_num(t, nan=0.5, posinf=9.0, neginf=-9.0),
        lambda t: torch.nan_to_num(t, nan=0.5, posinf=9.0, neginf=-9.0),
        [x],
    )


# ---------------------------------------------------------------------- arrays and products
def _axis(draw, ndim):
    return draw(st.integers(-ndim, ndim - 1))


def _pieces(ours_pieces):
    return F.concatenate([p.ravel() for p in ours_pieces])


def _torch_pieces(pieces):
    return torch.cat([p.flatten() for p in pieces])


# name: draw -> (arrays, ours, theirs). Each builds its own shapes and arguments.
def _ravel(draw):
    return [draw(shapes)], lambda t: t.ravel(), torch.ravel


def _flatten(draw):
    shape = draw(shapes)
    a = _axis(draw, len(shape))
    return [shape], lambda t: t.flatten(a), lambda t: torch.flatten(t, a)


def _repeat(draw):
    shape = draw(shapes)
    a, k = _axis(draw, len(shape)), draw(st.integers(0, 3))
    return [shape], lambda t: F.repeat(t, k, a), lambda t: torch.repeat_interleave(t, k, a)


def _repeat_flat(draw):
    k = draw(st.integers(1, 3))
    return [draw(shapes)], lambda t: t.repeat(k), lambda t: torch.repeat_interleave(t, k)


def _tile(draw):
    reps = tuple(draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
    return [draw(shapes)], lambda t: F.tile(t, reps), lambda t: torch.tile(t, reps)


def _roll(draw):
    shape = draw(shapes)
    a, k = _axis(draw, len(shape)), draw(st.integers(-4, 4))
    return [shape], lambda t: F.roll(t, k, a), lambda t: torch.roll(t, k, a)


def _roll_flat(draw):
    k = draw(st.integers(-4, 4))
    return [draw(shapes)], lambda t: F.roll(t, k), lambda t: torch.roll(t, k)


def _flip(draw):
    shape = draw(shapes)
    a = _axis(draw, len(shape))
    return [shape], lambda t: F.flip(t, a), lambda t: torch.flip(t, (a,))


def _rot90(draw):
    shape, k = draw(matrices), draw(st.integers(-3, 4))
    return [shape], lambda t: F.rot90(t, k, (0, 1)), lambda t: torch.rot90(t, k, (0, 1))


def _moveaxis(draw):
    shape = draw(shapes)
    a, b = _axis(draw, len(shape)), _axis(draw, len(shape))
    return [shape], lambda t: F.moveaxis(t, a, b), lambda t: torch.movedim(t, a, b)


def _swapaxes(draw):
    shape = draw(shapes)
    a, b = _axis(draw, len(shape)), _axis(draw, len(shape))
    return [shape], lambda t: t.swapaxes(a, b), lambda t: torch.swapaxes(t, a, b)


def _atleast_3d(draw):
    shape = draw(st.lists(st.integers(1, 3), max_size=2).map(tuple))
    return [shape], F.atleast_3d, torch.atleast_3d


def _joins(draw):
    shape = draw(matrices)
    name = draw(st.sampled_from(["hstack", "vstack", "dstack", "stack", "concatenate"]))
    ours, theirs = getattr(F, name), getattr(torch, {"concatenate": "cat"}.get(name, name))
    return [shape, shape], lambda a, b: ours([a, b]), lambda a, b: theirs([a, b])


def _array_split(draw):
    shape = draw(shapes)
    a, k = _axis(draw, len(shape)), draw(st.integers(1, 4))
    return (
        [shape],
        lambda t: _pieces(F.array_split(t, k, a)),
        lambda t: _torch_pieces(torch.tensor_split(t, k, a)),
    )


def _split_at(draw):
    shape = draw(shapes)
    a = _axis(draw, len(shape))
    cuts = sorted(draw(st.lists(st.integers(0, shape[a]), max_size=2)))
    return (
        [shape],
        lambda t: _pieces(F.split(t, cuts, a)),
        lambda t: _torch_pieces(torch.tensor_split(t, cuts, a)),
    )


def _pad(draw):
    shape = draw(shapes)
    widths = [tuple(draw(st.lists(st.integers(0, 2), min_size=2, max_size=2))) for _ in shape]
    value = draw(st.sampled_from([0.0, 1.5]))
    flat = [w for pair in reversed(widths) for w in pair]  # torch's order: last axis first
    return (
        [shape],
        lambda t: F.pad(t, widths, constant_values=value),
        lambda t: TFpad(t, flat, value=value),
    )


def _pad_reflect(draw):
    shape = draw(st.lists(st.integers(3, 4), min_size=2, max_size=3).map(tuple))
    w = draw(st.integers(0, 2))
    widths = [(0, 0)] * (len(shape) - 1) + [(w, w)]
    mode = draw(st.sampled_from(["reflect", "edge", "wrap"]))
    torch_mode = {"edge": "replicate", "wrap": "circular"}.get(mode, mode)
    return (
        [shape],
        lambda t: F.pad(t, widths, mode=mode),
        lambda t: TFpad(t, [w, w], mode=torch_mode),
    )


def TFpad(t, flat, **kw):
    if kw.get("mode") in ("reflect", "replicate", "circular") and t.ndim == 2:
        return torch.nn.functional.pad(t[None], flat, **kw)[0]
    return torch.nn.functional.pad(t, flat, **kw)


def _outer(draw):
    return [draw(shapes), draw(shapes)], F.outer, lambda a, b: torch.outer(a.ravel(), b.ravel())


def _inner(draw):
    n = draw(st.integers(1, 3))
    a = (*draw(st.lists(st.integers(1, 3), max_size=1)), n)
    b = (*draw(st.lists(st.integers(1, 3), max_size=1)), n)
    return [a, b], F.inner, torch.inner


def _kron(draw):
    shape = draw(st.lists(st.integers(1, 3), min_size=1, max_size=2).map(tuple))
    other = draw(st.lists(st.integers(1, 3), min_size=1, max_size=2).map(tuple))
    return [shape, other], F.kron, torch.kron


def _tensordot(draw):
    m, k, n = (draw(st.integers(1, 3)) for _ in range(3))
    return [(m, k, 2), (k, 2, n)], lambda a, b: F.tensordot(a, b, 2), torch.tensordot


def _einsum(draw):
    spec, shapes_ = draw(
        st.sampled_from(
            [
                ("ij,jk->ik", [(2, 3), (3, 2)]),
                ("ii->i", [(3, 3)]),
                ("ii", [(3, 3)]),
                ("ij->", [(2, 3)]),
                ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]),
                ("...ij,...jk", [(2, 1, 2, 3), (3, 3, 2)]),
                ("i,i,i->i", [(3,), (3,), (3,)]),
                ("iij,jk->ik", [(2, 2, 3), (3, 2)]),
            ]
        )
    )
    return shapes_, lambda *t: F.einsum(spec, *t), lambda *t: torch.einsum(spec, *t)


def _dot(draw):
    k = draw(st.integers(1, 3))
    a, b = draw(st.sampled_from([((k,), (k,)), ((2, k), (k, 2)), ((2, 2, k), (k,))]))
    return [a, b], F.dot, lambda x, y: torch.tensordot(x, y, ([-1], [-2 if y.ndim > 1 else 0]))


def _diagonal(draw):
    shape = draw(matrices)
    k = draw(st.integers(-2, 2))
    a, b = draw(st.sampled_from([(0, 1), (1, 0), (-1, 0)]))
    return (
        [shape],
        lambda t: F.diagonal(t, k, a, b),
        lambda t: torch.diagonal(t, k, a, b),
    )


def _trace(draw):
    shape = draw(st.tuples(st.integers(1, 3), st.integers(1, 3)))
    return [shape], F.trace, torch.trace


def _diag(draw):
    shape = draw(st.lists(st.integers(1, 3), min_size=1, max_size=2).map(tuple))
    k = draw(st.integers(-2, 2))
    return [shape], lambda t: F.diag(t, k), lambda t: torch.diag(t, k)


def _tril_triu(draw):
    shape = draw(matrices)
    k, name = draw(st.integers(-2, 2)), draw(st.sampled_from(["tril", "triu"]))
    return [shape], lambda t: getattr(F, name)(t, k), lambda t: getattr(torch, name)(t, k)


def _prod(draw):
    shape = draw(shapes)
    a, keep = _axis(draw, len(shape)), draw(st.booleans())
    return [shape], lambda t: t.prod(a, keep), lambda t: torch.prod(t, a, keep)


def _prod_all(draw):
    return [draw(shapes)], F.prod, torch.prod


def _cumsum(draw):
    shape = draw(shapes)
    a = _axis(draw, len(shape))
    return [shape], lambda t: F.cumsum(t, a), lambda t: torch.cumsum(t, a)


def _cumprod(draw):
    shape = draw(shapes)
    a = _axis(draw, len(shape))
    return [shape], lambda t: F.cumprod(t, a), lambda t: torch.cumprod(t, a)


def _diff(draw):
    shape = draw(shapes)
    a, n = _axis(draw, len(shape)), draw(st.integers(0, 2))
    return [shape], lambda t: F.diff(t, n, a), lambda t: torch.diff(t, n, a)


def _sort(draw):
    shape = draw(shapes)
    a = _axis(draw, len(shape))
    return [shape], lambda t: F.sort(t, a), lambda t: torch.sort(t, dim=a, stable=True).values


def _cross(draw):
    shape = (*draw(st.lists(st.integers(1, 2), max_size=1)), 3)
    return [shape, shape], F.cross, lambda a, b: torch.linalg.cross(a, b, dim=-1)


ARRAY_OPS = {
    f.__name__[1:]: f
    for f in (
        *(_ravel, _flatten, _repeat, _repeat_flat, _tile, _roll, _roll_flat, _flip, _rot90),
        *(_moveaxis, _swapaxes, _atleast_3d, _joins, _array_split, _split_at, _pad),
        *(_pad_reflect, _outer, _inner, _kron, _tensordot, _einsum, _dot, _diagonal, _trace),
        *(_diag, _tril_triu, _prod, _prod_all, _cumsum, _cumprod, _diff, _sort, _cross),
    )
}


@pytest.mark.parametrize("name", sorted(ARRAY_OPS))
@EXAMPLES
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_array_op_against_torch(name, data, seed):
    shapes_, ours, theirs = ARRAY_OPS[name](data.draw)
    rng = np.random.default_rng(seed)
    arrays = [uniform(rng, s, 0.5, 1.5) * rng.choice([-1.0, 1.0], size=s) for s in shapes_]
    agree_to_second_order(ours, theirs, arrays, seed)


@pytest.mark.parametrize("name", sorted(ARRAY_OPS))
@settings(max_examples=2, deadline=None)
@given(data=st.data())
def test_array_op_against_finite_differences(name, data):
    shapes_, ours, _ = ARRAY_OPS[name](data.draw)
    rng = np.random.default_rng(3)
    finite_differences_agree(ours, [uniform(rng, s) for s in shapes_])


@pytest.mark.parametrize("axis", [0, 1, None])
def test_prod_and_cumprod_with_zeros_as_torch(axis):
    """One zero, two zeros in a row, none: each element's gradient is the product of the
    others (torch's), and so are the second derivatives."""
    x = np.array([[0.0, 2.0, 3.0], [0.0, 0.0, -1.5], [1.5, 2.0, -0.5]])
    if axis is None:
        agree_to_second_order(F.prod, torch.prod, [x])
        return
    agree_to_second_order(lambda t: F.prod(t, axis), lambda t: torch.prod(t, axis), [x])
    agree_to_second_order(lambda t: F.cumprod(t, axis), lambda t: torch.cumprod(t, axis), [x])


def test_sort_with_ties_sends_each_gradient_back_through_the_permutation():
    x = np.array([[2.0, 1.0, 2.0, 0.0], [1.0, 1.0, 1.0, 3.0]])
    agree_to_second_order(
        lambda t: F.sort(t, 1), lambda t: torch.sort(t, dim=1, stable=True)[0], [x]
    )


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: F.split(Tensor(np.ones(5)), 2), "equal division"),
        (lambda: F.diag(Tensor(np.ones((2, 2, 2)))), "1- or 2-d"),
        (lambda: F.pad(Tensor(np.ones(3)), 1, mode="median"), "pad's mode"),
        (lambda: F.einsum("ij,jk->ik", Tensor(np.ones((2, 3))), Tensor(np.ones((2, 2)))), "sizes"),
        (lambda: F.cross(Tensor(np.ones(2)), Tensor(np.ones(2))), "3 components"),
        (lambda: F.tensordot(Tensor(np.ones(2)), Tensor(np.ones(3)), 1), "shape-mismatch"),
        (lambda: F.moveaxis(Tensor(np.ones((2, 3))), (0, 1), 0), "same number"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ---------------------------------------------------------------------- convolution, pooling
@EXAMPLES
@given(
    n=st.integers(1, 2),
    c=st.integers(1, 3),
    size=st.integers(3, 6),
    out=st.integers(1, 3),
    k=st.integers(1, 3),
    stride=st.integers(1, 2),
    padding=st.integers(0, 1),
    dilation=st.integers(1, 2),
    bias=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_conv2d_against_torch(n, c, size, out, k, stride, padding, dilation, bias, seed):
    if (k - 1) * dilation + 1 > size + 2 * padding:
        return
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=(n, c, size, size)), rng.normal(size=(out, c, k, k))]
    arrays += [rng.normal(size=out)] if bias else []
    kw = dict(stride=stride, padding=padding, dilation=dilation)
    agree_to_second_order(
        lambda *t: F.conv2d(*t, **kw), lambda *t: torch.nn.functional.conv2d(*t, **kw), arrays
    )


def test_grouped_conv2d_against_torch():
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(2, 4, 5, 5)), rng.normal(size=(6, 2, 3, 3))]
    agree_to_second_order(
        lambda x, w: F.conv2d(x, w, groups=2),
        lambda x, w: torch.nn.functional.conv2d(x, w, groups=2),
        arrays,
    )


@pytest.mark.parametrize("pool", ["max", "avg", "avg_exclude_pad"])
@EXAMPLES
@given(
    size=st.integers(2, 6),
    k=st.integers(1, 3),
    stride=st.integers(1, 3),
    padding=st.integers(0, 1),
    ties=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_pool2d_against_torch(pool, size, k, stride, padding, ties, seed):
    if k > size or padding > k // 2:
        return
    rng = np.random.default_rng(seed)
    x = (
        rng.integers(0, 2, size=(2, 2, size, size)) * 1.0
        if ties
        else rng.normal(size=(2, 2, size, size))
    )
    kw = dict(kernel_size=k, stride=stride, padding=padding)
    if pool == "max":
        ours, theirs = F.max_pool2d, torch.nn.functional.max_pool2d
    else:
        kw["count_include_pad"] = pool == "avg"
        ours, theirs = F.avg_pool2d, torch.nn.functional.avg_pool2d
    agree_to_second_order(lambda t: ours(t, **kw), lambda t: theirs(t, **kw), [x])


def test_conv_and_pools_against_finite_differences():
    rng = np.random.default_rng(4)
    x, w, b = rng.normal(size=(1, 2, 4, 4)), rng.normal(size=(2, 2, 2, 2)), rng.normal(size=2)
    finite_differences_agree(lambda *t: F.conv2d(*t, stride=2, padding=1), [x, w, b])
    finite_differences_agree(lambda t: F.max_pool2d(t, 2, 1), [x])
    finite_differences_agree(lambda t: F.avg_pool2d(t, 3, 1, 1), [x])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: F.conv2d(np.ones((1, 2, 4, 4)), np.ones((1, 3, 2, 2))), "3 channels"),
        (lambda: F.conv2d(np.ones((1, 1, 2, 2)), np.ones((1, 1, 3, 3))), "Kernel size"),
        (lambda: F.conv2d(np.ones((4, 4)), np.ones((1, 2, 2, 2))), r"\(N, C, H, W\)"),
        (lambda: F.max_pool2d(np.ones((1, 1, 4, 4)), 2, padding=2), "half of effective"),
        (lambda: F.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 2, 2)), stride=0), "stride"),
    ],
)
def test_bad_convolution_arguments_are_named(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.parametrize("value", ["False", "True", 0, 1, None])
def test_avg_pool2d_count_include_pad_takes_a_bool(value):
    """bool("False") is True: count_include_pad="False" would count the zero padding in
    every mean at the border, the opposite of what was asked."""
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    with pytest.raises(
        TypeError, match=f"avg_pool2d's count_include_pad takes True or False, got {value!r}"
    ):
        F.avg_pool2d(x, 3, 1, 1, count_include_pad=value)
    for ok, torch_ok in ((True, True), (False, False), (np.True_, True), (np.False_, False)):
        ours = F.avg_pool2d(x, 3, 1, 1, count_include_pad=ok).data
        theirs = torch.nn.functional.avg_pool2d(
            torch.tensor(x), 3, 1, 1, count_include_pad=torch_ok
        ).numpy()
        np.testing.assert_allclose(ours, theirs)
