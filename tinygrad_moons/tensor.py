"""Tensor, Function and no_grad: the graph, and the one piece of code that walks it.

A ``Tensor`` holds a float64 ndarray, a ``grad`` and, when it was made by an op, the
``Function`` instance (the *context*) that made it. The context remembers the op's inputs,
so the outputs link back to the leaves and ``backward()`` can walk the graph in reverse
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
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

_ops: Any = None  # set to the ops module by ops.py at its import; see the module docstring
_grad_enabled = True


class no_grad:
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
            seed = np.ones(self.shape)
        else:
            seed = _as_float64_array(grad, "the gradient passed to backward()")
            if seed.shape != self.shape:
                raise ValueError(
                    f"backward() got a gradient of shape {seed.shape} for a tensor of "
                    f"shape {self.shape}"
                )
        _backpropagate(self, seed)

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
    """An operand as a Tensor: Tensors pass through, numbers and arrays become constants."""
    if isinstance(value, Tensor):
        return value
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

    An instance is the context of one application: it keeps the inputs (``parents``), which
    of them need a gradient (``needs_input_grad``) and whatever ``forward`` saves on it.
    """

    parents: tuple[Tensor | None, ...]
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
        needs = tuple(isinstance(a, Tensor) and a.requires_grad for a in args)
        ctx.needs_input_grad = needs
        arrays = [a.data if isinstance(a, Tensor) else a for a in args]
        out = cls.forward(ctx, *arrays)
        if type(out) is not np.ndarray or out.dtype != np.float64:
            out = np.asarray(out, dtype=np.float64)
        requires_grad = _grad_enabled and any(needs)
        result = Tensor._wrap(out, requires_grad)
        if requires_grad:
            ctx.parents = tuple(a if isinstance(a, Tensor) else None for a in args)
            result._ctx = ctx
        return result


def _topological_order(root: Tensor) -> list[Tensor]:
    """Every tensor that requires grad and that ``root`` depends on, inputs first.

    Iterative depth-first search: a graph's depth is limited by memory, not by Python's
    recursion limit.
    """
    order: list[Tensor] = []
    visited: set[int] = {id(root)}
    stack: list[tuple[Tensor, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if children_done:
            order.append(node)
            continue
        stack.append((node, True))
        if node._ctx is None:
            continue
        for parent in node._ctx.parents:
            if parent is not None and parent.requires_grad and id(parent) not in visited:
                visited.add(id(parent))
                stack.append((parent, False))
    return order


def _backpropagate(root: Tensor, seed: np.ndarray) -> None:
    """Walk the graph from ``root`` backwards, summing gradients per node.

    Gradients of intermediate tensors live only in a dict during the walk; leaves that
    require grad get theirs added into ``.grad``.
    """
    grads: dict[int, np.ndarray] = {id(root): seed}
    for node in reversed(_topological_order(root)):
        grad = grads.pop(id(node), None)
        if grad is None:
            continue
        ctx = node._ctx
        if ctx is None:
            if node.grad is None:
                node.grad = np.array(grad, dtype=np.float64, copy=True)
            else:
                node.grad += grad
            continue
        input_grads = type(ctx).backward(ctx, grad)
        if len(ctx.parents) == 1:
            input_grads = (input_grads,)
        elif not isinstance(input_grads, (tuple, list)) or len(input_grads) != len(ctx.parents):
            raise ValueError(
                f"{type(ctx).__name__}.backward must return a tuple of {len(ctx.parents)} "
                f"gradients (one per forward argument, None where there is none)"
            )
        for parent, parent_grad in zip(ctx.parents, input_grads):
            if parent is None or parent_grad is None or not parent.requires_grad:
                continue
            if np.shape(parent_grad) != parent.data.shape:
                raise ValueError(
                    f"{type(ctx).__name__}.backward returned a gradient of shape "
                    f"{np.shape(parent_grad)} for an input of shape {parent.data.shape}"
                )
            key = id(parent)
            if key in grads:
                grads[key] = grads[key] + parent_grad
            else:
                grads[key] = parent_grad
