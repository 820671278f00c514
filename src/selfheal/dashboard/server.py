"""The dashboard's HTTP server: the page, its static files, a JSON snapshot, server-sent events, controls.

Built on werkzeug's threaded WSGI server, which selfheal already depends on (moto and the local cloud
use it): a dashboard has a handful of viewers, each SSE stream holds one thread, and no second web stack
(ASGI server, event loop) has to be installed, configured and shut down beside the local cloud's. The
server is the bounded one of ``selfheal.cloud.serving``: a capped number of connections, and clients that
send nothing or send slowly are cut off. No request body is read past ``_MAX_BODY``, chunked or not.

It binds to loopback only. POST endpoints accept only ``application/json`` from a page of this very
origin (``Origin``/``Host`` must be this server on 127.0.0.1 or localhost), so another site open in the
browser cannot drive the controls.

The snapshot and the event stream take ``?function=NAME`` (read-only, GET, the same Host check): the
charts of that protected function (a fleet drill-down) instead of the deployment's own; a name that is
not a Lambda function name is a 400, a function the registry does not protect a 404.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from importlib import resources
from typing import Any

from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler
from werkzeug.wrappers import Request, Response

from selfheal.cloud.serving import BodyTooLarge, BoundedWSGIServer, abandon_body, read_bounded_body
from selfheal.dashboard.collector import Collector
from selfheal.dashboard.controls import ControlError, Controls, RestoreHook
from selfheal.dashboard.fleet import FUNCTION_NAME, FleetSource
from selfheal.loop.deployment import AwsTarget, Deployment
from selfheal.loop.reader import LoopReader
from selfheal.loopback import is_loopback_host

__all__ = ["DashboardError", "DashboardServer", "start_dashboard", "view_of"]

_STATIC = {
    "dashboard.js": "text/javascript; charset=utf-8",
    "dashboard.css": "text/css; charset=utf-8",
}
_SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
_KEEPALIVE_SECONDS = 10.0
_MAX_BODY = 4096
# A few viewers, each with one event stream, plus the browser's spare connections.
_MAX_CONNECTIONS = 32
_IDLE_TIMEOUT = 15.0
_HEADER_TIMEOUT = 10.0
_BODY_TIMEOUT = 10.0


class _QuietHandler(WSGIRequestHandler):
    """No access log: the page polls nothing, but every control and stream would print a line."""

    def log_request(self, *args: Any, **kwargs: Any) -> None:
        return None


class DashboardError(RuntimeError):
    """The dashboard could not start (e.g. its port is in use)."""


def _static(name: str) -> bytes:
    return resources.files("selfheal.dashboard").joinpath("static", name).read_bytes()


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, mimetype="application/json")


def view_of(snapshot: dict[str, Any], function: str | None) -> dict[str, Any]:
    """What a page showing ``function`` (None: the deployment's own) gets of a snapshot: that function's
    charts with the fleet and the controls' status; ``ready`` False until its charts were first read."""
    shown = {key: value for key, value in snapshot.items() if key != "details"}
    if function is None or function == (snapshot.get("names") or {}).get("fragile"):
        return shown
    detail = (snapshot.get("details") or {}).get(function)
    own: dict[str, Any] = {k: snapshot[k] for k in ("version", "fleet", "burst") if k in snapshot}
    if detail is None:
        return {**own, "ready": False, "loading": function}
    return {**detail, **own}


class DashboardApp:
    """The WSGI application; ``port`` is set once the server is bound (for the origin checks)."""

    def __init__(self, collector: Collector, controls: Controls) -> None:
        self.collector = collector
        self.controls = controls
        self.port = 0
        self.stopped_message = "The dashboard has stopped."
        self._routes = Map(
            [
                Rule("/", endpoint="index", methods=["GET"]),
                Rule("/static/<name>", endpoint="static", methods=["GET"]),
                Rule("/api/snapshot", endpoint="snapshot", methods=["GET"]),
                Rule("/api/events", endpoint="events", methods=["GET"]),
                Rule("/api/inject", endpoint="inject", methods=["POST"]),
                Rule("/api/traffic", endpoint="traffic", methods=["POST"]),
                Rule("/api/restore", endpoint="restore", methods=["POST"]),
            ]
        )

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            response = self._dispatch(request)
        except HTTPException as error:
            response = _json({"ok": False, "message": error.description or error.name}, error.code or 500)
        except ControlError as error:
            response = _json({"ok": False, "message": error.message}, error.status)
        except Exception as error:  # a control's unexpected failure is shown on the page, not a traceback
            response = _json({"ok": False, "message": f"{type(error).__name__}: {error}"}, 500)
        # Whatever of the body the endpoint did not read is not read at all (not drained after the answer).
        abandon_body(environ)
        response.headers.update(_SECURITY_HEADERS)
        return response(environ, start_response)

    def _local_origins(self) -> set[str]:
        return {f"http://{host}:{self.port}" for host in ("127.0.0.1", "localhost")}

    def _check_host(self, request: Request) -> None:
        """Refuse a Host header naming another machine (DNS rebinding)."""
        if f"http://{request.host}" not in self._local_origins():
            raise ControlError(f"refusing Host {request.host!r}: the dashboard serves 127.0.0.1 only", 403)

    def _dispatch(self, request: Request) -> Response:
        self._check_host(request)
        endpoint, arguments = self._routes.bind_to_environ(request.environ).match()
        if endpoint == "index":
            return Response(_static("index.html"), mimetype="text/html")
        if endpoint == "static":
            name = str(arguments["name"])
            if name not in _STATIC:
                raise NotFound(f"no static file {name!r}")
            return Response(_static(name), content_type=_STATIC[name])
        if endpoint == "snapshot":
            return _json(view_of(self.collector.latest(), self._function(request)))
        if endpoint == "events":
            function = self._function(request)
            return Response(self._events(function), mimetype="text/event-stream", direct_passthrough=True)
        payload = self._payload(request)
        if endpoint == "inject":
            result = self.controls.inject(payload)
        elif endpoint == "traffic":
            result = self.controls.burst(payload)
        else:
            result = self.controls.restore(payload)
        return _json(result.as_json())

    def _function(self, request: Request) -> str | None:
        """The ``function`` a page asks for, once the collector watches it; None for the deployment's own."""
        function = request.args.get("function")
        if function is None:
            return None
        if not FUNCTION_NAME.match(function):
            raise ControlError("function must be a Lambda function name: 1-64 letters, digits, - or _")
        if not self.collector.watch(function):
            raise ControlError(f"function {function} is not protected (or too many are watched)", 404)
        return function

    def _payload(self, request: Request) -> dict[str, Any]:
        origin = request.headers.get("Origin")
        if origin is not None and origin not in self._local_origins():
            raise ControlError(f"refusing a control request from origin {origin!r}", 403)
        if request.headers.get("Sec-Fetch-Site", "same-origin") not in ("same-origin", "none"):
            raise ControlError("refusing a cross-site control request", 403)
        if request.mimetype != "application/json":
            raise ControlError("controls take a JSON body (Content-Type: application/json)", 415)
        try:
            body = read_bounded_body(request.environ, _MAX_BODY)
        except BodyTooLarge as error:
            raise ControlError(f"request body larger than {_MAX_BODY} bytes", 413) from error
        try:
            payload = json.loads(body.decode("utf-8", "replace") or "{}")
        except ValueError as error:
            raise ControlError(f"body is not valid JSON: {error}") from error
        if not isinstance(payload, dict):
            raise ControlError("body must be a JSON object")
        return payload

    def _events(self, function: str | None = None) -> Any:
        """Server-sent events: every new snapshot (of ``function``, see :func:`view_of`) as one ``snapshot``
        event; a comment keeps it alive. While the stream lasts the collector keeps ``function`` watched."""
        snapshot = self.collector.latest()
        version = int(snapshot.get("version", 0))
        yield b"retry: 1000\n\n"
        yield f"event: snapshot\ndata: {json.dumps(view_of(snapshot, function))}\n\n".encode()
        while not self.collector.stopped:
            newer = self.collector.wait(version, _KEEPALIVE_SECONDS)
            if function is not None:
                self.collector.watch(function)
            if newer is None:
                if self.collector.stopped:
                    break
                yield b": keepalive\n\n"
                continue
            version = int(newer.get("version", version))
            yield f"event: snapshot\ndata: {json.dumps(view_of(newer, function))}\n\n".encode()
        # The page says so instead of reconnecting forever.
        yield f"event: stopped\ndata: {json.dumps({'message': self.stopped_message})}\n\n".encode()


class DashboardServer:
    """A running dashboard: ``url``, ``port``, ``stop()``; a context manager."""

    def __init__(self, app: DashboardApp, server: BaseWSGIServer) -> None:
        self.app = app
        self._server = server
        self.port = int(server.server_port)
        self.url = f"http://127.0.0.1:{self.port}/"
        self._thread = threading.Thread(target=server.serve_forever, name="dashboard-http", daemon=True)
        self._thread.start()

    def stop(self, message: str | None = None) -> None:
        """Stop the collector, any burst and the server; close the socket. Open pages are told that it
        stopped, with ``message`` when given."""
        if message is not None:
            self.app.stopped_message = message
        self.app.collector.stop()
        self.app.controls.stop()
        self._server.shutdown()
        self._thread.join(timeout=10)
        self._server.server_close()

    def __enter__(self) -> DashboardServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_dashboard(
    target: AwsTarget,
    deployment: Deployment,
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    now: Any = None,
    restore: RestoreHook | None = None,
    traffic_url: str | None = None,
    interval: float = 0.75,
    window_periods: int = 30,
) -> DashboardServer:
    """Start the dashboard for ``deployment`` on ``target`` and return it once it serves.

    ``now`` is the cloud's clock (e.g. ``LocalCloud.clock.now``) when the caller has it; otherwise cloud
    time is inferred from the data. ``restore`` is the "terraform apply" hook (default: the Terraform
    driver on ``.selfheal/stack``); ``traffic_url`` defaults to the deployment's ``api_endpoint``.
    """
    if not is_loopback_host(host):
        raise ValueError(f"the dashboard binds to a loopback address only, got {host!r}")
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be from 0 to 65535, got {port!r}")
    if traffic_url is not None:
        deployment = replace(deployment, api_endpoint=traffic_url)
    controls = Controls(target, deployment, restore=restore, on_change=lambda: collector.poke())
    collector = Collector(
        LoopReader(target, deployment),
        now=now,
        interval=interval,
        window_periods=window_periods,
        extras=controls.status,
        fleet=FleetSource(target, deployment),
    )
    app = DashboardApp(collector, controls)
    try:
        server = BoundedWSGIServer(
            host,
            port,
            app,
            handler=_QuietHandler,
            max_connections=_MAX_CONNECTIONS,
            idle_timeout=_IDLE_TIMEOUT,
            header_timeout=_HEADER_TIMEOUT,
            body_timeout=_BODY_TIMEOUT,
        )
    except OSError as error:
        raise DashboardError(f"cannot listen on {host}:{port}: address in use or not allowed") from error
    app.port = int(server.server_port)
    try:
        collector.start()
    except BaseException:
        server.server_close()
        raise
    return DashboardServer(app, server)
