"""Where a measured thing's time goes, by part, timed directly in the benchmark's own run.

Two ways, both plain ``time.perf_counter`` (no profiler's hooks on every call):

- a step (``bench/steps.py``) that has ``PARTS``, methods named after them that make one
  step when called in order: each part timed around its call, step after step; for an
  eager step (``EAGER``), every op's own forward and backward (``OP_PARTS``) wrapped too,
  which splits the forward and the backward walk into the ops' maths and the rest
  (Tensors, contexts, recording; the walk);
- a whole training (``fit``): the functions of the tree that make each part (``FIT_PARTS``,
  looked up by name when the profile runs) wrapped for one more run; a wrapped call inside
  another counts for the outer one only, and "other" is the run's time that no wrapped
  function took (the epoch loop's Python, the divergence guard's copies, the batching).

The wrappers cost a few tenths of a microsecond per call; the profile's total beside the
timed median shows how much. A name the tree no longer has is listed in the profile's
``missing``, never skipped silently.
"""

from __future__ import annotations

import functools
import importlib
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

OTHER = "other"

# part -> the functions whose calls make it, "module:Owner.name" or "module:name";
# "module:Base.name+" also takes the subclasses in that module that define ``name``,
# "module:Base.name*" every subclass, wherever defined, that defines it.
FIT_PARTS: dict[str, tuple[str, ...]] = {
    "generated forward": ("tinygrad_moons.graph:StaticGraph.forward",),
    "generated backward": ("tinygrad_moons.graph:StaticGraph.backward",),
    "generated forward+backward": ("tinygrad_moons.graph:StaticGraph.replay",),
    "eager forward": ("tinygrad_moons.train:_Pass.build",),
    "eager backward walk": ("tinygrad_moons.tensor:Tensor.backward",),
    "optimiser (zero_grad, step)": (  # the flat step keeps the guard's copies in its step
        "tinygrad_moons.optim:Optimizer.zero_grad",
        "tinygrad_moons.optim:Optimizer.step+",
        "tinygrad_moons.flat_step:FlatStep.step",
        "tinygrad_moons.flat_step:FlatStep.divide_gradients",
    ),
    "History's accuracy, checks": (  # and a replayed step's cheap finiteness bounds
        "tinygrad_moons.train:_Accuracy.__call__",
        "tinygrad_moons.train:_Accuracy.flush",
        "tinygrad_moons.train:_LogitsCheck.__call__",
        "tinygrad_moons.train:_LogitsCheck.small",
        "tinygrad_moons.train:_Pass._penalty_small",
        "tinygrad_moons.train:_check_loss",
    ),
    "loading batches": ("tinygrad_moons.train:_Pass.load",),
    "capture and its checks": (
        "tinygrad_moons.train:capture",
        "tinygrad_moons.graph:StaticGraph.check",
    ),
}


OP_PARTS: dict[str, tuple[str, ...]] = {
    "forward": ("tinygrad_moons.tensor:Function.forward*",),
    "backward": ("tinygrad_moons.tensor:Function.backward*",),
}
REST = {"forward": "Tensors/contexts/recording", "backward": "the walk, adding gradients"}


@dataclass
class Timings:
    """What ``timed_parts`` collects: seconds and calls by part, the places not found."""

    seconds: dict[str, float]
    calls: dict[str, int]
    missing: list[str]


@dataclass
class Profile:
    """Seconds per ``unit`` (an epoch, a step) of each part, over ``units`` of them."""

    unit: str
    units: int
    parts: dict[str, float]
    how: str
    missing: list[str] = field(default_factory=list)

    @property
    def total(self) -> float:
        return sum(self.parts.values())

    def summary(self) -> str:
        """'generated forward 41% 22.6 us, ...': the parts in %, and the time per unit."""
        total = self.total or 1.0
        return ", ".join(
            f"{part} {100 * seconds / total:.0f}% {duration(seconds)}"
            for part, seconds in self.parts.items()
        )

    def lines(self) -> list[str]:
        """How it was measured and the total, then the parts (then any names not found)."""
        head = (
            f"Where the time goes ({self.how}, {self.units:,} {self.unit}s; machine-dependent): "
            f"{duration(self.total)} per {self.unit}:"
        )
        tail = [f"not in this tree, so not timed apart: {', '.join(self.missing)}"]
        return [head, self.summary()] + (tail if self.missing else [])


def duration(seconds: float) -> str:
    """'1.73 s', '58.4 us': three digits in the largest unit that keeps one before the point."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-6:.3g} us"


def time_step_parts(step: Any, units: int) -> Profile:
    """Each of ``step.PARTS`` timed around its call, ``units`` steps from the start; in an
    ``EAGER`` step, the ops' own forward and backward apart from the rest of their part."""
    parts = {part: 0.0 for part in step.PARTS}
    calls = [(part, getattr(step, part)) for part in step.PARTS]
    step.reset()
    step()  # warm-up, as the timing has had
    step.reset()
    eager = getattr(step, "EAGER", False)
    with timed_parts(OP_PARTS if eager else {}) as ops:
        for _ in range(units):
            for part, call in calls:
                start = time.perf_counter()
                call()
                parts[part] += time.perf_counter() - start
    labels = getattr(step, "PART_LABELS", {})
    found: dict[str, float] = {}
    for part, seconds in parts.items():
        label, maths = labels.get(part, part), ops.seconds.get(part, 0.0)
        if ops.calls.get(part):
            found[f"{label}, ops' maths"] = maths / units
            found[f"{label}, {REST[part]}"] = (seconds - maths) / units
        else:
            found[label] = seconds / units
    how = "each part timed around its call"
    if ops.calls.get("forward"):
        how += f", and the ops' own forward and backward ({ops.calls['forward'] / units:g} ops)"
    return Profile("step", units, found, how, ops.missing)


def _resolve(place: str) -> list[tuple[Any, str]]:
    """The (owner, attribute) pairs a place names; empty when the tree has no such name."""
    module_name, _, path = place.partition(":")
    *owners, name = path.rstrip("+*").split(".")
    try:
        owner: Any = importlib.import_module(module_name)
    except ImportError:
        return []
    for part in owners:
        owner = getattr(owner, part, None)
        if owner is None:
            return []
    if not isinstance(owner, type):
        return [(owner, name)] if callable(getattr(owner, name, None)) else []
    module = sys.modules[module_name]
    classes = [owner]
    if path.endswith("+"):
        found = [getattr(module, attr) for attr in dir(module)]
        classes += [c for c in found if isinstance(c, type) and owner in c.__mro__[1:]]
    elif path.endswith("*"):
        classes = _subclasses(owner)
    return [(c, name) for c in classes if name in c.__dict__ and _function(c.__dict__[name])]


def _subclasses(cls: type) -> list[type]:
    """Every subclass of ``cls``, however deep, wherever defined."""
    found, stack = [], list(cls.__subclasses__())
    while stack:
        sub = stack.pop()
        found.append(sub)
        stack.extend(sub.__subclasses__())
    return found


def _function(attribute: Any) -> Callable[..., Any] | None:
    """The function an attribute of a class runs: a plain one, or a staticmethod's."""
    attribute = attribute.__func__ if isinstance(attribute, staticmethod) else attribute
    return attribute if callable(attribute) else None


@contextmanager
def timed_parts(parts: dict[str, tuple[str, ...]]) -> Iterator[Timings]:
    """Wrap every function ``parts`` names for the with-block; yields the ``Timings`` they
    fill. The originals are put back on leaving, whatever happens."""
    timings = Timings({part: 0.0 for part in parts}, dict.fromkeys(parts, 0), [])
    seconds, calls, missing = timings.seconds, timings.calls, timings.missing
    depth = [0]
    patched: list[tuple[Any, str, Any]] = []

    def timer(part: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if depth[0]:
                return fn(*args, **kwargs)
            depth[0] += 1
            calls[part] += 1
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                seconds[part] += time.perf_counter() - start
                depth[0] -= 1

        return timed

    try:
        for part, places in parts.items():
            for place in places:
                found = _resolve(place)
                if not found:
                    missing.append(place)
                for owner, name in found:
                    original = owner.__dict__[name] if isinstance(owner, type) else None
                    original = original or getattr(owner, name)
                    patched.append((owner, name, original))
                    wrapped = timer(part, _function(original))
                    static = isinstance(original, staticmethod)
                    setattr(owner, name, staticmethod(wrapped) if static else wrapped)
        yield timings
    finally:
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)


def time_run_parts(
    run: Callable[[], Any], units: int, unit: str, parts: dict[str, tuple[str, ...]] = FIT_PARTS
) -> Profile:
    """One more ``run()`` with the functions of ``parts`` timed; per ``unit``, other last."""
    with timed_parts(parts) as timings:
        start = time.perf_counter()
        run()
        total = time.perf_counter() - start
    seconds = timings.seconds
    found = {part: s / units for part, s in seconds.items() if s > 0}
    found[OTHER] = max(0.0, total - sum(seconds.values())) / units
    return Profile(unit, units, found, "its functions timed in one more run", timings.missing)
