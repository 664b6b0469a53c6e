"""Numbers the docs' prose states about the write-up's training, read from the pages and
recomputed: change a number on a page, or the run it describes, and a test here fails."""

import re
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from tinygrad_moons import data, nn, optim, reference, three_gradients
from tinygrad_moons.train import fit, predict

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def page(name):
    """The page's text with its line breaks made spaces, so a phrase may span lines."""
    return " ".join((DOCS / name).read_text().split())


def found(pattern, text):
    match = re.search(pattern, text)
    assert match, f"the docs no longer say {pattern!r}"
    return match.groups()


@pytest.fixture(scope="module")
def post_losses():
    """The post's own formulas (reference.py), hidden sizes 1 and 3, 20,000 passes."""
    X, y = data.make_moons()
    return {h: reference.train(X, y, h, passes=20000)[1] for h in (1, 3)}


def test_the_api_tables_cycles_are_where_the_posts_runs_end(post_losses):
    text = page("api.md")
    for hidden, pattern in [
        (1, r"\| 1 \| [^|]*\| period-2 oscillation \((\d[\d.]*\d) / (\d[\d.]*\d)\)"),
        (
            3,
            r"\| 3 \| [^|]*\| spikes [^|]* period-2 oscillation from ~\d+ "
            r"\((\d[\d.]*\d) / (\d[\d.]*\d)\)",
        ),
    ]:
        printed = found(pattern, text)
        digits = len(printed[0].split(".")[1])
        pair = sorted(f"{v:.{digits}f}" for v in post_losses[hidden][-2:])
        assert sorted(printed) == pair, f"hidden {hidden}"


def test_the_api_tables_size_3_spikes_and_cycle_begin_where_it_says(post_losses):
    """The spikes: the first pass after 1000 on which the post's loss rises. The cycle: the
    pass from which it alternates up, down, up, ... to the end."""
    spikes, cycle = found(
        r"\| 3 \| [^|]*\| spikes from ~(\d+), then a period-2 oscillation from ~(\d+) ",
        page("api.md"),
    )
    turns = np.sign(np.diff(post_losses[3]))  # turns[i]: from pass i to pass i + 1
    rises_from = 1000 + int(np.flatnonzero(turns[1000:] > 0)[0]) + 1
    alternating_from = int(np.flatnonzero(turns[1:] == turns[:-1]).max()) + 2
    for measured, said in [(rises_from, spikes), (alternating_from, cycle)]:
        assert abs(measured - int(said)) <= 0.05 * int(said), (measured, said)


def test_the_api_tables_tolerances_are_the_tests():
    """The last column and the prose under it are three_gradients' constants."""
    text = (DOCS / "api.md").read_text()
    table = text.split("| hidden | passes 0-1000 |")[1].split("\n\n")[0]
    covered = set()
    for sizes, last in re.findall(r"^\| ([\d, ]+) \|.*\| ([^|]*) \|$", table, re.M):
        (rtol,) = found(r"rel (\d+(?:\.\d+)?e-\d+)", last)
        for hidden in map(int, sizes.split(",")):
            covered.add(hidden)
            if "unordered pair" in last:
                assert (
                    hidden in three_gradients.SETTLED and float(rtol) == three_gradients.LAST_RTOL
                )
            else:
                (passes,) = found(r"compare passes 0-(\d+) only", last)
                assert hidden not in three_gradients.SETTLED
                assert int(passes) == three_gradients.COMPARED_PASSES[hidden]
                assert float(rtol) == three_gradients.EARLY_RTOL
    assert covered == set(three_gradients.COMPARED_PASSES)
    passes, rtol = found(r"The tests compare passes 0-(\d+) at a relative (\S+) ", page("api.md"))
    assert float(rtol) == three_gradients.EARLY_RTOL
    assert {three_gradients.COMPARED_PASSES[h] for h in three_gradients.SETTLED} == {int(passes)}


def test_the_api_pages_six_decimals_are_the_posts(post_losses):
    losses = post_losses[3]
    printed = found(
        r"hidden size 3 gives (\d\.\d+) at pass 0 and (\d\.\d+) at pass 1000; at pass 19000 it "
        r"prints (\d\.\d+) or (\d\.\d+) depending on the phase",
        page("api.md"),
    )
    assert printed[:2] == (f"{losses[0]:f}", f"{losses[1000]:f}")
    assert sorted(printed[2:]) == sorted([f"{losses[19000]:f}", f"{losses[19001]:f}"])


def test_the_logistic_baseline_scores_what_the_pages_say():
    """The write-up's LogisticRegressionCV on its 200 points (tutorial.md, reproduce.md)."""
    from sklearn.datasets import make_moons
    from sklearn.linear_model import LogisticRegressionCV

    X, y = data.make_moons()
    assert np.array_equal(X, make_moons(200, noise=0.2, random_state=0)[0])
    with warnings.catch_warnings():  # the write-up's defaults; scikit-learn announces new ones
        warnings.simplefilter("ignore", FutureWarning)
        score = f"{LogisticRegressionCV().fit(X, y).score(X, y):.1%}"
    tutorial, reproduce = page("tutorial.md"), page("reproduce.md")
    printed = [
        *found(r"of the training points\"\) # (\d+\.\d%)", tutorial),
        *found(r"Logistic regression's straight boundary \((\d+\.\d%)\)", tutorial),
        *found(r"`Logistic regression: training accuracy (\d+\.\d%)`", reproduce),
    ]
    assert printed == [score] * 3
    # the network's beside it is the size-3 row of the sweep table (held by the slow test of
    # tests/cli/test_reproduce_command.py): the pages quote the same number
    (network,) = found(r"training accuracy \d+\.\d%`, the network's (\d+\.\d%)", reproduce)
    (alt,) = found(r"the network's curved one \((\d+\.\d%)\)", tutorial)
    (row,) = found(r"\| 3 \| [\d.]+ \| (\d+\.\d%) \|", tutorial)
    assert network == alt == row


def test_the_readers_objective_ends_in_the_cycle_maths_md_describes():
    """`train --reg 2` (maths.md): its two cycle points' loss, training and held-out accuracy.
    Trained until the parameters repeat bit for bit every two epochs (epoch 2636 here): from
    there every later epoch of the same parity, the 20,000th too, is the same point."""
    X, y = data.make_moons()
    X_test, y_test = data.held_out_moons()
    model = nn.MLP([2, 3, 2], seed=0)  # as `train` makes and trains it
    states, points = [], {}

    def record(epoch, history):
        states.append(b"".join(p.data.tobytes() for p in model.parameters()))
        test = np.mean(predict(model, X_test) == y_test)
        points[epoch % 2] = (
            f"{history.loss[-1]:.4f}",
            f"{history.accuracy[-1]:.1%}",
            f"{test:.1%}",
        )
        return len(states) > 3 and states[-1] == states[-3] and states[-2] == states[-4]

    optimizer = optim.SGD(model.parameters(), lr=0.01)
    history = fit(model, X, y, reg=2.0, optimizer=optimizer, callbacks=[record], progress=False)
    assert len(history.loss) < 20000, "no bitwise period-2 cycle within the run"
    ends = found(
        r"on the machine these pages were made on at loss (\d\.\d+) with (\d+\.\d%) training "
        r"and (\d+\.\d%) held-out accuracy; at the other point, where another machine may end, "
        r"(\d\.\d+), (\d+\.\d%) and (\d+\.\d%) \(which one the run ends on is machine-dependent",
        page("maths.md"),
    )
    assert sorted([ends[:3], ends[3:]]) == sorted(points.values())
    # the post's run it is set against: the size-3 row of reproduce.md's table, to 4 digits
    post = found(
        r"The post's objective ends at (\d\.\d+), (\d+\.\d%) and (\d+\.\d%)", page("maths.md")
    )
    row = found(
        r"(?m)^\s+3\s+(\d\.\d+)\s+(\d+\.\d%)\s+(\d+\.\d%)$", (DOCS / "reproduce.md").read_text()
    )
    assert post == (f"{float(row[0]):.4f}", row[1], row[2])


def test_the_spike_and_the_settling_the_pages_describe(post_losses):
    losses = post_losses[3]
    peak_pass = 1100 + int(np.argmax(losses[1100:2100]))  # losses[i]: after pass i
    peak, at = found(r"up to about (\d[\d.]*\d) near pass ([\d,]+)", page("reproduce.md"))
    assert f"{losses[peak_pass]:.2f}" == peak
    assert abs(peak_pass - int(at.replace(",", ""))) <= 10  # "near"
    low, spike, level = found(
        r"falling to about (\d[\d.]*\d) by pass 1,200 the loss spikes several times, once to "
        r"about (\d[\d.]*\d), before settling near (\d[\d.]*\d)",
        page("maths.md"),
    )
    assert f"{losses[1200]:.4f}" == low
    assert f"{losses[peak_pass]:.2f}" == spike
    assert f"{losses[-2:].mean():.3f}" == level


def test_the_annealed_rate_settles_where_the_pages_say():
    sys.path.insert(0, str(ROOT / "examples"))
    try:
        import annealing
    finally:
        sys.path.remove(str(ROOT / "examples"))
    final = f"{annealing.train(0.03, 20000, 0.001).loss[-1]:.5f}"
    (on_reproduce,) = found(
        r"0\.03 / \(1 \+ 0\.001 t\) settles at (\d[\d.]*\d)", page("reproduce.md")
    )
    (on_maths,) = found(r"`examples/annealing.py` settles at (\d[\d.]*\d)", page("maths.md"))
    assert on_reproduce == on_maths == final
