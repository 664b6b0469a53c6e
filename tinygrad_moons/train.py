"""fit(): the training loop, its History, the divergence guard and the progress bar.

Each batch B of an epoch takes one optimiser step on its own objective,

    sum over B of cross-entropy  +  reg/2 * |W|^2 * |B| / N

(W: the weights of every Linear, biases not penalised), so that one epoch's penalties add
up to the write-up's reg/2 |W|^2. After each epoch History records the write-up's loss on
all the data, (summed cross-entropy + reg/2 |W|^2) / N, with the parameters the epoch
ended with. With the defaults, ``fit(MLP([2, 3, 2], seed=0), *data.make_moons())`` is the
write-up's training: the same steps, its losses to rounding until a chaotic stretch near
pass 1,200 magnifies the rounding (``tinygrad-moons reproduce`` shows where they part).

>>> from tinygrad_moons import data, nn
>>> X, y = data.make_moons()
>>> history = fit(nn.MLP([2, 3, 2], seed=0), X, y, epochs=3, progress=False)
>>> [round(loss, 6) for loss in history.loss]
[0.432387, 0.378749, 0.350494]
"""

from __future__ import annotations

import math
import operator
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import tinygrad_moons.functional as F
from tinygrad_moons import ops
from tinygrad_moons.flat_step import FlatStep
from tinygrad_moons.graph import GraphChangedError, StaticGraph, capture
from tinygrad_moons.nn import Dropout, Linear, Module, Sequential, _BatchNorm, evaluating
from tinygrad_moons.optim import SGD, Optimizer, Schedule
from tinygrad_moons.tensor import Tensor, derived
from tinygrad_moons.validate import (
    Seed,
    clipped_batch_size,
    features,
    finite_outputs,
    flag,
    number,
    two_classes,
    whole,
    width,
)
from tinygrad_moons.validate import random_state as as_random_state

__all__ = [
    "History",
    "NoProgressWarning",
    "TrainingDiverged",
    "batches",
    "evaluating",
    "fit",
    "library_model",
    "loss_moved",
    "no_progress",
    "predict",
    "predict_proba",
]


_DEFAULT_LR = 0.01  # fit's lr: SGD's rate when no optimiser is given


class TrainingDiverged(ValueError):
    """The loss became NaN or infinite; ``epoch`` and ``lr`` are those of the breaking step,
    ``what`` says what became non-finite.

    ``fit`` raises it after putting the parameters, and the optimiser's state and step
    count, back as they were before that step; the schedule has not stepped for the
    breaking epoch, so the rate is ``lr``.
    """

    def __init__(self, epoch: int, lr: float, what: str) -> None:
        self.epoch = epoch
        self.lr = lr
        self.what = what
        super().__init__(
            f"training diverged at epoch {epoch} with learning rate {lr:g}: {what}; the "
            f"parameters and the optimizer's state are back to what they were before the step "
            f"that broke them (try a smaller learning rate)"
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


# ---------------------------------------------------------------------- input checks
def _input_width(model: Module) -> int | None:
    """The features a model takes, when its first layer says so: a Linear, or a Sequential
    (an MLP) that starts with one. None for other models: their own layers check."""
    while isinstance(model, Sequential) and len(model):
        model = model[0]
    return model.in_features if isinstance(model, Linear) else None


def _features(X: Any, model: Module, name: str) -> np.ndarray:
    """X checked at the edge (``validate.features``) and against the model's input width,
    so that a wrong width names ``name`` (X, or the validation X), not a layer."""
    X = features(X.data if isinstance(X, Tensor) else X, name)
    expected = _input_width(model)
    if expected is not None:
        width(name, X.shape, expected, f"the model (its first Linear has in_features={expected})")
    return X


def _output_width(model: Module, X: np.ndarray) -> int:
    """The number of classes the model scores, from one row in eval mode, no graph."""
    with evaluating(model):
        out = model(X[:1])
    if not isinstance(out, Tensor) or out.ndim != 2:
        raise ValueError(f"the model must return logits of shape (N, classes), got {out!r}")
    return out.shape[1]


def _data(X: Any, y: Any, model: Module, name: str) -> tuple[Tensor, np.ndarray]:
    """X as a float64 Tensor and y as int64 labels in [0, classes), checked at the edge."""
    X = _features(X, model, f"{name}X")
    n_classes = _output_width(model, X)
    labels = F.class_labels(y, len(X), n_classes, name=f"{name}y", rows=f"{name}X")
    # fit's own copy, which nothing writes: read-only, a capture may keep what it derives
    # from it (the cross-entropy's positions and one-hot rows) instead of reading it again
    labels.flags.writeable = False
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
    if lr != _DEFAULT_LR:
        warnings.warn(
            f"fit's lr={lr!r} is unused: the optimizer given has its own lr {_rate(optimizer)!r}",
            UserWarning,
            stacklevel=3,
        )
    return optimizer


def _schedule_for(schedule: Schedule | None, optimizer: Optimizer, given: bool) -> None:
    """A ValueError when ``schedule`` sets the rates of another optimiser than the one fit
    steps (``given``: whether the caller passed it): the epochs would run at the starting
    rate throughout, while the schedule decays a rate nothing reads."""
    if schedule is None or schedule.optimizer is optimizer:
        return
    ours = (
        "the optimizer given"
        if given
        else f"its own SGD(model.parameters(), lr={_rate(optimizer)!r})"
    )
    raise ValueError(
        f"the schedule was made on another optimizer than the one fit steps ({ours}): its "
        f"rates would never be used; pass optimizer=schedule.optimizer, or make the schedule "
        f"on the optimizer passed"
    )


def _rate(optimizer: Optimizer) -> float:
    """The optimiser's learning rate, which History.lr records; with parameter groups at
    different rates, the largest."""
    groups = optimizer.param_groups
    return groups[0]["lr"] if len(groups) == 1 else max(group["lr"] for group in groups)


# ---------------------------------------------------------------------- batches
def batches(
    X: np.ndarray,
    y: np.ndarray,
    batch_size: int,
    *,
    shuffle: bool = True,
    seed: Seed = None,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """One epoch of ``(X_batch, y_batch)``: every row once, the last batch smaller if need be.

    With ``shuffle`` the order is a permutation drawn from ``seed`` (an int, a RandomState,
    which then advances, or None for fresh entropy); without, rows come in order.
    ``data.batches`` is this function.

    >>> X, y = np.arange(10.0).reshape(5, 2), np.arange(5)
    >>> [yb.tolist() for _, yb in batches(X, y, 2, shuffle=False)]
    [[0, 1], [2, 3], [4]]
    """
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same length, got {len(X)} and {len(y)}")
    batch_size = whole("batch_size", batch_size)
    n = len(X)
    order = as_random_state(seed).permutation(n) if flag("batches' shuffle", shuffle) else None
    for start in range(0, n, batch_size):
        rows = (
            slice(start, start + batch_size) if order is None else order[start : start + batch_size]
        )
        yield X[rows], y[rows]


# ---------------------------------------------------------------------- the objective
def penalised_weights(model: Module) -> list[Tensor]:
    """The weights of every Linear in ``model``: what ``reg`` penalises (biases are not).

    Each weight once, as ``parameters()`` lists it: a weight tied between two Linears is
    one parameter, penalised once, as a Linear used twice is (and as torch's weight_decay
    counts it), not twice the penalty and twice its gradient."""
    weights: dict[int, Tensor] = {}
    for m in model.modules():
        if isinstance(m, Linear) and m.weight.requires_grad:
            weights.setdefault(id(m.weight), m.weight)
    return list(weights.values())


class _BatchLabels:
    """A mini-batch's labels: the class indices its pass gathers into ``indices`` before
    each forward. Called through ``derived``, so a capture records the call and a replay
    reads the current batch's labels, never the ones it was captured with."""

    __name__ = "batch_labels"

    def __init__(self, indices: np.ndarray) -> None:
        self.indices = indices

    def __call__(self) -> np.ndarray:
        return self.indices


class _LogitsCheck:
    """_NonFinite when a logit is NaN or infinite: one dot product with ones first, finite
    whenever every logit is (inf * 1, NaN * 1, inf + -inf are not); when it is not (or it
    overflows), every logit is looked at. The flat view and the ones are kept for the
    logits' array, which a compiled pass hands out every epoch."""

    z: np.ndarray | None = None

    def __call__(self, z: np.ndarray) -> None:
        if z is not self.z:
            self.see(z)
        total = self.flat.dot(self.ones) if self.flat is not None else math.inf
        if not math.isfinite(total) and not np.isfinite(z).all():
            raise _NonFinite("the logits are not finite")

    def see(self, z: np.ndarray) -> None:
        self.z = z
        self.flat = z.reshape(-1) if z.flags.c_contiguous else None
        self.ones = np.ones(z.size)

    def small(self, z: np.ndarray) -> bool:
        """Whether the logits' sum of squares is at most ``_SMALL`` (each is finite, and
        at most 1e150 in size); False for NaN, infinite or larger logits."""
        if z is not self.z:
            self.see(z)
        return self.flat is not None and bool(self.flat.dot(self.flat) <= _SMALL)


# Bound of fit's cheap finiteness check (_Pass.step_forward): logits whose squares sum to
# at most this are at most 1e150 each, so each row's cross-entropy, logsumexp(z) - z[y],
# is at most log(classes) + 2e150, and their sum over any batch is far from overflowing.
_SMALL = 1e300


class _SquaredWeights:
    """|W|^2, the penalised weights' sum of squares, or a bound above it, for the cheap
    check of ``_Pass.step_forward``. While every weight's array is its view of the flat
    step's arrays (``FlatStep``), the sum of squares of those whole arrays: biases and
    zero padding included, so at least |W|^2 (to rounding, far inside ``_SMALL``'s margin),
    in one dot product per array. Otherwise each weight's own, as ``F.l2`` sums them."""

    def __init__(self, weights: list[Tensor], flat: FlatStep | None) -> None:
        self.weights = weights
        self.views: list[np.ndarray] = []
        self.arrays: list[np.ndarray] = []
        if flat is None or not weights:
            return
        view_of = {
            id(p): view for g in flat.groups for p, view in zip(g.params, g.data_views, strict=True)
        }
        if all(id(w) in view_of for w in weights):
            self.views = [view_of[id(w)] for w in weights]
            wanted = {id(w) for w in weights}
            self.arrays = [g.data for g in flat.groups if any(id(p) in wanted for p in g.params)]

    def __call__(self) -> float:
        if self.arrays and all(map(operator.is_, map(_DATA, self.weights), self.views)):
            squares = 0.0
            for array in self.arrays:
                squares += array.dot(array)
            return squares
        squares = 0.0
        for w in self.weights:
            squares += np.vdot(w._array, w._array)
        return squares


_DATA = operator.attrgetter("_array")  # a tensor's array, read from the slot


def _check_loss(objective: np.ndarray) -> float:
    loss = float(objective)
    if not math.isfinite(loss):
        raise _NonFinite(f"the loss became {loss}")
    return loss


# The bytes of predictions that _Accuracy keeps to count at once: thousands of epochs of
# the write-up's 200 points, one or a few of a large data set.
_PREDICTIONS_BYTES = 1 << 20


class _Accuracy:
    """The fraction of rows whose largest logit is at their label, epoch after epoch, for
    one set of labels, appended to ``into`` (a History list) by ``flush``.

    Each epoch's predictions go into a row of a block kept for them, in one numpy call:
    over two columns, whether column 1 is the larger (argmax's ties go to 0, as here),
    without argmax's loop over rows; otherwise argmax. ``flush`` compares the rows with
    the labels and counts them for all the pending epochs at once, in a few calls instead
    of a few per epoch. fit flushes before anything reads History (a callback, fit's
    return), so History holds the same numbers as if each epoch had counted its own.
    """

    def __init__(self, labels: np.ndarray, into: list[float]) -> None:
        self.labels, self.n, self.into = labels, len(labels), into
        self.label_is_1 = labels == 1
        self.z: np.ndarray | None = None
        self.block = np.empty((0, self.n), dtype=bool)
        self.pending = 0  # the rows of the block not yet counted

    def __call__(self, z: np.ndarray) -> None:
        """Note the predictions of ``z``, one epoch's logits, for ``flush`` to count."""
        if z is not self.z:
            self._see(z)
        if self.pending == len(self.block):
            self.flush()
        if self.two:
            np.greater(self.z1, self.z0, out=self.block[self.pending])
        else:
            np.argmax(z, axis=1, out=self.block[self.pending])
        self.pending += 1

    def _see(self, z: np.ndarray) -> None:
        """Views of new logits (a compiled pass hands out the same array every epoch), and
        a block of the kind their predictions take, if that changed."""
        self.z, self.two = z, z.shape[1] == 2
        self.z0, self.z1 = z[:, 0], z[:, 1]
        kind = np.dtype(bool) if self.two else np.dtype(np.intp)
        if self.block.dtype != kind or not len(self.block):
            self.flush()
            epochs = max(1, _PREDICTIONS_BYTES // max(1, self.n * kind.itemsize))
            self.block = np.empty((epochs, self.n), dtype=kind)
            self.expected = self.label_is_1 if self.two else self.labels

    def flush(self) -> None:
        """Append the accuracy of each noted epoch not yet counted, in their order."""
        pending, self.pending = self.pending, 0
        if pending == 1:
            right = np.equal(self.block[0], self.expected)
            self.into.append(np.count_nonzero(right) / self.n)
        elif pending:
            right = np.equal(self.block[:pending], self.expected)
            # whole counts over n: the same division, so the same bits, as count / n one by one
            self.into.extend((np.count_nonzero(right, axis=1) / self.n).tolist())


def library_model(model: Module) -> bool:
    """Whether every module of ``model`` is one of the library's (``nn``'s layers,
    containers and activations, registered functions included): what ``fit`` compiles
    by default. A user's own Module may keep Python state that a replay would not update;
    BatchNorm's running statistics are such state (``compiled=True`` tries, and warns)."""
    return all(
        type(module).__module__ == Module.__module__ and not isinstance(module, _BatchNorm)
        for module in model.modules()
    )


def _modes_agree(model: Module) -> bool:
    """Whether train and eval mode provably give ``model`` the same forward, so that the
    training step's forward on all the data is also its eval-mode score: ``library_model``
    (every module the library's, none a BatchNorm: batch statistics and an update of the
    running ones in training, the running ones in eval) and no Dropout with p > 0. A
    Module of the user's own may read ``self.training``, so it never agrees. Checked once
    per fit (and again when a callback replaces parameters): the step pays nothing for it."""
    return library_model(model) and not any(
        isinstance(module, Dropout) and module.p > 0 for module in model.modules()
    )


class _Pass:
    """The objective on one shape of data: built eagerly, or replayed from its capture.

    ``X`` is the pass's input Tensor. With ``fixed`` (the whole data set: scoring, the
    validation data, full batches with Dropout) its data and ``labels`` are the data's, and
    the labels are constants of the step. Otherwise it is a mini-batch's pass: ``X.data``
    and ``labels`` are its own buffers, which ``load`` gathers each batch's rows into, and
    the step reads the labels through ``derived`` (``_BatchLabels``), afresh every replay.
    """

    def __init__(
        self,
        run: _Epochs,
        X: np.ndarray,
        labels: np.ndarray,
        penalty: float,
        training: bool,
        fixed: bool,
    ) -> None:
        self.run, self.penalty, self.training, self.fixed = run, penalty, training, fixed
        self.X = Tensor._wrap(X)
        self.labels = labels
        self.batch_labels = None if fixed else _BatchLabels(labels)
        self.graph: StaticGraph | None = None
        self.objective: Tensor | None = None
        self.replays = 0
        self.check_logits = _LogitsCheck()
        self.quiet_since = -1  # run.interruptions at the latest replay, which checked the leaves

    def load(self, rows: np.ndarray) -> None:
        """Make the data's ``rows`` (as many as the pass has) the pass's batch: gathered in
        place into a replay's input buffers, or as a new array for an eager pass (whose
        latest graph saved the old one)."""
        run = self.run
        run.labels.take(rows, out=self.labels)
        if self.graph is not None:
            run.X.take(rows, axis=0, out=self.X.data)
        else:
            self.X.data = run.X.take(rows, axis=0)

    def build(self) -> tuple[Tensor, Tensor]:
        """(summed cross-entropy + penalty * |W|^2, logits), in Tensor operations only."""
        labels = self.labels if self.batch_labels is None else derived(self.batch_labels)
        logits = self.run.model(self.X)
        objective = ops.SoftmaxCrossEntropy.apply(logits, labels, "sum", True)  # checked by fit
        if self.penalty and self.run.weights:
            objective = objective + self.penalty * F.l2(*self.run.weights)
        return objective, logits

    def compile(self) -> None:
        """Capture the pass; where it cannot be, say why (once) and stay eager."""
        try:
            flat = self.run.flat
            gradients = flat.gradients if flat is not None and self.training else None
            with self._mode(), self.run.state_kept():
                graph = capture(self.build, gradients=gradients)
            if graph.output.ndim != 0 or graph.outputs[1].ndim != 2:
                raise GraphChangedError("the model must return logits of shape (N, classes)")
        except GraphChangedError as error:
            self.run.eager_because(str(error))
            return
        if self.training:
            # A parameter the optimiser leaves out keeps adding into its .grad, step after
            # step, as eagerly: ``_optimizer_for`` has warned of it already, and the eager
            # step gives the same numbers, so it stays eager without a second warning.
            zeroed = {id(p) for p in self.run.optimizer.params}
            if any(id(leaf) not in zeroed for leaf in graph.grad_leaves):
                return
            if not graph.grad_leaves:
                self.run.eager_because("no parameter of the loss requires grad")
                return
            if flat is not None and not flat.serves(graph.reached_leaves):
                flat.stand_down()  # the optimiser's own step leaves an unreached one alone
        self.graph = graph
        self.outputs = graph.outputs[0], graph.outputs[1]

    def _mode(self) -> Any:
        return nullcontext() if self.training else evaluating(self.run.model)

    def forward(self) -> tuple[float, np.ndarray]:
        """The objective's value and the logits; _NonFinite when either is not finite."""
        graph = self.graph
        if graph is not None:
            try:
                if self.replays == 1:  # the parameters have moved since capture: look again
                    self._check(graph)
                graph.forward(True, self._trusted())  # no mode to set: the graph is the mode's
                self.replays += 1
                objective, logits = self.outputs
            except GraphChangedError as error:  # a shape that follows the values, say
                self.graph = None
                self.run.eager_because(str(error))
        if self.graph is None:
            with self._mode():
                objective, logits = self.build()
            self.objective = objective
        z = logits.data
        self.check_logits(z)
        return _check_loss(objective.data), z

    def step_forward(self) -> None:
        """A training step's forward, whose objective is read only to check that it is
        finite (``forward``'s _NonFinite, on the same steps as eagerly). A replay leaves
        the value out when it cannot overflow, which costs less to tell than computing it:
        logits small enough (``_LogitsCheck.small``) and a penalty * |W|^2 at most
        ``_SMALL``; otherwise it computes the value and checks it as ``forward`` does."""
        graph = self.graph
        if graph is None or self.replays < 2:  # eager, or not yet looked at again
            self.forward()
            return
        try:
            graph.forward(False, self._trusted())
        except GraphChangedError as error:
            self.graph = None
            self.run.eager_because(str(error))
            self.forward()
            return
        self.replays += 1
        z = self.outputs[1]._array
        if self.check_logits.small(z) and self._penalty_small():
            return
        graph.value()
        self.check_logits(z)
        _check_loss(self.outputs[0].data)

    def _trusted(self) -> bool:
        """Whether the replay may leave out the check of the leaves' shapes and layouts
        (``StaticGraph.forward``'s ``trusted``): no code but fit's own has run since this
        pass's latest replay (no callback, no schedule; a library model, whose replays run
        none of the user's), so its leaves are the arrays that replay checked, as they were."""
        run = self.run
        quiet = self.quiet_since == run.interruptions and run.library
        self.quiet_since = run.interruptions
        return quiet

    def _penalty_small(self) -> bool:
        """Whether penalty * |W|^2 (or the bound above it of ``_SquaredWeights``) is at
        most ``_SMALL``."""
        if not self.penalty:
            return True
        return bool(abs(self.penalty) * self.run.squared_weights() <= _SMALL)

    def _check(self, graph: StaticGraph) -> None:
        """``graph.check`` in the pass's mode, the model's state put back after it."""
        with self._mode(), self.run.state_kept():
            graph.check(self.build)

    def backward(self) -> None:
        """The gradients of the latest ``forward`` (the leaves' ``.grad`` are None)."""
        if self.graph is not None:
            self.graph.backward()
        else:
            self.objective.backward()


class _Epochs:
    """fit's one epoch path, eager or replayed: the steps of an epoch, then History's loss
    and accuracy on all the data (and the validation data's).

    Each shape of data has its ``_Pass``: one per batch size, one for scoring all the data
    in eval mode (with full batches and a model whose train and eval mode agree, no
    Dropout, no BatchNorm and none of the user's own Modules, scoring is the next epoch's
    forward), one for the validation data. With ``compiled`` each is
    captured on first use and replayed after; a pass that cannot be stays eager and says
    why, once. Keeps a copy of the parameters from before the latest step, so that a
    divergence can put them back.
    """

    def __init__(
        self,
        model: Module,
        X: np.ndarray,
        labels: np.ndarray,
        reg: float,
        optimizer: Optimizer,
        compiled: bool,
        batch_size: int | None,
        shuffle: bool,
        rng: np.random.RandomState | None,
        history: History,
        mean: bool = False,
    ) -> None:
        self.model, self.X, self.labels, self.reg = model, X, labels, reg
        self.n = len(labels)
        self.mean = mean  # fit(reduction="mean"): each step on its objective / batch rows
        self.batch_size, self.shuffle, self.rng = batch_size, shuffle, rng
        self.optimizer, self.compiled = optimizer, compiled
        self.library = library_model(model)
        self.weights = penalised_weights(model)
        self.params = model.parameters()
        self.copies = [p.data.copy() for p in self.params]
        # Compiled, the parameters live in one array per group while fit runs (FlatStep):
        # one update per group, not per parameter; release() gives them their arrays back.
        self.flat = FlatStep.build(optimizer) if compiled else None
        self.squared_weights = _SquaredWeights(self.weights, self.flat)
        self.kept_flat = False  # whether the latest step kept its copies in self.flat
        # Whether no code but fit's own has run since the flat step's latest step: then the
        # next needs no look at what a callback or a schedule could have changed (FlatStep's
        # ``follow``). A Module of the user's own may run its code in a replay: never settled.
        self.settled = False
        # How many times code not fit's own (callbacks, a schedule) has run between epochs:
        # a pass's replay checks its leaves again after any (``_Pass._trusted``).
        self.interruptions = 0
        self.kept_state: dict[str, Any] = optimizer.state_dict()  # else, the optimiser's
        self.last_step: tuple[int, float] | None = None
        self.rate = _rate(optimizer)  # the epoch's (History.lr); schedules change it after
        self.history = history
        self.accuracy = _Accuracy(labels, history.accuracy)
        self.val_accuracy: _Accuracy | None = None
        self.reason: str | None = None
        self.passes: dict[tuple[int, bool], _Pass] = {}
        self.in_order = np.arange(len(labels))  # the rows of an epoch without shuffle
        # With full batches and a model whose train and eval mode agree (_modes_agree),
        # scoring is the training step's forward. Otherwise (Dropout, BatchNorm, a Module
        # of the user's own) scoring is its own eval-mode pass and each step its own
        # training-mode one: reusing one for the other would score History in training
        # mode and, with BatchNorm, update its running statistics once more per epoch.
        reuse = batch_size is None and _modes_agree(model)
        if self.flat is not None:
            self.flat.adopt()
        try:
            self.scoring = self._pass(X, labels, reg / 2, training=reuse, fixed=True)
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        """The parameters back in their own arrays, holding the values they reached."""
        if self.flat is not None:
            self.flat.release()

    def _pass(
        self, X: np.ndarray, labels: np.ndarray, penalty: float, training: bool, fixed: bool
    ) -> _Pass:
        made = _Pass(self, X, labels, penalty, training, fixed)
        if self.compiled:
            made.compile()
        return made

    @contextmanager
    def state_kept(self) -> Iterator[None]:
        """The model's state put back after the block: a capture calls build twice and its
        check once more, and a user's Module keeping state (running statistics) would count
        those calls. The library's modules (``library_model``) keep none that a forward
        changes (Dropout's stream is put back by the capture itself), so theirs is not
        copied. Only the entries the block changed are written back: a capture may come
        between a step's forward and its backward (the validation pass's, after the
        scoring forward that the next step reuses), and writing a parameter in place,
        even with its own values, would make that backward refuse it (its version)."""
        if self.library:
            yield
            return
        state = self.model.state_dict()
        try:
            yield
        finally:
            now = self.model.state_dict()
            changed = {
                name: value
                for name, value in state.items()
                if value.shape != now[name].shape or value.tobytes() != now[name].tobytes()
            }
            if changed:
                self.model.load_state_dict(changed, strict=False)

    def eager_because(self, reason: str) -> None:
        """Warn, once per fit, that a step runs eagerly, and why."""
        if self.reason is None:
            self.reason = reason
            warnings.warn(
                f"fit runs this step eagerly (the same numbers, more slowly): it cannot be "
                f"compiled: {reason}",
                UserWarning,
                stacklevel=4,
            )

    def step(self, batch: _Pass, epoch: int) -> None:
        """Zero the gradients, backward, keep the parameters, take the optimiser's step."""
        flat = self.flat
        self.last_step = (epoch, self.rate)
        if flat is not None and flat.active and batch.graph is not None:
            # The replay writes every stepped gradient afresh, into the flat array; the
            # others' .grad goes to None, as the optimiser's zero_grad() does eagerly.
            for p in flat.unstepped:
                p.grad = None
            batch.graph.backward(overwrite=True)
            if self.mean:  # the gradient of the batch's objective divided by its rows
                flat.divide_gradients(len(batch.X.data))
            self.kept_flat = flat.step(follow=not self.settled)
            self.settled = self.kept_flat and self.library
            if self.kept_flat:
                return
            self._step(epoch)  # it stood down: the gradients are in place all the same
            return
        self.optimizer.zero_grad()
        batch.backward()
        if self.mean:  # the gradient of the batch's objective divided by its rows
            rows = len(batch.X.data)
            for p in self.params:
                if p.grad is not None:
                    p.grad = p.grad / rows  # a new array: a gradient may be shared
        self._step(epoch)

    def _step(self, epoch: int) -> None:
        """Keep the parameters, then the optimiser's own step."""
        for p, copy in zip(self.params, self.copies, strict=True):
            copy[...] = p.data
        self.kept_flat = self.settled = False
        self.kept_state = self.optimizer.state_dict()
        self.optimizer.step()

    def interrupted(self) -> None:
        """Code not fit's own is about to run (callbacks, a schedule): the next flat step
        and each pass's next replay look again at what it may have changed."""
        self.settled = False
        self.interruptions += 1

    def begin_epoch(self) -> float:
        """The learning rate of the epoch about to run (a schedule may have changed it)."""
        self.rate = _rate(self.optimizer)
        return self.rate

    def epoch(self, epoch: int) -> float:
        """One epoch's steps; then the write-up's loss on all the data (returned) and the
        accuracy (noted for History, ``_Accuracy``).

        Mini-batches come as ``batches`` makes them, the permutation drawn from the same
        stream, but each batch's rows are gathered straight into its pass's inputs.
        """
        if self.scoring.training:  # full batches, modes agree: the scoring forward is done
            self.step(self.scoring, epoch)
        elif self.batch_size is None:  # full batches, modes differ: a training-mode pass
            batch = self.passes.get((len(self.labels), True))
            if batch is None:
                batch = self._pass(self.X, self.labels, self.reg / 2, training=True, fixed=True)
                self.passes[len(self.labels), True] = batch
            batch.step_forward()
            self.step(batch, epoch)
        else:
            n, size, passes, step = self.n, self.batch_size, self.passes, self.step
            order = self.rng.permutation(n) if self.shuffle else self.in_order
            for start in range(0, n, size):
                rows = order[start : start + size]
                batch = passes.get((len(rows), True))
                if batch is None:
                    batch = self._batch_pass(rows)
                else:
                    batch.load(rows)
                batch.step_forward()
                step(batch, epoch)
        loss, logits = self.score()
        self.accuracy(logits)
        return loss

    def _batch_pass(self, rows: np.ndarray) -> _Pass:
        """The pass of batches of ``len(rows)`` rows, made on these rows (their own arrays,
        which later batches are gathered into)."""
        m = len(rows)
        penalty = self.reg / 2 * m / len(self.labels)
        X, labels = self.X.take(rows, axis=0), self.labels.take(rows)
        self.passes[m, True] = made = self._pass(X, labels, penalty, training=True, fixed=False)
        return made

    def score(self) -> tuple[float, np.ndarray]:
        """(the write-up's loss, the logits) on all the data, for the current parameters."""
        loss, logits = self.scoring.forward()
        return loss / self.n, logits

    def validate(self, X: np.ndarray, labels: np.ndarray) -> float:
        """The mean cross-entropy on the validation data, in eval mode (returned), and the
        accuracy (noted for History)."""
        key = (len(labels), False)
        if key not in self.passes:
            self.passes[key] = self._pass(X, labels, 0.0, training=False, fixed=True)
            if self.val_accuracy is None:
                self.val_accuracy = _Accuracy(labels, self.history.val_accuracy)
        loss, logits = self.passes[key].forward()
        self.val_accuracy(logits)
        return loss / len(labels)

    def flush(self) -> None:
        """History's accuracies up to the latest epoch (``_Accuracy.flush``)."""
        self.accuracy.flush()
        if self.val_accuracy is not None:
            self.val_accuracy.flush()

    def reused_values(self) -> list[bytes] | None:
        """The parameters' bytes while the next step reuses the scoring forward (full
        batches, train and eval mode agreeing), else None: a callback's write into
        ``p.data`` itself bumps no version, and the reused forward would hold the values
        from before it (every other step makes its own forward, from the values as they
        are)."""
        if not self.scoring.training:
            return None
        return [p._array.tobytes() for p in self.params]

    def parameters_changed(
        self,
        before: list[tuple[int, int, int, bool]],
        now: list[tuple[int, int, int, bool]],
        resettled: bool = False,
    ) -> None:
        """A callback replaced, froze or rewrote parameters (``_parameters_state`` went from
        ``before`` to ``now``, or their values changed) or changed a module's settings
        (``resettled``): capture the passes again if the parameters, their flags or the
        settings changed, and redo the forward that the next full-batch
        step would otherwise reuse from before the change (the step would follow stale
        values, silently)."""
        if resettled or [entry[::3] for entry in now] != [entry[::3] for entry in before]:
            self.weights = penalised_weights(self.model)
            self.squared_weights = _SquaredWeights(self.weights, self.flat)
            self.library = library_model(self.model)
            self.params = self.model.parameters()
            self.copies = [p.data.copy() for p in self.params]
            self.passes.clear()
            # The modules may have changed with the parameters: whether the modes agree too.
            reuse = self.batch_size is None and _modes_agree(self.model)
            self.scoring = self._pass(self.X, self.labels, self.reg / 2, reuse, fixed=True)
        if self.scoring.training:
            self.scoring.forward()

    def diverged(self, epoch: int, what: str) -> TrainingDiverged:
        """The error to raise, after restoring the parameters and the optimiser's state
        and step count from before the last step."""
        if self.last_step is None:
            return TrainingDiverged(epoch, _rate(self.optimizer), f"{what} before the first step")
        if self.kept_flat:
            self.flat.restore()
        else:
            for p, copy in zip(self.params, self.copies, strict=True):
                p.data[...] = copy
            self.optimizer.load_state_dict(self.kept_state)
        return TrainingDiverged(*self.last_step, what)


def _module_settings(model: Module) -> list[tuple[Any, ...]]:
    """What a callback may change in the modules besides their tensors: each module's own
    attributes (Dropout's ``p`` and random stream, an activation's slope or function, the
    ``training`` flag of ``model.eval()``). A captured step keeps them as they were at
    capture, so a change must make ``fit`` capture its passes again, as eagerly the next
    forward reads them. Numbers, strings and tuples by value, anything else by identity."""
    return [
        (id(module), *[(name, _setting(value)) for name, value in vars(module).items()])
        for module in model.modules()
    ]


def _own_modes(model: Module) -> list[tuple[Module, bool]]:
    """Each module with its own ``training`` flag (not ``evaluating``'s view of it)."""
    return [(module, module.__dict__["training"]) for module in model.modules()]


def _restore_modes(modes: list[tuple[Module, bool]]) -> None:
    """Put back the flags ``_own_modes`` read, module by module (``model.train(flag)``
    would give every submodule the model's flag, ending a submodule's eval mode)."""
    for module, training in modes:
        module.training = training


def _setting(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, complex, str, tuple, frozenset)):
        return value
    if isinstance(value, dict):  # the module's registry: which names hold what
        return tuple(value.items())
    return id(value)


def _parameters_state(params: list[Tensor]) -> list[tuple[int, int, int, bool]]:
    """What a callback may change in the parameters (``model.parameters()``, or fit's list
    of them, which only a callback makes stale): each one's identity, its array's
    identity and version, and whether it requires grad."""
    return [(id(p), id(p._array), p._version, p.requires_grad) for p in params]


# ---------------------------------------------------------------------- progress
def _progress_bar(progress: bool | None, epochs: int) -> Any:
    """A tqdm bar when ``progress`` is True, or None and stdout is a terminal or a Jupyter
    kernel's (tqdm.auto's widget there); else None."""
    if progress is None:
        progress = sys.stdout.isatty() or "ipykernel" in sys.modules
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=epochs, unit="epoch", desc="fit")


# ---------------------------------------------------------------------- no progress
LOSS_ROUNDING = 1e-12  # a relative change of the loss smaller than this is rounding


def loss_moved(start_loss: float, end_loss: float) -> int:
    """+1 when the loss rose, -1 when it fell, 0 when it changed by rounding at most
    (relative ``LOSS_ROUNDING``) or not at all.

    >>> loss_moved(1.0, 2.0), loss_moved(1.0, 1.0 + 1e-16), loss_moved(1.0, 0.5)
    (1, 0, -1)
    """
    change = end_loss - start_loss
    if abs(change) <= LOSS_ROUNDING * abs(start_loss):
        return 0
    return 1 if change > 0 else -1


def _distinct(a: float, b: float) -> tuple[str, str]:
    """``a`` and ``b`` to 6 significant digits, or as many more as it takes to tell them
    apart."""
    for digits in range(6, 18):
        first, second = f"{a:.{digits}g}", f"{b:.{digits}g}"
        if first != second or a == b:
            break
    return first, second


def no_progress(start_loss: float, end_loss: float, accuracy: float, labels: np.ndarray) -> str:
    """Why a finished run learnt nothing, or "" when it did: its loss did not fall (it rose,
    or changed by rounding at most), or its accuracy is no better than always answering
    the most frequent label."""
    moved = loss_moved(start_loss, end_loss)
    if moved > 0:
        end, start = _distinct(end_loss, start_loss)
        return f"the loss ended at {end}, above its start {start}"
    if moved == 0:
        change = "" if end_loss == start_loss else f" (changed by {end_loss - start_loss:.1e})"
        return f"the loss did not change: it ended at its start {start_loss:.6g}{change}"
    majority = np.bincount(labels).max() / len(labels)
    if accuracy <= majority:
        return (
            f"the training accuracy {accuracy:.3f} is no better than always predicting the "
            f"most frequent class ({majority:.3f})"
        )
    return ""


def _warn_if_no_progress(history: History, start_loss: float, labels: np.ndarray) -> None:
    """One NoProgressWarning line when the finished run learnt nothing (see no_progress)."""
    if not len(history):
        return
    reason = no_progress(start_loss, history.loss[-1], history.accuracy[-1], labels)
    if reason:
        rose = loss_moved(start_loss, history.loss[-1]) > 0
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
    lr: float = _DEFAULT_LR,
    reg: float = 0.01,
    optimizer: Optimizer | None = None,
    batch_size: int | None = None,
    shuffle: bool = True,
    schedule: Schedule | None = None,
    validation: tuple[Any, Any] | None = None,
    callbacks: Sequence[Callable[[int, History], bool | None]] | None = None,
    progress: bool | None = None,
    seed: Seed = None,
    compiled: bool | None = None,
    reduction: str = "sum",
) -> History:
    """Train ``model`` on (X, y) for ``epochs`` passes over the data; return the History.

    - ``optimizer``: defaults to ``SGD(model.parameters(), lr)`` (``lr`` is used for
      nothing else); ``schedule`` is stepped once per epoch, after the optimiser, and must
      have been made on that optimiser (a ValueError otherwise: it would set the rates of
      one that nothing steps).
    - ``batch_size``: None (or N, the number of rows) is full-batch gradient descent; one
      larger than N is clipped to N with a UserWarning, as MLPClassifier; otherwise each
      epoch visits every row once in batches, reshuffled per epoch from ``seed`` when
      ``shuffle``. A single batch of all rows is never shuffled: its sum does not depend
      on the order.
    - ``validation``: (X_val, y_val), scored after every epoch.
    - ``callbacks``: each is called as ``callback(epoch, history)`` after the epoch is
      recorded; one returning True stops training. One that changes the parameters
      (``requires_grad_``, a new Parameter, ``p.data = ...``, an in-place write, even
      into ``p.data`` itself) is followed: the full-batch path, which (when training and
      eval mode agree, below) reuses the forward pass of the loss after epoch i as the
      forward pass of epoch i + 1, then makes it again, and the captured steps are
      captured again when parameters were replaced or frozen.
    - ``progress``: a tqdm bar; None means on when stdout is a terminal or in Jupyter.
    - ``reduction``: "sum" (the write-up's) steps on each batch's summed objective, the
      cross-entropy summed over its rows plus ``reg / 2 * |W|^2`` times its share of the
      data; "mean" steps on that objective divided by the batch's rows (MLPClassifier's
      and PyTorch's habit), so ``lr`` does not grow with the batch: full-batch "mean" with
      ``lr = 0.01 * N`` takes the write-up's steps. History's loss is the write-up's either way.
    - ``compiled``: None (the default) compiles the models built from the library's
      modules (``library_model``): every data shape's step (full batch, each batch size,
      the scoring and the validation data) is captured once by ``graph.capture`` and
      replayed as generated numpy, the same numbers bit for bit, Dropout's masks drawn
      from the same stream. A model holding a Module of your own (whose forward may keep
      Python state) trains eagerly unless ``compiled=True``; ``False`` always trains
      eagerly. A step that cannot be captured (``.item()`` inside the forward, a graph
      that changes from call to call) runs eagerly, with one UserWarning saying why.
      Compiled, SGD and Adam step each parameter group as one array: while ``fit`` runs,
      the parameters' ``.data`` are views of it (read through the model, always the
      current values; an array taken from a parameter before ``fit`` is not updated
      until it returns), and when it returns each parameter holds its own array again.

    The loss after an epoch is computed in eval mode (Dropout off, BatchNorm on its running
    statistics, which scoring leaves alone). With full batches and a model of the library's
    modules without Dropout or BatchNorm, training and eval mode agree and the next
    epoch's forward pass gives it for free; otherwise (a Module of your own, which may
    read ``self.training``, included) each epoch makes both passes. Every module trains
    during fit; each gets its own ``training`` flag back when fit returns or raises.
    A NaN or infinite loss or logits raise ``TrainingDiverged`` naming the epoch and the
    learning rate of the step that broke, with the parameters and the optimiser's state
    and step count restored to before it.
    A run that ends with a loss no lower than its start, or a training accuracy no better
    than always predicting the most frequent class, gives one ``NoProgressWarning``.

    Refused before any step (ValueError): ``epochs`` < 1; ``y`` of one class (any model
    scores 100% on it); X whose width is not the model's (both named); features or labels
    that are not finite numbers or class indices (the first bad one named, with its place).
    """
    epochs = whole("epochs", epochs)
    if reduction not in ("sum", "mean"):
        raise ValueError(f"reduction must be 'sum' or 'mean', got {reduction!r}")
    reg = number("reg", reg)
    shuffle = flag("fit's shuffle", shuffle)
    progress = flag("fit's progress", progress, none=True)
    X_all, labels = _data(X, y, model, "")
    two_classes(np.unique(labels))
    if batch_size is not None:
        batch_size = clipped_batch_size(batch_size, len(labels), stacklevel=2)
        batch_size = None if batch_size == len(labels) else batch_size
    if validation is not None and len(validation) != 2:
        raise ValueError("validation must be a pair (X_val, y_val)")
    val = _data(*validation, model, "validation ") if validation is not None else None
    given = optimizer is not None
    optimizer = _optimizer_for(model, optimizer, lr)
    _schedule_for(schedule, optimizer, given)
    if reg and not penalised_weights(model):
        warnings.warn(
            f"reg={reg!r} penalises nothing: it applies to the weights of nn.Linear layers "
            f"and the model has none; pass reg=0, or build it from nn.Linear",
            UserWarning,
            stacklevel=2,
        )
    if compiled is None:
        compiled = library_model(model)
    elif not isinstance(compiled, (bool, np.bool_)):
        raise TypeError(f"compiled must be None, True or False, got {compiled!r}")
    # Only shuffled mini-batches draw from it: no fresh entropy drawn (~0.1 ms) for nothing.
    rng = as_random_state(seed) if seed is not None or (batch_size and shuffle) else None
    history = History()
    bar = _progress_bar(progress, epochs)
    modes = _own_modes(model)  # each module's own flag: a submodule may be in eval mode
    start = time.perf_counter()
    epoch = 0
    run: _Epochs | None = None
    try:
        model.train()
        with np.errstate(over="ignore", invalid="ignore"):
            run = _Epochs(
                model,
                X_all.data,
                labels,
                reg,
                optimizer,
                compiled,
                batch_size,
                shuffle,
                rng,
                history,
                mean=reduction == "mean",
            )
            try:  # with full batches and modes that agree, also the first step's forward
                start_loss, _ = run.score()
            except _NonFinite as error:
                if run.scoring.training:
                    raise
                start_loss = math.inf
                del error
            clock, begin_epoch, run_epoch = time.perf_counter, run.begin_epoch, run.epoch
            for epoch in range(epochs):
                history.lr.append(begin_epoch())
                history.loss.append(run_epoch(epoch))  # the accuracy noted, for flush()
                if val is not None:
                    history.val_loss.append(run.validate(val[0].data, val[1]))
                history.seconds.append(clock() - start)
                if schedule is not None:
                    schedule.step()
                    run.interrupted()  # a schedule of the user's own may do anything
                if bar is not None:
                    bar.update(1)
                    if epoch % max(1, epochs // 100) == 0:
                        bar.set_postfix(loss=f"{history.loss[-1]:.6f}", refresh=False)
                if callbacks:
                    # fit's list: the model's own walk (~10 us) is left to after the callbacks
                    before, values = _parameters_state(run.params), run.reused_values()
                    settings = _module_settings(model)
                    run.interrupted()
                    run.flush()  # History whole before a callback reads it
                    if any([callback(epoch, history) for callback in callbacks]):
                        break
                    now = _parameters_state(model.parameters())
                    resettled = _module_settings(model) != settings
                    if now != before or run.reused_values() != values or resettled:
                        run.parameters_changed(before, now, resettled)
            run.flush()
    except _NonFinite as error:
        raise run.diverged(epoch, error.what) from None
    finally:
        if run is not None:
            run.release()
        if bar is not None:
            bar.close()
        _restore_modes(modes)
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
    X = _features(X, model, "X")
    with evaluating(model), np.errstate(over="ignore", invalid="ignore"):
        logits = model(Tensor(X))
    finite_outputs(logits.data)
    return F.softmax(logits, axis=-1).data


def predict(model: Module, X: Any) -> np.ndarray:
    """The class (column) of the largest output, per row of X, in eval mode."""
    return predict_proba(model, X).argmax(axis=1)
