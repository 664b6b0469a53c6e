"""PyTorch's spellings that this library spells another way, and the refusals that say so.

A PyTorch user types ``t.view(3, 2)``, ``t.sum(dim=0)``, ``F.cross_entropy`` or
``optim.AdamW`` by habit. Each is refused with the exception Python would raise (an
AttributeError for a name, a TypeError for a keyword) and a message naming what was typed
and our spelling, never Python's bare "has no attribute". The tables below are the one
place these spellings live; the refusals are installed where the names would be looked up:

- ``TENSOR`` and ``MODULE``: attributes a Tensor or an nn.Module does not have, installed
  as class attributes whose lookup raises (``Refused``): ``hasattr`` is False,
  ``getattr(t, name, default)`` gives the default, and every other lookup costs what it
  did (a ``__getattr__`` would slow them all: CPython 3.11 does not specialise attribute
  loads on a class that has one);
- ``KEYWORDS``: torch's keywords of the reductions (and a few more), caught by a
  ``**torch_keywords`` parameter (empty, it costs an empty dict and one truth test, some
  20 ns a call) and refused by ``keywords``;
- ``MODULES``: names the package and its modules ``functional``, ``nn`` and ``optim`` do
  not have, refused by each one's ``__getattr__`` (PEP 562: called only for a missing
  name); calling the module ``tinygrad_moons.tensor`` as ``torch.tensor`` is refused by
  its class, ``TensorModule``;
- ``OPTIONS``: torch's options with nothing to write instead: constructor options of
  optimisers and layers, refused by the ``__new__`` of their base
  ``RefusesTorchOptions`` before ``__init__`` would run, and keywords such as
  ``retain_graph=`` and ``dtype=``, refused by ``keywords``.

Every refusal is a spelling: nothing here changes what a computation gives.

>>> keywords("Tensor.sum", {"dim": 0}, ("dim", "keepdim"))
Traceback (most recent call last):
...
TypeError: Tensor.sum() takes axis= (numpy's name), not torch's dim=
"""

from __future__ import annotations

import inspect
import types
from typing import Any

_NO_DEVICES = "every Tensor is float64 in main memory (numpy), with no devices"
_LEAVE_OUT = "leave it out: {}"


def _write(code: str) -> str:
    return f"write {code}"


# torch's Tensor attribute -> what to do here
TENSOR: dict[str, str] = {
    "view": _write("t.reshape(*shape) (a view of t wherever numpy's reshape is one)"),
    "t": _write("t.T (the axes reversed)"),
    "mT": _write("t.swapaxes(-2, -1)"),
    "permute": _write("t.transpose(*axes) (numpy's name)"),
    "unsqueeze": _write("t.expand_dims(axis) (numpy's name)"),
    "expand": _write("F.broadcast_to(t, shape)"),
    "dim": _write("t.ndim (numpy's name, an attribute)"),
    "numel": _write("t.size (numpy's name, an attribute: the number of elements)"),
    "pow": _write("t ** p"),
    "square": _write("t ** 2"),
    "neg": _write("-t"),
    "add": _write("t + other"),
    "sub": _write("t - other"),
    "mul": _write("t * other"),
    "div": _write("t / other"),
    "matmul": _write("t @ other"),
    "mm": _write("t @ other"),
    "clamp": _write("t.clip(low, high) (numpy's name; low or high may be None)"),
    "clamp_min": _write("t.clip(low, None)"),
    "clamp_max": _write("t.clip(None, high)"),
    "amax": _write("t.max(axis) (tied maxima share the gradient, as torch.amax)"),
    "amin": _write("t.min(axis) (tied minima share the gradient, as torch.amin)"),
    "softmax": _write("F.softmax(t, axis=-1)"),
    "log_softmax": _write("F.log_softmax(t, axis=-1)"),
    "norm": _write("(t * t).sum().sqrt() (the 2-norm)"),
    "masked_fill": _write("F.where(mask, value, t)"),
    "retain_grad": _write("tinygrad_moons.grad(output, t) (only leaves get .grad)"),
    "tolist": _write("t.numpy().tolist()"),
    "zero_": _write("t[...] = 0 inside with no_grad(): (torch's in-place rules)"),
    "fill_": _write("t[...] = value inside with no_grad(): (torch's in-place rules)"),
    "copy_": _write("t[...] = other inside with no_grad(): (torch's in-place rules)"),
    "add_": _write("t += other (torch's in-place rules)"),
    "sub_": _write("t -= other (torch's in-place rules)"),
    "mul_": _write("t *= other (torch's in-place rules)"),
    "div_": _write("t /= other (torch's in-place rules)"),
    "bool": _write("t != 0 (a boolean ndarray, as every comparison gives)"),
    "long": _write("t.numpy().astype(int) (a Tensor is always float64)"),
    "int": _write("t.numpy().astype(int) (a Tensor is always float64)"),
    "contiguous": _LEAVE_OUT.format("numpy keeps track of the memory layout"),
    "float": _LEAVE_OUT.format("a Tensor is always float64"),
    "double": _LEAVE_OUT.format("a Tensor is always float64"),
    "half": _LEAVE_OUT.format("a Tensor is always float64"),
    "type": _LEAVE_OUT.format("a Tensor is always float64"),
    "is_cuda": _LEAVE_OUT.format(_NO_DEVICES),
    "to": _LEAVE_OUT.format(_NO_DEVICES),
    "cpu": _LEAVE_OUT.format(_NO_DEVICES),
    "cuda": _LEAVE_OUT.format(_NO_DEVICES),
    "device": _LEAVE_OUT.format(_NO_DEVICES),
}

_PARAMETERS_FLOAT64 = "every parameter is float64 in main memory (numpy), with no devices"

# torch's nn.Module attribute -> what to do here
MODULE: dict[str, str] = {
    "to": _LEAVE_OUT.format(_PARAMETERS_FLOAT64),
    "cpu": _LEAVE_OUT.format(_PARAMETERS_FLOAT64),
    "cuda": _LEAVE_OUT.format(_PARAMETERS_FLOAT64),
    "float": _LEAVE_OUT.format(_PARAMETERS_FLOAT64),
    "double": _LEAVE_OUT.format(_PARAMETERS_FLOAT64),
    "requires_grad_": _write("for p in model.parameters(): p.requires_grad_(flag)"),
}

# torch's keyword of a reduction -> ours
KEYWORDS: dict[str, str] = {
    "dim": "axis= (numpy's name)",
    "keepdim": "keepdims=",
    "unbiased": "ddof= (ddof=1 for unbiased=True, ddof=0 for False)",
    "correction": "ddof= (numpy's name)",
    "start_dim": "start_axis=",
    "end_dim": "end_axis=",
    "negative_slope": "slope=",
    "gradient": "grad= (the gradient of the output)",
    "dims": "axis= (numpy's name)",
}

_LOSS_FUNCTIONS = "a function of F called on the outputs; there are no loss Modules"
_ACTIVATION = (
    "nn.register_activation(name, function), a function of Tensor operations (built in: "
    "tanh, sigmoid, relu, leaky_relu, softplus)"
)

# module -> {torch's name -> what to write here}
MODULES: dict[str, dict[str, str]] = {
    "tinygrad_moons": {
        "zeros": "Tensor(np.zeros(shape)) (numpy makes the array, Tensor copies it as float64)",
        "ones": "Tensor(np.ones(shape))",
        "randn": "Tensor(np.random.default_rng(seed).normal(size=shape))",
        "rand": "Tensor(np.random.default_rng(seed).random(shape))",
        "arange": "Tensor(np.arange(n))",
        "from_numpy": "Tensor(array) (a float64 copy: training never changes your array)",
        "manual_seed": (
            "the seed= argument of MLP, Dropout, fit and data (numpy's global random state "
            "is never used)"
        ),
        "cat": "F.concatenate(tensors, axis=0) (import tinygrad_moons.functional as F)",
        "stack": "F.stack(tensors, axis=0) (import tinygrad_moons.functional as F)",
        "inference_mode": "no_grad()",
        "zeros_like": "Tensor(np.zeros(t.shape))",
        "ones_like": "Tensor(np.ones(t.shape))",
        "save": "nn.save(model, path) (an .npz file; the optimiser's state_dict() is a dict)",
        "load": "nn.load(model, path)",
        "float32": _LEAVE_OUT.format("every Tensor is float64"),
        "float64": _LEAVE_OUT.format("every Tensor is float64"),
        "device": _LEAVE_OUT.format(_NO_DEVICES),
        "cuda": _LEAVE_OUT.format(_NO_DEVICES),
    },
    "tinygrad_moons.functional": {
        "cross_entropy": 'F.softmax_cross_entropy(logits, labels, reduction="mean")',
        "nll_loss": (
            "F.softmax_cross_entropy(logits, labels) on the logits (it takes the "
            "log_softmax itself)"
        ),
        "mse_loss": 'F.mse(pred, target, reduction="mean")',
        "binary_cross_entropy": (
            "F.binary_cross_entropy_with_logits(logits, targets) on the logits, not on "
            "probabilities"
        ),
        "l1_loss": "(pred - target).abs().mean()",
        "cat": "F.concatenate(tensors, axis=0) (numpy's name)",
        "clamp": "F.clip(x, low, high) (numpy's name)",
        "dropout": "nn.Dropout(p), a Module (it follows train() and eval())",
        "one_hot": "np.eye(n_classes)[labels]",
        "gelu": _ACTIVATION,
        "silu": _ACTIVATION,
        "elu": _ACTIVATION,
    },
    "tinygrad_moons.nn": {
        "CrossEntropyLoss": f"F.softmax_cross_entropy(logits, labels), {_LOSS_FUNCTIONS}",
        "NLLLoss": f"F.softmax_cross_entropy(logits, labels), {_LOSS_FUNCTIONS}",
        "MSELoss": f"F.mse(pred, target), {_LOSS_FUNCTIONS}",
        "BCEWithLogitsLoss": (
            f"F.binary_cross_entropy_with_logits(logits, targets), {_LOSS_FUNCTIONS}"
        ),
        "Parameter": (
            "Tensor(data, requires_grad=True): assigned to a Module's attribute it is a parameter"
        ),
        "functional": "tinygrad_moons.functional (import tinygrad_moons.functional as F)",
        "Softmax": "F.softmax(x, axis=-1) in forward",
        "LogSoftmax": "F.log_softmax(x, axis=-1) in forward",
        "GELU": _ACTIVATION,
        "SiLU": _ACTIVATION,
        "ELU": _ACTIVATION,
    },
    "tinygrad_moons.optim": {
        "AdamW": (
            "Adam(params, weight_decay=...), torch's Adam: the decay is added to the "
            "gradient (L2), not decoupled as AdamW's"
        ),
        "RMSprop": "Adam or SGD(params, lr, momentum=...)",
        "Adagrad": "Adam or SGD(params, lr, momentum=...)",
        "LBFGS": 'optim.minimize(loss_fn, params, method="L-BFGS-B") (scipy\'s)',
        "lr_scheduler": "the schedules StepDecay, ExponentialDecay, CosineDecay, InverseTimeDecay",
    },
}

_SWITCH = "leave it out: a switch between PyTorch's implementations (numpy has one)"

# torch's constructor option -> why it is not taken (for optimisers and layers)
_PADDING_MODE = (
    "leave it out: Conv2d pads with zeros; pad x first, F.pad(x, ((0, 0), (0, 0), (p, p), "
    "(p, p)), mode=...) ('reflect'; 'edge' for torch's 'replicate', 'wrap' for 'circular'), "
    "and give padding=0"
)
_NO_RENORM = "Embedding never renormalises its rows (rescale weight's rows under no_grad())"

OPTIONS: dict[str, str] = {
    "amsgrad": "leave it out: Adam is torch's with amsgrad=False (no AMSGrad variant)",
    "dampening": "leave it out: SGD is torch's with dampening=0",
    "maximize": "the optimisers minimise: negate the loss to maximise",
    "foreach": _SWITCH,
    "fused": _SWITCH,
    "capturable": _SWITCH,
    "differentiable": _SWITCH,
    "inplace": "leave it out: layers never write into their input",
    "negative_slope": "write slope= (LeakyReLU's name for it)",
    "start_dim": "write start_axis= (Flatten's name for it)",
    "end_dim": "write end_axis= (Flatten's name for it)",
    "device": _LEAVE_OUT.format(_NO_DEVICES),
    "dtype": _LEAVE_OUT.format("every Tensor is float64"),
    "descending": _write("t.sort(axis).flip(axis) (ascending, then reversed)"),
    "retain_graph": _LEAVE_OUT.format("the graph is always kept (walking it again adds again)"),
    "padding_mode": _PADDING_MODE,
    "return_indices": _LEAVE_OUT.format("the pools give the values alone"),
    "divisor_override": _write("F.avg_pool2d(x, k, s, p) * (kh * kw / divisor) (the sums)"),
    "max_norm": _LEAVE_OUT.format(_NO_RENORM),
    "norm_type": _LEAVE_OUT.format(_NO_RENORM),
    "scale_grad_by_freq": _LEAVE_OUT.format("repeated indices add their gradients, unscaled"),
    "sparse": _LEAVE_OUT.format("gradients are dense arrays"),
    "_weight": _write("emb.weight.data[...] = values under no_grad() once it is made"),
    "_freeze": _write("emb.weight.requires_grad_(False)"),
}


class Refused:
    """A class attribute standing for torch's name ``name``: looking it up, on the class or
    an instance, raises the AttributeError saying what to do instead (``advice``). It has
    no ``__set__``, so an instance may still assign the name (a Module's ``self.device =``).
    """

    def __init__(self, name: str, advice: str) -> None:
        self.name, self.advice = name, advice
        self.__doc__ = f"PyTorch's name, refused: {advice}."

    def __get__(self, instance: Any, owner: type | None = None) -> Any:
        cls = owner if instance is None else type(instance)
        raise AttributeError(
            f"{cls.__name__} has no attribute {self.name!r} (PyTorch's name): {self.advice}"
        )


def refuse_attributes(cls: type, table: dict[str, str]) -> None:
    """Install a ``Refused`` on ``cls`` for each name of ``table`` that ``cls`` does not
    have (one it has, it keeps: tests check the tables name none)."""
    for name, advice in table.items():
        if not hasattr(cls, name):
            setattr(cls, name, Refused(name, advice))


class Size(int):
    """``t.size``: numpy's number of elements, an int, that refuses being called as torch's
    ``t.size()`` (the shape there) with a TypeError naming ``t.shape``."""

    __slots__ = ()

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            f"Tensor.size is numpy's attribute, the number of elements ({int(self)}), not "
            f"torch's method: write t.shape for t.size(), t.shape[d] for t.size(d)"
        )

    def __reduce__(self) -> tuple[type, tuple[int]]:
        return int, (int(self),)  # pickled and copied as a plain int


class TensorModule(types.ModuleType):
    """The class of the module ``tinygrad_moons.tensor``: calling the module, as torch's
    ``torch.tensor(data)``, is the TypeError naming ``Tensor(data)``."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(
            "tinygrad_moons.tensor is a module, not torch.tensor: write Tensor(data, "
            "requires_grad=False) (from tinygrad_moons import Tensor; it copies the data as "
            "float64)"
        )


def keywords(
    function: str, given: dict[str, Any], torch_names: tuple[str, ...], note: str = ""
) -> None:
    """Refuse ``given``, what a function's ``**torch_keywords`` caught: a TypeError naming,
    for each of torch's keywords (``torch_names``), ours (``KEYWORDS``) or why there is
    none (``OPTIONS``), with ``note`` added; any other keyword is Python's own TypeError."""
    for name in given:
        if name not in torch_names:
            raise TypeError(f"{function}() got an unexpected keyword argument {name!r}")
    parts = [
        f"{KEYWORDS[name]}, not torch's {name}="
        if name in KEYWORDS
        else f"no {name}= (PyTorch's option): {OPTIONS[name]}"
        for name in given
    ]
    raise TypeError(f"{function}() takes " + "; ".join(parts) + note)


def missing(module: str, name: str) -> AttributeError:
    """The AttributeError for ``module``'s ``__getattr__``: naming our spelling when
    ``name`` is torch's, else Python's own message."""
    advice = MODULES[module].get(name)
    if advice is None:
        return AttributeError(f"module {module!r} has no attribute {name!r}")
    verb = "" if advice.startswith(_LEAVE_OUT.format("")) else "use "
    return AttributeError(f"{module} has no {name} (PyTorch's name): {verb}{advice}")


class RefusesTorchOptions:
    """A base of ``nn.Module`` and ``optim.Optimizer``: a construction given one of torch's
    options (``OPTIONS``) that the class's ``__init__`` does not take is the TypeError
    saying why, before ``__init__`` runs. It comes after them in their MRO, so their own
    ``__init__`` gives their signature (``inspect.signature`` takes the first class in
    the MRO that defines ``__new__`` or ``__init__``)."""

    __slots__ = ()

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        if kwargs:
            options(cls, kwargs)
        return super().__new__(cls)


def options(cls: type, given: dict[str, Any]) -> None:
    """Refuse torch's constructor options in ``given`` that ``cls.__init__`` does not take
    (a TypeError naming each and why); a user's class taking one of these names keeps it.
    Called only when keywords are given."""
    torch_only = [name for name in given if name in OPTIONS]
    if not torch_only:
        return
    taken = inspect.signature(cls.__init__).parameters
    if any(p.kind is p.VAR_KEYWORD for p in taken.values()):
        return
    refused = [name for name in torch_only if name not in taken]
    if refused:
        reasons = "; ".join(f"no {name}= (PyTorch's option): {OPTIONS[name]}" for name in refused)
        raise TypeError(f"{cls.__name__}() takes {reasons}")
