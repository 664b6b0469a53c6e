"""data: scikit-learn's generators without global state, splits, mini-batches."""

import numpy as np
import pytest
import sklearn.datasets
from hypothesis import given, settings
from hypothesis import strategies as st

from tinygrad_moons import data


def test_make_moons_defaults_are_the_write_ups_data():
    state = np.random.get_state()
    try:
        np.random.seed(0)
        expected_X, expected_y = sklearn.datasets.make_moons(200, noise=0.20)
    finally:
        np.random.set_state(state)
    X, y = data.make_moons()
    assert np.array_equal(X, expected_X) and np.array_equal(y, expected_y)
    assert X.dtype == np.float64 and y.dtype == np.int64


def test_make_moons_leaves_numpys_global_random_state_alone():
    before = np.random.get_state()[1].copy()
    data.make_moons(500, noise=0.3, seed=4)
    assert np.array_equal(np.random.get_state()[1], before)


def test_make_moons_seed_and_size_change_the_draw():
    X, y = data.make_moons(50, noise=0.1, seed=3)
    assert X.shape == (50, 2) and y.shape == (50,)
    assert not np.array_equal(X, data.make_moons(50, noise=0.1, seed=4)[0])


def test_make_blobs_gives_three_classes_in_the_plane_from_scikit_learn():
    X, y = data.make_blobs(90, seed=2)
    expected_X, expected_y = sklearn.datasets.make_blobs(90, 2, centers=3, random_state=2)
    assert np.array_equal(X, expected_X) and np.array_equal(y, expected_y)
    assert X.shape == (90, 2) and sorted(set(y.tolist())) == [0, 1, 2]


def test_train_test_split_is_scikit_learns():
    import sklearn.model_selection

    assert data.train_test_split is sklearn.model_selection.train_test_split


@settings(max_examples=50, deadline=None)
@given(n=st.integers(1, 40), batch_size=st.integers(1, 50), shuffle=st.booleans())
def test_batches_yield_every_row_once_in_batches_of_the_size(n, batch_size, shuffle):
    X, y = np.arange(2.0 * n).reshape(n, 2), np.arange(n)
    parts = list(data.batches(X, y, batch_size, shuffle=shuffle, seed=0))
    sizes = [len(yb) for _, yb in parts]
    assert all(size == batch_size for size in sizes[:-1]) and 0 < sizes[-1] <= batch_size
    assert sorted(np.concatenate([yb for _, yb in parts]).tolist()) == list(range(n))
    for X_batch, y_batch in parts:
        assert np.array_equal(X_batch, X[y_batch])


def test_batches_without_shuffle_come_in_order():
    X, y = np.zeros((7, 2)), np.arange(7)
    assert [yb.tolist() for _, yb in data.batches(X, y, 3, shuffle=False)] == [
        [0, 1, 2],
        [3, 4, 5],
        [6],
    ]


def test_batches_shuffle_from_the_seed_and_a_random_state_advances():
    X, y = np.zeros((20, 2)), np.arange(20)

    def order(seed):
        return np.concatenate([yb for _, yb in data.batches(X, y, 6, seed=seed)])

    assert np.array_equal(order(5), np.random.RandomState(5).permutation(20))
    rng = np.random.RandomState(5)
    assert not np.array_equal(order(rng), order(rng))


@pytest.mark.parametrize("batch_size", [0, -2, 2.5, True])
def test_batches_refuse_a_batch_size_that_is_not_a_positive_int(batch_size):
    with pytest.raises(ValueError, match="batch_size"):
        list(data.batches(np.zeros((4, 2)), np.zeros(4), batch_size))


def test_batches_refuse_x_and_y_of_different_lengths():
    with pytest.raises(ValueError, match="same length"):
        list(data.batches(np.zeros((4, 2)), np.zeros(3), 2))


def test_make_blobs_refuses_classes_that_contradict_the_centres_naming_both():
    """classes=5 with two centres made two classes in silence."""
    with pytest.raises(ValueError, match=r"classes=5 but centers holds 2 centres"):
        data.make_blobs(classes=5, centers=[[0, 0], [1, 1]])
    centers = data.ring_centers(4)  # their number is the classes: given or not
    for classes in (None, 4):
        assert sorted(set(data.make_blobs(40, classes, centers=centers)[1].tolist())) == [
            0,
            1,
            2,
            3,
        ]


@pytest.mark.parametrize(
    "centers, message",
    [
        ([[0, 0, 0], [1, 1, 1]], "centers has 3 features .*blobs in the plane"),
        ([[0.0, np.nan], [1.0, 1.0]], "centers must be finite"),
        ([], "centers must be a non-empty 2-D array"),
    ],
)
def test_make_blobs_refuses_centres_that_are_not_points_of_the_plane(centers, message):
    """3-D centres gave 3 features, though the blobs are in the plane."""
    with pytest.raises(ValueError, match=message):
        data.make_blobs(centers=centers)


@pytest.mark.parametrize("seed", [1.5, "0", True])
def test_make_moons_and_blobs_name_a_seed_that_is_not_one(seed):
    """seed=1.5 raised numpy's "Cannot cast scalar from dtype('float64')", naming no seed."""
    for make in (data.make_moons, data.make_blobs):
        with pytest.raises(TypeError, match="seed must be an int, a numpy RandomState or None"):
            make(seed=seed)


def test_make_moons_takes_a_random_state_as_given():
    rng = np.random.RandomState(0)
    assert np.array_equal(data.make_moons(seed=rng)[0], data.make_moons()[0])
    assert not np.array_equal(data.make_moons(seed=rng)[0], data.make_moons()[0])


@pytest.mark.parametrize("n", [True, False, 0, -1, 2.0, "5"])
def test_make_moons_and_blobs_refuse_a_count_that_is_not_an_int(n):
    """make_moons(True) made one point."""
    for make in (data.make_moons, data.make_blobs):
        with pytest.raises(ValueError, match=f"n must be an int >= 1, got {n!r}"):
            make(n)
    with pytest.raises(ValueError, match=f"classes must be an int >= 1, got {n!r}"):
        data.make_blobs(classes=n)


@pytest.mark.parametrize("classes", [0, -2, 2.0, True])
def test_ring_centers_refuses_a_count_of_classes_that_is_not_an_int(classes):
    """0 and -2 gave an empty array in silence."""
    with pytest.raises(ValueError, match=f"classes must be an int >= 1, got {classes!r}"):
        data.ring_centers(classes)


@pytest.mark.parametrize("radius", [np.nan, np.inf, 0.0, -1.0, "2", True])
def test_ring_centers_refuses_a_radius_that_is_not_a_finite_positive_number(radius):
    """radius=nan gave NaN centres in silence."""
    with pytest.raises(
        ValueError, match=f"radius must be a finite number in \\(0, inf\\), got {radius!r}"
    ):
        data.ring_centers(3, radius)
