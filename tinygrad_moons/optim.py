"""Optimisers with PyTorch's update formulas, learning-rate schedules, and scipy.optimize.

Each optimiser holds its parameters (Tensors), an ``lr`` that a schedule may change, and
per-parameter state; ``step()`` updates in place every parameter whose ``.grad`` is not
None, as ``torch.optim`` does. scipy is imported only inside ``minimize``.

>>> from tinygrad_moons import Tensor
>>> w = Tensor([1.0, -2.0], requires_grad=True)
>>> opt = SGD([w], lr=0.1)
>>> (w * w).sum().backward()
>>> opt.step()
>>> w.data
array([ 0.8, -1.6])
"""

from __future__ import annotations

import abc
import math
import operator
import warnings
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tinygrad_moons import habits
from tinygrad_moons.parameters import (
    FlatParameters,
    parameter_list,
    refuse_module,
    scalar_loss,
    zero_grads,
)
from tinygrad_moons.tensor import Tensor, written
from tinygrad_moons.validate import flag, number, whole

if TYPE_CHECKING:
    from scipy.optimize import OptimizeResult


class _GroupOption:
    """An optimiser's attribute that stands for one option of every parameter group, as
    ``opt.lr``: reading gives the groups' common value (a ValueError when they differ),
    setting checks the value and sets it in every group."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, optimizer: Optimizer | None, owner: type) -> Any:
        if optimizer is None:
            return self
        values = [group[self.name] for group in optimizer.param_groups]
        if any(value != values[0] for value in values[1:]):
            raise ValueError(
                f"the parameter groups have different {self.name} {values}: read each "
                f"group's, optimizer.param_groups[i][{self.name!r}]"
            )
        return values[0]

    def __set__(self, optimizer: Optimizer, value: Any) -> None:
        # Every group checked before any is changed.
        checked = [
            optimizer._check_options({**group, self.name: value})
            for group in optimizer.param_groups
        ]
        for group, options in zip(optimizer.param_groups, checked, strict=True):
            group[self.name] = options[self.name]


class Optimizer(abc.ABC, habits.RefusesTorchOptions):
    """Common machinery: parameter groups, per-parameter state, (de)serialising.

    ``params`` is an iterable of Tensors, or torch's parameter groups: a list of dicts,
    each with ``"params"`` and any of the optimiser's options (``lr`` and ``HYPER``), the
    options it leaves out taken from the constructor's arguments. ``param_groups`` holds
    them; ``lr`` and each hyperparameter read and set every group's. Subclasses define
    ``_update(theta, grad, state, group)`` for one parameter, list their hyperparameter
    names in ``HYPER`` and check them in ``_check_options``.
    """

    HYPER: tuple[str, ...] = ()
    lr = _GroupOption()

    def __init__(
        self, params: Iterable[Tensor] | Iterable[dict[str, Any]], **defaults: Any
    ) -> None:
        self.defaults = self._check_options(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self._states: list[list[dict[str, Any]]] = []  # per group, per parameter
        self._owners: list[list[Tensor]] = []  # per group, whose states _states holds
        self.steps = 0
        refuse_module(params)
        if isinstance(params, dict):
            raise TypeError(
                "the optimiser takes the parameters, or a list of parameter groups (dicts); "
                "got one dict: wrap it in a list"
            )
        groups = list(params) if not isinstance(params, Tensor) else [params]
        if groups and all(isinstance(group, dict) for group in groups):
            for group in groups:
                self.add_param_group(group)
        elif any(isinstance(group, dict) for group in groups):
            raise TypeError("the optimiser takes Tensors or parameter groups (dicts), not both")
        else:
            self.add_param_group({"params": groups})
        if not any(p.requires_grad for p in self.params):
            # Frozen parameters are let in (torch's habit), but an optimiser of nothing else
            # would never move anything.
            raise ValueError(
                "parameter 0 does not require grad, nor does any other: the optimiser would "
                "never move anything"
            )

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add a parameter group (a dict with ``"params"`` and any options), as torch's."""
        position = len(self.param_groups)
        if not isinstance(group, dict) or "params" not in group:
            raise TypeError(f"parameter group {position} must be a dict with 'params'")
        unknown = sorted(set(group) - {"params", "lr", *self.HYPER})
        if unknown:
            raise ValueError(
                f"parameter group {position} has options {unknown} that "
                f"{type(self).__name__} does not take; it takes {['lr', *self.HYPER]}"
            )
        params = parameter_list(group["params"], frozen=True)
        taken = {id(p) for p in self.params}
        if any(id(p) in taken for p in params):
            raise ValueError("some parameters appear in more than one parameter group")
        options = {key: value for key, value in group.items() if key != "params"}
        self.param_groups.append(
            {"params": params, **self._check_options({**self.defaults, **options})}
        )
        self._states.append([{} for _ in params])
        self._owners.append(list(params))

    def _follow_params(self) -> None:
        """The states follow the parameters when a group's ``"params"`` list was edited
        (a parameter replaced, added, removed or moved between groups), as torch's, whose
        states are keyed by parameter: each keeps its own state, a new one starts afresh.
        The edited lists are checked as the constructor checks them."""
        for group, owners in zip(self.param_groups, self._owners, strict=True):
            params = group["params"]  # speed: every step asks; a loop, not a generator
            if len(params) != len(owners) or not all(map(operator.is_, params, owners)):
                break
        else:
            return
        lists = [parameter_list(group["params"], frozen=True) for group in self.param_groups]
        if len({id(p) for params in lists for p in params}) != sum(map(len, lists)):
            raise ValueError("some parameters appear in more than one parameter group")
        old = {
            id(p): state
            for owners, states in zip(self._owners, self._states, strict=True)
            for p, state in zip(owners, states, strict=True)
        }
        for group, params in zip(self.param_groups, lists, strict=True):
            if not isinstance(group["params"], list):
                group["params"] = params
        self._states = [[old.get(id(p), {}) for p in params] for params in lists]
        self._owners = lists

    def _check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """``options`` checked and normalised (every key of ``lr`` and ``HYPER``)."""
        return {"lr": number("lr", options["lr"])}

    @property
    def params(self) -> list[Tensor]:
        """Every group's parameters, in order."""
        return [p for group in self.param_groups for p in group["params"]]

    @property
    def state(self) -> list[dict[str, Any]]:
        """Every parameter's state (a dict, empty before its first update), in the order of
        ``params``."""
        self._follow_params()
        return [state for states in self._states for state in states]

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Every parameter's ``.grad`` to None (or, ``set_to_none=False``, zeros in place)."""
        zero_grads([p for group in self.param_groups for p in group["params"]], set_to_none)

    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        self._follow_params()
        for group, states in zip(self.param_groups, self._states, strict=True):
            self._step_group(group, states)
        self.steps += 1
        # Each stepped parameter's version goes up: a backward through ops that saved the
        # old values is then an error, never a gradient of values that are gone.
        written(*[p for group in self.param_groups for p in group["params"] if p.grad is not None])

    def _step_group(self, group: dict[str, Any], states: list[dict[str, Any]]) -> None:
        for p, state in zip(group["params"], states, strict=True):
            if p.grad is not None:
                self._update(p.data, p.grad, state, group)

    @abc.abstractmethod
    def _update(
        self, theta: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        """Change ``theta`` in place by one step, given its gradient, its state and the
        options of its group."""

    def state_dict(self) -> dict[str, Any]:
        """Copies of every group's options (its parameters as positions in ``params``, as
        torch's), the step count and every parameter's state."""
        self._follow_params()
        groups, start = [], 0
        for group in self.param_groups:
            count = len(group["params"])
            options = {key: value for key, value in group.items() if key != "params"}
            groups.append({**options, "params": list(range(start, start + count))})
            start += count
        return {
            "param_groups": groups,
            "steps": self.steps,
            "state": [_copy_state(state) for state in self.state],
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what ``state_dict()`` gave (copied, so the dict stays the caller's): the
        groups' options and the parameters' states; the parameters stay this optimiser's."""
        self._follow_params()
        expected = {"param_groups", "steps", "state"}
        if not isinstance(state_dict, dict) or set(state_dict) != expected:
            given = sorted(state_dict) if isinstance(state_dict, dict) else type(state_dict)
            raise ValueError(
                f"{type(self).__name__}.load_state_dict needs the keys {sorted(expected)}, "
                f"got {given}"
            )
        groups = state_dict["param_groups"]
        sizes = [len(group["params"]) for group in self.param_groups]
        given_sizes = [len(group.get("params", ())) for group in groups]
        if given_sizes != sizes:
            raise ValueError(
                f"the state is for parameter groups of sizes {given_sizes}, this optimiser's "
                f"are {sizes}"
            )
        options = [
            self._check_options({key: v for key, v in group.items() if key != "params"})
            for group in groups
        ]
        states = state_dict["state"]
        if len(states) != len(self.params):
            raise ValueError(
                f"the state is for {len(states)} parameters, this optimiser has {len(self.params)}"
            )
        for position, (p, state) in enumerate(zip(self.params, states, strict=True)):
            for key, value in state.items():
                if isinstance(value, np.ndarray) and value.shape != p.shape:
                    raise ValueError(
                        f"state {key!r} of parameter {position} has shape {value.shape}, "
                        f"the parameter {p.shape}"
                    )
        for group, group_options in zip(self.param_groups, options, strict=True):
            group.update(group_options)
        self.steps = int(state_dict["steps"])
        copies = iter([_copy_state(state) for state in states])
        self._states = [[next(copies) for _ in group["params"]] for group in self.param_groups]
        self._owners = [list(group["params"]) for group in self.param_groups]


def _copy_state(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in state.items()}


class SGD(Optimizer):
    """Stochastic gradient descent as ``torch.optim.SGD`` (dampening 0):

    g = grad + weight_decay * theta
    b = g on the first step, else momentum * b + g          (when momentum != 0)
    g = g + momentum * b if nesterov else b
    theta = theta - lr * g

    each with its parameter group's options.
    """

    HYPER = ("momentum", "nesterov", "weight_decay")
    momentum = _GroupOption()
    nesterov = _GroupOption()
    weight_decay = _GroupOption()

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(
            params, lr=lr, momentum=momentum, nesterov=nesterov, weight_decay=weight_decay
        )

    def _check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        momentum = number("momentum", options["momentum"])
        nesterov = flag("SGD's nesterov", options["nesterov"])
        if nesterov and momentum == 0.0:
            raise ValueError("Nesterov momentum needs momentum > 0 (as in PyTorch)")
        return {
            **super()._check_options(options),
            "momentum": momentum,
            "nesterov": nesterov,
            "weight_decay": number("weight_decay", options["weight_decay"]),
        }

    def _step_group(self, group: dict[str, Any], states: list[dict[str, Any]]) -> None:
        if group["momentum"] or group["weight_decay"]:
            super()._step_group(group, states)
            return
        # Speed: plain SGD (fit's default) with no call per parameter; theta -= lr * grad is
        # _update's own expression for it, so the same bits.
        lr = group["lr"]
        for p in group["params"]:
            grad = p.grad
            if grad is not None:
                theta = p.data
                theta -= lr * grad

    def _update(
        self, theta: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        momentum, weight_decay = group["momentum"], group["weight_decay"]
        g = grad + weight_decay * theta if weight_decay else grad
        if momentum:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = np.array(g, copy=True)
            else:
                buffer *= momentum
                buffer += g
            g = g + momentum * buffer if group["nesterov"] else buffer
        theta -= group["lr"] * g


class Adam(Optimizer):
    """Adam as ``torch.optim.Adam`` (L2 weight decay added to the gradient, not AdamW):

        g = grad + weight_decay * theta
        m = beta1 m + (1 - beta1) g,        v = beta2 v + (1 - beta2) g^2
        theta = theta - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    with t the parameter's own step count, starting at 1, and its group's options.
    """

    HYPER = ("betas", "eps", "weight_decay")
    betas = _GroupOption()
    eps = _GroupOption()
    weight_decay = _GroupOption()

    def __init__(
        self,
        params: Iterable[Tensor] | Iterable[dict[str, Any]],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay)

    def _check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        beta1, beta2 = options["betas"]
        return {
            **super()._check_options(options),
            "betas": (
                number("beta1", beta1, high=1.0, high_open=True),
                number("beta2", beta2, high=1.0, high_open=True),
            ),
            "eps": number("eps", options["eps"]),
            "weight_decay": number("weight_decay", options["weight_decay"]),
        }

    def _update(
        self, theta: np.ndarray, grad: np.ndarray, state: dict[str, Any], group: dict[str, Any]
    ) -> None:
        beta1, beta2 = group["betas"]
        weight_decay = group["weight_decay"]
        g = grad + weight_decay * theta if weight_decay else grad
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(theta), exp_avg_sq=np.zeros_like(theta))
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1.0 - beta1) * g
        v *= beta2
        v += (1.0 - beta2) * g * g
        step_size = group["lr"] / (1.0 - beta1**t)
        denominator = np.sqrt(v) / math.sqrt(1.0 - beta2**t) + group["eps"]
        theta -= step_size * m / denominator


# ---------------------------------------------------------------------- schedules
class Schedule(abc.ABC):
    """Sets each parameter group's lr from its starting rate lr0 and the count t of
    ``step()`` calls, as torch's schedulers do with their ``base_lrs``.

    Step it after the optimiser (``fit`` does so once per epoch): after t calls a group
    that started at lr0 has the rate ``lr_at(t, lr0)``; before any, lr0. A rate set by
    anything else in between (a callback, a second schedule, ``load_state_dict``) is
    overwritten by the next step, with a UserWarning naming it (torch's ExponentialLR and
    StepLR would scale it instead): set ``base_lrs`` to change where the schedule starts.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = optimizer
        self.base_lrs = [group["lr"] for group in optimizer.param_groups]
        self.t = 0
        self._rates = list(self.base_lrs)  # what this schedule set last

    @property
    def lr0(self) -> float:
        """The starting rate of every group (a ValueError when they started apart)."""
        if any(lr0 != self.base_lrs[0] for lr0 in self.base_lrs[1:]):
            raise ValueError(
                f"the parameter groups started at different rates {self.base_lrs}: see base_lrs"
            )
        return self.base_lrs[0]

    @abc.abstractmethod
    def lr_at(self, t: int, lr0: float | None = None) -> float:
        """The learning rate after ``t`` steps of a group that started at ``lr0`` (by
        default, ``self.lr0``)."""

    @property
    def lr(self) -> float:
        return self.optimizer.lr

    def step(self) -> None:
        self.t += 1
        groups = self.optimizer.param_groups
        if len(groups) != len(self.base_lrs):
            raise ValueError(
                f"the optimiser has {len(groups)} parameter groups, the schedule was made for "
                f"{len(self.base_lrs)}: make the schedule after the last add_param_group"
            )
        rates = [self.lr_at(self.t, lr0) for lr0 in self.base_lrs]
        for i, (group, lr0, last, rate) in enumerate(
            zip(groups, self.base_lrs, self._rates, rates, strict=True)
        ):
            if group["lr"] != last:
                warnings.warn(
                    f"{type(self).__name__}: the lr of parameter group {i} was set to "
                    f"{group['lr']!r} since the schedule's last step, which sets it to "
                    f"{rate!r} from its starting rate {lr0!r}: the schedule overwrites any "
                    f"other change (set base_lrs to change its start)",
                    UserWarning,
                    stacklevel=2,
                )
            group["lr"] = rate
        self._rates = rates


class InverseTimeDecay(Schedule):
    """lr = lr0 / (1 + k t): the write-up's annealing exercise.

    >>> from tinygrad_moons import Tensor
    >>> schedule = InverseTimeDecay(SGD([Tensor([0.0], requires_grad=True)], lr=1.0), k=1.0)
    >>> schedule.step(); schedule.lr
    0.5
    """

    def __init__(self, optimizer: Optimizer, k: float) -> None:
        super().__init__(optimizer)
        self.k = number("k", k)

    def lr_at(self, t: int, lr0: float | None = None) -> float:
        return (self.lr0 if lr0 is None else lr0) / (1.0 + self.k * t)


class StepDecay(Schedule):
    """lr = lr0 * gamma^floor(t / step_size), as ``torch.optim.lr_scheduler.StepLR``."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.step_size = whole("step_size", step_size)
        self.gamma = number("gamma", gamma)

    def lr_at(self, t: int, lr0: float | None = None) -> float:
        return (self.lr0 if lr0 is None else lr0) * self.gamma ** (t // self.step_size)


class ExponentialDecay(Schedule):
    """lr = lr0 * gamma^t, as ``torch.optim.lr_scheduler.ExponentialLR``."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer)
        self.gamma = number("gamma", gamma)

    def lr_at(self, t: int, lr0: float | None = None) -> float:
        return (self.lr0 if lr0 is None else lr0) * self.gamma**t


class CosineDecay(Schedule):
    """lr = lr_min + (lr0 - lr_min) (1 + cos(pi t / t_max)) / 2 up to t_max, then lr_min.

    The closed form of ``torch.optim.lr_scheduler.CosineAnnealingLR``, held at lr_min after
    t_max instead of rising again.
    """

    def __init__(self, optimizer: Optimizer, t_max: int, lr_min: float = 0.0) -> None:
        super().__init__(optimizer)
        self.t_max = whole("t_max", t_max)
        self.lr_min = number("lr_min", lr_min)

    def lr_at(self, t: int, lr0: float | None = None) -> float:
        if t >= self.t_max:
            return self.lr_min
        lr0 = self.lr0 if lr0 is None else lr0
        return self.lr_min + (lr0 - self.lr_min) * (1.0 + math.cos(math.pi * t / self.t_max)) / 2


# ---------------------------------------------------------------------- scipy.optimize
FIRST_ORDER_METHODS = ("CG", "BFGS", "L-BFGS-B", "TNC", "SLSQP", "trust-constr")
SECOND_ORDER_METHODS = {
    "Newton-CG": "hessp",
    "trust-ncg": "hessp",
    "trust-krylov": "hessp",
    "trust-exact": "hess",
    "dogleg": "hess",
}
"""scipy's second-order methods, each with what it is given from autodiff: Hessian-vector
products where it takes them, the full Hessian (n products) where it needs the matrix."""
GRADIENT_METHODS = FIRST_ORDER_METHODS + tuple(SECOND_ORDER_METHODS)


OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "adam": Adam}
"""The optimisers by the names the command line and the estimator take."""


def minimize(
    loss_fn: Callable[[], Tensor],
    params: Sequence[Tensor],
    method: str = "L-BFGS-B",
    *,
    tol: float | None = None,
    options: dict | None = None,
) -> OptimizeResult:
    """Minimise ``loss_fn()`` over ``params`` with ``scipy.optimize.minimize``.

    The parameters are flattened into one vector x; each evaluation writes x into them and
    returns the loss and its gradient from one forward and one backward (``jac=True``).
    The second-order methods (``SECOND_ORDER_METHODS``) also get the Hessian by autodiff:
    Newton-CG, trust-ncg and trust-krylov its products with vectors (``hessp``, one backward
    through the gradient's graph each), trust-exact and dogleg the matrix (``hess``, built
    from n products; dogleg needs it positive definite, as scipy says when it is not).
    The result's x is written back into the parameters; their ``.grad`` are left None.

    >>> from tinygrad_moons import Tensor
    >>> w = Tensor([3.0, -1.0], requires_grad=True)
    >>> result = minimize(lambda: ((w - 2.0) ** 2).sum(), [w], method="BFGS")
    >>> bool(result.success), w.data.round(6)
    (True, array([2., 2.]))
    >>> result = minimize(lambda: ((w - 1.0) ** 4).sum() + (w * w).sum(), [w], "trust-exact")
    >>> bool(result.success), w.data.round(6)
    (True, array([0.410245, 0.410245]))
    """
    import scipy.optimize

    from tinygrad_moons import curvature

    params = parameter_list(params)
    known = {name.lower(): name for name in GRADIENT_METHODS}
    if method.lower() not in known:
        raise ValueError(
            f"method must be one of scipy's gradient methods {GRADIENT_METHODS}, got {method!r}"
        )
    method = known[method.lower()]
    flat = FlatParameters(params)
    at: dict[str, Any] = {"written": None, "x": None, "hessian": None}

    def write(x: np.ndarray) -> None:
        """x into the parameters, unless they hold it already. A write bumps their versions
        (a backward through ops that saved the old values raises), so the Hessian made at
        the last point is made again."""
        if at["written"] is None or not np.array_equal(at["written"], x):
            flat.write(x)
            at["written"] = np.array(x, dtype=np.float64)
            at["x"] = at["hessian"] = None

    def loss_and_gradient(x: np.ndarray) -> tuple[float, np.ndarray]:
        write(x)
        for p in params:
            p.grad = None
        loss = scalar_loss(loss_fn)
        loss.backward()
        return loss.item(), flat.join([p.grad for p in params])

    def hessian_at(x: np.ndarray) -> Any:
        """The Hessian operator at x, made once per point scipy asks about."""
        write(x)
        if at["x"] is None or not np.array_equal(at["x"], x):
            at["hessian"] = curvature.hessian_operator(loss_fn, params)
            at["x"] = np.array(x, dtype=np.float64)
        return at["hessian"]

    second_order = {}
    if SECOND_ORDER_METHODS.get(method) == "hessp":
        second_order["hessp"] = lambda x, vector: hessian_at(x).matvec(vector)
    elif SECOND_ORDER_METHODS.get(method) == "hess":
        second_order["hess"] = lambda x: curvature.hessian_matrix(hessian_at(x))
    result = scipy.optimize.minimize(
        loss_and_gradient,
        flat.vector(),
        jac=True,
        method=method,
        tol=tol,
        options=options,
        **second_order,
    )
    flat.write(result.x)
    for p in params:
        p.grad = None
    return result


def __getattr__(name: str) -> Any:
    """PyTorch's names this module spells another way (``AdamW``, ``lr_scheduler``, ...): an
    AttributeError naming ours (habits.py)."""
    raise habits.missing(__name__, name)
