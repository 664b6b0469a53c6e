"""The compiled step: a recorded graph written out as straight-line numpy, once.

``graph.capture`` hands this module the ops a function applied; ``generate`` writes, once,
the Python of the whole step: a ``forward()`` and a ``backward()`` with one numpy statement
per line, every result written with ``out=`` into a buffer allocated at capture and reused
at every replay, and no Tensor or context made per op. Buffers whose values are dead by
the time another of the same shape is needed share memory (a linear scan over the lines).

Ops come in two kinds:

- restated: ``RULES`` below writes the op's maths inline (Linear, MatMul, Add, Mul, Tanh,
  SoftmaxCrossEntropy, SumOfSquares: the write-up's network). Each restatement is held
  bit for bit to its op's own forward and backward in ``ops.py`` by a property test
  (tests/compiled/test_codegen.py), so the two cannot drift apart;
- every other op, a user's ``Function`` included, is called: the generated line runs the
  op's own ``forward`` and ``backward`` on the context recorded at capture, so an op added
  later works without a line changed here.

Gradients are summed in the backward walk's order (``tensor.backward_order``), as eager
``backward()`` sums them, so replay and eager agree bit for bit.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tinygrad_moons import ops
from tinygrad_moons.tensor import Function, Tensor, _as_output, _input_gradients, backward_order


class GraphChangedError(ValueError):
    """A captured graph cannot be replayed: its function or its inputs' shapes changed."""


# ---------------------------------------------------------------------- the program
@dataclass
class Grad:
    """A gradient in the generated code: a name, or a known 0-d constant (``const``)."""

    expr: str
    const: float | None = None


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
        return type(self.ctx).__name__

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
        self.lines: list[tuple[str, tuple[str, ...]]] = []  # (statement, extra names it uses)
        self.accumulate = accumulate
        self.leaf_buffer: dict[int, str] = {}  # id(leaf) -> its gradient buffer
        self.leaf_started: set[int] = set()  # leaves whose first gradient has a place
        self.globals: list[str] = []  # called ops' results, which backward() reads too

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

    def view(self, base: str, suffix: str, make: Callable[[np.ndarray], np.ndarray]) -> str:
        """A view of buffer ``base``, made once after allocation (no slicing per replay)."""
        name = self.fresh(f"{base}_{suffix}")
        self.views[name] = (base, make)
        return name

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


def _identifier(text: str) -> str:
    name = re.sub(r"\W", "_", text)
    if not name or name[0].isdigit():
        name = "p" + name
    if keyword.iskeyword(name):
        name += "_"
    return name


# ---------------------------------------------------------------------- restated ops
def _unbroadcast(p: Program, grad: Grad, grad_shape, shape, target: Callable[[], str]) -> Grad:
    """``ops.unbroadcast`` written out: sum the broadcast axes (two sums when both kinds)."""
    if tuple(grad_shape) == tuple(shape):
        return grad
    expr = p.literal(grad)
    leading = len(grad_shape) - len(shape)
    if leading:
        reduced = tuple(grad_shape[leading:])
        stretched = tuple(i for i, n in enumerate(shape) if n == 1 and reduced[i] != 1)
        out = target() if not stretched else p.buffer("partial", reduced)
        p.emit(f"np.add.reduce({expr}, axis={tuple(range(leading))}, out={out})")
        expr, grad_shape = out, reduced
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad_shape[i] != 1)
    if stretched:
        out = target()
        p.emit(f"np.add.reduce({expr}, axis={stretched}, keepdims=True, out={out})")
        expr = out
    return Grad(expr)


def _target(p: Program, node: Node, i: int) -> Callable[[], str]:
    """Where input i's gradient goes, asked for only when a line writes it."""
    return lambda: p.target(node, i, "d" + node.inputs[i])


def _operand(node: Node, i: int) -> str:
    const = node.consts[i]
    return repr(const) if const is not None else node.inputs[i]


def _forward_elementwise(ufunc: str, prefix: str) -> Callable[[Program, Node], str]:
    def forward(p: Program, node: Node) -> str:
        after_matmul = ufunc == "add" and type(node.args[0]._ctx) is ops.MatMul
        name = "z" if after_matmul else prefix  # x W + b: the write-up's z; x W is xw
        out = p.buffer(name, node.result.data.shape, numbered=True)
        p.emit(f"np.{ufunc}({_operand(node, 0)}, {_operand(node, 1)}, out={out})")
        return out

    return forward


def _add_backward(p: Program, node: Node, grad: Grad) -> list[Grad | None]:
    out_shape = node.result.data.shape
    return [
        _unbroadcast(p, grad, out_shape, node.shape(i), _target(p, node, i))
        if node.needs(i)
        else None
        for i in (0, 1)
    ]


def _mul_backward(p: Program, node: Node, grad: Grad) -> list[Grad | None]:
    """dx = unbroadcast(g * y), dy = unbroadcast(g * x); constants folded where known."""
    out_shape = node.result.data.shape
    grads: list[Grad | None] = []
    for i, other in ((0, 1), (1, 0)):
        if not node.needs(i):
            grads.append(None)
            continue
        same = node.shape(i) == tuple(out_shape)
        if grad.const is not None and node.consts[other] is not None:
            product = Grad(repr(grad.const * node.consts[other]), grad.const * node.consts[other])
        elif (
            grad.const == 1.0
            and node.consts[other] is None
            and node.shape(other) == tuple(out_shape)
        ):
            product = Grad(node.inputs[other])  # 1.0 * y is y, bit for bit
        else:
            out = _target(p, node, i)() if same else p.buffer("product", out_shape)
            p.emit(f"np.multiply({p.literal(grad)}, {_operand(node, other)}, out={out})")
            product = Grad(out)
        grads.append(_unbroadcast(p, product, out_shape, node.shape(i), _target(p, node, i)))
    return grads


def _matmul_forward(p: Program, node: Node) -> str:
    out = p.buffer("z" if len(node.args) == 3 else "xw", node.result.data.shape, numbered=True)
    p.emit(f"np.matmul({node.inputs[0]}, {node.inputs[1]}, out={out})")
    if len(node.args) == 3:  # Linear: the bias added in place, as ops.Linear does
        p.emit(f"np.add({out}, {node.inputs[2]}, out={out})")
    return out


def _matmul_backward(p: Program, node: Node, grad: Grad) -> list[Grad | None]:
    """dX = G W^T, dW = X^T G (and for Linear db = G summed over the broadcast rows)."""
    g = p.literal(grad)
    x, w = node.inputs[0], node.inputs[1]
    grads: list[Grad | None] = [None] * len(node.args)
    if node.needs(0):
        out = p.target(node, 0, "d" + x)
        p.emit(f"np.matmul({g}, {w}.T, out={out})")
        grads[0] = Grad(out)
    if node.needs(1):
        out = p.target(node, 1, "d" + w)
        p.emit(f"np.matmul({x}.T, {g}, out={out})")
        grads[1] = Grad(out)
    if len(node.args) == 3 and node.needs(2):
        out_shape = node.result.data.shape
        grads[2] = _unbroadcast(
            p, Grad(g), out_shape, node.shape(2), lambda: p.target(node, 2, "d" + node.inputs[2])
        )
    return grads


def _tanh_forward(p: Program, node: Node) -> str:
    out = p.buffer("a", node.result.data.shape, numbered=True)
    p.emit(f"np.tanh({node.inputs[0]}, out={out})")
    return out


def _tanh_backward(p: Program, node: Node, grad: Grad) -> list[Grad | None]:
    """dz = (1 - a^2) * g in one buffer, from the output a, as ops.Tanh."""
    a = node.out
    out = p.target(node, 0, "d" + node.inputs[0])
    p.emit(f"np.multiply({a}, {a}, out={out})")
    p.emit(f"np.subtract(1.0, {out}, out={out})")
    p.emit(f"np.multiply({out}, {p.literal(grad)}, out={out})")
    return [Grad(out)]


def _softmax_cross_entropy_forward(p: Program, node: Node) -> str:
    """Per row logsumexp(z) - z[y], shifted by the row maximum, as ops.SoftmaxCrossEntropy."""
    z = node.inputs[0]
    labels, reduction = node.args[1], node.args[2]
    n, classes = node.shape(0)
    rowmax = p.buffer("rowmax", (n, 1))
    shifted = p.buffer("shifted", (n, classes))
    probs = p.buffer("probs", (n, classes))
    total = p.buffer("total", (n, 1))
    losses = p.buffer("losses", (n,))
    picked = p.buffer("picked", (n,))
    columns = [p.column(z, j) for j in range(classes)]
    exp_columns = [p.column(probs, j) for j in range(classes)]
    if 1 < classes <= 16:  # ops._row_reduce: one column at a time
        p.emit(f"np.maximum({columns[0]}, {columns[1]}, out={rowmax})", (z,))
        for column in columns[2:]:
            p.emit(f"np.maximum({rowmax}, {column}, out={rowmax})", (z,))
    else:
        p.emit(f"np.maximum.reduce({z}, axis=1, keepdims=True, out={rowmax})")
    p.emit(f"np.subtract({z}, {rowmax}, out={shifted})")
    shifted_flat = p.view(shifted, "flat", lambda a: a.reshape(-1))
    picks = p.bind("picks", np.arange(n) * classes + labels)
    p.emit(f"{shifted_flat}.take({picks}, out={picked})", (shifted,))  # z[y] - max, first:
    p.emit(f"np.exp({shifted}, out={probs})")  # then exp may overwrite the shifted logits
    if 1 < classes <= 16:
        p.emit(f"np.add({exp_columns[0]}, {exp_columns[1]}, out={total})", (probs,))
        for column in exp_columns[2:]:
            p.emit(f"np.add({total}, {column}, out={total})", (probs,))
    else:
        p.emit(f"np.add.reduce({probs}, axis=1, keepdims=True, out={total})")
    total_column = p.view(total, "flat", lambda a: a[:, 0])
    p.emit(f"np.log({total_column}, out={losses})", (total,))
    p.emit(f"np.subtract({losses}, {picked}, out={losses})")
    p.emit(f"np.divide({probs}, {total}, out={probs})")
    node.saved["probs"] = probs  # the softmax, for the backward below
    if reduction == "none":
        return losses
    out = p.buffer("ce", (), numbered=True)
    if reduction == "sum":
        p.emit(f"np.add.reduce({losses}, out={out})")  # np.sum without its Python wrapper
    else:
        p.emit(f"np.mean({losses}, out={out})")
    return out


def _softmax_cross_entropy_backward(p: Program, node: Node, grad: Grad) -> list[Grad | None]:
    """dz = softmax(z) - onehot(y), scaled by the reduction's gradient."""
    labels, reduction = node.args[1], node.args[2]
    n, classes = node.shape(0)
    onehot = np.zeros((n, classes))
    onehot[np.arange(n), labels] = 1.0
    out = p.target(node, 0, "d" + node.inputs[0])
    p.emit(f"np.subtract({node.saved['probs']}, {p.bind('onehot', onehot)}, out={out})")
    if reduction == "none":
        p.emit(f"np.multiply({out}, {p.literal(grad)}[:, None], out={out})")
    elif reduction == "mean" and grad.const is not None:
        p.emit(f"np.multiply({out}, {np.float64(grad.const) / n!r}, out={out})")
    elif reduction == "mean":
        p.emit(f"np.multiply({out}, {grad.expr} / {n}, out={out})")
    elif grad.const is None:
        p.emit(f"np.multiply({out}, {grad.expr}, out={out})")  # times 1.0 is exact
    elif grad.const != 1.0:
        p.emit(f"np.multiply({out}, {grad.const!r}, out={out})")
    return [Grad(out), None, None]


def _sum_of_squares_forward(p: Program, node: Node) -> str:
    out = p.buffer("l2_", (), numbered=True)
    terms = " + ".join(f"np.vdot({a}, {a})" for a in node.inputs)
    p.emit(f"{out}[...] = {terms}")
    return out


def _sum_of_squares_backward(p: Program, node: Node, grad: Grad) -> list[Grad | None]:
    """d l2 / dx = 2 x, times the incoming gradient (one number)."""
    if grad.const is not None:
        scale = repr(2.0 * grad.const)
    else:
        scale = p.fresh("scale")
        p.emit(f"{scale} = 2.0 * float({grad.expr})")
    grads: list[Grad | None] = []
    for i, a in enumerate(node.inputs):
        if not node.needs(i):
            grads.append(None)
            continue
        out = p.target(node, i, "d" + a)
        p.emit(f"np.multiply({scale}, {a}, out={out})")
        grads.append(Grad(out))
    return grads


@dataclass(frozen=True)
class Rule:
    """How one op is written out: its forward and its backward, as lines of a Program."""

    forward: Callable[[Program, Node], str]
    backward: Callable[[Program, Node, Grad], list[Grad | None]]
    maths: str  # the forward's, for a comment
    backward_maths: str
    applies: Callable[[Node], bool] = lambda node: True  # else the op is called


def _two_matrices(node: Node) -> bool:
    return node.args[0].ndim == 2 and node.args[1].ndim == 2


def _rule(node: Node) -> Rule | None:
    """The restatement of ``node``'s op, or None: then the op's own methods are called."""
    rule = RULES.get(type(node.ctx))
    return rule if rule is not None and rule.applies(node) else None


RULES: dict[type[Function], Rule] = {
    ops.Linear: Rule(
        _matmul_forward, _matmul_backward, "z = x W + b", "dx = g W^T, dW = x^T g, db = sum g"
    ),
    ops.MatMul: Rule(  # stacks of matrices (batch axes) are called
        _matmul_forward, _matmul_backward, "z = x W", "dx = g W^T, dW = x^T g", _two_matrices
    ),
    ops.Add: Rule(
        _forward_elementwise("add", "add"), _add_backward, "z = x + y", "dx = dy = g, summed"
    ),
    ops.Mul: Rule(
        _forward_elementwise("multiply", "mul"), _mul_backward, "z = x y", "dx = g y, dy = g x"
    ),
    ops.Tanh: Rule(_tanh_forward, _tanh_backward, "a = tanh(z)", "dz = (1 - a^2) g"),
    ops.SoftmaxCrossEntropy: Rule(
        _softmax_cross_entropy_forward,
        _softmax_cross_entropy_backward,
        "loss = sum over rows of logsumexp(z) - z[y], probs = softmax(z)",
        "dz = probs - onehot(y)",
    ),
    ops.SumOfSquares: Rule(
        _sum_of_squares_forward, _sum_of_squares_backward, "l2 = sum x^2", "dx = 2 x g"
    ),
}


# ---------------------------------------------------------------------- called ops
def _called_forward(p: Program, node: Node) -> str:
    """Any other op: its own forward on the context recorded at capture, output checked."""
    ctx = node.saved["ctx"] = p.bind(f"{node.name.lower()}_ctx", node.ctx)
    arguments = []
    for i, arg in enumerate(node.args):
        if node.inputs[i] is not None:
            arguments.append(node.inputs[i])
        else:
            arguments.append(p.bind("arg", arg))
    out = p.fresh(node.name.lower(), numbered=True)
    shape = node.result.data.shape
    p.emit(f"{out} = replayed({ctx}, {shape}, {', '.join(arguments)})")
    p.globals.append(out)
    p.pinned.update(a for a in arguments if a in p.buffers)  # the op may keep them
    return out


def _called_backward(p: Program, node: Node, grad: Grad) -> list[Grad | None]:
    """Its own backward through the engine's checks (``tensor._input_gradients``)."""
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


def needed_gradients(ctx: Function, grad: np.ndarray) -> tuple[Any, ...]:
    """A called op's backward; None for an input that needs a gradient cannot be replayed."""
    grads = _input_gradients(ctx, grad)
    for i, (parent, g) in enumerate(zip(ctx.parents, grads, strict=True)):
        if parent is not None and g is None:
            raise ValueError(
                f"{type(ctx).__name__}.backward returned None for argument {i}, which needs a "
                f"gradient: a replayed graph needs every one (use eager backward())"
            )
    return grads


def add_grad(leaf: Tensor, grad: np.ndarray, buffer: np.ndarray) -> None:
    """leaf.grad += grad as ``tensor._accumulate`` does, the first copy into ``buffer``."""
    if leaf._grad is None:  # the slot itself: the buffer has the leaf's shape, by capture
        np.copyto(buffer, grad)
        leaf._grad = buffer
    else:
        leaf._grad += grad


# ---------------------------------------------------------------------- generating
@dataclass
class Step:
    """The generated code: its source, and the functions compiled from it."""

    source: str
    forward: Callable[[], None]
    backward: Callable[[], None] | None
    nbytes: int  # of the buffers allocated for it
    namespace: dict[str, Any]  # where the outputs' arrays are, after forward()
    output_names: list[str]


def generate(
    nodes: list[Node],
    outputs: tuple[Tensor, ...],
    leaves: list[Tensor],
    names: dict[int, str],
    constants: dict[int, float],
    accumulate: bool = False,
) -> Step:
    """Write the step of ``nodes`` (in application order) as Python, and compile it."""
    p = Program(accumulate)
    p.env.update(
        replayed=replayed,
        needed_gradients=needed_gradients,
        add_grad=add_grad,
        leaves_changed=leaves_changed,
    )
    p.taken.update(p.env)
    value: dict[int, str] = {}
    leaf_tensor: dict[int, str] = {}
    reads = []
    for leaf in leaves:
        name = p.fresh(names.get(id(leaf), "x"), numbered=id(leaf) not in names)
        value[id(leaf)] = name
        leaf_tensor[id(leaf)] = p.bind(f"{name}_tensor", leaf)
        reads.append(f"{name} = {leaf_tensor[id(leaf)]}.data")
        if leaf.requires_grad:
            p.leaf_buffer[id(leaf)] = p.buffer("d" + name, leaf.data.shape)
            p.pinned.add(p.leaf_buffer[id(leaf)])
    forward_start = len(p.lines)
    for node in nodes:
        rule = _rule(node)
        for arg in node.args:
            if isinstance(arg, Tensor):
                node.inputs.append(value[id(arg)])
                node.consts.append(constants.get(id(arg)))
            else:
                node.inputs.append(None)
                node.consts.append(None)
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
    nbytes = _allocate(p, forward_lines + backward_lines)
    for output in outputs:
        tensor = p.bind("output_tensor", output)
        forward_lines.append((f"{tensor}.data = {value[id(output)]}", ()))
    used = set(re.findall(r"\w+", " ".join(text for text, _ in forward_lines)))
    read = [leaf for leaf in leaves if id(leaf) not in constants or value[id(leaf)] in used]
    check = [(line, ()) for line in _leaf_check(p, read, value)]
    forward_source = _function("forward", reads, check + forward_lines, p.globals)
    backward_source = _function("backward", reads, backward_lines, []) if backward_lines else ""
    source = forward_source + ("\n\n" + backward_source if backward_source else "")
    namespace = dict(p.env)
    exec(compile(source, "<compiled step>", "exec"), namespace)  # noqa: S102 (our own code)
    names_of_outputs = [value[id(output)] for output in outputs]
    return Step(
        source, namespace["forward"], namespace.get("backward"), nbytes, namespace, names_of_outputs
    )


def _contribute(p: Program, leaf: Tensor, g: Grad, tensor: str, contributed: set[int]) -> None:
    """Add one gradient into a leaf's, in walk order: copy the first, add the rest."""
    buffer = p.leaf_buffer[id(leaf)]
    if p.accumulate:
        p.emit(f"add_grad({tensor}, {p.literal(g)}, {buffer})")
    elif id(leaf) not in contributed:
        if g.expr != buffer:
            p.emit(f"np.copyto({buffer}, {p.literal(g)})")
    else:
        p.emit(f"np.add({buffer}, {p.literal(g)}, out={buffer})")
    contributed.add(id(leaf))
    p.leaf_started.add(id(leaf))


def _leaf_check(p: Program, leaves: list[Tensor], value: dict[int, str]) -> list[str]:
    """Lines refusing leaves whose shape or dtype changed since capture (one comparison)."""
    if not leaves:
        return []
    got = [f"    {value[id(leaf)]}.shape, {value[id(leaf)]}.dtype," for leaf in leaves]
    expected = p.bind("captured", tuple(x for leaf in leaves for x in (leaf.shape, _FLOAT64)))
    return [
        "# the leaves keep the shapes (and dtype) they had at capture",
        "if (",
        *got,
        f") != {expected}:",
        f"    leaves_changed({p.bind('leaf_tensors', list(leaves))}, {expected})",
    ]


_FLOAT64 = np.dtype(np.float64)


def leaves_changed(leaves: list[Tensor], captured: tuple[Any, ...]) -> None:
    """Raise the GraphChangedError naming the first leaf whose shape or dtype changed."""
    for leaf, shape in zip(leaves, captured[::2], strict=True):
        data = leaf.data
        if data.shape != shape or data.dtype != _FLOAT64:
            raise GraphChangedError(
                f"a leaf of the captured graph had shape {shape}, float64, and now has "
                f"shape {data.shape}, {data.dtype}: capture the graph again"
            )


def _function(
    name: str,
    reads: list[str],
    lines: list[tuple[str, tuple[str, ...]]],
    globals_: list[str],
) -> str:
    body = [text for text, _ in lines]
    used = set(re.findall(r"\w+", " ".join(body)))
    needed = [read for read in reads if read.split(" = ")[0] in used]
    declared = [f"global {', '.join(globals_)}"] if globals_ else []
    return "\n".join([f"def {name}():", *(f"    {line}" for line in [*declared, *needed, *body])])


_ELEMENTWISE = re.compile(r"np\.(add|subtract|multiply|divide|tanh|exp|log|maximum)\(")


def _allocate(p: Program, lines: list[tuple[str, tuple[str, ...]]]) -> int:
    """Give every buffer an array; buffers of one shape whose lives do not overlap share one.

    A buffer lives from the first line that names it (or one of its views) to the last;
    pinned buffers (outputs, leaf gradients, what a called op may keep) live for ever. An
    elementwise ufunc may write over an input of its own shape that dies on its line
    (``np.tanh(z1, out=a1)`` with z1 dead after: a1 takes z1's array), which numpy
    computes in place exactly. Returns the bytes allocated.
    """
    base_of = {name: base for name, (base, _) in p.views.items()}
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
    free: dict[tuple[int, ...], list[str]] = {}
    ending: dict[int, list[str]] = {}
    nbytes = 0
    for name in sorted(p.buffers, key=lambda n: first.get(n, -1)):
        shape = p.buffers[name]
        if name not in first:  # never used: still give it an array, unshared
            p.env[name] = np.empty(shape)
            nbytes += p.env[name].nbytes
            continue
        line = first[name]
        for i in [k for k in ending if k < line]:
            for dead in ending.pop(i):
                free.setdefault(p.buffers[dead], []).append(dead)
        dying_here = [
            other
            for other in ending.get(line, [])
            if other in direct[line] and p.buffers[other] == shape and other != name
        ]
        if name in direct[line] and dying_here:
            taken = dying_here[0]
            ending[line].remove(taken)
            p.env[name] = p.env[taken]
        elif free.get(shape):
            p.env[name] = p.env[free[shape].pop()]
        else:
            p.env[name] = np.empty(shape)
            nbytes += p.env[name].nbytes
        if name not in p.pinned:
            ending.setdefault(last[name], []).append(name)
    for name, (base, make) in p.views.items():
        p.env[name] = make(p.env[base])
    return nbytes
