"""PyTorch's habits on Tensor: in-place updates, comparisons, hashing, and numpy refusing
Tensors that require grad; and the import layering that attaches Tensor's methods."""

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, no_grad

ROOT = Path(__file__).resolve().parents[2]
LEAF_MESSAGE = "a leaf Variable that requires grad is being used in an in-place operation"


# ---------------------------------------------------------------- in-place updates
def test_the_pytorch_sgd_update_changes_the_weights_in_place():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 3))
    y = X @ np.array([1.0, -2.0, 0.5])
    w = Tensor(np.zeros(3), requires_grad=True)
    array = w.data
    losses = []
    for _ in range(50):
        loss = ((Tensor(X) @ w.reshape(3, 1)).reshape(20) - y) ** 2
        loss = loss.mean()
        losses.append(loss.item())
        w.grad = None
        loss.backward()
        with no_grad():
            w -= 0.1 * w.grad
    assert losses[-1] < 1e-3 * losses[0]
    assert w.data is array and w.requires_grad and w.is_leaf
    np.testing.assert_allclose(w.data, [1.0, -2.0, 0.5], atol=1e-2)


@pytest.mark.parametrize(
    "update, expected",
    [
        (lambda t: t.__iadd__(2.0), [3.0, 4.0]),
        (lambda t: t.__isub__(np.array([1.0, 1.0])), [0.0, 1.0]),
        (lambda t: t.__imul__(Tensor([2.0, 3.0])), [2.0, 6.0]),
        (lambda t: t.__itruediv__(2.0), [0.5, 1.0]),
        (lambda t: t.__ipow__(2.0), [1.0, 4.0]),
    ],
    ids=["+=", "-=", "*=", "/=", "**="],
)
def test_in_place_operators_write_into_the_same_array(update, expected):
    for requires_grad in (False, True):
        t = Tensor([1.0, 2.0], requires_grad=requires_grad)
        view = t.numpy()
        with no_grad():
            assert update(t) is t
        np.testing.assert_array_equal(view, expected)


def test_in_place_on_a_tensor_without_grad_needs_no_no_grad():
    t = Tensor([1.0, 2.0])
    t += 1.0
    t[0] = 10.0
    np.testing.assert_array_equal(t.data, [10.0, 3.0])


def test_in_place_on_a_leaf_requiring_grad_is_refused_as_pytorch():
    w = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=LEAF_MESSAGE):
        w -= 0.1
    with pytest.raises(RuntimeError, match=LEAF_MESSAGE):
        w[0] = 0.0
    np.testing.assert_array_equal(w.data, [1.0, 2.0])


def test_in_place_on_a_tensor_made_by_an_op_is_recorded_and_keeps_the_old_array_saved():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x.tanh()  # Tanh saved h's own array
    before, identity = h.data, id(h)
    h += 1.0  # recorded: h takes a new array, Tanh keeps the old one
    assert id(h) == identity and h.data is not before and type(h._ctx).__name__ == "Add"
    np.testing.assert_array_equal(before, np.tanh([1.0, 2.0]))
    (h * h).sum().backward()
    a = np.tanh([1.0, 2.0])
    np.testing.assert_allclose(x.grad, 2 * (a + 1) * (1 - a**2))


def test_in_place_under_no_grad_on_a_saved_array_makes_backward_raise_in_torchs_words():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x.tanh()
    y = h.sum()
    with no_grad():
        h *= 2.0  # written into the array Tanh saved: version 1
    assert h._version == 1
    with pytest.raises(
        RuntimeError,
        match=r"modified by an inplace operation.*Tanh is at "
        r"version 1; expected version 0.*clone\(\)",
    ):
        y.backward()


def test_in_place_with_an_operand_requiring_grad_is_recorded_as_torch_does():
    buffer, w = Tensor([0.0, 0.0]), Tensor([1.0, 2.0], requires_grad=True)
    buffer += w
    assert buffer.requires_grad and not buffer.is_leaf
    buffer[:] = w * 3.0
    buffer.sum().backward()
    np.testing.assert_array_equal(w.grad, [3.0, 3.0])
    fresh = Tensor([0.0, 0.0])
    with no_grad():
        fresh += w
    np.testing.assert_array_equal(fresh.data, [1.0, 2.0])
    assert not fresh.requires_grad


def test_in_place_of_a_shape_that_does_not_fit_names_both_shapes():
    t = Tensor(np.zeros(3))
    with pytest.raises(ValueError, match=r"\(3,\); got shape \(2, 3\)"):
        t += np.ones((2, 3))
    with pytest.raises(ValueError, match=r"\(2,\); got shape \(3,\)"):
        t[:2] = np.ones(3)


def test_setitem_takes_indices_of_every_kind_and_refuses_tensor_indices():
    t = Tensor(np.zeros((2, 3)))
    t[0] = 1.0
    t[:, 1] = Tensor([5.0, 6.0])
    t[np.array([False, True])] += 0.0  # read then write back, as numpy
    t[1, np.array([0, 2])] = [7.0, 8.0]
    np.testing.assert_array_equal(t.data, [[1.0, 5.0, 1.0], [7.0, 6.0, 8.0]])
    with pytest.raises(TypeError, match="not with a Tensor"):
        t[Tensor([0.0])] = 1.0


# ---------------------------------------------------------------- comparisons, hashing
def test_comparisons_are_boolean_arrays_that_broadcast_on_either_side():
    t = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    other = Tensor([[3.0], [1.0]])
    for result, expected in [
        (t < 2.0, [True, False, False]),
        (t <= 2.0, [True, True, False]),
        (t > np.array(2.0), [False, False, True]),
        (t >= 2, [False, True, True]),
        (t == 2.0, [False, True, False]),
        (t != 2.0, [True, False, True]),
        (np.array(2.0) < t, [False, False, True]),
        (np.array([3.0, 2.0, 1.0]) == t, [False, True, False]),
        (t < other, [[True, True, False], [False, False, False]]),
    ]:
        assert type(result) is np.ndarray and result.dtype == np.bool_
        np.testing.assert_array_equal(result, expected)


def test_tensors_hash_by_identity_as_torch_so_sets_and_dicts_hold_them():
    a, b = Tensor([1.0]), Tensor([1.0])
    assert len({a, b}) == 2 and {a: "a", b: "b"}[b] == "b"
    assert hash(a) == object.__hash__(a)


# ---------------------------------------------------------------- numpy
def test_numpy_functions_refuse_a_tensor_that_requires_grad():
    t = Tensor(np.ones((2, 2)), requires_grad=True)
    for call in (
        lambda: np.dot(t, np.ones(2)),
        lambda: np.array([t, t]),
        lambda: np.asarray(t),
        lambda: np.sum(t),
        lambda: np.concatenate([t, t]),
        lambda: Tensor([t, t]),
    ):
        with pytest.raises(TypeError, match="requires grad.*F.stack"):
            call()


def test_numpy_functions_work_on_the_data_of_tensors_without_grad():
    t = Tensor([[1.0, 2.0]])
    assert type(np.dot(t, np.ones(2))) is np.ndarray
    np.testing.assert_array_equal(np.concatenate([t, t.detach()]), [[1.0, 2.0], [1.0, 2.0]])
    np.testing.assert_array_equal(np.array([t, t]), [[[1.0, 2.0]], [[1.0, 2.0]]])
    assert np.asarray(t) is t.data
    assert np.asarray(t, dtype=np.float32).dtype == np.float32


def test_the_tensor_ops_are_what_keeps_the_gradient():
    t = Tensor([1.0, 2.0], requires_grad=True)
    F.stack([t, t]).sum().backward()
    np.testing.assert_array_equal(t.grad, [2.0, 2.0])


# ---------------------------------------------------------------- layering
# ---------------------------------------------------------------- axis arguments
@pytest.mark.parametrize(
    "reduce",
    [
        lambda t: t.sum(axis=2),
        lambda t: t.mean(axis=(0, 5)),
        lambda t: t.max(axis=-3),
        lambda t: t.min(axis=2),
        lambda t: t.var(axis=2),
        lambda t: t.std(axis=2),
        lambda t: t.argmax(axis=2),
        lambda t: F.softmax(t, axis=2),
        lambda t: F.log_softmax(t, axis=-3),
    ],
)
def test_an_axis_out_of_range_is_a_value_error_naming_the_shape_not_numpys_axis_error(reduce):
    t = Tensor(np.ones((2, 3)), requires_grad=True)
    with pytest.raises(ValueError, match=r"out of range for shape \(2, 3\)") as error:
        reduce(t)
    assert type(error.value) is ValueError  # numpy's AxisError is a ValueError subclass


def test_tensor_imported_alone_has_its_operators():
    code = (
        "import tinygrad_moons.tensor as m;"
        "t = m.Tensor([2.0], requires_grad=True);"
        "(t * t + t ** 2).sum().backward();"
        "print(t.grad[0], m.Tensor.__add__.__qualname__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["8.0", "Tensor.__add__"]


def package_imports(name):
    """The tinygrad_moons modules a package file imports, read from its source."""
    tree = ast.parse((ROOT / "tinygrad_moons" / name).read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module.startswith("tinygrad_moons"):
            names = [f"{node.module}.{alias.name}" for alias in node.names]
            found.add(node.module if node.module != "tinygrad_moons" else tuple(names))
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("tinygrad_moons")}
    return found


def test_tensor_and_ops_import_each_other_and_nothing_else_of_the_engine():
    """One class, operators included; ops subclass Function and tensor.py binds ops last.
    Its base ``ArrayMethods`` (numpy's composed array methods) imports validate alone, and
    both the tables of torch's spellings (habits.py, which imports nothing). ops reads the
    checks of validate (which imports no other module of the package) for an op applied
    directly, as ``SoftmaxCrossEntropy`` checks its labels."""
    habits = ("tinygrad_moons.habits",)
    assert package_imports("tensor.py") == {
        ("tinygrad_moons.ops",),
        "tinygrad_moons.validate",
        "tinygrad_moons.array_methods",
        habits,
    }
    assert package_imports("array_methods.py") == {"tinygrad_moons.validate", habits}
    assert package_imports("habits.py") == set()
    assert package_imports("ops.py") == {"tinygrad_moons.tensor", "tinygrad_moons.validate"}
    assert not (ROOT / "tinygrad_moons" / "tensor_methods.py").exists()


@pytest.mark.parametrize("method", ["max", "min", "prod", "sum", "mean", "var", "std"])
def test_keepdims_is_refused_where_numpy_refuses_it_and_taken_as_numpy_takes_it(method):
    # max, min and prod handle keepdims themselves: a string or None must not be read as
    # a truth value (bool("False") would keep the axis silently); sum, mean, var and std
    # hand it to numpy, whose TypeError ("'str' object cannot be interpreted as an
    # integer") named no argument
    t = Tensor(np.arange(1.0, 7.0).reshape(2, 3))
    for bad in ("False", "True", None, 1.0):
        with pytest.raises(TypeError, match=f"Tensor.{method}'s keepdims takes True or False"):
            getattr(t, method)(0, keepdims=bad)
    expected = getattr(np, method)(t.data, axis=0, keepdims=True)
    for good in (True, np.True_, 1, 2):
        assert np.array_equal(getattr(t, method)(0, keepdims=good).data, expected)
    assert getattr(t, method)(0, keepdims=0).shape == (3,)
