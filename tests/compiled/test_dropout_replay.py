"""Dropout in a replayed step: its mask drawn afresh from the eager stream and applied with
no more numpy than an eager step (the mask / (1 - p) wrapped, not copied)."""

from __future__ import annotations

import warnings

import numpy as np

from tinygrad_moons import Tensor, data, nn
from tinygrad_moons.graph import capture
from tinygrad_moons.tensor import derived
from tinygrad_moons.train import NoProgressWarning, fit


def test_a_tensor_made_from_a_new_ufunc_result_is_wrapped_at_replay_any_other_copied():
    # Dropout's x * (keep / (1 - p)): the division's result is a new array at every
    # replay, so the Tensor made from it wraps it (as an eager x * array does); a view of
    # something else (here of w's data) is copied, as Tensor(view) copies it eagerly.
    w = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)

    def fn():
        scale = derived(np.greater, w, 1.5) / 0.5
        view = derived(np.asarray, w).reshape(3, 2)
        return (w * scale).sum() + (w.reshape(3, 2) * Tensor(view)).sum()

    graph = capture(fn)
    assert "(same_data, " in graph.source and "(float64_copy, " in graph.source
    for step in range(3):
        w.grad = None
        value, grad = graph.replay().item(), w.grad.copy()
        w.grad = None
        out = fn()
        out.backward()
        assert value == out.item() and np.array_equal(w.grad, grad)
        w.data = w.data - 1.0 - step


def test_a_dropout_step_replays_no_copy_of_its_mask():
    model = nn.MLP([2, 5, 2], dropout=0.3, seed=0)
    X = Tensor(np.ones((4, 2)))
    source = capture(lambda: model(X).sum()).source
    assert "(same_data, " in source and "float64_copy" not in source


def test_full_batch_dropout_fit_compiled_equals_eager_bit_for_bit():
    X, y = data.make_moons(40, noise=0.3, seed=1)
    runs = []
    for compiled in (False, None):
        model = nn.MLP([2, 6, 2], dropout=0.4, seed=2)
        with warnings.catch_warnings():
            warnings.filterwarnings("error", "fit runs this step eagerly")
            warnings.simplefilter("ignore", NoProgressWarning)
            history = fit(model, X, y, epochs=5, lr=0.05, progress=False, compiled=compiled)
        runs.append((history.loss, [p.data.copy() for p in model.parameters()]))
    (eager, eager_params), (compiled, compiled_params) = runs
    assert compiled == eager
    for a, b in zip(eager_params, compiled_params, strict=True):
        assert np.array_equal(a, b)
