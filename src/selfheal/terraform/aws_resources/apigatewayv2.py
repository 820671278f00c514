"""API Gateway v2 (HTTP APIs): ``aws_apigatewayv2_api`` and ``aws_apigatewayv2_integration``.

IDs as in the real provider: the API ID; the integration ID. Import IDs: ``API-ID``,
``API-ID/INTEGRATION-ID``. ``api_endpoint`` is whatever the endpoint's GetApi reports (the local cloud reports
its own data plane URL). Routes and stages are in :mod:`.apigatewayv2_routes`.
"""

from __future__ import annotations

from typing import Any

from selfheal.terraform.aws_resources import register
from selfheal.terraform.aws_resources._apigatewayv2 import ApiChild, retag
from selfheal.terraform.aws_resources._common import add_tags, is_set, put_fields
from selfheal.terraform.aws_resources._regional import RegionalResource, empty_as
from selfheal.terraform.resource import ResourceError, State, is_unknown

__all__ = ["ApiGatewayV2Api", "ApiGatewayV2Integration"]


@register
class ApiGatewayV2Api(RegionalResource):
    """An HTTP or WebSocket API (id: the API ID)."""

    type_name = "aws_apigatewayv2_api"
    optional_computed = frozenset(
        {"api_key_selection_expression", "route_selection_expression", "disable_execute_api_endpoint",
         "ip_address_type"} | RegionalResource.TAGS_ALL | RegionalResource.REGION
    )  # fmt: skip
    defaults = {
        "api_key_selection_expression": "$request.header.x-api-key",
        "route_selection_expression": "$request.method $request.path",
        "disable_execute_api_endpoint": False,
    }
    force_new = frozenset({"protocol_type", "credentials_arn", "route_key", "target"})
    importable = True

    _FIELDS = {
        "name": "Name", "description": "Description", "version": "Version",
        "api_key_selection_expression": "ApiKeySelectionExpression",
        "route_selection_expression": "RouteSelectionExpression",
        "disable_execute_api_endpoint": "DisableExecuteApiEndpoint", "ip_address_type": "IpAddressType",
    }  # fmt: skip

    def validate(self, config: State) -> None:
        super().validate(config)
        proto = config.get("protocol_type")
        if is_set(proto) and proto not in ("HTTP", "WEBSOCKET"):
            raise ResourceError(f'expected protocol_type to be one of ["HTTP" "WEBSOCKET"], got {proto}',
                                attribute="protocol_type")  # fmt: skip
        if is_set(config.get("body")):
            raise ResourceError(
                "importing an OpenAPI body is not supported by the local cloud", attribute="body"
            )
        blocks = config.get("cors_configuration")
        for block in blocks if isinstance(blocks, list) else []:
            max_age = block.get("max_age") if isinstance(block, dict) else None
            if is_set(max_age) and not -1 <= max_age <= 86400:
                raise ResourceError(f"expected max_age to be in the range (-1 - 86400), got {max_age}",
                                    attribute="cors_configuration")  # fmt: skip

    def create(self, planned: State) -> State:
        ag = self.client("apigatewayv2")
        args: dict[str, Any] = {"ProtocolType": planned["protocol_type"]}
        fields = {"credentials_arn": "CredentialsArn", "route_key": "RouteKey", "target": "Target"}
        put_fields(args, planned, {**self._FIELDS, **fields})
        if planned.get("cors_configuration"):
            args["CorsConfiguration"] = _cors(planned["cors_configuration"][0])
        add_tags(args, self.all_tags(planned), tags_as=dict)
        planned["id"] = ag.create_api(**args)["ApiId"]
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        api = self.found(lambda: self.client("apigatewayv2").get_api(ApiId=current["id"]))
        if api is None:
            return None
        region, account = self.region_of(current), self.aws.account_id
        cors = api.get("CorsConfiguration")
        return {
            **current,
            "id": api["ApiId"],
            "name": api["Name"],
            "protocol_type": api["ProtocolType"],
            "description": empty_as(api.get("Description"), current.get("description")),
            "version": empty_as(api.get("Version"), current.get("version")),
            "api_key_selection_expression": api.get("ApiKeySelectionExpression"),
            "route_selection_expression": api.get("RouteSelectionExpression"),
            "disable_execute_api_endpoint": bool(api.get("DisableExecuteApiEndpoint", False)),
            "ip_address_type": api.get("IpAddressType") or current.get("ip_address_type") or "ipv4",
            "api_endpoint": api.get("ApiEndpoint"),
            "arn": f"arn:{self.aws.partition}:apigateway:{region}::/apis/{api['ApiId']}",
            "execution_arn": f"arn:{self.aws.partition}:execute-api:{region}:{account}:{api['ApiId']}",
            "cors_configuration": [_flatten_cors(cors)] if cors else [],
            "region": region,
            **self.tags_state(api.get("Tags") or {}, current),
        }

    def update(self, prior: State, planned: State) -> State:
        ag = self.client("apigatewayv2")
        api_id = prior["id"]
        args: dict[str, Any] = {}
        for tf_name, aws_name in self._FIELDS.items():
            if planned.get(tf_name) != prior.get(tf_name) and not is_unknown(planned.get(tf_name)):
                args[aws_name] = planned.get(tf_name) if planned.get(tf_name) is not None else ""
        if planned.get("cors_configuration") != prior.get("cors_configuration"):
            if planned.get("cors_configuration"):
                args["CorsConfiguration"] = _cors(planned["cors_configuration"][0])
            else:
                ag.delete_cors_configuration(ApiId=api_id)
        if args:
            ag.update_api(ApiId=api_id, **args)
        self._retag(prior, planned)
        return self.read(planned) or planned

    def _retag(self, prior: State, planned: State) -> None:
        retag(self, prior, planned, prior["arn"])

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("apigatewayv2").delete_api(ApiId=prior["id"])


def _cors(block: State) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for tf_name, aws_name in (("allow_credentials", "AllowCredentials"), ("max_age", "MaxAge")):
        if block.get(tf_name) is not None:
            out[aws_name] = block[tf_name]
    lists = {
        "allow_headers": "AllowHeaders", "allow_methods": "AllowMethods",
        "allow_origins": "AllowOrigins", "expose_headers": "ExposeHeaders",
    }  # fmt: skip
    for tf_name, aws_name in lists.items():
        if block.get(tf_name):
            out[aws_name] = sorted(block[tf_name])
    return out


def _flatten_cors(cors: dict[str, Any]) -> State:
    return {
        "allow_credentials": cors.get("AllowCredentials"),
        "max_age": cors.get("MaxAge"),
        "allow_headers": sorted(cors["AllowHeaders"]) if cors.get("AllowHeaders") else None,
        "allow_methods": sorted(cors["AllowMethods"]) if cors.get("AllowMethods") else None,
        "allow_origins": sorted(cors["AllowOrigins"]) if cors.get("AllowOrigins") else None,
        "expose_headers": sorted(cors["ExposeHeaders"]) if cors.get("ExposeHeaders") else None,
    }


_INTEGRATION_FIELDS = {
    "connection_id": "ConnectionId", "connection_type": "ConnectionType",
    "content_handling_strategy": "ContentHandlingStrategy", "credentials_arn": "CredentialsArn",
    "description": "Description", "integration_method": "IntegrationMethod",
    "integration_subtype": "IntegrationSubtype", "integration_uri": "IntegrationUri",
    "passthrough_behavior": "PassthroughBehavior", "payload_format_version": "PayloadFormatVersion",
    "request_parameters": "RequestParameters", "request_templates": "RequestTemplates",
    "template_selection_expression": "TemplateSelectionExpression", "timeout_milliseconds": "TimeoutInMillis",
}  # fmt: skip


@register
class ApiGatewayV2Integration(ApiChild):
    """An integration of an API (id: the integration ID)."""

    type_name = "aws_apigatewayv2_integration"
    optional_computed = frozenset(
        {"connection_type", "payload_format_version", "passthrough_behavior", "timeout_milliseconds",
         "integration_method"} | RegionalResource.REGION
    )  # fmt: skip
    defaults = {
        "connection_type": "INTERNET",
        "payload_format_version": "1.0",
        "passthrough_behavior": "WHEN_NO_MATCH",
    }
    force_new = frozenset({"api_id", "integration_type", "integration_subtype"})
    importable = True
    child = "INTEGRATION-ID"

    def validate(self, config: State) -> None:
        super().validate(config)
        kind = config.get("integration_type")
        if is_set(kind) and kind not in ("AWS", "AWS_PROXY", "HTTP", "HTTP_PROXY", "MOCK"):
            raise ResourceError(f"invalid integration_type: {kind}", attribute="integration_type")
        pfv = config.get("payload_format_version")
        if is_set(pfv) and pfv not in ("1.0", "2.0"):
            raise ResourceError(f'expected payload_format_version to be one of ["1.0" "2.0"], got {pfv}',
                                attribute="payload_format_version")  # fmt: skip

    def create(self, planned: State) -> State:
        args: dict[str, Any] = {"ApiId": planned["api_id"], "IntegrationType": planned["integration_type"]}
        put_fields(args, planned, _INTEGRATION_FIELDS)
        if "TimeoutInMillis" in args:
            args["TimeoutInMillis"] = int(args["TimeoutInMillis"])
        planned["id"] = self.client("apigatewayv2").create_integration(**args)["IntegrationId"]
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        got = self.found(
            lambda: self.client("apigatewayv2").get_integration(
                ApiId=current["api_id"], IntegrationId=current["id"]
            )
        )
        if got is None:
            return None
        state: State = {**current, "id": got["IntegrationId"], "integration_type": got["IntegrationType"],
                        "region": self.region_of(current)}  # fmt: skip
        for tf_name, aws_name in _INTEGRATION_FIELDS.items():
            state[tf_name] = empty_as(got.get(aws_name), current.get(tf_name))
        # HTTP APIs have no passthrough behaviour; the real provider suppresses the difference.
        if not got.get("PassthroughBehavior"):
            state["passthrough_behavior"] = current.get("passthrough_behavior") or "WHEN_NO_MATCH"
        state["connection_type"] = got.get("ConnectionType") or "INTERNET"
        state["payload_format_version"] = got.get("PayloadFormatVersion") or "1.0"
        state["integration_response_selection_expression"] = got.get("IntegrationResponseSelectionExpression")
        return state

    def update(self, prior: State, planned: State) -> State:
        args: dict[str, Any] = {}
        for tf_name, aws_name in _INTEGRATION_FIELDS.items():
            new = planned.get(tf_name)
            if new != prior.get(tf_name) and is_set(new):
                args[aws_name] = int(new) if tf_name == "timeout_milliseconds" else new
        if args:
            self.client("apigatewayv2").update_integration(
                ApiId=prior["api_id"],
                IntegrationId=prior["id"],
                IntegrationType=planned["integration_type"],
                **args,
            )
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("apigatewayv2").delete_integration(ApiId=prior["api_id"], IntegrationId=prior["id"])
