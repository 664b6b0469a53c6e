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
