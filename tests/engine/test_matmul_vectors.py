"""``@`` with a 1-D operand, as numpy's and torch's matmul: 1-D @ 2-D, 2-D @ 1-D, 1-D @ 1-D
(0-d) and a vector against a stack. Values against numpy, first and second derivatives
against torch float64 and finite differences, and a captured step replaying bit for bit."""

import numpy as np
import pytest
import torch

from tinygrad_moons import Tensor, grad, no_grad
from tinygrad_moons.gradcheck import gradcheck, gradgradcheck
from tinygrad_moons.graph import capture

SHAPES = [
    ((3,), (3,)),
    ((3,), (3, 2)),
    ((2, 3), (3,)),
    ((4, 2, 3), (3,)),
    ((3,), (4, 3, 2)),
    ((3,), (2, 1, 3, 5)),
    ((1, 2, 3), (3,)),
    ((0, 3), (3,)),
    ((3,), (3, 0)),
]


def _operands(a_shape, b_shape, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=a_shape), rng.normal(size=b_shape)


@pytest.mark.parametrize(("a_shape", "b_shape"), SHAPES)
def test_values_and_shape_are_numpys(a_shape, b_shape):
    a, b = _operands(a_shape, b_shape)
    out = Tensor(a) @ Tensor(b)
    assert out.shape == np.matmul(a, b).shape
    np.testing.assert_allclose(out.data, np.matmul(a, b), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose((a @ Tensor(b)).data, np.matmul(a, b), rtol=1e-14, atol=1e-14)
    np.testing.assert_allclose((Tensor(a) @ b).data, np.matmul(a, b), rtol=1e-14, atol=1e-14)


def _first_and_second(matmul, differentiate, weights, a, b):
    """The product's weighted sum, its gradients, and the gradients of a function of those
    gradients (second order through the product's backward)."""
    out = matmul(a, b)
    ga, gb = differentiate((out * weights).sum(), [a, b], create_graph=True)
    second = differentiate((ga * ga).sum() + (ga.sum() * gb * gb).sum(), [a, b])
    return [out, ga, gb, *second]


@pytest.mark.parametrize(("a_shape", "b_shape"), SHAPES)
def test_first_and_second_derivatives_are_torchs(a_shape, b_shape):
    a, b = _operands(a_shape, b_shape, seed=1)
    weights = np.random.default_rng(5).normal(size=np.matmul(a, b).shape)
    ours = _first_and_second(
        lambda x, y: x @ y, grad, Tensor(weights), *(Tensor(v, requires_grad=True) for v in (a, b))
    )
    theirs = _first_and_second(
        torch.matmul,
        lambda y, xs, create_graph=False: torch.autograd.grad(y, xs, create_graph=create_graph),
        torch.tensor(weights),
        *(torch.tensor(v, requires_grad=True) for v in (a, b)),
    )
    for mine, torchs in zip(ours, theirs, strict=True):
        torchs = torchs.detach().numpy()
        assert mine.shape == torchs.shape
        np.testing.assert_allclose(mine.data, torchs, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize(("a_shape", "b_shape"), SHAPES[:6])
def test_gradcheck_and_gradgradcheck(a_shape, b_shape):
    a, b = (Tensor(v, requires_grad=True) for v in _operands(a_shape, b_shape, seed=2))
    assert gradcheck(lambda x, y: x @ y, [a, b])
    assert gradgradcheck(lambda x, y: x @ y, [a, b])


def test_a_vector_that_needs_no_gradient_gives_the_matrix_its_own():
    v, m = _operands((3,), (3, 2), seed=3)
    w = Tensor(m, requires_grad=True)
    (Tensor(v) @ w).sum().backward()
    np.testing.assert_allclose(w.grad, np.outer(v, np.ones(2)), rtol=1e-15)


@pytest.mark.parametrize(
    ("a_shape", "b_shape", "message"),
    [
        ((), (3,), "both arguments to matmul need to be at least 1D, but they are 0D and 1D"),
        ((3,), (), "but they are 1D and 0D"),
        ((3,), (4,), r"inner sizes of shapes \(3,\) and \(4,\) differ \(3 and 4\)"),
        ((3,), (4, 2), r"shapes \(3,\) and \(4, 2\) differ \(3 and 4\)"),
        ((2, 3), (4,), r"shapes \(2, 3\) and \(4,\) differ \(3 and 4\)"),
        ((2, 2, 3), (3, 3, 1), r"batch dimensions that broadcast"),
    ],
)
def test_what_numpy_and_torch_refuse_is_refused(a_shape, b_shape, message):
    a, b = np.ones(a_shape), np.ones(b_shape)
    with pytest.raises(ValueError):
        np.matmul(a, b)
    with pytest.raises(RuntimeError):
        torch.matmul(torch.tensor(a), torch.tensor(b))
    with pytest.raises(ValueError, match=message):
        Tensor(a, requires_grad=True) @ Tensor(b)


def test_a_write_into_the_vector_after_the_forward_is_refused_as_torch():
    """The row saved for the backward is a view of the vector: a write is caught."""
    v = Tensor(np.ones(3))
    w = Tensor(np.ones((3, 2)), requires_grad=True)
    out = v @ w
    with no_grad():
        v += 1
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()


def _regression_trajectory(replayed: bool, steps: int = 20):
    """Least squares with a 1-D weight (X @ w) and a quadratic penalty w @ A @ w."""
    rng = np.random.default_rng(4)
    X, y = Tensor(rng.normal(size=(30, 5))), Tensor(rng.normal(size=30))
    A = Tensor(np.eye(5) + 0.1 * rng.normal(size=(5, 5)))
    w = Tensor(rng.normal(size=5), requires_grad=True)

    def loss():
        residual = X @ w - y
        return residual @ residual / 30 + 0.01 * (w @ A @ w)

    graph = capture(loss) if replayed else None
    history = []
    for _ in range(steps):
        if replayed:
            value = graph.replay()
        else:
            value = loss()
            value.backward()
        history.append((value.item(), w.grad.copy()))
        w.data -= 0.1 * w.grad
        w.grad = None
    return history, w.data.copy()


def test_a_captured_step_with_vector_products_replays_as_eager_bit_for_bit():
    eager, eager_w = _regression_trajectory(replayed=False)
    replayed, replayed_w = _regression_trajectory(replayed=True)
    for (loss_e, grad_e), (loss_r, grad_r) in zip(eager, replayed, strict=True):
        assert loss_e == loss_r
        np.testing.assert_array_equal(grad_e, grad_r)
    np.testing.assert_array_equal(eager_w, replayed_w)
    assert eager[-1][0] < eager[0][0]
