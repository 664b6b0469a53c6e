"""Tensor, Function and no_grad: the graph, and the one piece of code that walks it.

A ``Tensor`` holds a float64 ndarray, a ``grad`` and, when it was made by an op, the
``Function`` instance (the *context*) that made it. The context remembers where each
input's gradient goes (the context that made that input, or the leaf Tensor itself), so
the outputs link back to the leaves and ``backward()`` can walk the graph in reverse
topological order, asking each op for its vector-Jacobian product::

    grad_input = backward(ctx, grad_output)          # one per input, d loss / d input

No op is special here: ``ops.py`` defines every primitive as a ``Function`` subclass, and
Tensor's operators (``+``, ``@``, ``.sum()``, ``t[i]``, ``+=``, ...) call their ``apply``.
That is the package's one mutual import, tensor <-> ops: ``ops`` subclasses ``Function``
from here, and this module imports ``ops`` on its last line, once ``Function`` exists.
"""

from __future__ import annotations

import functools
import itertools
import operator
import threading
import types
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from tinygrad_moons.validate import axes as _axes

Axis = int | tuple[int, ...] | None


class Recorder:
    """What watches the engine at work: subclass it, override either method, install it for
    the current thread with ``recording(recorder)``. The one hook tools use: graph capture
    records the ops that ``Function.apply`` applies, the graph drawing the gradients that
    the backward walk hands to each op.
    """

    def applied(self, ctx: Function, args: tuple[Any, ...], result: Tensor) -> None:
        """``Function.apply`` made ``result`` from ``args``; ``ctx`` is its context."""

    def reached(self, ctx: Function, grad: np.ndarray) -> None:
        """The backward walk is about to call ``ctx``'s backward with ``grad`` (d root/d out)."""

    def derived(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """``derived(fn, *args, **kwargs)`` was called: compute and return the value (graph
        capture returns one it can recompute at every replay)."""
        return fn(*_arrays_in(args), **_arrays_in(kwargs))

    def made(self, tensor: Tensor, source: Any) -> None:
        """``tensor`` was made from ``source`` outside any op: ``Tensor(source)``, or
        ``source.detach()``."""

    def escaped(self, call: str, tensor: Tensor) -> None:
        """A value of ``tensor`` is leaving the Tensor API through ``call`` (``"item()"``,
        ``"float()"``, ``"numpy()"``, ...): graph capture refuses it."""


class _ThreadState(threading.local):
    """Grad mode and the recorder, per thread (as torch's grad mode): a ``no_grad()`` block
    or a capture in one thread leaves every other thread recording as before."""

    grad_enabled = True
    recorder: Recorder | None = None


_state = _ThreadState()


@contextmanager
def recording(recorder: Recorder) -> Iterator[Recorder]:
    """Install ``recorder`` for the current thread inside the block (one at a time).

    >>> class Names(Recorder):
    ...     def __init__(self):
    ...         self.ops = []
    ...     def applied(self, ctx, args, result):
    ...         self.ops.append(type(ctx).__name__)
    >>> with recording(Names()) as names:
    ...     y = (Tensor([1.0, 2.0]) * 3).sum()
    >>> names.ops
    ['Mul', 'Sum']
    """
    if _state.recorder is not None:
        raise RuntimeError(
            "a recorder is already installed in this thread (capture() was called inside a "
            "function being captured, or inside another recording)"
        )
    _state.recorder = recorder
    try:
        yield recorder
    finally:
        _state.recorder = None


class no_grad:  # noqa: N801 (torch's name, the documented API)
    """Record no graph inside the block (or the decorated function), as ``torch.no_grad``:
    in the current thread only, so other threads keep recording.

    >>> with no_grad():
    ...     y = Tensor([1.0], requires_grad=True) * 2
    >>> y.requires_grad
    False
    """

    def __enter__(self) -> None:
        self._previous = _state.grad_enabled
        _state.grad_enabled = False

    def __exit__(self, *exc_info: object) -> None:
        _state.grad_enabled = self._previous

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def without_graph(*args: Any, **kwargs: Any) -> Any:
            with no_grad():
                return func(*args, **kwargs)

        return without_graph


def derived(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn`` on the data of the Tensors in ``args``: a value computed from data, outside
    the graph and without a gradient (a comparison, ``argmax``, a random mask).

    Comparisons and ``argmax`` go through it; so does a layer's random draw (``Dropout``).
    Eagerly it is ``fn(*arrays)``; inside ``graph.capture`` it is recorded, so that every
    replay computes it afresh from the current data (and the same random stream).

    >>> derived(np.greater, Tensor([1.0, -1.0]), 0.0)
    array([ True, False])
    """
    recorder = _state.recorder
    if recorder is None:
        return fn(*_arrays_in(args), **_arrays_in(kwargs))
    return recorder.derived(fn, args, kwargs)


def _escaping(call: str, tensor: Tensor) -> None:
    """Tell the recorder, if any, that ``tensor``'s value leaves the Tensor API by ``call``."""
    if _state.recorder is not None:
        _state.recorder.escaped(call, tensor)


def is_grad_enabled() -> bool:
    """True unless a ``no_grad()`` block is active in the current thread."""
    return _state.grad_enabled


def _as_float64_array(data: Any, what: str = "Tensor data") -> np.ndarray:
    """Copy ``data`` into a new float64 array, refusing what is not real numbers."""
    if isinstance(data, Tensor):
        return data.data.copy()
    try:
        array = np.asarray(data)
    except ValueError:  # numpy's "inhomogeneous shape": rows of different lengths
        raise ValueError(
            f"{what} must be rectangular: nested lists of one length per level (got rows of "
            f"different lengths, or a mix of numbers and lists)"
        ) from None
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"{what} must be real numbers (bool, int or float), got dtype {array.dtype}"
        )
    return np.array(array, dtype=np.float64, copy=True)


_FLOAT64 = np.dtype(np.float64)  # the dtype's one instance: `is` is the quick test


class Tensor:
    """An n-dimensional float64 array that records the ops applied to it.

    >>> x = Tensor([[1.0, 2.0]], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    array([[2., 4.]])
    """

    __slots__ = ("data", "_grad", "requires_grad", "_ctx")
    # numpy hands ``ndarray + Tensor`` back to Tensor.__radd__ instead of looping over it.
    __array_ufunc__ = None

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        self.data: np.ndarray = _as_float64_array(data)
        self._grad: np.ndarray | None = None
        self.requires_grad: bool = bool(requires_grad)
        self._ctx: Function | None = None
        if _state.recorder is not None:
            _state.recorder.made(self, data)

    @classmethod
    def _wrap(cls, array: np.ndarray, requires_grad: bool = False) -> Tensor:
        """A Tensor around ``array`` itself, no copy, no checks: for ops and the engine."""
        tensor = cls.__new__(cls)
        tensor.data = array
        tensor._grad = None
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
    def grad(self) -> np.ndarray | None:
        """d(root)/d(self) summed over the backward passes that reached it, or None."""
        return self._grad

    @grad.setter
    def grad(self, value: Any) -> None:
        """None, or an array of this tensor's shape (a Tensor, a list: its float64 copy).

        Checked as torch checks it: a gradient of another shape would broadcast in an
        optimiser's step and update the parameter with the wrong numbers, silently.
        """
        if value is None or (
            type(value) is np.ndarray and value.dtype is _FLOAT64 and value.shape == self.data.shape
        ):
            self._grad = value
            return
        grad = _as_float64_array(value, "a tensor's grad")
        if grad.shape != self.shape:
            raise ValueError(
                f"cannot assign a grad of shape {grad.shape} to a tensor of shape "
                f"{self.shape}: the gradient must have the tensor's shape"
            )
        self._grad = grad

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than by an op that records a graph."""
        return self._ctx is None

    def __len__(self) -> int:
        """The size of the first axis; a 0-d tensor has none (a TypeError, as torch's)."""
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor: it has no first axis (use item())")
        return len(self.data)

    def __bool__(self) -> bool:
        """The truth of a one-element tensor; any other is ambiguous, as in torch and numpy.

        Without this, ``if t:`` would fall back to ``len(t)``: True for ``Tensor([0.0])``.
        """
        if self.data.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous: use "
                f"(t != 0).any() or (t != 0).all(), or t.item() for a one-element tensor"
            )
        _escaping("bool()", self)
        return bool(self.data.reshape(()))

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        _escaping("item()", self)
        return self._number()

    def _number(self) -> float:
        if self.data.size != 1:
            raise ValueError(
                f"item() needs a tensor with one element, this one has shape {self.shape}"
            )
        return float(self.data.reshape(()))

    def __float__(self) -> float:
        """``float(t)``: ``t.item()``, for a one-element tensor only, as in torch."""
        _escaping("float()", self)
        return self._number()

    def __int__(self) -> int:
        """``int(t)``: the one element truncated towards zero, as ``int(t.item())``."""
        _escaping("int()", self)
        return int(self._number())

    def numpy(self) -> np.ndarray:
        """The underlying array itself (no copy)."""
        _escaping("numpy()", self)
        return self.data

    def detach(self) -> Tensor:
        """A tensor sharing this one's data, cut from the graph, not requiring grad."""
        detached = Tensor._wrap(self.data)
        if _state.recorder is not None:
            _state.recorder.made(detached, self)
        return detached

    def __repr__(self) -> str:
        body = np.array2string(self.data, separator=", ", prefix="Tensor(")
        extra = ""
        if self._ctx is not None:
            extra = f", grad_fn={type(self._ctx).__name__}"
        elif self.requires_grad:
            extra = ", requires_grad=True"
        return f"Tensor({body}{extra})"

    # ------------------------------------------------------------------ numpy
    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(t)``: the data of a tensor that requires no grad; refused otherwise.

        Without this numpy would treat a Tensor as a sequence and build an object array of
        0-d Tensors (``np.array([t, t])``), losing the gradient silently.
        """
        _refuse_numpy("numpy.array", self)
        _escaping("numpy.asarray()", self)
        if dtype is not None and np.dtype(dtype) != self.data.dtype:
            if copy is False:
                raise ValueError(f"a Tensor's data are float64: no {dtype} view without a copy")
            return self.data.astype(dtype)
        return self.data.copy() if copy else self.data

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        """``np.dot(t, w)``, ``np.concatenate([t, u])`` ...: numpy on the data of tensors that
        require no grad (an ndarray results); refused for a tensor that requires grad, whose
        gradient numpy would drop. Tensor's ops and ``F`` keep it."""
        tensors = _tensors_in((args, kwargs))
        _refuse_numpy(f"numpy.{func.__name__}", *tensors)
        for tensor in tensors:
            _escaping(f"numpy.{func.__name__}()", tensor)
        return func(*_arrays_in(args), **_arrays_in(kwargs))

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other: Any) -> Tensor:
        return ops.Add.apply(self, _lift(other))

    def __radd__(self, other: Any) -> Tensor:
        return ops.Add.apply(_lift(other), self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(self, _lift(other))

    def __rsub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(_lift(other), self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(self, _lift(other))

    def __rmul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(_lift(other), self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(self, _lift(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(_lift(other), self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __pow__(self, exponent: Any) -> Tensor:
        """x ** p for a number p (``ops.Pow``), or elementwise for a Tensor or array
        exponent (``ops.TensorPow``, which also gives the exponent its gradient)."""
        if not isinstance(exponent, Tensor) and np.ndim(exponent) == 0:
            return ops.Pow.apply(self, float(exponent))
        return ops.TensorPow.apply(self, _lift(exponent))

    def __rpow__(self, base: Any) -> Tensor:
        """base ** t for a number or array base: d/dt = base^t ln(base)."""
        return ops.TensorPow.apply(_lift(base), self)

    def __matmul__(self, other: Any) -> Tensor:
        """numpy's matmul for operands of 2 or more dimensions, batch dimensions broadcasting;
        a 1-D operand or mismatched inner sizes is a ValueError naming both shapes."""
        return ops.MatMul.apply(self, _lift(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.MatMul.apply(_lift(other), self)

    # ------------------------------------------------------------------ in place
    def __iadd__(self, other: Any) -> Tensor:
        """t += x into t's own array (see ``_check_in_place`` for when it is refused)."""
        return _update(self, np.add, other, "+")

    def __isub__(self, other: Any) -> Tensor:
        """t -= x into t's own array: ``with no_grad(): p -= lr * p.grad`` updates p."""
        return _update(self, np.subtract, other, "-")

    def __imul__(self, other: Any) -> Tensor:
        return _update(self, np.multiply, other, "*")

    def __itruediv__(self, other: Any) -> Tensor:
        return _update(self, np.divide, other, "/")

    def __ipow__(self, other: Any) -> Tensor:
        return _update(self, np.power, other, "**")

    def __setitem__(self, index: Any, value: Any) -> None:
        """t[index] = v into t's own array, refused where ``t -= v`` would be."""
        _check_in_place(self, value, "t[index] = ...")
        values = _values(value)
        try:
            self.data[_plain_index(index)] = values
        except ValueError:
            raise ValueError(
                f"t[index] = v needs v to broadcast to the shape of t[index], "
                f"{self.data[index].shape}; got shape {np.shape(values)}"
            ) from None

    # ------------------------------------------------------------------ comparisons
    # Boolean ndarrays, no gradient (as torch's, whose results do not require grad); computed
    # through ``derived``, so that a graph capture recomputes them at every replay.
    def __lt__(self, other: Any) -> np.ndarray:
        return derived(np.less, self, other)

    def __le__(self, other: Any) -> np.ndarray:
        return derived(np.less_equal, self, other)

    def __gt__(self, other: Any) -> np.ndarray:
        return derived(np.greater, self, other)

    def __ge__(self, other: Any) -> np.ndarray:
        return derived(np.greater_equal, self, other)

    def __eq__(self, other: Any) -> np.ndarray:  # type: ignore[override]
        return derived(np.equal, self, other)

    def __ne__(self, other: Any) -> np.ndarray:  # type: ignore[override]
        return derived(np.not_equal, self, other)

    # Defining __eq__ would make Tensors unhashable; they hash by identity, as torch's,
    # so they can be kept in sets and used as dict keys.
    __hash__ = object.__hash__

    # ------------------------------------------------------------------ reductions
    def sum(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.Sum.apply(self, _checked_axis(self, axis), keepdims)

    def mean(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        return ops.Mean.apply(self, _checked_axis(self, axis), keepdims)

    def max(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Maximum; tied maxima share the gradient equally, like ``torch.amax``."""
        return ops.Max.apply(self, _checked_axis(self, axis), keepdims)

    def min(self, axis: Axis = None, keepdims: bool = False) -> Tensor:
        """Minimum; tied minima share the gradient equally, like ``torch.amin``."""
        return ops.Min.apply(self, _checked_axis(self, axis), keepdims)

    def var(self, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        """Variance, sum (x - mean)^2 / (n - ddof), numpy's default ddof=0 (torch's
        ``correction``); n - ddof <= 0 is a ValueError."""
        return ops.Var.apply(self, _checked_axis(self, axis), keepdims, ddof)

    def std(self, axis: Axis = None, keepdims: bool = False, ddof: int = 0) -> Tensor:
        """sqrt(var): its gradient is NaN where the values are all equal, as torch's."""
        return ops.Sqrt.apply(ops.Var.apply(self, _checked_axis(self, axis), keepdims, ddof))

    def argmax(self, axis: int = -1) -> np.ndarray:
        """Indices of the maxima along ``axis``, as an ndarray (no gradient)."""
        return derived(np.argmax, self, axis=_checked_axis(self, axis))

    # ------------------------------------------------------------------ elementwise
    def exp(self) -> Tensor:
        return ops.Exp.apply(self)

    def log(self) -> Tensor:
        return ops.Log.apply(self)

    def log1p(self) -> Tensor:
        """ln(1 + x), exact for tiny x."""
        return ops.Log1p.apply(self)

    def expm1(self) -> Tensor:
        """e^x - 1, exact for tiny x."""
        return ops.Expm1.apply(self)

    def sin(self) -> Tensor:
        return ops.Sin.apply(self)

    def cos(self) -> Tensor:
        return ops.Cos.apply(self)

    def sqrt(self) -> Tensor:
        return ops.Sqrt.apply(self)

    def abs(self) -> Tensor:
        return ops.Abs.apply(self)

    def tanh(self) -> Tensor:
        return ops.Tanh.apply(self)

    def sigmoid(self) -> Tensor:
        return ops.Sigmoid.apply(self)

    def relu(self) -> Tensor:
        return ops.ReLU.apply(self)

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape: int | Sequence[int]) -> Tensor:
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = tuple(shape[0])
        return ops.Reshape.apply(self, shape)

    @property
    def T(self) -> Tensor:
        """The axes reversed, as numpy's ``.T``."""
        return ops.Transpose.apply(self, None)

    def transpose(self, *axes: int) -> Tensor:
        """The axes permuted: ``t.transpose(1, 0, 2)`` or ``t.transpose((1, 0, 2))``; with
        no axes reversed, as numpy (torch's ``permute``)."""
        return ops.Transpose.apply(self, _transpose_axes(self.ndim, self.shape, axes))

    def squeeze(self, axis: int | tuple[int, ...] | None = None) -> Tensor:
        """Without the size-1 axes (all of them, or those named: another size is a
        ValueError, as numpy)."""
        if axis is None:
            return ops.Reshape.apply(self, tuple(n for n in self.shape if n != 1))
        dropped = _axes(axis, self.ndim, self.shape)
        for a in dropped:
            if self.shape[a] != 1:
                raise ValueError(
                    f"squeeze: axis {a} of shape {self.shape} has size {self.shape[a]}, not 1"
                )
        kept = tuple(n for a, n in enumerate(self.shape) if a not in dropped)
        return ops.Reshape.apply(self, kept)

    def expand_dims(self, axis: int | tuple[int, ...]) -> Tensor:
        """With new size-1 axes at the positions ``axis`` names in the result, as numpy
        (torch's ``unsqueeze``)."""
        ndim = self.ndim + (len(axis) if isinstance(axis, (tuple, list)) else 1)
        added = _axes(axis, ndim, self.shape)
        sizes = iter(self.shape)
        return ops.Reshape.apply(self, tuple(1 if a in added else next(sizes) for a in range(ndim)))

    def __getitem__(self, index: Any) -> Tensor:
        return ops.GetItem.apply(self, _plain_index(index))

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

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


def _tensors_in(value: Any) -> list[Tensor]:
    """The Tensors in ``value``, looking inside tuples, lists and dicts."""
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, (tuple, list)):
        return [t for part in value for t in _tensors_in(part)]
    if isinstance(value, dict):
        return _tensors_in(list(value.values()))
    return []


def _arrays_in(value: Any) -> Any:
    """``value`` with every Tensor inside tuples, lists and dicts replaced by its data."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, (tuple, list)):
        return type(value)(_arrays_in(part) for part in value)
    if isinstance(value, dict):
        return {key: _arrays_in(part) for key, part in value.items()}
    return value


def _refuse_numpy(what: str, *tensors: Tensor) -> None:
    """A TypeError when numpy is handed a Tensor that requires grad (as torch's numpy())."""
    if any(t.requires_grad for t in tensors):
        raise TypeError(
            f"{what} was given a Tensor that requires grad: numpy would compute without "
            f"its gradient. Use Tensor ops and tinygrad_moons.functional (t @ w, "
            f"F.concatenate, F.stack, F.where, ...) to keep it, or pass t.detach() (or "
            f"t.numpy()) for the values alone"
        )


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


def _values(other: Any) -> Any:
    """The numbers an operand stands for, for comparisons and in-place updates."""
    return other.data if isinstance(other, Tensor) else other


def _check_in_place(tensor: Tensor, other: Any, what: str) -> None:
    """Refuse an in-place update that a graph would need to record, as PyTorch does.

    Allowed: under ``no_grad()``, or on a tensor that needs no gradient with an operand that
    needs none either. Refused: a tensor made by a recorded op (its data may be saved for
    that op's backward), a tensor that requires grad while a graph is being recorded (the
    update would be invisible to backward), and an operand that requires grad (the result
    would need a gradient that an in-place update cannot record).
    """
    if tensor._ctx is not None:
        raise RuntimeError(
            f"{what} on a tensor made by {type(tensor._ctx).__name__} in a recorded graph: "
            f"its data may be saved for backward, and in-place updates are not recorded; "
            f"write t = t + x (a new tensor), or update a copy, Tensor(t)"
        )
    if not is_grad_enabled():
        return
    if tensor.requires_grad:
        raise RuntimeError(
            f"a leaf Tensor that requires grad is being used in an in-place operation "
            f"({what}); update parameters inside `with no_grad():`, as in PyTorch, or write "
            f"t = t + x to record a new tensor"
        )
    if isinstance(other, Tensor) and other.requires_grad:
        raise RuntimeError(
            f"{what} with an operand that requires grad: the result would need a gradient, "
            f"and in-place updates record none; write t = t + x instead"
        )


def _update(tensor: Tensor, ufunc: np.ufunc, other: Any, symbol: str) -> Tensor:
    """``tensor.data <symbol>= other`` into the same array, after ``_check_in_place``."""
    _check_in_place(tensor, other, f"t {symbol}= ...")
    values = _values(other)
    try:
        ufunc(tensor.data, values, out=tensor.data)
    except ValueError:
        raise ValueError(
            f"t {symbol}= x changes t in place, so x must broadcast to t's shape "
            f"{tensor.shape}; got shape {np.shape(values)}"
        ) from None
    return tensor


def _checked_axis(tensor: Tensor, axis: Any) -> Any:
    """``axis`` unchanged, once checked against the tensor's shape: a ValueError naming the
    shape, instead of numpy's AxisError from inside the op."""
    if axis is not None:
        _axes(axis, tensor.ndim, tensor.shape)
    return axis


def _transpose_axes(ndim: int, shape: tuple[int, ...], axes: tuple[Any, ...]) -> Any:
    """The permutation ``transpose(*axes)`` stands for, checked: None for reversed."""
    if len(axes) == 1 and isinstance(axes[0], (tuple, list)):
        axes = tuple(axes[0])
    if not axes:
        return None
    permutation = _axes(axes, ndim, shape)
    if len(permutation) != ndim:
        raise ValueError(
            f"transpose needs a permutation of all {ndim} axes of shape {shape}, got {axes}"
        )
    return permutation


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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Refuse, when the class is defined, a forward or backward written without
        ``@staticmethod``: ``apply`` would pass it one argument too few, and the error
        would name neither the class nor the missing decorator."""
        super().__init_subclass__(**kwargs)
        for name in ("forward", "backward"):
            if isinstance(cls.__dict__.get(name), types.FunctionType):
                raise TypeError(
                    f"{cls.__name__}.{name} must be a @staticmethod, {name}(ctx, ...), as in "
                    f"torch.autograd.Function: the context is its first argument, not self"
                )

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
        state = _state
        requires_grad = state.grad_enabled and True in needs
        result = Tensor._wrap(out, requires_grad)
        if requires_grad:
            ctx.parents = tuple(parents)
            ctx._shape = out.shape
            ctx._number = next(_op_numbers)
            result._ctx = ctx
        if state.recorder is not None:
            state.recorder.applied(ctx, args, result)
        return result


def _as_output(out: Any) -> np.ndarray:
    """What ``forward`` returned as a float64 ndarray (numpy scalars and ints become arrays)."""
    if type(out) is not np.ndarray or out.dtype != np.float64:
        out = np.asarray(out, dtype=np.float64)
    return out


# Ops are numbered as they are applied, so an op's number is larger than its inputs' ops'.
_op_numbers = itertools.count()
_by_number = operator.attrgetter("_number")


def backward_order(root: Tensor) -> list[Function]:
    """The contexts of the ops the backward walk from ``root`` visits, in its order.

    Every op ``root`` depends on through tensors requiring grad, outputs first: sorting by
    application number, newest first, puts every op after all the ops that consume its
    output. A loop over a stack, not recursion: a graph's depth is limited by memory, not
    by Python's recursion limit. Empty for a leaf.
    """
    if root._ctx is None:
        return []
    found = {root._ctx}
    stack = [root._ctx]
    while stack:
        for parent in stack.pop().parents:
            if isinstance(parent, Function) and parent not in found:
                found.add(parent)
                stack.append(parent)
    return sorted(found, key=_by_number, reverse=True)


class _Reached(Recorder):
    def __init__(self) -> None:
        self.grads: dict[Function, np.ndarray] = {}

    def reached(self, ctx: Function, grad: np.ndarray) -> None:
        self.grads[ctx] = grad


def trace_backward(root: Tensor, grad: Any = None) -> dict[Function, np.ndarray]:
    """``root.backward(grad)``, also returning the gradient that reached every op's output.

    For looking inside a graph (``plot.graph_layout`` draws it): the keys are the contexts
    of the ops, the values d root / d (that op's output). Leaves get ``.grad`` as with
    ``backward``. A ``Recorder`` watching the walk, installed for the current thread.
    """
    seed = root._seed(grad)
    with recording(_Reached()) as reached:
        _backpropagate(root, seed)
    return reached.grads


def _backpropagate(root: Tensor, seed: np.ndarray) -> None:
    """The backward walk: from ``root`` in ``backward_order``, adding into each leaf's ``.grad``.

    d loss/d input = sum over the ops that use it of their vector-Jacobian products. An
    op's incoming gradients are summed in ``pending`` (keyed by the context itself) before
    its backward runs. A leaf's first gradient is copied, since the array may be shared
    (Add hands one array to both inputs); later ones are added into that copy in place.
    A ``Recorder`` installed for this thread sees each op's summed gradient (``reached``).
    """
    if root._ctx is None:
        accumulate(root, seed)
        return
    recorder = _state.recorder
    pending: dict[Function, np.ndarray] = {root._ctx: seed}
    for ctx in backward_order(root):
        grad = pending.pop(ctx, None)
        if grad is None:
            continue
        if recorder is not None:
            recorder.reached(ctx, grad)
        for parent, parent_grad in zip(ctx.parents, input_gradients(ctx, grad), strict=True):
            if parent is None or parent_grad is None:
                continue
            if type(parent) is Tensor:
                accumulate(parent, parent_grad)
            elif parent in pending:
                pending[parent] = pending[parent] + parent_grad
            else:
                pending[parent] = parent_grad


def input_gradients(ctx: Function, grad: np.ndarray) -> tuple[Any, ...]:
    """``ctx``'s backward at ``grad``, one entry per forward argument, shapes checked: what
    the backward walk asks of every op (and what a compiled step asks of an op it calls)."""
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
        shape = parent._shape if type(parent) is not Tensor else parent.data.shape
        grad_shape = getattr(parent_grad, "shape", None)
        if grad_shape is None:  # a Python number from a user's backward
            grad_shape = np.shape(parent_grad)
        if grad_shape != shape:
            raise ValueError(
                f"{type(ctx).__name__}.backward returned a gradient of shape "
                f"{np.shape(parent_grad)} for an input of shape {shape}"
            )
    return tuple(input_grads)


def accumulate(leaf: Tensor, grad: Any, into: np.ndarray | None = None) -> None:
    """leaf.grad += grad; the first time a float64 copy, which the framework then owns
    (copied into ``into``, an array of the leaf's shape, when given: a compiled step's
    buffer)."""
    if leaf._grad is not None:
        leaf._grad += grad
    elif into is None:
        leaf._grad = np.array(grad, dtype=np.float64)
    else:
        np.copyto(into, grad)
        leaf._grad = into


# The names a compiled step used before these two were public.
_input_gradients = input_gradients
_accumulate = accumulate


# Tensor's operators call the ops, and every op is a Function defined above: the one mutual
# import of the package, resolved here, at the bottom (tinygrad 2020's arrangement).
from tinygrad_moons import ops  # noqa: E402
