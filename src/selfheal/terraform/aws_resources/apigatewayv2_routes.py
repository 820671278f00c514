"""API Gateway v2 (HTTP APIs): ``aws_apigatewayv2_route`` and ``aws_apigatewayv2_stage``.

IDs as in the real provider: the route ID; the stage name. Import IDs: ``API-ID/ROUTE-ID``,
``API-ID/STAGE-NAME``. A stage's ``invoke_url`` is derived from its API's ``api_endpoint`` as the real
provider derives it from AWS's. APIs and integrations are in :mod:`.apigatewayv2`.
"""

from __future__ import annotations

import re
from typing import Any

from selfheal.terraform.aws_resources import register
from selfheal.terraform.aws_resources._apigatewayv2 import ApiChild, retag
from selfheal.terraform.aws_resources._common import add_tags, error_code, is_set, put_fields
from selfheal.terraform.aws_resources._regional import RegionalResource, empty_as
from selfheal.terraform.resource import ResourceError, State, Unknown

__all__ = ["ApiGatewayV2Route", "ApiGatewayV2Stage"]


_ROUTE_FIELDS = {
    "api_key_required": "ApiKeyRequired", "authorization_type": "AuthorizationType",
    "authorizer_id": "AuthorizerId", "model_selection_expression": "ModelSelectionExpression",
    "operation_name": "OperationName", "request_models": "RequestModels", "route_key": "RouteKey",
    "route_response_selection_expression": "RouteResponseSelectionExpression", "target": "Target",
}  # fmt: skip


@register
class ApiGatewayV2Route(ApiChild):
    """A route of an API (id: the route ID)."""

    type_name = "aws_apigatewayv2_route"
    optional_computed = frozenset({"api_key_required", "authorization_type"} | RegionalResource.REGION)
    defaults = {"api_key_required": False, "authorization_type": "NONE"}
    force_new = frozenset({"api_id"})
    importable = True
    child = "ROUTE-ID"

    def create(self, planned: State) -> State:
        args: dict[str, Any] = {"ApiId": planned["api_id"]}
        put_fields(args, planned, _ROUTE_FIELDS)
        if planned.get("authorization_scopes"):
            args["AuthorizationScopes"] = sorted(planned["authorization_scopes"])
        planned["id"] = self.client("apigatewayv2").create_route(**args)["RouteId"]
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        got = self.found(
            lambda: self.client("apigatewayv2").get_route(ApiId=current["api_id"], RouteId=current["id"])
        )
        if got is None:
            return None
        state: State = {**current, "id": got["RouteId"], "region": self.region_of(current)}
        for tf_name, aws_name in _ROUTE_FIELDS.items():
            state[tf_name] = empty_as(got.get(aws_name), current.get(tf_name))
        state["api_key_required"] = bool(got.get("ApiKeyRequired", False))
        state["authorization_type"] = got.get("AuthorizationType") or "NONE"
        scopes = got.get("AuthorizationScopes")
        state["authorization_scopes"] = (
            sorted(scopes) if scopes else current.get("authorization_scopes") or None
        )
        return state

    def update(self, prior: State, planned: State) -> State:
        args: dict[str, Any] = {}
        for tf_name, aws_name in _ROUTE_FIELDS.items():
            new = planned.get(tf_name)
            if new != prior.get(tf_name):
                args[aws_name] = new if new is not None else ""
        if planned.get("authorization_scopes") != prior.get("authorization_scopes"):
            args["AuthorizationScopes"] = sorted(planned.get("authorization_scopes") or [])
        if args:
            self.client("apigatewayv2").update_route(ApiId=prior["api_id"], RouteId=prior["id"], **args)
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("apigatewayv2").delete_route(ApiId=prior["api_id"], RouteId=prior["id"])


_ROUTE_SETTINGS = {
    "data_trace_enabled": "DataTraceEnabled", "detailed_metrics_enabled": "DetailedMetricsEnabled",
    "logging_level": "LoggingLevel", "throttling_burst_limit": "ThrottlingBurstLimit",
    "throttling_rate_limit": "ThrottlingRateLimit",
}  # fmt: skip
_ROUTE_SETTING_DEFAULTS = {"data_trace_enabled": False, "detailed_metrics_enabled": False}
_NOT_IMPLEMENTED = ("404", "500", "InternalFailure", "NotImplemented")
_LOG_GROUP_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:logs:[a-z0-9-]+:\d{12}:log-group:[^:*]+(:\*)?$")


def _validate_access_logs(block: State) -> None:
    """API Gateway's own checks of ``accessLogSettings`` (a BadRequestException on AWS)."""
    arn, text = block.get("destination_arn"), block.get("format")
    if is_set(arn) and not _LOG_GROUP_ARN.match(str(arn)):
        raise ResourceError(
            f"access_log_settings.destination_arn must be a CloudWatch Logs log group ARN, got {arn}",
            attribute="access_log_settings",
        )
    if is_set(text) and "$context.requestId" not in text and "$context.extendedRequestId" not in text:
        raise ResourceError(
            "access_log_settings.format must include at least $context.requestId or "
            "$context.extendedRequestId",
            attribute="access_log_settings",
        )


def _expand_route_settings(block: State) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for tf_name, aws_name in _ROUTE_SETTINGS.items():
        value = block.get(tf_name)
        if is_set(value):
            if tf_name == "throttling_burst_limit":
                value = int(value)
            elif tf_name == "throttling_rate_limit":
                value = float(value)
            out[aws_name] = value
    return out


def _flatten_route_settings(got: dict[str, Any], current: State | None) -> State:
    current = current or {}
    out: State = {}
    for tf_name, aws_name in _ROUTE_SETTINGS.items():
        value = got.get(aws_name)
        if value is None:
            value = _ROUTE_SETTING_DEFAULTS.get(tf_name, current.get(tf_name))
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        out[tf_name] = value
    return out


@register
class ApiGatewayV2Stage(ApiChild):
    """A stage of an API (id: the stage name)."""

    type_name = "aws_apigatewayv2_stage"
    optional_computed = frozenset(
        {"auto_deploy", "deployment_id", "default_route_settings.data_trace_enabled",
         "default_route_settings.detailed_metrics_enabled", "default_route_settings.logging_level",
         "route_settings.data_trace_enabled", "route_settings.detailed_metrics_enabled",
         "route_settings.logging_level"} | RegionalResource.TAGS_ALL | RegionalResource.REGION
    )  # fmt: skip
    defaults = {
        "auto_deploy": False,
        "default_route_settings.data_trace_enabled": False,
        "default_route_settings.detailed_metrics_enabled": False,
    }
    force_new = frozenset({"api_id", "name"})
    importable = True
    child = "STAGE-NAME"

    def validate(self, config: State) -> None:
        super().validate(config)
        blocks = config.get("access_log_settings")
        for block in blocks if isinstance(blocks, list) else []:
            if isinstance(block, dict):
                _validate_access_logs(block)

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        for item in planned.get("default_route_settings") or []:
            if item.get("logging_level") is Unknown:
                item["logging_level"] = None  # HTTP APIs have no execution logging
        for item in planned.get("route_settings") or []:
            for key, default in _ROUTE_SETTING_DEFAULTS.items():
                if item.get(key) is None or item.get(key) is Unknown:
                    item[key] = default
            if item.get("logging_level") is Unknown:
                item["logging_level"] = None
        return super().plan(prior, planned, config)

    def _args(self, planned: State) -> dict[str, Any]:
        args: dict[str, Any] = {"AutoDeploy": bool(planned.get("auto_deploy"))}
        fields = {
            "description": "Description",
            "client_certificate_id": "ClientCertificateId",
            "stage_variables": "StageVariables",
        }
        put_fields(args, planned, fields)
        if is_set(planned.get("deployment_id")) and not planned.get("auto_deploy"):
            args["DeploymentId"] = planned["deployment_id"]
        if planned.get("access_log_settings"):
            s = planned["access_log_settings"][0]
            args["AccessLogSettings"] = {"DestinationArn": s["destination_arn"], "Format": s["format"]}
        if planned.get("default_route_settings"):
            args["DefaultRouteSettings"] = _expand_route_settings(planned["default_route_settings"][0])
        if planned.get("route_settings"):
            args["RouteSettings"] = {
                r["route_key"]: _expand_route_settings(r) for r in planned["route_settings"]
            }
        return args

    def create(self, planned: State) -> State:
        args = self._args(planned)
        add_tags(args, self.all_tags(planned), tags_as=dict)
        got = self.client("apigatewayv2").create_stage(
            ApiId=planned["api_id"], StageName=planned["name"], **args
        )
        planned["id"] = got["StageName"]
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        ag = self.client("apigatewayv2")
        try:
            got = ag.get_stage(ApiId=current["api_id"], StageName=current["id"])
            api = ag.get_api(ApiId=current["api_id"])
        except Exception as exc:
            if self.gone(exc):
                return None
            raise
        name = got["StageName"]
        region, account, api_id = self.region_of(current), self.aws.account_id, current["api_id"]
        logs = got.get("AccessLogSettings")
        cur_default = (current.get("default_route_settings") or [None])[0]
        default = _flatten_route_settings(got.get("DefaultRouteSettings") or {}, cur_default)
        # Like the real provider: a block left out that AWS holds only defaults for stays left out.
        keep_default = cur_default is not None or any(
            default[k] not in (None, False) for k in ("throttling_burst_limit", "throttling_rate_limit",
                                                      "logging_level", "data_trace_enabled",
                                                      "detailed_metrics_enabled")
        )  # fmt: skip
        current_routes = {r["route_key"]: r for r in current.get("route_settings") or []}
        endpoint = str(api.get("ApiEndpoint") or "").rstrip("/")
        path = "" if name == "$default" else name
        invoke_url = f"{endpoint}/{path}" if api.get("ProtocolType") == "HTTP" else f"{endpoint}/{name}"
        return {
            **current,
            "id": name,
            "name": name,
            "api_id": api_id,
            "auto_deploy": bool(got.get("AutoDeploy", False)),
            "deployment_id": got.get("DeploymentId") or current.get("deployment_id"),
            "description": empty_as(got.get("Description"), current.get("description")),
            "client_certificate_id": empty_as(
                got.get("ClientCertificateId"), current.get("client_certificate_id")
            ),
            "stage_variables": empty_as(got.get("StageVariables") or {}, current.get("stage_variables")),
            "access_log_settings": (
                [{"destination_arn": logs["DestinationArn"], "format": logs["Format"]}] if logs else []
            ),
            "default_route_settings": [default] if keep_default else [],
            "route_settings": [
                {"route_key": key, **_flatten_route_settings(value, current_routes.get(key))}
                for key, value in sorted((got.get("RouteSettings") or {}).items())
            ],
            "arn": f"arn:{self.aws.partition}:apigateway:{region}::/apis/{api_id}/stages/{name}",
            "execution_arn": f"arn:{self.aws.partition}:execute-api:{region}:{account}:{api_id}/{name}",
            "invoke_url": invoke_url,
            "region": region,
            **self.tags_state(got.get("Tags") or {}, current),
        }

    def update(self, prior: State, planned: State) -> State:
        ag = self.client("apigatewayv2")
        args = self._args(planned)
        # moto has neither UpdateStage nor DeleteAccessLogSettings: then the stage is put back, same name.
        recreate = False
        if prior.get("access_log_settings") and not planned.get("access_log_settings"):
            try:
                ag.delete_access_log_settings(ApiId=prior["api_id"], StageName=prior["id"])
            except Exception as exc:
                if error_code(exc) not in _NOT_IMPLEMENTED:
                    raise
                recreate = True
        if not planned.get("default_route_settings"):
            args["DefaultRouteSettings"] = {"DataTraceEnabled": False, "DetailedMetricsEnabled": False}
        for r in prior.get("route_settings") or []:
            if r["route_key"] not in {p["route_key"] for p in planned.get("route_settings") or []}:
                ag.delete_route_settings(
                    ApiId=prior["api_id"], StageName=prior["id"], RouteKey=r["route_key"]
                )
        if not recreate:
            try:
                ag.update_stage(ApiId=prior["api_id"], StageName=prior["id"], **args)
            except Exception as exc:
                if error_code(exc) not in _NOT_IMPLEMENTED:
                    raise
                recreate = True
        if recreate:
            ag.delete_stage(ApiId=prior["api_id"], StageName=prior["id"])
            ag.create_stage(ApiId=prior["api_id"], StageName=prior["id"], Tags=self.all_tags(planned), **args)
        region = self.region_of(prior)
        retag(
            self,
            prior,
            planned,
            f"arn:{self.aws.partition}:apigateway:{region}::/apis/{prior['api_id']}/stages/{prior['id']}",
        )
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("apigatewayv2").delete_stage(ApiId=prior["api_id"], StageName=prior["id"])
