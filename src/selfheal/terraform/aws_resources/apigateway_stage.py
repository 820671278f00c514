"""API Gateway REST API deployments and stages: ``aws_api_gateway_deployment``, ``aws_api_gateway_stage``.

IDs and import IDs as in the real provider: the deployment ID (import ``REST-API-ID/DEPLOYMENT-ID``);
``ags-{api}-{stage}`` (import ``REST-API-ID/STAGE-NAME``). A stage's ``invoke_url`` is the local cloud's
REST API data plane, ``{endpoint}/_restapi/{rest_api_id}/{stage}``: the local equivalent of
``https://{rest_api_id}.execute-api.{region}.amazonaws.com/{stage}`` (AWS's GetStage reports no URL, the
real provider builds it; this one builds it from the endpoint it talks to). Deliberate difference (moto
has no UpdateDeployment): changing a deployment's description replaces it. Canary settings are refused.
"""

from __future__ import annotations

from typing import Any

from selfheal.terraform.aws_resources import register
from selfheal.terraform.aws_resources._common import rfc3339
from selfheal.terraform.aws_resources._regional import RegionalResource, empty_as
from selfheal.terraform.resource import ResourceError, State, is_unknown

__all__ = ["DATA_PLANE_PREFIX", "ApiGatewayDeployment", "ApiGatewayStage"]

#: Where the local cloud mounts the REST API data plane (selfheal.cloud.rest_api.MOUNT_PREFIX).
DATA_PLANE_PREFIX = "/_restapi/"


def _two(import_id: str, what: str) -> tuple[str, str]:
    first, sep, second = import_id.partition("/")
    if not sep or not first or not second or "/" in second:
        raise ResourceError(f"unexpected format of ID ({import_id}), expected {what}")
    return first, second


@register
class ApiGatewayDeployment(RegionalResource):
    """A deployment of a REST API (id: the deployment ID)."""

    type_name = "aws_api_gateway_deployment"
    optional_computed = RegionalResource.REGION
    force_new = frozenset({"rest_api_id", "description", "triggers", "variables"})
    importable = True

    def import_state(self, import_id: str) -> State:
        api_id, deployment_id = _two(import_id, "REST-API-ID/DEPLOYMENT-ID")
        return {"id": deployment_id, "rest_api_id": api_id}

    def create(self, planned: State) -> State:
        args: dict[str, Any] = {"restApiId": planned["rest_api_id"]}
        if planned.get("description"):
            args["description"] = planned["description"]
        if planned.get("variables"):
            args["variables"] = dict(planned["variables"])
        planned["id"] = self.client("apigateway").create_deployment(**args)["id"]
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        got = self.found(
            lambda: self.client("apigateway").get_deployment(
                restApiId=current["rest_api_id"], deploymentId=current["id"]
            )
        )
        if got is None or not got.get("id"):
            return None
        return {
            **current,
            "id": got["id"],
            "description": empty_as(got.get("description"), current.get("description")),
            "created_date": rfc3339(got.get("createdDate")),
            "region": self.region_of(current),
        }

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("apigateway").delete_deployment(
                restApiId=prior["rest_api_id"], deploymentId=prior["id"]
            )


@register
class ApiGatewayStage(RegionalResource):
    """A stage of a REST API (id: ``ags-{api}-{stage}``)."""

    type_name = "aws_api_gateway_stage"
    optional_computed = frozenset(
        {"cache_cluster_size"} | RegionalResource.TAGS_ALL | RegionalResource.REGION
    )
    force_new = frozenset({"rest_api_id", "stage_name"})
    importable = True

    def import_state(self, import_id: str) -> State:
        api_id, name = _two(import_id, "REST-API-ID/STAGE-NAME")
        return {"id": f"ags-{api_id}-{name}", "rest_api_id": api_id, "stage_name": name}

    def validate(self, config: State) -> None:
        super().validate(config)
        if config.get("canary_settings"):
            raise ResourceError(
                "canary_settings are not supported by the local cloud", attribute="canary_settings"
            )
        size = config.get("cache_cluster_size")
        sizes = ("0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237")
        if isinstance(size, str) and not is_unknown(size) and size not in sizes:
            raise ResourceError(f"expected cache_cluster_size to be one of {list(sizes)}, got {size}",
                                attribute="cache_cluster_size")  # fmt: skip

    def create(self, planned: State) -> State:
        args: dict[str, Any] = {
            "restApiId": planned["rest_api_id"],
            "stageName": planned["stage_name"],
            "deploymentId": planned["deployment_id"],
        }
        if planned.get("description"):
            args["description"] = planned["description"]
        if planned.get("variables"):
            args["variables"] = dict(planned["variables"])
        if planned.get("cache_cluster_enabled") is True:
            args["cacheClusterEnabled"] = True
        if isinstance(planned.get("cache_cluster_size"), str) and not is_unknown(
            planned["cache_cluster_size"]
        ):
            args["cacheClusterSize"] = planned["cache_cluster_size"]
        if planned.get("xray_tracing_enabled") is not None:
            args["tracingEnabled"] = bool(planned["xray_tracing_enabled"])
        tags = self.all_tags(planned)
        if tags:
            args["tags"] = tags
        ag = self.client("apigateway")
        ag.create_stage(**args)
        planned["id"] = f"ags-{planned['rest_api_id']}-{planned['stage_name']}"
        logs = _log_ops(None, planned.get("access_log_settings"))
        if logs:
            ag.update_stage(
                restApiId=planned["rest_api_id"], stageName=planned["stage_name"], patchOperations=logs
            )
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        api_id, name = current["rest_api_id"], current["stage_name"]
        got = self.found(lambda: self.client("apigateway").get_stage(restApiId=api_id, stageName=name))
        if got is None or not got.get("stageName"):
            return None
        region, account = self.region_of(current), self.aws.account_id
        logs = got.get("accessLogSettings") or {}
        endpoint = self.aws.endpoint.rstrip("/")
        return {
            **current,
            "id": f"ags-{api_id}-{name}",
            "deployment_id": got.get("deploymentId"),
            "description": empty_as(got.get("description"), current.get("description")),
            "variables": empty_as(got.get("variables") or {}, current.get("variables")),
            "cache_cluster_enabled": bool(got.get("cacheClusterEnabled"))
            if current.get("cache_cluster_enabled") is not None or got.get("cacheClusterEnabled")
            else None,
            "cache_cluster_size": got.get("cacheClusterSize") if got.get("cacheClusterEnabled") else None,
            "xray_tracing_enabled": bool(got["tracingEnabled"])
            if got.get("tracingEnabled") is not None
            else current.get("xray_tracing_enabled"),
            "access_log_settings": (
                [{"destination_arn": logs["destinationArn"], "format": logs["format"]}]
                if logs.get("destinationArn")
                else []
            ),
            "web_acl_arn": got.get("webAclArn") or "",
            "arn": f"arn:{self.aws.partition}:apigateway:{region}::/restapis/{api_id}/stages/{name}",
            "execution_arn": f"arn:{self.aws.partition}:execute-api:{region}:{account}:{api_id}/{name}",
            "invoke_url": f"{endpoint}{DATA_PLANE_PREFIX}{api_id}/{name}",
            "region": region,
            **self.tags_state(got.get("tags") or {}, current),
        }

    def update(self, prior: State, planned: State) -> State:
        ops: list[dict[str, Any]] = []
        for tf_name, path in (("deployment_id", "/deploymentId"), ("description", "/description")):
            if planned.get(tf_name) != prior.get(tf_name):
                ops.append({"op": "replace", "path": path, "value": planned.get(tf_name) or ""})
        old, new = prior.get("variables") or {}, planned.get("variables") or {}
        ops += [{"op": "remove", "path": f"/variables/{key}"} for key in old if key not in new]
        ops += [
            {"op": "replace", "path": f"/variables/{k}", "value": v}
            for k, v in new.items()
            if old.get(k) != v
        ]
        for tf_name, path in (
            ("xray_tracing_enabled", "/tracingEnabled"),
            ("cache_cluster_enabled", "/cacheClusterEnabled"),
        ):
            if planned.get(tf_name) != prior.get(tf_name):
                ops.append({"op": "replace", "path": path, "value": str(bool(planned.get(tf_name))).lower()})
        size = planned.get("cache_cluster_size")
        if size != prior.get("cache_cluster_size") and isinstance(size, str) and not is_unknown(size):
            ops.append({"op": "replace", "path": "/cacheClusterSize", "value": size})
        ops += _log_ops(prior.get("access_log_settings"), planned.get("access_log_settings"))
        ag = self.client("apigateway")
        api_id, name = prior["rest_api_id"], prior["stage_name"]
        if ops:
            ag.update_stage(restApiId=api_id, stageName=name, patchOperations=ops)
        self.retag(
            prior,
            planned,
            lambda keys: ag.untag_resource(resourceArn=prior["arn"], tagKeys=keys),
            lambda tags: ag.tag_resource(resourceArn=prior["arn"], tags=tags),
        )
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("apigateway").delete_stage(
                restApiId=prior["rest_api_id"], stageName=prior["stage_name"]
            )


def _log_ops(old: Any, new: Any) -> list[dict[str, Any]]:
    """UpdateStage's operations bringing access log settings from ``old`` to ``new`` (lists of blocks)."""
    if old == new:
        return []
    if not new:
        return [{"op": "remove", "path": "/accessLogSettings"}]
    block = new[0]
    return [
        {"op": "replace", "path": "/accessLogSettings/destinationArn", "value": block["destination_arn"]},
        {"op": "replace", "path": "/accessLogSettings/format", "value": block["format"]},
    ]
