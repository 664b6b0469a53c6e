"""Tensor: construction, attributes, backward semantics, no_grad, errors."""

import numpy as np
import pytest

from tinygrad_moons import Tensor, no_grad


# ---------------------------------------------------------------- construction
@pytest.mark.parametrize(
    "data",
    [
        [1, 2, 3],
        3,
        2.5,
        True,
        np.array([1, 2], dtype=np.int32),
        np.array([1.5, 2.5], dtype=np.float32),
        np.array([True, False]),
    ],
)
def test_data_of_every_numeric_kind_becomes_float64(data):
    t = Tensor(data)
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t.data, np.asarray(data, dtype=np.float64))


def test_constructor_copies_so_the_callers_array_is_never_changed():
    source = np.array([1.0, 2.0])
    t = Tensor(source, requires_grad=True)
    t.data -= 10.0
    np.testing.assert_array_equal(source, [1.0, 2.0])


def test_constructor_refuses_non_numeric_data_naming_the_dtype():
    with pytest.raises(TypeError, match="<U1"):
        Tensor(["a", "b"])


@pytest.mark.parametrize("ragged", [[[1, 2], [3]], [1.0, [2.0, 3.0]]])
def test_ragged_data_is_refused_in_our_words_not_numpys(ragged):
    with pytest.raises(ValueError, match="Tensor data must be rectangular") as error:
        Tensor(ragged)
    assert "inhomogeneous" not in str(error.value)


def test_attributes():
    t = Tensor(np.zeros((2, 3)), requires_grad=True)
    assert t.shape == (2, 3) and t.ndim == 2 and t.grad is None and t.requires_grad
    assert Tensor([[4.0]]).item() == 4.0
    assert t.numpy() is t.data


def test_item_of_a_many_element_tensor_names_its_shape():
    with pytest.raises(ValueError, match=r"\(2,\)"):
        Tensor([1.0, 2.0]).item()


def test_truth_of_a_tensor_is_its_one_value_else_ambiguous_as_in_torch():
    assert not Tensor([0.0]) and not Tensor(0.0) and Tensor([[2.0]])
    for many in (Tensor([1.0, 2.0]), Tensor(np.zeros((0,)))):
        with pytest.raises(ValueError, match=r"truth value of a tensor of shape \(\d?,?\d?\)"):
            bool(many)


def test_assigning_a_grad_of_another_shape_is_refused_naming_both_shapes():
    # As torch: a (3,) grad on a (2, 3) weight would broadcast in SGD's step and move
    # every row by the same numbers, silently.
    w = Tensor(np.zeros((2, 3)), requires_grad=True)
    for wrong in (np.ones(3), np.ones((1, 3)), np.ones((3, 2)), Tensor(np.ones(6))):
        with pytest.raises(ValueError, match=r"grad of shape \(.*\) to a tensor of shape \(2, 3\)"):
            w.grad = wrong
        assert w.grad is None


def test_an_assigned_grad_is_a_float64_array_the_optimiser_and_backward_can_use():
    from tinygrad_moons import optim

    w = Tensor(np.zeros((1, 2)), requires_grad=True)
    own = np.ones((1, 2))
    w.grad = own
    assert w.grad is own  # an array of the right kind is kept itself, as torch keeps it
    w.grad = Tensor([[1.0, 2.0]])  # a Tensor or a list: its float64 copy
    assert type(w.grad) is np.ndarray and w.grad.dtype == np.float64
    w.grad = [[1, 2]]
    optim.SGD([w], lr=0.5).step()
    np.testing.assert_array_equal(w.data, [[-0.5, -1.0]])
    (w * 1.0).sum().backward()  # adds into the assigned gradient
    np.testing.assert_array_equal(w.grad, [[2.0, 3.0]])


def test_float_and_int_of_a_one_element_tensor_as_in_torch():
    assert float(Tensor([[2.5]])) == 2.5 and int(Tensor(-2.7)) == -2
    assert type(float(Tensor(1.0))) is float and type(int(Tensor([3.0]))) is int
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        float(Tensor([1.0, 2.0]))
    with pytest.raises(TypeError, match="0-d tensor"):
        len(Tensor(1.0))
    assert len(Tensor(np.zeros((3, 2)))) == 3


def test_detach_shares_data_and_leaves_the_graph():
    x = Tensor([1.0, 2.0], requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    np.testing.assert_array_equal(d.data, [2.0, 4.0])


def test_repr_is_readable():
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "Tensor([1., 2.], requires_grad=True)"
    assert repr(x * 2) == "Tensor([2., 4.], grad_fn=Mul)"
    assert repr(Tensor(3.0)) == "Tensor(3.)"


def test_argmax_is_an_array_without_gradient():
    t = Tensor([[1.0, 3.0, 2.0], [5.0, 0.0, 1.0]], requires_grad=True)
    np.testing.assert_array_equal(t.argmax(), [1, 0])
    np.testing.assert_array_equal(t.argmax(axis=0), [1, 0, 0])
    assert isinstance(t.argmax(), np.ndarray)


@pytest.mark.parametrize("axis", [-1, 0, 1, None])
@pytest.mark.parametrize("keepdims", [False, True])
def test_argmax_takes_numpys_axis_and_keepdims(axis, keepdims):
    """What docs/api.md's refusal of torch's keepdim= tells a user to write works."""
    values = np.array([[1.0, 3.0, 2.0], [5.0, 0.0, 5.0]])
    got = Tensor(values).argmax(axis, keepdims=keepdims)
    want = np.argmax(values, axis=axis, keepdims=keepdims)
    assert np.shape(got) == want.shape
    np.testing.assert_array_equal(got, want)


def test_argmax_refuses_torchs_keywords_and_a_string_keepdims_naming_numpys():
    t = Tensor([[1.0, 3.0]])
    with pytest.raises(TypeError, match="keepdims=, not torch's keepdim="):
        t.argmax(dim=0, keepdim=True)
    with pytest.raises(TypeError, match="Tensor.argmax's keepdims takes True or False"):
        t.argmax(0, keepdims="False")


# ---------------------------------------------------------------- operands
def test_arrays_and_numbers_combine_on_either_side():
    x = Tensor([1.0, 2.0], requires_grad=True)
    a = np.array([10.0, 20.0])
    for result, expected in [
        (x + a, [11, 22]),
        (a + x, [11, 22]),
        (a - x, [9, 18]),
        (2 * x, [2, 4]),
        (x / 2, [0.5, 1]),
        (2 / x, [2, 1]),
        (3 - x, [2, 1]),
        (np.float64(2.0) * x, [2, 4]),
    ]:
        assert isinstance(result, Tensor)
        np.testing.assert_allclose(result.data, expected)


def test_matmul_of_incompatible_shapes_names_both():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 3\)"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((2, 3)))


def test_matmul_of_a_vector_that_does_not_fit_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(3,\).*\(4, 2\)"):
        Tensor(np.ones(3)) @ np.ones((4, 2))


def test_power_takes_a_number_a_tensor_or_an_array_as_exponent():
    x = Tensor([2.0, 3.0], requires_grad=True)
    for exponent in (2, Tensor([2.0, 2.0]), np.array([2.0, 2.0])):
        np.testing.assert_array_equal((x**exponent).data, [4.0, 9.0])
    assert type((x ** Tensor(2.0))._ctx).__name__ == "TensorPow"


def test_indexing_with_a_tensor_is_refused():
    with pytest.raises(TypeError, match="not with a Tensor"):
        Tensor([1.0, 2.0])[Tensor([0.0])]


# ---------------------------------------------------------------- backward
def test_scalar_backward_is_seeded_with_one():
    x = Tensor(3.0, requires_grad=True)
    (x * x).backward()
    assert x.grad == 6.0


def test_backward_on_non_scalar_without_grad_names_the_shape():
    x = Tensor(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        (x * 2).backward()


def test_backward_with_grad_of_wrong_shape_names_both_shapes():
    x = Tensor(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 2\)"):
        (x * 2).backward(np.ones(3))


def test_backward_with_explicit_grad_is_a_vector_jacobian_product():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * x).backward(np.array([1.0, 10.0]))
    np.testing.assert_array_equal(x.grad, [2.0, 40.0])


def test_backward_on_a_tensor_that_does_not_require_grad_is_refused():
    with pytest.raises(ValueError, match="does not require grad"):
        (Tensor([1.0]) * 2).sum().backward()


def test_reused_node_accumulates():
    x = Tensor(2.0, requires_grad=True)
    y = x * x * x  # x used three times
    y.backward()
    assert x.grad == pytest.approx(12.0)


def test_diamond_accumulates_both_paths():
    x = Tensor(0.5, requires_grad=True)
    shared = x.tanh()
    out = shared * 3 + shared.exp()
    out.backward()
    d_shared = 3 + np.exp(np.tanh(0.5))
    assert x.grad == pytest.approx(d_shared * (1 - np.tanh(0.5) ** 2), rel=1e-14)


def test_two_backward_calls_add_up():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x * x).sum()
    y.backward()
    y.backward()
    np.testing.assert_array_equal(x.grad, [4.0, 8.0])


def test_the_same_operand_on_both_sides_of_add_counts_twice():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x + x).sum().backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_backward_does_not_change_the_seed_the_user_passed():
    x = Tensor([1.0, 2.0], requires_grad=True)
    seed = np.array([1.0, 1.0])
    (x + 0).backward(seed)
    (x + 0).backward(seed)
    np.testing.assert_array_equal(seed, [1.0, 1.0])
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


def test_non_leaf_tensors_keep_grad_none():
    x = Tensor([1.0], requires_grad=True)
    hidden = x * 2
    (hidden * 3).sum().backward()
    assert hidden.grad is None and x.grad is not None


def test_inputs_without_requires_grad_get_no_grad():
    x = Tensor([1.0], requires_grad=True)
    c = Tensor([5.0])
    (x * c).sum().backward()
    assert c.grad is None


def test_graph_100000_ops_deep_backpropagates_without_recursion_error():
    x = Tensor(1.0, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0
    y.backward()
    assert x.grad == 1.0


# ---------------------------------------------------------------- no_grad
def test_no_grad_records_no_graph_and_restores_afterwards():
    x = Tensor([1.0], requires_grad=True)
    with no_grad():
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad


def test_no_grad_as_a_decorator():
    @no_grad()
    def double(t):
        return t * 2

    assert not double(Tensor([1.0], requires_grad=True)).requires_grad


def test_no_grad_restores_on_exception():
    x = Tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError), no_grad():
        raise RuntimeError
    assert (x * 2).requires_grad


def test_trace_backward_returns_the_gradient_reaching_every_op():
    from tinygrad_moons.tensor import trace_backward

    x = Tensor([1.0, 2.0], requires_grad=True)
    doubled = x * 2.0
    out = (doubled * doubled).sum()
    reached = trace_backward(out)
    np.testing.assert_array_equal(reached[doubled._ctx], 2 * doubled.data)  # d sum(d^2)/dd
    np.testing.assert_array_equal(x.grad, 8 * x.data)
    assert doubled.grad is None


def test_no_grad_in_one_thread_leaves_another_thread_recording():
    """Both threads are inside their blocks at once: a global flag would fail this."""
    import threading

    inside = threading.Barrier(2, timeout=10)
    results = {}

    def without_graph():
        with no_grad():
            inside.wait()  # the other thread records while this block is open
            results["no_grad"] = (Tensor([1.0], requires_grad=True) * 2).requires_grad
            inside.wait()

    def with_graph():
        inside.wait()
        results["recording"] = (Tensor([1.0], requires_grad=True) * 2).requires_grad
        inside.wait()

    threads = [threading.Thread(target=without_graph), threading.Thread(target=with_graph)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == {"no_grad": False, "recording": True}


def test_a_recorder_sees_every_op_applied_and_reached_in_the_walks_order():
    from tinygrad_moons.tensor import Recorder, backward_order, recording

    class Log(Recorder):
        def __init__(self):
            self.applied_ops, self.reached_ops = [], []

        def applied(self, ctx, args, result):
            self.applied_ops.append(ctx)

        def reached(self, ctx, grad):
            self.reached_ops.append(ctx)

    x = Tensor([1.0, 2.0], requires_grad=True)
    with recording(Log()) as log:
        out = ((x * 2.0).exp() + x).sum()
        out.backward()
    assert log.reached_ops == backward_order(out) == log.applied_ops[::-1]
    with pytest.raises(RuntimeError, match="already installed"), recording(Log()), recording(Log()):
        pass


@pytest.mark.parametrize("value", ["False", "True", 0, 1, None])
def test_requires_grad_takes_a_bool(value):
    """bool("False") is True: a string (or a number) would track gradients silently."""
    with pytest.raises(
        TypeError, match=f"Tensor's requires_grad takes True or False, got {value!r}"
    ):
        Tensor([1.0], requires_grad=value)
    x = Tensor([1.0], requires_grad=np.True_)  # numpy's bools do, as Python bools
    assert x.requires_grad is True
    with pytest.raises(TypeError, match="requires_grad_'s requires_grad takes True or False"):
        x.requires_grad_(value)
    assert x.requires_grad_(np.False_).requires_grad is False
