"""Graph capture: record a static computation once, then replay it as generated numpy.

Full-batch training builds the same graph every step: the same ops on the same parameter
Tensors, only the numbers change. ``capture(fn)`` calls ``fn`` (twice, to check that it
builds the same graph both times), records every op it applies and writes the whole step
out once as straight-line numpy (``codegen.py``): ``StaticGraph.source`` is that Python.
``replay()`` runs it: the forward pass into buffers allocated at capture, then the backward
pass, with no Tensor, context or graph walk made again, and the gradients are those of a
fresh ``fn().backward()``, bit for bit.

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
never a silently wrong result. Python control flow that depends on values, and arrays
computed outside the ops (from ``.data`` or ``.item()``), are not recorded: a graph is
static when the same ops run on the same Tensors whatever the numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from tinygrad_moons import codegen
from tinygrad_moons.codegen import GraphChangedError
from tinygrad_moons.tensor import Function, Recorder, Tensor, recording

__all__ = ["GraphChangedError", "StaticGraph", "capture"]


def capture(
    fn: Callable[[], Tensor | tuple[Tensor, ...]], names: Mapping[str, Tensor] | None = None
) -> StaticGraph:
    """Record the graph that ``fn()`` builds and generate its step; see the module docstring.

    ``fn`` takes no arguments and returns a Tensor (or a tuple of Tensors: the first is
    the one ``replay`` differentiates, the others are computed along and kept in
    ``outputs``); it is called twice. ``names`` (name -> Tensor) names the leaves in
    ``source``; unnamed ones are x1, x2, ...
    """
    return StaticGraph(fn, names)


class StaticGraph:
    """The generated step of the ops ``fn()`` applied; made by ``capture``."""

    def __init__(
        self,
        fn: Callable[[], Tensor | tuple[Tensor, ...]],
        names: Mapping[str, Tensor] | None = None,
    ) -> None:
        first_outputs, first_tape = record(fn)
        outputs, tape = record(fn)
        difference = _first_difference(first_tape, tape, first_outputs, outputs)
        if difference is not None:
            raise GraphChangedError(
                f"the function built a different graph on its second call ({difference}): "
                f"only a static graph can be captured"
            )
        made = {id(result) for _, _, result in tape}
        if any(id(output) not in made for output in outputs):
            raise GraphChangedError(
                "the function returned a Tensor that no op of its own made: nothing to replay"
            )
        self._tape, self._tape_outputs = first_tape, first_outputs
        self.outputs: tuple[Tensor, ...] = outputs
        self.output: Tensor = outputs[0]
        self._entries = _ops_reaching(outputs, tape)
        self._leaves = _leaves(self._entries, made)
        self.grad_leaves = [leaf for leaf, _ in self._leaves if leaf.requires_grad]
        self._constants = _constants(first_tape, tape, made)
        self._names = {id(t): name for name, t in (names or {}).items()}
        self._fresh = self._generate(accumulate=False)
        self._accumulating: codegen.Step | None = None
        # What the leaves were at capture, for the accumulating step generated later.
        self._captured_leaves = tuple(
            x for leaf, _ in self._leaves for x in (leaf.shape, np.dtype(np.float64))
        )

    def check(self, fn: Callable[[], Tensor | tuple[Tensor, ...]]) -> tuple[Tensor, ...]:
        """Call ``fn`` once more, eagerly, and raise ``GraphChangedError`` if it builds another
        graph than the captured one; returns what it returned, as a tuple.

        For after the leaves have new values (a training step later): a constant that
        ``fn`` derives from the numbers themselves (a mask from ``.data``, a counter) is
        the same on the two calls of ``capture`` but not on this one.
        """
        outputs, tape = record(fn)
        difference = _first_difference(self._tape, tape, self._tape_outputs, outputs)
        if difference is not None:
            raise GraphChangedError(
                f"the function built another graph than the captured one ({difference})"
            )
        return outputs

    def _generate(self, accumulate: bool) -> codegen.Step:
        nodes = [codegen.Node(ctx, args, result) for ctx, args, result in self._entries]
        leaves = [leaf for leaf, _ in self._leaves]
        return codegen.generate(
            nodes, self.outputs, leaves, self._names, self._constants, accumulate
        )

    @property
    def source(self) -> str:
        """The Python that ``replay`` runs: ``forward()``, then ``backward()``."""
        return self._fresh.source

    @property
    def nbytes(self) -> int:
        """Bytes of the buffers allocated at capture, which every replay reuses."""
        return self._fresh.nbytes + (self._accumulating.nbytes if self._accumulating else 0)

    def replay(self, backward: bool = True) -> Tensor:
        """Recompute every recorded op from the leaves' current data, then (by default) backward.

        Returns ``output``, the same Tensor every time, its data updated; gradients are
        added into the leaves' ``.grad`` as ``fn().backward()`` would add them.
        """
        if backward and self._fresh.backward is None:
            raise ValueError(
                "replay(backward=True) needs an output that requires grad; use "
                "replay(backward=False)"
            )
        step = self._fresh
        if backward and any(leaf.grad is not None for leaf in self.grad_leaves):
            if self._accumulating is None:
                # Generated from the leaves as they are now: first refuse any whose shape
                # changed since capture, or the step would be built for the new shapes.
                codegen.leaves_changed([leaf for leaf, _ in self._leaves], self._captured_leaves)
                self._accumulating = self._generate(accumulate=True)
            step = self._accumulating
        self._run_forward(step)
        if backward:
            step.backward()
        return self.output

    def forward(self) -> Tensor:
        """Only the forward pass (``replay(backward=False)``), for a ``backward()`` later."""
        self._run_forward(self._fresh)
        return self.output

    def backward(self) -> None:
        """The backward pass of the latest ``forward()``, for leaves whose ``.grad`` is None
        (as after ``zero_grad()``); ``replay()`` handles gradients that add up."""
        if self._fresh.backward is None:
            raise ValueError("backward() needs an output that requires grad")
        for i, leaf in enumerate(self.grad_leaves):
            if leaf.grad is not None:
                raise ValueError(
                    f"backward() after forward() writes the gradients afresh, but leaf {i} "
                    f"of grad_leaves has a .grad: set it to None first, or use replay()"
                )
        self._fresh.backward()

    def _run_forward(self, step: codegen.Step) -> None:
        step.forward()  # checks the leaves' shapes, sets the outputs' data


class _Tape(Recorder):
    """Every op application, in order."""

    def __init__(self) -> None:
        self.entries: list[tuple[Function, tuple[Any, ...], Tensor]] = []

    def applied(self, ctx: Function, args: tuple[Any, ...], result: Tensor) -> None:
        self.entries.append((ctx, args, result))


_Entries = list[tuple[Function, tuple[Any, ...], Tensor]]


def record(fn: Callable[[], Any]) -> tuple[tuple[Tensor, ...], _Entries]:
    """Call ``fn`` once, eagerly, returning its outputs and every op it applied, in order.

    Each application is ``(ctx, args, result)``: the op's context, the arguments it was
    applied to (Tensors and the rest, as passed) and the Tensor it made. ``capture`` is
    built on it; the graph drawing reads the arguments to show X, y and constants.

    >>> from tinygrad_moons import Tensor
    >>> (out,), applied = record(lambda: (Tensor([1.0, 2.0], requires_grad=True) * 3).sum())
    >>> [type(ctx).__name__ for ctx, _, _ in applied], out.item()
    (['Mul', 'Sum'], 9.0)
    """
    with recording(_Tape()) as tape:
        output = fn()
    outputs = output if isinstance(output, tuple) else (output,)
    if not outputs or not all(isinstance(t, Tensor) for t in outputs):
        raise TypeError(
            f"the captured function must return a Tensor (or a tuple of them), got {type(output)}"
        )
    return outputs, tape.entries


def _ops_reaching(outputs: tuple[Tensor, ...], tape: _Entries) -> _Entries:
    """The tape's entries that the outputs depend on, in their order of application."""
    needed = {id(output) for output in outputs}
    kept = []
    for entry in reversed(tape):
        _, args, result = entry
        if id(result) in needed:
            kept.append(entry)
            needed.update(id(arg) for arg in args if isinstance(arg, Tensor))
    return kept[::-1]


def _leaves(entries: _Entries, made: set[int]) -> list[tuple[Tensor, tuple[int, ...]]]:
    """The Tensors the ops read but did not make, each once, with its shape at capture."""
    leaves: dict[int, tuple[Tensor, tuple[int, ...]]] = {}
    for _, args, _ in entries:
        for arg in args:
            if isinstance(arg, Tensor) and id(arg) not in made:
                leaves[id(arg)] = (arg, arg.data.shape)
    return list(leaves.values())


def _constants(first: _Entries, second: _Entries, made: set[int]) -> dict[int, float]:
    """The 0-d Tensors ``fn`` made anew on each call (numbers it lifted), by value.

    A leaf that is another object on the second call was made by ``fn`` itself: nobody
    else holds it, so its number is kept from capture and written into the source.
    """
    constants = {}
    for (_, args_a, _), (_, args_b, _) in zip(first, second, strict=True):
        for a, b in zip(args_a, args_b, strict=True):
            if (
                isinstance(b, Tensor)
                and id(b) not in made
                and a is not b
                and not b.requires_grad
                and b.data.shape == ()
            ):
                constants[id(b)] = float(b.data)
    return constants


def _first_difference(
    first: _Entries,
    second: _Entries,
    first_outputs: tuple[Tensor, ...],
    second_outputs: tuple[Tensor, ...],
) -> str | None:
    """Where two recordings of one function differ, in words; None when they agree."""
    if len(first) != len(second):
        return f"{len(first)} ops, then {len(second)}"
    position_first = {id(result): i for i, (_, _, result) in enumerate(first)}
    position_second = {id(result): i for i, (_, _, result) in enumerate(second)}
    if len(first_outputs) != len(second_outputs) or any(
        position_first.get(id(a)) != position_second.get(id(b))
        for a, b in zip(first_outputs, second_outputs, strict=True)
    ):
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
