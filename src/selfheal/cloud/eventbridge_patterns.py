"""EventBridge event patterns: does an event match a rule's pattern (AWS's content filtering). Pure.

A pattern is a JSON object whose keys name event fields. A nested object matches the nested field; an
array lists what the field may be (any one of them, OR): exact values (strings, numbers compared as
numbers, ``true``/``false``, ``null``) and filters: ``prefix``, ``suffix``, ``equals-ignore-case``,
``anything-but`` (a value, a list, or ``prefix``/``suffix``/``equals-ignore-case``/``wildcard``),
``numeric`` (one or two comparisons), ``exists``, ``cidr``, ``wildcard``. Every key of a pattern must match
(AND); ``$or`` takes a list of patterns, one of which must match. An event field that is an array matches
when any element does. A missing field matches only ``{"exists": false}``; ``anything-but`` never
matches a missing field (EventBridge user guide, "Content filtering in Amazon EventBridge event
patterns").

:func:`parse_pattern` checks a pattern (raising :class:`InvalidEventPattern`), :func:`matches` tests one.
"""

from __future__ import annotations

import ipaddress
import json
import operator
import re
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["InvalidEventPattern", "matches", "parse_pattern", "pattern_matches"]

_MISSING: Any = object()
_NUMERIC_OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
    ">=": operator.ge,
    ">": operator.gt,
}
_FILTERS = frozenset(
    {"prefix", "suffix", "equals-ignore-case", "anything-but", "numeric", "exists", "cidr", "wildcard"}
)


class InvalidEventPattern(ValueError):
    """The pattern is not one EventBridge accepts (``InvalidEventPatternException``)."""


def parse_pattern(raw: str | Mapping[str, Any]) -> dict[str, Any]:
    """The pattern as a dict, checked; raise :class:`InvalidEventPattern`."""
    if isinstance(raw, str):
        try:
            pattern = json.loads(raw)
        except ValueError:
            raise InvalidEventPattern("Event pattern is not valid. Reason: invalid JSON") from None
    else:
        pattern = dict(raw)
    if not isinstance(pattern, dict):
        raise InvalidEventPattern("Event pattern is not valid. Reason: the pattern must be a JSON object")
    _check_object(pattern, "")
    return pattern


def _check_object(pattern: Mapping[str, Any], where: str) -> None:
    for key, value in pattern.items():
        at = f"{where}{key}"
        if key == "$or":
            if not isinstance(value, list) or len(value) < 2 or not all(isinstance(p, dict) for p in value):
                raise InvalidEventPattern(
                    f"Event pattern is not valid. Reason: {at} needs two or more objects"
                )
            for sub in value:
                _check_object(sub, where)
        elif isinstance(value, dict):
            _check_object(value, f"{at}.")
        elif isinstance(value, list):
            if not value:
                raise InvalidEventPattern(
                    f"Event pattern is not valid. Reason: Empty arrays are not allowed ({at})"
                )
            for item in value:
                _check_value(item, at)
        else:
            raise InvalidEventPattern(
                f"Event pattern is not valid. Reason: '{at}' must be an object or an array"
            )


def _check_value(item: Any, at: str) -> None:
    if item is None or isinstance(item, (str, int, float, bool)):
        return
    if not isinstance(item, dict) or len(item) != 1:
        raise InvalidEventPattern(f"Event pattern is not valid. Reason: bad match expression in {at}")
    ((name, arg),) = item.items()
    if name not in _FILTERS:
        raise InvalidEventPattern(f"Event pattern is not valid. Reason: Unrecognized match type {name}")
    if name == "exists" and not isinstance(arg, bool):
        raise InvalidEventPattern(
            "Event pattern is not valid. Reason: exists match pattern must be true or false"
        )
    if name == "numeric":
        _check_numeric(arg)
    if name in ("prefix", "suffix", "equals-ignore-case", "wildcard") and not isinstance(arg, (str, dict)):
        raise InvalidEventPattern(
            f"Event pattern is not valid. Reason: {name} match pattern must be a string"
        )


def _check_numeric(arg: Any) -> None:
    ok = isinstance(arg, list) and len(arg) in (2, 4)
    if ok:
        for index in range(0, len(arg), 2):
            op, value = arg[index], arg[index + 1]
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            ok = ok and op in _NUMERIC_OPS and number
    if not ok:
        raise InvalidEventPattern(
            "Event pattern is not valid. Reason: Value of numeric must be an array of operators and numbers"
        )


def matches(pattern: Mapping[str, Any], event: Mapping[str, Any]) -> bool:
    """Whether ``event`` (a dict, as delivered) matches ``pattern`` (as :func:`parse_pattern` returns it)."""
    return _object_matches(pattern, event)


def pattern_matches(raw: str, event: Mapping[str, Any]) -> bool:
    """:func:`matches` of a pattern given as JSON text (raise :class:`InvalidEventPattern` if it is bad)."""
    return matches(parse_pattern(raw), event)


def _object_matches(pattern: Mapping[str, Any], node: Any) -> bool:
    for key, sub in pattern.items():
        if key == "$or":
            if not any(_object_matches(p, node) for p in sub):
                return False
            continue
        value = node.get(key, _MISSING) if isinstance(node, dict) else _MISSING
        if isinstance(sub, dict):
            if isinstance(value, list):
                # An array of objects matches a nested pattern when one of its elements does.
                if not any(_object_matches(sub, element) for element in value if isinstance(element, dict)):
                    return False
            elif not _object_matches(sub, value if isinstance(value, dict) else _MISSING):
                return False
        elif not _field_matches(sub, value):
            return False
    return True


def _field_matches(filters: list[Any], value: Any) -> bool:
    if isinstance(value, dict):
        return False  # exists (like every filter) works on leaf fields only, never on an object
    if value is _MISSING:
        return any(isinstance(f, dict) and f.get("exists") is False for f in filters)
    candidates = value if isinstance(value, list) else [value]
    for spec in filters:
        if isinstance(spec, dict):
            if "exists" in spec:
                if spec["exists"] is True and (not isinstance(value, list) or value):
                    return True
                continue
            if any(_filter_matches(spec, candidate) for candidate in candidates):
                return True
        elif any(_equal(spec, candidate) for candidate in candidates):
            return True
    return False


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(expected: Any, value: Any) -> bool:
    if _is_number(expected) and _is_number(value):
        return float(expected) == float(value)
    if isinstance(expected, bool) or isinstance(value, bool):
        return expected is value
    return type(expected) is type(value) and expected == value


def _filter_matches(spec: Mapping[str, Any], value: Any) -> bool:
    ((name, arg),) = spec.items()
    if name == "anything-but":
        return _anything_but(arg, value)
    if name == "numeric":
        return _is_number(value) and all(
            _NUMERIC_OPS[arg[i]](float(value), float(arg[i + 1])) for i in range(0, len(arg), 2)
        )
    if name == "cidr":
        try:
            return isinstance(value, str) and ipaddress.ip_address(value) in ipaddress.ip_network(
                arg, strict=False
            )
        except ValueError:
            return False
    return _string_filter(name, arg, value)


def _string_filter(name: str, arg: Any, value: Any) -> bool:
    if not isinstance(value, str):
        return False
    if isinstance(arg, dict):  # {"prefix": {"equals-ignore-case": "x"}}
        arg = arg.get("equals-ignore-case")
        value = value.lower()
        if not isinstance(arg, str):
            return False
        arg = arg.lower()
    if not isinstance(arg, str):
        return False
    text: str = value
    expected: str = arg
    if name == "prefix":
        return text.startswith(expected)
    if name == "suffix":
        return text.endswith(expected)
    if name == "equals-ignore-case":
        return text.lower() == expected.lower()
    if name == "wildcard":
        return _wildcard(expected).fullmatch(text) is not None
    return False


def _anything_but(arg: Any, value: Any) -> bool:
    if isinstance(arg, dict):
        ((name, inner),) = arg.items()
        options = inner if isinstance(inner, list) else [inner]
        return not any(_string_filter(name, option, value) for option in options)
    options = arg if isinstance(arg, list) else [arg]
    return not any(_equal(option, value) for option in options)


def _wildcard(pattern: str) -> re.Pattern[str]:
    parts = re.split(r"(\\\*|\*)", pattern)
    regex = "".join(".*" if part == "*" else re.escape("*" if part == "\\*" else part) for part in parts)
    return re.compile(regex, re.DOTALL)
