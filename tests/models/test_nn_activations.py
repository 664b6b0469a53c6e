"""nn.ACTIVATIONS, the one registry of activations by name: registering, refusing, and a
registered activation at work by name in MLP, the command line and the estimator."""

import pickle
import re
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, cli, gradcheck, nn

API_PAGE = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def scaled_tanh(x):
    """2 tanh(x / 2): a plain function, registered below by name."""
    return 2 * F.tanh(x * 0.5)


class Cube(nn.Module):
    """x^3, as a Module subclass."""

    def forward(self, x):
        return x * x * x


@pytest.fixture
def registry():
    """nn.ACTIVATIONS, put back as it was after the test."""
    before = dict(nn.ACTIVATIONS)
    yield nn.ACTIVATIONS
    nn.ACTIVATIONS.clear()
    nn.ACTIVATIONS.update(before)


def builtin_names():
    """The registered names whose Module classes nn itself defines."""
    return [name for name, module in nn.ACTIVATIONS.items() if module.__module__ == nn.__name__]


def test_the_builtin_activations_are_registered_once_each_with_identity():
    assert builtin_names() == ["tanh", "sigmoid", "relu", "leaky_relu", "softplus", "identity"]
    assert nn.ACTIVATIONS["identity"] is nn.Identity
    assert all(issubclass(module, nn.Module) for module in nn.ACTIVATIONS.values())


def test_the_api_page_lists_exactly_the_builtin_names():
    text = API_PAGE.read_text()
    bullet = re.search(r"^- `ACTIVATIONS`: (.*?)(?=^- |^\s*$)", text, re.M | re.S)
    assert bullet, "docs/api.md has no `ACTIVATIONS` entry"
    listed = re.findall(r'"(\w+)"\s+\(`\w+`\)', bullet.group(1))
    assert listed == builtin_names()


@pytest.mark.parametrize("activation", builtin_names())
def test_each_builtin_builds_an_mlp_by_name_and_by_class(activation):
    X = np.random.RandomState(4).randn(5, 2)
    by_name = nn.MLP([2, 3, 2], activation, seed=0)
    by_class = nn.MLP([2, 3, 2], nn.ACTIVATIONS[activation], seed=0)
    assert type(by_name[1]) is nn.ACTIVATIONS[activation]
    assert np.array_equal(by_name(X).data, by_class(X).data)


def test_identity_makes_the_mlp_a_linear_model():
    X = np.random.RandomState(5).randn(6, 2)
    model = nn.MLP([2, 4, 2], "identity", seed=0)
    expected = (X @ model[0].weight.data + model[0].bias.data) @ model[2].weight.data
    np.testing.assert_allclose(model(X).data, expected + model[2].bias.data, rtol=1e-14)
    assert nn.Identity()(Tensor([1.0, -2.0])).data.tolist() == [1.0, -2.0]


def test_a_registered_function_works_by_name_in_mlp_and_gradchecks(registry):
    module = nn.register_activation("scaled_tanh", scaled_tanh)
    assert registry["scaled_tanh"] is module and module.__name__ == "ScaledTanh"
    model = nn.MLP([2, 3, 2], "scaled_tanh", seed=0)
    assert repr(model[1]) == "ScaledTanh()"
    X = np.random.RandomState(6).randn(4, 2)
    hidden = 2 * np.tanh((X @ model[0].weight.data + model[0].bias.data) / 2)
    expected = hidden @ model[2].weight.data + model[2].bias.data
    np.testing.assert_allclose(model(X).data, expected, rtol=1e-14)
    assert gradcheck(lambda *_: model(X), model.parameters())


def test_a_registered_module_subclass_works_by_name(registry):
    assert nn.register_activation("cube", Cube) is Cube
    model = nn.MLP([2, 3, 2], "cube", seed=1)
    assert type(model[1]) is Cube
    X = np.random.RandomState(7).randn(3, 2)
    z = X @ model[0].weight.data + model[0].bias.data
    np.testing.assert_allclose(
        model(X).data, z**3 @ model[2].weight.data + model[2].bias.data, rtol=1e-13
    )


@pytest.mark.parametrize(
    ("name", "activation", "error", "match"),
    [
        ("tanh", Cube, ValueError, r"'tanh' is already registered \(as Tanh\)"),
        ("", Cube, ValueError, "a word"),
        ("two words", Cube, ValueError, "a word"),
        (3, Cube, ValueError, "a word"),
        ("cube", Cube(), TypeError, "the class Cube, not an instance"),
        ("cube", int, TypeError, "must subclass nn.Module"),
        ("cube", 3.0, TypeError, "Module subclass or a function.*got float"),
        ("cube", nn.Linear, TypeError, r"Linear\(\) must construct without arguments"),
    ],
    ids=["duplicate", "empty", "spaces", "not_text", "instance", "other_class", "number", "args"],
)
def test_a_duplicate_name_or_a_bad_value_is_refused_and_nothing_is_registered(
    registry, name, activation, error, match
):
    before = dict(registry)
    with pytest.raises(error, match=match):
        nn.register_activation(name, activation)
    assert registry == before


def test_an_unknown_name_is_refused_listing_the_registered_ones(registry):
    with pytest.raises(ValueError, match=r"register_activation.*got 'swish'") as failure:
        nn.MLP([2, 3, 2], "swish")
    assert all(repr(name) in str(failure.value) for name in registry)
    nn.register_activation("swish", lambda x: x * F.sigmoid(x))
    assert type(nn.MLP([2, 3, 2], "swish", seed=0)[1]).__name__ == "Swish"


def test_a_wrapped_function_that_returns_no_tensor_is_a_type_error(registry):
    nn.register_activation("broken", lambda x: x.data)
    with pytest.raises(TypeError, match="'broken' must return a Tensor, got ndarray"):
        nn.MLP([2, 3, 2], "broken", seed=0)(np.zeros((1, 2)))


def test_the_command_line_trains_a_registered_activation_by_name(registry, tmp_path, capsys):
    nn.register_activation("scaled_tanh", scaled_tanh)
    argv = ["train", "--activation", "scaled_tanh", "--passes", "200"]
    assert (
        cli.main([*argv, "--out", str(tmp_path / "b.png"), "--save", str(tmp_path / "m.npz")]) == 0
    )
    assert "scaled_tanh" in capsys.readouterr().out
    assert nn.load_config(tmp_path / "m.npz")["activation"] == "scaled_tanh"


def test_the_estimator_takes_a_registered_activation_by_name(registry):
    from sklearn.exceptions import ConvergenceWarning

    from tinygrad_moons import data
    from tinygrad_moons.estimator import NeuralNetClassifier

    nn.register_activation("cube", Cube)
    # x**3 runs away at the default rate (2.0, the write-up's 0.01 on the summed loss of
    # 200 points); 0.4 is that 0.01 on the summed loss of these 40
    clf = NeuralNetClassifier(activation="cube", learning_rate_init=0.4, random_state=0)
    X, y = data.make_moons(40)
    with warnings.catch_warnings():  # five epochs do not converge, and need not here
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.set_params(max_iter=5).fit(X, y)
    assert type(clf.model_[1]) is Cube


# ---------------------------------------------------------------------- beyond one process
MISH = "lambda x: x * F.tanh(F.softplus(x))"  # registered from this text, here and in the child


def run_fresh(tmp_path, body, register=True):
    """Run ``body`` in a fresh Python process (after registering "mish" when ``register``);
    its CompletedProcess."""
    setup = "import pickle, sys\nimport numpy as np\nfrom tinygrad_moons import nn\n"
    setup += "import tinygrad_moons.functional as F\n"
    if register:
        setup += f'nn.register_activation("mish", {MISH})\n'
    script = tmp_path / "child.py"
    script.write_text(setup + body)
    return subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, cwd=tmp_path, timeout=120
    )


def fitted_mish_estimator():
    from sklearn.exceptions import ConvergenceWarning

    from tinygrad_moons import data
    from tinygrad_moons.estimator import NeuralNetClassifier

    X, y = data.make_moons(40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return NeuralNetClassifier(activation="mish", max_iter=20, random_state=0).fit(X, y), X


def test_a_model_and_an_estimator_with_a_registered_function_load_in_a_fresh_process(
    registry, tmp_path
):
    nn.register_activation("mish", eval(MISH))
    model = nn.MLP([2, 3, 2], "mish", seed=0)
    clf, X = fitted_mish_estimator()
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(model))
    (tmp_path / "clf.pkl").write_bytes(pickle.dumps(clf))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "expected.npy", np.hstack([model(X).data, clf.predict_proba(X)]))
    body = (
        "X = np.load('X.npy')\n"
        "model = pickle.loads(open('model.pkl', 'rb').read())\n"
        "clf = pickle.loads(open('clf.pkl', 'rb').read())\n"
        "got = np.hstack([model(X).data, clf.predict_proba(X)])\n"
        "assert type(model[1]) is nn.ACTIVATIONS['mish'], type(model[1])\n"
        "print(bool(np.array_equal(got, np.load('expected.npy'))))\n"
    )
    child = run_fresh(tmp_path, body)
    assert child.returncode == 0, child.stderr
    assert child.stdout.strip() == "True"


def test_a_model_loaded_where_its_activation_is_not_registered_says_so(registry, tmp_path):
    nn.register_activation("mish", eval(MISH))
    (tmp_path / "model.pkl").write_bytes(pickle.dumps(nn.MLP([2, 3, 2], "mish", seed=0)))
    child = run_fresh(tmp_path, "pickle.loads(open('model.pkl', 'rb').read())\n", register=False)
    assert child.returncode == 1
    assert (
        "activation 'mish' is not registered in this process: run "
        "nn.register_activation('mish', ...) before loading" in child.stderr
    )


def test_an_estimator_carries_its_activation_to_a_process_that_never_registered_it(
    registry, tmp_path
):
    nn.register_activation("mish", eval(MISH))  # a lambda: only cloudpickle can carry it
    clf, X = fitted_mish_estimator()
    (tmp_path / "clf.pkl").write_bytes(pickle.dumps(clf))
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "expected.npy", clf.predict_proba(X))
    body = (
        "clf = pickle.loads(open('clf.pkl', 'rb').read())\n"
        "print(bool(np.array_equal(clf.predict_proba(np.load('X.npy')), "
        "np.load('expected.npy'))), 'mish' in nn.ACTIVATIONS)\n"
    )
    child = run_fresh(tmp_path, body, register=False)
    assert child.returncode == 0, child.stderr
    assert child.stdout.split() == ["True", "True"]


def test_grid_search_with_two_workers_takes_a_registered_activation(registry):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import GridSearchCV

    from tinygrad_moons import data
    from tinygrad_moons.estimator import NeuralNetClassifier

    nn.register_activation("mish", eval(MISH))
    X, y = data.make_moons(60)
    search = GridSearchCV(
        NeuralNetClassifier(activation="mish", max_iter=20, random_state=0),
        {"alpha": [0.0, 0.01]},
        cv=2,
        n_jobs=2,
        error_score="raise",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        search.fit(X, y)
    assert type(search.best_estimator_.model_[1]) is nn.ACTIVATIONS["mish"]
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


# ---------------------------------------------------------------- --activation module:function
USER_MODULE = """
import numpy as np
import tinygrad_moons.functional as F
from tinygrad_moons import nn

def mish(x):
    return x * F.tanh(F.softplus(x))

class Cubed(nn.Module):
    def forward(self, x):
        return x * x * x

def to_numpy(x):
    return x.data

def log(x):
    return x.log()

def needs_two(x, y):
    return x

NUMBER = 3
"""


@pytest.fixture
def user_module(tmp_path, monkeypatch):
    """A module of activations, importable as user_activations_for_cli."""
    (tmp_path / "user_activations_for_cli.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "user_activations_for_cli"
    sys.modules.pop("user_activations_for_cli", None)


@pytest.mark.parametrize(("function", "class_name"), [("mish", "Mish"), ("Cubed", "Cubed")])
def test_the_command_line_trains_an_activation_it_imports(
    registry, user_module, tmp_path, capsys, function, class_name
):
    spec = f"{user_module}:{function}"
    saved = tmp_path / "m.npz"
    argv = ["train", "--activation", spec, "--epochs", "5", "--lr", "0.001", "--save", str(saved)]
    assert cli.main([*argv, "--out", str(tmp_path / "b.png")]) == 0
    assert spec in capsys.readouterr().out
    assert nn.load_config(saved)["activation"] == spec
    model = nn.MLP([2, 3, 2], function, seed=0)
    nn.load(model, saved)
    assert type(model[1]).__name__ == class_name
    points = tmp_path / "p.csv"
    points.write_text("0.5,0.2\n")
    argv = ["predict", "--model", str(saved), "--input", str(points), "--activation", spec]
    assert cli.main(argv) == 0


def test_predict_imports_a_files_activation_only_when_told(registry, user_module, tmp_path, capsys):
    spec = f"{user_module}:mish"
    saved, points = tmp_path / "m.npz", tmp_path / "p.csv"
    points.write_text("0.5,0.2\n")
    argv = ["train", "--activation", spec, "--epochs", "5", "--save", str(saved)]
    assert cli.main([*argv, "--out", str(tmp_path / "b.png")]) == 0
    registry.pop("mish")  # a fresh process: nothing registered
    capsys.readouterr()
    assert cli.main(["predict", "--model", str(saved), "--input", str(points)]) == 1
    assert f"to import yours, pass --activation {spec}" in capsys.readouterr().err
    assert (
        cli.main(["predict", "--model", str(saved), "--input", str(points), "--activation", "relu"])
        == 1
    )
    assert (
        f"trained with the activation '{spec}'; --activation gave 'relu'" in capsys.readouterr().err
    )
    argv = ["predict", "--model", str(saved), "--input", str(points), "--activation", spec]
    assert cli.main(argv) == 0
    assert capsys.readouterr().out.startswith("class,p0,p1\n")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_package_here:mish", "cannot import 'no_such_package_here' (No module named"),
        ("{m}:absent", "module '{m}' has no 'absent'"),
        ("{m}:NUMBER", "is a int, not a function or an nn.Module class"),
        ("{m}:to_numpy", "is not an activation: on a (2, 3) Tensor it returned ndarray"),
        ("{m}:needs_two", "is not an activation: on a (2, 3) Tensor it raised TypeError"),
        ("{m}:log", "is not an activation: it is not finite on [-2, 2]"),
    ],
)
def test_an_activation_the_command_line_cannot_use_is_one_line(
    registry, user_module, capsys, spec, message
):
    spec = spec.format(m=user_module)
    before = dict(registry)
    with pytest.raises(SystemExit) as info:
        cli.main(["train", "--activation", spec, "--epochs", "1"])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert message.format(m=user_module) in err
    assert registry == before
