"""F.linear: the fused x @ W + b op, against its unfused twin and finite differences."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, gradcheck, nn


def random_tensor(rng, *shape):
    return Tensor(rng.randn(*shape), requires_grad=True)


def _inputs(bias_shape):
    rng = np.random.RandomState(0)
    x = Tensor(rng.randn(5, 3), requires_grad=True)
    w = Tensor(rng.randn(3, 4), requires_grad=True)
    b = Tensor(rng.randn(*bias_shape), requires_grad=True)
    return x, w, b


def test_linear_with_a_1_by_m_bias_passes_gradcheck():
    assert gradcheck(F.linear, _inputs((1, 4)))


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


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 4), k=st.integers(1, 3), m=st.integers(1, 3), seed=st.integers(0, 99))
def test_linear_gradients_match_finite_differences(n, k, m, seed):
    rng = np.random.RandomState(seed)
    x, w, b = random_tensor(rng, n, k), random_tensor(rng, k, m), random_tensor(rng, m)
    assert gradcheck(F.linear, [x, w, b])


def test_linear_equals_matmul_plus_bias_bit_for_bit():
    rng = np.random.RandomState(0)
    x, w, b = rng.randn(5, 2), rng.randn(2, 3), rng.randn(3)
    assert np.array_equal(F.linear(x, Tensor(w), Tensor(b)).data, x.dot(w) + b)


def test_linear_bias_gradient_is_the_column_sum_of_the_output_gradient():
    rng = np.random.RandomState(1)
    x, w, b = random_tensor(rng, 4, 2), random_tensor(rng, 2, 3), random_tensor(rng, 3)
    grad = rng.randn(4, 3)
    F.linear(x, w, b).backward(grad)
    assert np.array_equal(b.grad, grad.sum(axis=0))
    assert np.array_equal(w.grad, x.data.T @ grad)
    assert np.array_equal(x.grad, grad @ w.data.T)


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "b_shape"),
    [
        ((4, 2), (3, 3), (3,)),
        ((4, 2), (2, 3), (2,)),
        ((4, 2), (2, 3), (2, 3)),
        ((2,), (2, 3), (2,)),
        ((4, 2), (2, 3), (4, 3, 1)),
    ],
)
def test_linear_refuses_mismatched_shapes_naming_them(x_shape, w_shape, b_shape):
    """A bias broadcasting to x @ weight is torch's (tests/engine/test_linear_bias_shapes.py);
    one that does not, or one that would enlarge the output, is refused naming its shape."""
    with pytest.raises(ValueError, match=r"linear") as error:
        F.linear(np.ones(x_shape), Tensor(np.ones(w_shape)), Tensor(np.ones(b_shape)))
    assert str(b_shape) in str(error.value)


def test_linear_of_a_batch_of_sequences_is_a_batched_matmul_plus_bias():
    x = Tensor(np.random.default_rng(0).normal(size=(2, 3, 4)), requires_grad=True)
    layer = nn.Linear(4, 5, seed=0)
    layer.bias.data[:] = np.arange(5.0)
    np.testing.assert_allclose(layer(x).data, x.data @ layer.weight.data + layer.bias.data)
    assert gradcheck(lambda t, *params: layer(t), [x, *layer.parameters()])
    with pytest.raises(ValueError, match=r"bias of shape \(2, 5\) does not broadcast"):
        F.linear(x, layer.weight, Tensor(np.ones((2, 5))))
