"""A leaf on an array in tinygrad_moons or in torch, with that library's grad: the tests
that compare derivatives of derivatives build the same expression in both."""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_moons import Tensor, grad


def leaf_and_grad(lib: str, values: np.ndarray) -> tuple[Any, Any]:
    """(a leaf requiring grad on a copy of ``values``, the library's grad function)."""
    if lib == "tm":
        return Tensor(values.copy(), requires_grad=True), grad
    import torch

    return torch.tensor(values.copy(), requires_grad=True), torch.autograd.grad
