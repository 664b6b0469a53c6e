"""fit: the write-up's training reproduced, mini-batches, validation, divergence, progress."""

import sys
import warnings

import numpy as np
import pytest
from writeup_table import assert_table_holds

import tinygrad_moons.functional as F
from tinygrad_moons import Tensor, data, nn, optim, reference
from tinygrad_moons.train import (
    History,
    NoProgressWarning,
    TrainingDiverged,
    evaluating,
    fit,
    predict,
    predict_proba,
)


@pytest.fixture(scope="module")
def moons():
    return data.make_moons()


def as_reference_params(model):
    """The parameters of an MLP([2, H, 2]) in reference.py's layout."""
    return {
        "W1": model[0].weight.data.copy(),
        "b1": model[0].bias.data.reshape(1, -1).copy(),
        "W2": model[-1].weight.data.copy(),
        "b2": model[-1].bias.data.reshape(1, -1).copy(),
    }


def record_params(model):
    """A callback keeping a copy of the state after every epoch, and the list it fills."""
    states = []

    def callback(epoch, history):
        states.append(model.state_dict())

    return callback, states


# ---------------------------------------------------------------------- the write-up
def test_fit_with_defaults_is_the_write_ups_training(moons):
    """The reproduction table's rule for hidden size 3: passes 0-1000 to a relative 1e-9;
    after 20,000 passes the period-2 oscillation's last two losses, as an unordered pair,
    to 1e-8."""
    X, y = moons
    with warnings.catch_warnings():
        warnings.simplefilter("error", NoProgressWarning)  # it learns: no warning
        history = fit(nn.MLP([2, 3, 2], seed=0), X, y, progress=False)
    assert_table_holds(3, history.loss)


def test_history_loss_is_the_write_ups_loss_of_the_parameters_after_each_epoch(moons):
    X, y = moons
    model = nn.MLP([2, 3, 2], seed=0)
    callback, states = record_params(model)
    history = fit(model, X, y, epochs=5, callbacks=[callback], progress=False)
    for loss, state in zip(history.loss, states, strict=True):
        probe = nn.MLP([2, 3, 2], seed=0)
        probe.load_state_dict(state)
        assert loss == pytest.approx(
            reference.loss(as_reference_params(probe), X, y, 0.01), rel=1e-12
        )


@pytest.mark.parametrize(("batch_size", "dropout"), [(32, 0.0), (None, 0.3), (50, 0.3)])
def test_with_batches_or_dropout_the_loss_is_still_the_full_data_loss_in_eval_mode(
    moons, batch_size, dropout
):
    X, y = moons
    model = nn.MLP([2, 5, 2], dropout=dropout, seed=0)
    callback, states = record_params(model)
    history = fit(
        model, X, y, epochs=4, batch_size=batch_size, callbacks=[callback], seed=1, progress=False
    )
    for loss, accuracy, state in zip(history.loss, history.accuracy, states, strict=True):
        model.load_state_dict(state)
        logits = model.eval()(X)
        expected = F.softmax_cross_entropy(logits, y, reduction="sum").item()
        expected += (
            0.01
            / 2
            * (np.sum(state["0.weight"] ** 2) + np.sum(state[f"{len(model) - 1}.weight"] ** 2))
        )
        assert loss == pytest.approx(expected / len(y), rel=1e-12)
        assert accuracy == np.mean(logits.argmax() == y)


class _ShiftedInTraining(nn.Module):
    """A Module of the user's own whose forward reads ``self.training``: it adds 1.0 in
    training (before a Tanh, so the loss sees it) and nothing in eval mode."""

    def forward(self, x):
        return x + 1.0 if self.training else x


def _batchnorm_model():
    return nn.Sequential(
        nn.Linear(2, 4, seed=0), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 2, seed=1)
    )


def _shifted_model():
    return nn.Sequential(
        nn.Linear(2, 4, seed=0), _ShiftedInTraining(), nn.Tanh(), nn.Linear(4, 2, seed=1)
    )


def _hand_loop(model, X, y, epochs):
    """Full-batch SGD on the summed cross-entropy, each step in training mode, then the
    loss (summed / N) and accuracy of all the data in eval mode: what History holds."""
    opt = optim.SGD(model.parameters(), lr=0.01)
    losses, accuracies = [], []
    for _ in range(epochs):
        opt.zero_grad()
        F.softmax_cross_entropy(model(Tensor(X)), y, reduction="sum").backward()
        opt.step()
        with evaluating(model):
            logits = model(Tensor(X))
            losses.append(F.softmax_cross_entropy(logits, y, reduction="sum").item() / len(y))
            accuracies.append(np.count_nonzero(logits.data.argmax(axis=1) == y) / len(y))
    return losses, accuracies


@pytest.mark.parametrize("make", [_batchnorm_model, _shifted_model], ids=["batchnorm", "own"])
def test_full_batch_history_is_scored_in_eval_mode_when_training_mode_differs(moons, make):
    """Full batches once reused the scoring forward as the next step's whenever there was
    no Dropout: with BatchNorm, or a Module of one's own reading ``self.training``, History
    was scored in training mode and BatchNorm's running statistics took epochs + 1
    updates. Now History is the eval-mode loss and accuracy, the statistics take one update
    a step, and compiled or not gives the same numbers bit for bit."""
    X, y = moons
    epochs = 4
    reference_model = make()
    expected_loss, expected_accuracy = _hand_loop(reference_model, X, y, epochs)
    expected_state = reference_model.state_dict()  # BatchNorm's running statistics too
    for compiled in (False, None, True):  # each bit for bit the hand loop's
        model = make()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # compiled=True: BatchNorm's why
            history = fit(model, X, y, epochs=epochs, reg=0.0, progress=False, compiled=compiled)
        assert history.loss == expected_loss, compiled
        assert history.accuracy == expected_accuracy, compiled
        state = model.state_dict()
        for name, value in expected_state.items():
            assert np.array_equal(state[name], value), (compiled, name)


def test_one_mini_batch_epoch_is_sgd_on_each_batch_with_the_penalty_scaled_by_its_share(moons):
    X, y = moons
    model = nn.MLP([2, 3, 2], seed=0)
    fit(model, X, y, epochs=1, batch_size=64, shuffle=False, lr=0.05, reg=0.1, progress=False)
    params = reference.init_params(3, seed=0)
    for start in range(0, 200, 64):
        rows = slice(start, start + 64)
        share = len(y[rows]) / len(y)
        grads = reference.gradients(params, X[rows], y[rows], reg=0.1 * share)
        for name in params:
            params[name] -= 0.05 * grads[name]
    for name, value in as_reference_params(model).items():
        np.testing.assert_allclose(value, params[name], rtol=1e-12, atol=1e-15, err_msg=name)


class _Tied(nn.Module):
    """Two Linears sharing one weight (tied weights): one parameter, used twice."""

    def __init__(self):
        super().__init__()
        self.first, self.second = nn.Linear(2, 2, seed=0), nn.Linear(2, 2, seed=1)
        self.second.weight = self.first.weight

    def forward(self, x):
        return self.second(self.first(x).tanh())


@pytest.mark.parametrize("compiled", [False, True])
def test_a_weight_tied_between_two_linears_is_penalised_once_as_torch_counts_it(moons, compiled):
    # Penalised per Linear, the tied weight had twice the penalty and twice its gradient,
    # where a Linear used twice (one module) had it once.
    torch = pytest.importorskip("torch")
    X, y = moons
    model = _Tied()
    ours = [p.data.copy() for p in model.parameters()]
    weight, b1, b2 = (torch.tensor(a, requires_grad=True) for a in ours)
    sgd = torch.optim.SGD([weight, b1, b2], lr=0.01)
    inputs, labels = torch.tensor(X), torch.tensor(y)
    losses = []
    for _ in range(3):
        logits = torch.tanh(inputs @ weight + b1) @ weight + b2
        loss = torch.nn.functional.cross_entropy(logits, labels, reduction="sum")
        sgd.zero_grad()
        (loss + 0.1 / 2 * (weight**2).sum()).backward()
        sgd.step()
        with torch.no_grad():
            logits = torch.tanh(inputs @ weight + b1) @ weight + b2
            data_loss = torch.nn.functional.cross_entropy(logits, labels, reduction="sum")
            losses.append(((data_loss + 0.1 / 2 * (weight**2).sum()) / len(y)).item())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # eager: a Module of the test's own
        history = fit(model, X, y, epochs=3, reg=0.1, progress=False, compiled=compiled)
    np.testing.assert_allclose(history.loss, losses, rtol=1e-12)
    np.testing.assert_allclose(model.first.weight.data, weight.detach().numpy(), rtol=1e-12)


@pytest.mark.parametrize("shuffle", [False, True])
def test_one_batch_of_all_rows_equals_full_batch_training_exactly(moons, shuffle):
    X, y = moons
    full = fit(nn.MLP([2, 3, 2], seed=0), X, y, epochs=50, progress=False)
    batched = fit(
        nn.MLP([2, 3, 2], seed=0), X, y, epochs=50, batch_size=200, shuffle=shuffle, progress=False
    )
    assert full.loss == batched.loss


def test_a_batch_size_above_the_rows_is_clipped_with_a_warning_as_mlpclassifiers(moons):
    """batch_size=201 on 200 rows trains on full batches, as 200 does, and says so (naming
    both numbers and the caller's line); 200 itself is simply the full batch."""
    X, y = moons
    full = fit(nn.MLP([2, 3, 2], seed=0), X, y, epochs=5, progress=False)
    with pytest.warns(UserWarning, match=r"batch_size=201 is larger than the 200 training") as w:
        clipped = fit(nn.MLP([2, 3, 2], seed=0), X, y, epochs=5, batch_size=201, progress=False)
    assert [r.filename for r in w if "batch_size" in str(r.message)] == [__file__]
    assert clipped.loss == full.loss
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        exact = fit(nn.MLP([2, 3, 2], seed=0), X, y, epochs=5, batch_size=200, progress=False)
    assert exact.loss == full.loss


def test_mini_batch_shuffling_follows_the_seed(moons):
    X, y = moons
    runs = [
        fit(nn.MLP([2, 3, 2], seed=0), X, y, epochs=3, batch_size=20, seed=s, progress=False)
        for s in (7, 7, 8)
    ]
    assert runs[0].loss == runs[1].loss != runs[2].loss


@pytest.mark.parametrize("batch_size", [None, 20])
def test_a_bad_seed_is_refused_even_where_nothing_is_shuffled(moons, batch_size):
    X, y = moons
    with pytest.raises(TypeError, match="seed must be"):
        fit(nn.MLP([2, 3, 2], seed=0), X, y, epochs=1, batch_size=batch_size, seed=1.5,
            shuffle=False, progress=False)  # fmt: skip


def test_a_random_state_given_as_seed_advances_only_when_batches_are_shuffled(moons):
    X, y = moons
    for batch_size, shuffle, moved in ((None, True, False), (20, False, False), (20, True, True)):
        stream = np.random.RandomState(3)
        fit(nn.MLP([2, 3, 2], seed=0), X, y, epochs=2, batch_size=batch_size, shuffle=shuffle,
            seed=stream, progress=False)  # fmt: skip
        assert (stream.randint(1 << 30) != np.random.RandomState(3).randint(1 << 30)) == moved


def test_fit_leaves_the_callers_arrays_and_the_models_mode_alone(moons):
    X, y = moons
    X_before, y_before = X.copy(), y.copy()
    model = nn.MLP([2, 3, 2], dropout=0.2, seed=0).eval()
    fit(model, X, y, epochs=2, progress=False)
    assert np.array_equal(X, X_before) and np.array_equal(y, y_before)
    assert not any(m.training for m in model.modules())


# ---------------------------------------------------------------------- optimisers and schedules
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_adam_reaches_95_percent_on_held_out_moons(seed):
    X, y = data.make_moons(1000, noise=0.2, seed=seed)
    X_train, X_test, y_train, y_test = data.train_test_split(X, y, test_size=0.2, random_state=seed)
    model = nn.MLP([2, 10, 2], seed=seed)
    adam = optim.Adam(model.parameters(), lr=0.05)
    history = fit(
        model,
        X_train,
        y_train,
        epochs=500,
        optimizer=adam,
        validation=(X_test, y_test),
        progress=False,
    )
    assert history.val_accuracy[-1] >= 0.95
    assert np.mean(model(X_test).argmax() == y_test) == history.val_accuracy[-1]


def test_validation_loss_is_the_mean_cross_entropy_on_the_validation_data(moons):
    X, y = moons
    X_val, y_val = data.make_moons(60, seed=5)
    model = nn.MLP([2, 4, 2], seed=0)
    history = fit(model, X, y, epochs=3, validation=(X_val, y_val), progress=False)
    assert len(history.val_loss) == len(history.val_accuracy) == 3
    expected = F.softmax_cross_entropy(model(X_val), y_val, reduction="mean").item()
    assert history.val_loss[-1] == pytest.approx(expected, rel=1e-12)


def test_a_schedule_is_stepped_once_per_epoch_after_the_optimiser(moons):
    X, y = moons
    model = nn.MLP([2, 3, 2], seed=0)
    sgd = optim.SGD(model.parameters(), lr=0.04)
    history = fit(
        model,
        X,
        y,
        epochs=6,
        optimizer=sgd,
        schedule=optim.InverseTimeDecay(sgd, k=0.5),
        progress=False,
    )
    assert history.lr == pytest.approx([0.04 / (1 + 0.5 * t) for t in range(6)], rel=1e-15)
    assert sgd.lr == pytest.approx(0.04 / (1 + 0.5 * 6), rel=1e-15)


def test_a_callback_sees_every_epoch_and_returning_true_stops(moons):
    X, y = moons
    seen = []

    def stop_after_three(epoch, history):
        seen.append((epoch, len(history)))
        return epoch == 2

    history = fit(
        nn.MLP([2, 3, 2], seed=0), X, y, epochs=10, callbacks=[stop_after_three], progress=False
    )
    assert seen == [(0, 1), (1, 2), (2, 3)]
    assert isinstance(history, History) and len(history) == 3


# ---------------------------------------------------------------------- divergence
def test_a_learning_rate_of_1000_diverges_and_restores_the_last_finite_parameters(moons):
    X, y = moons
    model = nn.MLP([2, 3, 2], seed=0)
    callback, states = record_params(model)
    with pytest.raises(TrainingDiverged) as error:
        fit(model, X, y, lr=1000, callbacks=[callback], progress=False)
    epoch = error.value.epoch
    assert isinstance(error.value, ValueError)
    assert f"epoch {epoch}" in str(error.value) and "learning rate 1000" in str(error.value)
    assert error.value.lr == 1000 and epoch == len(states) > 0
    for name, value in model.state_dict().items():
        assert np.array_equal(value, states[-1][name]), name
    assert np.isfinite(
        F.softmax_cross_entropy(model(X), y).item()
        + 0.01 / 2 * F.l2(model[0].weight, model[2].weight).item()
    )


def test_a_learning_rate_of_10_does_not_diverge(moons):
    """With the stable loss and tanh, rates up to about 2/reg = 200 stay finite; 2,000 epochs
    are well past where a rate of 1000 breaks (about 160)."""
    X, y = moons
    with pytest.warns(NoProgressWarning, match="above its start .*try a smaller one"):
        history = fit(nn.MLP([2, 3, 2], seed=0), X, y, epochs=2000, lr=10, progress=False)
    assert np.all(np.isfinite(history.loss))


# ---------------------------------------------------------------------- no progress
def test_a_loss_that_ends_above_its_start_warns_in_one_line(moons):
    X, y = moons
    model = nn.MLP([2, 3, 2], seed=0)
    fit(model, X, y, epochs=300, progress=False)
    with pytest.warns(NoProgressWarning) as record:
        history = fit(model, X, y, epochs=1, lr=8, progress=False)  # one step too far
    assert history.accuracy[-1] > 0.9  # only the loss condition holds
    (warning,) = record
    message = str(warning.message)
    assert "\n" not in message and "in 1 epoch at learning rate 8: the loss ended at" in message
    assert warning.filename == __file__  # it points at the caller's line


def test_a_loss_that_did_not_change_asks_for_a_larger_rate_not_a_smaller_one(moons):
    """lr 1e-20: the loss stays at its start; a smaller rate would change it even less."""
    X, y = moons
    with pytest.warns(NoProgressWarning) as record:
        fit(nn.MLP([2, 3, 2], seed=0), X, y, epochs=5, lr=1e-20, progress=False)
    (warning,) = record
    message = str(warning.message)
    assert "the loss did not change" in message and "try a larger one" in message
    assert "smaller" not in message and "no lower than" not in message


def test_an_accuracy_no_better_than_the_most_frequent_class_warns():
    rng = np.random.RandomState(0)
    X, y = rng.randn(200, 2), (rng.rand(200) < 0.1).astype(int)  # no signal, 90% zeros
    with pytest.warns(NoProgressWarning, match="most frequent class.*a larger one") as record:
        history = fit(nn.MLP([2, 3, 2], seed=0), X, y, epochs=300, progress=False)
    assert history.loss[-1] < history.loss[0]  # only the accuracy condition holds
    assert len(record) == 1


def test_logits_that_overflow_raise_training_diverged_not_a_logits_error(moons):
    X, y = moons
    model = nn.MLP([2, 3, 2], "relu", seed=0)
    before = model.state_dict()
    with pytest.raises(TrainingDiverged, match="epoch 0 .*logits are not finite"):
        fit(model, X, y, lr=1e200, reg=0.0, progress=False)
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())


def test_mini_batch_divergence_restores_finite_parameters(moons):
    X, y = moons
    model = nn.MLP([2, 3, 2], seed=0)
    with pytest.raises(TrainingDiverged, match="learning rate 10000"):
        fit(model, X, y, epochs=300, lr=1e4, batch_size=16, seed=0, progress=False)
    assert all(np.all(np.isfinite(p.data)) for p in model.parameters())


def test_a_model_that_starts_non_finite_is_reported_before_the_first_step(moons):
    X, y = moons
    model = nn.MLP([2, 3, 2], seed=0)
    model[0].weight.data[...] = 1e300
    model[2].weight.data[...] = 1e300
    with pytest.raises(TrainingDiverged, match="before the first step"):
        fit(model, X, y, epochs=3, progress=False)


# ---------------------------------------------------------------------- progress
def test_progress_is_off_when_stdout_is_not_a_terminal(moons, capsys):
    fit(nn.MLP([2, 3, 2], seed=0), *moons, epochs=3)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_progress_true_draws_a_tqdm_bar(moons, capsys):
    fit(nn.MLP([2, 3, 2], seed=0), *moons, epochs=3, progress=True)
    assert "3/3" in capsys.readouterr().err


# ---------------------------------------------------------------------- input checks
@pytest.mark.parametrize(
    ("X", "y", "match"),
    [
        (np.zeros(4), np.zeros(4, int), "2-D"),
        (np.array([["a", "b"]] * 4), np.zeros(4, int), "real numbers"),
        (
            np.array([[0.0, np.nan]] * 4),
            np.zeros(4, int),
            r"X must be finite; found nan at index \(0, 1\)",
        ),
        (np.zeros((4, 2)), np.zeros(3, int), r"one label per row"),
        (np.zeros((4, 2)), np.array([0, 1, 2, 0]), r"\[0, 2\).*label 2 at position 2"),
        (np.zeros((4, 2)), np.array([0.0, 0.5, 1.0, 0.0]), "whole numbers"),
    ],
)
def test_bad_data_is_refused_with_what_is_wrong(X, y, match):
    with pytest.raises(ValueError, match=match):
        fit(nn.MLP([2, 3, 2], seed=0), X, y, epochs=1, progress=False)


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"epochs": -1}, "epochs"),
        ({"epochs": 2.5}, "epochs"),
        ({"batch_size": 0}, "batch_size"),
        ({"reg": -0.1}, "reg"),
        ({"lr": -1.0}, "lr"),
    ],
)
def test_bad_settings_are_refused(moons, arguments, match):
    with pytest.raises(ValueError, match=match):
        fit(nn.MLP([2, 3, 2], seed=0), *moons, progress=False, **arguments)


@pytest.mark.parametrize("value", ["False", "True", 0, 1, None])
@pytest.mark.parametrize("option", ["shuffle", "progress"])
def test_fits_switches_take_a_bool(moons, option, value):
    """bool("False") is True: shuffle="False" would shuffle, progress="False" draw a bar.
    progress=None is its default (on at a terminal), so None is let through there."""
    model = nn.MLP([2, 3, 2], seed=0)
    arguments = {"shuffle": True, "progress": False, option: value}
    if option == "progress" and value is None:
        fit(model, *moons, epochs=1, **arguments)
        return
    allowed = "None, True or False" if option == "progress" else "True or False"
    with pytest.raises(TypeError, match=f"fit's {option} takes {allowed}, got {value!r}"):
        fit(model, *moons, epochs=1, batch_size=50, **arguments)
    fit(model, *moons, epochs=1, batch_size=50, **{**arguments, option: np.False_})


@pytest.mark.parametrize("value", ["False", "True", 0, 1, None])
def test_batches_shuffle_takes_a_bool(value):
    X, y = np.arange(10.0).reshape(5, 2), np.arange(5)
    with pytest.raises(TypeError, match=f"batches' shuffle takes True or False, got {value!r}"):
        list(data.batches(X, y, 2, shuffle=value, seed=0))
    in_order = [yb.tolist() for _, yb in data.batches(X, y, 2, shuffle=np.False_)]
    assert in_order == [[0, 1], [2, 3], [4]]


def test_bad_validation_data_is_refused(moons):
    with pytest.raises(ValueError, match="validation y"):
        fit(nn.MLP([2, 3, 2], seed=0), *moons, epochs=1, validation=(np.zeros((3, 2)), [0, 1]))


def test_zero_epochs_are_refused_and_change_nothing(moons):
    model = nn.MLP([2, 3, 2], seed=0)
    with pytest.raises(ValueError, match=r"epochs must be an int >= 1, got 0"):
        fit(model, *moons, epochs=0, progress=False)
    assert np.array_equal(model[0].weight.data, reference.init_params(3, seed=0)["W1"])


def same_state(model, state):
    return all(np.array_equal(state[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("label", [0, 1])
def test_training_data_of_one_class_is_refused_naming_it(moons, label):
    X, _ = moons
    model = nn.MLP([2, 3, 2], seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match=rf"y holds only one class \({label}\): .*two classes"):
        fit(model, X, np.full(len(X), label), epochs=5, progress=False)
    assert same_state(model, before)


def test_validation_data_of_one_class_is_allowed(moons):
    X, y = moons
    history = fit(
        nn.MLP([2, 3, 2], seed=0), X, y, epochs=2, progress=False, validation=(X[y == 1], y[y == 1])
    )
    assert len(history.val_accuracy) == 2


def test_x_of_the_wrong_width_names_both_widths_in_fit_and_predict(moons):
    X, y = moons
    wide = np.column_stack([X, X[:, :1]])
    model = nn.MLP([2, 3, 2], seed=0)
    before = model.state_dict()
    message = (
        r"X has 3 features \(the last axis of shape \(\d+, 3\)\), "
        r"but the model \(its first Linear has in_features=2\) takes 2"
    )
    with pytest.raises(ValueError, match=message):
        fit(model, wide, y, epochs=1, progress=False)
    with pytest.raises(ValueError, match="validation " + message):
        fit(model, X, y, epochs=1, progress=False, validation=(wide, y))
    with pytest.raises(ValueError, match=message):
        predict(model, wide)
    with pytest.raises(ValueError, match=message):
        predict_proba(model, wide[:, :1].repeat(3, axis=1))
    assert same_state(model, before)


def test_a_model_not_starting_with_a_linear_is_checked_by_its_own_layers(moons):
    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.act = nn.Tanh()
            self.out = nn.Linear(2, 2, seed=0)

        def forward(self, x):
            return self.out(self.act(x))

    X, y = moons
    with pytest.raises(
        ValueError, match=r"the input has 3 features .*\(1, 3\).*in_features=2.* takes 2"
    ):
        fit(Custom(), np.column_stack([X, X[:, 0]]), y, epochs=1, progress=False)


@pytest.mark.parametrize(
    ("X", "match"),
    [
        ([[0.0, 1.0], [2.0, "x"]], r"X\[1, 1\] is 'x'"),
        (np.array([["a", "b"], ["c", "d"]]), r"dtype <U1: X\[0, 0\] is 'a'"),
        ([[0.0, 1.0], [None, 2.0]], r"X\[1, 0\] is None"),
        (np.array([[1 + 1j, 0], [0, 0]]), r"complex128: X\[0, 0\] is \(1\+1j\)"),
        ([[0.0, 1.0], [2.0]], r"X must be a 2-D array \(N, features\)"),
    ],
    ids=["string_in_a_list", "string_array", "none", "complex", "ragged"],
)
def test_x_that_is_not_numbers_names_the_first_bad_value_and_place(X, match):
    with pytest.raises(ValueError, match=match):
        predict(nn.MLP([2, 3, 2], seed=0), X)
    with pytest.raises(ValueError, match=match):
        fit(nn.MLP([2, 3, 2], seed=0), X, [0, 1], epochs=1, progress=False)


def test_an_object_array_of_numbers_is_read_as_numbers():
    X = np.array([[0, 1.5], [2, 3]], dtype=object)
    assert np.array_equal(
        predict_proba(nn.MLP([2, 3, 2], seed=0), X),
        predict_proba(nn.MLP([2, 3, 2], seed=0), X.astype(float)),
    )


def test_a_boolean_x_trains_as_its_zeros_and_ones(moons):
    X, y = moons
    bits = X > 0
    a = fit(nn.MLP([2, 3, 2], seed=0), bits, y, epochs=3, progress=False)
    b = fit(nn.MLP([2, 3, 2], seed=0), bits.astype(float), y, epochs=3, progress=False)
    assert a.loss == b.loss
    assert np.array_equal(
        predict(nn.MLP([2, 3, 2], seed=0), bits[:5]),
        predict(nn.MLP([2, 3, 2], seed=0), bits[:5].astype(float)),
    )


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_x_that_is_not_finite_is_refused_naming_the_position(moons, value):
    X, y = moons
    X = X.copy()
    X[17, 1] = value
    message = rf"X must be finite; found {value} at index \(17, 1\)"
    with pytest.raises(ValueError, match=message):
        fit(nn.MLP([2, 3, 2], seed=0), X, y, epochs=1, progress=False)
    with pytest.raises(ValueError, match=message):
        predict(nn.MLP([2, 3, 2], seed=0), X)


def test_labels_of_a_huge_integer_dtype_train_or_are_named(moons):
    X, y = moons
    a = fit(nn.MLP([2, 3, 2], seed=0), X, y.astype(np.uint64), epochs=2, progress=False)
    b = fit(nn.MLP([2, 3, 2], seed=0), X, y, epochs=2, progress=False)
    assert a.loss == b.loss
    bad = y.astype(np.uint64)
    bad[9] = 2**64 - 1
    with pytest.raises(ValueError, match=r"y must be integer.*18446744073709551615 at position 9"):
        fit(nn.MLP([2, 3, 2], seed=0), X, bad, epochs=1, progress=False)


def test_a_string_label_in_y_is_named_with_its_position(moons):
    X, y = moons
    labels = y.tolist()
    labels[2] = "one"
    with pytest.raises(ValueError, match=r"label 'one' at position 2 is a string"):
        fit(nn.MLP([2, 3, 2], seed=0), X, labels, epochs=1, progress=False)


def test_a_tensor_as_x_works_like_its_array(moons):
    X, y = moons
    a = fit(nn.MLP([2, 3, 2], seed=0), X, y, epochs=3, progress=False)
    b = fit(nn.MLP([2, 3, 2], seed=0), Tensor(X), y, epochs=3, progress=False)
    assert a.loss == b.loss


def test_progress_is_on_by_default_when_stdout_is_a_terminal(moons, capsys, monkeypatch):
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True)
    fit(nn.MLP([2, 3, 2], seed=0), *moons, epochs=3)
    assert "3/3" in capsys.readouterr().err


# ---------------------------------------------------------------------- compiled
def _frozen_first_layer(model):
    model[0].weight.requires_grad = False
    model[0].bias.requires_grad = False
    return model


def _run(compiled, **options):
    X, y = data.make_moons()
    model = options.pop("model", lambda: nn.MLP([2, 3, 2], seed=0))()
    make_optimizer = options.pop("optimizer", None)
    make_schedule = options.pop("schedule", None)
    if make_optimizer is not None:
        options["optimizer"] = make_optimizer(model.parameters())
        if make_schedule is not None:
            options["schedule"] = make_schedule(options["optimizer"])
    seen = []
    options["callbacks"] = [lambda epoch, history: seen.append(model.state_dict())]
    history = fit(model, X, y, progress=False, compiled=compiled, **options)
    return history, seen, model


@pytest.mark.parametrize(
    "options",
    [
        {"epochs": 300},
        {"epochs": 60, "validation": data.held_out_moons(), "reg": 0.1, "lr": 0.02},
        {
            "epochs": 60,
            "optimizer": lambda params: optim.Adam(params, lr=0.01, weight_decay=0.01),
            "schedule": lambda opt: optim.CosineDecay(opt, t_max=30),
        },
        {
            "epochs": 40,
            "optimizer": lambda params: optim.SGD(params, lr=0.01, momentum=0.9, nesterov=True),
            "schedule": lambda opt: optim.InverseTimeDecay(opt, 0.1),
            "model": lambda: nn.MLP([2, 5, 5, 3], "sigmoid", seed=1),
        },
        {  # a Linear without bias, parameter groups with their own rates, a schedule
            "epochs": 40,
            "model": lambda: nn.Sequential(
                nn.Linear(2, 4, bias=False, seed=0), nn.Tanh(), nn.Linear(4, 2, seed=1)
            ),
            "optimizer": lambda params: optim.SGD(
                [{"params": params[:1], "lr": 0.02}, {"params": params[1:]}],
                lr=0.005,
                momentum=0.5,
            ),
            "schedule": lambda opt: optim.StepDecay(opt, 10, 0.5),
        },
        {"epochs": 40, "model": lambda: _frozen_first_layer(nn.MLP([2, 4, 2], seed=2))},
    ],
)
def test_compiled_and_eager_fit_give_the_same_history_bit_for_bit(options, monkeypatch):
    import tinygrad_moons.train as train_module

    captured = []
    real_capture = train_module.capture
    monkeypatch.setattr(
        train_module, "capture", lambda fn, **kw: captured.append(1) or real_capture(fn, **kw)
    )
    eager, eager_states, _ = _run(False, **dict(options))
    assert not captured
    compiled, compiled_states, _ = _run(True, **dict(options))
    assert captured  # the compiled run did replay captured steps
    assert compiled.loss == eager.loss and compiled.accuracy == eager.accuracy
    assert compiled.val_loss == eager.val_loss and compiled.lr == eager.lr
    for a, b in zip(eager_states, compiled_states, strict=True):
        for name in a:
            assert np.array_equal(a[name], b[name]), name


@pytest.mark.parametrize(
    ("activation", "lr", "reg"), [("tanh", 1000.0, 0.01), ("relu", 1e200, 0.0)]
)
def test_compiled_fit_diverges_like_eager_fit_with_the_parameters_restored(activation, lr, reg):
    outcomes = []
    for compiled in (False, True):
        model = nn.MLP([2, 3, 2], activation, seed=0)
        X, y = data.make_moons()
        with pytest.raises(TrainingDiverged) as error:
            fit(model, X, y, lr=lr, reg=reg, progress=False, compiled=compiled)
        outcomes.append((str(error.value), model.state_dict()))
    (eager_message, eager_state), (compiled_message, compiled_state) = outcomes
    assert compiled_message == eager_message
    for name in eager_state:
        assert np.array_equal(eager_state[name], compiled_state[name])
        assert np.all(np.isfinite(compiled_state[name]))


def test_a_model_whose_graph_changes_trains_eagerly_under_compiled():
    X, y = data.make_moons()

    class Flip(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.MLP([2, 3, 2], seed=0)
            self.calls = 0

        def forward(self, x):
            self.calls += 1
            out = self.inner(x)
            return out * (1.0 + self.calls % 2)  # a constant that changes every call

    history = fit(Flip(), X, y, epochs=5, progress=False)
    assert len(history) == 5 and all(np.isfinite(history.loss))


def test_a_graph_that_stops_being_static_mid_training_goes_on_eagerly():
    """An op whose output shape follows the values: captured, then refused at replay."""
    X, y = data.make_moons()

    class Masked(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.MLP([2, 3, 2], seed=0)

        def forward(self, x):
            logits = self.inner(x)
            positive = logits[logits.data > 0.1]  # how many: decided by the numbers
            return logits + 0.001 * positive.sum()

    histories = [
        fit(Masked(), X, y, epochs=40, lr=0.05, progress=False, compiled=c) for c in (False, True)
    ]
    assert histories[0].loss == histories[1].loss


@pytest.mark.parametrize("compiled", [False, True])
def test_a_minus_infinite_logit_with_a_finite_loss_still_diverges(compiled):
    """-inf in a column other than the label's leaves the loss finite (its softmax is 0),
    so the loss alone cannot be the finiteness check: the logits are checked too."""
    X, y = data.make_moons()

    class Shifted(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.MLP([2, 3, 2], seed=0)
            self.shift = Tensor(np.zeros((len(y), 2)))  # read afresh by the compiled step

        def forward(self, x):
            return self.inner(x) + self.shift

    model = Shifted()

    def break_logits(epoch, history):
        if epoch == 2:
            model.shift.data[y == 0, 1] = -np.inf

    # A Module of one's own may read self.training, so each epoch makes its own training
    # forward (none reused from the scoring): epoch 3's meets the -inf before any step of
    # epoch 3, and the step named is the latest one taken, epoch 2's (as with Dropout).
    with pytest.raises(TrainingDiverged, match="epoch 2 .*the logits are not finite"):
        fit(model, X, y, epochs=10, callbacks=[break_logits], progress=False, compiled=compiled)
    assert all(np.all(np.isfinite(p.data)) for p in model.parameters())


@pytest.mark.parametrize("compiled", [False, True])
def test_tied_logits_count_as_class_0_in_the_accuracy(compiled):
    """argmax's rule (the first of equal columns wins), compiled or not: zero weights
    tie every row, and a rate of 0 keeps them tied."""
    X, y = data.make_moons()
    y = y.copy()
    y[:30] = 0  # more zeros than ones: ties counted as 1 would give another fraction
    model = nn.MLP([2, 3, 2], seed=0)
    for p in model.parameters():
        p.data[...] = 0.0
    with pytest.warns(NoProgressWarning):
        history = fit(model, X, y, epochs=2, lr=0.0, progress=False, compiled=compiled)
    assert history.accuracy == [np.mean(y == 0)] * 2


def _accuracy_of(model, X, y):
    """The fraction of rows whose largest output is at their label, as argmax counts it."""
    with evaluating(model):
        return float(np.mean(model(Tensor(X)).data.argmax(axis=1) == y))


@pytest.mark.parametrize("compiled", [False, True])
@pytest.mark.parametrize("classes", [2, 3])
@pytest.mark.parametrize("block", [1, 3, None])  # epochs counted at once; None: fit's own
def test_historys_accuracies_are_each_epochs_own_however_many_are_counted_at_once(
    compiled, classes, block, monkeypatch
):
    """fit counts the epochs' predictions in blocks (``_Accuracy``), flushed before any
    callback and at its return: History's accuracies are each epoch's argmax count, on the
    training and the validation data, with a callback reading them as they come or none,
    blocks of 1, 3 (7 epochs: a partial last block) or fit's own size."""
    import tinygrad_moons.train as train_module

    if block is not None:  # in epochs of the 200 training rows (bool over 2 classes, intp)
        itemsize = 1 if classes == 2 else np.dtype(np.intp).itemsize
        monkeypatch.setattr(train_module, "_PREDICTIONS_BYTES", block * 200 * itemsize)
    X, y = data.make_moons(200, seed=3)
    X_val, y_val = data.make_moons(50, seed=4)
    runs = []
    for watch in (False, True):
        model = nn.MLP([2, 5, classes], seed=1)
        seen, expected, expected_val = [], [], []

        def callback(epoch, history, model=model, seen=seen, exp=expected, ev=expected_val):
            exp.append(_accuracy_of(model, X, y))
            ev.append(_accuracy_of(model, X_val, y_val))
            seen.append((list(history.accuracy), list(history.val_accuracy)))

        history = fit(
            model, X, y, epochs=7, lr=0.01, validation=(X_val, y_val), progress=False,
            compiled=compiled, callbacks=[callback] if watch else None,
        )  # fmt: skip
        runs.append(history)
    quiet, watched = runs
    assert quiet.accuracy == watched.accuracy == expected
    assert quiet.val_accuracy == watched.val_accuracy == expected_val
    assert seen == [(expected[: i + 1], expected_val[: i + 1]) for i in range(7)]
    assert len(set(expected)) > 1  # the accuracy moved: the epochs are told apart


# ---------------------------------------------------------------------- the optimiser given
def test_an_optimizer_of_another_models_parameters_is_refused_before_training(moons):
    # It would step tensors the loss never reads: a run that changes nothing.
    X, y = moons
    model, other = nn.MLP([2, 3, 2], seed=0), nn.MLP([2, 3, 2], seed=1)
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"updates none of the model's parameters \(0.weight"):
        fit(model, X, y, epochs=2, optimizer=optim.SGD(other.parameters(), lr=0.1), progress=False)
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())


@pytest.mark.parametrize("given", [False, True])
def test_a_schedule_made_on_another_optimizer_is_refused_before_training(moons, given):
    # It would decay a rate nothing reads: every epoch at the starting rate, silently.
    X, y = moons
    model = nn.MLP([2, 3, 2], seed=0)
    before = model.state_dict()
    scheduled = optim.SGD(model.parameters(), lr=0.04)
    stepped = optim.SGD(model.parameters(), lr=0.04) if given else None
    expected = "the optimizer given" if given else r"its own SGD\(model.parameters\(\), lr=0.01\)"
    with pytest.raises(ValueError, match=rf"schedule was made on another optimizer .*{expected}"):
        fit(
            model,
            X,
            y,
            epochs=2,
            optimizer=stepped,
            schedule=optim.InverseTimeDecay(scheduled, k=0.5),
            progress=False,
        )
    assert all(np.array_equal(before[k], v) for k, v in model.state_dict().items())
    assert scheduled.lr == 0.04


def test_parameters_left_out_of_the_optimizer_and_an_unused_lr_are_warned_of(moons):
    X, y = moons
    model = nn.MLP([2, 3, 2], seed=0)
    frozen = model[0].weight.data.copy()
    subset = optim.SGD(model.parameters()[1:], lr=0.01)
    with pytest.warns(UserWarning, match=r"does not update 0.weight: they stay") as caught:
        fit(model, X, y, epochs=2, optimizer=subset, progress=False)
    assert len(caught) == 1 and caught[0].filename == __file__
    np.testing.assert_array_equal(model[0].weight.data, frozen)
    adam = optim.Adam(model.parameters(), lr=0.01)
    with pytest.warns(UserWarning, match=r"lr=0.5 is unused: the optimizer given has its own lr"):
        fit(model, X, y, epochs=2, lr=0.5, optimizer=adam, progress=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit(model, X, y, epochs=2, optimizer=adam, progress=False)  # the ordinary call: silent


def test_a_reg_that_penalises_nothing_is_warned_of(moons):
    """reg applies to nn.Linear weights; a model of bare Tensors would ignore it silently."""
    X, y = moons

    class Bare(nn.Module):
        def __init__(self):
            super().__init__()
            self.W = Tensor(np.random.default_rng(0).normal(size=(2, 2)), requires_grad=True)

        def forward(self, x):
            return x @ self.W

    with pytest.warns(UserWarning, match=r"reg=0.01 penalises nothing") as caught:
        fit(Bare(), X, y, epochs=2, progress=False)
    assert caught[0].filename == __file__
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit(Bare(), X, y, epochs=2, reg=0, progress=False)
        fit(nn.MLP([2, 3, 2], seed=0), X, y, epochs=2, progress=False)


def test_fit_trains_around_a_frozen_layer_without_a_warning():
    X, y = data.make_moons()
    model = _frozen_first_layer(nn.MLP([2, 4, 2], seed=0))
    frozen = model[0].weight.data.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "the optimizer does not update ..." would be wrong
        history = fit(model, X, y, epochs=30, progress=False)
    assert np.array_equal(model[0].weight.data, frozen)
    assert history.loss[-1] < history.loss[0]
    trainable = [p for p in model.parameters() if p.requires_grad]  # torch's habit
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fit(model, X, y, epochs=2, optimizer=optim.SGD(trainable, lr=0.01), progress=False)
    with pytest.raises(ValueError, match="does not require grad, nor does any other"):
        fit(_frozen_first_layer(nn.Sequential(nn.Linear(2, 2, seed=0))), X, y, epochs=1)


def test_fit_records_the_largest_rate_of_parameter_groups():
    X, y = data.make_moons()
    model = nn.MLP([2, 3, 2], seed=0)
    params = model.parameters()
    optimizer = optim.SGD([{"params": params[:2], "lr": 0.001}, {"params": params[2:]}], lr=0.01)
    history = fit(model, X, y, epochs=3, optimizer=optimizer, progress=False)
    assert history.lr == [0.01, 0.01, 0.01]

    with pytest.warns(UserWarning, match="does not update 0.weight, 0.bias"):
        fit(model, X, y, epochs=1, optimizer=optim.SGD(params[2:], lr=0.01), progress=False)
