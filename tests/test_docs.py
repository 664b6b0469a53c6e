"""The docs cannot rot: every image a page links to exists and is made by docs/make_figures.py."""

import importlib.util
import re
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MAX_FIGURE_BYTES = 150_000


def linked_images():
    """(page, target) for every Markdown image link of README.md and the docs pages."""
    links = []
    for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]:
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", page.read_text()):
            links.append((page, target))
    return links


def make_figures_module():
    spec = importlib.util.spec_from_file_location("make_figures", DOCS / "make_figures.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_docs_link_images():
    pages = {page.name for page, _ in linked_images()}
    assert "tutorial.md" in pages


@pytest.mark.parametrize("page, target", linked_images(), ids=lambda x: getattr(x, "name", x))
def test_every_linked_image_exists_small_and_is_made_by_make_figures(page, target):
    path = (page.parent / target).resolve()
    assert path.is_file(), f"{page.name} links to {target}, which does not exist"
    assert path.stat().st_size <= MAX_FIGURE_BYTES, f"{target} is over {MAX_FIGURE_BYTES} bytes"
    assert path.parent == DOCS / "figures"
    assert path.name in make_figures_module().FIGURES, f"make_figures.py does not make {target}"


def test_make_figures_quick_makes_every_figure(tmp_path, capsys):
    make_figures = make_figures_module()
    assert make_figures.main(["--quick", "--out", str(tmp_path)]) == 0
    for name in make_figures.FIGURES:
        image = matplotlib.image.imread(tmp_path / name)
        assert image.shape[0] > 200 and image.shape[1] > 300, name
        assert np.std(image[..., :3]) > 0.05, f"{name} is blank"
    assert "| target | ratio | status |" in capsys.readouterr().out


def test_make_figures_refuses_an_unknown_name(capsys):
    with pytest.raises(SystemExit) as exit_info:
        make_figures_module().main(["nonesuch.png"])
    assert exit_info.value.code == 2
    assert "no figure named nonesuch.png" in capsys.readouterr().err
