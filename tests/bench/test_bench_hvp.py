"""The hvp row of the benchmark: it times only a product that agrees with torch's."""

import pytest

from tinygrad_moons.bench import hvp as bench_hvp


def test_time_hvp_gives_one_timing_per_workload_with_a_ratio_to_torch():
    (timing,) = bench_hvp.time_hvp(((40, 3),), repeats=1, min_time=0.0)
    assert (timing.n, timing.hidden) == (40, 3)
    assert timing.ours > 0 and timing.torch > 0
    assert timing.ratio == pytest.approx(timing.ours / timing.torch)
    assert "hvp of the summed objective, 40 x 3" in timing.line() and "ratio" in timing.line()


def test_a_wrong_product_is_refused_not_timed(monkeypatch):
    ours = bench_hvp._ours

    def negated(problem, vector):
        product = ours(problem, vector)
        return lambda: -product()

    monkeypatch.setattr(bench_hvp, "_ours", negated)
    with pytest.raises(AssertionError, match="differs from torch's"):
        bench_hvp.time_hvp(((40, 3),), repeats=1, min_time=0.0)
