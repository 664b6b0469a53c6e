"""The Hessian-vector product of the write-up's summed objective, timed against PyTorch's.

``autograd.hvp`` (the gradient recorded, then differentiated once more against v) against
``torch.autograd.functional.hvp`` on the same objective, parameters and vector, float64,
interleaved and repeated, medians. Both products are compared before any timing: a fast
wrong product is refused, not timed.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import tinygrad_moons.functional as F
from tinygrad_moons.autograd import hvp
from tinygrad_moons.bench.steps import REG, Problem
from tinygrad_moons.tensor import Tensor

HVP_WORKLOADS: tuple[tuple[int, int], ...] = ((200, 3), (10_000, 64))
NAMES = ("W1", "b1", "W2", "b2")


@dataclass
class HvpTiming:
    """Median seconds of one product, ours and torch's (None without torch)."""

    n: int
    hidden: int
    ours: float
    torch: float | None

    @property
    def ratio(self) -> float | None:
        """Our time over torch's: below 1 is faster than PyTorch."""
        return None if self.torch is None else self.ours / self.torch

    def line(self) -> str:
        versus = (
            "torch not importable"
            if self.ratio is None
            else f"torch {self.torch * 1e3:.2f} ms, ratio {self.ratio:.2f}x"
        )
        where = f"{self.n} x {self.hidden}"
        return f"hvp of the summed objective, {where}: {self.ours * 1e3:.2f} ms; {versus}"


def _ours(problem: Problem, vector: list[np.ndarray]) -> Callable[[], np.ndarray]:
    X, y = Tensor(problem.X), problem.y
    params = tuple(Tensor(problem.start[name]) for name in NAMES)
    v = tuple(Tensor(piece) for piece in vector)

    def objective(W1: Tensor, b1: Tensor, W2: Tensor, b2: Tensor) -> Tensor:
        logits = (X @ W1 + b1).tanh() @ W2 + b2
        return F.softmax_cross_entropy(logits, y, reduction="sum") + (REG / 2) * F.l2(W1, W2)

    return lambda: np.concatenate([p.numpy().ravel() for p in hvp(objective, params, v)[1]])


def _torch(problem: Problem, vector: list[np.ndarray], torch: Any) -> Callable[[], np.ndarray]:
    X, y = torch.from_numpy(problem.X), torch.from_numpy(problem.y).long()
    params = tuple(torch.tensor(problem.start[name]) for name in NAMES)
    v = tuple(torch.tensor(piece) for piece in vector)

    def objective(W1: Any, b1: Any, W2: Any, b2: Any) -> Any:
        logits = torch.tanh(X @ W1 + b1) @ W2 + b2
        loss = torch.nn.functional.cross_entropy(logits, y, reduction="sum")
        return loss + REG / 2 * (W1.pow(2).sum() + W2.pow(2).sum())

    def product() -> np.ndarray:
        found = torch.autograd.functional.hvp(objective, params, v)[1]
        return np.concatenate([p.numpy().ravel() for p in found])

    return product


def _median_seconds(product: Callable[[], Any], min_time: float) -> float:
    start = time.perf_counter()
    calls = 0
    while True:
        product()
        calls += 1
        if time.perf_counter() - start >= min_time:
            return (time.perf_counter() - start) / calls


def time_hvp(
    workloads: tuple[tuple[int, int], ...] = HVP_WORKLOADS, repeats: int = 5, min_time: float = 0.05
) -> list[HvpTiming]:
    """One ``HvpTiming`` per workload (N points, H hidden units)."""
    try:
        import torch
    except ImportError:
        torch = None
    timings = []
    for n, hidden in workloads:
        problem = Problem.make(n, hidden)
        rng = np.random.default_rng(0)
        vector = [rng.standard_normal(problem.start[name].shape) for name in NAMES]
        products = {"ours": _ours(problem, vector)}
        if torch is not None:
            products["torch"] = _torch(problem, vector, torch)
            ours, theirs = products["ours"](), products["torch"]()
            if not np.allclose(ours, theirs, rtol=1e-8, atol=1e-8 * np.abs(theirs).max()):
                raise AssertionError(f"hvp at {n} x {hidden} differs from torch's: not timed")
        samples: dict[str, list[float]] = {name: [] for name in products}
        names = list(products)
        for r in range(repeats):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                samples[name].append(_median_seconds(products[name], min_time))
        median = {name: statistics.median(s) for name, s in samples.items()}
        timings.append(HvpTiming(n, hidden, median["ours"], median.get("torch")))
    return timings
