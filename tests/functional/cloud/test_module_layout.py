"""The local cloud's layout: small documented modules, imports in one direction, the server imported by none.

Read from the source (no cloud is started): every module under ``src/selfheal/cloud`` has a docstring, an
``__all__`` and fewer than 500 lines; no module but ``server.py`` and ``__init__.py`` imports ``server.py``
(not even under ``TYPE_CHECKING`` or inside a function); the modules' imports of each other have no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import selfheal.cloud
from selfheal.cloud import Cloud, Component, LocalCloud, default_components

CLOUD_DIR = Path(selfheal.cloud.__file__).parent
MODULES = sorted(path.stem for path in CLOUD_DIR.glob("*.py"))
MAX_LINES = 500


def _tree(module: str) -> ast.Module:
    return ast.parse((CLOUD_DIR / f"{module}.py").read_text(encoding="utf-8"))


def _imported(module: str) -> set[str]:
    """The cloud modules ``module`` imports anywhere in its source (top level, functions, TYPE_CHECKING)."""
    found: set[str] = set()
    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.level == 1:
                found.update(alias.name for alias in node.names)
            elif node.level == 0 and node.module and node.module.startswith("selfheal.cloud."):
                found.add(node.module.split(".")[2])
        elif isinstance(node, ast.Import):
            found.update(
                alias.name.split(".")[2] for alias in node.names if alias.name.startswith("selfheal.cloud.")
            )
    return (found & set(MODULES)) - {module}


@pytest.mark.parametrize("module", MODULES)
def test_module_is_small_and_documented(module: str) -> None:
    """A docstring saying what the module holds, an ``__all__``, under 500 lines."""
    tree = _tree(module)
    assert ast.get_docstring(tree), f"{module}.py has no docstring"
    names = {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    assert "__all__" in names, f"{module}.py has no __all__"
    lines = len((CLOUD_DIR / f"{module}.py").read_text(encoding="utf-8").splitlines())
    assert lines < MAX_LINES, f"{module}.py has {lines} lines"


def test_only_the_package_imports_the_server() -> None:
    """Components and helpers depend on the ``Cloud`` protocol, never on ``server.py``."""
    importers = sorted(m for m in MODULES if "server" in _imported(m))
    assert importers == ["__init__"]


def test_no_import_cycles() -> None:
    """The cloud modules' imports of each other (``__init__`` aside) form no cycle."""
    graph = {m: _imported(m) - {"__init__"} for m in MODULES if m != "__init__"}
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> None:
        if module in path:
            cycle = [*path[path.index(module) :], module]
            raise AssertionError("import cycle: " + " -> ".join(cycle))
        if module in done:
            return
        path.append(module)
        for dependency in sorted(graph[module]):
            visit(dependency)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)


def test_local_cloud_and_components_fit_the_protocols() -> None:
    """At run time too: LocalCloud has every ``Cloud`` member; each default component is a ``Component``."""
    members = {name for name in vars(Cloud) if not name.startswith("_")}
    assert members <= set(dir(LocalCloud(port=0)))  # not started: nothing binds or runs
    assert all(isinstance(component, Component) for component in default_components())
