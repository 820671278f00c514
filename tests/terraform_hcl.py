"""Reading Terraform directories with python-hcl2 for the contract tests, and checking them against the
provider schema subset: the helpers test_terraform_contract.py and test_terraform_platform_modules.py share.

``load_dir`` merges one directory's .tf files into a ``Module``; ``schema_problems`` and
``reference_problems`` say where its blocks or references leave the aws provider 6.25.0 subset
(``archive_file`` from ``ARCHIVE_FILE``, or a narrower table a test passes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import hcl2
from hcl2 import SerializationOptions

__all__ = [
    "ARCHIVE_FILE",
    "META_ARGUMENTS",
    "MODULE_REFERENCE",
    "REFERENCE",
    "ROOT",
    "Module",
    "block_schema",
    "comments",
    "interpolations",
    "load_dir",
    "load_schema",
    "nonempty",
    "parse",
    "reference_problems",
    "reference_texts",
    "schema_problems",
    "schema_problems_of",
]

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_CANDIDATES = (
    ROOT / "src" / "selfheal" / "terraform" / "schema" / "aws_provider_6.25.0_subset.json",
    Path("/work/shared/aws_provider_6.25.0_subset.json"),
)
META_ARGUMENTS = {"depends_on", "count", "for_each", "provider", "lifecycle", "provisioner"}
# hashicorp/archive's archive_file, restricted to the arguments this project uses.
ARCHIVE_FILE: dict[str, Any] = {
    "arguments": {
        "type": {"required": True, "type": "string"},
        "source_dir": {"required": False, "type": "string"},
        "source_file": {"required": False, "type": "string"},
        "output_path": {"required": True, "type": "string"},
        "excludes": {"required": False, "type": "set(string)"},
        "output_file_mode": {"required": False, "type": "string"},
    },
    "attributes": ["id", "output_base64sha256", "output_md5", "output_sha", "output_sha256", "output_size"],
}
REFERENCE = re.compile(
    r"(?<![\w.])(data\.)?(aws_[a-z0-9_]+|archive_file)\.([a-z0-9_]+)(?:\[[^\]]*\])?(?:\.([a-z0-9_]+))?"
)
MODULE_REFERENCE = re.compile(r"(?<![\w.])module\.([a-z0-9_]+)\.([a-z0-9_]+)")

T = TypeVar("T")


def nonempty(items: Iterable[T], what: str) -> list[T]:
    """``items`` as a list, failing when there are none (a loop over nothing checks nothing)."""
    found = list(items)
    assert found, f"no {what} found: the parse came back empty"
    return found


@dataclass
class Module:
    """Every top-level block of one directory, merged across its .tf files."""

    resources: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    data: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    variables: dict[str, dict[str, Any]] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    locals: dict[str, Any] = field(default_factory=dict)
    modules: dict[str, dict[str, Any]] = field(default_factory=dict)
    terraform: list[dict[str, Any]] = field(default_factory=list)
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)

    def resource(self, address: str) -> dict[str, Any]:
        """The body of the resource at ``address`` (``kind.name``)."""
        kind, name = address.split(".")
        return self.resources[(kind, name)]

    def blocks(self) -> Iterator[tuple[str, str, str, dict[str, Any]]]:
        """(``resource`` or ``data``, kind, name, body) of every resource and data block."""
        for (kind, name), body in self.resources.items():
            yield "resource", kind, name, body
        for (kind, name), body in self.data.items():
            yield "data", kind, name, body


def parse(path: Path) -> dict[str, Any]:
    """One .tf file as python-hcl2 reads it (string quotes stripped, blocks as lists)."""
    options = SerializationOptions(strip_string_quotes=True, explicit_blocks=False)
    with path.open() as handle:
        parsed: dict[str, Any] = hcl2.load(handle, serialization_options=options)
    return parsed


def load_dir(directory: Path) -> Module:
    """Parse ``directory``/*.tf into one Module; a block declared twice fails."""
    module = Module()
    for path in nonempty(sorted(directory.glob("*.tf")), f".tf files in {directory}"):
        parsed = parse(path)
        for section, table in (("resource", module.resources), ("data", module.data)):
            for entry in parsed.get(section, []):
                for kind, named in entry.items():
                    for block_name, body in named.items():
                        assert (kind, block_name) not in table, f"{kind}.{block_name} declared twice"
                        table[(kind, block_name)] = body
        for entry in parsed.get("variable", []):
            module.variables.update(entry)
        for entry in parsed.get("output", []):
            module.outputs.update(entry)
        for entry in parsed.get("locals", []):
            module.locals.update({k: v for k, v in entry.items() if k != "__comments__"})
        for entry in parsed.get("module", []):
            module.modules.update(entry)
        module.terraform.extend(parsed.get("terraform", []))
        for entry in parsed.get("provider", []):
            module.providers.update(entry)
    return module


@cache
def load_schema() -> dict[str, Any]:
    """The aws provider 6.25.0 argument schema subset."""
    for candidate in SCHEMA_CANDIDATES:
        if candidate.is_file():
            schema: dict[str, Any] = json.loads(candidate.read_text())
            return schema
    raise AssertionError(f"provider schema subset not found in {[str(c) for c in SCHEMA_CANDIDATES]}")


def block_schema(
    section: str, kind: str, archive_file: Mapping[str, Any] = ARCHIVE_FILE
) -> Mapping[str, Any]:
    """The schema of a ``resource`` or ``data`` block of ``kind``; KeyError for a kind not in the subset."""
    if section == "data" and kind == "archive_file":
        return archive_file
    spec: dict[str, Any] = load_schema()["resources" if section == "resource" else "data_sources"][kind]
    return spec


def interpolations(value: Any) -> Iterator[str]:
    """Every string inside a parsed HCL value (expressions come back as "${...}" strings)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            if key != "__comments__":
                yield from interpolations(item)
    elif isinstance(value, list):
        for item in value:
            yield from interpolations(item)


def comments(body: dict[str, Any]) -> list[str]:
    """The comments python-hcl2 kept inside ``body``."""
    return [c["value"] for c in body.get("__comments__", [])]


def schema_problems(path: str, body: dict[str, Any], arguments: Mapping[str, Any]) -> list[str]:
    """Where ``body`` (at ``path``) leaves ``arguments``: unknown keys, misused blocks, missing ones."""
    problems = []
    for key, value in body.items():
        if key.startswith("__") or key in META_ARGUMENTS:
            continue
        if key == "dynamic":
            problems.append(f"{path}: dynamic blocks are not checked here; write the blocks out")
            continue
        spec = arguments.get(key)
        if spec is None:
            problems.append(f"{path}: unknown argument or block {key!r}")
        elif "block" in spec:
            blocks = value if isinstance(value, list) else [value]
            if not all(isinstance(b, dict) for b in blocks):
                problems.append(f"{path}.{key}: must be written as a block")
                continue
            max_items = spec.get("max_items")
            if max_items is not None and len(blocks) > max_items:
                problems.append(f"{path}.{key}: {len(blocks)} blocks, at most {max_items}")
            for block in blocks:
                problems.extend(schema_problems(f"{path}.{key}", block, spec["block"]["arguments"]))
        elif key == "id" and not spec.get("required"):
            problems.append(f"{path}: 'id' is computed, never set")
        elif (
            isinstance(value, list)
            and value
            and all(isinstance(v, dict) for v in value)
            and not spec["type"].startswith(("list(object", "set(object"))
        ):
            problems.append(f"{path}.{key}: is an argument of type {spec['type']}, written as a block")
    for key, spec in arguments.items():
        if spec.get("required") and key not in body:
            problems.append(f"{path}: required {key!r} missing")
    return problems


def schema_problems_of(
    module: Module, what: str, archive_file: Mapping[str, Any] = ARCHIVE_FILE
) -> list[str]:
    """``schema_problems`` of every resource and data block of ``module`` (``what`` names it if empty)."""
    problems = []
    for section, kind, name, body in nonempty(module.blocks(), what):
        try:
            spec = block_schema(section, kind, archive_file)
        except KeyError:
            problems.append(f"{section} {kind}.{name}: type not in the provider subset")
            continue
        problems.extend(schema_problems(f"{kind}.{name}", body, spec["arguments"]))
    return problems


def reference_texts(module: Module) -> list[tuple[str, str]]:
    """(where, text) of every string in the blocks, outputs, module calls and locals of ``module``."""
    sources: list[tuple[str, Any]] = [(f"{kind}.{name}", body) for _, kind, name, body in module.blocks()]
    sources += [(f"output.{name}", body) for name, body in module.outputs.items()]
    sources += [(f"module.{name}", body) for name, body in module.modules.items()]
    sources.append(("locals", module.locals))
    return [(label, text) for label, value in sources for text in interpolations(value)]


def reference_problems(
    module: Module,
    texts: Iterable[tuple[str, str]],
    what: str,
    archive_file: Mapping[str, Any] = ARCHIVE_FILE,
) -> list[str]:
    """References like aws_x.name.attr in ``texts`` that name no block of ``module`` or no attribute."""
    references = [(label, reference) for label, text in texts for reference in REFERENCE.findall(text)]
    problems = []
    for label, (is_data, kind, name, attr) in nonempty(references, what):
        section = "data" if is_data else "resource"
        table = module.data if is_data else module.resources
        if (kind, name) not in table:
            problems.append(f"{label}: unknown {section} {kind}.{name}")
            continue
        spec = block_schema(section, kind, archive_file)
        if attr and attr not in spec["arguments"] and attr not in spec["attributes"]:
            problems.append(f"{label}: {kind}.{name} has no attribute {attr!r}")
    return problems
