"""fit leaves every module in the mode it found it in, however it ends.

fit put the model in training mode and, at the end, called ``model.train(was_training)``
with the model's own flag: that sets every submodule to it, so a Dropout (or any
submodule) the user had left in eval mode on purpose came back in training mode, and one
in training mode under a model in eval mode came back in eval mode: the next forward
drew dropout masks (or skipped them) the user had switched off (or on), silently. Now
fit reads each module's own flag first and puts each back, in a ``finally``, so a
TrainingDiverged, a KeyboardInterrupt or any error mid-fit restores them too. During fit
every module trains, as after torch's ``model.train()``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tinygrad_moons import data, nn, optim
from tinygrad_moons.estimator import NeuralNetClassifier
from tinygrad_moons.train import TrainingDiverged, fit

X, Y = data.make_moons(40, seed=0)


def _model_with_eval_dropout() -> nn.Module:
    """An MLP whose Dropout the user switched off (eval) while the rest trains."""
    model = nn.MLP([2, 4, 4, 2], dropout=0.3, seed=0)
    next(m for m in model.modules() if isinstance(m, nn.Dropout)).eval()
    return model


def _eval_model_with_one_training_layer() -> nn.Module:
    """A model in eval mode but for its first Linear, put back in training mode."""
    model = nn.MLP([2, 4, 2], dropout=0.2, seed=1).eval()
    next(m for m in model.modules() if isinstance(m, nn.Linear)).train()
    return model


def _nested() -> nn.Module:
    """Sequentials inside a Sequential, modes alternating with depth."""
    inner = nn.Sequential(nn.Linear(4, 4, seed=2), nn.Tanh(), nn.Dropout(0.1, seed=3))
    model = nn.Sequential(nn.Linear(2, 4, seed=4), nn.ReLU(), inner, nn.Linear(4, 2, seed=5))
    inner.eval()
    list(inner.children())[0].train()
    return model


MODELS = {
    "dropout in eval": _model_with_eval_dropout,
    "model in eval, one layer training": _eval_model_with_one_training_layer,
    "nested, alternating": _nested,
    "all training": lambda: nn.MLP([2, 4, 2], dropout=0.2, seed=0),
    "all eval": lambda: nn.MLP([2, 4, 2], dropout=0.2, seed=0).eval(),
}


def _own_modes(model: nn.Module) -> list[bool]:
    return [module.__dict__["training"] for module in model.modules()]


def _fit(model, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        kwargs.setdefault("epochs", 3)
        kwargs.setdefault("lr", 0.1)
        return fit(model, X, Y, progress=False, **kwargs)


@pytest.mark.parametrize("batch_size", [None, 16])
@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("name", list(MODELS))
def test_fit_gives_every_module_its_own_mode_back(name, compiled, batch_size):
    model = MODELS[name]()
    before = _own_modes(model)
    assert name.startswith("all") or len(set(before)) == 2  # mixed modes where claimed
    seen = []
    _fit(
        model,
        compiled=compiled,
        batch_size=batch_size,
        callbacks=[lambda epoch, history: seen.append(_own_modes(model))],
    )
    assert _own_modes(model) == before
    assert seen and all(all(modes) for modes in seen)  # every module trains during fit


@pytest.mark.parametrize("compiled", [False, True])
def test_a_kept_eval_dropout_still_scores_as_eval_after_fit(compiled):
    # the user's switched-off Dropout stays off: two forwards after fit agree
    model = nn.MLP([2, 4, 4, 2], dropout=0.3, seed=0)
    for dropout in (m for m in model.modules() if isinstance(m, nn.Dropout)):
        dropout.eval()  # the model trains, its Dropouts stay off
    _fit(model, compiled=compiled)
    np.testing.assert_array_equal(model(X).data, model(X).data)


class _Stop(Exception):
    pass


def _raising(error: BaseException, at_epoch: int = 1):
    def callback(epoch, history):
        if epoch == at_epoch:
            raise error

    return callback


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("error", [KeyboardInterrupt(), _Stop("mid-fit")], ids=["ctrl-c", "error"])
def test_an_exception_mid_fit_gives_the_modes_back(name, error, compiled):
    model = MODELS[name]()
    before = _own_modes(model)
    with pytest.raises(type(error)):
        _fit(model, compiled=compiled, epochs=5, callbacks=[_raising(error)])
    assert _own_modes(model) == before


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("name", list(MODELS))
def test_training_diverged_gives_the_modes_back(name, compiled):
    model = MODELS[name]()
    before = _own_modes(model)
    optimizer = optim.SGD(model.parameters(), lr=1e300)
    with pytest.raises(TrainingDiverged):
        _fit(model, compiled=compiled, epochs=50, optimizer=optimizer)
    assert _own_modes(model) == before


class _Boom(nn.Module):
    """A layer of the user's own that raises on its nth call (mid-forward of a step)."""

    def __init__(self, at: int) -> None:
        super().__init__()
        self.calls, self.at = 0, at

    def forward(self, x):
        self.calls += 1
        if self.calls == self.at:
            raise _Stop("in the model's forward")
        return x


@pytest.mark.parametrize("compiled", [False, True])
def test_an_error_in_the_models_forward_gives_the_modes_back(compiled):
    boom = _Boom(at=4)
    model = nn.Sequential(nn.Linear(2, 3, seed=0), boom, nn.Dropout(0.5, seed=1), nn.Linear(3, 2))
    boom.eval()
    before = _own_modes(model)
    assert before.count(False) == 1
    with pytest.raises(_Stop):
        _fit(model, compiled=compiled, epochs=5)
    assert _own_modes(model) == before


def test_the_estimators_warm_start_keeps_a_submodule_in_eval_mode():
    clf = NeuralNetClassifier(hidden_layer_sizes=(4,), max_iter=3, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf.fit(X, Y)
        first = next(m for m in clf.model_.modules() if isinstance(m, nn.Linear))
        first.eval()
        before = _own_modes(clf.model_)
        clf.fit(X, Y)
    assert _own_modes(clf.model_) == before
    assert first.__dict__["training"] is False
