"""Function.apply reads one, two or three plain Tensors by paths of its own (speed); any other
call takes its general loop. A Tensor subclass sends the same tensors down the general
loop, so each case is run both ways and everything apply records must agree: the context's
needs_input_grad and parents, the arrays forward received, the output, and the gradients
a backward then delivers."""

import itertools

import numpy as np
import pytest

from tinygrad_moons import Function, Tensor, grad, no_grad


class _Routed(Tensor):
    """The same tensor, seen by apply as not a plain Tensor: the general loop."""

    __slots__ = ()


def _routed(tensor: Tensor) -> _Routed:
    routed = object.__new__(_Routed)
    routed._array, routed._grad = tensor._array, None
    routed.requires_grad, routed._ctx = tensor.requires_grad, tensor._ctx
    return routed


class _Seen(Function):
    """The product of its arguments plus the first, recording what forward received (a
    backward that reads every input), for one, two or three arguments."""

    @staticmethod
    def forward(ctx, *xs):
        ctx.received = xs
        _Seen.last = ctx  # seen even when the output records no graph
        ctx.save_for_backward(*xs)
        return np.prod(np.stack(xs), axis=0) + xs[0]

    @staticmethod
    def backward(ctx, grad):
        xs = ctx.saved_tensors
        grads = []
        for i in range(len(xs)):
            others = [x for j, x in enumerate(xs) if j != i]
            partial = np.prod(np.stack(others), axis=0) if others else np.ones_like(xs[0])
            grads.append(grad * (partial + (1.0 if i == 0 else 0.0)))
        return grads[0] if len(xs) == 1 else tuple(grads)


def _kinds(seed: int) -> dict[str, Tensor]:
    """A leaf, an intermediate (made by an op from another leaf), a constant and a detached
    copy of the leaf."""
    rng = np.random.default_rng(seed)
    leaf = Tensor(rng.normal(size=(3, 2)), requires_grad=True)
    other = Tensor(rng.normal(size=(3, 2)), requires_grad=True)
    return {
        "leaf": leaf,
        "intermediate": other * 2.0,
        "constant": Tensor(rng.normal(size=(3, 2))),
        "detached": leaf.detach(),  # the leaf's own array: one array, two nodes
    }


def _recorded(args: tuple[Tensor, ...], routed: bool) -> tuple:
    """What apply recorded for ``args`` (as plain Tensors, or routed to the general loop),
    with routed leaves named by the tensors they stand for."""
    routes = {id(a): _routed(a) for a in args}  # one routed object per tensor
    called = tuple(routes[id(a)] for a in args) if routed else args
    out = _Seen.apply(*called)
    back = dict(zip(map(id, called), args, strict=True))
    ctx = out._ctx
    if ctx is None:
        return out.data, out.requires_grad, _Seen.last.needs_input_grad, None, None, None, None
    parents = tuple(back.get(id(p), p) for p in ctx.parents)
    received = tuple(
        (a.copy(), any(a is t._array for t in args)) for a in ctx.received
    )  # values, and whether forward got a tensor's array itself or a view of it
    wrt = [routes[id(a)] if routed else a for a in _leaves(args)]
    return out.data, out.requires_grad, ctx.needs_input_grad, parents, received, out, wrt


def _leaves(args: tuple[Tensor, ...]) -> list[Tensor]:
    """The leaves among ``args`` that require grad, each once."""
    return [t for t in {id(t): t for t in args}.values() if t.requires_grad and t._ctx is None]


def _assert_same(fast: tuple, general: tuple) -> None:
    np.testing.assert_array_equal(fast[0], general[0])
    assert fast[1:3] == general[1:3]
    if fast[3] is None:
        assert general[3] is None
        return
    assert len(fast[3]) == len(general[3])
    for a, b in zip(fast[3], general[3], strict=True):
        assert a is b or (type(a) is type(b) and not isinstance(a, Tensor))
    for (a, a_is), (b, b_is) in zip(fast[4], general[4], strict=True):
        np.testing.assert_array_equal(a, b)
        assert a_is == b_is


KINDS = list(_kinds(0))
CALLS = [(k,) for k in KINDS] + list(itertools.product(KINDS, repeat=2))
CALLS += list(itertools.product(KINDS, repeat=3))


@pytest.mark.parametrize("kinds", CALLS, ids="-".join)
def test_one_two_or_three_tensors_record_what_the_general_loop_records(kinds):
    made = _kinds(1)
    args = tuple(made[k] for k in kinds)
    fast, general = _recorded(args, False), _recorded(args, True)
    _assert_same(fast, general)
    if fast[5] is None or not fast[6]:
        return
    fast_grads = grad(fast[5].sum(), fast[6])
    general_grads = grad(general[5].sum(), general[6])
    for a, b in zip(fast_grads, general_grads, strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_the_same_tensor_twice_gets_one_array_and_both_gradients():
    x = Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    out = _Seen.apply(x, x)  # x * x + x: d/dx = 2x + 1
    assert out._ctx.received[0] is x.data and out._ctx.received[1] is x.data
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * x.data + 1)


def test_the_same_array_in_two_nodes_gets_a_view_per_node_under_create_graph():
    x = Tensor(np.array([1.0, -2.0, 3.0]), requires_grad=True)
    out = _Seen.apply(x, x.detach())  # d/dx of x * c + x is c + 1, c = x held constant
    ctx = out._ctx
    assert ctx.received[0] is not ctx.received[1]
    (dx,) = grad(out.sum(), [x])
    np.testing.assert_array_equal(dx.data, x.data + 1)


def test_under_no_grad_the_fast_path_records_nothing():
    kinds = _kinds(3)
    with no_grad():
        out = _Seen.apply(kinds["leaf"], kinds["intermediate"])
        one = _Seen.apply(kinds["leaf"])
    assert not out.requires_grad and out._ctx is None
    assert not one.requires_grad and one._ctx is None
