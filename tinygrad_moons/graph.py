"""Graph capture: record a static computation once, then replay it without rebuilding it.

Full-batch training builds the same graph every step: the same ops on the same parameter
Tensors, only the numbers change. ``capture(fn)`` calls ``fn`` (twice, to check that it
builds the same graph both times) and records every op it applies. ``replay()`` then runs
the recorded ops' ``forward`` on the leaves' current data, in the recorded order, and
walks the recorded graph backwards: no Tensor, context or topological sort is made again,
and the gradients are those of a fresh ``fn().backward()``, bit for bit.

>>> import numpy as np
>>> from tinygrad_moons import Tensor
>>> w = Tensor([1.0, 2.0], requires_grad=True)
>>> x = Tensor([3.0, 4.0])
>>> graph = capture(lambda: (w * x).sum())
>>> graph.replay().item(), w.grad
(11.0, array([3., 4.]))
>>> w.data -= 0.5 * w.grad          # a training step; the graph reads w.data afresh
>>> w.grad = None
>>> graph.replay().item(), w.grad
(-1.5, array([3., 4.]))
>>> x.data = np.array([1.0, 1.0])   # new data of the same shape is fine
>>> graph.replay().item()
-0.5

What the graph reads afresh at every replay: the ``.data`` of the Tensors that ``fn`` used
but did not make (parameters, inputs), whose shapes must not change. What it keeps from
capture: every other argument of an op as it was passed (numbers, axes, the labels the loss
validated, an index array) and the Tensors ``fn`` made from numbers and arrays. A shape
change, or a ``fn`` whose two calls built different graphs, is a ``GraphChangedError``,
never a silently wrong result. Python control flow that depends on
values, and arrays computed outside the ops (from ``.data`` or ``.item()``), are not
recorded: a graph is static when the same ops run on the same Tensors whatever the numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from tinygrad_moons import tensor as _tensor
from tinygrad_moons.tensor import Function, Tensor

_Tape = list[tuple[Function, tuple[Any, ...], Tensor]]


class GraphChangedError(ValueError):
    """A captured graph cannot be replayed: its function or its inputs' shapes changed."""


def capture(fn: Callable[[], Tensor]) -> StaticGraph:
    """Record the graph that ``fn()`` builds, for ``replay()``; see the module docstring.

    ``fn`` takes no arguments and returns a Tensor; it is called twice.
    """
    return StaticGraph(fn)


class StaticGraph:
    """The ops ``fn()`` applied, in order, with the leaves they read; made by ``capture``."""

    def __init__(self, fn: Callable[[], Tensor]) -> None:
        first_output, first_tape = _record(fn)
        output, tape = _record(fn)
        difference = _first_difference(first_tape, tape, first_output, output)
        if difference is not None:
            raise GraphChangedError(
                f"the function built a different graph on its second call ({difference}): "
                f"only a static graph can be captured"
            )
        self.output: Tensor = output
        self._ops = _ops_reaching(output, tape)
        if not self._ops:
            raise GraphChangedError(
                "the function returned a Tensor that no op of its own made: nothing to replay"
            )
        made = {id(result) for _, _, result in self._ops}
        self._leaves = _leaves(self._ops, made)
        self._order = _tensor._topological_order(output._ctx) if output._ctx is not None else None

    def replay(self, backward: bool = True) -> Tensor:
        """Recompute every op from the leaves' current data, then (by default) backward().

        Returns ``output``, the same Tensor every time, with its data updated; gradients
        are added into the leaves' ``.grad`` as ``fn().backward()`` would add them.
        """
        for leaf, shape in self._leaves:
            if leaf.data.shape != shape or leaf.data.dtype != np.float64:
                raise GraphChangedError(
                    f"a leaf of the captured graph had shape {shape}, float64, and now has "
                    f"shape {leaf.data.shape}, {leaf.data.dtype}: capture the graph again"
                )
        for ctx, args, result in self._ops:
            arrays = [arg.data if isinstance(arg, Tensor) else arg for arg in args]
            out = _tensor._as_output(type(ctx).forward(ctx, *arrays))
            if out.shape != result.data.shape:
                raise GraphChangedError(
                    f"{type(ctx).__name__} made shape {out.shape} where the captured graph "
                    f"has {result.data.shape}: the graph is not static"
                )
            result.data = out
        if backward:
            if self._order is None:
                raise ValueError(
                    "replay(backward=True) needs an output that requires grad; use "
                    "replay(backward=False)"
                )
            _tensor._backpropagate(self.output, self.output._seed(None), self._order)
        return self.output


def _record(fn: Callable[[], Tensor]) -> tuple[Tensor, _Tape]:
    """Call ``fn`` with every op application written to a tape."""
    if _tensor._tape is not None:
        raise RuntimeError("capture() was called inside a function being captured")
    tape: _Tape = []
    _tensor._tape = tape
    try:
        output = fn()
    finally:
        _tensor._tape = None
    if not isinstance(output, Tensor):
        raise TypeError(f"the captured function must return a Tensor, got {type(output)}")
    return output, tape


def _ops_reaching(output: Tensor, tape: _Tape) -> _Tape:
    """The tape's entries that ``output`` depends on, in their order of application."""
    needed = {id(output)}
    kept = []
    for entry in reversed(tape):
        _, args, result = entry
        if id(result) in needed:
            kept.append(entry)
            needed.update(id(arg) for arg in args if isinstance(arg, Tensor))
    return kept[::-1]


def _leaves(ops: _Tape, made: set[int]) -> list[tuple[Tensor, tuple[int, ...]]]:
    """The Tensors the ops read but did not make, each once, with its shape at capture."""
    leaves: dict[int, tuple[Tensor, tuple[int, ...]]] = {}
    for _, args, _ in ops:
        for arg in args:
            if isinstance(arg, Tensor) and id(arg) not in made:
                leaves[id(arg)] = (arg, arg.data.shape)
    return list(leaves.values())


def _first_difference(
    first: _Tape, second: _Tape, first_output: Tensor, second_output: Tensor
) -> str | None:
    """Where two recordings of one function differ, in words; None when they agree."""
    if len(first) != len(second):
        return f"{len(first)} ops, then {len(second)}"
    position_first = {id(result): i for i, (_, _, result) in enumerate(first)}
    position_second = {id(result): i for i, (_, _, result) in enumerate(second)}
    if position_first.get(id(first_output)) != position_second.get(id(second_output)):
        return "the output came from another op"
    for i, ((ctx_a, args_a, _), (ctx_b, args_b, _)) in enumerate(zip(first, second, strict=True)):
        name = type(ctx_a).__name__
        if type(ctx_a) is not type(ctx_b) or len(args_a) != len(args_b):
            return f"op {i} was {name}, then {type(ctx_b).__name__}"
        for j, (a, b) in enumerate(zip(args_a, args_b, strict=True)):
            if isinstance(a, Tensor) and id(a) in position_first:
                same = isinstance(b, Tensor) and position_first[id(a)] == position_second.get(id(b))
            elif isinstance(a, Tensor):
                same = a is b or (
                    isinstance(b, Tensor)
                    and not (a.requires_grad or b.requires_grad)
                    and id(b) not in position_second
                    and _same_value(a.data, b.data)
                )
            else:
                same = _same_value(a, b)
            if not same:
                return f"argument {j} of op {i} ({name}) changed"
    return None


def _same_value(a: Any, b: Any) -> bool:
    """Equal type and value; arrays equal in dtype, shape and every element."""
    if isinstance(a, (tuple, list)):
        return (
            type(a) is type(b)
            and len(a) == len(b)
            and all(_same_value(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and bool(np.array_equal(a, b))
        )
    return type(a) is type(b) and bool(a == b)
