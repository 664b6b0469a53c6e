"""Derivatives of derivatives: ``grad`` and torch.autograd.functional's ``jacobian``,
``hessian``, ``vjp``, ``jvp`` and ``hvp``, with their signatures and return structures.

``grad(outputs, inputs, create_graph=True)`` walks the graph as ``backward()`` does, but
with Tensors for gradients: every built-in op's backward is then recorded like a forward
(see ``ops.py``), so its results can be differentiated again, to any order.

>>> from tinygrad_moons import Tensor
>>> x = Tensor([2.0], requires_grad=True)
>>> (g,) = grad((x ** 3).sum(), x, create_graph=True)    # 3 x^2
>>> (h,) = grad(g.sum(), x)                              # 6 x
>>> g, h
(Tensor([12.], grad_fn=Mul), Tensor([12.]))
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinygrad_moons import ops
from tinygrad_moons.tensor import Tensor, _as_float64_array, _lift, _state, _walk
from tinygrad_moons.validate import flag

Tensors = Tensor | Sequence[Tensor]


def _as_tuple(value: Any) -> tuple[Any, ...]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _tensors(value: Any, what: str) -> tuple[Tensor, ...]:
    items = _as_tuple(value)
    for position, item in enumerate(items):
        if not isinstance(item, Tensor):
            raise TypeError(f"{what} must be Tensors; {what} {position} is {type(item).__name__}")
    return items


def _seeds(outputs: tuple[Tensor, ...], grad_outputs: Any, create_graph: bool) -> list[Any]:
    """One starting gradient per output (an ndarray, or a Tensor under create_graph)."""
    given = (None,) * len(outputs) if grad_outputs is None else _as_tuple(grad_outputs)
    if len(given) != len(outputs):
        raise ValueError(f"grad_outputs has {len(given)} entries for {len(outputs)} outputs")
    seeds = []
    for position, (out, seed) in enumerate(zip(outputs, given, strict=True)):
        if not out.requires_grad:
            raise ValueError(
                f"output {position} does not require grad: no input of it has "
                f"requires_grad=True, or it was built under no_grad()"
            )
        if seed is None:
            if out.size != 1:
                raise ValueError(
                    f"output {position} has shape {out.shape}: grad needs its grad_outputs "
                    f"(d loss / d output, of that shape) unless it has one element"
                )
            seed = np.ones(out.shape)
        elif not isinstance(seed, Tensor):
            seed = _as_float64_array(seed, f"grad_outputs {position}")
        if seed.shape != out.shape:
            raise ValueError(
                f"grad_outputs {position} has shape {seed.shape} for an output of shape {out.shape}"
            )
        if create_graph:
            seed = seed if isinstance(seed, Tensor) else Tensor._wrap(seed)
        elif isinstance(seed, Tensor):
            seed = seed._array
        seeds.append(seed)
    return seeds


def grad(
    outputs: Tensors,
    inputs: Tensors,
    grad_outputs: Any = None,
    *,
    create_graph: bool = False,
    allow_unused: bool = False,
) -> tuple[Tensor | None, ...]:
    """d outputs / d inputs contracted with ``grad_outputs``, one Tensor per input, as
    ``torch.autograd.grad``; no ``.grad`` changes.

    ``grad_outputs`` (Tensors or arrays, one per output) may be left out for one-element
    outputs. An input the outputs do not depend on is a ValueError naming it, or None with
    ``allow_unused=True``. With ``create_graph=True`` the results are in the graph and can
    be differentiated again through every built-in op and every function of
    ``functional``; a user's Function there is a RuntimeError naming it.
    """
    create_graph = flag("grad's create_graph", create_graph)
    allow_unused = flag("grad's allow_unused", allow_unused)
    outputs = _tensors(outputs, "outputs")
    inputs = _tensors(inputs, "inputs")
    if create_graph and _state.recorder is not None:
        raise RuntimeError(
            "grad(..., create_graph=True) inside a recording (graph.capture): a captured "
            "step replays first derivatives only; call it outside capture"
        )
    seeds = _seeds(outputs, grad_outputs, create_graph)
    wanted: dict[Any, Any] = {}
    for t in inputs:
        wanted[t if t._ctx is None else t._ctx] = None
    previous = _state.grad_enabled, _state.create_graph
    _state.grad_enabled, _state.create_graph = create_graph, create_graph
    try:
        _walk(list(outputs), seeds, wanted, create_graph)
    finally:
        _state.grad_enabled, _state.create_graph = previous
    results: list[Tensor | None] = []
    for position, t in enumerate(inputs):
        found = wanted[t if t._ctx is None else t._ctx]
        if found is None:
            if not allow_unused:
                raise ValueError(
                    f"input {position} (shape {t.shape}) was not used to compute the outputs "
                    f"(or needs no grad): pass allow_unused=True to get None for it"
                )
            results.append(None)
        elif create_graph:
            results.append(found if isinstance(found, Tensor) else _lift(found))
        else:
            results.append(Tensor._wrap(np.array(found, dtype=np.float64)))
    return tuple(results)


# ---------------------------------------------------------------------- functional
def _prepare(inputs: Tensors, create_graph: bool) -> tuple[bool, tuple[Tensor, ...]]:
    """(was a tuple, the inputs as fresh leaves that require grad), as torch's: under
    ``create_graph`` an input that requires grad is used itself, so the results keep
    their graph to it."""
    flag("create_graph", create_graph)  # for vjp, jvp, jacobian, hessian and hvp
    is_tuple = isinstance(inputs, (tuple, list))
    prepared = []
    for t in _tensors(inputs, "inputs"):
        if create_graph and t.requires_grad:
            prepared.append(t)
        else:
            prepared.append(Tensor._wrap(t._array, True))
    return is_tuple, tuple(prepared)


def _outputs(func: Callable, inputs: tuple[Tensor, ...]) -> tuple[bool, tuple[Tensor, ...]]:
    out = func(*inputs)
    is_tuple = isinstance(out, (tuple, list))
    return is_tuple, _tensors(out, "the function's outputs")


def _shape(is_tuple: bool, values: Sequence[Any]) -> Any:
    return tuple(values) if is_tuple else values[0]


def _grads_or_zeros(outputs, inputs, grad_outputs, create_graph) -> tuple[Tensor, ...]:
    """``grad`` with zeros (constants) for inputs the outputs do not depend on, as torch's
    functional API (strict=False)."""
    needed = [(o, g) for o, g in zip(outputs, grad_outputs, strict=True) if o.requires_grad]
    if not needed:
        return tuple(Tensor._wrap(np.zeros(t.shape)) for t in inputs)
    found = grad(
        [o for o, _ in needed],
        inputs,
        [g for _, g in needed],
        create_graph=create_graph,
        allow_unused=True,
    )
    return tuple(
        Tensor._wrap(np.zeros(t.shape)) if g is None else g
        for g, t in zip(found, inputs, strict=True)
    )


def _detached(outputs: tuple[Tensor, ...], create_graph: bool) -> tuple[Tensor, ...]:
    return outputs if create_graph else tuple(o.detach() for o in outputs)


def _vectors(name: str, v: Any, tensors: tuple[Tensor, ...], what: str) -> tuple[Any, ...]:
    """``v`` as a tuple, one entry per tensor; None is ones when every tensor has one
    element (torch's rule), else a ValueError naming the first that has more."""
    if v is None:
        for position, t in enumerate(tensors):
            if t.size != 1:
                raise ValueError(
                    f"{name}: {what} {position} has shape {t.shape}; v is needed unless every "
                    f"{what} has one element"
                )
        return tuple(np.ones(t.shape) for t in tensors)
    v = _as_tuple(v)
    if len(v) != len(tensors):
        raise ValueError(f"{name}: v has {len(v)} entries for {len(tensors)} {what}s")
    return v


def vjp(func: Callable, inputs: Tensors, v: Any = None, *, create_graph: bool = False):
    """(func(inputs), v^T J): the vector-Jacobian product, as torch.autograd.functional.vjp.
    ``v`` may be left out when func's output has one element."""
    inputs_tuple, inputs = _prepare(inputs, create_graph)
    outputs_tuple, outputs = _outputs(func, inputs)
    v = _vectors("vjp", v, outputs, "output")
    products = _grads_or_zeros(outputs, inputs, v, create_graph)
    return _shape(outputs_tuple, _detached(outputs, create_graph)), _shape(inputs_tuple, products)


def jvp(func: Callable, inputs: Tensors, v: Any = None, *, create_graph: bool = False):
    """(func(inputs), J v): the Jacobian-vector product, as torch.autograd.functional.jvp
    (by the double-backward trick: J v = d/du (u^T J v)). ``v`` may be left out when every
    input has one element."""
    inputs_tuple, inputs = _prepare(inputs, create_graph)
    v = _vectors("jvp", v, inputs, "input")
    outputs_tuple, outputs = _outputs(func, inputs)
    dummies = tuple(Tensor(np.zeros(o.shape), requires_grad=True) for o in outputs)
    vjps = _grads_or_zeros(outputs, inputs, dummies, True)
    used = [(g, vi) for g, vi in zip(vjps, v, strict=True) if g.requires_grad]
    if not used:
        products = tuple(Tensor._wrap(np.zeros(o.shape)) for o in outputs)
    else:
        found = grad(
            [g for g, _ in used],
            dummies,
            [vi for _, vi in used],
            create_graph=create_graph,
            allow_unused=True,
        )
        products = tuple(
            Tensor._wrap(np.zeros(o.shape)) if g is None else g
            for g, o in zip(found, outputs, strict=True)
        )
    return _shape(outputs_tuple, _detached(outputs, create_graph)), _shape(outputs_tuple, products)


def jacobian(func: Callable, inputs: Tensors, *, create_graph: bool = False):
    """d func / d inputs, as torch.autograd.functional.jacobian: for an output of shape O
    and an input of shape I a Tensor of shape O + I; a tuple per input when ``inputs`` is a
    tuple, per output when func returns a tuple (tuples of tuples, [output][input], for
    both). One backward pass per output element."""
    inputs_tuple, inputs = _prepare(inputs, create_graph)
    outputs_tuple, outputs = _outputs(func, inputs)
    table = []
    for out in outputs:
        rows: list[list[Tensor]] = [[] for _ in inputs]
        for k in range(out.size):
            seed = np.zeros(out.size)
            seed[k] = 1.0
            seeds = [seed.reshape(out.shape) if o is out else np.zeros(o.shape) for o in outputs]
            grads = _grads_or_zeros(outputs, inputs, seeds, create_graph)
            for row, g in zip(rows, grads, strict=True):
                row.append(g.reshape(-1))
        per_input = []
        for row, t in zip(rows, inputs, strict=True):
            if not row:  # an output with no elements
                per_input.append(Tensor._wrap(np.zeros(out.shape + t.shape)))
            else:
                stacked = ops.Concatenate.apply(0, *[r.reshape(1, -1) for r in row])
                per_input.append(stacked.reshape(out.shape + t.shape))
        table.append(_shape(inputs_tuple, per_input))
    return _shape(outputs_tuple, table)


def hessian(func: Callable, inputs: Tensors, *, create_graph: bool = False):
    """d^2 func / d inputs^2 of a one-element ``func``, as
    torch.autograd.functional.hessian: a Tensor of shape I + I, or for a tuple of inputs a
    tuple of tuples, [i][j] of shape I_i + I_j."""
    inputs_tuple, inputs = _prepare(inputs, create_graph)

    def gradient(*xs: Tensor) -> tuple[Tensor, ...]:
        out = func(*xs)
        if not isinstance(out, Tensor) or out.size != 1:
            raise ValueError(
                "hessian needs func to return a one-element Tensor, got "
                + (f"shape {out.shape}" if isinstance(out, Tensor) else type(out).__name__)
            )
        return _grads_or_zeros((out,), xs, (np.ones(out.shape),), True)

    result = jacobian(gradient, tuple(inputs), create_graph=create_graph)
    if inputs_tuple:
        return tuple(tuple(row) for row in result)
    return result[0][0]


def hvp(func: Callable, inputs: Tensors, v: Any, *, create_graph: bool = False):
    """(func(inputs), H v) for a one-element ``func``, as torch.autograd.functional.hvp:
    the gradient recorded, then differentiated once more against ``v`` (H is symmetric)."""
    inputs_tuple, inputs = _prepare(inputs, create_graph)
    v = _as_tuple(v)
    if len(v) != len(inputs):
        raise ValueError(f"hvp: v has {len(v)} entries for {len(inputs)} inputs")
    out = func(*inputs)
    if not isinstance(out, Tensor) or out.size != 1:
        raise ValueError(
            "hvp needs func to return a one-element Tensor, got "
            + (f"shape {out.shape}" if isinstance(out, Tensor) else type(out).__name__)
        )
    grads = _grads_or_zeros((out,), inputs, (np.ones(out.shape),), True)
    products = _grads_or_zeros(grads, inputs, v, create_graph)
    output = out if create_graph else out.detach()
    return output, _shape(inputs_tuple, products)
