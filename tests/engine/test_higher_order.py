"""Derivatives of derivatives through every op and every function of ``functional``.

Per op, over shapes drawn by hypothesis: the value, the first derivative (a vector-Jacobian
product with a random w), the second (the derivative of <first, v> for a random v) and for
tanh, sigmoid, exp and the softmax cross-entropy the third, all against PyTorch float64 at
rtol 1e-9; and ``gradgradcheck`` (finite differences of the first derivative) on each.
"""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, autograd, grad, gradgradcheck

EXAMPLES = settings(max_examples=6, deadline=None)
seeds = st.integers(0, 2**32 - 1)
shapes = hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=4)
matrices = hnp.array_shapes(min_dims=2, max_dims=2, min_side=2, max_side=4)
tt = torch


def _away_from(values, point=0.0, gap=0.2):
    """Values with no element within ``gap`` of ``point`` (kinks, poles, ties)."""
    return np.where(
        np.abs(values - point) < gap, point + gap * np.sign(values - point + 1e-9), values
    )


def _distinct(values):
    """Values whose elements differ by at least 0.05 (no ties for max, min, maximum)."""
    flat = values.reshape(-1)
    order = np.argsort(flat)
    out = np.empty_like(flat)
    out[order] = np.linspace(-1.5, 1.5, flat.size) if flat.size > 1 else flat
    return out.reshape(values.shape) + 0.01 * np.arange(flat.size).reshape(values.shape) / max(
        flat.size, 1
    )


DOMAINS = {
    "any": lambda r, s: r.normal(size=s),
    "positive": lambda r, s: r.uniform(0.5, 2.0, size=s),
    "above -1": lambda r, s: r.uniform(-0.5, 2.0, size=s),
    "nonzero": lambda r, s: _away_from(r.normal(size=s)),
    "distinct": lambda r, s: _distinct(r.normal(size=s)),
}

# name: (ours, torch's, domain of each input, input count); one input's shape drawn, the
# others the same unless the op says otherwise.
UNARY = {
    "neg": (lambda x: -x, lambda x: -x, "any"),
    "exp": (lambda x: x.exp(), torch.exp, "any"),
    "log": (lambda x: x.log(), torch.log, "positive"),
    "log1p": (lambda x: x.log1p(), torch.log1p, "above -1"),
    "expm1": (lambda x: x.expm1(), torch.expm1, "any"),
    "sin": (lambda x: x.sin(), torch.sin, "any"),
    "cos": (lambda x: x.cos(), torch.cos, "any"),
    "sqrt": (lambda x: x.sqrt(), torch.sqrt, "positive"),
    "abs": (lambda x: x.abs(), torch.abs, "nonzero"),
    "tanh": (lambda x: x.tanh(), torch.tanh, "any"),
    "sigmoid": (lambda x: x.sigmoid(), torch.sigmoid, "any"),
    "relu": (lambda x: x.relu(), torch.relu, "nonzero"),
    "leaky_relu": (
        lambda x: F.leaky_relu(x, 0.1),
        lambda x: torch.nn.functional.leaky_relu(x, 0.1),
        "nonzero",
    ),
    "softplus": (F.softplus, torch.nn.functional.softplus, "any"),
    "square": (lambda x: x**2, lambda x: x**2, "any"),
    "cube": (lambda x: x**3, lambda x: x**3, "any"),
    "pow 0.5": (lambda x: x**0.5, lambda x: x**0.5, "positive"),
    "pow 0": (lambda x: x**0, lambda x: x**0, "any"),
    "rpow": (lambda x: 2.0**x, lambda x: 2.0**x, "any"),
    "clone": (lambda x: x.clone(), lambda x: x.clone(), "any"),
    "sum": (lambda x: x.sum(axis=0), lambda x: x.sum(dim=0), "any"),
    "sum all keepdims": (
        lambda x: x.sum(keepdims=True),
        lambda x: x.sum(dim=tuple(range(x.ndim)), keepdim=True),
        "any",
    ),
    "mean": (lambda x: x.mean(axis=-1), lambda x: x.mean(dim=-1), "any"),
    "max": (lambda x: x.max(axis=0), lambda x: x.amax(dim=0), "distinct"),
    "min": (lambda x: x.min(), lambda x: x.amin(), "distinct"),
    "var": (lambda x: x.var(), lambda x: x.var(unbiased=False), "distinct"),
    "var ddof": (lambda x: x.var(axis=-1, ddof=1), lambda x: x.var(dim=-1), "distinct"),
    "std": (lambda x: x.std(), lambda x: x.std(unbiased=False), "distinct"),
    "reshape": (lambda x: x.reshape(-1), lambda x: x.reshape(-1), "any"),
    "transpose": (lambda x: x.T, lambda x: x.permute(*reversed(range(x.ndim))), "any"),
    "getitem": (lambda x: x[np.array([0, 0, -1])], lambda x: x[[0, 0, -1]], "any"),
    "slice": (lambda x: x[1:], lambda x: x[1:], "any"),
    "expand_dims": (lambda x: x.expand_dims(0), lambda x: x.unsqueeze(0), "any"),
    "softmax": (
        lambda x: F.softmax(x, axis=-1),
        lambda x: torch.softmax(x, dim=-1),
        "any",
    ),
    "log_softmax": (
        lambda x: F.log_softmax(x, axis=-1),
        lambda x: torch.log_softmax(x, dim=-1),
        "any",
    ),
    "clip": (
        lambda x: F.clip(x, -0.5, 0.7),
        lambda x: torch.clamp(x, -0.5, 0.7),
        "distinct",
    ),
    "l2": (lambda x: F.l2(x), lambda x: (x**2).sum(), "any"),
    "in-place recorded": (
        lambda x: _recorded_in_place(x),
        lambda x: _recorded_in_place(x),
        "any",
    ),
}


def _recorded_in_place(x):
    y = x * 1.0
    y *= x
    y += 1.0
    return y


BINARY = {
    "add": (lambda x, y: x + y, lambda x, y: x + y, ("any", "any")),
    "sub": (lambda x, y: x - y, lambda x, y: x - y, ("any", "any")),
    "mul": (lambda x, y: x * y, lambda x, y: x * y, ("any", "any")),
    "div": (lambda x, y: x / y, lambda x, y: x / y, ("any", "nonzero")),
    "pow": (lambda x, y: x**y, lambda x, y: x**y, ("positive", "any")),
    "maximum": (F.maximum, torch.maximum, ("distinct", "any")),
    "minimum": (F.minimum, torch.minimum, ("distinct", "any")),
    "where": (
        lambda x, y: F.where(np.arange(x.size).reshape(x.shape) % 2 == 0, x, y),
        lambda x, y: torch.where(torch.arange(x.numel()).reshape(x.shape) % 2 == 0, x, y),
        ("any", "any"),
    ),
    "concatenate": (
        lambda x, y: F.concatenate([x, y], axis=-1),
        lambda x, y: torch.cat([x, y], dim=-1),
        ("any", "any"),
    ),
    "stack": (
        lambda x, y: F.stack([x, y], axis=0),
        lambda x, y: torch.stack([x, y]),
        ("any", "any"),
    ),
    "mse": (F.mse, torch.nn.functional.mse_loss, ("any", "any")),
    "bce with logits": (
        F.binary_cross_entropy_with_logits,
        torch.nn.functional.binary_cross_entropy_with_logits,
        ("any", "any"),
    ),
    "setitem recorded": (
        lambda x, y: _recorded_setitem(x, y),
        lambda x, y: _recorded_setitem(x, y),
        ("any", "any"),
    ),
}


def _recorded_setitem(x, y):
    z = x * y
    z[..., 0] = (x * x)[..., 0]
    return z


def _ours_grad(out, xs, create_graph):
    if not out.requires_grad:
        return [np.zeros(x.shape) for x in xs]
    found = grad(out, xs, create_graph=create_graph, allow_unused=True)
    return [Tensor(np.zeros(x.shape)) if g is None else g for g, x in zip(found, xs)]


def _torch_grad(out, xs, create_graph):
    if not out.requires_grad:
        return [torch.zeros_like(x) for x in xs]
    found = torch.autograd.grad(out, xs, create_graph=create_graph, allow_unused=True)
    return [torch.zeros_like(x) if g is None else g for g, x in zip(found, xs)]


def _derivatives(fn, arrays, weights, *, ours):
    """The value, then d<w, f>/dx, d<v, d<w, f>/dx>/dx, ... one order per weight after w."""
    if ours:
        xs, lift, take, d = (
            [Tensor(a, requires_grad=True) for a in arrays],
            Tensor,
            _data,
            _ours_grad,
        )
    else:
        xs = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
        lift, take, d = torch.tensor, _numpy, _torch_grad
    out = fn(*xs)
    found = [take(out)]
    scalar = (out * lift(weights[0])).sum()
    for order, weight in enumerate(weights[1:], start=1):
        last = order == len(weights) - 1
        grads = d(scalar, xs, create_graph=True)
        found.append([take(g) for g in grads])
        scalar = sum((g * lift(wi)).sum() for g, wi in zip(grads, weight))
        if last:
            found.append([take(g) for g in d(scalar, xs, create_graph=False)])
    return found


def _data(t):
    return t.data if isinstance(t, Tensor) else np.asarray(t)


def _numpy(t):
    return t.detach().numpy(force=True)


def agree_to_second_order(ours, theirs, arrays, seed, third=False):
    """Values and derivatives of order 1, 2 (and 3) agree with torch's at rtol 1e-9."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        shape = theirs(*[torch.tensor(a) for a in arrays]).shape
    weights = [rng.normal(size=tuple(shape))]
    weights += [[rng.normal(size=a.shape) for a in arrays] for _ in range(2 if third else 1)]
    got = _derivatives(ours, arrays, weights, ours=True)
    want = _derivatives(theirs, arrays, weights, ours=False)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-9, atol=1e-12, err_msg="value")
    for order, (g_list, w_list) in enumerate(zip(got[1:], want[1:]), start=1):
        for position, (g, e) in enumerate(zip(g_list, w_list)):
            message = f"derivative of order {order}, input {position}"
            np.testing.assert_allclose(g, e, rtol=1e-9, atol=1e-11, err_msg=message)


@pytest.mark.parametrize("name", UNARY)
@EXAMPLES
@given(shape=shapes, seed=seeds)
def test_every_unary_op_to_second_order_against_torch(name, shape, seed):
    ours, theirs, domain = UNARY[name]
    if name in ("getitem", "slice") and shape[0] < 2:
        shape = (2, *shape[1:])
    if name == "var ddof" and shape[-1] < 2:
        shape = (*shape[:-1], 2)
    x = DOMAINS[domain](np.random.default_rng(seed), shape)
    agree_to_second_order(ours, theirs, [x], seed)


@pytest.mark.parametrize("name", BINARY)
@EXAMPLES
@given(shape=shapes, seed=seeds)
def test_every_binary_op_to_second_order_against_torch(name, shape, seed):
    ours, theirs, (dx, dy) = BINARY[name]
    rng = np.random.default_rng(seed)
    x, y = DOMAINS[dx](rng, shape), DOMAINS[dy](rng, shape)
    if name == "bce with logits":
        y = rng.uniform(0, 1, size=shape)
    agree_to_second_order(ours, theirs, [x, y], seed)


@pytest.mark.parametrize("broadcast", [((3, 1), (1, 4)), ((2, 3), (3,)), ((3,), ())])
@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow"])
def test_broadcasting_binary_ops_to_second_order_against_torch(name, broadcast):
    ours, theirs, (dx, dy) = BINARY[name]
    rng = np.random.default_rng(1)
    x, y = DOMAINS[dx](rng, broadcast[0]), DOMAINS[dy](rng, broadcast[1])
    agree_to_second_order(ours, theirs, [x, y], 1)


@EXAMPLES
@given(shape=matrices, m=st.integers(1, 3), seed=seeds)
def test_matmul_and_linear_to_second_order_against_torch(shape, m, seed):
    rng = np.random.default_rng(seed)
    x, w, b = rng.normal(size=shape), rng.normal(size=(shape[1], m)), rng.normal(size=m)
    agree_to_second_order(lambda a, c: a @ c, lambda a, c: a @ c, [x, w], seed)
    agree_to_second_order(F.linear, lambda a, c, d: a @ c + d, [x, w, b], seed)
    batch = rng.normal(size=(2, *shape))
    agree_to_second_order(lambda a, c: a @ c, lambda a, c: a @ c, [batch, w], seed)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@EXAMPLES
@given(shape=matrices, seed=seeds)
def test_softmax_cross_entropy_to_third_order_against_torch(reduction, shape, seed):
    rng = np.random.default_rng(seed)
    logits = rng.normal(size=shape)
    labels = rng.integers(0, shape[1], size=shape[0])
    agree_to_second_order(
        lambda z: F.softmax_cross_entropy(z, labels, reduction=reduction),
        lambda z: torch.nn.functional.cross_entropy(z, torch.tensor(labels), reduction=reduction),
        [logits],
        seed,
        third=True,
    )


@pytest.mark.parametrize("name", ["tanh", "sigmoid", "exp"])
@EXAMPLES
@given(shape=shapes, seed=seeds)
def test_tanh_sigmoid_exp_to_third_order_against_torch(name, shape, seed):
    ours, theirs, domain = UNARY[name]
    x = DOMAINS[domain](np.random.default_rng(seed), shape)
    agree_to_second_order(ours, theirs, [x], seed, third=True)


# ---------------------------------------------------------------------- gradgradcheck
GRADGRAD = {
    **{name: (ours, [domain]) for name, (ours, _, domain) in UNARY.items()},
    **{name: (ours, list(domains)) for name, (ours, _, domains) in BINARY.items()},
    "matmul": (lambda a, c: a @ c, None),
    "linear": (F.linear, None),
    "softmax_cross_entropy": (lambda z: F.softmax_cross_entropy(z, np.array([0, 2, 1])), None),
}


@pytest.mark.parametrize("name", GRADGRAD)
def test_gradgradcheck_passes_on_every_op(name):
    fn, domains = GRADGRAD[name]
    rng = np.random.default_rng(7)
    if name == "matmul":
        arrays = [rng.normal(size=(3, 2)), rng.normal(size=(2, 2))]
    elif name == "linear":
        arrays = [rng.normal(size=(3, 2)), rng.normal(size=(2, 2)), rng.normal(size=2)]
    elif name == "softmax_cross_entropy":
        arrays = [rng.normal(size=(3, 3))]
    else:
        arrays = [DOMAINS[d](rng, (3, 2)) for d in domains]
        if name == "bce with logits":
            arrays[1] = rng.uniform(0, 1, size=(3, 2))
    assert gradgradcheck(fn, [Tensor(a, requires_grad=True) for a in arrays])


@pytest.mark.parametrize("value", ["False", "True", 0, 1, None])
@pytest.mark.parametrize(
    ("call", "option"),
    [
        (lambda y, x, v: grad((y * y).sum(), x, create_graph=v), "grad's create_graph"),
        (lambda y, x, v: grad((y * y).sum(), [y, x], allow_unused=v), "grad's allow_unused"),
        (lambda y, x, v: autograd.vjp(F.tanh, y, create_graph=v), "create_graph"),
        (lambda y, x, v: autograd.jvp(F.tanh, y, create_graph=v), "create_graph"),
        (lambda y, x, v: autograd.jacobian(F.tanh, y, create_graph=v), "create_graph"),
        (
            lambda y, x, v: autograd.hessian(lambda t: (t**3).sum(), y, create_graph=v),
            "create_graph",
        ),
        (
            lambda y, x, v: autograd.hvp(lambda t: (t**3).sum(), y, y, create_graph=v),
            "create_graph",
        ),
    ],
)
def test_the_derivatives_switches_take_a_bool(call, option, value):
    """bool("False") is True: create_graph="False" would build a graph of the gradients and
    allow_unused="False" hand back None for an input the outputs do not use."""
    y = Tensor([1.0, 2.0], requires_grad=True)
    x = Tensor([3.0], requires_grad=True)
    with pytest.raises(TypeError, match=f"{option} takes True or False, got {value!r}"):
        call(y, x, value)


@pytest.mark.parametrize("where", [(0, 0, 1), (1, 0, 1), (-1, 1, 0), (1, 2, 0)])
def test_diagonal_its_embedding_and_its_update_to_third_order_against_torch(where):
    # the diagonal is a view whose backward (DiagonalEmbed) and whose recorded update
    # (SetDiagonal) are ops of their own: the third order runs each one's Tensor backward
    x = np.random.default_rng(5).normal(size=(3, 4) if where[1:] != (2, 0) else (2, 3, 4))

    def composed(t):
        y = t * t.tanh()
        d = y.diagonal(*where)
        d *= 3.0
        return d**3 + y.diagonal(*where).exp()

    agree_to_second_order(composed, composed, [x], 5, third=True)
