"""A capture never replays a stale value: masks, choices and random draws the step derives
from its data are recomputed at every replay, and Python reads of the step's values are
refused, naming the call."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, data, nn, optim
from tinygrad_moons.graph import GraphChangedError, capture
from tinygrad_moons.train import fit


@pytest.fixture(scope="module")
def moons():
    return data.make_moons()


def _replays_equal_eager(fn, params, steps=4, lr=0.3):
    """Replay and eager ``fn().backward()`` agree bit for bit over a few SGD steps."""
    graph = capture(fn)
    for _ in range(steps):
        for p in params:
            p.grad = None
        replayed = graph.replay().data.copy()
        replayed_grads = [p.grad.copy() for p in params]
        for p in params:
            p.grad = None
        eager = fn()
        eager.backward()
        assert np.array_equal(replayed, eager.data)
        for a, p in zip(replayed_grads, params, strict=True):
            assert np.array_equal(a, p.grad)
        for p in params:
            p.data -= lr * p.grad
    return graph


def test_a_leaky_mask_from_a_comparison_is_recomputed_at_every_replay():
    rng = np.random.RandomState(0)
    W = Tensor(rng.randn(3, 4), requires_grad=True)
    X = Tensor(rng.randn(6, 3))

    def fn():
        h = X @ W
        return (F.where(h > 0, h, 0.1 * h) ** 2).sum()

    graph = _replays_equal_eager(fn, [W], lr=2.0)
    assert "greater" in graph.source  # the comparison is a line of the replay


def test_masks_built_from_masks_and_argmax_choices_are_recomputed():
    """``&``, ``~``, a mask as a float Tensor, and a max-pool-like choice by argmax."""
    rng = np.random.RandomState(1)
    W = Tensor(rng.randn(3, 4), requires_grad=True)
    X = Tensor(rng.randn(5, 3))

    def fn():
        h = X @ W
        band = (h > -0.5) & ~(h > 0.5)
        pooled = h[np.arange(5), h.argmax(axis=1)]  # the largest unit of each row
        return (h * band).sum() + pooled.sum() + F.maximum(h, h * 0.5).sum()

    _replays_equal_eager(fn, [W], lr=1.0)


def test_a_dropout_like_draw_comes_from_the_same_stream_as_eager():
    def make():
        rng = np.random.RandomState(3)
        return Tensor(np.ones((4, 3)), requires_grad=True), nn.Dropout(0.5, seed=rng)

    w, drop = make()
    graph = capture(lambda: drop(w).sum())
    replayed = []
    for _ in range(3):
        w.grad = None
        replayed.append((graph.replay().item(), w.grad.copy()))
    w, drop = make()
    for value, grad in replayed:
        w.grad = None
        out = drop(w).sum()
        out.backward()
        assert out.item() == value and np.array_equal(w.grad, grad)


@pytest.mark.parametrize(
    ("call", "named"),
    [
        (lambda t: t.item(), r"item\(\)"),
        (lambda t: float(t), r"float\(\)"),
        (lambda t: int(t), r"int\(\)"),
        (lambda t: bool(t > 0), r"bool\(\)"),
        (lambda t: t.numpy(), r"numpy\(\)"),
        (lambda t: (t > 0).tolist(), r"tolist\(\)"),
        (lambda t: bool((t > 0).any()), r"bool\(\)"),
        (lambda t: np.asarray(t.detach()), r"numpy.asarray\(\)"),
    ],
)
def test_leaving_the_tensor_api_inside_a_capture_is_refused_naming_the_call(call, named):
    w = Tensor([1.0, -2.0], requires_grad=True)

    def fn():
        total = (w * 2.0).sum()
        call(total if "t > 0" not in named else total)
        return total

    with pytest.raises(GraphChangedError, match=named):
        capture(fn)


def test_state_changed_in_place_by_the_function_is_refused():
    running = Tensor(np.zeros(2))
    w = Tensor([1.0, 2.0], requires_grad=True)

    def fn():
        out = (w * running).sum() + (w * 1.0).sum()
        running.data += w.data  # a running statistic kept in place
        return out

    with pytest.raises(GraphChangedError, match="state a replay would not update"):
        capture(fn)


# ---------------------------------------------------------------------- fit
def _params(model):
    return [p.data.copy() for p in model.parameters()]


def _same_run(a, b):
    (history_a, params_a), (history_b, params_b) = a, b
    assert history_a.loss == history_b.loss and history_a.accuracy == history_b.accuracy
    assert history_a.val_loss == history_b.val_loss and history_a.lr == history_b.lr
    for x, y in zip(params_a, params_b, strict=True):
        assert np.array_equal(x, y)


@pytest.fixture
def my_leaky():
    nn.register_activation("my_leaky", lambda x: F.where(x > 0, x, 0.1 * x))
    yield "my_leaky"
    del nn.ACTIVATIONS["my_leaky"]


def test_the_issue_repro_a_registered_leaky_activation_fits_compiled_as_eager(moons, my_leaky):
    """issue 21: compiled parted from eager at epoch 9 when the mask was kept from capture."""
    X, y = moons
    runs = []
    for compiled in (False, None):
        model = nn.MLP([2, 4, 2], my_leaky, seed=0)
        optimizer = optim.Adam(model.parameters(), lr=1e-3)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # compiled by default, with nothing to say
            history = fit(
                model, X[:40], y[:40], epochs=300, optimizer=optimizer, progress=False,
                compiled=compiled,
            )  # fmt: skip
        runs.append((history, _params(model)))
    _same_run(*runs)


class LeakyByComparison(nn.Module):
    """A user's layer: a leaky ReLU written with a comparison and a mask."""

    def forward(self, x):
        mask = x > 0
        return x * mask + 0.1 * x * ~mask


class MaxOfPairs(nn.Module):
    """A user's max-pool-like layer: the larger unit of each pair, chosen by comparison."""

    def forward(self, x):
        a, b = x[:, 0::2], x[:, 1::2]
        return F.where(a >= b, a, b)


class RunningMean(nn.Module):
    """A user's layer keeping running statistics of its input, as batch norm does."""

    def __init__(self):
        super().__init__()
        self.mean = Tensor(np.zeros(4))

    def forward(self, x):
        if self.training:
            self.mean = 0.9 * self.mean + 0.1 * x.mean(axis=0).detach()
        return x - self.mean


def _user_model(layer, width=4):
    return nn.Sequential(nn.Linear(2, 8, seed=0), layer, nn.Linear(width, 2, seed=1))


@pytest.mark.parametrize(
    ("layer", "width"), [(LeakyByComparison, 8), (MaxOfPairs, 4)], ids=["leaky", "max_of_pairs"]
)
def test_a_users_layer_with_comparisons_fits_compiled_as_eager(moons, layer, width, monkeypatch):
    import tinygrad_moons.train as train_module

    captured = []
    real = train_module.capture
    monkeypatch.setattr(
        train_module, "capture", lambda fn, **kw: captured.append(1) or real(fn, **kw)
    )
    X, y = moons
    runs = []
    for compiled in (False, None, True):
        model = _user_model(layer(), width)
        captured.clear()
        history = fit(model, X, y, epochs=60, lr=0.05, batch_size=50, seed=0, progress=False,
                      compiled=compiled)  # fmt: skip
        runs.append((history, _params(model)))
        assert bool(captured) == (compiled is True)  # a user's Module: eager unless asked
    _same_run(runs[0], runs[1])
    _same_run(runs[0], runs[2])


def test_running_statistics_fit_eagerly_and_say_so_when_compiling_is_asked_for(moons):
    X, y = moons
    runs = []
    for compiled in (False, True):
        model = _user_model(RunningMean(), 8)
        model[1].mean = Tensor(np.zeros(8))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = fit(model, X, y, epochs=30, lr=0.05, progress=False, compiled=compiled)
        said = [w for w in caught if "runs this step eagerly" in str(w.message)]
        assert len(said) == (1 if compiled else 0)
        runs.append((history, _params(model) + [model[1].mean.data.copy()]))
    _same_run(*runs)


def test_a_library_model_whose_step_cannot_be_captured_warns_once_and_fits_as_eager(moons):
    X, y = moons
    nn.register_activation("reads_item", lambda x: x * (1.0 + 0.0 * float(x.sum())))
    try:
        runs = []
        for compiled in (False, None):
            model = nn.MLP([2, 3, 2], "reads_item", seed=0)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                history = fit(model, X, y, epochs=5, batch_size=50, seed=0, progress=False,
                              validation=(X[:20], y[:20]), compiled=compiled)  # fmt: skip
            said = [w for w in caught if "runs this step eagerly" in str(w.message)]
            assert len(said) == (1 if compiled is None else 0)
            if said:
                assert "float()" in str(said[0].message)
            runs.append((history, _params(model)))
        _same_run(*runs)
    finally:
        del nn.ACTIVATIONS["reads_item"]


def test_a_transposed_mask_is_recorded_and_an_unrecorded_view_is_refused():
    rng = np.random.RandomState(2)
    W = Tensor(rng.randn(3, 3), requires_grad=True)
    X = Tensor(rng.randn(3, 3))
    _replays_equal_eager(lambda: ((X @ W) * (X @ W > 0).T).sum(), [W], lr=1.0)
    with pytest.raises(GraphChangedError, match="by a way capture does not record"):
        capture(lambda: ((X @ W) * (X @ W > 0).view()).sum())


def test_a_mask_kept_after_its_capture_is_a_plain_array():
    kept = []
    w = Tensor([1.0, -2.0], requires_grad=True)

    def fn():
        kept.append(w > 0)
        return F.where(kept[-1], w, 0.0).sum()

    capture(fn)
    assert bool(kept[0].any()) and kept[0].tolist() == [True, False]
    assert type(kept[0] & kept[0]) is np.ndarray


# ---------------------------------------------------------------------- a trusted forward
def test_a_trusted_forward_leaves_out_the_leaf_check_once_and_only_after_a_forward():
    """``forward(trusted=True)`` skips the check of the leaves' shapes for that one forward,
    and only where the latest forward was this step's (which checked them): a leaf
    reshaped in place before an untrusted forward, or before the first, is refused."""
    w = Tensor(np.ones((2, 3)), requires_grad=True)
    x = Tensor(np.ones((4, 2)))
    graph = capture(lambda: (x @ w).sum())
    graph.forward(trusted=True)  # no forward before it: checked all the same
    graph.forward(trusted=True)  # skipped once
    x.data.shape = (2, 4)  # in place: nothing else could tell
    with pytest.raises(GraphChangedError, match=r"had shape \(4, 2\), float64, and now has"):
        graph.forward()  # the trust went with the forward it was given to
    x.data.shape = (4, 2)
    graph.replay()  # forward()'s step, checked; w.grad set
    graph.replay()  # adding into w.grad: another step than forward()'s
    x.data.shape = (2, 4)
    with pytest.raises(GraphChangedError, match=r"had shape \(4, 2\)"):
        graph.forward(trusted=True)  # the latest forward was not this step's: checked


def _fit_reshaping_a_weight_in_place(compiled):
    """The errors fit ends with (the one raised, then what it was raised while handling)
    when its callback reshapes the first weight's array in place after epoch 2."""
    X, y = data.make_moons()
    model = nn.MLP([2, 4, 2], dropout=0.2, seed=0)  # each epoch's step makes its own forward

    def reshape(epoch, history):
        if epoch == 2:
            model[0].weight.data.shape = (4, 2)  # (2, 4) before: the same array

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as error:
            fit(model, X, y, epochs=6, callbacks=[reshape], progress=False, compiled=compiled)
    chain, raised = [], error.value
    while raised is not None:
        chain.append((type(raised), str(raised)))
        raised = raised.__context__
    return chain


def test_a_callback_reshaping_a_parameter_in_place_is_seen_by_the_next_replay():
    """Between epochs with no callback the replays leave out the leaf check (nothing but
    fit runs); after a callback they check again: a weight reshaped in place by one is a
    GraphChangedError, and the fit goes on eagerly to the eager fit's own error, never a
    replay reading the array with its new shape as if it had the old."""
    eager = _fit_reshaping_a_weight_in_place(False)
    compiled = _fit_reshaping_a_weight_in_place(True)
    assert compiled[0] == eager[0]  # the error raised is the fit's, not one of its clean-up
    assert compiled[-1][0] is GraphChangedError and "now has shape (4, 2)" in compiled[-1][1]
