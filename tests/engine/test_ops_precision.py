"""Derivatives near special points to the last digits, where a formula that cancels would
be silently off: first and second derivatives (``grad(..., create_graph=True)``) against
exact values or torch float64 where torch's own formula is exact there.

sinc is compared with its Taylor series summed exactly (math.fsum, 15 terms) for
|x| < 1/4 and with torch above: torch's quotient cancels near 0 as ours did (at 1e-9 its
first derivative is 0 and its second 0, the truth -3.3e-9 and -pi^2/3)."""

import math
import warnings

import numpy as np
import pytest
from torch_twin import ours, theirs

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, grad

torch = pytest.importorskip("torch")


def _sinc_series(x: float) -> tuple[float, float]:
    """sinc'(x) and sinc''(x) from sinc x = sum (-1)^k (pi x)^2k / (2k + 1)!, for |x| < 1/4."""
    terms = [(-1) ** k * math.pi ** (2 * k) / math.factorial(2 * k + 1) for k in range(1, 16)]
    first = math.fsum(c * 2 * k * x ** (2 * k - 1) for k, c in enumerate(terms, start=1))
    second = math.fsum(c * 2 * k * (2 * k - 1) * x ** (2 * k - 2) for k, c in enumerate(terms, 1))
    return first, second


SMALL = [0.0, -0.0, 1e-300, -1e-300, *np.logspace(-12, np.log10(0.2499), 40), -1e-8, -0.1]
BOUNDARY = [0.25 * (1 - 1e-15), 0.25, 0.25 * (1 + 1e-15), -0.25]
LARGER = [*np.logspace(np.log10(0.2501), 0, 15), -0.5, 0.75, 1.0]


def test_sinc_near_0_to_the_last_digits():
    _, (first,), (second,) = ours(Tensor.sinc, [SMALL])
    want = np.array([_sinc_series(x) for x in SMALL])
    np.testing.assert_allclose(first, want[:, 0], rtol=1e-15, atol=0, err_msg="first")
    np.testing.assert_allclose(second, want[:, 1], rtol=1e-15, atol=0, err_msg="second")


def test_sinc_from_a_quarter_on_as_torch():
    """Above |x| = 1/4 the quotient (cos(pi x) - sinc x) / x is exact to some 1e-15, as
    torch's; at 1/4 itself both sides meet the series."""
    points = BOUNDARY + LARGER
    got, want = ours(Tensor.sinc, [points]), theirs(torch.sinc, [points])
    for order in (1, 2):  # sinc'' crosses 0 near 0.66: an absolute 2e-15 there
        np.testing.assert_allclose(got[order][0], want[order][0], rtol=2e-15, atol=2e-15)
    series = np.array([_sinc_series(x) for x in BOUNDARY])
    np.testing.assert_allclose(got[1][0][: len(BOUNDARY)], series[:, 0], rtol=1e-15, atol=0)
    np.testing.assert_allclose(got[2][0][: len(BOUNDARY)], series[:, 1], rtol=2e-15, atol=0)


def test_sinc_third_derivative_near_0():
    """The series branch stays differentiable: sinc'''(x) = (pi^4 / 5) x + O(x^3)."""
    x = Tensor([1e-9, -1e-6], requires_grad=True)
    (g,) = grad(x.sinc().sum(), [x], create_graph=True)
    (h,) = grad(g.sum(), [x], create_graph=True)
    (t,) = grad(h.sum(), [x])
    np.testing.assert_allclose(t.data, np.pi**4 / 5 * x.data, rtol=1e-9)


# ---------------------------------------------------------------- inverse trig, hyperbolic
# Each first derivative (backward(), and grad(create_graph=True)) and second, against 50
# digits at the float x. Before: 1 - x*x cancels near |x| = 1 (arcsin' at 1 - 1e-8 was
# 2.8e-10 relative off, arctanh' 5.5e-10), x*x - 1 near 1 for arccosh, and x*x overflows
# from |x| = 1.3e154 on, where arccosh' and arcsinh' were 0 for the true ~1/|x| (and
# arctan'' 0 from |x| = 1e77 on for -2/x^3, its (1 + x^2)^2 overflowing)
mpmath = pytest.importorskip("mpmath")
mpmath.mp.dps = 50
ULP = 2.0**-52
_mp = mpmath.mpf


def _edge(x):
    """(1 - x)(1 + x), exact in mpmath."""
    return (1 - x) * (1 + x)


EXACT = {  # name: (f', f'') at an mpf x
    "arcsin": (lambda x: _edge(x) ** _mp(-0.5), lambda x: x * _edge(x) ** _mp(-1.5)),
    "arccos": (lambda x: -(_edge(x) ** _mp(-0.5)), lambda x: -x * _edge(x) ** _mp(-1.5)),
    "arctanh": (lambda x: 1 / _edge(x), lambda x: 2 * x / _edge(x) ** 2),
    "arccosh": (lambda x: (-_edge(x)) ** _mp(-0.5), lambda x: -x * (-_edge(x)) ** _mp(-1.5)),
    "arcsinh": (lambda x: (1 + x * x) ** _mp(-0.5), lambda x: -x * (1 + x * x) ** _mp(-1.5)),
    "arctan": (lambda x: 1 / (1 + x * x), lambda x: -2 * x / (1 + x * x) ** 2),
}
INSIDE = [1e-300, 1e-20, 1e-8, 0.1, 0.3, 0.49, 0.5, 0.51, 0.7, 0.9, 0.999]
TO_1 = [1 - 1e-8, 1 - 1e-12, 1 - 1e-15, float(np.nextafter(1.0, 0.0))]
ABOVE_1 = [float(np.nextafter(1.0, 2.0)), 1 + 1e-15, 1 + 1e-12, 1 + 1e-8, 1.5, 2.0, 10.0]
HUGE = [1e8, 1e20, 1e76, 1e78, 1e100, 1e150, 1e154, 1e155, 1e200, 1e300, 1.7e308]
GRID = {
    "arcsin": INSIDE + TO_1 + [-x for x in INSIDE + TO_1],
    "arccos": INSIDE + TO_1 + [-x for x in INSIDE + TO_1],
    "arctanh": INSIDE + TO_1 + [-x for x in INSIDE + TO_1],
    "arccosh": ABOVE_1 + HUGE,
    "arcsinh": INSIDE + [1.0, 2.0] + HUGE + [-x for x in INSIDE + HUGE],
    "arctan": INSIDE + [1.0, 2.0] + HUGE + [-x for x in INSIDE + HUGE],
}


def _exact(name, points):
    """f' and f'' at each point to 50 digits, rounded to float."""
    first, second = EXACT[name]
    return (
        np.array([float(first(_mp(x))) for x in points]),
        np.array([float(second(_mp(x))) for x in points]),
    )


def _assert_ulps(got, want, ulps, what):
    """Within ``ulps`` units in the last place, relative; where the truth is subnormal,
    within a few of its spacing (5e-324) absolute."""
    np.testing.assert_allclose(got, want, rtol=ulps * ULP, atol=1e-322, err_msg=what)


@pytest.mark.parametrize("name", sorted(EXACT))
def test_inverse_functions_derivatives_to_a_few_ulp(name):
    """Measured after: at most 1.0 ulp first, 1.5 second, over the grid."""
    points = GRID[name]
    want_first, want_second = _exact(name, points)
    leaf = Tensor(np.array(points), requires_grad=True)
    getattr(leaf, name)().sum().backward()
    _assert_ulps(leaf.grad, want_first, 3, "first, backward()")
    _, (first,), (second,) = ours(getattr(Tensor, name), [points])
    _assert_ulps(first, want_first, 3, "first, create_graph")
    _assert_ulps(second, want_second, 4, "second")


TORCH_NAMES = {"arcsin": "asin", "arccos": "acos", "arctanh": "atanh", "arccosh": "acosh"}
TORCH_NAMES.update(arcsinh="asinh", arctan="atan")
# torch's formulas (1 - x*x, x*x - 1, 1 + x*x) are exact away from |x| = 1 and from huge |x|
AS_TORCH = {
    "arcsin": [-0.45, -1e-8, 0.0, 1e-8, 0.2, 0.45],
    "arccos": [-0.45, -1e-8, 0.0, 1e-8, 0.2, 0.45],
    "arctanh": [-0.45, -1e-8, 0.0, 1e-8, 0.2, 0.45],
    "arccosh": [2.0, 3.5, 10.0, 1e5, 1e20],
    "arcsinh": [-1e20, -3.0, -1e-8, 0.0, 0.5, 7.0, 1e5],
    "arctan": [-1e20, -3.0, -1e-8, 0.0, 0.5, 7.0, 1e5],
}


@pytest.mark.parametrize("name", sorted(AS_TORCH))
def test_inverse_functions_as_torch_where_torch_is_exact(name):
    points = AS_TORCH[name]
    got = ours(getattr(Tensor, name), [points])
    want = theirs(getattr(torch, TORCH_NAMES[name]), [points])
    for order in (1, 2):
        _assert_ulps(got[order][0], want[order][0], 4, f"order {order}")


# ---------------------------------------------------------------- expm1, sigmoid
def _mp_sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


def _derivatives(method, points):
    """(value, first by backward(), first and second by create_graph) at ``points``."""
    leaf = Tensor(np.array(points), requires_grad=True)
    method(leaf).sum().backward()
    value, (first,), (second,) = ours(method, [points])
    return value, leaf.grad, first, second


EXPM1 = [-745.0, -700.0, -100.0, -40.0, -20.0, -10.0, -1.0, -1e-8, 0.0, 1e-300, 1e-8, 1.0, 700.0]


def test_expm1_derivative_is_exp_to_the_last_digit():
    """e^x from the forward, not z + 1 (z = e^x - 1 rounds to -1 from x = -38 on: the
    derivative was 0 at -40 for 4.2e-18, and 5e-8 relative off at -20)."""
    _, fast, first, second = _derivatives(Tensor.expm1, EXPM1)
    want = np.array([float(mpmath.exp(_mp(x))) for x in EXPM1])
    _assert_ulps(fast, want, 1, "first, backward()")
    _assert_ulps(first, want, 1, "first, create_graph")
    _assert_ulps(second, want, 1, "second")


SIGMOID = [-800.0, -745.0, -720.0, -700.0, -100.0, -40.0, -20.0, -10.0, -1.0, -1e-8, 0.0]
SIGMOID += [1e-8, 1.0, 10.0, 20.0, 36.0, 40.0, 100.0, 700.0, 720.0, 745.0, 800.0]


def test_sigmoid_and_its_derivatives_to_a_few_ulp():
    """s = 1 / (1 + e^-x) and s' = s(-x) s(x): before, s was (1 + tanh(x/2)) / 2 (1e-12
    relative off at -10, 0 at -100 for 3.7e-44) and s' = s (1 - s) 0 from x = 37 on."""
    value, fast, first, second = _derivatives(Tensor.sigmoid, SIGMOID)
    s = [_mp_sigmoid(_mp(x)) for x in SIGMOID]
    c = [_mp_sigmoid(-_mp(x)) for x in SIGMOID]
    _assert_ulps(value, np.array([float(v) for v in s]), 2, "value")
    want = np.array([float(a * b) for a, b in zip(s, c)])
    _assert_ulps(fast, want, 3, "first, backward()")
    _assert_ulps(first, want, 3, "first, create_graph")
    # s'' = s' (1 - 2s): near 0, where it crosses 0, the difference of s(-x) and s(x)
    # leaves an absolute error of some 1e-16 s' (torch's 1 - 2s too)
    want = np.array([float(a * b * (b - a)) for a, b in zip(s, c)])
    np.testing.assert_allclose(second, want, rtol=4 * ULP, atol=2e-16 * 0.25, err_msg="second")
    far = np.abs(SIGMOID) >= 1
    _assert_ulps(second[far], want[far], 4, "second, |x| >= 1")


def test_sigmoid_without_warnings_at_any_input():
    points = [-np.inf, -1e308, -800.0, 800.0, 1e308, np.inf]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value, fast, first, second = _derivatives(Tensor.sigmoid, points)
    np.testing.assert_array_equal(value, [0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    for got in (fast, first, second):
        np.testing.assert_array_equal(got, np.zeros(6))


def test_sigmoid_as_torch_where_torch_is_exact():
    """torch's s = 1 / (1 + e^-x) is exact until e^-x overflows (0 at -720 for 2e-313);
    its s (1 - s) where 1 - s does not cancel, x <= 1 (it is 0 from x = 37 on)."""
    points = [x for x in SIGMOID if abs(x) <= 700]
    got, want = ours(Tensor.sigmoid, [points]), theirs(torch.sigmoid, [points])
    _assert_ulps(got[0], want[0], 2, "value")
    low = np.array(points) <= 1
    _assert_ulps(got[1][0][low], want[1][0][low], 3, "first")


def test_softplus_and_logaddexp_slopes_are_the_exact_sigmoid():
    """Both take their derivative from the sigmoid: at -100 it is 3.7e-44 (it was 0)."""
    points = [-700.0, -100.0, -40.0, -1.0, 40.0]
    want = np.array([float(_mp_sigmoid(_mp(x))) for x in points])
    _, (first,), _ = ours(F.softplus, [points])
    _assert_ulps(first, want, 2, "softplus")
    _, (dx, _), _ = ours(F.logaddexp, [points, np.zeros(len(points))])
    _assert_ulps(dx, want, 2, "logaddexp")


# ---------------------------------------------------------------- tan, log, log1p: as they were
# Checked and already exact (no fix): tan' = 1 / cos^2 x (1 ulp, next to pi/2 too), ln' =
# 1 / x, log1p' = 1 / (1 + x), its 1 + x exact near -1 (0.5 ulp; second 1 ulp)
EDGES = {
    "tan": (
        [1e-300, 1e-8, 0.5, 1.5, np.pi / 2, 1.57079632679, 3.0, 1e5, 1e10, -np.pi / 2],
        lambda x: 1 / mpmath.cos(x) ** 2,
        lambda x: 2 * mpmath.sin(x) / mpmath.cos(x) ** 3,
    ),
    "log": ([1e-300, 1e-8, 0.5, 1.0, 2.0, 1e300], lambda x: 1 / x, lambda x: -1 / x**2),
    "log1p": (
        [-1 + 1e-16, -1 + 1e-8, -0.5, -1e-8, 1e-300, 1e-8, 1.0, 1e8, 1e300],
        lambda x: 1 / (1 + x),
        lambda x: -1 / (1 + x) ** 2,
    ),
}


@pytest.mark.parametrize("name", sorted(EDGES))
def test_tan_log_log1p_derivatives_to_an_ulp(name):
    points, exact_first, exact_second = EDGES[name]
    _, fast, first, second = _derivatives(getattr(Tensor, name), points)
    want = np.array([float(exact_first(_mp(x))) for x in points])
    _assert_ulps(fast, want, 2, "first, backward()")
    _assert_ulps(first, want, 2, "first, create_graph")
    want = np.array([float(exact_second(_mp(x))) for x in points])
    _assert_ulps(second, want, 3, "second")
