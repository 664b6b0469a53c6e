"""Arrays of unusual kinds entering the library: big-endian (read from a file written on
another machine), masked (np.ma, whose mask np.asarray drops). Each must give the numbers a
plain C-contiguous float64 array of the same values gives, or a clear error; never another
number."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor

LOGITS = np.random.RandomState(1).randn(100, 3)


@pytest.mark.parametrize("dtype", [">i2", ">i4", ">i8", ">u2", ">u8"])
def test_a_big_endian_label_out_of_range_is_refused(dtype):
    # 2**56 in '>i8' is the bytes 01 00 .. 00, which read in this machine's order are 1:
    # the quick check passed it, and row 0's loss read another row's logit (torch: an
    # IndexError); the same for 256 in '>i2'
    labels = np.zeros(100, dtype=dtype)
    big = 1 << 8 * (labels.itemsize - 1)
    labels[0] = big
    with pytest.raises(ValueError, match=f"label {big} at position 0 is not below 3"):
        F.softmax_cross_entropy(Tensor(LOGITS), labels)


@pytest.mark.parametrize("dtype", [">i2", ">i8", ">u4"])
def test_big_endian_labels_give_the_native_labels_loss(dtype):
    native = np.arange(100) % 3
    want = F.softmax_cross_entropy(Tensor(LOGITS), native, reduction="sum").data
    got = F.softmax_cross_entropy(Tensor(LOGITS), native.astype(dtype), reduction="sum").data
    np.testing.assert_array_equal(got, want)


# np.asarray of a masked array keeps the values under the mask and drops the mask: each way
# in took the hidden 99.0 as a number. Nothing masked: the numbers are all there, accepted.
HIDDEN = np.ma.masked_array([[1.0, 99.0], [3.0, 4.0]], mask=[[False, True], [False, False]])
REFUSED = "masked array with 1 masked element"


def _set(name: str):
    def enter(value):
        setattr(Tensor(np.zeros((2, 2))), name, value)

    return enter


@pytest.mark.parametrize(
    "enter",
    [
        Tensor,
        lambda a: Tensor(np.ones((2, 2)), requires_grad=True) * a,  # an operand
        _set("data"),
        _set("grad"),
        lambda a: F.where(a > 2.0, Tensor(np.ones((2, 2))), 0.0),
        lambda a: F.softmax_cross_entropy(Tensor(np.zeros((2, 2))), a[0].astype(int) % 2),
    ],
    ids=["Tensor", "operand", "data", "grad", "where", "labels"],
)
def test_a_masked_array_with_masked_elements_is_refused(enter):
    with pytest.raises(ValueError, match=REFUSED):
        enter(HIDDEN)


def test_a_masked_array_with_nothing_masked_gives_its_numbers():
    nothing_hidden = np.ma.masked_array(HIDDEN.data)
    np.testing.assert_array_equal(Tensor(nothing_hidden).data, HIDDEN.data)


@pytest.mark.parametrize(
    "op",
    [
        lambda m, t: m * t,
        lambda m, t: m + t,
        lambda m, t: m - t,
        lambda m, t: m / t,
        lambda m, t: m**t,
    ],
    ids=["*", "+", "-", "/", "**"],
)
def test_a_masked_array_on_the_left_never_loses_the_gradient(op):
    # np.ma's operators read the other operand's `_data`, once the Tensor's array: masked
    # * t was a masked array computed outside the graph, and loss + (masked * t).sum()
    # had no gradient from it (torch: masked arrays are not its operands at all)
    t = Tensor([0.5, 1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match="requires grad"):
        op(np.ma.masked_array([1.0, 2.0, 3.0]), t)


def test_a_masked_array_on_the_left_of_a_constant_tensor_computes_on_its_values():
    got = np.ma.masked_array([1.0, 2.0, 3.0]) * Tensor([0.5, 1.0, 2.0])
    np.testing.assert_array_equal(got, [0.5, 2.0, 6.0])
