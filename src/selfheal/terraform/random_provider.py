"""The local ``hashicorp/random`` provider: ``random_id`` and ``random_string``, as the real one (3.7.2).

Values are drawn from :mod:`secrets` when the resource is created and then kept in state; any change of an
argument (``keepers`` included) replaces the resource and draws anew. Nothing is stored in the cloud.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from typing import Any, ClassVar

from selfheal.terraform.resource import Provider, Resource, ResourceError, State, StateOnlyResource, Unknown
from selfheal.terraform.schema import Attr, BlockSchema

__all__ = ["RandomId", "RandomProvider", "RandomString", "main", "random_string"]

LOWER = "abcdefghijklmnopqrstuvwxyz"
UPPER = LOWER.upper()
NUMERIC = "0123456789"
SPECIAL = "!@#$%&*()-_=+[]{}<>:?"  # the real provider's default special characters


class _RandomResource(StateOnlyResource):
    """Everything forces a replacement; create draws the values; read, update and delete keep state."""

    _arguments: ClassVar[dict[str, Attr]] = {}
    _computed: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def schema(cls) -> BlockSchema:
        if cls.__dict__.get("_schema") is None:
            attrs = dict(cls._arguments)
            for name in cls._computed:
                attrs[name] = Attr(name, "string", computed=True)
            cls._schema = BlockSchema(attrs)
        assert cls._schema is not None
        return cls._schema

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        if prior is not None and any(prior.get(name) != planned.get(name) for name in self._arguments):
            for name in self._computed:  # replaced: a new value is drawn
                planned[name] = Unknown
        return planned


def _keepers() -> Attr:
    return Attr("keepers", ["map", "string"], optional=True)  # type: ignore[arg-type]


def _check_at_least_one(config: State, name: str) -> None:
    """Refuse a known number ``config[name]`` below 1 (a length: no bytes or characters to draw)."""
    value = config.get(name)
    if isinstance(value, int | float) and value < 1:
        raise ResourceError(f"{name} must be at least 1", attribute=name)


class RandomId(_RandomResource):
    """``random_id``: ``byte_length`` random bytes as base64 (URL and standard), hex and decimal."""

    type_name = "random_id"
    _arguments: ClassVar[dict[str, Attr]] = {
        "byte_length": Attr("byte_length", "number", required=True),
        "keepers": _keepers(),
        "prefix": Attr("prefix", "string", optional=True),
    }
    _computed = ("id", "b64_url", "b64_std", "hex", "dec")
    force_new = frozenset(_arguments)

    def validate(self, config: State) -> None:
        _check_at_least_one(config, "byte_length")

    def create(self, planned: State) -> State:
        raw = secrets.token_bytes(int(planned["byte_length"]))
        prefix = planned.get("prefix") or ""
        url = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        return {
            **planned,
            "id": url,
            "b64_url": prefix + url,
            "b64_std": prefix + base64.b64encode(raw).decode(),
            "hex": prefix + raw.hex(),
            "dec": prefix + str(int.from_bytes(raw, "big")),
        }


def random_string(
    length: int,
    *,
    lower: bool = True,
    upper: bool = True,
    numeric: bool = True,
    special: bool = True,
    min_lower: int = 0,
    min_upper: int = 0,
    min_numeric: int = 0,
    min_special: int = 0,
    override_special: str | None = None,
) -> str:
    """A random string as ``random_string`` draws it: the minimums first, the rest from every enabled
    character set, shuffled. ValueError when the minimums exceed the length or no set is enabled."""
    specials = SPECIAL if override_special is None else override_special
    sets = [(LOWER, lower, min_lower), (UPPER, upper, min_upper), (NUMERIC, numeric, min_numeric)]
    sets.append((specials, special, min_special))
    if min_lower + min_upper + min_numeric + min_special > length:
        raise ValueError(
            "length must be at least the sum of min_lower, min_upper, min_numeric and min_special"
        )
    pool = "".join(chars for chars, enabled, _ in sets if enabled)
    if not pool:
        raise ValueError("at least one of lower, upper, numeric and special must be true")
    drawn = [
        secrets.choice(chars) for chars, enabled, least in sets if enabled and chars for _ in range(least)
    ]
    drawn += [secrets.choice(pool) for _ in range(length - len(drawn))]
    for index in range(len(drawn) - 1, 0, -1):  # Fisher-Yates with a cryptographic source
        other = secrets.randbelow(index + 1)
        drawn[index], drawn[other] = drawn[other], drawn[index]
    return "".join(drawn)


class RandomString(_RandomResource):
    """``random_string``: ``length`` characters from the enabled sets, ``result`` (and ``id``)."""

    type_name = "random_string"
    _flags = ("lower", "upper", "numeric", "number", "special")
    _minimums = ("min_lower", "min_upper", "min_numeric", "min_special")
    _arguments: ClassVar[dict[str, Attr]] = {
        "length": Attr("length", "number", required=True),
        "keepers": _keepers(),
        **{name: Attr(name, "bool", optional=True, computed=True) for name in _flags},
        **{name: Attr(name, "number", optional=True, computed=True) for name in _minimums},
        "override_special": Attr("override_special", "string", optional=True),
    }
    _computed = ("id", "result")
    defaults: ClassVar[Mapping[str, Any]] = {**dict.fromkeys(_flags, True), **dict.fromkeys(_minimums, 0)}
    force_new = frozenset(_arguments)

    def validate(self, config: State) -> None:
        _check_at_least_one(config, "length")

    def create(self, planned: State) -> State:
        try:
            result = random_string(
                int(planned["length"]),
                lower=bool(planned["lower"]),
                upper=bool(planned["upper"]),
                numeric=bool(planned["numeric"]) and bool(planned["number"]),
                special=bool(planned["special"]),
                **{name: int(planned[name]) for name in self._minimums},
                override_special=planned.get("override_special"),
            )
        except ValueError as error:
            raise ResourceError(str(error), attribute="length") from None
        return {**planned, "id": result, "result": result}


class RandomProvider(Provider):
    """The local random provider (no configuration)."""

    address = "registry.terraform.io/hashicorp/random"

    def resources(self) -> Mapping[str, type[Resource]]:
        return {"random_id": RandomId, "random_string": RandomString}


def main() -> None:
    """Entry point of the ``terraform-provider-random`` executable."""
    from selfheal.terraform.serve import serve

    serve(RandomProvider())


if __name__ == "__main__":
    main()
