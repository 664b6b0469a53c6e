"""What a PyTorch user types by habit: each spelling of habits.py's tables is refused with
the exception Python would raise and a message naming what was typed and our spelling; the
spelling the message advises gives torch's float64 values, gradients and second
derivatives; and the refusals change nothing else (hasattr, getattr's default, pickling,
copying, signatures, attribute lookups that succeed)."""

import copy
import inspect
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import tinygrad_moons
import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, grad, habits, nn, optim
from tinygrad_moons.habits import REFUSED

RNG = np.random.default_rng(0)
DATA = RNG.normal(size=(2, 3))


def tensor():
    return Tensor(DATA, requires_grad=True)


# ---------------------------------------------------------------------- names
@pytest.mark.parametrize("name", sorted(habits.TENSOR))
def test_a_torch_tensor_attribute_is_an_attribute_error_naming_ours(name):
    t = tensor()
    advice = habits.TENSOR[name]
    with pytest.raises(AttributeError, match=re.escape(f"'{name}' (PyTorch's name): {advice}")):
        getattr(t, name)
    assert not hasattr(t, name)
    assert getattr(t, name, "default") == "default"
    assert isinstance(vars(Tensor)[name], habits.Refused)  # no real attribute hides it


@pytest.mark.parametrize("name", sorted(habits.MODULE))
def test_a_torch_module_attribute_is_an_attribute_error_naming_ours(name):
    for model in (nn.Linear(2, 3), nn.MLP([2, 3, 2], seed=0)):
        message = f"{type(model).__name__} has no attribute '{name}' (PyTorch's name)"
        with pytest.raises(AttributeError, match=re.escape(message)):
            getattr(model, name)
        assert not hasattr(model, name)
    assert isinstance(vars(nn.Module)[name], habits.Refused)


def test_a_module_of_ones_own_may_still_use_a_refused_name():
    class Placed(nn.Module):
        def __init__(self):
            super().__init__()
            self.device = "cpu"  # an attribute of the user's own
            self.float = 1.5

        def to(self, where):
            return where

    placed = Placed()
    assert placed.device == "cpu" and placed.float == 1.5 and placed.to("x") == "x"


MODULE_NAMES = [(module, name) for module, table in habits.MODULES.items() for name in table]
MODULES = {
    "tinygrad_moons": tinygrad_moons,
    "tinygrad_moons.functional": F,
    "tinygrad_moons.nn": nn,
    "tinygrad_moons.optim": optim,
}


@pytest.mark.parametrize(("module_name", "name"), MODULE_NAMES)
def test_a_torch_module_level_name_is_an_attribute_error_naming_ours(module_name, name):
    module = MODULES[module_name]
    advice = habits.MODULES[module_name][name]
    message = f"{module_name} has no {name} (PyTorch's name): "
    with pytest.raises(AttributeError, match=re.escape(message)) as error:
        getattr(module, name)
    assert str(error.value).endswith(advice)
    assert not hasattr(module, name)


def test_no_torch_name_of_the_package_is_one_of_its_modules():
    # ``from tinygrad_moons import name`` imports a submodule the package's __getattr__ lacks
    package = Path(tinygrad_moons.__file__).parent
    for name in habits.MODULES["tinygrad_moons"]:
        assert not (package / f"{name}.py").exists() and not (package / name).exists()


def test_calling_the_tensor_module_as_torch_tensor_names_tensor():
    with pytest.raises(TypeError, match=r"not torch.tensor: write Tensor\(data"):
        tinygrad_moons.tensor([1.0, 2.0])
    assert tinygrad_moons.tensor.Tensor is Tensor


@pytest.mark.parametrize("module", list(MODULES.values()), ids=list(MODULES))
def test_other_missing_module_names_are_pythons_attribute_error(module):
    for name in ("no_such_name", "__wrapped__", "__test__", "__signature__"):
        with pytest.raises(AttributeError, match=f"has no attribute '{name}'"):
            getattr(module, name)
        assert getattr(module, name, None) is None
    assert module.Tensor is Tensor if hasattr(module, "Tensor") else True


# The habits asked for by name, written out here, not read from habits.py's tables (a
# test parametrized over a table cannot notice an entry deleted from it): what is typed,
# the exception, and words of our spelling its message must hold.
t = Tensor(DATA, requires_grad=True)
w = Tensor(DATA, requires_grad=True)
ASKED = [
    ("t.sum(dim=0)", lambda: t.sum(dim=0), TypeError, "axis="),
    ("t.sum(keepdim=True)", lambda: t.sum(0, keepdim=True), TypeError, "keepdims="),
    ("t.mean(dim=0)", lambda: t.mean(dim=0), TypeError, "axis="),
    ("t.max(dim=0)", lambda: t.max(dim=0), TypeError, "axis="),
    ("t.min(dim=0)", lambda: t.min(dim=0), TypeError, "axis="),
    ("t.argmax(dim=0)", lambda: t.argmax(dim=0), TypeError, "axis="),
    ("t.var(unbiased=False)", lambda: t.var(unbiased=False), TypeError, "ddof="),
    ("F.softmax(dim=1)", lambda: F.softmax(t, dim=1), TypeError, "axis="),
    ("F.log_softmax(dim=1)", lambda: F.log_softmax(t, dim=1), TypeError, "axis="),
    ("t.size()", lambda: t.size(), TypeError, "t.shape"),
    ("Tensor(x, dtype=...)", lambda: Tensor(DATA, dtype="float32"), TypeError, "float64"),
    (
        "y.backward(retain_graph=True)",
        lambda: (t * 2).sum().backward(retain_graph=True),
        TypeError,
        "always kept",
    ),
    ("y.backward(gradient=g)", lambda: (t * 2).backward(gradient=DATA), TypeError, "grad="),
    ("t.view(3, 2)", lambda: t.view(3, 2), AttributeError, "t.reshape("),
    ("t.t()", lambda: t.t(), AttributeError, "t.T"),
    ("t.pow(2)", lambda: t.pow(2), AttributeError, "t ** p"),
    ("t.clamp(0, 1)", lambda: t.clamp(0, 1), AttributeError, "t.clip(low, high)"),
    ("t.unsqueeze(0)", lambda: t.unsqueeze(0), AttributeError, "t.expand_dims(axis)"),
    ("t.permute(1, 0)", lambda: t.permute(1, 0), AttributeError, "t.transpose(*axes)"),
    ("t.dim()", lambda: t.dim(), AttributeError, "t.ndim"),
    ("t.numel()", lambda: t.numel(), AttributeError, "t.size"),
    ("t.float()", lambda: t.float(), AttributeError, "float64"),
    ("t.double()", lambda: t.double(), AttributeError, "float64"),
    ("t.to('cpu')", lambda: t.to("cpu"), AttributeError, "no devices"),
    ("F.cross_entropy", lambda: F.cross_entropy, AttributeError, "F.softmax_cross_entropy("),
    ("F.mse_loss", lambda: F.mse_loss, AttributeError, "F.mse("),
    ("nn.CrossEntropyLoss", lambda: nn.CrossEntropyLoss, AttributeError, "softmax_cross_entropy"),
    ("nn.MSELoss", lambda: nn.MSELoss, AttributeError, "F.mse("),
    ("optim.AdamW", lambda: optim.AdamW, AttributeError, "Adam(params, weight_decay="),
    ("tm.tensor([1.0])", lambda: tinygrad_moons.tensor([1.0]), TypeError, "Tensor(data"),
    ("tm.zeros(3)", lambda: tinygrad_moons.zeros(3), AttributeError, "np.zeros(shape)"),
    ("tm.manual_seed(0)", lambda: tinygrad_moons.manual_seed(0), AttributeError, "seed="),
    ("Adam(amsgrad=True)", lambda: optim.Adam([w], amsgrad=True), TypeError, "amsgrad=False"),
    ("SGD(dampening=0.1)", lambda: optim.SGD([w], 0.1, dampening=0.1), TypeError, "dampening=0"),
]


@pytest.mark.parametrize(("typed", "call", "kind", "ours"), ASKED, ids=[a[0] for a in ASKED])
def test_each_habit_asked_for_is_refused_naming_our_spelling(typed, call, kind, ours):
    with pytest.raises(kind) as error:
        call()
    assert type(error.value) is kind  # exactly Python's type: nothing else to catch
    assert ours in str(error.value)
    assert "PyTorch" in str(error.value) or "torch" in str(error.value)


def test_other_missing_tensor_names_are_pythons_attribute_error():
    t = tensor()
    for name in ("no_such_name", "__deepcopy__", "__getnewargs_ex__", "__array_interface__"):
        with pytest.raises(AttributeError, match=f"'Tensor' object has no attribute '{name}'"):
            getattr(t, name)
        assert getattr(t, name, None) is None


# ---------------------------------------------------------------------- keywords
REFUSING = [
    (Tensor, lambda **kw: Tensor(DATA, **kw)),
    (Tensor.backward, lambda **kw: (tensor() * 2).sum().backward(**kw)),
    (Tensor.sum, lambda **kw: tensor().sum(**kw)),
    (Tensor.mean, lambda **kw: tensor().mean(**kw)),
    (Tensor.max, lambda **kw: tensor().max(**kw)),
    (Tensor.min, lambda **kw: tensor().min(**kw)),
    (Tensor.var, lambda **kw: tensor().var(**kw)),
    (Tensor.std, lambda **kw: tensor().std(**kw)),
    (Tensor.prod, lambda **kw: tensor().prod(**kw)),
    (Tensor.argmax, lambda **kw: tensor().argmax(**kw)),
    (Tensor.squeeze, lambda **kw: tensor().squeeze(**kw)),
    (Tensor.flatten, lambda **kw: tensor().flatten(**kw)),
    (Tensor.cumsum, lambda **kw: tensor().cumsum(**kw)),
    (Tensor.cumprod, lambda **kw: tensor().cumprod(**kw)),
    (Tensor.flip, lambda **kw: tensor().flip(**kw)),
    (Tensor.roll, lambda **kw: tensor().roll(1, **kw)),
    (Tensor.sort, lambda **kw: tensor().sort(**kw)),
    (F.leaky_relu, lambda **kw: F.leaky_relu(tensor(), **kw)),
    (F.softmax, lambda **kw: F.softmax(tensor(), **kw)),
    (F.log_softmax, lambda **kw: F.log_softmax(tensor(), **kw)),
    (F.concatenate, lambda **kw: F.concatenate([tensor(), tensor()], **kw)),
    (F.stack, lambda **kw: F.stack([tensor(), tensor()], **kw)),
]
REFUSED_KEYWORDS = [
    (function, call, p.name)
    for function, call in REFUSING
    for p in inspect.signature(function).parameters.values()
    if p.default is REFUSED
]


@pytest.mark.parametrize(
    ("function", "call", "keyword"),
    REFUSED_KEYWORDS,
    ids=[f"{f.__qualname__}-{k}" for f, _, k in REFUSED_KEYWORDS],
)
def test_a_torch_keyword_is_a_type_error_naming_ours(function, call, keyword):
    for value in (0, 1, True, None):
        with pytest.raises(TypeError) as error:
            call(**{keyword: value})
        message = str(error.value)
        if keyword in habits.KEYWORDS:
            assert f"{function.__name__}() takes {habits.KEYWORDS[keyword]}" in message
            assert f"not torch's {keyword}=" in message
        else:  # a keyword with nothing to write instead
            advice = habits.OPTIONS[keyword]
            assert (
                f"{function.__name__}() takes no {keyword}= (PyTorch's option): {advice}" in message
            )


def test_every_refused_keyword_is_keyword_only():
    for function, _, keyword in REFUSED_KEYWORDS:
        kind = inspect.signature(function).parameters[keyword].kind
        assert kind is inspect.Parameter.KEYWORD_ONLY, (function, keyword)
    assert len(REFUSED_KEYWORDS) == 37  # one dropped in a merge would go unnoticed


def test_two_torch_keywords_are_named_in_one_message():
    with pytest.raises(TypeError, match="axis= .numpy's name., not torch's dim=; keepdims="):
        tensor().sum(dim=0, keepdim=True)


def test_max_says_it_gives_the_values_alone():
    with pytest.raises(TypeError, match=r"values alone .* argmax\(axis\) their positions"):
        tensor().max(dim=1)


def test_the_refused_default_is_one_object_through_pickle_and_copy():
    assert pickle.loads(pickle.dumps(REFUSED)) is REFUSED
    assert copy.deepcopy(REFUSED) is REFUSED and repr(REFUSED) == "REFUSED"


# ---------------------------------------------------------------------- options
@pytest.mark.parametrize("option", sorted(habits.OPTIONS))
def test_a_torch_constructor_option_is_a_type_error_saying_why(option):
    w = tensor()
    makers = [
        lambda **kw: optim.SGD([w], lr=0.1, **kw),
        lambda **kw: optim.Adam([w], **kw),
        lambda **kw: nn.Linear(2, 3, **kw),
        lambda **kw: nn.ReLU(**kw),
    ]
    for make in makers:
        with pytest.raises(TypeError) as error:
            make(**{option: False})
        assert f"takes no {option}= (PyTorch's option): {habits.OPTIONS[option]}" in str(
            error.value
        )


def test_a_class_of_ones_own_taking_a_torch_option_keeps_it():
    class OnDevice(nn.Module):
        def __init__(self, device="cpu"):
            super().__init__()
            self.where = device

    class Flexible(nn.Module):
        def __init__(self, **options):
            super().__init__()
            self.options = options

    assert OnDevice(device="gpu").where == "gpu"
    assert Flexible(dtype="f4").options == {"dtype": "f4"}


def test_other_unknown_options_stay_pythons_type_error():
    with pytest.raises(TypeError, match="unexpected keyword argument 'momentun'"):
        optim.SGD([tensor()], lr=0.1, momentun=0.9)


def test_signatures_stay_the_classes_own():
    assert str(inspect.signature(nn.Module)) == "() -> 'None'"
    assert "params" in inspect.signature(optim.Optimizer).parameters
    assert list(inspect.signature(nn.Tanh).parameters) == []
    assert "lr" in inspect.signature(optim.SGD).parameters


# ---------------------------------------------------------------------- size
def test_size_is_numpys_int_and_refuses_torchs_call():
    t = tensor()
    assert t.size == 6 and isinstance(t.size, int) and t.size + 1 == 7
    assert np.zeros(t.size).shape == (6,) and repr(t.size) == "6"
    for args in ((), (0,)):
        with pytest.raises(TypeError, match=r"write t.shape for t.size\(\), t.shape\[d\]"):
            t.size(*args)
    assert type(pickle.loads(pickle.dumps(t.size))) is int
    assert type(copy.copy(t.size)) is int


# ---------------------------------------------------------------------- nothing else changes
def test_tensor_has_no_getattr_so_every_lookup_is_as_quick_as_before():
    # CPython 3.11 does not specialise attribute loads on a class with __getattr__: the
    # refusals are class attributes instead.
    assert all("__getattr__" not in vars(cls) for cls in Tensor.__mro__)


def test_pickle_copy_and_deepcopy_still_work():
    t = tensor()
    (t * t).sum().backward()
    for twin in (copy.copy(t), copy.deepcopy(t), pickle.loads(pickle.dumps(t))):
        np.testing.assert_array_equal(twin.data, t.data)
        np.testing.assert_array_equal(twin.grad, t.grad)
        assert twin.requires_grad
    model = nn.MLP([2, 3, 2], seed=0)
    opt = optim.Adam(model.parameters())
    for twin in (copy.deepcopy(model), pickle.loads(pickle.dumps(model))):
        np.testing.assert_array_equal(twin[0].weight.data, model[0].weight.data)
    assert copy.deepcopy(opt).defaults == opt.defaults
    assert pickle.loads(pickle.dumps(opt)).defaults == opt.defaults


# ---------------------------------------------------------------------- the advice is right
def _derivatives(fn, data, library, second):
    """fn's value at data, the gradient of <fn, w>, and (second) the derivative of
    <that gradient, v>: float64, in our library or torch."""
    rng = np.random.default_rng(1)
    x = (
        Tensor(data, requires_grad=True)
        if library == "ours"
        else torch.tensor(data, requires_grad=True)
    )
    out = fn(x)
    value = out.data if library == "ours" else out.detach().numpy()
    w = rng.normal(size=value.shape)
    v = rng.normal(size=data.shape)
    if library == "ours":
        (g,) = grad((out * w).sum(), x, create_graph=second)
        results = [value, g.data]
        if second:
            (h,) = grad((g * v).sum(), x) if g.requires_grad else (np.zeros(data.shape),)
            results.append(np.asarray(getattr(h, "data", h)))
        return results
    (g,) = torch.autograd.grad((out * torch.tensor(w)).sum(), x, create_graph=second)
    results = [value, g.detach().numpy()]
    if second:
        h = torch.autograd.grad((g * torch.tensor(v)).sum(), x)[0] if g.requires_grad else None
        results.append(np.zeros(data.shape) if h is None else h.numpy(force=True))
    return results


LABELS = np.array([2, 0])
MASK = DATA > 0
SAME = [  # (habit, torch's spelling, ours, differentiable twice)
    ("view", lambda x: x.view(3, 2), lambda x: x.reshape(3, 2), False),
    ("t", lambda x: x.t(), lambda x: x.T, False),
    ("mT", lambda x: x.mT, lambda x: x.swapaxes(-2, -1), False),
    ("permute", lambda x: x.permute(1, 0), lambda x: x.transpose(1, 0), False),
    ("unsqueeze", lambda x: x.unsqueeze(1), lambda x: x.expand_dims(1), False),
    ("expand", lambda x: x.expand(4, 2, 3), lambda x: F.broadcast_to(x, (4, 2, 3)), False),
    ("pow", lambda x: x.pow(3), lambda x: x**3, True),
    ("square", lambda x: x.square(), lambda x: x**2, True),
    ("neg", lambda x: x.neg(), lambda x: -x, False),
    ("mul", lambda x: x.mul(x), lambda x: x * x, True),
    ("div", lambda x: x.div(x + 3), lambda x: x / (x + 3), True),
    ("mm", lambda x: x.mm(x.T), lambda x: x @ x.T, True),
    ("clamp", lambda x: x.clamp(-0.5, 0.5), lambda x: x.clip(-0.5, 0.5), True),
    ("clamp_min", lambda x: x.clamp_min(0.1), lambda x: x.clip(0.1, None), True),
    ("clamp_max", lambda x: x.clamp_max(0.1), lambda x: x.clip(None, 0.1), True),
    ("amax", lambda x: x.amax(1), lambda x: x.max(1), True),
    ("amin", lambda x: x.amin(0), lambda x: x.min(0), True),
    ("softmax", lambda x: x.softmax(1), lambda x: F.softmax(x, axis=1), True),
    ("log_softmax", lambda x: x.log_softmax(0), lambda x: F.log_softmax(x, axis=0), True),
    ("norm", lambda x: x.norm(), lambda x: (x * x).sum().sqrt(), True),
    (
        "masked_fill",
        lambda x: x.masked_fill(torch.tensor(MASK), 2.0),
        lambda x: F.where(MASK, 2.0, x),
        False,
    ),
    (
        "dim=, keepdim=",
        lambda x: x.sum(dim=0, keepdim=True),
        lambda x: x.sum(axis=0, keepdims=True),
        False,
    ),
    ("mean dim=", lambda x: x.mean(dim=1), lambda x: x.mean(axis=1), False),
    ("var unbiased=", lambda x: x.var(dim=1, unbiased=True), lambda x: x.var(axis=1, ddof=1), True),
    ("std correction=", lambda x: x.std(correction=0), lambda x: x.std(ddof=0), True),
    ("prod dim=", lambda x: x.prod(dim=1), lambda x: x.prod(axis=1), True),
    ("F.softmax dim=", lambda x: torch.softmax(x, dim=0), lambda x: F.softmax(x, axis=0), True),
    ("cumsum dim=", lambda x: x.cumsum(dim=1), lambda x: x.cumsum(axis=1), False),
    ("flip dims=", lambda x: x.flip(dims=[0]), lambda x: x.flip(axis=0), False),
    ("roll dims=", lambda x: x.roll(1, dims=1), lambda x: x.roll(1, axis=1), False),
    (
        "sort descending=",
        lambda x: x.sort(dim=1, descending=True).values,
        lambda x: x.sort(1).flip(1),
        False,
    ),
    (
        "cat",
        lambda x: torch.cat([x, x * 2], dim=1),
        lambda x: F.concatenate([x, x * 2], axis=1),
        False,
    ),
    (
        "stack dim=",
        lambda x: torch.stack([x, x * 2], dim=2),
        lambda x: F.stack([x, x * 2], axis=2),
        False,
    ),
    (
        "cross_entropy",
        lambda x: torch.nn.functional.cross_entropy(x, torch.tensor(LABELS)),
        lambda x: F.softmax_cross_entropy(x, LABELS),
        True,
    ),
    (
        "CrossEntropyLoss sum",
        lambda x: torch.nn.CrossEntropyLoss(reduction="sum")(x, torch.tensor(LABELS)),
        lambda x: F.softmax_cross_entropy(x, LABELS, reduction="sum"),
        True,
    ),
    (
        "mse_loss",
        lambda x: torch.nn.functional.mse_loss(x, torch.ones(2, 3, dtype=torch.float64)),
        lambda x: F.mse(x, np.ones((2, 3))),
        True,
    ),
    (
        "l1_loss",
        lambda x: torch.nn.functional.l1_loss(x, torch.zeros(2, 3, dtype=torch.float64)),
        lambda x: (x - np.zeros((2, 3))).abs().mean(),
        True,
    ),
]


@pytest.mark.parametrize(("habit", "theirs", "ours", "second"), SAME, ids=[s[0] for s in SAME])
def test_the_advised_spelling_gives_torchs_float64_values_and_derivatives(
    habit, theirs, ours, second
):
    expected = _derivatives(theirs, DATA, "torch", second)
    got = _derivatives(ours, DATA, "ours", second)
    for what, g, e in zip(("value", "gradient", "second derivative"), got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-14, err_msg=f"{habit}: {what}")


def test_a_second_backward_adds_as_torchs_with_retain_graph():
    x, theirs = tensor(), torch.tensor(DATA, requires_grad=True)
    y, their_y = (x * x).sum(), (theirs * theirs).sum()
    for _ in range(2):
        y.backward()
        their_y.backward(retain_graph=True)
    np.testing.assert_allclose(x.grad, theirs.grad.numpy(), rtol=1e-15)


def test_the_advised_shape_queries_give_torchs_answers():
    x, theirs = tensor(), torch.tensor(DATA)
    assert x.shape == tuple(theirs.size()) and x.shape[1] == theirs.size(1)
    assert x.ndim == theirs.dim() and x.size == theirs.numel()


def test_the_names_with_numpys_meaning_that_the_docs_warn_of():
    # docs/api.md, "PyTorch's spellings": a torch habit misreads these, so they are listed
    x, theirs = tensor(), torch.tensor(DATA)
    assert x.repeat(2, 1).shape == (2, 6) and tuple(theirs.repeat(2, 1).shape) == (4, 3)
    assert x.argmax().shape == (2,) and theirs.argmax().shape == ()
    assert isinstance(x.max(1), Tensor) and isinstance(theirs.max(1), tuple)
    assert not np.isclose(x.std().item(), theirs.std().item())
    np.testing.assert_allclose(x.std(ddof=1).item(), theirs.std().item(), rtol=1e-13)
