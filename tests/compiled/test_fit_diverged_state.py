"""What a TrainingDiverged leaves: everything as it was before the step that broke.

fit put the parameters back, but left the optimiser as the breaking step left it: its step
count one on, momentum holding the velocity that broke the parameters, Adam's moments and
step counts advanced (and made, when the first step broke). A user who caught the error
and trained on, at a smaller rate say, went on from parameters and an optimiser that no
step ever paired, silently. Now the optimiser's state and step count go back with the
parameters, compiled as eagerly; the schedule has not stepped for the breaking epoch (it
steps after each epoch), so the rate is the breaking step's, ``error.lr``.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_moons.functional as F
import tinygrad_moons.train as train_module
from tinygrad_moons import data, nn, optim
from tinygrad_moons.train import TrainingDiverged, fit

X, Y = data.make_moons(100, seed=0)
OPTIMISERS = {  # each trains at its rate, then at the huge one from epoch 2 on, and breaks
    "momentum": (lambda ps: optim.SGD(ps, lr=0.01, momentum=0.9), 1e250),
    "nesterov": (lambda ps: optim.SGD(ps, lr=0.01, momentum=0.5, nesterov=True), 1e250),
    "adam_first_step": (lambda ps: optim.Adam(ps, lr=1e200, weight_decay=0.01), 1e200),
    "adam": (lambda ps: optim.Adam(ps, lr=0.01), 1e200),
}


def _diverge(optimiser, batch_size, compiled, monkeypatch):
    """fit until it diverges; (the error, the model, the optimiser, the schedule, what the
    model and the optimiser were before each step)."""
    model = nn.MLP([2, 3, 2], "relu", seed=0)
    make, huge = OPTIMISERS[optimiser]
    opt = make(model.parameters())
    schedule = optim.ExponentialDecay(opt, 0.5)

    def boost(epoch, history):
        if epoch == 1:
            opt.lr = huge

    before = []
    step = train_module._Epochs.step

    def recorded(self, batch, epoch):
        before.append((model.state_dict(), opt.state_dict()))
        step(self, batch, epoch)

    monkeypatch.setattr(train_module._Epochs, "step", recorded)
    with warnings.catch_warnings(), pytest.raises(TrainingDiverged) as error:
        warnings.simplefilter("ignore")
        fit(
            model,
            X,
            Y,
            epochs=50,
            reg=0.0,
            optimizer=opt,
            schedule=schedule,
            batch_size=batch_size,
            seed=0,
            progress=False,
            compiled=compiled,
            callbacks=[boost],
        )
    monkeypatch.undo()
    return error.value, model, opt, schedule, before


def _same_state(a, b):
    assert a["steps"] == b["steps"] and a["param_groups"] == b["param_groups"]
    for x, y in zip(a["state"], b["state"], strict=True):
        assert x.keys() == y.keys()
        assert all(np.array_equal(x[k], y[k]) for k in x)


@pytest.mark.parametrize("batch_size", [None, 25])
@pytest.mark.parametrize("optimiser", sorted(OPTIMISERS))
def test_a_divergence_puts_the_optimizer_back_with_the_parameters(
    optimiser, batch_size, monkeypatch
):
    outcomes = []
    for compiled in (False, True):
        error, model, opt, schedule, before = _diverge(optimiser, batch_size, compiled, monkeypatch)
        params, state = before[-1]  # before the breaking step
        assert all(np.array_equal(params[k], v) for k, v in model.state_dict().items())
        _same_state(opt.state_dict(), state)
        assert schedule.t == error.epoch and opt.lr == error.lr
        assert error.epoch == (0 if optimiser == "adam_first_step" else 2)
        outcomes.append((str(error), model, opt, len(before)))
    (message, eager, eager_opt, steps), (compiled_message, model, opt, compiled_steps) = outcomes
    assert message == compiled_message and steps == compiled_steps
    if optimiser == "adam_first_step":
        assert steps == 1 and opt.steps == 0 and not any(opt.state)
    else:
        assert steps > 1 and opt.steps == steps - 1 and all(opt.state)
    for name, value in eager.state_dict().items():
        assert np.array_equal(model.state_dict()[name], value)
    _same_state(opt.state_dict(), eager_opt.state_dict())
    for p, q in zip(eager.parameters(), model.parameters(), strict=True):
        assert np.array_equal(p.grad, q.grad)  # the breaking step's gradients
    if batch_size is None:  # ... taken at the restored parameters
        for p in eager.parameters():
            p.grad = None
        F.softmax_cross_entropy(eager(X), Y, reduction="sum").backward()
        for p, q in zip(eager.parameters(), model.parameters(), strict=True):
            assert np.array_equal(p.grad, q.grad)


@pytest.mark.parametrize("optimiser", ["momentum", "adam"])
def test_training_on_after_a_divergence_is_the_same_compiled_as_eager(optimiser, monkeypatch):
    """Caught, then trained on at a smaller rate: both go on from the same consistent point."""
    histories = []
    for compiled in (False, True):
        _, model, opt, _, _ = _diverge(optimiser, None, compiled, monkeypatch)
        opt.lr = 1e-3
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            history = fit(model, X, Y, epochs=5, reg=0.0, optimizer=opt, compiled=compiled)
        histories.append((history.loss, model.state_dict(), opt.state_dict()))
    (loss, eager, eager_state), (compiled_loss, model, state) = histories
    assert loss == compiled_loss and all(np.isfinite(loss))
    assert all(np.array_equal(eager[k], model[k]) for k in eager)
    _same_state(eager_state, state)
