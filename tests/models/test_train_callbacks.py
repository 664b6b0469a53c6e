"""A callback that changes the parameters between epochs: fit must follow the change.

Before, with full batches the next step reused the forward pass from before the change
(the gradient of values that were gone), and a compiled fit replayed the step captured for
the old parameters: a parameter frozen with ``requires_grad_(False)`` went on training, one
replaced by assignment was never read, and ``p.data = ...`` was half seen. Silent wrong
answers all. The reference: the same training split in two fits around the change.
"""

import warnings

import numpy as np
import pytest

from tinygrad_moons import Tensor, nn, no_grad, optim
from tinygrad_moons.data import make_moons
from tinygrad_moons.train import fit

X, Y = make_moons(40, seed=0)
CHANGE_AFTER = 3  # the callback changes the model after this epoch


def _first_linear(model):
    return next(m for m in model.modules() if isinstance(m, nn.Linear))


def freeze(model):
    _first_linear(model).weight.requires_grad_(False)


def assign_data(model):
    weight = _first_linear(model).weight
    weight.data = weight.data * 0.5


def replace(model):
    layer = _first_linear(model)
    layer.weight = Tensor(layer.weight.data * 0.5, requires_grad=True)


def in_place(model):
    with no_grad():
        for p in model.parameters():
            p *= 0.5


def row(model):
    with no_grad():
        _first_linear(model).weight[0] = 0.0


def into_data(model):  # the raw array: no version goes up
    weight = _first_linear(model).weight
    weight.data[...] = weight.data * 0.5


CHANGES = [freeze, assign_data, replace, in_place, row, into_data]
OPTIMISERS = {
    "sgd": lambda ps: optim.SGD(ps, lr=0.1),
    "momentum": lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9),
    "adam": lambda ps: optim.Adam(ps, lr=0.01),
}


def _train(change, optimiser, batch_size, compiled, split):
    model = nn.MLP([2, 4, 2], "tanh", seed=0)
    opt = OPTIMISERS[optimiser](model.parameters())
    common = dict(optimizer=opt, batch_size=batch_size, progress=False, compiled=compiled)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if split:
            first = fit(model, X, Y, epochs=CHANGE_AFTER + 1, seed=0, **common)
            change(model)
            rng = np.random.RandomState(0)  # the stream the first fit left: its shuffles
            if batch_size is not None:
                for _ in range(CHANGE_AFTER + 1):
                    rng.permutation(len(Y))
            second = fit(model, X, Y, epochs=4, seed=rng, **common)
            losses = first.loss + second.loss
        else:

            def callback(epoch, history):
                if epoch == CHANGE_AFTER:
                    change(model)

            losses = fit(
                model, X, Y, epochs=CHANGE_AFTER + 5, seed=0, callbacks=[callback], **common
            ).loss
    return np.array(losses), [p.data.copy() for p in model.parameters()]


NAMES = sorted(OPTIMISERS)
CASES = [  # each change with two optimisers, full batches and mini-batches
    pytest.param(change, NAMES[i % 3], None, id=f"{change.__name__}-{NAMES[i % 3]}-full")
    for i, change in enumerate(CHANGES)
] + [
    pytest.param(change, NAMES[(i + 1) % 3], 16, id=f"{change.__name__}-{NAMES[(i + 1) % 3]}-16")
    for i, change in enumerate(CHANGES)
]


@pytest.mark.parametrize(("change", "optimiser", "batch_size"), CASES)
def test_a_callback_that_changes_parameters_is_followed_eager_and_compiled(
    change, optimiser, batch_size
):
    reference = _train(change, optimiser, batch_size, compiled=False, split=True)
    for compiled in (False, True):
        losses, params = _train(change, optimiser, batch_size, compiled, split=False)
        np.testing.assert_array_equal(losses, reference[0], err_msg=f"compiled={compiled}")
        for mine, theirs in zip(params, reference[1], strict=True):
            np.testing.assert_array_equal(mine, theirs, err_msg=f"compiled={compiled}")
