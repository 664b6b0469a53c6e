"""``tinygrad-moons reproduce``: the post's own code prints the same 20 lines, and the account
of where autodiff parts from it follows from the two curves."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tinygrad_moons import cli
from tinygrad_moons.cli.reproduce_command import AGREE, compare, explain

POST = Path(__file__).with_name("post_build_model.py")


def test_the_post_lines_are_the_lines_the_posts_own_code_prints(capsys):
    posts = subprocess.run([sys.executable, str(POST)], capture_output=True, text=True, check=True)
    expected = posts.stdout.splitlines()
    assert len(expected) == 20 and expected[0] == "Loss after iteration 0: 0.432387"
    assert cli.main(["reproduce"]) == 0
    text = capsys.readouterr().out
    printed = [line for line in text.splitlines() if line.startswith("Loss after iteration")]
    assert printed == expected
    # docs/reproduce.md shows the lines before the chaotic stretch as printed here
    page = (Path(__file__).parents[2] / "docs" / "reproduce.md").read_text()
    for line in printed[:2]:
        assert line in page
    # the autodiff column: equal to the post's to the table's 1e-9 through pass 1000 (the
    # docs' reproduction table), parted by pass 2000, the same period-2 cycle at the end
    rows = {int(r.split()[0]): r.split()[1:] for r in text.splitlines() if r[:9].strip().isdigit()}
    assert sorted(rows) == list(range(0, 20000, 1000))
    for i in (0, 1000):
        assert float(rows[i][2]) <= AGREE and rows[i][0] == rows[i][1]
    assert "Where and why they part:" in text
    assert "stable softmax" in text and "chaotic transient" in text and "period-2 cycle" in text


def test_compare_finds_where_the_curves_part_and_the_phase_of_the_cycle():
    n = 3000
    post = np.full(n, 0.5)
    post[-2::-2], post[-1::-2] = 0.21, 0.2  # ends alternating 0.21, 0.2
    post[:1500] = np.linspace(0.5, 0.25, 1500)
    post[1200] = 0.4  # a spike after pass 1000
    autodiff = post * (1 + 1e-15)
    autodiff[1300:] = post[1300:] * (1 + 1e-6)
    autodiff[-2:] = post[-2:][::-1]  # same cycle, other phase
    c = compare(post, autodiff)
    assert c.parted == 1300 and c.early_gap <= 2e-15
    assert c.spikes == (1200, 1200, 1200)
    assert c.cycle == (0.2, 0.21) and c.end_gap == 0.0 and not c.same_phase
    text = "\n".join(explain(c, post))
    assert "pass 1300" in text and "opposite phases" in text and "0.400000 at pass 1200" in text


def test_a_cycle_in_the_same_phase_beyond_AGREE_is_still_the_same_phase():
    """The hunter's ends: in order 1e-9 apart (rounding, past AGREE), swapped 8e-3 apart."""
    post = np.full(3000, 0.5)
    post[-2::-2], post[-1::-2] = 0.07075795, 0.07131581
    autodiff = post.copy()
    autodiff[-2:] = post[-2:] * (1 + np.array([4.7e-10, 1.37e-9]))
    c = compare(post, autodiff)
    assert c.cycle is not None and c.end_gap <= 1e-8 and c.same_phase
    text = "\n".join(explain(c, post))
    assert "in the same phase" in text and "opposite phases" not in text


def test_curves_that_never_part_are_said_to_agree_everywhere():
    post = np.linspace(1.0, 0.1, 2000)
    c = compare(post, post.copy())
    assert c.parted is None and c.cycle is None and c.same_phase
    text = "\n".join(explain(c, post))
    assert "every pass" in text and "same loss" in text and "pass None" not in text


def test_runs_that_end_apart_are_not_called_a_cycle():
    post = np.linspace(1.0, 0.1, 2000)
    autodiff = post.copy()
    autodiff[1500:] += 0.01
    text = "\n".join(explain(compare(post, autodiff), post))
    assert "end" in text and "apart" in text and "period-2" not in text


@pytest.mark.slow
def test_the_sweep_table_of_the_reproduce_page_is_what_sweep_prints(tmp_path, capsys):
    """The rows the pages (reproduce.md, tutorial.md) do not mark machine-dependent: sizes
    1, 5, 20 and 50 whole, and size 3's training accuracy."""
    page = (Path(__file__).parents[2] / "docs" / "reproduce.md").read_text()
    table = page.split("hidden  final loss  train acc  held-out acc")[1].split("```")[0]
    argv = ["sweep", "--hidden", "1", "3", "5", "20", "50", "--n-jobs", "2"]
    assert cli.main([*argv, "--out", str(tmp_path / "grid.png")]) == 0
    printed = capsys.readouterr().out
    for row in table.strip().splitlines():
        hidden = int(row.split()[0])
        if hidden in (1, 5, 20, 50):
            assert row in printed
        elif hidden == 3:
            assert re.search(r"^\s+3\s+\S+\s+" + re.escape(row.split()[2]), printed, re.M)
    # docs/tutorial.md prints the same table as Markdown: the same rows held
    tutorial = (Path(__file__).parents[2] / "docs" / "tutorial.md").read_text()
    rows = re.findall(r"^\| (\d+) \| ([\d.]+) \| ([\d.]+%) \| ([\d.]+%) \|$", tutorial, re.M)
    assert [int(r[0]) for r in rows] == [1, 2, 3, 4, 5, 20, 50]
    for hidden, *cells in rows:
        if int(hidden) in (1, 5, 20, 50):
            assert re.search(
                rf"^\s+{hidden}\s+" + r"\s+".join(map(re.escape, cells)) + "$", printed, re.M
            )
        elif hidden == "3":
            assert re.search(r"^\s+3\s+\S+\s+" + re.escape(cells[1]), printed, re.M)
