"""functional: activations, softmax family, the fused losses, l2; stability and validation."""

from fractions import Fraction

import numpy as np
import pytest
from scipy.special import expit, log_softmax, logsumexp, softmax

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, gradcheck

rng = np.random.default_rng(7)
LOGITS = rng.normal(size=(5, 3))
LABELS = np.array([0, 2, 1, 2, 0])


def leaf(values):
    return Tensor(values, requires_grad=True)


# ---------------------------------------------------------------- activations
@pytest.mark.parametrize(
    "fn, expected",
    [
        (F.tanh, np.tanh),
        (F.sigmoid, expit),
        (F.relu, lambda v: np.maximum(v, 0)),
        (F.leaky_relu, lambda v: np.where(v > 0, v, 0.01 * v)),
        (lambda t: F.leaky_relu(t, slope=0.2), lambda v: np.where(v > 0, v, 0.2 * v)),
        (F.softplus, lambda v: np.log1p(np.exp(v))),
    ],
)
def test_activations_match_their_formula_and_gradcheck(fn, expected):
    x = leaf(np.array([[-2.5, -0.7, 0.4], [1.3, 2.2, -1.9]]))
    np.testing.assert_allclose(fn(x).data, expected(x.data), rtol=1e-13)
    assert gradcheck(fn, [x])


def test_activations_accept_arrays_and_stay_finite_far_out():
    big = np.array([-800.0, 800.0])
    for fn in (F.tanh, F.sigmoid, F.softplus, F.relu, F.leaky_relu):
        assert np.all(np.isfinite(fn(big).data))
    np.testing.assert_array_equal(F.softplus(big).data, [0.0, 800.0])


# ---------------------------------------------------------------- softmax family
@pytest.mark.parametrize("axis", [-1, 0])
def test_softmax_and_log_softmax_match_scipy_and_gradcheck(axis):
    x = leaf(LOGITS)
    np.testing.assert_allclose(F.softmax(x, axis=axis).data, softmax(LOGITS, axis=axis))
    np.testing.assert_allclose(F.log_softmax(x, axis=axis).data, log_softmax(LOGITS, axis=axis))
    weights = rng.normal(size=LOGITS.shape)
    assert gradcheck(lambda t: F.softmax(t, axis=axis) * weights, [x])
    assert gradcheck(lambda t: F.log_softmax(t, axis=axis) * weights, [x])


def test_log_softmax_of_1000_and_0_is_exact():
    np.testing.assert_array_equal(F.log_softmax(Tensor([1000.0, 0.0])).data, [0.0, -1000.0])


def test_softmax_of_huge_logits_is_finite():
    np.testing.assert_array_equal(F.softmax(Tensor([[1e4, 0.0]])).data, [[1.0, 0.0]])


# ---------------------------------------------------------------- softmax cross-entropy
def expected_cross_entropy(z, y):
    return logsumexp(z, axis=1) - z[np.arange(len(y)), y]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_softmax_cross_entropy_values_and_gradients(reduction):
    losses = expected_cross_entropy(LOGITS, LABELS)
    expected = {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]
    x = leaf(LOGITS)
    out = F.softmax_cross_entropy(x, LABELS, reduction=reduction)
    np.testing.assert_allclose(out.data, expected, rtol=1e-14)
    assert out.shape == np.shape(expected)
    assert gradcheck(lambda t: F.softmax_cross_entropy(t, LABELS, reduction=reduction), [x])


def test_softmax_cross_entropy_of_logits_near_1e4_is_finite_and_exact():
    z = rng.normal(size=(8, 3)) * 1e4
    y = np.array([0, 1, 2, 0, 1, 2, 0, 1])
    x = leaf(z)
    loss = F.softmax_cross_entropy(x, y, reduction="none")
    assert np.all(np.isfinite(loss.data))
    np.testing.assert_allclose(loss.data, expected_cross_entropy(z, y), rtol=1e-12)
    loss.sum().backward()
    np.testing.assert_allclose(x.grad, softmax(z, axis=1) - np.eye(3)[y], atol=1e-15)


@pytest.mark.parametrize("classes", [1, 2, 3, 16, 17, 40])
@pytest.mark.parametrize("transposed", [False, True])
def test_softmax_cross_entropy_by_class_count_and_layout_against_torch(classes, transposed):
    # 1 to 16 classes are computed class by class, more row by row; logits that are a
    # transpose's data are not C-contiguous
    torch = pytest.importorskip("torch")
    z = rng.normal(size=(classes, 9)).T if transposed else rng.normal(size=(9, classes)) * 3
    y = rng.integers(0, classes, size=9)
    x = leaf(z)
    loss = F.softmax_cross_entropy(x, y, reduction="none")
    (loss * np.arange(1.0, 10.0)).sum().backward()
    zt = torch.tensor(z, requires_grad=True)
    expected = torch.nn.functional.cross_entropy(zt, torch.tensor(y), reduction="none")
    (expected * torch.arange(1.0, 10.0, dtype=torch.float64)).sum().backward()
    np.testing.assert_allclose(loss.data, expected.detach().numpy(), rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(x.grad, zt.grad.numpy(), rtol=1e-13, atol=1e-15)


def test_float_labels_with_whole_values_are_accepted():
    out = F.softmax_cross_entropy(LOGITS, LABELS.astype(float))
    assert out.item() == pytest.approx(expected_cross_entropy(LOGITS, LABELS).mean(), rel=1e-14)


@pytest.mark.parametrize(
    "labels, pattern",
    [
        (np.array([0, 2, 3, 2, 0]), r"\[0, 3\).*label 3 at position 2 is not below 3"),
        (np.array([0, 2, -1, 2, 0]), r"label -1 at position 2 is negative"),
        (np.array([0.0, 1.5, 1.0, 2.0, 0.0]), r"whole numbers.*1\.5 at position 1 is not a whole"),
        (np.array([0.0, 1.0, np.nan, 2.0, 0.0]), r"nan at position 2 is not a number"),
        (np.array([0.0, 1.0, 2.0, -np.inf, 0.0]), r"-inf at position 3 is not finite"),
        (np.array([0, 1, 2]), r"shape \(5,\).*shape \(3,\): row 3 has no label"),
        (np.array([0, 1, 2, 0, 1, 2]), r"shape \(6,\): label 2 at position 5 has no row"),
        (np.zeros((5, 1), int), r"shape \(5, 1\): it is 2-D"),
        (np.array(["a", "b", "c", "a", "b"]), r"integer class indices.*<U1.*'a' at position 0"),
        ([0, 1, "x", 0, 1], r"label 'x' at position 2 is a string"),
        ([0, 1, 2, None, 1], r"label None at position 3 is None"),
        (np.array([0, 1, 1, 0, 1], bool), r"label False at position 0 is a boolean"),
        ([0, 1, 2, 0, 10**30], r"label 10{30} at position 4 is not below 3"),
        (np.array([0, 2**64 - 1, 0, 0, 0], np.uint64), r"label 18446744073709551615 at position 1"),
        ([0, 1, 1 + 2j, 0, 1], r"label \(1\+2j\) at position 2 is a complex"),
        ([0, 1, Fraction(3, 2), 0, 1], r"label Fraction\(3, 2\) at position 2 is not a whole"),
    ],
    ids=[
        "too_large",
        "negative",
        "fractional",
        "nan",
        "infinite",
        "too_few",
        "too_many",
        "two_dimensional",
        "string_array",
        "string_in_a_list",
        "none",
        "booleans",
        "huge_python_int",
        "huge_uint64",
        "complex",
        "fraction",
    ],
)
def test_bad_labels_are_value_errors_naming_value_and_position(labels, pattern):
    with pytest.raises(ValueError, match=pattern):
        F.softmax_cross_entropy(Tensor(LOGITS), labels)


def test_the_first_bad_label_is_named_whatever_kind_comes_later():
    with pytest.raises(ValueError, match=r"label 7.0 at position 1 is not below 3"):
        F.softmax_cross_entropy(Tensor(LOGITS), np.array([0.0, 7.0, 0.5, np.nan, -1.0]))


@pytest.mark.parametrize(
    "labels",
    [
        LABELS.astype(np.uint8),
        LABELS.astype(np.float16),
        LABELS.astype(object),
        [Fraction(int(v)) for v in LABELS],
        Tensor(LABELS.astype(float)),
    ],
    ids=["uint8", "float16", "object", "fractions", "tensor"],
)
def test_labels_of_other_numeric_kinds_give_the_same_loss(labels):
    expected = F.softmax_cross_entropy(LOGITS, LABELS).item()
    assert F.softmax_cross_entropy(LOGITS, labels).item() == expected


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.int32, np.int64, np.uint16])
@pytest.mark.parametrize("bad, position", [(-1, 0), (-128, 4), (3, 2), (127, 4)])
def test_a_bad_integer_label_of_any_width_or_layout_is_found(dtype, bad, position):
    # the check looks at the labels' bits as unsigned integers of their own width: a
    # negative one of any width, in any layout, must still read as too large
    if bad < 0 and np.dtype(dtype).kind == "u":
        pytest.skip("unsigned labels cannot be negative")
    for layout in ("contiguous", "strided"):
        labels = LABELS.astype(dtype)
        labels[position] = bad
        if layout == "strided":
            labels = np.repeat(labels, 2)[::2]
        with pytest.raises(ValueError, match=f"label {bad} at position {position}"):
            F.softmax_cross_entropy(LOGITS, labels)
    assert F.softmax_cross_entropy(LOGITS, LABELS.astype(dtype)[::-1].copy()[::-1]).item() == (
        F.softmax_cross_entropy(LOGITS, LABELS).item()
    )


def test_ragged_labels_are_a_value_error():
    with pytest.raises(ValueError, match="1-D array of class indices"):
        F.softmax_cross_entropy(LOGITS, [0, [1, 2], 0, 1, 2])


def test_logits_without_classes_are_refused():
    with pytest.raises(ValueError, match=r"at least one class.*\(5, 0\)"):
        F.softmax_cross_entropy(np.zeros((5, 0)), LABELS)


# The three losses on an empty batch: (loss, logits, labels or targets)
EMPTY_BATCHES = {
    "softmax_cross_entropy": (F.softmax_cross_entropy, np.zeros((0, 3)), np.zeros(0, int)),
    "binary_cross_entropy": (
        F.binary_cross_entropy_with_logits,
        np.zeros((0, 2)),
        np.zeros((0, 2)),
    ),
    "mse": (F.mse, np.zeros((0, 2)), np.zeros((0, 2))),
}


@pytest.mark.parametrize("name", EMPTY_BATCHES)
def test_the_mean_of_an_empty_batch_is_a_value_error_naming_n_0(name):
    loss, logits, target = EMPTY_BATCHES[name]
    with pytest.raises(ValueError, match=r"empty batch \(N=0"):
        loss(leaf(logits), target, reduction="mean")
    with pytest.raises(ValueError, match=r"N=0"):
        loss(leaf(logits), target)  # "mean" is the default


@pytest.mark.parametrize("name", EMPTY_BATCHES)
def test_an_empty_batch_sums_to_zero_and_has_no_elements_as_torch(name):
    loss, logits, target = EMPTY_BATCHES[name]
    x = leaf(logits)
    total = loss(x, target, reduction="sum")
    assert total.item() == 0.0
    total.backward()
    assert x.grad.shape == logits.shape
    per_element = loss(leaf(logits), target, reduction="none")
    assert per_element.size == 0 and per_element.shape[0] == 0


def test_cross_entropy_refuses_logits_that_are_not_2d_or_not_finite():
    with pytest.raises(ValueError, match=r"\(N, C\).*\(5,\)"):
        F.softmax_cross_entropy(Tensor(LOGITS[:, 0]), LABELS)
    bad = LOGITS.copy()
    bad[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"logits must be finite.*\(3, 1\)"):
        F.softmax_cross_entropy(Tensor(bad), LABELS)


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_cross_entropy_refuses_any_non_finite_logit(value):
    bad = LOGITS.copy()
    bad[2, 0] = value
    with pytest.raises(ValueError, match=r"logits must be finite; found -?(inf|nan).*\(2, 0\)"):
        F.softmax_cross_entropy(Tensor(bad), LABELS)


def test_cross_entropy_takes_finite_logits_whose_squares_overflow():
    # the quick check (a sum of squares) overflows here; the full check must accept them
    huge = np.array([[1e200, -1e200], [3e200, 2e200]])
    loss = F.softmax_cross_entropy(Tensor(huge), [0, 1], reduction="none")
    np.testing.assert_array_equal(loss.data, [0.0, 1e200])


def test_unknown_reduction_is_refused():
    with pytest.raises(ValueError, match="'avg'"):
        F.softmax_cross_entropy(Tensor(LOGITS), LABELS, reduction="avg")


# ---------------------------------------------------------------- binary cross-entropy
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_binary_cross_entropy_with_logits(reduction):
    targets = rng.uniform(size=LOGITS.shape)
    s = expit(LOGITS)
    losses = -(targets * np.log(s) + (1 - targets) * np.log(1 - s))
    expected = {"mean": losses.mean(), "sum": losses.sum(), "none": losses}[reduction]
    x = leaf(LOGITS)
    out = F.binary_cross_entropy_with_logits(x, targets, reduction=reduction)
    np.testing.assert_allclose(out.data, expected, rtol=1e-12)
    assert gradcheck(lambda t: F.binary_cross_entropy_with_logits(t, targets, reduction), [x])
    t = leaf(targets)
    assert gradcheck(lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction), [x, t])


def test_binary_cross_entropy_is_stable_for_huge_logits():
    out = F.binary_cross_entropy_with_logits(Tensor([1e4, -1e4]), np.array([0.0, 1.0]), "none")
    np.testing.assert_allclose(out.data, [1e4, 1e4])


def test_binary_cross_entropy_refuses_bad_targets():
    with pytest.raises(ValueError, match=r"shape \(5, 3\).*\(5,\)"):
        F.binary_cross_entropy_with_logits(Tensor(LOGITS), np.zeros(5))
    targets = np.zeros(LOGITS.shape)
    targets[1, 2] = 1.5
    with pytest.raises(ValueError, match=r"\[0, 1\].*1\.5 at \(1, 2\)"):
        F.binary_cross_entropy_with_logits(Tensor(LOGITS), targets)


# ---------------------------------------------------------------- mse and l2
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse(reduction):
    target = rng.normal(size=LOGITS.shape)
    squares = (LOGITS - target) ** 2
    expected = {"mean": squares.mean(), "sum": squares.sum(), "none": squares}[reduction]
    x = leaf(LOGITS)
    np.testing.assert_allclose(F.mse(x, target, reduction=reduction).data, expected)
    assert gradcheck(lambda t: F.mse(t, target, reduction=reduction), [x])


def test_mse_never_broadcasts_n_against_n_by_1():
    with pytest.raises(ValueError, match=r"\(4,\) and \(4, 1\)"):
        F.mse(Tensor(np.zeros(4)), np.zeros((4, 1)))


def test_l2_is_the_sum_of_squares_of_all_tensors():
    a, b = leaf(rng.normal(size=(2, 3))), leaf(rng.normal(size=(3,)))
    out = F.l2(a, b)
    assert out.item() == pytest.approx(np.sum(a.data**2) + np.sum(b.data**2), rel=1e-14)
    assert gradcheck(lambda x, y: F.l2(x, y), [a, b])
    assert gradcheck(lambda x: F.l2(x), [a])


def test_l2_needs_a_tensor():
    with pytest.raises(ValueError, match="at least one"):
        F.l2()
