"""Degenerate shapes and values against PyTorch float64 and numpy: arrays with no elements
((0,), (0, 3), (3, 0), (2, 0, 3)), 0-d tensors, size-1 axes that broadcast, and inf, NaN,
-0.0, subnormals and 1e308 in reductions and activations. Each row of a table is an op, its
inputs and torch's spelling (or the exact answer); values, gradients (backward through
grad) and second derivatives (grad with create_graph=True) must agree, shapes included.
Where torch answers and the library deliberately refuses (docs/api.md), the refusal is
asserted instead."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from torch_twin import assert_same, ours, theirs

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, nn

EMPTY = [(0,), (0, 3), (3, 0), (2, 0, 3)]


def _data(shape, seed=0):
    return np.random.default_rng(seed).normal(size=shape)


def agree(our_fn, torch_fn, arrays):
    """Value, first and second derivatives of ours and torch's agree, shapes included."""
    arrays = [np.asarray(a, dtype=float) for a in arrays]
    got, want = ours(our_fn, arrays), theirs(torch_fn, arrays)
    assert got[0].shape == want[0].shape, (got[0].shape, want[0].shape)
    assert_same(got[0], want[0], "value")
    for order, name in ((1, "gradient"), (2, "second derivative")):
        for i, (g, w) in enumerate(zip(got[order], want[order])):
            assert g.shape == arrays[i].shape, f"{name} of input {i}: shape {g.shape}"
            assert_same(g, w, f"{name} of input {i}")


# ---------------------------------------------------------------- extreme values
inf, nan = np.inf, np.nan
VALUES = {
    "nan": [1.0, nan, 3.0],
    "nan first": [nan, 1.0, 2.0],
    "inf": [1.0, inf, 2.0],
    "-inf": [-inf, 1.0, 2.0],
    "all -inf": [-inf, -inf, -inf],
    "inf and -inf": [inf, -inf, 0.0],
    "nan and infs": [nan, inf, -inf],
    "-0.0": [-0.0, 0.0, 0.0],
    "subnormal": [5e-324, 1e-310, 0.0],
    "1e308": [1e308, 1e308, -1e308],
    "tie": [2.0, 2.0, 1.0],
}
EXTREME_OPS = {
    "max": (lambda x: x.max(axis=-1), lambda x: x.amax(-1)),
    "min": (lambda x: x.min(axis=-1), lambda x: x.amin(-1)),
    "sum": (lambda x: x.sum(axis=-1), lambda x: x.sum(-1)),
    "mean": (lambda x: x.mean(axis=-1), lambda x: x.mean(-1)),
    "cumsum": (lambda x: x.cumsum(axis=-1), lambda x: x.cumsum(-1)),
    "softmax": (F.softmax, lambda x: torch.softmax(x, -1)),
    "log_softmax": (F.log_softmax, lambda x: torch.log_softmax(x, -1)),
    "sort": (lambda x: x.sort(), lambda x: x.sort(stable=True).values),
    "var": (lambda x: x.var(axis=-1), lambda x: x.var(-1, correction=0)),
    "norm": (lambda x: (x * x).sum(axis=-1).sqrt(), lambda x: (x * x).sum(-1).sqrt()),
    "relu": (F.relu, torch.relu),
    "leaky_relu": (F.leaky_relu, TF.leaky_relu),
    "clip": (lambda x: x.clip(-1.0, 1.5), lambda x: x.clamp(-1.0, 1.5)),
    "maximum": (lambda x: F.maximum(x, x.flip(-1)), lambda x: torch.maximum(x, x.flip(-1))),
    "fmax": (lambda x: F.fmax(x, x.flip(-1)), lambda x: torch.fmax(x, x.flip(-1))),
    "max_pool2d": (
        lambda x: F.max_pool2d(x.reshape(1, 2, 1, 3), (1, 3)),
        lambda x: TF.max_pool2d(x.reshape(1, 2, 1, 3), (1, 3)),
    ),
    "sigmoid": (F.sigmoid, torch.sigmoid),
    "tanh": (F.tanh, torch.tanh),
}


@pytest.mark.parametrize("name", sorted(EXTREME_OPS))
@pytest.mark.parametrize("values", sorted(VALUES))
def test_extreme_values_agree_with_torch(name, values):
    """NaN propagates through max, min and relu as in torch and numpy; softmax of a row of
    -inf is NaN in both. relu(NaN) was 0 with gradient 0 (x > 0 is False at NaN): a NaN
    from upstream vanished, silently, where torch's and np.maximum(x, 0) give NaN."""
    if (name, values) == ("var", "1e308"):
        pytest.skip("the sum in the mean overflows (numpy's and torch's too): see below")
    row = np.array(VALUES[values])
    agree(*EXTREME_OPS[name], [np.stack([row, row[::-1]])])


def test_variance_beyond_the_float_range_is_inf():
    """Σ (x - mean)² / n of [1e308, 1e308, -1e308] is some 9e615: inf, where torch's
    Welford answers -inf and NaN. (Its gradient is not checked: the mean's sum overflows,
    in numpy and torch alike, so 2 (x - mean) / n is -inf where it is some 4e307.)"""
    x = Tensor(np.array([[1e308, 1e308, -1e308], [-1e308, 1e308, 1e308]]))
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(x.var(axis=-1).data, [inf, inf])


def test_relu_keeps_nan_through_every_spelling():
    """F.relu, Tensor.relu and nn.ReLU give np.maximum(x, 0): NaN stays NaN."""
    x = np.array([nan, -1.0, 2.0, -0.0])
    for out in (F.relu(x), Tensor(x).relu(), nn.ReLU()(Tensor(x))):
        np.testing.assert_array_equal(out.data, np.maximum(x, 0.0))
