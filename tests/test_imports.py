"""polyad's modules import each other without cycles and without private names,
and none is much over the ~500 lines a module should stay under.

Oracle: the source itself, read with ``ast`` (every ``import`` and ``from``
statement at any level, function-local ones included), resolved to the
module names the package installs (frontend/ is polyad.frontend, codegen/ is
polyad.codegen, as pyproject's package-dir maps them).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {"polyad": ROOT / "polyad", "polyad.frontend": ROOT / "frontend",
           "polyad.codegen": ROOT / "codegen"}


def module_files() -> dict[str, Path]:
    """Every module of the installed package by its dotted name."""
    modules = {}
    for package, folder in FOLDERS.items():
        for path in sorted(folder.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


MODULES = module_files()


def imported_names(module: str, tree: ast.Module) -> list[tuple[str, str | None, int]]:
    """(module imported, name taken from it or None, line) for each import in tree.

    Relative imports are resolved against ``module``; names outside polyad are kept
    too, the callers filter them.
    """
    package = module if MODULES[module].stem == "__init__" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((alias.name, None, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[:len(anchor) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            found.extend((base, alias.name, node.lineno) for alias in node.names)
    return found


def import_target(source: str, name: str | None) -> str | None:
    """The polyad module an import names: the submodule itself where `name` is one."""
    if name is not None and f"{source}.{name}" in MODULES:
        return f"{source}.{name}"
    return source if source in MODULES else None


def import_graph() -> dict[str, set[str]]:
    """Each polyad module to the polyad modules it imports."""
    graph = {}
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        graph[module] = {target for source, name, _ in imported_names(module, tree)
                         if (target := import_target(source, name)) not in (None, module)}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of graph as a list of modules (first repeated last), or None."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for successor in sorted(graph.get(node, ())):
            if state.get(successor) == "open":
                return stack[stack.index(successor):] + [successor]
            if successor not in state and (cycle := visit(successor)):
                return cycle
        state[node] = "done"
        stack.pop()
        return None

    for node in sorted(graph):
        if node not in state and (cycle := visit(node)):
            return cycle
    return None


def test_find_cycle_reports_a_cycle_and_accepts_a_chain():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_the_subpackages_and_function_local_imports():
    graph = import_graph()
    assert "polyad.codegen.build" in graph["polyad.codegen.compile"]
    assert "polyad.frontend.parse" in graph["polyad.api"]
    assert "polyad.model.kernel" in graph["polyad.frontend.builder"]


def test_no_import_cycle_among_polyads_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def private_imports() -> list[str]:
    """Each place where a module takes an underscore name from another polyad module.

    Both spellings count: ``from polyad.x import _name`` and ``x._name`` on a name
    bound to a polyad module by an import.
    """
    found = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        bound_modules = {}
        for source, name, line in imported_names(module, tree):
            target = import_target(source, name)
            if target is None or target == module:
                continue
            if name is None:
                bound_modules[source.split(".")[0]] = source.split(".")[0]
            elif target == f"{source}.{name}":
                bound_modules[name] = target
            elif name.startswith("_") and not name.startswith("__"):
                found.append(f"{path.relative_to(ROOT)}:{line}: {name} from {source}")
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and node.attr.startswith("_")
                    and not node.attr.startswith("__") and isinstance(node.value, ast.Name)
                    and node.value.id in bound_modules):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.id}.{node.attr}")
    return found


def test_no_module_imports_another_modules_private_name():
    assert private_imports() == []


@pytest.mark.parametrize("folder", ["polyad", "frontend", "codegen"])
def test_no_import_names_the_old_top_level_packages(folder):
    stale = []
    for path in sorted((ROOT / folder).glob("*.py")):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level
                     else [])
            stale += [f"{path.relative_to(ROOT)}:{node.lineno}: {name}" for name in names
                      if name.split(".")[0] in ("frontend", "codegen")]
    assert stale == []


#: "about 500 lines" (the brief): a module may run a few lines over while a
#: change lands, not a tenth over.
MODULE_LINE_LIMIT = 510


def test_no_module_is_much_over_500_lines():
    long = {name: n for name, path in MODULES.items()
            if (n := len(path.read_text().splitlines())) > MODULE_LINE_LIMIT}
    assert long == {}
