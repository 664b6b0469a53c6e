"""One array object reaching an op through arguments of different graph nodes: a constant
that shares a tensor's array (``x.data``, ``x.detach()``) or a second leaf that does
(``x.detach().requires_grad_()``). Under ``create_graph`` the engine matches an op's saved
arrays to graph nodes; by identity alone it took the constant for ``x`` (or ``x`` for the
other leaf), and second derivatives silently gained or lost a term. Each case is checked
against torch's float64 second derivatives (the penalty |dy/dx|^2, differentiated again)."""

from __future__ import annotations

import numpy as np
import pytest
from torch_twin import leaf_and_grad

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, grad

torch = pytest.importorskip("torch")

X = np.array([0.3, -0.7, 1.2])


def _penalty_gradients(make, f, lib):
    """d/d(x, d) of |dy/dx|^2 + |dy/dd|^2 for y = sum f(x, d, x's constant), with d a
    second leaf on x's array; None where an input is unused (0 then)."""
    x, differentiate = leaf_and_grad(lib, X)
    d = x.detach().requires_grad_()
    const = x.data if lib == "tm" and make == "data" else x.detach()
    y = f(x, d, const, lib).sum()
    gx, gd = differentiate(y, [x, d], create_graph=True, allow_unused=True)
    penalty = sum((g * g).sum() for g in (gx, gd) if g is not None and g.requires_grad)
    found = differentiate(penalty, [x, d], allow_unused=True)
    return [np.zeros(3) if h is None else np.asarray(h.detach().numpy()) for h in found]


def _atan2(lib, y, x):
    return F.arctan2(y, x) if lib == "tm" else torch.atan2(y, x)


def _l2(lib, a, b):
    return F.l2(a, b) if lib == "tm" else (a * a).sum() + (b * b).sum()


CASES = {
    "constant * x": lambda x, d, c, lib: c * x * x,
    "x * constant": lambda x, d, c, lib: x * c * x,
    "constant / x": lambda x, d, c, lib: c / x,
    "constant / x, x * constant": lambda x, d, c, lib: c / x + x * c * x,
    "arctan2(constant, x)": lambda x, d, c, lib: _atan2(lib, c, x),
    "x * d": lambda x, d, c, lib: x * d * x,
    "d * x": lambda x, d, c, lib: d * x * d,
    "d / x": lambda x, d, c, lib: d / x,
    "arctan2(x, d)": lambda x, d, c, lib: _atan2(lib, x, d),
    "l2(x, d)": lambda x, d, c, lib: _l2(lib, x, d) * x.sum(),
    "l2(constant, x)": lambda x, d, c, lib: _l2(lib, c, x) * x.sum(),
}


@pytest.mark.parametrize("make", ["data", "detach"])
@pytest.mark.parametrize("case", list(CASES))
def test_second_derivatives_tell_a_shared_array_s_nodes_apart(case, make):
    got = _penalty_gradients(make, CASES[case], "tm")
    want = _penalty_gradients(make, CASES[case], "torch")
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-10, atol=1e-12)


def test_a_derived_tensor_and_its_detached_copy_in_one_op():
    # y.detach() * y: the constant's saved array was taken for y, giving d/dx of the
    # gradient 2 * 2y instead of 0 (torch: the gradient 2 y.detach() is a constant)
    x = Tensor(X.copy(), requires_grad=True)
    y = x * 2.0
    (g,) = grad((y.detach() * y).sum(), [x], create_graph=True)
    assert not g.requires_grad
    np.testing.assert_array_equal(g.data, 4.0 * X)


def test_hessian_of_a_function_closing_over_its_own_input():
    # autograd.hessian differentiates a fresh leaf on the input's array; the closed-over
    # constant t, first in t * z, was taken for that leaf and added 2 sin z to the diagonal
    from tinygrad_moons import autograd

    t = Tensor(X.copy())
    got = autograd.hessian(lambda z: (t * z * z.sin()).sum(), t)
    tt = torch.tensor(X.copy())
    want = torch.autograd.functional.hessian(lambda z: (tt * z * z.sin()).sum(), tt)
    np.testing.assert_allclose(got.data, want.numpy(), rtol=1e-12, atol=1e-12)
