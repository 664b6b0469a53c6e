"""The ops the generated step writes out inline instead of calling: the write-up's network.

Each function here restates the maths of an op of ``ops.py``, its twin, named in its
docstring: Linear, MatMul, Add, Mul, Tanh, SoftmaxCrossEntropy, SumOfSquares. The twins
must agree bit for bit; ``tests/compiled/test_codegen.py`` holds every pair to it with a
property test, so changing an op's arithmetic in ``ops.py`` means changing its rule here.
Every other op is called (its own ``forward`` and ``backward``), and needs nothing here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tinygrad_moons import ops, validate
from tinygrad_moons.codegen.program import Grad, Node, Program
from tinygrad_moons.tensor import Function


# ---------------------------------------------------------------------- restated ops
def _unbroadcast(p: Program, grad: Grad, grad_shape, shape, target: Callable[[], str]) -> Grad:
    """``ops.unbroadcast`` written out: sum the broadcast axes (two sums when both kinds;
    a 2-D gradient's column sums as ``ops.column_sums``)."""
    if tuple(grad_shape) == tuple(shape):
        return grad
    expr = p.literal(grad)
    if (
        len(grad_shape) == 2
        and grad.const is None
        and tuple(shape) in ((grad_shape[1],), (1, grad_shape[1]))
    ):  # a bias's gradient: ops.column_sums, BLAS's ones @ grad
        out = target()
        vector = ops.ones_vector(grad_shape[0])
        ones = next((k for k, v in p.env.items() if v is vector), None) or p.bind("ones", vector)
        _product(p, ones, expr, out if len(shape) == 1 else out + "[0]")
        return Grad(out)
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


def _product(p: Program, a: str, b: str, out: str) -> None:
    """out = a @ b as ``ops.matrix_product`` computes it: ``ndarray.dot`` where both operands
    are laid out whole (C or Fortran order, a transpose included), ``np.matmul`` else; the
    same bits either way. Buffers and bound constants are whole by construction; a leaf's
    array (or a called op's result) is asked at every replay, as the eager op asks."""
    asked = [
        name for name in dict.fromkeys(x.removesuffix(".T") for x in (a, b)) if not _whole(p, name)
    ]
    dot = f"{a}.dot({b}, out={out})"
    if not asked:
        p.emit(dot)
        return
    whole = " and ".join(f"{name}.flags.forc" for name in asked)
    if all(name in p.leaf_names for name in asked):
        # the leaf check's outcome first: True, every leaf is C-contiguous, and the flags
        # are asked (an attribute object each) only when a leaf took the check's slow path
        p.whole_flag = p.whole_flag or p.fresh("leaves_whole")
        p.vouched.update(asked)
        whole = f"{p.whole_flag} or {whole}"
    p.emit(f"{dot} if {whole} else np.matmul({a}, {b}, out={out})")


def _whole(p: Program, name: str) -> bool:
    """Whether ``name`` is always a float64 array in C or Fortran order: a buffer of the
    step, or a constant bound at capture that is one."""
    if name in p.buffers:
        return True
    value = p.env.get(name)
    return type(value) is np.ndarray and value.dtype == np.float64 and value.flags.forc


def _target(p: Program, node: Node, i: int) -> Callable[[], str]:
    """Where input i's gradient goes, asked for only when a line writes it."""
    return lambda: p.target(node, i, "d" + node.inputs[i])


def _operand(node: Node, i: int) -> str:
    const = node.consts[i]
    return repr(const) if const is not None else node.inputs[i]


def _forward_elementwise(ufunc: str, prefix: str) -> Callable[[Program, Node], str]:
    """z = x + y or z = x y into a buffer; twins: ``ops.Add.forward``, ``ops.Mul.forward``."""

    def forward(p: Program, node: Node) -> str:
        if node.result.data.shape == () and all(node.shape(i) == () for i in (0, 1)):
            operator = "+" if ufunc == "add" else "*"  # numbers: one rounding, as the ufunc
            return p.scalar(prefix, f"{_operand(node, 0)} {operator} {_operand(node, 1)}")
        after_matmul = ufunc == "add" and type(node.args[0]._ctx) is ops.MatMul
        name = "z" if after_matmul else prefix  # x W + b: the write-up's z; x W is xw
        out = p.buffer(name, node.result.data.shape, numbered=True)
        p.emit(f"np.{ufunc}({_operand(node, 0)}, {_operand(node, 1)}, out={out})")
        return out

    return forward


def _add_backward(p: Program, node: Node, grad: Grad) -> list[Grad | None]:
    """dx = dy = g, each summed to its input's shape; twin: ``ops.Add.backward``."""
    out_shape = node.result.data.shape
    return [
        _unbroadcast(p, grad, out_shape, node.shape(i), _target(p, node, i))
        if node.needs(i)
        else None
        for i in (0, 1)
    ]


def _mul_backward(p: Program, node: Node, grad: Grad) -> list[Grad | None]:
    """dx = unbroadcast(g * y), dy = unbroadcast(g * x); constants folded where known;
    twin: ``ops.Mul.backward``."""
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
    """z = x W (+ b, in place); twins: ``ops.MatMul.forward``, ``ops.Linear.forward``."""
    out = p.buffer("z" if len(node.args) == 3 else "xw", node.result.data.shape, numbered=True)
    _product(p, node.inputs[0], node.inputs[1], out)
    if len(node.args) == 3:  # Linear: the bias added in place, as ops.Linear does
        p.emit(f"np.add({out}, {node.inputs[2]}, out={out})")
    return out


def _matmul_backward(p: Program, node: Node, grad: Grad) -> list[Grad | None]:
    """dX = G W^T, dW = X^T G (and for Linear db = G summed over the broadcast rows);
    twins: ``ops.MatMul.backward``, ``ops.Linear.backward``."""
    g = p.literal(grad)
    x, w = node.inputs[0], node.inputs[1]
    grads: list[Grad | None] = [None] * len(node.args)
    if node.needs(0):
        out = p.target(node, 0, "d" + x)
        _product(p, g, f"{w}.T", out)
        grads[0] = Grad(out)
    if node.needs(1):
        out = p.target(node, 1, "d" + w)
        _product(p, f"{x}.T", g, out)
        grads[1] = Grad(out)
    if len(node.args) == 3 and node.needs(2):
        out_shape = node.result.data.shape
        grads[2] = _unbroadcast(
            p, Grad(g), out_shape, node.shape(2), lambda: p.target(node, 2, "d" + node.inputs[2])
        )
    return grads


def _tanh_forward(p: Program, node: Node) -> str:
    """a = tanh(z); twin: ``ops.Tanh.forward``."""
    out = p.buffer("a", node.result.data.shape, numbered=True)
    p.emit(f"np.tanh({node.inputs[0]}, out={out})")
    return out


def _tanh_backward(p: Program, node: Node, grad: Grad) -> list[Grad | None]:
    """dz = (1 - a^2) * g in one buffer, from the output a; twin: ``ops.Tanh.backward``."""
    a = node.out
    out = p.target(node, 0, "d" + node.inputs[0])
    p.emit(f"np.multiply({a}, {a}, out={out})")
    p.emit(f"np.subtract(1.0, {out}, out={out})")
    p.emit(f"np.multiply({out}, {p.literal(grad)}, out={out})")
    return [Grad(out)]


def _softmax_cross_entropy_forward(p: Program, node: Node) -> str:
    """Per row logsumexp(z) - z[y], shifted by the row maximum; twin:
    ``ops.SoftmaxCrossEntropy.forward``. Labels derived (a Tensor's, a mini-batch's, any
    that ``F.softmax_cross_entropy`` was given) and arrays handed to the op that may be
    written are read at every replay; read-only ones (fit's own copy) become constants."""
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
    if 1 < classes <= 16:  # as ops.SoftmaxCrossEntropy: one class at a time
        p.emit(f"np.maximum({columns[0]}, {columns[1]}, out={rowmax})", (z,))
        for column in columns[2:]:
            p.emit(f"np.maximum({rowmax}, {column}, out={rowmax})", (z,))
    else:
        p.emit(f"np.maximum.reduce({z}, axis=1, keepdims=True, out={rowmax})")
    p.emit(f"np.subtract({z}, {rowmax}, out={shifted})")
    shifted_flat = p.view(shifted, "flat", lambda a: a.reshape(-1))
    if node.inputs[1] is None and _unwritable(labels):  # the same at every replay
        picks = p.bind("picks", np.arange(n) * classes + np.asarray(labels).astype(np.intp))
    else:  # labels that may change (a batch's, the caller's): their positions every replay
        current = node.inputs[1] if node.inputs[1] is not None else p.bind("labels", labels)
        picks = node.saved["picks"] = p.bind("picks", np.empty(n, dtype=np.intp))
        row_starts = p.bind("row_starts", np.arange(n) * classes)
        checked = len(node.args) > 3 and node.args[3] is True  # by the caller (F's derived)
        if checked:
            p.emit(f"np.add({row_starts}, {current}, out={picks})")
        else:  # the op's own check, as eagerly; whole-number float labels cast exactly
            check = p.bind("check_labels", validate.class_labels)
            p.emit(f"{check}({current}, {n}, {classes}, copy=False)")
            p.emit(f"np.add({row_starts}, {current}, out={picks}, casting='unsafe')")
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
    if reduction == "sum":  # np.sum without its Python wrapper
        return p.scalar("ce", f"np.add.reduce({losses})")
    return p.scalar("ce", f"np.mean({losses})")


def _unwritable(array: Any) -> bool:
    """Whether no one can write ``array`` in place: it, or the array owning its memory,
    is read-only (a read-only view of a writable array is not enough)."""
    owner = array
    while isinstance(owner, np.ndarray) and isinstance(owner.base, np.ndarray):
        owner = owner.base
    return isinstance(owner, np.ndarray) and owner.base is None and not owner.flags.writeable


def _softmax_cross_entropy_backward(p: Program, node: Node, grad: Grad) -> list[Grad | None]:
    """dz = softmax(z) - onehot(y), scaled by the reduction's gradient; twin:
    ``ops.SoftmaxCrossEntropy.backward``."""
    labels, reduction = node.args[1], node.args[2]
    n, classes = node.shape(0)
    out = p.target(node, 0, "d" + node.inputs[0])
    if "picks" not in node.saved:
        onehot = np.zeros((n, classes))
        onehot[np.arange(n), np.asarray(labels).astype(np.intp)] = 1.0  # checked whole numbers
        p.emit(f"np.subtract({node.saved['probs']}, {p.bind('onehot', onehot)}, out={out})")
    else:  # as ops.SoftmaxCrossEntropy: a copy of the softmax, minus 1 at each label
        p.emit(f"np.copyto({out}, {node.saved['probs']})")
        flat = p.view(out, "flat", lambda a: a.reshape(-1)) if out in p.buffers else out
        p.emit(f"{flat}[{node.saved['picks']}] -= 1.0", (out,))
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
    return [Grad(out)] + [None] * (len(node.args) - 1)  # none for the labels and settings


def _sum_of_squares_forward(p: Program, node: Node) -> str:
    """l2 = sum of x^2 over every input; twin: ``ops.SumOfSquares.forward``."""
    terms = " + ".join(f"np.vdot({a}, {a})" for a in node.inputs)
    return p.scalar("l2_", terms)


def _sum_of_squares_backward(p: Program, node: Node, grad: Grad) -> list[Grad | None]:
    """d l2 / dx = 2 x, times the incoming gradient (one number); twin:
    ``ops.SumOfSquares.backward``."""
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
