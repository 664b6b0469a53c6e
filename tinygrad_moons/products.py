"""numpy's products, diagonals and scans over Tensors: einsum (``ops.Einsum``, whose
backward is an einsum again) and what is written with it (tensordot, inner, outer, dot,
kron), the diagonal family, and cumsum, cumprod, diff and cross. Names, arguments and
results are numpy's; every one is differentiable to any order. ``functional`` re-exports
them.

>>> from tinygrad_moons import Tensor
>>> a = Tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
>>> einsum("ij,ij->", a, a).backward()
>>> a.grad
array([[2., 4.],
       [6., 8.]])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tinygrad_moons import ops
from tinygrad_moons.arrays import concatenate, stack
from tinygrad_moons.elementwise import as_tensor
from tinygrad_moons.tensor import Tensor
from tinygrad_moons.validate import axes as _axes

_tensor = as_tensor


# ---------------------------------------------------------------------- einsum
def _explicit(spec: str, shapes: list[tuple[int, ...]]) -> tuple[list[str], str]:
    """``spec``'s operand subscripts and output, with '...' spelled out in letters and
    the implicit output (no '->': the letters used once, sorted) made explicit."""
    spec = spec.replace(" ", "")
    inputs, arrow, output = spec.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(shapes):
        raise ValueError(
            f"einsum's subscripts {spec!r} name {len(terms)} operand(s), got {len(shapes)}"
        )
    used = set(spec) - set(".,->")
    spare = [c for c in ops._LETTERS if c not in used]
    widest = 0
    for term, shape in zip(terms, shapes):
        if "..." in term:
            widest = max(widest, len(shape) - (len(term) - 3))
    broadcast = "".join(spare[:widest])
    explicit = []
    for term, shape in zip(terms, shapes):
        if "..." in term:
            span = len(shape) - (len(term) - 3)
            term = term.replace("...", broadcast[widest - span :] if span else "")
        if len(term) != len(shape) or not all(c.isalpha() for c in term):
            raise ValueError(
                f"einsum's subscript {term!r} does not fit an operand of shape {shape}"
            )
        explicit.append(term)
    if not arrow:
        counts = "".join(explicit)
        once = sorted(c for c in set(counts) - set(broadcast) if counts.count(c) == 1)
        output = broadcast + "".join(once)
    else:
        output = output.replace("...", broadcast)
    return explicit, output


def _from_sublists(args: tuple[Any, ...]) -> tuple[str, tuple[Any, ...]]:
    """numpy's other form, einsum(op0, axes0, op1, axes1, ..., [axes_out]), as a string."""

    def letters(axes: Any) -> str:
        return "".join("..." if a is Ellipsis else ops._LETTERS[a] for a in axes)

    pairs = len(args) // 2
    operands = args[0 : 2 * pairs : 2]
    terms = [letters(axes) for axes in args[1 : 2 * pairs : 2]]
    output = "->" + letters(args[-1]) if len(args) % 2 else ""
    return ",".join(terms) + output, operands


def einsum(subscripts: Any, *operands: Any) -> Tensor:
    """numpy's einsum over Tensors ("ij,jk->ik", implicit output, '...' and numpy's
    sublist form included); each operand's gradient is an einsum of the output's gradient
    with the others, so it is differentiable to any order. A size-1 axis under '...'
    broadcasts, as numpy's.

    >>> einsum("ii", Tensor([[1.0, 2.0], [3.0, 4.0]])).item()
    5.0
    """
    if not isinstance(subscripts, str):
        subscripts, operands = _from_sublists((subscripts, *operands))
    tensors = [_tensor(x) for x in operands]
    terms, output = _explicit(subscripts, [t.shape for t in tensors])
    sizes: dict[str, int] = {}
    for term, t in zip(terms, tensors):
        for c, n in zip(term, t.shape):
            if sizes.get(c, 1) != 1 and n not in (1, sizes[c]):
                raise ValueError(
                    f"einsum: index {c!r} has sizes {sizes[c]} and {n} in {subscripts!r} for "
                    f"shapes {[t.shape for t in tensors]}"
                )
            sizes[c] = max(sizes.get(c, 1), n)
    used = set("".join(terms)) | set(output)
    spare = iter(c for c in ops._LETTERS if c not in used)
    renamed = []
    for term, t in zip(terms, tensors):  # a broadcast size-1 axis: its own summed index
        own = (next(spare) if n == 1 and sizes[c] > 1 else c for c, n in zip(term, t.shape))
        renamed.append("".join(own))
    for c in output:
        if c not in sizes:
            raise ValueError(f"einsum: output index {c!r} of {subscripts!r} names no operand axis")
    return ops.Einsum.apply(",".join(renamed) + "->" + output, *tensors)


def _letters(n: int, start: int = 0) -> str:
    return ops._LETTERS[start : start + n]


def tensordot(a: Any, b: Any, axes: Any = 2) -> Tensor:
    """The sum of products over a's ``axes[0]`` and b's ``axes[1]`` (an int n: a's last n
    with b's first n), as ``np.tensordot``; the free axes of a, then of b."""
    a, b = _tensor(a), _tensor(b)
    if isinstance(axes, np.ndarray):  # numpy's: an array of axes reads as its lists
        axes = axes.tolist()
    if isinstance(axes, (int, np.integer)):
        if not 0 <= axes <= min(a.ndim, b.ndim):
            raise ValueError(f"tensordot: axes={axes} for shapes {a.shape} and {b.shape}")
        a_axes, b_axes = tuple(range(a.ndim - axes, a.ndim)), tuple(range(axes))
    else:
        a_part, b_part = (p.tolist() if isinstance(p, np.ndarray) else p for p in axes)
        a_axes = _axes(a_part, a.ndim, a.shape)
        b_axes = _axes(b_part, b.ndim, b.shape)
        if len(a_axes) != len(b_axes):
            raise ValueError("shape-mismatch for sum")
    if any(a.shape[i] != b.shape[j] for i, j in zip(a_axes, b_axes)):
        raise ValueError(f"shape-mismatch for sum: shapes {a.shape} and {b.shape}, axes {axes}")
    a_term = list(_letters(a.ndim))
    b_term = list(_letters(b.ndim, a.ndim))
    for i, j in zip(a_axes, b_axes):
        b_term[j] = a_term[i]
    free = [c for i, c in enumerate(a_term) if i not in a_axes]
    free += [c for j, c in enumerate(b_term) if j not in b_axes]
    return einsum("".join(a_term) + "," + "".join(b_term) + "->" + "".join(free), a, b)


def inner(a: Any, b: Any) -> Tensor:
    """The sum of products over the last axes (a number times an array for 0-d), as
    ``np.inner``."""
    a, b = _tensor(a), _tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return tensordot(a, b, ([-1], [-1]))


def outer(a: Any, b: Any) -> Tensor:
    """out[i, j] = a[i] * b[j] of the flattened a and b, as ``np.outer``."""
    return einsum("i,j->ij", _tensor(a).ravel(), _tensor(b).ravel())


def dot(a: Any, b: Any) -> Tensor:
    """numpy's dot: a product for 0-d, the inner product of vectors, matmul of matrices, and
    the sum over a's last axis and b's second to last otherwise."""
    a, b = _tensor(a), _tensor(b)
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return tensordot(a, b, ([-1], [-2 if b.ndim >= 2 else 0]))


def kron(a: Any, b: Any) -> Tensor:
    """The Kronecker product, blocks a[i, j] * b, as ``np.kron`` (the shorter shape padded
    with leading 1s)."""
    a, b = _tensor(a), _tensor(b)
    ndim = max(a.ndim, b.ndim)
    a = a.reshape((1,) * (ndim - a.ndim) + a.shape)
    b = b.reshape((1,) * (ndim - b.ndim) + b.shape)
    left, right = _letters(ndim), _letters(ndim, ndim)
    paired = "".join(x + y for x, y in zip(left, right))
    return einsum(f"{left},{right}->{paired}", a, b).reshape(
        tuple(m * n for m, n in zip(a.shape, b.shape))
    )


# ---------------------------------------------------------------------- diagonals
def diagonal(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """The diagonal ``offset`` above the main one, as the last axis, as ``np.diagonal``."""
    return _tensor(x).diagonal(offset, axis1, axis2)


def trace(x: Any, offset: int = 0, axis1: int = 0, axis2: int = 1) -> Tensor:
    """The sum along a diagonal, as ``np.trace``."""
    return _tensor(x).trace(offset, axis1, axis2)


def diag(v: Any, k: int = 0) -> Tensor:
    """A 1-D v on the k-th diagonal of a square matrix of zeros, or the k-th diagonal of a
    2-D v, as ``np.diag``."""
    v = _tensor(v)
    if v.ndim == 2:
        return v.diagonal(k)
    if v.ndim != 1:
        raise ValueError("Input must be 1- or 2-d.")
    n = v.shape[0]
    size = n + abs(k)
    positions = np.full((size, size), n)  # position n: the appended zero
    steps = np.arange(n)
    positions[steps + max(-k, 0), steps + max(k, 0)] = steps
    return concatenate([v, Tensor._wrap(np.zeros(1))])[positions]


def _triangle(x: Any, k: int, keep_lower: bool) -> Tensor:
    x = _tensor(x)
    if x.ndim == 0:
        raise ValueError("tril and triu need an array of at least one dimension")
    # numpy's: the mask of the last two axes (of a 1-D x, a square one its rows broadcast to)
    lower = np.tri(*x.shape[-2:], k=k if keep_lower else k - 1, dtype=bool)
    return ops.Where.apply(lower if keep_lower else ~lower, x, Tensor._wrap(np.zeros(())))


def tril(x: Any, k: int = 0) -> Tensor:
    """x with the entries above the k-th diagonal of the last two axes zeroed, as
    ``np.tril``; those entries get no gradient."""
    return _triangle(x, k, keep_lower=True)


def triu(x: Any, k: int = 0) -> Tensor:
    """x with the entries below the k-th diagonal of the last two axes zeroed, as
    ``np.triu``; those entries get no gradient."""
    return _triangle(x, k, keep_lower=False)


# ---------------------------------------------------------------------- scans, differences
def prod(x: Any, axis: Any = None, keepdims: bool = False) -> Tensor:
    """The product over ``axis``, as ``np.prod``; gradients exact where some values are 0."""
    return _tensor(x).prod(axis, keepdims)


def cumsum(x: Any, axis: int | None = None) -> Tensor:
    """Running sums along ``axis`` (None: flattened), as ``np.cumsum``."""
    return _tensor(x).cumsum(axis)


def cumprod(x: Any, axis: int | None = None) -> Tensor:
    """Running products along ``axis`` (None: flattened), as ``np.cumprod``; gradients
    exact where some values are 0 (``Tensor.cumprod``)."""
    return _tensor(x).cumprod(axis)


def diff(x: Any, n: int = 1, axis: int = -1, prepend: Any = None, append: Any = None) -> Tensor:
    """The n-th differences along ``axis``, out[i] = x[i + 1] - x[i] applied n times, as
    ``np.diff`` (``prepend`` / ``append`` values joined first)."""
    x = _tensor(x)
    if n < 0:
        raise ValueError(f"order must be non-negative but got {n}")
    if x.ndim == 0:
        raise ValueError("diff requires input that is at least one dimensional")
    (axis,) = _axes(axis, x.ndim, x.shape)
    parts = []
    for extra in (prepend, x, append):
        if extra is None or extra is x:
            parts.append(extra)
            continue
        extra = _tensor(extra)
        if extra.ndim == 0:
            shape = list(x.shape)
            shape[axis] = 1
            extra = extra * Tensor._wrap(np.ones(shape))
        parts.append(extra)
    parts = [p for p in parts if p is not None]
    if len(parts) > 1:
        x = concatenate(parts, axis=axis)
    index = [slice(None)] * x.ndim
    for _ in range(n):
        index[axis] = slice(1, None)
        later = x[tuple(index)]
        index[axis] = slice(None, -1)
        x = later - x[tuple(index)]
    return x


def sort(x: Any, axis: int | None = -1) -> Tensor:
    """The values sorted along ``axis`` (None: flattened), as ``np.sort``; each value's
    gradient goes back to where it came from."""
    return _tensor(x).sort(axis)


def cross(
    a: Any,
    b: Any,
    axisa: int = -1,
    axisb: int = -1,
    axisc: int = -1,
    axis: int | None = None,
) -> Tensor:
    """The cross product of 3-vectors, as ``np.cross``: the vectors along ``axisa`` of a
    and ``axisb`` of b (the other axes broadcast), the result's along ``axisc``; ``axis``,
    when given, sets all three."""
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = _tensor(a).moveaxis(axisa, -1), _tensor(b).moveaxis(axisb, -1)
    if a.shape[-1] != 3 or b.shape[-1] != 3:
        raise ValueError(
            f"cross needs vectors of 3 components; got shapes {a.shape} and {b.shape} "
            f"(the vector axes moved last)"
        )
    ax, ay, az = (a[..., i] for i in range(3))
    bx, by, bz = (b[..., i] for i in range(3))
    out = stack([ay * bz - az * by, az * bx - ax * bz, ax * by - ay * bx], axis=-1)
    return out.moveaxis(-1, axisc)


__all__ = [
    "cross", "cumprod", "cumsum", "diag", "diagonal", "diff", "dot", "einsum", "inner",
    "kron", "outer", "prod", "sort", "tensordot", "trace", "tril", "triu",
]  # fmt: skip
