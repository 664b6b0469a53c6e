"""validate.py's shared checks on the values a quick path could get wrong."""

import numpy as np
import pytest

from tinygrad_moons import validate


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (np.array([[1e308, 1e308], [1.0, 2.0]]), None),  # the sum overflows; every value is finite
        (np.array([[1e308, -np.inf], [np.inf, 2.0]]), (0, 1)),  # inf + -inf in the sum
        (np.array([1.0, np.nan, np.inf]), (1,)),
        (np.arange(6, dtype=np.int64).reshape(2, 3), None),
        (np.zeros((0, 2)), None),
    ],
)
def test_first_non_finite_names_the_first_bad_value_and_nothing_else(values, expected):
    with np.errstate(all="raise"):  # a warning from the quick sum would be an error here
        assert validate.first_non_finite(values) == expected


def test_finite_passes_large_values_whose_sum_overflows():
    values = np.full((3, 2), 1e308)
    assert validate.finite("X", values) is values
