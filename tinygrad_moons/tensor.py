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
import sys
import threading
import types
import weakref
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from tinygrad_moons import habits
from tinygrad_moons.array_methods import ArrayMethods
from tinygrad_moons.validate import axes as _axes
from tinygrad_moons.validate import clip_bounds as _clip_bounds
from tinygrad_moons.validate import flag as _flag
from tinygrad_moons.validate import keepdims as _keepdims
from tinygrad_moons.validate import matmul_shapes as _matmul_shapes
from tinygrad_moons.validate import reshape_order as _reshape_order
from tinygrad_moons.validate import unmasked as _unmasked

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
    or a capture in one thread leaves every other thread recording as before.
    ``create_graph`` is True while a walk records its own backward."""

    grad_enabled = True
    create_graph = False
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


class _GradMode:
    """A context manager that sets the grad mode of the current thread to ``enabled`` for
    its block and puts back the mode it found; ``@mode()`` or a bare ``@mode`` decorates a
    function, each call of which runs in such a block (torch's grad-mode managers)."""

    enabled: bool

    def __new__(cls, func: Callable | None = None) -> Any:
        """``mode()`` is the context manager; bare ``@mode`` decorates ``func``."""
        if func is None:
            return object.__new__(cls)  # speed: no super() to build (every no_grad() block)
        if not callable(func):
            raise TypeError(
                f"{cls.__name__} takes no argument but a function to decorate, got {func!r}"
            )
        return cls()(func)

    def __enter__(self) -> None:
        self._previous = _state.grad_enabled
        _state.grad_enabled = self.enabled

    def __exit__(self, *exc_info: object) -> None:
        _state.grad_enabled = self._previous

    def __call__(self, func: Callable) -> Callable:
        mode = type(self)

        @functools.wraps(func)
        def in_mode(*args: Any, **kwargs: Any) -> Any:
            with mode():
                return func(*args, **kwargs)

        return in_mode


class no_grad(_GradMode):  # noqa: N801 (torch's name, the documented API)
    """Record no graph inside the block (or the decorated function), as ``torch.no_grad``:
    in the current thread only, so other threads keep recording.

    >>> with no_grad():
    ...     y = Tensor([1.0], requires_grad=True) * 2
    >>> y.requires_grad
    False
    >>> @no_grad
    ... def doubled(t):
    ...     return t * 2
    >>> doubled(Tensor([1.0], requires_grad=True)).requires_grad
    False
    """

    enabled = False


class enable_grad(_GradMode):  # noqa: N801 (torch's name)
    """Record the graph inside the block (or the decorated function) even within
    ``no_grad()``, as ``torch.enable_grad``: in the current thread only.

    >>> x = Tensor([1.0], requires_grad=True)
    >>> with no_grad():
    ...     with enable_grad():
    ...         y = x * 2
    ...     z = x * 2
    >>> y.requires_grad, z.requires_grad
    (True, False)
    """

    enabled = True


class set_grad_enabled:  # noqa: N801 (torch's name)
    """Turn recording on (``mode=True``) or off in the current thread, as
    ``torch.set_grad_enabled``: at once when called; as a ``with`` block, for the block
    only, the mode from before the call coming back on exit; as ``@set_grad_enabled(mode)``,
    for each call of the decorated function (decorating leaves the mode as it was).

    >>> with set_grad_enabled(False):
    ...     y = Tensor([1.0], requires_grad=True) * 2
    >>> y.requires_grad, is_grad_enabled()
    (False, True)
    """

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(
                f"set_grad_enabled(): argument 'mode' must be bool, not {type(mode).__name__}"
            )
        self.mode = mode
        self._previous = _state.grad_enabled
        _state.grad_enabled = mode

    def __enter__(self) -> None:
        _state.grad_enabled = self.mode

    def __exit__(self, *exc_info: object) -> None:
        _state.grad_enabled = self._previous

    def __call__(self, func: Callable) -> Callable:
        _state.grad_enabled = self._previous  # decorating is not a call: as torch's
        mode = self.mode

        @functools.wraps(func)
        def in_mode(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return func(*args, **kwargs)

        return in_mode

    def __repr__(self) -> str:
        return f"set_grad_enabled(mode={self.mode})"


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


def is_recording() -> bool:
    """Whether a recorder (``graph.capture``'s) watches the ops of the current thread."""
    return _state.recorder is not None


def is_grad_enabled() -> bool:
    """Whether ops record the graph in the current thread: True unless ``no_grad()`` or
    ``set_grad_enabled(False)`` turned it off (and no ``enable_grad()`` on again)."""
    return _state.grad_enabled


def _as_float64_array(data: Any, what: str = "Tensor data") -> np.ndarray:
    """Copy ``data`` into a new float64 array, refusing what is not real numbers."""
    if isinstance(data, Tensor):
        return data._array.copy()
    _unmasked(what, data)
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
    # C order, as gradcheck perturbs
    return _canonical(np.array(array, dtype=np.float64, copy=True, order="C"))


_FLOAT64 = np.dtype(np.float64)  # the dtype's one instance: `is` is the quick test


def _canonical(array: np.ndarray) -> np.ndarray:
    """A float64 ``array`` whose dtype is ``_FLOAT64`` itself: the array, or a view of it.

    An unpickled array (joblib, multiprocessing) carries an equal float64 dtype that is
    another instance, and numpy passes that instance on to every result computed from it.
    The engine's quick tests (``dtype is _FLOAT64``) would send each op down its slow path
    for them; an array enters the engine through here so they never see one."""
    return array if array.dtype is _FLOAT64 else array.view(_FLOAT64)


_ARRAY, _SCALAR = np.ndarray, np.float64  # speed: one lookup each in the hot loops
_ONE = np.ones(())  # copied: a loss's backward starts from a new 1.0 (np.ones is slower)


class Tensor(ArrayMethods):
    """An n-dimensional float64 array that records the ops applied to it.

    >>> x = Tensor([[1.0, 2.0]], requires_grad=True)
    >>> y = (x * x).sum()
    >>> y.backward()
    >>> x.grad
    array([[2., 4.]])
    """

    # _view and _views (unset unless this is a view, or has views): see _as_view;
    # _former (unset until a leaf's data is replaced): see _note_former.
    # Not "_data": numpy's masked arrays read any operand's ``_data`` as its values, so
    # ``masked * t`` computed on the array outside the graph and lost t's gradient.
    __slots__ = (
        "_array",
        "_grad",
        "requires_grad",
        "_ctx",
        "_view",
        "_views",
        "_former",
        "__weakref__",
    )
    _leaf = True  # in a context's parents: a leaf Tensor (a Function there has False)
    _derived = staticmethod(derived)  # for ArrayMethods, which tensor.py imports

    def __init__(self, data: Any, requires_grad: bool = False, **torch_keywords: Any) -> None:
        if torch_keywords:
            habits.keywords("Tensor", torch_keywords, ("dtype", "device"))
        self._array: np.ndarray = _as_float64_array(data)
        self._grad: np.ndarray | None = None
        if requires_grad is not False and requires_grad is not True:  # speed: the common case
            requires_grad = _flag("Tensor's requires_grad", requires_grad)
        self.requires_grad: bool = requires_grad
        self._ctx: Function | None = None
        if _state.recorder is not None:
            _state.recorder.made(self, data)

    @classmethod
    def _wrap(cls, array: np.ndarray, requires_grad: bool = False) -> Tensor:
        """A Tensor around ``array`` itself, no copy, no checks: for ops and the engine."""
        tensor = cls.__new__(cls)
        tensor._array = array
        tensor._grad = None
        tensor.requires_grad = requires_grad
        tensor._ctx = None
        return tensor

    # ------------------------------------------------------------------ attributes
    def _set_data(self, value: Any) -> None:
        """Replace the array, as torch's ``t.data = ...``: a float64 ndarray is kept as it
        is; other real numbers (lists, ints, bools, float32) become a float64 copy; complex
        numbers, strings and objects are a TypeError here, not deep inside a later backward.
        A new shape is allowed (the graph and the version are not told, as in torch)."""
        if value is self._array:  # t.data -= x: written in place, the same array, nothing to note
            return
        old = _replace_data(self, value)
        if self._ctx is None:
            _note_former(self, old)
        elif self._array.shape == old.shape:
            _renamed(self)

    # Read by a C getter (every op reads it), written through the check above.
    data = property(
        operator.attrgetter("_array"),
        _set_data,
        doc="The float64 ndarray the tensor holds (the array itself, no copy).",
    )

    @property
    def shape(self) -> tuple[int, ...]:
        return self._array.shape

    @property
    def ndim(self) -> int:
        return self._array.ndim

    @property
    def dtype(self) -> np.dtype:
        return self._array.dtype

    @property
    def size(self) -> int:
        """numpy's number of elements: an int (that refuses torch's call ``t.size()``)."""
        return habits.Size(self._array.size)

    def _set_grad(self, value: Any) -> None:
        """None, or an array of this tensor's shape (a Tensor, a list: its float64 copy).

        Checked as torch checks it: a gradient of another shape would broadcast in an
        optimiser's step and update the parameter with the wrong numbers, silently.
        """
        if value is None or (
            type(value) is np.ndarray
            and value.dtype == _FLOAT64
            and value.shape == self._array.shape
        ):
            self._grad = value if value is None else _canonical(value)
            return
        grad = _as_float64_array(value, "a tensor's grad")
        if grad.shape != self.shape:
            raise ValueError(
                f"cannot assign a grad of shape {grad.shape} to a tensor of shape "
                f"{self.shape}: the gradient must have the tensor's shape"
            )
        self._grad = grad

    # speed: read by a C getter, as ``data`` (an optimiser's step reads every grad)
    grad = property(
        operator.attrgetter("_grad"),
        _set_grad,
        doc="d(root)/d(self) summed over the backward passes that reached it, or None.",
    )

    @property
    def is_leaf(self) -> bool:
        """True for tensors made by the user rather than by an op that records a graph."""
        return self._ctx is None

    def __len__(self) -> int:
        """The size of the first axis; a 0-d tensor has none (a TypeError, as torch's)."""
        if self._array.ndim == 0:
            raise TypeError("len() of a 0-d tensor: it has no first axis (use item())")
        return len(self._array)

    def __bool__(self) -> bool:
        """The truth of a one-element tensor; any other is ambiguous, as in torch and numpy.

        Without this, ``if t:`` would fall back to ``len(t)``: True for ``Tensor([0.0])``.
        """
        if self._array.size != 1:
            raise ValueError(
                f"the truth value of a tensor of shape {self.shape} is ambiguous: use "
                f"(t != 0).any() or (t != 0).all(), or t.item() for a one-element tensor"
            )
        _escaping("bool()", self)
        return bool(self._array.reshape(()))

    def item(self) -> float:
        """The value of a one-element tensor as a Python float."""
        _escaping("item()", self)
        return self._number()

    def _number(self) -> float:
        if self._array.size != 1:
            raise ValueError(
                f"item() needs a tensor with one element, this one has shape {self.shape}"
            )
        return float(self._array.reshape(()))

    def __float__(self) -> float:
        """``float(t)``: ``t.item()``, for a one-element tensor only, as in torch."""
        _escaping("float()", self)
        return self._number()

    def __format__(self, spec: str) -> str:
        """``format(t, ".4f")``, f"{t:.4f}": the one element's value formatted, as torch's;
        an empty spec is ``str(t)``."""
        if not spec:
            return str(self)
        if self._array.size != 1:
            raise TypeError(
                f"format spec {spec!r} needs a one-element tensor, this one has shape "
                f"{self.shape} (format t.numpy() or its elements instead)"
            )
        return format(self.item(), spec)

    def __int__(self) -> int:
        """``int(t)``: the one element truncated towards zero, as ``int(t.item())``."""
        _escaping("int()", self)
        return int(self._number())

    def numpy(self) -> np.ndarray:
        """The underlying array itself (no copy)."""
        _escaping("numpy()", self)
        return self._array

    def __getstate__(self) -> tuple[None, dict[str, Any]]:
        """Pickled and deep-copied without the links between views and their base (weak
        references, which cannot be pickled): the copy owns its data."""
        return None, {
            "_array": self._array,
            "_grad": self._grad,
            "requires_grad": self.requires_grad,
            "_ctx": self._ctx,
        }

    def detach(self) -> Tensor:
        """A tensor sharing this one's array and its version, cut from the graph, not
        requiring grad, as torch's: an in-place update of either one, recorded or not,
        writes into that array, so the other sees it (see ``_take``)."""
        detached = Tensor._wrap(self._array)
        _note_detached(detached)
        if _state.recorder is not None:
            _state.recorder.made(detached, self)
        return detached

    def __repr__(self) -> str:
        body = np.array2string(self._array, separator=", ", prefix="Tensor(")
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
        if dtype is not None and np.dtype(dtype) != self._array.dtype:
            if copy is False:
                raise ValueError(f"a Tensor's data are float64: no {dtype} view without a copy")
            return self._array.astype(dtype)
        return self._array.copy() if copy else self._array

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        """``np.dot(t, w)``, ``np.concatenate([t, u])`` ...: numpy on the data of tensors that
        require no grad (an ndarray results); refused for a tensor that requires grad, whose
        gradient numpy would drop. Tensor's ops and ``F`` keep it."""
        tensors = _tensors_in((args, kwargs))
        _refuse_numpy(f"numpy.{func.__name__}", *tensors)
        for tensor in tensors:
            _escaping(f"numpy.{func.__name__}()", tensor)
        return func(*_arrays_in(args), **_arrays_in(kwargs))

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        """numpy's ufuncs. ``array + t`` (and the other operators with an array on the left)
        is Tensor's own reflected operator, recorded in the graph; a comparison gives its
        boolean array; any other ufunc (``np.exp(t)``) runs on the data of tensors that
        require no grad and is refused for one that does, as ``__array_function__``."""
        reflected = _REFLECTED.get(ufunc.__name__)
        operator_call = method == "__call__" and not kwargs and len(inputs) == 2
        array_first = operator_call and inputs[1] is self and not isinstance(inputs[0], Tensor)
        if array_first and reflected is not None:
            return getattr(self, reflected)(inputs[0])
        if method == "__call__" and ufunc.__name__ in _COMPARISONS:
            return ufunc(*_arrays_in(inputs), **_arrays_in(kwargs))
        _refuse_numpy(f"numpy.{ufunc.__name__}", *_tensors_in((inputs, kwargs)))
        return getattr(ufunc, method)(*_arrays_in(inputs), **_arrays_in(kwargs))

    # ------------------------------------------------------------------ arithmetic
    # speed: a Tensor operand is passed on without the call to _lift
    def __add__(self, other: Any) -> Tensor:
        return ops.Add.apply(self, other if type(other) is Tensor else _lift(other))

    def __radd__(self, other: Any) -> Tensor:
        return ops.Add.apply(other if type(other) is Tensor else _lift(other), self)

    def __sub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(self, other if type(other) is Tensor else _lift(other))

    def __rsub__(self, other: Any) -> Tensor:
        return ops.Sub.apply(other if type(other) is Tensor else _lift(other), self)

    def __mul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(self, other if type(other) is Tensor else _lift(other))

    def __rmul__(self, other: Any) -> Tensor:
        return ops.Mul.apply(other if type(other) is Tensor else _lift(other), self)

    def __truediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(self, other if type(other) is Tensor else _lift(other))

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.Div.apply(other if type(other) is Tensor else _lift(other), self)

    def __neg__(self) -> Tensor:
        return ops.Neg.apply(self)

    def __pos__(self) -> Tensor:
        """``+t`` is ``t`` itself, as torch's."""
        return self

    def __abs__(self) -> Tensor:
        """``abs(t)`` is ``t.abs()``."""
        return ops.Abs.apply(self)

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
        """numpy's matmul: batch dimensions broadcast, a 1-D operand is a vector (1-D @ 1-D
        the 0-d inner product); a 0-d operand or mismatched inner sizes is a ValueError
        naming both shapes."""
        return _matmul(self, other if type(other) is Tensor else _lift(other))

    def __rmatmul__(self, other: Any) -> Tensor:
        return _matmul(other if type(other) is Tensor else _lift(other), self)

    # ------------------------------------------------------------------ in place
    # torch's rules with micrograd's results: see ``_in_place``.
    def __iadd__(self, other: Any) -> Tensor:
        """t += x: in t's own array, or recorded as t = t + x (see ``_in_place``)."""
        return _in_place(self, np.add, Tensor.__add__, other, "+")

    def __isub__(self, other: Any) -> Tensor:
        """t -= x: ``with no_grad(): p -= lr * p.grad`` updates p's own array."""
        return _in_place(self, np.subtract, Tensor.__sub__, other, "-")

    def __imul__(self, other: Any) -> Tensor:
        return _in_place(self, np.multiply, Tensor.__mul__, other, "*")

    def __itruediv__(self, other: Any) -> Tensor:
        return _in_place(self, np.divide, Tensor.__truediv__, other, "/")

    def __ipow__(self, other: Any) -> Tensor:
        return _in_place(self, np.power, Tensor.__pow__, other, "**")

    def __setitem__(self, index: Any, value: Any) -> None:
        """t[index] = v: in t's own array, or recorded (``ops.SetItem``), by the rules of
        ``_in_place``: v's gradient is d/d t[index], the overwritten elements get none."""
        index = _plain_index(index)
        if not _needs_recording(self, value, "t[index] = ..."):
            values = _values(value)
            try:
                self._array[index] = values
            except ValueError:
                raise ValueError(
                    f"t[index] = v needs v to broadcast to the shape of t[index], "
                    f"{self._array[index].shape}; got shape {np.shape(values)}"
                ) from None
            written(self)
            return
        _take(self, ops.SetItem.apply(self, _lift(value), index))

    def clone(self) -> Tensor:
        """A copy recorded in the graph (its gradient flows back to this tensor), as torch's;
        ``detach()`` shares the array and leaves the graph, ``Tensor(t)`` is a new leaf."""
        return ops.Clone.apply(self)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return the tensor, as torch's; a tensor made
        by an op keeps its graph (False there is a RuntimeError, as in torch)."""
        requires_grad = _flag("requires_grad_'s requires_grad", requires_grad)
        if self._ctx is not None and not requires_grad:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables: this tensor was "
                f"made by {type(self._ctx).__name__}; use detach() for one without a graph"
            )
        self.requires_grad = requires_grad
        return self

    @property
    def _version(self) -> int:
        """How many times this tensor's array has been written in place (shared with every
        tensor holding the same array or a view of it, as ``detach()`` gives)."""
        return _version_of(self._array)

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
    # torch's keywords (dim=, keepdim=, unbiased=, correction=) are refused (habits.py)
    def sum(self, axis: Axis = None, keepdims: bool = False, **torch_keywords: Any) -> Tensor:
        if torch_keywords:
            habits.keywords("Tensor.sum", torch_keywords, ("dim", "keepdim"))
        keepdims = _keepdims("Tensor.sum", keepdims)  # numpy's TypeError would name no argument
        return ops.Sum.apply(self, _checked_axis(self, axis), keepdims)

    def mean(self, axis: Axis = None, keepdims: bool = False, **torch_keywords: Any) -> Tensor:
        if torch_keywords:
            habits.keywords("Tensor.mean", torch_keywords, ("dim", "keepdim"))
        keepdims = _keepdims("Tensor.mean", keepdims)  # numpy's TypeError would name no argument
        return ops.Mean.apply(self, _checked_axis(self, axis), keepdims)

    def max(self, axis: Axis = None, keepdims: bool = False, **torch_keywords: Any) -> Tensor:
        """Maximum; tied maxima share the gradient equally, like ``torch.amax``."""
        if torch_keywords:
            habits.keywords("Tensor.max", torch_keywords, ("dim", "keepdim"), _VALUES_ALONE)
        keepdims = _keepdims("Tensor.max", keepdims)
        return ops.Max.apply(self, _checked_axis(self, axis), keepdims)

    def min(self, axis: Axis = None, keepdims: bool = False, **torch_keywords: Any) -> Tensor:
        """Minimum; tied minima share the gradient equally, like ``torch.amin``."""
        if torch_keywords:
            habits.keywords("Tensor.min", torch_keywords, ("dim", "keepdim"), _VALUES_ALONE)
        keepdims = _keepdims("Tensor.min", keepdims)
        return ops.Min.apply(self, _checked_axis(self, axis), keepdims)

    def var(
        self, axis: Axis = None, keepdims: bool = False, ddof: int = 0, **torch_keywords: Any
    ) -> Tensor:
        """Variance, sum (x - mean)^2 / (n - ddof), numpy's default ddof=0 (torch's
        ``correction``); n - ddof <= 0 is a ValueError."""
        if torch_keywords:
            habits.keywords(
                "Tensor.var", torch_keywords, ("dim", "keepdim", "unbiased", "correction")
            )
        keepdims = _keepdims("Tensor.var", keepdims)  # numpy's TypeError would name no argument
        return ops.Var.apply(self, _checked_axis(self, axis), keepdims, ddof)

    def std(
        self, axis: Axis = None, keepdims: bool = False, ddof: int = 0, **torch_keywords: Any
    ) -> Tensor:
        """sqrt(var); its gradient is 0 where the values are all equal (std 0), as torch's."""
        if torch_keywords:
            habits.keywords(
                "Tensor.std", torch_keywords, ("dim", "keepdim", "unbiased", "correction")
            )
        keepdims = _keepdims("Tensor.std", keepdims)  # numpy's TypeError would name no argument
        return ops.Std.apply(self, _checked_axis(self, axis), keepdims, ddof)

    def argmax(
        self, axis: int | None = -1, keepdims: bool = False, **torch_keywords: Any
    ) -> np.ndarray:
        """Indices of the maxima along ``axis`` (None: in the flattened tensor), as an
        ndarray (no gradient); ``keepdims`` as numpy's."""
        if torch_keywords:
            habits.keywords("Tensor.argmax", torch_keywords, ("dim", "keepdim"))
        keepdims = _keepdims("Tensor.argmax", keepdims)
        return derived(np.argmax, self, axis=_checked_axis(self, axis), keepdims=keepdims)

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
    def reshape(self, *shape: int | Sequence[int], order: str = "C") -> Tensor:
        """The same values in ``shape``, read and written in numpy's ``order``: 'C' (the
        last index fastest) or 'F' (the first fastest, the C reshape of the axes reversed)."""
        if len(shape) == 1 and not isinstance(shape[0], (int, np.integer)):
            shape = tuple(shape[0])
        if _reshape_order(order) == "F":
            reversed_shape = tuple(reversed(np.empty(self.shape).reshape(shape).shape))
            return _transposed(_reshaped(_transposed(self, None), reversed_shape), None)
        return _reshaped(self, shape)

    @property
    def T(self) -> Tensor:
        """The axes reversed, as numpy's ``.T``."""
        return _transposed(self, None)

    def transpose(self, *axes: int) -> Tensor:
        """The axes permuted: ``t.transpose(1, 0, 2)`` or ``t.transpose((1, 0, 2))``; with
        no axes reversed, as numpy (torch's ``permute``)."""
        return _transposed(self, _transpose_axes(self.ndim, self.shape, axes))

    def squeeze(self, axis: int | tuple[int, ...] | None = None, **torch_keywords: Any) -> Tensor:
        """Without the size-1 axes (all of them, or those named: another size is a
        ValueError, as numpy)."""
        if torch_keywords:
            habits.keywords("Tensor.squeeze", torch_keywords, ("dim",))
        if axis is None:
            return _reshaped(self, tuple(n for n in self.shape if n != 1))
        dropped = _axes(axis, self.ndim, self.shape)
        for a in dropped:
            if self.shape[a] != 1:
                raise ValueError(
                    f"squeeze: axis {a} of shape {self.shape} has size {self.shape[a]}, not 1"
                )
        kept = tuple(n for a, n in enumerate(self.shape) if a not in dropped)
        return _reshaped(self, kept)

    def expand_dims(self, axis: int | tuple[int, ...]) -> Tensor:
        """With new size-1 axes at the positions ``axis`` names in the result, as numpy
        (torch's ``unsqueeze``)."""
        ndim = self.ndim + (len(axis) if isinstance(axis, (tuple, list)) else 1)
        added = _axes(axis, ndim, self.shape)
        sizes = iter(self.shape)
        return _reshaped(self, tuple(1 if a in added else next(sizes) for a in range(ndim)))

    def __getitem__(self, index: Any) -> Tensor:
        """``t[index]``: ints, slices, None and ``...`` give a view (an in-place update of
        it updates t, as in torch and numpy); arrays of ints or bools give a copy."""
        index = _plain_index(index)
        return _as_view(
            self,
            ops.GetItem.apply(self, index),
            lambda base: base[index],
            lambda base, view: ops.SetItem.apply(base, view, index),
        )

    def _diagonal_view(self, offset: int, axis1: int, axis2: int) -> Tensor:
        """``diagonal`` (ArrayMethods) on axes already checked: a view, written back into
        this tensor when it is updated in place (see ``_as_view``)."""
        return _as_view(
            self,
            ops.Diagonal.apply(self, offset, axis1, axis2),
            lambda base: base._diagonal_view(offset, axis1, axis2),
            lambda base, view: ops.SetDiagonal.apply(base, view, offset, axis1, axis2),
        )

    def __iter__(self) -> Iterator[Tensor]:
        for i in range(len(self)):
            yield self[i]

    def __contains__(self, element: Any) -> bool:
        """``element in t``: whether any entry equals it, at any depth (numpy's and torch's)."""
        return bool((self.data == _values(element)).any())

    # ------------------------------------------------------------------ second wave
    # numpy's elementwise functions as methods (the rest of numpy's array methods that are
    # composed from these operators are inherited from ``ArrayMethods``).
    def __mod__(self, other: Any) -> Tensor:
        """t % y: numpy's mod (the sign of y, torch's remainder); d/dy = -floor(t / y)."""
        return ops.Mod.apply(self, _lift(other))

    def __rmod__(self, other: Any) -> Tensor:
        return ops.Mod.apply(_lift(other), self)

    def __floordiv__(self, other: Any) -> Tensor:
        """t // y: numpy's floor_divide; its derivative is 0 (it is piecewise constant)."""
        return ops.FloorDivide.apply(self, _lift(other))

    def __rfloordiv__(self, other: Any) -> Tensor:
        return ops.FloorDivide.apply(_lift(other), self)

    def sign(self) -> Tensor:
        return ops.Sign.apply(self)

    def floor(self) -> Tensor:
        return ops.Floor.apply(self)

    def ceil(self) -> Tensor:
        return ops.Ceil.apply(self)

    def log2(self) -> Tensor:
        return ops.Log2.apply(self)

    def log10(self) -> Tensor:
        return ops.Log10.apply(self)

    def exp2(self) -> Tensor:
        return ops.Exp2.apply(self)

    def tan(self) -> Tensor:
        return ops.Tan.apply(self)

    def sinh(self) -> Tensor:
        return ops.Sinh.apply(self)

    def cosh(self) -> Tensor:
        return ops.Cosh.apply(self)

    def arcsin(self) -> Tensor:
        return ops.Arcsin.apply(self)

    def arccos(self) -> Tensor:
        return ops.Arccos.apply(self)

    def arctan(self) -> Tensor:
        return ops.Arctan.apply(self)

    def arcsinh(self) -> Tensor:
        return ops.Arcsinh.apply(self)

    def arccosh(self) -> Tensor:
        return ops.Arccosh.apply(self)

    def arctanh(self) -> Tensor:
        return ops.Arctanh.apply(self)

    def sinc(self) -> Tensor:
        return ops.Sinc.apply(self)

    def cumsum(self, axis: int | None = None, **torch_keywords: Any) -> Tensor:
        """Running sums along ``axis`` (None: flattened), as ``np.cumsum``."""
        if torch_keywords:
            habits.keywords("Tensor.cumsum", torch_keywords, ("dim",))
        if axis is None:
            return ops.CumSum.apply(self.reshape(-1), 0)
        (axis,) = _axes(axis, self.ndim, self.shape)
        return ops.CumSum.apply(self, axis)

    def cumprod(self, axis: int | None = None, **torch_keywords: Any) -> Tensor:
        """Running products along ``axis`` (None: flattened), as ``np.cumprod``: log2(n)
        rounds of x * (x shifted by 1, 2, 4, ... places, 1s coming in), so each gradient
        is exact where some values are 0, as torch's."""
        if torch_keywords:
            habits.keywords("Tensor.cumprod", torch_keywords, ("dim",))
        if axis is None:
            return self.reshape(-1).cumprod(0)
        (axis,) = _axes(axis, self.ndim, self.shape)
        if self.shape[axis] <= 1:  # a new tensor, as torch's: never the input itself
            return self.clone()
        n, out, shift = self.shape[axis], self, 1
        while shift < n:
            front = tuple(
                slice(None, n - shift) if a == axis else slice(None) for a in range(self.ndim)
            )
            widths = [(shift, 0) if a == axis else (0, 0) for a in range(self.ndim)]
            out = out * ops.Pad.apply(out[front], widths, 1.0)
            shift *= 2
        return out

    def clip(
        self, low: Any = None, high: Any = None, *, min: Any = None, max: Any = None
    ) -> Tensor:
        """Limited to [low, high], as ``np.clip`` (``F.clip``: gradients as torch's clamp);
        the bounds by position or as numpy 2's and torch's ``min=`` and ``max=``."""
        low, high = _clip_bounds(low, high, min, max)
        low = None if low is None else _lift(low)
        high = None if high is None else _lift(high)
        return ops.Clip.apply(self, low, high)

    # ------------------------------------------------------------------ backward
    def backward(self, grad: Any = None, create_graph: bool = False, **torch_keywords: Any) -> None:
        """Add d(self)/d(leaf), contracted with ``grad``, into ``.grad`` of every leaf.

        ``grad`` defaults to 1.0 for a one-element tensor and must have this tensor's shape
        otherwise. The graph is kept, so it may be walked again (gradients add up again).
        ``.grad`` is a plain ndarray: derivatives of derivatives come from
        ``grad(..., create_graph=True)``, so ``create_graph=True`` here is refused.
        """
        if torch_keywords:
            habits.keywords("Tensor.backward", torch_keywords, ("gradient", "retain_graph"))
        if create_graph is not False and _flag("Tensor.backward's create_graph", create_graph):
            raise ValueError(
                "backward(create_graph=True) is not supported: .grad holds plain ndarrays. "
                "Use tinygrad_moons.grad(outputs, inputs, create_graph=True), which returns "
                "the gradients as Tensors in the graph, to differentiate them again"
            )
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
            if self._array.size != 1:
                raise ValueError(
                    f"backward() without a gradient needs a one-element tensor; this one "
                    f"has shape {self.shape}: pass grad= of that shape"
                )
            return _ONE.copy() if self._array.ndim == 0 else np.ones(self.shape)  # speed
        seed = _as_float64_array(grad, "the gradient passed to backward()")
        if seed.shape != self.shape:
            raise ValueError(
                f"backward() got a gradient of shape {seed.shape} for a tensor of "
                f"shape {self.shape}"
            )
        return seed


# PyTorch's names a Tensor does not have (t.view, t.unsqueeze, t.float, ...): class
# attributes whose lookup is the AttributeError naming our spelling (habits.py).
habits.refuse_attributes(Tensor, habits.TENSOR)
sys.modules[__name__].__class__ = habits.TensorModule  # tm.tensor(data): refused
_VALUES_ALONE = (
    "; it gives the values alone (as torch.amax and torch.amin), argmax(axis) their positions"
)


# ufuncs that numpy calls for ``array <op> t``, and the Tensor operator that records each
_REFLECTED = {
    "add": "__radd__", "subtract": "__rsub__", "multiply": "__rmul__",
    "divide": "__rtruediv__", "power": "__rpow__", "matmul": "__rmatmul__",
    "remainder": "__rmod__", "floor_divide": "__rfloordiv__",
}  # fmt: skip
_COMPARISONS = frozenset(("less", "less_equal", "greater", "greater_equal", "equal", "not_equal"))


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
        return value._array
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
        return Tensor._wrap(_canonical(value))
    if type(value) is float:
        return Tensor._wrap(np.array(value))  # speed: a float's array is float64 already
    if type(value) is int:
        return Tensor._wrap(np.array(value, dtype=np.float64))
    return Tensor(value)


def _replace_data(tensor: Tensor, value: Any) -> np.ndarray:
    """``tensor.data = value`` without telling the graph (``Tensor._set_data`` does), for a
    compiled step writing its output's fresh values: its own backward knows the node. The
    old array is returned."""
    old = tensor._array
    if type(value) is np.ndarray and value.dtype == _FLOAT64:
        tensor._array = _canonical(value)  # the array itself, or a view of its memory
    else:
        tensor._array = _as_float64_array(value, "a tensor's data")
    return old


def _note_former(leaf: Tensor, old: np.ndarray) -> None:
    """After ``t.data = ...`` on a leaf: note that ``old`` was its array until now.

    An op applied before keeps ``old`` and its backward reads it (the forward's values),
    first order and, under ``create_graph``, through ``_node_of``, which knows a leaf's
    saved array by identity: without this note ``old`` would be a constant there and a
    second derivative would silently lose the terms through it. Entries are
    (weak reference to the array, the op number from which it was the data, the number
    at which it stopped being); those whose array is gone are dropped."""
    history = getattr(leaf, "_former", ())
    since = history[-1][2] if history else -1  # when ``old`` became the data
    kept = [entry for entry in history if entry[0]() is not None]
    kept.append((weakref.ref(old), since, next(_op_numbers)))
    leaf._former = kept


def _was_data_of(leaf: Tensor, array: np.ndarray, number: int) -> bool:
    """Whether ``array`` was ``leaf``'s array when op ``number`` was applied."""
    for ref, since, until in getattr(leaf, "_former", ()):
        if ref() is array and since < number < until:
            return True
    return False


def _former_data(parent: Any, array: np.ndarray) -> Tensor:
    """``array``, a former array of a leaf ``parent`` or an op's private copy of an input
    (``Function._copies``), as a Tensor in the graph whose gradient goes to ``parent`` (a
    ``NewData`` node): a backward reads the forward's values, as the first order does, and
    differentiates through them."""
    node = ops.NewData()
    node.parents, node.needs_input_grad = (parent,), (True,)
    node._shape, node._number, node._out = array.shape, next(_op_numbers), id(array)
    tensor = Tensor._wrap(array, True)
    tensor._ctx = node
    return tensor


def _renamed(tensor: Tensor) -> None:
    """After ``t.data = ...`` on a tensor made by an op: ``t`` becomes the output of a
    ``NewData`` node whose output is its new array and whose gradient goes on to the op that
    made it, as torch's ``t.data = ...`` keeps ``grad_fn``.

    Under ``create_graph`` a saved array is known for ``t`` by the id of the output of
    ``t``'s node (``_node_of``): left on the old node, the new array would be a constant (a
    term of a second derivative silently lost) and a later array given the old one's id
    would be taken for ``t``. Not under a recording (graph.capture), which knows its
    nodes from ``apply`` and never differentiates twice; with a new shape the gradient
    cannot reach the old node, and the walk says so at the op that used ``t``."""
    if _state.recorder is not None:
        return
    node = ops.NewData()
    node.parents, node.needs_input_grad = (tensor._ctx,), (True,)
    node._shape, node._number, node._out = tensor._array.shape, next(_op_numbers), id(tensor._array)
    tensor._ctx = node


def _matmul(a: Tensor, b: Tensor) -> Tensor:
    """a @ b as numpy's matmul: a 1-D a is a row (1, k), a 1-D b a column (k, 1), and the
    axis each added is dropped from the product, so gradients flow through two reshapes."""
    x, w = a._array, b._array
    if x.ndim == 2 and w.ndim == 2 and x.shape[1] == w.shape[0]:  # speed: the common case
        return ops.MatMul.apply(a, b)
    _matmul_shapes(a.shape, b.shape)
    if a.ndim >= 2 and b.ndim >= 2:
        return ops.MatMul.apply(a, b)
    product = ops.MatMul.apply(
        _reshaped(a, (1, a.shape[0])) if a.ndim == 1 else a,
        _reshaped(b, (b.shape[0], 1)) if b.ndim == 1 else b,
    )
    added = {product.ndim - 2} if a.ndim == 1 else set()
    added |= {product.ndim - 1} if b.ndim == 1 else set()
    return _reshaped(product, tuple(n for i, n in enumerate(product.shape) if i not in added))


def _reshaped(tensor: Tensor, shape: tuple[int, ...]) -> Tensor:
    """``tensor.reshape(shape)``, a view of it when numpy's reshape is one."""
    return _as_view(
        tensor,
        ops.Reshape.apply(tensor, shape),
        lambda base: _reshaped(base, shape),
        lambda base, view: ops.Reshape.apply(view, base.shape),
    )


def _transposed(tensor: Tensor, axes: Any) -> Tensor:
    """``tensor.transpose(axes)`` (None: reversed), a view of it."""
    return _as_view(
        tensor,
        ops.Transpose.apply(tensor, axes),
        lambda base: _transposed(base, axes),
        lambda base, view: ops.Transpose.apply(
            view, None if axes is None else tuple(int(a) for a in np.argsort(axes))
        ),
    )


def _as_view(
    base: Tensor,
    view: Tensor,
    again: Callable[[Tensor], Tensor],
    write_back: Callable[[Tensor, Tensor], Tensor],
) -> Tensor:
    """``view``, noted as a view of ``base`` when its array is a numpy view of base's, as
    torch's views: a recorded in-place update of the view is then written back into base
    (``write_back(base, new view)``, recorded, base keeps its identity), and after a
    recorded update of base each of its views is taken again from its new array
    (``again(base)``); see ``_take``. Without this either update would leave the other
    tensor's values as they were, silently."""
    array = view._array
    if array.base is not None and _owner(array) is _owner(base._array):
        view._view = (base, again, write_back)
        views = getattr(base, "_views", None)
        if views is None:
            base._views = views = []
        elif len(views) >= 16 and not len(views) & (len(views) - 1):  # now and then
            views[:] = [ref for ref in views if ref() is not None]
        views.append(weakref.ref(view))
    return view


def _retake_views(tensor: Tensor, old: np.ndarray) -> None:
    """After a recorded update gave ``tensor`` a new array: each live view of ``old``
    taken from ``tensor`` becomes the same view of the new array (recorded), and so on
    down the views of views."""
    views = getattr(tensor, "_views", None)
    if not views:
        return
    tensor._views = []
    for ref in views:
        view = ref()
        link = None if view is None else getattr(view, "_view", None)
        if link is None or link[0] is not tensor or _owner(view._array) is not _owner(old):
            continue
        fresh = link[1](tensor)
        if tensor._views and tensor._views[-1]() is fresh:
            tensor._views[-1] = ref  # the view itself, not the fresh one, is tensor's
        view_old = view._array
        view._array, view._ctx, view.requires_grad = fresh._array, fresh._ctx, fresh.requires_grad
        view._view = getattr(fresh, "_view", None)
        _retake_views(view, view_old)


def _viewed_leaf(tensor: Tensor) -> Tensor | None:
    """The leaf that requires grad whose array ``tensor`` is a view of, through a chain of
    views still sharing its memory, or None."""
    link = getattr(tensor, "_view", None)
    while link is not None:
        base = link[0]
        if _owner(base._array) is not _owner(tensor._array):
            return None
        if base._ctx is None:
            return base if base.requires_grad else None
        tensor, link = base, getattr(base, "_view", None)
    return None


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
    return other._array if isinstance(other, Tensor) else other


def _needs_recording(tensor: Tensor, other: Any, what: str) -> bool:
    """Whether an in-place update must be recorded as an op (torch's rules):

    - under ``no_grad()``, or when neither side requires grad: no, the array is written;
    - a leaf that requires grad, while recording: RuntimeError, torch's words;
    - a tensor made by an op, or an operand that requires grad: yes.
    """
    if not _state.grad_enabled:
        return False
    if tensor._ctx is None and tensor.requires_grad:
        raise RuntimeError(
            f"a leaf Variable that requires grad is being used in an in-place operation "
            f"({what}): update parameters inside `with no_grad():`, as in PyTorch, or "
            f"record a copy, t = t.clone(), and update that"
        )
    if tensor._ctx is not None and _viewed_leaf(tensor) is not None:
        raise RuntimeError(
            f"a view of a leaf Variable that requires grad is being used in an in-place "
            f"operation ({what}): update the leaf inside `with no_grad():`, as in PyTorch, "
            f"or record a copy, t = t.clone(), and update a view of that"
        )
    return tensor._ctx is not None or (isinstance(other, Tensor) and other.requires_grad)


def _in_place(tensor: Tensor, ufunc: np.ufunc, op: Callable, other: Any, symbol: str) -> Tensor:
    """``tensor <symbol>= other`` by torch's rules (``_needs_recording``). Written: into the
    tensor's own array (aliases such as ``.numpy()`` see it) and its version goes up.
    Recorded: the op's result becomes the tensor's array and graph node; the tensor keeps
    its identity, the old array stays with the ops that saved it, no version changes."""
    if not _needs_recording(tensor, other, f"t {symbol}= ..."):
        values = _values(other)
        try:
            ufunc(tensor._array, values, out=tensor._array)
        except (ValueError, TypeError):
            raise ValueError(
                f"t {symbol}= x changes t in place, so x must broadcast to t's shape "
                f"{tensor.shape}; got shape {np.shape(values)}"
            ) from None
        written(tensor)
        return tensor
    source = tensor
    if _shares_memory(tensor):
        # the update is written into the shared array: the op saves a copy of the values
        # before it (torch saves the original), not the array it is about to change
        source = tensor.clone()
        other = source if other is tensor else other
    result = op(source, other)
    if result.shape != tensor.shape:
        raise ValueError(
            f"t {symbol}= x changes t in place, so x must broadcast to t's shape "
            f"{tensor.shape}; got shape {np.shape(_values(other))}"
        )
    _take(tensor, result)
    return tensor


def _take(tensor: Tensor, result: Tensor) -> None:
    """A recorded in-place update: ``tensor`` becomes ``result`` and keeps its identity.

    Refused inside a recording (graph.capture): a recorder knows tensors by identity, and
    would take later uses of ``tensor`` for its value before the update."""
    if _state.recorder is not None:
        raise RuntimeError(
            "an in-place update of a tensor made by an op (or with an operand that requires "
            "grad) inside graph.capture: the captured step would replay the value before "
            "the update; write t = t + x (a new tensor) in the captured function"
        )
    old = tensor._array
    link = getattr(tensor, "_view", None)
    if link is not None and _owner(link[0]._array) is _owner(old):
        # a view: its base takes the update, then takes this view (and the others) again
        _take(link[0], link[2](link[0], result))
        return
    if _shares_memory(tensor):
        # a tensor from detach() holds this array too: the update goes into it, as torch's
        result = ops.Overwrite.apply(result, old)
        written(tensor)
    tensor._array, tensor._ctx, tensor.requires_grad = result._array, result._ctx, True
    if link is not None:
        tensor._view = None
    _retake_views(tensor, old)


# ---------------------------------------------------------------------- versions
# Writes are rare and ops are many, so an op records nothing about versions: each write
# notes, per array that owns the memory, its history of op numbers; backward checks only
# the ops older than the newest write (none at all in a training loop's backward, whose
# forward follows the optimiser's step).
_writes: dict[int, tuple[Any, list[int]]] = {}  # id(owner) -> (weakref(owner), op numbers)
_newest_write = [-1]
_KEPT_WRITES = 32  # op numbers kept per array (the version itself is their total count)


def _owner(array: Any) -> Any:
    """The object that owns ``array``'s memory: views share their base's version."""
    base = array.base
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    return array if base is None else base


def written(*tensors: Tensor) -> None:
    """Note an in-place write into each tensor's array: its version goes up by one, and a
    later backward through an op that saved the old values raises (torch's check). The
    in-place operators call it, and so must code that writes ``t.data`` in place
    (the optimisers' steps, ``load_state_dict``). Inside ``graph.capture`` a write is
    state a replay would not update (BatchNorm's running statistics): it is refused."""
    if _state.recorder is not None:
        for tensor in tensors:
            _escaping(
                "an in-place write (t += x, t[i] = x, an update of running statistics)", tensor
            )
    number = next(_op_numbers)
    _newest_write[0] = number
    for tensor in tensors:
        owner = tensor._array
        if owner.base is not None:  # speed: a parameter owns its memory, no call for it
            owner = _owner(owner)
        entry = _writes.get(id(owner))
        if entry is None or entry[0]() is not owner:
            _writes[id(owner)] = entry = (weakref.ref(owner, _forget(id(owner))), [0])
        history = entry[1]
        history[0] += 1  # the version
        history.append(number)
        if len(history) > _KEPT_WRITES:
            del history[1 : 1 + _KEPT_WRITES // 2]


def _forget(key: int, table: dict[int, Any] = _writes) -> Callable[[Any], None]:
    def forget(_ref: Any) -> None:
        entry = table.get(key)
        if entry is not None and entry[0]() is None:
            del table[key]

    return forget


# detach() gives a tensor around the same array (torch: the same storage and version). While
# one lives, a recorded in-place update of a tensor holding that memory is written into it
# (``_take``), not given a new array, which would leave the other's values as they were.
_detached: dict[int, tuple[Any, list[Any]]] = {}  # id(owner) -> (weakref(owner), tensors)


def _note_detached(tensor: Tensor) -> None:
    owner = _owner(tensor._array)
    entry = _detached.get(id(owner))
    if entry is None or entry[0]() is not owner:
        _detached[id(owner)] = entry = (weakref.ref(owner, _forget(id(owner), _detached)), [])
    refs = entry[1]
    if len(refs) >= 16 and not len(refs) & (len(refs) - 1):  # now and then
        refs[:] = [ref for ref in refs if ref() is not None]
    refs.append(weakref.ref(tensor))


def _shares_memory(tensor: Tensor) -> bool:
    """Whether a live tensor from ``detach()`` holds memory of ``tensor``'s array."""
    owner = _owner(tensor._array)
    entry = _detached.get(id(owner))
    if entry is None or entry[0]() is not owner:
        return False
    for ref in entry[1]:
        alias = ref()
        if alias is not None and _owner(alias._array) is owner:
            return True
    return False


def _version_of(array: np.ndarray) -> int:
    owner = _owner(array)
    entry = _writes.get(id(owner))
    return entry[1][0] if entry is not None and entry[0]() is owner else 0


def newest_write() -> int:
    """The number of the newest in-place write into any array (-1: none yet); every later
    write has a larger one. A mark for ``written_since``: while it is unchanged, no array
    has been written."""
    return _newest_write[0]


def written_since(array: np.ndarray, number: int) -> tuple[int, int] | None:
    """(the version now, the version then) of ``array``'s memory if it has been written in
    place since ``number`` (an op's number, or a ``newest_write()`` mark); else None."""
    owner = _owner(array)
    entry = _writes.get(id(owner))
    if entry is None or entry[0]() is not owner or entry[1][-1] <= number:
        return None
    history = entry[1]
    return history[0], history[0] - sum(1 for n in history[1:] if n > number)


def modified_in_place(what: str, versions: tuple[int, int], hint: str) -> RuntimeError:
    """torch's error for a backward that would read an array written since its forward."""
    return RuntimeError(
        f"one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: {what} is at version {versions[0]}; expected version "
        f"{versions[1]} instead. Hint: {hint}"
    )


def _check_versions(order: list[Function], create_graph: bool) -> None:
    """RuntimeError, in torch's words, if an op about to be walked saved an array that has
    been written in place since the op ran and its backward reads it (a first-order
    backward may read fewer: ``Function.read_first_order``)."""
    for ctx in order:
        number = ctx._number
        if number > _newest_write[0]:
            continue
        read = None if create_graph else ctx.read_first_order
        for saved in ctx.saved_tensors if read is None else read:
            if not isinstance(saved, np.ndarray):
                continue
            versions = written_since(saved, number)
            if versions is not None:
                raise modified_in_place(
                    f"an array of shape {saved.shape} saved by {type(ctx).__name__}",
                    versions,
                    "an in-place write (an in-place operator, an optimiser's step, "
                    "load_state_dict) changed it after the forward; update a copy recorded "
                    "in the graph, t = t.clone(), or write t = t + x (a new tensor), and "
                    "leave the saved values unchanged until backward",
                )


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
    # the saved arrays a first-order backward reads, when fewer than saved_tensors (which
    # a recorded one reads): only these are checked for writes since the forward
    read_first_order: tuple[np.ndarray, ...] | None = None
    _leaf = False  # see Tensor._leaf
    _aliases: dict[int, tuple[np.ndarray, Any]] | None = None  # see _distinct_arrays
    # id of a saved private copy of an input -> the input's position (see _node_of)
    _copies: dict[int, int] | None = None
    # True for the built-in ops, whose backward is written to run on Tensors too (see
    # ops.py): grad(..., create_graph=True) differentiates it. A user's Function is
    # differentiable once.
    higher_order: bool = False

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
    def apply(cls, *args: Any) -> Any:
        """Run ``forward`` on the arrays of the Tensor arguments and record the result.

        Tensors reach ``forward`` as their ndarrays; every other argument reaches it as is
        and gets no gradient. A forward returning a tuple of arrays gives a tuple of
        Tensors (its backward then receives one gradient per output).
        """
        # speed: every op's forward passes here: the arguments read without helper calls
        # (the engine's cost per op is ~1 us; each call is ~0.1), one, two or three Tensors
        # (most ops' calls) without the general loop's lists. Each path sets the same on ctx.
        ctx = cls()
        count = len(args)
        if count == 2 and type(args[0]) is Tensor and type(args[1]) is Tensor:
            # two Tensors (x @ w, x + b, x * y): the general loop below for them, ~0.4 us
            # of its ~1.2 less. A Tensor that requires grad hands its node on: its op's
            # context, or itself for a leaf.
            x, y = args
            a, b = x._array, y._array
            px = (x if x._ctx is None else x._ctx) if x.requires_grad else None
            py = (y if y._ctx is None else y._ctx) if y.requires_grad else None
            ctx.needs_input_grad = (px is not None, py is not None)
            parents = (px, py)
            needs_grad = px is not None or py is not None
            if needs_grad and a is b:
                a, b = _distinct_arrays(ctx, [a, b], parents)
            out = cls.forward(ctx, a, b)
        elif count == 1 and type(args[0]) is Tensor:  # x.tanh(), -x, x.sum()
            (x,) = args
            px = (x if x._ctx is None else x._ctx) if x.requires_grad else None
            ctx.needs_input_grad = (px is not None,)
            parents = (px,)
            needs_grad = px is not None
            out = cls.forward(ctx, x._array)
        elif count == 3 and type(args[0]) is type(args[1]) is type(args[2]) is Tensor:
            # F.linear's x, weight and bias: nn.Linear's one op
            x, y, z = args
            a, b, c = x._array, y._array, z._array
            px = (x if x._ctx is None else x._ctx) if x.requires_grad else None
            py = (y if y._ctx is None else y._ctx) if y.requires_grad else None
            pz = (z if z._ctx is None else z._ctx) if z.requires_grad else None
            parents = (px, py, pz)
            ctx.needs_input_grad = (px is not None, py is not None, pz is not None)
            needs_grad = px is not None or py is not None or pz is not None
            if needs_grad and (a is b or a is c or b is c):
                a, b, c = _distinct_arrays(ctx, [a, b, c], parents)
            out = cls.forward(ctx, a, b, c)
        else:
            arrays = []
            parents = []
            needs = []
            for arg in args:
                if isinstance(arg, Tensor):
                    arrays.append(arg._array)
                    if arg.requires_grad:
                        node = arg._ctx
                        parents.append(arg if node is None else node)
                        needs.append(True)
                        continue
                else:
                    arrays.append(arg)
                parents.append(None)
                needs.append(False)
            ctx.needs_input_grad = needs = tuple(needs)
            needs_grad = True in needs
            count = len(arrays)  # an object twice is rare: the check costs a set at most
            if (
                needs_grad
                and count > 1
                and (arrays[0] is arrays[1] if count == 2 else len(set(map(id, arrays))) < count)
            ):
                _distinct_arrays(ctx, arrays, parents)
            parents = tuple(parents)
            out = cls.forward(ctx, *arrays)
        if type(out) is not _ARRAY or out.dtype is not _FLOAT64:
            if type(out) is tuple:
                return _apply_several(ctx, args, out, parents)
            out = _converted_output(ctx, out)
        state = _state
        result = _new_tensor(Tensor)  # Tensor._wrap, written out
        result._array = out
        result._grad = None
        if needs_grad and state.grad_enabled:
            result.requires_grad = True
            result._ctx = ctx
            ctx.parents = parents
            ctx._shape = out.shape
            ctx._number = next(_op_numbers)
            ctx._out = id(out)  # which saved array is the output (see _node_of)
        else:
            result.requires_grad = False
            result._ctx = None
        if state.recorder is not None:
            state.recorder.applied(ctx, args, result)
        return result


def _converted_output(ctx: Function, raw: Any) -> np.ndarray:
    """``raw`` as a float64 array; where forward saved ``raw`` itself (a numpy scalar, as
    ufuncs give for 0-d arrays), the array takes its place, so the saved output is the
    output and its derivatives flow under ``create_graph``."""
    out = _as_output(raw, type(ctx))
    saved = ctx.saved_tensors
    for value in saved:
        if value is raw:
            ctx.saved_tensors = tuple(out if v is raw else v for v in saved)
            break
    return out


def _as_output(out: Any, cls: type | None = None) -> np.ndarray:
    """What ``forward`` returned as a float64 ndarray (numpy scalars, Python numbers and
    other real dtypes are converted); anything else is a TypeError naming the Function."""
    if type(out) is np.float64:  # a full reduction's result
        return np.asarray(out)
    if isinstance(out, (np.ndarray, np.number, float, int)) and not isinstance(out, bool):
        array = np.asarray(out)
        if array.dtype.kind in "biuf":
            return _canonical(array.astype(np.float64, copy=False))
    raise TypeError(
        f"{cls.__name__ if cls else 'a Function'}.forward returned {type(out).__name__}"
        + (f" of dtype {out.dtype}" if isinstance(out, np.ndarray) else "")
        + ": it must return an ndarray of real numbers, or a tuple of them (one per output)"
    )


def _distinct_arrays(ctx: Function, arrays: list[Any], parents: Sequence[Any]) -> list[Any]:
    """Give ``forward`` one view per graph node where one array object comes through
    arguments of different nodes (``x * x.detach()``, ``x.data * x``, ``x * d`` for
    ``d = x.detach().requires_grad_()``), and note on ``ctx`` whose each view is.

    Under ``create_graph`` a saved array is matched to its node (``_node_of``); by
    identity alone the shared object would be taken for whichever argument holds it
    first, a constant for ``x`` or ``x`` for the constant, and a second derivative
    would silently lose or gain a term. Every position gets a view, the first too: a
    position keeping the object itself would still match another node's array. A view
    shares the memory, and the version, of its base. ``arrays`` is returned, changed
    in place."""
    groups: dict[int, list[int]] = {}
    for i, array in enumerate(arrays):
        if isinstance(array, np.ndarray):
            groups.setdefault(id(array), []).append(i)
    aliases: dict[int, tuple[np.ndarray, Any]] = {}
    for positions in groups.values():
        if len({id(parents[i]) for i in positions}) < 2:
            continue  # one node (or all constants): the object itself is unambiguous
        views: dict[int, np.ndarray] = {}
        for i in positions:
            parent = parents[i]
            view = views.get(id(parent))
            if view is None:
                view = views[id(parent)] = arrays[i].view()
                aliases[id(view)] = (view, parent)  # the view kept: its id stays its own
            arrays[i] = view
    if aliases:
        ctx._aliases = aliases
    return arrays


class _Output(Function):
    """The graph node of output ``index`` of an op with several outputs: the walk collects
    the gradients of all of them before it calls the op's backward once."""

    def __init__(self, op: Function, index: int) -> None:
        self.op, self.index = op, index


def _apply_several(ctx: Function, args: tuple[Any, ...], outs: tuple[Any, ...], parents):
    """``apply`` for a forward that returned a tuple: one Tensor, and one node, per output."""
    cls = type(ctx)
    if not outs:
        raise TypeError(f"{cls.__name__}.forward returned an empty tuple: nothing to record")
    arrays = [
        out if type(out) is np.ndarray and out.dtype is _FLOAT64 else _converted_output(ctx, out)
        for out in outs
    ]
    state = _state
    requires_grad = state.grad_enabled and True in ctx.needs_input_grad
    results = tuple(Tensor._wrap(out, requires_grad) for out in arrays)
    if requires_grad:
        ctx.parents = tuple(parents)
        ctx._number = next(_op_numbers)
        ctx._shapes = tuple(out.shape for out in arrays)
        ctx._out = None
        for index, (out, result) in enumerate(zip(arrays, results, strict=True)):
            node = _Output(ctx, index)
            node.parents, node.needs_input_grad = (ctx,), (True,)
            node._shape, node._number, node._out = out.shape, next(_op_numbers), id(out)
            result._ctx = node
    if state.recorder is not None:
        for result in results:
            state.recorder.applied(ctx, args, result)
    return results


_new_tensor = object.__new__  # Tensor._wrap's first step, for Function.apply

# Ops are numbered as they are applied, so an op's number is larger than its inputs' ops'.
_op_numbers = itertools.count()
_by_number = operator.attrgetter("_number")


def backward_order(*roots: Tensor) -> list[Function]:
    """The contexts of the ops the backward walk from ``roots`` visits, in its order.

    Every op the roots depend on through tensors requiring grad, outputs first: sorting by
    application number, newest first, puts every op after all the ops that consume its
    output. A loop over a stack, not recursion: a graph's depth is limited by memory, not
    by Python's recursion limit. Empty for leaves.
    """
    return _order([root._ctx for root in roots if root._ctx is not None])


def _order(stack: list[Function]) -> list[Function]:
    """``backward_order`` from the contexts in ``stack`` (emptied)."""
    found = set(stack)
    add, push, pop = found.add, stack.append, stack.pop  # speed: the walk's first step
    while stack:
        for parent in pop().parents:
            if parent is not None and not parent._leaf and parent not in found:
                add(parent)
                push(parent)
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
    """``root.backward()``'s walk: ``_walk`` for one root, adding into ``.grad``, first
    order; the same steps, written out for speed (it is the training loop's)."""
    if root._ctx is None:
        accumulate(root, seed)
        return
    pending: dict[Function, Any] = {root._ctx: seed}
    order = _checked_order(pending)
    recorder = _state.recorder
    for ctx in order:
        grad = pending.pop(ctx, None)
        if grad is None:
            continue
        if type(ctx) is _Output:
            _collect(pending, ctx, grad)
            continue
        if recorder is not None:
            recorder.reached(ctx, grad)
        # speed: input_gradients, written out, its checks in the loop that hands the
        # gradients on (one pass over the inputs instead of two)
        parents = ctx.parents
        grads = ctx.backward(ctx, grad) if type(grad) is not list else _several(ctx, grad)
        if len(parents) == 1:
            grads = (grads,)
        elif type(grads) is not tuple or len(grads) != len(parents):
            grads = _per_input(ctx, grads)
        for parent, parent_grad in zip(parents, grads):
            if parent is None or parent_grad is None:
                continue
            kind = type(parent_grad)
            if parent._leaf:
                # a float64 array of the leaf's shape needs no check; anything else is
                # checked, then accumulate converts it
                shape = parent._array.shape
                if not (
                    kind is _ARRAY and parent_grad.dtype is _FLOAT64 and parent_grad.shape == shape
                ):
                    _check_gradient(ctx, parent_grad, shape)
                    accumulate(parent, parent_grad)
                elif parent._grad is None:  # speed: accumulate's float64 case, written out
                    parent._grad = parent_grad.copy()
                else:
                    parent._grad += parent_grad
                continue
            if (
                (kind is not _ARRAY and kind is not _SCALAR)
                or parent_grad.dtype is not _FLOAT64
                or parent_grad.shape != parent._shape
            ):
                _check_gradient(ctx, parent_grad, parent._shape)
            total = pending.get(parent)
            pending[parent] = parent_grad if total is None else total + parent_grad


def _checked_order(pending: dict[Function, Any], create_graph: bool = False) -> list[Function]:
    """The walk's order from the ops in ``pending``, versions checked when a write has
    happened since the oldest of them was applied."""
    order = _order(list(pending))
    if order and _newest_write[0] > order[-1]._number:
        _check_versions(order, create_graph)
    return order


def _collect(pending: dict[Function, Any], node: _Output, grad: Any) -> None:
    """Output ``node.index``'s gradient into the list its op's backward will receive."""
    grads = pending.setdefault(node.op, [None] * len(node.op._shapes))
    index = node.index
    grads[index] = grad if grads[index] is None else grads[index] + grad


def _walk(
    roots: list[Tensor],
    seeds: list[Any],
    wanted: dict[Any, Any],
    create_graph: bool = False,
) -> None:
    """The backward walk, first and higher order: from ``roots`` in ``backward_order``.

    d root/d input = sum over the ops that use it of their vector-Jacobian products. An
    op's incoming gradients are summed in ``pending`` (keyed by the context itself) before
    its backward runs. ``wanted`` maps graph nodes (a leaf Tensor or the context that made
    a tensor) to their gradient, filled in here; no ``.grad`` changes (``backward()``'s
    walk, which adds into ``.grad``, is ``_backpropagate``). With
    ``create_graph`` the gradients are Tensors and every backward is recorded (see
    ``_lifted``), so the results can be differentiated again. A ``Recorder`` installed for
    this thread sees each op's summed gradient (``reached``).
    """
    pending: dict[Function, Any] = {}
    for root, seed in zip(roots, seeds, strict=True):
        node = root._ctx
        if node is None:
            _deliver(root, seed, wanted)
        else:
            pending[node] = pending[node] + seed if node in pending else seed
    order = _checked_order(pending, create_graph)
    recorder = _state.recorder
    vjp = _recorded_gradients if create_graph else input_gradients
    for ctx in order:
        grad = pending.pop(ctx, None)
        if grad is None:
            continue
        if ctx in wanted:
            wanted[ctx] = grad
        if type(ctx) is _Output:
            _collect(pending, ctx, grad)
            continue
        if recorder is not None:
            recorder.reached(ctx, grad)
        for parent, parent_grad in zip(ctx.parents, vjp(ctx, grad), strict=True):
            if parent is None or parent_grad is None:
                continue
            if parent._leaf:
                _deliver(parent, parent_grad, wanted)
            elif parent in pending:
                pending[parent] = pending[parent] + parent_grad
            else:
                pending[parent] = parent_grad


def _deliver(leaf: Tensor, grad: Any, wanted: dict[Any, Any]) -> None:
    """A leaf's share of the gradient, into ``wanted`` when it is there."""
    if leaf in wanted:
        total = wanted[leaf]
        wanted[leaf] = grad if total is None else total + grad


def input_gradients(ctx: Function, grad: Any) -> tuple[Any, ...]:
    """``ctx``'s backward at ``grad``, one entry per forward argument, shapes and types
    checked: what the backward walk asks of every op (and what a compiled step asks of an
    op it calls). ``grad`` is a list, one per output, for an op with several outputs."""
    grads = ctx.backward(ctx, grad) if type(grad) is not list else _several(ctx, grad)
    parents = ctx.parents
    grads = (grads,) if len(parents) == 1 else _per_input(ctx, grads)
    for parent, parent_grad in zip(parents, grads, strict=True):
        if parent is None or parent_grad is None:
            continue
        shape = parent._array.shape if parent._leaf else parent._shape
        kind = type(parent_grad)
        if (
            (kind is not np.ndarray and kind is not np.float64)
            or parent_grad.dtype is not _FLOAT64
            or parent_grad.shape != shape
        ):
            _check_gradient(ctx, parent_grad, shape)
    return tuple(grads)


def _several(ctx: Function, grads: list[Any]) -> Any:
    """The backward of an op with several outputs, zeros for the outputs no gradient reached."""
    filled = [
        np.zeros(shape) if g is None else g for g, shape in zip(grads, ctx._shapes, strict=True)
    ]
    return ctx.backward(ctx, *filled)


def _per_input(ctx: Function, grads: Any) -> Any:
    """A backward's result for an op of several inputs, checked to hold one per input."""
    count = len(ctx.parents)
    if not isinstance(grads, (tuple, list)) or len(grads) != count:
        raise ValueError(
            f"{type(ctx).__name__}.backward must return a tuple of {count} "
            f"gradients (one per forward argument, None where there is none)"
        )
    return grads


def _check_gradient(ctx: Function, grad: Any, shape: tuple[int, ...]) -> None:
    """A gradient must have its input's shape (ValueError) and be an ndarray of real
    numbers or a real number (a Tensor only under ``create_graph``, from a built-in op): a
    TypeError naming the Function otherwise."""
    _check_gradient_type(ctx, grad)
    grad_shape = getattr(grad, "shape", None)
    if grad_shape is None:  # a Python number from a user's backward
        grad_shape = np.shape(grad)
    if grad_shape != shape:
        raise ValueError(
            f"{type(ctx).__name__}.backward returned a gradient of shape "
            f"{np.shape(grad)} for an input of shape {shape}"
        )


def _check_gradient_type(ctx: Function, grad: Any) -> None:
    """The type half of ``_check_gradient``."""
    name = type(ctx).__name__
    if isinstance(grad, Tensor):
        if _state.create_graph:
            return
        raise TypeError(
            f"{name}.backward returned a Tensor: backward works on ndarrays (the gradient "
            f"it receives and the arrays it saved are ndarrays); return an ndarray"
        )
    real = isinstance(grad, (np.ndarray, np.number, float, int)) and not isinstance(grad, bool)
    if real and np.asarray(grad).dtype.kind in "iuf":
        return
    raise TypeError(
        f"{name}.backward returned {type(grad).__name__}"
        + (f" of dtype {grad.dtype}" if isinstance(grad, np.ndarray) else "")
        + " as a gradient: it must return ndarrays of real numbers (None where none)"
    )


# ---------------------------------------------------------------------- higher order
class _Lifted:
    """A context as its backward sees it under ``create_graph``: ``saved_tensors`` holds
    Tensors in the graph for the saved inputs and output, so the backward's own ops are
    recorded and differentiate through them; everything else is the context's own."""

    def __init__(self, ctx: Function, saved: tuple[Any, ...]) -> None:
        self._ctx, self.saved_tensors = ctx, saved

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)


def _lifted(ctx: Function) -> _Lifted:
    """``ctx`` with each saved float64 array that is one of its inputs that require grad,
    or its output, as a Tensor that is that node of the graph; other saved values (masks,
    labels, constant inputs) stay as they are."""
    saved = []
    for value in ctx.saved_tensors:
        if type(value) is np.ndarray and value.dtype == _FLOAT64:  # any instance of it
            value = _node_of(ctx, value)
        saved.append(value)
    return _Lifted(ctx, tuple(saved))


def _node_of(ctx: Function, array: np.ndarray) -> Any:
    """The Tensor of the graph whose data ``array`` is: ``ctx``'s output or an input's.

    An op keeps its output's ``id``, not the output (whose memory is freed with the last
    tensor holding it). The ids cannot mislead: ``array`` is alive (saved), and it was
    alive when the op's output, and its inputs' outputs, were made, so an equal id is the
    same array."""
    key = id(array)
    if ctx._out == key:
        tensor = Tensor._wrap(array, True)
        tensor._ctx = ctx
        return tensor
    copies = ctx._copies
    if copies is not None and key in copies:  # a private copy of an input
        parent = ctx.parents[copies[key]]
        return array if parent is None else _former_data(parent, array)
    aliases = ctx._aliases
    if aliases is not None and key in aliases:  # one node's view of a shared array
        return _node_of_alias(aliases[key])
    for parent in ctx.parents:
        if parent is None:
            continue
        if isinstance(parent, Tensor):
            if parent._array is array:
                return parent
            if _was_data_of(parent, array, ctx._number):
                return _former_data(parent, array)
        elif parent._out == key:
            tensor = Tensor._wrap(array, True)
            tensor._ctx = parent
            return tensor
    return array


def _node_of_alias(alias: tuple[np.ndarray, Any]) -> Any:
    """The node an argument's view (``_distinct_arrays``) stands for: its leaf, a Tensor
    of the op that made it, or the view itself for a constant."""
    view, parent = alias
    if parent is None or isinstance(parent, Tensor):
        return view if parent is None else parent
    tensor = Tensor._wrap(view, True)
    tensor._ctx = parent
    return tensor


def _recorded_gradients(ctx: Function, grad: Any) -> tuple[Any, ...]:
    """``ctx``'s backward with Tensors in and out, recorded in the graph (``create_graph``).

    Only the built-in ops (``higher_order`` True) write their backward so; a user's
    Function is differentiable once, and saying so is better than a wrong second
    derivative."""
    if not ctx.higher_order:
        raise RuntimeError(
            f"{type(ctx).__name__} is a Function whose backward works on ndarrays: it is "
            f"differentiable once, and grad(..., create_graph=True) cannot differentiate "
            f"its backward. Write the layer with Tensor operations (no Function) to "
            f"differentiate it to any order"
        )
    grads = input_gradients(_lifted(ctx), grad)
    return tuple(g if g is None or isinstance(g, Tensor) else _lift(g) for g in grads)


def accumulate(leaf: Tensor, grad: Any, into: np.ndarray | None = None) -> None:
    """leaf.grad += grad; the first time a float64 copy, which the framework then owns
    (copied into ``into``, an array of the leaf's shape, when given: a compiled step's
    buffer)."""
    if leaf._grad is not None:
        leaf._grad += grad
    elif into is None:
        # speed: ndarray.copy is twice as quick as np.array(grad, dtype=...)
        fresh = type(grad) is np.ndarray and grad.dtype is _FLOAT64
        leaf._grad = grad.copy() if fresh else np.array(grad, dtype=np.float64)
    else:
        np.copyto(into, grad)
        leaf._grad = into


# The names a compiled step used before these two were public.
_input_gradients = input_gradients
_accumulate = accumulate


# Tensor's operators call the ops, and every op is a Function defined above: the one mutual
# import of the package, resolved here, at the bottom (tinygrad 2020's arrangement).
from tinygrad_moons import ops  # noqa: E402
