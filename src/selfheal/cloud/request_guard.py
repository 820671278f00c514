"""The checks every request to the local cloud passes before anything serves it.

A server on 127.0.0.1 is reachable from every web page the user opens (a "simple" cross-site POST needs no
preflight) and, through DNS rebinding, from pages whose host name resolves to 127.0.0.1. So:

* **Host** must be a loopback name (``localhost``, ``*.localhost``, ``127.x.x.x``, ``[::1]``): a rebinding
  page sends its own host name and is refused.
* **Browser requests from other origins** are refused: an ``Origin`` other than the cloud's own, or
  ``Sec-Fetch-Site: cross-site``/``same-site``, unless the user named the origin (``--allow-origin``).
* **CORS** headers (moto adds ``Access-Control-Allow-Origin`` for everyone) are removed from every answer
  and given back only to the origins the user named, with preflights answered for them alone.
* **moto's back doors** (``/moto-api/…``: reset, config, seed, recorder, state manager; the instance metadata
  paths) are not served: AWS has no such endpoints.
* **Bodies** are bounded per operation (:func:`body_limit`): Lambda's documented Invoke limits, code
  uploads up to Lambda's 50 MB zip, 16 MiB for everything else.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

from selfheal.loopback import is_loopback_host

from .refusal import Refusal

__all__ = [
    "DEFAULT_BODY_LIMIT",
    "INVOKE_ASYNC_LIMIT",
    "INVOKE_SYNC_LIMIT",
    "BrowserPolicy",
    "body_limit",
    "closed_path",
    "host_is_loopback",
    "origin_is_loopback",
]

#: Lambda Invoke payload quotas (request and response): 6 MB synchronous, 1 MB asynchronous.
INVOKE_SYNC_LIMIT = 6 * 1024 * 1024
INVOKE_ASYNC_LIMIT = 1024 * 1024
#: The deprecated InvokeAsync API: 256 KB.
INVOKE_ASYNC_LEGACY_LIMIT = 256 * 1024
#: A function's zip uploaded directly is at most 50 MB; base64 inside JSON makes that about 67 MB.
CODE_UPLOAD_LIMIT = 70 * 1024 * 1024
#: Anything else (DynamoDB's BatchWriteItem, the largest, is 16 MB).
DEFAULT_BODY_LIMIT = 16 * 1024 * 1024

_INVOKE = re.compile(r"^/2015-03-31/functions/[^/]+/invocations/?$")
_INVOKE_ASYNC = re.compile(r"^/2014-11-13/functions/[^/]+/invoke-async/?$")
_CODE_UPLOAD = re.compile(
    r"^/2015-03-31/functions/?$|^/2015-03-31/functions/[^/]+/code/?$|^/2018-10-31/layers/[^/]+/versions/?$"
)
_CLOSED_PREFIXES = ("/moto-api", "/latest/meta-data", "/latest/api", "/latest/dynamic", "/latest/user-data")
_CORS_REQUEST_HEADERS = "authorization, content-type, x-amz-date, x-amz-security-token, x-amz-target, " + (
    "x-amz-user-agent, x-amz-content-sha256, x-amz-invocation-type, x-amz-log-type, x-amz-client-context"
)
_CORS_EXPOSE = (
    "x-amzn-requestid, x-amzn-errortype, x-amz-function-error, x-amz-log-result, x-amz-executed-version"
)


def host_is_loopback(host: str) -> bool:
    """Whether a ``Host`` header names this machine's loopback interface (any port)."""
    host = host.strip().lower()
    if not host:
        return False
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        if rest and not re.fullmatch(r":\d{1,5}", rest):
            return False
    else:
        name, _, port = host.partition(":")
        if port and not port.isdigit():
            return False
    return _name_is_loopback(name.rstrip("."))


@functools.lru_cache(maxsize=64)
def _name_is_loopback(name: str) -> bool:
    # Cached: every request asks, and ipaddress's parse costs more than the rest of the Host check.
    return name.endswith(".localhost") or is_loopback_host(name)


def origin_is_loopback(origin: str) -> bool:
    """Whether an ``Origin`` header (``scheme://host[:port]``) is a page served from this machine."""
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and host_is_loopback(parts.netloc)


def closed_path(path: str) -> bool:
    """Whether ``path`` is one of moto's own endpoints, which the local cloud does not serve."""
    return any(path == prefix or path.startswith(prefix + "/") for prefix in _CLOSED_PREFIXES)


def body_limit(environ: dict[str, Any]) -> tuple[int, Refusal]:
    """The largest body the request may carry, and the refusal for a larger one."""
    path = str(environ.get("PATH_INFO") or "")
    method = str(environ.get("REQUEST_METHOD") or "GET").upper()
    if method == "POST" and _INVOKE.match(path):
        asynchronous = str(environ.get("HTTP_X_AMZ_INVOCATION_TYPE") or "") == "Event"
        limit = INVOKE_ASYNC_LIMIT if asynchronous else INVOKE_SYNC_LIMIT
        return limit, _invoke_too_large(limit, "InvokeFunction")
    if method == "POST" and _INVOKE_ASYNC.match(path):
        return INVOKE_ASYNC_LEGACY_LIMIT, _invoke_too_large(INVOKE_ASYNC_LEGACY_LIMIT, "InvokeAsync")
    if method in ("POST", "PUT") and _CODE_UPLOAD.match(path):
        limit = CODE_UPLOAD_LIMIT
    else:
        limit = DEFAULT_BODY_LIMIT
    return limit, Refusal(
        "too_large", f"Request must be smaller than {limit} bytes for this operation in the local cloud."
    )


def _invoke_too_large(limit: int, operation: str) -> Refusal:
    return Refusal(
        "too_large",
        f"Request must be smaller than {limit} bytes for the {operation} operation",
        code="RequestTooLargeException",
    )


class BrowserPolicy:
    """Which web origins may call the cloud, and the CORS headers they get.

    ``own_ports`` returns the ports the cloud itself listens on: a page served by the cloud (an HTTP API's
    own page on ``http://127.0.0.1:<port>``) is same-origin.
    """

    def __init__(self, allow_origins: Sequence[str], own_ports: Callable[[], Iterable[int]]) -> None:
        self.allow_origins = frozenset(_normalised_origin(origin) for origin in allow_origins)
        self._own_ports = own_ports

    def _own(self, origin: str) -> bool:
        parts = urlsplit(origin)
        return (
            parts.scheme == "http"
            and host_is_loopback(parts.netloc)
            and parts.port is not None
            and parts.port in set(self._own_ports())
        )

    def allowed_origin(self, environ: dict[str, Any]) -> str | None:
        """The request's ``Origin`` when the user allowed it by name, else None."""
        origin = str(environ.get("HTTP_ORIGIN") or "")
        try:
            return origin if origin and _normalised_origin(origin) in self.allow_origins else None
        except ValueError:  # "null" (sandboxed frames, file: pages) and other oddities
            return None

    def refusal(self, environ: dict[str, Any]) -> str | None:
        """Why a browser request must be refused, or None when it may go on."""
        origin = str(environ.get("HTTP_ORIGIN") or "")
        site = str(environ.get("HTTP_SEC_FETCH_SITE") or "").lower()
        if self.allowed_origin(environ) is not None:
            return None
        if origin and not self._own(origin):
            return (
                f"requests from web origin {origin!r} are refused; allow it with "
                "`selfheal cloud --allow-origin ORIGIN` if you trust it"
            )
        if site in ("cross-site", "same-site"):
            return (
                f"{site} browser requests are refused; allow the page's origin with "
                "`selfheal cloud --allow-origin ORIGIN` if you trust it"
            )
        return None

    def cors_headers(self, environ: dict[str, Any]) -> list[tuple[str, str]]:
        """CORS headers for an allowed origin's actual request (none for anybody else)."""
        origin = self.allowed_origin(environ)
        if origin is None:
            return []
        return [
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Expose-Headers", _CORS_EXPOSE),
            ("Vary", "Origin"),
        ]

    def preflight_headers(self, environ: dict[str, Any]) -> list[tuple[str, str]]:
        """The answer headers to an allowed origin's preflight."""
        requested = str(environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS") or _CORS_REQUEST_HEADERS)
        return [
            *self.cors_headers(environ),
            ("Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE"),
            ("Access-Control-Allow-Headers", requested),
            ("Access-Control-Max-Age", "600"),
            ("Content-Length", "0"),
        ]


def _normalised_origin(origin: str) -> str:
    """``scheme://host[:port]`` in lower case, without a trailing slash (how browsers send ``Origin``)."""
    parts = urlsplit(origin.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path not in ("", "/"):
        raise ValueError(f"an allowed origin must look like http://localhost:3000, got {origin!r}")
    return f"{parts.scheme}://{parts.netloc}".lower()
