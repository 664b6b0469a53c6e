"""``ops.matrix_product``, the 2-D product of MatMul, Linear and the column sums: the same
bits as numpy's ``@`` for every layout it is handed (ndarray.dot where that is so, ``@``
where the two part), as the compiled step's products are (``codegen.rules._product``),
so the two agree bit for bit."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_moons import Tensor, grad, ops
from tinygrad_moons import functional as F

LAYOUTS = ("c", "fortran", "columns strided", "transposed", "rows strided")
SIZES = st.one_of(st.just(1), st.integers(1, 40))


def _matrix(rng: np.random.Generator, rows: int, cols: int, layout: str) -> np.ndarray:
    if layout == "c":
        return rng.normal(size=(rows, cols))
    if layout == "fortran":
        return np.asfortranarray(rng.normal(size=(rows, cols)))
    if layout == "columns strided":
        return rng.normal(size=(rows, 2 * cols))[:, ::2]
    if layout == "transposed":
        return rng.normal(size=(cols, rows)).T
    return rng.normal(size=(2 * rows, cols))[::2]


@settings(max_examples=300, deadline=None)
@given(
    n=SIZES,
    k=SIZES,
    m=SIZES,
    layout_a=st.sampled_from(LAYOUTS),
    layout_b=st.sampled_from(LAYOUTS),
    strided_vector=st.booleans(),
    seed=st.integers(0, 2**32 - 1),
)
def test_the_same_bits_as_matmul_for_every_layout(
    n, k, m, layout_a, layout_b, strided_vector, seed
):
    """A single row or column beside a strided operand is where ndarray.dot and ``@`` part
    in the last bits (BLAS after a copy against matmul's own loop): those go to ``@``."""
    rng = np.random.default_rng(seed)
    a, b = _matrix(rng, n, k, layout_a), _matrix(rng, k, m, layout_b)
    np.testing.assert_array_equal(ops.matrix_product(a, b), a @ b)
    vector = rng.normal(size=2 * k)[::2] if strided_vector else rng.normal(size=k)
    np.testing.assert_array_equal(ops.matrix_product(vector, b), vector @ b)


def test_other_dtypes_and_tensors_go_to_matmul():
    """float32 stays float32, integers stay integers, Tensors (a backward under
    create_graph) are recorded: only float64 ndarrays take ndarray.dot."""
    a32 = np.ones((3, 2), np.float32)
    assert ops.matrix_product(a32, a32.T).dtype == np.float32
    ints = np.arange(6).reshape(3, 2)
    np.testing.assert_array_equal(ops.matrix_product(ints, ints.T), ints @ ints.T)
    w = Tensor(np.ones((2, 2)), requires_grad=True)
    product = ops.matrix_product(Tensor(np.ones((3, 2))), w)
    assert isinstance(product, Tensor) and product.requires_grad


def test_strided_linear_gradients_are_torchs():
    """F.linear and ``@`` on strided inputs, against torch float64: values, gradients and
    the gradient of the gradient's squared norm (the products under create_graph)."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(7, 6))[:, ::2]
    w, b = rng.normal(size=(6, 1))[::2], rng.normal(size=1)

    def run(linear, grad, x, w, b):
        loss = ((linear(x, w, b).tanh() @ w.T) ** 2).sum()
        gx, gw = grad(loss, [x, w])
        (gw**2).sum().backward()
        return loss, gx, gw, w.grad

    ours = run(
        F.linear,
        lambda y, v: grad(y, v, create_graph=True),
        *[Tensor(v, requires_grad=True) for v in (x, w, b)],
    )
    theirs = run(
        lambda x, w, b: x @ w + b,
        lambda y, v: torch.autograd.grad(y, v, create_graph=True),
        *[torch.tensor(v, requires_grad=True) for v in (x, w, b)],
    )
    for mine, torchs in zip(ours, theirs):
        mine = mine.data if isinstance(mine, Tensor) else mine
        np.testing.assert_allclose(mine, torchs.detach().numpy(), rtol=1e-12, atol=1e-14)
