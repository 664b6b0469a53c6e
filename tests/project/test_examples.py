"""Every script in examples/ run with small settings: its finding holds and its figure is drawn.

Each test calls the script's ``main(argv)`` (the numbers come back as a dict) and asserts
the finding its docstring states, at a size that keeps this file fast.
"""

import re
import subprocess
import sys
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, data, gradcheck, nn

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
sys.path.insert(0, str(EXAMPLES))

import activations  # noqa: E402
import annealing  # noqa: E402
import coursera_cg  # noqa: E402
import deeper  # noqa: E402
import digits_cnn  # noqa: E402
import grid_search  # noqa: E402
import hidden_size_sweep  # noqa: E402
import logistic_regression  # noqa: E402
import minibatch  # noqa: E402
import readers_dropout  # noqa: E402
import readers_optimizers  # noqa: E402
import readers_regression  # noqa: E402
import readers_validation  # noqa: E402
import three_classes  # noqa: E402
import writeup_network  # noqa: E402

# Its verdict and exit status are the estimator's part of the work.
WITHOUT_VERDICT = {"grid_search"}


def run(module, tmp_path, *argv):
    """main() with the figure going to tmp_path; the figure must be a drawn PNG, and the
    script must say that its finding holds."""
    result = module.main([*argv, "--out-dir", str(tmp_path)])
    if module.__name__ not in WITHOUT_VERDICT:
        assert result["finding_holds"] is True
    image = matplotlib.image.imread(result["figure"])
    assert Path(result["figure"]).parent == tmp_path
    assert image.shape[0] > 300 and image.shape[1] > 300
    assert np.std(image[..., :3]) > 0.05  # not blank
    return result


def test_every_script_is_tested():
    scripts = {p.stem for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_")}
    assert scripts == {m.__name__ for m in TESTED}


def docstring_commands(path):
    """The ``python examples/NAME.py ...`` lines of a script's docstring, comments cut."""
    lines = re.findall(r"^    (python examples/\S+\.py.*?)(?:\s+#.*)?$", path.read_text(), re.M)
    return [line.strip() for line in lines]


def scripts():
    return sorted(p for p in EXAMPLES.glob("*.py") if not p.stem.startswith("_"))


@pytest.mark.parametrize("path", scripts(), ids=lambda p: p.stem)
def test_every_docstring_prints_the_full_command_and_quick_where_the_full_run_is_long(path):
    """The full run, and ``--quick`` exactly where the script defines QUICK: the default
    suite runs --quick (the tests above), the slow suite each command as printed."""
    module = sys.modules[path.stem]
    expected = [f"python examples/{path.name}"]
    if hasattr(module, "QUICK"):
        expected.append(f"python examples/{path.name} --quick")
    assert docstring_commands(path) == expected


@pytest.mark.slow
@pytest.mark.parametrize(
    "command",
    [command for path in scripts() for command in docstring_commands(path)],
)
def test_every_docstring_command_exits_0_as_printed(command, tmp_path):
    _, script, *argv = command.split()
    done = subprocess.run(
        [sys.executable, str(EXAMPLES.parent / script), *argv, "--out-dir", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_quick_stands_for_the_small_settings_and_later_options_win():
    args = annealing.main.__globals__["_common"].parser("doc", ["--x", "1"])
    args.add_argument("--x", type=int, default=5)
    assert args.parse_args(["--quick"]).x == 1
    assert args.parse_args(["--quick", "--x", "2"]).x == 2
    assert args.parse_args([]).x == 5


def test_every_script_run_from_the_shell_exits_1_when_its_finding_does_not_hold():
    for path in EXAMPLES.glob("*.py"):
        if path.stem.startswith("_") or path.stem in WITHOUT_VERDICT:
            continue
        main_block = path.read_text().split('if __name__ == "__main__":')[1]
        assert main_block.strip() == "_common.exit_with(main())", path.name


@pytest.mark.parametrize("value", ["0", "-5"])
def test_an_epoch_count_below_1_is_a_usage_error_not_a_traceback(value):
    script = EXAMPLES / "writeup_network.py"
    done = subprocess.run(
        [sys.executable, str(script), "--passes", value], capture_output=True, text=True
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"expected a positive integer, got '{value}'" in done.stderr


@pytest.mark.parametrize(
    ("module", "argv", "message"),
    [
        (grid_search, ["--max-iter", "-1"], "expected a positive integer, got '-1'"),
        (grid_search, ["--hidden", "3", "0"], "expected a positive integer, got '0'"),
        (grid_search, ["--alpha", "-0.1"], "expected a number >= 0, got '-0.1'"),
        (grid_search, ["--n-jobs", "0"], "expected a positive integer, or -1"),
        (readers_regression, ["--lr", "nan"], "expected a number > 0, got 'nan'"),
        (deeper, ["--depths", "two"], "expected a positive integer, got 'two'"),
    ],
)
def test_a_bad_option_value_is_a_usage_error_naming_it_before_any_work(
    module, argv, message, capsys
):
    with pytest.raises(SystemExit) as stop:
        module.main(argv)
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_exit_with_is_status_1_for_a_finding_that_does_not_hold():
    import _common

    with pytest.raises(SystemExit) as info:
        _common.exit_with({"finding_holds": False})
    assert info.value.code == 1
    with pytest.raises(SystemExit) as info:
        _common.exit_with({"finding_holds": True})
    assert info.value.code == 0


def test_writeup_network_at_2000_passes_says_the_table_does_not_hold_and_exits_1(tmp_path):
    # Size 3's period-2 cycle is still growing at pass 2000: the last pair is compared too
    # early, so the table's last-pair bound fails, and the script must say so in its status.
    script = EXAMPLES / "writeup_network.py"
    argv = ["--hidden", "3", "--passes", "2000", "--n-jobs", "1", "--out-dir", str(tmp_path)]
    done = subprocess.run([sys.executable, str(script), *argv], capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    assert "The finding does NOT hold" in done.stdout
    assert "the last two losses differ by" in done.stdout


def test_coursera_cg_stopped_at_its_iteration_limit_says_no_minimum_was_reached(tmp_path, capsys):
    result = coursera_cg.main(["--maxiter", "50", "--out-dir", str(tmp_path)])
    out = capsys.readouterr().out
    assert not result["success"] and result["finding_holds"] is False
    assert "No minimum reached: CG stopped at its limit after 50 iterations" in out
    assert "Minimum reached:" not in out


def test_writeup_network_holds_the_reproduction_table(tmp_path):
    result = run(writeup_network, tmp_path, "--quick")
    assert result["table_holds"]
    assert result["early_gap"] <= 1e-9
    assert result["last_gap"] <= 1e-8


def test_minibatch_epochs_alike_but_an_epoch_of_batch_1_costs_far_more(tmp_path):
    result = run(minibatch, tmp_path, "--quick")
    by_size = result["by_batch_size"]
    epochs = [by_size[b]["epochs_to_target"] for b in minibatch.BATCH_SIZES]
    assert None not in epochs
    assert max(epochs) <= 1.5 * min(epochs)
    assert by_size[1]["seconds_per_epoch"] > 10 * by_size[200]["seconds_per_epoch"]
    assert result["identical_to_full_batch"]


def test_batch_200_without_shuffling_is_full_batch_bit_for_bit():
    history_200, state_200 = minibatch.train(200, 30, shuffle=False)
    history_full, state_full = minibatch.train(None, 30)
    assert history_200.loss == history_full.loss
    for name, value in state_full.items():
        assert np.array_equal(state_200[name], value)


def test_annealing_settles_below_the_fixed_rate_and_larger_rates_misbehave(tmp_path):
    result = run(annealing, tmp_path, "--quick")
    rates = result["by_rate"]
    assert result["annealed_final"] < result["fixed_final"]
    assert rates[result["annealed"]]["verdict"] == "settles"
    assert rates["fixed 0.01"]["verdict"] == "oscillates"
    assert rates["fixed 0.03"]["verdict"] == "oscillates"
    assert rates["fixed 1000"]["verdict"].startswith("diverges")


@pytest.mark.parametrize("activation", activations.ACTIVATIONS)
def test_activation_networks_loss_passes_gradcheck(activation):
    X, y = data.make_moons(20, seed=3)
    model = nn.MLP([2, 3, 2], activation, seed=0)
    assert gradcheck(lambda *params: activations.objective(model, X, y), model.parameters())


def test_every_activation_separates_the_moons(tmp_path):
    # 2000, not 1000: softplus is still crossing over to the separating solution near epoch
    # 1000 (its loss jumps there), so the accuracy at exactly 1000 is set by rounding.
    result = run(activations, tmp_path, "--quick")
    for numbers in result["by_activation"].values():
        assert numbers["train_accuracy"] >= 0.95
        assert numbers["test_accuracy"] >= 0.93


def test_three_classes_come_close_to_the_nearest_centre_rule(tmp_path):
    result = run(three_classes, tmp_path, "--quick")
    assert result["test_accuracy"] >= result["nearest_centre_accuracy"] - 0.02
    assert result["test_accuracy"] > 0.85


def test_a_small_cnn_reads_the_held_out_digits(tmp_path):
    result = run(digits_cnn, tmp_path, "--quick")
    assert result["test_accuracy"] > 0.97


def test_deeper_networks_fit_better_but_do_not_generalise_better(tmp_path):
    result = run(deeper, tmp_path, "--quick")
    runs = result["runs"]
    shallow, deepest = runs[(10, 1)], runs[(10, 4)]
    assert shallow["diverged"] is None and deepest["diverged"] is None
    assert deepest["train"] > shallow["train"]
    assert deepest["test"] <= shallow["test"] + 0.01


def test_coursera_port_reaches_the_nearby_minimum_with_cg(tmp_path):
    result = run(coursera_cg, tmp_path)
    assert result["success"]
    assert result["minimum"] == "the nearby one"
    assert result["cost"] == pytest.approx(0.1342, abs=1e-4)
    assert result["accuracy"] == pytest.approx(0.98)


def _post_nn(theta, X, y, Lambda, hidden=3):
    """The post's nn(): its cost J and gradient, transcribed (Python 3, modern numpy)."""
    m, Input, Output = len(X), X.shape[1], 2
    y_matrix = np.eye(Output)[y]
    theta1 = theta[: (Input + 1) * hidden].reshape((hidden, Input + 1))
    theta2 = theta[(Input + 1) * hidden :].reshape((Output, hidden + 1))
    a1 = np.concatenate((np.ones((1, m)).T, X), axis=1)
    z2 = a1.dot(theta1.T)
    a2 = np.concatenate((np.ones((1, m)).T, 1.0 / (1.0 + np.exp(-z2))), axis=1)
    z3 = a2.dot(theta2.T)
    a3 = 1.0 / (1.0 + np.exp(-z3))
    J = np.sum(-y_matrix * np.log(a3) - (1 - y_matrix) * (np.log(1 - a3))) / m + (
        Lambda / (2 * m)
    ) * (np.sum(theta1[:, 1:] ** 2) + np.sum(theta2[:, 1:] ** 2))
    d3 = a3 - y_matrix
    d2 = (a3 - y_matrix).dot(theta2) * (a2 * (1 - a2))
    D1 = d2[:, 1:].T.dot(a1) / m
    D2 = d3.T.dot(a2) / m
    D1[:, 1:] += Lambda / m * theta1[:, 1:]
    D2[:, 1:] += Lambda / m * theta2[:, 1:]
    return J, D1, D2


def _post_theta_init():
    """The post's theta_init: randtheta reseeds numpy's global generator in every call."""
    state = np.random.get_state()
    try:
        thetas = []
        for L_in, L_out in ((2, 3), (3, 2)):
            np.random.seed(0)
            rand_epsilon = np.sqrt(6) / np.sqrt(L_in + L_out)
            theta = np.random.random((L_out, L_in + 1)) * (2 * rand_epsilon) - rand_epsilon
            thetas.append(theta.reshape(-1))
        return np.concatenate(thetas)
    finally:
        np.random.set_state(state)


def test_coursera_cost_and_gradient_equal_the_posts_nn_at_its_start():
    X, y = data.make_moons()
    theta = _post_theta_init()
    J, D1, D2 = _post_nn(theta, X, y, coursera_cg.LAMBDA)
    model = coursera_cg.port_model()
    cost = coursera_cg.cost(model, X, y)
    assert cost.item() == pytest.approx(J, rel=1e-12)
    cost.backward()
    first, second = model[0], model[2]
    # The post's D has the bias column first and one row per output unit.
    np.testing.assert_allclose(first.bias.grad, D1[:, 0], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(first.weight.grad, D1[:, 1:].T, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(second.bias.grad, D2[:, 0], rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(second.weight.grad, D2[:, 1:].T, rtol=1e-10, atol=1e-14)


def test_readers_validation_picks_a_network_that_holds_up_on_the_test_set(tmp_path):
    result = run(readers_validation, tmp_path, "--quick")
    hidden, reg = result["chosen"]
    chosen = result["candidates"][(hidden, reg)]
    assert hidden == 3
    assert all(
        c["val"] < chosen["val"] - 0.05 for (h, _), c in result["candidates"].items() if h == 1
    )
    assert result["test_accuracy"] >= 0.9


def test_readers_regression_reaches_the_noise_floor(tmp_path):
    result = run(readers_regression, tmp_path, "--quick")
    floor = result["noise_floor"]
    assert 0.9 * floor < result["test_mse"] < 1.3 * floor
    assert result["mse_against_sin"] < 0.25 * floor


def test_readers_dropout_shrinks_the_generalisation_gap(tmp_path):
    result = run(readers_dropout, tmp_path, "--quick")
    assert result["with"]["gap"] < result["without"]["gap"] - 0.05
    assert result["with"]["test"] > result["without"]["test"]


def test_readers_quasi_newton_beats_200_gradient_steps(tmp_path):
    result = run(readers_optimizers, tmp_path)
    by_method = result["by_method"]
    gd = by_method["gradient descent, 200 steps"]
    for method in ("BFGS", "L-BFGS-B"):
        assert by_method[method]["final_loss"] < gd["final_loss"] - 0.01
        assert by_method[method]["evaluations_to_gd_loss"] < 100


def test_logistic_regression_draws_a_straight_line_that_misses_the_moons(tmp_path):
    result = run(logistic_regression, tmp_path)
    assert 0.8 < result["train_accuracy"] < 0.9
    assert 0.8 < result["test_accuracy"] < 0.9


def test_hidden_size_sweep_three_units_bend_where_one_cannot(tmp_path):
    result = run(hidden_size_sweep, tmp_path, "--quick")
    by_hidden = result["by_hidden"]
    assert by_hidden[3]["train"] > by_hidden[1]["train"] + 0.05
    assert by_hidden[3]["test"] > by_hidden[1]["test"] + 0.05


TESTED = [
    activations,
    annealing,
    coursera_cg,
    deeper,
    digits_cnn,
    grid_search,
    hidden_size_sweep,
    logistic_regression,
    minibatch,
    readers_dropout,
    readers_optimizers,
    readers_regression,
    readers_validation,
    three_classes,
    writeup_network,
]


def test_the_penalty_is_fits_on_every_linear():
    # activations.objective relies on fit's penalised_weights: the weights, not the biases.
    model = nn.MLP([2, 3, 2], seed=0)
    X, y = data.make_moons(10)
    expected = F.softmax_cross_entropy(model(Tensor(X)), y, reduction="sum").item()
    expected += 0.01 / 2 * sum(float(np.sum(m.weight.data**2)) for m in (model[0], model[2]))
    assert activations.objective(model, X, y).item() == pytest.approx(expected, rel=1e-14)


def test_grid_search_finds_that_one_unit_underfits_and_draws_the_winner(tmp_path):
    result = run(grid_search, tmp_path, "--quick")
    scores = {(row["hidden"], row["alpha"]): row["cv_accuracy"] for row in result["results"]}
    assert len(scores) == 4
    assert result["best_params"] == {"hidden_layer_sizes": (5,), "alpha": 0.01}
    assert result["best_cv_accuracy"] == max(scores.values())
    assert max(scores[1, 0.01], scores[1, 10]) < result["best_cv_accuracy"] - 0.05
    assert scores[5, 10] < result["best_cv_accuracy"] - 0.05
    assert result["test_accuracy"] >= 0.9
