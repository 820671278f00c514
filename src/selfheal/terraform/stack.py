"""The generated root module that applies ``deploy/fragile`` unchanged to the local cloud.

``.selfheal/stack/main.tf.json`` calls the module by its absolute path with the user's variables
(typed by the module's own ``variables.tf``) and re-exports every output of the module. The module's
``backend "s3" {}`` is ignored for a child module, so state stays in the stack directory.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["ModuleInterface", "parse_var", "read_interface", "write_stack"]


@dataclass(frozen=True)
class ModuleInterface:
    """A module's variables (name -> type expression) and output names."""

    variables: Mapping[str, str]
    outputs: tuple[str, ...]


def _load(path: Path) -> dict[str, Any]:
    import hcl2
    from hcl2 import SerializationOptions

    with path.open() as f:
        data: dict[str, Any] = hcl2.load(
            f, serialization_options=SerializationOptions(strip_string_quotes=True, explicit_blocks=False)
        )
    return data


def read_interface(module_dir: Path) -> ModuleInterface:
    """Read every ``*.tf`` of ``module_dir`` for its variables and outputs."""
    files = sorted(Path(module_dir).glob("*.tf"))
    if not files:
        raise ValueError(f"no Terraform files in {module_dir}")
    variables: dict[str, str] = {}
    outputs: list[str] = []
    for f in files:
        data = _load(f)
        for block in data.get("variable", []):
            for name, body in block.items():
                t = str(body.get("type", "any"))
                variables[name] = t[2:-1] if t.startswith("${") and t.endswith("}") else t
        for block in data.get("output", []):
            outputs.extend(block)
    return ModuleInterface(variables, tuple(outputs))


def parse_var(name: str, text: str, type_expr: str) -> Any:
    """Turn a ``--var name=text`` value into the JSON value of the variable's type."""
    t = type_expr.strip()
    if t == "string":
        return text
    if t == "number":
        try:
            number = float(text)
        except ValueError:
            raise ValueError(f"variable {name} is a number, got {text!r}") from None
        return int(number) if number.is_integer() and re.fullmatch(r"-?\d+", text.strip()) else number
    if t == "bool":
        if text.lower() not in ("true", "false"):
            raise ValueError(f"variable {name} is a bool (true/false), got {text!r}")
        return text.lower() == "true"
    try:
        return json.loads(text)
    except ValueError:
        raise ValueError(f"variable {name} has type {t}: give its value as JSON, got {text!r}") from None


def write_stack(
    stack_dir: Path, module_dir: Path, variables: Mapping[str, str] | None = None, name: str = "fragile"
) -> Path:
    """Write the wrapper root module into ``stack_dir``; return the ``main.tf.json`` path.

    ``variables`` are raw ``name -> text`` pairs; an unknown name or a badly typed value raises
    ``ValueError`` before anything is written.
    """
    module_dir = Path(module_dir).resolve()
    interface = read_interface(module_dir)
    args: dict[str, Any] = {}
    for key, text in (variables or {}).items():
        if key not in interface.variables:
            known = ", ".join(sorted(interface.variables))
            raise ValueError(f"the module has no variable {key!r} (it has: {known})")
        args[key] = parse_var(key, text, interface.variables[key])
    stack_dir = Path(stack_dir).resolve()
    # A relative source is a local module, used in place; an absolute one would be copied at init
    # (and its path.module would point at the copy).
    source = os.path.relpath(module_dir, stack_dir)
    if not source.startswith("../"):
        source = "./" + source
    doc = {
        "module": {name: {"source": source, **args}},
        "output": {o: {"value": f"${{module.{name}.{o}}}"} for o in interface.outputs},
    }
    stack_dir.mkdir(parents=True, exist_ok=True)
    main = stack_dir / "main.tf.json"
    main.write_text(json.dumps(doc, indent=2) + "\n")
    return main
