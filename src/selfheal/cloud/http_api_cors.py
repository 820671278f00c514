"""An HTTP API's CORS configuration, applied as API Gateway applies it.

When an API has a ``corsConfiguration``, API Gateway answers preflight requests itself (``OPTIONS`` with
``Origin`` and ``Access-Control-Request-Method``, whatever the routes), adds the configured CORS headers
to the responses of requests that carry an ``Origin`` it allows, and drops the CORS headers the
integration returned. ``allowOrigins`` entries are origins, ``*`` (any origin), ``https://*`` or
``http://*`` (any origin of that scheme). A policy is compiled once per configuration object
(:func:`policy_for`), so a request costs a few set lookups.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["CorsPolicy", "is_preflight", "policy_for", "strip_cors_headers"]


def _strings(config: Mapping[str, Any], name: str) -> tuple[str, ...]:
    value = config.get(name, config.get(name[0].upper() + name[1:]))
    if not isinstance(value, list | tuple):
        return ()
    return tuple(str(item).strip() for item in value if str(item).strip())


@dataclass(frozen=True)
class CorsPolicy:
    """A compiled ``corsConfiguration``."""

    origins: frozenset[str]
    any_origin: bool
    schemes: frozenset[str]  # "https" for "https://*", "http" for "http://*"
    methods: tuple[str, ...] = ()
    headers: tuple[str, ...] = ()
    expose: tuple[str, ...] = ()
    max_age: int | None = None
    credentials: bool = False

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> CorsPolicy:
        """Compile moto's ``corsConfiguration`` (camelCase keys, as the API takes them)."""
        origins = _strings(config, "allowOrigins")
        exact = frozenset(o.rstrip("/").lower() for o in origins if o != "*" and not o.endswith("://*"))
        schemes = frozenset(o[: -len("://*")].lower() for o in origins if o.endswith("://*"))
        max_age = config.get("maxAge", config.get("MaxAge"))
        credentials = config.get("allowCredentials", config.get("AllowCredentials"))
        return cls(
            origins=exact,
            any_origin="*" in origins,
            schemes=schemes,
            methods=_strings(config, "allowMethods"),
            headers=_strings(config, "allowHeaders"),
            expose=_strings(config, "exposeHeaders"),
            max_age=max_age if isinstance(max_age, int) and not isinstance(max_age, bool) else None,
            credentials=credentials is True,
        )

    def allows(self, origin: str) -> bool:
        """Whether ``origin`` (an ``Origin`` header value) is one of the allowed origins."""
        if not origin:
            return False
        if self.any_origin:
            return True
        scheme, sep, _ = origin.partition("://")
        if sep and scheme.lower() in self.schemes:
            return True
        return origin.rstrip("/").lower() in self.origins

    def names(self, origin: str) -> bool:
        """Whether ``origin`` is listed by name (not only matched by ``*`` or ``scheme://*``)."""
        return bool(origin) and origin.rstrip("/").lower() in self.origins

    def _allow_origin(self, origin: str) -> list[tuple[str, str]]:
        headers = [("Access-Control-Allow-Origin", "*" if self.any_origin else origin)]
        if self.credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        return headers

    def preflight_headers(self, origin: str) -> list[tuple[str, str]]:
        """The headers of API Gateway's answer to a preflight (none for an origin it does not allow)."""
        if not self.allows(origin):
            return []
        headers = self._allow_origin(origin)
        if self.methods:
            headers.append(("Access-Control-Allow-Methods", ",".join(self.methods)))
        if self.headers:
            headers.append(("Access-Control-Allow-Headers", ",".join(self.headers)))
        if self.max_age is not None:
            headers.append(("Access-Control-Max-Age", str(self.max_age)))
        return headers

    def response_headers(self, origin: str) -> list[tuple[str, str]]:
        """The CORS headers added to an actual request's response (none for an origin it does not allow)."""
        if not self.allows(origin):
            return []
        headers = self._allow_origin(origin)
        if self.expose:
            headers.append(("Access-Control-Expose-Headers", ",".join(self.expose)))
        return headers


def is_preflight(method: str, headers: Sequence[tuple[str, str]]) -> bool:
    """Whether a request is a preflight: ``OPTIONS`` with ``Origin`` and ``Access-Control-Request-Method``."""
    if method != "OPTIONS":
        return False
    names = {name.lower() for name, value in headers if value}
    return "origin" in names and "access-control-request-method" in names


def strip_cors_headers(headers: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` without any ``Access-Control-*`` header (the integration's are ignored under CORS)."""
    return [(name, value) for name, value in headers if not name.lower().startswith("access-control-")]


_lock = threading.Lock()
_policies: dict[int, tuple[Any, CorsPolicy]] = {}
_MAX_CACHED = 256


def policy_for(config: Any) -> CorsPolicy | None:
    """The compiled policy of an API's ``cors_configuration`` (None: CORS is not configured).

    moto replaces the configuration object on UpdateApi, so the object itself is the cache key (kept
    alongside so its id cannot be reused while cached).
    """
    if not isinstance(config, Mapping) or not config:
        return None
    key = id(config)
    with _lock:
        cached = _policies.get(key)
        if cached is not None and cached[0] is config:
            return cached[1]
    policy = CorsPolicy.from_config(config)
    with _lock:
        if len(_policies) >= _MAX_CACHED:
            _policies.clear()
        _policies[key] = (config, policy)
    return policy
