"""Benchmark: one full-batch training step of the write-up's network, engine against numpy.

One step is forward, backward and the SGD update of the 2-H-2 tanh network on the summed
objective (softmax cross-entropy summed over the points + reg/2 |W|^2), float64. The same
step is written several ways, timed in one process, interleaved and repeated, with medians:

    writeup   the write-up's own step, its numpy operations in its order: the baseline
    numpy     the hand-written step of ``reference.py`` (the write-up's delta3/delta2)
    floor     straight-line numpy of the engine's maths into reused buffers, by hand
    tensor    Tensors and ``F`` exactly as a user writes it (``three_gradients.summed_objective``)
    nn        ``nn.MLP`` + ``optim.SGD``, when those modules are importable
    compiled  the Tensor step captured once by ``graph.capture``, its generated code replayed
    torch     PyTorch eager on the CPU, when torch is importable (never a dependency)

and, on the write-up's network only, the whole training: ``fit`` for 20,000 epochs with its
History against the write-up's loop (its step, and its calculate_loss every 1000 passes).

Data are ``make_moons(N, noise=0.2)``; the learning rate is 0.01 * 200 / N, so every
workload takes the write-up's step per point; every repeat starts from the same parameters.
Peak memory is what one step allocates above what it starts with (``tracemalloc``).

    python -m tinygrad_moons.bench --quick
"""

from __future__ import annotations

import argparse
import gc
import importlib
import statistics
import time
import tracemalloc
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import tinygrad_moons.functional as F  # noqa: N812 (the documented spelling)
from tinygrad_moons import graph, reference, three_gradients
from tinygrad_moons.arguments import positive_int, workload
from tinygrad_moons.tensor import Tensor, no_grad

WORKLOADS: tuple[tuple[int, int], ...] = ((200, 3), (200, 50), (10_000, 64), (100_000, 500))
QUICK_WORKLOADS: tuple[tuple[int, int], ...] = WORKLOADS[:3]
REG = 0.01
FIT_EPOCHS = 20_000
METHODS: dict[str, str] = {
    "writeup": "write-up's step",
    "numpy": "hand-written numpy",
    "floor": "floor: straight-line numpy",
    "tensor": "Tensor + F",
    "nn": "nn.MLP + optim.SGD",
    "compiled": "compiled step",
    "torch": "PyTorch eager",
    "writeup_loop": "write-up's training loop",
    "fit": "fit() with History",
}
BASELINE = "writeup"  # what a time ratio divides by, unless the method is in BASELINES
BASELINES = {"fit": "writeup_loop", "writeup_loop": "writeup_loop"}
SHORT = {"writeup": "write-up", "numpy": "numpy", "writeup_loop": "write-up's loop"}


@dataclass(frozen=True)
class Target:
    """A ratio to a baseline's time or peak memory, on one workload, not to be passed."""

    method: str
    workload: tuple[int, int]
    kind: str  # "time" or "memory"
    limit: float
    baseline: str = BASELINE

    def describe(self) -> str:
        what = "peak memory" if self.kind == "memory" else "time"
        n, hidden = self.workload
        return (
            f"{METHODS[self.method]} {what} on ({n}, {hidden}) <= {self.limit:g}x "
            f"{SHORT[self.baseline]}"
        )


TARGETS: tuple[Target, ...] = (
    Target("compiled", (200, 3), "time", 0.9),
    Target("compiled", (200, 50), "time", 1.0),
    Target("compiled", (10_000, 64), "time", 1.0),
    Target("compiled", (100_000, 500), "time", 1.0),
    Target("compiled", (200, 3), "memory", 1.0, "numpy"),
    Target("compiled", (10_000, 64), "memory", 1.0, "numpy"),
    Target("compiled", (100_000, 500), "memory", 1.0, "numpy"),
    Target("fit", (200, 3), "time", 1.0, "writeup_loop"),
    Target("tensor", (200, 3), "time", 1.5, "numpy"),
    Target("nn", (200, 3), "time", 1.7, "numpy"),
    Target("tensor", (10_000, 64), "time", 1.05, "numpy"),
    Target("tensor", (100_000, 500), "time", 1.05, "numpy"),
)


# ---------------------------------------------------------------------- the problem
@dataclass(frozen=True)
class Problem:
    """One workload: the data, the learning rate and the starting parameters."""

    X: np.ndarray
    y: np.ndarray
    hidden: int
    lr: float
    start: reference.Params

    @classmethod
    def make(cls, n: int, hidden: int) -> Problem:
        from sklearn.datasets import make_moons  # only the benchmark needs scikit-learn here

        X, y = make_moons(n, noise=0.2, random_state=0)
        return cls(X, y, hidden, 0.01 * 200 / n, reference.init_params(hidden, seed=0))


# ---------------------------------------------------------------------- the steps
class _ArrayStep:
    """A step on plain arrays: its own copy of the starting parameters."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.params = {name: a.copy() for name, a in problem.start.items()}

    def reset(self) -> None:
        for name, array in self.params.items():
            array[...] = self.problem.start[name]


def _writeup_forward(X: np.ndarray, model: reference.Params) -> tuple[np.ndarray, np.ndarray]:
    """The write-up's forward propagation, as in its build_model and calculate_loss."""
    W1, b1, W2, b2 = model["W1"], model["b1"], model["W2"], model["b2"]
    z1 = X.dot(W1) + b1
    a1 = np.tanh(z1)
    z2 = a1.dot(W2) + b2
    exp_scores = np.exp(z2)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    return a1, probs


class WriteupStep(_ArrayStep):
    """The write-up's step as it wrote it: its numpy operations, in its order, on its dict."""

    def __call__(self) -> None:
        X, y, model = self.problem.X, self.problem.y, self.params
        num_examples, epsilon, reg_lambda = len(X), self.problem.lr, REG
        W1, b1, W2, b2 = model["W1"], model["b1"], model["W2"], model["b2"]
        # Forward propagation
        a1, probs = _writeup_forward(X, model)
        # Backpropagation
        delta3 = probs
        delta3[range(num_examples), y] -= 1
        dW2 = (a1.T).dot(delta3)
        db2 = np.sum(delta3, axis=0, keepdims=True)
        delta2 = delta3.dot(W2.T) * (1 - np.power(a1, 2))
        dW1 = np.dot(X.T, delta2)
        db1 = np.sum(delta2, axis=0)
        # Add regularization terms (b1 and b2 don't have regularization terms)
        dW2 += reg_lambda * W2
        dW1 += reg_lambda * W1
        # Gradient descent parameter update
        W1 += -epsilon * dW1
        b1 += -epsilon * db1
        W2 += -epsilon * dW2
        b2 += -epsilon * db2

    def calculate_loss(self) -> float:
        """The write-up's calculate_loss, as it wrote it."""
        X, y, model = self.problem.X, self.problem.y, self.params
        num_examples, reg_lambda = len(X), REG
        W1, W2 = model["W1"], model["W2"]
        _, probs = _writeup_forward(X, model)
        corect_logprobs = -np.log(probs[range(num_examples), y])
        data_loss = np.sum(corect_logprobs)
        data_loss += reg_lambda / 2 * (np.sum(np.square(W1)) + np.sum(np.square(W2)))
        return 1.0 / num_examples * data_loss


class FloorStep(_ArrayStep):
    """What a step cannot beat: the engine's maths written by hand as straight-line numpy
    (fused linear, stable softmax cross-entropy with its loss, tanh's backward in one buffer,
    L2, SGD in place) into buffers allocated once, no Python between the numpy calls."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem)
        n, h = len(problem.X), problem.hidden
        self.buffers = [np.empty(shape) for shape in [(n, h)] * 4 + [(n, 2)] * 3 + [(n, 1)] * 2]
        self.rows = [np.empty(n) for _ in range(2)]
        self.grads = {name: np.empty_like(a) for name, a in self.params.items()}
        self.parts = {name: np.empty_like(a) for name, a in self.params.items()}
        self.onehot = np.zeros((n, 2))
        self.onehot[np.arange(n), problem.y] = 1.0
        self.picks = np.arange(n) * 2 + problem.y
        self.loss = np.empty(())

    def __call__(self) -> None:
        X, lr = self.problem.X, self.problem.lr
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        z1, a1, da1, dz1, z2, shifted, probs, rowmax, total = self.buffers
        losses, picked = self.rows
        g, part = self.grads, self.parts
        np.matmul(X, W1, out=z1)
        np.add(z1, b1, out=z1)
        np.tanh(z1, out=a1)
        np.matmul(a1, W2, out=z2)
        np.add(z2, b2, out=z2)
        np.maximum(z2[:, :1], z2[:, 1:], out=rowmax)
        np.subtract(z2, rowmax, out=shifted)
        np.exp(shifted, out=probs)
        np.add(probs[:, :1], probs[:, 1:], out=total)
        np.log(total[:, 0], out=losses)
        shifted.reshape(-1).take(self.picks, out=picked)
        np.subtract(losses, picked, out=losses)
        np.divide(probs, total, out=probs)
        self.loss[...] = np.add.reduce(losses) + REG / 2 * (np.vdot(W1, W1) + np.vdot(W2, W2))
        np.subtract(probs, self.onehot, out=probs)
        np.add.reduce(probs, axis=0, keepdims=True, out=g["b2"])
        np.matmul(probs, W2.T, out=da1)
        np.matmul(a1.T, probs, out=g["W2"])
        np.multiply(a1, a1, out=dz1)
        np.subtract(1.0, dz1, out=dz1)
        np.multiply(dz1, da1, out=dz1)
        np.add.reduce(dz1, axis=0, keepdims=True, out=g["b1"])
        np.matmul(X.T, dz1, out=g["W1"])
        for name in ("W1", "W2"):
            np.multiply(REG, self.params[name], out=part[name])
            np.add(g[name], part[name], out=g[name])
        for name, theta in self.params.items():
            np.multiply(g[name], lr, out=part[name])
            np.subtract(theta, part[name], out=theta)


class NumpyStep(_ArrayStep):
    """reference.gradients, then params += -lr * grads: the write-up's own loop body."""

    def __call__(self) -> None:
        p = self.problem
        grads = reference.gradients(self.params, p.X, p.y, REG)
        for name in three_gradients.PARAM_NAMES:
            self.params[name] += -p.lr * grads[name]


class TensorStep:
    """The summed objective built from Tensors and F, backward(), then SGD on ``.data``."""

    def __init__(self, problem: Problem) -> None:
        self.problem = problem
        self.X = Tensor(problem.X)
        self.params = three_gradients.as_tensors(problem.start)

    def reset(self) -> None:
        for name, t in self.params.items():
            t.data[...] = self.problem.start[name]
            t.grad = None

    def update(self) -> None:
        with no_grad():
            for t in self.params.values():
                t.data -= self.problem.lr * t.grad
                t.grad = None

    def objective(self) -> Tensor:
        return three_gradients.summed_objective(self.params, self.X, self.problem.y, REG)

    def __call__(self) -> None:
        self.objective().backward()
        self.update()


class CompiledStep(TensorStep):
    """The Tensor step captured once with ``graph.capture``; its generated code replayed."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem)
        self.graph = graph.capture(self.objective)
        self.held_bytes = self.graph.nbytes  # its buffers count towards its memory

    def update(self) -> None:
        lr = self.problem.lr
        for t in self.params.values():
            t.data -= lr * t.grad
            t.grad = None

    def __call__(self) -> None:
        self.graph.replay()
        self.update()


class ModuleStep:
    """model = nn.MLP([2, H, 2]); opt = optim.SGD(...): zero_grad, loss, backward, step."""

    def __init__(self, problem: Problem, nn: Any, optim: Any) -> None:
        self.problem = problem
        self.X = Tensor(problem.X)
        self.model = nn.MLP([2, problem.hidden, 2], seed=0)
        named = dict(self.model.named_parameters())
        self.penalised = (named["0.weight"], named["2.weight"])
        self.named = named
        self.start = {name: t.data.copy() for name, t in named.items()}
        self.optimizer = optim.SGD(self.model.parameters(), lr=problem.lr)

    def reset(self) -> None:
        for name, t in self.named.items():
            t.data[...] = self.start[name]
            t.grad = None

    def __call__(self) -> None:
        self.optimizer.zero_grad()
        logits = self.model(self.X)
        loss = F.softmax_cross_entropy(logits, self.problem.y, reduction="sum")
        loss = loss + REG / 2 * F.l2(*self.penalised)
        loss.backward()
        self.optimizer.step()


class TorchStep:
    """The same step in PyTorch eager, float64 on the CPU, written as a PyTorch user would."""

    def __init__(self, problem: Problem, torch: Any) -> None:
        self.problem = problem
        self.torch = torch
        self.X = torch.from_numpy(problem.X)
        self.y = torch.from_numpy(problem.y).long()
        self.params = {
            name: torch.tensor(a, requires_grad=True) for name, a in problem.start.items()
        }

    def reset(self) -> None:
        with self.torch.no_grad():
            for name, t in self.params.items():
                t.copy_(self.torch.from_numpy(self.problem.start[name]))
                t.grad = None

    def __call__(self) -> None:
        torch, p = self.torch, self.params
        hidden = torch.tanh(self.X @ p["W1"] + p["b1"])
        logits = hidden @ p["W2"] + p["b2"]
        loss = torch.nn.functional.cross_entropy(logits, self.y, reduction="sum")
        loss = loss + REG / 2 * (p["W1"].pow(2).sum() + p["W2"].pow(2).sum())
        loss.backward()
        with torch.no_grad():
            for t in p.values():
                t -= self.problem.lr * t.grad
                t.grad = None


def _optional(name: str) -> Any:
    """The module ``name``, or None when it cannot be imported."""
    try:
        return importlib.import_module(name)
    except ImportError:
        return None


def make_steps(problem: Problem, notes: list[str]) -> dict[str, Any]:
    """The steps that can run here, by method name; ``notes`` gets why any other cannot."""
    steps: dict[str, Any] = {
        "writeup": WriteupStep(problem),
        "numpy": NumpyStep(problem),
        "tensor": TensorStep(problem),
    }
    steps["floor"] = FloorStep(problem)
    nn, optim = _optional("tinygrad_moons.nn"), _optional("tinygrad_moons.optim")
    if nn is None or optim is None:
        _note(notes, "nn + optim: skipped, tinygrad_moons.nn or tinygrad_moons.optim is absent")
    elif not (_beside_engine(nn) and _beside_engine(optim)):
        _note(notes, f"nn + optim: skipped, {nn.__file__} is not beside the engine timed")
    else:
        steps["nn"] = ModuleStep(problem, nn, optim)
    steps["compiled"] = CompiledStep(problem)
    torch = _optional("torch")
    if torch is not None:
        steps["torch"] = TorchStep(problem, torch)
    else:
        _note(notes, "PyTorch: skipped, torch is not importable")
    return steps


def _beside_engine(module: Any) -> bool:
    """True when ``module`` comes from the same package folder as the engine being timed
    (an editable install of another checkout can otherwise lend its files)."""
    return Path(module.__file__).parent == Path(graph.__file__).parent


def _note(notes: list[str], text: str) -> None:
    if text not in notes:
        notes.append(text)


# ---------------------------------------------------------------------- measuring
@dataclass
class Measurement:
    """One method on one workload: the median seconds per step and one step's peak bytes."""

    n: int
    hidden: int
    method: str
    seconds: float
    samples: list[float]
    peak_bytes: int | None


@dataclass
class TargetCheck:
    target: Target
    ratio: float | None  # None when the run did not measure it

    @property
    def status(self) -> str:
        if self.ratio is None:
            return "NOT MEASURED"
        return "MET" if self.ratio <= self.target.limit else "NOT MET"


@dataclass
class BenchmarkResult:
    measurements: list[Measurement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def find(self, method: str, workload: tuple[int, int]) -> Measurement | None:
        for m in self.measurements:
            if m.method == method and (m.n, m.hidden) == tuple(workload):
                return m
        return None

    def ratio(self, method: str, workload: tuple[int, int], to: str | None = None) -> float | None:
        """Median time of ``method`` over that of ``to`` (its baseline by default), same run."""
        to = to or BASELINES.get(method, BASELINE)
        mine, theirs = self.find(method, workload), self.find(to, workload)
        if mine is None or theirs is None:
            return None
        return mine.seconds / theirs.seconds

    def memory_ratio(
        self, method: str, workload: tuple[int, int], to: str = "numpy"
    ) -> float | None:
        mine, theirs = self.find(method, workload), self.find(to, workload)
        if mine is None or theirs is None or not mine.peak_bytes or not theirs.peak_bytes:
            return None
        return mine.peak_bytes / theirs.peak_bytes

    def targets(self) -> list[TargetCheck]:
        checks = []
        for target in TARGETS:
            if target.kind == "memory":
                ratio = self.memory_ratio(target.method, target.workload, target.baseline)
            else:
                ratio = self.ratio(target.method, target.workload, target.baseline)
            checks.append(TargetCheck(target, ratio))
        return checks

    def time_ratios(self) -> dict[str, dict[tuple[int, int], float]]:
        """Each measured method's time over its baseline's: label -> workload -> ratio.

        Plain data for ``plot.benchmark_ratios``; the baselines themselves (always 1) are
        left out, and fit's ratio is to the write-up's training loop.
        """
        baselines = {BASELINE, *BASELINES.values()}
        ratios: dict[str, dict[tuple[int, int], float]] = {}
        for method, label in METHODS.items():
            for m in self.measurements:
                ratio = self.ratio(method, (m.n, m.hidden))
                if method not in baselines and m.method == method and ratio is not None:
                    ratios.setdefault(label, {})[(m.n, m.hidden)] = ratio
        return ratios

    def time_limits(self) -> dict[tuple[str, tuple[int, int]], float]:
        """The time targets against the ratios ``time_ratios`` draws: (label, workload) -> limit."""
        return {
            (METHODS[t.method], t.workload): t.limit
            for t in TARGETS
            if t.kind == "time" and t.baseline == BASELINES.get(t.method, BASELINE)
        }

    def to_records(self) -> list[dict[str, Any]]:
        """One plain dict per measurement, ratios included: for a docs page or a plot."""
        records = []
        for m in self.measurements:
            record = asdict(m)
            workload = (m.n, m.hidden)
            record["ratio_baseline"] = self.ratio(m.method, workload)
            record["ratio_numpy"] = self.ratio(m.method, workload, to="numpy")
            record["ratio_torch"] = self.ratio(m.method, workload, to="torch")
            record["memory_ratio_numpy"] = self.memory_ratio(m.method, workload)
            records.append(record)
        return records


def peak_memory(step: Any) -> int | None:
    """Bytes one step allocates above what is allocated when it starts, by tracemalloc.

    None for PyTorch, whose allocator tracemalloc does not see. A step that keeps buffers
    between steps (the compiled one) counts them too (``held_bytes``).
    """
    if isinstance(step, TorchStep):
        return None
    step.reset()
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        step()
        return tracemalloc.get_traced_memory()[1] - before + getattr(step, "held_bytes", 0)
    finally:
        tracemalloc.stop()


def time_steps(steps: dict[str, Any], repeats: int, min_time: float) -> dict[str, list[float]]:
    """Seconds per step of each method, ``repeats`` samples, the methods interleaved.

    A sample is the mean of as many consecutive steps as make the write-up's step last
    about ``min_time``, from the starting parameters; the order of the methods rotates.
    """
    for step in steps.values():  # warm-up: caches, lazy imports, first-touch of memory
        step.reset()
        step()
    steps[BASELINE].reset()
    start = time.perf_counter()
    steps[BASELINE]()
    inner = max(1, round(min_time / (time.perf_counter() - start)))
    names = list(steps)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            step = steps[name]
            step.reset()
            start = time.perf_counter()
            for _ in range(inner):
                step()
            samples[name].append((time.perf_counter() - start) / inner)
    return samples


def writeup_loop(problem: Problem, epochs: int) -> float:
    """The write-up's build_model: its step ``epochs`` times, its loss every 1000 passes."""
    step = WriteupStep(problem)
    losses = []
    for i in range(epochs):
        step()
        if i % 1000 == 0:
            losses.append(step.calculate_loss())
    return losses[-1]


def fit_run(problem: Problem, epochs: int) -> float:
    """``fit(MLP([2, H, 2], seed=0), X, y, epochs)`` with its defaults: History every epoch."""
    from tinygrad_moons import nn, train

    model = nn.MLP([2, problem.hidden, 2], seed=0)
    history = train.fit(model, problem.X, problem.y, epochs=epochs, lr=problem.lr, progress=False)
    return history.loss[-1]


def time_training(problem: Problem, epochs: int, repeats: int) -> dict[str, list[float]]:
    """Seconds of whole trainings, the write-up's loop and fit, interleaved."""
    runs = {"writeup_loop": writeup_loop, "fit": fit_run}
    samples: dict[str, list[float]] = {name: [] for name in runs}
    for r in range(repeats):
        for name in list(runs)[r % 2 :] + list(runs)[: r % 2]:
            start = time.perf_counter()
            runs[name](problem, epochs)
            samples[name].append(time.perf_counter() - start)
    return samples


def run_benchmark(
    workloads: tuple[tuple[int, int], ...] = WORKLOADS,
    repeats: int = 7,
    min_time: float = 0.05,
    memory: bool = True,
    fit_epochs: int = FIT_EPOCHS,
    fit_repeats: int = 3,
) -> BenchmarkResult:
    """Measure every available method on every workload; the results as data.

    On the write-up's workload (200, 3), when it is among ``workloads``, also the whole
    training (``fit_epochs`` epochs, ``fit_repeats`` interleaved runs; 0 skips it).
    """
    result = BenchmarkResult()
    for n, hidden in workloads:
        problem = Problem.make(n, hidden)
        steps = make_steps(problem, result.notes)
        peaks = {name: peak_memory(step) if memory else None for name, step in steps.items()}
        samples = time_steps(steps, repeats, min_time)
        if (n, hidden) == (200, 3) and fit_epochs and fit_repeats:
            samples.update(time_training(problem, fit_epochs, fit_repeats))
        for name in samples:
            median = statistics.median(samples[name])
            result.measurements.append(
                Measurement(n, hidden, name, median, samples[name], peaks.get(name))
            )
    return result


# ---------------------------------------------------------------------- reporting
def _duration(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-6:.3g} us"


def _size(n_bytes: int | None) -> str:
    if n_bytes is None:
        return "-"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.3g} {unit}"
    return f"{n_bytes} B"


def _times(ratio: float | None) -> str:
    return "-" if ratio is None else f"{ratio:.2f}x"


def _table_rows(result: BenchmarkResult) -> list[tuple[str, ...]]:
    """The header, then one row of cells per measurement: what both tables show."""
    rows = [("workload", "step", "time", "/write-up", "/numpy", "/torch", "peak memory", "/numpy")]
    for m in result.measurements:
        workload = (m.n, m.hidden)
        whole = m.method in BASELINES
        rows.append(
            (
                f"{m.n} x {m.hidden}",
                METHODS[m.method],
                _duration(m.seconds),
                _times(result.ratio(m.method, workload)),
                "-" if whole else _times(result.ratio(m.method, workload, to="numpy")),
                "-" if whole else _times(result.ratio(m.method, workload, to="torch")),
                _size(m.peak_bytes),
                _times(result.memory_ratio(m.method, workload)),
            )
        )
    return rows


def format_table(result: BenchmarkResult) -> str:
    """The measurements as a text table, then each target with MET or NOT MET."""
    rows = _table_rows(result)
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    lines.append("")
    lines.append("targets (ratios in this run; training rows: whole runs, /write-up's loop):")
    for check in result.targets():
        lines.append(f"  {check.status:<12} {_times(check.ratio):>7}  {check.target.describe()}")
    lines.extend(f"note: {note}" for note in result.notes)
    return "\n".join(lines)


def markdown_table(result: BenchmarkResult) -> str:
    """The same measurements and targets as ``format_table``, as two Markdown tables.

    For the docs' benchmarks page: paste the output of a fresh run over the old one.

    >>> result = BenchmarkResult(
    ...     [Measurement(200, 3, "writeup", 2e-4, [2e-4], None),
    ...      Measurement(200, 3, "numpy", 1e-4, [1e-4], 2000)]
    ... )
    >>> print(markdown_table(result).splitlines()[3])
    | 200 x 3 | hand-written numpy | 100 us | 0.50x | 1.00x | - | 2 KB | 1.00x |
    """
    rows = _table_rows(result)
    header = list(rows[0])
    header[-1] = "memory /numpy"
    lines = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    lines += ["", "| target | ratio | status |", "| --- | --- | --- |"]
    for check in result.targets():
        lines.append(f"| {check.target.describe()} | {_times(check.ratio)} | {check.status} |")
    return "\n".join(lines)


# ---------------------------------------------------------------------- the command
SUMMARY = "time one training step against the write-up's (and numpy's, PyTorch's)"
DESCRIPTION = (
    "Time, interleaved and repeated, one full-batch step of the write-up's network: its\n"
    "own step, the hand-written one, the straight-line floor, Tensor + F, nn.MLP +\n"
    "optim.SGD, the compiled step and PyTorch (when importable); and on 200x3 fit's\n"
    "20,000 epochs against the write-up's loop (2,000 with --quick). Print each one's\n"
    "ratio to its baseline, peak memory and the targets."
)
EXAMPLE = "tinygrad-moons bench --quick --workloads 200x3 10000x64"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``tinygrad-moons bench`` (and ``python -m tinygrad_moons.bench``)."""
    parser.add_argument(
        "--quick", action="store_true", help="about a minute: small workloads, 2,000 epochs"
    )
    parser.add_argument(
        "--repeats", type=positive_int, help="interleaved repeats (default: 7; 3 with --quick)"
    )
    parser.add_argument(
        "--workloads",
        type=workload,
        nargs="+",
        metavar="NxH",
        help="N points x H hidden units (default: "
        + " ".join(f"{n}x{h}" for n, h in WORKLOADS)
        + "; with --quick the first three)",
    )


def run(args: argparse.Namespace) -> int:
    """Run the benchmark the options ask for; print the table and the targets."""
    workloads = args.workloads or (QUICK_WORKLOADS if args.quick else WORKLOADS)
    repeats = args.repeats or (3 if args.quick else 7)
    result = run_benchmark(
        tuple(workloads),
        repeats,
        min_time=0.02 if args.quick else 0.05,
        fit_epochs=2000 if args.quick else FIT_EPOCHS,
        fit_repeats=2 if args.quick else 3,
    )
    print(format_table(result))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m tinygrad_moons.bench``: the same options as ``tinygrad-moons bench``."""
    parser = argparse.ArgumentParser(
        prog="python -m tinygrad_moons.bench",
        description=DESCRIPTION,
        epilog=f"example: {EXAMPLE}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
