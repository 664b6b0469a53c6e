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
