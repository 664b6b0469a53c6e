"""Parameters as optimisers and scipy see them: a checked list of leaf Tensors, and one
flat vector standing for all of them (``optim.minimize`` and ``curvature`` work on it).

>>> from tinygrad_moons import Tensor
>>> W, b = Tensor([[1.0, 2.0]], requires_grad=True), Tensor([3.0], requires_grad=True)
>>> flat = FlatParameters(parameter_list([W, b]))
>>> flat.vector()
array([1., 2., 3.])
>>> [piece.shape for piece in flat.split(flat.vector())]
[(1, 2), (1,)]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from tinygrad_moons.tensor import Tensor, written
from tinygrad_moons.validate import flag


def refuse_module(params: Any, taker: str = "the optimiser") -> None:
    """A TypeError when ``params`` is a Module rather than its parameters."""
    if callable(getattr(params, "parameters", None)):
        raise TypeError(
            f"{taker} takes the parameters, not the {type(params).__name__} itself: "
            f"pass model.parameters()"
        )


def zero_grads(tensors: Iterable[Tensor], set_to_none: bool = True) -> None:
    """Each tensor's ``.grad`` set to None or, with ``set_to_none=False``, filled with zeros in
    place where it has one (torch's ``zero_grad``: an array kept from ``.grad`` sees the zeros)."""
    if set_to_none is True or flag("zero_grad's set_to_none", set_to_none):
        for tensor in tensors:
            tensor.grad = None
        return
    for tensor in tensors:
        grad = tensor.grad
        if grad is not None and grad.flags.writeable:
            grad.fill(0.0)
        elif grad is not None:
            tensor.grad = np.zeros_like(grad)


def parameter_list(
    params: Iterable[Tensor], *, frozen: bool = False, taker: str = "the optimiser"
) -> list[Tensor]:
    """``params`` as a list of distinct leaf Tensors. With ``frozen``, tensors that do not
    require grad may be among them (torch's optimisers take a model's frozen parameters and
    leave them be), as long as one does. ``taker`` names the caller in the messages."""
    refuse_module(params, taker)
    if isinstance(params, Tensor):
        params = [params]
    params = list(params)
    if not params:
        raise ValueError(f"{taker} got an empty list of parameters")
    seen: set[int] = set()
    for position, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"parameter {position} is a {type(p).__name__}, not a Tensor")
        if not p.requires_grad and not frozen:
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


def scalar_loss(loss_fn: Callable[[], Tensor]) -> Tensor:
    """``loss_fn()``, refused (ValueError) unless it is a one-element Tensor."""
    loss = loss_fn()
    if not isinstance(loss, Tensor) or loss.data.size != 1:
        raise ValueError(f"loss_fn must return a one-element Tensor, got {loss!r}")
    return loss


class FlatParameters:
    """The parameters' elements as one vector, in order: read, split and written back."""

    def __init__(self, params: Sequence[Tensor]) -> None:
        self.params = list(params)
        self.size = sum(p.data.size for p in self.params)
        self._ends = np.cumsum([p.data.size for p in self.params])[:-1]

    def vector(self) -> np.ndarray:
        """A copy of every parameter's data, flattened and concatenated."""
        return self.join([p.data for p in self.params])

    def join(self, arrays: Sequence[np.ndarray | None]) -> np.ndarray:
        """One array per parameter (None for zeros) as one flat vector."""
        return np.concatenate(
            [
                np.zeros(p.data.size) if a is None else np.asarray(a, dtype=np.float64).ravel()
                for p, a in zip(self.params, arrays, strict=True)
            ]
        )

    def split(self, vector: np.ndarray) -> list[np.ndarray]:
        """``vector`` cut into pieces shaped like the parameters."""
        vector = np.asarray(vector, dtype=np.float64).reshape(-1)
        if vector.size != self.size:
            raise ValueError(
                f"a vector over these parameters has {self.size} elements, got {vector.size}"
            )
        pieces = np.split(vector, self._ends)
        return [piece.reshape(p.shape) for p, piece in zip(self.params, pieces, strict=True)]

    def write(self, vector: np.ndarray) -> None:
        """Set the parameters' data, in place, from ``vector``; their versions go up (a
        backward through ops that saved the old values is then an error, as in torch)."""
        for p, piece in zip(self.params, self.split(vector), strict=True):
            p.data[...] = piece
        written(*self.params)
