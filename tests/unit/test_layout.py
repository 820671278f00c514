"""The source layout: packages with one direction of imports, no cycles, small modules, each importable alone.

The layers of ``selfheal``, lowest first; a package may import its own layer's modules and lower layers,
never a higher one (lazy imports inside functions and ``TYPE_CHECKING`` blocks included):

0. ``workdir``, ``clock``, ``progress``, ``loopback``: plain values and helpers
1. ``cloud``, ``terraform``: the local cloud and the local Terraform providers/driver
2. ``loop``: talking to a deployed loop (where it is, its state, failure injection, load)
3. ``report``: incident reports from the loop's state
4. ``stack``: the background cloud/dashboard processes, ``up``/``down``
5. ``dashboard``: the live dashboard
6. ``demo``: the one-command demo
7. ``cli``: the command line, which nothing else imports (but ``__main__``)

``healer`` and ``fragile_service`` are packaged alone into Lambda zips: they import no ``selfheal``.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src"
LAYERS: dict[str, int] = {
    "selfheal.workdir": 0,
    "selfheal.clock": 0,
    "selfheal.progress": 0,
    "selfheal.loopback": 0,
    "selfheal.cloud": 1,
    "selfheal.terraform": 1,
    "selfheal.loop": 2,
    "selfheal.report": 3,
    "selfheal.stack": 4,
    "selfheal.dashboard": 5,
    "selfheal.demo": 6,
    "selfheal.cli": 7,
    "selfheal.__main__": 8,
}
LAMBDA_PACKAGES = ("healer", "fragile_service")
MAX_LINES = 500
MAX_TOP_LEVEL_MODULES = 8


@dataclass(frozen=True)
class Import:
    """One import statement's target, and whether it runs when the importing module loads."""

    source: str
    target: str
    at_load: bool
    line: int


def modules() -> dict[str, Path]:
    """Every module under src/, by dotted name (packages by their own name)."""
    found = {}
    for path in sorted(SRC.rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def imports() -> list[Import]:
    """Every import statement of every module under src/, resolved to a module name where possible."""
    known = modules()
    found: list[Import] = []
    for name, path in known.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]

        def visit(node: ast.AST, at_load: bool, name: str = name, package: str = package) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.Import):
                    found.extend(Import(name, a.name, at_load, child.lineno) for a in child.names)
                elif isinstance(child, ast.ImportFrom):
                    base = child.module or ""
                    if child.level:
                        parent = package.split(".")[: len(package.split(".")) - child.level + 1]
                        base = ".".join([*parent, *([child.module] if child.module else [])])
                    for alias in child.names:
                        full = f"{base}.{alias.name}"
                        found.append(Import(name, full if full in known else base, at_load, child.lineno))
                visit(child, at_load and not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef))

        visit(ast.parse(path.read_text(encoding="utf-8")), True)
    return found


def layer_of(module: str) -> tuple[str, int] | None:
    """The layer a selfheal module belongs to (None for the root package and outside selfheal)."""
    for prefix, layer in LAYERS.items():
        if module == prefix or module.startswith(prefix + "."):
            return prefix, layer
    return None


def test_the_source_tree_is_found() -> None:
    """The walk sees the three packages and their imports (the other tests would pass on nothing)."""
    names = modules()
    assert {"selfheal.cli.app", "selfheal.cloud.server", "healer.app", "fragile_service.app"} <= set(names)
    assert len(imports()) > 500


def test_top_level_of_selfheal_is_packages() -> None:
    """`ls src/selfheal` shows packages and at most eight modules."""
    top = [p.name for p in (SRC / "selfheal").glob("*.py")]
    packages = [p.name for p in (SRC / "selfheal").iterdir() if (p / "__init__.py").exists()]
    assert len(top) <= MAX_TOP_LEVEL_MODULES, sorted(top)
    assert {"cli", "stack", "demo", "loop", "cloud", "terraform", "dashboard", "report"} <= set(packages)


def test_no_module_is_over_500_lines() -> None:
    """Small modules: none in src/ has more than 500 lines."""
    sizes = {name: len(path.read_text(encoding="utf-8").splitlines()) for name, path in modules().items()}
    assert sizes
    assert {name: n for name, n in sizes.items() if n > MAX_LINES} == {}


def test_lambda_packages_import_no_selfheal() -> None:
    """healer and fragile_service are zipped alone: nothing of selfheal may be imported by them."""
    leaks = [
        f"{i.source}:{i.line} imports {i.target}"
        for i in imports()
        if i.source.split(".")[0] in LAMBDA_PACKAGES and i.target.split(".")[0] == "selfheal"
    ]
    assert leaks == []


def test_imports_go_down_the_layers_only() -> None:
    """No selfheal package imports a higher layer, not even lazily or under TYPE_CHECKING."""
    upward = []
    for found in imports():
        source, target = layer_of(found.source), layer_of(found.target)
        if source is None or target is None:
            continue
        if target[1] > source[1] or (target[1] == source[1] and target[0] != source[0] and source[1] == 7):
            upward.append(f"{found.source}:{found.line} ({source[0]}) imports {found.target} ({target[0]})")
    assert upward == []


def test_only_the_entry_point_imports_the_cli() -> None:
    """Nothing outside selfheal.cli imports it, except ``python -m selfheal``."""
    outside = [
        f"{i.source}:{i.line}"
        for i in imports()
        if (i.target == "selfheal.cli" or i.target.startswith("selfheal.cli."))
        and not (i.source == "selfheal.cli" or i.source.startswith("selfheal.cli."))
        and i.source != "selfheal.__main__"
    ]
    assert outside == []


def test_no_import_cycles_between_modules() -> None:
    """Load-time imports (TYPE_CHECKING included) between our modules form no cycle."""
    known = modules()
    graph: dict[str, set[str]] = defaultdict(set)
    for found in imports():
        if found.at_load and found.target in known and found.target != found.source:
            graph[found.source].add(found.target)
    # A package's __init__ importing its own submodules is how packages work; a submodule importing its
    # package back while that __init__ runs is the cycle to catch, so keep both directions.
    cycles: list[list[str]] = []
    state: dict[str, int] = {}

    def walk(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                walk(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            walk(start, [start])
    assert cycles == []


def test_every_module_imports_alone_in_a_fresh_interpreter() -> None:
    """Each module can be the first one imported (a circular import shows up exactly then).

    One interpreter per module would take minutes; instead a parent interpreter imports only the heavy
    third-party libraries, then forks one child per module, in which none of our modules is loaded yet.
    """
    names = [n for n in modules() if n != "selfheal.__main__"]
    script = f"""
import os, sys, importlib, traceback
sys.path.insert(0, {str(SRC)!r})
for heavy in ("boto3", "botocore.session", "moto", "moto.server", "typer", "rich.console", "werkzeug",
              "matplotlib", "httpx", "hcl2", "aws_lambda_powertools"):
    importlib.import_module(heavy)
assert not any(m.split(".")[0] in ("selfheal", "healer", "fragile_service") for m in sys.modules)
failed = []
for name in {names!r}:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        try:
            importlib.import_module(name)
            code = 0
        except BaseException:
            os.write(write, traceback.format_exc(limit=3).encode()[-2000:])
            code = 1
        os._exit(code)
    os.close(write)
    output = os.read(read, 4096).decode(errors="replace")
    os.close(read)
    _, status = os.waitpid(pid, 0)
    if status != 0:
        failed.append(name + ": " + output.strip().splitlines()[-1] if output else name)
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""
    env = dict(os.environ, MPLBACKEND="Agg")
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=240
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]


@pytest.mark.parametrize("argv", [["-m", "selfheal", "--help"], ["-c", "import selfheal.cli.dashboard"]])
def test_the_command_line_starts_from_a_fresh_interpreter(argv: list[str]) -> None:
    """``python -m selfheal`` works, and a command module imports without the CLI loaded first."""
    result = subprocess.run([sys.executable, *argv], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
