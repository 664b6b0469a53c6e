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
