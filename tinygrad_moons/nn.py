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

Saving and loading (``save``, ``load``, ``load_config``) live in ``checkpoint.py`` and are
re-exported here; checkpoint needs only a module's state methods and does not import nn.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Collection, Iterator, Sequence
from itertools import pairwise
from typing import Any

import numpy as np

import tinygrad_moons.functional as F
from tinygrad_moons.checkpoint import load, load_config, save
from tinygrad_moons.seeding import Seed, as_random_state
from tinygrad_moons.tensor import Tensor
from tinygrad_moons.validate import whole

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "Dropout",
    "Identity",
    "LeakyReLU",
    "Linear",
    "Module",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softplus",
    "Tanh",
    "as_random_state",
    "load",
    "load_config",
    "register_activation",
    "save",
]


def _refuse_hidden_parts(module: Module, name: str, value: Any) -> None:
    """A TypeError for a list, tuple or dict holding Modules or parameters: they would not
    be registered, so their parameters would be missing from ``parameters()`` (never
    trained) and from ``state_dict()`` (never saved), silently."""
    if isinstance(value, dict):
        parts = list(value.values())
    elif isinstance(value, (list, tuple)):
        parts = list(value)
    else:
        return
    hidden = [
        part
        for part in parts
        if isinstance(part, Module) or (isinstance(part, Tensor) and part.requires_grad)
    ]
    if hidden:
        raise TypeError(
            f"{type(module).__name__}.{name} is a {type(value).__name__} holding "
            f"{type(hidden[0]).__name__}s: their parameters would not be registered (not "
            f"trained, not saved). Assign nn.Sequential(*modules), or each to its own attribute"
        )


class Module:
    """Base class: assign parameters (Tensors) and submodules to attributes; define forward.

    Parameters are the registered Tensors with ``requires_grad``; a Tensor shared by two
    attributes is listed once, under its first name (PyTorch does the same).
    """

    def __init__(self) -> None:
        object.__setattr__(self, "_registered", {})
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        registered = self.__dict__.get("_registered")
        if registered is None:
            raise AttributeError(
                f"{type(self).__name__}.__init__ must call super().__init__() before "
                f"assigning attributes (assigning {name!r})"
            )
        if isinstance(value, (Tensor, Module)):
            registered[name] = None  # a re-assigned name keeps its place in the order
        else:
            _refuse_hidden_parts(self, name, value)
            registered.pop(name, None)
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._registered.pop(name, None)
        object.__delattr__(self, name)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        forward = getattr(self, "forward", None)
        if forward is None:
            raise TypeError(f"{type(self).__name__} is a Module without a forward method")
        return forward(*args, **kwargs)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct submodules, in registration order."""
        for name in self._registered:
            value = self.__dict__[name]
            if isinstance(value, Module):
                yield name, value

    def modules(self) -> Iterator[Module]:
        """This module, then every submodule, depth first in registration order."""
        yield self
        for _, child in self.named_children():
            yield from child.modules()

    def named_parameters(self) -> Iterator[tuple[str, Tensor]]:
        """(dotted name, Tensor) for every parameter, in registration order."""
        seen: set[int] = set()
        for name, tensor in self._named_tensors(""):
            if tensor.requires_grad and id(tensor) not in seen:
                seen.add(id(tensor))
                yield name, tensor

    def _named_tensors(self, prefix: str) -> Iterator[tuple[str, Tensor]]:
        for name in self._registered:
            value = self.__dict__[name]
            if isinstance(value, Module):
                yield from value._named_tensors(f"{prefix}{name}.")
            else:
                yield f"{prefix}{name}", value

    def parameters(self) -> list[Tensor]:
        """The parameters, in registration order (a Linear: weight, then bias)."""
        return [tensor for _, tensor in self.named_parameters()]

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to None."""
        for tensor in self.parameters():
            tensor.grad = None

    # ------------------------------------------------------------------ modes
    def train(self, mode: bool = True) -> Module:
        """Set ``.training`` on this module and every submodule; returns self."""
        if not isinstance(mode, (bool, np.bool_)):
            # bool("eval") is True: a string or a number would set training mode silently.
            raise TypeError(f"train(mode) takes True or False, got {mode!r}")
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
        return self

    def eval(self) -> Module:
        """``train(False)``: Dropout becomes the identity."""
        return self.train(False)

    # ------------------------------------------------------------------ state
    def state_dict(self) -> dict[str, np.ndarray]:
        """Parameter name -> a copy of its array, in registration order."""
        return {name: tensor.data.copy() for name, tensor in self.named_parameters()}

    def state_problems(
        self, state: dict[str, Any], *, unreadable: Collection[str] = ()
    ) -> list[str]:
        """What keeps ``state`` from loading: missing, unexpected, mis-shaped and non-finite.

        Names in ``unreadable`` (entries a file holds but could not give) are neither
        missing nor checked for shape.
        """
        own = dict(self.named_parameters())
        problems = [
            f"missing: {name!r}" for name in own if name not in state and name not in unreadable
        ]
        given = list(state) + [name for name in unreadable if name not in state]
        problems += [f"unexpected: {name!r}" for name in given if name not in own]
        for name, tensor in own.items():
            if name not in state:
                continue
            value = np.asarray(state[name])
            if value.dtype.kind not in "biuf":
                problems.append(f"not real numbers: {name!r} has dtype {value.dtype}")
            elif value.shape != tensor.shape:
                transposed = value.ndim == 2 and value.shape == tensor.shape[::-1]
                problems.append(
                    f"mis-shaped: {name!r} is {value.shape}, the module's is {tensor.shape}"
                    + (
                        " (transposed: a Linear's weight is (in, out), torch's (out, in))"
                        if transposed
                        else ""
                    )
                )
            elif not np.all(np.isfinite(value)):
                index = tuple(int(i) for i in np.argwhere(~np.isfinite(value))[0])
                problems.append(f"not finite: {name!r} holds {value[index]} at index {index}")
        return problems

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Copy ``state``'s arrays into the parameters of the same names.

        Every name must match, every shape agree and every value be finite; otherwise one
        ValueError lists all that is missing, unexpected, mis-shaped or not finite, and
        nothing is changed.
        """
        problems = self.state_problems(state)
        if problems:
            raise ValueError(
                f"cannot load the state into {type(self).__name__} ({len(problems)} "
                f"problem(s), nothing was changed):\n  " + "\n  ".join(problems)
            )
        for name, tensor in self.named_parameters():
            tensor.data[...] = np.asarray(state[name], dtype=np.float64)

    # ------------------------------------------------------------------ repr
    def extra_repr(self) -> str:
        """The arguments shown inside this module's repr."""
        return ""

    def __repr__(self) -> str:
        children = list(self.named_children())
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = [f"{type(self).__name__}("]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        lines.append(")")
        return "\n".join(lines)


class Linear(Module):
    """y = x @ weight + bias, weight (in, out) drawn randn(in, out) / sqrt(in), bias zeros.

    The write-up's orientation: transposed from PyTorch's ``nn.Linear``.

    >>> Linear(2, 3, seed=0)(np.ones((4, 2))).shape
    (4, 3)
    """

    def __init__(self, in_features: int, out_features: int, *, seed: Seed = None) -> None:
        super().__init__()
        self.in_features = whole("in_features", in_features)
        self.out_features = whole("out_features", out_features)
        rng = as_random_state(seed)
        weight = rng.randn(self.in_features, self.out_features) / np.sqrt(self.in_features)
        self.weight = Tensor(weight, requires_grad=True)
        self.bias = Tensor(np.zeros(self.out_features), requires_grad=True)

    def forward(self, x: Any) -> Tensor:
        # The one check of the input's width: an MLP's first Linear is the model's edge.
        shape = x.shape if isinstance(x, (Tensor, np.ndarray)) else np.shape(x)
        if not shape or shape[-1] != self.in_features:
            raise ValueError(
                f"{self!r} takes inputs of {self.in_features} features (the last axis); "
                f"got shape {shape}"
            )
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}"


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
    """ln(1 + e^x)."""

    def forward(self, x: Any) -> Tensor:
        return F.softplus(x)


class Identity(Module):
    """x unchanged: with it, an MLP's hidden layers are linear (the model is a linear one)."""

    def forward(self, x: Any) -> Tensor:
        return x if isinstance(x, Tensor) else Tensor(x)


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
        if not 0.0 <= p < 1.0:
            raise ValueError(f"Dropout's p must lie in [0, 1), got {p!r}")
        self.p = float(p)
        self.rng = as_random_state(seed)

    def forward(self, x: Any) -> Tensor:
        x = x if isinstance(x, Tensor) else Tensor(x)
        if not self.training or self.p == 0.0:
            return x
        keep = self.rng.random_sample(x.shape) >= self.p
        return x * (keep / (1.0 - self.p))

    def extra_repr(self) -> str:
        return f"p={self.p}"


class Sequential(Module):
    """Modules applied in order; they are named "0", "1", ... (parameters "0.weight", ...)."""

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for index, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(
                    f"Sequential takes Modules; argument {index} is {type(module).__name__}"
                )
            setattr(self, str(index), module)

    def forward(self, x: Any) -> Any:
        for _, module in self.named_children():
            x = module(x)
        return x

    def __getitem__(self, index: int | slice) -> Module:
        """The module at ``index``; a slice is a Sequential of those modules (shared, not
        copied), as torch's."""
        modules = [module for _, module in self.named_children()]
        if isinstance(index, slice):
            return Sequential(*modules[index])
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise TypeError(f"Sequential indices are ints or slices, not {type(index).__name__}")
        return modules[index]

    def __len__(self) -> int:
        return sum(1 for _ in self.named_children())

    def __iter__(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module


# ---------------------------------------------------------------------- activations by name
ACTIVATIONS: dict[str, type[Module]] = {}
"""The one registry of activations by name: MLP, the command line and the estimator read it.
Add to it with ``register_activation``, never by assignment."""


def _wrap(name: str, function: Callable[[Tensor], Tensor]) -> type[Module]:
    """A Module class whose forward is ``function``, named after ``name`` ("my_act": MyAct)."""

    def forward(self: Module, x: Any) -> Tensor:
        out = function(x)
        if not isinstance(out, Tensor):
            raise TypeError(f"activation {name!r} must return a Tensor, got {type(out).__name__}")
        return out

    class_name = "".join(part.capitalize() for part in name.split("_")) or "Activation"
    attributes = {
        "forward": forward,
        "__doc__": function.__doc__,
        "__module__": function.__module__,
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
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"dropout must lie in [0, 1), got {dropout!r}")
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
