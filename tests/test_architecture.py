"""The import rules of docs/ARCHITECTURE.md ("What may import what"), as tests.

* Each layer imports alone: every module of a layer is imported in a fresh interpreter,
  one after another, and none may bring in what the layer must not load (torch, scipy,
  matplotlib); a failure names the module and the chain of cegbench imports that
  brought the library in.
* No import cycles: an AST pass over the whole package (core/, registry/, site/,
  plugins/) follows every import, at module level and inside functions alike (only
  imports under ``if TYPE_CHECKING:`` are left out: they never run), and finds the
  cycles among cegbench's modules. Importing a submodule also runs its package's
  ``__init__``; that implicit edge is not counted.

The modules are found from the ``cegbench`` that is imported, so the tests check
whichever tree is installed.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

# layer (a package or module, with everything under it) → what importing it must not load
LAYERS = {
    "cegbench.registry": ("torch", "scipy"),
    "cegbench.site": ("torch", "scipy"),
    "cegbench.present": ("torch", "scipy"),  # report, leaderboard and validity tables, numbers
    "cegbench.analysis": ("torch",),
    "cegbench.plan": ("torch",),  # the registry keys its rows by the planner's specs
    "cegbench.cli": ("torch", "scipy", "matplotlib"),  # `cegbench --help` stays light
}

# Run in a fresh interpreter: import each module of the layer in turn; a meta-path finder
# notes which cegbench modules were being imported when a forbidden library first was.
PROBE = r"""
import importlib, importlib.util, json, pkgutil, sys

layer, forbidden = sys.argv[1], set(json.loads(sys.argv[2]))
chains = {}


class Watch:
    def find_spec(self, name, path=None, target=None):
        top = name.partition(".")[0]
        if top in forbidden and top not in chains:
            frame, chain = sys._getframe(1), []
            while frame is not None:
                module = frame.f_globals.get("__name__", "")
                if module.startswith("cegbench") and (not chain or chain[-1] != module):
                    chain.append(module)
                frame = frame.f_back
            chains[top] = list(reversed(chain))
        return None


sys.meta_path.insert(0, Watch())
spec = importlib.util.find_spec(layer)  # found, not imported: the loop imports it first
names = [layer]
if spec.submodule_search_locations:
    names += [m.name for m in pkgutil.iter_modules(spec.submodule_search_locations, layer + ".")
              if not m.name.endswith("__main__")]
found = []
for name in names:
    before = {m for m in forbidden if m in sys.modules}
    importlib.import_module(name)
    for library in sorted(m for m in forbidden if m in sys.modules and m not in before):
        found.append({"module": name, "library": library, "chain": chains.get(library, [])})
print(json.dumps(found))
"""


@pytest.mark.parametrize("layer, forbidden", LAYERS.items())
def test_a_layer_imports_without_what_it_must_not_load(layer, forbidden):
    result = subprocess.run([sys.executable, "-c", PROBE, layer, json.dumps(forbidden)],
                            capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert not found, "\n".join(
        f"importing {f['module']} loads {f['library']} (through {' → '.join(f['chain']) or '?'})"
        for f in found)


# -------------------------------------------------------------------------
# cycles


def package_roots() -> dict[str, Path]:
    """Each installed cegbench package and the folder it is read from."""
    import cegbench.plugins
    import cegbench.registry
    import cegbench.site

    return {package.__name__: Path(package.__path__[0])
            for package in (cegbench, cegbench.registry, cegbench.site, cegbench.plugins)}


def module_files() -> dict[str, Path]:
    """Every cegbench module's dotted name → its file (subpackages of ``cegbench`` that are
    installed from other folders are listed once, under their own root)."""
    roots = package_roots()
    files = {}
    for package, folder in roots.items():
        for path in sorted(folder.rglob("*.py")):
            parts = list(path.relative_to(folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join([package, *parts])
            if any(name.startswith(other + ".") or name == other
                   for other in roots if other != package and other.startswith(package + ".")):
                continue  # cegbench.registry etc.: read from its own folder
            files[name] = path
    return files


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imports_of(name: str, path: Path, modules: set[str]) -> list[tuple[str, int]]:
    """(imported cegbench module, line) for every import ``name``'s file makes, at module
    level and inside functions, except under ``if TYPE_CHECKING:``."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []

    def target(module: str, member: str | None) -> str | None:
        if member and f"{module}.{member}" in modules:
            return f"{module}.{member}"
        return module if module in modules else None

    def visit(node):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _type_checking(child):
                for orelse in child.orelse:
                    visit(orelse)
                continue
            if isinstance(child, ast.Import):
                found.extend((a.name, child.lineno) for a in child.names if a.name in modules)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    up = package.split(".")
                    up = up[: len(up) - (child.level - 1)]
                    base = ".".join([*up, *([base] if base else [])])
                for alias in child.names:
                    hit = target(base, alias.name)
                    if hit:
                        found.append((hit, child.lineno))
            visit(child)

    visit(ast.parse(path.read_text(), str(path)))
    return found


def import_graph() -> tuple[dict[str, set[str]], dict[tuple[str, str], str]]:
    files = module_files()
    graph, where = {name: set() for name in files}, {}
    for name, path in files.items():
        for imported, line in imports_of(name, path, set(files)):
            if imported != name:
                graph[name].add(imported)
                where.setdefault((name, imported), f"{path.name}:{line}")
    return graph, where


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []
    counter = [0]

    def connect(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                connect(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(10_000, sys.getrecursionlimit()))
    for node in sorted(graph):
        if node not in index:
            connect(node)
    return found


def test_no_module_imports_itself_round_a_cycle():
    graph, where = import_graph()
    assert len(graph) > 50  # the whole package was read
    problems = []
    for component in cycles(graph):
        members = set(component)
        edges = [f"{a} → {b} ({where[(a, b)]})" for a in component for b in sorted(graph[a] & members)]
        problems.append("cycle among " + ", ".join(component) + ": " + "; ".join(edges))
    assert not problems, "\n".join(problems)


def test_the_cycle_finder_finds_a_cycle_and_reads_relative_and_function_imports(tmp_path):
    """The checker itself: a cycle through a function-level import is one; a TYPE_CHECKING
    import is none."""
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
    module = tmp_path / "m.py"
    module.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import x\n"
                      "def f():\n    from . import y\n    import pkg.z\n")
    found = imports_of("pkg.m", module, {"pkg", "pkg.x", "pkg.y", "pkg.z"})
    assert sorted(found) == [("pkg.y", 5), ("pkg.z", 6)]


# -------------------------------------------------------------------------
# the map


ROOT = Path(__file__).resolve().parents[1]
TREE_ROOTS = ("core", "registry", "site", "plugins", "leaderboard")


def mapped_paths() -> tuple[set[str], set[str]]:
    """The files and folders docs/ARCHITECTURE.md's map lists, as paths from the repository
    root ("core/plan/cells.py", "core/plan/"); a folder listed without children stands for
    all it holds."""
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    block = text.split("## The map", 1)[1].split("```", 2)[1]
    files, opaque, stack = set(), set(), []
    for line in block.splitlines():
        start = next((i for i, c in enumerate(line) if c.isalnum() or c in "_."), None)
        if start is None:
            continue
        depth = start // 4
        entry = line[start:].split("  ")[0].split(" → ")[0].strip()
        names = [n.strip() for n in entry.split(",") if n.strip()]
        if depth == 0:
            if not names or names[0].rstrip("/") not in TREE_ROOTS:
                continue  # a line of a root's description
            stack = [names[0]]
            opaque.add(names[0])
            continue
        stack = stack[:depth]
        parent = "".join(stack)
        opaque.discard(parent)  # it has children
        for name in names:
            files.add(parent + name)
            if name.endswith("/"):
                opaque.add(parent + name)
        if names[-1].endswith("/"):
            stack.append(names[-1])
        else:
            stack.append("")  # a continuation line of a file list keeps this depth
    return files, opaque


def test_the_architecture_map_lists_exactly_the_packages_modules():
    files, opaque = mapped_paths()
    actual = set()
    for top in TREE_ROOTS[:4]:
        for path in (ROOT / top).rglob("*"):
            relative = path.relative_to(ROOT).as_posix()
            if "__pycache__" in relative or any(relative.startswith(o) for o in opaque):
                continue
            if path.is_dir():
                actual.add(relative + "/")
            elif path.suffix == ".py" and path.name != "__init__.py":
                actual.add(relative)
    listed = {f for f in files if not any(f.startswith(o) and f != o for o in opaque)
              and not f.endswith("__init__.py") and f.split("/")[0] in TREE_ROOTS[:4]}
    assert not actual - listed, f"in the tree, not on the map: {sorted(actual - listed)}"
    assert not listed - actual, f"on the map, not in the tree: {sorted(listed - actual)}"
