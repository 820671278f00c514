"""The resource and data source types of the local ``hashicorp/aws`` provider, one module per service.

Every module in this package is imported by :func:`load_all`; a class decorated with :func:`register`
is then served by the provider. See ``src/selfheal/terraform/README.md`` for how to add one.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import TypeVar

from selfheal.terraform.resource import DataSource, Resource

__all__ = ["DATA_SOURCES", "RESOURCES", "load_all", "register"]

RESOURCES: dict[str, type[Resource]] = {}
DATA_SOURCES: dict[str, type[DataSource]] = {}

T = TypeVar("T", bound=type[Resource] | type[DataSource])


def register(cls: T) -> T:
    """Class decorator: serve this resource or data source type from the local AWS provider."""
    table: dict[str, type] = RESOURCES if issubclass(cls, Resource) else DATA_SOURCES
    if cls.type_name in table and table[cls.type_name] is not cls:
        raise ValueError(f"{cls.type_name} is registered twice")
    cls.schema()  # fail at import, not at plan time, if the type is not in the reference
    table[cls.type_name] = cls
    return cls


def load_all() -> None:
    """Import every module of this package, so their types register themselves."""
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
