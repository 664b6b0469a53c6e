"""The library's own functions that choose by the data (sort, fmax and fmin, nan_to_num,
max pooling, Embedding's rows, labels held in a Tensor or taken by argmax) choose afresh at
every replay; and the ways a captured function could carry a derived value out of the
capture's sight (writing it in place, np.asarray of it, its bytes, a Python decision on
its shape) are refused, never replayed stale."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, data, nn
from tinygrad_moons.graph import GraphChangedError, capture
from tinygrad_moons.train import fit


def _replays_as_eager(fn, leaves, new_values):
    """For each new set of leaf values: replay and eager give the same value and the same
    gradients, bit for bit (and the values change what is chosen, so a stale choice fails)."""
    graph = capture(fn)
    for values in new_values:
        for leaf, value in zip(leaves, values, strict=True):
            leaf.data = np.array(value, dtype=float)
            leaf.grad = None
        replayed = graph.replay().data.copy()
        grads = [None if leaf.grad is None else leaf.grad.copy() for leaf in leaves]
        for leaf in leaves:
            leaf.grad = None
        eager = fn()
        eager.backward()
        assert np.array_equal(replayed, eager.data, equal_nan=True)
        for grad, leaf in zip(grads, leaves, strict=True):
            assert (grad is None) == (leaf.grad is None)
            assert grad is None or np.array_equal(grad, leaf.grad)


WEIGHTS = np.array([1.0, 10.0, 100.0])


def test_sort_sorts_the_current_values_at_every_replay():
    w = Tensor([3.0, 1.0, 2.0], requires_grad=True)
    _replays_as_eager(
        lambda: (w.sort() * Tensor(WEIGHTS)).sum(), [w], [([1.0, 2.0, 3.0],), ([2.0, 3.0, 1.0],)]
    )


@pytest.mark.parametrize("pick", [F.fmax, F.fmin], ids=["fmax", "fmin"])
def test_fmax_and_fmin_choose_by_the_current_values(pick):
    w = Tensor([1.0, -2.0, np.nan], requires_grad=True)
    v = Tensor([0.0, 0.0, 0.0], requires_grad=True)
    _replays_as_eager(
        lambda: (pick(w, v) * Tensor(WEIGHTS)).sum(),
        [w, v],
        [([-1.0, 2.0, 0.5], [0.0, 0.0, np.nan]), ([3.0, -3.0, 1.0], [4.0, -4.0, 0.0])],
    )


def test_nan_to_num_finds_the_current_non_finite_values():
    w = Tensor([1.0, np.nan, 2.0], requires_grad=True)
    _replays_as_eager(
        lambda: (F.nan_to_num(w) * Tensor([1.0, 0.5, 0.25])).sum(),
        [w],
        [([np.nan, 1.0, np.inf],), ([1.0, 2.0, -np.inf],)],
    )


def test_max_pooling_finds_the_current_maxima():
    image = Tensor(np.zeros((1, 1, 2, 2)), requires_grad=True)
    corners = [np.eye(4)[i].reshape(1, 1, 2, 2) * (i + 5) for i in range(4)]
    _replays_as_eager(lambda: (F.max_pool2d(image, 2) ** 2).sum(), [image], [[c] for c in corners])


def test_embedding_reads_the_current_indices_of_a_tensor():
    embedding = nn.Embedding(3, 2, seed=0)
    indices = Tensor([0.0, 1.0])
    leaves = [embedding.weight, indices]
    start = embedding.weight.data.copy()
    _replays_as_eager(
        lambda: (embedding(indices) * Tensor([[1.0, 2.0], [3.0, 4.0]])).sum(),
        leaves,
        [(start, [2.0, 0.0]), (start, [1.0, 1.0])],
    )


def test_embedding_checks_the_indices_at_every_replay():
    embedding = nn.Embedding(3, 2, seed=0)
    indices = Tensor([0.0, 1.0])
    graph = capture(lambda: embedding(indices).sum())
    indices.data = np.array([0.0, 3.0])
    with pytest.raises(ValueError, match=r"indices in \[0, 3\); got 3"):
        graph.replay()


@pytest.mark.parametrize("source", ["tensor", "argmax"])
def test_labels_in_a_tensor_or_from_argmax_are_read_at_every_replay(source):
    X = Tensor([[1.0, 0.0], [0.0, 1.0]])
    W = Tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    V = Tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    labels = Tensor([0.0, 1.0])

    def fn():
        y = labels if source == "tensor" else (X @ V).argmax(1)
        return F.softmax_cross_entropy(X @ W, y, reduction="sum")

    flipped = [[0.0, 1.0], [1.0, 0.0]]
    if source == "tensor":
        _replays_as_eager(fn, [W, labels], [(W.data, [1.0, 0.0]), (W.data, [1.0, 1.0])])
    else:
        _replays_as_eager(fn, [W, V], [(W.data, flipped), (flipped, np.eye(2))])


def test_labels_from_a_tensor_are_checked_at_every_replay():
    W = Tensor([[1.0, 0.0], [0.0, 1.0]], requires_grad=True)
    labels = Tensor([0.0, 1.0])
    graph = capture(lambda: F.softmax_cross_entropy(W * 1.0, labels))
    labels.data = np.array([0.0, 2.0])
    with pytest.raises(ValueError, match="label 2.0 at position 1 is not below 2"):
        graph.replay()


def test_a_method_computing_from_a_mask_is_recorded():
    w = Tensor([-1.0, 2.0, 3.0], requires_grad=True)
    _replays_as_eager(
        lambda: w.sum() * Tensor((w > 0).dot(np.ones(3))),
        [w],
        [([1.0, 2.0, 3.0],), ([-1.0, -2.0, 3.0],)],
    )


# ---------------------------------------------------------------------- refused
def _refused(fn, named):
    with pytest.raises(GraphChangedError, match=named):
        capture(fn)


w_refused = Tensor([-1.0, 2.0, 3.0], requires_grad=True)


def _writing(write):
    def fn():
        mask = w_refused > 0
        write(mask)
        return F.where(mask, w_refused, 0.0).sum()

    return fn


@pytest.mark.parametrize(
    "write, named",
    [
        (lambda m: m.__setitem__(0, True), r"in-place write \(m\[i\] = x\)"),
        (lambda m: m.fill(True), r"in-place .fill\(\)"),
        (lambda m: m.sort(), r"in-place .sort\(\)"),
        (lambda m: m.put([0], [True]), r"in-place .put\(\)"),
    ],
    ids=["setitem", "fill", "sort", "put"],
)
def test_writing_into_a_derived_value_is_refused_naming_the_call(write, named):
    _refused(_writing(write), named)


def test_a_write_the_capture_cannot_name_is_a_read_only_error():
    with pytest.raises(ValueError, match="read-only"):
        capture(_writing(lambda m: np.random.RandomState(0).shuffle(m)))


@pytest.mark.parametrize(
    "escape",
    [
        lambda m: np.asarray(m),
        lambda m: np.ascontiguousarray(m),
        lambda m: np.asarray(memoryview(m)),
        lambda m: m.__array__(),
    ],
    ids=["asarray", "ascontiguousarray", "memoryview", "__array__"],
)
@pytest.mark.parametrize("use", ["operand", "tensor"])
def test_a_plain_array_sharing_a_derived_values_memory_is_refused(escape, use):
    w = Tensor([-1.0, 2.0, 3.0], requires_grad=True)

    def fn():
        plain = escape(w > 0)
        return (w * (plain if use == "operand" else Tensor(plain))).sum()

    _refused(fn, r"np.asarray\(\) .* making a plain array of a derived value")


@pytest.mark.parametrize(
    "escape, named",
    [
        (lambda m: np.frombuffer(m.tobytes(), bool), "tobytes"),
        (lambda m: np.array(m.flat), ".flat"),
    ],
    ids=["tobytes", "flat"],
)
def test_reading_a_derived_values_bytes_or_elements_is_refused(escape, named):
    w = Tensor([-1.0, 2.0, 3.0], requires_grad=True)
    _refused(lambda: (w * escape(w > 0)).sum(), named)


def test_a_derived_value_whose_shape_follows_the_data_is_refused_at_replay():
    # len() of the positives is read in Python: a replay with more of them must not slice
    # as many as the capture saw
    w = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    graph = capture(lambda: w[: len(np.flatnonzero(w > 0))].sum())
    w.data = np.array([1.0, 2.0, 3.0])
    with pytest.raises(
        GraphChangedError, match=r"gave shape \(3,\) where the captured graph has \(2,\)"
    ):
        graph.replay()


# ---------------------------------------------------------------------- fit, by default
def _fits_as_eager(make, X, y, **options):
    """fit compiled by default (a model of the library's modules) gives eager's History and
    parameters bit for bit, without a warning."""
    runs = []
    for compiled in (None, False):
        model = make()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            history = fit(model, X, y, compiled=compiled, progress=False, **options)
        assert not [w for w in caught if "eagerly" in str(w.message)]
        runs.append((history, [p.data.copy() for p in model.parameters()]))
    (compiled_history, compiled_params), (eager_history, eager_params) = runs
    assert compiled_history.loss == eager_history.loss
    assert compiled_history.accuracy == eager_history.accuracy
    for a, b in zip(compiled_params, eager_params, strict=True):
        assert np.array_equal(a, b)


@pytest.fixture
def registered():
    names = []

    def register(name, fn):
        nn.register_activation(name, fn)
        names.append(name)

    yield register
    for name in names:
        nn.ACTIVATIONS.pop(name, None)


@pytest.mark.parametrize(
    "activation",
    [lambda x: F.fmax(x, 0.0), lambda x: F.fmin(x, 0.0), lambda x: x.sort(axis=1)],
    ids=["fmax", "fmin", "sort"],
)
def test_registered_activations_that_choose_fit_compiled_as_eager(registered, activation):
    X, y = data.make_moons()
    registered("chooses_by_the_data", activation)
    _fits_as_eager(
        lambda: nn.MLP([2, 3, 2], "chooses_by_the_data", seed=0), X[:20], y[:20], epochs=60
    )


def test_a_max_pooling_model_fits_compiled_as_eager(registered):
    X, y = data.make_moons()
    registered("as_image", lambda x: x.reshape(x.shape[0], 1, 2, 4))
    for seed in (1, 2):

        def make(seed=seed):
            return nn.Sequential(
                nn.Linear(2, 8, seed=seed),
                nn.ACTIVATIONS["as_image"](),
                nn.MaxPool2d(2),
                nn.Flatten(),
                nn.Linear(2, 2, seed=seed),
            )

        _fits_as_eager(make, X[:10], y[:10], epochs=60, lr=0.003)


def test_an_embedding_model_fits_its_mini_batches_compiled_as_eager():
    rng = np.random.RandomState(0)
    X = rng.randint(0, 7, size=(60, 3)).astype(float)
    X[20:40] = X[:20]  # the batch the capture is checked on repeats the captured one
    y = (X.sum(axis=1) > 9).astype(int)
    y[20:40] = 1 - y[:20]

    def make():
        return nn.Sequential(nn.Embedding(7, 4, seed=0), nn.Flatten(), nn.Linear(12, 2, seed=1))

    _fits_as_eager(make, X, y, epochs=5, lr=0.05, batch_size=20, shuffle=False)


@pytest.mark.parametrize(
    "size",
    [lambda m: len(m), lambda m: m.shape[0], lambda m: np.shape(m)[0], lambda m: np.size(m)],
    ids=["len", "shape", "np.shape", "np.size"],
)
def test_every_way_of_reading_a_derived_shape_is_checked_at_replay(size):
    w = Tensor([1.0, -2.0, 3.0], requires_grad=True)
    graph = capture(lambda: w[: size(np.flatnonzero(w > 0))].sum())
    w.data = np.array([1.0, -2.0, 5.0])
    graph.replay()  # as many positives: the same graph
    w.data = np.array([1.0, 2.0, 3.0])
    with pytest.raises(GraphChangedError, match="the shape follows the data"):
        graph.replay()
