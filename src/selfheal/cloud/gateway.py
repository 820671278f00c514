"""The local cloud's WSGI front door: mounted prefixes first, then moto's own server application."""

from __future__ import annotations

import io
import threading
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["RAW_BODY_KEY", "Gateway", "StartResponse", "WSGIApplication", "WSGIEnvironment"]

WSGIEnvironment = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApplication = Callable[[WSGIEnvironment, StartResponse], Iterable[bytes]]

#: The request body as received (werkzeug consumes form bodies; IAM enforcement needs them to check SigV4).
RAW_BODY_KEY = "selfheal.raw_body"


def _keep_raw_body(environ: WSGIEnvironment) -> None:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return
    if length <= 0 or "wsgi.input" not in environ:
        return
    body = environ["wsgi.input"].read(length)
    environ[RAW_BODY_KEY] = body
    environ["wsgi.input"] = io.BytesIO(body)


def _moto_application() -> WSGIApplication:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    app: WSGIApplication = DomainDispatcherApplication(create_backend_app)
    return app


class Gateway:
    """Dispatch a request to the app mounted on the longest matching path prefix, else to moto."""

    def __init__(self, fallback: WSGIApplication | None = None) -> None:
        self._fallback = fallback if fallback is not None else _moto_application()
        self._mounts: dict[str, WSGIApplication] = {}
        self._lock = threading.Lock()

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

    def unmount(self, prefix: str) -> None:
        """Remove the app mounted on ``prefix`` (no error if none is)."""
        with self._lock:
            self._mounts.pop(prefix, None)

    def resolve(self, path: str) -> WSGIApplication:
        """Return the application that serves ``path``."""
        with self._lock:
            mounts = sorted(self._mounts.items(), key=lambda item: len(item[0]), reverse=True)
        for prefix, app in mounts:
            if path.startswith(prefix) or path == prefix.rstrip("/"):
                return app
        return self._fallback

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        app = self.resolve(environ.get("PATH_INFO", "") or "/")
        if app is self._fallback:
            _keep_raw_body(environ)
        return app(environ, start_response)
