"""docs/writeup.ipynb: the post as a notebook, kept as the jupytext text file docs/writeup.py
beside it, run top to bottom here (with fewer passes) with nbclient."""

from pathlib import Path

import pytest

jupytext = pytest.importorskip("jupytext", reason="the [test] extra installs jupytext")
nbclient = pytest.importorskip("nbclient", reason="the [test] extra installs nbclient")

DOCS = Path(__file__).resolve().parents[2] / "docs"
QUICK_PASSES = 1001


def code_sources(notebook):
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def test_the_notebook_and_its_text_file_hold_the_same_cells():
    paired = jupytext.read(DOCS / "writeup.ipynb")
    text = jupytext.read(DOCS / "writeup.py")
    assert [c.source for c in paired.cells] == [c.source for c in text.cells]


def test_the_notebook_runs_top_to_bottom_and_shows_its_figures_inline(tmp_path):
    notebook = jupytext.read(DOCS / "writeup.ipynb")
    (first,) = [c for c in notebook.cells if c.cell_type == "code" and "PASSES =" in c.source]
    first.source = f"PASSES = {QUICK_PASSES}"
    resources = {"metadata": {"path": str(tmp_path)}}  # the folder the kernel runs in
    nbclient.NotebookClient(notebook, timeout=300, resources=resources).execute()
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    images = [out for out in outputs if "image/png" in out.get("data", {})]
    assert len(images) == 4  # the data, logistic regression, hidden size 3, the sweep
    text = "".join(out.get("text", "") for out in outputs if out.output_type == "stream")
    assert "Loss after iteration 0: 0.432387" in text
    assert "Loss after iteration 1000: 0.068947" in text
    assert "pass  1000: post 0.068947  autodiff 0.068947" in text
    assert "fit: 100%" in text and f"{QUICK_PASSES}/{QUICK_PASSES}" in text  # fit's default bar
