"""The project's promises about itself: the README's commands, CI, self-contained docs.

The import layering is tests/project/test_import_layers.py."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def readme_bash_commands():
    return re.findall(r"```bash\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)


def test_readme_opens_with_three_lines_then_the_two_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert lines[0].startswith("# ")
    assert all(lines[i].strip() for i in (2, 3, 4))
    install, tests = readme_bash_commands()[:2]
    assert "pip install -q -e ." in install and ".venv/bin/tinygrad-moons train" in install
    assert "pip install" in tests and "pytest" in tests


def readme_command_lines():
    """Every line of the README's shell blocks, comments cut, blank lines left out."""
    lines = "\n".join(readme_bash_commands()).splitlines()
    return [line.split("  #")[0].strip() for line in lines if line.strip()]


def test_every_readme_command_runs_after_the_install_line_as_printed():
    """No bare ``tinygrad-moons``: the install line does not activate the environment."""
    for line in readme_command_lines():
        for command in line.split(" && "):
            assert command.split()[0] in {"python3", ".venv/bin/pip", ".venv/bin/python",
                                          ".venv/bin/tinygrad-moons", "printf"}, line  # fmt: skip


def test_every_readme_tinygrad_moons_command_parses():
    from tinygrad_moons.cli import build_parser

    commands = [line for line in readme_command_lines() if ".venv/bin/tinygrad-moons" in line]
    assert len(commands) >= 8
    for line in commands:
        args = build_parser().parse_args(shlex.split(line)[1:])
        assert args.command is not None, line


@pytest.mark.slow
def test_the_readme_commands_run_in_order_and_exit_0(tmp_path):
    """The README's command lines, run as printed (``.venv/bin`` being this Python's), in a
    fresh folder: train --save makes the model, printf the points predict reads."""
    bin_folder = Path(sys.executable).parent
    for line in readme_command_lines():
        if "pip install" in line or "pytest" in line:
            continue
        line = line.replace(".venv/bin/", f"{bin_folder}/")
        done = subprocess.run(line, shell=True, cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, f"{line}\n{done.stderr}"
    assert (tmp_path / "predictions.csv").read_text().startswith("class,p0,p1\n")


def test_ci_runs_the_readmes_test_command_verbatim():
    test_command = readme_bash_commands()[1]
    assert test_command in (ROOT / ".ci" / "run").read_text()


# ---------------------------------------------------------------------- self-contained docs
# The design notes the project grew from are not shipped; users have the repository only.
# The name is assembled here so that this file does not mention it itself.
UNSHIPPED = "DES" + "IGN"
MARKDOWN_LINK = re.compile(r"\]\(([^)\s]+)\)")


def repository_files(root: Path) -> list[Path]:
    """The files git tracks under ``root`` (every file, outside a git checkout)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=root, capture_output=True, text=True, check=False
    )
    if listed.returncode == 0:
        return [root / name for name in listed.stdout.split("\0") if name]
    return [path for path in root.rglob("*") if path.is_file() and ".venv" not in path.parts]


def mentions_of_the_design_notes(root: Path) -> list[str]:
    """ "file:line" for every line of a text file that names the unshipped design notes."""
    found = []
    for path in repository_files(root):
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue  # figures and other binary files
        for number, line in enumerate(text.splitlines(), 1):
            if re.search(rf"\b{UNSHIPPED}\b", line):
                found.append(f"{path.relative_to(root)}:{number}")
    return found


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def broken_links(root: Path) -> list[str]:
    """Relative links of README.md and docs/*.md whose file or #anchor does not exist."""
    broken = []
    for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        for target in MARKDOWN_LINK.findall(page.read_text()):
            if re.match(r"[a-z]+://", target):
                continue
            file_part, _, anchor = target.partition("#")
            linked = (page.parent / file_part).resolve() if file_part else page
            if not linked.is_file():
                broken.append(f"{page.name} -> {target} (no such file)")
            elif anchor and linked.suffix == ".md":
                headings = re.findall(r"^#+ (.*)$", linked.read_text(), re.M)
                if anchor not in {slug(heading) for heading in headings}:
                    broken.append(f"{page.name} -> {target} (no such heading)")
    return broken


def test_no_repository_file_mentions_the_unshipped_design_notes():
    assert mentions_of_the_design_notes(ROOT) == []


def test_the_design_notes_check_finds_a_planted_mention(tmp_path):
    (tmp_path / "notes.md").write_text(f"ok\nsee {UNSHIPPED}.md for the contract\n")
    (tmp_path / "figure.png").write_bytes(b"\x89PNG\xff\xfe")
    assert mentions_of_the_design_notes(tmp_path) == ["notes.md:2"]


def test_the_docs_and_readme_link_only_to_files_and_headings_in_the_repository():
    assert broken_links(ROOT) == []


def test_the_link_check_finds_a_missing_file_and_a_missing_heading(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "README.md").write_text("[a](docs/a.md#the-part) [b](docs/gone.md)")
    (tmp_path / "docs" / "a.md").write_text("# A\n\n## The part\n[back](a.md#nowhere)\n")
    assert broken_links(tmp_path) == [
        "README.md -> docs/gone.md (no such file)",
        "a.md -> a.md#nowhere (no such heading)",
    ]
