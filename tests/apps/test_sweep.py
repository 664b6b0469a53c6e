"""The hidden-size sweep: parallel and Dask runs give exactly the local results."""

import numpy as np
import pytest

from tinygrad_moons.sweep import hidden_size_sweep, train_hidden_size

SIZES = [1, 3, 5]
PASSES = 300


def same_results(a, b):
    assert [r.hidden for r in a] == [r.hidden for r in b]
    for left, right in zip(a, b, strict=True):
        assert left.final_loss == right.final_loss
        assert left.train_accuracy == right.train_accuracy
        assert left.test_accuracy == right.test_accuracy
        for name, value in left.state.items():
            np.testing.assert_array_equal(value, right.state[name])


@pytest.fixture(scope="module")
def local():
    return hidden_size_sweep(SIZES, epochs=PASSES)


def test_one_result_per_size_in_order_and_each_is_the_writeups_training(local):
    assert [r.hidden for r in local] == SIZES
    single = train_hidden_size(3, epochs=PASSES)
    same_results([local[1]], [single])
    assert 0.0 < local[0].test_accuracy < local[1].test_accuracy


def test_processes_in_parallel_give_the_local_results(local):
    same_results(hidden_size_sweep(SIZES, epochs=PASSES, n_jobs=2), local)


def test_a_dask_cluster_gives_the_local_results(local):
    import distributed  # in the test extra: a missing install fails here, never skips

    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        results = hidden_size_sweep(
            SIZES, epochs=PASSES, n_jobs=2, backend="dask", scheduler=cluster.scheduler_address
        )
    same_results(results, local)


def test_dask_without_a_scheduler_address_is_refused():
    with pytest.raises(ValueError, match="scheduler"):
        hidden_size_sweep([1], epochs=1, backend="dask")


@pytest.mark.parametrize("value", ["False", "True", 0, 1, None])
def test_workers_local_takes_a_bool(value):
    """bool("False") is True: local="False" would count this machine's cores for n_jobs=-1
    where a cluster's size is the cluster's to say."""
    from tinygrad_moons.sweep import workers

    with pytest.raises(TypeError, match=f"workers' local takes True or False, got {value!r}"):
        workers(-1, 5, local=value)
    for remote in (False, np.False_):  # numpy's bools too
        assert workers(-1, 5, local=remote) == -1
    for here in (True, np.True_):
        assert 1 <= workers(-1, 5, local=here) <= 5


@pytest.mark.parametrize("size", [3.7, 3.0, "3", True, 0, -2, None])
def test_a_size_that_is_not_a_whole_number_of_units_is_refused(size):
    """3.7 trained a 3-unit network reported as hidden=3; "3" and True (one unit) passed."""
    with pytest.raises(ValueError, match=rf"sizes\[1\] must be an int >= 1, got {size!r}"):
        hidden_size_sweep([2, size], epochs=1)


@pytest.mark.parametrize("n_jobs", [2.5, 1.0, "2", True, 0])
def test_n_jobs_that_is_not_joblibs_is_refused(n_jobs):
    with pytest.raises(ValueError, match=rf"n_jobs must be an int other than 0 .* {n_jobs!r}"):
        hidden_size_sweep([1], epochs=1, n_jobs=n_jobs)


def test_n_jobs_keeps_joblibs_meaning_for_none_and_negative_counts():
    from tinygrad_moons.sweep import workers

    assert workers(None, 5) == 1 and workers(np.int64(2), 5) == 2
    assert 1 <= workers(-2, 5) <= 5
    assert [r.hidden for r in hidden_size_sweep([1, 2], epochs=1, n_jobs=None)] == [1, 2]


@pytest.mark.parametrize("backend", [None, "loky", "threading"])
def test_a_scheduler_without_the_dask_backend_is_refused_as_the_cli_does(backend):
    """It was ignored in silence; the command line refuses --scheduler without dask."""
    with pytest.raises(
        ValueError, match=f"scheduler is only used with backend 'dask', not {backend!r}"
    ):
        hidden_size_sweep([3], epochs=1, backend=backend, scheduler="tcp://10.0.0.1:1")


def losses(results):
    return [r.final_loss for r in results]


@pytest.mark.parametrize("n_jobs, backend", [(2, "threading"), (2, "loky")])
def test_a_random_state_seed_gives_the_same_networks_for_any_n_jobs(n_jobs, backend):
    """Each job used to advance its own pickled copy of the RandomState: with loky both 3s
    were one network, in one process two."""
    one = hidden_size_sweep([3, 3, 2], epochs=2, seed=np.random.RandomState(0))
    assert losses(one)[0] != losses(one)[1]  # two draws, two networks
    many = hidden_size_sweep(
        [3, 3, 2], epochs=2, seed=np.random.RandomState(0), n_jobs=n_jobs, backend=backend
    )
    same_results(many, one)


@pytest.mark.filterwarnings("ignore::tinygrad_moons.train.NoProgressWarning")
def test_a_random_state_draws_each_sizes_seed_in_order_and_advances():
    rng = np.random.RandomState(7)
    results = hidden_size_sweep([2, 3], epochs=2, seed=rng)
    seeds = np.random.RandomState(7).randint(0, 2**32, size=2, dtype=np.int64)
    for result, seed in zip(results, seeds, strict=True):
        same_results([result], [train_hidden_size(result.hidden, epochs=2, seed=int(seed))])
    assert losses(hidden_size_sweep([2, 3], epochs=2, seed=rng)) != losses(results)


def test_an_int_seed_starts_every_network_from_it_as_before():
    results = hidden_size_sweep([3, 3], epochs=2, seed=5, n_jobs=2, backend="threading")
    single = train_hidden_size(3, epochs=2, seed=5)
    same_results(results, [single, single])


def test_results_come_in_the_order_of_the_sizes_given_whatever_order_they_finish():
    """Duplicate sizes came back in reverse finish order (a list's pop())."""
    rng = np.random.RandomState(0)
    seeds = [int(s) for s in rng.randint(0, 2**32, size=3, dtype=np.int64)]
    finished = []
    results = hidden_size_sweep(
        [3, 1, 3], epochs=2, seed=np.random.RandomState(0), on_result=finished.append
    )
    same_results(results, finished)  # one worker: they finish in the order given
    expected = [train_hidden_size(h, epochs=2, seed=s) for h, s in zip([3, 1, 3], seeds)]
    same_results(results, expected)


@pytest.mark.parametrize("seed", [1.5, "0", True])
def test_a_seed_that_is_not_a_seed_is_refused(seed):
    with pytest.raises(TypeError, match="seed must be an int, a numpy RandomState or None"):
        hidden_size_sweep([1], epochs=1, seed=seed)
