"""A captured step that writes a tensor in place is refused: a replay would not write it.

Before, BatchNorm's running statistics (written under no_grad in its forward) were never
updated by a compiled fit, and fit compiled BatchNorm models by default: the statistics
stayed at zero and one, eval mode used them, and the losses parted from eager, silently.
"""

import warnings

import numpy as np
import pytest

from tinygrad_moons import Tensor, nn, no_grad
from tinygrad_moons.data import make_moons
from tinygrad_moons.graph import GraphChangedError, capture
from tinygrad_moons.train import fit, library_model

X, Y = make_moons(40, seed=0)


def test_capture_refuses_an_in_place_write_under_no_grad():
    w = Tensor([1.0, 2.0], requires_grad=True)
    counts = [Tensor([0.0])]

    def step():
        with no_grad():
            counts[0] += 1.0
        return (w * w).sum()

    with pytest.raises(GraphChangedError, match="an in-place write"):
        capture(step)


def test_capture_refuses_batchnorm_in_training_and_takes_it_in_eval():
    norm = nn.BatchNorm1d(2)
    x = Tensor(X[:8])
    with pytest.raises(GraphChangedError, match="running statistics"):
        capture(lambda: norm(x).sum())
    norm.eval()
    graph = capture(lambda: norm(x).sum())
    assert graph.replay(backward=False).item() == norm(x).sum().item()


def _model():
    return nn.Sequential(
        nn.Linear(2, 4, seed=0),
        nn.BatchNorm1d(4),
        nn.Tanh(),
        nn.Dropout(0.2, seed=3),
        nn.Linear(4, 2, seed=1),
    )


@pytest.mark.parametrize("batch_size", [None, 16])
def test_fit_with_batchnorm_updates_the_running_statistics_as_eagerly(batch_size):
    assert not library_model(_model())  # not compiled by default: it cannot be
    runs = {}
    for compiled in (False, None, True):
        model = _model()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = fit(
                model, X, Y, epochs=5, lr=0.05, batch_size=batch_size, progress=False,
                compiled=compiled, seed=0,
            )  # fmt: skip
        runs[compiled] = (history.loss, model.state_dict(), [str(w.message) for w in caught])
    eager_loss, eager_state, eager_warnings = runs[False]
    assert not np.array_equal(eager_state["1.running_mean"], np.zeros(4))
    for compiled in (None, True):
        loss, state, messages = runs[compiled]
        assert loss == eager_loss
        for key, value in eager_state.items():
            np.testing.assert_array_equal(state[key], value, err_msg=key)
    assert runs[None][2] == eager_warnings  # the default says nothing
    assert any("an in-place write" in m for m in runs[True][2])  # compiled=True says why
