"""fit's optimiser step on parameters laid out in one array per parameter group.

A compiled ``fit`` lays each parameter group of the optimiser out in one float64 array:
every parameter's ``.data`` becomes a view of it (each starting on a 64-byte boundary),
its gradient a view of a second one, which the replayed step writes into. The optimiser's
own ``_update`` then runs once per group on the whole arrays instead of once per
parameter: the same elementwise maths on the same numbers, so the same bits, in a handful
of numpy calls whatever the number of parameters. The state the update keeps (momentum,
Adam's moments) is one array per group too, and each parameter's state holds views of it,
so ``optimizer.state_dict()`` in a callback reads the current values; so does anything
that reads the parameters through the model. ``release`` gives every parameter its own
array back, holding the values it reached.

The flat step stands down, for the rest of the fit, at the first thing it cannot follow
(a parameter's ``.data`` replaced, the optimiser's state loaded, cleared or given new
arrays, a group added, a step taken by ``optimizer.step()``): the optimiser's own step
carries on, with the same numbers.

>>> from tinygrad_moons import Tensor, optim
>>> w, b = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0], requires_grad=True)
>>> flat = FlatStep.build(optim.SGD([w, b], lr=0.5))
>>> flat.adopt()
>>> flat.gradients[w][...], flat.gradients[b][...] = [2.0, 2.0], [4.0]
>>> w.grad, b.grad = flat.gradients[w], flat.gradients[b]
>>> flat.step()
True
>>> flat.release()
>>> w.data, b.data
(array([0., 1.]), array([1.]))
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from typing import Any

import numpy as np

from tinygrad_moons.optim import SGD, Adam, Optimizer
from tinygrad_moons.tensor import Tensor, _owner, written

__all__ = ["FlatStep", "Layout"]

_ALIGN = 8  # float64 elements in 64 bytes: every parameter's view starts on a cache line
_DATA = operator.attrgetter("_array")  # a parameter's array, read from the slot
_STEPPED = (SGD, Adam)  # whose _update is elementwise, so it may run on the whole array


class Layout:
    """Where each of some shapes sits in one flat array, every start aligned."""

    def __init__(self, shapes: list[tuple[int, ...]]) -> None:
        self.shapes, self.offsets = shapes, []
        size = 0
        for shape in shapes:
            self.offsets.append(size)
            size += -(-int(np.prod(shape)) // _ALIGN) * _ALIGN
        self.size = size

    def array(self) -> np.ndarray:
        """A zeroed flat array whose first element sits on a 64-byte boundary (the padding
        between views stays 0: a gradient of 0 steps a 0 to 0)."""
        raw = np.zeros(self.size + _ALIGN)
        start = (-raw.ctypes.data % (8 * _ALIGN)) // 8
        return raw[start : start + self.size]

    def views(self, flat: np.ndarray) -> list[np.ndarray]:
        return [
            flat[offset : offset + int(np.prod(shape))].reshape(shape)
            for offset, shape in zip(self.offsets, self.shapes, strict=True)
        ]


class _Group:
    """One parameter group laid out flat: its parameters, gradients, state, and a copy of
    the parameters from before the latest step."""

    def __init__(self, group: dict[str, Any], params: list[Tensor], states: list[dict]) -> None:
        self.group, self.params_list, self.params, self.states = (
            group,
            group["params"],
            params,
            states,
        )
        self.layout = Layout([p.shape for p in params])
        self.data, self.grad, self.previous, self.scratch = (self.layout.array() for _ in range(4))
        # The plain SGD step's rate as a 0-d array, kept for the group's lr it was made from:
        # numpy multiplies by it in half the time of a Python float, to the same bits.
        self.lr: Any = None
        self.rate = np.zeros(())
        self.data_views = self.layout.views(self.data)
        self.previous_views = self.layout.views(self.previous)
        self.grad_views = self.layout.views(self.grad)
        self.own = [p._array for p in params]
        self.state: dict[str, Any] = {}  # the group's state, flat
        self.kept: dict[str, Any] = {}  # the state from before the latest step (``keep``)
        self.buffers: dict[str, np.ndarray] = {}  # where ``keep`` copies the state's arrays
        self.published: dict[str, np.ndarray] = {}  # what the parameters' states view
        self.entries: list[list[tuple[str, Any]]] = []  # each state's entries, as published
        keys = set(states[0])
        for key in keys:
            values = [state[key] for state in states]
            if isinstance(values[0], np.ndarray):
                flat = self.layout.array()
                for view, value in zip(self.layout.views(flat), values, strict=True):
                    view[...] = value
                self.state[key] = flat
            else:
                self.state[key] = values[0]
        self.publish()

    def publish(self) -> None:
        """Each parameter's state as views of the group's (new arrays once, numbers always)."""
        for key, value in self.state.items():
            if isinstance(value, np.ndarray):
                if self.published.get(key) is not value:
                    self.published[key] = value
                    views = self.layout.views(value)
                    for state, view in zip(self.states, views, strict=True):
                        state[key] = view
            else:
                for state in self.states:
                    state[key] = value
        self.entries = [list(state.items()) for state in self.states]

    def keep(self) -> None:
        """Copy the state (numbers, and arrays into buffers kept for them) for ``restore``."""
        kept = {}
        for key, value in self.state.items():
            if isinstance(value, np.ndarray):
                buffer = self.buffers.get(key)
                if buffer is None:
                    buffer = self.buffers[key] = self.layout.array()
                np.copyto(buffer, value)
                value = buffer
            kept[key] = value
        self.kept = kept

    def restore(self) -> None:
        """The state back as ``keep`` copied it, in place; an entry the step made (its first
        step's momentum, Adam's moments) removed, from the parameters' states too."""
        for key in [key for key in self.state if key not in self.kept]:
            del self.state[key]
            self.published.pop(key, None)
            for state in self.states:
                state.pop(key, None)
        for key, value in self.kept.items():
            if isinstance(value, np.ndarray):
                np.copyto(self.state[key], value)
            else:
                self.state[key] = value
        self.publish()

    def intact(self) -> bool:
        """Whether every parameter's state still holds exactly what ``publish`` put there.
        A callback that clears a state or gives it new arrays (resetting momentum, or Adam's
        moments and step) changes what the optimiser's own step reads, never the flat
        state: the flat step must not go on from its own."""
        for state, entries in zip(self.states, self.entries, strict=True):
            if len(state) != len(entries):
                return False
            for key, value in entries:
                if state.get(key, state) is not value:
                    return False
        return True


def _uniform(states: list[dict[str, Any]], params: list[Tensor]) -> bool:
    """Whether every parameter's state has the same keys, equal numbers and arrays of its
    parameter's shape: what one flat state can stand for."""
    keys = set(states[0])
    for state, p in zip(states, params, strict=True):
        if set(state) != keys:
            return False
        for key, value in state.items():
            if isinstance(value, np.ndarray):
                if value.shape != p.shape:
                    return False
            elif value != states[0][key]:
                return False
    return True


class FlatStep:
    """The optimiser's step on its groups laid out flat; made by ``build``."""

    def __init__(self, optimizer: Optimizer, groups: list[_Group]) -> None:
        self.optimizer, self.groups = optimizer, groups
        self.params = [p for g in groups for p in g.params]
        # The optimiser's parameters it does not step (frozen when it was built): the
        # optimiser's zero_grad() sets their .grad to None every step, so must the flat step.
        stepped = {id(p) for p in self.params}
        self.unstepped = [p for p in optimizer.params if id(p) not in stepped]
        self.gradients: dict[Tensor, np.ndarray] = {
            p: view for g in groups for p, view in zip(g.params, g.grad_views, strict=True)
        }
        self._states = optimizer._states
        self._group_count = len(optimizer.param_groups)
        self._steps = optimizer.steps
        self._owners = [g.params[0] for g in groups]  # one per flat array: one version bump
        self._views = [view for g in groups for view in g.data_views]  # in params' order
        self._plain = type(optimizer) is SGD  # whose plain step (lr alone) has a quick path
        self.active = True
        self.adopted = False

    @classmethod
    def build(cls, optimizer: Optimizer) -> FlatStep | None:
        """The flat step of ``optimizer`` for its parameters that require grad, or None
        where it could not give the optimiser's own numbers: another optimiser class,
        parameters sharing memory, or state that differs in kind between the parameters
        of a group. ``serves`` says whether a step's gradients are those it steps."""
        if type(optimizer) not in _STEPPED:
            return None
        stepped = [p for p in optimizer.params if p.requires_grad]
        owners = {id(_owner(p._array)) for p in stepped}
        if len(owners) != len(stepped):
            return None
        groups = []
        for group, states in zip(optimizer.param_groups, optimizer._states, strict=True):
            pairs = [
                (p, s) for p, s in zip(group["params"], states, strict=True) if p.requires_grad
            ]
            if not pairs:
                continue
            params, group_states = [p for p, _ in pairs], [s for _, s in pairs]
            if not _uniform(group_states, params):
                return None
            groups.append(_Group(group, params, group_states))
        return cls(optimizer, groups)

    def serves(self, leaves: Sequence[Tensor]) -> bool:
        """Whether ``leaves`` (those a step writes the gradients of) are exactly the
        parameters stepped: a parameter the loss does not reach has no gradient, and the
        optimiser's own step leaves it alone."""
        return len(leaves) == len(self.params) and {id(p) for p in leaves} == {
            id(p) for p in self.params
        }

    def adopt(self) -> None:
        """Make every parameter's ``.data`` its view of the flat array, values copied."""
        for g in self.groups:
            for p, view in zip(g.params, g.data_views, strict=True):
                view[...] = p._array
                p._array = view
        self.adopted = True

    def release(self) -> None:
        """Give each parameter its own array back, holding the values it reached (a
        parameter whose ``.data`` was replaced meanwhile keeps what it was given; one whose
        view was reshaped in place, by a callback, gets a copy of it in its new shape, so
        that fit's end raises the error the fit met, not one of its own)."""
        if not self.adopted:
            return
        back = []
        for g in self.groups:
            for p, view, own in zip(g.params, g.data_views, g.own, strict=True):
                if p._array is view:
                    if own.shape == view.shape:
                        own[...] = view
                    else:
                        own = view.copy()
                    p._array = own
                    back.append(p)
        self.adopted = False
        self.active = False
        if back:
            written(*back)

    def stand_down(self) -> bool:
        """Leave the rest of the fit's steps to the optimiser's own ``step()``."""
        self.active = False
        return False

    def followable(self) -> bool:
        """Whether nothing the flat step cannot follow has happened since the last step."""
        optimizer = self.optimizer
        if (
            optimizer._states is not self._states
            or len(optimizer.param_groups) != self._group_count
            or optimizer.steps != self._steps
        ):
            return False
        for g in self.groups:
            if g.group["params"] is not g.params_list or not g.intact():
                return False
        return all(map(operator.is_, map(_DATA, self.params), self._views))

    def divide_gradients(self, rows: int) -> None:
        """Every gradient divided by ``rows``, in place (fit's reduction="mean")."""
        for g in self.groups:
            np.divide(g.grad, rows, out=g.grad)

    def step(self, follow: bool = True) -> bool:
        """The optimiser's step, copies of its parameters and state kept first (``restore``); False,
        with nothing done, when the flat step has stood down (or does so now).

        ``follow=False`` leaves out ``followable``'s checks, for a caller that knows no code
        but this step has run since its last one returned True (fit between two steps with no
        callback or schedule between them: ~1-2 us of the write-up's ~30 us epoch)."""
        if not self.active or (follow and not self.followable()):
            return self.stand_down()
        optimizer = self.optimizer
        for g in self.groups:
            g.previous[...] = g.data
            if g.state:
                g.keep()
            else:  # nothing to copy: the step may make entries, which restore() removes
                g.kept = {}
            group = g.group
            if self._plain and not group["momentum"] and not group["weight_decay"]:
                # SGD._update's theta -= lr * grad, into a buffer kept for it: the same bits
                lr = group["lr"]
                if lr is not g.lr or type(lr) is not float:  # a new one (a float is immutable)
                    g.lr, g.rate = lr, np.asarray(lr, dtype=np.float64)
                np.multiply(g.grad, g.rate, out=g.scratch)
                np.subtract(g.data, g.scratch, out=g.data)
                continue
            optimizer._update(g.data, g.grad, g.state, group)
            if g.state:
                g.publish()
        optimizer.steps += 1
        self._steps = optimizer.steps
        written(*self._owners)
        return True

    def restore(self) -> None:
        """Put the parameters and the optimiser's state and step count back as they were
        before the latest step: a parameter whose ``.data`` was replaced since (by a
        callback) gets those values written into its new array, as the optimiser's own
        guard writes its copies into ``p.data``."""
        self.optimizer.steps -= 1
        self._steps = self.optimizer.steps
        for g in self.groups:
            g.restore()
            np.copyto(g.data, g.previous)
            for p, view, before in zip(g.params, g.data_views, g.previous_views, strict=True):
                if p._array is not view:
                    p._array[...] = before
