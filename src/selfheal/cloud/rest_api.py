"""The REST API (API Gateway v1) data plane of the local cloud: a Component mounted at ``/_restapi/``.

A request to ``{endpoint}/_restapi/{rest_api_id}/{stage}/{path}`` is served as API Gateway serves
``https://{rest_api_id}.execute-api.{region}.amazonaws.com/{stage}/{path}``: the stage and the API's
resources and methods come from moto's ``apigateway`` backend; the most specific resource wins (a literal
beats ``{var}``, which beats a greedy ``{proxy+}``; a method beats ``ANY``); the method's ``AWS_PROXY``
integration runs its Lambda function with the Lambda proxy event (payload format 1.0) and maps its
result back. No matching resource or method is API Gateway's 403 ``Missing Authentication Token``; an
unknown stage its 403 ``Forbidden``; a function error or a malformed result its 502 ``Internal server
error``; a function whose resource policy does not let ``apigateway.amazonaws.com`` invoke it for the
request's source ARN, 500 (:mod:`.rest_api_permissions`). Only ``AWS_PROXY`` to Lambda with
``authorization = "NONE"`` is served: anything else answers 500 and logs one line naming what the local
cloud does not support.

A stage serves its deployment's snapshot of the API (:mod:`.rest_api_deployments`), as on AWS: an edit
shows only after a new deployment.

Every request for a known stage is counted in ``AWS/ApiGateway`` per ``ApiName`` and ``ApiName`` + ``Stage``
(:mod:`.rest_api_metrics`). The Terraform provider gives a stage's ``invoke_url`` as this URL.
"""

from __future__ import annotations

import base64
import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import json_codec
from .errors import CloudError
from .gateway import StartResponse, WSGIEnvironment
from .http_api import function_from_integration_uri
from .http_api_event import ApiRequest, ApiResponse, RequestContext, error_response
from .http_api_routes import find_in_account, select_route
from .http_api_v1_payload import build_v1_event, map_v1_result
from .http_api_wsgi import BadContentLength, BodyTooLarge, api_request, read_body, respond
from .rest_api_deployments import Route, deployed_routes, start_snapshots, stop_snapshots
from .rest_api_metrics import RestApiMetrics
from .rest_api_permissions import may_invoke, source_arn

if TYPE_CHECKING:
    from .protocol import Cloud

__all__ = ["MAX_BODY_BYTES", "MOUNT_PREFIX", "RestApiDataPlane", "build_rest_event"]

MOUNT_PREFIX = "/_restapi/"
MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's REST API payload quota

_log = logging.getLogger(__name__)


def _missing_token() -> ApiResponse:
    return error_response(403, "Missing Authentication Token")


def _server_error(status: int = 500) -> ApiResponse:
    # REST APIs spell it with a lower-case "server" (HTTP APIs: "Internal Server Error").
    return error_response(status, "Internal server error")


def build_rest_event(
    request: ApiRequest,
    context: RequestContext,
    *,
    resource_id: str,
    binary_media_types: Iterable[str] = (),
) -> dict[str, Any]:
    """The Lambda proxy event of a REST API: payload format 1.0 without ``version``, with the resource's
    id, the stage-prefixed ``requestContext.path`` and no authorizer (``authorization = "NONE"``).

    ``context.route_key`` is ``{method} {resource path}`` (the method sent, even for an ``ANY`` method) and
    ``context.route_path`` the path below the stage. The body is text unless its ``Content-Type`` is one of
    the API's ``binary_media_types`` (then base64), as REST APIs decide it.
    """
    event = build_v1_event(request, context)
    event.pop("version", None)
    if request.body:
        content_type = (event["multiValueHeaders"].get("content-type") or [""])[-1]
        binary = _is_binary(content_type, binary_media_types)
        if binary:
            event["body"] = base64.b64encode(request.body).decode("ascii")
        else:
            event["body"] = request.body.decode("utf-8", "replace")
        event["isBase64Encoded"] = binary
    request_context = event["requestContext"]
    request_context.pop("authorizer", None)
    request_context["resourceId"] = resource_id
    request_context["path"] = f"/{context.stage}{context.route_path}"
    return event


def _is_binary(content_type: str, binary_media_types: Iterable[str]) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    for pattern in binary_media_types:
        kind, _, subtype = pattern.strip().lower().partition("/")
        if pattern.strip() == "*/*" or (
            media.partition("/")[0] == kind and subtype in ("*", media.partition("/")[2])
        ):
            return True
    return False


def _find_rest_api(backend: Any, api_id: str) -> tuple[Any, str]:
    """The REST API ``api_id`` and its region, in any region of ``backend``'s account."""
    from moto.apigateway.models import apigateway_backends

    return find_in_account(backend, api_id, apigateway_backends)


def _lambda_backend(cloud: Cloud, function_arn: str) -> Any:
    """moto's Lambda backend of the region ``function_arn`` names (the cloud's for a bare name)."""
    from moto.awslambda.utils import get_backend

    parts = function_arn.split(":")
    region = parts[3] if function_arn.startswith("arn:") and len(parts) > 3 and parts[3] else cloud.region
    return get_backend(cloud.account_id, region)


def _domain_name(api_id: str, region: str) -> str:
    return f"{api_id}.execute-api.{region}.amazonaws.com"


@dataclass
class _Served:
    api_name: str = ""
    stage: str = ""
    region: str | None = None
    integration_ms: float | None = None


class RestApiDataPlane:
    """The Component serving moto's REST APIs at ``{endpoint}/_restapi/{rest_api_id}/{stage}/...``."""

    def __init__(self) -> None:
        self._cloud: Cloud | None = None
        self._metrics: RestApiMetrics | None = None

    def start(self, cloud: Cloud) -> None:
        """Mount the data plane and start its metrics (each API's in its own region's CloudWatch)."""
        self._cloud = cloud
        self._metrics = RestApiMetrics(cloud.clock, lambda: cloud.backend("cloudwatch"))
        self._metrics.start()
        start_snapshots()
        cloud.mount(MOUNT_PREFIX, self)

    def stop(self) -> None:
        """Stop answering; flush the pending metrics; give moto back its CreateDeployment."""
        if self._metrics is not None:
            self._metrics.stop()
            stop_snapshots()
        self._cloud = None
        self._metrics = None

    def url(self, rest_api_id: str, stage: str) -> str:
        """The local equivalent of ``https://{rest_api_id}.execute-api.{region}.amazonaws.com/{stage}``."""
        if self._cloud is None:
            raise RuntimeError("the REST API data plane is not running")
        return f"{self._cloud.endpoint}{MOUNT_PREFIX}{rest_api_id}/{stage}"

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request_id = str(uuid.uuid4())
        started = time.perf_counter()
        served = _Served()
        try:
            response = self.handle(environ, request_id, served)
        except Exception:
            # A request must never take the endpoint down; log it and answer as API Gateway would.
            _log.exception("REST API request %s failed inside the local cloud", request_id)
            response = _server_error()
        metrics = self._metrics
        if metrics is not None and served.stage:
            latency_ms = (time.perf_counter() - started) * 1000.0
            metrics.record(
                served.api_name,
                served.stage,
                response.status,
                latency_ms,
                served.integration_ms,
                region=served.region,
            )
        return respond(start_response, response, ("x-amzn-RequestId", request_id))

    def handle(self, environ: WSGIEnvironment, request_id: str, served: _Served | None = None) -> ApiResponse:
        """Serve one request and return the response (never raises for bad input)."""
        served = served if served is not None else _Served()
        cloud = self._cloud
        if cloud is None:
            return error_response(503, "Service Unavailable")
        path = str(environ.get("PATH_INFO") or "")
        if not path.startswith(MOUNT_PREFIX):
            return error_response(404, "Not Found")
        api_id, _, rest = path[len(MOUNT_PREFIX) :].partition("/")
        api, region = _find_rest_api(cloud.backend("apigateway"), api_id)
        if api is None:
            # On AWS the host name of an API that does not exist does not resolve.
            return error_response(404, "Not Found")
        stage_name, _, resource_path = rest.partition("/")
        stage = api.stages.get(stage_name) if stage_name else None
        if api.disableExecuteApiEndpoint is True or stage is None:
            return error_response(403, "Forbidden")
        served.api_name, served.stage, served.region = str(api.name), str(stage.name), region
        try:
            body = read_body(environ, MAX_BODY_BYTES)
        except (BadContentLength, BodyTooLarge):
            return error_response(413, "Request Entity Too Large")
        method = str(environ.get("REQUEST_METHOD") or "GET").upper()
        resource_path = "/" + resource_path
        routes = deployed_routes(api, stage.deployment_id)
        match = select_route(list(routes), method, resource_path)
        if match is None:
            return _missing_token()
        route = routes[match.route_key]
        function = self._function(api_id, route)
        if function is None:
            return _server_error()
        request = api_request(environ, resource_path, body)
        context = RequestContext(
            route_key=f"{method} {route.resource_path}",
            route_path=resource_path,
            path_parameters=match.path_parameters,
            api_id=api_id,
            account_id=cloud.account_id,
            stage=str(stage.name),
            stage_variables={str(k): str(v) for k, v in (stage.variables or {}).items()},
            domain_name=_domain_name(api_id, region),
            request_id=request_id,
            epoch_seconds=cloud.clock.now(),
        )
        event = build_rest_event(
            request,
            context,
            resource_id=route.resource_id,
            binary_media_types=[str(kind).replace("~1", "/") for kind in api.binaryMediaTypes or ()],
        )
        source = source_arn(region, cloud.account_id, api_id, str(stage.name), method, resource_path)
        if not may_invoke(_lambda_backend(cloud, function), function, source, cloud.account_id):
            _log.warning(
                "REST API %s: execution failed due to configuration error: Invalid permissions on Lambda "
                "function %s (no statement of its policy lets %s invoke it as %s)",
                api_id,
                function,
                "apigateway.amazonaws.com",
                source,
            )
            return _server_error()
        integration_started = time.perf_counter()
        try:
            return self._invoke(cloud, function, event)
        finally:
            served.integration_ms = (time.perf_counter() - integration_started) * 1000.0

    @staticmethod
    def _function(api_id: str, route: Route) -> str | None:
        """The function the route's integration invokes, or None (logged) when the local cloud cannot."""
        where = f"REST API {api_id} {route.http_method} {route.resource_path}"
        if route.authorization != "NONE" or route.api_key_required:
            what = (
                f"authorization {route.authorization!r}"
                if route.authorization != "NONE"
                else "api_key_required"
            )
            _log.warning("%s: %s is not supported by the local cloud", where, what)
            return None
        if route.integration_type != "AWS_PROXY":
            _log.warning(
                "%s: integration type %r is not supported by the local cloud (only AWS_PROXY to Lambda)",
                where,
                route.integration_type,
            )
            return None
        function = function_from_integration_uri(route.uri or "")
        if function is None:
            _log.warning("%s: integration URI %r is not a Lambda function", where, route.uri)
        return function

    @staticmethod
    def _invoke(cloud: Cloud, function: str, event: dict[str, Any]) -> ApiResponse:
        try:
            result = cloud.lambdas.invoke(function, json_codec.dumps(event), json_payload=True)
        except CloudError as error:
            _log.warning("invoking %s for the REST API failed: %s (%s)", function, error.code, error.message)
            return _server_error()
        mapped = map_v1_result(result.payload, result.function_error)
        if result.function_error or mapped.error:
            # A function error or a result that is not a proxy response: API Gateway's 502.
            return _server_error(502)
        return mapped
