"""Tensor, Function and no_grad: the graph, and the one piece of code that walks it.

A ``Tensor`` holds a float64 ndarray, a ``grad`` and, when it was made by an op, the
``Function`` instance (the *context*) that made it. The context remembers where each
input's gradient goes (the context that made that input, or the leaf Tensor itself), so
the outputs link back to the leaves and ``backward()`` can walk the graph in reverse
topological order, asking each op for its vector-Jacobian product::

    grad_input = backward(ctx, grad_output)          # one per input, d loss / d input

No op is special here: ``ops.py`` defines every primitive as a ``Function`` subclass, and
the operator methods below only dispatch to them.

How ``tensor.py`` reaches ``ops`` without an import cycle: the methods call ``_ops.Add``
and friends through the module global ``_ops``, which ``ops.py`` fills in with itself as
the last line of its import (``tinygrad_moons/__init__.py`` imports both). ``tensor.py``
therefore imports numpy alone, and ``ops.py`` imports ``tensor.py`` the ordinary way.
"""

from __future__ import annotations

import functools
import itertools
import operator
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

_ops: Any = None  # set to the ops module by ops.py at its import; see the module docstring
_grad_enabled = True


class no_grad:  # noqa: N801 (torch's name, the documented API)
    """Record no graph inside the block (or the decorated function), as ``torch.no_grad``.

    >>> with no_grad():
    ...     y = Tensor([1.0], requires_grad=True) * 2
    >>> y.requires_grad
    False
    """

    def __enter__(self) -> None:
        global _grad_enabled
        self._previous = _grad_enabled
        _grad_enabled = False

    def __exit__(self, *exc_info: object) -> None:
        global _grad_enabled
        _grad_enabled = self._previous

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def without_graph(*args: Any, **kwargs: Any) -> Any:
            with no_grad():
                return func(*args, **kwargs)

        return without_graph


def is_grad_enabled() -> bool:
    """True unless a ``no_grad()`` block is active."""
    return _grad_enabled


def _as_float64_array(data: Any, what: str = "Tensor data") -> np.ndarray:
    """Copy ``data`` into a new float64 array, refusing what is not real numbers."""
    if isinstance(data, Tensor):
        return data.data.copy()
    array = np.asarray(data)
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{what} must be real numbers (bool, int or float), got dtype {array.dtype}"
        )
    return np.array(array, dtype=np.float64, copy=True)


class Tensor:
    """An n-dimensional float64 array that records the ops applied to it.

    >>> x = Tensor([[1.0, 2.0]], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    array([[2., 4.]])
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx")
    # numpy hands ``ndarray + Tensor`` back to Tensor.__radd__ instead of looping over it.
    __array_ufunc__ = None

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        self.data: np.ndarray = _as_float64_array(data)
        self.grad: np.ndarray | None = None
        self.requires_grad: bool = bool(requires_grad)
        self._ctx: Function | None = None

    @classmethod
    def _wrap(cls, array: np.ndarray, requires_grad: bool = False) -> Tensor:
        """A Tensor around ``array`` itself, no copy, no checks: for ops and the engine."""
        tensor = cls.__new__(cls)
        tensor.data = array
        tensor.grad = None
        tensor.requires_grad = requires_grad
        tensor._ctx = None
        return tensor

    # ------------------------------------------------------------------ attributes
    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than by an op that records a graph."""
        return self._ctx is None

    def __len__(self) -> int:
        return len(self.data)

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        if self.data.size != 1:
            raise ValueError(
                f"item() needs a tensor with one element, this one has shape {self.shape}"
            )
        return float(self.data.reshape(()))

    def numpy(self) -> np.ndarray:
        """The underlying array itself (no copy)."""
        return self.data

    def detach(self) -> Tensor:
        """A tensor sharing this one's data, cut from the graph, not requiring grad."""
        return Tensor._wrap(self.data)

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extra = ""
        if self._ctx is not None:
            extra = f", grad_fn={type(self._ctx).__name__}"
        elif self.requires_grad:
            extra = ", requires_grad=True"
        return f"Tensor({body}{extra})"

    # ------------------------------------------------------------------ backward
    def backward(self, grad: Any = None) -> None:
        """Add d(self)/d(leaf), contracted with ``grad``, into ``.grad`` of every leaf.

        ``grad`` defaults to 1.0 for a one-element tensor and must have this tensor's shape
        otherwise. The graph is kept, so it may be walked again (gradients add up again).
        """
        _backpropagate(self, self._seed(grad))

    def _seed(self, grad: Any) -> np.ndarray:
        """The gradient a backward pass from this tensor starts with, checked."""
        if not self.requires_grad:
            raise ValueError(
                "backward() was called on a tensor that does not require grad: "
                "no input of the expression has requires_grad=True, or it was built "
                "under no_grad()"
            )
        if grad is None:
            if self.data.size != 1:
                raise ValueError(
                    f"backward() without a gradient needs a one-element tensor; this one "
                    f"has shape {self.shape}: pass grad= of that shape"
                )
            return np.ones(self.shape)
        seed = _as_float64_array(grad, "the gradient passed to backward()")
        if seed.shape != self.shape:
            raise ValueError(
                f"backward() got a gradient of shape {seed.shape} for a tensor of "
                f"shape {self.shape}"
            )
        return seed

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other: Any) -> Tensor:
        return _ops.Add.apply(self, _lift(other))

    def __radd__(self, other: Any) -> Tensor:
        return _ops.Add.apply(_lift(other), self)

    def __sub__(self, other: Any) -> Tensor:
        return _ops.Sub.apply(self, _lift(other))

    def __rsub__(self, other: Any) -> Tensor:
        return _ops.Sub.apply(_lift(other), self)

    def __mul__(self, other: Any) -> Tensor:
        return _ops.Mul.apply(self, _lift(other))

    def __rmul__(self, other: Any) -> Tensor:
        return _ops.Mul.apply(_lift(other), self)

    def __truediv__(self, other: Any) -> Tensor:
        return _ops.Div.apply(self, _lift(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ops.Div.apply(_lift(other), self)

    def __neg__(self) -> Tensor:
        return _ops.Neg.apply(self)

    def __pow__(self, exponent: float) -> Tensor:
        if isinstance(exponent, Tensor) or np.ndim(exponent) != 0:
            raise TypeError(
                f"Tensor ** x takes a Python number as the exponent, got "
                f"{type(exponent).__name__}; write (x * t.log()).exp() for a tensor power"
            )
        return _ops.Pow.apply(self, float(exponent))

    def __matmul__(self, other: Any) -> Tensor:
        return _ops.MatMul.apply(self, _lift(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return _ops.MatMul.apply(_lift(other), self)

    # ------------------------------------------------------------------ reductions
    def sum(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return _ops.Sum.apply(self, axis, keepdims)

    def mean(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        return _ops.Mean.apply(self, axis, keepdims)

    def max(self, axis: int | tuple[int, ...] | None = None, keepdims: bool = False) -> Tensor:
        """Maximum; tied maxima share the gradient equally, like ``torch.amax``."""
        return _ops.Max.apply(self, axis, keepdims)

    def argmax(self, axis: int = -1) -> np.ndarray:
        """Indices of the maxima along ``axis``, as an ndarray (no gradient)."""
        return np.argmax(self.data, axis=axis)

    # ------------------------------------------------------------------ elementwise
    def exp(self) -> Tensor:
        return _ops.Exp.apply(self)

    def log(self) -> Tensor:
        return _ops.Log.apply(self)

    def sqrt(self) -> Tensor:
        return _ops.Sqrt.apply(self)

    def abs(self) -> Tensor:
        return _ops.Abs.apply(self)

    def tanh(self) -> Tensor:
        return _ops.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        return _ops.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return _ops.ReLU.apply(self)

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = tuple(shape[0])
        return _ops.Reshape.apply(self, shape)

    @property
    def T(self) -> Tensor:
        return _ops.Transpose.apply(self)

    def __getitem__(self, index: Any) -> Tensor:
        return _ops.GetItem.apply(self, _plain_index(index))

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]


def _lift(value: Any) -> Tensor:
    """An operand as a Tensor: Tensors pass through, numbers and arrays become constants.

    A float64 array is wrapped, not copied: a constant is only ever read, never written.
    (As with ``torch.from_numpy``, changing that array before ``backward()`` changes the
    gradient of ops that saved it.)
    """
    if isinstance(value, Tensor):
        return value
    if type(value) is np.ndarray and value.dtype == np.float64:
        return Tensor._wrap(value)
    if type(value) is float or type(value) is int:
        return Tensor._wrap(np.array(value, dtype=np.float64))
    return Tensor(value)


def _plain_index(index: Any) -> Any:
    """Refuse Tensors as indices: their float64 data cannot tell a mask from positions."""
    parts = index if isinstance(index, tuple) else (index,)
    for part in parts:
        if isinstance(part, Tensor):
            raise TypeError(
                "index a Tensor with ints, slices or an ndarray of ints or bools, not with a "
                "Tensor (its float64 data cannot tell a boolean mask from positions)"
            )
    return index


class Function:
    """An op with a forward and a backward on ndarrays; ``apply`` records it in the graph.

    Subclass it with two static methods, as in ``torch.autograd.Function``::

        class Square(Function):
            @staticmethod
            def forward(ctx, x):                 # ndarrays in, ndarray out
                ctx.save_for_backward(x)
                return x * x
            @staticmethod
            def backward(ctx, grad):             # d loss/d out in, d loss/d x out
                (x,) = ctx.saved_tensors
                return 2 * x * grad

    An instance is the context of one application and a node of the graph. ``parents``
    holds, per forward argument, where its gradient goes: the context that made it, the
    leaf Tensor itself, or None when it needs none. The graph links contexts, not the
    intermediate Tensors, so an intermediate's data is freed once nothing else holds it
    (only what ``save_for_backward`` keeps stays alive), as in PyTorch. ``needs_input_grad``
    says which arguments need a gradient; ``forward`` may keep anything else on the context.
    """

    parents: tuple[Function | Tensor | None, ...]
    needs_input_grad: tuple[bool, ...]
    saved_tensors: tuple[np.ndarray, ...] = ()

    def save_for_backward(self, *arrays: Any) -> None:
        self.saved_tensors = arrays

    @staticmethod
    def forward(ctx: Function, *args: Any) -> np.ndarray:
        raise NotImplementedError("a Function subclass defines forward(ctx, *args)")

    @staticmethod
    def backward(ctx: Function, grad: np.ndarray) -> Any:
        raise NotImplementedError("a Function subclass defines backward(ctx, grad)")

    @classmethod
    def apply(cls, *args: Any) -> Tensor:
        """Run ``forward`` on the arrays of the Tensor arguments and record the result.

        Tensors reach ``forward`` as their ndarrays; every other argument reaches it as is
        and gets no gradient.
        """
        ctx = cls()
        arrays = []
        parents = []
        for arg in args:
            if not isinstance(arg, Tensor):
                arrays.append(arg)
                parents.append(None)
                continue
            arrays.append(arg.data)
            if not arg.requires_grad:
                parents.append(None)
            elif arg._ctx is None:
                parents.append(arg)
            else:
                parents.append(arg._ctx)
        ctx.needs_input_grad = needs = tuple([parent is not None for parent in parents])
        out = _as_output(cls.forward(ctx, *arrays))
        requires_grad = _grad_enabled and True in needs
        result = Tensor._wrap(out, requires_grad)
        if requires_grad:
            ctx.parents = tuple(parents)
            ctx._shape = out.shape
            ctx._number = next(_op_numbers)
            result._ctx = ctx
        if _tape is not None:
            _tape.append((ctx, args, result))
        return result


def _as_output(out: Any) -> np.ndarray:
    """What ``forward`` returned as a float64 ndarray (numpy scalars and ints become arrays)."""
    if type(out) is not np.ndarray or out.dtype != np.float64:
        out = np.asarray(out, dtype=np.float64)
    return out


# Ops are numbered as they are applied, so an op's number is larger than its inputs' ops'.
_op_numbers = itertools.count()
_by_number = operator.attrgetter("_number")
# While graph.capture records a function, every application lands here: (ctx, args, result).
_tape: list[tuple[Function, tuple[Any, ...], Tensor]] | None = None


def _topological_order(root: Function) -> list[Function]:
    """Every op that ``root`` depends on through tensors requiring grad, outputs first.

    A loop over a stack, not recursion: a graph's depth is limited by memory, not by
    Python's recursion limit. Sorting by application number, newest first, puts every op
    after all the ops that consume its output.
    """
    found = {root}
    stack = [root]
    while stack:
        for parent in stack.pop().parents:
            if isinstance(parent, Function) and parent not in found:
                found.add(parent)
                stack.append(parent)
    return sorted(found, key=_by_number, reverse=True)


def trace_backward(root: Tensor, grad: Any = None) -> dict[Function, np.ndarray]:
    """``root.backward(grad)``, also returning the gradient that reached every op's output.

    For looking inside a graph (``plot.computation_graph`` draws it): the keys are the
    contexts of the ops, the values d root / d (that op's output). Leaves get ``.grad`` as
    with ``backward``.
    """
    reached: dict[Function, np.ndarray] = {}
    _backpropagate(root, root._seed(grad), reached=reached)
    return reached


def _backpropagate(
    root: Tensor,
    seed: np.ndarray,
    order: list[Function] | None = None,
    reached: dict[Function, np.ndarray] | None = None,
) -> None:
    """Walk the graph from ``root`` backwards, adding each leaf's gradient into ``.grad``.

    d loss/d input = sum over the ops that use it of their vector-Jacobian products. An
    op's incoming gradients are summed in ``pending`` (keyed by the context itself) before
    its backward runs. A leaf's first gradient is copied, since the array may be shared
    (Add hands one array to both inputs); later ones are added into that copy in place.
    ``order`` is ``_topological_order(root._ctx)``, passed in when it is known already;
    ``reached``, when given, collects each op's summed output gradient.
    """
    if root._ctx is None:
        _accumulate(root, seed)
        return
    if order is None:
        order = _topological_order(root._ctx)
    pending: dict[Function, np.ndarray] = {root._ctx: seed}
    for ctx in order:
        grad = pending.pop(ctx, None)
        if grad is None:
            continue
        if reached is not None:
            reached[ctx] = grad
        input_grads = ctx.backward(ctx, grad)
        parents = ctx.parents
        if len(parents) == 1:
            input_grads = (input_grads,)
        elif not isinstance(input_grads, (tuple, list)) or len(input_grads) != len(parents):
            raise ValueError(
                f"{type(ctx).__name__}.backward must return a tuple of {len(parents)} "
                f"gradients (one per forward argument, None where there is none)"
            )
        for parent, parent_grad in zip(parents, input_grads, strict=True):
            if parent is None or parent_grad is None:
                continue
            is_op = type(parent) is not Tensor
            shape = parent._shape if is_op else parent.data.shape
            grad_shape = getattr(parent_grad, "shape", None)
            if grad_shape is None:  # a Python number from a user's backward
                grad_shape = np.shape(parent_grad)
            if grad_shape != shape:
                raise ValueError(
                    f"{type(ctx).__name__}.backward returned a gradient of shape "
                    f"{np.shape(parent_grad)} for an input of shape {shape}"
                )
            if not is_op:
                _accumulate(parent, parent_grad)
            elif parent in pending:
                pending[parent] = pending[parent] + parent_grad
            else:
                pending[parent] = parent_grad


def _accumulate(leaf: Tensor, grad: Any) -> None:
    """leaf.grad += grad; the first time, a float64 copy, which the framework then owns."""
    if leaf.grad is None:
        leaf.grad = np.array(grad, dtype=np.float64)
    else:
        leaf.grad += grad
