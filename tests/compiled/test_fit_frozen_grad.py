"""A frozen parameter's ``.grad`` after fit, compiled as eager and as torch.

A parameter trained (so holding a ``.grad``) and then frozen with ``requires_grad_(False)``
stays in the optimiser built on ``model.parameters()``. Eagerly every step's
``optimizer.zero_grad()`` sets its ``.grad`` to None, as torch's does; the compiled step
wrote only the trained parameters' gradients and left it the gradient from before it was
frozen, a stale value that eager fit and torch never show. A frozen parameter outside the
optimiser is left alone by all three.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from tinygrad_moons import nn, optim
from tinygrad_moons.data import make_moons
from tinygrad_moons.train import fit

X, Y = make_moons(40, seed=0)
OPTIMISERS = {
    "sgd": lambda ps: optim.SGD(ps, lr=0.01),
    "momentum": lambda ps: optim.SGD(ps, lr=0.01, momentum=0.9),
    "adam": lambda ps: optim.Adam(ps, lr=0.01),
}


def _train_then_freeze(compiled: bool, optimiser: str, batch_size: int | None, in_optimizer: bool):
    model = nn.MLP([2, 4, 2], "tanh", seed=0)
    common = dict(progress=False, compiled=compiled, batch_size=batch_size, seed=0)
    first = OPTIMISERS[optimiser](model.parameters())
    fit(model, X, Y, epochs=2, optimizer=first, **common)
    frozen = model[0].weight
    stale = frozen.grad.copy()
    frozen.requires_grad_(False)
    params = model.parameters() if in_optimizer else model.parameters()[1:]
    opt = OPTIMISERS[optimiser](params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "the optimizer does not update 0.weight", outside
        history = fit(model, X, Y, epochs=3, optimizer=opt, **common)
    return model, history, opt, stale


@pytest.mark.parametrize("batch_size", [None, 10])
@pytest.mark.parametrize("optimiser", sorted(OPTIMISERS))
def test_a_frozen_parameter_in_the_optimizer_ends_with_no_grad_compiled_as_eager(
    optimiser, batch_size
):
    runs = [_train_then_freeze(compiled, optimiser, batch_size, True) for compiled in (False, True)]
    (eager, eager_history, eager_opt, _), (model, history, opt, _) = runs
    assert eager[0].weight.grad is None and model[0].weight.grad is None
    assert history.loss == eager_history.loss and history.accuracy == eager_history.accuracy
    for p, q in zip(eager.parameters()[1:], model.parameters()[1:], strict=True):
        assert np.array_equal(p.data, q.data) and np.array_equal(p.grad, q.grad)
    assert np.array_equal(eager[0].weight.data, model[0].weight.data)
    for a, b in zip(eager_opt.state, opt.state, strict=True):
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("compiled", [False, True])
def test_a_frozen_parameter_outside_the_optimizer_keeps_its_grad(compiled):
    model, _, _, stale = _train_then_freeze(compiled, "sgd", None, False)
    assert np.array_equal(model[0].weight.grad, stale)


@pytest.mark.parametrize("in_optimizer", [True, False])
def test_torch_does_the_same_with_a_frozen_parameters_grad(in_optimizer):
    layer = torch.nn.Linear(2, 2)
    layer(torch.ones(1, 2)).sum().backward()
    stale = layer.weight.grad.clone()
    layer.weight.requires_grad_(False)
    params = list(layer.parameters()) if in_optimizer else [layer.bias]
    opt = torch.optim.SGD(params, lr=0.1)
    opt.zero_grad()
    layer(torch.ones(1, 2)).sum().backward()
    opt.step()
    if in_optimizer:
        assert layer.weight.grad is None
    else:
        assert torch.equal(layer.weight.grad, stale)
