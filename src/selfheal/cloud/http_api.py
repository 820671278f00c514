"""The HTTP API data plane (execute-api) of the local cloud: a Component mounted at ``/_api/``.

A request to ``{endpoint}/_api/{api_id}/{stage-path}`` is served like API Gateway serves an HTTP API:
the stage and route come from moto's apigatewayv2 backend, stage throttling applies, and the route's
``AWS_PROXY`` integration runs its Lambda function with a payload format 1.0 or 2.0 event. An API's CORS
configuration (:mod:`.http_api_cors`) and a stage's access logs (:mod:`.http_api_access_log`) apply too.
While the component runs, moto reports ``{endpoint}/_api/{api_id}`` as every API's ``ApiEndpoint``
(``Api.to_json`` is replaced through a :class:`~selfheal.cloud.moto_patches.MotoPatches` registry shared
by the running data planes: installed by the first to start, restored when the last stops).

Every request the data plane attributes to an API stage is recorded in the cloud's metrics publisher
(:meth:`~selfheal.cloud.metrics.MetricsPublisher.record_api_request`), which writes API Gateway's
``AWS/ApiGateway`` metrics (``Count``, ``4xx``, ``5xx``, ``Latency``, ``IntegrationLatency``) per ``ApiId``
and per ``ApiId`` + ``Stage`` in cloud time. Requests for no known API or stage are counted nowhere.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from . import json_codec
from .errors import CloudError
from .gateway import StartResponse, WSGIEnvironment
from .http_api_access_log import AccessRecord, write_access_log
from .http_api_cors import is_preflight, policy_for, strip_cors_headers
from .http_api_event import (
    ApiRequest,
    ApiResponse,
    RequestContext,
    build_event,
    error_response,
    map_result,
    new_request_id,
)
from .http_api_routes import find_api, select_route, select_stage
from .http_api_throttle import Throttles, limits_for
from .http_api_v1_payload import build_v1_event, map_v1_result
from .http_api_wsgi import BadContentLength, BodyTooLarge, api_request, read_body, respond
from .lambda_logs import LogShipper
from .metrics import MetricsPublisher
from .moto_patches import MotoPatches
from .request_guard import origin_is_loopback

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


@dataclass
class _Served:
    """What the request was (API, stage, route) and what happened to it, for metrics and access logs."""

    api_id: str = ""
    stage: str = ""
    integration_ms: float | None = None
    access_log: Any = None  # the stage's accessLogSettings
    record: AccessRecord | None = None
    region: str | None = None  # the API's region


def _discard(stream: Any, length: int) -> None:
    """Read and drop a refused body, so the client is not cut off mid-upload (up to a sane bound)."""
    remaining = min(length, _MAX_DISCARD_BYTES)
    while remaining > 0:
        chunk = stream.read(min(remaining, 1 << 20))
        if not chunk:
            return
        remaining -= len(chunk)


def _read_body(environ: WSGIEnvironment) -> bytes | ApiResponse:
    """The body, or API Gateway's answer to one it refuses."""
    try:
        return read_body(environ, MAX_BODY_BYTES)
    except BadContentLength:
        return error_response(400, "Bad Request")
    except BodyTooLarge as refused:
        if refused.declared is not None:
            _discard(environ["wsgi.input"], refused.declared)
        return error_response(413, "Request Entity Too Large")


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

    #: The asyncio front may serve this app's requests on its loop (see cloud/cooperative.py): nothing on
    #: its path blocks except through the cooperative waits.
    serves_on_loop = True

    def __init__(self) -> None:
        self._cloud: Cloud | None = None
        self._throttles: Throttles | None = None
        self._endpoint: str | None = None
        self._metrics: MetricsPublisher | None = None
        self._logs: LogShipper | None = None

    def start(self, cloud: Cloud) -> None:
        """Mount the data plane and report its URL as every API's ApiEndpoint."""
        self._cloud = cloud
        # The cloud's publisher (LocalCloud.metrics); a cloud without one gets no AWS/ApiGateway metrics.
        metrics = getattr(cloud, "metrics", None)
        self._metrics = metrics if isinstance(metrics, MetricsPublisher) else None
        # The cloud's log shipper (LocalCloud.logs) writes access logs; without one a stage logs nothing.
        logs = getattr(cloud, "logs", None)
        self._logs = logs if isinstance(logs, LogShipper) else None
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
        self._logs = None

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
        latency_ms = (time.perf_counter() - started) * 1000.0
        metrics = self._metrics
        if metrics is not None and served.stage:
            metrics.record_api_request(
                served.api_id,
                served.stage,
                response.status,
                latency_ms,
                served.integration_ms,
                region=served.region,
            )
        if served.access_log and served.record is not None and self._logs is not None:
            self._access_log(served, response, latency_ms)
        return respond(start_response, response, ("apigw-requestid", request_id))

    def _access_log(self, served: _Served, response: ApiResponse, latency_ms: float) -> None:
        record = served.record
        logs = self._logs
        assert record is not None and logs is not None
        record.status = response.status
        record.response_length = len(response.body)
        record.response_latency_ms = latency_ms
        record.integration_latency_ms = served.integration_ms
        record.error_message = response.error
        try:
            region = served.region

            def write(group: str, stream: str, line: str, ms: int) -> None:
                logs.write(group, stream, line, ms, region=region)

            write_access_log(served.access_log, record, write)
        except Exception:
            # An access log must never fail the request it logs.
            _log.exception("access log of HTTP API request %s could not be written", record.request_id)

    def cors_covers(self, environ: WSGIEnvironment) -> bool:
        """Whether the API this request is for has a CORS configuration that allows its ``Origin``.

        For the gateway: only such requests may bypass its own browser checks, and their
        ``Access-Control-*`` headers are the API's, not the cloud's.
        """
        cloud = self._cloud
        origin = str(environ.get("HTTP_ORIGIN") or "")
        path = str(environ.get("PATH_INFO") or "")
        if cloud is None or not origin or not path.startswith(MOUNT_PREFIX):
            return False
        api_id = path[len(MOUNT_PREFIX) :].partition("/")[0]
        api, _ = find_api(cloud.backend("apigatewayv2"), api_id)
        policy = policy_for(getattr(api, "cors_configuration", None)) if api is not None else None
        if policy is None or not policy.allows(origin):
            return False
        # The cloud runs on a developer's machine: a wildcard opens the API to loopback pages only; any
        # other web origin must be listed by name in allow_origins.
        return policy.names(origin) or origin_is_loopback(origin)

    def handle(self, environ: WSGIEnvironment, request_id: str, served: _Served | None = None) -> ApiResponse:
        """Serve one request and return the response (never raises for bad input).

        ``served`` learns the API, stage and route the request was for, and how its integration went.
        """
        if served is None:
            served = _Served()
        cloud = self._cloud
        if cloud is None or self._throttles is None:
            return error_response(503, "Service Unavailable")
        body = _read_body(environ)
        if isinstance(body, ApiResponse):
            return body
        path = str(environ.get("PATH_INFO") or "")
        if not path.startswith(MOUNT_PREFIX):
            return error_response(404, "Not Found")
        api_id, _, api_path = path[len(MOUNT_PREFIX) :].partition("/")
        api_path = "/" + api_path
        api, region = find_api(cloud.backend("apigatewayv2"), api_id)
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
        served.api_id, served.stage, served.region = api_id, str(stage.name), region
        request = api_request(environ, _raw_path(environ)[len(MOUNT_PREFIX) + len(api_id) :] or "/", body)
        method, headers = request.method, request.headers
        origin = next((value for name, value in headers if name == "origin"), "")
        host = next((value for name, value in headers if name == "host"), "")
        domain_name = _domain_name(host, api_id, region)
        epoch_seconds = cloud.clock.now()
        served.access_log = stage.access_log_settings
        if served.access_log:
            served.record = AccessRecord(
                api_id=api_id,
                account_id=cloud.account_id,
                request_id=request_id,
                epoch_seconds=epoch_seconds,
                method=method,
                path=api_path,
                protocol=request.protocol,
                source_ip=request.source_ip,
                user_agent=next((value for name, value in headers if name == "user-agent"), ""),
                domain_name=domain_name,
                stage=str(stage.name),
                request_length=len(body),
            )
        cors = policy_for(api.cors_configuration)
        if cors is not None and is_preflight(method, headers):
            # API Gateway answers preflights itself when CORS is configured, whatever the routes.
            return ApiResponse(204, cors.preflight_headers(origin))
        # Route key and path parameters are the matched route's (see _route).
        context = RequestContext(
            route_key="",
            route_path=api_path,
            path_parameters={},
            api_id=api_id,
            account_id=cloud.account_id,
            stage=str(stage.name),
            stage_variables=dict(stage.stage_variables or {}),
            domain_name=domain_name,
            request_id=request_id,
            epoch_seconds=epoch_seconds,
        )
        response = self._route(cloud, api, stage, stage_match.route_path, request, served, context)
        if cors is not None and origin:
            return replace(
                response, headers=strip_cors_headers(response.headers) + cors.response_headers(origin)
            )
        return response

    def _route(
        self,
        cloud: Cloud,
        api: Any,
        stage: Any,
        route_path: str,
        request: ApiRequest,
        served: _Served,
        context: RequestContext,
    ) -> ApiResponse:
        """Select the route, apply throttling and run its integration."""
        assert self._throttles is not None
        api_id = context.api_id
        routes = {route.route_key: route for route in list(api.routes.values())}
        match = select_route(list(routes), request.method, route_path)
        if match is None:
            return error_response(404, "Not Found")
        if served.record is not None:
            served.record.route_key = match.route_key
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
        version = integration.payload_format_version or "1.0"
        build = build_v1_event if version == "1.0" else build_event
        context = replace(context, route_key=match.route_key, path_parameters=match.path_parameters)
        event = build(request, context)
        integration_started = time.perf_counter()
        try:
            return self._invoke(cloud, function, event, version, served.record)
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
        if (integration.payload_format_version or "1.0") not in ("1.0", "2.0"):
            _log.warning(
                "API %s: payload format %r is not one API Gateway knows",
                api.api_id,
                integration.payload_format_version,
            )
            return None
        return integration

    @staticmethod
    def _invoke(
        cloud: Cloud, function: str, event: dict[str, Any], version: str, record: AccessRecord | None
    ) -> ApiResponse:
        try:
            result = cloud.lambdas.invoke(function, json_codec.dumps(event), json_payload=True)
        except CloudError as error:
            # API Gateway turns every failure to invoke (throttling included) into a 500.
            _log.warning("invoking %s for the HTTP API failed: %s (%s)", function, error.code, error.message)
            if record is not None:
                record.integration_error = f"{error.code}: {error.message}"
            return error_response(500, "Internal Server Error")
        mapped = (map_v1_result if version == "1.0" else map_result)(result.payload, result.function_error)
        if record is not None:
            record.integration_status = result.status_code
            record.integration_request_id = result.request_id
            if result.function_error:
                record.integration_error = f"The Lambda function returned an error ({result.function_error})"
            elif mapped.error:
                record.integration_error = "The Lambda function returned a malformed response"
            else:
                record.function_status = mapped.status
        return mapped
