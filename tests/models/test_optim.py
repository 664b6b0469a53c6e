"""optim: SGD and Adam against their formulas written out, schedules, scipy's minimize."""

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import scipy.optimize

from tinygrad_moons import Tensor, optim

STEPS = 25


def follow(make_optimizer, formula, steps=STEPS, shape=(3, 2)):
    """Feed the same drawn gradients to the optimiser and to ``formula``, step by step."""
    rng = np.random.RandomState(0)
    theta = rng.randn(*shape)
    param = Tensor(theta, requires_grad=True)
    optimizer = make_optimizer([param])
    state = {}
    for t in range(1, steps + 1):
        grad = rng.randn(*shape)
        param.grad = grad.copy()
        optimizer.step()
        theta = formula(theta, grad, t, state)
        np.testing.assert_allclose(param.data, theta, rtol=1e-12, atol=1e-12, err_msg=f"step {t}")
    return optimizer


# ---------------------------------------------------------------------- SGD
def test_sgd_plain_is_theta_minus_lr_g():
    def formula(theta, g, t, state):
        return theta - 0.1 * g

    follow(lambda p: optim.SGD(p, lr=0.1), formula)


def test_sgd_plain_step_is_bit_for_bit_the_write_ups_update():
    param = Tensor([[0.3, -1.7]], requires_grad=True)
    param.grad = np.array([[0.123456789, -2.5e-3]])
    expected = param.data + -0.01 * param.grad
    optim.SGD([param], lr=0.01).step()
    assert np.array_equal(param.data, expected)


def test_sgd_momentum_accumulates_a_buffer_started_at_the_first_gradient():
    def formula(theta, g, t, state):
        state["b"] = g if t == 1 else 0.9 * state["b"] + g
        return theta - 0.05 * state["b"]

    follow(lambda p: optim.SGD(p, lr=0.05, momentum=0.9), formula)


def test_sgd_nesterov_steps_along_g_plus_momentum_times_buffer():
    def formula(theta, g, t, state):
        state["b"] = g if t == 1 else 0.8 * state["b"] + g
        return theta - 0.05 * (g + 0.8 * state["b"])

    follow(lambda p: optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True), formula)


def test_sgd_weight_decay_adds_lambda_theta_to_the_gradient():
    def formula(theta, g, t, state):
        return theta - 0.1 * (g + 0.01 * theta)

    follow(lambda p: optim.SGD(p, lr=0.1, weight_decay=0.01), formula)


NOT_FLAGS = ["False", "True", 0, 1, None, 0.0]


@pytest.mark.parametrize("value", NOT_FLAGS)
def test_sgd_nesterov_takes_a_bool_however_it_is_set(value):
    """bool("False") is True: a string (or a number) would switch Nesterov on silently."""
    message = f"SGD's nesterov takes True or False, got {value!r}"
    p = Tensor([1.0], requires_grad=True)
    with pytest.raises(TypeError, match=message):
        optim.SGD([p], lr=0.1, momentum=0.9, nesterov=value)
    with pytest.raises(TypeError, match=message):
        optim.SGD([{"params": [p], "nesterov": value}], lr=0.1, momentum=0.9)
    optimizer = optim.SGD([p], lr=0.1, momentum=0.9, nesterov=np.True_)  # numpy's bools do
    assert optimizer.nesterov is True
    with pytest.raises(TypeError, match=message):
        optimizer.nesterov = value
    assert optimizer.nesterov is True


def test_sgd_weight_decay_with_nesterov_momentum():
    def formula(theta, g, t, state):
        g = g + 0.02 * theta
        state["b"] = g if t == 1 else 0.9 * state["b"] + g
        return theta - 0.03 * (g + 0.9 * state["b"])

    follow(lambda p: optim.SGD(p, 0.03, momentum=0.9, nesterov=True, weight_decay=0.02), formula)


def test_sgd_nesterov_without_momentum_is_refused():
    with pytest.raises(ValueError, match="Nesterov"):
        optim.SGD([Tensor([1.0], requires_grad=True)], lr=0.1, nesterov=True)


# ---------------------------------------------------------------------- Adam
def adam_formula(lr, beta1, beta2, eps, weight_decay):
    def formula(theta, g, t, state):
        g = g + weight_decay * theta
        state["m"] = beta1 * state.get("m", 0.0) + (1 - beta1) * g
        state["v"] = beta2 * state.get("v", 0.0) + (1 - beta2) * g**2
        m_hat = state["m"] / (1 - beta1**t)
        v_hat = state["v"] / (1 - beta2**t)
        return theta - lr * m_hat / (np.sqrt(v_hat) + eps)

    return formula


def test_adam_follows_the_bias_corrected_moments():
    follow(lambda p: optim.Adam(p, lr=0.01), adam_formula(0.01, 0.9, 0.999, 1e-8, 0.0))


def test_adam_with_weight_decay_adds_lambda_theta_to_the_gradient():
    follow(
        lambda p: optim.Adam(p, lr=0.02, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
        adam_formula(0.02, 0.8, 0.99, 1e-6, 0.1),
    )


def test_adam_defaults_are_pytorchs():
    adam = optim.Adam([Tensor([1.0], requires_grad=True)])
    assert (adam.lr, adam.betas, adam.eps, adam.weight_decay) == (1e-3, (0.9, 0.999), 1e-8, 0.0)


# ---------------------------------------------------------------------- common behaviour
@pytest.mark.parametrize("make", [lambda p: optim.SGD(p, 0.1, momentum=0.5), optim.Adam])
def test_a_parameter_without_gradient_is_left_alone(make):
    moved, idle = Tensor([1.0], requires_grad=True), Tensor([2.0], requires_grad=True)
    optimizer = make([moved, idle])
    for _ in range(3):
        moved.grad = np.array([1.0])
        optimizer.step()
    assert idle.data[0] == 2.0 and moved.data[0] != 1.0
    assert optimizer.state[1] == {}


def test_zero_grad_sets_grads_to_none():
    p = Tensor([1.0], requires_grad=True)
    p.grad = np.array([3.0])
    optimizer = optim.SGD([p], lr=0.1)
    optimizer.zero_grad()
    assert p.grad is None


@pytest.mark.parametrize("owner", ["optimizer", "module"])
def test_zero_grad_set_to_none_false_zeros_in_place_as_torchs(owner):
    """A kept ``.grad`` array sees the zeros, a None stays None, and the next backward adds to
    zeros: torch's zero_grad(set_to_none=False), step for step."""
    torch = pytest.importorskip("torch")
    from tinygrad_moons import nn

    layer = nn.Linear(3, 2, seed=0)
    reference = torch.nn.Linear(3, 2, dtype=torch.float64)
    with torch.no_grad():
        reference.weight.copy_(torch.tensor(layer.weight.data.T))
        reference.bias.copy_(torch.tensor(layer.bias.data))
    x = np.arange(12.0).reshape(4, 3) / 7
    clear = optim.SGD(layer.parameters(), lr=0.1).zero_grad if owner == "optimizer" else None
    clear = clear or layer.zero_grad
    layer(x).sum().backward()
    reference(torch.tensor(x)).sum().backward()
    kept, kept_reference = layer.weight.grad, reference.weight.grad
    clear(set_to_none=False)
    reference.zero_grad(set_to_none=False)
    assert layer.weight.grad is kept and not kept.any() and not kept_reference.any()
    (layer(x) ** 2).sum().backward()
    (reference(torch.tensor(x)) ** 2).sum().backward()
    np.testing.assert_allclose(layer.weight.grad, reference.weight.grad.numpy().T, rtol=1e-13)
    np.testing.assert_allclose(layer.bias.grad, reference.bias.grad.numpy(), rtol=1e-13)
    clear()
    assert layer.weight.grad is None and layer.bias.grad is None
    clear(set_to_none=False)  # nothing to zero: still None, as torch's
    assert layer.weight.grad is None
    with pytest.raises(TypeError, match="set_to_none takes True or False, got 'False'"):
        clear(set_to_none="False")


def test_changing_lr_changes_the_next_step():
    p = Tensor([1.0], requires_grad=True)
    optimizer = optim.SGD([p], lr=0.1)
    optimizer.lr = 0.5
    p.grad = np.array([1.0])
    optimizer.step()
    assert p.data[0] == 0.5


@pytest.mark.parametrize(
    "make",
    [
        lambda p: optim.SGD(p, 0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
        lambda p: optim.Adam(p, 0.01, weight_decay=0.01),
    ],
)
def test_state_dict_resumes_training_exactly(make):
    rng = np.random.RandomState(1)
    grads = rng.randn(20, 2, 2)
    straight = Tensor(np.ones((2, 2)), requires_grad=True)
    optimizer = make([straight])
    for g in grads:
        straight.grad = g.copy()
        optimizer.step()
    resumed = Tensor(np.ones((2, 2)), requires_grad=True)
    first = make([resumed])
    for g in grads[:10]:
        resumed.grad = g.copy()
        first.step()
    second = make([resumed])
    second.load_state_dict(first.state_dict())
    for g in grads[10:]:
        resumed.grad = g.copy()
        second.step()
    assert np.array_equal(straight.data, resumed.data)
    assert second.steps == 20


def test_state_dict_is_a_copy_with_lr_and_steps():
    p = Tensor([1.0, 2.0], requires_grad=True)
    optimizer = optim.Adam([p], lr=0.01)
    p.grad = np.array([1.0, 1.0])
    optimizer.step()
    state = optimizer.state_dict()
    group = state["param_groups"][0]
    assert group["lr"] == 0.01 and state["steps"] == 1 and state["state"][0]["step"] == 1
    state["state"][0]["exp_avg"][...] = 99.0
    group["lr"] = 5.0
    assert optimizer.lr == 0.01 and not np.any(optimizer.state[0]["exp_avg"] == 99.0)


def test_load_state_dict_restores_lr_and_refuses_a_state_of_other_shapes():
    small, large = Tensor([1.0], requires_grad=True), Tensor([1.0, 2.0], requires_grad=True)
    source = optim.SGD([small], lr=0.3, momentum=0.9)
    small.grad = np.array([1.0])
    source.step()
    target = optim.SGD([Tensor([0.0], requires_grad=True)], lr=0.1, momentum=0.9)
    target.load_state_dict(source.state_dict())
    assert target.lr == 0.3
    with pytest.raises(ValueError, match="shape"):
        optim.SGD([large], lr=0.1, momentum=0.9).load_state_dict(source.state_dict())


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: optim.SGD([], lr=0.1), "empty"),
        (lambda: optim.SGD([Tensor([1.0])], lr=0.1), "does not require grad"),
        (lambda: optim.SGD([Tensor([1.0], requires_grad=True)], lr=-1.0), "lr"),
        (lambda: optim.Adam([Tensor([1.0], requires_grad=True)], betas=(0.9, 1.0)), "beta2"),
    ],
)
def test_bad_arguments_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_the_same_parameter_twice_is_refused():
    p = Tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="twice"):
        optim.SGD([p, p], lr=0.1)


# ---------------------------------------------------------------------- schedules
def lrs_after_steps(schedule, steps):
    values = [schedule.optimizer.lr]
    for _ in range(steps):
        schedule.step()
        values.append(schedule.optimizer.lr)
    return values


def sgd(lr):
    return optim.SGD([Tensor([0.0], requires_grad=True)], lr=lr)


def test_inverse_time_decay_is_lr0_over_one_plus_k_t():
    values = lrs_after_steps(optim.InverseTimeDecay(sgd(0.5), k=0.1), 30)
    assert values == pytest.approx([0.5 / (1 + 0.1 * t) for t in range(31)], rel=1e-15)


def test_step_decay_multiplies_by_gamma_every_step_size():
    values = lrs_after_steps(optim.StepDecay(sgd(1.0), step_size=3, gamma=0.5), 10)
    assert values == [1, 1, 1, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125, 0.125]


def test_exponential_decay_is_lr0_gamma_to_the_t():
    values = lrs_after_steps(optim.ExponentialDecay(sgd(0.2), gamma=0.9), 25)
    assert values == pytest.approx([0.2 * 0.9**t for t in range(26)], rel=1e-14)


def test_cosine_decay_follows_half_a_cosine_then_holds_lr_min():
    values = lrs_after_steps(optim.CosineDecay(sgd(0.1), t_max=10, lr_min=0.01), 15)
    expected = [0.01 + 0.09 * (1 + math.cos(math.pi * t / 10)) / 2 for t in range(11)]
    assert values[:11] == pytest.approx(expected, rel=1e-14)
    assert values[10:] == [0.01] * 6


def test_a_schedule_changes_the_step_the_optimiser_takes():
    p = Tensor([0.0], requires_grad=True)
    optimizer = optim.SGD([p], lr=1.0)
    schedule = optim.InverseTimeDecay(optimizer, k=1.0)
    for _ in range(3):
        p.grad = np.array([1.0])
        optimizer.step()
        schedule.step()
    assert p.data[0] == pytest.approx(-(1 + 1 / 2 + 1 / 3), rel=1e-15)


SCHEDULES = [
    lambda o: optim.InverseTimeDecay(o, k=0.1),
    lambda o: optim.StepDecay(o, step_size=1, gamma=0.5),
    lambda o: optim.ExponentialDecay(o, gamma=0.9),
    lambda o: optim.CosineDecay(o, t_max=10),
]
SCHEDULE_IDS = ["inverse_time", "step", "exponential", "cosine"]


@pytest.mark.parametrize("make", SCHEDULES, ids=SCHEDULE_IDS)
def test_a_rate_set_behind_a_schedules_back_is_named_when_the_schedule_overwrites_it(make):
    optimizer = optim.SGD([Tensor([0.0], requires_grad=True)], lr=0.1)
    optimizer.add_param_group({"params": [Tensor([0.0], requires_grad=True)], "lr": 0.2})
    schedule = make(optimizer)
    schedule.step()
    schedule.step()  # its own rates: no warning
    optimizer.param_groups[1]["lr"] = 0.07
    with pytest.warns(UserWarning, match=r"lr of parameter group 1 was set to 0.07 since"):
        schedule.step()
    assert optimizer.param_groups[1]["lr"] == schedule.lr_at(3, 0.2)


def test_two_schedules_on_one_optimiser_are_named():
    optimizer = sgd(1.0)
    first, second = optim.ExponentialDecay(optimizer, 0.9), optim.StepDecay(optimizer, 1, 0.5)
    first.step()
    with pytest.warns(UserWarning, match="StepDecay: the lr of parameter group 0 was set"):
        second.step()


# ---------------------------------------------------------------------- minimize
DATA = np.random.RandomState(0)
FEATURES = DATA.randn(30, 2)
TARGETS = (FEATURES @ [1.5, -2.0] + 0.3 * DATA.randn(30) > 0).astype(float)


def logistic_numpy(x):
    """L2-regularised logistic regression, loss and gradient written out in numpy."""
    w, b = x[:2], x[2]
    z = FEATURES @ w + b
    loss = np.sum(np.logaddexp(0.0, z) - TARGETS * z) + 0.5 * np.sum(w**2)
    residual = 1.0 / (1.0 + np.exp(-z)) - TARGETS
    return loss, np.concatenate([FEATURES.T @ residual + w, [residual.sum()]])


def logistic_tensors(w, b):
    import tinygrad_moons.functional as F

    z = (Tensor(FEATURES) @ w).reshape(30) + b
    return F.binary_cross_entropy_with_logits(z, TARGETS, reduction="sum") + 0.5 * (w * w).sum()


@pytest.mark.parametrize("method", ["CG", "BFGS", "L-BFGS-B"])
def test_minimize_agrees_with_scipy_on_the_same_problem(method):
    x0 = np.array([0.1, 0.2, -0.3])
    expected = scipy.optimize.minimize(logistic_numpy, x0, jac=True, method=method)
    w = Tensor(x0[:2].reshape(2, 1), requires_grad=True)
    b = Tensor(x0[2:], requires_grad=True)
    result = optim.minimize(lambda: logistic_tensors(w, b), [w, b], method=method)
    assert result.success and expected.success
    assert result.fun == pytest.approx(expected.fun, rel=1e-10)
    np.testing.assert_allclose(result.x, expected.x, atol=1e-5)
    np.testing.assert_array_equal(np.concatenate([w.data.ravel(), b.data]), result.x)


@pytest.mark.parametrize("method", optim.GRADIENT_METHODS)
def test_minimize_finds_a_quadratics_minimum_with_every_gradient_method(method):
    w = Tensor([3.0, -1.0, 0.5], requires_grad=True)
    optim.minimize(lambda: ((w - 2.0) ** 2).sum(), [w], method=method, tol=1e-10)
    np.testing.assert_allclose(w.data, 2.0, atol=1e-5)
    assert w.grad is None


def test_minimize_passes_options_to_scipy():
    w = Tensor([3.0, -1.0], requires_grad=True)
    result = optim.minimize(lambda: ((w * w) ** 2).sum(), [w], "BFGS", options={"maxiter": 2})
    assert result.nit == 2


def test_minimize_refuses_a_method_without_gradients():
    w = Tensor([1.0], requires_grad=True)
    with pytest.raises(ValueError, match="gradient methods"):
        optim.minimize(lambda: (w * w).sum(), [w], method="Nelder-Mead")


def test_minimize_refuses_a_loss_that_is_not_one_element():
    w = Tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(ValueError, match="one-element"):
        optim.minimize(lambda: w * w, [w])


def test_importing_the_package_loads_neither_scipy_nor_scikit_learn():
    code = (
        "import sys, tinygrad_moons\n"
        "from tinygrad_moons import nn, optim\n"
        "print(sorted(m for m in ('scipy', 'sklearn', 'tqdm', 'matplotlib') if m in sys.modules))"
    )
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(
    "make",
    [lambda o: optim.StepDecay(o, step_size=0), lambda o: optim.CosineDecay(o, t_max=2.5)],
)
def test_schedule_periods_must_be_positive_ints(make):
    with pytest.raises(ValueError, match="must be an int >= 1"):
        make(sgd(0.1))


def test_the_torch_slips_in_the_parameter_list_are_named():
    from tinygrad_moons import nn

    model = nn.Linear(2, 2, seed=0)
    with pytest.raises(TypeError, match=r"not the Linear itself: pass model.parameters\(\)"):
        optim.SGD(model, lr=0.1)
    made = model.weight * 2.0
    with pytest.raises(ValueError, match=r"parameter 1 was made by an op \(Mul\).*leaf"):
        optim.Adam([model.bias, made], lr=0.1)
    w = Tensor(np.ones(2), requires_grad=True)
    assert optim.SGD(w, lr=0.1).params == [w]  # one Tensor is a list of one, as torch's
