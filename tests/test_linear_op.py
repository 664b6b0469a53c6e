"""F.linear: the fused x @ W + b op, against its unfused twin and finite differences."""

import numpy as np
import pytest

import tinygrad_moons.functional as F  # noqa: N812
from tinygrad_moons import Tensor, gradcheck


def _inputs(bias_shape):
    rng = np.random.RandomState(0)
    x = Tensor(rng.randn(5, 3), requires_grad=True)
    w = Tensor(rng.randn(3, 4), requires_grad=True)
    b = Tensor(rng.randn(*bias_shape), requires_grad=True)
    return x, w, b


@pytest.mark.parametrize("bias_shape", [(4,), (1, 4)])
def test_linear_passes_gradcheck(bias_shape):
    assert gradcheck(F.linear, _inputs(bias_shape))


def test_linear_without_bias_passes_gradcheck():
    x, w, _ = _inputs((4,))
    assert gradcheck(lambda x, w: F.linear(x, w), [x, w])


@pytest.mark.parametrize("bias_shape", [(4,), (1, 4)])
def test_linear_equals_matmul_plus_bias_in_value_and_gradient(bias_shape):
    x, w, b = _inputs(bias_shape)
    fused = F.linear(x, w, b)
    (fused * fused).sum().backward()
    fused_grads = [t.grad.copy() for t in (x, w, b)]
    for t in (x, w, b):
        t.grad = None
    plain = x @ w + b
    (plain * plain).sum().backward()
    np.testing.assert_allclose(fused.data, plain.data, rtol=1e-15)
    for got, want in zip(fused_grads, (x.grad, w.grad, b.grad), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-13)


def test_linear_gives_no_gradient_to_inputs_that_do_not_require_it():
    x, w, b = _inputs((4,))
    x = Tensor(x.data)
    F.linear(x, w, b).sum().backward()
    assert x.grad is None
    assert w.grad.shape == (3, 4) and b.grad.shape == (4,)


def test_linear_refuses_mismatched_weight_naming_both_shapes():
    with pytest.raises(ValueError, match=r"\(5, 3\) and \(2, 4\)"):
        F.linear(np.ones((5, 3)), np.ones((2, 4)), np.ones(4))


def test_linear_refuses_a_bias_of_the_wrong_shape():
    with pytest.raises(ValueError, match=r"bias of shape \(4,\) or \(1, 4\).*got \(5,\)"):
        F.linear(np.ones((5, 3)), np.ones((3, 4)), np.ones(5))
