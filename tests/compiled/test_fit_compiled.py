"""fit compiled equals fit eager, bit for bit, every way fit trains: random models of the
library's modules, batch sizes, dropout rates, optimisers, schedules and validation."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_moons.train as train_module
from tinygrad_moons import data, nn, optim
from tinygrad_moons.tensor import Tensor
from tinygrad_moons.train import fit, library_model

OPTIMISERS = {
    "sgd": lambda ps: optim.SGD(ps, lr=0.05),
    "momentum": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=1e-3),
    "nesterov": lambda ps: optim.SGD(ps, lr=0.05, momentum=0.5, nesterov=True),
    "adam": lambda ps: optim.Adam(ps, lr=0.01, weight_decay=1e-3),
}
SCHEDULES = {
    "none": lambda opt: None,
    "inverse_time": lambda opt: optim.InverseTimeDecay(opt, 0.1),
    "step": lambda opt: optim.StepDecay(opt, 2, 0.5),
    "exponential": lambda opt: optim.ExponentialDecay(opt, 0.9),
    "cosine": lambda opt: optim.CosineDecay(opt, 3),
}


@st.composite
def runs(draw):
    return {
        "hidden": draw(st.lists(st.integers(1, 6), min_size=1, max_size=2)),
        "classes": draw(st.sampled_from([2, 3])),
        "activation": draw(st.sampled_from(["tanh", "sigmoid", "relu", "leaky_relu"])),
        "dropout": draw(st.sampled_from([0.0, 0.2, 0.5])),
        "batch_size": draw(st.sampled_from([None, 7, 16, 30])),
        "optimiser": draw(st.sampled_from(sorted(OPTIMISERS))),
        "schedule": draw(st.sampled_from(sorted(SCHEDULES))),
        "validation": draw(st.booleans()),
        "reg": draw(st.sampled_from([0.0, 0.01])),
        "seed": draw(st.integers(0, 3)),
    }


def _fit(options, compiled):
    rng = np.random.RandomState(options["seed"])
    X = rng.randn(30, 2)
    y = np.arange(30) % options["classes"]
    model = nn.MLP(
        [2, *options["hidden"], options["classes"]],
        options["activation"],
        dropout=options["dropout"],
        seed=options["seed"],
    )
    optimizer = OPTIMISERS[options["optimiser"]](model.parameters())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", train_module.NoProgressWarning)
        warnings.filterwarnings("error", "fit runs this step eagerly")  # nothing to fall back
        history = fit(
            model,
            X,
            y,
            epochs=3,
            reg=options["reg"],
            optimizer=optimizer,
            batch_size=options["batch_size"],
            schedule=SCHEDULES[options["schedule"]](optimizer),
            validation=(X[:9], y[:9]) if options["validation"] else None,
            seed=options["seed"],
            progress=False,
            compiled=compiled,
        )
    return history, [p.data.copy() for p in model.parameters()], optimizer.state_dict()


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(runs())
def test_compiled_fit_equals_eager_fit_bit_for_bit(options):
    real_capture = train_module.capture
    captured = []

    def counting(fn, **kwargs):
        captured.append(1)
        return real_capture(fn, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(train_module, "capture", counting)
        eager, eager_params, _ = _fit(options, False)
        assert not captured
        compiled, compiled_params, _ = _fit(options, None)
    assert captured  # the library's model was compiled by default
    for field in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        assert getattr(compiled, field) == getattr(eager, field), field
    for a, b in zip(eager_params, compiled_params, strict=True):
        assert np.array_equal(a, b)


def test_the_library_models_are_exactly_those_of_nns_modules():
    assert library_model(nn.MLP([2, 3, 2], "relu", dropout=0.5))
    assert library_model(nn.Sequential(nn.Linear(2, 2), nn.ModuleList([nn.Tanh()])))

    class Mine(nn.Module):
        def forward(self, x):
            return x

    assert not library_model(nn.Sequential(nn.Linear(2, 2), Mine()))

    class MyMLP(nn.MLP):
        pass

    assert not library_model(MyMLP([2, 2]))


def test_mini_batches_replay_one_capture_per_batch_shape(monkeypatch):
    X, y = data.make_moons()
    shapes = []
    real_capture = train_module.capture

    def counting(fn, **kwargs):
        graph = real_capture(fn, **kwargs)
        shapes.append(graph.outputs[1].shape[0])
        return graph

    monkeypatch.setattr(train_module, "capture", counting)
    fit(nn.MLP([2, 3, 2], seed=0), X, y, epochs=4, batch_size=64, seed=0, progress=False)
    # 200 rows in batches of 64: three of 64 and one of 8, then the scoring of all 200
    assert sorted(shapes) == [8, 64, 200]


def test_compiled_must_be_none_true_or_false():
    X, y = data.make_moons()
    with pytest.raises(TypeError, match="compiled must be None, True or False"):
        fit(nn.MLP([2, 3, 2], seed=0), X, y, epochs=1, compiled="yes", progress=False)


def _change_at_epoch_2(kind, model):
    """A callback that changes a module's setting (not a tensor) after epoch 2."""

    def callback(epoch, history):
        if epoch != 2:
            return
        if kind == "eval":
            model.eval()
        for module in model.modules():
            if kind == "dropout p" and isinstance(module, nn.Dropout):
                module.p = 0.0
            if kind == "dropout stream" and isinstance(module, nn.Dropout):
                module.rng = np.random.RandomState(5)
            if kind == "slope" and isinstance(module, nn.LeakyReLU):
                module.slope = 0.5

    return callback


@pytest.mark.parametrize("kind", ["dropout p", "dropout stream", "eval", "slope"])
@pytest.mark.parametrize("batch_size", [None, 25])
def test_a_callback_changing_a_modules_setting_is_followed_compiled_as_eagerly(kind, batch_size):
    # the captured step kept Dropout's p, its stream, the mode and the slope of capture:
    # compiled fit went on with them while eager read the new ones, another History
    X, y = data.make_moons(100, seed=0)
    histories = []
    for compiled in (True, False):
        model = nn.MLP([2, 8, 2], "leaky_relu", dropout=0.5, seed=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            history = fit(
                model,
                X,
                y,
                epochs=6,
                batch_size=batch_size,
                compiled=compiled,
                seed=0,
                callbacks=[_change_at_epoch_2(kind, model)],
                progress=False,
            )
        histories.append((history.loss, history.accuracy))
    assert histories[0] == histories[1]


@pytest.mark.parametrize("activation", [nn.Tanh, nn.Sigmoid, nn.Softplus])
def test_a_convolutions_gradients_add_in_the_same_order_compiled_as_eagerly(activation):
    # Conv2d's einsum laid its (n, o, y, x) output out as (o, n, y, x) in memory; eagerly
    # the activation after it followed that layout and the bias's gradient (a sum over n,
    # y and x) added in that order, while the replay wrote C-ordered buffers: the bias's
    # gradient differed by 3.6e-15 with Tanh, and fit's History.loss in the last bits
    # (fit of Conv2d, Tanh, MaxPool2d, Flatten, Linear by SGD: 0.6701541425071181 eager,
    # ...184 compiled, after one step).
    rng = np.random.RandomState(0)
    x, weights = Tensor(rng.randn(30, 1, 4, 4)), Tensor(rng.randn(30, 2, 2, 2))
    conv = nn.Conv2d(1, 2, 3, seed=0)
    model = nn.Sequential(conv, activation())

    def objective():
        return (model(x) * weights).sum()

    objective().backward()
    eager = [p.grad.copy() for p in conv.parameters()]
    conv.zero_grad(set_to_none=True)
    graph = train_module.capture(objective)
    graph.forward()
    graph.backward()
    for a, b in zip(eager, [p.grad for p in conv.parameters()], strict=True):
        assert np.array_equal(a, b)
