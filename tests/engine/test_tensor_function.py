"""Function, the extension point: user ops, the engine's checks, and planted wrong backwards."""

import numpy as np
import pytest

from tinygrad_moons import Function, GradcheckError, Tensor, gradcheck


class Softplus(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return np.logaddexp(0.0, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad / (1.0 + np.exp(-x))


class ScaledAdd(Function):
    """z = x + scale * y, with a non-tensor argument in the middle."""

    @staticmethod
    def forward(ctx, x, scale, y):
        ctx.scale = scale
        return x + scale * y

    @staticmethod
    def backward(ctx, grad):
        return grad, None, ctx.scale * grad


def test_a_user_function_records_in_the_graph_and_passes_gradcheck():
    x = Tensor(np.linspace(-3, 3, 7), requires_grad=True)
    y = Softplus.apply(x)
    np.testing.assert_allclose(y.data, np.log1p(np.exp(x.data)))
    assert gradcheck(Softplus.apply, [x])


def test_non_tensor_arguments_reach_forward_unchanged_and_get_no_gradient():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = Tensor([3.0, 4.0], requires_grad=True)
    out = ScaledAdd.apply(x, 10.0, y)
    np.testing.assert_array_equal(out.data, [31.0, 42.0])
    assert gradcheck(lambda a, b: ScaledAdd.apply(a, 10.0, b), [x, y])


def test_context_knows_which_inputs_need_a_gradient():
    seen = {}

    class Probe(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, grad):
            seen["needs"] = ctx.needs_input_grad
            return grad, None

    Probe.apply(Tensor([1.0], requires_grad=True), Tensor([2.0])).sum().backward()
    assert seen["needs"] == (True, False)


def test_backward_returning_the_wrong_shape_is_a_value_error_naming_the_function():
    class WrongShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x.sum()

        @staticmethod
        def backward(ctx, grad):
            return np.ones(3)

    x = Tensor(np.ones((2, 2)), requires_grad=True)
    with pytest.raises(ValueError, match=r"WrongShape.*\(3,\).*\(2, 2\)"):
        WrongShape.apply(x).backward()


def test_backward_returning_too_few_gradients_names_the_function():
    class TooFew(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a + b

        @staticmethod
        def backward(ctx, grad):
            return grad

    a = Tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="TooFew.backward must return a tuple of 2"):
        TooFew.apply(a, a).sum().backward()


def returning(value):
    """A two-input Function whose backward returns ``value(grad)`` for both inputs."""

    class Returning(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, grad):
            return value(grad), value(grad)

    return Returning


BAD_GRADIENTS = [
    (lambda g: np.ones(5), ValueError, r"Returning.backward returned a gradient of shape \(5,\)"),
    (lambda g: Tensor(g), TypeError, "Returning.backward returned a Tensor"),
    (lambda g: g.astype(complex), TypeError, "Returning.backward returned ndarray of dtype"),
    (lambda g: g > 0, TypeError, "Returning.backward returned ndarray of dtype bool"),
    (lambda g: "g", TypeError, "Returning.backward returned str as a gradient"),
]


@pytest.mark.parametrize("bad, error, message", BAD_GRADIENTS)
@pytest.mark.parametrize("where", ["leaf", "intermediate"])
@pytest.mark.parametrize("walk", ["backward", "grad"])
def test_a_bad_gradient_is_named_for_leaf_and_intermediate_inputs_by_both_walks(
    bad, error, message, where, walk
):
    """backward() checks each gradient as it hands it on, grad() through input_gradients:
    both name the Function, whether the input is a leaf or an op's output. (A complex or
    boolean array of the right shape once passed both: its imaginary part would have been
    dropped, or True taken as 1.0.)"""
    from tinygrad_moons import grad

    x = Tensor([1.0, 2.0], requires_grad=True)
    a = x if where == "leaf" else x * 1.0
    out = returning(bad).apply(a, Tensor([3.0, 4.0], requires_grad=True)).sum()
    with pytest.raises(error, match=message):
        out.backward() if walk == "backward" else grad(out, x)


def test_a_backward_may_return_a_list_and_python_numbers_for_0d_inputs():
    class Listed(Function):
        @staticmethod
        def forward(ctx, a, b):
            return a * b

        @staticmethod
        def backward(ctx, grad):
            return [2.0, 3]  # numbers, for the 0-d inputs

    a, b = Tensor(5.0, requires_grad=True), Tensor(7.0, requires_grad=True)
    Listed.apply(a * 1.0, b).backward()
    assert (a.grad, b.grad) == (2.0, 3.0)
    assert a.grad.dtype == b.grad.dtype == np.float64


def test_forward_output_becomes_float64():
    class Count(Function):
        @staticmethod
        def forward(ctx, x):
            return (x > 0).sum()

        @staticmethod
        def backward(ctx, grad):
            return np.zeros(3)

    assert Count.apply(Tensor([1.0, -1.0, 2.0])).dtype == np.float64


# ---------------------------------------------------------------- negative controls
class TanhFromPreactivation(Function):
    """The write-up readers' debate: (1 - z1^2) of the input instead of (1 - a1^2)."""

    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return np.tanh(z)

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        return grad * (1.0 - z**2)


class SquareOffByOnePercent(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 2.0 * x * 1.01


class AddWithoutUnbroadcast(Function):
    @staticmethod
    def forward(ctx, x, y):
        return x + y

    @staticmethod
    def backward(ctx, grad):
        return grad, grad


def test_planted_tanh_backward_with_the_preactivation_fails_gradcheck():
    z = Tensor(np.array([[0.3, -1.2, 2.0]]), requires_grad=True)
    with pytest.raises(GradcheckError):
        gradcheck(TanhFromPreactivation.apply, [z])


def test_planted_tanh_inside_the_two_layer_network_fails_gradcheck():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(6, 2))
    W1 = Tensor(rng.normal(size=(2, 3)), requires_grad=True)
    W2 = Tensor(rng.normal(size=(3, 2)), requires_grad=True)

    def net(w1, w2, tanh):
        return tanh(Tensor(X) @ w1) @ w2

    assert gradcheck(lambda a, b: net(a, b, Tensor.tanh), [W1, W2])
    assert not gradcheck(
        lambda a, b: net(a, b, TanhFromPreactivation.apply), [W1, W2], raise_exception=False
    )


def test_planted_gradient_off_by_one_percent_fails_gradcheck():
    x = Tensor(np.array([0.5, 1.5, -2.0]), requires_grad=True)
    assert not gradcheck(SquareOffByOnePercent.apply, [x], raise_exception=False)


def test_planted_broadcast_gradient_not_summed_back_is_stopped_by_the_engine():
    x = Tensor(np.ones((3, 4)), requires_grad=True)
    b = Tensor(np.ones((4,)), requires_grad=True)
    with pytest.raises(ValueError, match=r"AddWithoutUnbroadcast.*\(3, 4\).*\(4,\)"):
        gradcheck(AddWithoutUnbroadcast.apply, [x, b])


@pytest.mark.parametrize("method", ["forward", "backward"])
def test_a_method_written_without_staticmethod_is_refused_when_the_class_is_defined(method):
    def plain(self, ctx, x):
        return x

    with pytest.raises(TypeError, match=f"Forgetful.{method} must be a @staticmethod"):
        type("Forgetful", (Function,), {method: plain})


def test_static_and_class_methods_and_inherited_ones_are_accepted():
    class Double(Function):
        @staticmethod
        def forward(ctx, x):
            return 2 * x

        @classmethod
        def backward(cls, ctx, grad):
            return 2 * grad

    class Again(Double):  # inherits both
        pass

    x = Tensor([1.0, -2.0], requires_grad=True)
    assert gradcheck(lambda t: Again.apply(t), [x])
