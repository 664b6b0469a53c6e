"""NeuralNetClassifier: the write-up through scikit-learn's interface, labels, randomness,
scikit-learn's own estimator checks, and the grid-search example."""

import inspect
import warnings

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.datasets import load_iris, make_blobs, make_moons
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import accuracy_score
from sklearn.model_selection import GridSearchCV
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks
from writeup_table import assert_table_holds, reference_losses

from tinygrad_moons import data, nn, reference
from tinygrad_moons.estimator import NeuralNetClassifier
from tinygrad_moons.train import History, TrainingDiverged


@pytest.fixture(scope="module")
def moons():
    return data.make_moons()


def quick(**params):
    """An estimator that learns the moons in a fraction of a second (all its epochs run)."""
    return NeuralNetClassifier(
        **{
            "solver": "adam",
            "learning_rate_init": 0.05,
            "max_iter": 100,
            "tol": 0,
            "random_state": 0,
            **params,
        }
    )


# ---------------------------------------------------------------------- the write-up
def test_random_state_0_and_defaults_train_the_write_ups_network(moons):
    """The reproduction table's rule for hidden size 3: passes 0-1000 to a relative 1e-9;
    the last two of 20,000 (a period-2 oscillation) as an unordered pair to 1e-8."""
    X, y = moons
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the write-up's run converges: no warning at all
        clf = NeuralNetClassifier(random_state=0, tol=0).fit(X, y)
    assert_table_holds(3, clf.loss_curve_)
    assert isinstance(clf.history_, History)
    assert len(clf.loss_curve_) == clf.n_iter_ == 20000


@pytest.mark.parametrize("random_state", range(5))
@pytest.mark.parametrize("order", ["as generated", "swapped"])
def test_the_defaults_reach_97_percent_for_either_label_order(moons, order, random_state):
    """At the write-up's rate the loss swings for hundreds of epochs before it leaves the
    straight-line solution (~85%); the stopping rule waits for it to settle."""
    X, y = moons
    labels = y if order == "as generated" else 1 - y
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ConvergenceWarning either
        clf = NeuralNetClassifier(random_state=random_state).fit(X, labels)
    assert clf.score(X, labels) >= 0.97
    assert clf.n_iter_ < clf.max_iter


# ---------------------------------------------------------------------- labels
def test_labels_map_to_outputs_in_sorted_order_so_minus_one_one_trains_like_zero_one(moons):
    X, y = moons
    zero_one = NeuralNetClassifier(max_iter=20, tol=0, random_state=0).fit(X, y)
    signs = NeuralNetClassifier(max_iter=20, tol=0, random_state=0).fit(X, 2 * y - 1)
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
    clf = quick(hidden_layer_sizes=(5, 4)).fit(X, labels)
    assert clf.n_features_in_ == 4
    assert clf.model_.sizes == [4, 5, 4, 3]
    assert clf.predict_proba(X).shape == (150, 3)
    assert clf.score(X, labels) > 0.95


def test_one_class_is_refused_with_a_clear_error(moons):
    X, _ = moons
    with pytest.raises(
        ValueError, match=r"y holds only one class \('a'\): a classifier needs at least two classes"
    ):
        quick().fit(X, np.full(len(X), "a"))


# ---------------------------------------------------------------------- predictions
def test_predict_proba_rows_sum_to_one_and_their_argmax_is_predict():
    X, y = make_blobs(n_samples=120, centers=3, cluster_std=3.0, random_state=1)
    clf = quick(max_iter=30).fit(X, np.array(["c", "a", "b"])[y])
    probabilities = clf.predict_proba(X)
    assert probabilities.shape == (120, 3)
    assert np.all((probabilities > 0) & (probabilities < 1))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(clf.classes_[probabilities.argmax(axis=1)], clf.predict(X))


def test_score_is_accuracy_score_of_predict(moons):
    X, y = moons
    clf = quick(max_iter=15).fit(X, y)
    predicted = clf.predict(X)
    assert 0.5 < np.mean(predicted == y) < 1.0  # a score that could be wrong either way
    assert clf.score(X, y) == accuracy_score(y, predicted)


# ---------------------------------------------------------------------- randomness
@pytest.mark.parametrize("batch_size", [None, 32])
def test_an_int_random_state_refits_to_the_same_network(moons, batch_size):
    X, y = moons
    clf = quick(batch_size=batch_size, random_state=7, max_iter=20)
    first = clf.fit(X, y).model_.state_dict()
    first_curve = clf.loss_curve_
    second = clf.fit(X, y).model_.state_dict()
    assert clf.loss_curve_ == first_curve
    for name in first:
        np.testing.assert_array_equal(second[name], first[name])


def test_batch_size_trains_on_mini_batches(moons):
    X, y = moons
    full = quick(max_iter=3).fit(X, y).loss_curve_
    assert quick(max_iter=3, batch_size=len(y)).fit(X, y).loss_curve_ == full
    assert quick(max_iter=3, batch_size=50).fit(X, y).loss_curve_ != full


def test_a_batch_size_above_the_samples_is_clipped_with_a_warning_as_mlpclassifiers(moons):
    X, y = moons
    full = quick(max_iter=3).fit(X, y).loss_curve_
    with pytest.warns(UserWarning, match=r"batch_size=500 is larger than the 200 training") as w:
        clipped = quick(max_iter=3, batch_size=500).fit(X, y).loss_curve_
    assert [r.filename for r in w if "batch_size" in str(r.message)] == [__file__]
    assert clipped == full
    with pytest.warns(UserWarning, match="It is going to be clipped"):  # theirs, for the record
        warnings.simplefilter("ignore", ConvergenceWarning)
        MLPClassifier(max_iter=1, batch_size=500, random_state=0).fit(X, y)


def test_random_state_none_draws_a_fresh_start_at_every_fit(moons):
    X, y = moons
    clf = quick(random_state=None, max_iter=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # one epoch from a random start
        first = clf.fit(X, y).model_.state_dict()["0.weight"]
        second = clf.fit(X, y).model_.state_dict()["0.weight"]
    assert not np.allclose(first, second)


def test_a_random_state_instance_is_used_as_given_and_advances(moons):
    X, y = moons
    clf = NeuralNetClassifier(max_iter=1, tol=0, random_state=np.random.RandomState(0))
    first = clf.fit(X, y).loss_curve_
    second = clf.fit(X, y).loss_curve_
    again = NeuralNetClassifier(max_iter=1, tol=0, random_state=0).fit(X, y).loss_curve_
    assert first == again
    assert second != first


# ---------------------------------------------------------------------- failures
def test_diverging_training_raises_and_leaves_the_estimator_unfitted(moons):
    X, y = moons
    clf = quick().fit(X, y)
    clf.set_params(solver="sgd", learning_rate_init=2e12, max_iter=50)  # fit's lr 2e12 / 200
    with pytest.raises(TrainingDiverged, match="diverged at epoch 18 with learning rate 2e"):
        clf.fit(X, y)
    assert not hasattr(clf, "classes_") and not hasattr(clf, "n_features_in_")
    with pytest.raises(NotFittedError):
        clf.predict(X)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"solver": "lbfgsb"}, "solver must be one of \\['sgd', 'adam', 'lbfgs'\\], got 'lbfgsb'"),
        ({"hidden_layer_sizes": (3, 0)}, "hidden_layer_sizes\\[1\\] must be an int >= 1, got 0"),
        ({"hidden_layer_sizes": "3"}, "hidden_layer_sizes must be an int or a sequence"),
        (
            {"learning_rate_init": -0.1},
            "learning_rate_init must be a finite number in \\(0, inf\\)",
        ),
        ({"alpha": float("nan")}, "alpha must be a finite number in \\[0, inf\\), got nan"),
        ({"tol": -1e-4}, "tol must be a finite number"),
        ({"validation_fraction": 1.0}, "validation_fraction must be a finite number in \\(0, 1\\)"),
        ({"momentum": 1.5}, "momentum must be a finite number in \\[0, 1\\]"),
        ({"max_iter": 2.5}, "max_iter must be an int >= 1"),
        ({"n_iter_no_change": 0}, "n_iter_no_change must be an int >= 1"),
        ({"batch_size": "all"}, "batch_size must be an int >= 1, got 'all'"),
        ({"early_stopping": "yes"}, "early_stopping must be True or False"),
        (
            {"activation": "swish"},
            "activation must be one of \\['identity', 'leaky_relu', 'logistic'",
        ),
    ],
)
def test_bad_hyperparameters_are_named_at_fit(moons, params, message):
    X, y = moons
    clf = NeuralNetClassifier(**params)  # scikit-learn's rule: __init__ only stores them
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)


def test_the_parameter_table_checks_every_parameter_but_the_seed():
    from tinygrad_moons.estimator import PARAMETER_CONSTRAINTS

    parameters = list(inspect.signature(NeuralNetClassifier.__init__).parameters)[1:]
    parameters.remove("random_state")  # a seed, read where it is drawn from (fit's first draw)
    assert list(PARAMETER_CONSTRAINTS) == parameters


# ---------------------------------------------------------------------- scikit-learn's checks
@parametrize_with_checks(
    [
        NeuralNetClassifier(solver="adam", learning_rate_init=0.05, max_iter=200),
        NeuralNetClassifier(
            hidden_layer_sizes=(4, 4),
            activation="relu",
            solver="adam",
            learning_rate_init=0.03,
            max_iter=25,
            batch_size=32,
            tol=0,
        ),
        NeuralNetClassifier(solver="lbfgs", max_iter=50),
    ]
)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


# ---------------------------------------------------------------------- MLPClassifier's names
def defaults(cls):
    return {n: p.default for n, p in inspect.signature(cls.__init__).parameters.items()}


def test_the_parameters_are_mlpclassifiers_in_its_order():
    # and one of fit's own at the end: compiled (None: fit's rule)
    assert list(defaults(NeuralNetClassifier)) == [*defaults(MLPClassifier), "compiled"]


def test_defaults_are_the_write_ups_network_with_mlpclassifiers_stopping_rule():
    ours, theirs = defaults(NeuralNetClassifier), defaults(MLPClassifier)
    writeup = {n: p.default for n, p in inspect.signature(reference.train).parameters.items()}
    points = len(data.make_moons()[1])
    assert ours["hidden_layer_sizes"] == (3,) and ours["activation"] == "tanh"
    assert ours["solver"] == "sgd" and ours["batch_size"] is None and ours["momentum"] == 0
    assert ours["alpha"] == writeup["reg"]
    assert ours["learning_rate_init"] == writeup["epsilon"] * points
    assert ours["max_iter"] == writeup["passes"]
    assert (ours["tol"], ours["n_iter_no_change"]) == (theirs["tol"], theirs["n_iter_no_change"])


def test_the_default_fit_is_the_write_ups_until_the_stopping_rule_stops_it(moons):
    X, y = moons
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = NeuralNetClassifier(random_state=0).fit(X, y)
    best, count, expected, losses = np.inf, 0, None, reference_losses(3)
    for epoch, loss in enumerate(losses):  # the rule, written out again
        settled = epoch >= 2 and abs(loss - losses[epoch - 2]) <= 1e-4 / 4
        count = count + 1 if loss > best - 1e-4 and settled else 0
        best = min(best, loss)
        if count > 10:
            expected = epoch + 1
            break
    assert clf.n_iter_ == expected == len(clf.loss_curve_) < clf.max_iter
    np.testing.assert_allclose(clf.loss_curve_, reference_losses(3)[:expected], rtol=1e-9)
    assert clf.best_loss_ == min(clf.loss_curve_) and clf.t_ == expected * len(y)
    assert clf.score(X, y) > 0.95


@pytest.mark.parametrize("solver", ["sgd", "adam"])
def test_the_objective_is_a_mean_so_duplicating_the_data_changes_nothing(moons, solver):
    """Without the penalty (alpha / N changes with N), the step does not grow with N."""
    X, y = moons
    clf = NeuralNetClassifier(solver=solver, learning_rate_init=0.05 if solver == "adam" else 2.0)
    clf.set_params(alpha=0.0, max_iter=20, tol=0, random_state=0)
    once = clf.fit(X, y).loss_curve_
    twice = clf.fit(np.vstack([X, X]), np.concatenate([y, y])).loss_curve_
    np.testing.assert_allclose(twice, once, rtol=1e-12)


def test_alpha_is_the_write_ups_reg(moons):
    X, y = moons
    clf = NeuralNetClassifier(alpha=0.5, max_iter=5, tol=0, random_state=0).fit(X, y)
    _, losses = reference.train(X, y, 3, reg=0.5, passes=5)
    np.testing.assert_allclose(clf.loss_curve_, losses, rtol=1e-12)


def test_a_users_mlpclassifier_grid_search_runs_unchanged(moons):
    X, y = moons

    def users_search(estimator):
        grid = {
            "hidden_layer_sizes": [(2,), (6,)],
            "alpha": [1e-4, 1.0],
            "learning_rate_init": [0.01, 0.05],
        }
        return GridSearchCV(estimator, grid, cv=3, error_score="raise").fit(X, y)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # 100 epochs are few for both
        theirs = users_search(MLPClassifier(solver="adam", max_iter=100, random_state=0))
        ours = users_search(NeuralNetClassifier(solver="adam", max_iter=100, random_state=0))
    assert ours.cv_results_["params"] == theirs.cv_results_["params"]
    assert ours.best_params_["hidden_layer_sizes"] == (6,)
    assert ours.best_score_ > 0.9


# ---------------------------------------------------------------------- never silent
def test_unscaled_iris_warns_to_standardise_and_doing_so_fits_without_a_warning():
    X, y = load_iris(return_X_y=True)
    with pytest.warns(ConvergenceWarning, match="most frequent class.*StandardScaler"):
        NeuralNetClassifier(random_state=0).fit(X, y)
    scaled = make_pipeline(StandardScaler(), NeuralNetClassifier(learning_rate_init=0.5))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scaled.set_params(neuralnetclassifier__random_state=0).fit(X, y)
    assert scaled.score(X, y) > 0.95


def test_an_oscillating_stop_on_2000_moons_warns_to_lower_the_rate_which_then_fits():
    X, y = make_moons(2000, noise=0.2, random_state=0)
    with pytest.warns(ConvergenceWarning, match="rose .* oscillation.*such as 1 instead of 4"):
        NeuralNetClassifier(learning_rate_init=4.0, random_state=0).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = NeuralNetClassifier(learning_rate_init=1.0, random_state=0).fit(X, y)
    assert clf.score(X, y) > 0.95


def test_a_loss_still_swinging_at_max_iter_is_not_called_improving():
    X, y = make_moons(2000, noise=0.2, random_state=0)
    with pytest.warns(ConvergenceWarning, match="still swung .* such as 3 instead of 12"):
        NeuralNetClassifier(learning_rate_init=12.0, max_iter=300, random_state=0).fit(X, y)


def test_stopping_at_max_iter_before_the_rule_is_met_warns(moons):
    with pytest.warns(ConvergenceWarning, match="stopped at max_iter=20 .* raise max_iter"):
        NeuralNetClassifier(learning_rate_init=0.5, max_iter=20, random_state=0).fit(*moons)


def test_ending_at_the_most_frequent_class_warns_even_with_tol_0():
    rng = np.random.RandomState(0)
    X, y = rng.randn(200, 2), (rng.rand(200) < 0.1).astype(int)  # no signal, 90% zeros
    with pytest.warns(ConvergenceWarning, match="no better than always predicting the most"):
        NeuralNetClassifier(max_iter=300, tol=0, random_state=0).fit(X, y)


def test_a_setting_the_solver_does_not_read_is_named_in_a_warning(moons):
    with pytest.warns(UserWarning, match="ignores momentum=0.9 with solver='adam'"):
        quick(momentum=0.9).fit(*moons)
    with pytest.warns(UserWarning, match="ignores learning_rate_init=0.1, shuffle=False"):
        NeuralNetClassifier(solver="lbfgs", learning_rate_init=0.1, shuffle=False).fit(*moons)


def test_the_ignored_warning_names_the_setting_that_rules_each_one_out(moons):
    with pytest.warns(UserWarning) as caught:
        quick(momentum=0.9, power_t=0.3, solver="sgd", early_stopping=False).fit(*moons)
    messages = [str(w.message) for w in caught if "ignores" in str(w.message)]
    assert messages == ["NeuralNetClassifier ignores power_t=0.3 with learning_rate='constant'"]
    with pytest.warns(UserWarning) as caught:
        quick(momentum=0.9, validation_fraction=0.2).fit(*moons)
    messages = [str(w.message) for w in caught if "ignores" in str(w.message)]
    assert messages == [
        "NeuralNetClassifier ignores validation_fraction=0.2 with early_stopping=False; "
        "momentum=0.9 with solver='adam'"
    ]


# ---------------------------------------------------------------------- solvers and options
def test_lbfgs_minimises_the_write_ups_loss(moons):
    X, y = moons
    clf = NeuralNetClassifier(solver="lbfgs", random_state=0).fit(X, y)
    params = {"W1": clf.coefs_[0], "b1": clf.intercepts_[0][None], "W2": clf.coefs_[1]}
    params["b2"] = clf.intercepts_[1][None]
    assert clf.loss_ == pytest.approx(reference.loss(params, X, y, 0.01), rel=1e-12)
    assert clf.loss_ < 0.08 and clf.score(X, y) > 0.95 and 0 < clf.n_iter_ < clf.max_iter
    with pytest.warns(ConvergenceWarning, match="lbfgs stopped.*raise max_iter \\(now 5\\)"):
        clf.set_params(max_iter=5).fit(X, y)


def test_early_stopping_keeps_the_weights_of_the_best_validation_score(moons):
    X, y = moons
    clf = quick(early_stopping=True, validation_fraction=0.2, tol=1e-4, max_iter=300).fit(X, y)
    rng = np.random.RandomState(0)  # the estimator's draws: the weights, then the split
    nn.MLP([2, 3, 2], seed=rng)
    _, X_val, _, y_val = data.train_test_split(X, y, test_size=0.2, random_state=rng, stratify=y)
    assert len(clf.validation_scores_) == clf.n_iter_ < 300
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    assert clf.score(X_val, y_val) == clf.best_validation_score_
    assert clf.validation_scores_[-1] < clf.best_validation_score_ or clf.n_iter_ > 11
    assert clf.best_loss_ is None


def test_warm_start_continues_where_the_last_fit_ended(moons):
    X, y = moons
    clf = NeuralNetClassifier(max_iter=10, tol=0, warm_start=True, random_state=0)
    clf.fit(X, y).fit(X, y)
    straight = NeuralNetClassifier(max_iter=20, tol=0, random_state=0).fit(X, y)
    assert clf.loss_curve_ == straight.loss_curve_ and clf.n_iter_ == 10
    assert clf.t_ == straight.t_ == 20 * len(y)
    with pytest.raises(ValueError, match="warm_start needs the previous fit's layers"):
        clf.set_params(hidden_layer_sizes=(4,)).fit(X, y)
    with pytest.raises(ValueError, match="warm_start needs the classes"):
        clf.set_params(hidden_layer_sizes=(3,)).fit(X, y + 1)


@pytest.mark.parametrize("early_stopping", [False, True])
def test_warm_start_keeps_the_books_and_the_stopping_rule_as_mlpclassifier(moons, early_stopping):
    """Three warm fits, ours and MLPClassifier's: n_iter_ counts each fit's epochs,
    loss_curve_, t_ and validation_scores_ run on, and the stopping rule's state carries
    over, so a fit after a stop ends after one epoch without improvement, keeping the best
    weights so far with early_stopping."""
    X, y = moons
    common = dict(solver="adam", learning_rate_init=0.05, max_iter=3000, tol=1e-3)
    common |= dict(batch_size=50, warm_start=True, early_stopping=early_stopping, random_state=0)
    n_train = len(y) - round(0.1 * len(y)) if early_stopping else len(y)
    for clf in (NeuralNetClassifier(**common), MLPClassifier(**common)):
        epochs, weights = [], []
        for _ in range(3):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                clf.fit(X, y)
            epochs.append(clf.n_iter_)
            weights.append([w.copy() for w in clf.coefs_])
            assert len(clf.loss_curve_) == sum(epochs), type(clf)
            assert clf.t_ == sum(epochs) * n_train, type(clf)
            if early_stopping:
                assert len(clf.validation_scores_) == sum(epochs), type(clf)
                assert clf.best_validation_score_ == max(clf.validation_scores_)
            else:
                assert clf.best_loss_ == min(clf.loss_curve_)
        assert epochs[0] > 11 and epochs[1:] == [1, 1], (type(clf), epochs)
        if isinstance(clf, NeuralNetClassifier):
            if early_stopping:
                # the weights of the best score, the first fit's (MLPClassifier means to keep
                # them too, but its _best_coefs are its coefs_ after a fit: trained in place)
                for before, after in zip(weights[0], weights[2], strict=True):
                    np.testing.assert_array_equal(after, before)
            assert [str(w.message) for w in caught if "warm_start carried" in str(w.message)]


def test_verbose_prints_the_loss_of_every_epoch(moons, capsys):
    clf = NeuralNetClassifier(max_iter=3, tol=0, verbose=True, random_state=0).fit(*moons)
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        f"Iteration {i + 1}, loss = {loss:.8f}" for i, loss in enumerate(clf.loss_curve_)
    ]


@pytest.mark.parametrize(
    ("name", "module"),
    [("logistic", nn.Sigmoid), ("tanh", nn.Tanh), ("relu", nn.ReLU), ("identity", nn.Identity)],
)
def test_mlpclassifiers_activation_names_are_read_from_nn_activations(moons, name, module):
    clf = quick(activation=name, max_iter=5).fit(*moons)
    kinds = [type(m) for m in clf.model_ if not isinstance(m, nn.Linear)]
    assert kinds == [module]


def test_identity_is_a_linear_network(moons):
    X, y = moons
    clf = quick(activation="identity", hidden_layer_sizes=(3, 4), max_iter=5).fit(X, y)
    assert [w.shape for w in clf.coefs_] == [(2, 3), (3, 4), (4, 2)]
    linear = X
    for w, b in zip(clf.coefs_, clf.intercepts_, strict=True):
        linear = linear @ w + b
    np.testing.assert_allclose(clf.predict_proba(X), softmax(linear, axis=1), rtol=1e-12)


def test_coefs_and_intercepts_are_the_networks_own_arrays(moons):
    X, y = moons
    clf = quick(max_iter=5).fit(X, y)
    assert clf.coefs_[0] is clf.model_[0].weight.data and clf.intercepts_[1].shape == (2,)
    clf.coefs_[1][...] = 0.0
    clf.intercepts_[1][...] = [0.0, 1.0]
    assert np.all(clf.predict(X) == 1)
    assert not hasattr(NeuralNetClassifier(), "coefs_")


def test_intercepts_of_a_layer_without_bias_are_refused_naming_it(moons):
    clf = quick(max_iter=5).fit(*moons)
    clf.model_[2] = nn.Linear(3, 2, bias=False, seed=0)
    with pytest.raises(ValueError, match=r"layer 1 of model_ has no bias \(Linear\(bias=False\)\)"):
        _ = clf.intercepts_
    assert [w.shape for w in clf.coefs_] == [(2, 3), (3, 2)]


def test_invscaling_steps_with_mlpclassifiers_rate_after_t_samples(moons):
    X, y = moons
    clf = NeuralNetClassifier(learning_rate="invscaling", power_t=0.25, max_iter=4, tol=0)
    clf.set_params(random_state=0).fit(X, y)
    n = len(y)
    expected = [2.0] + [2.0 / (epoch * n + 1) ** 0.25 for epoch in range(1, 4)]
    np.testing.assert_allclose(np.array(clf.history_.lr), expected, rtol=1e-14)


def test_adaptive_divides_the_rate_by_5_where_the_rule_would_stop():
    X, y = make_moons(2000, noise=0.2, random_state=0)  # MLPClassifier's rule stops at epoch 34
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clf = NeuralNetClassifier(learning_rate="adaptive", random_state=0).fit(X, y)
    rates = np.array(clf.history_.lr)
    drops = rates[1:] / rates[:-1]
    assert rates[0] == 2.0 and set(np.round(drops[drops != 1], 12)) == {0.2}
    distinct = sorted(set(rates))  # it stops once a rate of 1e-6 or less stalls too
    assert rates[-1] == distinct[0] <= 1e-6 < distinct[1] and clf.n_iter_ > 34
    assert clf.score(X, y) > 0.95


def test_adaptive_with_tol_0_is_named_as_ignored_and_invscaling_is_not(moons):
    """tol=0 turns the stopping rule off, so "adaptive" never divides the rate: it trains
    as "constant" does, and says so, as n_iter_no_change does with tol=0."""
    X, y = moons
    common = dict(max_iter=40, tol=0, random_state=0)
    with pytest.warns(UserWarning) as record:
        adaptive = NeuralNetClassifier(learning_rate="adaptive", **common).fit(X, y)
    ignored = [str(w.message) for w in record if "ignores" in str(w.message)]
    assert ignored == ["NeuralNetClassifier ignores learning_rate='adaptive' with tol=0"]
    constant = NeuralNetClassifier(learning_rate="constant", **common).fit(X, y)
    assert adaptive.loss_curve_ == constant.loss_curve_ and set(adaptive.history_.lr) == {2.0}
    with pytest.warns(UserWarning) as record:
        NeuralNetClassifier(learning_rate="adaptive", n_iter_no_change=5, **common).fit(X, y)
    ignored = [str(w.message) for w in record if "ignores" in str(w.message)]
    assert ignored == [
        "NeuralNetClassifier ignores n_iter_no_change=5, learning_rate='adaptive' with tol=0"
    ]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        NeuralNetClassifier(learning_rate="invscaling", max_iter=5, tol=0).fit(X, y)
        NeuralNetClassifier(learning_rate="adaptive", solver="adam", max_iter=5).fit(X, y)
    messages = [str(w.message) for w in caught if "ignores" in str(w.message)]
    assert messages == ["NeuralNetClassifier ignores learning_rate='adaptive' with solver='adam'"]


def test_warnings_point_at_the_users_call_to_fit(moons):
    with pytest.warns(UserWarning) as record:
        NeuralNetClassifier(max_iter=5, solver="adam", momentum=0.5).fit(*moons)
    assert {w.filename for w in record} == {__file__}


def test_compiled_false_gives_the_same_fit_bit_for_bit():
    X, y = data.make_moons()
    fitted = [
        NeuralNetClassifier(max_iter=30, tol=0, random_state=0, batch_size=50, compiled=c).fit(X, y)
        for c in (None, False)
    ]
    assert fitted[0].loss_curve_ == fitted[1].loss_curve_
    for a, b in zip(fitted[0].coefs_, fitted[1].coefs_, strict=True):
        assert np.array_equal(a, b)
    with pytest.raises(ValueError, match="compiled must be None, True or False"):
        NeuralNetClassifier(compiled="yes").fit(X, y)
