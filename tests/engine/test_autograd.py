"""grad and tinygrad_moons.autograd against torch.autograd: semantics, errors and the
return structures of jacobian, hessian, vjp, jvp and hvp; Functions under create_graph
and with several outputs; gradcheck's fast mode and its warning."""

import sys
import warnings

import numpy as np
import pytest
import torch
import torch.autograd.functional as TF

import tinygrad_moons.functional as F
from tinygrad_moons import Function, Tensor, grad, gradcheck, gradgradcheck, graph
from tinygrad_moons import autograd as A


def test_the_documented_example():
    x = Tensor([2.0], requires_grad=True)
    (g,) = grad((x**3).sum(), x, create_graph=True)
    (h,) = grad(g.sum(), x)
    assert g.item() == 12.0 and h.item() == 12.0 and g.requires_grad and not h.requires_grad
    assert x.grad is None


def test_grad_needs_grad_outputs_for_a_non_scalar_and_names_an_unused_input():
    x, y = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0], requires_grad=True)
    with pytest.raises(ValueError, match="grad_outputs"):
        grad(x * 2, x)
    with pytest.raises(ValueError, match="input 1"):
        grad((x * 2).sum(), [x, y])
    gx, gy = grad((x * 2).sum(), [x, y], allow_unused=True)
    np.testing.assert_array_equal(gx.data, [2.0, 2.0])
    assert gy is None
    (gx,) = grad(x * 2, x, grad_outputs=np.array([1.0, 3.0]))
    np.testing.assert_array_equal(gx.data, [2.0, 6.0])


def test_grad_with_respect_to_a_tensor_made_by_an_op_and_several_outputs():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * x
    a, b = h.sum(), (h * 3).sum()
    (gh,) = grad([a, b], h)
    np.testing.assert_array_equal(gh.data, [4.0, 4.0])
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    th = tx * tx
    (tgh,) = torch.autograd.grad([th.sum(), (th * 3).sum()], th)
    np.testing.assert_array_equal(gh.data, tgh.numpy())


def test_backward_with_create_graph_is_refused_naming_grad():
    x = Tensor([2.0], requires_grad=True)
    with pytest.raises(ValueError, match=r"grad\(.*create_graph=True\)"):
        (x**3).sum().backward(create_graph=True)
    assert x.grad is None


@pytest.mark.parametrize("value", ["False", "True", 0, 1, None])
def test_backward_create_graph_takes_a_bool(value):
    """bool("False") is True: create_graph="False" was refused as create_graph=True, and 0
    or None passed as False; each is now named as not a bool."""
    x = Tensor([2.0], requires_grad=True)
    with pytest.raises(
        TypeError, match=f"Tensor.backward's create_graph takes True or False, got {value!r}"
    ):
        (x**3).sum().backward(create_graph=value)
    assert x.grad is None
    for no in (False, np.False_):  # numpy's bools too
        x.grad = None
        (x**3).sum().backward(create_graph=no)
        np.testing.assert_array_equal(x.grad, [12.0])
    with pytest.raises(ValueError, match=r"grad\(.*create_graph=True\)"):
        (x**3).sum().backward(create_graph=np.True_)


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x**3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3 * x**2


def test_a_users_function_is_differentiable_once_and_says_so_by_name():
    x = Tensor([2.0], requires_grad=True)
    (g,) = grad(Cube.apply(x).sum(), x)
    assert g.item() == 12.0
    with pytest.raises(RuntimeError, match=r"Cube.*differentiable once.*Tensor operations"):
        grad(Cube.apply(x).sum(), x, create_graph=True)


class SplitSquare(Function):
    """Two outputs: x^2 and 3 x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x, 3.0 * x

    @staticmethod
    def backward(ctx, grad_square, grad_triple):
        (x,) = ctx.saved_tensors
        return 2 * x * grad_square + 3.0 * grad_triple


def test_a_function_with_several_outputs_gets_one_gradient_per_output_zeros_for_unused():
    x = Tensor([1.0, 2.0], requires_grad=True)
    square, triple = SplitSquare.apply(x)
    np.testing.assert_array_equal(square.data, [1.0, 4.0])
    (square.sum() + (triple * triple).sum()).backward()
    np.testing.assert_array_equal(x.grad, 2 * np.array([1.0, 2.0]) + 18 * np.array([1.0, 2.0]))
    x.grad = None
    square, _ = SplitSquare.apply(x)
    square.sum().backward()  # the unused output's gradient: zeros, as torch's default
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_a_forward_returning_neither_array_nor_tuple_is_a_type_error_naming_it():
    class Listy(Function):
        @staticmethod
        def forward(ctx, x):
            return [1.0]

        @staticmethod
        def backward(ctx, grad):
            return grad

    with pytest.raises(TypeError, match="Listy.forward returned list"):
        Listy.apply(Tensor([1.0], requires_grad=True))


# ---------------------------------------------------------------------- functional API
rng = np.random.default_rng(3)
X = rng.normal(size=(4, 2))
W0, B0 = rng.normal(size=(2, 3)), rng.normal(size=3)


def ours_f(w, b):
    return (F.linear(Tensor(X), w, b).tanh() ** 2).sum(axis=0)


def torch_f(w, b):
    return (torch.tanh(torch.tensor(X) @ w + b) ** 2).sum(dim=0)


def ours_scalar(w, b):
    return ours_f(w, b).sum()


def torch_scalar(w, b):
    return torch_f(w, b).sum()


def _torch(*arrays):
    return tuple(torch.tensor(a) for a in arrays)


def _same(ours, theirs):
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            _same(o, t)
        return
    assert isinstance(ours, Tensor) and ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)


def test_jacobian_and_hessian_match_torch_structures_and_values():
    _same(A.jacobian(ours_f, (Tensor(W0), Tensor(B0))), TF.jacobian(torch_f, _torch(W0, B0)))
    _same(
        A.jacobian(lambda w: ours_f(w, Tensor(B0)), Tensor(W0)),
        TF.jacobian(lambda w: torch_f(w, torch.tensor(B0)), torch.tensor(W0)),
    )
    _same(
        A.hessian(ours_scalar, (Tensor(W0), Tensor(B0))), TF.hessian(torch_scalar, _torch(W0, B0))
    )
    _same(
        A.hessian(lambda b: ours_scalar(Tensor(W0), b), Tensor(B0)),
        TF.hessian(lambda b: torch_scalar(torch.tensor(W0), b), torch.tensor(B0)),
    )


def test_vjp_jvp_hvp_match_torch():
    v_out = rng.normal(size=3)
    v_in = (rng.normal(size=W0.shape), rng.normal(size=B0.shape))
    _same(
        A.vjp(ours_f, (Tensor(W0), Tensor(B0)), Tensor(v_out)),
        TF.vjp(torch_f, _torch(W0, B0), torch.tensor(v_out)),
    )
    _same(
        A.jvp(ours_f, (Tensor(W0), Tensor(B0)), tuple(Tensor(v) for v in v_in)),
        TF.jvp(torch_f, _torch(W0, B0), _torch(*v_in)),
    )
    _same(
        A.hvp(ours_scalar, (Tensor(W0), Tensor(B0)), tuple(Tensor(v) for v in v_in)),
        TF.hvp(torch_scalar, _torch(W0, B0), _torch(*v_in)),
    )
    _same(A.vjp(ours_scalar, (Tensor(W0), Tensor(B0))), TF.vjp(torch_scalar, _torch(W0, B0)))


def test_hvp_with_create_graph_can_be_differentiated_again():
    x = Tensor([0.5, -1.0], requires_grad=True)
    _, hv = A.hvp(lambda t: (t**4).sum(), x, Tensor([1.0, 0.0]), create_graph=True)
    (third,) = grad(hv.sum(), x)  # d/dx (12 x^2 v) = 24 x v
    np.testing.assert_allclose(third.data, [12.0, 0.0])


def test_a_gradient_penalty_trains_the_weights_as_torchs():
    rng = np.random.default_rng(0)
    x0, w0 = rng.normal(size=(4, 3)), rng.normal(size=(3, 1))
    x, W = Tensor(x0, requires_grad=True), Tensor(w0, requires_grad=True)
    loss = ((x @ W).tanh() ** 2).sum()
    (gx,) = grad(loss, x, create_graph=True)
    (loss + (gx * gx).sum()).backward()
    tx = torch.tensor(x0, requires_grad=True)
    tW = torch.tensor(w0, requires_grad=True)
    tloss = (torch.tanh(tx @ tW) ** 2).sum()
    (tgx,) = torch.autograd.grad(tloss, tx, create_graph=True)
    (tloss + (tgx * tgx).sum()).backward()
    np.testing.assert_allclose(W.grad, tW.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(x.grad, tx.grad.numpy(), rtol=1e-12)
    without = Tensor(w0, requires_grad=True)
    ((Tensor(x0) @ without).tanh() ** 2).sum().backward()
    assert not np.allclose(W.grad, without.grad)  # the penalty moved it


def test_capture_refuses_a_function_that_calls_grad_with_create_graph():
    w = Tensor([1.0, 2.0], requires_grad=True)

    def step():
        (g,) = grad((w**3).sum(), w, create_graph=True)
        return (g * g).sum()

    with pytest.raises(RuntimeError, match=r"create_graph=True.*capture"):
        graph.capture(step)


# ---------------------------------------------------------------------- gradcheck
def test_gradcheck_fast_mode_passes_right_and_fails_wrong_derivatives():
    x = Tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True)
    assert gradcheck(lambda t: (t * t).tanh(), [x], fast_mode=True)

    class Wrong(Function):
        @staticmethod
        def forward(ctx, a):
            ctx.save_for_backward(a)
            return a * a

        @staticmethod
        def backward(ctx, grad):
            (a,) = ctx.saved_tensors
            return grad * a  # 2 a is right

    with pytest.raises(AssertionError, match="fast mode"):
        gradcheck(Wrong.apply, [x], fast_mode=True)


def test_gradgradcheck_names_what_disagrees(monkeypatch):
    x = Tensor([0.3, -0.4], requires_grad=True)
    assert gradgradcheck(lambda t: (t * t * t).sum(), [x])
    with pytest.raises(AssertionError, match="second derivatives.*input 0"):
        gradgradcheck(lambda t: (t * Tensor(t.data * t.data)).sum(), [x])


def test_a_long_gradcheck_warns_with_the_count_and_the_time(monkeypatch):
    monkeypatch.setattr(sys.modules["tinygrad_moons.gradcheck"], "WARN_EVALUATIONS", 10)
    x = Tensor(np.ones(8), requires_grad=True)
    with pytest.warns(UserWarning, match=r"about 24 times \(about .* s at .* ms each\)"):
        gradcheck(lambda t: t * 2, [x])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gradcheck(lambda t: t * 2, [x], fast_mode=True)


@pytest.mark.parametrize("alias", ["detach", "data", "detached leaf"])
def test_a_constant_alias_of_an_input_stays_constant_in_second_derivatives(alias):
    """x * c with c sharing x's array (x.detach(), x.data, a detached leaf): d/dx of the
    first derivative v * c is none, as torch's; matching saved arrays to graph nodes by
    identity once took c for x here and gave v."""
    value = np.array([0.5, -1.0, 2.0])
    x = Tensor(value, requires_grad=True)
    c = {"detach": x.detach, "data": lambda: x.data, "detached leaf": None}[alias]
    c = c() if c is not None else x.detach().requires_grad_()
    v = Tensor(np.ones(3), requires_grad=True)
    (g,) = grad(x * c, x, v, create_graph=True)
    tx = torch.tensor(value, requires_grad=True)
    tc = tx.detach() if alias != "detached leaf" else tx.detach().requires_grad_()
    tv = torch.ones(3, dtype=torch.float64, requires_grad=True)
    (tg,) = torch.autograd.grad(tx * tc, tx, tv, create_graph=True)
    np.testing.assert_array_equal(g.data, tg.detach().numpy())
    (ours,) = grad(g.sum(), x, allow_unused=True)
    (theirs,) = torch.autograd.grad(tg.sum(), tx, allow_unused=True)
    assert ours is None and theirs is None
