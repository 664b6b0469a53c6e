"""Regressions for the fast graph walk: in-place accumulation never aliases, graph links
free intermediates, constants are not copied yet never written."""

import weakref

import numpy as np
import pytest

from tinygrad_moons import Function, Tensor


def test_a_leaf_used_twice_gets_both_gradients():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x + x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_a_diamond_sums_both_paths():
    x = Tensor([3.0], requires_grad=True)
    y = x * 2.0
    (y + y * y).sum().backward()  # d/dx (2x + 4x^2) = 2 + 8x
    np.testing.assert_array_equal(x.grad, [26.0])


def test_add_handing_one_array_to_two_leaves_leaves_their_grads_independent():
    a = Tensor([1.0, 2.0], requires_grad=True)
    b = Tensor([3.0, 4.0], requires_grad=True)
    (a + b).backward(np.array([1.0, 1.0]))
    assert not np.shares_memory(a.grad, b.grad)
    (a * 5.0 + b).backward(np.array([1.0, 1.0]))
    np.testing.assert_array_equal(a.grad, [6.0, 6.0])
    np.testing.assert_array_equal(b.grad, [2.0, 2.0])


def test_the_gradient_passed_to_backward_is_never_changed():
    x = Tensor([1.0, 2.0], requires_grad=True)
    seed = np.array([1.0, 1.0])
    x.backward(seed)
    (x * 1.0).backward(seed)
    np.testing.assert_array_equal(seed, [1.0, 1.0])
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_a_grad_array_the_user_copied_is_not_changed_by_later_walks():
    x = Tensor([1.0, 2.0], requires_grad=True)
    loss = (x * x).sum()
    loss.backward()
    kept = x.grad.copy()
    loss.backward()
    np.testing.assert_array_equal(kept, [2.0, 4.0])
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])


def test_walking_a_graph_twice_adds_again_and_non_leaves_keep_no_grad():
    x = Tensor([1.0, 2.0], requires_grad=True)
    hidden = x.tanh()
    loss = (hidden * 3.0).sum()
    loss.backward()
    first = x.grad.copy()
    loss.backward()
    np.testing.assert_array_equal(x.grad, 2 * first)
    assert hidden.grad is None and loss.grad is None


def test_a_backward_returning_its_incoming_grad_does_not_alias_a_leaf_grad():
    class Identity(Function):
        @staticmethod
        def forward(ctx, x):
            return x.copy()

        @staticmethod
        def backward(ctx, grad):
            return grad

    x = Tensor([1.0], requires_grad=True)
    y = Identity.apply(x)
    seed = np.array([1.0])
    y.backward(seed)
    y.backward(seed)
    np.testing.assert_array_equal(x.grad, [2.0])
    np.testing.assert_array_equal(seed, [1.0])


def test_a_wrongly_shaped_backward_is_a_value_error_naming_the_function():
    class Broken(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            return np.ones(5)

    x = Tensor([[1.0, 2.0]], requires_grad=True)
    with pytest.raises(ValueError, match=r"Broken.backward returned .*\(5,\).*\(1, 2\)"):
        Broken.apply(x * 1.0).sum().backward()


def test_a_graph_100000_ops_deep_walks_without_recursion():
    x = Tensor([1.0], requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    np.testing.assert_array_equal(x.grad, [1.0])


def test_the_graph_does_not_keep_an_unsaved_intermediate_alive():
    x = Tensor(np.ones(3), requires_grad=True)
    pre = x * 2.0  # tanh saves its output, not this input
    data = weakref.ref(pre.data)
    out = pre.tanh().sum()
    del pre
    assert data() is None
    out.backward()
    np.testing.assert_allclose(x.grad, 2.0 * (1.0 - np.tanh(2.0) ** 2))


def test_a_float64_array_operand_is_used_without_copy_and_left_unchanged():
    w = Tensor([[1.0], [2.0]], requires_grad=True)
    X = np.array([[1.0, 1.0], [2.0, 3.0]])
    before = X.copy()
    (X @ w).sum().backward()
    np.testing.assert_array_equal(X, before)
    np.testing.assert_array_equal(w.grad, [[3.0], [4.0]])


def test_tensor_of_an_array_still_copies():
    array = np.ones(2)
    t = Tensor(array)
    t.data += 1.0
    np.testing.assert_array_equal(array, [1.0, 1.0])
