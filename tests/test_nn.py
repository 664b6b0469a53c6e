"""nn: the fused linear op, Module registration, layers, MLP, Dropout, state dicts."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, gradcheck


def random_tensor(rng, *shape):
    return Tensor(rng.randn(*shape), requires_grad=True)


# ---------------------------------------------------------------------- F.linear
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
        ((4, 2), (2, 3), (1, 3)),
        ((2,), (2, 3), (3,)),
    ],
)
def test_linear_refuses_mismatched_shapes_naming_them(x_shape, w_shape, b_shape):
    with pytest.raises(ValueError, match=r"linear needs") as error:
        F.linear(np.ones(x_shape), Tensor(np.ones(w_shape)), Tensor(np.ones(b_shape)))
    assert str(b_shape) in str(error.value)
