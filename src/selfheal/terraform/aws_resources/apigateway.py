"""API Gateway REST APIs (v1): ``aws_api_gateway_rest_api``, ``_resource``, ``_method``, ``_integration``.

IDs and import IDs as in the real provider: the API ID; the resource ID (import ``REST-API-ID/RESOURCE-ID``);
``agm-{api}-{resource}-{method}`` and ``agi-{api}-{resource}-{method}`` (import
``REST-API-ID/RESOURCE-ID/HTTP-METHOD``). The local cloud serves only Lambda proxy integrations
(``AWS_PROXY``) of methods with ``authorization = "NONE"``: anything else is refused at plan, naming it.
Deliberate differences (moto lacks the update calls): changing a resource's ``path_part``/``parent_id`` or
any argument of a method replaces it; an integration's update puts it again (as PutIntegration replaces);
a REST API's tags cannot change in place. Deployments and stages are in :mod:`.apigateway_stage`.
"""

from __future__ import annotations

from typing import Any

from selfheal.terraform.aws_resources import register
from selfheal.terraform.aws_resources._common import is_set, rfc3339
from selfheal.terraform.aws_resources._regional import RegionalResource, check_range, empty_as, json_state
from selfheal.terraform.resource import ResourceError, State

__all__ = ["ApiGatewayIntegration", "ApiGatewayMethod", "ApiGatewayResource", "ApiGatewayRestApi"]

_HTTP_METHODS = ("ANY", "DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
_INTEGRATION_TYPES = ("AWS", "AWS_PROXY", "HTTP", "HTTP_PROXY", "MOCK")
_LAMBDA_PATH = ":lambda:path/2015-03-31/functions/"


def _parts(import_id: str, what: str, count: int) -> list[str]:
    parts = import_id.split("/")
    if len(parts) != count or not all(parts):
        raise ResourceError(f"unexpected format of ID ({import_id}), expected {what}")
    return parts


@register
class ApiGatewayRestApi(RegionalResource):
    """A REST API (id: the API ID)."""

    type_name = "aws_api_gateway_rest_api"
    optional_computed = frozenset(
        {"api_key_source", "binary_media_types", "description", "disable_execute_api_endpoint",
         "minimum_compression_size", "policy"} | RegionalResource.TAGS_ALL | RegionalResource.REGION
    )  # fmt: skip
    defaults = {"api_key_source": "HEADER", "disable_execute_api_endpoint": False}
    importable = True

    def validate(self, config: State) -> None:
        super().validate(config)
        for name in ("body", "parameters", "put_rest_api_mode", "fail_on_warnings"):
            if is_set(config.get(name)):
                raise ResourceError(
                    f"{name}: importing an OpenAPI definition is not supported by the local cloud",
                    attribute=name,
                )
        source = config.get("api_key_source")
        if is_set(source) and source not in ("HEADER", "AUTHORIZER"):
            raise ResourceError(f'expected api_key_source to be one of ["HEADER" "AUTHORIZER"], got {source}',
                                attribute="api_key_source")  # fmt: skip
        size = str(config.get("minimum_compression_size") or "")
        if (
            is_set(config.get("minimum_compression_size"))
            and size != ""
            and not (size.lstrip("-").isdigit() and -1 <= int(size) <= 10485760)
        ):
            raise ResourceError(
                f"expected minimum_compression_size to be in the range (-1 - 10485760), got {size}",
                attribute="minimum_compression_size",
            )
        for block in config.get("endpoint_configuration") or []:
            for kind in block.get("types") or [] if isinstance(block, dict) else []:
                if is_set(kind) and kind not in ("EDGE", "REGIONAL", "PRIVATE"):
                    raise ResourceError(
                        f'expected types to be one of ["EDGE" "REGIONAL" "PRIVATE"], got {kind}',
                        attribute="endpoint_configuration",
                    )

    def create(self, planned: State) -> State:
        args: dict[str, Any] = {"name": planned["name"]}
        for tf_name, aws_name in (("description", "description"), ("api_key_source", "apiKeySource"),
                                  ("policy", "policy")):  # fmt: skip
            if is_set(planned.get(tf_name)) and planned[tf_name] != "":
                args[aws_name] = planned[tf_name]
        if planned.get("disable_execute_api_endpoint") is True:
            args["disableExecuteApiEndpoint"] = True
        size = planned.get("minimum_compression_size")
        if is_set(size) and size not in ("", "-1"):
            args["minimumCompressionSize"] = int(str(size))
        if planned.get("endpoint_configuration"):
            args["endpointConfiguration"] = {"types": list(planned["endpoint_configuration"][0]["types"])}
        tags = self.all_tags(planned)
        if tags:
            args["tags"] = tags
        ag = self.client("apigateway")
        planned["id"] = ag.create_rest_api(**args)["id"]
        # CreateRestApi takes no binary media types: they are added one by one, as the real provider does.
        types = planned.get("binary_media_types")
        add = [_binary_op("add", kind) for kind in types] if is_set(types) and types else []
        if add:
            ag.update_rest_api(restApiId=planned["id"], patchOperations=add)
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        api = self.found(lambda: self.client("apigateway").get_rest_api(restApiId=current["id"]))
        if api is None:
            return None
        region, account = self.region_of(current), self.aws.account_id
        types = list((api.get("endpointConfiguration") or {}).get("types") or ["EDGE"])
        endpoint = current.get("endpoint_configuration") or []
        if endpoint or types != ["EDGE"]:
            endpoint = [{**(endpoint[0] if endpoint else {}), "types": types}]
        size = api.get("minimumCompressionSize")
        return {
            **current,
            "id": api["id"],
            "name": api["name"],
            "description": api.get("description") or "",
            "api_key_source": api.get("apiKeySource") or "HEADER",
            "binary_media_types": list(api.get("binaryMediaTypes") or []),
            "disable_execute_api_endpoint": bool(api.get("disableExecuteApiEndpoint", False)),
            "minimum_compression_size": "" if size is None else str(size),
            "policy": json_state(api.get("policy"), current.get("policy")) or "",
            "endpoint_configuration": endpoint,
            "root_resource_id": api.get("rootResourceId"),
            "created_date": rfc3339(api.get("createdDate")),
            "arn": f"arn:{self.aws.partition}:apigateway:{region}::/restapis/{api['id']}",
            "execution_arn": f"arn:{self.aws.partition}:execute-api:{region}:{account}:{api['id']}",
            "region": region,
            **self.tags_state(api.get("tags") or {}, current),
        }

    def update(self, prior: State, planned: State) -> State:
        if self.all_tags(planned) != self.all_tags(prior):
            raise ResourceError(
                "changing a REST API's tags in place is not supported by the local cloud",
                "moto tags only API Gateway stages; recreate the REST API to change its tags.",
                "tags",
            )
        ops: list[dict[str, Any]] = []
        fields = {"name": "/name", "description": "/description", "api_key_source": "/apiKeySource",
                  "policy": "/policy",
                  "disable_execute_api_endpoint": "/disableExecuteApiEndpoint"}  # fmt: skip
        for tf_name, path in fields.items():
            new = planned.get(tf_name)
            if new != prior.get(tf_name) and is_set(new):
                value = str(new).lower() if isinstance(new, bool) else str(new)
                ops.append({"op": "replace", "path": path, "value": value})
        if planned.get("endpoint_configuration") != prior.get("endpoint_configuration"):
            types = (planned.get("endpoint_configuration") or [{"types": ["EDGE"]}])[0]["types"]
            ops.append({"op": "replace", "path": "/endpointConfiguration/types/0", "value": types[0]})
        old_types, new_types = prior.get("binary_media_types") or [], planned.get("binary_media_types") or []
        if is_set(new_types):
            ops += [_binary_op("remove", kind) for kind in old_types if kind not in new_types]
            ops += [_binary_op("add", kind) for kind in new_types if kind not in old_types]
        if ops:
            self.client("apigateway").update_rest_api(restApiId=prior["id"], patchOperations=ops)
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("apigateway").delete_rest_api(restApiId=prior["id"])


def _binary_op(op: str, kind: str) -> dict[str, str]:
    # AWS reads the type from the path (``/`` escaped as ``~1``); moto reads the value.
    return {"op": op, "path": "/binaryMediaTypes/" + kind.replace("/", "~1"), "value": kind}


@register
class ApiGatewayResource(RegionalResource):
    """A resource (path part) of a REST API (id: the resource ID)."""

    type_name = "aws_api_gateway_resource"
    optional_computed = RegionalResource.REGION
    force_new = frozenset({"rest_api_id", "parent_id", "path_part"})
    importable = True

    def import_state(self, import_id: str) -> State:
        api_id, resource_id = _parts(import_id, "REST-API-ID/RESOURCE-ID", 2)
        return {"id": resource_id, "rest_api_id": api_id}

    def create(self, planned: State) -> State:
        got = self.client("apigateway").create_resource(
            restApiId=planned["rest_api_id"], parentId=planned["parent_id"], pathPart=planned["path_part"]
        )
        planned["id"] = got["id"]
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        got = self.found(
            lambda: self.client("apigateway").get_resource(
                restApiId=current["rest_api_id"], resourceId=current["id"]
            )
        )
        if got is None or "parentId" not in got:
            return None
        return {**current, "id": got["id"], "parent_id": got["parentId"], "path_part": got.get("pathPart"),
                "path": got.get("path"), "region": self.region_of(current)}  # fmt: skip

    def delete(self, prior: State) -> None:
        if self.read(prior) is not None:
            with self.ignoring_gone():
                self.client("apigateway").delete_resource(
                    restApiId=prior["rest_api_id"], resourceId=prior["id"]
                )


class _MethodChild(RegionalResource):
    """A resource named by REST API, resource and HTTP method (imported as ``API/RESOURCE/METHOD``)."""

    id_prefix = ""

    def import_state(self, import_id: str) -> State:
        api_id, resource_id, verb = _parts(import_id, "REST-API-ID/RESOURCE-ID/HTTP-METHOD", 3)
        return {"id": f"{self.id_prefix}-{api_id}-{resource_id}-{verb}", "rest_api_id": api_id,
                "resource_id": resource_id, "http_method": verb}  # fmt: skip

    def validate(self, config: State) -> None:
        super().validate(config)
        verb = config.get("http_method")
        if is_set(verb) and verb not in _HTTP_METHODS:
            raise ResourceError(f"expected http_method to be one of {list(_HTTP_METHODS)}, got {verb}",
                                attribute="http_method")  # fmt: skip

    def key(self, state: State) -> dict[str, str]:
        """The arguments naming this method in API Gateway's calls."""
        return {"restApiId": state["rest_api_id"], "resourceId": state["resource_id"],
                "httpMethod": state["http_method"]}  # fmt: skip


@register
class ApiGatewayMethod(_MethodChild):
    """A method of a resource (id: ``agm-{api}-{resource}-{method}``)."""

    type_name = "aws_api_gateway_method"
    optional_computed = frozenset({"api_key_required"}) | RegionalResource.REGION
    defaults = {"api_key_required": False}
    force_new = frozenset(
        {"rest_api_id", "resource_id", "http_method", "authorization", "authorizer_id",
         "authorization_scopes", "api_key_required", "operation_name", "request_models",
         "request_parameters", "request_validator_id"}
    )  # fmt: skip
    importable = True
    id_prefix = "agm"

    def validate(self, config: State) -> None:
        super().validate(config)
        authorization = config.get("authorization")
        if is_set(authorization) and authorization != "NONE":
            raise ResourceError(
                f'authorization "{authorization}" is not supported by the local cloud',
                'Its REST API data plane serves methods with authorization = "NONE" only.',
                "authorization",
            )
        if config.get("api_key_required") is True:
            raise ResourceError(
                "api_key_required is not supported by the local cloud", attribute="api_key_required"
            )

    def create(self, planned: State) -> State:
        args: dict[str, Any] = {**self.key(planned), "authorizationType": planned["authorization"]}
        fields = {"operation_name": "operationName", "request_models": "requestModels",
                  "request_parameters": "requestParameters", "request_validator_id": "requestValidatorId",
                  "authorizer_id": "authorizerId"}  # fmt: skip
        for tf_name, aws_name in fields.items():
            if is_set(planned.get(tf_name)) and planned[tf_name] not in ("", {}):
                args[aws_name] = planned[tf_name]
        if planned.get("api_key_required") is True:
            args["apiKeyRequired"] = True
        self.client("apigateway").put_method(**args)
        planned["id"] = f"agm-{planned['rest_api_id']}-{planned['resource_id']}-{planned['http_method']}"
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        got = self.found(lambda: self.client("apigateway").get_method(**self.key(current)))
        if got is None or not got.get("httpMethod"):
            return None
        return {
            **current,
            "authorization": got.get("authorizationType") or "NONE",
            "api_key_required": bool(got.get("apiKeyRequired", False)),
            "authorizer_id": empty_as(got.get("authorizerId"), current.get("authorizer_id")),
            "operation_name": empty_as(got.get("operationName"), current.get("operation_name")),
            "request_models": empty_as(got.get("requestModels"), current.get("request_models")),
            "request_parameters": empty_as(got.get("requestParameters"), current.get("request_parameters")),
            "request_validator_id": empty_as(
                got.get("requestValidatorId"), current.get("request_validator_id")
            ),
            "region": self.region_of(current),
        }

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("apigateway").delete_method(**self.key(prior))


_INTEGRATION_FIELDS = {
    "uri": "uri", "integration_http_method": "integrationHttpMethod", "credentials": "credentials",
    "passthrough_behavior": "passthroughBehavior", "request_templates": "requestTemplates",
    "request_parameters": "requestParameters", "content_handling": "contentHandling",
    "cache_namespace": "cacheNamespace", "connection_type": "connectionType",
}  # fmt: skip


@register
class ApiGatewayIntegration(_MethodChild):
    """A method's integration (id: ``agi-{api}-{resource}-{method}``); only ``AWS_PROXY`` to Lambda."""

    type_name = "aws_api_gateway_integration"
    optional_computed = frozenset(
        {"cache_namespace", "connection_type", "passthrough_behavior", "timeout_milliseconds"}
        | RegionalResource.REGION
    )
    defaults = {"connection_type": "INTERNET", "timeout_milliseconds": 29000}
    attribute_types = {"timeout_milliseconds": "number"}
    force_new = frozenset({"rest_api_id", "resource_id", "http_method"})
    importable = True
    id_prefix = "agi"

    def validate(self, config: State) -> None:
        super().validate(config)
        kind = config.get("type")
        if is_set(kind) and kind not in _INTEGRATION_TYPES:
            raise ResourceError(
                f"expected type to be one of {list(_INTEGRATION_TYPES)}, got {kind}", attribute="type"
            )
        if is_set(kind) and kind != "AWS_PROXY":
            raise ResourceError(
                f'integration type "{kind}" is not supported by the local cloud',
                "Its REST API data plane serves Lambda proxy integrations (AWS_PROXY) only.",
                "type",
            )
        uri = config.get("uri")
        if is_set(kind) and uri is None:
            raise ResourceError("uri is required for an AWS_PROXY integration", attribute="uri")
        if is_set(uri) and not (_LAMBDA_PATH in str(uri) and str(uri).endswith("/invocations")):
            raise ResourceError(
                f"uri {uri!r} is not a Lambda function's invoke ARN",
                "The local cloud serves AWS_PROXY integrations to Lambda functions only "
                "(use aws_lambda_function.x.invoke_arn).",
                "uri",
            )
        method = config.get("integration_http_method")
        if is_set(kind) and method is None:
            raise ResourceError(
                'integration_http_method is required for an AWS_PROXY integration (Lambda: "POST")',
                attribute="integration_http_method",
            )
        check_range(config, "timeout_milliseconds", 50, 300000)

    def _put(self, planned: State) -> None:
        args: dict[str, Any] = {**self.key(planned), "type": planned["type"]}
        for tf_name, aws_name in _INTEGRATION_FIELDS.items():
            if is_set(planned.get(tf_name)) and planned[tf_name] not in ("", {}):
                args[aws_name] = planned[tf_name]
        if is_set(planned.get("timeout_milliseconds")):
            args["timeoutInMillis"] = int(planned["timeout_milliseconds"])
        if planned.get("cache_key_parameters"):
            args["cacheKeyParameters"] = sorted(planned["cache_key_parameters"])
        self.client("apigateway").put_integration(**args)

    def create(self, planned: State) -> State:
        self._put(planned)
        planned["id"] = f"agi-{planned['rest_api_id']}-{planned['resource_id']}-{planned['http_method']}"
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        got = self.found(lambda: self.client("apigateway").get_integration(**self.key(current)))
        if got is None or not got.get("type"):
            return None
        state: State = {**current, "type": got["type"], "region": self.region_of(current)}
        for tf_name, aws_name in _INTEGRATION_FIELDS.items():
            state[tf_name] = empty_as(got.get(aws_name), current.get(tf_name))
        # moto reports the integration's HTTP method as httpMethod (AWS: httpMethod too, in GetIntegration).
        state["integration_http_method"] = got.get("httpMethod") or current.get("integration_http_method")
        state["connection_type"] = got.get("connectionType") or "INTERNET"
        state["passthrough_behavior"] = got.get("passthroughBehavior") or "WHEN_NO_MATCH"
        state["cache_namespace"] = (
            got.get("cacheNamespace") or current.get("cache_namespace") or current["resource_id"]
        )
        timeout = got.get("timeoutInMillis")
        state["timeout_milliseconds"] = int(timeout) if timeout is not None else 29000
        keys = got.get("cacheKeyParameters")
        state["cache_key_parameters"] = sorted(keys) if keys else current.get("cache_key_parameters")
        return state

    def update(self, prior: State, planned: State) -> State:
        # PutIntegration replaces the method's integration whole.
        self._put(planned)
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("apigateway").delete_integration(**self.key(prior))
