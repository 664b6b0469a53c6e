"""gradcheck itself: full Jacobians, PyTorch's pass rule, messages, input validation."""

import numpy as np
import pytest

from tinygrad_moons import Function, GradcheckError, Tensor, gradcheck


def test_checks_every_element_of_a_non_scalar_output():
    x = Tensor(np.array([[0.1, 0.2], [0.3, 0.4]]), requires_grad=True)
    w = Tensor(np.array([[1.0, -1.0, 0.5], [2.0, 0.0, 1.0]]), requires_grad=True)
    assert gradcheck(lambda a, b: (a @ b).tanh(), [x, w])


def test_only_inputs_that_require_grad_are_checked():
    checked = Tensor([1.0, 2.0], requires_grad=True)
    constant = Tensor([3.0, 4.0])
    assert gradcheck(lambda a, c: a * c, [checked, constant])


def test_a_single_tensor_is_accepted_as_inputs():
    assert gradcheck(lambda t: t.exp(), Tensor([0.5], requires_grad=True))


def test_an_output_independent_of_the_inputs_has_a_zero_jacobian():
    x = Tensor([1.0, 2.0], requires_grad=True)
    assert gradcheck(lambda t: Tensor([5.0]) * 2, [x])


def _wrong_by(delta):
    class Wrong(Function):
        @staticmethod
        def forward(ctx, x):
            return 3.0 * x

        @staticmethod
        def backward(ctx, grad):
            return grad * (3.0 + delta)

    return Wrong


def test_pass_rule_is_atol_plus_rtol_times_numeric():
    x = Tensor(np.array([1.0]), requires_grad=True)
    allowed = 1e-5 + 1e-3 * 3.0
    assert gradcheck(_wrong_by(0.5 * allowed).apply, [x])
    assert not gradcheck(_wrong_by(2.0 * allowed).apply, [x], raise_exception=False)


def test_tolerances_can_be_tightened():
    x = Tensor(np.array([1.0]), requires_grad=True)
    assert not gradcheck(_wrong_by(1e-4).apply, [x], atol=1e-7, rtol=1e-7, raise_exception=False)


def test_error_names_input_element_analytic_and_numeric_values():
    a = Tensor(np.array([1.0, 2.0]), requires_grad=True)
    b = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    wrong = _wrong_by(1.0)
    with pytest.raises(GradcheckError) as info:
        gradcheck(lambda x, y: x.sum() + wrong.apply(y), [a, b])
    message = str(info.value)
    assert "input 1" in message and "element (0, 0)" in message
    assert "analytic 4.0," in message and "numeric 2.99999" in message
    assert isinstance(info.value, AssertionError)


def test_inputs_are_restored_after_the_check():
    x = Tensor(np.array([0.3, 0.7]), requires_grad=True)
    x.grad = np.array([10.0, 20.0])
    before = x.data.copy()
    gradcheck(lambda t: t.sigmoid(), [x])
    np.testing.assert_array_equal(x.data, before)
    np.testing.assert_array_equal(x.grad, [10.0, 20.0])


def test_float32_data_assigned_becomes_float64_so_gradcheck_runs_in_float64():
    x = Tensor([1.0], requires_grad=True)
    x.data = x.data.astype(np.float32)
    assert x.dtype == np.float64
    assert gradcheck(lambda t: t * 2, [x])


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_data_is_refused_naming_the_index(bad):
    x = Tensor([1.0, bad], requires_grad=True)
    with pytest.raises(
        ValueError, match=r"input 0 must be finite; found -?(inf|nan) at index \(1,\)"
    ):
        gradcheck(lambda t: t * 2, [x])


def test_no_input_requiring_grad_is_refused():
    with pytest.raises(ValueError, match="requires_grad"):
        gradcheck(lambda t: t * 2, [Tensor([1.0])])


@pytest.mark.parametrize(
    "fn, named",
    [
        (lambda t: t.data * 2.0, "ndarray"),  # .data: the graph is cut
        (lambda t: 2.0, "float"),
        (lambda t: (t * 2.0, t * 3.0), "tuple: check each output in its own call"),
    ],
)
def test_an_fn_returning_anything_but_one_tensor_is_a_type_error_naming_it(fn, named):
    x = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(TypeError, match=f"must return one Tensor, got {named}"):
        gradcheck(fn, [x])


def test_leaves_read_but_not_checked_keep_their_grad():
    # gradcheck(lambda x: layer(x), [x]): the layer's parameters are walked too, and must
    # not be left holding the sum of every Jacobian row for the next optimiser step.
    w = Tensor([2.0, -1.0], requires_grad=True)
    b = Tensor([0.5, 0.5], requires_grad=True)
    own = np.array([10.0, 20.0])
    b.grad = own
    x = Tensor([1.0, 3.0], requires_grad=True)
    assert gradcheck(lambda x: (x * w + b).tanh(), [x])
    assert w.grad is None and b.grad is own
    np.testing.assert_array_equal(own, [10.0, 20.0])


def test_a_result_whose_shape_depends_on_the_values_is_named_not_a_numpy_broadcast_error():
    x = Tensor([0.5, 1.0 - 1e-7, 3.0], requires_grad=True)  # 1 - 1e-7 crosses 1 within eps
    with pytest.raises(ValueError, match=r"shape \(2,\) with element 1 .* \(1,\) with it lowered"):
        gradcheck(lambda t: t[t.data > 1.0 - 1e-8] * 2.0, [x], eps=1e-6)


def test_gradgradcheck_names_the_input_whose_second_derivative_disagrees():
    """x * x.detach(): its vector-Jacobian product v * x holds x as a constant, so autodiff
    says d(v^T J)/dx = 0 where finite differences see v; the error names input 0, and
    ``position`` carries it."""
    from tinygrad_moons import gradgradcheck

    x = Tensor(np.array([0.5, -1.0, 2.0]), requires_grad=True)
    with pytest.raises(GradcheckError, match=r"with respect to input 0 disagrees") as caught:
        gradgradcheck(lambda t: t * t.detach(), [x])
    assert caught.value.position == 0


@pytest.mark.parametrize("value", ["False", "True", 0, 1, None])
@pytest.mark.parametrize("check", ["gradcheck", "gradgradcheck"])
@pytest.mark.parametrize("option", ["raise_exception", "fast_mode"])
def test_the_switches_take_a_bool(check, option, value):
    """bool("False") is True: raise_exception="False" would raise where False was asked for,
    fast_mode="False" would check one random projection instead of every element."""
    import tinygrad_moons

    run = getattr(tinygrad_moons, check)
    x = Tensor(np.array([0.5, -1.0]), requires_grad=True)
    with pytest.raises(TypeError, match=f"{check}'s {option} takes True or False, got {value!r}"):
        run(lambda t: (t * t).tanh(), [x], **{option: value})
    for ok in (True, False, np.True_, np.False_):  # numpy's bools too
        assert run(lambda t: (t * t).tanh(), [x], **{option: ok}) is True
    wrong = Tensor(np.array([0.5, -1.0]), requires_grad=True)  # x * x.detach(): half of 2x
    assert run(lambda t: t * t.detach(), [wrong], raise_exception=np.False_) is False
