"""Masked arrays (np.ma) given to training, prediction, the estimator and a state dict:
np.asarray keeps the values under the mask and drops the mask, so each took the hidden
values as numbers. Masked elements are refused, named; nothing is trained or loaded."""

from __future__ import annotations

import numpy as np
import pytest

from tinygrad_moons import nn
from tinygrad_moons.train import fit, predict

X = np.ma.masked_array(
    [[0.0, 1.0], [1.0, 0.0], [0.5, 99.0], [0.2, 0.8]],
    mask=[[False, False], [False, False], [False, True], [False, False]],
)
Y = np.array([0, 1, 0, 1])
REFUSED = "masked array with 1 masked element"


def test_fit_refuses_masked_features():
    model = nn.MLP([2, 3, 2], seed=0)
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match=f"X is a {REFUSED}"):
        fit(model, X, Y, epochs=2, progress=False)
    for p, b in zip(model.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.data, b)


def test_fit_refuses_masked_labels():
    y = np.ma.masked_array(Y, mask=[False, True, False, False])
    with pytest.raises(ValueError, match=f"y is a {REFUSED}"):
        fit(nn.MLP([2, 3, 2], seed=0), X.data, y, epochs=2, progress=False)


def test_predict_refuses_masked_features():
    with pytest.raises(ValueError, match=f"X is a {REFUSED}"):
        predict(nn.MLP([2, 3, 2], seed=0), X)


def test_load_state_dict_refuses_a_masked_weight():
    model = nn.MLP([2, 3, 2], seed=0)
    state = model.state_dict()
    before = state["0.weight"].copy()
    state["0.weight"] = np.ma.masked_array(np.full((2, 3), 5.0), mask=[[True] + [False] * 2] * 2)
    with pytest.raises(ValueError, match="0.weight is a masked array with 2 masked"):
        model.load_state_dict(state)
    np.testing.assert_array_equal(model.state_dict()["0.weight"], before)


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_the_estimator_refuses_masked_features_and_labels():
    pytest.importorskip("sklearn")
    from tinygrad_moons.estimator import NeuralNetClassifier

    estimator = NeuralNetClassifier(hidden_layer_sizes=(3,), max_iter=2, random_state=0)
    with pytest.raises(ValueError, match=f"X is a {REFUSED}"):
        estimator.fit(X, Y)
    with pytest.raises(ValueError, match=f"y is a {REFUSED}"):
        estimator.fit(X.data, np.ma.masked_array(Y, mask=[False, True, False, False]))
    estimator.fit(X.data, Y)
    with pytest.raises(ValueError, match=f"X is a {REFUSED}"):
        estimator.predict(X)
