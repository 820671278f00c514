"""Terraform schemas for the local providers, built from the real AWS provider's argument reference.

The reference file ``aws_provider_6.25.0_subset.json`` (argument names, types, required flags, nested
blocks) comes from the real ``hashicorp/aws`` 6.25.0. It does not say which optional arguments are also
*computed* (filled in by the provider when left out) nor what the provider's defaults are; each resource
class supplies those, and :func:`build_schema` merges them in.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any, Literal

from tf.types import Unknown as _UNKNOWN

__all__ = [
    "Attr",
    "BlockSchema",
    "BlockType",
    "CtyType",
    "Nesting",
    "build_schema",
    "cty_type",
    "reference",
]

Nesting = Literal["list", "set", "single"]

# A cty type in its JSON form: "string", "number", "bool", ["list", "string"], ...
CtyType = str | list[Any]


@dataclass(frozen=True)
class Attr:
    """One attribute of a block: its cty type and how Terraform may set it."""

    name: str
    type: CtyType
    required: bool = False
    optional: bool = False
    computed: bool = False
    sensitive: bool = False


@dataclass(frozen=True)
class BlockType:
    """A nested block inside a block: its nesting mode and item limits."""

    name: str
    nesting: Nesting
    block: BlockSchema
    min_items: int = 0
    max_items: int = 0

    def normalize(self, value: Any) -> Any:
        """Return the block's value in wire form: a list of full objects, or one object/None if single.

        A block not known yet (a ``dynamic`` block whose ``for_each`` is known only at apply) stays unknown.
        """
        if value is _UNKNOWN:
            return value
        if self.nesting == "single":
            return None if value is None else self.block.normalize(value)
        if value is None:
            return []
        if isinstance(value, Mapping):
            value = [value]
        return [self.block.normalize(item) for item in value]


@dataclass(frozen=True)
class BlockSchema:
    """The attributes and nested blocks of a resource, data source, provider or nested block."""

    attrs: Mapping[str, Attr] = field(default_factory=dict)
    blocks: Mapping[str, BlockType] = field(default_factory=dict)

    def empty_value(self) -> dict[str, Any]:
        """An object of this block with every attribute null and every nested block empty."""
        return self.normalize({})

    def normalize(self, value: Mapping[str, Any] | None) -> dict[str, Any]:
        """Return ``value`` with exactly this block's keys: missing attributes null, missing blocks empty."""
        if value is _UNKNOWN:
            return value  # type: ignore[no-any-return]
        value = value or {}
        out: dict[str, Any] = {}
        for name in self.attrs:
            out[name] = value.get(name)
        for name, bt in self.blocks.items():
            out[name] = bt.normalize(value.get(name))
        return out


def cty_type(text: str) -> CtyType:
    """Translate a reference type such as ``list(string)`` into cty's JSON type form."""
    text = text.strip()
    if text in ("string", "number", "bool"):
        return text
    for kind in ("list", "set", "map"):
        if text.startswith(kind + "(") and text.endswith(")"):
            return [kind, cty_type(text[len(kind) + 1 : -1])]
    raise ValueError(f"unsupported type in the provider reference: {text!r}")


@cache
def reference() -> dict[str, Any]:
    """The parsed ``aws_provider_6.25.0_subset.json`` reference."""
    text = resources.files(__name__).joinpath("aws_provider_6.25.0_subset.json").read_text()
    data: dict[str, Any] = json.loads(text)
    return data


def _build_block(
    arguments: Mapping[str, Any],
    computed_only: Iterable[str],
    optional_computed: frozenset[str],
    sensitive: frozenset[str],
    prefix: str,
) -> BlockSchema:
    attrs: dict[str, Attr] = {}
    blocks: dict[str, BlockType] = {}
    for name, spec in sorted(arguments.items()):
        path = prefix + name
        if "block" in spec:
            inner = _build_block(spec["block"]["arguments"], (), optional_computed, sensitive, path + ".")
            nesting: Nesting = spec["nesting"]
            # Terraform wants no item limits on single-nested blocks.
            max_items = 0 if nesting == "single" else spec.get("max_items") or 0
            min_items = 1 if spec.get("required") and nesting != "single" else 0
            blocks[name] = BlockType(name, nesting, inner, min_items, max_items)
            continue
        required = bool(spec.get("required"))
        # "id" is optional+computed in every SDK-based resource.
        computed = path in optional_computed or (name == "id" and not prefix)
        attrs[name] = Attr(
            name,
            cty_type(spec["type"]),
            required=required,
            optional=not required,
            computed=computed and not required,
            sensitive=path in sensitive,
        )
    for name in computed_only:
        if name not in attrs and not prefix:
            attrs[name] = Attr(name, "string", computed=True, sensitive=name in sensitive)
    return BlockSchema(attrs, blocks)


def build_schema(
    kind: Literal["resources", "data_sources"],
    type_name: str,
    *,
    optional_computed: Iterable[str] = (),
    attribute_types: Mapping[str, CtyType] | None = None,
    sensitive: Iterable[str] = (),
) -> BlockSchema:
    """Build the schema of ``type_name`` from the reference.

    ``optional_computed`` names (dotted for nested blocks, e.g. ``tracing_config.mode``) the optional
    arguments the real provider fills in when they are left out. Computed-only attributes come from the
    reference's ``attributes`` list as strings unless ``attribute_types`` gives another type.
    """
    try:
        spec = reference()[kind][type_name]
    except KeyError:
        raise KeyError(f"{type_name} is not in the provider reference ({kind})") from None
    block = _build_block(
        spec["arguments"],
        spec.get("attributes", ()),
        frozenset(optional_computed),
        frozenset(sensitive),
        "",
    )
    if attribute_types:
        attrs = dict(block.attrs)
        for name, t in attribute_types.items():
            if name not in attrs:
                raise KeyError(f"{type_name} has no attribute {name}")
            old = attrs[name]
            attrs[name] = Attr(name, t, old.required, old.optional, old.computed, old.sensitive)
        block = BlockSchema(attrs, block.blocks)
    return block
