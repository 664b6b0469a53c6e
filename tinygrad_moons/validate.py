"""The checks every layer shares, each kind of bad value with its one message.

numpy only, and arrays or numbers in (never Tensors), so the engine uses it too: ``whole``
and ``number`` for settings, ``finite``, ``axes`` and ``class_labels`` for the engine's
inputs, ``features``, ``width`` and ``two_classes`` for training data, ``finite_outputs``
and ``not_finite`` for what a network gives, and ``random_state`` for every ``seed``
argument (an int, a RandomState, or None: numpy's global state is never touched)."""

from __future__ import annotations

import math
import numbers
import operator
import stat
import warnings
from typing import Any

import numpy as np

Seed = int | np.random.RandomState | None


def is_int(value: Any) -> bool:
    """Whether ``value`` is an integer, Python's or numpy's, and not a bool (an int to
    Python, but True for 1 is never what a caller meant).

    >>> is_int(3), is_int(np.int64(3)), is_int(True), is_int(3.0)
    (True, True, False, False)
    """
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def whole(name: str, value: Any, minimum: int = 1) -> int:
    """``value`` as an int of at least ``minimum``; floats and bools are refused.

    >>> whole("epochs", 3)
    3
    >>> whole("batch_size", 0)
    Traceback (most recent call last):
    ...
    ValueError: batch_size must be an int >= 1, got 0
    """
    if not is_int(value) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def clipped_batch_size(value: Any, rows: int, stacklevel: int = 2) -> int:
    """``value``, an int >= 1, as a mini-batch size for ``rows`` rows: one larger than
    ``rows`` is clipped to it (one full batch) with a UserWarning naming both, as
    scikit-learn's MLPClassifier clips it, rather than ignored in silence.

    >>> clipped_batch_size(32, 200)
    32
    """
    size = whole("batch_size", value)
    if size > rows:
        warnings.warn(
            f"batch_size={size} is larger than the {rows} training samples: it is clipped "
            f"to {rows}, one full batch per epoch (as scikit-learn's MLPClassifier clips it)",
            UserWarning,
            stacklevel=stacklevel + 1,
        )
    return min(size, rows)


def flag(name: str, value: Any, *, none: bool = False) -> bool | None:
    """``value`` as a bool; anything but True or False is a TypeError (``bool("False")`` is True,
    so a string or a number would set the flag silently). numpy's bools are taken; with
    ``none``, None is too (given back as None: "decide for me").

    >>> flag("set_to_none", False)
    False
    >>> flag("set_to_none", "False")
    Traceback (most recent call last):
    ...
    TypeError: set_to_none takes True or False, got 'False'
    """
    if none and value is None:
        return None
    if not isinstance(value, (bool, np.bool_)):
        allowed = "None, True or False" if none else "True or False"
        raise TypeError(f"{name} takes {allowed}, got {value!r}")
    return bool(value)


def keepdims(name: str, value: Any) -> bool:
    """numpy's ``keepdims`` as a bool: True or False (numpy's bools too) or an integer as
    its truth value, as numpy takes it; a string, None or a float is a TypeError (where
    ``bool("False")`` would keep the axes silently).

    >>> keepdims("Tensor.max", 1)
    True
    >>> keepdims("Tensor.max", "False")
    Traceback (most recent call last):
    ...
    TypeError: Tensor.max's keepdims takes True or False, got 'False'
    """
    if value is True or value is False:
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    try:
        return bool(operator.index(value))
    except TypeError:
        raise TypeError(f"{name}'s keepdims takes True or False, got {value!r}") from None


def number(
    name: str,
    value: Any,
    low: float = 0.0,
    high: float = math.inf,
    *,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """``value`` as a float when it is a finite real number in the interval from ``low`` to
    ``high`` (each end included unless ``low_open``/``high_open``); else a ValueError naming
    ``name``, the interval and the value. Bools and strings are refused.

    >>> number("momentum", 0.9, high=1.0)
    0.9
    >>> number("lr", float("nan"), low_open=True)
    Traceback (most recent call last):
    ...
    ValueError: lr must be a finite number in (0, inf), got nan
    """
    is_real = isinstance(value, numbers.Real) and not isinstance(value, bool)
    inside = (
        is_real
        and math.isfinite(value)
        and (value > low if low_open else value >= low)
        and (value < high if high_open or math.isinf(high) else value <= high)
    )
    if not inside:
        closing = ")" if high_open or math.isinf(high) else "]"
        interval = f"{'(' if low_open else '['}{low:g}, {high:g}{closing}"
        raise ValueError(f"{name} must be a finite number in {interval}, got {value!r}")
    return float(value)


def finite(name: str, values: np.ndarray) -> np.ndarray:
    """``values`` unchanged when every element is finite; else a ValueError naming the first
    NaN or infinity and its index.

    >>> finite("logits", np.array([[0.0, 1.0], [np.inf, 2.0]]))
    Traceback (most recent call last):
    ...
    ValueError: logits must be finite; found inf at index (1, 0)
    """
    index = first_non_finite(values)
    if index is not None:
        raise ValueError(f"{name} must be finite; found {values[index].item()} at index {index}")
    return values


def first_non_finite(values: np.ndarray) -> tuple[int, ...] | None:
    """The index of the first NaN or infinity in ``values`` (row-major), or None.

    >>> first_non_finite(np.array([[0.0, 1.0], [np.nan, np.inf]]))
    (1, 0)
    """
    if np.isfinite(values).all():  # the common case: one pass, no index array
        return None
    return tuple(int(i) for i in np.argwhere(~np.isfinite(values))[0])


def not_finite(name: str, values: np.ndarray) -> str | None:
    """The problem "not finite: 'name' holds nan at index (i, j)" for the first NaN or
    infinity in ``values``, or None: one entry of a list (a state dict's, a checkpoint's).

    The values are judged as they will be stored, as float64: a value of a wider dtype
    (np.longdouble) beyond float64's range is not finite either.

    >>> not_finite("0.weight", np.array([1.0, np.nan]))
    "not finite: '0.weight' holds nan at index (1,)"
    >>> not_finite("0.weight", np.full(2, np.longdouble("1e400")))
    "not finite: '0.weight' holds 1e+400 at index (0,), beyond float64's range (read as inf)"
    """
    with np.errstate(over="ignore"):
        stored = np.asarray(values, dtype=np.float64)
    index = first_non_finite(stored)
    if index is None:
        return None
    given = np.asarray(values)[index]
    if np.isfinite(given):
        return (
            f"not finite: {name!r} holds {given!s} at index {index}, beyond float64's range "
            f"(read as {stored[index].item()})"
        )
    return f"not finite: {name!r} holds {stored[index].item()} at index {index}"


def file_kind(mode: int) -> str:
    """What the ``st_mode`` of an ``os.stat`` (or ``os.lstat``) result is, as in a message:
    "a regular file", "a folder", "a named pipe (FIFO)", "a device", ...

    >>> import os
    >>> file_kind(os.stat("/dev/null").st_mode)
    'a device'
    """
    kinds = [
        (stat.S_ISREG, "a regular file"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a device"),
        (stat.S_ISBLK, "a device"),
        (stat.S_ISSOCK, "a socket"),
    ]
    return next((kind for test, kind in kinds if test(mode)), "not a regular file")


def array_problem(
    name: str, dtype: np.dtype, shape: tuple[int, ...], expected: tuple[int, ...]
) -> str | None:
    """The problem of one named array held to the shape ``expected`` (a state dict's entry,
    a checkpoint's header), or None: not real numbers, or mis-shaped, a transposed matrix
    named as such (a Linear's weight is (in, out), torch's (out, in)).

    >>> array_problem("0.bias", np.dtype(float), (3,), (2,))
    "mis-shaped: '0.bias' is (3,), expected (2,)"
    """
    if dtype.kind not in "biuf":
        return f"not real numbers: {name!r} has dtype {dtype}"
    shape, expected = tuple(shape), tuple(expected)
    if shape == expected:
        return None
    transposed = len(shape) == 2 and shape[::-1] == expected
    hint = " (transposed? a Linear's weight is (in, out), torch's (out, in))" if transposed else ""
    return f"mis-shaped: {name!r} is {shape}, expected {expected}{hint}"


def finite_outputs(logits: np.ndarray) -> np.ndarray:
    """``logits`` (N, C) unchanged when every row is finite; else a ValueError naming the
    first row of X whose outputs are not: predictions never hold a row of NaN.

    >>> finite_outputs(np.array([[0.0, 1.0], [np.inf, 0.0]]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: the network's outputs for row 1 of X are not finite (...)
    """
    finite_rows = np.all(np.isfinite(logits), axis=1)
    if not np.all(finite_rows):
        raise ValueError(
            f"the network's outputs for row {int(np.argmin(finite_rows))} of X are not finite "
            f"(its features are too large for the trained weights)"
        )
    return logits


def random_state(seed: Seed) -> np.random.RandomState:
    """An int seeds a new RandomState; a RandomState is used as given (so it advances);
    None: fresh entropy. numpy's global random state is never touched.

    >>> random_state(0).randn() == np.random.RandomState(0).randn()
    True
    """
    if isinstance(seed, np.random.RandomState):
        return seed
    if seed is None:
        return np.random.RandomState()
    if is_int(seed):
        return np.random.RandomState(int(seed))
    raise TypeError(f"seed must be an int, a numpy RandomState or None, got {type(seed).__name__}")


def masked(name: str, values: Any) -> str | None:
    """The problem of a numpy masked array that hides elements, or None (any other value,
    and a masked array with nothing masked, whose numbers are all there).

    np.asarray, and so every float64 copy, keeps the hidden values and drops the mask: the
    numbers would silently include what was masked out.

    >>> masked("X", np.ma.masked_array([1.0, 2.0], mask=[False, True]))
    'X is a masked array with 1 masked element(s), the first at index (1,)'
    """
    if not isinstance(values, np.ma.MaskedArray) or not np.ma.is_masked(values):
        return None
    hidden = np.ma.getmaskarray(values)
    first = tuple(int(i) for i in np.argwhere(hidden)[0])
    return (
        f"{name} is a masked array with {int(hidden.sum())} masked element(s), the first at "
        f"index {first}"
    )


def unmasked(name: str, values: Any) -> Any:
    """``values`` unchanged unless ``masked`` finds masked elements: then a ValueError
    saying so and what to do (numpy would read the hidden values in their place).

    >>> unmasked("X", np.ma.masked_array([1.0, 2.0], mask=[False, True]))
    Traceback (most recent call last):
    ...
    ValueError: X is a masked array with 1 masked element(s), the first at index (1,): \
numpy would read the values hidden there. Fill them (a.filled(value)) or drop them
    """
    problem = masked(name, values)
    if problem is not None:
        raise ValueError(
            f"{problem}: numpy would read the values hidden there. Fill them "
            f"(a.filled(value)) or drop them"
        )
    return values


def as_user_array(values: Any, kinds: str, what: str) -> np.ndarray:
    """``values`` as an array; if they are not all numbers of the dtype ``kinds`` and did
    not come as an array, an object array of the user's own values, so that an error can
    name the bad one (numpy turns [0, 1, "x"] into the strings "0", "1", "x"). Ragged
    values are a ValueError saying ``what`` they must be.

    >>> as_user_array([0, 1, "x"], "iuf", "labels").tolist()
    [0, 1, 'x']
    """
    try:
        array = np.asarray(values)
        if array.dtype.kind not in kinds and not isinstance(values, np.ndarray):
            array = np.asarray(values, dtype=object)
    except ValueError as error:
        raise ValueError(f"{what}: {error}") from None
    return array


def axes(axis: Any, ndim: int, shape: tuple[int, ...]) -> tuple[int, ...]:
    """``axis`` (an int or a sequence of ints) as distinct non-negative axes of ``ndim``.

    ``shape`` is named in the message when an axis is out of range or repeated.

    >>> axes(-1, 2, (3, 4))
    (1,)
    >>> axes((0, 2), 2, (3, 4))
    Traceback (most recent call last):
    ...
    ValueError: axis 2 is out of range for shape (3, 4) (axes -2 to 1)
    """
    parts = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    found = []
    for part in parts:
        if not isinstance(part, (int, np.integer)) or isinstance(part, bool):
            raise ValueError(f"an axis must be an int, got {part!r} for shape {shape}")
        if not -ndim <= part < ndim:
            raise ValueError(
                f"axis {part} is out of range for shape {shape} (axes {-ndim} to {ndim - 1})"
            )
        if int(part) % ndim in found:
            raise ValueError(f"axis {part} is repeated in {axis} for shape {shape}")
        found.append(int(part) % ndim)
    return tuple(found)


def matmul_shapes(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    """Refuse operands of ``a @ b`` that numpy and torch refuse: a 0-d one (torch's words),
    or inner sizes that differ (a 1-D operand's one axis is its inner size).

    >>> matmul_shapes((3,), (4, 2))
    Traceback (most recent call last):
    ...
    ValueError: matmul: the inner sizes of shapes (3,) and (4, 2) differ (3 and 4)
    """
    if len(a) == 0 or len(b) == 0:
        raise ValueError(
            f"both arguments to matmul need to be at least 1D, but they are {len(a)}D and "
            f"{len(b)}D (for a product with a number, write a * b)"
        )
    inner = b[0] if len(b) == 1 else b[-2]
    if a[-1] != inner:
        raise ValueError(
            f"matmul: the inner sizes of shapes {a} and {b} differ ({a[-1]} and {inner})"
        )


def padding_word(value: str, stride: tuple[int, int]) -> str:
    """A convolution's padding given as a word, torch's: 'valid' (none) or 'same' (the
    output the input's size, for stride 1 alone), refused in torch's words otherwise.

    >>> padding_word("same", (2, 1))
    Traceback (most recent call last):
    ...
    ValueError: padding='same' is not supported for strided convolutions
    """
    if value not in ("same", "valid"):
        raise ValueError(f"Invalid padding string {value!r}, should be one of {{'same', 'valid'}}")
    if value == "same" and stride != (1, 1):
        raise ValueError("padding='same' is not supported for strided convolutions")
    return value


def softplus_options(beta: Any, threshold: Any) -> tuple[float, float | None]:
    """softplus's ``beta`` (a finite number but 0, where ln(1 + e^(beta x)) / beta has no
    value: torch answers inf) and ``threshold`` (a number, or None for no threshold).

    >>> softplus_options(0, 20)
    Traceback (most recent call last):
    ...
    ValueError: softplus's beta must be a finite number other than 0, got 0
    """
    beta_value = number("softplus's beta", beta, low=-math.inf)
    if beta_value == 0.0:
        raise ValueError(f"softplus's beta must be a finite number other than 0, got {beta!r}")
    if threshold is None:
        return beta_value, None
    return beta_value, number("softplus's threshold", threshold, low=-math.inf)


def row_index(name: str, value: Any, count: int) -> int:
    """``value`` as a row of ``count`` rows, torch's way: an int in [-count, count), a
    negative one counted from the end.

    >>> row_index("padding_idx", -1, 4)
    3
    """
    if not is_int(value) or not -count <= value < count:
        raise ValueError(
            f"{name} must be an int in [{-count}, {count}) (within num_embeddings), got {value!r}"
        )
    return int(value) % count


def clip_bounds(low: Any, high: Any, minimum: Any, maximum: Any) -> tuple[Any, Any]:
    """clip's bounds, given by position (low, high) or by numpy 2's and torch's keywords
    ``min`` and ``max``: each once, at least one of the two not None (torch's rule).

    >>> clip_bounds(None, None, 0.0, None)
    (0.0, None)
    """
    if (low is not None and minimum is not None) or (high is not None and maximum is not None):
        raise TypeError(
            "clip takes each bound once: by position (low, high) or as min= and max=, not both"
        )
    low = minimum if low is None else low
    high = maximum if high is None else high
    if low is None and high is None:
        raise ValueError("clip needs low or high (or both); got None for both")
    return low, high


def reshape_order(order: Any) -> str:
    """reshape's ``order``: numpy's 'C' (last index fastest) or 'F' (first fastest).
    numpy's 'A' follows the array's memory layout, which no op here promises, so it is
    refused rather than answered differently for equal Tensors."""
    if order == "A":
        raise ValueError(
            "reshape's order='A' reads in the memory order of the array, which ops here do "
            "not promise: write order='F' (what 'A' is for a Fortran-ordered array) or 'C'"
        )
    if order not in ("C", "F"):
        raise ValueError(f"reshape's order must be 'C' or 'F', got {order!r}")
    return order


def bias_fits(bias: tuple[int, ...], out: tuple[int, ...]) -> None:
    """A bias must broadcast to the product's shape ``out`` without enlarging it, as
    torch's linear adds it."""
    try:
        fits = np.broadcast_shapes(bias, out) == out
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"linear's bias of shape {bias} does not broadcast to the shape of x @ weight, {out}"
        )


def _label_problem(value: Any, n_classes: int) -> str | None:
    """Why one label is not a class index in [0, n_classes), or None if it is one."""
    if value is None:
        return "is None, not a number"
    if isinstance(value, str):
        return "is a string, not a number"
    if isinstance(value, (bool, np.bool_)):
        return "is a boolean, not a class index"
    if not isinstance(value, numbers.Real):
        return f"is a {type(value).__name__}, not a real number"
    if isinstance(value, numbers.Integral):
        value = int(value)
    elif math.isnan(value):
        return "is not a number"
    elif not math.isfinite(value):
        return "is not finite"
    elif value != math.floor(value):
        return "is not a whole number"
    if value < 0:
        return "is negative"
    if value >= n_classes:
        return f"is not below {n_classes}"
    return None


_UNSIGNED = {size: np.dtype(f"u{size}") for size in (1, 2, 4, 8)}  # by itemsize


def _all_class_indices(raw: np.ndarray, n_classes: int) -> bool:
    """Whether every integer label is in [0, n_classes), in one pass: viewed as unsigned, a
    negative label is larger than every class index, so all are good when the largest is
    below n_classes (found by argmax, a plain loop: a third of the time of the maximum's
    reduction at 200 labels).

    The view reads the bytes in this machine's order: for labels stored in the other
    (``'>i8'``, from a file or another machine) it would read 2**56 as 1 and pass a label
    that then indexes another row's logit, so those are never judged here."""
    if not raw.dtype.isnative:
        return False
    if not raw.size:
        return True
    unsigned = raw.view(_UNSIGNED[raw.itemsize])
    return bool(unsigned[unsigned.argmax()] < n_classes)


def _first_bad_label(raw: np.ndarray, n_classes: int) -> int | None:
    """The position of the first label that is not a class index, found without a Python
    loop for numeric dtypes; None if every label is one."""
    if raw.dtype.kind in "iu":
        if _all_class_indices(raw, n_classes):  # the common case
            return None
        bad = (raw < 0) | (raw >= n_classes)
    elif raw.dtype.kind == "f":
        bad = ~np.isfinite(raw) | (raw != np.floor(raw)) | (raw < 0) | (raw >= n_classes)
    else:
        bad = np.array([_label_problem(v, n_classes) is not None for v in raw.tolist()], bool)
    return int(np.argmax(bad)) if bad.any() else None


def class_labels(
    labels: Any,
    n_rows: int,
    n_classes: int,
    *,
    name: str = "labels",
    rows: str = "the logits",
    copy: bool = True,
) -> np.ndarray:
    """Labels as an int64 array of length ``n_rows`` with values in [0, n_classes).

    Anything else is a ValueError naming the first offending label and its position (a
    string, bool, NaN, infinity, fraction, negative or too large value), or the lengths.
    Floats with whole values are accepted. ``name`` and ``rows`` word the messages.
    ``copy=False`` gives int64 labels back as they are, for a caller that only reads them
    at once (an op keeps its own copy: the caller may change them before backward).
    ``F.softmax_cross_entropy`` checks its labels with it, and ``fit`` its y.

    >>> class_labels([0.0, 1.0, 1.0], 3, 2)
    array([0, 1, 1])
    """
    if type(labels) is np.ndarray:  # speed: as_user_array gives an array itself back
        raw = labels
    else:
        unmasked(name, labels)
        raw = as_user_array(labels, "iuf", f"{name} must be a 1-D array of class indices")
    if raw.ndim != 1 or len(raw) != n_rows:
        if raw.ndim != 1:
            detail = f"it is {raw.ndim}-D"
        elif len(raw) > n_rows:
            detail = f"label {raw[n_rows].item()!r} at position {n_rows} has no row"
        else:
            detail = f"row {len(raw)} has no label"
        raise ValueError(
            f"{name} must hold one label per row of {rows}, shape ({n_rows},); got shape "
            f"{raw.shape}: {detail}"
        )
    position = _first_bad_label(raw, n_classes)
    if position is not None:
        value = raw[position]
        value = value.item() if isinstance(value, np.generic) else value
        raise ValueError(
            f"{name} must be integer class indices (whole numbers in [0, {n_classes}) for "
            f"{n_classes} classes), got dtype {raw.dtype}: label {value!r} at position "
            f"{position} {_label_problem(value, n_classes)}"
        )
    return raw.astype(np.int64, copy=copy)


REDUCTIONS = ("mean", "sum", "none")


def reduction(value: Any) -> None:
    """Nothing when ``value`` names a loss's reduction; else a ValueError naming it.

    >>> reduction("avg")
    Traceback (most recent call last):
    ...
    ValueError: reduction must be one of ('mean', 'sum', 'none'), got 'avg'
    """
    if value not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {value!r}")


def logits_shape(shape: tuple[int, ...]) -> None:
    """Nothing when ``shape`` is (N, C) with C >= 1; else a ValueError naming it."""
    if len(shape) != 2:
        raise ValueError(f"logits must have shape (N, C); got shape {shape}")
    if shape[1] == 0:
        raise ValueError(f"logits must score at least one class (C >= 1); got shape {shape}")


def cross_entropy_call(logits: np.ndarray, labels: Any, reduction_name: Any) -> np.ndarray:
    """The labels of ``ops.SoftmaxCrossEntropy`` applied directly (a layer's own code, a
    captured function), as ``class_labels`` gives them (``copy=False``), after the checks
    ``F.softmax_cross_entropy`` makes of the reduction and the logits' shape: the same
    ValueErrors, in the same words. A negative or too large label would otherwise index
    another row's logit (numpy's negative indices), a silent wrong loss.

    >>> cross_entropy_call(np.zeros((2, 3)), [0, -1], "sum")
    Traceback (most recent call last):
    ...
    ValueError: labels must be integer class indices (whole numbers in [0, 3) for 3 classes), got dtype int64: label -1 at position 1 is negative
    """  # noqa: E501 (a doctest's output is one line)
    reduction(reduction_name)
    shape = np.shape(logits)
    logits_shape(shape)
    # a capture's traced labels are read as the plain array (no decision on them recorded)
    traced = isinstance(labels, np.ndarray) and not isinstance(labels, (np.ma.MaskedArray))
    raw = np.asarray(labels) if traced else labels
    checked = class_labels(raw, shape[0], shape[1], copy=False)
    return labels if checked is raw and raw is not labels else checked


def _first_non_number(values: np.ndarray) -> tuple[int, ...] | None:
    """Where the first element that is not a real number (a bool counts as one) sits."""
    for index, value in np.ndenumerate(values):
        if isinstance(value, str) or not isinstance(value, (numbers.Real, np.bool_)):
            return index
    return None


def features(X: Any, name: str = "X") -> np.ndarray:
    """X as a float64 (N, features) array, N >= 1, every value finite; else a ValueError
    naming the first bad value and its place. Booleans are read as 0 and 1.

    >>> features([[0.0, 1.0], [2.0, "x"]])
    Traceback (most recent call last):
    ...
    ValueError: X must hold real numbers, got dtype object: X[1, 1] is 'x'
    """
    X = as_user_array(unmasked(name, X), "biuf", f"{name} must be a 2-D array (N, features)")
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"{name} must be a non-empty 2-D array (N, features), got {X.shape}")
    if X.dtype.kind not in "biuf":
        where = _first_non_number(X)
        if where is not None:
            value = X[where].item() if isinstance(X[where], np.generic) else X[where]
            raise ValueError(
                f"{name} must hold real numbers, got dtype {X.dtype}: "
                f"{name}[{where[0]}, {where[1]}] is {value!r}"
            )
    return finite(name, np.asarray(X, dtype=np.float64))


def width(name: str, shape: tuple[int, ...], expected: int, taker: str) -> None:
    """Nothing when the last axis of ``shape`` is ``expected`` long; else a ValueError
    naming ``name``'s features and shape and what ``taker`` takes.

    >>> width("X", (200, 3), 2, "the model")
    Traceback (most recent call last):
    ...
    ValueError: X has 3 features (the last axis of shape (200, 3)), but the model takes 2
    """
    if shape and shape[-1] == expected:
        return
    got = f"{shape[-1]} features (the last axis of shape {shape})" if shape else "shape ()"
    raise ValueError(f"{name} has {got}, but {taker} takes {expected}")


def two_classes(classes: np.ndarray, name: str = "y") -> None:
    """Nothing when ``classes`` (the distinct labels) holds two or more; else a ValueError:
    on one class any classifier scores 100%, meaning nothing.

    >>> two_classes(np.array(["a"]))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: y holds only one class ('a'): a classifier needs at least two classes to ...
    """
    if len(classes) < 2:
        raise ValueError(
            f"{name} holds only one class ({np.asarray(classes)[0].item()!r}): a classifier needs "
            f"at least two classes to learn to tell apart, and on one its accuracy would be 100% "
            f"whatever it learnt"
        )
