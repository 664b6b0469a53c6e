"""sweep.hidden_size_sweep called as a library function, not only through the CLI."""

from tinygrad_moons.sweep import hidden_size_sweep


def test_sweep_runs_with_joblibs_default_backend():
    # backend=None once reached joblib's parallel_config, which joblib 1.6 refuses.
    results = hidden_size_sweep([1, 2], passes=3, n_jobs=1)
    assert [r.hidden for r in results] == [1, 2]
    assert all(0.0 <= r.train_accuracy <= 1.0 for r in results)
