"""A leaf on an array in tinygrad_moons or in torch, with that library's grad: the tests
that compare derivatives of derivatives build the same expression in both; ``ours`` and
``theirs`` give a function's value and first and second derivatives in each."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from tinygrad_moons import Tensor, grad


def leaf_and_grad(lib: str, values: np.ndarray) -> tuple[Any, Any]:
    """(a leaf requiring grad on a copy of ``values``, the library's grad function)."""
    if lib == "tm":
        return Tensor(values.copy(), requires_grad=True), grad
    import torch

    return torch.tensor(values.copy(), requires_grad=True), torch.autograd.grad


def ours(fn: Any, arrays: Any) -> tuple[np.ndarray, list, list]:
    """(value, first derivatives, second derivatives) of ``fn`` at ``arrays``: the first
    contracted with ones, the second the gradient of the sum of all the first."""
    tensors = [Tensor(np.array(a, dtype=float), requires_grad=True) for a in arrays]
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        out = fn(*tensors)
        firsts = grad(out, tensors, np.ones(out.shape), create_graph=True, allow_unused=True)
        live = [g for g in firsts if g is not None and (g._ctx is not None or g.requires_grad)]
        seconds = [None] * len(tensors)
        if live:
            total = live[0].sum()
            for g in live[1:]:
                total = total + g.sum()
            seconds = grad(total, tensors, allow_unused=True)
    first = [np.zeros(np.shape(a)) if g is None else g.data for a, g in zip(arrays, firsts)]
    second = [np.zeros(np.shape(a)) if h is None else h.data for a, h in zip(arrays, seconds)]
    return out.data, first, second


def theirs(fn: Any, arrays: Any) -> tuple[np.ndarray, list, list]:
    """``ours`` in torch float64: torch.autograd.grad(..., create_graph=True)."""
    import torch

    tensors = [torch.tensor(np.array(a, dtype=float), requires_grad=True) for a in arrays]
    out = fn(*tensors)
    firsts = torch.autograd.grad(
        out, tensors, torch.ones_like(out), create_graph=True, allow_unused=True
    )
    live = [g for g in firsts if g is not None and g.requires_grad]
    seconds = [None] * len(tensors)
    if live:
        seconds = torch.autograd.grad(sum(g.sum() for g in live), tensors, allow_unused=True)

    def array(a, t):
        return np.zeros(np.shape(a)) if t is None else t.detach().numpy(force=True)

    first = [array(a, g) for a, g in zip(arrays, firsts)]
    second = [array(a, h) for a, h in zip(arrays, seconds)]
    return out.detach().numpy(), first, second


def assert_same(got: Any, want: Any, what: str) -> None:
    """Equal to 1e-9 relative (1e-12 absolute), NaN and infinities as such."""
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, equal_nan=True, err_msg=what)


def fuzz_settings(examples: int) -> Any:
    """The differential fuzzers' hypothesis settings: ``examples`` cases, derandomized (CI
    draws the same ones every run), no deadline."""
    from hypothesis import HealthCheck, settings

    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
