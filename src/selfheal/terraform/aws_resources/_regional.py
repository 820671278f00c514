"""Helpers for the regional resource types (SNS, CloudWatch, Logs, API Gateway v2, DynamoDB, SQS, KMS).

Since 6.0 every regional resource of the real provider has an optional, computed ``region`` argument that
defaults to the provider's region; :class:`RegionalResource` reproduces it. The local cloud serves one
region, so a resource asking for another is refused at plan time with a clear error.
The functions here keep reads faithful without spurious plan changes: an empty AWS value stays null when
the configuration left it null, and equivalent JSON keeps the configured string.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, ClassVar, TypeVar

from selfheal.terraform.aws_provider import AwsResource
from selfheal.terraform.aws_resources._common import error_code, found, ignoring, known, unique_name
from selfheal.terraform.resource import ResourceError, State, Unknown, is_unknown

__all__ = [
    "PrefixNamedResource",
    "RegionalResource",
    "check_one_of",
    "check_range",
    "empty_as",
    "is_not_found",
    "json_equivalent",
    "json_state",
    "parse_two_part_id",
]

T = TypeVar("T")


class RegionalResource(AwsResource):
    """An :class:`AwsResource` with the real provider's ``region`` argument (default: provider region)."""

    REGION: ClassVar[frozenset[str]] = frozenset({"region"})
    #: AWS error codes that mean "this resource does not exist".
    not_found_codes: ClassVar[frozenset[str]] = frozenset({"ResourceNotFoundException", "NotFoundException"})

    def validate(self, config: State) -> None:
        region = config.get("region")
        if isinstance(region, str) and not is_unknown(region) and region != self.aws.region:
            raise ResourceError(
                f"region {region!r} is not served by the local cloud",
                f"The local cloud serves only the provider's region ({self.aws.region}).",
                "region",
            )

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        if "region" in planned and config.get("region") is None:
            planned["region"] = prior["region"] if prior and prior.get("region") else self.aws.region
        return super().plan(prior, planned, config)

    def region_of(self, current: State) -> str:
        """The region to keep in state for a read (the provider's when importing)."""
        return str(current.get("region") or self.aws.region)

    def gone(self, exc: BaseException) -> bool:
        """True if ``exc`` says the resource does not exist."""
        return error_code(exc) in self.not_found_codes

    def found(self, call: Callable[[], T]) -> T | None:
        """What the read ``call`` returns, or ``None`` when it fails saying the resource does not exist."""
        return found(call, *self.not_found_codes)

    def ignoring_gone(self) -> AbstractContextManager[None]:
        """A block in which an error saying the resource does not exist (see :meth:`gone`) passes quietly."""
        return ignoring(*self.not_found_codes)


class PrefixNamedResource(RegionalResource):
    """A regional resource with ``name`` and ``name_prefix``: left out, the name is generated at create."""

    #: The prefix of a generated name when ``name_prefix`` is left out too.
    default_name_prefix: ClassVar[str] = "terraform-"

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        if prior is None and config.get("name") is None:
            planned["name"] = Unknown
        return super().plan(prior, planned, config)

    def name_to_create(self, planned: State, generated_suffix: str = "") -> str:
        """``name``, or a unique name from ``name_prefix`` (else the default prefix) plus the suffix."""
        name = known(planned.get("name"))
        if name:
            return str(name)
        return (
            unique_name(str(known(planned.get("name_prefix")) or self.default_name_prefix)) + generated_suffix
        )


def is_not_found(exc: BaseException, *codes: str) -> bool:
    """True if ``exc`` is a botocore error with one of ``codes``."""
    return error_code(exc) in codes


def empty_as(value: Any, current: Any) -> Any:
    """AWS's ``value``, except that an empty one reads as the current state's (null or empty) value."""
    if value in (None, "", [], {}):
        return current if current in (None, "", [], {}) else (None if value == "" else value)
    return value


def json_equivalent(a: Any, b: Any) -> bool:
    """True if two JSON texts (or already parsed values) hold the same value."""

    def load(v: Any) -> Any:
        if isinstance(v, str):
            try:
                return json.loads(v)
            except ValueError:
                return v
        return v

    return bool(load(a) == load(b))


def json_state(actual: Any, current: Any) -> Any:
    """The JSON text to keep in state: the current one when equivalent to AWS's, else AWS's (or null)."""
    if actual in (None, ""):
        return None
    if isinstance(current, str) and json_equivalent(current, actual):
        return current
    if isinstance(actual, str):
        return actual
    return json.dumps(actual, separators=(",", ":"), sort_keys=True)


def parse_two_part_id(import_id: str, what: str) -> tuple[str, str]:
    """Split an import ID ``A/B``; raise :class:`ResourceError` naming the expected format otherwise."""
    first, sep, second = import_id.partition("/")
    if not sep or not first or not second or "/" in second:
        raise ResourceError(f"unexpected format of ID ({import_id}), expected {what}")
    return first, second


def check_range(config: Mapping[str, Any], name: str, low: float, high: float) -> None:
    """Raise :class:`ResourceError` if the known number ``config[name]`` is outside ``[low, high]``, in the
    words of the plugin SDK's ``validation.IntBetween``."""
    value = config.get(name)
    if isinstance(value, int | float) and not is_unknown(value) and not low <= value <= high:
        raise ResourceError(
            f"expected {name} to be in the range ({_number(low)} - {_number(high)}), got {_number(value)}",
            attribute=name,
        )


def _number(value: float) -> str:
    """A number as Go's ``%d`` prints a whole one (every digit, no exponent), else in its shortest form."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def check_one_of(config: Mapping[str, Any], name: str, allowed: Sequence[Any]) -> None:
    """Raise :class:`ResourceError` if the known value ``config[name]`` is not one of ``allowed``."""
    value = config.get(name)
    if value is not None and not is_unknown(value) and value not in allowed:
        raise ResourceError(f"expected {name} to be one of {list(allowed)}, got {value}", attribute=name)
