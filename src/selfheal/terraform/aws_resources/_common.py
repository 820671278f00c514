"""Small helpers shared by the local AWS provider's resource modules."""

from __future__ import annotations

import itertools
import json
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, TypeGuard, TypeVar

from selfheal.terraform.policy import go_json, policies_equivalent
from selfheal.terraform.resource import ResourceError, is_unknown

__all__ = [
    "add_tags",
    "attribute_text",
    "check_json",
    "check_name",
    "check_policy_json",
    "error_code",
    "found",
    "ignoring",
    "is_set",
    "known",
    "name_prefix_from_name",
    "one_block",
    "policy_state",
    "put_fields",
    "rfc3339",
    "tag_list",
    "tagging",
    "unique_name",
]

T = TypeVar("T")

_counter = itertools.count(1)
_counter_lock = threading.Lock()
#: Length of the unique suffix of a generated name (the plugin SDK's ``id.UniqueIDSuffixLength``).
UNIQUE_SUFFIX_LENGTH = 26
_UNIQUE_SUFFIX = re.compile(f"[0-9a-fA-F]{{{UNIQUE_SUFFIX_LENGTH}}}")


def unique_name(prefix: str = "terraform-") -> str:
    """A name as the real provider generates them (``id.PrefixedUniqueId``): the prefix, then 26
    characters -- the UTC time to a ten-thousandth of a second and a counter -- so names increase."""
    with _counter_lock:
        n = next(_counter)
    now = datetime.now(UTC)
    return f"{prefix}{now:%Y%m%d%H%M%S}{now.microsecond // 100:04d}{n:08x}"


def name_prefix_from_name(name: str | None, suffix: str = "") -> str | None:
    """The ``name_prefix`` the real provider reads back (``create.NamePrefixFromName``): the name without
    its generated 26-character suffix (and ``suffix``, e.g. ``.fifo``), or None for a chosen name."""
    if not isinstance(name, str):
        return None
    if suffix and name.endswith(suffix):
        name = name[: -len(suffix)]
    index = len(name) - UNIQUE_SUFFIX_LENGTH
    if index <= 0 or not _UNIQUE_SUFFIX.fullmatch(name[index:]):
        return None
    return name[:index]


def is_set(value: Any) -> TypeGuard[Any]:
    """Whether a planned value is set (not null) and known (not "known after apply")."""
    return value is not None and not is_unknown(value)


def known(value: Any) -> Any:
    """``value``, or None while it is unknown (a computed argument planned "known after apply")."""
    return None if is_unknown(value) else value


def one_block(blocks: Any) -> dict[str, Any] | None:
    """A copy of the item of a ``max_items = 1`` block, or None."""
    return dict(blocks[0]) if isinstance(blocks, list) and blocks else None


def put_fields(args: dict[str, Any], planned: Mapping[str, Any], names: Mapping[str, str]) -> None:
    """Copy each planned argument of ``names`` (Terraform name -> API name) into a call's ``args`` under
    its API name when it is set, known and not ``""`` (``false`` and 0 are sent: they may change a value)."""
    for tf_name, api_name in names.items():
        value = planned.get(tf_name)
        if is_set(value) and value != "":
            args[api_name] = value


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError, or "" for anything else."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        return str(response.get("Error", {}).get("Code", ""))
    return ""


@contextmanager
def ignoring(*codes: str) -> Iterator[None]:
    """Let an AWS error with one of ``codes`` end the block quietly (deleting what is already gone)."""
    try:
        yield
    except Exception as exc:
        if error_code(exc) not in codes:
            raise


def found(call: Callable[[], T], *codes: str) -> T | None:
    """What the read ``call`` returns, or ``None`` when it fails with an AWS error with one of ``codes``
    (the resource does not exist)."""
    try:
        return call()
    except Exception as exc:
        if error_code(exc) in codes:
            return None
        raise


def policy_state(actual: Any, current: str | None) -> str:
    """The policy string to keep in state: the current one if AWS's is equivalent, else AWS's JSON."""
    if current is not None and policies_equivalent(current, actual):
        return current
    if isinstance(actual, str):
        return actual
    return go_json(_sorted(actual), indent=False)


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def rfc3339(value: Any) -> str | None:
    """A timestamp from boto3 (datetime) as the real provider writes it (RFC 3339, UTC)."""
    if value is None:
        return None
    if hasattr(value, "strftime"):
        return str(value.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return str(value)


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    """Tags in the ``[{"Key": k, "Value": v}]`` shape most AWS APIs take."""
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def add_tags(
    args: dict[str, Any],
    tags: dict[str, str],
    *,
    key: str = "Tags",
    tags_as: Callable[[dict[str, str]], object] = tag_list,
) -> None:
    """Put ``tags`` into a create call's ``args`` as ``key`` (in the shape ``tags_as`` makes), if any."""
    if tags:
        args[key] = tags_as(tags)


def tagging(
    untag: Callable[..., object],
    tag: Callable[..., object],
    *,
    tags_as: Callable[[dict[str, str]], object] = tag_list,
    **resource: Any,
) -> tuple[Callable[[list[str]], object], Callable[[dict[str, str]], object]]:
    """``AwsResource.retag``'s ``untag`` and ``tag`` for an API whose untag and tag calls name the resource
    by the arguments ``resource`` and take ``TagKeys`` and ``Tags`` (in the shape ``tags_as`` makes)."""
    return (
        lambda keys: untag(**resource, TagKeys=keys),
        lambda tags: tag(**resource, Tags=tags_as(tags)),
    )


def check_policy_json(value: Any, attribute: str = "policy") -> None:
    """Refuse a known policy string that is not JSON, as the real provider's validation does."""
    if isinstance(value, str):
        try:
            json.loads(value)
        except ValueError as exc:
            raise ResourceError(
                f'"{attribute}" contains an invalid JSON policy', str(exc), attribute
            ) from None


def check_json(config: dict[str, Any], *attributes: str) -> None:
    """Refuse any of ``attributes`` whose known, non-empty string value is not JSON."""
    for attribute in attributes:
        value = config.get(attribute)
        if isinstance(value, str) and not is_unknown(value) and value:
            try:
                json.loads(value)
            except ValueError as exc:
                raise ResourceError(f'"{attribute}" contains an invalid JSON', str(exc), attribute) from None


def check_name(config: dict[str, Any], *, fifo: bool, longest: int, kind: str) -> None:
    """Refuse a known ``name`` that is not 1 to ``longest`` letters, digits, ``-`` or ``_`` (a FIFO one
    ending in ``.fifo`` within that length), as SNS topic and SQS queue names must be."""
    name = config.get("name")
    if isinstance(name, str) and not is_unknown(name):
        pattern = rf"^[0-9A-Za-z_-]{{1,{longest - 5}}}\.fifo$" if fifo else rf"^[0-9A-Za-z_-]{{1,{longest}}}$"
        if not re.match(pattern, name):
            raise ResourceError(f"invalid {kind} name: {name}", attribute="name")


def attribute_text(value: Any) -> str:
    """A Terraform value as an AWS attribute string: booleans ``true``/``false``, whole floats without
    ``.0``, None as ``""``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)
