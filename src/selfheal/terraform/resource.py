"""The base classes a local provider's resources, data sources and providers derive from.

A resource class names its Terraform type, says which of the reference's optional arguments the real
provider computes (and with which default), which arguments force a replacement, and implements
create/read/update/delete (and import). The protocol work -- planning, defaults, replacement, keeping
the applied state consistent with the plan -- is done once, in :mod:`selfheal.terraform.servicer`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Literal

from tf.types import Unknown as _tf_unknown

from selfheal.terraform.schema import BlockSchema, CtyType, build_schema

__all__ = [
    "DataSource",
    "Provider",
    "Resource",
    "ResourceError",
    "State",
    "StateOnlyResource",
    "Unknown",
    "is_unknown",
]

State = dict[str, Any]


# One sentinel with the tf package, so its msgpack codec round-trips our unknowns ("known after apply").
Unknown: Any = _tf_unknown


def is_unknown(value: Any) -> bool:
    """True if ``value`` is unknown or holds an unknown anywhere inside it."""
    if value is Unknown:
        return True
    if isinstance(value, Mapping):
        return any(is_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(is_unknown(v) for v in value)
    return False


class ResourceError(Exception):
    """A failure to report to Terraform as an error diagnostic on the resource (and argument)."""

    def __init__(self, summary: str, detail: str = "", attribute: str | None = None) -> None:
        super().__init__(summary)
        self.summary = summary
        self.detail = detail
        self.attribute = attribute


class Provider:
    """A provider: its configuration schema, its configuration, and the types it serves."""

    #: Full source address, e.g. ``registry.terraform.io/hashicorp/aws``.
    address: ClassVar[str]

    def config_schema(self) -> BlockSchema:
        """Schema of the ``provider`` block."""
        return BlockSchema()

    def configure(self, config: State) -> None:
        """Take the ``provider`` block's values; raise :class:`ResourceError` if they are unusable."""

    def stop(self) -> None:
        """Terraform asks the provider to end what is running (Ctrl-C): long waits should end early."""

    def resources(self) -> Mapping[str, type[Resource]]:
        """Resource classes by Terraform type name."""
        return {}

    def data_sources(self) -> Mapping[str, type[DataSource]]:
        """Data source classes by Terraform type name."""
        return {}

    def unserved(self, kind: Literal["resources", "data_sources"]) -> Mapping[str, BlockSchema]:
        """Schemas of the types the real provider has but this one does not serve: declared, so that
        Terraform asks the provider about them and gets a diagnostic naming what is supported."""
        return {}


class _Typed:
    type_name: ClassVar[str]
    kind: ClassVar[Literal["resources", "data_sources"]]
    #: Optional arguments the real provider fills in when they are left out (dotted for nested blocks).
    optional_computed: ClassVar[frozenset[str]] = frozenset()
    #: Types of computed-only attributes that are not strings.
    attribute_types: ClassVar[Mapping[str, CtyType]] = {}
    sensitive: ClassVar[frozenset[str]] = frozenset()
    _schema: ClassVar[BlockSchema | None] = None

    @classmethod
    def schema(cls) -> BlockSchema:
        """The Terraform schema, built once from the provider reference and the class's overrides."""
        if cls.__dict__.get("_schema") is None:
            cls._schema = build_schema(
                cls.kind,
                cls.type_name,
                optional_computed=cls.optional_computed,
                attribute_types=cls.attribute_types,
                sensitive=cls.sensitive,
            )
        assert cls._schema is not None
        return cls._schema

    def __init__(self, provider: Provider) -> None:
        self.provider = provider

    def validate(self, config: State) -> None:
        """Check argument values (unknowns possible); raise :class:`ResourceError` on bad ones."""


class Resource(_Typed):
    """A managed resource type. Subclasses implement the CRUD methods against the local cloud."""

    kind = "resources"
    #: Values the real provider plans for an optional argument left out (subset of optional_computed).
    defaults: ClassVar[Mapping[str, Any]] = {}
    #: Top-level arguments (or blocks) whose change replaces the resource.
    force_new: ClassVar[frozenset[str]] = frozenset()
    #: Computed-only attributes that become unknown whenever the resource is updated in place.
    unknown_on_update: ClassVar[frozenset[str]] = frozenset()
    importable: ClassVar[bool] = False

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        """Adjust a plan after defaults are applied (e.g. derive computed values); return it."""
        return planned

    def create(self, planned: State) -> State:
        """Create the resource from a fully known plan; return its state."""
        raise NotImplementedError

    def read(self, current: State) -> State | None:
        """Return the resource's real state, or None if it no longer exists."""
        raise NotImplementedError

    def update(self, prior: State, planned: State) -> State:
        """Change the resource in place to the planned state; return its state."""
        raise NotImplementedError

    def delete(self, prior: State) -> None:
        """Delete the resource; a resource already gone is not an error."""
        raise NotImplementedError

    def import_state(self, import_id: str) -> State:
        """Return a partial state (at least ``id``) for ``terraform import``; read fills the rest."""
        return {"id": import_id}


class StateOnlyResource(Resource):
    """A resource that exists only in Terraform's state (random, null, time): nothing to read or delete."""

    def read(self, current: State) -> State | None:
        return current

    def update(self, prior: State, planned: State) -> State:
        return planned

    def delete(self, prior: State) -> None:
        return None


class DataSource(_Typed):
    """A data source type."""

    kind = "data_sources"

    def read(self, config: State) -> State:
        """Return the data source's state for a fully known configuration."""
        raise NotImplementedError
