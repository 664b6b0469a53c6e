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
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from tinygrad_moons.tensor import Tensor
from tinygrad_moons.validate import whole

if TYPE_CHECKING:
    from scipy.optimize import OptimizeResult


def _parameter_list(params: Iterable[Tensor]) -> list[Tensor]:
    if callable(getattr(params, "parameters", None)):
        raise TypeError(
            f"the optimiser takes the parameters, not the {type(params).__name__} itself: "
            f"pass model.parameters()"
        )
    if isinstance(params, Tensor):
        params = [params]
    params = list(params)
    if not params:
        raise ValueError("the optimiser got an empty list of parameters")
    seen: set[int] = set()
    for position, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"parameter {position} is a {type(p).__name__}, not a Tensor")
        if not p.requires_grad:
            raise ValueError(f"parameter {position} does not require grad: it would never move")
        if not p.is_leaf:
            raise ValueError(
                f"parameter {position} was made by an op ({type(p._ctx).__name__}): only "
                f"a leaf tensor can be optimised, as in torch (use the tensor it was made from)"
            )
        if id(p) in seen:
            raise ValueError(f"parameter {position} appears twice in the list")
        seen.add(id(p))
    return params


def _check_hyper(name: str, value: float, low: float = 0.0, high: float = math.inf) -> float:
    value = float(value)
    if not low <= value < high:
        raise ValueError(f"{name} must lie in [{low}, {high}), got {value!r}")
    return value


class Optimizer(abc.ABC):
    """Common machinery: the parameter list, ``lr``, per-parameter state, (de)serialising.

    Subclasses define ``_update(param, grad, state)`` for one parameter and list their
    hyperparameter names in ``HYPER``.
    """

    HYPER: tuple[str, ...] = ()

    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        self.params = _parameter_list(params)
        self.lr = _check_hyper("lr", lr)
        self.steps = 0
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    def zero_grad(self) -> None:
        """Set every parameter's ``.grad`` to None."""
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        for p, state in zip(self.params, self.state, strict=True):
            if p.grad is not None:
                self._update(p.data, p.grad, state)
        self.steps += 1

    @abc.abstractmethod
    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> None:
        """Change ``theta`` in place by one step, given its gradient and its state."""

    def state_dict(self) -> dict[str, Any]:
        """Copies of lr, the hyperparameters, the step count and every parameter's state."""
        return {
            "lr": self.lr,
            **{name: getattr(self, name) for name in self.HYPER},
            "steps": self.steps,
            "state": [_copy_state(state) for state in self.state],
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what ``state_dict()`` gave (copied, so the dict stays the caller's)."""
        expected = {"lr", "steps", "state", *self.HYPER}
        if set(state_dict) != expected:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict needs the keys {sorted(expected)}, "
                f"got {sorted(state_dict)}"
            )
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
        self.lr = float(state_dict["lr"])
        for name in self.HYPER:
            setattr(self, name, state_dict[name])
        self.steps = int(state_dict["steps"])
        self.state = [_copy_state(state) for state in states]


def _copy_state(state: dict[str, Any]) -> dict[str, Any]:
    return {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in state.items()}


class SGD(Optimizer):
    """Stochastic gradient descent as ``torch.optim.SGD`` (dampening 0):

    g = grad + weight_decay * theta
    b = g on the first step, else momentum * b + g          (when momentum != 0)
    g = g + momentum * b if nesterov else b
    theta = theta - lr * g
    """

    HYPER = ("momentum", "nesterov", "weight_decay")

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        self.momentum = _check_hyper("momentum", momentum)
        self.weight_decay = _check_hyper("weight_decay", weight_decay)
        if nesterov and self.momentum == 0.0:
            raise ValueError("Nesterov momentum needs momentum > 0 (as in PyTorch)")
        self.nesterov = bool(nesterov)

    def step(self) -> None:
        """One update of every parameter that has a gradient."""
        if self.momentum or self.weight_decay:
            super().step()
            return
        # Speed: plain SGD (fit's default) with no call per parameter; theta -= lr * grad is
        # _update's own expression for it, so the same bits.
        lr = self.lr
        for p in self.params:
            grad = p.grad
            if grad is not None:
                theta = p.data
                theta -= lr * grad
        self.steps += 1

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> None:
        g = grad + self.weight_decay * theta if self.weight_decay else grad
        if self.momentum:
            buffer = state.get("momentum_buffer")
            if buffer is None:
                buffer = state["momentum_buffer"] = np.array(g, copy=True)
            else:
                buffer *= self.momentum
                buffer += g
            g = g + self.momentum * buffer if self.nesterov else buffer
        theta -= self.lr * g


class Adam(Optimizer):
    """Adam as ``torch.optim.Adam`` (L2 weight decay added to the gradient, not AdamW):

        g = grad + weight_decay * theta
        m = beta1 m + (1 - beta1) g,        v = beta2 v + (1 - beta2) g^2
        theta = theta - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)

    with t the parameter's own step count, starting at 1.
    """

    HYPER = ("betas", "eps", "weight_decay")

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        beta1, beta2 = betas
        self.betas = (
            _check_hyper("beta1", beta1, high=1.0),
            _check_hyper("beta2", beta2, high=1.0),
        )
        self.eps = _check_hyper("eps", eps)
        self.weight_decay = _check_hyper("weight_decay", weight_decay)

    def _update(self, theta: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> None:
        beta1, beta2 = self.betas
        g = grad + self.weight_decay * theta if self.weight_decay else grad
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(theta), exp_avg_sq=np.zeros_like(theta))
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= beta1
        m += (1.0 - beta1) * g
        v *= beta2
        v += (1.0 - beta2) * g * g
        step_size = self.lr / (1.0 - beta1**t)
        denominator = np.sqrt(v) / math.sqrt(1.0 - beta2**t) + self.eps
        theta -= step_size * m / denominator


# ---------------------------------------------------------------------- schedules
class Schedule(abc.ABC):
    """Sets ``optimizer.lr`` from the starting rate lr0 and the count t of ``step()`` calls.

    Step it after the optimiser (``fit`` does so once per epoch): after t calls the
    optimiser's lr is ``lr_at(t)``; before any, it is lr0.
    """

    def __init__(self, optimizer: Optimizer) -> None:
        self.optimizer = optimizer
        self.lr0 = optimizer.lr
        self.t = 0

    @abc.abstractmethod
    def lr_at(self, t: int) -> float:
        """The learning rate after ``t`` steps."""

    @property
    def lr(self) -> float:
        return self.optimizer.lr

    def step(self) -> None:
        self.t += 1
        self.optimizer.lr = self.lr_at(self.t)


class InverseTimeDecay(Schedule):
    """lr = lr0 / (1 + k t): the write-up's annealing exercise.

    >>> from tinygrad_moons import Tensor
    >>> schedule = InverseTimeDecay(SGD([Tensor([0.0], requires_grad=True)], lr=1.0), k=1.0)
    >>> schedule.step(); schedule.lr
    0.5
    """

    def __init__(self, optimizer: Optimizer, k: float) -> None:
        super().__init__(optimizer)
        self.k = _check_hyper("k", k)

    def lr_at(self, t: int) -> float:
        return self.lr0 / (1.0 + self.k * t)


class StepDecay(Schedule):
    """lr = lr0 * gamma^floor(t / step_size), as ``torch.optim.lr_scheduler.StepLR``."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1) -> None:
        super().__init__(optimizer)
        self.step_size = whole("step_size", step_size)
        self.gamma = _check_hyper("gamma", gamma)

    def lr_at(self, t: int) -> float:
        return self.lr0 * self.gamma ** (t // self.step_size)


class ExponentialDecay(Schedule):
    """lr = lr0 * gamma^t, as ``torch.optim.lr_scheduler.ExponentialLR``."""

    def __init__(self, optimizer: Optimizer, gamma: float) -> None:
        super().__init__(optimizer)
        self.gamma = _check_hyper("gamma", gamma)

    def lr_at(self, t: int) -> float:
        return self.lr0 * self.gamma**t


class CosineDecay(Schedule):
    """lr = lr_min + (lr0 - lr_min) (1 + cos(pi t / t_max)) / 2 up to t_max, then lr_min.

    The closed form of ``torch.optim.lr_scheduler.CosineAnnealingLR``, held at lr_min after
    t_max instead of rising again.
    """

    def __init__(self, optimizer: Optimizer, t_max: int, lr_min: float = 0.0) -> None:
        super().__init__(optimizer)
        self.t_max = whole("t_max", t_max)
        self.lr_min = _check_hyper("lr_min", lr_min)

    def lr_at(self, t: int) -> float:
        if t >= self.t_max:
            return self.lr_min
        return (
            self.lr_min + (self.lr0 - self.lr_min) * (1.0 + math.cos(math.pi * t / self.t_max)) / 2
        )


# ---------------------------------------------------------------------- scipy.optimize
GRADIENT_METHODS = ("CG", "BFGS", "L-BFGS-B", "TNC", "SLSQP", "Newton-CG", "trust-constr")


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
    The result's x is written back into the parameters; their ``.grad`` are left None.

    >>> from tinygrad_moons import Tensor
    >>> w = Tensor([3.0, -1.0], requires_grad=True)
    >>> result = minimize(lambda: ((w - 2.0) ** 2).sum(), [w], method="BFGS")
    >>> bool(result.success), w.data.round(6)
    (True, array([2., 2.]))
    """
    import scipy.optimize

    params = _parameter_list(params)
    known = {name.lower(): name for name in GRADIENT_METHODS}
    if method.lower() not in known:
        raise ValueError(
            f"method must be one of scipy's gradient methods {GRADIENT_METHODS}, got {method!r}"
        )
    sizes = [p.data.size for p in params]
    ends = np.cumsum(sizes)[:-1]

    def write(x: np.ndarray) -> None:
        for p, piece in zip(params, np.split(x, ends), strict=True):
            p.data[...] = piece.reshape(p.shape)

    def loss_and_gradient(x: np.ndarray) -> tuple[float, np.ndarray]:
        write(x)
        for p in params:
            p.grad = None
        loss = loss_fn()
        if not isinstance(loss, Tensor) or loss.data.size != 1:
            raise ValueError(f"loss_fn must return a one-element Tensor, got {loss!r}")
        loss.backward()
        grads = [np.zeros(p.shape) if p.grad is None else p.grad for p in params]
        return loss.item(), np.concatenate([g.reshape(-1) for g in grads])

    x0 = np.concatenate([p.data.reshape(-1) for p in params])
    result = scipy.optimize.minimize(
        loss_and_gradient, x0, jac=True, method=known[method.lower()], tol=tol, options=options
    )
    write(result.x)
    for p in params:
        p.grad = None
    return result
