"""The ops at the edges of their domains and at ties, against PyTorch in float64: the
value, the first derivatives and the second (``grad(..., create_graph=True)`` against
``torch.autograd.grad(..., create_graph=True)``), NaN and infinities compared as such.

Each row of ``AGREE`` is a point where torch's answer is the right one (or, where the
maths has no value, where both give NaN). ``OURS`` holds the points where we answer
otherwise, on purpose: each with the value we give and why (torch raises, or its NaN is
an artefact of its formula where the limit exists)."""

import numpy as np
import pytest
from torch_twin import assert_same as _assert_same
from torch_twin import ours as _ours
from torch_twin import theirs as _theirs

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor

torch = pytest.importorskip("torch")
TF = torch.nn.functional
inf, nan = np.inf, np.nan


def _pow(p):
    return lambda x: x**p


def _ce(z):
    return F.softmax_cross_entropy(z.reshape(1, -1), np.array([0]), reduction="sum")


def _torch_ce(z):
    return TF.cross_entropy(z.reshape(1, -1), torch.tensor([0]), reduction="sum")


def _sort(x):
    """Sorted, each place weighted by its position: which value lands where shows."""
    return F.sort(x) * Tensor(np.arange(1.0, x.size + 1))


def _torch_sort(x):
    return torch.sort(x, stable=True).values * torch.arange(1.0, x.numel() + 1, dtype=x.dtype)


# name, ours, torch's, the inputs
AGREE = [
    ("sqrt at 0 and below", Tensor.sqrt, torch.sqrt, [0.0, -0.0, -1.0, 4.0, 5e-324]),
    ("abs at 0", Tensor.abs, torch.abs, [0.0, -0.0, -2.0, 3.0]),
    ("sign at 0", Tensor.sign, torch.sign, [0.0, -2.0, 2.0]),
    ("relu at 0", Tensor.relu, torch.relu, [0.0, -1.0, 1.0]),
    (
        "leaky_relu at 0",
        lambda x: F.leaky_relu(x, 0.1),
        lambda x: TF.leaky_relu(x, 0.1),
        [0.0, -1, 1],
    ),
    ("x ** 0", _pow(0.0), _pow(0.0), [0.0, 2.0, -1.0]),
    ("x ** 0.5", _pow(0.5), _pow(0.5), [0.0, 4.0, -3.0]),
    ("x ** 1", _pow(1.0), _pow(1.0), [0.0, 4.0, -2.0]),
    ("x ** 1.5", _pow(1.5), _pow(1.5), [0.0, 4.0]),
    ("x ** 2", _pow(2.0), _pow(2.0), [0.0, 3.0, -3.0]),
    ("x ** 3", _pow(3.0), _pow(3.0), [0.0, -3.0]),
    ("x ** -1", _pow(-1.0), _pow(-1.0), [0.0, 2.0, 1e-200, 1e200]),
    ("x ** -0.5", _pow(-0.5), _pow(-0.5), [0.0, 2.0]),
    ("x ** -2", _pow(-2.0), _pow(-2.0), [-3.0, 1e-100]),
    ("x ** 2.5 below 0", _pow(2.5), _pow(2.5), [-3.0]),
    ("2 ** y", lambda y: 2.0**y, lambda y: 2.0**y, [0.0, -1.0]),
    ("-2 ** y", lambda y: -(2.0**y), lambda y: -(2.0**y), [2.0, 3.0]),
    ("x ** y below 0", lambda x, y: x**y, lambda x, y: x**y, [-2.0, -2.0, -2.0], [1.0, 2.0, 3.0]),
    ("x ** y, y < 0", lambda x, y: x**y, lambda x, y: x**y, [0.0, 2.0], [-1.0, -1.0]),
    ("log at 0", Tensor.log, torch.log, [0.0, -1.0, 5e-324, inf]),
    ("log2 at 0", Tensor.log2, torch.log2, [0.0, -1.0, 5e-324]),
    ("log10 at 0", Tensor.log10, torch.log10, [0.0, -1.0, 5e-324]),
    ("log1p at -1", Tensor.log1p, torch.log1p, [-1.0, -2.0, 0.0]),
    ("exp overflow", Tensor.exp, torch.exp, [-800.0, 800.0]),
    ("expm1 overflow", Tensor.expm1, torch.expm1, [0.0, -800.0, 800.0]),
    ("exp2 overflow", Tensor.exp2, torch.exp2, [-1100.0, 1100.0, 0.0]),
    ("arcsin at ±1", Tensor.arcsin, torch.asin, [1.0, -1.0, 2.0]),
    ("arccos at ±1", Tensor.arccos, torch.acos, [1.0, -1.0, 2.0]),
    ("arctanh at ±1", Tensor.arctanh, torch.atanh, [1.0, -1.0, 2.0]),
    ("arccosh at 1", Tensor.arccosh, torch.acosh, [1.0, 0.5]),
    ("sinh, cosh overflow", lambda x: x.sinh() + x.cosh(), lambda x: x.sinh() + x.cosh(), [800.0]),
    ("sigmoid far out", Tensor.sigmoid, torch.sigmoid, [1e308, -1e308, 800.0, -800.0, inf, -inf]),
    ("tanh far out", Tensor.tanh, torch.tanh, [1e308, -1e308, 800.0, -800.0, inf, -inf]),
    ("softplus far out", F.softplus, TF.softplus, [1e308, -1e308, 800.0, -800.0, inf, -inf]),
    ("x / 0", lambda x, y: x / y, lambda x, y: x / y, [1.0, 0.0, -1.0, 1.0], [0.0, 0.0, 0.0, -0.0]),
    ("1 / y at ±0", lambda y: 1.0 / y, lambda y: 1.0 / y, [0.0, -0.0, 1e-160, 1e160]),
    (
        "x / y, y * y under",
        lambda x, y: x / y,
        lambda x, y: x / y,
        [1e-100, 1e-200],
        [1e-170, 1e-200],
    ),
    ("x / y, y * y over", lambda x, y: x / y, lambda x, y: x / y, [1e300], [1e200]),
    (
        "mod, negative",
        F.mod,
        torch.remainder,
        [-3.0, 3.0, -3.0, 4.0, -4.0, 0.0, 2.5],
        [2.0, -2.0, -2.0, 2.0, -2.0, -2.0, -1.0],
    ),
    (
        "mod by 0 and inf",
        F.mod,
        torch.remainder,
        [1.0, 0.0, 1.0, -1.0, inf],
        [0.0, 0.0, inf, inf, 2.0],
    ),
    # an infinite gradient reaching the side masked off: exactly 0 there, as torch's (not
    # inf * 0 = NaN); sqrt's at 0 and 1 / x's are infinite
    ("relu, sqrt after", lambda x: x.relu().sqrt(), lambda x: x.relu().sqrt(), [-1.0, 0.0, 4.0]),
    ("relu, 1 / x after", lambda x: x.relu() ** -1, lambda x: x.relu() ** -1, [-1.0, 0.0, 2.0]),
    (
        "maximum, sqrt after",
        lambda x, y: F.maximum(x, y).sqrt(),
        lambda x, y: torch.maximum(x, y).sqrt(),
        [-1.0, 0.0, 4.0, 0.0],
        [0.0, 0.0, 1.0, -1.0],
    ),
    (
        "minimum, sqrt after",
        lambda x, y: (-F.minimum(x, y)).sqrt(),
        lambda x, y: (-torch.minimum(x, y)).sqrt(),
        [1.0, 0.0, -4.0, 0.0],
        [0.0, 0.0, -1.0, 1.0],
    ),
    ("maximum tie", F.maximum, torch.maximum, [1.0, 2.0, 3.0, inf], [1.0, 1.0, 4.0, inf]),
    ("maximum, NaN", F.maximum, torch.maximum, [nan, 1.0, nan], [1.0, nan, nan]),
    ("minimum, NaN", F.minimum, torch.minimum, [nan, 1.0, nan], [1.0, nan, nan]),
    ("minimum tie", F.minimum, torch.minimum, [1.0, 2.0, 3.0, -inf], [1.0, 1.0, 4.0, -inf]),
    ("fmax tie, NaN", F.fmax, torch.fmax, [1.0, 2.0, nan, nan, 1.0], [1.0, 1.0, 1.0, nan, nan]),
    ("fmin tie, NaN", F.fmin, torch.fmin, [1.0, 2.0, nan, nan, 1.0], [1.0, 1.0, 1.0, nan, nan]),
    (
        "clip at bounds",
        lambda x: F.clip(x, 0.0, 1.0),
        lambda x: torch.clamp(x, 0.0, 1.0),
        [0.0, 1.0, 0.5, -1.0, 2.0, nan],
    ),
    (
        "clip, tensor bounds at ties",
        F.clip,
        torch.clamp,
        [0.0, 1.0, 0.5, -1.0, 2.0, 0.5, 0.5, nan],
        [0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.5, 0.0],
        [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.5, 1.0],
    ),
    ("max, tied", Tensor.max, torch.amax, [1.0, 3.0, 3.0, 2.0]),
    (
        "max along an axis, tied",
        lambda x: x.reshape(2, 2).max(axis=1),
        lambda x: torch.amax(x.reshape(2, 2), 1),
        [3.0, 3.0, 1.0, 2.0],
    ),
    ("min, tied", Tensor.min, torch.amin, [1.0, 1.0, 3.0]),
    ("max, NaN", Tensor.max, torch.amax, [1.0, nan, 3.0]),
    ("max, infinities", Tensor.max, torch.amax, [inf, inf, 1.0]),
    ("max, all -inf", Tensor.max, torch.amax, [-inf, -inf]),
    (
        "arctan2 at the origin",
        F.arctan2,
        torch.atan2,
        [0.0, 1.0, -0.0, 0.0, 1e200],
        [0.0, 0.0, -1.0, -1.0, 1e200],
    ),
    ("hypot at the origin", F.hypot, torch.hypot, [0.0, 3.0, inf], [0.0, 4.0, 1.0]),
    ("logaddexp at infinities", F.logaddexp, torch.logaddexp, [-inf, inf, 1.0], [-inf, inf, 1.0]),
    ("logaddexp2 at infinities", F.logaddexp2, torch.logaddexp2, [-inf, inf], [-inf, inf]),
    ("softmax, -inf", F.softmax, lambda x: torch.softmax(x, -1), [-inf, 0.0, 1.0]),
    ("softmax, all -inf", F.softmax, lambda x: torch.softmax(x, -1), [-inf, -inf]),
    ("softmax, +inf", F.softmax, lambda x: torch.softmax(x, -1), [inf, 0.0]),
    ("softmax, 1e308", F.softmax, lambda x: torch.softmax(x, -1), [1e308, -1e308, 0.0]),
    ("log_softmax, -inf", F.log_softmax, lambda x: torch.log_softmax(x, -1), [-inf, 0.0, 1.0]),
    ("log_softmax, all -inf", F.log_softmax, lambda x: torch.log_softmax(x, -1), [-inf, -inf]),
    ("log_softmax, 1e308", F.log_softmax, lambda x: torch.log_softmax(x, -1), [1e308, -1e308, 0.0]),
    ("cross-entropy, 1e308", _ce, _torch_ce, [1e308, -1e308, 0.0]),
    ("cross-entropy, -1e308 picked", _ce, _torch_ce, [-1e308, 1e308, 0.0]),
    (
        "2-norm at 0, as (x * x).sum().sqrt()",
        lambda x: (x * x).sum().sqrt(),
        lambda x: (x * x).sum().sqrt(),
        [0.0, 0.0],
    ),
    ("prod, one 0", Tensor.prod, torch.prod, [2.0, 0.0, 3.0]),
    ("prod, two 0s", Tensor.prod, torch.prod, [2.0, 0.0, 3.0, 0.0]),
    ("prod, all 0", Tensor.prod, torch.prod, [0.0, 0.0, 0.0]),
    (
        "prod along an axis, 0s",
        lambda x: x.reshape(2, 3).prod(axis=1),
        lambda x: x.reshape(2, 3).prod(1),
        [0.0, 2.0, 3.0, 0.0, 0.0, 5.0],
    ),
    ("cumprod, one 0", lambda x: x.cumprod(0), lambda x: torch.cumprod(x, 0), [2.0, 0.0, 3.0, 4.0]),
    (
        "cumprod, two 0s",
        lambda x: x.cumprod(0),
        lambda x: torch.cumprod(x, 0),
        [2.0, 0.0, 3.0, 0.0, 5.0],
    ),
    ("cumprod, 0 first", lambda x: x.cumprod(0), lambda x: torch.cumprod(x, 0), [0.0, 2.0, 3.0]),
    ("var of one, ddof 0", Tensor.var, lambda x: x.var(correction=0), [3.0]),
    ("var, ddof N - 1", lambda x: x.var(ddof=2), lambda x: x.var(correction=2), [1.0, 2.0, 4.0]),
    ("var, ddof N - 1, equal", lambda x: x.var(ddof=1), lambda x: x.var(correction=1), [2.0, 2.0]),
    ("std of one, ddof 0", Tensor.std, lambda x: x.std(correction=0), [3.0]),
    ("std, equal", Tensor.std, lambda x: x.std(correction=0), [3.0, 3.0]),
    ("std, ddof N - 1", lambda x: x.std(ddof=2), lambda x: x.std(correction=2), [1.0, 2.0, 4.0]),
    (
        "std, var far out",
        lambda x: x.std() + x.var() * 1e-400,
        lambda x: x.std(correction=0) + x.var(correction=0) * 1e-400,
        [1e200, -1e200],
    ),
    ("mean of none", Tensor.mean, torch.mean, np.zeros(0)),
    (
        "mean along an empty axis",
        lambda x: x.reshape(0, 3).mean(axis=0),
        lambda x: x.reshape(0, 3).mean(0),
        np.zeros(0),
    ),
    ("sort, ties", _sort, _torch_sort, [2.0, 1.0, 2.0, 1.0]),
    ("sort, NaN", _sort, _torch_sort, [2.0, nan, 1.0, -inf]),
    (
        "max_pool2d, tie",
        lambda x: F.max_pool2d(x.reshape(1, 1, 2, 2), 2),
        lambda x: TF.max_pool2d(x.reshape(1, 1, 2, 2), 2),
        [1.0, 3.0, 3.0, 2.0],
    ),
    (
        "max_pool2d, padding ties with -inf",
        lambda x: F.max_pool2d(x.reshape(1, 1, 3, 3), 2, stride=1, padding=1),
        lambda x: TF.max_pool2d(x.reshape(1, 1, 3, 3), 2, stride=1, padding=1),
        [-inf, -inf, -inf, -inf, -inf, 1.0, -inf, nan, -inf],
    ),
    (
        "max_pool2d, overlapping ties",
        lambda x: F.max_pool2d(x.reshape(1, 1, 3, 3), 2, stride=1),
        lambda x: TF.max_pool2d(x.reshape(1, 1, 3, 3), 2, stride=1),
        [1.0] * 9,
    ),
]


@pytest.mark.parametrize(
    ("ours", "theirs", "arrays"), [(c[1], c[2], c[3:]) for c in AGREE], ids=[c[0] for c in AGREE]
)
def test_value_and_two_derivatives_as_torch(ours, theirs, arrays):
    got, want = _ours(ours, arrays), _theirs(theirs, arrays)
    _assert_same(got[0], want[0], "value")
    for order, (ours_d, theirs_d) in enumerate(zip(got[1:], want[1:]), start=1):
        for position, (a, b) in enumerate(zip(ours_d, theirs_d)):
            _assert_same(a, b, f"derivative of order {order}, input {position}")


# name, ours, the inputs, then our value, first and second derivatives, and torch's answer
OURS = [
    (
        # arctan2's slope is x / r^2: torch's r^2 = x^2 + y^2 underflows to 0 and its
        # reciprocal inf is taken as 0; (x / r) / r with r = hypot(x, y) is the float it is
        "arctan2 near the origin: 1 / (2e-200), torch's 0",
        F.arctan2,
        ([1e-200], [1e-200]),
        [np.pi / 4],
        [[5e199], [-5e199]],
        [[nan], [nan]],
    ),
    (
        # torch's NaN is its where() meeting 0 * (-inf) in its own formula; x^y for y > 1
        # is smooth at x = 0 (d2/dx2 of x^2 is 2) and 0^y is 0 for every y > 0
        "x ** y at x = 0, y = 2: the true 2 and 0, torch's NaN",
        lambda x, y: x**y,
        ([0.0], [2.0]),
        [0.0],
        [[0.0], [0.0]],
        [[2.0], [0.0]],
    ),
    (
        # dz/dx = y x^(y-1) is y / x + O(y^2) near y = 0: d2/dxdy = 1/x (the y-derivative
        # torch's mask of dz/dx at y = 0 drops); d2/dx2 stays 0 (x^0 = 1 for every x)
        "x ** y at y = 0, x = 2: d2/dxdy the true 1/2, torch's 0",
        lambda x, y: x**y,
        ([2.0], [0.0]),
        [1.0],
        [[0.0], [np.log(2.0)]],
        [[0.5], [0.5 + np.log(2.0) ** 2]],
    ),
    (
        "0 ** y for y > 0: constant 0, second derivative 0, torch's NaN",
        lambda y: 0.0**y,
        ([1.0, 0.5],),
        [0.0, 0.0],
        [[0.0, 0.0]],
        [[0.0, 0.0]],
    ),
    (
        # sigmoid(x - y) at -inf or +inf: flat, so its derivative is 0 (torch: inf / inf)
        "logaddexp with one side out of reach: second derivative 0, torch's NaN",
        F.logaddexp,
        ([-inf, 1e308], [0.0, -1e308]),
        [0.0, 1e308],
        [[0.0, 1.0], [1.0, 0.0]],
        [[0.0, 0.0], [0.0, 0.0]],
    ),
    (
        "sinc at 0: second derivative the true -pi^2/3 (docs/api.md), torch's NaN",
        Tensor.sinc,
        ([0.0],),
        [1.0],
        [[0.0]],
        [[-(np.pi**2) / 3]],
    ),
    (
        # found by tests/engine/test_program_fuzz.py; torch's is the product / the value
        "prod with an infinite value: the others' product, torch's inf / inf NaN",
        lambda x: x.prod(),
        ([inf, 2.0],),
        [inf],
        [[2.0, inf]],
        [[1.0, 1.0]],
    ),
    (
        "cumprod with an infinite value: 1 + the next, torch's NaN",
        lambda x: x.cumprod(),
        ([inf, 2.0],),
        [inf, inf],
        [[3.0, inf]],
        [[1.0, 1.0]],
    ),
    (
        # outside the domain (x < 1) NaN, as arccosh itself and as arcsin's beyond |x| = 1;
        # torch's (x^2 - 1)^(-1/2) answers for x <= -1 (inf at -1, 0.577 at -2). Ours is
        # (x - 1)^(-1/2) (x + 1)^(-1/2): exact near 1, and no x^2 to overflow at huge x
        "arccosh at x <= -1: derivatives NaN as the value, torch's inf and 0.577",
        Tensor.arccosh,
        ([-1.0, -2.0],),
        [nan, nan],
        [[nan, nan]],
        [[nan, nan]],
    ),
    (
        "floor_divide: derivative 0 (docs/api.md); torch has none for two tensors",
        F.floor_divide,
        ([-3.0, 1.0], [2.0, 0.0]),
        [-2.0, inf],
        [[0.0, 0.0], [0.0, 0.0]],
        [[0.0, 0.0], [0.0, 0.0]],
    ),
]


@pytest.mark.parametrize(
    ("ours", "arrays", "value", "first", "second"),
    [c[1:] for c in OURS],
    ids=[c[0] for c in OURS],
)
def test_where_we_answer_otherwise(ours, arrays, value, first, second):
    got_value, got_first, got_second = _ours(ours, arrays)
    _assert_same(got_value, value, "value")
    for order, (got, want) in enumerate([(got_first, first), (got_second, second)], start=1):
        for position, (a, b) in enumerate(zip(got, want)):
            _assert_same(a, b, f"derivative of order {order}, input {position}")


def test_where_torch_gives_nan_for_bad_input_we_raise():
    """docs/api.md: n - ddof <= 0 and non-finite logits are ValueErrors (torch: NaN, 0)."""
    with pytest.raises(ValueError, match="ddof=1 would divide by 0"):
        Tensor([3.0], requires_grad=True).var(ddof=1)
    with pytest.raises(ValueError, match="ddof=0 would divide by 0"):
        Tensor(np.zeros(0), requires_grad=True).std()
    with pytest.raises(ValueError, match="logits must be finite"):
        _ce(Tensor([0.0, -inf], requires_grad=True))
    with pytest.raises(ValueError, match=r"logits must be finite; found nan at index \(1,\)"):
        F.binary_cross_entropy_with_logits(Tensor([0.0, nan], requires_grad=True), [1.0, 0.0])
