"""Arrays that come back from pickle (joblib's workers, multiprocessing, a pickled data set)
carry a float64 dtype equal to numpy's but another instance of it, and numpy passes that
instance on to every result computed from them. The engine must give the same numbers,
first and second order, as for the same values made in this process, and keep its quick
paths (one dtype instance inside the engine)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

import tinygrad_moons.functional as F
from tinygrad_moons import Function, Tensor, grad

FLOAT64 = np.dtype(np.float64)
W = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.75]])
X = np.array([[1.0, 2.0], [-0.5, 0.3], [0.2, -1.1], [2.0, 0.4]])


def unpickled(array: np.ndarray) -> np.ndarray:
    copy = pickle.loads(pickle.dumps(array))
    assert copy.dtype == FLOAT64 and copy.dtype is not FLOAT64  # what the tests are about
    return copy


def test_a_mixed_second_derivative_reaches_an_unpickled_weight():
    # d/dw of sum(d y/d x) for y = sum(x w) + sum(x^2) is 1 everywhere; the weight's saved
    # array was once left out of the graph and the derivative came back None
    results = []
    for make in (np.array, unpickled):
        x = Tensor([0.5, 0.25, 2.0], requires_grad=True)
        w = Tensor(make(np.array([1.0, 2.0, 3.0])), requires_grad=True)
        (dx,) = grad((x * w).sum() + (x * x).sum(), [x], create_graph=True)
        results.append([g.data for g in grad(dx.sum(), [x, w])])
    for got, want in zip(results[1], results[0], strict=True):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(results[1][1], np.ones(3))


def _network_hessian_column(make) -> tuple[np.ndarray, ...]:
    """Values, gradients and a Hessian-vector product of a tanh layer's loss."""
    w = Tensor(make(W), requires_grad=True)
    x = Tensor(make(X))
    loss = F.softmax_cross_entropy((x @ w).tanh(), np.array([0, 2, 1, 0]), reduction="sum")
    (g,) = grad(loss, [w], create_graph=True)
    (hv,) = grad((g * make(np.ones_like(W))).sum(), [w])
    return loss.data, g.data, hv.data


def test_a_network_on_unpickled_data_matches_torch_to_second_order():
    torch = pytest.importorskip("torch")
    w = torch.tensor(W, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(
        torch.tanh(torch.tensor(X) @ w), torch.tensor([0, 2, 1, 0]), reduction="sum"
    )
    (g,) = torch.autograd.grad(loss, [w], create_graph=True)
    (hv,) = torch.autograd.grad(g.sum(), [w])
    for got, want in zip(_network_hessian_column(unpickled), (loss, g, hv), strict=True):
        np.testing.assert_allclose(got, want.detach().numpy(), rtol=1e-12, atol=1e-14)


def test_unpickled_and_fresh_arrays_give_the_same_bits():
    fresh, loaded = _network_hessian_column(np.array), _network_hessian_column(unpickled)
    for a, b in zip(fresh, loaded, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "enter",
    [
        lambda a: Tensor(a).data,
        lambda a: (Tensor(np.zeros(3)) + a).data,  # a constant operand, wrapped, no copy
        lambda a: _set(Tensor(np.zeros(3)), "data", a),
        lambda a: _set(Tensor(np.zeros(3)), "grad", a),
        lambda a: _Returns.apply(Tensor(np.zeros(3), requires_grad=True), a).data,
    ],
    ids=["Tensor", "operand", "data", "grad", "Function output"],
)
def test_every_way_in_gives_the_engine_one_dtype_instance(enter):
    # the quick paths test `dtype is float64`; another instance sent every op of a
    # training step down the slow ones (18% slower), and second derivatives astray
    array = enter(unpickled(np.array([1.0, 2.0, 3.0])))
    assert array.dtype is FLOAT64
    np.testing.assert_array_equal(array, [1.0, 2.0, 3.0])


def test_data_set_from_an_unpickled_array_shares_its_memory():
    array = unpickled(np.array([1.0, 2.0, 3.0]))
    t = Tensor(np.zeros(3))
    t.data = array
    array[0] = 7.0  # as torch's t.data = ...: the tensor holds that memory, not a copy
    assert t.data[0] == 7.0


def _set(t: Tensor, name: str, value: np.ndarray) -> np.ndarray:
    setattr(t, name, value)
    return getattr(t, name)


class _Returns(Function):
    """Returns its second argument as its output."""

    @staticmethod
    def forward(ctx, x, value):
        return value

    @staticmethod
    def backward(ctx, grad):
        return grad, None
