"""validate: the shared checks find the first bad value wherever it is, and say nothing when
all is well (huge finite values included)."""

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tinygrad_moons.validate import features, finite, first_non_finite, not_finite

FLOATS = st.floats(allow_nan=True, allow_infinity=True, width=64)
SHAPES = hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(np.float64, hnp.array_shapes(min_dims=0, max_dims=3, max_side=4), elements=FLOATS)
)
def test_first_non_finite_is_numpys_first_nan_or_infinity(values):
    bad = np.argwhere(~np.isfinite(values))
    expected = tuple(int(i) for i in bad[0]) if len(bad) else None
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a sum that overflows is no warning of ours
        assert first_non_finite(values) == expected


def test_huge_finite_values_pass_silently_and_an_infinity_among_them_is_named():
    huge = np.full((3, 2), 1e308)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert finite("X", huge) is huge
        assert features(huge).shape == (3, 2)
        huge[2, 1] = -np.inf
        assert not_finite("w", huge) == "not finite: 'w' holds -inf at index (2, 1)"
        with pytest.raises(ValueError, match=r"X must be finite; found -inf at index \(2, 1\)"):
            features(huge)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (np.array([[1e308, 1e308], [1.0, 2.0]]), None),  # a sum would overflow; all finite
        (np.array([[1e308, -np.inf], [np.inf, 2.0]]), (0, 1)),  # inf + -inf in a sum
        (np.arange(6, dtype=np.int64).reshape(2, 3), None),
        (np.zeros((0, 2)), None),
    ],
)
def test_first_non_finite_under_numpys_strictest_error_state(values, expected):
    with np.errstate(all="raise"):
        assert first_non_finite(values) == expected
