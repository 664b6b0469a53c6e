"""NeuralNetClassifier: the write-up through scikit-learn's interface, labels, randomness,
scikit-learn's own estimator checks, and the grid-search example."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs
from sklearn.exceptions import NotFittedError
from sklearn.metrics import accuracy_score
from sklearn.utils.estimator_checks import parametrize_with_checks
from writeup_table import assert_table_holds

from tinygrad_moons import data
from tinygrad_moons.estimator import NeuralNetClassifier
from tinygrad_moons.train import History, TrainingDiverged


@pytest.fixture(scope="module")
def moons():
    return data.make_moons()


def quick(**params):
    """An estimator that learns the moons in a fraction of a second."""
    return NeuralNetClassifier(
        **{"optimizer": "adam", "lr": 0.05, "max_passes": 100, "random_state": 0, **params}
    )


# ---------------------------------------------------------------------- the write-up
def test_random_state_0_and_defaults_train_the_write_ups_network(moons):
    """The reproduction table's rule for hidden size 3: passes 0-1000 to a relative 1e-9;
    the last two of 20,000 (a period-2 oscillation) as an unordered pair to 1e-8."""
    X, y = moons
    clf = NeuralNetClassifier(random_state=0).fit(X, y)
    assert_table_holds(3, clf.loss_curve_)
    assert isinstance(clf.history_, History)
    assert len(clf.loss_curve_) == clf.n_iter_ == 20000


# ---------------------------------------------------------------------- labels
def test_labels_map_to_outputs_in_sorted_order_so_minus_one_one_trains_like_zero_one(moons):
    X, y = moons
    zero_one = NeuralNetClassifier(max_passes=20, random_state=0).fit(X, y)
    signs = NeuralNetClassifier(max_passes=20, random_state=0).fit(X, 2 * y - 1)
    assert signs.classes_.tolist() == [-1, 1]
    assert signs.loss_curve_ == zero_one.loss_curve_
    np.testing.assert_array_equal(signs.predict(X), 2 * zero_one.predict(X) - 1)


def test_string_labels_round_trip(moons):
    X, y = moons
    names = np.array(["upper", "lower"])[y]  # class 0 is "upper": sorting swaps the outputs
    clf = quick().fit(X, names)
    assert clf.classes_.tolist() == ["lower", "upper"]
    as_ints = quick().fit(X, 1 - y)  # the same problem, labelled by position in classes_
    assert clf.loss_curve_ == as_ints.loss_curve_
    predicted = clf.predict(X)
    assert predicted.dtype == names.dtype
    np.testing.assert_array_equal(predicted, clf.classes_[as_ints.predict(X)])
    assert clf.score(X, names) == as_ints.score(X, 1 - y) > 0.8


def test_any_number_of_features_and_classes_sizes_the_network():
    X, y = make_blobs(n_samples=150, n_features=4, centers=3, random_state=0)
    labels = np.array([10, 20, 30])[y]
    clf = quick(hidden=(5, 4)).fit(X, labels)
    assert clf.n_features_in_ == 4
    assert clf.model_.sizes == [4, 5, 4, 3]
    assert clf.predict_proba(X).shape == (150, 3)
    assert clf.score(X, labels) > 0.95


def test_one_class_is_refused_with_a_clear_error(moons):
    X, _ = moons
    with pytest.raises(ValueError, match="at least 2 classes.*got 1 class: 'a'"):
        quick().fit(X, np.full(len(X), "a"))


# ---------------------------------------------------------------------- predictions
def test_predict_proba_rows_sum_to_one_and_their_argmax_is_predict():
    X, y = make_blobs(n_samples=120, centers=3, cluster_std=3.0, random_state=1)
    clf = quick(max_passes=30).fit(X, np.array(["c", "a", "b"])[y])
    probabilities = clf.predict_proba(X)
    assert probabilities.shape == (120, 3)
    assert np.all((probabilities > 0) & (probabilities < 1))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(clf.classes_[probabilities.argmax(axis=1)], clf.predict(X))


def test_score_is_accuracy_score_of_predict(moons):
    X, y = moons
    clf = quick(max_passes=15).fit(X, y)
    predicted = clf.predict(X)
    assert 0.5 < np.mean(predicted == y) < 1.0  # a score that could be wrong either way
    assert clf.score(X, y) == accuracy_score(y, predicted)


# ---------------------------------------------------------------------- randomness
@pytest.mark.parametrize("batch_size", [None, 32])
def test_an_int_random_state_refits_to_the_same_network(moons, batch_size):
    X, y = moons
    clf = quick(batch_size=batch_size, random_state=7, max_passes=20)
    first = clf.fit(X, y).model_.state_dict()
    first_curve = clf.loss_curve_
    second = clf.fit(X, y).model_.state_dict()
    assert clf.loss_curve_ == first_curve
    for name in first:
        np.testing.assert_array_equal(second[name], first[name])


def test_batch_size_trains_on_mini_batches(moons):
    X, y = moons
    full = quick(max_passes=3).fit(X, y).loss_curve_
    assert quick(max_passes=3, batch_size=len(y)).fit(X, y).loss_curve_ == full
    assert quick(max_passes=3, batch_size=50).fit(X, y).loss_curve_ != full


def test_random_state_none_draws_a_fresh_start_at_every_fit(moons):
    X, y = moons
    clf = quick(random_state=None, max_passes=1)
    first = clf.fit(X, y).model_.state_dict()["0.weight"]
    second = clf.fit(X, y).model_.state_dict()["0.weight"]
    assert not np.allclose(first, second)


def test_a_random_state_instance_is_used_as_given_and_advances(moons):
    X, y = moons
    clf = NeuralNetClassifier(max_passes=1, random_state=np.random.RandomState(0))
    first = clf.fit(X, y).loss_curve_
    second = clf.fit(X, y).loss_curve_
    assert first == NeuralNetClassifier(max_passes=1, random_state=0).fit(X, y).loss_curve_
    assert second != first


# ---------------------------------------------------------------------- failures
def test_diverging_training_raises_and_leaves_the_estimator_unfitted(moons):
    X, y = moons
    clf = quick().fit(X, y)
    clf.set_params(optimizer="sgd", lr=1e10, max_passes=50)
    with pytest.raises(TrainingDiverged, match="diverged at epoch 18 with learning rate 1e"):
        clf.fit(X, y)
    assert not hasattr(clf, "classes_") and not hasattr(clf, "n_features_in_")
    with pytest.raises(NotFittedError):
        clf.predict(X)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"optimizer": "lbfgs"}, "optimizer must be one of \\['adam', 'sgd'\\], got 'lbfgs'"),
        ({"hidden": (3, 0)}, "hidden\\[1\\] must be an int >= 1, got 0"),
        ({"hidden": "3"}, "hidden must be an int or a sequence of ints"),
        ({"lr": -0.1}, "lr must be a finite number > 0"),
        ({"max_passes": 2.5}, "max_passes must be an int >= 1"),
        ({"activation": "swish"}, "activation must be one of"),
    ],
)
def test_bad_hyperparameters_are_named_at_fit(moons, params, message):
    X, y = moons
    clf = NeuralNetClassifier(**params)  # scikit-learn's rule: __init__ only stores them
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)


# ---------------------------------------------------------------------- scikit-learn's checks
@parametrize_with_checks(
    [
        NeuralNetClassifier(optimizer="adam", lr=0.05, max_passes=200),
        NeuralNetClassifier(
            hidden=(4, 4),
            activation="relu",
            optimizer="adam",
            lr=0.03,
            max_passes=25,
            batch_size=32,
        ),
    ]
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)
