"""Finite-difference gradient checks, with PyTorch's defaults and pass rule.

For every input x that requires grad and every element x_i, the central difference

    (f(x + eps e_i) - f(x - eps e_i)) / (2 eps)

is one column of the numeric Jacobian of f; the analytic Jacobian comes from one backward
pass per output element. They agree where |analytic - numeric| <= atol + rtol * |numeric|.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from tinygrad_moons.tensor import Tensor, backward_order, no_grad
from tinygrad_moons.validate import finite


class GradcheckError(AssertionError):
    """Raised by ``gradcheck`` when an analytic gradient disagrees with finite differences."""


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
    with no_grad():
        return central_differences(lambda: _evaluate(fn, inputs), inputs[position].data, eps)


def analytic_jacobians(fn: Callable[..., Tensor], inputs: list[Tensor]) -> list[np.ndarray]:
    """d fn / d input for every input, shape (out.size, input.size), by backward passes.

    The ``.grad`` of the inputs, and of every other leaf the backward passes reach (a
    model's parameters that ``fn`` reads without taking them as inputs), are put back as
    they were afterwards: the check leaves no gradient behind for an optimiser to step on.
    """
    out = _output(fn, inputs)
    touched = {id(t): t for t in inputs}
    for ctx in backward_order(out):
        touched.update((id(p), p) for p in ctx.parents if isinstance(p, Tensor))
    leaves = list(touched.values())
    saved = [t.grad for t in leaves]
    try:
        jacobians = [np.zeros((out.data.size, t.data.size)) for t in inputs]
        if not out.requires_grad:
            return jacobians
        for row in range(out.data.size):
            for t in leaves:  # None, not the saved arrays: backward would add into those
                t.grad = None
            seed = np.zeros(out.data.size)
            seed[row] = 1.0
            out.backward(seed.reshape(out.shape))
            for jacobian, t in zip(jacobians, inputs, strict=True):
                if t.grad is not None:
                    jacobian[row] = t.grad.reshape(-1)
        return jacobians
    finally:
        for t, grad in zip(leaves, saved, strict=True):
            t.grad = grad


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
) -> bool:
    """Compare the autodiff Jacobian of ``fn(*inputs)`` with central finite differences.

    Only inputs with ``requires_grad`` are perturbed. Returns True when every element
    passes |analytic - numeric| <= atol + rtol * |numeric|; otherwise raises
    ``GradcheckError`` naming the input, the element, and both values (or returns False
    with ``raise_exception=False``).

    >>> import numpy as np
    >>> from tinygrad_moons import Tensor
    >>> x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    >>> gradcheck(lambda t: (t * t).tanh(), [x])
    True
    """
    inputs = _as_input_list(inputs)
    _validate(inputs)
    analytic = analytic_jacobians(fn, inputs)
    for position, t in enumerate(inputs):
        if not t.requires_grad:
            continue
        numeric = numeric_jacobian(fn, inputs, position, eps)
        bad = np.abs(analytic[position] - numeric) > atol + rtol * np.abs(numeric)
        if np.any(bad):
            out_index, in_index = (int(i) for i in np.argwhere(bad)[0])
            if not raise_exception:
                return False
            with no_grad():
                out_shape = _evaluate(fn, inputs).shape
            raise GradcheckError(
                f"Jacobian mismatch for input {position} (shape {t.shape}) at element "
                f"{_index(in_index, t.shape)}, output element {_index(out_index, out_shape)}: "
                f"analytic {float(analytic[position][out_index, in_index])!r}, "
                f"numeric {float(numeric[out_index, in_index])!r} "
                f"(allowed |difference| {atol + rtol * abs(numeric[out_index, in_index]):.3g}, "
                f"{int(bad.sum())} of {bad.size} Jacobian entries disagree)"
            )
    return True
