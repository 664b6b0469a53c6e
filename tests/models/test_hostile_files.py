"""Model files, saves and shared models under attack: overlapping zip entries, SIGKILL in
the middle of a save, threads saving to one path or predicting with one model."""

import multiprocessing
import os
import random
import signal
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from hostile_zip import overlapping_npz

from tinygrad_moons import atomic, checkpoint, nn
from tinygrad_moons.train import evaluating, predict_proba

CONFIG = '{"sizes": [2, 3, 2]}'


# ---------------------------------------------------------------------- overlapping entries
def test_overlapping_entries_are_refused_before_any_is_inflated(tmp_path):
    path = tmp_path / "overlap.npz"
    overlapping_npz(path, entries=30, kernel_bytes=2**20, config_text=CONFIG)
    assert path.stat().st_size < 20_000  # 30 entries of a megabyte each, all sharing bytes
    start = time.perf_counter()
    with pytest.raises(ValueError, match=r"entries 'bomb0.npy' and 'bomb1.npy' overlap"):
        nn.load_config(path)
    model = nn.MLP([2, 3, 2], seed=0)
    with pytest.raises(ValueError, match="overlap"):
        nn.load(model, path)
    assert time.perf_counter() - start < 1.0


def test_a_file_too_small_for_the_expected_shapes_is_refused_before_reading(tmp_path):
    path = tmp_path / "small.npz"
    nn.save(nn.MLP([2, 3, 2], seed=0), path)
    arrays, config, problems = checkpoint.read(path, {"w": (10**6, 10**3)})
    assert arrays == {} and config is None
    assert problems == [
        f"the expected shapes need 8000000000 bytes, more than a file of "
        f"{path.stat().st_size} bytes can hold: the file is damaged"
    ]


# ---------------------------------------------------------------------- SIGKILL mid-save
def _save_for_ever(path, ready):
    model = nn.MLP([2, 400, 400, 2], seed=0)  # 1.3 MB: a save takes a few milliseconds
    version = 0
    ready.set()
    while True:
        version += 1
        nn.save(model, path, config={"version": version})


def kill_saves(tmp_path, kills):
    """Kill a process saving in a loop ``kills`` times; after each kill the file loads.
    The file is written unnamed, so a kill leaves nothing, unless it lands in the
    microseconds between naming the finished file and renaming it: that temporary names
    the dead process, and the next save (here the next saver's first) removes it."""
    path = tmp_path / "model.npz"
    model = nn.MLP([2, 400, 400, 2], seed=1)
    nn.save(model, path, config={"version": 0})
    fork = multiprocessing.get_context("fork")
    rng = random.Random(0)
    versions = set()
    leftovers = 0
    for _ in range(kills):
        ready = fork.Event()
        saver = fork.Process(target=_save_for_ever, args=(path, ready))
        saver.start()
        assert ready.wait(10)
        time.sleep(rng.uniform(0.0, 0.05))
        os.kill(saver.pid, signal.SIGKILL)
        saver.join()
        nn.load(model, path)
        versions.add(nn.load_config(path)["version"])
        left = [p.name for p in tmp_path.iterdir() if p.name != "model.npz"]
        assert all(f".{saver.pid}." in name for name in left), left
        leftovers += len(left)
    nn.save(model, path, config={"version": -1})
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]
    assert len(versions) > 1  # the kills did land between saves of different versions
    assert leftovers <= kills // 10 + 1  # the instant before the rename, hit rarely


def test_twenty_kills_mid_save_leave_a_file_that_loads_and_no_temporary(tmp_path):
    kill_saves(tmp_path, 20)


@pytest.mark.slow
def test_two_hundred_kills_mid_save_leave_a_file_that_loads_and_no_temporary(tmp_path):
    kill_saves(tmp_path, 200)


def test_a_temporary_of_a_dead_process_is_removed_by_the_next_save(tmp_path):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        text=True,
        capture_output=True,
        check=True,
    )
    path = tmp_path / "model.npz"
    stale = tmp_path / f".model.{dead.stdout.strip()}.7.0123abcd.partial.npz"
    stale.write_bytes(bytes(1000))
    alive = atomic.temporary_name(path)  # this process's: it may be being written
    alive.write_bytes(bytes(10))
    nn.save(nn.MLP([2, 3, 2], seed=0), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([alive.name, "model.npz"])


def test_a_temporary_name_is_unique_per_thread_and_short(tmp_path):
    path = tmp_path / ("m" * 250 + ".npz")
    names = []
    threads = [
        threading.Thread(target=lambda: names.append(atomic.temporary_name(path))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert names[0] != names[1]
    assert all(len(name.name) < 140 and name.suffix == ".npz" for name in names)


# ---------------------------------------------------------------------- threads
def test_two_threads_saving_one_path_a_hundred_times_each_leave_a_file_that_loads(tmp_path):
    path = tmp_path / "model.npz"
    models = [nn.MLP([2, 30, 2], seed=seed) for seed in (0, 1)]
    nn.save(models[0], path)
    errors, loads = [], []

    def save(model):
        for _ in range(100):
            try:
                nn.save(model, path)
            except Exception as error:  # noqa: BLE001 (every failure is the finding)
                errors.append(error)

    def load():
        reader = nn.MLP([2, 30, 2], seed=2)
        while any(thread.is_alive() for thread in savers):
            nn.load(reader, path)  # never a half-written or mixed file
            loads.append(reader.state_dict())

    savers = [threading.Thread(target=save, args=(model,)) for model in models]
    loader = threading.Thread(target=load)
    for thread in [*savers, loader]:
        thread.start()
    for thread in [*savers, loader]:
        thread.join()
    assert errors == []
    final = nn.MLP([2, 30, 2], seed=2)
    nn.load(final, path)
    written = [m.state_dict() for m in models]
    for state in [final.state_dict(), *loads]:
        assert any(all(np.array_equal(state[k], w[k]) for k in state) for w in written)
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_predict_proba_on_a_shared_model_flips_no_mode_another_thread_sees():
    model = nn.MLP([2, 50, 2], dropout=0.5, seed=0)
    X = np.random.RandomState(0).randn(20, 2)
    expected = predict_proba(model, X)
    seen_eval, wrong = [], []
    stop = threading.Event()

    def predict():
        for _ in range(300):
            if not np.array_equal(predict_proba(model, X), expected):
                wrong.append(True)  # dropout was on: another thread's mode leaked in

    def watch():
        while not stop.is_set():
            if not all(module.training for module in model.modules()):
                seen_eval.append(True)

    watcher = threading.Thread(target=watch)
    predictors = [threading.Thread(target=predict) for _ in range(2)]
    watcher.start()
    for thread in predictors:
        thread.start()
    for thread in predictors:
        thread.join()
    stop.set()
    watcher.join()
    assert seen_eval == [] and wrong == []
    assert model.training


def test_evaluating_nests_and_restores_in_its_own_thread():
    model = nn.MLP([2, 3, 2], dropout=0.5, seed=0)
    with evaluating(model):
        with evaluating(model):
            assert not model[2].training
        assert not model.training
    assert all(module.training for module in model.modules())
    model.eval()
    with evaluating(model):
        pass
    assert not model.training


def test_predict_proba_refuses_a_row_whose_outputs_overflow():
    model = nn.MLP([2, 3, 2], "relu", seed=0)  # tanh saturates; relu passes 1e308 on
    X = np.array([[0.1, 0.2], [1e308, 1e308], [0.0, 0.0]])
    with pytest.raises(ValueError, match="outputs for row 1 of X are not finite"):
        predict_proba(model, X)


# ---------------------------------------------------------------------- the estimator
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("form", ["csr", "csc", "coo"])
def test_the_estimator_takes_sparse_X_as_mlpclassifier_does(form):
    import scipy.sparse as sp

    from tinygrad_moons import data
    from tinygrad_moons.estimator import NeuralNetClassifier

    X, y = data.make_moons()
    sparse = sp.csr_matrix(X).asformat(form)
    dense = NeuralNetClassifier(max_iter=5, random_state=0).fit(X, y)
    fitted = NeuralNetClassifier(max_iter=5, random_state=0).fit(sparse, y)
    np.testing.assert_array_equal(fitted.predict_proba(sparse), dense.predict_proba(X))
