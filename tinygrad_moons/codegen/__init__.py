"""The compiled step: a recorded graph written out as straight-line numpy, once.

``graph.capture`` hands this module the ops a function applied; ``generate`` writes, once,
the Python of the whole step: a ``forward()`` and a ``backward()`` with one numpy statement
per line, every result written with ``out=`` into a buffer allocated at capture and reused
at every replay, and no Tensor or context made per op. Buffers whose values are dead by
the time another of the same shape is needed share memory (a linear scan over the lines).

Ops come in two kinds:

- restated: ``rules.RULES`` writes the op's maths inline (Linear, MatMul, Add, Mul, Tanh,
  SoftmaxCrossEntropy, SumOfSquares: the write-up's network). Each restatement is held
  bit for bit to its op's own forward and backward in ``ops.py`` by a property test
  (tests/compiled/test_codegen.py), so the two cannot drift apart;
- every other op, a user's ``Function`` included, is called: the generated line runs the
  op's own ``forward`` and ``backward`` on the context recorded at capture, so an op added
  later works without a line changed here;
- values derived outside the graph (``graph.Derived``: comparisons, masks, ``argmax``,
  random draws, ``Tensor(mask)``) are computed afresh at every replay by the very function
  the capture recorded, from the current values, so no mask is ever kept from capture.

``program.py`` holds the names, buffers and the allocator; ``rules.py`` the restated ops.

Where the gradients and the other outputs do not read the first output's value (a loss's
sum and penalty: the backward starts from the softmax), ``Step.split()`` also gives a
``lean_forward()`` without those lines and a ``value()`` of them (``_value_lines``). The
split's order keeps some values alive longer, so its buffers are allocated (and
``forward()`` reordered) only once a caller asks for it.

Gradients are summed in the backward walk's order (``tensor.backward_order``), as eager
``backward()`` sums them, so replay and eager agree bit for bit.

The source reads ``np.tanh(...)``; it is compiled with each such call made through a
name bound once to the same function (``np_tanh(...)``, ``_direct``), and each float
literal handed to one as a 0-d float64 array bound once: an attribute read and a Python
float's conversion saved per call, which add up over the ~35 calls of a small step.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinygrad_moons import tensor as engine
from tinygrad_moons.codegen.program import Derived, Grad, Node, Program, _allocate, by_structure
from tinygrad_moons.codegen.rules import RULES, Rule, _rule
from tinygrad_moons.tensor import (
    Function,
    Tensor,
    _as_output,
    backward_order,
    input_gradients,
)

__all__ = ["RULES", "GraphChangedError", "Grad", "Node", "Program", "Rule", "Step", "generate"]


class GraphChangedError(ValueError):
    """A captured graph cannot be replayed: its function or its inputs' shapes changed."""


# ---------------------------------------------------------------------- called ops
def _called_forward(p: Program, node: Node) -> str:
    """Any other op: its own forward on the context recorded at capture, output checked."""
    ctx = node.saved["ctx"] = p.bind(f"{node.name.lower()}_ctx", node.ctx)
    arguments = [_argument(p, node, i) for i in range(len(node.args))]
    out = p.fresh(node.name.lower(), numbered=True)
    shape = node.result.data.shape
    p.emit(f"{out} = replayed({ctx}, {shape}, {', '.join(arguments)})")
    p.globals.append(out)
    p.pinned.update(a for a in arguments if a in p.buffers)  # the op may keep them
    return out


def _argument(p: Program, node: Node, i: int) -> str:
    """Argument i of a called op or a derived value, as an expression: a value's name, a
    constant bound at capture, or (a tuple holding derived values) that tuple rebuilt."""
    if node.inputs[i] is not None:
        return p.array(node.inputs[i])
    arg = node.args[i]
    dynamic = [part for part in _flat(arg) if id(part) in p.values]
    if not dynamic:
        return p.bind("arg", arg)
    rebuild = p.bind("rebuild", _Rebuild(arg, {id(part) for part in dynamic}))
    return f"{rebuild}({', '.join(p.array(p.values[id(part)]) for part in dynamic)})"


def _flat(value: Any) -> list[Any]:
    if isinstance(value, (tuple, list)):
        return [inner for part in value for inner in _flat(part)]
    if isinstance(value, dict):
        return _flat(list(value.values()))
    return [value]


class _Rebuild:
    """A tuple (list, dict) of arguments with its derived values put in afresh, in order."""

    def __init__(self, template: Any, dynamic: set[int]) -> None:
        self.template, self.dynamic = template, dynamic

    def __call__(self, *values: Any) -> Any:
        fresh = iter(values)

        def put(part: Any) -> Any:
            if isinstance(part, (tuple, list)):
                return type(part)(put(x) for x in part)
            if isinstance(part, dict):
                return {key: put(x) for key, x in part.items()}
            return next(fresh) if id(part) in self.dynamic else part

        return put(self.template)


def _derived_forward(p: Program, node: Node) -> str:
    """A value derived outside the graph (a mask, indices, a draw): its function, called
    afresh on the current values at every replay."""
    fn = p.bind(_identifier_of(node.name), node.ctx.fn)
    # its shape at capture, checked at every replay: a Python decision on the shape (len(),
    # a slice's bound) was taken once, so a value whose shape follows the data is refused
    arguments = [fn, repr(np.shape(node.result))]
    arguments += [_argument(p, node, i) for i in range(len(node.args))]
    kwargs = node.ctx.kwargs
    if kwargs:
        arguments.append(f"**{_kwargs_expression(p, kwargs)}")
    out = p.fresh("mask" if getattr(node.result, "dtype", None) == np.bool_ else "v", True)
    p.emit(f"{out} = derived_again({', '.join(arguments)})")
    p.globals.append(out)
    p.pinned.update(a for a in arguments if a in p.buffers)  # the value may be a view
    return out


def _kwargs_expression(p: Program, kwargs: dict[str, Any]) -> str:
    dynamic = [part for part in _flat(kwargs) if id(part) in p.values]
    if not dynamic:
        return p.bind("kwargs", kwargs)
    rebuild = p.bind("rebuild", _Rebuild(kwargs, {id(part) for part in dynamic}))
    return f"{rebuild}({', '.join(p.array(p.values[id(part)]) for part in dynamic)})"


def _identifier_of(name: str) -> str:
    name = re.sub(r"\W", "_", name).strip("_")
    return name or "derive"


def _called_backward(p: Program, node: Node, grad: Grad) -> list[Grad | None]:
    """Its own backward through the engine's checks (``tensor.input_gradients``)."""
    ctx = node.saved["ctx"]
    g = p.literal(grad)
    if g in p.buffers:
        p.pinned.add(g)  # what the op returns may be a view of it
    grads_name = p.fresh(f"{node.name.lower()}_grads")
    p.emit(f"{grads_name} = needed_gradients({ctx}, {g})")
    grads: list[Grad | None] = []
    for i in range(len(node.args)):
        if node.inputs[i] is None or not node.needs(i):
            grads.append(None)
            continue
        name = p.fresh("d" + node.inputs[i])
        p.emit(f"{name} = {grads_name}[{i}]")
        grads.append(Grad(name))
    return grads


def replayed(ctx: Function, shape: tuple[int, ...], *arrays: Any) -> np.ndarray:
    """A called op's forward at replay; a result of another shape is a GraphChangedError."""
    out = _as_output(type(ctx).forward(ctx, *arrays))
    if out.shape != shape:
        raise GraphChangedError(
            f"{type(ctx).__name__} made shape {out.shape} where the captured graph has "
            f"{shape}: the graph is not static"
        )
    return out


def derived_again(fn: Callable[..., Any], shape: tuple[int, ...], *args: Any, **kwargs: Any) -> Any:
    """A derived value at replay, ``fn`` on the current values; one of another shape than
    at capture is a GraphChangedError (Python may have read the shape, as ``len()``)."""
    value = fn(*args, **kwargs)
    # speed: an array's own shape; np.shape (a Python function) for anything else
    if (value.shape if type(value) is np.ndarray else np.shape(value)) != shape:
        raise GraphChangedError(
            f"{getattr(fn, '__name__', 'a derived value')} gave shape {np.shape(value)} "
            f"where the captured graph has {shape}: the shape follows the data, and the "
            f"graph is not static"
        )
    return value


def needed_gradients(ctx: Function, grad: np.ndarray) -> tuple[Any, ...]:
    """A called op's backward; None for an input that needs a gradient cannot be replayed."""
    grads = input_gradients(ctx, grad)
    for i, (parent, g) in enumerate(zip(ctx.parents, grads, strict=True)):
        if parent is not None and g is None:
            raise ValueError(
                f"{type(ctx).__name__}.backward returned None for argument {i}, which needs a "
                f"gradient: a replayed graph needs every one (use eager backward())"
            )
    return grads


# ---------------------------------------------------------------------- generating
@functools.lru_cache(maxsize=256)
def _compiled(source: str, direct: bool = True) -> tuple[Any, tuple[tuple[str, str], ...]]:
    """The code object of a generated source, and (with ``direct``) the numpy functions its
    calls read from names of their own (``_direct``). Kept by its text: compiling costs
    more than writing the source, and a fit captures the same steps again for every model
    of the same shapes (a sweep, cross-validation), whose sources are the same text. A code
    object holds no values (those are the namespace's, one per step), so sharing it is safe."""
    text, aliases = _direct(source) if direct else (source, ())
    return compile(text, "<compiled step>", "exec"), aliases


_NUMPY_CALL = re.compile(r"\bnp\.([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\(")
# A float literal as a positional argument of a call: after "(" or ", ", before "," or ")".
_FLOAT_ARGUMENT = re.compile(
    r"(?:(?<=[(])|(?<=, ))(-?(?:\d+\.\d*(?:e[-+]?\d+)?|\d+e[-+]?\d+))(?=, |[)])"
)


def _direct(source: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """``source`` with each call of a numpy function, ``np.f(...)`` or ``np.add.reduce(...)``,
    made through a global name bound to that function (``np_f``, ``np_add_reduce``), and
    each float literal it hands such a call (``np.subtract(1.0, a, out=a)``) bound once as
    a 0-d float64 array (``np_1_0``): one global read per call instead of a global and one
    or two attribute reads, and no conversion of a Python float per call (tens of ns each,
    machine-dependent). The same functions on the same float64 numbers, so the same bits;
    lines holding a string or a comment, and names the source uses already, are left as
    they are. Returns the text and the (name, dotted path or literal) pairs to bind."""
    aliases: dict[str, str] = {}

    def bound(name: str, text: str) -> bool:
        if aliases.get(name, text) != text or re.search(rf"\b{name}\b", source):
            return False
        aliases[name] = text
        return True

    def direct(match: re.Match[str]) -> str:
        path = match.group(1)
        alias = "np_" + path.replace(".", "_")
        return alias + "(" if bound(alias, path) else match.group(0)

    def constant(match: re.Match[str]) -> str:
        literal = match.group(1)
        name = "np_" + literal.replace(".", "_").replace("-", "m").replace("+", "p")
        return name if bound(name, literal) else literal

    lines = []
    for line in source.split("\n"):
        if "#" not in line and "'" not in line and '"' not in line:
            line = _NUMPY_CALL.sub(direct, line)
            if line.lstrip().startswith("np_") and line.count("(") == 1:  # one flat call
                line = _FLOAT_ARGUMENT.sub(constant, line)
        lines.append(line)
    return "\n".join(lines), tuple(aliases.items())


@functools.cache  # one object per path: np.add.reduce makes a new bound method per read
def _numpy_function(path: str) -> Any:
    """numpy's function at a dotted path, or for a float literal a read-only 0-d array."""
    if not path[0].isalpha():
        number = np.array(float(path))
        number.flags.writeable = False
        return number
    function: Any = np
    for part in path.split("."):
        function = getattr(function, part)
    return function


def _define(source: str, namespace: dict[str, Any]) -> None:
    """Define the functions of a generated source in ``namespace``, each from its own code
    (``_compiled``): a step's backward() is the same text in its split source, compiled
    once. The functions' bodies are indented, so each ``def`` at a line's start begins one.
    The numpy functions the code calls directly (``_direct``) are bound here."""
    for chunk in source.split("\n\ndef "):
        text = chunk if chunk.startswith("def ") else "def " + chunk
        code, aliases = _compiled(text)
        functions = [(alias, _numpy_function(path)) for alias, path in aliases]
        if any(namespace.get(alias, f) is not f for alias, f in functions):
            code, functions = _compiled(text, direct=False)[0], []  # a name of the step's
        namespace.update(functions)
        exec(code, namespace)  # noqa: S102 (our own code)


@dataclass
class Step:
    """The generated code: its source, and the functions compiled from it."""

    source: str
    forward: Callable[[], None]
    backward: Callable[[], None] | None
    nbytes: int  # of the buffers allocated for it
    namespace: dict[str, Any]  # where the outputs' arrays are, after forward()
    output_names: list[str]
    contributed: frozenset[int] = frozenset()  # id of every leaf whose .grad backward() sets
    # The leaves whose arrays forward() keeps in ``forward_leaves`` (name, leaf), in its
    # order, and the positions there of those backward() and value() read.
    kept: tuple[tuple[str, Tensor], ...] = ()
    backward_reads: tuple[int, ...] = ()
    value_reads: tuple[int, ...] = ()
    # The split (see _value_lines): lean_forward(), forward() without the lines only the
    # first output's value needs, and value(), those lines; "" when there are none to leave
    # out. ``split_source`` is ``source`` with forward() running those lines last.
    lean_source: str = ""
    split_source: str = ""
    replan: Callable[[], None] | None = None  # allocates the buffers for the split's order
    _split: tuple[Callable[[], None], Callable[[], None]] | None = None
    # (backward_again, value_after_backward) for the buffers as allocated now, worked out
    # when first asked (only a second backward, or a value() after one, asks).
    reuse: Callable[[], tuple[bool, bool]] = lambda: (True, True)  # noqa: E731
    _reuse: tuple[bool, bool] | None = None

    @property
    def backward_again(self) -> bool:
        """Whether backward() leaves every value of the forward that it reads as it found
        it, so that a second backward() gives the same gradients (a buffer of the backward
        sharing a forward value's array says no)."""
        if self._reuse is None:
            self._reuse = self.reuse()
        return self._reuse[0]

    @property
    def value_after_backward(self) -> bool:
        """Whether backward() leaves the values value() reads as it found them."""
        if self._reuse is None:
            self._reuse = self.reuse()
        return self._reuse[1]

    def split(self) -> tuple[Callable[[], None], Callable[[], None]] | None:
        """(lean_forward, value), or None when the forward has nothing to leave out.

        Compiled on first use, when the buffers get new arrays (what the forward computed
        so far is lost) allocated for the split's order, in which forward() runs from then
        on: value()'s lines after the others keep what they read alive longer (a loss's
        ``take`` of the shifted logits, after the softmax: one buffer more, ``nbytes``).
        Until then forward() runs in the order of capture, in the least memory.
        """
        if self._split is None and self.lean_source and self.replan is not None:
            self.replan()
            whole, *rest = self.split_source.split("\n\ndef ")
            _define("\n\ndef ".join([self.lean_source, *rest]), self.namespace)
            self.forward, self.source = _FirstCall(self, whole), self.split_source
            self._split = self.namespace["lean_forward"], self.namespace["value"]
        return self._split


class _FirstCall:
    """A step's ``forward()`` in the split's order, compiled at its first call (a caller of
    the split may never make one: ``fit`` steps with ``lean_forward()`` and ``value()``)."""

    def __init__(self, step: Step, source: str) -> None:
        self.step, self.source = step, source

    def __call__(self) -> None:
        _define(self.source, self.step.namespace)
        self.step.forward = self.step.namespace["forward"]
        self.step.forward()


def generate(
    nodes: list[Node],
    outputs: tuple[Tensor, ...],
    leaves: list[Tensor],
    names: dict[int, str],
    constants: dict[int, float],
    accumulate: bool = False,
    gradients: dict[int, np.ndarray] | None = None,
) -> Step:
    """Write the step of ``nodes`` (in application order) as Python, and compile it.

    ``gradients`` (id(leaf) -> array of the leaf's shape) are where the fresh step writes
    those leaves' gradients, instead of buffers of its own (fit keeps them in one array).
    """
    p = Program(accumulate)
    p.env.update(
        replayed=replayed,
        needed_gradients=needed_gradients,
        accumulate=engine.accumulate,
        leaves_changed=leaves_changed,
        derived_again=derived_again,
        replace_data=engine._replace_data,
        trust_leaves=False,  # set by StaticGraph.forward(trusted=True), for one forward
    )
    p.taken.update(p.env)
    value: dict[int, str] = {}
    leaf_tensor: dict[int, str] = {}
    reads = []
    for leaf in leaves:
        name = p.fresh(names.get(id(leaf), "x"), numbered=id(leaf) not in names)
        value[id(leaf)] = name
        p.leaf_names.add(name)
        leaf_tensor[id(leaf)] = p.bind(f"{name}_tensor", leaf)
        reads.append(f"{name} = {leaf_tensor[id(leaf)]}._array")  # .data's slot, unchecked
        if leaf.requires_grad:
            p.leaf_buffer[id(leaf)] = p.buffer("d" + name, leaf.data.shape)
            if gradients is not None and id(leaf) in gradients and not accumulate:
                p.given[p.leaf_buffer[id(leaf)]] = _given(gradients[id(leaf)], leaf)
            p.pinned.add(p.leaf_buffer[id(leaf)])
    forward_start = len(p.lines)
    p.values = value
    for node in nodes:
        derived = isinstance(node.ctx, Derived)
        rule = None if derived else _rule(node)
        for arg in node.args:
            if isinstance(arg, Tensor) or id(arg) in value:
                node.inputs.append(value[id(arg)])
                node.consts.append(constants.get(id(arg)))
            else:
                node.inputs.append(None)
                node.consts.append(None)
        if derived:
            p.comment(f"{node.name}: computed afresh from the current values")
            node.out = _derived_forward(p, node)
        else:
            p.comment(f"{node.name}: {rule.maths}" if rule else f"{node.name}: its own forward()")
            node.out = (rule.forward if rule else _called_forward)(p, node)
        value[id(node.result)] = node.out
    forward_lines = p.lines[forward_start:]
    p.pinned.update(value[id(output)] for output in outputs)
    by_ctx = {id(node.ctx): node for node in nodes}
    backward_lines: list[tuple[str, tuple[str, ...]]] = []
    root = outputs[0]
    if root.requires_grad and root._ctx is not None:
        p.lines = []
        seed = (
            Grad("1.0", 1.0) if root.data.shape == () else Grad(p.bind("seed", np.ones(root.shape)))
        )
        pending: dict[int, Grad] = {id(root._ctx): seed}
        contributed: set[int] = set()
        for ctx in backward_order(root):
            grad = pending.pop(id(ctx), None)
            if grad is None:
                continue
            node = by_ctx[id(ctx)]
            rule = _rule(node)
            p.comment(
                f"{node.name}: {rule.backward_maths}"
                if rule
                else f"{node.name}: its own backward()"
            )
            emitted = len(p.lines)
            grads = (rule.backward if rule else _called_backward)(p, node, grad)
            if len(p.lines) == emitted:  # nothing to compute (a gradient passed on as it is)
                p.lines.pop()
            for parent, g in zip(ctx.parents, grads, strict=True):
                if parent is None or g is None:
                    continue
                if type(parent) is Tensor:
                    _contribute(p, parent, g, leaf_tensor[id(parent)], contributed)
                elif id(parent) in pending:
                    total = p.buffer("d" + by_ctx[id(parent)].out, parent._shape)
                    previous = p.literal(pending[id(parent)])
                    p.emit(f"np.add({previous}, {p.literal(g)}, out={total})")
                    pending[id(parent)] = Grad(total)
                else:
                    pending[id(parent)] = g
        if not accumulate:
            for leaf in leaves:
                if id(leaf) in contributed:
                    # The slot, not the checked .grad setter: the buffer was allocated in
                    # the leaf's shape and the leaf check above holds it to that shape.
                    p.emit(f"{leaf_tensor[id(leaf)]}._grad = {p.leaf_buffer[id(leaf)]}")
        backward_lines = p.lines
    else:
        contributed = set()
    needed_lines, value_lines = _value_lines(p, forward_lines, backward_lines, outputs, value)
    nbytes = _allocate(p, forward_lines + backward_lines)  # in capture's order, until split()
    assignments = []
    for output in outputs:
        tensor = p.bind("output_tensor", output)
        name = value[id(output)]
        if name in p.buffers or name in p.scalars:  # a float64 ndarray of ours: into the slot
            assignments.append((f"{tensor}._array = {p.array(name)}", ()))
        else:
            assignments.append((f"replace_data({tensor}, {name})", ()))
    forward_lines = forward_lines + assignments
    used = set(re.findall(r"\w+", " ".join(text for text, _ in forward_lines)))
    read = [
        leaf for leaf in leaves if id(leaf) not in constants or value[id(leaf)] in used | p.vouched
    ]
    check = [(line, ()) for line in _leaf_check(p, read, value)]
    # The leaves' arrays a forward read, kept for its backward and value(): eager's saved
    # arrays, not those a leaf holds after ``leaf.data = ...`` since.
    by_backward = set(re.findall(r"\w+", " ".join(text for text, _ in backward_lines)))
    by_value = set(re.findall(r"\w+", " ".join(text for text, _ in value_lines)))
    kept_leaves = [
        (value[id(leaf)], leaf) for leaf in leaves if value[id(leaf)] in by_backward | by_value
    ]
    kept = [name for name, _ in kept_leaves]
    keep = [(f"forward_leaves = {', '.join(kept)},", ())] if kept else []
    unpack = [(f"{', '.join(kept)}, = forward_leaves", ())] if kept else []
    globals_ = [*p.globals, "forward_leaves"] if kept else list(p.globals)
    if check:  # the check's one-shot trust, and its outcome that the backward's products read
        globals_.append("trust_leaves")
    if p.whole_flag:
        globals_.append(p.whole_flag)
    forward_source = _function("forward", reads, check + forward_lines + keep, globals_)
    backward_source = (
        _function("backward", [], unpack + backward_lines, []) if backward_lines else ""
    )
    source = forward_source + ("\n\n" + backward_source if backward_source else "")
    namespace = dict(p.env)
    _define(source, namespace)
    step = Step(
        source,
        namespace["forward"],
        namespace.get("backward"),
        nbytes,
        namespace,
        [value[id(output)] for output in outputs],
        frozenset(contributed),
        tuple(kept_leaves),
        tuple(i for i, name in enumerate(kept) if name in by_backward),
        tuple(i for i, name in enumerate(kept) if name in by_value),
    )
    step.reuse = lambda: (_backward_again(p, forward_lines, backward_lines), True)
    if value_lines:
        split_lines = needed_lines + value_lines
        whole = _function("forward", reads, check + split_lines + assignments + keep, globals_)
        step.split_source = whole + ("\n\n" + backward_source if backward_source else "")
        lean = check + needed_lines + assignments[1:] + keep
        step.lean_source = _function("lean_forward", reads, lean, globals_) + "\n\n"
        step.lean_source += _function(
            "value", [], unpack + value_lines + assignments[:1], p.globals
        )

        def replan() -> None:
            step.nbytes = _allocate(p, split_lines + backward_lines)
            namespace.update((name, p.env[name]) for name in [*p.buffers, *p.views])
            step.reuse, step._reuse = reuse, None

        def reuse() -> tuple[bool, bool]:
            read = _named(p, needed_lines) & _named(p, value_lines)
            return (
                _backward_again(p, split_lines, backward_lines),
                not read & _overwritten(p, split_lines, backward_lines),
            )

        step.replan = replan
    return step


_Line = tuple[str, tuple[str, ...]]
# Statements that only write one buffer or scalar (in place or not) and call nothing but
# numpy: np.f(..., out=b), a.take(..., out=b), a.dot(w, out=b), b[...] = np.f(...) + np.g(...),
# s = x + y
_WRITES = (
    re.compile(r"np\.[\w.]+\(.*\bout=(\w+)\)$"),
    re.compile(r"\w+\.take\(.*\bout=(\w+)\)$"),
    # a product (rules._product): a.dot(b, out=c), or that if the operands are whole
    re.compile(r"[\w.]+\.dot\([^=]*\bout=(\w+)\)(?: if [\w. ]+ else np\.matmul\(.*\))?$"),
    re.compile(r"(\w+)\[\.\.\.\] = np\.[\w.]+\([^=]*\)$"),
    # a 0-d value as a numpy scalar: numpy calls, names and numbers under + - * /
    re.compile(
        r"(\w+) = (?:np\.[\w.]+\([^=]*\)|[\w.]+)(?: [-+*/] (?:np\.[\w.]+\([^=]*\)|[\w.]+))*$"
    ),
)


@by_structure(
    lambda p, forward, backward, outputs, value: (
        p.structure(),
        tuple(forward),
        tuple(backward),
        tuple(value[id(output)] for output in outputs),
    ),
    lambda parts: (list(parts[0]), list(parts[1])),
)
def _value_lines(
    p: Program,
    forward: list[_Line],
    backward: list[_Line],
    outputs: tuple[Tensor, ...],
    value: dict[int, str],
) -> tuple[list[_Line], list[_Line]]:
    """The forward lines in two parts: those the other outputs and the backward pass need,
    then those only the first output's value needs (a loss's sum and its penalty, which a
    caller may skip when a cheaper bound says the value is finite, say). Both lists keep
    the lines' order; the second is empty when no line can be left out safely: every line
    moved after the first part must write one buffer or scalar through numpy alone (no call, no
    random draw), and no line of the first part after it may write what it reads."""
    base_of = p.base_of()

    def names(line: _Line) -> set[str]:
        text, uses = line
        return {base_of.get(t, t) for t in re.findall(r"\w+", text)} | set(uses)

    def written(text: str) -> str | None:
        for pattern in _WRITES:
            match = pattern.match(text)
            if match:
                return base_of.get(match.group(1), match.group(1))
        return None

    needed = set().union(*(names(line) for line in backward)) if backward else set()
    needed |= {value[id(output)] for output in outputs[1:]}
    first = value[id(outputs[0])]
    held = p.buffers.keys() | p.scalars  # what a line may write: a buffer or a scalar
    if first in needed or first not in held:
        return forward, []
    kinds: list[bool] = [False] * len(forward)  # True: only the value needs the line
    later_writes: set[str] = set()  # what the needed lines after this one write
    for i in range(len(forward) - 1, -1, -1):
        text = forward[i][0]
        if text.startswith("#"):
            kinds[i] = i + 1 < len(forward) and kinds[i + 1]  # a comment goes with its line
            continue
        target = written(text)
        if target is not None and target not in needed and target in held:
            if names(forward[i]) & later_writes:
                return forward, []
            kinds[i] = True
        else:
            needed |= names(forward[i])
            if target is not None:
                later_writes.add(target)
            else:
                later_writes |= names(forward[i])  # a call may write what it is handed
    if not any(kinds):
        return forward, []
    return (
        [line for line, kind in zip(forward, kinds, strict=True) if not kind],
        [line for line, kind in zip(forward, kinds, strict=True) if kind],
    )


@by_structure(lambda p, lines: (p.structure(), tuple(lines)), set)
def _named(p: Program, lines: list[_Line]) -> set[str]:
    """The buffers that ``lines`` name, directly or through a view."""
    base_of = p.base_of()
    names = {base_of.get(t, t) for text, uses in lines for t in re.findall(r"\w+", text)}
    names |= {name for _, uses in lines for name in uses}
    return names & p.buffers.keys()


_WRITTEN = re.compile(r"\bout=(\w+)|^(\w+)\[\.\.\.\] =|^np\.copyto\((\w+)")


def _overwritten(p: Program, earlier: list[_Line], later: list[_Line]) -> set[str]:
    """The buffers named in ``earlier`` whose arrays ``later`` writes (once allocated): by
    name, or through a buffer it names first that shares the array."""
    base_of = p.base_of()
    before = _named(p, earlier)
    arrays = {id(p.env[name]) for name in _named(p, later) - before}
    by_name = {
        base_of.get(name, name)
        for text, _ in later
        for match in _WRITTEN.finditer(text)
        for name in match.groups()
        if name
    }
    return {name for name in before if id(p.env[name]) in arrays or name in by_name}


def _backward_again(p: Program, forward: list[_Line], backward: list[_Line]) -> bool:
    """Whether the backward leaves every value of the forward that it reads unchanged."""
    return not _named(p, backward) & _overwritten(p, forward, backward)


def _given(array: np.ndarray, leaf: Tensor) -> np.ndarray:
    """An array given for a leaf's gradient: float64, the leaf's shape, C-contiguous."""
    if array.dtype != _FLOAT64 or array.shape != leaf.shape or not array.flags.c_contiguous:
        raise ValueError(
            f"a gradient array must be a C-contiguous float64 array of the leaf's shape "
            f"{leaf.shape}, got {array.dtype} {array.shape}"
        )
    return array


def _contribute(p: Program, leaf: Tensor, g: Grad, tensor: str, contributed: set[int]) -> None:
    """Add one gradient into a leaf's, in walk order: copy the first, add the rest."""
    buffer = p.leaf_buffer[id(leaf)]
    if p.accumulate:
        p.emit(f"accumulate({tensor}, {p.literal(g)}, into={buffer})")
    elif id(leaf) not in contributed:
        if g.expr != buffer:
            p.emit(f"np.copyto({buffer}, {p.literal(g)})")
    else:
        p.emit(f"np.add({buffer}, {p.literal(g)}, out={buffer})")
    contributed.add(id(leaf))
    p.leaf_started.add(id(leaf))


def _leaf_check(p: Program, leaves: list[Tensor], value: dict[int, str]) -> list[str]:
    """Lines refusing leaves whose shape or dtype changed since capture (one comparison);
    a leaf not C-contiguous takes the slow check of its layout (``leaves_changed``). Where
    a product asks (``_product``), the outcome is kept in ``p.whole_flag``: True when the
    fast path passed, every leaf C-contiguous. Left out, once, when the caller has set
    ``trust_leaves`` (``StaticGraph.forward(trusted=True)``): the leaves are the arrays the
    latest forward checked, as they were."""
    if not leaves:
        return []
    got = [f"        {value[id(leaf)]}.shape, {value[id(leaf)]}.dtype," for leaf in leaves]
    contiguous = " and ".join(f"{value[id(leaf)]}.flags.c_contiguous" for leaf in leaves)
    expected = p.bind("captured", captured_leaves(leaves))
    refuse = f"leaves_changed({p.bind('leaf_tensors', list(leaves))}, {expected})"
    if not p.whole_flag:
        changed = f"    ) != {expected} or not ({contiguous}):"
        check = ["    if (", *got, changed, f"        {refuse}"]
    else:
        flag = p.whole_flag
        check = [
            f"    {flag} = (",
            *got,
            f"    ) == {expected} and {contiguous}",
            f"    if not {flag}:",
            f"        {refuse}",
        ]
    return [
        "# the leaves keep the shapes (and dtype, a C-like layout) they had at capture",
        "if trust_leaves:  # the arrays the latest forward checked, as they were: once",
        "    trust_leaves = False",
        "else:",
        *check,
    ]


_FLOAT64 = np.dtype(np.float64)


def captured_leaves(leaves: list[Tensor]) -> tuple[Any, ...]:
    """What the leaf check expects: each leaf's shape and float64."""
    return tuple(x for leaf in leaves for x in (leaf.shape, _FLOAT64))


def leaves_changed(leaves: list[Tensor], captured: tuple[Any, ...]) -> None:
    """Raise the GraphChangedError naming the first leaf whose shape or dtype changed, or
    whose data is laid out in another order than C's (a transpose, ``np.asfortranarray``):
    eager results follow their input's layout, and a sum over them adds in memory order,
    while the step writes C-ordered buffers; the last bits would differ from eager's. A
    view in C's order (a slice with steps) is read as it is: its results are C-ordered."""
    for leaf, shape in zip(leaves, captured[::2], strict=True):
        data = leaf.data
        if data.shape != shape or data.dtype != _FLOAT64:
            raise GraphChangedError(
                f"a leaf of the captured graph had shape {shape}, float64, and now has "
                f"shape {data.shape}, {data.dtype}: capture the graph again"
            )
        if not _c_ordered(data):
            raise GraphChangedError(
                f"a leaf of the captured graph (shape {shape}) holds data in another order "
                f"than C's (strides {data.strides}: a transpose, np.asfortranarray): eager "
                f"results follow that layout and their sums add in another order, so the "
                f"replay would differ in the last bits; give it np.ascontiguousarray(data)"
            )


def _c_ordered(array: np.ndarray) -> bool:
    """Whether numpy lays out a ufunc's result of ``array`` in C order (``order='K'``):
    the strides of its axes longer than 1 do not grow, in absolute value."""
    strides = [abs(s) for s, n in zip(array.strides, array.shape, strict=True) if n > 1]
    return all(a >= b for a, b in zip(strides, strides[1:]))


def _function(
    name: str,
    reads: list[str],
    lines: list[tuple[str, tuple[str, ...]]],
    globals_: list[str],
) -> str:
    return _function_text(name, tuple(reads), tuple(text for text, _ in lines), tuple(globals_))


@functools.lru_cache(maxsize=256)  # the same steps, captured again (fit's models of one shape)
def _function_text(
    name: str, reads: tuple[str, ...], body: tuple[str, ...], globals_: tuple[str, ...]
) -> str:
    used = set(re.findall(r"\w+", " ".join(body)))
    needed = [read for read in reads if read.split(" = ")[0] in used]
    declared = [f"global {', '.join(globals_)}"] if globals_ else []
    return "\n".join([f"def {name}():", *(f"    {line}" for line in [*declared, *needed, *body])])
