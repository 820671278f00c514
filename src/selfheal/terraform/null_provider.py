"""The local ``hashicorp/null`` provider: ``null_resource`` and the ``null_data_source`` data source (3.2.4).

``null_resource`` holds nothing but its ``triggers``: any change of them replaces it, with a new random
``id``. The real provider cannot import one, and neither can this one. ``null_data_source`` (deprecated
upstream in favour of ``locals``) copies ``inputs`` to ``outputs`` as the real one does. Nothing is
stored in the cloud.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import ClassVar

from selfheal.terraform.resource import DataSource, Provider, Resource, State, StateOnlyResource
from selfheal.terraform.schema import Attr, BlockSchema

__all__ = ["NullDataSource", "NullProvider", "NullResource", "main"]

_STRING_MAP = ["map", "string"]


class NullResource(StateOnlyResource):
    """``null_resource``: ``triggers`` (replace on change) and a random decimal ``id``."""

    type_name = "null_resource"
    force_new = frozenset({"triggers"})
    _schema: ClassVar[BlockSchema | None] = BlockSchema(
        {
            "id": Attr("id", "string", computed=True),
            "triggers": Attr("triggers", _STRING_MAP, optional=True),
        }
    )

    def create(self, planned: State) -> State:
        # The real provider's id is fmt.Sprintf("%d", rand.Int()): a non-negative 63-bit integer.
        return {**planned, "id": str(secrets.randbits(63))}


class NullDataSource(DataSource):
    """``null_data_source`` (deprecated upstream): ``outputs`` = ``inputs``, a random ``random``."""

    type_name = "null_data_source"
    _schema: ClassVar[BlockSchema | None] = BlockSchema(
        {
            "has_computed_default": Attr("has_computed_default", "string", optional=True, computed=True),
            "id": Attr("id", "string", computed=True),
            "inputs": Attr("inputs", _STRING_MAP, optional=True),
            "outputs": Attr("outputs", _STRING_MAP, computed=True),
            "random": Attr("random", "string", computed=True),
        }
    )

    def read(self, config: State) -> State:
        return {
            "has_computed_default": config.get("has_computed_default") or "default",
            "id": "static",
            "inputs": config.get("inputs"),
            "outputs": dict(config.get("inputs") or {}),
            "random": str(secrets.randbits(63)),
        }


class NullProvider(Provider):
    """The local null provider (no configuration)."""

    address = "registry.terraform.io/hashicorp/null"

    def resources(self) -> Mapping[str, type[Resource]]:
        return {"null_resource": NullResource}

    def data_sources(self) -> Mapping[str, type[DataSource]]:
        return {"null_data_source": NullDataSource}


def main() -> None:
    """Entry point of the ``terraform-provider-null`` executable."""
    from selfheal.terraform.serve import serve

    serve(NullProvider())


if __name__ == "__main__":
    main()
