"""Derivatives near special points to the last digits, where a formula that cancels would
be silently off: first and second derivatives (``grad(..., create_graph=True)``) against
exact values or torch float64 where torch's own formula is exact there.

sinc is compared with its Taylor series summed exactly (math.fsum, 15 terms) for
|x| < 1/4 and with torch above: torch's quotient cancels near 0 as ours did (at 1e-9 its
first derivative is 0 and its second 0, the truth -3.3e-9 and -pi^2/3)."""

import math

import numpy as np
import pytest
from torch_twin import ours, theirs

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
