"""The flat step (fit's optimiser step on one array per parameter group) is the optimiser's
own step bit for bit; fit with it gives eager fit's History and parameters; the parameters
get their arrays back, versions bumped; a divergence restores them bit for bit."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_moons.train as train_module
from tinygrad_moons import Tensor, data, graph, nn, optim
from tinygrad_moons.flat_step import FlatStep
from tinygrad_moons.train import TrainingDiverged, fit

SHAPES = [(2, 3), (), (3,), (1, 3), (0, 2), (3, 2), (2,), (5, 4), (4,)]  # a number, none too


def _optimiser(kind, groups):
    if kind == "adam":
        return optim.Adam(groups, lr=0.01, weight_decay=1e-3)
    extra = {
        "sgd": {},
        "momentum": {"momentum": 0.9, "weight_decay": 1e-3},
        "nesterov": {"momentum": 0.5, "nesterov": True},
    }[kind]
    return optim.SGD(groups, lr=0.05, **extra)


def _tweak(optimizer, step):
    """Change the hyperparameters between steps, as a schedule or a callback would."""
    group = optimizer.param_groups[step % len(optimizer.param_groups)]
    group["lr"] *= 0.7
    if "momentum" in group and group["momentum"]:
        group["momentum"] = 0.3 if step % 2 else 0.8
    if "betas" in group:
        group["betas"] = (0.8, 0.99)
    group["weight_decay"] = 0.0 if step % 2 else 0.01


@st.composite
def problems(draw):
    count = draw(st.integers(1, len(SHAPES)))
    return {
        "shapes": SHAPES[:count],
        "split": draw(st.integers(0, count)),  # parameters of the first group
        "kind": draw(st.sampled_from(["sgd", "momentum", "nesterov", "adam"])),
        "steps": draw(st.integers(1, 4)),
        "tweak": draw(st.booleans()),
        "seed": draw(st.integers(0, 100)),
    }


def _setup(problem):
    rng = np.random.RandomState(problem["seed"])
    params = [Tensor(rng.randn(*shape), requires_grad=True) for shape in problem["shapes"]]
    split = problem["split"]
    groups = [g for g in (params[:split], params[split:]) if g]
    options = [{"params": groups[0], "lr": 0.02}] + [{"params": g} for g in groups[1:]]
    return params, _optimiser(problem["kind"], options), rng


@settings(max_examples=40, deadline=None)
@given(problems())
def test_the_flat_step_is_the_optimisers_own_step_bit_for_bit(problem):
    params, optimizer, rng = _setup(problem)
    flat_params, flat_optimizer, _ = _setup(problem)
    flat = FlatStep.build(flat_optimizer)
    flat.adopt()
    for step in range(problem["steps"]):
        grads = [np.asarray(rng.randn(*p.shape)) for p in params]
        for p, q, g in zip(params, flat_params, grads, strict=True):
            p.grad = g.copy()
            flat.gradients[q][...] = g
            q.grad = flat.gradients[q]
        versions = [q._version for q in flat_params]
        optimizer.step()
        assert flat.step()
        assert all(q._version > v for q, v in zip(flat_params, versions, strict=True))
        for p, q in zip(params, flat_params, strict=True):
            assert np.array_equal(p.data, q.data)
        ours, theirs = optimizer.state_dict(), flat_optimizer.state_dict()
        assert ours["steps"] == theirs["steps"]
        for a, b in zip(ours["state"], theirs["state"], strict=True):
            assert a.keys() == b.keys()
            for key in a:
                assert np.array_equal(a[key], b[key]), key
        if problem["tweak"]:
            _tweak(optimizer, step)
            _tweak(flat_optimizer, step)
    owns = [q.data for q in flat_params]  # views of the flat array
    flat.release()
    for p, q, view in zip(params, flat_params, owns, strict=True):
        assert q.data is not view and q.data.base is None
        assert np.array_equal(p.data, q.data)


def test_the_flat_step_stands_down_at_what_it_cannot_follow():
    w = Tensor([1.0, 2.0], requires_grad=True)
    optimizer = optim.SGD([w], lr=0.1)
    flat = FlatStep.build(optimizer)
    flat.adopt()
    w.grad = flat.gradients[w]
    assert flat.step()
    optimizer.step()  # a step it did not take
    assert not flat.step() and not flat.active
    other = FlatStep.build(optimizer)
    other.adopt()
    w.data = np.array([5.0, 5.0])  # an array of its own: the flat one no longer holds w
    assert not other.step()
    other.release()
    assert np.array_equal(w.data, [5.0, 5.0])  # what it was given stays


def test_no_flat_step_where_it_could_not_give_the_same_numbers():
    a, b = Tensor(np.zeros(4), requires_grad=True), Tensor([0.0, 0.0], requires_grad=True)
    b.data = a.data[2:]
    assert FlatStep.build(optim.SGD([a, b], lr=0.1)) is None  # the parameters share memory

    class Mine(optim.SGD):
        pass

    assert FlatStep.build(Mine([Tensor([1.0], requires_grad=True)], lr=0.1)) is None
    u, v = Tensor([1.0], requires_grad=True), Tensor([2.0], requires_grad=True)
    optimizer = optim.SGD([u, v], lr=0.1, momentum=0.9)
    u.grad = np.array([1.0])
    optimizer.step()  # u has a momentum buffer, v none: no one flat state for both
    assert FlatStep.build(optimizer) is None


def test_capture_writes_gradients_into_the_arrays_it_is_given():
    w = Tensor([1.0, 2.0], requires_grad=True)
    x = Tensor([3.0, 4.0])
    into = np.zeros(2)
    captured = graph.capture(lambda: (w * x).sum(), gradients={w: into})
    captured.forward()
    captured.backward()
    assert w.grad is into and np.array_equal(into, [3.0, 4.0])
    captured.forward()
    captured.backward(overwrite=True)  # .grad is set: written afresh all the same
    assert np.array_equal(into, [3.0, 4.0])
    with pytest.raises(ValueError, match="C-contiguous float64 array of the leaf's shape"):
        graph.capture(lambda: (w * x).sum(), gradients={w: np.zeros(3)})


# ---------------------------------------------------------------------- in fit
def _fit(compiled, kind, callback=None, epochs=6, schedule=None, watch=True, **options):
    """fit with the callback (and a record of the states it leaves) after every epoch; with
    ``watch=False`` no callback at all, so that nothing but fit (and ``schedule``, made on
    the optimiser, if given) runs between the steps."""
    X, y = data.make_moons()
    model = nn.MLP([2, 4, 2], seed=0)
    params = model.parameters()
    optimizer = _optimiser(kind, [{"params": params[:2], "lr": 0.01}, {"params": params[2:]}])
    if schedule is not None:
        options["schedule"] = schedule(optimizer)
    seen = []

    def record(epoch, history):
        if callback is not None:
            callback(epoch, model, optimizer)
        seen.append((model.state_dict(), optimizer.state_dict()))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", train_module.NoProgressWarning)
        history = fit(
            model,
            X,
            y,
            epochs=epochs,
            optimizer=optimizer,
            callbacks=[record] if watch else None,
            compiled=compiled,
            progress=False,
            **options,
        )
    return history, seen, model


def _same(a, b):
    (history_a, seen_a, model_a), (history_b, seen_b, model_b) = a, b
    assert history_a.loss == history_b.loss and history_a.lr == history_b.lr
    assert history_a.accuracy == history_b.accuracy
    for (state_a, opt_a), (state_b, opt_b) in zip(seen_a, seen_b, strict=True):
        for name in state_a:
            assert np.array_equal(state_a[name], state_b[name]), name
        assert opt_a["param_groups"] == opt_b["param_groups"]
        for x, y in zip(opt_a["state"], opt_b["state"], strict=True):
            for key in x:
                assert np.array_equal(x[key], y[key]), key
    for p, q in zip(model_a.parameters(), model_b.parameters(), strict=True):
        assert np.array_equal(p.data, q.data) and np.array_equal(p.grad, q.grad)


def _change_hyperparameters(epoch, model, optimizer):
    _tweak(optimizer, epoch)


def _replace_data(epoch, model, optimizer):
    if epoch == 2:
        for p in model.parameters():
            p.data = p.data.copy()


def _reload_state(epoch, model, optimizer):
    if epoch == 2:
        optimizer.load_state_dict(optimizer.state_dict())


def _clear_state(epoch, model, optimizer):
    # Momentum, or Adam's moments and step, reset: the optimiser's own step starts afresh.
    if epoch == 2:
        for state in optimizer.state:
            state.clear()


def _new_state_arrays(epoch, model, optimizer):
    # The state's arrays replaced by new ones (zeros), not written into.
    if epoch == 2:
        for state in optimizer.state:
            for key, value in state.items():
                if isinstance(value, np.ndarray):
                    state[key] = np.zeros_like(value)


def _rate_changed_in_place(epoch, model, optimizer):
    # A rate the flat step must read afresh: a float replaced by an array, then written into.
    if epoch == 1:
        optimizer.param_groups[1]["lr"] = np.array(0.02, dtype=np.float32)
    elif epoch == 3:
        optimizer.param_groups[1]["lr"][...] = 0.005


@pytest.mark.parametrize("kind", ["sgd", "momentum", "nesterov", "adam"])
@pytest.mark.parametrize(
    "callback",
    [
        None,
        _change_hyperparameters,
        _replace_data,
        _reload_state,
        _clear_state,
        _new_state_arrays,
        _rate_changed_in_place,
    ],
)
def test_compiled_fit_with_the_flat_step_equals_eager_fit(kind, callback):
    _same(_fit(False, kind, callback), _fit(True, kind, callback))


@pytest.mark.parametrize("kind", ["sgd", "adam"])
@pytest.mark.parametrize("options", [{"reduction": "mean"}, {"batch_size": 64, "seed": 1}])
def test_compiled_fit_with_the_flat_step_equals_eager_fit_by_batches_and_means(kind, options):
    same = dict(kind=kind, callback=_change_hyperparameters, **options)
    _same(_fit(False, **same), _fit(True, **same))


class _UnfollowableSchedule(optim.ExponentialDecay):
    """A schedule of the user's own that, at its second step, also does what the flat step
    cannot follow: the optimiser's state cleared, then a parameter given a new array."""

    def step(self):
        super().step()
        if self.t == 2:
            for state in self.optimizer.state:
                state.clear()
            params = self.optimizer.param_groups[0]["params"]
            params[0].data = params[0].data * 0.5


@pytest.mark.parametrize("kind", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("options", [{}, {"batch_size": 64, "seed": 1}])
def test_with_no_callback_the_flat_step_still_follows_a_schedule_of_the_users_own(kind, options):
    """With no callback, fit's flat step leaves out its checks between steps of its own, but
    not after a schedule's step: one of the user's own may change what it cannot follow."""
    same = dict(kind=kind, watch=False, schedule=lambda o: _UnfollowableSchedule(o, 0.9))
    _same(_fit(False, **same, **options), _fit(True, **same, **options))


@pytest.mark.parametrize("kind", ["sgd", "momentum", "adam"])
def test_a_step_taken_eagerly_between_flat_steps_is_followed(kind, monkeypatch):
    """Mini-batches of 64, 64, 64 and 8 rows, the pass of 8 left eager (as one that cannot
    be captured is): its optimiser step, taken between flat steps with no callback between
    them, is one the flat step cannot follow, and it stands down, as it must."""
    real = train_module._Pass.compile

    def compile_but_8(self):
        if len(self.labels) != 8:
            real(self)

    monkeypatch.setattr(train_module._Pass, "compile", compile_but_8)
    same = dict(kind=kind, watch=False, batch_size=64, shuffle=False, epochs=4)
    _same(_fit(False, **same), _fit(True, **same))


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_the_flat_step_is_what_compiled_fit_takes(kind, monkeypatch):
    steps = []
    real = FlatStep.step

    def counting(self, follow=True):
        taken = real(self, follow)
        steps.append(taken)
        return taken

    monkeypatch.setattr(FlatStep, "step", counting)
    _fit(True, kind, reduction="mean", batch_size=None)
    assert steps == [True] * 6


def test_after_fit_the_parameters_hold_their_own_arrays_with_versions_bumped():
    X, y = data.make_moons()
    model = nn.MLP([2, 3, 2], seed=0)
    arrays = [p.data for p in model.parameters()]
    before = model(Tensor(X)).sum()  # a graph that saved the parameters' arrays
    versions = [p._version for p in model.parameters()]
    during = []
    fit(
        model,
        X,
        y,
        epochs=3,
        progress=False,
        callbacks=[lambda e, h: during.append([p.data.copy() for p in model.parameters()])],
    )
    for p, array, version, last in zip(model.parameters(), arrays, versions, during[-1]):
        assert p.data is array and p._version > version
        assert np.array_equal(p.data, last)
    assert not np.array_equal(during[0][0], during[-1][0])  # the callback saw them move
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        before.backward()


def test_a_divergence_on_the_flat_step_restores_the_parameters_bit_for_bit(monkeypatch):
    """lr 1000 breaks the loss at epoch 157: the parameters come back as they were after
    epoch 156's step, bit for bit, as the eager fit's do."""
    steps = []
    real = FlatStep.step
    monkeypatch.setattr(
        FlatStep, "step", lambda self, follow=True: steps.append(1) or real(self, follow)
    )
    X, y = data.make_moons()
    outcomes = []
    for compiled in (False, True):
        model = nn.MLP([2, 3, 2], seed=0)
        seen = []
        with pytest.raises(TrainingDiverged) as error:
            fit(
                model,
                X,
                y,
                lr=1000.0,
                epochs=400,
                progress=False,
                compiled=compiled,
                callbacks=[lambda e, h, m=model, s=seen: s.append(m.state_dict())],
            )
        assert error.value.epoch == len(seen) == 157
        outcomes.append((model.state_dict(), seen[-1]))
    assert len(steps) == 158  # the compiled fit stepped flat, the breaking step too
    (eager, eager_before), (compiled, compiled_before) = outcomes
    for name in eager:
        assert np.array_equal(compiled[name], compiled_before[name])
        assert np.array_equal(compiled[name], eager[name])
        assert np.array_equal(eager[name], eager_before[name])
