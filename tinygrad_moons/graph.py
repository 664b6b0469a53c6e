"""Graph capture: record a static computation once, then replay it as generated numpy.

Full-batch training builds the same graph every step: the same ops on the same parameter
Tensors, only the numbers change. ``capture(fn)`` calls ``fn`` (twice, to check that it
builds the same graph both times), records every op it applies and writes the whole step
out once as straight-line numpy (``codegen/``): ``StaticGraph.source`` is that Python.
``replay()`` runs it: the forward pass into buffers allocated at capture, then the backward
pass, with no Tensor, context or graph walk made again, and the gradients are those of a
fresh ``fn().backward()``, bit for bit.

>>> import numpy as np
>>> import tinygrad_moons.functional as F
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

``forward()`` and ``backward()`` are the two halves, for a loop that steps between them.
A leaf written in place between the two (an optimiser's step, ``load_state_dict``,
``x -= 1.0``) is refused, as eagerly and in torch, where the gradients would mix the
forward's values with the new ones:

>>> _ = graph.forward()
>>> x -= 1.0                        # w's gradient reads x as the forward read it
>>> graph.backward(overwrite=True)  # doctest: +ELLIPSIS
Traceback (most recent call last):
RuntimeError: one of the variables needed for gradient computation has been modified by ...

What the graph reads afresh at every replay: the ``.data`` of the Tensors that ``fn`` used
but did not make (parameters, inputs), whose shapes must not change. What it keeps from
capture: every other argument of an op as it was passed (numbers, axes, the labels the loss
validated, an index array) and the Tensors ``fn`` made from numbers and arrays. A shape
change, or a ``fn`` whose two calls built different graphs, is a ``GraphChangedError``,
never a silently wrong result.

What it recomputes at every replay, never keeps: the values ``fn`` derives from data
through the Tensor API outside the ops (``t > 0``, masks built from masks, ``argmax``,
indices, ``Tensor(mask)``, ``detach()``, a draw through ``tensor.derived`` such as
Dropout's, from the same random stream as eagerly): the capture traces them (``Traced``)
and writes their functions into the step. What it refuses, naming the call: leaving the
Tensor API (``.item()``, ``float()``, ``bool()``, ``.numpy()`` of a Tensor, ``.tolist()`` or
``bool()`` of a traced mask), on which Python could decide what a replay cannot repeat,
and a ``fn`` that changes in place the data of a Tensor it reads. What it cannot see:
arrays computed from ``.data`` directly; keep those out of a captured function.

>>> mask_graph = capture(lambda: F.where(w > 1.5, w, 0.0).sum())
>>> w.data = np.array([2.0, 1.0])
>>> mask_graph.replay(backward=False).item()   # the mask follows the new data
2.0
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

import numpy as np

from tinygrad_moons.codegen import (
    GraphChangedError,
    Node,
    Step,
    captured_leaves,
    generate,
    leaves_changed,
)
from tinygrad_moons.codegen.program import Derived
from tinygrad_moons.tensor import (
    Function,
    Recorder,
    Tensor,
    modified_in_place,
    newest_write,
    recording,
    written_since,
)
from tinygrad_moons.validate import flag

__all__ = ["GraphChangedError", "StaticGraph", "capture"]


def capture(
    fn: Callable[[], Tensor | tuple[Tensor, ...]],
    names: Mapping[str, Tensor] | None = None,
    *,
    gradients: Mapping[Tensor, np.ndarray] | None = None,
) -> StaticGraph:
    """Record the graph that ``fn()`` builds and generate its step; see the module docstring.

    ``fn`` takes no arguments and returns a Tensor (or a tuple of Tensors: the first is
    the one ``replay`` differentiates, the others are computed along and kept in
    ``outputs``); it is called twice. ``names`` (name -> Tensor) names the leaves in
    ``source``; unnamed ones are x1, x2, ... ``gradients`` (leaf -> a C-contiguous float64
    array of its shape) are the arrays a replay writes those leaves' gradients into, the
    same arrays every time (``fit`` gives views of one array, and steps them all at once).
    """
    return StaticGraph(fn, names, gradients)


class StaticGraph:
    """The generated step of the ops ``fn()`` applied; made by ``capture``."""

    def __init__(
        self,
        fn: Callable[[], Tensor | tuple[Tensor, ...]],
        names: Mapping[str, Tensor] | None = None,
        gradients: Mapping[Tensor, np.ndarray] | None = None,
    ) -> None:
        self._gradients = {id(leaf): array for leaf, array in (gradients or {}).items()}
        first_outputs, first = _record(fn)
        outputs, second = _record(fn)
        # Only what reaches the outputs is replayed, and compared: an op's forward may
        # compute with a traced mask internally (np.where in Where), which is no step of fn.
        first_tape = _ops_reaching(first_outputs, first.entries)
        tape = _ops_reaching(outputs, second.entries)
        difference = _first_difference(first_tape, tape, first_outputs, outputs)
        if difference is not None:
            raise GraphChangedError(
                f"the function built a different graph on its second call ({difference}): "
                f"only a static graph can be captured"
            )
        for key, (leaf, data) in first.read.items():
            again = second.read.get(key)
            if again is not None and not leaf.requires_grad and not _same_value(data, again[1]):
                raise GraphChangedError(
                    "the function has state a replay would not update: a Tensor it reads "
                    "had other data on its second call (the function changes it in place)"
                )
        made = {id(result) for _, _, result in tape}
        if any(id(output) not in made for output in outputs):
            raise GraphChangedError(
                "the function returned a Tensor that no op of its own made: nothing to replay"
            )
        self._tape, self._tape_outputs = first_tape, first_outputs
        self.outputs: tuple[Tensor, ...] = outputs
        self.output: Tensor = outputs[0]
        self._entries = tape  # _ops_reaching(outputs, ...) already
        self._leaves = _leaves(self._entries, made)
        self.grad_leaves = [leaf for leaf, _ in self._leaves if leaf.requires_grad]
        self._constants = _constants(first_tape, tape, made)
        self._names = {id(t): name for name, t in (names or {}).items()}
        self._fresh = self._generate(accumulate=False)
        self._accumulating: Step | None = None
        # What the buffers hold: the values of the latest forward of this step (None: no
        # forward yet), whether ``output`` has that forward's value, and whether a
        # backward has run since (it may have overwritten values it reads: ``_values``).
        self._forwarded: Step | None = None
        self._valued = True
        self._backwarded = False
        # ``newest_write()`` at that forward: while it is the same, no array was written in
        # place since, and backward() and value() read the leaves' values the forward read.
        self._write_mark = -1
        self._unvalued = np.full(self.output.shape, np.nan).view(_Unvalued)
        # What the leaves were at capture, for the accumulating step generated later.
        self._captured_leaves = captured_leaves([leaf for leaf, _ in self._leaves])

    def check(self, fn: Callable[[], Tensor | tuple[Tensor, ...]]) -> tuple[Tensor, ...]:
        """Call ``fn`` once more, eagerly, and raise ``GraphChangedError`` if it builds another
        graph than the captured one; returns what it returned, as a tuple.

        For after the leaves have new values (a training step later): a constant that
        ``fn`` derives from the numbers themselves (a mask from ``.data``, a counter) is
        the same on the two calls of ``capture`` but not on this one.
        """
        outputs, tape = record(fn)
        tape = _ops_reaching(outputs, tape)
        difference = _first_difference(self._tape, tape, self._tape_outputs, outputs)
        if difference is not None:
            raise GraphChangedError(
                f"the function built another graph than the captured one ({difference})"
            )
        return outputs

    def _generate(self, accumulate: bool) -> Step:
        nodes = [Node(ctx, args, result) for ctx, args, result in self._entries]
        leaves = [leaf for leaf, _ in self._leaves]
        return generate(
            nodes, self.outputs, leaves, self._names, self._constants, accumulate, self._gradients
        )

    @property
    def reached_leaves(self) -> list[Tensor]:
        """The leaves whose ``.grad`` every ``backward()`` writes: the grad leaves that the
        differentiated output depends on through ops that pass a gradient."""
        return [leaf for leaf in self.grad_leaves if id(leaf) in self._fresh.contributed]

    @property
    def source(self) -> str:
        """The Python that ``replay`` runs: ``forward()``, then ``backward()`` (compiled
        with each ``np.f(...)`` call through a name bound once to ``np.f``)."""
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
        if backward is not True and backward is not False:  # speed: fit calls it every step
            backward = flag("replay(backward)", backward)
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
                leaves_changed([leaf for leaf, _ in self._leaves], self._captured_leaves)
                self._accumulating = self._generate(accumulate=True)
            step = self._accumulating
        self._run_forward(step)
        if backward:
            step.backward()
            self._backwarded = True
        return self.output

    def forward(self, value: bool = True, trusted: bool = False) -> Tensor:
        """Only the forward pass (``replay(backward=False)``), for a ``backward()`` later.

        With ``value=False`` it leaves out what only ``output``'s own value needs (a loss's
        sum and penalty, where the other outputs and the gradients do not read them):
        ``value()`` computes it, before ``backward()``; until then ``output``'s data is an
        array of NaN that refuses to be read (a RuntimeError naming ``value()``).

        ``trusted=True`` leaves out the check of the leaves' shapes, dtypes and layouts, for
        a caller that knows no code but its own has run since the latest forward of this
        graph, which checked them (``fit`` with no callback between: ~1 us of its ~30 us
        epoch): no leaf has been given another array or had its own reshaped. Where the
        latest forward was ``replay()``'s adding into ``.grad`` (or none), it checks all
        the same.
        """
        if value is not True and value is not False:  # speed: fit calls it every step
            value = flag("forward(value)", value)
        if trusted is True and self._forwarded is self._fresh:
            self._fresh.namespace["trust_leaves"] = True
        split = None if value else self._fresh.split()
        if split is None:
            self._run_forward(self._fresh)
        else:
            split[0]()
            self._forwarded, self._valued, self._backwarded = self._fresh, False, False
            self._write_mark = newest_write()
            self.output._array = self._unvalued
        return self.output

    def value(self) -> Tensor:
        """``output`` with the value of the latest forward, which a ``forward(value=False)``
        left out: computed now (before ``backward()``, which may overwrite what it reads,
        and before any in-place write into a leaf it reads: that raises, as backward's)."""
        if not self._valued:
            if self._backwarded and not self._fresh.value_after_backward:
                raise RuntimeError(
                    "value() after backward() would read values of the forward that the "
                    "backward overwrote (the graph's buffers are shared to save memory): call "
                    "value() before backward(), or forward() again"
                )
            if newest_write() != self._write_mark:
                self._refuse_written(self._fresh.value_reads, "value()")
            split = self._fresh.split()
            assert split is not None  # a forward left the value out
            split[1]()
            self._valued = True
        return self.output

    def backward(self, overwrite: bool = False) -> None:
        """The backward pass of the latest ``forward()``, for leaves whose ``.grad`` is None
        (as after ``zero_grad()``); ``replay()`` handles gradients that add up. With
        ``overwrite`` the gradients are written afresh whatever ``.grad`` holds, as if
        ``zero_grad()`` had run first. A second backward of one forward raises (as torch's
        does) where the first overwrote values of the forward that it reads; so does one
        after an in-place write (an optimiser's step, ``load_state_dict``, ``w -= x`` under
        no_grad) into a leaf's array that the forward read and the gradients read."""
        if overwrite is not True and overwrite is not False:  # speed: fit calls it every step
            overwrite = flag("backward(overwrite)", overwrite)
        fresh = self._fresh
        if fresh.backward is None:
            raise ValueError("backward() needs an output that requires grad")
        if self._forwarded is not fresh or (self._backwarded and not fresh.backward_again):
            self._refuse_backward()
        if newest_write() != self._write_mark:
            self._refuse_written(fresh.backward_reads, "backward()")
        if not overwrite:
            for i, leaf in enumerate(self.grad_leaves):
                if leaf.grad is not None:
                    raise ValueError(
                        f"backward() after forward() writes the gradients afresh, but leaf {i} "
                        f"of grad_leaves has a .grad: set it to None first, or use replay()"
                    )
        fresh.backward()
        self._backwarded = True

    def _refuse_backward(self) -> NoReturn:
        """The RuntimeError for a backward whose forward's values are not in the buffers."""
        if self._forwarded is None:
            raise RuntimeError(
                "backward() needs a forward() first: the graph's buffers hold no values yet"
            )
        if self._forwarded is not self._fresh:
            raise RuntimeError(
                "backward() differentiates the latest forward(), but the latest was replay()'s "
                "adding into .grad, whose values are kept apart: call forward() first"
            )
        raise RuntimeError(
            "Trying to backward through the graph a second time: the first backward() "
            "overwrote values of the forward that it reads (the graph's buffers are shared "
            "to save memory). Call forward() (or replay()) again before each backward()"
        )

    def _refuse_written(self, reads: tuple[int, ...], call: str) -> None:
        """torch's RuntimeError if an array of a leaf that ``call`` reads (as the latest
        forward read it) has been written in place since that forward: an optimiser's
        step, ``load_state_dict``, ``w -= x`` under no_grad, ``w[i] = x``."""
        step = self._fresh
        arrays = step.namespace["forward_leaves"] if reads else ()
        for i in reads:
            versions = written_since(arrays[i], self._write_mark)
            if versions is not None:
                name, leaf = step.kept[i]
                role = "a parameter" if leaf.requires_grad else "an input"
                raise modified_in_place(
                    f"leaf {name} of the captured graph ({role} of shape {arrays[i].shape}, "
                    f"as the latest forward() read it)",
                    versions,
                    f"an in-place write (an optimiser's step, load_state_dict, an in-place "
                    f"operator) changed it after forward(), and {call} would mix its new "
                    f"values with the forward's; write it after backward(), or call "
                    f"forward() again after the write",
                )

    def _run_forward(self, step: Step) -> None:
        step.forward()  # checks the leaves' shapes, sets the outputs' data
        self._forwarded, self._valued, self._backwarded = step, True, False
        self._write_mark = newest_write()


class _Unvalued(np.ndarray):
    """``output``'s data after ``forward(value=False)`` left its value out: NaN, and any
    computation with it, ``float()``, ``.item()`` or indexing raises a RuntimeError naming
    ``value()``, which computes the value (a stale number is never read silently)."""

    def _refuse(self, *_: Any, **__: Any) -> NoReturn:
        raise RuntimeError(
            "the graph's output has no value: forward(value=False) left it out; call "
            "graph.value() first (or forward())"
        )

    def __array_ufunc__(self, *args: Any, **kwargs: Any) -> Any:
        self._refuse()

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        if func in (np.array2string, np.array_repr, np.array_str):  # repr shows nan
            plain = [a.view(np.ndarray) if isinstance(a, _Unvalued) else a for a in args]
            return func(*plain, **kwargs)
        self._refuse()

    __float__ = __int__ = __bool__ = __index__ = __getitem__ = __iter__ = _refuse
    item = tolist = copy = astype = tobytes = _refuse


class Traced(np.ndarray):
    """An array the captured function derived from its data (a mask, indices, a draw).

    Only made inside a capture. numpy functions, ufuncs, indexing and the array methods
    below applied to it are recorded in turn, so a mask built from masks is recomputed
    at every replay; a Python decision on it (``bool()``, ``.item()``, ``.tolist()``,
    ``int()``, ``float()``, iteration) is refused: the capture cannot see it. Once the
    capture is over, it behaves as the plain array it holds.
    """

    _tape: _Tape | None = None
    _shape_read = False  # Python read its shape: a replay checks it (``_ops_reaching``)

    def __array_finalize__(self, obj: Any) -> None:
        self._tape = getattr(obj, "_tape", None)

    @property
    def shape(self) -> tuple[int, ...]:
        self._shape_read = True
        return _NDARRAY_SHAPE.__get__(self)

    @shape.setter
    def shape(self, value: Any) -> None:
        if _tape_of((self,)) is not None:
            _left_the_api("an in-place reshape (m.shape = ...)")
        _NDARRAY_SHAPE.__set__(self, value)

    def __len__(self) -> int:
        self._shape_read = True
        return np.ndarray.__len__(self)

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        fn = ufunc if method == "__call__" else getattr(ufunc, method)
        tape = _tape_of((inputs, kwargs))
        if tape is None:
            return fn(*_plain(inputs), **_plain(kwargs))
        if kwargs.get("out") is not None:
            _left_the_api(f"numpy.{ufunc.__name__}(..., out=...)")
        return tape.derived(fn, inputs, kwargs)

    def __array_function__(self, func: Any, types: Any, args: Any, kwargs: Any) -> Any:
        tape = _tape_of((args, kwargs))
        if tape is None or func in _STATIC_FUNCTIONS:  # np.shape and the like: no value
            if tape is not None:
                for part in _flat((args, kwargs)):
                    if isinstance(part, Traced):
                        part._shape_read = True  # checked at every replay
            return func(*_plain(args), **_plain(kwargs))
        return tape.derived(func, args, kwargs)

    def __getitem__(self, index: Any) -> Any:
        tape = _tape_of((self, index))
        if tape is None:
            return self.view(np.ndarray)[_plain(index)]
        return tape.derived(operator.getitem, (self, index), {})

    @property
    def T(self) -> Any:  # noqa: N802 (numpy's name)
        return self.transpose()

    def __bool__(self) -> bool:
        return _refused(self, "bool()", bool)

    def __int__(self) -> int:
        return _refused(self, "int()", int)

    def __float__(self) -> float:
        return _refused(self, "float()", float)

    def __index__(self) -> int:
        return _refused(self, "use as a Python index", operator.index)

    def __iter__(self) -> Any:
        return _refused(self, "iteration", iter)

    def item(self, *args: Any) -> Any:
        return _refused(self, "item()", lambda a: a.item(*args))

    def tolist(self) -> Any:
        return _refused(self, "tolist()", lambda a: a.tolist())

    def __setitem__(self, index: Any, value: Any) -> None:
        if _tape_of((self,)) is not None:
            _left_the_api("an in-place write (m[i] = x)")
        self.view(np.ndarray)[_plain(index)] = _plain(value)

    def tobytes(self, *args: Any, **kwargs: Any) -> bytes:
        return _refused(self, "tobytes()", lambda a: a.tobytes(*args, **kwargs))

    @property
    def flat(self) -> Any:
        return _refused(self, ".flat", lambda a: a.flat)

    def __repr__(self) -> str:
        return f"Traced({self.view(np.ndarray)!r})"


def _refused(array: Traced, call: str, plain: Callable[[np.ndarray], Any]) -> Any:
    """Refuse ``call`` inside the capture; after it, ``plain`` of the array it holds."""
    if _tape_of((array,)) is not None:
        _left_the_api(call)
    return plain(array.view(np.ndarray))


class _Method:
    """``array.name(*args, **kwargs)``, as a function of the array."""

    def __init__(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.name, self.args, self.kwargs = name, args, kwargs
        self.__name__ = f".{name}"

    def __call__(self, array: np.ndarray) -> Any:
        return getattr(array, self.name)(*self.args, **self.kwargs)


def _recorded_method(name: str) -> Callable[..., Any]:
    def method(self: Traced, *args: Any, **kwargs: Any) -> Any:
        tape = _tape_of((self,))
        if tape is None:
            return getattr(self.view(np.ndarray), name)(*_plain(args), **_plain(kwargs))
        if _contains_traced((args, kwargs)):
            _left_the_api(f".{name}() with a traced argument")
        return tape.derived(_Method(name, args, kwargs), (self,), {})

    method.__name__ = name
    return method


for _name in (
    "astype", "sum", "any", "all", "mean", "max", "min", "argmax", "argmin", "reshape",
    "ravel", "flatten", "copy", "nonzero", "transpose", "squeeze", "cumsum", "prod", "clip",
    "round", "repeat", "take", "dot", "argsort", "cumprod", "std", "var", "trace",
    "diagonal", "compress", "swapaxes", "conj", "conjugate", "searchsorted", "choose",
    "argpartition",
):  # fmt: skip
    setattr(Traced, _name, _recorded_method(_name))


def _refused_write(name: str) -> Callable[..., Any]:
    """``array.name(...)``, which writes the array in place: refused inside a capture."""

    def method(self: Traced, *args: Any, **kwargs: Any) -> Any:
        return _refused(self, f"an in-place .{name}()", lambda a: getattr(a, name)(*args, **kwargs))

    method.__name__ = name
    return method


for _name in ("fill", "sort", "put", "partition", "resize", "byteswap", "setfield", "itemset"):
    setattr(Traced, _name, _refused_write(_name))

_STATIC_FUNCTIONS = {np.shape, np.ndim, np.size}
_NDARRAY_SHAPE = np.ndarray.shape  # the getter and setter Traced.shape wraps


def _left_the_api(call: str) -> NoReturn:
    raise GraphChangedError(
        f"{call} on a value the captured function computed from its data: a replay could "
        f"not repeat the Python that reads it, so the graph would replay a stale value. "
        f"Keep the step in Tensor operations (comparisons, F.where, argmax, indexing), or "
        f"run it eagerly"
    )


def _tape_of(values: Any) -> _Tape | None:
    """The recording tape of the traced arrays among ``values``; None once it has ended."""
    for value in _flat(values):
        if isinstance(value, Traced) and value._tape is not None and value._tape.active:
            return value._tape
    return None


_NESTING = (tuple, list, dict)


def _flat(value: Any) -> list[Any]:
    """``value`` and everything inside its tuples, lists and dicts, depth first (a list:
    a capture flattens every op's arguments a few times, mostly flat tuples)."""
    if not isinstance(value, _NESTING):
        return [value]
    found: list[Any] = []
    _flatten_into(value, found)
    return found


def _flatten_into(value: Any, found: list[Any]) -> None:
    for part in value.values() if isinstance(value, dict) else value:
        if isinstance(part, _NESTING):
            _flatten_into(part, found)
        else:
            found.append(part)


def _memory_owner(array: np.ndarray) -> Any:
    """The object that owns ``array``'s memory, through views and memoryviews (numpy
    collapses a chain of views to the first array that owns its data)."""
    owner: Any = array
    while True:
        base = owner.obj if isinstance(owner, memoryview) else getattr(owner, "base", None)
        if base is None or not isinstance(base, (np.ndarray, memoryview)):
            return owner
        owner = base


def _contains_traced(value: Any) -> bool:
    return any(isinstance(part, Traced) for part in _flat(value))


def _plain(value: Any) -> Any:
    """``value`` with Tensors replaced by their data and traced arrays by plain ones."""
    if isinstance(value, Tensor):
        return value.data
    if isinstance(value, Traced):
        return value.view(np.ndarray)
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(part) for part in value)
    if isinstance(value, dict):
        return {key: _plain(part) for key, part in value.items()}
    return value


_STREAMS = (np.random.RandomState, np.random.Generator)


def _stream_state(stream: Any) -> Any:
    if isinstance(stream, np.random.RandomState):
        return stream.get_state()
    return stream.bit_generator.state


def _set_stream_state(stream: Any, state: Any) -> None:
    if isinstance(stream, np.random.RandomState):
        stream.set_state(state)
    else:
        stream.bit_generator.state = state


class _Tape(Recorder):
    """Every op application and every value derived outside the graph, in order.

    It also keeps: the random streams the function drew from, with their state before the
    first draw (``record`` puts them back, so a capture draws nothing from them), and a
    copy of every leaf's data when an op first read it (a function that changes the data
    it reads has state that a replay would not update).
    """

    def __init__(self) -> None:
        self.entries: list[tuple[Any, tuple[Any, ...], Any]] = []
        self.streams: dict[int, tuple[Any, Any]] = {}
        self.read: dict[int, tuple[Tensor, np.ndarray]] = {}
        self.made_ids: set[int] = set()
        self.fresh_ids: set[int] = set()  # float64 values a ufunc made: new arrays, every time
        # the arrays owning the memory of the derived values: a plain array sharing it
        # (np.asarray(mask), a memoryview of it) is a derived value the tape cannot see
        self.traced_owners: set[int] = set()
        self.active = True

    def _known(self, values: Any) -> None:
        """Refuse a traced array this tape did not record (a view made by a method
        such as ``.view()``, or one kept from another capture)."""
        for part in _flat(values):
            if isinstance(part, Traced):
                if id(part) not in self.made_ids:
                    _left_the_api(
                        "a value taken from a derived one by a way capture does not record"
                    )
            elif (
                isinstance(part, np.ndarray)
                and part.base is not None
                and id(_memory_owner(part)) in self.traced_owners
            ):
                _left_the_api(
                    "np.asarray() (or a memoryview, np.ascontiguousarray(), ...) making a "
                    "plain array of a derived value"
                )

    def applied(self, ctx: Function, args: tuple[Any, ...], result: Tensor) -> None:
        self._known(args)
        made, read = self.made_ids, self.read
        for arg in args:
            if isinstance(arg, Tensor) and id(arg) not in made and id(arg) not in read:
                read[id(arg)] = (arg, arg.data.copy())
        self.made_ids.add(id(result))
        self.entries.append((ctx, args, result))

    def derived(self, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        self._known((args, kwargs))
        for stream in _flat((args, kwargs)):
            if isinstance(stream, _STREAMS) and id(stream) not in self.streams:
                self.streams[id(stream)] = (stream, _stream_state(stream))
        value = fn(*_plain(args), **_plain(kwargs))
        if isinstance(value, tuple):  # np.nonzero and the like: one entry per array
            return tuple(self.derived(_Element(fn, i), args, kwargs) for i in range(len(value)))
        if not isinstance(value, (np.ndarray, np.generic)):
            _left_the_api(f"{Derived(fn, kwargs).name}() giving a Python {type(value).__name__}")
        traced = np.asarray(value).view(Traced)
        traced._tape = self
        # read-only: a write into a derived value (np.random.shuffle(mask), say) is an error,
        # not a change the replay would leave out (Traced refuses the usual ones by name)
        traced.flags.writeable = False
        self.made_ids.add(id(traced))
        self.traced_owners.add(id(_memory_owner(traced)))
        if isinstance(fn, np.ufunc) and traced.dtype == np.float64:
            self.fresh_ids.add(id(traced))
        self.entries.append((Derived(fn, kwargs), args, traced))
        return traced

    def made(self, tensor: Tensor, source: Any) -> None:
        if isinstance(source, Tensor):
            fn: Callable[..., Any] = _same_data if source.data is tensor.data else _float64_copy
        elif _contains_traced(source):
            self._known(source)
            # A float64 array a ufunc made anew (Dropout's mask / (1 - p)) is no one else's:
            # the replay wraps it, as an eager x * array does, instead of copying it.
            fn = _same_data if id(source) in self.fresh_ids else _float64_copy
        elif _fixed(source):
            return  # numbers: the same at every replay
        else:
            self._known(source)  # a plain array sharing a derived value's memory: refused
            # An array or a list the function reads: eagerly each call copies it as it is
            # then, so every replay copies it afresh (a change in place is seen, as eagerly)
            fn = _float64_copy
        self.made_ids.add(id(tensor))
        self.entries.append((Derived(fn, {}), (source,), tensor))

    def escaped(self, call: str, tensor: Tensor) -> None:
        raise GraphChangedError(
            f"{call} of a Tensor inside the captured function: its value leaves the Tensor "
            f"API, and a replay could not repeat the Python that reads it (it would replay a "
            f"stale value). Keep the step in Tensor operations (comparisons, F.where, argmax, "
            f"indexing), or run it eagerly"
        )

    def rewind_streams(self) -> None:
        for stream, state in self.streams.values():
            _set_stream_state(stream, state)

    def changed_leaf(self) -> str | None:
        """How the function changed a Tensor it read, or None."""
        for tensor, copy in self.read.values():
            data = tensor.data
            if _same_bits(data, copy):
                continue
            if data.shape != copy.shape or not np.array_equal(data, copy, equal_nan=True):
                return "it changed the data of a Tensor it read"
        return None


class _Element:
    """Element ``i`` of what ``fn`` returns (a tuple of arrays)."""

    def __init__(self, fn: Callable[..., Any], i: int) -> None:
        self.fn, self.i = fn, i
        self.__name__ = f"{Derived(fn, {}).name}[{i}]"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)[self.i]


def _float64_copy(source: Any) -> np.ndarray:
    """``Tensor(source)``'s data: a float64 copy in C order, as the constructor makes it."""
    return np.array(source, dtype=np.float64, order="C")


def _fixed(value: Any) -> bool:
    """Whether ``value`` cannot change between replays: Python and numpy numbers, and tuples
    of them. Arrays (a 0-d one too) and lists can change in place."""
    if isinstance(value, tuple):
        return all(_fixed(part) for part in value)
    return isinstance(value, (int, float, complex, bool, np.generic))


def _same_data(source: np.ndarray) -> np.ndarray:
    """``source.detach()``'s data, or a Tensor's around a new float64 array: the same array."""
    return source


_Entries = list[tuple[Any, tuple[Any, ...], Any]]


def record(fn: Callable[[], Any]) -> tuple[tuple[Tensor, ...], _Entries]:
    """Call ``fn`` once, eagerly, returning its outputs and every op it applied, in order.

    Each application is ``(ctx, args, result)``: the op's context, the arguments it was
    applied to (Tensors and the rest, as passed) and the Tensor it made; a value derived
    outside the graph (a comparison, a mask, a random draw) is ``(Derived, args, array)``.
    Random streams the function drew from are put back as they were. ``capture`` is
    built on it; the graph drawing reads the arguments to show X, y and constants.

    >>> from tinygrad_moons import Tensor
    >>> (out,), applied = record(lambda: (Tensor([1.0, 2.0], requires_grad=True) * 3).sum())
    >>> [type(ctx).__name__ for ctx, _, _ in applied], out.item()  # the list, read afresh
    (['Derived', 'Mul', 'Sum'], 9.0)
    """
    outputs, tape = _record(fn)
    return outputs, tape.entries


def _record(fn: Callable[[], Any]) -> tuple[tuple[Tensor, ...], _Tape]:
    with recording(_Tape()) as tape:
        try:
            output = fn()
        finally:
            tape.active = False
            tape.rewind_streams()
    outputs = output if isinstance(output, tuple) else (output,)
    if not outputs or not all(isinstance(t, Tensor) for t in outputs):
        raise TypeError(
            f"the captured function must return a Tensor (or a tuple of them), got {type(output)}"
        )
    changed = tape.changed_leaf()
    if changed is not None:
        raise GraphChangedError(
            f"the function has state a replay would not update: {changed} (in place), "
            f"so only the ops would be replayed, not the update"
        )
    return outputs, tape


_DYNAMIC = (Tensor, Traced)


def _dynamic(args: Any) -> list[Any]:
    """The Tensors and traced arrays among ``args`` (inside tuples, lists and dicts too)."""
    return [part for part in _flat(args) if isinstance(part, _DYNAMIC)]


def _ops_reaching(outputs: tuple[Tensor, ...], tape: _Entries) -> _Entries:
    """The tape's entries that the outputs depend on, in their order of application, and
    every derived value whose shape Python read (``len()``, ``.shape``) with what it
    depends on: a replay checks that shape (``codegen.derived_again``) even where no op
    reads the value, so a decision taken on it at capture cannot go stale."""
    needed = {id(output) for output in outputs}
    needed.update(id(result) for _, _, result in tape if getattr(result, "_shape_read", False))
    kept = []
    for entry in reversed(tape):
        ctx, args, result = entry
        if id(result) in needed:
            kept.append(entry)
            needed.update(map(id, _dynamic((args, getattr(ctx, "kwargs", None)))))
    return kept[::-1]


def _leaves(entries: _Entries, made: set[int]) -> list[tuple[Tensor, tuple[int, ...]]]:
    """The Tensors the ops read but did not make, each once, with its shape at capture."""
    leaves: dict[int, tuple[Tensor, tuple[int, ...]]] = {}
    for ctx, args, _ in entries:
        for arg in _dynamic((args, getattr(ctx, "kwargs", None))):
            if isinstance(arg, Tensor) and id(arg) not in made:
                leaves[id(arg)] = (arg, arg.data.shape)
    return list(leaves.values())


def _constants(first: _Entries, second: _Entries, made: set[int]) -> dict[int, float]:
    """The 0-d Tensors ``fn`` made anew on each call (numbers it lifted), by value.

    A leaf that is another object, around another array, on the second call was made by
    ``fn`` itself from a number: nobody else holds it, so its number is kept from capture
    and written into the source. One around the same array both times wraps an array
    ``fn`` was given (``w * np.array(2.0)`` made outside): the user may change it in place,
    so it stays a leaf, read at every replay.
    """
    constants = {}
    for (ctx, args_a, _), (_, args_b, _) in zip(first, second, strict=True):
        if isinstance(ctx, Derived):
            continue
        for a, b in zip(args_a, args_b, strict=True):
            if (
                isinstance(b, Tensor)
                and id(b) not in made
                and a is not b
                and a.data is not b.data
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

    def same(a: Any, b: Any) -> bool:
        if isinstance(a, (Tensor, Traced)) and id(a) in position_first:
            return position_first[id(a)] == position_second.get(id(b), -1)
        if isinstance(a, Tensor):
            return a is b or (
                isinstance(b, Tensor)
                and not (a.requires_grad or b.requires_grad)
                and id(b) not in position_second
                and _same_value(a.data, b.data)
            )
        if isinstance(a, (tuple, list)):
            return (
                type(a) is type(b)
                and len(a) == len(b)
                and all(same(x, y) for x, y in zip(a, b, strict=True))
            )
        if isinstance(a, dict):
            return (
                isinstance(b, dict)
                and a.keys() == b.keys()
                and all(same(a[key], b[key]) for key in a)
            )
        if isinstance(a, _STREAMS) or isinstance(b, _STREAMS):
            return a is b
        return _same_value(a, b)

    for i, ((ctx_a, args_a, _), (ctx_b, args_b, _)) in enumerate(zip(first, second, strict=True)):
        name = ctx_a.name if isinstance(ctx_a, Derived) else type(ctx_a).__name__
        other = ctx_b.name if isinstance(ctx_b, Derived) else type(ctx_b).__name__
        if type(ctx_a) is not type(ctx_b) or len(args_a) != len(args_b):
            return f"op {i} was {name}, then {other}"
        if isinstance(ctx_a, Derived) and (
            not _same_function(ctx_a.fn, ctx_b.fn, same) or not same(ctx_a.kwargs, ctx_b.kwargs)
        ):
            return f"op {i} was {name}, then {other}"
        for j, (a, b) in enumerate(zip(args_a, args_b, strict=True)):
            if not same(a, b):
                return f"argument {j} of op {i} ({name}) changed"
    return None


def _same_function(a: Any, b: Any, same: Callable[[Any, Any], bool]) -> bool:
    """Whether two recorded functions of derived values are the same call."""
    if isinstance(a, _Method) and isinstance(b, _Method):
        return a.name == b.name and same(a.args, b.args) and same(a.kwargs, b.kwargs)
    if isinstance(a, _Element) and isinstance(b, _Element):
        return a.i == b.i and _same_function(a.fn, b.fn, same)
    return a is b


def _same_value(a: Any, b: Any) -> bool:
    """Equal type and value; arrays equal in dtype, shape and every element (or the same
    bits: a NaN kept from one call to the next is no change)."""
    if isinstance(a, (tuple, list)):
        return (
            type(a) is type(b)
            and len(a) == len(b)
            and all(_same_value(x, y) for x, y in zip(a, b, strict=True))
        )
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        if _same_bits(a, b):  # a NaN in both, bit for bit, is the same value
            return True
        return (
            isinstance(a, np.ndarray)
            and isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and bool(np.array_equal(a, b))
        )
    return type(a) is type(b) and bool(a == b)


def _same_bits(a: Any, b: Any) -> bool:
    """Whether two arrays have one dtype (not object), one shape and the same bytes: then
    every element is equal, or NaN in both. A cheap first test, before numpy's comparison
    (which ``array_equal`` makes with more calls)."""
    return (
        isinstance(a, np.ndarray)
        and isinstance(b, np.ndarray)
        and a.dtype == b.dtype
        and a.dtype.kind != "O"
        and a.shape == b.shape
        and a.tobytes() == b.tobytes()
    )
