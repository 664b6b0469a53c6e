"""nn: Module registration, layers, MLP, Dropout, state dicts."""

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, gradcheck, nn, reference


# ---------------------------------------------------------------------- Module
class TwoLayers(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = nn.Linear(2, 3, seed=0)
        self.scale = Tensor([2.0], requires_grad=True)
        self.constant = Tensor([1.0])  # no requires_grad: not a parameter
        self.second = nn.Linear(3, 1, seed=1)

    def forward(self, x):
        return self.second(self.first(x).tanh() * self.scale)


def test_parameters_come_in_registration_order():
    model = TwoLayers()
    expected = [model.first.weight, model.first.bias, model.scale]
    expected += [model.second.weight, model.second.bias]
    assert [id(p) for p in model.parameters()] == [id(p) for p in expected]


def test_named_parameters_have_dotted_names():
    names = [name for name, _ in TwoLayers().named_parameters()]
    assert names == ["first.weight", "first.bias", "scale", "second.weight", "second.bias"]


def test_reassigning_an_attribute_keeps_its_place_and_a_plain_value_unregisters_it():
    model = TwoLayers()
    model.first = nn.Linear(2, 3, seed=5)
    model.scale = 3.0
    names = [name for name, _ in model.named_parameters()]
    assert names == ["first.weight", "first.bias", "second.weight", "second.bias"]


def test_a_tensor_shared_by_two_attributes_is_one_parameter():
    model = TwoLayers()
    model.alias = model.scale
    assert sum(p is model.scale for p in model.parameters()) == 1


@pytest.mark.parametrize(
    "holder",
    [
        lambda: [nn.Linear(2, 2, seed=0), nn.Tanh()],
        lambda: (nn.Linear(2, 2, seed=0),),
        lambda: {"first": nn.Linear(2, 2, seed=0)},
        lambda: [Tensor(np.ones(2), requires_grad=True)],
    ],
)
def test_a_container_of_modules_or_parameters_is_refused_not_silently_unregistered(holder):
    # torch would drop these from parameters() and state_dict() without a word.
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.head = nn.Linear(2, 2, seed=1)
            self.layers = holder()

    with pytest.raises(TypeError, match=r"Net.layers is a (list|tuple|dict) holding .*Sequential"):
        Net()


def test_a_container_of_plain_values_is_an_ordinary_attribute():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.sizes = [2, 3, 2]
            self.constants = (Tensor(np.ones(2)),)  # requires no grad: not a parameter
            self.head = nn.Linear(2, 2, seed=1)

    assert [name for name, _ in Net().named_parameters()] == ["head.weight", "head.bias"]


@pytest.mark.parametrize("mode", ["eval", "train", 0, None])
def test_train_takes_a_bool_not_a_string_that_is_always_true(mode):
    model = nn.MLP([2, 3, 2], dropout=0.5, seed=0)
    with pytest.raises(TypeError, match="True or False"):
        model.train(mode)
    assert model.training and all(m.training for m in model.modules())
    assert not model.train(False).training and model.train(np.bool_(True)).training


@pytest.mark.parametrize("value", ["False", "True", 0, 1, None])
def test_the_training_attribute_takes_a_bool(value):
    """bool("False") is True: model.training = "False" would keep Dropout dropping, and a
    layer's own check (``if self.training``) would read the string as training mode."""
    model = nn.MLP([2, 3, 2], dropout=0.5, seed=0)
    dropout = model[2]
    with pytest.raises(TypeError, match=f"MLP's training takes True or False, got {value!r}"):
        model.training = value
    with pytest.raises(TypeError, match=f"Dropout's training takes True or False, got {value!r}"):
        dropout.training = value
    assert model.training is True and dropout.training is True
    x = Tensor(np.ones((4, 2)))
    for off, on in ((False, True), (np.False_, np.True_)):  # numpy's bools too, kept as bools
        dropout.training = off
        assert dropout.training is False
        np.testing.assert_array_equal(dropout(x).data, x.data)
        dropout.training = on
        assert dropout.training is True


def test_a_torch_layout_weight_is_named_as_transposed():
    layer = nn.Linear(2, 3, seed=0)
    state = {"weight": layer.weight.data.T.copy(), "bias": layer.bias.data.copy()}
    with pytest.raises(
        ValueError,
        match=r"'weight' is \(3, 2\), expected \(2, 3\) \(transposed\? .*torch's \(out, in\)\)",
    ):
        layer.load_state_dict(state)
    square = nn.Linear(3, 3, seed=0)
    assert "transposed" not in " ".join(square.state_problems({"weight": np.ones((3, 4))}))


def test_a_slice_of_a_sequential_is_a_sequential_of_those_modules_as_torch():
    model = nn.MLP([2, 4, 3, 2], seed=0)
    head = model[0:2]
    assert type(head) is nn.Sequential and len(head) == 2
    assert head[0] is model[0] and head[1] is model[1] and model[-1] is model[4]
    x = np.ones((5, 2))
    np.testing.assert_array_equal(head(x).data, model[1](model[0](x)).data)
    assert [type(m).__name__ for m in model[::2]] == ["Linear", "Linear", "Linear"]
    with pytest.raises(TypeError, match="ints or slices, not str"):
        model["0"]


def test_module_without_super_init_says_so():
    class Forgetful(nn.Module):
        def __init__(self):
            self.w = Tensor([1.0], requires_grad=True)

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Forgetful()


def test_zero_grad_sets_every_grad_to_none():
    model = TwoLayers()
    model(np.ones((4, 2))).sum().backward()
    assert all(p.grad is not None for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())


def test_train_and_eval_set_training_on_every_submodule():
    model = nn.MLP([2, 4, 2], dropout=0.5, seed=0)
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    model.train()
    assert all(m.training for m in model.modules())


def test_module_without_forward_is_a_clear_type_error():
    with pytest.raises(TypeError, match="without a forward"):
        nn.Module()(1.0)


# ---------------------------------------------------------------------- layers
def test_linear_draws_randn_over_sqrt_fan_in_and_zero_bias():
    layer = nn.Linear(4, 3, seed=7)
    expected = np.random.RandomState(7).randn(4, 3) / np.sqrt(4)
    assert np.array_equal(layer.weight.data, expected)
    assert np.array_equal(layer.bias.data, np.zeros(3))
    assert layer.bias.shape == (3,)


@pytest.mark.parametrize("shape", [(4, 3), (4, 1), (3,), ()])
def test_linear_refuses_an_input_of_the_wrong_width_naming_both(shape):
    with pytest.raises(
        ValueError,
        match=rf"the input has .*{re.escape(str(shape))}.*, but Linear\(in_features=2.*takes 2$",
    ):
        nn.Linear(2, 3, seed=0)(np.ones(shape))


def test_mlp_refuses_an_input_of_the_wrong_width_at_its_first_linear():
    model = nn.MLP([2, 3, 2], seed=0)
    with pytest.raises(
        ValueError, match=r"4 features .*\(5, 4\).*in_features=2, out_features=3\) takes 2"
    ):
        model(Tensor(np.ones((5, 4))))
    with pytest.raises(ValueError, match=r"4 features .*\(5, 4\).* takes 2"):
        model([[1.0] * 4] * 5)
    assert model(np.ones((5, 2))).shape == (5, 2)


def test_linear_seed_none_draws_fresh_weights():
    assert not np.array_equal(nn.Linear(2, 3).weight.data, nn.Linear(2, 3).weight.data)


def test_linear_with_a_random_state_uses_it_as_given():
    rng = np.random.RandomState(3)
    first, second = nn.Linear(2, 2, seed=rng), nn.Linear(2, 2, seed=rng)
    stream = np.random.RandomState(3)
    assert np.array_equal(first.weight.data, stream.randn(2, 2) / np.sqrt(2))
    assert np.array_equal(second.weight.data, stream.randn(2, 2) / np.sqrt(2))


@pytest.mark.parametrize("seed", [1.5, "0", np.random.default_rng(0), True])
def test_a_seed_of_another_kind_is_refused(seed):
    with pytest.raises(TypeError, match="seed must be"):
        nn.Linear(2, 2, seed=seed)


@pytest.mark.parametrize(
    ("module", "function"),
    [
        (nn.Tanh(), F.tanh),
        (nn.Sigmoid(), F.sigmoid),
        (nn.ReLU(), F.relu),
        (nn.LeakyReLU(0.2), lambda x: F.leaky_relu(x, 0.2)),
        (nn.Softplus(), F.softplus),
    ],
)
def test_activation_modules_apply_their_function_and_gradcheck(module, function):
    x = Tensor(np.array([[-1.5, -0.3, 0.4, 2.0]]), requires_grad=True)
    assert np.array_equal(module(x).data, function(x).data)
    assert gradcheck(module, [x])


def test_linear_module_gradchecks():
    layer = nn.Linear(3, 2, seed=0)
    x = Tensor(np.random.RandomState(0).randn(4, 3), requires_grad=True)
    assert gradcheck(lambda x, w, b: layer(x), [x, layer.weight, layer.bias])


def test_sequential_names_its_modules_by_position():
    model = nn.Sequential(nn.Linear(2, 3, seed=0), nn.Tanh(), nn.Linear(3, 1, seed=0))
    assert [n for n, _ in model.named_parameters()] == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert len(model) == 3
    assert isinstance(model[1], nn.Tanh)


def test_sequential_applies_modules_in_order():
    first, second = nn.Linear(2, 3, seed=0), nn.Linear(3, 1, seed=1)
    x = np.random.RandomState(0).randn(5, 2)
    expected = second(first(x).sigmoid())
    assert np.array_equal(nn.Sequential(first, nn.Sigmoid(), second)(x).data, expected.data)


# ---------------------------------------------------------------------- Dropout
def test_dropout_zeroes_units_and_scales_the_rest_in_training():
    out = nn.Dropout(0.25, seed=0)(np.ones((50, 40))).data
    assert set(np.unique(out)) == {0.0, 1.0 / 0.75}
    assert abs(np.mean(out == 0.0) - 0.25) < 0.03


def test_dropout_mask_comes_from_its_seed():
    expected = (np.random.RandomState(4).random_sample((3, 5)) >= 0.5) / 0.5
    assert np.array_equal(nn.Dropout(0.5, seed=4)(np.ones((3, 5))).data, expected)


def test_dropout_is_the_identity_in_eval_mode():
    x = np.random.RandomState(0).randn(6, 3)
    assert np.array_equal(nn.Dropout(0.9, seed=0).eval()(x).data, x)


def test_dropout_gradient_flows_through_kept_units_only():
    drop = nn.Dropout(0.5, seed=2)
    x = Tensor(np.ones((4, 6)), requires_grad=True)
    out = drop(x)
    out.sum().backward()
    assert np.array_equal(x.grad, out.data)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5, float("nan"), True])
def test_dropout_probability_outside_zero_one_is_refused_by_dropout_and_mlp_alike(p):
    with pytest.raises(
        ValueError, match=rf"^Dropout's p must be a finite number in \[0, 1\), got {p!r}$"
    ):
        nn.Dropout(p)
    with pytest.raises(
        ValueError, match=rf"^dropout must be a finite number in \[0, 1\), got {p!r}$"
    ):
        nn.MLP([2, 3, 2], dropout=p)


# ---------------------------------------------------------------------- MLP
@pytest.mark.parametrize("hidden", [1, 3, 5, 50])
def test_mlp_starts_exactly_at_the_reference_initialisation(hidden):
    model = nn.MLP([2, hidden, 2], seed=0)
    start = reference.init_params(hidden, seed=0)
    assert np.array_equal(model[0].weight.data, start["W1"])
    assert np.array_equal(model[0].bias.data, start["b1"].ravel())
    assert np.array_equal(model[2].weight.data, start["W2"])
    assert np.array_equal(model[2].bias.data, start["b2"].ravel())


def test_mlp_with_dropout_keeps_the_reference_weights():
    model = nn.MLP([2, 3, 2], dropout=0.5, seed=0)
    assert isinstance(model[2], nn.Dropout)
    assert np.array_equal(model[0].weight.data, reference.init_params(3, seed=0)["W1"])
    assert np.array_equal(model[3].weight.data, reference.init_params(3, seed=0)["W2"])


def test_mlp_forward_is_the_write_ups_forward():
    X = np.random.RandomState(1).randn(7, 2)
    start = reference.init_params(4, seed=0)
    z2 = np.tanh(X.dot(start["W1"]) + start["b1"]).dot(start["W2"]) + start["b2"]
    assert np.array_equal(nn.MLP([2, 4, 2], seed=0)(X).data, z2)


def test_mlp_gradient_matches_the_write_ups_backprop():
    X, y = np.random.RandomState(2).randn(9, 2), np.arange(9) % 2
    model = nn.MLP([2, 3, 2], seed=0)
    F.softmax_cross_entropy(model(X), y, reduction="sum").backward()
    expected = reference.gradients(reference.init_params(3, seed=0), X, y, reg=0.0)
    assert np.allclose(model[0].weight.grad, expected["W1"], rtol=1e-12, atol=1e-14)
    assert np.allclose(model[2].bias.grad, expected["b2"].ravel(), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("activation", list(nn.ACTIVATIONS))
def test_mlp_gradchecks_with_each_activation(activation):
    model = nn.MLP([2, 3, 3, 2], activation, seed=1)
    X = np.random.RandomState(3).randn(4, 2)
    params = model.parameters()
    assert gradcheck(lambda *_: model(X), params)


def test_mlp_names_and_layers():
    model = nn.MLP([2, 5, 4, 3], "relu", seed=0)
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Linear", "ReLU", "Linear"]
    assert [n for n, _ in model.named_parameters()][-2:] == ["4.weight", "4.bias"]


def test_mlp_repr_is_readable():
    assert repr(nn.MLP([2, 3, 2], dropout=0.1, seed=0)) == (
        "MLP(\n"
        "  (0): Linear(in_features=2, out_features=3)\n"
        "  (1): Tanh()\n"
        "  (2): Dropout(p=0.1)\n"
        "  (3): Linear(in_features=3, out_features=2)\n"
        ")"
    )


@pytest.mark.parametrize(
    ("args", "match"),
    [
        (([2],), "at least"),
        (([2, 3, 2], "swish"), "activation"),
        (([2, 0, 2],), r"out_features must be an int >= 1"),
    ],
)
def test_mlp_refuses_bad_arguments(args, match):
    with pytest.raises(ValueError, match=match):
        nn.MLP(*args)


# ---------------------------------------------------------------------- state dicts
def test_state_dict_holds_copies_by_name():
    model = nn.MLP([2, 3, 2], seed=0)
    state = model.state_dict()
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    state["0.weight"][...] = 0.0
    assert not np.all(model[0].weight.data == 0.0)


def test_load_state_dict_copies_values_in():
    model, other = nn.MLP([2, 3, 2], seed=0), nn.MLP([2, 3, 2], seed=1)
    state = other.state_dict()
    model.load_state_dict(state)
    assert all(
        np.array_equal(a, b)
        for a, b in zip(model.state_dict().values(), state.values(), strict=True)
    )
    state["0.bias"][...] = 9.0
    assert not np.any(model[0].bias.data == 9.0)


def test_load_state_dict_lists_missing_unexpected_and_misshaped_in_one_error():
    model = nn.MLP([2, 3, 2], seed=0)
    before = model.state_dict()
    state = model.state_dict()
    del state["0.bias"]
    state["extra.weight"] = np.zeros(2)
    state["2.weight"] = np.zeros((2, 2))
    with pytest.raises(ValueError) as error:
        model.load_state_dict(state)
    message = str(error.value)
    assert "missing: '0.bias'" in message
    assert "unexpected: 'extra.weight'" in message
    assert "mis-shaped: '2.weight'" in message and "(2, 2)" in message and "(3, 2)" in message
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())


def test_load_state_dict_refuses_values_that_are_not_numbers():
    model = nn.MLP([2, 1, 2], seed=0)
    state = model.state_dict()
    state["0.bias"] = np.array(["a"])
    with pytest.raises(ValueError, match="not real numbers: '0.bias'"):
        model.load_state_dict(state)


# ---------------------------------------------------------------------- save / load
def same_state(model, state):
    return all(np.array_equal(state[k], v) for k, v in model.state_dict().items())


def test_save_and_load_round_trip_bit_for_bit(tmp_path):
    path = tmp_path / "model.npz"
    saved = nn.MLP([2, 5, 3, 2], "relu", seed=0)
    nn.save(saved, path, config={"sizes": [2, 5, 3, 2], "activation": "relu"})
    loaded = nn.MLP([2, 5, 3, 2], "relu", seed=1)
    nn.load(loaded, path)
    for (name, a), (_, b) in zip(saved.named_parameters(), loaded.named_parameters(), strict=True):
        assert a.data.tobytes() == b.data.tobytes(), name


def test_load_config_returns_the_saved_config_or_none(tmp_path):
    config = {"sizes": [2, 3, 2], "activation": "tanh", "dropout": 0.0}
    nn.save(nn.MLP([2, 3, 2], seed=0), tmp_path / "with.npz", config=config)
    nn.save(nn.MLP([2, 3, 2], seed=0), tmp_path / "without.npz")
    assert nn.load_config(tmp_path / "with.npz") == config
    assert nn.load_config(tmp_path / "without.npz") is None


def test_save_writes_exactly_the_path_given(tmp_path):
    nn.save(nn.MLP([2, 1, 2], seed=0), tmp_path / "model.weights")
    assert [p.name for p in tmp_path.iterdir()] == ["model.weights"]


@pytest.mark.parametrize("config", [{"f": print}, {"x": float("nan")}, ["sizes"]])
def test_save_refuses_a_config_that_is_not_a_json_dict(tmp_path, config):
    with pytest.raises(ValueError, match="config must be"):
        nn.save(nn.MLP([2, 1, 2], seed=0), tmp_path / "m.npz", config=config)
    assert list(tmp_path.iterdir()) == []


def test_load_refuses_other_names_and_shapes_and_leaves_the_module_unchanged(tmp_path):
    path = tmp_path / "wide.npz"
    nn.save(nn.MLP([2, 4, 2, 2], seed=0), path)
    model = nn.MLP([2, 3, 2], seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError) as error:
        nn.load(model, path)
    message = str(error.value)
    assert "mis-shaped: '0.weight'" in message and "(2, 4)" in message
    assert "unexpected: '4.weight'" in message
    assert "nothing was changed" in message
    assert same_state(model, before)


def test_load_refuses_a_pickled_entry_and_never_runs_it(tmp_path):
    ran = []

    class Payload:
        def __reduce__(self):
            return (ran.append, ("code ran",))

    model = nn.MLP([2, 3, 2], seed=0)
    state = model.state_dict()
    state["0.bias"] = np.array([Payload()], dtype=object)
    path = tmp_path / "pickled.npz"
    np.savez(path, **state)
    other = nn.MLP([2, 3, 2], seed=1)
    before = other.state_dict()
    with pytest.raises(ValueError, match=r"pickled: '0.bias' holds Python objects") as error:
        nn.load(other, path)
    assert "missing" not in str(error.value)
    assert ran == []
    assert same_state(other, before)


def test_load_refuses_an_npy_file(tmp_path):
    path = tmp_path / "single.npy"
    np.save(path, np.zeros(3))
    with pytest.raises(ValueError, match="not an .npz archive"):
        nn.load(nn.MLP([2, 3, 2], seed=0), path)


def saved_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("saved") / "model.npz"
    nn.save(nn.MLP([2, 3, 2], seed=0), path, config={"sizes": [2, 3, 2]})
    return path.read_bytes()


@settings(max_examples=40, deadline=None)
@given(fraction=st.floats(0.0, 0.999))
def test_load_refuses_a_truncated_file_and_leaves_the_module_unchanged(tmp_path_factory, fraction):
    whole = saved_bytes(tmp_path_factory)
    path = tmp_path_factory.mktemp("cut") / "cut.npz"
    path.write_bytes(whole[: int(len(whole) * fraction)])
    model = nn.MLP([2, 3, 2], seed=1)
    before = model.state_dict()
    with pytest.raises(ValueError, match="cannot load"):
        nn.load(model, path)
    assert same_state(model, before)
    with pytest.raises(ValueError, match="cannot read"):
        nn.load_config(path)


@settings(max_examples=40, deadline=None)
@given(position=st.floats(0.0, 0.999), flip=st.integers(1, 255))
def test_load_refuses_a_damaged_file_or_loads_it_whole(tmp_path_factory, position, flip):
    whole = bytearray(saved_bytes(tmp_path_factory))
    index = int(len(whole) * position)
    whole[index] ^= flip
    path = tmp_path_factory.mktemp("flipped") / "flipped.npz"
    path.write_bytes(bytes(whole))
    assert_refused_cleanly_or_loaded_whole(path)


def assert_refused_cleanly_or_loaded_whole(path):
    """nn.load of a damaged file: a ValueError with the model unchanged, or (a flipped byte
    the format does not check, such as zip metadata) every saved value intact."""
    model = nn.MLP([2, 3, 2], seed=1)
    before = model.state_dict()
    try:
        nn.load(model, path)
    except ValueError:
        assert same_state(model, before)
    else:
        assert same_state(model, nn.MLP([2, 3, 2], seed=0).state_dict())


def test_load_refuses_a_file_naming_an_unknown_compression_method(tmp_path_factory):
    # A damaged byte in a zip header's method field made zipfile raise NotImplementedError,
    # which escaped load instead of becoming its ValueError.
    whole = bytearray(saved_bytes(tmp_path_factory))
    for signature, offset in ((b"PK\x03\x04", 8), (b"PK\x01\x02", 10)):
        start = whole.find(signature)
        whole[start + offset : start + offset + 2] = (99).to_bytes(2, "little")
    path = tmp_path_factory.mktemp("method") / "method.npz"
    path.write_bytes(bytes(whole))
    model = nn.MLP([2, 3, 2], seed=1)
    before = model.state_dict()
    with pytest.raises(ValueError):
        nn.load(model, path)
    assert same_state(model, before)


def test_dropout_gradchecks_for_a_fixed_mask():
    x = Tensor(np.random.RandomState(0).randn(3, 4), requires_grad=True)
    assert gradcheck(lambda x: nn.Dropout(0.4, seed=6)(x), [x])


@pytest.mark.parametrize("flip", [0x01])
def test_every_flipped_byte_is_refused_cleanly_or_changes_nothing(tmp_path_factory, flip):
    """Regression: zipfile reads some flipped header bits as unsupported features
    (NotImplementedError) or as encryption (RuntimeError); both must be ValueErrors."""
    whole = saved_bytes(tmp_path_factory)
    path = tmp_path_factory.mktemp("every") / "flipped.npz"
    for index in range(len(whole)):
        damaged = bytearray(whole)
        damaged[index] ^= flip
        path.write_bytes(bytes(damaged))
        assert_refused_cleanly_or_loaded_whole(path)


def test_load_state_dict_refuses_nan_or_inf_naming_where_and_changes_nothing():
    """As nn.load refuses a file holding them: a NaN weight trains into NaN silently."""
    model = nn.MLP([2, 3, 2], seed=0)
    before = model.state_dict()
    state = model.state_dict()
    state["0.weight"][1, 2] = np.nan
    state["2.bias"][0] = np.inf
    with pytest.raises(
        ValueError, match=r"(?s)2 problem.*not finite: '0.weight' holds nan at index \(1, 2\)"
    ):
        model.load_state_dict(state)
    for name, array in model.state_dict().items():
        np.testing.assert_array_equal(array, before[name])
