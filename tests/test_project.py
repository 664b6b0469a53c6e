"""The project's promises about itself: the README's commands, CI, the import layering."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def readme_bash_commands():
    return re.findall(r"```bash\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)


def test_readme_opens_with_three_lines_then_the_two_commands():
    lines = (ROOT / "README.md").read_text().splitlines()
    assert lines[0].startswith("# ")
    assert all(lines[i].strip() for i in (2, 3, 4))
    train, tests = readme_bash_commands()[:2]
    assert "pip install" in train and "tinygrad-moons train" in train
    assert "pip install" in tests and "pytest" in tests


def test_ci_runs_the_readmes_test_command_verbatim():
    test_command = readme_bash_commands()[1]
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_importing_the_package_loads_numpy_layers_only():
    code = (
        "import sys, tinygrad_moons;"
        "heavy = [m for m in ('scipy', 'sklearn', 'matplotlib', 'tqdm') if m in sys.modules];"
        "print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_core_engine_files_import_numpy_alone():
    for name in ("tensor.py", "ops.py"):
        source = (ROOT / "tinygrad_moons" / name).read_text()
        imports = set(re.findall(r"^(?:from|import) (\w+)", source, re.M))
        third_party = imports - set(sys.stdlib_module_names) - {"__future__"}
        assert third_party <= {"numpy", "tinygrad_moons"}, (name, third_party)
