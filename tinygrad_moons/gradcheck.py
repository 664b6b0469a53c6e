"""Finite-difference gradient checks, with PyTorch's defaults and pass rule.

For every input x that requires grad and every element x_i, the central difference

    (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)

is one column of the numeric Jacobian of f; the analytic Jacobian comes from one backward
pass per output element (``grad``, so no ``.grad`` changes, and inputs made by ops are
checked as torch checks them). They agree where |analytic - numeric| <= atol + rtol *
|numeric|; a NaN on either side is a mismatch. ``fast_mode`` (torch's) compares one random
projection u^T J v per input instead of the whole Jacobian. ``gradgradcheck`` checks the
second derivatives the same way, through ``grad(..., create_graph=True)``.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinygrad_moons import ops
from tinygrad_moons.autograd import grad
from tinygrad_moons.tensor import Tensor
from tinygrad_moons.validate import finite, flag

WARN_EVALUATIONS = 10_000  # a gradcheck that evaluates fn more often than this warns


class GradcheckError(AssertionError):
    """Raised by ``gradcheck`` when an analytic gradient disagrees with finite differences;
    ``position`` is the index of the input whose gradient disagrees (in gradgradcheck,
    ``len(inputs)`` stands for ``grad_outputs``)."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


def _as_input_list(inputs: Tensor | Sequence[Tensor]) -> list[Tensor]:
    if isinstance(inputs, Tensor):
        return [inputs]
    inputs = list(inputs)
    for position, item in enumerate(inputs):
        if not isinstance(item, Tensor):
            raise TypeError(
                f"gradcheck inputs must be Tensors; input {position} is {type(item).__name__}"
            )
    return inputs


def _validate(inputs: list[Tensor]) -> None:
    for position, t in enumerate(inputs):
        if t.data.dtype != np.float64:
            raise ValueError(
                f"gradcheck needs float64 inputs; input {position} has dtype {t.data.dtype} "
                f"(finite differences in lower precision are mostly rounding error)"
            )
        finite(f"gradcheck's input {position}", t.data)
    if not any(t.requires_grad for t in inputs):
        raise ValueError("gradcheck needs at least one input with requires_grad=True")


def _output(fn: Callable[..., Tensor], inputs: list[Tensor]) -> Tensor:
    """``fn(*inputs)``, which must be one Tensor (an array or a tuple has no backward)."""
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(
            f"gradcheck's fn must return one Tensor, got {type(out).__name__}"
            + (": check each output in its own call" if isinstance(out, (tuple, list)) else "")
        )
    return out


def _evaluate(fn: Callable[..., Tensor], inputs: list[Tensor]) -> np.ndarray:
    return _output(fn, inputs).data.copy()


def central_differences(f: Callable[[], Any], x: np.ndarray, eps: float) -> np.ndarray:
    """d f / d x by central differences, shape (f's size, x.size): column i is

        (f(x + eps e_i) - f(x - eps e_i)) / (2 eps),

    with ``x`` perturbed in place, one element at a time, and put back after each.

    >>> x = np.array([1.0, 2.0])
    >>> central_differences(lambda: x**2, x, 1e-6).round(6)
    array([[2., 0.],
           [0., 4.]])
    """
    flat = x.reshape(-1)  # a view: perturbing it perturbs x, which f reads
    if x.size and not np.shares_memory(flat, x):  # an empty x has no memory to share
        raise ValueError(
            "central_differences needs a contiguous x: perturbing a copy changes nothing"
        )
    if not flat.size:  # no element to perturb: a Jacobian with no columns
        return np.zeros((np.size(f()), 0))
    columns = []
    for i in range(flat.size):
        original = flat[i]
        flat[i] = original + eps
        plus = np.array(f(), dtype=np.float64)
        flat[i] = original - eps
        minus = np.array(f(), dtype=np.float64)
        flat[i] = original
        if plus.shape != minus.shape:
            raise ValueError(
                f"the function's result has shape {plus.shape} with element {i} of x raised "
                f"by eps and {minus.shape} with it lowered: a result whose shape depends on "
                f"the values (a mask from the data) has no derivative"
            )
        columns.append(((plus - minus) / (2.0 * eps)).reshape(-1))
    return np.stack(columns, axis=1)


def numeric_jacobian(
    fn: Callable[..., Tensor], inputs: list[Tensor], position: int, eps: float
) -> np.ndarray:
    """d fn / d inputs[position] by central differences, shape (out.size, input.size)."""
    # Evaluated with the graph recorded, as torch's: fn may differentiate inside (grad).
    return central_differences(lambda: _evaluate(fn, inputs), inputs[position].data, eps)


def analytic_jacobians(fn: Callable[..., Tensor], inputs: list[Tensor]) -> list[np.ndarray]:
    """d fn / d input for every input, shape (out.size, input.size), one ``grad`` per
    output element: no ``.grad`` changes (a model's parameters that ``fn`` reads keep
    theirs), and an input made by ops is differentiated as a node of the graph."""
    out = _output(fn, inputs)
    jacobians = [np.zeros((out.data.size, t.data.size)) for t in inputs]
    wanted = [t for t in inputs if t.requires_grad]
    if not out.requires_grad or not wanted:
        return jacobians
    for row in range(out.data.size):
        seed = np.zeros(out.data.size)
        seed[row] = 1.0
        grads = grad(out, wanted, seed.reshape(out.shape), allow_unused=True)
        found = dict(zip(map(id, wanted), grads, strict=True))
        for jacobian, t in zip(jacobians, inputs, strict=True):
            g = found.get(id(t))
            if g is not None:
                jacobian[row] = g.data.reshape(-1)
    return jacobians


def _disagree(analytic: np.ndarray, numeric: np.ndarray, atol: float, rtol: float) -> np.ndarray:
    """Where |analytic - numeric| <= atol + rtol |numeric| fails; NaN never passes."""
    return ~(np.abs(analytic - numeric) <= atol + rtol * np.abs(numeric))


def _warn_if_long(fn: Callable[..., Tensor], inputs: list[Tensor], what: str) -> None:
    """A warning naming the count and the expected time when the check evaluates ``fn``
    more than WARN_EVALUATIONS times (two per perturbed element, one backward per output
    element)."""
    start = time.perf_counter()
    size = _evaluate(fn, inputs).size
    seconds = time.perf_counter() - start
    evaluations = 2 * sum(t.size for t in inputs if t.requires_grad) + size
    if evaluations > WARN_EVALUATIONS:
        warnings.warn(
            f"{what} will evaluate the function about {evaluations:,} times (about "
            f"{evaluations * seconds:.3g} s at {seconds * 1e3:.3g} ms each): pass "
            f"fast_mode=True, or check smaller inputs",
            stacklevel=3,
        )


def _index(flat: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(flat, shape)) if shape else ()


def gradcheck(
    fn: Callable[..., Tensor],
    inputs: Tensor | Sequence[Tensor],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    fast_mode: bool = False,
) -> bool:
    """Compare the autodiff Jacobian of ``fn(*inputs)`` with central finite differences.

    Only inputs with ``requires_grad`` are perturbed. Returns True when every element
    passes |analytic - numeric| <= atol + rtol * |numeric| (a NaN never does); otherwise
    raises ``GradcheckError`` naming the input, the element, and both values (or returns
    False with ``raise_exception=False``). ``fast_mode=True`` checks u^T J v for one
    random u and v per input (torch's fast mode): two evaluations and one backward each.

    >>> import numpy as np
    >>> from tinygrad_moons import Tensor
    >>> x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    >>> gradcheck(lambda t: (t * t).tanh(), [x])
    True
    """
    raise_exception = flag("gradcheck's raise_exception", raise_exception)
    fast_mode = flag("gradcheck's fast_mode", fast_mode)
    inputs = _as_input_list(inputs)
    _validate(inputs)
    if fast_mode:
        return _fast_check(fn, inputs, eps, atol, rtol, raise_exception)
    _warn_if_long(fn, inputs, "gradcheck")
    analytic = analytic_jacobians(fn, inputs)
    for position, t in enumerate(inputs):
        if not t.requires_grad:
            continue
        numeric = numeric_jacobian(fn, inputs, position, eps)
        bad = _disagree(analytic[position], numeric, atol, rtol)
        if np.any(bad):
            out_index, in_index = (int(i) for i in np.argwhere(bad)[0])
            if not raise_exception:
                return False
            out_shape = _evaluate(fn, inputs).shape
            raise GradcheckError(
                f"Jacobian mismatch for input {position} (shape {t.shape}) at element "
                f"{_index(in_index, t.shape)}, output element {_index(out_index, out_shape)}: "
                f"analytic {float(analytic[position][out_index, in_index])!r}, "
                f"numeric {float(numeric[out_index, in_index])!r} "
                f"(allowed |difference| {atol + rtol * abs(numeric[out_index, in_index]):.3g}, "
                f"{int(bad.sum())} of {bad.size} Jacobian entries disagree)",
                position,
            )
    return True


def _fast_check(fn, inputs, eps, atol, rtol, raise_exception) -> bool:
    """torch's fast mode: per input, u^T J v by autodiff against u^T (J v) by a central
    difference along v, for random u (output-shaped) and v (input-shaped)."""
    rng = np.random.default_rng(0)
    out = _output(fn, inputs)
    for position, t in enumerate(inputs):
        if not t.requires_grad:
            continue
        u = rng.standard_normal(out.shape)
        v = rng.standard_normal(t.shape)
        if out.requires_grad:
            (g,) = grad(out, [t], u, allow_unused=True)
        else:
            g = None
        analytic = 0.0 if g is None else float(np.vdot(g.data, v))
        original = t.data.copy()
        try:
            t.data[...] = original + eps * v
            plus = _evaluate(fn, inputs)
            t.data[...] = original - eps * v
            minus = _evaluate(fn, inputs)
        finally:
            t.data[...] = original
        numeric = float(np.vdot(u, (plus - minus) / (2.0 * eps)))
        if _disagree(np.array(analytic), np.array(numeric), atol, rtol):
            if not raise_exception:
                return False
            raise GradcheckError(
                f"Jacobian mismatch for input {position} (shape {t.shape}) in fast mode: "
                f"u^T J v analytic {analytic!r}, numeric {numeric!r} for random u, v "
                f"(allowed |difference| {atol + rtol * abs(numeric):.3g}); run with "
                f"fast_mode=False to find the element",
                position,
            )
    return True


def _vector_jacobian_product(fn, xs, g, inputs, wanted) -> Tensor:
    """v^T J of ``fn`` at ``xs`` (the inputs that require grad), flattened into one Tensor
    in the graph (``create_graph``), zeros where fn does not depend on an input."""
    out = fn(*xs)
    if not out.requires_grad:
        return Tensor(np.zeros(sum(t.size for t in wanted)))
    chosen = [x for x, t in zip(xs, inputs, strict=True) if t.requires_grad]
    grads = grad(out, chosen, g, create_graph=True, allow_unused=True)
    flat = [
        Tensor(np.zeros(x.size)) if d is None else d.reshape(-1)
        for d, x in zip(grads, chosen, strict=True)
    ]
    return ops.Concatenate.apply(0, *flat)


def gradgradcheck(
    fn: Callable[..., Tensor],
    inputs: Tensor | Sequence[Tensor],
    grad_outputs: Any = None,
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    fast_mode: bool = False,
) -> bool:
    """Check second derivatives as torch's gradgradcheck: the vector-Jacobian product of
    ``fn`` with ``grad_outputs`` (random when None, seeded), taken by
    ``grad(..., create_graph=True)``, is differentiated by autodiff and by central
    differences with respect to the inputs and to ``grad_outputs``. A mismatch is a
    GradcheckError naming which.

    >>> import numpy as np
    >>> from tinygrad_moons import Tensor
    >>> x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    >>> gradgradcheck(lambda t: (t * t).tanh(), [x])
    True
    """
    raise_exception = flag("gradgradcheck's raise_exception", raise_exception)
    fast_mode = flag("gradgradcheck's fast_mode", fast_mode)
    inputs = _as_input_list(inputs)
    _validate(inputs)
    out_shape = _evaluate(fn, inputs).shape
    if grad_outputs is None:
        v = np.random.default_rng(0).standard_normal(out_shape)
    else:
        v = np.array(grad_outputs.data if isinstance(grad_outputs, Tensor) else grad_outputs)
        if v.shape != out_shape:
            raise ValueError(
                f"grad_outputs has shape {v.shape} for fn's output of shape {out_shape}"
            )
    seed = Tensor(v, requires_grad=True)
    wanted = [t for t in inputs if t.requires_grad]

    def first_derivatives(*args: Tensor) -> Tensor:
        *xs, g = args
        return _vector_jacobian_product(fn, xs, g, inputs, wanted)

    try:
        return gradcheck(
            first_derivatives,
            [*inputs, seed],
            eps=eps,
            atol=atol,
            rtol=rtol,
            raise_exception=raise_exception,
            fast_mode=fast_mode,
        )
    except GradcheckError as error:
        position = error.position
        which = f"input {position}" if position < len(inputs) else "grad_outputs (the vector v)"
        raise GradcheckError(
            f"second derivatives: the derivative of v^T J (fn's vector-Jacobian product) "
            f"with respect to {which} disagrees with finite differences: {error}",
            position,
        ) from None
