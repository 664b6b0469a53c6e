"""curvature and second-order minimize: every number against PyTorch's exact Hessian.

The write-up's summed objective (cross-entropy summed over its 200 points plus reg/2 times
the squared weights) has 17 parameters for hidden size 3, so torch's full Hessian and
numpy's ``eigvalsh`` give the exact spectrum to compare with; nothing is pasted in.
"""

import numpy as np
import pytest
import scipy.optimize
import torch
from scipy.sparse.linalg import LinearOperator

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, curvature, nn, optim
from tinygrad_moons.data import make_moons
from tinygrad_moons.train import fit

REG = 0.01
X, Y = make_moons()


# ---------------------------------------------------------------------- the two objectives
def writeup_model(hidden, passes=0):
    """The write-up's network after ``passes`` passes of its gradient descent (lr 0.01)."""
    model = nn.MLP([2, hidden, 2], seed=0)
    if passes:
        fit(model, X, Y, epochs=passes, lr=0.01, reg=REG, progress=False)
    return model


def tensor_objective(model):
    """The write-up's summed objective of ``model``, written with Tensor ops."""
    weights = [model[0].weight, model[2].weight]
    return lambda: (
        F.softmax_cross_entropy(model(Tensor(X)), Y, reduction="sum") + (REG / 2) * F.l2(*weights)
    )


def torch_objective(hidden):
    """The same objective as a torch function of the 17 (for hidden 3) flattened parameters,
    in the order of ``model.parameters()``: W1 (2,H), b1 (H,), W2 (H,2), b2 (2,)."""
    X_t, y_t = torch.tensor(X), torch.tensor(Y)

    def objective(theta):
        W1, b1, W2, b2 = torch.split(theta, [2 * hidden, hidden, 2 * hidden, 2])
        logits = torch.tanh(X_t @ W1.reshape(2, hidden) + b1) @ W2.reshape(hidden, 2) + b2
        penalty = (W1**2).sum() + (W2**2).sum()
        return torch.nn.functional.cross_entropy(logits, y_t, reduction="sum") + REG / 2 * penalty

    return objective


def flat(model):
    return np.concatenate([p.data.ravel() for p in model.parameters()])


def torch_hessian(hidden, theta):
    objective = torch_objective(hidden)
    return torch.autograd.functional.hessian(objective, torch.tensor(theta)).numpy()


def exact_top(hidden, theta, k=1):
    """The k largest eigenvalues of torch's full Hessian, by numpy's eigvalsh."""
    return np.linalg.eigvalsh(torch_hessian(hidden, theta))[::-1][:k]


@pytest.fixture(scope="module")
def after_1000_passes():
    return writeup_model(3, passes=1000)


# ---------------------------------------------------------------------- eigsh over products
def torch_operator(hidden, theta):
    """A LinearOperator whose products are those of torch's exact Hessian: the eigensolver's
    plumbing checked apart from this library's autodiff."""
    hessian = torch_hessian(hidden, theta)
    return LinearOperator(hessian.shape, matvec=lambda v: hessian @ v, dtype=np.float64)


@pytest.mark.parametrize("k", [1, 3, 16, 17])
def test_the_eigensolver_on_torchs_products_gives_the_exact_spectrum(after_1000_passes, k):
    theta = flat(after_1000_passes)
    found = curvature._largest_eigenvalues(torch_operator(3, theta), k)
    np.testing.assert_allclose(found, exact_top(3, theta, k), rtol=1e-8, atol=1e-9)


# ---------------------------------------------------------------------- the write-up's objective
@pytest.mark.parametrize("passes", [0, 1000])
def test_hessian_matrix_equals_torchs_hessian(passes, after_1000_passes):
    model = after_1000_passes if passes else writeup_model(3)
    operator = curvature.hessian_operator(tensor_objective(model), model.parameters())
    expected = torch_hessian(3, flat(model))
    np.testing.assert_allclose(curvature.hessian_matrix(operator), expected, rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("passes", [0, 1000])
def test_sharpness_is_the_exact_top_eigenvalue(passes, after_1000_passes):
    model = after_1000_passes if passes else writeup_model(3)
    before = flat(model)
    grads = [None if p.grad is None else p.grad.copy() for p in model.parameters()]
    found = curvature.sharpness(tensor_objective(model), model.parameters())
    assert found == pytest.approx(exact_top(3, before)[0], rel=1e-8)
    np.testing.assert_array_equal(flat(model), before)  # read, never moved
    for p, g in zip(model.parameters(), grads, strict=True):  # and no .grad touched
        assert (p.grad is None and g is None) or np.array_equal(p.grad, g)


@pytest.mark.parametrize("k", [2, 5, 17])
def test_top_eigenvalues_are_the_exact_spectrum_descending(k, after_1000_passes):
    model = after_1000_passes
    found = curvature.top_eigenvalues(tensor_objective(model), model.parameters(), k=k)
    assert found.shape == (k,) and np.all(np.diff(found) <= 0)
    np.testing.assert_allclose(found, exact_top(3, flat(model), k), rtol=1e-8, atol=1e-8)


def sharpness_of_the_last_two_passes(hidden, passes=20000):
    """The sharpness after each of the last two passes of the write-up's training."""
    model = writeup_model(hidden)
    found = {}

    def measure(epoch, history):
        if epoch >= passes - 2:
            found[epoch] = curvature.sharpness(tensor_objective(model), model.parameters())

    fit(model, X, Y, epochs=passes, lr=0.01, reg=REG, progress=False, callbacks=[measure])
    assert sorted(found) == [passes - 2, passes - 1]
    return found[passes - 2], found[passes - 1], flat(model)


def test_hidden_size_3_ends_in_a_cycle_straddling_2_over_lr():
    first, second, theta = sharpness_of_the_last_two_passes(3)
    assert min(first, second) < 2 / 0.01 < max(first, second)
    assert second == pytest.approx(exact_top(3, theta)[0], rel=1e-8)


def test_hidden_size_5_converges_below_2_over_lr():
    first, second, _ = sharpness_of_the_last_two_passes(5)
    assert first == pytest.approx(second, rel=1e-5)  # converged: one point, one sharpness
    assert second < 2 / 0.01


# ---------------------------------------------------------------------- simple losses
def test_a_quadratic_forms_spectrum():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((6, 6))
    A = A + A.T
    x = Tensor(rng.standard_normal(6), requires_grad=True)
    column = x.reshape(6, 1)
    found = curvature.top_eigenvalues(lambda: 0.5 * (column * (Tensor(A) @ column)).sum(), [x], k=3)
    np.testing.assert_allclose(found, np.linalg.eigvalsh(A)[::-1][:3], rtol=1e-10)


def test_a_loss_linear_in_its_parameters_has_a_zero_hessian():
    w = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = Tensor([0.5], requires_grad=True)
    found = curvature.top_eigenvalues(lambda: (w * 2.0).sum() + b.sum(), [w, b], k=4)
    np.testing.assert_array_equal(found, np.zeros(4))


def test_the_largest_eigenvalue_is_the_largest_not_the_largest_in_size():
    x = Tensor([1.0, 1.0], requires_grad=True)  # Hessian diag(2, -20)
    assert curvature.sharpness(lambda: x[0] ** 2 - 10.0 * x[1] ** 2, [x]) == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("loss_fn", "params", "k", "error", "match"),
    [
        (lambda w: (w * w).sum(), "w", 0, ValueError, "k must be an int >= 1"),
        (lambda w: (w * w).sum(), "w", 4, ValueError, r"at most the number of parameters \(3\)"),
        (lambda w: w * w, "w", 1, ValueError, "one-element Tensor"),
        (lambda w: (w * w).sum(), "plain", 1, ValueError, "does not require grad"),
        (lambda w: (w * w).sum(), "empty", 1, ValueError, "empty list"),
        (lambda w: (w * w).sum() / 0.0, "w", 1, ValueError, "the loss must be finite"),
    ],
)
def test_bad_input_is_one_clear_error(loss_fn, params, k, error, match):
    w = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    chosen = {"w": [w], "plain": [Tensor([1.0])], "empty": []}[params]
    with pytest.raises(error, match=match), np.errstate(divide="ignore", invalid="ignore"):
        curvature.top_eigenvalues(lambda: loss_fn(w), chosen, k=k)


def test_a_module_is_refused_for_its_parameters():
    with pytest.raises(TypeError, match=r"pass model.parameters\(\)"):
        curvature.sharpness(lambda: Tensor(0.0), nn.Linear(2, 2, seed=0))


# ---------------------------------------------------------------------- second-order minimize
def torch_fun_jac(objective):
    def fun(x):
        theta = torch.tensor(x, requires_grad=True)
        value = objective(theta)
        (gradient,) = torch.autograd.grad(value, theta)
        return value.item(), gradient.numpy()

    return fun


def torch_second_order(objective, kind):
    """scipy's ``hessp`` or ``hess`` by torch: the gradient recorded once per point, then
    differentiated again (reverse over reverse, as torch.autograd.functional.hvp does)."""
    at = {}

    def gradient_graph(x):
        if at.get("x") is None or not np.array_equal(at["x"], x):
            theta = torch.tensor(x, requires_grad=True)
            (gradient,) = torch.autograd.grad(objective(theta), theta, create_graph=True)
            at.update(x=np.array(x), theta=theta, gradient=gradient)
        return at["theta"], at["gradient"]

    def hessp(x, p):
        theta, gradient = gradient_graph(x)
        (product,) = torch.autograd.grad(gradient, theta, torch.tensor(p), retain_graph=True)
        return product.numpy()

    if kind == "hessp":
        return {"hessp": hessp}

    def hess(x):
        theta, gradient = gradient_graph(x)
        rows = torch.eye(len(x), dtype=torch.float64)
        (matrix,) = torch.autograd.grad(
            gradient, theta, rows, retain_graph=True, is_grads_batched=True
        )
        return matrix.numpy()

    return {"hess": hess}


@pytest.mark.parametrize("method", list(optim.SECOND_ORDER_METHODS))
def test_second_order_methods_reach_scipys_minimum_on_a_convex_loss(method):
    """L2-regularised logistic regression (positive definite: dogleg's case too)."""
    rng = np.random.default_rng(0)
    features = rng.standard_normal((40, 3))
    targets = (features @ [1.0, -2.0, 0.5] + rng.standard_normal(40) > 0).astype(float)

    def objective(theta):
        z = torch.tensor(features) @ theta
        return (
            torch.nn.functional.binary_cross_entropy_with_logits(
                z, torch.tensor(targets), reduction="sum"
            )
            + 0.5 * (theta**2).sum()
        )

    x0 = np.array([0.3, 0.1, -0.2])
    kind = optim.SECOND_ORDER_METHODS[method]
    expected = scipy.optimize.minimize(
        torch_fun_jac(objective), x0, jac=True, method=method, **torch_second_order(objective, kind)
    )
    w = Tensor(x0, requires_grad=True)

    def loss():
        z = (Tensor(features) @ w.reshape(3, 1)).reshape(40)
        return F.binary_cross_entropy_with_logits(z, targets, reduction="sum") + 0.5 * (w * w).sum()

    result = optim.minimize(loss, [w], method=method)
    assert result.success and expected.success
    assert result.fun == pytest.approx(expected.fun, rel=1e-12)
    np.testing.assert_allclose(result.x, expected.x, atol=1e-8)
    assert result.nit == expected.nit  # the same steps, not just the same end
    np.testing.assert_array_equal(w.data, result.x)


@pytest.mark.parametrize(
    "method",
    [
        "Newton-CG",
        "trust-exact",
        pytest.param("trust-ncg", marks=pytest.mark.slow),
        pytest.param("trust-krylov", marks=pytest.mark.slow),
    ],
)
def test_second_order_methods_reach_scipys_minimum_on_the_writeups_objective(method):
    model = writeup_model(3)
    x0 = flat(model)
    objective = torch_objective(3)
    kind = optim.SECOND_ORDER_METHODS[method]
    options = {"gtol": 1e-9} if method != "Newton-CG" else {"xtol": 1e-12}
    expected = scipy.optimize.minimize(
        torch_fun_jac(objective),
        x0,
        jac=True,
        method=method,
        options=options,
        **torch_second_order(objective, kind),
    )
    result = optim.minimize(tensor_objective(model), model.parameters(), method, options=options)
    assert result.fun == pytest.approx(expected.fun, rel=1e-9)

    # The softmax does not change when both output biases move together, and the penalty
    # leaves biases alone: the minimum is a line along b2 + t (1, 1). Compare across it.
    def across(x):
        return np.append(x[:-2], x[-2] - x[-1])

    np.testing.assert_allclose(across(result.x), across(expected.x), atol=1e-5)
    np.testing.assert_array_equal(flat(model), result.x)


def test_dogleg_says_when_the_hessian_is_not_positive_definite():
    x = Tensor([1.0, 0.1], requires_grad=True)  # Hessian diag(2, -1.88)
    result = optim.minimize(lambda: x[0] ** 2 - x[1] ** 2 + x[1] ** 4, [x], method="dogleg")
    assert not result.success and "non-psd Hessian" in result.message
    np.testing.assert_array_equal(x.data, [1.0, 0.1])
