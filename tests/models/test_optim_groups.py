"""optim: parameter groups as torch's (per-group options, lr and the hyperparameters of every
group, state dicts that keep the groups, schedules per group), against torch.optim."""

import numpy as np
import pytest
import torch

from tinygrad_moons import Tensor, optim

STEPS = 6


def twins(seed=0, shapes=((3, 2), (2,), (4,))):
    """Our parameters and torch's, equal."""
    rng = np.random.RandomState(seed)
    arrays = [rng.randn(*shape) for shape in shapes]
    ours = [Tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    return ours, theirs


def groups_of(params, options):
    """Parameter groups: params split one per group, each with its options."""
    return [{"params": [p], **o} for p, o in zip(params, options, strict=True)]


def follow_torch(make_ours, make_theirs, options, defaults, steps=STEPS, schedule=None):
    """Step both optimisers on the same drawn gradients; the parameters agree to 1e-12."""
    ours, theirs = twins()
    opt = make_ours(groups_of(ours, options), **defaults)
    torch_opt = make_theirs(groups_of(theirs, options), **defaults)
    schedules = schedule(opt, torch_opt) if schedule else None
    rng = np.random.RandomState(1)
    for step in range(steps):
        for p, q in zip(ours, theirs, strict=True):
            g = rng.randn(*p.shape)
            p.grad, q.grad = g.copy(), torch.tensor(g)
        opt.step()
        torch_opt.step()
        if schedules:
            for s in schedules:
                s.step()
        for position, (p, q) in enumerate(zip(ours, theirs, strict=True)):
            np.testing.assert_allclose(
                p.data, q.detach().numpy(), rtol=1e-12, atol=1e-12, err_msg=f"{step} {position}"
            )
    return opt, torch_opt


SGD_GROUPS = [
    {"lr": 0.1},
    {"lr": 0.02, "momentum": 0.9, "nesterov": True},
    {"momentum": 0.5, "weight_decay": 0.1},
]
ADAM_GROUPS = [{"lr": 0.05}, {"betas": (0.8, 0.99), "eps": 1e-6}, {"weight_decay": 0.2}]


def test_sgd_groups_update_each_with_its_options_as_torch():
    follow_torch(optim.SGD, torch.optim.SGD, SGD_GROUPS, {"lr": 0.01})


def test_adam_groups_update_each_with_its_options_as_torch():
    follow_torch(optim.Adam, torch.optim.Adam, ADAM_GROUPS, {"lr": 0.01})


@pytest.mark.parametrize(
    ("ours", "theirs", "arguments"),
    [
        (optim.StepDecay, torch.optim.lr_scheduler.StepLR, {"step_size": 2, "gamma": 0.5}),
        (optim.ExponentialDecay, torch.optim.lr_scheduler.ExponentialLR, {"gamma": 0.7}),
    ],
)
def test_a_schedule_scales_each_group_from_its_own_rate_as_torch(ours, theirs, arguments):
    opt, torch_opt = follow_torch(
        optim.SGD,
        torch.optim.SGD,
        SGD_GROUPS,
        {"lr": 0.01},
        schedule=lambda a, b: (ours(a, **arguments), theirs(b, **arguments)),
    )
    for group, torch_group in zip(opt.param_groups, torch_opt.param_groups, strict=True):
        assert group["lr"] == pytest.approx(torch_group["lr"], rel=1e-15)


def test_cosine_decay_of_groups_follows_torch_to_t_max():
    ours, theirs = twins()
    opt = optim.SGD(groups_of(ours, SGD_GROUPS), lr=0.01)
    torch_opt = torch.optim.SGD(groups_of(theirs, SGD_GROUPS), lr=0.01)
    schedule = optim.CosineDecay(opt, t_max=5, lr_min=0.001)
    torch_schedule = torch.optim.lr_scheduler.CosineAnnealingLR(torch_opt, T_max=5, eta_min=0.001)
    for _ in range(5):
        opt.step()
        torch_opt.step()
        schedule.step()
        torch_schedule.step()
        rates = [group["lr"] for group in opt.param_groups]
        expected = [group["lr"] for group in torch_opt.param_groups]
        np.testing.assert_allclose(rates, expected, rtol=1e-12)


def test_lr_reads_and_sets_every_groups_rate():
    ours, _ = twins()
    opt = optim.SGD([{"params": ours[:1]}, {"params": ours[1:]}], lr=0.1)
    assert opt.lr == 0.1
    opt.lr = 0.3
    assert [group["lr"] for group in opt.param_groups] == [0.3, 0.3]
    opt.param_groups[1]["lr"] = 0.01
    with pytest.raises(ValueError, match=r"different lr \[0.3, 0.01\]"):
        _ = opt.lr
    with pytest.raises(ValueError, match="lr must be a finite number in"):
        opt.lr = -1.0
    assert [group["lr"] for group in opt.param_groups] == [0.3, 0.01]  # nothing changed
    opt.momentum = 0.9
    assert [group["momentum"] for group in opt.param_groups] == [0.9, 0.9]


def test_the_state_dict_keeps_the_groups_as_torchs_does():
    ours, theirs = twins()
    opt, torch_opt = follow_torch(optim.Adam, torch.optim.Adam, ADAM_GROUPS, {"lr": 0.01})
    state, torch_state = opt.state_dict(), torch_opt.state_dict()
    for group, torch_group in zip(state["param_groups"], torch_state["param_groups"], strict=True):
        for key, value in group.items():
            assert value == torch_group[key], key
    resumed = optim.Adam(groups_of(twins()[0], [{}, {}, {}]), lr=0.5)
    resumed.load_state_dict(state)
    assert [g["lr"] for g in resumed.param_groups] == [0.05, 0.01, 0.01]
    assert resumed.param_groups[1]["betas"] == (0.8, 0.99)
    assert np.array_equal(resumed.state[2]["exp_avg"], opt.state[2]["exp_avg"])
    with pytest.raises(
        ValueError, match=r"groups of sizes \[3\], this optimiser's are \[1, 1, 1\]"
    ):
        resumed.load_state_dict(optim.Adam(twins()[0]).state_dict())


def test_a_group_resumed_from_its_state_dict_continues_exactly():
    ours, _ = twins()
    grads = np.random.RandomState(2).randn(8, 3, 2)
    straight = optim.SGD(groups_of(ours, SGD_GROUPS), lr=0.01)
    for g in grads:
        ours[0].grad = g.copy()
        straight.step()
    resumed_params, _ = twins()
    first = optim.SGD(groups_of(resumed_params, SGD_GROUPS), lr=0.01)
    for g in grads[:4]:
        resumed_params[0].grad = g.copy()
        first.step()
    second = optim.SGD(groups_of(resumed_params, [{}, {}, {}]), lr=0.7)
    second.load_state_dict(first.state_dict())
    for g in grads[4:]:
        resumed_params[0].grad = g.copy()
        second.step()
    assert np.array_equal(resumed_params[0].data, ours[0].data)


def test_add_param_group_takes_the_defaults_for_what_it_leaves_out():
    ours, theirs = twins()
    opt = optim.SGD(ours[:1], lr=0.1, momentum=0.9)
    torch_opt = torch.optim.SGD(theirs[:1], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": ours[1:], "lr": 0.01})
    torch_opt.add_param_group({"params": theirs[1:], "lr": 0.01})
    for group, torch_group in zip(opt.param_groups, torch_opt.param_groups, strict=True):
        assert (group["lr"], group["momentum"]) == (torch_group["lr"], torch_group["momentum"])
    assert opt.params == ours


@pytest.mark.parametrize(
    ("groups", "error", "match"),
    [
        (lambda p: [{"params": p[:1]}, {"params": p[:2]}], ValueError, "more than one parameter"),
        (lambda p: [{"params": p, "learning_rate": 0.1}], ValueError, r"\['learning_rate'\]"),
        (lambda p: [{"params": p, "momentum": -1.0}], ValueError, "momentum must be a finite"),
        (lambda p: [{"params": p, "nesterov": True}], ValueError, "Nesterov momentum needs"),
        (lambda p: [{"params": []}], ValueError, "empty list of parameters"),
        (lambda p: [{"lr": 0.1}], TypeError, "a dict with 'params'"),
        (lambda p: [p[0], {"params": p[1:]}], TypeError, "not both"),
        (lambda p: {"params": p}, TypeError, "wrap it in a list"),
    ],
)
def test_bad_groups_are_refused_naming_what_is_wrong(groups, error, match):
    ours, _ = twins()
    with pytest.raises(error, match=match):
        optim.SGD(groups(ours), lr=0.1)


def test_frozen_parameters_are_taken_and_left_alone_as_torch():
    ours, theirs = twins()
    ours[1].requires_grad = False
    theirs[1].requires_grad_(False)
    opt, torch_opt = optim.SGD(ours, lr=0.1), torch.optim.SGD(theirs, lr=0.1)
    ours[0].grad, theirs[0].grad = np.ones((3, 2)), torch.ones(3, 2, dtype=torch.float64)
    opt.step()
    torch_opt.step()
    for p, q in zip(ours, theirs, strict=True):
        assert np.array_equal(p.data, q.detach().numpy())


def _replace(groups, new):
    groups[0]["params"][0] = new


def _append(groups, new):
    groups[1]["params"].append(new)


def _remove_and_reorder(groups, new):
    groups[0]["params"].reverse()
    groups[1]["params"].pop()


def _move(groups, new):
    groups[1]["params"].append(groups[0]["params"].pop(0))


@pytest.mark.parametrize("edit", [_replace, _append, _remove_and_reorder, _move])
@pytest.mark.parametrize(
    ("make_ours", "make_theirs", "options"),
    [
        (optim.SGD, torch.optim.SGD, [{"momentum": 0.9}, {"momentum": 0.5, "nesterov": True}]),
        (optim.Adam, torch.optim.Adam, [{"betas": (0.5, 0.9)}, {"weight_decay": 0.1}]),
    ],
)
def test_edited_group_params_keep_each_parameters_state_as_torch(
    edit, make_ours, make_theirs, options
):
    """torch keys its states by parameter, so one put into a group's "params" list starts
    afresh and one moved or reordered keeps its own. Ours kept the states by position: a
    parameter put in place of another took over its momentum (SGD(momentum=0.9) after 3
    steps of gradient 1: the new one moved by 0.3439 where torch's moved by 0.1)."""
    shapes = ((2,), (2,), (2,), (2,), (2,))
    ours, theirs = twins(seed=3, shapes=shapes)
    opt = make_ours(
        [{"params": ours[:2], **options[0]}, {"params": ours[2:4], **options[1]}], lr=0.1
    )
    torch_opt = make_theirs(
        [{"params": theirs[:2], **options[0]}, {"params": theirs[2:4], **options[1]}], lr=0.1
    )
    rng = np.random.RandomState(4)
    for step in range(6):
        if step == 3:
            edit(opt.param_groups, ours[4])
            edit(torch_opt.param_groups, theirs[4])
        for p, q in zip(ours, theirs, strict=True):
            g = rng.randn(*p.shape)
            p.grad, q.grad = g.copy(), torch.tensor(g)
        opt.step()
        torch_opt.step()
        for position, (p, q) in enumerate(zip(ours, theirs, strict=True)):
            np.testing.assert_allclose(
                p.data, q.detach().numpy(), rtol=1e-12, atol=1e-12, err_msg=f"{step} {position}"
            )
    resumed = make_ours([{"params": group["params"]} for group in opt.param_groups], lr=0.1)
    resumed.load_state_dict(opt.state_dict())  # the state of the edited groups
    assert all(set(a) == set(b) for a, b in zip(resumed.state, opt.state, strict=True))


def test_a_parameter_put_into_two_groups_by_an_edit_is_refused():
    ours, _ = twins()
    opt = optim.SGD([{"params": ours[:1]}, {"params": ours[1:]}], lr=0.1, momentum=0.9)
    opt.param_groups[1]["params"].append(ours[0])
    for p in ours:
        p.grad = np.ones(p.shape)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.step()
    opt.param_groups[1]["params"][-1] = "weight"
    with pytest.raises(TypeError):
        opt.step()
