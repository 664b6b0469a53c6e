"""What the ported peer suites reach for in the API, and the one way they skip without it.

Each helper returns the thing asked for, or skips the calling test with the reason
``missing: <name>``, so a skipped test starts running by itself the day the name appears.
``tally.py`` groups the skips by that name. No other reason to skip exists in this folder.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import pytest

import tinygrad_moons
import tinygrad_moons.functional as F
from tinygrad_moons import Tensor

MISSING = "missing: "


def missing(name: str, note: str = "") -> None:
    """Skip the calling test: the API has no ``name``."""
    pytest.skip(MISSING + name + (f" ({note})" if note else ""))


def need(name: str) -> Callable[..., Any]:
    """numpy's function ``name`` over Tensors: ``F.<name>``, else the Tensor method called
    with the tensor first (``need("flip")(t, 0)`` is ``t.flip(0)``)."""
    function = getattr(F, name, None)
    if callable(function):
        return function
    method = getattr(Tensor, name, None)
    if callable(method):
        return method
    missing(name)


def need_method(name: str) -> Callable[..., Any]:
    """The Tensor method ``name``, unbound (``need_method("ravel")(t)`` is ``t.ravel()``)."""
    method = getattr(Tensor, name, None)
    if method is None:
        missing(f"Tensor.{name}")
    return method


def need_module(dotted: str) -> Any:
    """A name under the package by its dotted path: ``need_module("nn.Conv2d")``; modules
    imported on use (``graph``, ``data``) are imported."""
    found: Any = tinygrad_moons
    parts = dotted.split(".")
    for depth, part in enumerate(parts, start=1):
        if not hasattr(found, part):
            try:
                importlib.import_module(".".join(["tinygrad_moons", *parts[:depth]]))
            except ImportError:
                missing(dotted)
        if not hasattr(found, part):
            missing(dotted)
        found = getattr(found, part)
    return found


# where torch keeps each: grad and gradgradcheck importable from the package, the
# functional transforms in tinygrad_moons.autograd
_AUTOGRAD_HOMES = ("tinygrad_moons", "tinygrad_moons.autograd", "tinygrad_moons.gradcheck")


def need_autograd(name: str, note: str = "") -> Callable[..., Any]:
    """``grad``, ``gradgradcheck``, ``jacobian``, ``hessian``, ``vjp``, ``jvp``, ``hvp``."""
    for home in _AUTOGRAD_HOMES:
        try:
            module = importlib.import_module(home)
        except ImportError:
            continue
        if callable(getattr(module, name, None)):
            return getattr(module, name)
    missing(name, note)


_OPERATORS = {"+t": "__pos__", "//": "__floordiv__", "%": "__mod__", "@=": "__imatmul__"}


def need_operator(symbol: str) -> None:
    """An operator of Tensor, by its symbol: ``need_operator("%")``."""
    if not hasattr(Tensor, _OPERATORS[symbol]):
        missing(f"operator {symbol}")


def _records_in_place(update: Callable[[Tensor], Any]) -> bool:
    t = Tensor([2.0, 3.0], requires_grad=True) * 1.0
    try:
        update(t)
    except (AttributeError, RuntimeError, TypeError, NotImplementedError):
        return False
    return True


_IN_PLACE = {
    "+=": lambda t: t.__iadd__(1.0),
    "*=": lambda t: t.__imul__(2.0),
    "**=": lambda t: t.__ipow__(2.0),
    "@=": lambda t: t.reshape(1, 2).__imatmul__(Tensor([[1.0, 0.0], [0.0, 1.0]])),
    "t[i] = v": lambda t: t.__setitem__(0, 5.0),
}


def need_in_place(symbol: str) -> None:
    """An in-place update of a tensor made by an op, recorded in the graph (torch's rule)."""
    if not _records_in_place(_IN_PLACE[symbol]):
        missing(f"{symbol} on a tensor made by an op")


def need_versions() -> None:
    """Version counters: backward refuses an op whose saved input changed in place since."""
    if not hasattr(Tensor(0.0), "_version"):
        missing("versions (t._version)")
