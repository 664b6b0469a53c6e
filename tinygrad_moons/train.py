"""fit(): the training loop, its History, the divergence guard and the progress bar.

Each batch B of an epoch takes one optimiser step on its own objective,

    sum over B of cross-entropy  +  reg/2 * |W|^2 * |B| / N

(W: the weights of every Linear, biases not penalised), so that one epoch's penalties add
up to the write-up's reg/2 |W|^2. After each epoch History records the write-up's loss on
all the data, (summed cross-entropy + reg/2 |W|^2) / N, with the parameters the epoch
ended with. With the defaults, ``fit(MLP([2, 3, 2], seed=0), *data.make_moons())`` is the
write-up's training, pass for pass.

>>> from tinygrad_moons import data, nn
>>> X, y = data.make_moons()
>>> history = fit(nn.MLP([2, 3, 2], seed=0), X, y, epochs=3, progress=False)
>>> [round(loss, 6) for loss in history.loss]
[0.432387, 0.378749, 0.350494]
"""

from __future__ import annotations

import math
import numbers
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import tinygrad_moons.functional as F
from tinygrad_moons.batching import batches
from tinygrad_moons.graph import GraphChangedError, StaticGraph, capture
from tinygrad_moons.nn import Dropout, Linear, Module, Sequential, evaluating
from tinygrad_moons.optim import SGD, Optimizer, Schedule
from tinygrad_moons.seeding import Seed, as_random_state
from tinygrad_moons.tensor import Tensor
from tinygrad_moons.validate import as_user_array, finite, whole

__all__ = [
    "History",
    "NoProgressWarning",
    "TrainingDiverged",
    "evaluating",
    "fit",
    "predict",
    "predict_proba",
]


class TrainingDiverged(ValueError):
    """The loss became NaN or infinite; ``epoch`` and ``lr`` are those of the breaking step,
    ``what`` says what became non-finite.

    ``fit`` raises it after putting the parameters back as they were before that step.
    """

    def __init__(self, epoch: int, lr: float, what: str) -> None:
        self.epoch = epoch
        self.lr = lr
        self.what = what
        super().__init__(
            f"training diverged at epoch {epoch} with learning rate {lr:g}: {what}; the "
            f"parameters are back to what they were before the step that broke them (try a "
            f"smaller learning rate)"
        )


class NoProgressWarning(UserWarning):
    """``fit`` ended no better than it started, or no better than always predicting the
    most frequent class of y: the run finished, but learnt nothing worth keeping."""


@dataclass
class History:
    """Per-epoch records of ``fit``; index i is epoch i (the write-up's pass i).

    ``loss``: the write-up's loss on all the training data after the epoch;
    ``accuracy``: the fraction of training points classified right after the epoch;
    ``val_loss`` / ``val_accuracy``: mean cross-entropy and accuracy on the validation
    data (empty without it); ``lr``: the learning rate the epoch used (the largest, when
    the optimiser's parameter groups have several); ``seconds``: time since ``fit``
    started, at the end of the epoch.
    """

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.loss)


class _NonFinite(Exception):
    """Internal: a forward pass gave NaN or inf (``what`` says where)."""

    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what


# ---------------------------------------------------------------------- eval mode
# ---------------------------------------------------------------------- input checks
def _first_non_number(values: np.ndarray) -> tuple[int, ...] | None:
    """Where the first element that is not a real number (a bool counts as one) sits."""
    for index, value in np.ndenumerate(values):
        if isinstance(value, str) or not isinstance(value, (numbers.Real, np.bool_)):
            return index
    return None


def _features(X: Any, name: str) -> np.ndarray:
    """X as a float64 (N, features) array, N >= 1, every value finite; else a ValueError
    naming the first bad value and its place. Booleans are read as 0 and 1."""
    X = X.data if isinstance(X, Tensor) else X
    X = as_user_array(X, "biuf", f"{name} must be a 2-D array (N, features)")
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array (N, features), got {X.shape}")
    if X.dtype.kind not in "biuf":
        where = _first_non_number(X)
        if where is not None:
            value = X[where].item() if isinstance(X[where], np.generic) else X[where]
            raise ValueError(
                f"{name} must hold real numbers, got dtype {X.dtype}: "
                f"{name}[{where[0]}, {where[1]}] is {value!r}"
            )
    return finite(name, np.asarray(X, dtype=np.float64))


def _input_width(model: Module) -> int | None:
    """The features a model takes, when its first layer says so: a Linear, or a Sequential
    (an MLP) that starts with one. None for other models: their own layers check."""
    while isinstance(model, Sequential) and len(model):
        model = model[0]
    return model.in_features if isinstance(model, Linear) else None


def _check_width(model: Module, X: np.ndarray, name: str) -> None:
    width = _input_width(model)
    if width is not None and X.shape[1] != width:
        raise ValueError(
            f"{name} has {X.shape[1]} features (columns) per row, but the model takes "
            f"{width}: its first Linear has in_features={width}"
        )


def _output_width(model: Module, X: np.ndarray) -> int:
    """The number of classes the model scores, from one row in eval mode, no graph."""
    with evaluating(model):
        out = model(X[:1])
    if not isinstance(out, Tensor) or out.ndim != 2:
        raise ValueError(f"the model must return logits of shape (N, classes), got {out!r}")
    return out.shape[1]


def _data(X: Any, y: Any, model: Module, name: str) -> tuple[Tensor, np.ndarray]:
    """X as a float64 Tensor and y as int64 labels in [0, classes), checked at the edge."""
    X = _features(X, f"{name}X")
    _check_width(model, X, f"{name}X")
    n_classes = _output_width(model, X)
    labels = F.class_labels(y, len(X), n_classes, name=f"{name}y", rows=f"{name}X")
    return Tensor(X), labels


def _optimizer_for(model: Module, optimizer: Optimizer | None, lr: float) -> Optimizer:
    """``optimizer``, checked against ``model``, or ``SGD(model.parameters(), lr)``.

    An optimiser built on another model's parameters would step tensors the loss never
    reads (a ValueError); one missing some of the model's parameters leaves those fixed,
    and an ``lr`` beside an optimiser is unused (a UserWarning each).
    """
    if optimizer is None:
        return SGD(model.parameters(), lr)
    stepped = {id(p) for p in optimizer.params}
    # Frozen parameters (requires_grad False) are meant to stay: only the trained count.
    named = [(name, p) for name, p in model.named_parameters() if p.requires_grad]
    left = [name for name, p in named if id(p) not in stepped]
    if len(left) == len(named):
        raise ValueError(
            f"the optimizer updates none of the model's parameters ({', '.join(left)}): "
            f"build it on model.parameters() of the model being fitted"
        )
    if left:
        warnings.warn(
            f"the optimizer does not update {', '.join(left)}: they stay as they are",
            UserWarning,
            stacklevel=3,
        )
    if lr != fit.__kwdefaults__["lr"]:
        warnings.warn(
            f"fit's lr={lr!r} is unused: the optimizer given has its own lr {_rate(optimizer)!r}",
            UserWarning,
            stacklevel=3,
        )
    return optimizer


def _rate(optimizer: Optimizer) -> float:
    """The optimiser's learning rate, which History.lr records; with parameter groups at
    different rates, the largest."""
    return max(group["lr"] for group in optimizer.param_groups)


def _two_classes(labels: np.ndarray) -> None:
    """Training data of one class is refused: any model scores 100% on it, meaning nothing."""
    classes = np.unique(labels)
    if len(classes) < 2:
        raise ValueError(
            f"y holds only class {classes[0]}: a classifier needs at least two classes to "
            f"learn to tell apart, and on one its accuracy would be 100% whatever it learnt"
        )


# ---------------------------------------------------------------------- the objective
def penalised_weights(model: Module) -> list[Tensor]:
    """The weights of every Linear in ``model``: what ``reg`` penalises (biases are not)."""
    return [m.weight for m in model.modules() if isinstance(m, Linear) and m.weight.requires_grad]


def _objective(
    model: Module, X: Tensor, labels: np.ndarray, weights: list[Tensor], penalty: float
) -> tuple[Tensor, Tensor]:
    """(summed cross-entropy + penalty * |W|^2, logits); _NonFinite if either is not finite."""
    logits = model(X)
    _check_logits(logits)
    objective = F.softmax_cross_entropy(logits, labels, reduction="sum")
    if penalty and weights:
        objective = objective + penalty * F.l2(*weights)
    _check_loss(objective)
    return objective, logits


def _check_logits(logits: Tensor) -> None:
    # One sum first: it is finite whenever every logit is (unless it overflows: then look).
    total = np.add.reduce(logits.data, axis=None)
    if not math.isfinite(total) and not np.isfinite(logits.data).all():
        raise _NonFinite("the logits are not finite")


def _check_loss(objective: Tensor) -> None:
    if not math.isfinite(objective.item()):
        raise _NonFinite(f"the loss became {objective.item()}")


def _accuracy(logits: Tensor, labels: np.ndarray) -> float:
    z = logits.data
    # argmax over two columns is column 1 exactly where it is larger (ties go to 0): the
    # same for the finite logits this sees, without argmax's loop over rows.
    predicted = np.greater(z[:, 1], z[:, 0]) if z.shape[1] == 2 else z.argmax(axis=1)
    return np.count_nonzero(predicted == labels) / len(labels)


def _scores(objective: Tensor, logits: Tensor, labels: np.ndarray) -> tuple[float, float]:
    """History's loss (the write-up's: the summed objective over N) and accuracy."""
    return objective.item() / len(labels), _accuracy(logits, labels)


def _evaluate(model: Module, X: Tensor, labels: np.ndarray, weights: list[Tensor], penalty: float):
    """``_objective`` in eval mode without a graph."""
    with evaluating(model):
        return _objective(model, X, labels, weights, penalty)


# ---------------------------------------------------------------------- progress
def _progress_bar(progress: bool | None, epochs: int) -> Any:
    """A tqdm bar when ``progress`` is True, or None and stdout is a terminal; else None."""
    if progress is None:
        progress = sys.stdout.isatty()
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=epochs, unit="epoch", desc="fit")


class _Epochs:
    """The steps of one epoch, and the full-data objective after them.

    Keeps a copy of the parameters from before the latest step, so that a divergence
    can put them back.
    """

    def __init__(
        self, model: Module, X: Tensor, labels: np.ndarray, reg: float, optimizer: Optimizer
    ) -> None:
        self.model, self.X, self.labels, self.reg = model, X, labels, reg
        self.optimizer = optimizer
        self.weights = penalised_weights(model)
        self.params = model.parameters()
        self.copies = [p.data.copy() for p in self.params]
        self.last_step: tuple[int, float] | None = None

    def objective(self) -> tuple[Tensor, Tensor]:
        """The summed objective on all the data (N times the write-up's loss), with a graph."""
        return _objective(self.model, self.X, self.labels, self.weights, self.reg / 2)

    def evaluate(self) -> tuple[Tensor, Tensor]:
        """The same in eval mode, without a graph."""
        return _evaluate(self.model, self.X, self.labels, self.weights, self.reg / 2)

    def step(self, backward: Callable[[], None], epoch: int, lr: float) -> None:
        """Zero the gradients, run ``backward``, keep the parameters, take the step."""
        self.optimizer.zero_grad()
        backward()
        for p, copy in zip(self.params, self.copies, strict=True):
            copy[...] = p.data
        self.last_step = (epoch, lr)
        self.optimizer.step()

    def full_batch(self, objective: Tensor, epoch: int, lr: float) -> tuple[Tensor, Tensor]:
        """One step on ``objective``; the objective after it is the next epoch's forward."""
        self.step(objective.backward, epoch, lr)
        return self.objective()

    def compile(self) -> StaticGraph | None:
        """The full-batch step captured once (objective and logits), or None where it
        cannot be: a graph that changes between calls, or a leaf requiring grad that the
        optimiser does not zero (its gradient would pile up, as eagerly)."""
        try:
            graph = capture(self.objective)
        except GraphChangedError:
            return None
        zeroed = {id(p) for p in self.optimizer.params}
        leaves_zeroed = all(id(leaf) in zeroed for leaf in graph.grad_leaves)
        return graph if graph.grad_leaves and leaves_zeroed else None

    @staticmethod
    def forward(graph: StaticGraph) -> tuple[Tensor, Tensor]:
        objective, logits = graph.forward(), graph.outputs[1]
        _check_logits(logits)
        _check_loss(objective)
        return objective, logits

    def mini_batches(
        self, epoch: int, lr: float, batch_size: int, shuffle: bool, rng: np.random.RandomState
    ) -> tuple[Tensor, Tensor]:
        """One step per batch, its penalty scaled by its share of the data; then evaluate."""
        n = len(self.labels)
        for X_batch, y_batch in batches(
            self.X.data, self.labels, batch_size, shuffle=shuffle, seed=rng
        ):
            penalty = self.reg / 2 * len(y_batch) / n
            objective, _ = _objective(self.model, Tensor(X_batch), y_batch, self.weights, penalty)
            self.step(objective.backward, epoch, lr)
        return self.evaluate()

    def diverged(self, epoch: int, lr: float, what: str) -> TrainingDiverged:
        """The error to raise, after restoring the parameters from before the last step."""
        if self.last_step is None:
            return TrainingDiverged(epoch, lr, f"{what} before the first step")
        for p, copy in zip(self.params, self.copies, strict=True):
            p.data[...] = copy
        return TrainingDiverged(*self.last_step, what)


# ---------------------------------------------------------------------- speed
class _ReplayedEpochs:
    """Speed machinery: the compiled full-batch epoch (fit's main job) and History's loss
    and accuracy after it, with what can be prepared once prepared.

    ``_Epochs.full_batch`` as a replay, in the same order, so the same numbers bit for bit
    as the eager path (tests/models/test_train.py): zero the gradients, the captured backward, the
    guard's copies, the optimiser's step, the captured forward, the finiteness checks.
    After the first step the objective is also built once eagerly, at the new parameters,
    and held to the captured graph (``StaticGraph.check``): a constant the model derives
    from the numbers changes there, and raises GraphChangedError. Prepared once: the
    (parameter, copy) pairs and, for two classes, views of the logits' buffer (taken
    again if the graph hands out another array) and the labels as booleans.
    """

    def __init__(self, run: _Epochs, graph: StaticGraph) -> None:
        self.run, self.graph = run, graph
        self.objective, self.logits = graph.outputs[0], graph.outputs[1]
        self.pairs = list(zip(run.params, run.copies, strict=True))
        self.n = len(run.labels)
        self.two_classes = self.logits.ndim == 2 and self.logits.shape[1] == 2
        self.label_is_1 = run.labels == 1
        self.correct = np.empty(self.n, dtype=bool)
        self.z: np.ndarray | None = None

    def _views(self, z: np.ndarray) -> None:
        """Views of the logits' buffer: its columns, and the whole of it flat (with ones)."""
        self.z, self.z0, self.z1 = z, z[:, 0], z[:, 1]
        self.flat = z.reshape(-1) if z.flags.c_contiguous else None
        self.ones = np.ones(z.size)

    def epoch(self, epoch: int, lr: float) -> tuple[float, float]:
        """One compiled epoch: (the write-up's loss, the accuracy) after it."""
        run, graph = self.run, self.graph
        run.optimizer.zero_grad()
        graph.backward()
        for p, copy in self.pairs:
            copy[...] = p.data
        run.last_step = (epoch, lr)
        run.optimizer.step()
        if epoch == 0:
            graph.check(run.objective)
        graph.forward()
        z = self.logits.data
        if z is not self.z:
            self._views(z)
        # finite whenever every logit is: an inf or a NaN anywhere makes it inf or NaN
        # (inf * 1, NaN * 1, inf + -inf); when it overflows, look at every logit.
        total = np.dot(self.flat, self.ones) if self.flat is not None else math.inf
        if not math.isfinite(total) and not np.isfinite(z).all():
            raise _NonFinite("the logits are not finite")
        loss = self.objective.item()
        if not math.isfinite(loss):
            raise _NonFinite(f"the loss became {loss}")
        if not self.two_classes:
            return loss / self.n, _accuracy(self.logits, run.labels)
        # _accuracy's comparison into one buffer: predicted (column 1 larger) == label
        correct = np.equal(
            np.greater(self.z1, self.z0, out=self.correct), self.label_is_1, out=self.correct
        )
        return loss / self.n, np.count_nonzero(correct) / self.n


# ---------------------------------------------------------------------- no progress
def _loss_before_training(run: _Epochs) -> float:
    """The write-up's loss of the starting parameters (inf if they give no finite loss)."""
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            objective, _ = run.evaluate()
    except _NonFinite:
        return math.inf
    return objective.item() / len(run.labels)


def _no_progress(start_loss: float, end_loss: float, accuracy: float, labels: np.ndarray) -> str:
    """Why a finished run learnt nothing, or "" when it did: its loss did not fall, or its
    accuracy is no better than always answering the most frequent label."""
    if end_loss >= start_loss:
        return f"the loss ended at {end_loss:.6g}, no lower than its start {start_loss:.6g}"
    majority = np.bincount(labels).max() / len(labels)
    if accuracy <= majority:
        return (
            f"the training accuracy {accuracy:.3f} is no better than always predicting the "
            f"most frequent class ({majority:.3f})"
        )
    return ""


def _warn_if_no_progress(history: History, start_loss: float, labels: np.ndarray) -> None:
    """One NoProgressWarning line when the finished run learnt nothing (see _no_progress)."""
    if not len(history):
        return
    reason = _no_progress(start_loss, history.loss[-1], history.accuracy[-1], labels)
    if reason:
        rose = history.loss[-1] >= start_loss
        advice = "a smaller one" if rose else "a larger one, more epochs or standardised features"
        epochs = f"{len(history)} epoch{'s' * (len(history) != 1)}"
        warnings.warn(
            f"training made no progress in {epochs} at learning rate {history.lr[-1]:g}: "
            f"{reason}; try {advice}",
            NoProgressWarning,
            stacklevel=3,
        )


# ---------------------------------------------------------------------- fit
def fit(
    model: Module,
    X: Any,
    y: Any,
    *,
    epochs: int = 20000,
    lr: float = 0.01,
    reg: float = 0.01,
    optimizer: Optimizer | None = None,
    batch_size: int | None = None,
    shuffle: bool = True,
    schedule: Schedule | None = None,
    validation: tuple[Any, Any] | None = None,
    callbacks: Sequence[Callable[[int, History], bool | None]] | None = None,
    progress: bool | None = None,
    seed: Seed = None,
    compiled: bool = True,
) -> History:
    """Train ``model`` on (X, y) for ``epochs`` passes over the data; return the History.

    - ``optimizer``: defaults to ``SGD(model.parameters(), lr)`` (``lr`` is used for
      nothing else); ``schedule`` is stepped once per epoch, after the optimiser.
    - ``batch_size``: None (or N and more) is full-batch gradient descent; otherwise each
      epoch visits every row once in batches, reshuffled per epoch from ``seed`` when
      ``shuffle``. A single batch of all rows is never shuffled: its sum does not depend
      on the order.
    - ``validation``: (X_val, y_val), scored after every epoch.
    - ``callbacks``: each is called as ``callback(epoch, history)`` after the epoch is
      recorded; one returning True stops training. They may read the model but must not
      change its parameters: the full-batch path reuses the forward pass of the loss
      after epoch i as the forward pass of epoch i + 1 (one forward per epoch, not two).
    - ``progress``: a tqdm bar; None means on when stdout is a terminal.
    - ``compiled``: full-batch epochs without dropout replay the step captured once by
      ``graph.capture`` (generated numpy, the same numbers bit for bit) when its graph
      is static; mini-batches and dropout in training run eagerly, as does everything
      with ``compiled=False``. A model whose forward takes Python branches on values
      (which capture cannot see) needs ``compiled=False``.

    The loss after an epoch is computed in eval mode; with full batches and no Dropout,
    training and eval mode agree and the next epoch's forward pass gives it for free.
    A NaN or infinite loss or logits raise ``TrainingDiverged`` naming the epoch and the
    learning rate of the step that broke, with the parameters restored to before it.
    A run that ends with a loss no lower than its start, or a training accuracy no better
    than always predicting the most frequent class, gives one ``NoProgressWarning``.

    Refused before any step (ValueError): ``epochs`` < 1; ``y`` of one class (any model
    scores 100% on it); X whose width is not the model's (both named); features or labels
    that are not finite numbers or class indices (the first bad one named, with its place).
    """
    epochs = whole("epochs", epochs)
    if not (math.isfinite(reg) and reg >= 0):
        raise ValueError(f"reg must be a finite number >= 0, got {reg!r}")
    X_all, labels = _data(X, y, model, "")
    _two_classes(labels)
    if batch_size is not None:
        batch_size = whole("batch_size", batch_size)
    if validation is not None and len(validation) != 2:
        raise ValueError("validation must be a pair (X_val, y_val)")
    val = _data(*validation, model, "validation ") if validation is not None else None
    full_batch = batch_size is None or batch_size >= len(labels)
    has_dropout = any(isinstance(m, Dropout) and m.p > 0 for m in model.modules())
    optimizer = _optimizer_for(model, optimizer, lr)
    if reg and not penalised_weights(model):
        warnings.warn(
            f"reg={reg!r} penalises nothing: it applies to the weights of nn.Linear layers "
            f"and the model has none; pass reg=0, or build it from nn.Linear",
            UserWarning,
            stacklevel=2,
        )
    run = _Epochs(model, X_all, labels, reg, optimizer)
    rng = as_random_state(seed)
    history = History()
    start_loss = _loss_before_training(run)
    bar = _progress_bar(progress, epochs)
    was_training = model.training
    model.train()
    start = time.perf_counter()
    epoch = 0
    graph = None
    try:
        with np.errstate(over="ignore", invalid="ignore"):
            if full_batch and not has_dropout and epochs:
                graph = run.compile() if compiled else None
                objective, logits = run.forward(graph) if graph else run.objective()
            replayed = _ReplayedEpochs(run, graph) if graph is not None else None
            for epoch in range(epochs):
                epoch_lr = _rate(optimizer)
                if replayed is not None:
                    try:
                        loss, accuracy = replayed.epoch(epoch, epoch_lr)
                    except GraphChangedError:  # a shape that follows the values: go eager
                        replayed = None
                        objective, logits = run.objective()  # the next epoch steps on it
                        loss, accuracy = _scores(objective, logits, labels)
                else:
                    if full_batch and not has_dropout:
                        objective, logits = run.full_batch(objective, epoch, epoch_lr)
                    elif full_batch:
                        objective, logits = run.mini_batches(
                            epoch, epoch_lr, len(labels), False, rng
                        )
                    else:
                        objective, logits = run.mini_batches(
                            epoch, epoch_lr, batch_size, shuffle, rng
                        )
                    loss, accuracy = _scores(objective, logits, labels)
                history.loss.append(loss)
                history.accuracy.append(accuracy)
                if val is not None:
                    val_objective, val_logits = _evaluate(model, *val, [], 0.0)
                    history.val_loss.append(val_objective.item() / len(val[1]))
                    history.val_accuracy.append(_accuracy(val_logits, val[1]))
                history.lr.append(epoch_lr)
                history.seconds.append(time.perf_counter() - start)
                if schedule is not None:
                    schedule.step()
                if bar is not None:
                    bar.update(1)
                    if epoch % max(1, epochs // 100) == 0:
                        bar.set_postfix(loss=f"{history.loss[-1]:.6f}", refresh=False)
                if callbacks and any([callback(epoch, history) for callback in callbacks]):
                    break
    except _NonFinite as error:
        raise run.diverged(epoch, _rate(optimizer), error.what) from None
    finally:
        if bar is not None:
            bar.close()
        model.train(was_training)
    _warn_if_no_progress(history, start_loss, labels)
    return history


# ---------------------------------------------------------------------- inference
def predict_proba(model: Module, X: Any) -> np.ndarray:
    """softmax(model(X)) row by row, in eval mode and without a graph, as an (N, C) array.

    The model's mode is not changed (``evaluating``: other threads see no flip). A row
    whose outputs are not finite is a ValueError naming it, never a row of NaN.

    >>> from tinygrad_moons import nn
    >>> predict_proba(nn.MLP([2, 3, 2], seed=0), np.zeros((1, 2))).round(3)
    array([[0.5, 0.5]])
    """
    X = _features(X, "X")
    _check_width(model, X, "X")
    with evaluating(model), np.errstate(over="ignore", invalid="ignore"):
        logits = model(Tensor(X))
    finite_rows = np.all(np.isfinite(logits.data), axis=1)
    if not np.all(finite_rows):
        raise ValueError(
            f"the network's outputs for row {int(np.argmin(finite_rows))} of X are not finite "
            f"(its features are too large for the trained weights)"
        )
    return F.softmax(logits, axis=-1).data


def predict(model: Module, X: Any) -> np.ndarray:
    """The class (column) of the largest output, per row of X, in eval mode."""
    return predict_proba(model, X).argmax(axis=1)
