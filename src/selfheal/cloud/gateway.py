"""The local cloud's WSGI front door: request checks, then mounted prefixes, then moto's server application.

Every request first passes :mod:`request_guard` (loopback ``Host``, browser origin, CORS), except that a
request whose ``Origin`` an HTTP API's own CORS configuration allows is answered by that API as API Gateway
would (a wildcard there covers loopback pages only). Mounted apps (the HTTP API data plane under
``/_api/``, public like API Gateway's) are served next. Everything else is an AWS
API call for moto: moto's own endpoints are closed, the body is read within the operation's limit and the
caller authenticated (:mod:`authentication`) before moto sees the request. A :data:`Shortcut` (e.g. Lambda
``Invoke``, :mod:`lambda_invoke_api`) may answer an admitted request itself, after those same checks.
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .authentication import Authenticator
from .refusal import Refusal, render
from .request_guard import BrowserPolicy, body_limit, closed_path, host_is_loopback
from .serving import BodyTooLarge, read_bounded_body

__all__ = [
    "CALLER_KEY",
    "RAW_BODY_KEY",
    "Gateway",
    "Shortcut",
    "StartResponse",
    "WSGIApplication",
    "WSGIEnvironment",
]

WSGIEnvironment = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApplication = Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]
#: Serves an admitted AWS API request itself (its answer), or returns None, without calling
#: ``start_response``, to leave it to moto.
Shortcut = Callable[[WSGIEnvironment, StartResponse], Iterable[bytes] | None]

#: The request body as received (werkzeug consumes form bodies; IAM enforcement needs them to check SigV4).
RAW_BODY_KEY = "selfheal.raw_body"
#: The authenticated :class:`~selfheal.cloud.authentication.Caller` of an AWS API request.
CALLER_KEY = "selfheal.caller"


def _moto_application() -> WSGIApplication:
    from .moto_dispatch import dispatcher

    app: WSGIApplication = dispatcher()
    return app


def _forbidden(start_response: StartResponse, message: str, status: str = "403 Forbidden") -> list[bytes]:
    body = json.dumps({"message": message}).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _api_cors_covers(app: WSGIApplication, environ: WSGIEnvironment) -> bool:
    covers = getattr(app, "cors_covers", None)
    return bool(environ.get("HTTP_ORIGIN")) and callable(covers) and covers(environ) is True


class Gateway:
    """Check a request, then dispatch it to the app mounted on the longest matching prefix, else to moto.

    ``authenticator`` None serves AWS API calls unauthenticated (only for a Gateway built in a test);
    ``own_ports`` tells which ports are this cloud's own origin for the browser checks.
    """

    def __init__(
        self,
        fallback: WSGIApplication | None = None,
        *,
        authenticator: Authenticator | None = None,
        allow_origins: Sequence[str] = (),
        own_ports: Callable[[], Iterable[int]] = tuple,
    ) -> None:
        self._fallback = fallback if fallback is not None else _moto_application()
        self._mounts: dict[str, WSGIApplication] = {}
        self._by_length: list[tuple[str, WSGIApplication]] = []
        self._lock = threading.Lock()
        self.authenticator = authenticator
        self.browsers = BrowserPolicy(allow_origins, own_ports)
        self.refused = 0
        #: Tried in order on every admitted AWS API request before moto (see :data:`Shortcut`).
        self.shortcuts: list[Shortcut] = []

    def mount(self, prefix: str, app: WSGIApplication) -> None:
        """Serve every path starting with ``prefix`` (which must start and end with ``/``) by ``app``."""
        if not prefix.startswith("/") or not prefix.endswith("/") or prefix == "/":
            raise ValueError(f"a mount prefix must look like '/name/', got {prefix!r}")
        if not callable(app):
            raise TypeError(f"a mounted app must be a WSGI callable, got {app!r}")
        with self._lock:
            if prefix in self._mounts:
                raise ValueError(f"prefix {prefix!r} is already mounted")
            self._mounts[prefix] = app
            self._sort_mounts()

    def _sort_mounts(self) -> None:
        # Longest prefix first; replaced whole, so resolve() reads it without the lock.
        self._by_length = sorted(self._mounts.items(), key=lambda item: len(item[0]), reverse=True)

    def unmount(self, prefix: str) -> None:
        """Remove the app mounted on ``prefix`` (no error if none is)."""
        with self._lock:
            self._mounts.pop(prefix, None)
            self._sort_mounts()

    def resolve(self, path: str) -> WSGIApplication:
        """Return the application that serves ``path``."""
        for prefix, app in self._by_length:
            if path.startswith(prefix) or path == prefix.rstrip("/"):
                return app
        return self._fallback

    def serves_on_loop(self, environ: WSGIEnvironment) -> bool:
        """Whether the request may run on the front's event loop: its mounted app says so
        (``serves_on_loop = True``), or, for an AWS API request, a shortcut that will answer it
        (``serves_on_loop(environ)``)."""
        app = self.resolve(str(environ.get("PATH_INFO") or "") or "/")
        if app is not self._fallback:
            return getattr(app, "serves_on_loop", False) is True
        for shortcut in self.shortcuts:
            decide = getattr(shortcut, "serves_on_loop", None)
            if callable(decide) and decide(environ) is True:
                return True
        return False

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        host = str(environ.get("HTTP_HOST") or "")
        if not host_is_loopback(host):
            self.refused += 1
            return _forbidden(
                start_response,
                f"Host {host!r} is not served: the local cloud answers only loopback names "
                "(127.0.0.1, localhost)",
            )
        path = str(environ.get("PATH_INFO") or "") or "/"
        app = self.resolve(path)
        if app is not self._fallback and _api_cors_covers(app, environ):
            # An HTTP API whose own CORS configuration allows this origin answers as API Gateway does:
            # its preflights and Access-Control-* headers are the API's, not the cloud's.
            return app(environ, start_response)
        problem = self.browsers.refusal(environ)
        if problem is not None:
            self.refused += 1
            return _forbidden(start_response, problem)
        if environ.get("REQUEST_METHOD") == "OPTIONS" and environ.get("HTTP_ORIGIN"):
            return self._preflight(environ, start_response)
        reply = self._cors_start_response(environ, start_response)
        if app is not self._fallback:
            return app(environ, reply)
        try:
            self._admit(environ, path)
        except Refusal as refusal:
            self.refused += 1
            return render(environ, refusal, reply)
        for shortcut in self.shortcuts:
            answer = shortcut(environ, reply)
            if answer is not None:
                return answer
        return app(environ, reply)

    def _admit(self, environ: WSGIEnvironment, path: str) -> None:
        """Close moto's back doors, bound and keep the body, authenticate; raise :class:`Refusal` if not."""
        if closed_path(path):
            raise Refusal("not_served", f"{path} is not an AWS API: moto's control endpoints are closed.")
        limit, too_large = body_limit(environ)
        try:
            body = read_bounded_body(environ, limit)
        except BodyTooLarge:
            raise too_large from None
        environ[RAW_BODY_KEY] = body
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("wsgi.input_terminated", None)
        if self.authenticator is not None:
            environ[CALLER_KEY] = self.authenticator.authenticate(environ, body)

    def _preflight(self, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        if self.browsers.allowed_origin(environ) is None:
            self.refused += 1
            return _forbidden(start_response, "CORS preflight from an origin that was not allowed")
        start_response("204 No Content", self.browsers.preflight_headers(environ))
        return []

    def _cors_start_response(self, environ: WSGIEnvironment, start_response: StartResponse) -> StartResponse:
        """``start_response`` without the app's CORS headers, plus ours for an allowed origin."""
        ours = self.browsers.cors_headers(environ)

        def reply(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            kept = [
                (name, value) for name, value in headers if not name.lower().startswith("access-control-")
            ]
            if ours:
                kept = [(name, value) for name, value in kept if name.lower() != "vary"] + ours
            return start_response(status, kept, exc_info) if exc_info else start_response(status, kept)

        return reply
