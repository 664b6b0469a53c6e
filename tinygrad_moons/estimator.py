"""A scikit-learn classifier over the same engine: ``nn.MLP``, ``optim`` and ``train.fit``.

``NeuralNetClassifier`` puts the write-up's network behind scikit-learn's interface, so it
works in pipelines, ``cross_val_score`` and ``GridSearchCV``. With ``random_state=0`` and its
other defaults, fitted on the write-up's data, it IS the write-up's training (its
``loss_curve_`` is ``reference.train``'s loss, pass for pass).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

import tinygrad_moons.functional as F
from tinygrad_moons import nn, optim
from tinygrad_moons.tensor import Tensor
from tinygrad_moons.train import evaluating, fit
from tinygrad_moons.validate import whole

__all__ = ["NeuralNetClassifier"]


class NeuralNetClassifier(ClassifierMixin, BaseEstimator):
    """A multilayer perceptron trained by full- or mini-batch gradient descent.

    The network is ``nn.MLP([n_features, *hidden, n_classes], activation)``: the input
    layer is sized from X, the output layer from the classes of y. Training is
    ``train.fit``: each epoch (pass) minimises the summed cross-entropy plus
    ``reg / 2`` times the squared weights (biases are not penalised), the write-up's
    objective.

    Parameters
    ----------
    hidden : int or sequence of int, default=(3,)
        Units per hidden layer; ``()`` gives multinomial logistic regression.
    activation : {"tanh", "sigmoid", "relu", "leaky_relu", "softplus"}, default="tanh"
        The hidden layers' activation.
    lr : float, default=0.01
        The learning rate (the write-up's epsilon). The objective is summed over the
        points, not averaged, so plain SGD's step grows with the number of points.
    reg : float, default=0.01
        The L2 penalty on the weights (the write-up's reg_lambda).
    optimizer : {"sgd", "adam"}, default="sgd"
        ``optim.SGD`` or ``optim.Adam`` (PyTorch's formulas) with learning rate ``lr``.
    max_passes : int, default=20000
        Epochs: passes over the training data. Training always runs them all.
    batch_size : int or None, default=None
        None is full-batch gradient descent; otherwise mini-batches, reshuffled per epoch.
    random_state : int, RandomState instance or None, default=None
        Draws the initial weights, then the mini-batch order. An int gives reproducible
        fits (0 draws the write-up's start); a RandomState is used as given (and advances);
        None draws fresh entropy at every fit.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels seen in ``fit``, sorted; class i is the network's output i.
    n_features_in_ : int
        The number of features seen in ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        The column names, when X was a DataFrame with string column names.
    model_ : nn.MLP
        The trained network; it maps X to logits.
    history_ : train.History
        Per-pass loss (the write-up's definition) and training accuracy, among others.
    loss_curve_ : list of float
        ``history_.loss``: the loss after each pass (the name ``MLPClassifier`` uses).
    n_iter_ : int
        The number of passes run.

    Raises
    ------
    train.TrainingDiverged
        From ``fit``, when the loss becomes NaN or infinite (a learning rate too large);
        the estimator is then left unfitted, so it never predicts from broken weights.

    Examples
    --------
    >>> from tinygrad_moons import data
    >>> X, y = data.make_moons()
    >>> clf = NeuralNetClassifier(max_passes=3, random_state=0).fit(X, y)
    >>> [round(loss, 6) for loss in clf.loss_curve_]  # the write-up's first three passes
    [0.432387, 0.378749, 0.350494]

    Any labels work; ``predict`` returns them, ``predict_proba`` orders its columns by
    ``classes_``:

    >>> names = np.where(y == 1, "upper", "lower")
    >>> clf = NeuralNetClassifier(optimizer="adam", lr=0.05, max_passes=100, random_state=0)
    >>> clf.fit(X, names).classes_.tolist()
    ['lower', 'upper']
    >>> clf.predict(X[:3]).tolist(), names[:3].tolist()
    (['lower', 'upper', 'upper'], ['lower', 'upper', 'upper'])
    >>> clf.predict_proba(X[:3]).round(2).tolist()
    [[0.87, 0.13], [0.04, 0.96], [0.38, 0.62]]
    >>> clf.score(X, names)  # accuracy after 100 Adam passes
    0.945
    """

    def __init__(
        self,
        hidden: int | Sequence[int] = (3,),
        activation: str = "tanh",
        lr: float = 0.01,
        reg: float = 0.01,
        optimizer: str = "sgd",
        max_passes: int = 20000,
        batch_size: int | None = None,
        random_state: int | np.random.RandomState | None = None,
    ) -> None:
        self.hidden = hidden
        self.activation = activation
        self.lr = lr
        self.reg = reg
        self.optimizer = optimizer
        self.max_passes = max_passes
        self.batch_size = batch_size
        self.random_state = random_state

    def fit(self, X: Any, y: Any) -> NeuralNetClassifier:
        """Train a fresh network on (X, y); returns self.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
            Labels of any kind (ints, strings, ...), at least two distinct ones.
        """
        self._unfit()
        hidden = self._hidden_sizes()
        if self.optimizer not in optim.OPTIMIZERS:
            raise ValueError(
                f"optimizer must be one of {sorted(optim.OPTIMIZERS)}, got {self.optimizer!r}"
            )
        if not (isinstance(self.lr, numbers.Real) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr must be a finite number > 0, got {self.lr!r}")
        passes = whole("max_passes", self.max_passes)
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        classes, labels = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise ValueError(
                f"{type(self).__name__} needs samples of at least 2 classes in y; "
                f"got 1 class: {classes.tolist()[0]!r}"
            )
        rng = check_random_state(self.random_state)
        model = nn.MLP([X.shape[1], *hidden, len(classes)], self.activation, seed=rng)
        optimizer = optim.OPTIMIZERS[self.optimizer](model.parameters(), lr=self.lr)
        try:
            history = fit(
                model,
                X,
                labels,
                epochs=passes,
                reg=self.reg,
                optimizer=optimizer,
                batch_size=self.batch_size,
                progress=False,
                seed=rng,
            )
        except BaseException:
            self._unfit()
            raise
        self.classes_ = classes
        self.model_ = model
        self.history_ = history
        self.loss_curve_ = history.loss
        self.n_iter_ = len(history)
        return self

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), columns ordered as ``classes_``."""
        return F.softmax(self._logits(X), axis=1).data

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each row of X, as one of ``classes_``."""
        best = self._logits(X).data.argmax(axis=1)
        return self.classes_[best]

    # ------------------------------------------------------------------ helpers
    def _hidden_sizes(self) -> list[int]:
        hidden = self.hidden
        if isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool):
            hidden = [hidden]
        if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence):
            raise ValueError(f"hidden must be an int or a sequence of ints, got {hidden!r}")
        return [whole(f"hidden[{i}]", size) for i, size in enumerate(hidden)]

    def _logits(self, X: Any) -> Tensor:
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        with evaluating(self.model_) as model, np.errstate(over="ignore", invalid="ignore"):
            logits = model(X)
        if not np.all(np.isfinite(logits.data)):
            row = int(np.argmin(np.all(np.isfinite(logits.data), axis=1)))
            raise ValueError(
                f"the network's outputs for row {row} of X are not finite "
                f"(its features are too large for the trained weights)"
            )
        return logits

    def _unfit(self) -> None:
        """Remove what a previous fit learnt, so a failed fit leaves no stale state."""
        for name in [name for name in vars(self) if name.endswith("_")]:
            delattr(self, name)
