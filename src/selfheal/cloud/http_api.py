"""The HTTP API data plane (execute-api) of the local cloud: a Component mounted at ``/_api/``.

A request to ``{endpoint}/_api/{api_id}/{stage-path}`` is served like API Gateway serves an HTTP API:
the stage and route come from moto's apigatewayv2 backend, stage throttling applies, and the route's
``AWS_PROXY`` integration runs its Lambda function with a payload format 2.0 event. While the component
runs, moto reports ``{endpoint}/_api/{api_id}`` as every API's ``ApiEndpoint`` (``Api.to_json`` is replaced
through a :class:`~selfheal.cloud.moto_patches.MotoPatches` registry shared by the running data planes:
installed by the first to start, restored when the last stops).

Every request the data plane attributes to an API stage is recorded in the cloud's metrics publisher
(:meth:`~selfheal.cloud.metrics.MetricsPublisher.record_api_request`), which writes API Gateway's
``AWS/ApiGateway`` metrics (``Count``, ``4xx``, ``5xx``, ``Latency``, ``IntegrationLatency``) per ``ApiId``
and per ``ApiId`` + ``Stage`` in cloud time. Requests for no known API or stage are counted nowhere.
"""

from __future__ import annotations

import http
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from .errors import CloudError
from .gateway import StartResponse, WSGIEnvironment
from .http_api_event import (
    ApiRequest,
    ApiResponse,
    build_event,
    error_response,
    map_result,
    new_request_id,
)
from .http_api_routes import select_route, select_stage
from .http_api_throttle import Throttles, limits_for
from .metrics import MetricsPublisher
from .moto_patches import MotoPatches

if TYPE_CHECKING:
    from .protocol import Cloud

__all__ = ["MAX_BODY_BYTES", "MOUNT_PREFIX", "HttpApiDataPlane", "function_from_integration_uri"]

MOUNT_PREFIX = "/_api/"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's HTTP API payload quota

_MAX_DISCARD_BYTES = 64 * 1024 * 1024

_log = logging.getLogger(__name__)

_endpoint_lock = threading.Lock()
_endpoints: list[str] = []
_patches: MotoPatches | None = None  # installed while _endpoints is not empty


def _reporting_endpoint(original: Callable[[Any], dict[str, Any]]) -> Callable[[Any], dict[str, Any]]:
    def to_json(api: Any) -> dict[str, Any]:
        data = original(api)
        with _endpoint_lock:
            endpoint = _endpoints[-1] if _endpoints else None
        if endpoint is not None:
            data["apiEndpoint"] = f"{endpoint}{MOUNT_PREFIX}{api.api_id}"
        return data

    return to_json


def _report_endpoint(endpoint: str) -> None:
    """Make moto report ``endpoint``'s data plane as every API's ApiEndpoint (undone by _forget_endpoint)."""
    global _patches
    from moto.apigatewayv2.models import Api

    with _endpoint_lock:
        if _patches is None:
            patches = MotoPatches()
            patches.replace(
                Api,
                "to_json",
                _reporting_endpoint,
                reason="report the local data plane's URL as every HTTP API's ApiEndpoint",
            )
            patches.install()
            _patches = patches
        _endpoints.append(endpoint)


def _forget_endpoint(endpoint: str) -> None:
    global _patches

    with _endpoint_lock:
        if endpoint in _endpoints:
            _endpoints.remove(endpoint)
        if not _endpoints and _patches is not None:
            _patches.restore()
            _patches = None


def function_from_integration_uri(uri: str) -> str | None:
    """Return the function (ARN or name) an AWS_PROXY integration URI points at, or None.

    The URI is a Lambda function ARN or API Gateway's service form
    ``arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function-arn}/invocations``.
    """
    marker = ":lambda:path/2015-03-31/functions/"
    if marker in uri:
        inner = uri.split(marker, 1)[1]
        if not inner.endswith("/invocations"):
            return None
        uri = inner[: -len("/invocations")]
    if uri.startswith("arn:") and ":lambda:" in uri and ":function:" in uri:
        return uri
    return None


def _headers(environ: WSGIEnvironment) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:].replace("_", "-").lower()
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            name = key.replace("_", "-").lower()
        else:
            continue
        # WSGI carries header text as latin-1 code points; give the function the UTF-8 text sent.
        text = str(value).encode("latin-1", "replace").decode("utf-8", "replace")
        headers.append((name, text))
    return headers


@dataclass
class _Served:
    """Whose request it was (API, stage) and how long its integration took, for the API's metrics."""

    api_id: str = ""
    stage: str = ""
    integration_ms: float | None = None


class _BadRequest(Exception):
    def __init__(self, response: ApiResponse) -> None:
        super().__init__(response.status)
        self.response = response


def _discard(stream: Any, length: int) -> None:
    """Read and drop a refused body, so the client is not cut off mid-upload (up to a sane bound)."""
    remaining = min(length, _MAX_DISCARD_BYTES)
    while remaining > 0:
        chunk = stream.read(min(remaining, 1 << 20))
        if not chunk:
            return
        remaining -= len(chunk)


def _read_body(environ: WSGIEnvironment) -> bytes:
    stream = environ.get("wsgi.input")
    length_text = str(environ.get("CONTENT_LENGTH") or "").strip()
    if stream is None:
        return b""
    if length_text:
        if not length_text.isdigit():
            raise _BadRequest(error_response(400, "Bad Request"))
        length = int(length_text)
        if length > MAX_BODY_BYTES:
            _discard(stream, length)
            raise _BadRequest(error_response(413, "Request Entity Too Large"))
        body: bytes = stream.read(length) if length else b""
        return body
    if environ.get("wsgi.input_terminated"):
        body = stream.read(MAX_BODY_BYTES + 1)
        if len(body) > MAX_BODY_BYTES:
            raise _BadRequest(error_response(413, "Request Entity Too Large"))
        return body
    return b""


def _raw_path(environ: WSGIEnvironment) -> str:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if isinstance(raw, str) and raw.startswith("/"):
        return raw.split("?", 1)[0]
    path = str(environ.get("PATH_INFO") or "/").encode("latin-1", "replace")
    return quote(path, safe="/:@!$&'()*+,;=-._~")


def _domain_name(host: str, api_id: str, region: str) -> str:
    """Return the domain name to report: the Host sent, unless it is an address (then AWS's own form)."""
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    if not name or name == "localhost" or name.replace(".", "").isdigit() or name.startswith("["):
        return f"{api_id}.execute-api.{region}.amazonaws.com"
    return name


class HttpApiDataPlane:
    """The Component serving HTTP APIs defined in moto at ``{endpoint}/_api/{api_id}/...``."""

    def __init__(self) -> None:
        self._cloud: Cloud | None = None
        self._throttles: Throttles | None = None
        self._endpoint: str | None = None
        self._metrics: MetricsPublisher | None = None

    def start(self, cloud: Cloud) -> None:
        """Mount the data plane and report its URL as every API's ApiEndpoint."""
        self._cloud = cloud
        # The cloud's publisher (LocalCloud.metrics); a cloud without one gets no AWS/ApiGateway metrics.
        metrics = getattr(cloud, "metrics", None)
        self._metrics = metrics if isinstance(metrics, MetricsPublisher) else None
        self._throttles = Throttles(cloud.clock.now)
        self._endpoint = cloud.endpoint
        _report_endpoint(cloud.endpoint)
        cloud.mount(MOUNT_PREFIX, self)

    def stop(self) -> None:
        """Stop answering and give moto back its own ApiEndpoint."""
        if self._endpoint is not None:
            _forget_endpoint(self._endpoint)
        self._cloud = None
        self._endpoint = None
        self._metrics = None

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request_id = new_request_id()
        started = time.perf_counter()
        served = _Served()
        try:
            response = self.handle(environ, request_id, served)
        except Exception:
            # A request must never take the endpoint down; log it and answer as API Gateway would.
            _log.exception("HTTP API request %s failed inside the local cloud", request_id)
            response = error_response(500, "Internal Server Error")
        metrics = self._metrics
        if metrics is not None and served.stage:
            latency_ms = (time.perf_counter() - started) * 1000.0
            metrics.record_api_request(
                served.api_id, served.stage, response.status, latency_ms, served.integration_ms
            )
        headers = [(name, value) for name, value in response.headers if name.lower() != "content-length"]
        headers.append(("Content-Length", str(len(response.body))))
        headers.append(("apigw-requestid", request_id))
        try:
            reason = http.HTTPStatus(response.status).phrase
        except ValueError:
            reason = "Unknown"
        start_response(f"{response.status} {reason}", headers)
        return [response.body]

    def handle(self, environ: WSGIEnvironment, request_id: str, served: _Served | None = None) -> ApiResponse:
        """Serve one request and return the response (never raises for bad input).

        ``served`` learns the API and stage the request was for, and how long the integration took.
        """
        if served is None:
            served = _Served()
        cloud = self._cloud
        if cloud is None or self._throttles is None:
            return error_response(503, "Service Unavailable")
        try:
            body = _read_body(environ)
        except _BadRequest as bad:
            return bad.response
        path = str(environ.get("PATH_INFO") or "")
        if not path.startswith(MOUNT_PREFIX):
            return error_response(404, "Not Found")
        api_id, _, api_path = path[len(MOUNT_PREFIX) :].partition("/")
        api_path = "/" + api_path
        backend = cloud.backend("apigatewayv2")
        api = backend.apis.get(api_id) if api_id else None
        if api is None or api.protocol_type != "HTTP":
            return error_response(404, "Not Found")
        if api.disable_execute_api_endpoint is True:
            return error_response(403, "Forbidden")
        stage_match = select_stage(list(api.stages), api_path)
        if stage_match is None:
            return error_response(404, "Not Found")
        stage = api.stages.get(stage_match.stage)
        if stage is None:
            return error_response(404, "Not Found")
        served.api_id, served.stage = api_id, str(stage.name)
        method = str(environ.get("REQUEST_METHOD") or "GET").upper()
        routes = {route.route_key: route for route in list(api.routes.values())}
        match = select_route(list(routes), method, stage_match.route_path)
        if match is None:
            return error_response(404, "Not Found")
        limits = limits_for(stage.default_route_settings, stage.route_settings, match.route_key)
        if not self._throttles.allow(api_id, stage.name, match.route_key, limits):
            return error_response(429, "Too Many Requests")
        integration = self._integration(api, routes[match.route_key])
        if integration is None:
            return error_response(500, "Internal Server Error")
        function = function_from_integration_uri(str(integration.integration_uri or ""))
        if function is None:
            _log.warning(
                "API %s route %r: integration URI %r is not a Lambda function",
                api_id,
                match.route_key,
                integration.integration_uri,
            )
            return error_response(500, "Internal Server Error")
        raw_query = str(environ.get("QUERY_STRING") or "")
        headers = _headers(environ)
        host = next((value for name, value in headers if name == "host"), "")
        request = ApiRequest(
            method=method,
            raw_path=_raw_path(environ)[len(MOUNT_PREFIX) + len(api_id) :] or "/",
            raw_query=raw_query,
            headers=headers,
            body=body,
            source_ip=str(environ.get("REMOTE_ADDR") or "127.0.0.1"),
            protocol=str(environ.get("SERVER_PROTOCOL") or "HTTP/1.1"),
            port=int(str(environ.get("SERVER_PORT") or "80") or 80),
        )
        event = build_event(
            request,
            route_key=match.route_key,
            route_path=api_path,
            path_parameters=match.path_parameters,
            api_id=api_id,
            account_id=cloud.account_id,
            stage=stage.name,
            stage_variables=dict(stage.stage_variables or {}),
            domain_name=_domain_name(host, api_id, cloud.region),
            request_id=request_id,
            epoch_seconds=cloud.clock.now(),
        )
        integration_started = time.perf_counter()
        try:
            return self._invoke(cloud, function, event)
        finally:
            served.integration_ms = (time.perf_counter() - integration_started) * 1000.0

    @staticmethod
    def _integration(api: Any, route: Any) -> Any:
        target = str(route.target or "")
        if not target.startswith("integrations/"):
            return None
        integration = api.integrations.get(target[len("integrations/") :])
        if integration is None or integration.integration_type != "AWS_PROXY":
            return None
        if (integration.payload_format_version or "2.0") != "2.0":
            _log.warning("API %s: only payload format 2.0 is served by the local cloud", api.api_id)
            return None
        return integration

    @staticmethod
    def _invoke(cloud: Cloud, function: str, event: dict[str, Any]) -> ApiResponse:
        try:
            result = cloud.lambdas.invoke(function, json.dumps(event).encode())
        except CloudError as error:
            # API Gateway turns every failure to invoke (throttling included) into a 500.
            _log.warning("invoking %s for the HTTP API failed: %s (%s)", function, error.code, error.message)
            return error_response(500, "Internal Server Error")
        return map_result(result.payload, result.function_error)
