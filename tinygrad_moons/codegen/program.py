"""The generated step's bookkeeping: names, buffers and views, and the allocator that lets
buffers whose lives do not overlap share memory.

``generate`` (``codegen/__init__.py``) and the restated ops (``codegen/rules.py``) write
lines into a ``Program``; ``_allocate`` gives its buffers their arrays once, at capture.
"""

from __future__ import annotations

import functools
import keyword
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinygrad_moons.tensor import Function, Tensor


# ---------------------------------------------------------------------- the program
@dataclass
class Grad:
    """A gradient in the generated code: a name, or a known 0-d constant (``const``)."""

    expr: str
    const: float | None = None


class Derived:
    """The "op" of a value computed outside the graph during a capture: ``fn(*args, **kwargs)``
    (a comparison, ``argmax``, a mask built from them, a random draw, ``Tensor(mask)``).
    Its tape entry is ``(Derived, args, value)``; a replay calls ``fn`` afresh."""

    def __init__(self, fn: Callable[..., Any], kwargs: dict[str, Any]) -> None:
        self.fn, self.kwargs = fn, kwargs

    @property
    def name(self) -> str:
        fn = self.fn
        return getattr(fn, "__name__", None) or type(fn).__name__


@dataclass
class Node:
    """One recorded op: its context, its arguments and the names the program gives them."""

    ctx: Function
    args: tuple[Any, ...]
    result: Tensor
    inputs: list[str | None] = field(default_factory=list)  # per argument: a name, or None
    consts: list[float | None] = field(default_factory=list)  # 0-d constants' values
    out: str = ""
    saved: dict[str, str] = field(default_factory=dict)  # names a forward keeps for backward

    @property
    def name(self) -> str:
        name = getattr(self.ctx, "name", None)  # a derived value's function
        return name if isinstance(name, str) else type(self.ctx).__name__

    def shape(self, i: int) -> tuple[int, ...]:
        return self.args[i].data.shape

    def needs(self, i: int) -> bool:
        return bool(self.ctx.needs_input_grad[i])


class Program:
    """The lines, names and buffers of one generated step."""

    def __init__(self, accumulate: bool = False) -> None:
        self.env: dict[str, Any] = {"np": np}
        self.taken: set[str] = set(self.env)
        self.counters: dict[str, int] = {}
        self.buffers: dict[str, tuple[int, ...]] = {}
        self.views: dict[str, tuple[str, Callable[[np.ndarray], np.ndarray]]] = {}
        self.pinned: set[str] = set()  # buffers that live across replays
        self.given: dict[str, np.ndarray] = {}  # buffers whose arrays the caller gave
        self.lines: list[tuple[str, tuple[str, ...]]] = []  # (statement, extra names it uses)
        self.accumulate = accumulate
        self.leaf_buffer: dict[int, str] = {}  # id(leaf) -> its gradient buffer
        self.leaf_started: set[int] = set()  # leaves whose first gradient has a place
        self.globals: list[str] = []  # called ops' results, which backward() reads too
        self.values: dict[int, str] = {}  # id(Tensor or derived array) -> its name
        self.scalars: set[str] = set()  # 0-d values held as numpy scalars, not buffers
        self.leaf_names: set[str] = set()  # the names the leaves' arrays are read into
        # The name of the leaf check's outcome, True when it found every leaf it looks at
        # C-contiguous (made by the first product that asks it), and the leaves whose
        # layout a product takes from it, which the check must look at.
        self.whole_flag = ""
        self.vouched: set[str] = set()

    # names ---------------------------------------------------------------
    def fresh(self, prefix: str, numbered: bool = False) -> str:
        base = _identifier(prefix)
        count = self.counters.get(base, 0)
        while True:
            count += 1
            name = f"{base}{count}" if numbered or count > 1 else base
            if name not in self.taken:
                break
        self.counters[base] = count
        self.taken.add(name)
        return name

    def bind(self, prefix: str, value: Any) -> str:
        """A name in the generated module for ``value`` (an array, a context, a function)."""
        name = self.fresh(prefix)
        self.env[name] = value
        return name

    def buffer(self, prefix: str, shape: tuple[int, ...], numbered: bool = False) -> str:
        name = self.fresh(prefix, numbered)
        self.buffers[name] = tuple(shape)
        return name

    def base_of(self) -> dict[str, str]:
        """Each view's name -> the buffer it views."""
        return {name: base for name, (base, _) in self.views.items()}

    def structure(self) -> tuple[Any, ...]:
        """What an analysis of the lines reads besides them: the buffers' names and shapes
        (in order), the views' bases, and the pinned, given and scalar names."""
        return (
            tuple(self.buffers.items()),
            tuple(self.base_of().items()),
            frozenset(self.pinned),
            frozenset(self.given),
            frozenset(self.scalars),
        )

    def view(self, base: str, suffix: str, make: Callable[[np.ndarray], np.ndarray]) -> str:
        """A view of buffer ``base``, made once after allocation (no slicing per replay)."""
        name = self.fresh(f"{base}_{suffix}")
        self.views[name] = (base, make)
        return name

    def scalar(self, prefix: str, expression: str) -> str:
        """A 0-d value computed as a numpy scalar (``np.float64``): arithmetic on scalars
        rounds as the 0-d ufuncs do, bit for bit, without a ufunc call per number."""
        name = self.fresh(prefix, numbered=True)
        self.emit(f"{name} = {expression}")
        self.scalars.add(name)
        self.globals.append(name)  # backward() may read it
        return name

    def array(self, name: str) -> str:
        """``name`` as an expression that is an ndarray (a scalar wrapped as 0-d)."""
        return f"np.asarray({name})" if name in self.scalars else name

    def emit(self, statement: str, uses: tuple[str, ...] = ()) -> None:
        self.lines.append((statement, uses))

    def comment(self, text: str) -> None:
        self.lines.append((f"# {text}", ()))

    def literal(self, grad: Grad) -> str:
        """The gradient as an expression: its name, or a 0-d array holding the constant."""
        if grad.const is None:
            return grad.expr
        return self.bind("g", np.array(grad.const))

    # gradients -----------------------------------------------------------
    def target(self, node: Node, i: int, prefix: str) -> str:
        """The buffer that input ``i``'s gradient should be written into.

        A leaf's first gradient is written straight into the leaf's own gradient buffer
        (when replay starts with ``.grad`` None); anything else into a new buffer.
        """
        arg = node.args[i]
        once = sum(a is arg for a in node.args) == 1  # w * w: both gradients are needed apart
        if arg._ctx is None and once and not self.accumulate and id(arg) not in self.leaf_started:
            self.leaf_started.add(id(arg))
            return self.leaf_buffer[id(arg)]
        if arg._ctx is None:
            return self.buffer(f"{self.leaf_buffer[id(arg)]}_part", node.shape(i))
        return self.buffer(prefix, node.shape(i))

    def column(self, name: str, j: int) -> str:
        """Column j of a 2-D value, kept as a view when it is a buffer."""
        if name in self.buffers:
            return self.view(name, f"col{j}", lambda a: a[:, j : j + 1])
        return f"{name}[:, {j}:{j + 1}]"


@functools.lru_cache(maxsize=1024)  # a capture names ~50 things, mostly from a few prefixes
def _identifier(text: str) -> str:
    name = re.sub(r"\W", "_", text)
    if not name or name[0].isdigit():
        name = "p" + name
    if keyword.iskeyword(name):
        name += "_"
    return name


_ELEMENTWISE = re.compile(r"np\.(add|subtract|multiply|divide|tanh|exp|log|maximum|copyto)\(")


def _allocate(p: Program, lines: list[tuple[str, tuple[str, ...]]]) -> int:
    """Give every buffer an array, as ``_plan`` shares them out; returns the bytes allocated."""
    plan = _plan(p, lines)
    for name, owner in plan.items():
        if name in p.given:
            p.env[name] = p.given[name]
        elif owner == name:
            p.env[name] = np.empty(p.buffers[name])
    for name, owner in plan.items():
        p.env[name] = p.env[owner]
    for name, (base, make) in p.views.items():
        p.env[name] = make(p.env[base])
    return _nbytes(p, plan)


def _nbytes(p: Program, plan: dict[str, str]) -> int:
    """The bytes the arrays of ``plan`` take, the caller's given arrays left out."""
    owners = {owner for name, owner in plan.items() if name not in p.given}
    return sum(8 * math.prod(p.buffers[owner]) for owner in owners)


def by_structure(
    key_of: Callable[..., Any], copy: Callable[[Any], Any]
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Keep a pure analysis's results by ``key_of(*args)``, a key holding everything the
    analysis reads (the lines, ``Program.structure``): a fit captures the same steps again
    for every model of the same shapes, whose programs are the same text. Each call gets
    its own ``copy`` of the result; a key that cannot be hashed is not kept."""

    def decorate(analysis: Callable[..., Any]) -> Callable[..., Any]:
        kept: dict[Any, Any] = {}

        @functools.wraps(analysis)
        def kept_analysis(*args: Any) -> Any:
            key = key_of(*args)
            try:
                result = kept.get(key)
            except TypeError:  # an unhashable part: computed every time
                return analysis(*args)
            if result is None:
                result = copy(analysis(*args))  # nothing the caller holds
                if len(kept) >= _KEPT:
                    kept.pop(next(iter(kept)))  # the oldest
                kept[key] = result
            return copy(result)

        kept_analysis.kept = kept  # type: ignore[attr-defined]
        return kept_analysis

    return decorate


_KEPT = 128  # results kept per analysis


@by_structure(lambda p, lines: (p.structure(), tuple(lines)), dict)
def _plan(p: Program, lines: list[tuple[str, tuple[str, ...]]]) -> dict[str, str]:
    """Which buffer's array each buffer takes (its own, or a dead one's), for ``lines``
    run in this order: buffers of one shape whose lives do not overlap share one.

    A buffer lives from the first line that names it (or one of its views) to the last;
    pinned buffers (outputs, leaf gradients, what a called op may keep) live for ever. An
    elementwise ufunc may write over an input of its own shape that dies on its line
    (``np.tanh(z1, out=a1)`` with z1 dead after: a1 takes z1's array), which numpy
    computes in place exactly. Buffers the caller gave (``Program.given``) share nothing.
    """
    base_of = p.base_of()
    first: dict[str, int] = {}
    last: dict[str, int] = {}
    direct: list[set[str]] = []  # per line, the buffers it names whole (not through a view)
    for i, (text, uses) in enumerate(lines):
        tokens = set() if text.startswith("#") else set(re.findall(r"\w+", text))
        direct.append({t for t in tokens if t in p.buffers} if _ELEMENTWISE.match(text) else set())
        for token in tokens | set(uses):
            name = base_of.get(token, token)
            if name in p.buffers:
                first.setdefault(name, i)
                last[name] = i
    plan: dict[str, str] = {}
    free: dict[tuple[int, ...], list[str]] = {}  # shape -> owners of arrays free again
    ending: dict[int, list[str]] = {}  # line -> buffers that die on it
    for name in sorted(p.buffers, key=lambda n: first.get(n, -1)):
        shape = p.buffers[name]
        if name in p.given or name not in first:  # the caller's, or never used: unshared
            plan[name] = name
            continue
        line = first[name]
        for i in [k for k in ending if k < line]:
            for dead in ending.pop(i):
                free.setdefault(p.buffers[dead], []).append(plan[dead])
        dying_here = [
            other
            for other in ending.get(line, [])
            if other in direct[line] and p.buffers[other] == shape and other != name
        ]
        if name in direct[line] and dying_here:
            taken = dying_here[0]
            ending[line].remove(taken)
            plan[name] = plan[taken]
        elif free.get(shape):
            plan[name] = free[shape].pop()
        else:
            plan[name] = name
        if name not in p.pinned:
            ending.setdefault(last[name], []).append(name)
    return plan
