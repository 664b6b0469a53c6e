"""A differential fuzzer of the eager engine: hypothesis draws small random programs (3 to
12 statements over 1 to 3 leaves of small shapes, 0-d included) and each runs in ours and
in PyTorch float64; the values, the leaves' ``.grad`` after one or two ``backward()``
calls, the first and second derivatives by ``grad(..., create_graph=True)`` and every
verdict (raised or not) must agree.

Statements: arithmetic with broadcasting and numbers on either side, powers, matmul,
unary functions (trigonometric, hyperbolic, softplus, leaky relu, clip, sign / floor /
ceil, logs of positive values), maximum / minimum / logaddexp / arctan2 / hypot,
reductions (sum, mean, max, min, prod, var, std), ops along an axis (softmax,
log_softmax, cumsum, cumprod, flip, roll, repeat, sort, expand_dims, swapaxes),
reshape / transpose / squeeze / indexing (views), boolean masks, hstack / vstack /
dstack, ``F.mse``, ``F.binary_cross_entropy_with_logits``,
``F.softmax_cross_entropy``, ``F.l2``, ``F.where``, ``F.concatenate`` / ``F.stack``,
``detach()``, ``clone()``, reuse of any earlier value, in-place updates (``t op= x``,
``t[index] = v``) recorded and under ``no_grad()``, leaves written under ``no_grad()``
between the forward and the backward.

Where torch refuses a backward because an array an op saved was written in place, we must
refuse it too (its words) or give the mathematically right answer (docs/api.md, "the old
one stays with the ops that saved it"): torch's answer for the same program in which every
op saves private copies of its inputs and output (``_Torch(private=True)``), which keeps
every view and every write of the program but no saved array that a later write reaches,
the leaves' included: their values at the forward, from which the gradient must come."""

from __future__ import annotations

import warnings
from contextlib import nullcontext

import numpy as np
import pytest
import torch
from hypothesis import event, given
from hypothesis import strategies as st

import tinygrad_moons.functional as F
from tests.torch_twin import fuzz_settings, leaf_and_grad
from tinygrad_moons import Tensor, no_grad

TF = torch.nn.functional
SHAPES = [(), (1,), (3,), (2, 3), (3, 2), (1, 3), (3, 1), (2, 1, 3)]
NUMBERS = [2.5, -1.5, 0.5, 3.0]

# name: (ours, torch's); unary functions of any real input
UNARY = {
    "tanh": (lambda x: x.tanh(), torch.tanh),
    "exp": (lambda x: x.exp(), torch.exp),
    "sigmoid": (lambda x: x.sigmoid(), torch.sigmoid),
    "relu": (lambda x: x.relu(), torch.relu),
    "abs": (lambda x: x.abs(), torch.abs),
    "neg": (lambda x: -x, lambda x: -x),
    "log of positive": (lambda x: (x * x + 0.25).log(), lambda x: (x * x + 0.25).log()),
    "sqrt of positive": (lambda x: (x.abs() + 0.25).sqrt(), lambda x: (x.abs() + 0.25).sqrt()),
    "softmax": (lambda x: F.softmax(x), lambda x: torch.softmax(x, -1)),
    "square": (lambda x: x**2, lambda x: x**2),
    "cube": (lambda x: x**3, lambda x: x**3),
    "reciprocal": (lambda x: x**-1, lambda x: x**-1),
    "2 ** x": (lambda x: 2.0**x, lambda x: 2.0**x),
    "sin": (lambda x: x.sin(), torch.sin),
    "cos": (lambda x: x.cos(), torch.cos),
    "sinh": (lambda x: x.sinh(), torch.sinh),
    "cosh": (lambda x: x.cosh(), torch.cosh),
    "arctan": (lambda x: x.arctan(), torch.atan),
    "arcsinh": (lambda x: x.arcsinh(), torch.asinh),
    "expm1": (lambda x: x.expm1(), torch.expm1),
    "sign": (lambda x: x.sign(), torch.sign),
    "floor": (lambda x: x.floor(), torch.floor),
    "ceil": (lambda x: x.ceil(), torch.ceil),
    "softplus": (F.softplus, TF.softplus),
    "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), lambda x: TF.leaky_relu(x, 0.1)),
    "clip": (lambda x: x.clip(-0.5, 1.0), lambda x: x.clamp(-0.5, 1.0)),
    "clip below": (lambda x: F.clip(x, 0.25, None), lambda x: x.clamp(min=0.25)),
    "log1p of positive": (lambda x: (x * x).log1p(), lambda x: (x * x).log1p()),
    "log2 of positive": (lambda x: (x * x + 0.5).log2(), lambda x: (x * x + 0.5).log2()),
    "arcsin inside": (lambda x: (0.9 * x.tanh()).arcsin(), lambda x: (0.9 * x.tanh()).asin()),
    "arctanh inside": (lambda x: (0.9 * x.tanh()).arctanh(), lambda x: (0.9 * x.tanh()).atanh()),
    "arccosh above 1": (lambda x: (x * x + 1.5).arccosh(), lambda x: (x * x + 1.5).acosh()),
}
_SAME = lambda f: (f, f)  # noqa: E731 (one spelling for both libraries)
# name: (ours, torch's)
BINARY = {
    "+": _SAME(lambda a, b: a + b),
    "-": _SAME(lambda a, b: a - b),
    "*": _SAME(lambda a, b: a * b),
    "/": _SAME(lambda a, b: a / b),
    # a positive base: x ** y at x = 0 differs from torch on purpose (docs/api.md, "d/dx
    # x^0 = 0 even at x = 0"; tests/engine/test_ops_domain_edges.py, OURS)
    "exp(a) ** b": _SAME(lambda a, b: a.exp() ** b),
    "maximum": (F.maximum, torch.maximum),
    "minimum": (F.minimum, torch.minimum),
    "logaddexp": (F.logaddexp, torch.logaddexp),
    "arctan2": (F.arctan2, torch.atan2),
    "hypot": (F.hypot, torch.hypot),
}
# name: (ours, torch's), of a value of at least one axis and an axis of it
ALONG = {
    "softmax": (F.softmax, torch.softmax),
    "log_softmax": (F.log_softmax, torch.log_softmax),
    "cumsum": _SAME(lambda x, a: x.cumsum(a)),
    "cumprod": _SAME(lambda x, a: x.cumprod(a)),
    "flip": (lambda x, a: x.flip(a), lambda x, a: x.flip(a)),
    "roll": (lambda x, a: x.roll(1, a), lambda x, a: x.roll(1, a)),
    "repeat": (lambda x, a: x.repeat(2, a), lambda x, a: x.repeat_interleave(2, a)),
    "sort": (lambda x, a: x.sort(a), lambda x, a: torch.sort(x, dim=a, stable=True).values),
    "expand_dims": (lambda x, a: x.expand_dims(a), lambda x, a: x.unsqueeze(a)),
    "swapaxes with the last": (lambda x, a: x.swapaxes(a, -1), lambda x, a: x.transpose(a, -1)),
    "diagonal with the one before": _SAME(lambda x, a: x.diagonal(0, a, a - 1)),
}
ALONG_VIEWS = {"expand_dims", "swapaxes with the last", "diagonal with the one before"}
# name: (ours, torch's) of one or more values of one shape
JOINS = {
    "hstack": (F.hstack, torch.hstack),
    "vstack": (F.vstack, torch.vstack),
    "dstack": (F.dstack, torch.dstack),
}
IN_PLACE = {
    "+": lambda t, x: t.__iadd__(x),
    "-": lambda t, x: t.__isub__(x),
    "*": lambda t, x: t.__imul__(x),
    "/": lambda t, x: t.__itruediv__(x),
}


class _Ours:
    name = "ours"
    private = False

    @staticmethod
    def leaf(values):
        return leaf_and_grad("tm", values)

    @staticmethod
    def const(values):
        return np.asarray(values, dtype=float)

    @staticmethod
    def array(t):
        return t.data if isinstance(t, Tensor) else np.asarray(t)

    no_grad = staticmethod(no_grad)

    @staticmethod
    def reduce(kind, x, axis, keepdims):
        if kind in ("var", "std"):
            return getattr(x, kind)(axis=axis, keepdims=keepdims, ddof=0)
        return getattr(x, kind)(axis=axis, keepdims=keepdims)

    @staticmethod
    def ce(x, labels, reduction):
        return F.softmax_cross_entropy(x, labels, reduction=reduction)

    l2 = staticmethod(F.l2)
    mse = staticmethod(F.mse)
    bce = staticmethod(F.binary_cross_entropy_with_logits)
    where = staticmethod(F.where)
    concatenate = staticmethod(F.concatenate)
    stack = staticmethod(F.stack)

    @staticmethod
    def mask(a, b):
        return a > b

    @staticmethod
    def backward(loss, twice):
        loss.backward()
        if twice:
            loss.backward()


class _Torch:
    name = "torch"

    def __init__(self, private: bool) -> None:
        self.private = private

    @staticmethod
    def leaf(values):
        return leaf_and_grad("torch", values)

    @staticmethod
    def const(values):
        return torch.tensor(np.asarray(values, dtype=float))

    @staticmethod
    def array(t):
        return t.detach().numpy(force=True)  # force: torch's ZeroTensor (a zero gradient)

    no_grad = staticmethod(torch.no_grad)

    @staticmethod
    def reduce(kind, x, axis, keepdims):
        dims = tuple(range(x.ndim)) if axis is None else axis
        if kind == "sum":
            return x.sum(dim=dims, keepdim=keepdims) if x.ndim else x.clone()
        if kind == "mean":
            return x.mean(dim=dims, keepdim=keepdims) if x.ndim else x.clone()
        if kind in ("var", "std"):
            return getattr(x, kind)(
                dim=None if axis is None else axis, correction=0, keepdim=keepdims
            )
        if kind == "prod":
            if axis is not None:
                return x.prod(axis, keepdim=keepdims)
            return x.reshape(-1).prod(0).reshape((1,) * x.ndim if keepdims else ())
        return (torch.amax if kind == "max" else torch.amin)(x, dim=dims, keepdim=keepdims)

    @staticmethod
    def ce(x, labels, reduction):
        return TF.cross_entropy(x, torch.tensor(labels, dtype=torch.long), reduction=reduction)

    @staticmethod
    def l2(*ts):
        return sum(((t * t).sum() for t in ts[1:]), (ts[0] * ts[0]).sum())

    @staticmethod
    def mse(a, b, reduction):
        return TF.mse_loss(a, b, reduction=reduction)

    @staticmethod
    def bce(x, targets, reduction):
        return TF.binary_cross_entropy_with_logits(x, torch.tensor(targets), reduction=reduction)

    @staticmethod
    def where(mask, a, b):
        return torch.where(mask, a, b)

    @staticmethod
    def concatenate(ts, axis):
        return torch.cat(ts, dim=axis)

    @staticmethod
    def stack(ts, axis):
        return torch.stack(ts, dim=axis)

    @staticmethod
    def mask(a, b):
        return a > b

    @staticmethod
    def backward(loss, twice):
        loss.backward(retain_graph=twice)
        if twice:
            loss.backward()


def _own(t):
    """A private copy of a torch tensor, for an op to save: no later write reaches it."""
    return t.clone()


def _index(spec):
    kind, *rest = spec
    if kind == "int":
        return rest[0]
    if kind == "slice":
        return slice(*rest)
    if kind == "array":
        return np.array(rest[0])
    return (slice(None), rest[0])  # "column"


def _torch_index(index):
    if isinstance(index, np.ndarray):
        return torch.tensor(index)
    return index


VIEWS = {"reshape", "transpose", "index", "detach", "squeeze"}  # results that share memory


def _is_view(statement) -> bool:
    return statement[0] in VIEWS or (statement[0] == "along" and statement[1] in ALONG_VIEWS)


def _overlapping(write, operand, ours):
    """``write(operand)``; torch refuses an operand that overlaps the target in part (a
    reshaped view of it), where numpy's (ours) gives the right answer, as with a copy."""
    try:
        write(operand)
    except RuntimeError as error:
        if ours or "refer to a single memory location" not in str(error):
            raise
        write(operand.clone())


def _statement(lib, env, statement):
    """The new value of a statement, or None for an update in place."""
    kind, *args = statement
    ours = lib.name == "ours"
    view = _is_view(statement)
    get = (lambda i: env[i]) if not lib.private or view else (lambda i: _own(env[i]))
    if kind == "unary":
        name, i = args
        return UNARY[name][0 if ours else 1](get(i))
    if kind == "binary":
        name, i, j = args
        return BINARY[name][0 if ours else 1](get(i), get(j))
    if kind == "number":
        name, i, c, left = args
        op = BINARY[name][0]
        return op(c, get(i)) if left else op(get(i), c)
    if kind == "along":
        name, i, axis = args
        return ALONG[name][0 if ours else 1](get(i), axis)
    if kind == "join":
        name, indices = args
        return JOINS[name][0 if ours else 1]([get(i) for i in indices])
    if kind == "squeeze":
        return env[args[0]].squeeze()
    if kind == "mse":
        i, j, reduction = args
        return lib.mse(get(i), get(j), reduction)
    if kind == "bce":
        i, targets, reduction = args
        return lib.bce(get(i), np.array(targets), reduction)
    if kind == "matmul":
        i, j, transposed = args
        b = get(j)
        return get(i) @ (b.swapaxes(-1, -2) if transposed else b)
    if kind == "reduce":
        name, i, axis, keepdims = args
        return lib.reduce(name, get(i), axis, keepdims)
    if kind == "reshape":
        i, shape = args
        return env[i].reshape(shape)
    if kind == "transpose":
        (i,) = args
        axes = tuple(reversed(range(env[i].ndim)))
        return env[i].transpose(*axes) if ours else env[i].permute(axes)
    if kind == "index":
        i, spec = args
        index = _index(spec)
        return env[i][index if ours else _torch_index(index)]
    if kind == "mask index":
        i, j = args
        return get(i)[lib.mask(env[j], 0.0)]
    if kind == "where":
        i, j, a, b = args
        return lib.where(lib.mask(env[i], env[j]), get(a), get(b))
    if kind == "ce":
        i, labels, reduction = args
        return lib.ce(get(i), np.array(labels), reduction)
    if kind == "l2":
        return lib.l2(*[get(i) for i in args[0]])
    if kind in ("concatenate", "stack"):
        indices, axis = args
        return getattr(lib, kind)([get(i) for i in indices], axis)
    if kind == "detach":
        return env[args[0]].detach()
    if kind == "clone":
        return env[args[0]].clone()
    if kind in ("in place", "in place, no_grad"):
        name, target, operand = args
        other = operand if isinstance(operand, float) else get(operand)
        with lib.no_grad() if kind.endswith("no_grad") else nullcontext():
            _overlapping(lambda x: IN_PLACE[name](env[target], x), other, ours)
        return None
    if kind == "setitem":
        target, spec, operand = args
        index = _index(spec)
        other = operand if isinstance(operand, float) else get(operand)
        _overlapping(
            lambda x: env[target].__setitem__(index if ours else _torch_index(index), x),
            other,
            ours,
        )
        return None
    raise AssertionError(kind)


class Run:
    """One library's run of a program, statement by statement."""

    def __init__(self, lib, arrays) -> None:
        self.lib = lib
        pairs = [lib.leaf(a) for a in arrays]
        self.leaves = [p[0] for p in pairs]
        self.grad = pairs[0][1]
        self.env = list(self.leaves)
        self.raised: str | None = None
        self.infinite_product = False  # see _torch_nan_of_a_product

    def _note_infinite_product(self, statement) -> None:
        if tuple(statement[:2]) in (("reduce", "prod"), ("along", "cumprod")):
            values = self.lib.array(self.env[statement[2]])
            self.infinite_product |= bool(np.isinf(values).any())

    def step(self, statement) -> bool:
        """Run one statement; False (and ``raised`` the message) when it raised."""
        self._note_infinite_product(statement)
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                out = _statement(self.lib, self.env, statement)
        except (RuntimeError, ValueError, TypeError, IndexError) as error:
            self.raised = f"{type(error).__name__}: {error}"
            return False
        if out is not None:
            self.env.append(_own(out) if self.lib.private and not _is_view(statement) else out)
        return True

    def finish(self, seed, writes, phase, directions):
        """The loss, the leaves written under no_grad, then backward or grad: a dict of
        results, or the message of the error raised."""
        lib = self.lib
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                rng = np.random.RandomState(seed)
                terms = [  # every value that requires grad, weighted, as the loss
                    (v * lib.const(rng.uniform(0.5, 1.5, size=v.shape))).sum()
                    for v in self.env
                    if v.requires_grad
                ]
                if not terms:
                    return {"no graph": True}
                loss = sum(terms[1:], terms[0])
                for leaf, c in writes:
                    with lib.no_grad():
                        self.leaves[leaf] -= c
                result = {"loss": lib.array(loss).copy()}
                if phase == "hvp":
                    firsts = self.grad(loss, self.leaves, create_graph=True, allow_unused=True)
                    result["first"] = [None if g is None else lib.array(g).copy() for g in firsts]
                    live = [
                        (g * lib.const(d)).sum()
                        for g, d in zip(firsts, directions)
                        if g is not None and g.requires_grad
                    ]
                    if live:
                        total = sum(live[1:], live[0])
                        seconds = self.grad(total, self.leaves, allow_unused=True)
                        result["second"] = [
                            None if h is None else lib.array(h).copy() for h in seconds
                        ]
                else:
                    lib.backward(loss, phase == "backward twice")
                    result["grad"] = [
                        None if leaf.grad is None else lib.array(leaf.grad).copy()
                        for leaf in self.leaves
                    ]
                return result
        except RuntimeError as error:
            return f"RuntimeError: {error}"


# ---------------------------------------------------------------------- drawing programs
def _broadcasts(*shapes) -> bool:
    try:
        np.broadcast_shapes(*shapes)
    except ValueError:
        return False
    return True


def _index_specs(shape):
    """Indices of a value of ``shape``: basic ones (views) and integer arrays (copies)."""
    if not shape or 0 in shape:
        return []
    n = shape[0]
    specs = [("int", n - 1), ("slice", 1, None, None), ("slice", None, None, 2)]
    specs += [("array", [n - 1, 0, n - 1]), ("array", [0] * 2)]
    if len(shape) > 1:
        specs.append(("column", shape[1] - 1))
    return specs


def _draw_statement(draw, shapes, leaves):
    """One statement over values of ``shapes`` (the first ``leaves`` are the leaves)."""
    n = len(shapes)
    pick = lambda among=None: draw(st.sampled_from(among if among is not None else range(n)))  # noqa: E731
    kind = draw(
        st.sampled_from(
            [
                "unary", "binary", "number", "matmul", "reduce", "reshape", "transpose",
                "index", "mask index", "where", "ce", "l2", "concatenate", "stack", "detach",
                "clone", "in place", "in place, no_grad", "setitem", "unary", "binary",
                "along", "along", "join", "squeeze", "mse", "bce",
            ]
        )
    )  # fmt: skip
    i = pick()
    shape = shapes[i]
    same_or_broadcast = [j for j in range(n) if _broadcasts(shape, shapes[j])]
    operand = lambda: draw(st.sampled_from([*same_or_broadcast, *NUMBERS]))  # noqa: E731
    if kind == "unary":
        # softmax of a 0-d value: axis -1 is out of range, a ValueError as numpy's (docs/api.md,
        # "An axis out of range (here and in every axis argument) is a ValueError"); torch's is 1
        names = sorted(UNARY) if shape else sorted(set(UNARY) - {"softmax"})
        return ("unary", draw(st.sampled_from(names)), i)
    if kind == "binary":
        return ("binary", draw(st.sampled_from(sorted(BINARY))), i, pick(same_or_broadcast))
    if kind == "number":
        name = draw(st.sampled_from(["+", "-", "*", "/"]))
        return ("number", name, i, draw(st.sampled_from(NUMBERS)), draw(st.booleans()))
    if kind == "matmul":
        fits = [
            (j, t)
            for j in range(n)
            for t in (False, True)
            if len(shape) >= 2
            and len(shapes[j]) >= 2
            and shape[-1] == shapes[j][-2 if not t else -1]
            and _broadcasts(shape[:-2], shapes[j][:-2])
        ]
        if fits:
            return ("matmul", i, *draw(st.sampled_from(fits)))
        return ("unary", "tanh", i)
    if kind == "reduce":
        axis = draw(st.sampled_from([None, *range(len(shape))]))
        # var and std over no element: a ValueError here, NaN in torch (docs/api.md,
        # Tensor.var: "n - ddof ≤ 0 is a ValueError")
        names = ["sum", "mean", "max", "min", "prod"] + (["var", "std"] if 0 not in shape else [])
        name = draw(st.sampled_from(names))
        return ("reduce", name, i, axis, draw(st.booleans()))
    if kind == "along":
        if not shape:
            return ("unary", "tanh", i)
        axis = draw(st.sampled_from(range(len(shape))))
        return ("along", draw(st.sampled_from(sorted(ALONG))), i, axis)
    if kind == "join":
        same = [j for j in range(n) if shapes[j] == shape]
        indices = [i, *draw(st.lists(st.sampled_from(same), max_size=2))]
        return ("join", draw(st.sampled_from(sorted(JOINS))), indices)
    if kind == "squeeze":
        return ("squeeze", i)
    # an empty batch's mean is a ValueError here and NaN in torch (docs/api.md, "On an
    # empty batch (N = 0)"): "sum" and "none" alone there
    reduction = st.sampled_from(["sum", "none"] if 0 in shape else ["mean", "sum", "none"])
    if kind == "mse":
        return ("mse", i, pick([j for j in range(n) if shapes[j] == shape]), draw(reduction))
    if kind == "bce":
        targets = np.random.RandomState(draw(st.integers(0, 99))).uniform(0, 1, size=shape)
        return ("bce", i, targets.tolist(), draw(reduction))
    if kind == "reshape":
        size = int(np.prod(shape))
        options = [(size,), (1, size), tuple(reversed(shape)), (*shape, 1)]
        return ("reshape", i, draw(st.sampled_from(options)))
    if kind == "transpose":
        return ("transpose", i)
    if kind in ("index", "setitem"):
        specs = _index_specs(shape)
        if not specs:
            return ("clone", i)
        spec = draw(st.sampled_from(specs))
        if kind == "index":
            return ("index", i, spec)
        indexed = np.zeros(shape)[_index(spec)].shape
        values = [
            j
            for j in range(n)
            if _broadcasts(indexed, shapes[j]) and len(shapes[j]) <= len(indexed)
        ]
        return ("setitem", i, spec, draw(st.sampled_from([*values, *NUMBERS])))
    if kind == "mask index":
        return ("mask index", i, pick([j for j in range(n) if shapes[j] == shape]))
    if kind == "where":
        j = pick(same_or_broadcast)
        a, b = pick(same_or_broadcast), pick(same_or_broadcast)
        if not _broadcasts(shape, shapes[j], shapes[a], shapes[b]):
            a = b = i
        return ("where", i, j, a, b)
    if kind == "ce":
        # an empty batch's mean is a ValueError here and NaN in torch (docs/api.md): rows
        # only, and classes (a diagonal can leave none)
        if len(shape) != 2 or 0 in shape:
            return ("reduce", "sum", i, None, False)
        labels = draw(st.lists(st.integers(0, shape[1] - 1), min_size=shape[0], max_size=shape[0]))
        return ("ce", i, labels, draw(st.sampled_from(["mean", "sum", "none"])))
    if kind == "l2":
        return ("l2", draw(st.lists(st.sampled_from(range(n)), min_size=1, max_size=3)))
    if kind in ("concatenate", "stack"):
        if not shape:
            return ("clone", i)
        axis = draw(st.sampled_from(range(len(shape))))
        if kind == "concatenate":
            ok = [
                j
                for j in range(n)
                if len(shapes[j]) == len(shape)
                and all(a == b for k, (a, b) in enumerate(zip(shape, shapes[j])) if k != axis)
            ]
        else:
            ok = [j for j in range(n) if shapes[j] == shape]
        return (kind, [i, *draw(st.lists(st.sampled_from(ok), min_size=1, max_size=2))], axis)
    if kind in ("detach", "clone"):
        return (kind, i)
    # in place: any target (leaves are refused outside no_grad, as torch refuses them)
    return (kind, draw(st.sampled_from(sorted(IN_PLACE))), i, operand())


def _leaf_arrays(shapes, seed):
    rng = np.random.RandomState(seed)
    return [rng.uniform(-2.0, 2.0, size=s) for s in shapes]


# ---------------------------------------------------------------------- comparing
IN_PLACE_ERRORS = (
    "modified by an inplace operation",
    "a leaf Variable that requires grad is being used in an in-place operation",
    "a view of a leaf Variable that requires grad is being used in an in-place operation",
)


def _assert_close(ours, theirs, what, torch_nan_ok=False):
    if torch_nan_ok and ours is not None and theirs is not None:
        theirs = np.where(np.isnan(theirs) & ~np.isnan(ours), ours, theirs)
    if ours is None or theirs is None:  # an unused leaf: None or zeros, either is no number
        ours, theirs = (
            np.zeros(np.shape(theirs if a is ours else ours)) if a is None else a
            for a in (ours, theirs)
        )
    assert np.shape(ours) == np.shape(theirs), (
        f"{what}: shape {np.shape(ours)}, torch's {np.shape(theirs)}"
    )
    finite = (
        np.abs(theirs[np.isfinite(theirs)])
        if np.ndim(theirs)
        else np.abs(theirs[None][np.isfinite(theirs[None])])
    )
    scale = max(1.0, float(finite.max())) if finite.size else 1.0
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-11 * scale, err_msg=what)


def _assert_same_verdict(ours, theirs, where):
    if theirs is None:
        assert ours is None, f"{where}: ours raised {ours}; torch answers"
        return
    assert ours is not None, f"{where}: torch raised {theirs}; ours answers"
    for phrase in IN_PLACE_ERRORS:
        if phrase in theirs:
            assert phrase in ours, f"{where}: ours raised {ours}; torch {theirs}"
            return


def _assert_same_results(ours, theirs, label, torch_nan_ok=False):
    # no second derivatives on one side: no first derivative required grad there (ours
    # leaves the gradient of abs or relu, piecewise constant, out of the graph; torch's
    # stays in it): the other side's must then be zeros
    for a, b in ((ours, theirs), (theirs, ours)):
        if "second" in a and "second" not in b:
            b["second"] = [None] * len(a["second"])
    assert set(ours) == set(theirs), (label, set(ours), set(theirs))
    for key, value in theirs.items():
        if isinstance(value, list):
            for k, (a, b) in enumerate(zip(ours[key], value, strict=True)):
                _assert_close(a, b, f"{label}: {key} of leaf {k}", torch_nan_ok)
        elif key == "loss":
            _assert_close(ours[key], value, f"{label}: loss")


def _torch_nan_of_a_product(run) -> bool:
    """docs/api.md, prod: each element's gradient is the product of the others, exact
    where one is infinite; torch's divides the product by the element, inf / inf = NaN.
    Where a product of the program saw an infinity, a NaN derivative of torch's may stand
    against a number of ours."""
    if run.infinite_product:
        event("a product saw an infinity: torch's NaN derivatives let stand against ours")
    return run.infinite_product


# docs/api.md: "Where an op saves an input and torch's saves its output, a write into that
# input after the forward is refused here and allowed by torch": the ops that do, and the
# phases in which they refuse
SAVES_AN_INPUT = {"Div": ("backward", "backward twice", "hvp"), "SoftmaxCrossEntropy": ("hvp",)}


def _refused_on_purpose(got, expected, phase):
    if not isinstance(got, str) or isinstance(expected, str) or IN_PLACE_ERRORS[0] not in got:
        return False
    op = got.split(" saved by ")[-1].split(" ")[0]
    return phase in SAVES_AN_INPUT.get(op, ())


def _refused_logits(ours, theirs, statement):
    """docs/api.md, "### functional": logits that are not finite are refused (ValueError);
    torch's cross-entropies answer (inf or NaN)."""
    return statement[0] in ("ce", "bce") and theirs is None and "must be finite" in (ours or "")


def check_program(arrays, program, writes, phase, seed):
    ours = Run(_Ours, arrays)
    theirs = Run(_Torch(private=False), arrays)
    for position, statement in enumerate(program):
        done = ours.step(statement), theirs.step(statement)
        if not all(done) and _refused_logits(ours.raised, theirs.raised, statement):
            event(f"{statement[0]} of logits not finite refused on purpose")
            return
        if not all(done):
            _assert_same_verdict(ours.raised, theirs.raised, f"statement {position} {statement}")
            event(f"statement refused: {(theirs.raised or '')[:40]}")
            return
    for k, (a, b) in enumerate(zip(ours.env, theirs.env, strict=True)):
        assert a.requires_grad == b.requires_grad, f"value {k}: requires_grad {a.requires_grad}"
        _assert_close(_Ours.array(a), _Torch.array(b), f"value {k}")
    directions = [np.random.RandomState(seed + 1).uniform(-1, 1, size=a.shape) for a in arrays]
    got = ours.finish(seed, writes, phase, directions)
    expected = theirs.finish(seed, writes, phase, directions)
    if isinstance(expected, str) and IN_PLACE_ERRORS[0] in expected and not isinstance(got, str):
        # ours kept the arrays the ops saved: the answer must be the mathematically right one
        private = Run(_Torch(private=True), arrays)
        assert all(private.step(s) for s in program), private.raised
        expected = private.finish(seed, writes, phase, directions)
        assert not isinstance(expected, str), f"torch refuses a write ours let through: {expected}"
        label = "as torch's with private saved arrays"
        _assert_same_results(got, expected, label, _torch_nan_of_a_product(ours))
        event("torch refuses a backward, ours answers as torch's with private saved arrays")
        return
    if _refused_on_purpose(got, expected, phase):
        event(f"{phase} refused on purpose: {got.split(' saved by ')[-1][:30]}")
        return
    if isinstance(expected, str) or isinstance(got, str):
        _assert_same_verdict(
            got if isinstance(got, str) else None,
            expected if isinstance(expected, str) else None,
            phase,
        )
        event(f"{phase} refused: {expected[:40]}")
        return
    _assert_same_results(got, expected, phase, _torch_nan_of_a_product(ours))
    event(f"{phase} compared")


@st.composite
def programs(draw):
    shapes = draw(st.lists(st.sampled_from(SHAPES), min_size=1, max_size=3))
    seed = draw(st.integers(0, 2**16))
    arrays = _leaf_arrays(shapes, seed)
    ours = Run(_Ours, arrays)  # the values so far, whose shapes the next statement fits
    program = []
    for _ in range(draw(st.integers(3, 12))):
        program.append(_draw_statement(draw, [v.shape for v in ours.env], len(arrays)))
        if not ours.step(program[-1]):
            break
    writes = draw(
        st.lists(
            st.tuples(st.sampled_from(range(len(arrays))), st.sampled_from(NUMBERS)), max_size=2
        )
    )
    phase = draw(st.sampled_from(["backward", "backward twice", "hvp"]))
    return arrays, program, writes, phase, seed


@fuzz_settings(200)
@given(programs())
def test_random_programs_agree_with_torch(case):
    check_program(*case)


@pytest.mark.slow
@fuzz_settings(5000)
@given(programs())
def test_random_programs_agree_with_torch_many(case):
    check_program(*case)
