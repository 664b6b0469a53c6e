"""Modules with PyTorch's habits and the write-up's layout ``x @ W + b``.

A ``Module`` registers the Tensors (parameters) and Modules (submodules) assigned to its
attributes, in assignment order, so ``parameters()`` and ``named_parameters()`` find them
without being told. ``MLP([2, H, 2], seed=0)`` draws exactly the write-up's start,
``reference.init_params(H, seed=0)``:

>>> import numpy as np
>>> from tinygrad_moons import reference
>>> model = MLP([2, 3, 2], seed=0)
>>> [name for name, _ in model.named_parameters()]
['0.weight', '0.bias', '2.weight', '2.bias']
>>> bool(np.array_equal(model[0].weight.data, reference.init_params(3, seed=0)["W1"]))
True

``save``, ``load`` and ``load_config`` put ``state_dict()`` into an ``.npz`` file and back
through ``checkpoint``, which knows arrays and shapes, not modules.
"""

from __future__ import annotations

import inspect
import os
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from itertools import pairwise
from typing import Any, NamedTuple

import numpy as np

import tinygrad_moons.functional as F
from tinygrad_moons import checkpoint, habits
from tinygrad_moons.parameters import zero_grads
from tinygrad_moons.tensor import Tensor, derived, no_grad, written
from tinygrad_moons.validate import (
    Seed,
    array_problem,
    flag,
    masked,
    not_finite,
    number,
    padding_word,
    row_index,
    softplus_options,
    whole,
    width,
)
from tinygrad_moons.validate import random_state as as_random_state

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "AvgPool2d",
    "BatchNorm1d",
    "BatchNorm2d",
    "Conv2d",
    "Dropout",
    "Embedding",
    "Flatten",
    "LayerNorm",
    "MaxPool2d",
    "Identity",
    "IncompatibleKeys",
    "LeakyReLU",
    "Linear",
    "Module",
    "ModuleDict",
    "ModuleList",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softplus",
    "Tanh",
    "as_random_state",
    "evaluating",
    "load",
    "load_config",
    "register_activation",
    "save",
]


_PARAMETER, _BUFFER, _MODULE = "parameter", "buffer", "module"


def _hidden_parts(module: Module, name: str, value: Any) -> TypeError | None:
    """The TypeError for a list, tuple or dict holding Modules or parameters, else None:
    what they hold is not registered, so it would be missing from ``parameters()`` (never
    trained) and from ``state_dict()`` (never saved), silently."""
    if isinstance(value, dict):
        parts = list(value.values())
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        return None
    hidden = [
        part
        for part in parts
        if isinstance(part, Module) or (isinstance(part, Tensor) and part.requires_grad)
    ]
    if not hidden:
        return None
    return TypeError(
        f"{type(module).__name__}.{name} is a {type(value).__name__} holding "
        f"{type(hidden[0]).__name__}s: their parameters would not be registered (not "
        f"trained, not saved). Use nn.ModuleList (or nn.Sequential) for a list and "
        f"nn.ModuleDict for a dict, whose modules are registered, or one attribute each"
    )


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict(strict=False)`` returns, as torch's: the module's names the
    state did not hold, and the state's names the module does not have."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module(habits.RefusesTorchOptions):
    """Base class: assign parameters, buffers (Tensors) and submodules to attributes; define
    forward.

    A Tensor with ``requires_grad`` assigned to an attribute is a parameter; one without is a
    buffer (state that is not trained, such as running statistics), as is a Tensor given to
    ``register_buffer``. A parameter stays a parameter when it is frozen
    (``requires_grad=False``) or when its name is given another Tensor. ``state_dict()``
    holds both kinds, frozen parameters included, as torch's does. A Tensor shared by two
    attributes is one parameter, listed under its first name (torch's rule).
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_registered", {})  # name -> kind, in registration order
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        registered = self.__dict__.get("_registered")
        if registered is None:
            raise AttributeError(
                f"{type(self).__name__}.__init__ must call super().__init__() before "
                f"assigning attributes (assigning {name!r})"
            )
        if isinstance(value, Module):
            kind = _MODULE
        elif isinstance(value, Tensor):
            # torch's rule: a Parameter always registers as one, and a parameter's name
            # takes only parameters (here: keeps its kind, the tensor frozen).
            parameter = value.requires_grad or registered.get(name) == _PARAMETER
            kind = _PARAMETER if parameter else _BUFFER
        else:
            error = _hidden_parts(self, name, value)
            if error is not None:
                raise error
            registered.pop(name, None)
            object.__setattr__(self, name, value)
            return
        registered[name] = kind  # a re-assigned name keeps its place in the order
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._registered.pop(name, None)
        object.__delattr__(self, name)

    def _check_name(self, name: Any, kind: str) -> None:
        """torch's checks of a name given to ``register_buffer`` or a ModuleDict."""
        if not isinstance(name, str):
            raise TypeError(f"a {kind}'s name must be a str, got {type(name).__name__}")
        if not name or "." in name:
            raise KeyError(f"a {kind}'s name must be non-empty and contain no '.', got {name!r}")
        if hasattr(self, name) and self._registered.get(name) != kind:
            raise KeyError(f"attribute {name!r} already exists in {type(self).__name__}")

    def register_buffer(self, name: str, tensor: Tensor) -> None:
        """Register ``tensor`` under ``name`` as a buffer: state (in ``state_dict()``, saved
        and loaded) that is not a parameter, whether or not it requires grad."""
        self._check_name(name, _BUFFER)
        if not isinstance(tensor, Tensor):
            raise TypeError(
                f"register_buffer({name!r}, ...) takes a Tensor, got {type(tensor).__name__}"
            )
        self._registered[name] = _BUFFER
        object.__setattr__(self, name, tensor)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        forward = getattr(self, "forward", None)
        if forward is None:
            raise TypeError(f"{type(self).__name__} is a Module without a forward method")
        return forward(*args, **kwargs)

    # ------------------------------------------------------------------ walks
    def _items(self, kind: str) -> Iterator[tuple[str, Any]]:
        """This module's own registered (name, value) pairs of ``kind``, in order."""
        for name, registered_kind in self._registered.items():
            if registered_kind == kind:
                yield name, self.__dict__[name]

    def _refuse_hidden_parts(self) -> None:
        # Checked at every walk, not only at assignment: a Module appended to a plain list
        # after it was assigned could never be registered otherwise.
        for name, value in self.__dict__.items():
            if name not in self._registered:
                error = _hidden_parts(self, name, value)
                if error is not None:
                    raise error

    def _named_state(
        self, kinds: Collection[str], prefix: str = ""
    ) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, Tensor) of every registered Tensor of ``kinds`` below, in
        registration order, depth first; a tensor reached by two names is given twice."""
        self._refuse_hidden_parts()
        for name, kind in self._registered.items():
            value = self.__dict__[name]
            if kind == _MODULE:
                yield from value._named_state(kinds, f"{prefix}{name}.")
            elif kind in kinds:
                yield f"{prefix}{name}", value

    def _named_once(self, kind: str) -> Iterator[tuple[str, Tensor]]:
        seen: set[int] = set()
        for name, tensor in self._named_state((kind,)):
            if id(tensor) not in seen:
                seen.add(id(tensor))
                yield name, tensor

    def named_parameters(self) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, Tensor) for every parameter, frozen ones included, in registration
        order."""
        return self._named_once(_PARAMETER)

    def parameters(self) -> list[Tensor]:
        """The parameters, frozen ones included, in registration order (a Linear: weight,
        then bias)."""
        return [tensor for _, tensor in self.named_parameters()]

    def named_buffers(self) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, Tensor) for every buffer, in registration order."""
        return self._named_once(_BUFFER)

    def buffers(self) -> list[Tensor]:
        """The buffers, in registration order."""
        return [tensor for _, tensor in self.named_buffers()]

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct submodules, in registration order, each once."""
        self._refuse_hidden_parts()
        seen: set[int] = set()
        for name, child in self._items(_MODULE):
            if id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator[Module]:
        """The direct submodules, in registration order, each once."""
        for _, child in self.named_children():
            yield child

    def named_modules(self) -> Iterator[tuple[str, Module]]:
        """(dotted name, module) for this module ("") and every submodule, depth first in
        registration order, each once."""
        seen: set[int] = set()

        def walk(module: Module, prefix: str) -> Iterator[tuple[str, Module]]:
            if id(module) in seen:
                return
            seen.add(id(module))
            yield prefix, module
            for name, child in module.named_children():
                yield from walk(child, f"{prefix}.{name}" if prefix else name)

        return walk(self, "")

    def modules(self) -> Iterator[Module]:
        """This module, then every submodule, depth first in registration order."""
        for _, module in self.named_modules():
            yield module

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every submodule, then on this module (torch's order); returns self.

        >>> def zero_biases(m):
        ...     if isinstance(m, Linear):
        ...         m.bias.data[...] = 0.0
        >>> model = MLP([2, 3, 2], seed=0).apply(zero_biases)
        """
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Every parameter's ``.grad`` to None (or, ``set_to_none=False``, zeros in place)."""
        zero_grads(self.parameters(), set_to_none)

    # ------------------------------------------------------------------ modes
    def train(self, mode: bool = True) -> Module:
        """Set ``.training`` on this module and every submodule; returns self."""
        training = flag("train(mode)", mode)
        for module in self.modules():
            object.__setattr__(module, "training", training)
        return self

    def eval(self) -> Module:
        """``train(False)``: Dropout becomes the identity."""
        return self.train(False)

    @property
    def training(self) -> bool:
        """True in training mode; False after ``eval()``, and inside ``evaluating(model)``
        for the thread running that block only."""
        if _evaluated_here.get(id(self)):
            return False
        return self.__dict__["training"]

    @training.setter
    def training(self, mode: bool) -> None:
        if mode is not True and mode is not False:  # train(mode) hands over a bool
            mode = flag(f"{type(self).__name__}'s training", mode)
        self.__dict__["training"] = mode

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, np.ndarray]:
        """Name -> a copy of the array of every parameter (frozen ones included) and every
        buffer, in registration order, as torch's (a tensor reached by two names is under
        both). Copies, unlike torch's: a checkpoint training leaves as it was, and writing
        into one changes the module only once it is loaded back (``load_state_dict``)."""
        return {name: tensor.data.copy() for name, tensor in self._named_state(_STATE)}

    def _optional_state(self) -> tuple[str, ...]:
        """This module's own buffers that a state dict may leave out, loading then leaving
        them as they are: buffers added after states were saved without them."""
        return ()

    def _optional_below(self) -> set[str]:
        """``_optional_state`` of this module and every submodule, by dotted name."""
        return {
            f"{prefix}.{name}" if prefix else name
            for prefix, module in self.named_modules()
            for name in module._optional_state()
        }

    def _state_check(self, state: Mapping[str, Any]) -> tuple[list[str], list[str], list[str]]:
        """(missing names, unexpected names, problems of the names present: mis-shaped, not
        real numbers, not finite). An optional name (``_optional_state``) may be missing."""
        if not isinstance(state, Mapping):
            raise TypeError(f"a state dict maps names to arrays, got {type(state).__name__}")
        own = dict(self._named_state(_STATE))
        optional = self._optional_below()
        missing = [name for name in own if name not in state and name not in optional]
        unexpected = [name for name in state if name not in own]
        problems = []
        for name, tensor in own.items():
            if name not in state:
                continue
            problem = masked(name, state[name])  # np.asarray drops the mask
            value = np.asarray(state[name])
            problem = problem or array_problem(name, value.dtype, value.shape, tensor.shape)
            if problem is not None or (problem := not_finite(name, value)) is not None:
                problems.append(problem)
        return missing, unexpected, problems

    def state_problems(self, state: Mapping[str, Any]) -> list[str]:
        """What keeps ``state`` from loading strictly: missing, unexpected, mis-shaped and
        non-finite entries, parameters and buffers alike."""
        return _strict_problems(*self._state_check(state))

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy ``state``'s arrays into the parameters and buffers of the same names.

        ``strict=True``: every name must match; ``strict=False`` loads the names present in
        both and returns the others as torch's ``(missing_keys, unexpected_keys)``. Either
        way every shape must agree and every value be finite; otherwise one ValueError
        lists all that is wrong (missing and unexpected names too when strict), and nothing
        is changed.
        """
        flag("load_state_dict's strict", strict)
        missing, unexpected, problems = self._state_check(state)
        if strict:
            problems = _strict_problems(missing, unexpected, problems)
        if problems:
            raise ValueError(
                f"cannot load the state into {type(self).__name__} ({len(problems)} "
                f"problem(s), nothing was changed):\n  " + "\n  ".join(problems)
            )
        for name, tensor in self._named_state(_STATE):
            if name in state:
                tensor.data[...] = np.asarray(state[name], dtype=np.float64)
                written(tensor)
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ repr
    def extra_repr(self) -> str:
        """The arguments shown inside this module's repr."""
        return ""

    def __repr__(self) -> str:
        # The registered children as they are: a repr must not raise over a plain list.
        children = list(self._items(_MODULE))
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        lines.append(")")
        return "\n".join(lines)


_STATE = (_PARAMETER, _BUFFER)


# PyTorch's names a Module does not have (model.to, model.double, ...): class attributes
# whose lookup is the AttributeError saying what to do (habits.py).
habits.refuse_attributes(Module, habits.MODULE)


class _EvaluatedHere(threading.local):
    """Per thread: id of each module inside an ``evaluating`` block -> how many deep."""

    def __init__(self) -> None:
        self.depth: dict[int, int] = {}

    def get(self, key: int) -> int:
        return self.depth.get(key, 0)


_evaluated_here = _EvaluatedHere()


@contextmanager
def evaluating(model: Module) -> Iterator[Module]:
    """Eval mode and no graph inside the block, for this thread only: another thread using
    the same model meanwhile sees it in the mode it had (a flip of ``.training`` would
    switch Dropout off, or on, under it).

    >>> model = MLP([2, 3, 2], dropout=0.5, seed=0)
    >>> with evaluating(model):
    ...     model.training
    False
    >>> model.training
    True
    """
    ids = [id(module) for module in model.modules()]
    depth = _evaluated_here.depth
    for key in ids:
        depth[key] = depth.get(key, 0) + 1
    try:
        with no_grad():
            yield model
    finally:
        for key in ids:
            depth[key] -= 1
            if not depth[key]:
                del depth[key]


def _strict_problems(missing: list[str], unexpected: list[str], problems: list[str]) -> list[str]:
    return (
        [f"missing: {name!r}" for name in missing]
        + [f"unexpected: {name!r}" for name in unexpected]
        + problems
    )


class Linear(Module):
    """y = x @ weight + bias, weight (in, out) drawn randn(in, out) / sqrt(in), bias zeros.

    The write-up's orientation: transposed from PyTorch's ``nn.Linear``. With
    ``bias=False`` there is no bias: ``.bias`` is None, as torch's, and the layer is
    ``x @ weight`` (the weight is drawn the same).

    >>> Linear(2, 3, seed=0)(np.ones((4, 2))).shape
    (4, 3)
    >>> Linear(2, 3, bias=False, seed=0)
    Linear(in_features=2, out_features=3, bias=False)
    """

    def __init__(
        self, in_features: int, out_features: int, *, bias: bool = True, seed: Seed = None
    ) -> None:
        super().__init__()
        self.in_features = whole("in_features", in_features)
        self.out_features = whole("out_features", out_features)
        flag("Linear's bias", bias)
        rng = as_random_state(seed)
        weight = rng.randn(self.in_features, self.out_features) / np.sqrt(self.in_features)
        self.weight = Tensor(weight, requires_grad=True)
        self.bias = Tensor(np.zeros(self.out_features), requires_grad=True) if bias else None

    def forward(self, x: Any) -> Tensor:
        shape = x.shape if isinstance(x, (Tensor, np.ndarray)) else np.shape(x)
        if not shape or shape[-1] != self.in_features:  # speed: repr(self) for errors only
            width("the input", shape, self.in_features, repr(self))
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        shown = f"in_features={self.in_features}, out_features={self.out_features}"
        return shown if self.bias is not None else f"{shown}, bias=False"


class Tanh(Module):
    """tanh(x), the write-up's hidden activation."""

    def forward(self, x: Any) -> Tensor:
        return F.tanh(x)


class Sigmoid(Module):
    """1 / (1 + e^-x)."""

    def forward(self, x: Any) -> Tensor:
        return F.sigmoid(x)


class ReLU(Module):
    """max(x, 0)."""

    def forward(self, x: Any) -> Tensor:
        return F.relu(x)


class LeakyReLU(Module):
    """x for x > 0, else slope * x."""

    def __init__(self, slope: float = 0.01) -> None:
        super().__init__()
        self.slope = float(slope)

    def forward(self, x: Any) -> Tensor:
        return F.leaky_relu(x, self.slope)

    def extra_repr(self) -> str:
        return f"slope={self.slope}"


class Softplus(Module):
    """ln(1 + e^(beta x)) / beta, and x itself where beta x > ``threshold``, as torch's
    (``F.softplus``); torch's default threshold is 20, the default here None (none)."""

    def __init__(self, beta: float = 1.0, threshold: float | None = None) -> None:
        super().__init__()
        self.beta, self.threshold = softplus_options(beta, threshold)

    def forward(self, x: Any) -> Tensor:
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self) -> str:
        return f"beta={self.beta:g}, threshold={self.threshold}"


class Identity(Module):
    """x unchanged: with it, an MLP's hidden layers are linear (the model is a linear one)."""

    def forward(self, x: Any) -> Tensor:
        return x if isinstance(x, Tensor) else Tensor(x)


def _drop_probability(name: str, p: Any) -> float:
    """Dropout's p (and MLP's dropout, checked before any layer is built): in [0, 1)."""
    return number(name, p, high=1.0, high_open=True)


def _keep_mask(rng: np.random.RandomState, shape: tuple[int, ...], p: float) -> np.ndarray:
    """Dropout's mask: each unit kept with probability 1 - p."""
    return rng.random_sample(shape) >= p


class Dropout(Module):
    """Inverted dropout: in training, zero each unit with probability p and scale the kept
    ones by 1 / (1 - p), so eval mode (the identity) needs no rescaling.

    >>> drop = Dropout(0.5, seed=1)
    >>> drop(np.ones((1, 4))).data
    array([[0., 2., 0., 0.]])
    >>> drop.eval()(np.ones((1, 4))).data
    array([[1., 1., 1., 1.]])
    """

    def __init__(self, p: float = 0.5, *, seed: Seed = None) -> None:
        super().__init__()
        self.p = _drop_probability("Dropout's p", p)
        self.rng = as_random_state(seed)

    def forward(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        if not self.training or self.p == 0.0:
            return x
        # Drawn through ``derived``: a graph capture draws it afresh, from this stream, at
        # every replay.
        keep = derived(_keep_mask, self.rng, x.shape, self.p)
        return x * (keep / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}"


class _NumberedModules(Module):
    """What ModuleList and Sequential share: modules named "0", "1", ... in order, kept
    numbered through every change, as torch's."""

    def _modules_in_order(self) -> list[Module]:
        return [module for _, module in self._items(_MODULE)]

    def _renumber(self, modules: list[Module]) -> None:
        for name, _ in list(self._items(_MODULE)):
            delattr(self, name)
        for position, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(
                    f"{type(self).__name__} holds Modules; item {position} is "
                    f"{type(module).__name__}"
                )
            setattr(self, str(position), module)

    def _position(self, index: Any) -> int:
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise TypeError(
                f"{type(self).__name__} indices are ints or slices, not {type(index).__name__}"
            )
        size = len(self)
        if not -size <= index < size:
            raise IndexError(
                f"index {index} is out of range for a {type(self).__name__} of {size} modules"
            )
        return int(index) % size

    def __getitem__(self, index: int | slice) -> Module:
        """The module at ``index`` (negative counts from the end); a slice is a container of
        the same kind holding those modules (shared, not copied), renumbered from 0."""
        modules = self._modules_in_order()
        if isinstance(index, slice):
            part = modules[index]
            return Sequential(*part) if isinstance(self, Sequential) else ModuleList(part)
        return modules[self._position(index)]

    def __setitem__(self, index: int, module: Module) -> None:
        """Put ``module`` in place of the one at ``index``."""
        modules = self._modules_in_order()
        modules[self._position(index)] = module
        self._renumber(modules)

    def __delitem__(self, index: int | slice) -> None:
        """Remove the module at ``index`` (or a slice of them); the rest are renumbered."""
        modules = self._modules_in_order()
        if isinstance(index, slice):
            del modules[index]
        else:
            del modules[self._position(index)]
        self._renumber(modules)

    def __len__(self) -> int:
        return sum(1 for _ in self._items(_MODULE))

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules_in_order())

    def append(self, module: Module) -> _NumberedModules:
        """Add ``module`` at the end; returns self."""
        self._renumber([*self._modules_in_order(), module])
        return self

    def extend(self, modules: Iterable[Module]) -> _NumberedModules:
        """Add each of ``modules`` at the end, in order; returns self."""
        self._renumber([*self._modules_in_order(), *modules])
        return self

    def insert(self, index: int, module: Module) -> _NumberedModules:
        """Put ``module`` before position ``index`` (list.insert's rule); returns self."""
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise TypeError(f"insert takes an int index, not {type(index).__name__}")
        modules = self._modules_in_order()
        modules.insert(int(index), module)
        self._renumber(modules)
        return self

    def pop(self, index: int = -1) -> Module:
        """Remove and return the module at ``index`` (the last by default)."""
        module = self[index]
        del self[index]
        return module


class ModuleList(_NumberedModules):
    """A list of modules, registered: their parameters are the list's, named "0.weight",
    ..., as torch's ``nn.ModuleList``. It has no forward: a module holding it says how its
    modules are applied.

    >>> layers = ModuleList([Linear(2, 3, seed=0)])
    >>> layers.append(Tanh()).extend([Linear(3, 2, seed=1)])[-1]
    Linear(in_features=3, out_features=2)
    >>> [name for name, _ in layers.named_parameters()]
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)


class ModuleDict(Module):
    """A dict of modules by name, registered (parameters "name.weight", ...), in insertion
    order, as torch's ``nn.ModuleDict``; no forward.

    >>> heads = ModuleDict({"moons": Linear(3, 2, seed=0)})
    >>> heads["blobs"] = Linear(3, 4, seed=1)
    >>> list(heads), len(heads), "moons" in heads
    (['moons', 'blobs'], 2, True)
    """

    def __init__(
        self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]] | None = None
    ) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __getitem__(self, key: str) -> Module:
        if self._registered.get(key) != _MODULE:
            raise KeyError(key)
        return self.__dict__[key]

    def __setitem__(self, key: str, module: Module) -> None:
        self._check_name(key, _MODULE)
        if not isinstance(module, Module):
            raise TypeError(f"ModuleDict[{key!r}] takes a Module, got {type(module).__name__}")
        setattr(self, key, module)

    def __delitem__(self, key: str) -> None:
        self[key]  # noqa: B018 (a KeyError for a name it does not hold)
        delattr(self, key)

    def __len__(self) -> int:
        return sum(1 for _ in self._items(_MODULE))

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._registered.get(key) == _MODULE

    def keys(self) -> list[str]:
        """The names, in insertion order."""
        return [name for name, _ in self._items(_MODULE)]

    def values(self) -> list[Module]:
        """The modules, in insertion order."""
        return [module for _, module in self._items(_MODULE)]

    def items(self) -> list[tuple[str, Module]]:
        """(name, module) pairs, in insertion order."""
        return list(self._items(_MODULE))

    def update(self, modules: Mapping[str, Module] | Iterable[tuple[str, Module]]) -> None:
        """Add or replace each (name, module) of a mapping or of an iterable of pairs."""
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for position, pair in enumerate(pairs):
            if not isinstance(pair, tuple) or len(pair) != 2:
                raise TypeError(
                    f"ModuleDict.update takes a mapping or (name, module) pairs; item "
                    f"{position} is {pair!r}"
                )
            self[pair[0]] = pair[1]

    def pop(self, key: str) -> Module:
        """Remove and return the module named ``key``."""
        module = self[key]
        del self[key]
        return module

    def clear(self) -> None:
        """Remove every module."""
        for key in self.keys():
            del self[key]


class Sequential(_NumberedModules):
    """Modules applied in order; they are named "0", "1", ... (parameters "0.weight", ...).

    torch's list habits: ``[i]`` and ``[-1]``, slices (a Sequential of those modules,
    shared, renumbered from 0: torch's keeps the old names), ``[i] = m``, ``del``,
    ``append``, ``insert``, ``extend``, ``pop``, ``len`` and iteration; the names follow
    every change.
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(
                    f"Sequential takes Modules; argument {index} is {type(module).__name__}"
                )
            setattr(self, str(index), module)

    def forward(self, x: Any) -> Any:
        modules = self.__dict__  # speed: _items(_MODULE) without a generator per call
        for name, kind in self._registered.items():
            if kind == _MODULE:
                x = modules[name](x)
        return x


# ---------------------------------------------------------------------- activations by name
ACTIVATIONS: dict[str, type[Module]] = {}
"""The one registry of activations by name: MLP, the command line and the estimator read it.
Add to it with ``register_activation``, never by assignment."""


class _ActivationsByName:
    """Where pickle finds the class of a function-registered activation:
    ``nn._by_name.<name>`` is ``ACTIVATIONS[name]`` in the process that loads. So a model
    using one pickles by its registered name (the function itself may be a lambda) and
    loads in any process where the same registration has run."""

    def __getattr__(self, name: str) -> type[Module]:
        if name.startswith("__"):
            raise AttributeError(name)
        if name not in ACTIVATIONS:
            raise AttributeError(
                f"activation {name!r} is not registered in this process: run "
                f"nn.register_activation({name!r}, ...) before loading what uses it"
            )
        return ACTIVATIONS[name]


_by_name = _ActivationsByName()


def _registered_instance(name: str) -> Module:
    """An empty instance of ``ACTIVATIONS[name]``, for pickle to fill: how a model's
    function-registered activations load, with a clear error where the name is unknown."""
    module = getattr(_by_name, name)
    return module.__new__(module)


def _wrap(name: str, function: Callable[[Tensor], Tensor]) -> type[Module]:
    """A Module class whose forward is ``function``, named after ``name`` ("my_act": MyAct),
    found by pickle under the registered name; its ``function`` is ``function``."""

    def forward(self: Module, x: Any) -> Tensor:
        out = function(x)
        if not isinstance(out, Tensor):
            raise TypeError(f"activation {name!r} must return a Tensor, got {type(out).__name__}")
        return out

    def reduce(self: Module) -> tuple:
        return _registered_instance, (name,), dict(vars(self))

    class_name = "".join(part.capitalize() for part in name.split("_")) or "Activation"
    attributes = {
        "forward": forward,
        "__reduce__": reduce,
        "function": staticmethod(function),
        "__doc__": function.__doc__,
        "__module__": __name__,
        "__qualname__": f"_by_name.{name}",
    }
    return type(class_name, (Module,), attributes)


def _constructible(module: type[Module]) -> type[Module]:
    """``module`` itself, once it is known to construct without arguments, as MLP calls it."""
    try:
        inspect.signature(module).bind()
    except TypeError:
        raise TypeError(
            f"activation {module.__name__}() must construct without arguments (MLP makes "
            f"one per hidden layer so); give its arguments defaults"
        ) from None
    return module


def register_activation(
    name: str, activation: type[Module] | Callable[[Tensor], Tensor]
) -> type[Module]:
    """Make ``activation`` usable by ``name`` in ``MLP``, ``tinygrad-moons train --activation``
    and the estimator; returns the Module class registered.

    ``activation`` is a Module subclass that constructs without arguments, or a plain
    function Tensor -> Tensor, which is wrapped into one. A name already registered, a name
    that is not a non-empty word, or anything else as ``activation`` is refused.

    >>> import tinygrad_moons.functional as F
    >>> Silu = register_activation("silu", lambda x: x * F.sigmoid(x))
    >>> MLP([2, 3, 2], "silu", seed=0)[1]
    Silu()
    >>> register_activation("silu", Tanh)
    Traceback (most recent call last):
    ...
    ValueError: activation 'silu' is already registered (as Silu); pick another name
    >>> del ACTIVATIONS["silu"]  # (only so that this example can run again)
    """
    if not isinstance(name, str) or not name or not name.replace("_", "a").isalnum():
        raise ValueError(
            f"an activation's name must be a word of letters, digits and _, got {name!r}"
        )
    if name in ACTIVATIONS:
        raise ValueError(
            f"activation {name!r} is already registered (as {ACTIVATIONS[name].__name__}); "
            f"pick another name"
        )
    if isinstance(activation, type):
        if not issubclass(activation, Module):
            raise TypeError(f"activation {name!r} must subclass nn.Module; {activation!r} does not")
        module = _constructible(activation)
    elif isinstance(activation, Module):
        raise TypeError(
            f"activation {name!r}: register the class {type(activation).__name__}, not an "
            f"instance of it (MLP makes one per hidden layer)"
        )
    elif callable(activation):
        module = _wrap(name, activation)
    else:
        raise TypeError(
            f"activation {name!r} must be an nn.Module subclass or a function Tensor -> "
            f"Tensor, got {type(activation).__name__}"
        )
    ACTIVATIONS[name] = module
    return module


for _name, _module in [
    ("tanh", Tanh),
    ("sigmoid", Sigmoid),
    ("relu", ReLU),
    ("leaky_relu", LeakyReLU),
    ("softplus", Softplus),
    ("identity", Identity),
]:
    register_activation(_name, _module)
del _name, _module


class MLP(Sequential):
    """Linear, activation, Linear, ... Linear: a multilayer perceptron returning logits.

    ``sizes`` = [inputs, hidden..., outputs]. The weights are drawn from one stream, first
    layer first, so ``MLP([2, H, 2], seed=0)`` starts at ``reference.init_params(H, 0)``.
    With ``dropout`` > 0 a Dropout follows each hidden activation; the Dropouts share a
    stream of their own, seeded from the weight stream after every weight is drawn.
    ``activation`` is a name in ``ACTIVATIONS``, looked up as the MLP is built (so a name
    added by ``register_activation`` works), or a Module class; each hidden layer gets its
    own instance.

    >>> MLP([2, 3, 2], seed=0)
    MLP(
      (0): Linear(in_features=2, out_features=3)
      (1): Tanh()
      (2): Linear(in_features=3, out_features=2)
    )
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | type[Module] = "tanh",
        *,
        dropout: float = 0.0,
        seed: Seed = None,
    ) -> None:
        sizes = list(sizes)
        if len(sizes) < 2:
            raise ValueError(f"MLP needs at least [inputs, outputs] sizes, got {sizes}")
        module = _activation_module(activation)
        _drop_probability("dropout", dropout)
        rng = as_random_state(seed)
        linears = [Linear(n_in, n_out, seed=rng) for n_in, n_out in pairwise(sizes)]
        dropout_rng = None
        if dropout > 0.0:
            dropout_rng = np.random.RandomState(rng.randint(0, 2**32, dtype=np.int64))
        layers: list[Module] = []
        for linear in linears[:-1]:
            layers += [linear, module()]
            if dropout_rng is not None:
                layers.append(Dropout(dropout, seed=dropout_rng))
        layers.append(linears[-1])
        super().__init__(*layers)
        self.sizes = sizes
        self.activation = activation
        self.dropout = float(dropout)


def _activation_module(activation: str | type[Module]) -> type[Module]:
    """The Module class ``activation`` names (read from ``ACTIVATIONS`` now), or is."""
    if isinstance(activation, type) and issubclass(activation, Module):
        return _constructible(activation)
    if isinstance(activation, str) and activation in ACTIVATIONS:
        return ACTIVATIONS[activation]
    raise ValueError(
        f"activation must be one of {list(ACTIVATIONS)} (names registered with "
        f"nn.register_activation) or an nn.Module subclass, got {activation!r}"
    )


# ------------------------------------------------------------ layers for images and tokens
class Conv2d(Module):
    """torch's Conv2d over NCHW images (or one CHW image): weight (out, in / groups, kh, kw),
    bias (out,), both drawn uniform in +-1/sqrt(in / groups * kh * kw) as torch's default;
    ``padding`` as ``F.conv2d``'s, torch's 'same' and 'valid' included.

    >>> Conv2d(1, 4, 3, padding=1, seed=0)(np.ones((2, 1, 8, 8))).shape
    (2, 4, 8, 8)
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        *,
        bias: bool = True,
        seed: Seed = None,
    ) -> None:
        super().__init__()
        self.in_channels = whole("in_channels", in_channels)
        self.out_channels = whole("out_channels", out_channels)
        self.groups = whole("groups", groups)
        if self.in_channels % self.groups or self.out_channels % self.groups:
            raise ValueError(
                f"Conv2d's in_channels ({in_channels}) and out_channels ({out_channels}) "
                f"must be divisible by groups ({groups})"
            )
        kh, kw = (kernel_size, kernel_size) if isinstance(kernel_size, int) else kernel_size
        self.kernel_size = (whole("kernel_size", kh), whole("kernel_size", kw))
        flag("Conv2d's bias", bias)
        if isinstance(padding, str):  # refused now, as torch's, not at the first forward
            padding_word(padding, (stride, stride) if isinstance(stride, int) else tuple(stride))
        self.stride, self.padding, self.dilation = stride, padding, dilation
        rng = as_random_state(seed)
        fan_in = self.in_channels // self.groups * kh * kw
        bound = 1.0 / np.sqrt(fan_in)
        shape = (self.out_channels, self.in_channels // self.groups, kh, kw)
        self.weight = Tensor(rng.uniform(-bound, bound, size=shape), requires_grad=True)
        self.bias = (
            Tensor(rng.uniform(-bound, bound, size=self.out_channels), requires_grad=True)
            if bias
            else None
        )

    def forward(self, x: Any) -> Tensor:
        return F.conv2d(
            x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups
        )

    def extra_repr(self) -> str:
        shown = (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}"
        )
        return shown if self.bias is not None else f"{shown}, bias=False"


class MaxPool2d(Module):
    """``F.max_pool2d`` as a layer (stride defaults to the kernel size). ``ceil_mode`` is
    keyword-only: torch's fifth argument is ``return_indices``."""

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        dilation: Any = 1,
        *,
        ceil_mode: bool = False,
    ) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.dilation = dilation
        self.ceil_mode = flag("MaxPool2d's ceil_mode", ceil_mode)

    def forward(self, x: Any) -> Tensor:
        return F.max_pool2d(
            x, self.kernel_size, self.stride, self.padding, self.dilation, ceil_mode=self.ceil_mode
        )


class AvgPool2d(Module):
    """``F.avg_pool2d`` as a layer (stride defaults to the kernel size; zero padding counts
    in the mean unless ``count_include_pad=False``, as torch's). ``count_include_pad`` is
    keyword-only, as ``ceil_mode``: torch's fourth argument is ``ceil_mode``, which a habit
    would pass here."""

    def __init__(
        self,
        kernel_size: Any,
        stride: Any = None,
        padding: Any = 0,
        *,
        ceil_mode: bool = False,
        count_include_pad: bool = True,
    ) -> None:
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode = flag("AvgPool2d's ceil_mode", ceil_mode)
        self.count_include_pad = flag("AvgPool2d's count_include_pad", count_include_pad)

    def forward(self, x: Any) -> Tensor:
        return F.avg_pool2d(
            x,
            self.kernel_size,
            self.stride,
            self.padding,
            self.count_include_pad,
            ceil_mode=self.ceil_mode,
        )


class Flatten(Module):
    """The axes from ``start_axis`` (1: keep the batch) to ``end_axis`` as one, as torch's."""

    def __init__(self, start_axis: int = 1, end_axis: int = -1) -> None:
        super().__init__()
        self.start_axis, self.end_axis = start_axis, end_axis

    def forward(self, x: Any) -> Tensor:
        return F.flatten(x, self.start_axis, self.end_axis)


class _BatchNorm(Module):
    """Normalises each channel (axis 1) over the batch and the other axes, as torch's:
    training uses the batch's mean and biased variance and updates the buffers
    ``running_mean`` and ``running_var`` (unbiased) by ``momentum``; eval uses them.
    ``num_batches_tracked`` counts the training batches, as torch's; ``momentum=None`` is
    torch's cumulative average, the buffers the mean of every training batch's statistics.
    ``track_running_stats=False`` keeps no buffers (they are None) and uses the batch's
    statistics in eval mode too. ``weight`` (ones) and ``bias`` (zeros) scale and shift,
    with ``affine=True``."""

    ndims: tuple[int, ...] = ()

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
    ) -> None:
        super().__init__()
        self.num_features = whole("num_features", num_features)
        affine = flag(f"{type(self).__name__}'s affine", affine)
        tracking = flag(f"{type(self).__name__}'s track_running_stats", track_running_stats)
        self.track_running_stats = tracking
        self.eps = float(eps)
        self.momentum = None if momentum is None else float(momentum)
        if not (self.eps > 0.0 and 0.0 <= (0.0 if momentum is None else self.momentum) <= 1.0):
            raise ValueError(
                f"BatchNorm needs eps > 0 and momentum in [0, 1], got {eps}, {momentum}"
            )
        self.weight = Tensor(np.ones(num_features), requires_grad=True) if affine else None
        self.bias = Tensor(np.zeros(num_features), requires_grad=True) if affine else None
        if not tracking:
            self.running_mean = self.running_var = self.num_batches_tracked = None
            return
        self.register_buffer("running_mean", Tensor(np.zeros(num_features)))
        self.register_buffer("running_var", Tensor(np.ones(num_features)))
        self.register_buffer("num_batches_tracked", Tensor(np.zeros(())))

    def forward(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        if x.ndim not in self.ndims or x.shape[1] != self.num_features:
            raise ValueError(
                f"{type(self).__name__}({self.num_features}) takes inputs of "
                f"{' or '.join(f'{n}-D' for n in self.ndims)} with {self.num_features} "
                f"channels on axis 1; got shape {x.shape}"
            )
        axes = (0, *range(2, x.ndim))
        shape = (1, self.num_features) + (1,) * (x.ndim - 2)
        if self.training or not self.track_running_stats:
            count = x.size // self.num_features
            if count == 1:
                raise ValueError(
                    f"Expected more than 1 value per channel when training, got input size "
                    f"{x.shape}"
                )
            tracking = self.training and self.track_running_stats
            if count == 0:  # torch's: an empty output, the batch counted, no statistics
                if tracking:
                    with no_grad():
                        self.num_batches_tracked += 1.0
                mean, var = Tensor(np.zeros(shape)), Tensor(np.ones(shape))
            else:
                mean = x.mean(axis=axes, keepdims=True)
                var = x.var(axis=axes, keepdims=True)
                if tracking:
                    unbiased = var.data.reshape(-1) * (count / (count - 1))
                    self._track(mean.data.reshape(-1), unbiased)
        else:
            mean = self.running_mean.detach().reshape(shape)
            var = self.running_var.detach().reshape(shape)
        out = (x - mean) / (var + self.eps).sqrt()
        if self.weight is not None:
            out = out * self.weight.reshape(shape) + self.bias.reshape(shape)
        return out

    def _track(self, mean: np.ndarray, unbiased_var: np.ndarray) -> None:
        """Count the batch and move the running statistics towards its own, by momentum
        or (momentum=None) by 1/n for the n-th batch, the cumulative average."""
        with no_grad():
            self.num_batches_tracked += 1.0
            m = self.momentum
            if m is None:
                m = 1.0 / self.num_batches_tracked.item()
            self.running_mean *= 1.0 - m
            self.running_mean += m * mean
            self.running_var *= 1.0 - m
            self.running_var += m * unbiased_var

    def _optional_state(self) -> tuple[str, ...]:
        """The count, which states saved before it was kept with a numeric momentum lack:
        left as it is, as torch's load_state_dict leaves it for a dict without it."""
        return ("num_batches_tracked",) if self.track_running_stats else ()

    def extra_repr(self) -> str:
        shown = f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"
        return shown if self.track_running_stats else f"{shown}, track_running_stats=False"


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) inputs (see ``_BatchNorm``)."""

    ndims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) images, per channel (see ``_BatchNorm``)."""

    ndims = (4,)


class LayerNorm(Module):
    """Normalises over the last axes ``normalized_shape`` (biased variance, ``eps``), then
    scales by ``weight`` (ones) and shifts by ``bias`` (zeros), as torch's."""

    def __init__(
        self, normalized_shape: Any, eps: float = 1e-5, elementwise_affine: bool = True
    ) -> None:
        super().__init__()
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
        self.normalized_shape = tuple(whole("normalized_shape", n) for n in shape)
        self.eps = float(eps)
        affine = flag("LayerNorm's elementwise_affine", elementwise_affine)
        self.weight = Tensor(np.ones(self.normalized_shape), requires_grad=True) if affine else None
        self.bias = Tensor(np.zeros(self.normalized_shape), requires_grad=True) if affine else None

    def forward(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        k = len(self.normalized_shape)
        if x.shape[x.ndim - k :] != self.normalized_shape:
            raise ValueError(
                f"LayerNorm{self.normalized_shape} normalises the last axes of that shape; "
                f"got an input of shape {x.shape}"
            )
        axes = tuple(range(x.ndim - k, x.ndim))
        mean = x.mean(axis=axes, keepdims=True)
        out = (x - mean) / (x.var(axis=axes, keepdims=True) + self.eps).sqrt()
        if self.weight is not None:
            out = out * self.weight + self.bias
        return out

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}"


class Embedding(Module):
    """A lookup table: row i of ``weight`` (num_embeddings, embedding_dim), drawn N(0, 1)
    as torch's, for each integer index i; repeated indices add their gradients. The row
    ``padding_idx`` (negative: from the end), as torch's, starts as zeros and gets no
    gradient: it stays what it is set to.

    >>> Embedding(10, 3, seed=0)(np.array([[1, 2], [1, 9]])).shape
    (2, 2, 3)
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        *,
        seed: Seed = None,
    ) -> None:
        super().__init__()
        self.num_embeddings = whole("num_embeddings", num_embeddings)
        self.embedding_dim = whole("embedding_dim", embedding_dim)
        if padding_idx is not None:
            padding_idx = row_index("Embedding's padding_idx", padding_idx, num_embeddings)
        self.padding_idx = padding_idx
        rng = as_random_state(seed)
        weight = rng.randn(num_embeddings, embedding_dim)
        if padding_idx is not None:
            weight[padding_idx] = 0.0
        self.weight = Tensor(weight, requires_grad=True)

    def forward(self, indices: Any) -> Tensor:
        table = self.weight
        if self.padding_idx is not None:  # the padding row's values, through no gradient
            padding_row = np.arange(self.num_embeddings)[:, None] == self.padding_idx
            table = F.where(padding_row, table.detach(), table)
        # derived: a captured step reads (and checks) a Tensor's indices at every replay
        return table[derived(_embedding_rows, indices, self.num_embeddings)]

    def extra_repr(self) -> str:
        shown = f"{self.num_embeddings}, {self.embedding_dim}"
        return shown if self.padding_idx is None else f"{shown}, padding_idx={self.padding_idx}"


def _embedding_rows(indices: Any, count: int) -> np.ndarray:
    """Embedding's indices as integers in [0, count), checked."""
    raw = np.asarray(indices)
    if raw.dtype.kind == "f" and np.all(raw == np.floor(raw)):
        raw = raw.astype(np.int64)
    if raw.dtype.kind not in "iu":
        raise TypeError(f"Embedding takes integer indices, got dtype {raw.dtype}")
    bad = (raw < 0) | (raw >= count)
    if bad.any():
        raise ValueError(
            f"Embedding({count}, ...) takes indices in [0, {count}); got {raw[bad].flat[0]}"
        )
    return raw


# ---------------------------------------------------------------------- saving and loading
def _require_module(verb: str, module: Any) -> None:
    """A TypeError for what is not a Module, naming torch's habits: ``torch.save`` takes
    the state dict and ``torch.load`` the path first; ``nn.save`` and ``nn.load`` take the
    module first."""
    if isinstance(module, Module):
        return
    given = type(module).__name__
    if isinstance(module, dict):
        given += " (a state dict: pass the module itself, whose state_dict() is saved)"
    elif isinstance(module, (str, os.PathLike)):
        given += " (a path: the module comes first)"
    raise TypeError(f"nn.{verb}(module, path, ...) needs a Module first, got {given}")


def save(module: Module, path: str | os.PathLike, config: dict | None = None) -> None:
    """Write ``module.state_dict()`` (and ``config``, e.g. the architecture, as JSON text) to
    the .npz ``path``, whole or not at all (``checkpoint.write``)."""
    _require_module("save", module)
    checkpoint.write(path, module.state_dict(), config)


def load(module: Module, path: str | os.PathLike) -> None:
    """Load the state saved at ``path`` into ``module``: the file's names, dtypes and shapes
    are checked from its headers before any data is read (``checkpoint.read``); one
    ValueError lists every problem, and the module is unchanged, unless the file matches."""
    _require_module("load", module)
    expected = {name: tensor.shape for name, tensor in module._named_state(_STATE)}
    state, _, problems = checkpoint.read(path, expected, optional=module._optional_below())
    if problems:
        raise ValueError(
            f"cannot load {os.fspath(path)!r} into {type(module).__name__} (nothing was "
            f"changed), {checkpoint.summary(problems)}"
        )
    module.load_state_dict(state)


def load_config(path: str | os.PathLike) -> dict | None:
    """The config saved at ``path`` (None if saved without one), reading no other entry;
    a ValueError if the archive or the config is damaged."""
    _, config, problems = checkpoint.read(path)
    if problems:
        raise ValueError(f"cannot read {os.fspath(path)!r}: {checkpoint.summary(problems)}")
    return config


def __getattr__(name: str) -> Any:
    """PyTorch's names this module spells another way (``CrossEntropyLoss``, ``Parameter``, ...): an
    AttributeError naming ours (habits.py)."""
    raise habits.missing(__name__, name)
