"""``t.data = ...`` and second derivatives. Under ``create_graph`` the engine knows an op's
saved arrays for graph nodes by identity (a leaf's array, the output of the op that made a
tensor); a new array given with ``.data`` broke that silently: for a tensor made by an op
the new array was a constant and the terms through it were lost; for a leaf the array an
op had saved before the assignment was. Both compared with torch's float64 derivatives (a
leaf's backward keeps the forward's values, as the first order does: see
tests/compiled/test_graph_leaf_written.py)."""

from __future__ import annotations

import numpy as np
import pytest
from torch_twin import leaf_and_grad

from tinygrad_moons import Tensor, grad

torch = pytest.importorskip("torch")

X = np.array([0.3, -0.7, 1.2])


def _second(lib, build):
    """(d/dx sum f, d/dx sum of that) for ``f = build(x)``."""
    x, differentiate = leaf_and_grad(lib, X)
    (g,) = differentiate(build(x, lib).sum(), [x], create_graph=True)
    (h,) = differentiate(g.sum(), [x])
    return [np.asarray(t.detach().numpy()) for t in (g, h)]


def _replaced_then_used(x, lib):
    y = x * 2.0
    y.data = y.data * 1.0 if lib == "tm" else y.data.clone()  # the same values, a new array
    return y * y.sin()


def _used_then_replaced(x, lib):
    y = x * 2.0
    z = y * y.sin()
    y.data = y.data * 1.0 if lib == "tm" else y.data.clone()
    return z + y * y


def test_a_tensor_made_by_an_op_keeps_its_node_through_a_data_assignment():
    # d2/dx2 of sum(y sin y), y = 2x: 4 (2 cos y - y sin y); the new array was a
    # constant and the derivative came back 4 everywhere
    for build in (_replaced_then_used, _used_then_replaced):
        for got, want in zip(_second("tm", build), _second("torch", build), strict=True):
            np.testing.assert_allclose(got, want, rtol=1e-12)


def _leaf_replaced_after_forward(x, lib):
    z = x.sin() * x
    if lib == "tm":
        x.data = X + 1.0  # the saved x is the forward's array
    return z


def test_a_leaf_s_array_saved_before_a_data_assignment_is_still_the_leaf():
    # torch's saved leaf would read the new values; ours reads the forward's, as the first
    # order does, so torch is run without the assignment. d/dx (x cos x + sin x) =
    # 2 cos x - x sin x; the saved array was a constant and gave cos x
    got = _second("tm", _leaf_replaced_after_forward)
    want = _second("torch", _leaf_replaced_after_forward)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12)
    x = Tensor(X.copy(), requires_grad=True)
    z = (x.sin() * x).sum()
    x.data = X + 1.0
    (first,) = grad(z, [x])
    np.testing.assert_array_equal(first.data, got[0])  # create_graph or not, one answer


def test_a_leaf_s_former_array_used_after_the_assignment_is_a_constant():
    x = Tensor(X.copy(), requires_grad=True)
    old = x.data
    x.data = X + 1.0
    (g,) = grad((x * old * x).sum(), [x], create_graph=True)  # 2 x old
    (h,) = grad(g.sum(), [x])
    np.testing.assert_allclose(h.data, 2.0 * X, rtol=1e-12)


def test_replacing_a_leaf_s_array_often_keeps_a_short_history():
    x = Tensor(X.copy(), requires_grad=True)
    for step in range(1000):
        x.data = x.data - 0.001 * step
    assert len(x._former) <= 2


def test_writing_through_data_in_place_notes_nothing():
    # t.data -= x hands the setter the array it holds: no history entry for a leaf, no
    # new node for a tensor made by an op (a training loop does it every step)
    x = Tensor(X.copy(), requires_grad=True)
    y = x * 2.0
    for _ in range(100):
        x.data -= 0.001
        y.data -= 0.001
    assert len(getattr(x, "_former", ())) == 0
    assert type(y._ctx).__name__ == "Mul"
