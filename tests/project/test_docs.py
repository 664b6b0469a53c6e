"""The docs cannot rot: every public name is on the API page with its real signature, every
image a page links to exists and is made by docs/make_figures.py."""

import importlib
import importlib.util
import inspect
import json
import re
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
API_PAGE = DOCS / "api.md"
# The modules docs/api.md must cover completely (add tinygrad_moons.estimator when it lands).
API_MODULES = [
    "tinygrad_moons",
    "tinygrad_moons.tensor",
    "tinygrad_moons.functional",
    "tinygrad_moons.gradcheck",
    "tinygrad_moons.reference",
    "tinygrad_moons.nn",
    "tinygrad_moons.optim",
    "tinygrad_moons.curvature",
    "tinygrad_moons.data",
    "tinygrad_moons.train",
    "tinygrad_moons.graph",
    "tinygrad_moons.plot",
    "tinygrad_moons.sweep",
    "tinygrad_moons.estimator",
]
MAX_FIGURE_BYTES = 150_000


def public_names(module):
    """``__all__``, or else the functions and classes the module itself defines."""
    if hasattr(module, "__all__"):
        return list(module.__all__)
    return [
        name
        for name, value in vars(module).items()
        if not name.startswith("_")
        and (inspect.isfunction(value) or inspect.isclass(value))
        and value.__module__ == module.__name__
    ]


def api_sections():
    """Module name -> the text under its '## `module`' heading in docs/api.md."""
    sections = {}
    for part in re.split(r"^## ", API_PAGE.read_text(), flags=re.MULTILINE)[1:]:
        heading, _, body = part.partition("\n")
        match = re.fullmatch(r"`([\w.]+)`", heading.strip())
        if match:
            sections[match.group(1)] = body
    return sections


def documented_entries(section):
    """The backticked names at the head of each bullet (before its first ': '), joined
    over continuation lines: ``[("Tensor.sum", "(axis=None, keepdims=False)"), ...]``."""
    bullets = []
    for line in section.splitlines():
        if re.match(r"\s*- ", line):
            bullets.append(line.strip()[2:])
        elif not line.strip():
            bullets.append("")  # a blank line ends the bullet
        elif bullets and bullets[-1] and line.startswith("  "):
            bullets[-1] += " " + line.strip()
    entries = []
    for bullet in bullets:
        head = bullet.split("`: ", 1)[0] + "`" if "`: " in bullet else bullet
        for token in re.findall(r"`([^`]+)`", head):
            match = re.fullmatch(r"([A-Za-z_][\w.]*)(\(.*\))?", token)
            assert match, f"docs/api.md: cannot read the entry `{token}`"
            entries.append((match.group(1), match.group(2)))
    return entries


def resolve(module, dotted):
    value = module
    for part in dotted.split("."):
        value = getattr(value, part)
    return value


def plain_signature(value):
    """The signature as the API page writes it: no annotations, no self, double quotes."""
    signature = inspect.signature(value)
    parameters = [
        p.replace(annotation=inspect.Parameter.empty) for p in signature.parameters.values()
    ]
    if parameters and parameters[0].name in ("self", "cls"):
        parameters = parameters[1:]
    plain = signature.replace(parameters=parameters, return_annotation=inspect.Signature.empty)
    return str(plain).replace("'", '"')


@pytest.mark.parametrize("module_name", API_MODULES)
def test_api_page_documents_every_public_name(module_name):
    module = importlib.import_module(module_name)
    section = api_sections().get(module_name)
    assert section is not None, f"docs/api.md has no '## `{module_name}`' section"
    documented = {name.split(".")[0] for name, _ in documented_entries(section)}
    missing = [name for name in public_names(module) if name not in documented]
    assert not missing, f"docs/api.md, section {module_name}, does not document {missing}"


@pytest.mark.parametrize("module_name", API_MODULES)
def test_api_page_signatures_match_the_code(module_name):
    module = importlib.import_module(module_name)
    for name, signature in documented_entries(api_sections()[module_name]):
        try:
            value = resolve(module, name)
        except AttributeError:
            pytest.fail(f"docs/api.md documents {module_name}.{name}, which does not exist")
        if signature is not None:
            assert signature == plain_signature(value), f"{module_name}.{name}"


def test_api_page_reader_fails_on_a_missing_name_or_a_stale_signature():
    section = "- `fit(model, X)`: trains.\n- `History`: records.\n"
    entries = documented_entries(section)
    assert entries == [("fit", "(model, X)"), ("History", None)]
    train = importlib.import_module("tinygrad_moons.train")
    assert entries[0][1] != plain_signature(train.fit)
    assert "predict" not in {name for name, _ in entries}


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
    assert {"tutorial.md", "benchmarks.md"} <= pages


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


def test_the_benchmark_page_is_its_saved_run(tmp_path, capsys):
    """docs/benchmarks.md's "One run" is figures/benchmark.json's: its tables are what
    make_figures.py prints from that file, its date and machine that file's, the prose's
    ratios the tables'; the first block's hand-written measurements are that run's to three
    figures; the targets' table is bench.TARGETS'."""
    from tinygrad_moons import bench

    saved = DOCS / "figures" / "benchmark.json"
    (tmp_path / saved.name).write_bytes(saved.read_bytes())
    make_figures_module()._benchmark(tmp_path / "benchmark.png", False, reuse=True)
    measured_line, *printed = capsys.readouterr().out.splitlines()
    page = " ".join((DOCS / "benchmarks.md").read_text().split())
    lines = (DOCS / "benchmarks.md").read_text().splitlines()
    # the tables (the page says what bounds each miss in its own words)
    missing = [line for line in printed if line and line not in lines]
    bounds = "What bounds each target not met (this run, this machine):"
    assert missing in ([], [bounds])  # a run with a miss: the page words its bound itself
    one_run = page.split("## One run")[1]
    record = json.loads(saved.read_text())
    assert f"Measured once, on {record['date']}," in one_run
    for part in record["machine"].removesuffix(" (15 min)").split(", "):
        assert part in one_run, part
    table_ratios = set(re.findall(r"\| (\d\.\d\d)x \|", "\n".join(printed)))
    says = one_run.split("What the run says:")[1].split("What bounds")[0]
    prose_ratios = set(re.findall(r"(?<![-\d.])(\d\.\d\d)×", says))
    assert prose_ratios and prose_ratios <= table_ratios, prose_ratios - table_ratios
    # the first block's three measurements
    run = {(m["n"], m["hidden"], m["method"]): m for m in record["measurements"]}
    written = re.findall(
        r'bench\.Measurement\((\d+), (\d+), "(\w+)", ([\d.e-]+), \[[^\]]*\], ([\d_]+)\)',
        page.split("## What it measures")[0],
    )
    assert len(written) == 3
    for n, hidden, method, seconds, peak in written:
        m = run[int(n), int(hidden), method]
        assert float(seconds) == float(f"{m['seconds']:.3g}"), method
        assert int(peak.replace("_", "")) == int(float(f"{m['peak_bytes']:.3g}")), method
    # the targets' table: each workload's limit
    targets = page.split("## Targets")[1].split("## What bounds a miss")[0]
    stated = set()
    for workloads, limit in re.findall(r"\| [^|]+ \| ([\d,× ]+) \| ([\d.]+) × ", targets):
        for workload in workloads.split(", "):
            n, hidden = (int(v.replace(",", "")) for v in workload.split(" × "))
            stated.add(((n, hidden), float(limit)))
    assert stated == {(t.workload, t.limit) for t in bench.TARGETS}
    # how it measures: run_benchmark's defaults
    defaults = inspect.signature(bench.run_benchmark).parameters
    samples, ms = re.search(
        r"make the write-up's step last about (\d+) ms; .* each figure is the median of (\d+) "
        r"samples",
        page,
    ).groups()[::-1]
    assert int(samples) == defaults["repeats"].default
    assert int(ms) / 1000 == defaults["min_time"].default
    (runs,) = re.search(r"the two interleaved, (\d+) runs each", page).groups()
    assert int(runs) == defaults["fit_repeats"].default
