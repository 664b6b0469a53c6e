"""A leaf written in place between a graph's forward() and its backward() is refused.

Before, ``backward()`` read the forward's saved values for some terms and the leaf's new
values for others (an optimiser's step, ``load_state_dict``, ``w -= x`` under no_grad
between the two): gradients of no function at all, silently. Eagerly the same sequence
raises torch's version error; the graph now raises it too, in torch's words, and fit's
own sequence (forward, backward, step, forward, ...) goes on as before, bit for bit.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, nn, no_grad, ops, optim
from tinygrad_moons.data import make_moons
from tinygrad_moons.estimator import NeuralNetClassifier
from tinygrad_moons.flat_step import FlatStep
from tinygrad_moons.graph import capture
from tinygrad_moons.parameters import FlatParameters
from tinygrad_moons.train import NoProgressWarning, fit

VERSION_ERROR = (
    "one of the variables needed for gradient computation has been modified by an inplace operation"
)
X_DATA = np.array([[1.0, 2.0], [-0.5, 0.3], [0.2, -1.0]])


def _model():
    return nn.Sequential(nn.Linear(2, 3, seed=0), nn.Tanh(), nn.Linear(3, 1, seed=1))


def _torch_model(model):
    twin = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1))
    with torch.no_grad():
        for ours, theirs in zip(model.parameters(), twin.parameters(), strict=True):
            theirs.copy_(torch.from_numpy(ours.data.T.copy() if ours.ndim == 2 else ours.data))
    return twin.double()


def _write(how, model, x, opt, without_grad, state):
    """One way of writing in place, ours or torch's (``without_grad``: the no_grad of it)."""
    weight = model[2].weight  # the second layer's: the backward reads it (the hidden's grad)
    if how in ("sgd step", "adam step"):
        opt[how.split()[0]].step()
    elif how == "load_state_dict":
        model.load_state_dict(state)
    elif how == "w -= x under no_grad":
        with without_grad():
            weight -= 0.5
    elif how == "w[i] = x under no_grad":
        with without_grad():
            weight[0] = 7.0
    elif how == "a detached alias":
        alias = weight.detach()
        alias += 1.0
    elif how == "the input, in place":
        x += 1.0


WRITES = [
    "sgd step",
    "adam step",
    "load_state_dict",
    "w -= x under no_grad",
    "w[i] = x under no_grad",
    "a detached alias",
    "the input, in place",
]


@pytest.mark.parametrize("how", WRITES)
def test_a_write_between_forward_and_backward_raises_as_torch_does_eagerly(how):
    model, x = _model(), Tensor(X_DATA)
    graph = capture(lambda: (model(x) ** 2).sum())
    graph.replay()  # gradients, for the optimisers' steps
    opt = {"sgd": optim.SGD(model.parameters(), lr=0.1), "adam": optim.Adam(model.parameters())}
    graph.forward()
    _write(how, model, x, opt, no_grad, _model().state_dict())
    with pytest.raises(RuntimeError, match=VERSION_ERROR) as ours:
        graph.backward(overwrite=True)
    assert "of the captured graph" in str(ours.value) and "forward() again" in str(ours.value)

    twin, tx = _torch_model(model), torch.from_numpy(X_DATA.copy())
    (twin(tx) ** 2).sum().backward()
    topt = {"sgd": torch.optim.SGD(twin.parameters(), lr=0.1)}
    topt["adam"] = torch.optim.Adam(twin.parameters())
    loss = (twin(tx) ** 2).sum()
    _write(how, twin, tx, topt, torch.no_grad, _torch_model(_model()).state_dict())
    with pytest.raises(RuntimeError, match=VERSION_ERROR) as theirs:
        loss.backward()
    # torch's sentence, then "<what> is at version N; expected version M instead. Hint: ..."
    pattern = r"inplace operation: .+ is at version \d+; expected version \d+ instead\. Hint: "
    assert re.search(pattern, str(ours.value)) and re.search(pattern, str(theirs.value))


def test_the_versions_named_are_torchs_and_a_fresh_forward_clears_the_refusal():
    w = Tensor([1.0, 2.0], requires_grad=True)
    x = Tensor([3.0, 4.0], requires_grad=True)
    graph = capture(lambda: (w * x).sum(), names={"w": w, "x": x})
    graph.forward()
    with no_grad():
        x -= 1.0
    with pytest.raises(RuntimeError) as ours:
        graph.backward()
    tw = torch.tensor([1.0, 2.0], requires_grad=True)
    tx = torch.tensor([3.0, 4.0], requires_grad=True)
    y = (tw * tx).sum()
    with torch.no_grad():
        tx -= 1.0
    with pytest.raises(RuntimeError) as theirs:
        y.backward()
    assert "leaf x of the captured graph (a parameter of shape (2,)" in str(ours.value)
    assert "is at version 1; expected version 0 instead" in str(ours.value)
    assert "is at version 1; expected version 0 instead" in str(theirs.value)
    graph.forward()  # after the write: nothing left to refuse
    graph.backward()
    np.testing.assert_array_equal(w.grad, [2.0, 3.0])
    np.testing.assert_array_equal(x.grad, [1.0, 2.0])


def _verdict(backward):
    try:
        backward()
    except RuntimeError as error:
        assert VERSION_ERROR in str(error)
        return "raises"
    return "computes"


@pytest.mark.parametrize("which", range(4))
def test_each_leaf_is_refused_exactly_where_eager_and_torch_refuse_it(which):
    """Only what a gradient reads is checked, as eagerly and in torch: the first layer's
    weight and bias (the input needs no gradient) and the output bias are read by none."""
    model, x = _model(), Tensor(X_DATA)
    graph = capture(lambda: (model(x) ** 2).sum())
    graph.forward()
    with no_grad():
        model.parameters()[which].__iadd__(0.25)
    ours = _verdict(graph.backward)

    eager = _model()
    loss = (eager(x) ** 2).sum()
    with no_grad():
        eager.parameters()[which].__iadd__(0.25)
    eagerly = _verdict(loss.backward)

    twin, tx = _torch_model(_model()), torch.from_numpy(X_DATA.copy())
    tloss = (twin(tx) ** 2).sum()
    with torch.no_grad():
        list(twin.parameters())[which].add_(0.25)
    in_torch = _verdict(tloss.backward)

    assert ours == eagerly == in_torch == ("raises" if which == 2 else "computes")
    if ours == "computes":  # the gradients of the forward as it ran, bit for bit
        for mine, theirs in zip(model.parameters(), eager.parameters(), strict=True):
            assert np.array_equal(mine.grad, theirs.grad)


def test_a_write_that_no_gradient_reads_is_allowed_as_eagerly_and_in_torch():
    w = Tensor([1.0, 2.0], requires_grad=True)
    graph = capture(lambda: (w * 2.0).sum())  # Mul's gradient for w reads 2.0, not w
    graph.forward()
    with no_grad():
        w += 1.0
    graph.backward()
    np.testing.assert_array_equal(w.grad, [2.0, 2.0])


def test_value_refuses_a_leaf_written_since_a_lean_forward():
    model = nn.MLP([2, 4, 3], seed=0)
    weights = [model[0].weight, model[2].weight]
    X, labels = Tensor(np.random.RandomState(0).randn(6, 2)), np.array([0, 1, 2, 0, 1, 2])

    def objective():
        logits = model(X)
        return ops.SoftmaxCrossEntropy.apply(logits, labels, "sum") + 0.005 * F.l2(*weights)

    graph = capture(objective)
    graph.forward(value=False)
    assert graph._fresh.value_reads  # the penalty reads the weights
    with no_grad():
        weights[1] -= 0.1
    with pytest.raises(RuntimeError, match=rf"{VERSION_ERROR}.*value\(\) would mix"):
        graph.value()
    graph.forward(value=False)
    expected = objective().item()
    assert graph.value().item() == expected


def test_a_write_elsewhere_or_into_a_leafs_new_array_is_no_error_and_changes_nothing():
    model, x = _model(), Tensor(X_DATA)
    graph = capture(lambda: (model(x) ** 2).sum())
    graph.forward()
    unrelated = Tensor([1.0])
    unrelated += 1.0  # some other array written: the mark moves, the leaves are untouched
    weight = model[2].weight
    forward_value = weight.data.copy()
    weight.data = weight.data.copy()  # a new array: the backward keeps the forward's
    with no_grad():
        weight -= 5.0
    graph.backward()
    reference = _model()
    (reference(x) ** 2).sum().backward()
    assert np.array_equal(reference[2].weight.data, forward_value)
    for ours, eager in zip(model.parameters(), reference.parameters(), strict=True):
        assert np.array_equal(ours.grad, eager.grad)


@pytest.mark.parametrize("make", [optim.SGD, optim.Adam])
def test_forward_backward_step_repeated_is_no_error_and_equals_eager_bit_for_bit(make):
    x = Tensor(X_DATA)
    compiled, eager = _model(), _model()
    graph = capture(lambda: (compiled(x) ** 2).sum())
    kwargs = {"lr": 0.05, "momentum": 0.9} if make is optim.SGD else {"lr": 0.05}
    opt, eager_opt = make(compiled.parameters(), **kwargs), make(eager.parameters(), **kwargs)
    for _ in range(5):
        graph.forward()
        graph.backward(overwrite=True)
        opt.step()
        eager_opt.zero_grad()
        (eager(x) ** 2).sum().backward()
        eager_opt.step()
    for ours, theirs in zip(compiled.parameters(), eager.parameters(), strict=True):
        assert np.array_equal(ours.data, theirs.data)


def test_parameters_write_between_forward_and_backward_raises():
    model, x = _model(), Tensor(X_DATA)
    graph = capture(lambda: (model(x) ** 2).sum())
    graph.forward()
    params = FlatParameters(model.parameters())
    params.write(np.zeros(params.size))
    with pytest.raises(RuntimeError, match=VERSION_ERROR):
        graph.backward()


# ---------------------------------------------------------------------- fit's sequences
def test_fits_flat_step_goes_after_the_backward_and_is_refused_before_it():
    """fit's compiled path: the parameters are views of one flat array, whose version the
    flat step bumps once; its sequence (forward, backward, step, ...) equals eager's."""
    model, eager, x = _model(), _model(), Tensor(X_DATA)
    opt, eager_opt = optim.SGD(model.parameters(), lr=0.1), optim.SGD(eager.parameters(), lr=0.1)
    flat = FlatStep.build(opt)
    flat.adopt()
    graph = capture(lambda: (model(x) ** 2).sum(), gradients=flat.gradients)
    for _ in range(3):
        graph.forward()
        graph.backward(overwrite=True)
        assert flat.step()
        eager_opt.zero_grad()
        (eager(x) ** 2).sum().backward()
        eager_opt.step()
    for ours, theirs in zip(model.parameters(), eager.parameters(), strict=True):
        assert np.array_equal(ours.data, theirs.data)
    graph.forward()
    assert flat.step()  # before the backward: every parameter of the group moved
    with pytest.raises(RuntimeError, match=VERSION_ERROR):
        graph.backward(overwrite=True)
    flat.release()


class _Mine(nn.Module):
    """A user's Module (not the library's): fit compiles it only when told to, and keeps
    its state around every capture (``state_kept``)."""

    def __init__(self, dropout=0.0):
        super().__init__()
        self.a, self.b = nn.Linear(2, 5, seed=0), nn.Linear(5, 2, seed=1)
        self.drop = nn.Dropout(dropout, seed=2)

    def forward(self, x):
        return self.b(self.drop(self.a(x).tanh()))


X, Y = make_moons(40, seed=0)


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"batch_size": 16},
        {"dropout": 0.2},
        {"dropout": 0.2, "batch_size": 16},
        {"optimizer": "adam"},
    ],
)
def test_fit_of_a_users_module_with_validation_compiled_equals_eager(options):
    options = dict(options)
    dropout = options.pop("dropout", 0.0)
    adam = options.pop("optimizer", None) == "adam"
    runs = []
    for compiled in (False, True):
        model = _Mine(dropout)
        optimizer = optim.Adam(model.parameters(), lr=0.02) if adam else None
        lr = {} if adam else {"lr": 0.05}
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # no "runs eagerly" fallback, no other warning
            warnings.simplefilter("ignore", NoProgressWarning)  # 6 epochs: the same either way
            history = fit(
                model, X, Y, epochs=6, validation=(X[:15], Y[:15]), progress=False,
                compiled=compiled, seed=0, optimizer=optimizer, **lr, **options,
            )  # fmt: skip
        runs.append((history.loss, history.val_loss, [p.data.copy() for p in model.parameters()]))
    (loss, val_loss, params), (c_loss, c_val_loss, c_params) = runs
    assert loss == c_loss and val_loss == c_val_loss
    assert all(np.array_equal(a, b) for a, b in zip(params, c_params, strict=True))


def test_a_capture_inside_fit_writes_back_only_the_state_it_changed():
    model = _Mine()
    versions = []

    def note(epoch, history):
        versions.append([p._version for p in model.parameters()])

    fit(
        model, X, Y, epochs=3, lr=0.02, validation=(X[:15], Y[:15]), progress=False,
        compiled=True, callbacks=[note],
    )  # fmt: skip
    # one write per step (the flat array's); the validation pass's capture and check write none
    assert [v[0] for v in versions] == [1, 2, 3]


@pytest.mark.parametrize("batch_size", [16, "auto"])  # auto: all 40 rows, full batches
def test_an_early_stopping_estimator_compiled_and_eager_agree(batch_size):
    results = []
    for compiled in (False, True):
        clf = NeuralNetClassifier(
            hidden_layer_sizes=(5,), solver="sgd", early_stopping=True, max_iter=30,
            batch_size=batch_size, learning_rate_init=0.3, random_state=0, compiled=compiled,
        )  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            clf.fit(X, Y)
        results.append((clf.loss_curve_, clf.validation_scores_, clf.predict_proba(X)))
    assert max(results[0][1]) > 0.5 and results[0][0][-1] < results[0][0][0]  # it learnt
    assert results[0][0] == results[1][0] and results[0][1] == results[1][1]
    np.testing.assert_array_equal(results[0][2], results[1][2])


def test_a_write_into_data_itself_is_not_seen_as_in_torch_and_eagerly():
    """``w.data`` is the raw array (torch's ``.data`` has a version of its own): a write
    into it is untracked in all three, which give the same numbers."""
    tw = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    tx = torch.tensor([3.0, 4.0], dtype=torch.float64, requires_grad=True)
    loss = (tw * tx).sum()
    tw.data[...] = 0.0
    loss.backward()
    for compiled in (False, True):
        w, x = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, 4.0], requires_grad=True)
        graph = capture(lambda w=w, x=x: (w * x).sum())
        loss = graph.forward() if compiled else (w * x).sum()
        w.data[...] = 0.0
        graph.backward() if compiled else loss.backward()
        np.testing.assert_array_equal(w.grad, tw.grad.numpy())
        np.testing.assert_array_equal(x.grad, tx.grad.numpy())


# ---------------------------------------------------------------------- drawn sequences
ACTIONS = st.lists(st.tuples(st.sampled_from(["write", "rebind"]), st.integers(0, 4)), max_size=3)
ROUNDS = st.lists(st.tuples(ACTIONS, ACTIONS), min_size=1, max_size=4)


@settings(max_examples=40, deadline=None)
@given(ROUNDS)
def test_drawn_sequences_raise_where_eager_raises_and_give_eagers_gradients(rounds):
    """Rounds of forward, in-place writes and new arrays for the leaves (the parameters
    and the input), backward, then more of them before the next forward: the graph's
    verdict is eager's, and where both compute, the gradients are eager's, bit for bit."""
    graph_model, eager_model = _model(), _model()
    graph_x, eager_x = Tensor(X_DATA), Tensor(X_DATA)
    graph = capture(lambda: (graph_model(graph_x) ** 2).sum())
    leaves = {
        "graph": [*graph_model.parameters(), graph_x],
        "eager": [*eager_model.parameters(), eager_x],
    }

    def act(actions):
        for kind, i in actions:
            for run in leaves.values():
                if kind == "write":
                    with no_grad():
                        run[i] -= 0.125
                else:
                    run[i].data = run[i].data.copy()

    for inside, after in rounds:
        graph.forward()
        loss = (eager_model(eager_x) ** 2).sum()
        act(inside)
        for leaf in leaves["eager"]:
            leaf.grad = None
        verdicts = [_verdict(lambda: graph.backward(overwrite=True)), _verdict(loss.backward)]
        assert verdicts[0] == verdicts[1]
        if verdicts[0] == "computes":
            for ours, theirs in zip(leaves["graph"][:4], leaves["eager"][:4], strict=True):
                assert np.array_equal(ours.grad, theirs.grad)
        act(after)
