"""The checks the ported peer suites share: derivatives against central differences (HIPS
autograd's check_grads, first and second order), values against numpy, values and gradients
against PyTorch float64."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from _api import need_autograd
from hypothesis import settings

from tinygrad_moons import Tensor, gradcheck

# the peers drew hundreds of examples; a few keep the folder well under a minute
FEW = settings(max_examples=6, deadline=None)


def leaves(*arrays: Any) -> list[Tensor]:
    """A leaf Tensor that requires grad for each array or number."""
    return [Tensor(a, requires_grad=True) for a in arrays]


def check_grads(fn: Callable[..., Tensor], *arrays: Any, order: int = 2, **tol: float) -> None:
    """HIPS autograd's check_grads: the derivatives of ``fn`` at ``arrays`` against central
    differences, first order by gradcheck and, for order 2, second order by gradgradcheck
    (skipped until the API has it, after the first order has passed)."""
    inputs = leaves(*arrays)
    assert gradcheck(fn, inputs, **tol)
    if order >= 2:
        gradgradcheck = need_autograd("gradgradcheck", "first derivatives checked and passed")
        assert gradgradcheck(fn, leaves(*arrays), **tol)


def check_op(
    ours: Callable[..., Tensor],
    expected: Callable[..., Any],
    *arrays: Any,
    order: int = 2,
    **tol: float,
) -> None:
    """``ours`` gives numpy's values (``expected`` on the arrays), then ``check_grads``."""
    out = ours(*leaves(*arrays))
    want = np.asarray(expected(*(np.asarray(a, dtype=np.float64) for a in arrays)))
    assert out.shape == want.shape, (out.shape, want.shape)
    np.testing.assert_allclose(out.data, want, rtol=1e-12, atol=1e-12)
    check_grads(ours, *arrays, order=order, **tol)


def against_torch(
    ours: Callable[..., Tensor],
    theirs: Callable[..., torch.Tensor],
    *arrays: Any,
    seed: int = 0,
    rtol: float = 1e-10,
    atol: float = 1e-12,
) -> list[Tensor]:
    """``ours`` on Tensors and ``theirs`` on torch float64 tensors of the same arrays give
    the same values, and backward from one random output gradient gives the same gradient
    to every input (an input torch leaves without a gradient must get zeros or None)."""
    mine = leaves(*arrays)
    torch_inputs = [
        torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True) for a in arrays
    ]
    out, expected = ours(*mine), theirs(*torch_inputs)
    assert out.shape == tuple(expected.shape), (out.shape, tuple(expected.shape))
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=rtol, atol=atol)
    upstream = np.random.default_rng(seed).normal(size=out.shape)
    if out.requires_grad:
        out.backward(upstream)
    if expected.requires_grad:
        expected.backward(torch.tensor(upstream))
    for position, (t, tt) in enumerate(zip(mine, torch_inputs)):
        want = np.zeros(t.shape) if tt.grad is None else tt.grad.numpy()
        got = np.zeros(t.shape) if t.grad is None else t.grad
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=f"input {position}")
    return mine


def uniform(shape: Any, low: float = -2.0, high: float = 2.0, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(low, high, size=shape)
