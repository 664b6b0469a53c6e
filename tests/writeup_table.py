"""The table for reproducing the write-up (docs/api.md; ``three_gradients.COMPARED_PASSES`` and
friends), as one check the test files share, with reference.py's runs computed once per
test process."""

import functools

import numpy as np

from tinygrad_moons import data, reference
from tinygrad_moons.three_gradients import (
    COMPARED_PASSES,
    EARLY_RTOL,
    FULL_PASSES,
    LAST_RTOL,
    SETTLED,
    table_gaps,
)


def passes_needed(hidden: int) -> int:
    return FULL_PASSES if hidden in SETTLED else COMPARED_PASSES[hidden] + 1


@functools.cache
def reference_losses(hidden: int) -> np.ndarray:
    """reference.train's losses on the write-up's data, once per test process."""
    X, y = data.make_moons()
    _, losses = reference.train(X, y, hidden, passes=passes_needed(hidden))
    return losses


def assert_table_holds(hidden: int, losses) -> None:
    """The autodiff run ``losses`` against reference.py, as the reproduction table says."""
    losses = np.asarray(losses)
    assert len(losses) == passes_needed(hidden)
    early_gap, last_gap = table_gaps(hidden, losses, reference_losses(hidden))
    assert early_gap <= EARLY_RTOL, f"hidden {hidden}: early passes differ by {early_gap:.2e}"
    if hidden in SETTLED:
        assert last_gap <= LAST_RTOL, f"hidden {hidden}: the last pair differs by {last_gap:.2e}"
