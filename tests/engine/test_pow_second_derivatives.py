"""x ** y's second derivatives at x = 0 and at y = 0: the maths' value, or NaN, never a
wrong finite number; torch float64 (autograd.grad with create_graph) elsewhere.

TensorPow's first derivatives are masked where they are 0 by definition (dz/dx at y = 0,
dz/dy at x = 0, y >= 0), and the masks' constants were differentiated as constants: at
y = 0, d2z/dxdy came out 0 where it is 1/x (2.0 ** y near y = 0 is 1 + y ln 2, so dz/dx
is y/x + ...); at x = 0, d/dy of dz/dx was 1 for y = 1 and every second derivative 0 for
y = 0, where dz/dx and z itself jump (no derivative: NaN). Each is now right or NaN.

Where we answer otherwise than torch, on purpose, ``OURS`` says what and why: d2/dx2 at
y = 0 is 0 even at x = 0 (x^0 = 1 for every x, docs/api.md, as the first derivative's
choice); 0^y = 0 for every y > 0, so its y-derivatives there are 0 (torch: NaN from
0 * ln 0); torch's 0 for d2/dxdy at y = 0 and its finite answers where the maths has none.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from tinygrad_moons import Tensor, grad

torch = pytest.importorskip("torch")
inf, nan = math.inf, math.nan

XS = [0.0, -0.0, 1e-3, -2.0, 2.0]  # zero of both signs, small, negative, positive
YS = [0.0, 1.0, 2.0, 0.5, 3.0, 2.5, 1.5, -1.0, -0.5]
KEYS = ("v", "dx", "dy", "dxx", "dxy", "dyx", "dyy")  # dxy: d/dy of dz/dx; dyx: d/dx of dz/dy


def _derivatives(lib: str, x: float, y: float, scalar: bool) -> dict[str, float]:
    """z = x ** y and its first and second derivatives, each second one by its own grad."""
    if lib == "ours":
        X, Y = Tensor([x], requires_grad=True), Tensor([y], requires_grad=True)
        differentiate, read = grad, lambda t: float(t.data[0])
    else:
        X = torch.tensor([x], dtype=torch.float64, requires_grad=True)
        Y = torch.tensor([y], dtype=torch.float64, requires_grad=True)
        differentiate, read = torch.autograd.grad, lambda t: float(t.detach()[0])
    inputs = [X] if scalar else [X, Y]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        z = X**y if scalar else X**Y
        found = {"v": read(z)}
        firsts = differentiate(z.sum(), inputs, create_graph=True)
        for name, first in zip("xy", firsts):
            found["d" + name] = read(first)
            if not first.requires_grad:  # a constant derivative (x ** 0, x ** 1)
                seconds = [None] * len(inputs)
            else:
                seconds = differentiate(first.sum(), inputs, allow_unused=True)
            for other, second in zip("xy", seconds):
                found["d" + name + other] = 0.0 if second is None else read(second)
    return found


# (x, y) -> what we give where torch answers otherwise, with the maths behind it; 0.0 and
# -0.0 are one key (the same answers at both zeros)
OURS = {
    # x^0 = 1 for every x: d2/dx2 = 0 (docs/api.md); dz/dx jumps at y = 0 (0 here, inf for
    # 0 < y < 1) and z from 1 to 0 across y = 0: no d2/dxdy, d2/dydx or d2/dy2
    (0.0, 0.0): {"dxx": 0.0},  # the rest NaN, as torch's
    # dz/dx = y 0^(y-1) is 0, 1, inf for y > 1, = 1, < 1: no d/dy (torch: 1); 0^y = 0 for
    # y > 0, so d2/dy2 = 0 (torch: NaN)
    (0.0, 1.0): {"dxy": nan, "dyy": 0.0},
    (0.0, 0.5): {"dyy": 0.0},
    # y > 1: x^y ln x / x -> 0, so d/dx of dz/dy is 0 (from the right), d2/dy2 0 as above
    (0.0, 2.0): {"dyx": 0.0, "dyy": 0.0},
    (0.0, 3.0): {"dyx": 0.0, "dyy": 0.0},
    (0.0, 2.5): {"dyx": 0.0, "dyy": 0.0},
    (0.0, 1.5): {"dyx": 0.0, "dyy": 0.0},
    # at y = 0, dz/dx = y x^(y-1) = y/x + O(y^2): d2/dxdy = 1/x, as d2/dydx (torch: 0)
    (1e-3, 0.0): {"dxy": 1000.0},
    (2.0, 0.0): {"dxy": 0.5},
    # x < 0: dz/dy = z ln x has no value, nor its d/dx (torch: 1/x, from 0 * ln x = 0)
    (-2.0, 0.0): {"dyx": nan},
}

# the scalar exponent x ** p at x = -0.0: one-sided from the right, as at +0.0 (IEEE
# (-0.0) ** -0.5 is +inf); torch's derivatives carry the zero's sign
SCALAR_OURS = {
    (-0.0, 0.5): {"dx": inf},
    (-0.0, 1.5): {"dxx": inf},
    (-0.0, -0.5): {"v": inf},
}


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b or math.isclose(a, b, rel_tol=1e-9)


def _check(got: dict, want: dict, where: str) -> None:
    bad = {k: (got[k], want[k]) for k in want if not _same(got[k], want[k])}
    assert not bad, f"{where}: (ours, expected) {bad}"


@pytest.mark.parametrize("y", YS)
@pytest.mark.parametrize("x", XS)
def test_tensor_exponent_as_torch_float64_but_for_ours(x, y):
    ours, theirs = _derivatives("ours", x, y, False), _derivatives("torch", x, y, False)
    mine = OURS.get((x, y), {})  # 0.0 and -0.0 are one key: the same answers
    _check(ours, {k: theirs[k] for k in KEYS if k not in mine}, f"x={x!r}, y={y!r} vs torch")
    _check(ours, mine, f"x={x!r}, y={y!r} OURS")
    for key, value in mine.items():  # each OURS entry is a real difference from torch
        assert not _same(theirs[key], value), f"x={x!r}, y={y!r}: torch now agrees on {key}"


@pytest.mark.parametrize("y", YS)
@pytest.mark.parametrize("x", XS)
def test_scalar_exponent_as_torch_float64_but_for_ours(x, y):
    ours, theirs = _derivatives("ours", x, y, True), _derivatives("torch", x, y, True)
    signed = math.copysign(1.0, x) < 0 and x == 0
    mine = SCALAR_OURS.get((x, y), {}) if signed else {}
    keys = ("v", "dx", "dxx")
    _check(ours, {k: theirs[k] for k in keys if k not in mine}, f"x={x!r}, p={y!r} vs torch")
    _check(ours, mine, f"x={x!r}, p={y!r} SCALAR_OURS")
    for key, value in mine.items():
        assert not _same(theirs[key], value), f"x={x!r}, p={y!r}: torch now agrees on {key}"


def _exact(y: float) -> dict[str, float]:
    """The maths at x = +-0, written out independently of either library: for x^y with
    y > 0 the function is 0 along x = 0, so its y-derivatives there are 0; d2/dx2 is
    y (y - 1) x^(y-2) from the right (0 for y = 0 and y = 1 exactly: x^0 = 1, x^1 = x);
    the mixed ones are 0 for y > 1 and have no value for 0 <= y <= 1."""
    if y == 0.0:  # x^0 = 1 for every x; z jumps from 1 to 0 across y = 0
        return {"dx": 0.0, "dy": 0.0, "dxx": 0.0, "dxy": nan, "dyx": nan, "dyy": nan}
    zero = np.float64(0.0)  # 0.0 ** -1.5 is inf, as numpy's (Python's raises)
    with np.errstate(divide="ignore"):
        return _exact_powers(y, zero)


def _exact_powers(y: float, zero: np.float64) -> dict[str, float]:
    dxx = 0.0 if y == 1.0 else float(y * (y - 1.0) * zero ** (y - 2.0))
    mixed = 0.0 if y > 1.0 else nan
    return {"dx": 1.0 if y == 1.0 else float(y * zero ** (y - 1.0)), "dy": 0.0, "dxx": dxx,
            "dxy": mixed, "dyx": mixed, "dyy": 0.0}  # fmt: skip


@pytest.mark.parametrize("y", [y for y in YS if y >= 0.0])
@pytest.mark.parametrize("x", [0.0, -0.0])
def test_at_zero_the_maths_or_nan_never_a_wrong_finite_number(x, y):
    ours = _derivatives("ours", x, y, False)
    want = _exact(y)
    for key, value in want.items():
        got = ours[key]
        assert math.isnan(got) or _same(got, value), f"x={x!r}, y={y!r}: {key} = {got}, not {value}"
        if not math.isfinite(value):  # no value in the maths: not a finite number
            assert not math.isfinite(got), f"x={x!r}, y={y!r}: {key} = {got}, not {value}"


SMOOTH = [(x, y) for x in (1e-3, 0.7, 2.0) for y in YS] + [
    (-2.0, y)
    for y in (1.0, 2.0, 3.0, -1.0)  # d2/dx2 only: y an integer
]


@pytest.mark.parametrize(("x", "y"), SMOOTH)
def test_second_derivatives_are_the_first_ones_finite_differences(x, y):
    """Central differences of our own first derivatives, where x ** y is smooth."""
    h = 1e-6 * abs(x)

    def firsts(a: float, b: float) -> dict[str, float]:
        return _derivatives("ours", a, b, False)

    ours = firsts(x, y)
    keys = [("dx", "dxx", (h, 0.0))]
    if x > 0:
        keys += [("dx", "dxy", (0.0, 1e-6)), ("dy", "dyx", (h, 0.0)), ("dy", "dyy", (0.0, 1e-6))]
    for first, second, (dx, dy) in keys:
        step = dx or dy
        estimate = (firsts(x + dx, y + dy)[first] - firsts(x - dx, y - dy)[first]) / (2 * step)
        assert math.isclose(
            ours[second], estimate, rel_tol=1e-5, abs_tol=1e-7 * abs(ours[first]) + 1e-9
        ), f"x={x!r}, y={y!r}: {second} = {ours[second]}, finite differences {estimate}"


def test_a_zero_d_exponent_broadcast_over_x_sums_its_mixed_derivatives():
    # y a 0-d Tensor, x a vector: d/dy of sum(dz/dx) at y = 0 is sum(1 / x) (torch: 0),
    # and NaN once one x is 0 or negative
    for xs, want in (([2.0, 4.0, 0.5], 2.75), ([2.0, 0.0], nan), ([2.0, -1.0], nan)):
        X, Y = Tensor(xs, requires_grad=True), Tensor(0.0, requires_grad=True)
        with np.errstate(all="ignore"):
            (dx,) = grad((X**Y).sum(), [X], create_graph=True)
            (dxy,) = grad(dx.sum(), [Y])
        assert _same(float(dxy.data), want), (xs, float(dxy.data))
        np.testing.assert_array_equal(dx.data, np.zeros(len(xs)))  # x^0 = 1: flat in x


def test_first_derivatives_are_unchanged_where_nothing_is_differentiated_again():
    # the first-order path (backward(), no create_graph) gives the documented answers
    X = Tensor([0.0, 0.0, 2.0, -2.0, 0.0], requires_grad=True)
    Y = Tensor([0.0, 1.0, 0.0, 0.0, 2.0], requires_grad=True)
    with np.errstate(all="ignore"):
        (X**Y).sum().backward()
    np.testing.assert_array_equal(X.grad, [0.0, 1.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(Y.grad[[0, 1, 2, 4]], [0.0, 0.0, math.log(2.0), 0.0])
    assert math.isnan(Y.grad[3])
