"""Stage and route selection of an HTTP API, with API Gateway's documented precedence.

A request first picks a stage: a named stage when the path's first segment is its name (that segment is
then not part of the route path), else the ``$default`` stage. It then picks the most specific route:
a full match beats a match with path variables, which beats a greedy ``{name+}`` match, which beats the
``$default`` route; for the same path an explicit method beats ``ANY``.

:func:`find_api` finds the HTTP API a request names in whichever region of the account holds it
(:func:`find_in_account`, which REST APIs use too).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

__all__ = [
    "DEFAULT_ROUTE",
    "DEFAULT_STAGE",
    "RouteKey",
    "RouteMatch",
    "StageMatch",
    "find_api",
    "find_in_account",
    "parse_route_key",
    "select_route",
    "select_stage",
]

DEFAULT_ROUTE = "$default"
DEFAULT_STAGE = "$default"


def find_api(backend: Any, api_id: str) -> tuple[Any, str]:
    """The HTTP API ``api_id`` and its region (see :func:`find_in_account`); ``backend`` is moto's
    apigatewayv2 backend of the cloud's region."""
    from moto.apigatewayv2.models import apigatewayv2_backends

    return find_in_account(backend, api_id, apigatewayv2_backends)


def find_in_account(backend: Any, api_id: str, backends: Mapping[str, Mapping[str, Any]]) -> tuple[Any, str]:
    """The API ``api_id`` and its region: in ``backend`` (moto's backend of the cloud's region) or in any
    other region of its account in ``backends`` (moto's backends of that service, by account and region;
    API ids are unique across regions); (None, ``backend``'s region) when none holds it."""
    api = backend.apis.get(api_id) if api_id else None
    if api is not None or not api_id:
        return api, str(backend.region_name)
    for region, other in list(backends[backend.account_id].items()):
        api = other.apis.get(api_id)
        if api is not None:
            return api, str(region)
    return None, str(backend.region_name)


_VARIABLE = re.compile(r"^\{([A-Za-z0-9._-]+)(\+?)\}$")
_METHODS = frozenset({"ANY", "GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})

# Segment kinds, in order of precedence: a literal beats a variable, which beats a greedy variable.
_LITERAL, _VARIABLE_SEGMENT, _GREEDY = 0, 1, 2


@dataclass(frozen=True)
class _Segment:
    kind: int
    text: str  # the literal text, or the variable's name


@dataclass(frozen=True)
class RouteKey:
    """A parsed route key: ``$default`` or ``METHOD /path`` with ``{var}`` and a final ``{var+}``."""

    key: str
    method: str | None
    segments: tuple[_Segment, ...]

    @property
    def is_default(self) -> bool:
        """True for the ``$default`` catch-all route."""
        return self.method is None

    def match(self, method: str, segments: list[str]) -> dict[str, str] | None:
        """Return the path parameters if this route matches, else None."""
        if self.method is None or (self.method != "ANY" and self.method != method):
            return None
        params: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.kind == _GREEDY:
                rest = "/".join(segments[index:])
                if not rest:
                    return None
                params[segment.text] = rest
                return params
            if index >= len(segments):
                return None
            value = segments[index]
            if segment.kind == _LITERAL:
                if value != segment.text:
                    return None
            elif not value:
                return None
            else:
                params[segment.text] = value
        return params if len(segments) == len(self.segments) else None

    def precedence(self) -> tuple[int, tuple[int, ...], int]:
        """Sort key: the smallest value is the most specific route."""
        kinds = tuple(segment.kind for segment in self.segments)
        overall = max(kinds, default=_LITERAL)
        return overall, kinds, 1 if self.method == "ANY" else 0


@dataclass(frozen=True)
class RouteMatch:
    """The route chosen for a request and the path parameters it captured."""

    route_key: str
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class StageMatch:
    """The stage chosen for a request and the path that remains for route selection."""

    stage: str
    route_path: str


@lru_cache(maxsize=4096)
def parse_route_key(key: str) -> RouteKey:
    """Parse ``key``; raise ValueError for a key API Gateway would reject (parsed once per key)."""
    if key == DEFAULT_ROUTE:
        return RouteKey(key, None, ())
    method, sep, path = key.partition(" ")
    if not sep or method not in _METHODS or not path.startswith("/"):
        raise ValueError(f"route key must be '$default' or 'METHOD /path', got {key!r}")
    parts = [] if path == "/" else path[1:].split("/")
    segments: list[_Segment] = []
    for index, part in enumerate(parts):
        variable = _VARIABLE.match(part)
        if variable is None:
            if not part or "{" in part or "}" in part:
                raise ValueError(f"route key {key!r} has an invalid path segment {part!r}")
            segments.append(_Segment(_LITERAL, part))
        elif variable.group(2):
            if index != len(parts) - 1:
                raise ValueError(f"route key {key!r}: a greedy variable must be the last segment")
            segments.append(_Segment(_GREEDY, variable.group(1)))
        else:
            segments.append(_Segment(_VARIABLE_SEGMENT, variable.group(1)))
    return RouteKey(key, method, tuple(segments))


def _split(path: str) -> list[str]:
    return [] if path in ("", "/") else path.lstrip("/").split("/")


def select_route(route_keys: Iterable[str], method: str, path: str) -> RouteMatch | None:
    """Choose the most specific route for ``method`` and ``path`` (the path without any stage prefix).

    Route keys that do not parse are ignored, as they could never have been created on AWS.
    """
    segments = _split(path)
    candidates: list[tuple[tuple[int, tuple[int, ...], int], RouteMatch]] = []
    default: RouteMatch | None = None
    for key in route_keys:
        try:
            route = parse_route_key(key)
        except ValueError:
            continue
        if route.is_default:
            default = RouteMatch(key, {})
            continue
        params = route.match(method.upper(), segments)
        if params is not None:
            candidates.append((route.precedence(), RouteMatch(key, params)))
    if candidates:
        return min(candidates, key=lambda candidate: candidate[0])[1]
    return default


def select_stage(stage_names: Iterable[str], path: str) -> StageMatch | None:
    """Choose the stage for ``path`` (the path after the API id); None when no stage serves it."""
    names = set(stage_names)
    first, _, rest = path.lstrip("/").partition("/")
    if first and first != DEFAULT_STAGE and first in names:
        return StageMatch(first, "/" + rest)
    if DEFAULT_STAGE in names:
        return StageMatch(DEFAULT_STAGE, path or "/")
    return None
