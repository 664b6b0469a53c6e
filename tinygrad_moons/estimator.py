"""A scikit-learn classifier over the same engine: ``nn.MLP``, ``optim`` and ``train.fit``.

``NeuralNetClassifier`` is a drop-in for scikit-learn's ``MLPClassifier``: the same parameter
names and meanings, the same fitted attributes, its stopping rule (which, with full
batches, waits for the loss to settle: see ``tol``), so pipelines,
``cross_val_score`` and a user's ``GridSearchCV`` run unchanged. Its defaults are the
write-up's network (one hidden layer of 3 tanh units, full-batch gradient descent, L2
penalty 0.01). With ``random_state=0, tol=0`` on the write-up's data it is the write-up's
training: its ``loss_curve_`` follows ``reference.train``'s to 1e-9 for the first thousand
passes and ends in the same period-2 cycle (docs/reproduce.md says why no closer).

The objective is MLPClassifier's: the MEAN cross-entropy plus ``alpha / 2 * |W|^2 / N``. The
write-up minimises N times that (the summed cross-entropy plus ``reg / 2 * |W|^2``) with
step ``epsilon``; gradient descent on the sum with step ``epsilon`` is gradient descent on
the mean with step ``epsilon * N``, so ``alpha = reg`` and ``learning_rate_init = epsilon * N``
(0.01 * 200 = 2.0 on the write-up's 200 points), a step that does not grow with N.
"""

from __future__ import annotations

import inspect
import math
import numbers
import pickle
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

import tinygrad_moons.functional as F
from tinygrad_moons import nn, optim
from tinygrad_moons.tensor import Tensor
from tinygrad_moons.train import (
    History,
    NoProgressWarning,
    evaluating,
    fit,
    loss_moved,
    no_progress,
    penalised_weights,
)
from tinygrad_moons.validate import (
    clipped_batch_size,
    finite_outputs,
    is_int,
    number,
    random_state,
    two_classes,
    unmasked,
    whole,
)

__all__ = ["NeuralNetClassifier"]

SOLVERS = ("sgd", "adam", "lbfgs")
SCHEDULES = ("constant", "invscaling", "adaptive")


class _Interval(NamedTuple):
    """A finite real number in [low, high], or with open ends ( ... )."""

    low: float = 0.0
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False

    def check(self, name: str, value: Any) -> Any:
        number(name, value, self.low, self.high, low_open=self.low_open, high_open=self.high_open)
        return value


class _OneOf(NamedTuple):
    """One of a few names (or values: None, "auto"), or, with ``whole``, an int >= 1."""

    options: tuple[Any, ...]
    whole: bool = False

    def check(self, name: str, value: Any) -> Any:
        if (value is None and None in self.options) or (
            isinstance(value, str) and value in self.options
        ):
            return value
        if not self.whole:
            raise ValueError(f"{name} must be one of {list(self.options)}, got {value!r}")
        whole(name, value)
        return value


class _Whole(NamedTuple):
    """An int >= 1 (not a float, not a bool)."""

    def check(self, name: str, value: Any) -> Any:
        whole(name, value)
        return value


class _Flag(NamedTuple):
    """True or False (numpy's bools too; with ``counts``, an int such as verbose=2; with
    ``none``, None too)."""

    counts: bool = False
    none: bool = False

    def check(self, name: str, value: Any) -> Any:
        kinds = (bool, np.bool_, numbers.Integral) if self.counts else (bool, np.bool_)
        if not (self.none and value is None) and not isinstance(value, kinds):
            allowed = "None, True or False" if self.none else "True or False"
            raise ValueError(f"{name} must be {allowed}, got {value!r}")
        return value


class _Sizes(NamedTuple):
    """An int >= 1 or a sequence of them (hidden_layer_sizes), checked as a list."""

    def check(self, name: str, value: Any) -> list[int]:
        if is_int(value):
            value = [value]
        if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)):
            raise ValueError(f"{name} must be an int or a sequence of ints, got {value!r}")
        return [whole(f"{name}[{i}]", size) for i, size in enumerate(value)]


class _Activation(NamedTuple):
    """A name in ``nn.ACTIVATIONS``, read at fit time (so a name added by
    ``nn.register_activation`` works), or MLPClassifier's "logistic" for "sigmoid"."""

    def check(self, name: str, value: Any) -> str:
        names = sorted([*nn.ACTIVATIONS, "logistic"])
        if value not in names:
            raise ValueError(
                f"{name} must be one of {names} (names registered with "
                f"nn.register_activation), got {value!r}"
            )
        return "sigmoid" if value == "logistic" else value


_STOCHASTIC = ("sgd", "adam")


class _ReadWhen(NamedTuple):
    """When a parameter is read: by these solvers, and then only while ``setting`` passes
    ``test`` (None: always); with ``values``, the test rules out only those values of the
    parameter (others are read whatever the setting)."""

    solvers: tuple[str, ...]
    setting: str | None = None
    test: Callable[[Any], bool] = bool
    values: tuple[Any, ...] | None = None


# A parameter set away from its default that the configuration never reads is named in a
# UserWarning, with the setting that rules it out.
READ_WHEN: dict[str, _ReadWhen] = {
    "batch_size": _ReadWhen(_STOCHASTIC),
    "learning_rate_init": _ReadWhen(_STOCHASTIC),
    "shuffle": _ReadWhen(_STOCHASTIC),
    "early_stopping": _ReadWhen(_STOCHASTIC),
    "n_iter_no_change": _ReadWhen(_STOCHASTIC, "tol", lambda tol: tol > 0),
    "validation_fraction": _ReadWhen(_STOCHASTIC, "early_stopping"),
    # "adaptive" divides the rate where the stopping rule would stop, and tol=0 turns the
    # rule off, so with tol=0 it is "constant" ("invscaling" is read whatever tol is).
    "learning_rate": _ReadWhen(("sgd",), "tol", lambda tol: tol > 0, values=("adaptive",)),
    "power_t": _ReadWhen(("sgd",), "learning_rate", lambda rule: rule == "invscaling"),
    "momentum": _ReadWhen(("sgd",)),
    "nesterovs_momentum": _ReadWhen(("sgd",), "momentum", lambda momentum: momentum > 0),
    "beta_1": _ReadWhen(("adam",)),
    "beta_2": _ReadWhen(("adam",)),
    "epsilon": _ReadWhen(("adam",)),
    "max_fun": _ReadWhen(("lbfgs",)),
}


def _ignored(e: Any) -> str | None:
    """ "NeuralNetClassifier ignores ...": every parameter set away from its default that
    this configuration never reads (``READ_WHEN``), grouped by the setting that rules it
    out, so no setting is dropped silently; None when there is none."""
    defaults = inspect.signature(type(e).__init__).parameters
    ignored: dict[str, list[str]] = {}  # deciding setting -> the settings it rules out
    for name, when in READ_WHEN.items():
        concerned = when.values is None or getattr(e, name) in when.values
        if e.solver not in when.solvers:
            decider = "solver"
        elif concerned and when.setting is not None and not when.test(getattr(e, when.setting)):
            decider = when.setting
        else:
            continue
        if getattr(e, name) != defaults[name].default:
            ignored.setdefault(decider, []).append(f"{name}={getattr(e, name)!r}")
    if not ignored:
        return None
    groups = [f"{', '.join(names)} with {by}={getattr(e, by)!r}" for by, names in ignored.items()]
    return f"{type(e).__name__} ignores {'; '.join(groups)}"


# Each parameter's valid values, read by one loop in fit (scikit-learn's estimators declare
# theirs the same way, as ``_parameter_constraints``); each check returns the value fit uses.
PARAMETER_CONSTRAINTS: dict[str, Any] = {
    "hidden_layer_sizes": _Sizes(),
    "activation": _Activation(),
    "solver": _OneOf(SOLVERS),
    "alpha": _Interval(),
    "batch_size": _OneOf((None, "auto"), whole=True),
    "learning_rate": _OneOf(SCHEDULES),
    "learning_rate_init": _Interval(low_open=True),
    "power_t": _Interval(),
    "max_iter": _Whole(),
    "shuffle": _Flag(),
    "tol": _Interval(),
    "verbose": _Flag(counts=True),
    "warm_start": _Flag(),
    "momentum": _Interval(high=1.0),
    "nesterovs_momentum": _Flag(),
    "early_stopping": _Flag(),
    "validation_fraction": _Interval(high=1.0, low_open=True, high_open=True),
    "beta_1": _Interval(high=1.0, high_open=True),
    "beta_2": _Interval(high=1.0, high_open=True),
    "epsilon": _Interval(low_open=True),
    "n_iter_no_change": _Whole(),
    "max_fun": _Whole(),
    "compiled": _Flag(none=True),
}


class NeuralNetClassifier(ClassifierMixin, BaseEstimator):
    """A multilayer perceptron classifier with MLPClassifier's parameters and attributes.

    The network is ``nn.MLP([n_features, *hidden_layer_sizes, n_classes], activation)``:
    the input layer is sized from X, the output layer from the classes of y (softmax over
    one output per class, two for a binary problem). Training minimises the mean
    cross-entropy plus ``alpha / 2 * |W|^2 / N`` (W: the weights, biases not penalised).

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default=(3,)
        Units per hidden layer; ``()`` gives multinomial logistic regression.
    activation : str, default="tanh"
        The hidden layers' activation: "identity" (none), "logistic" (sigmoid), "tanh",
        "relu", or any name in ``nn.ACTIVATIONS``, read at fit time.
    solver : {"sgd", "adam", "lbfgs"}, default="sgd"
        ``optim.SGD`` or ``optim.Adam`` over epochs of mini-batches, or scipy's L-BFGS-B
        through ``optim.minimize`` on all the data.
    alpha : float, default=0.01
        The L2 penalty; the write-up's ``reg_lambda`` exactly.
    batch_size : int, "auto" or None, default=None
        None is full-batch gradient descent (the write-up's); "auto" is MLPClassifier's
        ``min(200, n_samples)``; an int above n_samples is clipped to it with a UserWarning,
        as MLPClassifier's. Each batch steps on its mean objective (``train.fit``'s
        ``reduction="mean"``), a last, smaller batch too, as MLPClassifier's; the penalty
        is ``alpha / 2 * |W|^2`` times the batch's share of the data, divided by its size
        (MLPClassifier divides the penalty by the batch size alone).
    learning_rate : {"constant", "invscaling", "adaptive"}, default="constant"
        "sgd"'s schedule, as MLPClassifier's: "invscaling" steps with
        ``learning_rate_init / (t + 1) ** power_t`` after t samples seen (set at each
        epoch's end); "adaptive" divides the rate by 5 where the stopping rule would stop,
        and stops only once the rate is below 1e-6. With ``tol=0``, which turns the rule
        off, "adaptive" never divides the rate and a UserWarning says it is ignored.
    learning_rate_init : float, default=2.0
        The step on the mean objective: the write-up's ``epsilon = 0.01`` times its 200
        points. Used by "sgd" and "adam".
    power_t : float, default=0.5
        The exponent of "invscaling".
    max_iter : int, default=20000
        Epochs (passes over the data) for "sgd" and "adam"; iterations for "lbfgs".
    shuffle : bool, default=True
        Reshuffle the mini-batches every epoch.
    random_state : int, RandomState instance or None, default=None
        Draws the initial weights, then the validation split, then the batch order. An int
        gives reproducible fits (0 draws the write-up's start); a RandomState is used as
        given (and advances); None draws fresh entropy at every fit.
    tol : float, default=1e-4
        "sgd" and "adam" stop when the training loss (or, with ``early_stopping``, the
        validation accuracy) has not improved by at least ``tol`` for more than
        ``n_iter_no_change`` epochs in a row, MLPClassifier's rule, with one difference for
        full batches: an epoch counts only once the loss has settled, within ``tol / 4`` of
        its value two epochs before. With full batches one epoch is one step, and at the
        write-up's rate the loss can swing for hundreds of steps (a descent at the edge of
        stability) before it falls from the straight-line solution (about 85% on the moons)
        to the curved one; MLPClassifier's rule stops inside that swing, this one waits for
        a plateau or a settled period-2 cycle. ``tol=0`` turns the rule off: every one of
        the ``max_iter`` epochs runs (MLPClassifier would still stop once the loss stopped
        falling). For "lbfgs" it is scipy's ``gtol``.
    verbose : bool, default=False
        Print the loss after every epoch (and the validation score with early stopping).
    warm_start : bool, default=False
        Start from the previous fit's weights (same features, classes and layers), with a
        fresh optimiser, as MLPClassifier: ``loss_curve_``, ``t_`` (and
        ``validation_scores_``) continue, ``n_iter_`` counts this fit's epochs, and the
        stopping rule goes on from its state: the best loss or validation score (whose
        weights an ``early_stopping`` fit returns to, even the previous fit's) and the
        epochs without improvement, so a warm fit after a stop ends after one epoch
        without improvement.
    momentum : float, default=0.0
        SGD's momentum (PyTorch's formula, the same updates as MLPClassifier's for a
        constant rate). 0 keeps the write-up's plain gradient descent; MLPClassifier's
        default is 0.9.
    nesterovs_momentum : bool, default=True
        Nesterov's momentum when ``momentum > 0``.
    early_stopping : bool, default=False
        Hold out a stratified ``validation_fraction`` of the data, stop on its accuracy,
        and keep the weights of its best epoch.
    validation_fraction : float, default=0.1
        The held-out share for ``early_stopping``.
    beta_1, beta_2, epsilon : float, default=0.9, 0.999, 1e-8
        Adam's moment decay rates and its stabiliser, on the mean objective's gradient.
    n_iter_no_change : int, default=10
        Epochs without ``tol`` improvement that the stopping rule tolerates.
    max_fun : int, default=15000
        The most loss evaluations "lbfgs" makes.
    compiled : bool or None, default=None
        Not MLPClassifier's: ``train.fit``'s ``compiled`` for "sgd" and "adam". None
        compiles the step when every layer is the library's (the built-in activations,
        or one registered as a function); an activation registered as a Module class of
        your own trains eagerly unless True. False always trains eagerly. The numbers are
        the same either way, bit for bit.

    Parameters that the chosen configuration does not read (``momentum`` for "adam",
    ``learning_rate_init`` for "lbfgs", ...) give a UserWarning naming them when set.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels seen in ``fit``, sorted; class i is the network's output i.
    coefs_ : list of ndarray
        ``coefs_[i]`` is layer i's weight matrix, shape (fan_in, fan_out): the network's
        own arrays, so changing them in place changes its predictions.
    intercepts_ : list of ndarray
        ``intercepts_[i]`` is layer i's bias vector, shape (fan_out,).
    n_features_in_ : int
        The number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        The column names, when X was a DataFrame with string column names.
    n_iter_ : int
        Epochs ("sgd", "adam") or iterations ("lbfgs") run by the latest fit.
    n_layers_ : int
        Layers, input and output included.
    loss_ : float
        The training loss at the end of the fit.
    loss_curve_ : list of float
        "sgd" and "adam": the training loss after each epoch (MLPClassifier records the
        average of the batch losses during each epoch; with full batches that is the loss
        before the epoch's step, ours the loss after it, the write-up's convention).
    best_loss_ : float or None
        The lowest ``loss_curve_`` entry; None with ``early_stopping``.
    validation_scores_ : list of float or None
        With ``early_stopping``, the validation accuracy after each epoch; else None.
    best_validation_score_ : float or None
        The best of ``validation_scores_``, whose weights the fit keeps; else None.
    t_ : int
        Training samples seen by "sgd" or "adam": epochs times training points.
    model_ : nn.MLP
        The trained network; it maps X to logits.
    history_ : train.History
        "sgd" and "adam": ``train.fit``'s per-epoch records of the latest fit.

    Warns
    -----
    sklearn.exceptions.ConvergenceWarning
        When a fit stops at ``max_iter`` before the stopping rule is met (``tol > 0``),
        when "lbfgs" stops without converging, when the loss ends no lower than it
        started, or when the training accuracy is no better than always predicting the
        most frequent class: the message says what to change.

    Raises
    ------
    train.TrainingDiverged
        From ``fit``, when the loss becomes NaN or infinite (a learning rate too large);
        the estimator is then left unfitted, so it never predicts from broken weights.

    Examples
    --------
    >>> from tinygrad_moons import data
    >>> X, y = data.make_moons()
    >>> clf = NeuralNetClassifier(max_iter=3, tol=0, random_state=0).fit(X, y)
    >>> [round(loss, 6) for loss in clf.loss_curve_]  # the write-up's first three passes
    [0.432387, 0.378749, 0.350494]

    With the defaults the stopping rule ends the fit once the loss has settled and falls by
    less than ``tol`` per epoch, for either order of the labels:

    >>> clf = NeuralNetClassifier(random_state=0).fit(X, y)
    >>> clf.n_iter_ < clf.max_iter, clf.score(X, y) > 0.97
    (True, True)
    >>> NeuralNetClassifier(random_state=0).fit(X, 1 - y).score(X, 1 - y) > 0.97
    True

    Any labels work; ``predict`` returns them, ``predict_proba`` orders its columns by
    ``classes_``:

    >>> names = np.where(y == 1, "upper", "lower")
    >>> clf = NeuralNetClassifier(solver="lbfgs", random_state=0).fit(X, names)
    >>> clf.classes_.tolist()
    ['lower', 'upper']
    >>> clf.predict(X[:3]).tolist(), names[:3].tolist()
    (['lower', 'upper', 'upper'], ['lower', 'upper', 'upper'])
    >>> [w.shape for w in clf.coefs_], [b.shape for b in clf.intercepts_]
    ([(2, 3), (3, 2)], [(3,), (2,)])
    """

    def __init__(
        self,
        hidden_layer_sizes: int | Sequence[int] = (3,),
        activation: str = "tanh",
        *,
        solver: str = "sgd",
        alpha: float = 0.01,
        batch_size: int | str | None = None,
        learning_rate: str = "constant",
        learning_rate_init: float = 2.0,
        power_t: float = 0.5,
        max_iter: int = 20000,
        shuffle: bool = True,
        random_state: int | np.random.RandomState | None = None,
        tol: float = 1e-4,
        verbose: bool = False,
        warm_start: bool = False,
        momentum: float = 0.0,
        nesterovs_momentum: bool = True,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-8,
        n_iter_no_change: int = 10,
        max_fun: int = 15000,
        compiled: bool | None = None,
    ) -> None:
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.compiled = compiled

    def __reduce_ex__(self, protocol: int) -> tuple:
        """Pickled as usual, carrying the registration of a user's activation with it, so
        that a process that has not registered the name (a joblib worker of
        ``GridSearchCV(n_jobs=2)``) registers it before the estimator loads. Where the name
        is registered already, that process's registration holds."""
        return _unpickled, (type(self), _registration(self.activation)), self.__getstate__()

    # ------------------------------------------------------------------ fit
    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # scipy.sparse X, as MLPClassifier's
        return tags

    def fit(self, X: Any, y: Any) -> NeuralNetClassifier:
        """Train on (X, y); returns self. A fresh network unless ``warm_start``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Labels of any kind (ints, strings, ...), at least two distinct ones.
        """
        sizes_hidden, activation = self._check_params()
        warm = bool(self.warm_start) and hasattr(self, "model_")
        previous = self._carried() if warm and hasattr(self, "t_") else _Carried()
        if not warm:
            self._unfit()
        # scikit-learn's checks read a masked array's hidden values, as np.asarray does
        X, y = unmasked("X", X), unmasked("y", y)
        X, y = validate_data(self, X, y, dtype=np.float64, reset=not warm, accept_sparse=_SPARSE)
        X = _dense(X)
        check_classification_targets(y)
        classes, labels = np.unique(y, return_inverse=True)
        two_classes(classes)
        sizes = [X.shape[1], *sizes_hidden, len(classes)]
        rng = random_state(self.random_state)
        if warm:
            self._check_warm(classes, sizes, activation)
            model = self.model_
        else:
            model = nn.MLP(sizes, activation, seed=rng)
        try:
            if self.solver == "lbfgs":
                result = self._fit_lbfgs(model, X, labels)
            else:
                result = self._fit_epochs(model, X, labels, rng, previous)
        except BaseException:
            self._unfit()
            raise
        self.classes_ = classes
        self.model_ = model
        self._activation = activation
        self.n_layers_ = len(sizes)
        for name, value in result.attributes.items():
            setattr(self, name, value)
        if result.rule is not None and result.rule.stopped and self.n_iter_ == 1:
            warnings.warn(_stopped_again(self), UserWarning, stacklevel=2)
            return self
        accuracy = float(np.mean(self._logits(result.X).data.argmax(axis=1) == result.labels))
        problem = _not_converged(self, result, accuracy)
        if problem is not None:
            warnings.warn(problem, ConvergenceWarning, stacklevel=2)
        return self

    def _fit_epochs(
        self,
        model: nn.Module,
        X: np.ndarray,
        labels: np.ndarray,
        rng: np.random.RandomState,
        previous: _Carried,
    ) -> _Fitted:
        """Train with "sgd" or "adam" through ``train.fit``, the stopping rule a callback."""
        validation = None
        if self.early_stopping:
            X, X_val, labels, labels_val = train_test_split(
                X, labels, test_size=self.validation_fraction, random_state=rng, stratify=labels
            )
            if len(labels_val) < 2:
                raise ValueError(
                    f"the validation set for early_stopping has {len(labels_val)} sample; "
                    f"raise validation_fraction (now {self.validation_fraction:g}) or give "
                    f"more data"
                )
            validation = (X_val, labels_val)
        start_loss = _mean_loss(model, X, labels, self.alpha)
        batch = self._batch(len(labels))
        optimizer = self._optimizer(model)
        rule = _StoppingRule(self, model, optimizer, batch, len(labels), previous)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NoProgressWarning)  # the checks below say more
            history = fit(
                model,
                X,
                labels,
                epochs=self.max_iter,
                reg=self.alpha,
                optimizer=optimizer,
                batch_size=None if batch >= len(labels) else batch,
                shuffle=bool(self.shuffle),
                validation=validation,
                callbacks=[rule],
                progress=False,
                seed=rng,
                compiled=self.compiled,
                reduction="mean",
            )
        if rule.best_state is not None:
            model.load_state_dict(rule.best_state)
        curve = [*previous.curve, *history.loss]
        attributes = {
            "history_": history,
            "n_iter_": len(history),
            "loss_curve_": curve,
            "loss_": _mean_loss(model, X, labels, self.alpha),
            "best_loss_": None if self.early_stopping else min(curve),
            "validation_scores_": (
                [*previous.validation_scores, *history.val_accuracy]
                if self.early_stopping
                else None
            ),
            "best_validation_score_": rule.best if self.early_stopping else None,
            "t_": previous.t + len(history) * len(labels),
            "_no_improvement_count_": rule.no_improvement,
            "_best_state_": rule.best_state,
        }
        return _Fitted(attributes, start_loss, X, labels, rule=rule)

    def _fit_lbfgs(self, model: nn.Module, X: np.ndarray, labels: np.ndarray) -> _Fitted:
        """scipy's L-BFGS-B on the mean objective, all the data at once."""
        start_loss = _mean_loss(model, X, labels, self.alpha)
        inputs = Tensor(X)
        result = optim.minimize(
            lambda: _mean_objective(model, inputs, labels, self.alpha),
            model.parameters(),
            "L-BFGS-B",
            options={"maxiter": self.max_iter, "maxfun": self.max_fun, "gtol": self.tol},
        )
        if self.verbose:
            print(f"lbfgs: {result.nit} iterations, loss = {result.fun:.8f}: {result.message}")
        attributes = {"n_iter_": int(result.nit), "loss_": float(result.fun)}
        return _Fitted(attributes, start_loss, X, labels, lbfgs=result)

    # ------------------------------------------------------------------ predict
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns ordered as ``classes_``."""
        return F.softmax(self._logits(X), axis=1).data

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row of X, as one of ``classes_``."""
        best = self._logits(X).data.argmax(axis=1)
        return self.classes_[best]

    @property
    def coefs_(self) -> list[np.ndarray]:
        """Layer i's weight matrix, (fan_in, fan_out), for every layer."""
        return [layer.weight.data for layer in _linears(self.model_)]

    @property
    def intercepts_(self) -> list[np.ndarray]:
        """Layer i's bias vector, (fan_out,), for every layer."""
        layers = _linears(self.model_)
        unbiased = [i for i, layer in enumerate(layers) if layer.bias is None]
        if unbiased:  # only a model_ changed by hand: the estimator's MLPs have biases
            raise ValueError(
                f"layer {unbiased[0]} of model_ has no bias (Linear(bias=False)): it has no "
                f"intercept to give"
            )
        return [layer.bias.data for layer in layers]

    # ------------------------------------------------------------------ checks
    def _check_params(self) -> tuple[list[int], str]:
        """Every parameter checked against ``PARAMETER_CONSTRAINTS`` (scikit-learn's rule: at
        fit, not in __init__), and a warning naming those this configuration ignores;
        returns the hidden sizes and the activation's name in ``nn.ACTIVATIONS``."""
        checked = {
            name: constraint.check(name, getattr(self, name))
            for name, constraint in PARAMETER_CONSTRAINTS.items()
        }
        ignored = _ignored(self)
        if ignored is not None:
            warnings.warn(ignored, UserWarning, stacklevel=3)
        return checked["hidden_layer_sizes"], checked["activation"]

    def _check_warm(self, classes: np.ndarray, sizes: list[int], activation: str) -> None:
        if not np.array_equal(classes, self.classes_):
            raise ValueError(
                f"warm_start needs the classes of the previous fit, {self.classes_.tolist()}; "
                f"y has {classes.tolist()}"
            )
        fitted = [self.coefs_[0].shape[0], *(w.shape[1] for w in self.coefs_)]
        if fitted != sizes or activation != self._activation:
            raise ValueError(
                f"warm_start needs the previous fit's layers, sizes {fitted} with "
                f"{self._activation!r}; got {sizes} with {activation!r} (set warm_start=False "
                f"to start afresh)"
            )

    # ------------------------------------------------------------------ helpers
    def _batch(self, n: int) -> int:
        """The mini-batch size: n for full batches; "auto" is min(200, n), as MLPClassifier."""
        if self.batch_size is None:
            return n
        if self.batch_size == "auto":
            return min(200, n)
        return clipped_batch_size(self.batch_size, n, stacklevel=4)

    def _optimizer(self, model: nn.Module) -> optim.Optimizer:
        """SGD or Adam with the estimator's rate, for ``fit(reduction="mean")``'s steps on
        each batch's mean objective."""
        params = model.parameters()
        if self.solver == "adam":
            betas = (self.beta_1, self.beta_2)
            return optim.Adam(params, lr=self.learning_rate_init, betas=betas, eps=self.epsilon)
        nesterov = bool(self.nesterovs_momentum) and self.momentum > 0
        return optim.SGD(params, self.learning_rate_init, momentum=self.momentum, nesterov=nesterov)

    def _logits(self, X: Any) -> Tensor:
        check_is_fitted(self)
        X = unmasked("X", X)  # scikit-learn's checks would read its hidden values
        X = _dense(validate_data(self, X, dtype=np.float64, reset=False, accept_sparse=_SPARSE))
        with evaluating(self.model_) as model, np.errstate(over="ignore", invalid="ignore"):
            logits = model(X)
        finite_outputs(logits.data)
        return logits

    def _carried(self) -> _Carried:
        """What a warm fit continues from this fitted "sgd" or "adam" estimator."""
        return _Carried(
            self.loss_curve_,
            self.t_,
            self.best_validation_score_ if self.early_stopping else self.best_loss_,
            self._no_improvement_count_,
            self._best_state_ if self.early_stopping else None,
            self.validation_scores_ or [],
        )

    def _unfit(self) -> None:
        """Remove what a previous fit learnt, so a failed fit leaves no stale state."""
        for name in [name for name in vars(self) if name.endswith("_")]:
            delattr(self, name)
        vars(self).pop("_activation", None)


def _registration(name: Any) -> tuple[str, bytes] | None:
    """(name, the registered function or class, cloudpickled) for an activation a user
    registered; None for a built-in or unknown name. cloudpickle carries a function of
    ``__main__`` or a lambda by value, and a module's by reference."""
    module = nn.ACTIVATIONS.get(name) if isinstance(name, str) else None
    if module is None:
        return None
    # A function registered by nn.register_activation is wrapped into a class of nn's.
    source = module.function if module.__qualname__ == f"_by_name.{name}" else module
    if source.__module__ == nn.__name__:
        return None
    import cloudpickle

    try:
        return name, cloudpickle.dumps(source)
    except Exception as error:  # noqa: BLE001 (whatever stops it, the pickle still works by name)
        warnings.warn(
            f"the activation {name!r} cannot be pickled with the estimator ({error}); a "
            f"process that loads it must register {name!r} itself",
            UserWarning,
            stacklevel=3,
        )
        return None


def _unpickled(cls: type, registration: tuple[str, bytes] | None) -> Any:
    """An empty ``cls`` for pickle to fill, after registering the activation it carries
    where the name is not registered yet."""
    if registration is not None and registration[0] not in nn.ACTIVATIONS:
        name, payload = registration
        try:
            source = pickle.loads(payload)
        except Exception as error:  # noqa: BLE001 (the activation's own module may be missing)
            warnings.warn(
                f"the activation {name!r} carried by the pickle cannot be restored here "
                f"({type(error).__name__}: {error}): register it with "
                f"nn.register_activation({name!r}, ...) before loading",
                UserWarning,
                stacklevel=2,
            )
        else:
            if name not in nn.ACTIVATIONS:  # importing its module may have registered it
                nn.register_activation(name, source)
    return cls.__new__(cls)


# The sparse formats accepted for X, as MLPClassifier's; the network works on dense rows.
_SPARSE = ("csr", "csc", "coo")


def _dense(X: Any) -> np.ndarray:
    """X as a dense array: a scipy.sparse matrix is expanded (its zeros are features)."""
    return X.toarray(order="C") if sp.issparse(X) else X


def _scaling_advice(X: np.ndarray) -> str:
    """Advice to standardise X when its features are far from mean 0 and spread 1 (which
    saturates tanh and sigmoid units from the first step), else ""."""
    means, spreads = np.abs(X.mean(axis=0)), X.std(axis=0)
    if means.max() <= 1.0 and spreads.min() >= 0.2 and spreads.max() <= 5.0:
        return ""
    return (
        f"standardise X, e.g. StandardScaler in a Pipeline (its feature means reach "
        f"{means.max():.3g}, its standard deviations span {spreads.min():.3g} to "
        f"{spreads.max():.3g})"
    )


class _Carried(NamedTuple):
    """What a ``warm_start`` fit continues from the previous one, as MLPClassifier: the loss
    curve and samples seen, and the stopping rule's state (its best loss or validation
    score, None for none yet, its epochs without improvement, the weights of its best
    validation score) and the validation scores."""

    curve: Sequence[float] = ()
    t: int = 0
    best: float | None = None
    no_improvement: int = 0
    best_state: dict[str, np.ndarray] | None = None
    validation_scores: Sequence[float] = ()


class _Fitted(NamedTuple):
    """What a solver hands back to ``fit``: the fitted attributes to set, and what the
    convergence diagnosis reads (the loss before training, the training data, and the
    stopping rule of "sgd" and "adam" or scipy's result for "lbfgs")."""

    attributes: dict[str, Any]
    start_loss: float
    X: np.ndarray
    labels: np.ndarray
    rule: _StoppingRule | None = None
    lbfgs: Any = None  # scipy.optimize.OptimizeResult


def _not_converged(e: NeuralNetClassifier, fitted: _Fitted, accuracy: float) -> str | None:
    """The ConvergenceWarning's message for a fit of ``e`` that went wrong, or None: each
    problem and what to change. The problems: a stop at max_iter before the stopping rule
    was met (with a loss still swinging, the step is too long), a rule that ended an
    oscillation rather than a descent, "lbfgs" stopping unconverged, a loss no lower than
    at the start, a training ``accuracy`` no better than the most frequent class's share;
    with any of them, badly scaled features."""
    rate = e.learning_rate_init
    lower_rate = f"a lower learning_rate_init, such as {rate / 4:g} instead of {rate:g}"
    more_training = (
        "a larger max_iter, more hidden units or a smaller alpha"
        if e.solver == "lbfgs"
        else "a larger learning_rate_init or max_iter, or solver='lbfgs'"
    )
    notes: list[tuple[str, str]] = []  # (problem, advice)
    if fitted.rule is not None:
        steps = np.diff(e.history_.loss[-(e.n_iter_no_change + 2) :])
        rises = int(np.count_nonzero(steps > 0))
        swung = f"rose in {rises} of the last {len(steps)} epochs"
        if e.tol > 0 and not fitted.rule.stopped:
            if fitted.rule.full_batch and not e.early_stopping and rises:
                problem = (
                    f"it stopped at max_iter={e.max_iter} epochs while the training loss still "
                    f"swung (it {swung}): the step is too long for the loss to settle"
                )
                notes.append((problem, lower_rate))
            else:
                watched = "validation accuracy" if e.early_stopping else "training loss"
                problem = (
                    f"it stopped at max_iter={e.max_iter} epochs while the {watched} was still "
                    f"improving by more than tol={e.tol:g} within "
                    f"n_iter_no_change={e.n_iter_no_change} epochs"
                )
                notes.append((problem, f"raise max_iter (now {e.max_iter})"))
        if fitted.rule.stopped and not e.early_stopping and rises:
            problem = (
                f"the training loss {swung}, so the stopping rule ended an oscillation, "
                f"not a descent"
            )
            notes.append((problem, lower_rate))
    elif not fitted.lbfgs.success:
        if fitted.lbfgs.status == 1:
            advice = f"raise max_iter (now {e.max_iter}) or max_fun (now {e.max_fun})"
        else:  # the line search failed: rounding, near a minimum, most often
            advice = f"a larger tol (now {e.tol:g})"
        problem = f"lbfgs stopped ({fitted.lbfgs.message}) before its gradient fell below tol"
        notes.append((problem, advice))
    learnt_nothing = no_progress(fitted.start_loss, e.loss_, accuracy, fitted.labels)
    if learnt_nothing:
        rose = loss_moved(fitted.start_loss, e.loss_) > 0 and e.solver != "lbfgs"
        notes.append((learnt_nothing, lower_rate if rose else more_training))
    if not notes:
        return None
    advice = [_scaling_advice(fitted.X), *(advice for _, advice in notes)]
    advice = list(dict.fromkeys(a for a in advice if a))  # in order, each once
    if lower_rate in advice and more_training in advice:
        advice.remove(more_training)  # the loss rose: more of it will not help
    problems = "; ".join(problem for problem, _ in notes)
    return f"{type(e).__name__} did not converge: {problems}. Try: {'; '.join(advice)}."


def _stopped_again(e: NeuralNetClassifier) -> str:
    """The warning of a fit stopped after its first epoch: only a warm fit can be, whose
    stopping rule, carried over, had counted n_iter_no_change epochs without improvement."""
    watched = "validation accuracy" if e.early_stopping else "training loss"
    return (
        f"warm_start carried over the previous fit's stopping rule, which had counted "
        f"n_iter_no_change={e.n_iter_no_change} epochs in which the {watched} did not "
        f"improve by more than tol={e.tol:g}: this fit stopped after one more, as "
        f"MLPClassifier's; to train on, lower tol or raise n_iter_no_change, or set "
        f"warm_start=False to start afresh"
    )


class _StoppingRule:
    """MLPClassifier's stopping rule and learning-rate schedules as a ``train.fit``
    callback, plus ``verbose``.

    An epoch counts as no improvement when the training loss is above the best so far
    minus tol (with early stopping: the validation accuracy below the best plus tol) and,
    with full batches, the loss has settled (it is within tol / 4 of its value two epochs
    before); more than ``n_iter_no_change`` of them in a row stop the fit, unless tol is 0 (or,
    with "adaptive", the rate is still above 1e-6: it is divided by 5 instead). With
    early stopping it keeps a copy of the weights of the best validation accuracy.
    """

    def __init__(
        self,
        estimator: NeuralNetClassifier,
        model: nn.Module,
        optimizer: optim.Optimizer,
        batch: int,
        n_train: int,
        previous: _Carried,
    ) -> None:
        self.tol = estimator.tol
        self.patience = estimator.n_iter_no_change
        self.early_stopping = bool(estimator.early_stopping)
        self.verbose = bool(estimator.verbose)
        self.schedule = estimator.learning_rate if estimator.solver == "sgd" else "constant"
        self.rate0, self.power_t = estimator.learning_rate_init, estimator.power_t
        self.rate = self.rate0
        self.model, self.optimizer, self.batch = model, optimizer, batch
        self.n_train, self.samples_seen = n_train, previous.t
        self.full_batch = batch >= n_train
        self.best = previous.best
        if self.best is None:
            self.best = -math.inf if self.early_stopping else math.inf
        self.best_state = previous.best_state
        self.no_improvement = previous.no_improvement
        self.earlier = list(previous.curve[-2:])  # for the full-batch check of a warm fit
        self.stopped = False

    def __call__(self, epoch: int, history: History) -> bool:
        if self.verbose:
            print(f"Iteration {epoch + 1}, loss = {history.loss[-1]:.8f}")
        if self.early_stopping:
            score = history.val_accuracy[-1]
            if self.verbose:
                print(f"Validation score: {score:f}")
            improved = score >= self.best + self.tol
            if score > self.best:
                self.best = score
                self.best_state = self.model.state_dict()
        else:
            loss = history.loss if len(history.loss) >= 3 else [*self.earlier, *history.loss]
            improved = loss[-1] <= self.best - self.tol
            self.best = min(self.best, loss[-1])
            if self.full_batch and not improved:
                # An epoch counts only once the loss has settled: within tol / 4 of its
                # value two epochs before (a plateau, or both values of a period-2 cycle).
                # A loss still swinging is a descent at the edge of stability, not a plateau.
                improved = len(loss) < 3 or abs(loss[-1] - loss[-3]) > self.tol / 4
        self.no_improvement = 0 if improved else self.no_improvement + 1
        self.samples_seen += self.n_train
        if self.schedule == "invscaling":
            self._set_rate(self.rate0 / (self.samples_seen + 1) ** self.power_t)
        if self.tol > 0 and self.no_improvement > self.patience:
            watched = "Validation score" if self.early_stopping else "Training loss"
            message = (
                f"{watched} did not improve more than tol={self.tol:f} for "
                f"{self.patience} consecutive epochs."
            )
            if self.schedule == "adaptive" and self.rate > 1e-6:
                self._set_rate(self.rate / 5)
                self.no_improvement = 0
                self._say(f"{message} Setting learning rate to {self.rate:f}")
            else:
                self.stopped = True
                self._say(f"{message} Stopping.")
        return self.stopped

    def _set_rate(self, rate: float) -> None:
        self.rate = rate
        self.optimizer.lr = rate

    def _say(self, message: str) -> None:
        if self.verbose:
            print(message)


# ---------------------------------------------------------------------- the network
def _linears(model: nn.Module) -> list[nn.Linear]:
    return [m for m in model.modules() if isinstance(m, nn.Linear)]


def _mean_objective(model: nn.Module, X: Tensor, labels: np.ndarray, alpha: float) -> Tensor:
    """The mean cross-entropy plus alpha / 2 * |W|^2 / N: MLPClassifier's loss, and the
    write-up's loss for alpha = reg."""
    loss = F.softmax_cross_entropy(model(X), labels, reduction="mean")
    weights = penalised_weights(model)
    if alpha and weights:
        loss = loss + alpha / (2 * len(labels)) * F.l2(*weights)
    return loss


def _mean_loss(model: nn.Module, X: np.ndarray, labels: np.ndarray, alpha: float) -> float:
    """``_mean_objective`` in eval mode without a graph, as a float (inf if not finite)."""
    with evaluating(model), np.errstate(over="ignore", invalid="ignore"):
        loss = _mean_objective(model, Tensor(X), labels, alpha).item()
    return loss if math.isfinite(loss) else math.inf
