"""The package's layers: imports flow one way, downwards, with no cycle.

Every module's imports are read from its source (``ast``: imports at the top, inside
functions and under ``if TYPE_CHECKING`` alike, and ``importlib.import_module`` of a
constant name) and held to one table of layers:

    engine        tensor, ops, autograd, functional, gradcheck, graph (+ codegen,
                  validate): numpy alone
    models        nn, optim, train (+ checkpoint)
    applications  data, plot (a package), estimator, sweep, reference, three_gradients
    interfaces    cli (a package: one module per command), bench (a package), __main__

A module may import its own layer and the layers below, never one above; the imports form
no cycle, deferred ones included, but the one named in ``MUTUAL`` (tensor <-> ops: every op is
a ``Function``, and Tensor's operators call the ops; tensor.py imports ops on its last
line); no module writes into another module's globals; and ``import tinygrad_moons``
loads neither scipy, scikit-learn, matplotlib, tqdm nor the interfaces.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "tinygrad_moons"
ROOT_MODULE = "__init__"  # the package's front door: it may gather from every layer

LAYERS = {
    "engine": [
        *("tensor", "ops", "autograd", "functional", "gradcheck"),
        *("graph", "codegen.__init__", "codegen.program", "codegen.rules", "validate"),
        *("elementwise", "arrays", "array_methods", "products", "convolution", "habits"),
    ],
    "models": [
        *("nn", "optim", "train", "checkpoint", "atomic", "reading"),
        *("parameters", "curvature", "flat_step"),
    ],
    "applications": [
        *("data", "plot.__init__", "plot.graph_drawing", "plot.figures", "estimator", "sweep"),
        *("reference", "three_gradients"),
    ],
    "interfaces": [
        *(f"cli.{name}" for name in ("__init__", "terminal", "options", "types", "preflight")),
        *(f"cli.{name}_command" for name in ("train", "predict", "sweep", "baseline")),
        *(f"cli.{name}_command" for name in ("gradcheck", "graph", "compile", "bench")),
        "cli.sharpness_command",
        "cli.reproduce_command",
        *(f"bench.{name}" for name in ("__init__", "steps", "report", "trainings", "hvp")),
        "bench.profile",
        "__main__",
    ],
}
ENGINE_THIRD_PARTY = {"numpy"}
MUTUAL = ("tensor", "ops")  # the one mutual import, allowed and named
HEAVY = ("scipy", "sklearn", "matplotlib", "tqdm")


# ---------------------------------------------------------------------- reading imports
def package_modules(package: Path) -> list[str]:
    """Dotted names, relative to the package, of its .py files ("tensor", "sub.mod")."""
    names = []
    for path in sorted(package.rglob("*.py")):
        parts = path.relative_to(package).with_suffix("").parts
        names.append(".".join(parts))
    return names


def _resolve(dotted: str, package_name: str, modules: set[str]) -> str | None:
    """The package module that ``import dotted`` runs, or None if it is not the package's."""
    if dotted != package_name and not dotted.startswith(package_name + "."):
        return None
    inner = dotted[len(package_name) + 1 :]
    while inner and inner not in modules:
        if f"{inner}.__init__" in modules:  # a subpackage: importing it runs its __init__
            return f"{inner}.__init__"
        inner = inner.rpartition(".")[0]
    return inner or ROOT_MODULE


def module_imports(package: Path, module: str) -> tuple[list[str], set[str], dict[str, str]]:
    """What ``module`` imports: the package modules (in order, with repeats), the top-level
    names of everything else, and its local names bound to package modules."""
    package_name = package.name
    modules = set(package_modules(package))
    path = package.joinpath(*module.split(".")).with_suffix(".py")
    tree = ast.parse(path.read_text(), filename=str(path))
    inside: list[str] = []
    outside: set[str] = set()
    aliases: dict[str, str] = {}
    here = module.rpartition(".")[0] if module != ROOT_MODULE else ""

    def note(dotted: str, bound: str | None) -> None:
        target = _resolve(dotted, package_name, modules)
        if target is None:
            outside.add(dotted.split(".")[0])
        else:
            inside.append(target)
            if bound is not None:
                aliases[bound] = target

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                # `import a.b` binds `a`; `import a.b as c` binds c to a.b
                bound = alias.asname or alias.name.split(".")[0]
                note(alias.name, bound if alias.asname else None)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: `from . import x` in a.b means from package.a
                parents = here.split(".") if here else []
                kept = parents[: len(parents) - node.level + 1]
                base = ".".join([package_name, *kept])
                source = f"{base}.{node.module}" if node.module else base
            else:
                source = node.module or ""
            if source == "__future__":
                continue
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                inner = submodule[len(package_name) + 1 :]
                if submodule.startswith(package_name + ".") and (
                    inner in modules or f"{inner}.__init__" in modules
                ):
                    note(submodule, alias.asname or alias.name)  # binds the module itself
                else:
                    note(source, None)
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            note(node.args[0].value, None)
    return inside, outside, aliases


def import_graph(package: Path) -> dict[str, list[str]]:
    """Module -> the package modules it imports (sorted, each once, itself left out)."""
    graph = {}
    for module in package_modules(package):
        inside, _, _ = module_imports(package, module)
        graph[module] = sorted(set(inside) - {module})
    return graph


def global_writes(package: Path) -> list[tuple[str, str, str]]:
    """(writer, module written to, attribute) for every assignment to an attribute of an
    imported package module (``tensor._ops = ...``, ``setattr(tensor, "_ops", ...)``)."""
    writes = []
    for module in package_modules(package):
        _, _, aliases = module_imports(package, module)
        path = package.joinpath(*module.split(".")).with_suffix(".py")
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign, ast.Delete)):
                targets = (
                    node.targets if isinstance(node, (ast.Assign, ast.Delete)) else [node.target]
                )
            elif (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("setattr", "delattr")
                and node.args
                and isinstance(node.args[0], ast.Name)
                and node.args[0].id in aliases
            ):
                attribute = node.args[1].value if isinstance(node.args[1], ast.Constant) else "?"
                writes.append((module, aliases[node.args[0].id], str(attribute)))
            for target in targets:
                if (
                    isinstance(target, ast.Attribute)
                    and isinstance(target.value, ast.Name)
                    and target.value.id in aliases
                ):
                    writes.append((module, aliases[target.value.id], target.attr))
    return writes


# ---------------------------------------------------------------------- the rules
def layer_of(layers: dict[str, list[str]]) -> dict[str, int]:
    """Module -> its layer's height (0 at the bottom); the package's front door on top."""
    heights = {module: height for height, names in enumerate(layers.values()) for module in names}
    heights[ROOT_MODULE] = len(layers)
    return heights


def unplaced_modules(package: Path, layers: dict[str, list[str]]) -> list[str]:
    placed = set(layer_of(layers))
    return [module for module in package_modules(package) if module not in placed]


def upward_imports(graph: dict[str, list[str]], layers: dict[str, list[str]]):
    """(importer, imported) pairs where the imported module sits in a higher layer."""
    height = layer_of(layers)
    return [
        (module, target)
        for module, targets in graph.items()
        for target in targets
        if height.get(target, -1) > height.get(module, -1)
    ]


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """One import cycle as a path [a, b, ..., a], or None when the graph has none."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        stack.append(module)
        for target in graph.get(module, []):
            if state.get(target) == "open":
                return stack[stack.index(target) :] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        stack.pop()
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module)
            if cycle:
                return cycle
    return None


def third_party_imports(package: Path, modules: list[str]) -> dict[str, set[str]]:
    """Module -> the names it imports from outside the standard library and the package."""
    found = {}
    for module in modules:
        _, outside, _ = module_imports(package, module)
        foreign = outside - set(sys.stdlib_module_names)
        if foreign:
            found[module] = foreign
    return found


# ---------------------------------------------------------------------- the package
def test_every_module_of_the_package_has_its_place_in_one_layer():
    assert unplaced_modules(PACKAGE, LAYERS) == []
    placed = [module for names in LAYERS.values() for module in names]
    assert len(placed) == len(set(placed)), "a module is in two layers"
    assert sorted(placed) == sorted(set(package_modules(PACKAGE)) - {ROOT_MODULE})


def test_no_module_imports_a_higher_layer():
    upward = upward_imports(import_graph(PACKAGE), LAYERS)
    assert upward == [], f"upward imports (importer, imported): {upward}"


def without_the_mutual_import(graph: dict[str, list[str]]) -> dict[str, list[str]]:
    """The graph less tensor's import of ops (ops -> tensor stays): that one edge, on
    tensor.py's last line, is the package's only allowed cycle."""
    importer, imported = MUTUAL
    return {m: [t for t in ts if (m, t) != (importer, imported)] for m, ts in graph.items()}


def test_the_one_mutual_import_is_tensor_and_ops():
    graph = import_graph(PACKAGE)
    importer, imported = MUTUAL
    assert imported in graph[importer] and importer in graph[imported]
    last = (PACKAGE / f"{importer}.py").read_text().rstrip().splitlines()[-1]
    assert last.startswith(f"from tinygrad_moons import {imported}"), last


def test_the_imports_form_no_cycle_deferred_imports_included():
    cycle = find_cycle(without_the_mutual_import(import_graph(PACKAGE)))
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_module_imports_the_package_front_door():
    importers = [m for m, targets in import_graph(PACKAGE).items() if ROOT_MODULE in targets]
    assert importers == [], f"{importers} import names from tinygrad_moons/__init__.py"


def test_the_engine_imports_numpy_alone():
    engine = third_party_imports(PACKAGE, LAYERS["engine"])
    assert all(names <= ENGINE_THIRD_PARTY for names in engine.values()), engine


def test_no_module_writes_into_another_modules_globals():
    writes = global_writes(PACKAGE)
    assert writes == [], f"(writer, module, attribute): {writes}"


def test_importing_the_package_loads_no_heavy_library_and_no_interface():
    interfaces = [
        f"tinygrad_moons.{name}".removesuffix(".__init__") for name in LAYERS["interfaces"]
    ]
    code = (
        "import sys, tinygrad_moons;"
        f"print([m for m in {[*HEAVY, *interfaces]!r} if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# ---------------------------------------------------------------------- the checks see bugs
def make_package(tmp_path: Path, files: dict[str, str]) -> Path:
    package = tmp_path / "tinygrad_moons"
    package.mkdir()
    for name, source in {"__init__.py": "", **files}.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(textwrap.dedent(source))
    return package


TOY_LAYERS = {"engine": ["core"], "models": ["model"], "interfaces": ["app"]}


def test_the_checks_find_an_upward_import_hidden_in_a_function(tmp_path):
    package = make_package(
        tmp_path,
        {
            "core.py": "def f():\n    from tinygrad_moons.model import thing\n",
            "model.py": "import tinygrad_moons.core as C\n",
            "app.py": "from tinygrad_moons import model\n",
        },
    )
    graph = import_graph(package)
    assert graph == {"__init__": [], "app": ["model"], "core": ["model"], "model": ["core"]}
    assert upward_imports(graph, TOY_LAYERS) == [("core", "model")]
    cycle = find_cycle(graph)
    assert cycle[0] == cycle[-1] and sorted(cycle[1:]) == ["core", "model"]


def test_the_checks_find_a_type_checking_cycle_and_an_unplaced_module(tmp_path):
    package = make_package(
        tmp_path,
        {
            "core.py": "",
            "model.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
            "    from tinygrad_moons.app import App\n",
            "app.py": "import importlib\nm = importlib.import_module('tinygrad_moons.model')\n",
            "extra.py": "from tinygrad_moons import Thing\n",
        },
    )
    graph = import_graph(package)
    assert graph["app"] == ["model"] and graph["model"] == ["app"]
    assert graph["extra"] == ["__init__"]
    assert find_cycle(graph) == ["app", "model", "app"]
    assert unplaced_modules(package, TOY_LAYERS) == ["extra"]


def test_the_checks_find_a_foreign_import_and_a_global_write(tmp_path):
    package = make_package(
        tmp_path,
        {
            "core.py": "import os\nimport numpy\ndef f():\n    import scipy.optimize\n",
            "model.py": "from tinygrad_moons import core as _core\n_core.hook = 1\n"
            "def g():\n    setattr(_core, 'other', 2)\n",
            "app.py": "",
        },
    )
    assert third_party_imports(package, ["core"]) == {"core": {"numpy", "scipy"}}
    assert sorted(global_writes(package)) == [("model", "core", "hook"), ("model", "core", "other")]


SUBPACKAGE = {
    "sub/__init__.py": "from tinygrad_moons.sub import mod\n",
    "sub/mod.py": "",
    "app.py": "from tinygrad_moons.sub import main\nimport tinygrad_moons.sub.mod\n",
    "user.py": "from tinygrad_moons import sub\n",
}


def test_the_checks_read_an_import_of_a_subpackage_as_its_init(tmp_path):
    graph = import_graph(make_package(tmp_path, SUBPACKAGE))
    assert (graph["app"], graph["sub.__init__"]) == (["sub.__init__", "sub.mod"], ["sub.mod"])
    assert graph["user"] == ["sub.__init__"]


@pytest.mark.parametrize("module", ["tensor", "train", "cli.__init__", "__main__"])
def test_the_real_graph_reads_known_edges(module):
    """A sanity check of the reader on the package itself."""
    expected = {
        "tensor": {"ops", "validate"},
        "train": {"nn", "optim", "tensor"},
        "cli.__init__": {"cli.terminal"},  # the commands are imported by name, on use
        "__main__": {"cli.__init__"},
    }
    assert expected[module] <= set(import_graph(PACKAGE)[module])


def test_the_package_docstring_lists_the_files_by_the_same_layers():
    """The map a reader meets first, in ``tinygrad_moons/__init__.py``, is this table."""
    import tinygrad_moons

    listed: dict[str, set[str]] = {}
    layer = None
    for line in tinygrad_moons.__doc__.splitlines():
        words = line.split()
        if words and words[0] in LAYERS:
            layer, words = words[0], words[1:]
        elif not line.startswith("    "):
            layer = None
        if layer:
            names = {w.removesuffix(".py") for w in words if w.endswith((".py", "/"))}
            listed.setdefault(layer, set()).update(names)
    expected = {
        name: {m.split(".")[0] + ("/" if "." in m else "") for m in modules}
        for name, modules in LAYERS.items()
    }
    assert listed == expected
