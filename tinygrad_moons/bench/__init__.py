"""Benchmark: one full-batch training step of the write-up's network, engine against numpy.

One step is forward, backward and the SGD update of the 2-H-2 tanh network on the summed
objective (softmax cross-entropy summed over the points + reg/2 |W|^2), float64. The same
step is written several ways, timed in one process, interleaved and repeated, with medians:

    writeup   the write-up's own step, its numpy operations in its order: the baseline
    numpy     the hand-written step of ``reference.py`` (the write-up's delta3/delta2)
    floor     straight-line numpy of the engine's maths into reused buffers, by hand
    tensor    Tensors and ``F`` exactly as a user writes it (``three_gradients.summed_objective``)
    nn        ``nn.MLP`` + ``optim.SGD``
    compiled  the Tensor step captured once by ``graph.capture``, its generated code replayed
    torch     PyTorch eager on the CPU, when torch is importable (never a dependency)

and, on the write-up's network only, the whole training: ``fit`` for 20,000 epochs with its
History against the write-up's loop (its step, and its calculate_loss every 1000 passes)
and fit's floor (its epochs' maths into reused buffers); ``fit`` with mini-batches of 20
(500 epochs) against a hand-written mini-batch loop and its floor, and ``fit`` of
``MLP([2, 50, 2], dropout=0.2)`` (2,000 epochs) against a hand-written inverted-dropout
loop and its floor, fit's masks in each (``bench/trainings.py``).

Data are ``make_moons(N, noise=0.2)``; the learning rate is 0.01 * 200 / N, so every
workload takes the write-up's step per point; every repeat starts from the same parameters.
Peak memory is what one step allocates above what it starts with (``tracemalloc``).
The steps are in ``bench/steps.py``, the results and their tables in ``bench/report.py``;
the command, ``tinygrad-moons bench``, in ``cli/bench_command.py``.
"""

from __future__ import annotations

import functools
import gc
import statistics
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from tinygrad_moons.bench import trainings
from tinygrad_moons.bench.profile import Profile, time_run_parts, time_step_parts
from tinygrad_moons.bench.report import (
    TARGETS,
    BenchmarkResult,
    Measurement,
    Target,
    TargetCheck,
    format_table,
    markdown_table,
)
from tinygrad_moons.bench.steps import (
    BASELINE,
    BASELINES,
    METHODS,
    REG,
    STEPS,
    Problem,
    TorchStep,
    WriteupStep,
    fit_run,
    make_steps,
    writeup_loop,
)
from tinygrad_moons.validate import flag

WORKLOADS: tuple[tuple[int, int], ...] = ((200, 3), (200, 50), (10_000, 64), (100_000, 500))
QUICK_WORKLOADS: tuple[tuple[int, int], ...] = WORKLOADS[:3]
FIT_EPOCHS = 20_000


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


def time_training(problem: Problem, epochs: int, repeats: int) -> dict[str, list[float]]:
    """Seconds of whole trainings, the write-up's loop, fit's floor and fit, interleaved."""
    runs = {"writeup_loop": writeup_loop, "fit_floor": trainings.fit_floor, "fit": fit_run}
    samples: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for r in range(repeats):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start = time.perf_counter()
            runs[name](problem, epochs)
            samples[name].append(time.perf_counter() - start)
    return samples


def time_trainings(
    epochs: int, repeats: int, minibatch_epochs: int = trainings.MINIBATCH_EPOCHS
) -> dict[tuple[int, int], dict[str, list[float]]]:
    """Seconds of the mini-batch and dropout trainings (``bench/trainings.py``), each against
    its hand-written loop, interleaved: by workload, then method. ``epochs`` is the full-batch
    fit's (``training_epochs``)."""
    workloads = {
        (200, 3): ("minibatch_loop", "minibatch_floor", "minibatch_fit"),
        (200, trainings.DROPOUT_HIDDEN): ("dropout_loop", "dropout_floor", "dropout_fit"),
    }
    samples: dict[tuple[int, int], dict[str, list[float]]] = {}
    for workload, names in workloads.items():
        problem = Problem.make(*workload)
        samples[workload] = {name: [] for name in names}
        for r in range(repeats):
            for name in names[r % len(names) :] + names[: r % len(names)]:
                start = time.perf_counter()
                trainings.TRAININGS[name](problem, training_epochs(name, epochs, minibatch_epochs))
                samples[workload][name].append(time.perf_counter() - start)
    return samples


def training_epochs(
    method: str, fit_epochs: int, minibatch_epochs: int = trainings.MINIBATCH_EPOCHS
) -> int:
    """The epochs of a timed training: the mini-batch runs take ``minibatch_epochs`` (the
    target's 500, whatever the full-batch fit's, so that ``--quick`` measures the target as
    it is set: a shorter run would weigh fit's setup per fit, its captures, ten times
    more), the dropout runs a tenth of the full-batch fit's."""
    if method.startswith("minibatch"):
        return minibatch_epochs
    return max(1, fit_epochs // (10 if method.startswith("dropout") else 1))


def profile_misses(
    result: BenchmarkResult,
    fit_epochs: int,
    step_time: float,
    progress: Callable[[str], None] | None = None,
    minibatch_epochs: int = trainings.MINIBATCH_EPOCHS,
) -> None:
    """Into ``result.profiles``: where the time goes of each time target not met, in one
    more run of the same length (a training) or about ``step_time`` seconds of steps."""
    runs = {"fit": fit_run, **trainings.TRAININGS}
    for check in result.targets():
        method, workload = check.target.method, check.target.workload
        if check.status != "NOT MET" or check.target.kind != "time":
            continue
        if (method, workload) in result.profiles:
            continue
        if progress:
            progress(f"profiling {METHODS[method]} on {workload[0]} x {workload[1]}")
        problem = Problem.make(*workload)
        if method in runs:
            epochs = training_epochs(method, fit_epochs, minibatch_epochs)
            run = functools.partial(runs[method], problem, epochs)
            profile = time_run_parts(run, epochs, "epoch")
        else:
            seconds = result.find(method, workload).seconds
            profile = time_step_parts(STEPS[method](problem), max(3, round(step_time / seconds)))
        result.profiles[method, workload] = profile


def run_benchmark(
    workloads: tuple[tuple[int, int], ...] = WORKLOADS,
    repeats: int = 7,
    min_time: float = 0.05,
    memory: bool = True,
    fit_epochs: int = FIT_EPOCHS,
    fit_repeats: int = 3,
    progress: Callable[[str], None] | None = None,
    profile: bool = True,
    minibatch_epochs: int = trainings.MINIBATCH_EPOCHS,
) -> BenchmarkResult:
    """Measure every available method on every workload; the results as data.

    On the write-up's workload (200, 3), when it is among ``workloads``, also the whole
    training (``fit_epochs`` epochs, ``fit_repeats`` interleaved runs; 0 skips it), the
    mini-batch trainings (``minibatch_epochs`` epochs) and the dropout ones.
    With ``profile``, each time target not met gets a profile of its time by part
    (``profile_misses``). ``progress``, when given, is called with one line of text
    before each stage.
    """
    memory = flag("run_benchmark's memory", memory)
    profile = flag("run_benchmark's profile", profile)
    result = BenchmarkResult()
    for i, (n, hidden) in enumerate(workloads, 1):
        where = f"workload {i}/{len(workloads)}, {n} x {hidden}"
        if progress:
            progress(f"{where}: building the steps")
        problem = Problem.make(n, hidden)
        steps = make_steps(problem, result.notes)
        if progress and memory:
            progress(f"{where}: peak memory")
        peaks = {name: peak_memory(step) if memory else None for name, step in steps.items()}
        if progress:
            progress(f"{where}: timing {len(steps)} steps, {repeats} repeats")
        samples = time_steps(steps, repeats, min_time)
        if (n, hidden) == (200, 3) and fit_epochs and fit_repeats:
            if progress:
                progress(f"{where}: {fit_repeats} trainings of {fit_epochs:,} epochs each way")
            samples.update(time_training(problem, fit_epochs, fit_repeats))
        for name in samples:
            median = statistics.median(samples[name])
            result.measurements.append(
                Measurement(n, hidden, name, median, samples[name], peaks.get(name))
            )
    if (200, 3) in workloads and fit_epochs and fit_repeats:
        dropout_epochs = training_epochs("dropout_fit", fit_epochs)
        if progress:
            progress(
                f"mini-batch ({minibatch_epochs:,} epochs) and dropout ({dropout_epochs:,} "
                f"epochs) trainings, {fit_repeats} runs each way"
            )
        runs_by_workload = time_trainings(fit_epochs, fit_repeats, minibatch_epochs)
        result.notes.append(
            f"epochs of the whole trainings: fit() {fit_epochs:,}; fit(), batch 20: "
            f"{minibatch_epochs:,}; fit(), Dropout(0.2): {dropout_epochs:,}; each beside its "
            f"loop and floor for as many"
        )
        for (n, hidden), runs in runs_by_workload.items():
            for name, times in runs.items():
                median = statistics.median(times)
                result.measurements.append(Measurement(n, hidden, name, median, times, None))
    if profile:
        profile_misses(result, fit_epochs, repeats * min_time, progress, minibatch_epochs)
    return result


__all__ = [
    "BASELINE",
    "BASELINES",
    "FIT_EPOCHS",
    "METHODS",
    "QUICK_WORKLOADS",
    "REG",
    "TARGETS",
    "WORKLOADS",
    "BenchmarkResult",
    "Measurement",
    "Problem",
    "Profile",
    "Target",
    "TargetCheck",
    "WriteupStep",
    "fit_run",
    "format_table",
    "make_steps",
    "markdown_table",
    "peak_memory",
    "profile_misses",
    "run_benchmark",
    "time_steps",
    "time_training",
    "training_epochs",
    "writeup_loop",
]
