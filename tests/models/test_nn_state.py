"""nn: module state as torch keeps it (frozen parameters and buffers in the state dict, the
walks, load_state_dict strict and not), compared with torch.nn on the same modules."""

import numpy as np
import pytest
import torch

from tinygrad_moons import Tensor, nn, no_grad


# ---------------------------------------------------------------------- twins in torch
class RunningNorm(nn.Module):
    """A BatchNorm-like layer: scale and shift are parameters, the running mean a buffer
    given to register_buffer and the count a plain Tensor attribute (a buffer too)."""

    def __init__(self, width):
        super().__init__()
        self.scale = Tensor(np.linspace(0.5, 1.5, width), requires_grad=True)
        self.shift = Tensor(np.zeros(width), requires_grad=True)
        self.register_buffer("running_mean", Tensor(np.arange(width) / 10.0))
        self.count = Tensor(np.array(3.0))

    def forward(self, x):
        return (x - self.running_mean) * self.scale + self.shift


class TorchRunningNorm(torch.nn.Module):
    def __init__(self, ours):
        super().__init__()
        self.scale = torch.nn.Parameter(torch.tensor(ours.scale.data))
        self.shift = torch.nn.Parameter(torch.tensor(ours.shift.data))
        self.register_buffer("running_mean", torch.tensor(ours.running_mean.data))
        self.register_buffer("count", torch.tensor(ours.count.data))


def torch_linear(ours):
    """torch's Linear holding our Linear's numbers (its weight is (out, in))."""
    twin = torch.nn.Linear(ours.in_features, ours.out_features, dtype=torch.float64)
    with torch.no_grad():
        twin.weight.copy_(torch.tensor(ours.weight.data.T))
        twin.bias.copy_(torch.tensor(ours.bias.data))
    return twin


def same_state(ours, theirs):
    """Equal keys in the same order, equal values (torch's Linear weights transposed)."""
    assert list(ours) == list(theirs)
    for name, value in ours.items():
        expected = theirs[name].numpy()
        expected = expected.T if name.endswith("weight") and expected.ndim == 2 else expected
        assert np.array_equal(value, expected), name


def frozen_model(seed=0):
    model = nn.Sequential(nn.Linear(2, 3, seed=seed), nn.Tanh(), nn.Linear(3, 2, seed=seed + 1))
    model[0].weight.requires_grad = False
    model[0].bias.requires_grad = False
    return model


# ---------------------------------------------------------------------- state_dict
def test_a_frozen_layer_stays_in_parameters_and_the_state_dict_as_torchs():
    model = frozen_model()
    twin = torch.nn.Sequential(torch_linear(model[0]), torch.nn.Tanh(), torch_linear(model[2]))
    twin[0].requires_grad_(False)
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in twin.named_parameters()]
    same_state(model.state_dict(), twin.state_dict())


def test_buffers_are_in_the_state_dict_and_not_parameters_as_torchs():
    layer = RunningNorm(3)
    twin = TorchRunningNorm(layer)
    same_state(layer.state_dict(), twin.state_dict())
    assert [n for n, _ in layer.named_parameters()] == [n for n, _ in twin.named_parameters()]
    assert [n for n, _ in layer.named_buffers()] == [n for n, _ in twin.named_buffers()]
    assert layer.buffers() == [layer.running_mean, layer.count]


def test_nested_buffers_have_dotted_names_as_torchs():
    model = nn.Sequential(nn.Linear(2, 3, seed=0), RunningNorm(3))
    twin = torch.nn.Sequential(torch_linear(model[0]), TorchRunningNorm(model[1]))
    same_state(model.state_dict(), twin.state_dict())
    assert [n for n, _ in model.named_buffers()] == [n for n, _ in twin.named_buffers()]


def test_the_state_dict_holds_copies():
    layer = RunningNorm(2)
    state = layer.state_dict()
    state["running_mean"][...] = 7.0
    assert not np.any(layer.running_mean.data == 7.0)


def test_a_state_dict_taken_before_training_restores_the_weights_torch_would_lose():
    """``best = m.state_dict()`` then training: torch's dict follows the parameters (it
    shares their storage) unless deep-copied; ours is the checkpoint the habit means."""
    model = nn.Linear(2, 2, seed=0)
    initial = model.weight.data.copy()
    twin = torch.nn.Linear(2, 2).double()
    with torch.no_grad():
        twin.weight.copy_(torch.from_numpy(initial.T))
    before, theirs = model.state_dict(), twin.state_dict()
    with no_grad():
        model.weight -= 1.0
    with torch.no_grad():
        twin.weight -= 1.0
    model.load_state_dict(before)
    twin.load_state_dict(theirs)
    np.testing.assert_array_equal(model.weight.data, initial)
    np.testing.assert_array_equal(twin.weight.detach().numpy().T, initial - 1.0)


def test_a_buffer_reloaded_gives_the_same_outputs():
    trained, fresh = RunningNorm(3), RunningNorm(3)
    trained.running_mean.data[...] = [1.0, -2.0, 0.5]
    x = np.ones((2, 3))
    fresh.load_state_dict(trained.state_dict())
    assert np.array_equal(fresh(x).data, trained(x).data)


def test_loading_into_a_frozen_twin_really_loads():
    source, twin = nn.Sequential(nn.Linear(2, 3, seed=5), nn.Tanh()), frozen_model(seed=0)
    del twin[2]
    twin.load_state_dict(source.state_dict())
    assert np.array_equal(twin[0].weight.data, source[0].weight.data)
    assert twin[0].weight.requires_grad is False  # loading copies values, not flags


def test_save_and_load_keep_a_frozen_layer(tmp_path):
    source, twin = frozen_model(seed=3), frozen_model(seed=0)
    nn.save(source, tmp_path / "m.npz")
    nn.load(twin, tmp_path / "m.npz")
    for name, value in source.state_dict().items():
        assert np.array_equal(twin.state_dict()[name], value), name


def test_a_plain_tensor_assigned_to_a_parameters_name_keeps_it_a_frozen_parameter():
    layer = nn.Linear(2, 2, seed=0)
    layer.weight = Tensor(np.eye(2))
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias"]
    layer.extra = Tensor(np.ones(2))
    layer.extra = Tensor(np.ones(2), requires_grad=True)  # a parameter always registers as one
    assert [n for n, _ in layer.named_parameters()] == ["weight", "bias", "extra"]
    assert layer.buffers() == []


def test_register_buffer_refuses_what_torch_refuses():
    layer = nn.Linear(2, 2, seed=0)
    with pytest.raises(KeyError, match="attribute 'weight' already exists"):
        layer.register_buffer("weight", Tensor([1.0]))
    with pytest.raises(KeyError, match=r"contain no '\.'"):
        layer.register_buffer("a.b", Tensor([1.0]))
    with pytest.raises(TypeError, match="takes a Tensor, got list"):
        layer.register_buffer("stats", [1.0])
    with pytest.raises(TypeError, match="must be a str"):
        layer.register_buffer(3, Tensor([1.0]))


# ---------------------------------------------------------------------- load_state_dict
def test_load_state_dict_not_strict_returns_torchs_missing_and_unexpected_keys():
    model = nn.Sequential(nn.Linear(2, 3, seed=0), RunningNorm(3))
    twin = torch.nn.Sequential(torch_linear(model[0]), TorchRunningNorm(model[1]))
    state = nn.Sequential(nn.Linear(2, 3, seed=9), RunningNorm(3)).state_dict()
    del state["0.bias"], state["1.running_mean"]
    state["2.weight"] = np.ones(2)
    torch_state = {k: torch.tensor(v.T if k == "0.weight" else v) for k, v in state.items()}
    result = model.load_state_dict(state, strict=False)
    expected = twin.load_state_dict(torch_state, strict=False)
    assert result == (expected.missing_keys, expected.unexpected_keys)
    assert result.missing_keys == ["0.bias", "1.running_mean"]
    assert result.unexpected_keys == ["2.weight"]
    assert np.array_equal(model[0].weight.data, state["0.weight"])  # the matching ones load
    assert model.load_state_dict(model.state_dict()) == ([], [])


def test_load_state_dict_strict_lists_buffers_and_changes_nothing():
    model = nn.Sequential(nn.Linear(2, 3, seed=0), RunningNorm(3))
    before = model.state_dict()
    state = dict(before)
    del state["1.count"]
    state["1.running_mean"] = np.ones(4)
    state["0.weight"] = before["0.weight"] + 1.0
    with pytest.raises(ValueError) as error:
        model.load_state_dict(state)
    assert "missing: '1.count'" in str(error.value)
    assert "mis-shaped: '1.running_mean' is (4,), expected (3,)" in str(error.value)
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())


def test_load_state_dict_not_strict_still_refuses_a_wrong_shape_and_changes_nothing():
    model = RunningNorm(3)
    before = model.state_dict()
    with pytest.raises(ValueError, match="mis-shaped: 'scale'"):
        model.load_state_dict({"scale": np.ones(2), "shift": np.ones(3)}, strict=False)
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.skipif(not np.isfinite(np.longdouble("1e400")), reason="np.longdouble is float64 here")
def test_a_longdouble_beyond_float64_is_not_finite_and_changes_nothing():
    model = nn.MLP([2, 3, 2], seed=0)
    before = model.state_dict()
    state = {**before, "0.weight": np.full((2, 3), np.longdouble("1e400"))}
    (problem,) = model.state_problems(state)
    assert problem.startswith("not finite: '0.weight' holds 1e+400 at index (0, 0)")
    assert "beyond float64's range" in problem
    with pytest.raises(ValueError, match=r"nothing was changed.*\n  not finite: '0.weight'"):
        model.load_state_dict(state)
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())


def test_load_state_dict_takes_a_mapping_and_a_bool():
    with pytest.raises(TypeError, match="maps names to arrays, got list"):
        RunningNorm(2).load_state_dict([("scale", np.ones(2))])
    with pytest.raises(TypeError, match="strict takes True or False"):
        RunningNorm(2).load_state_dict(RunningNorm(2).state_dict(), strict="no")


# ---------------------------------------------------------------------- the walks
class Tree(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, 3, seed=0), nn.Tanh())
        self.norm = RunningNorm(3)
        self.head = nn.Linear(3, 2, seed=1)


class TorchTree(torch.nn.Module):
    def __init__(self, ours):
        super().__init__()
        self.body = torch.nn.Sequential(torch_linear(ours.body[0]), torch.nn.Tanh())
        self.norm = TorchRunningNorm(ours.norm)
        self.head = torch_linear(ours.head)


def test_children_and_modules_walk_as_torchs():
    model = Tree()
    twin = TorchTree(model)
    assert [n for n, _ in model.named_children()] == [n for n, _ in twin.named_children()]
    assert [n for n, _ in model.named_modules()] == [n for n, _ in twin.named_modules()]
    assert list(model.children()) == [model.body, model.norm, model.head]
    assert next(iter(model.modules())) is model


def test_a_module_shared_twice_is_walked_once_as_torchs():
    shared = nn.Linear(2, 2, seed=0)
    model = nn.Sequential(shared, nn.Tanh(), shared)
    twin = torch.nn.Sequential(torch_linear(shared), torch.nn.Tanh())
    twin.append(twin[0])
    assert [n for n, _ in model.named_modules()] == [n for n, _ in twin.named_modules()]
    assert [n for n, _ in model.named_parameters()] == [n for n, _ in twin.named_parameters()]
    assert list(model.state_dict()) == list(twin.state_dict())


def test_apply_visits_children_first_then_the_module_as_torchs():
    model, twin = Tree(), None
    twin = TorchTree(model)
    ours, theirs = [], []
    model.apply(lambda m: ours.append(type(m).__name__))
    twin.apply(lambda m: theirs.append(type(m).__name__))
    rename = {"TorchTree": "Tree", "TorchRunningNorm": "RunningNorm"}
    assert ours == [rename.get(name, name) for name in theirs]
    assert model.apply(lambda m: None) is model


@pytest.mark.parametrize("container", [list, dict])
def test_modules_put_in_a_plain_container_after_assignment_are_a_type_error(container):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = nn.Linear(2, 2, seed=0)
            self.layers = container()

    net = Net()
    if container is list:
        net.layers.append(nn.Linear(2, 2, seed=1))
    else:
        net.layers["extra"] = nn.Linear(2, 2, seed=1)
    pattern = r"Net\.layers is a (list|dict) holding Linears.*ModuleList.*ModuleDict"
    for walk in (
        net.parameters,
        net.state_dict,
        net.buffers,
        lambda: list(net.modules()),
        lambda: list(net.children()),
        net.zero_grad,
    ):
        with pytest.raises(TypeError, match=pattern):
            walk()
    assert "Net(" in repr(net)  # a repr still works, to help find it


# ---------------------------------------------------------------------- containers
def test_module_list_registers_what_it_holds_with_torchs_names():
    layers = nn.ModuleList([nn.Linear(2, 3, seed=0), nn.Tanh()])
    layers.append(nn.Linear(3, 2, seed=1))
    twin = torch.nn.ModuleList([torch_linear(layers[0]), torch.nn.Tanh()])
    twin.append(torch_linear(layers[2]))
    same_state(layers.state_dict(), twin.state_dict())
    assert len(layers) == 3 and list(layers) == [layers[0], layers[1], layers[2]]
    assert layers[-1] is layers[2]


def test_module_list_insert_extend_set_delete_and_slice_as_torchs():
    ours = nn.ModuleList([nn.Linear(1, 1, seed=i) for i in range(3)])
    theirs = torch.nn.ModuleList([torch.nn.Linear(1, 1) for _ in range(3)])
    for module_list, make in ((ours, lambda i: nn.Linear(1, 1, seed=10 + i)), (theirs, None)):
        make = make or (lambda i: torch.nn.Linear(1, 1))
        module_list.insert(1, make(0))
        module_list.extend([make(1), make(2)])
        module_list[0] = make(3)
        del module_list[2]
        del module_list[-1]
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert isinstance(ours[1:3], nn.ModuleList) and len(ours[1:3]) == 2
    assert ours[1:3][0] is ours[1]  # shared, not copied, as torch's
    assert ours.pop(0) is not None and len(ours) == 3


def test_module_list_indices_are_checked():
    layers = nn.ModuleList([nn.Tanh()])
    with pytest.raises(IndexError, match="index 1 is out of range for a ModuleList of 1"):
        layers[1]
    with pytest.raises(TypeError, match="ints or slices, not str"):
        layers["0"]
    with pytest.raises(TypeError, match="ModuleList holds Modules; item 1 is int"):
        layers.append(3)


def test_module_dict_is_a_registered_dict_of_modules_as_torchs():
    heads = nn.ModuleDict({"moons": nn.Linear(3, 2, seed=0)})
    heads["blobs"] = nn.Linear(3, 4, seed=1)
    heads.update([("ring", nn.Linear(3, 5, seed=2))])
    twin = torch.nn.ModuleDict({k: torch_linear(v) for k, v in heads.items()})
    same_state(heads.state_dict(), twin.state_dict())
    assert list(heads) == list(twin) and heads.keys() == list(twin.keys())
    assert "blobs" in heads and "train" not in heads and len(heads) == 3
    assert heads.pop("moons") is not None and list(heads) == ["blobs", "ring"]
    del heads["ring"]
    assert list(heads.state_dict()) == ["blobs.weight", "blobs.bias"]
    heads.clear()
    assert len(heads) == 0 and heads.parameters() == []


def test_module_dict_refuses_what_torch_refuses():
    heads = nn.ModuleDict()
    with pytest.raises(KeyError, match="attribute 'train' already exists"):
        heads["train"] = nn.Tanh()
    with pytest.raises(KeyError, match=r"contain no '\.'"):
        heads["a.b"] = nn.Tanh()
    with pytest.raises(TypeError, match=r"ModuleDict\['x'\] takes a Module, got int"):
        heads["x"] = 3
    with pytest.raises(KeyError):
        heads["absent"]


def test_a_module_list_inside_a_module_trains_every_layer():
    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(2, 2, seed=0)])

        def forward(self, x):
            for layer in self.layers:
                x = layer(x).tanh()
            return x

    model = Stack()
    model.layers.append(nn.Linear(2, 2, seed=1))  # appended after assignment: registered
    model(np.ones((1, 2))).sum().backward()
    assert [n for n, _ in model.named_parameters()] == [
        "layers.0.weight",
        "layers.0.bias",
        "layers.1.weight",
        "layers.1.bias",
    ]
    assert all(p.grad is not None for p in model.parameters())


def test_sequential_list_habits_as_torchs():
    ours = nn.Sequential(nn.Linear(2, 2, seed=0), nn.Tanh())
    theirs = torch.nn.Sequential(torch_linear(ours[0]), torch.nn.Tanh())
    ours.append(nn.Linear(2, 3, seed=1))
    theirs.append(torch_linear(ours[2]))
    ours.insert(1, nn.Linear(2, 2, seed=2))
    theirs.insert(1, torch_linear(ours[1]))
    ours.extend([nn.Sigmoid()])
    theirs.extend([torch.nn.Sigmoid()])
    ours[3] = nn.Linear(2, 3, seed=3)
    theirs[3] = torch_linear(ours[3])
    del ours[0]
    del theirs[0]
    same_state(ours.state_dict(), theirs.state_dict())
    x = np.linspace(-1, 1, 6).reshape(3, 2)
    expected = theirs(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(ours(x).data, expected, rtol=1e-14, atol=1e-15)
    assert ours[-1] is ours[len(ours) - 1] and isinstance(ours[-2:], nn.Sequential)


def test_an_mlp_grows_as_a_sequential():
    model = nn.MLP([2, 3, 2], seed=0)
    model.append(nn.Tanh()).append(nn.Linear(2, 2, seed=1))
    assert [n for n, _ in model.named_parameters()][-2:] == ["4.weight", "4.bias"]
    assert model(np.ones((1, 2))).shape == (1, 2)


# ---------------------------------------------------------------------- Linear(bias=False)
def test_linear_without_bias_is_x_at_w_as_torchs():
    layer = nn.Linear(3, 2, bias=False, seed=0)
    twin = torch.nn.Linear(3, 2, bias=False, dtype=torch.float64)
    with torch.no_grad():
        twin.weight.copy_(torch.tensor(layer.weight.data.T))
    assert layer.bias is None and twin.bias is None
    same_state(layer.state_dict(), twin.state_dict())
    x = np.linspace(-1, 1, 12).reshape(4, 3)
    np.testing.assert_allclose(layer(x).data, twin(torch.tensor(x)).detach().numpy(), rtol=1e-14)
    assert np.array_equal(layer.weight.data, nn.Linear(3, 2, seed=0).weight.data)  # same draw
    assert repr(layer) == "Linear(in_features=3, out_features=2, bias=False)"


def test_linear_bias_takes_a_bool():
    with pytest.raises(TypeError, match="bias takes True or False, got 'no'"):
        nn.Linear(2, 2, bias="no")
