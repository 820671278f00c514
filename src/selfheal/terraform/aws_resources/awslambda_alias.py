"""Lambda: ``aws_lambda_alias`` (id: the alias ARN; import ID ``FUNCTION_NAME/ALIAS`` or the alias ARN).

As the real provider (``internal/service/lambda/alias.go``): ``routing_config`` left out clears the alias's
weights; ``function_name`` is kept as configured (a name or an ARN), never rewritten by a read.
"""

from __future__ import annotations

from typing import Any

from selfheal.terraform.aws_resources import register
from selfheal.terraform.aws_resources._regional import RegionalResource, empty_as
from selfheal.terraform.resource import ResourceError, State

__all__ = ["LambdaAlias"]


def _routing(planned: State) -> dict[str, Any]:
    block = planned.get("routing_config") or []
    weights = (block[0] or {}).get("additional_version_weights") if block else None
    return {"AdditionalVersionWeights": {k: float(v) for k, v in (weights or {}).items()}}


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def invoke_arn(arn: str) -> str:
    """API Gateway's URI for invoking a function, alias or version ARN."""
    region = arn.split(":")[3]
    return f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{arn}/invocations"


@register
class LambdaAlias(RegionalResource):
    """An alias of a function's version, optionally shifting part of the traffic to another version."""

    type_name = "aws_lambda_alias"
    optional_computed = RegionalResource.REGION
    force_new = frozenset({"function_name", "name", "region"})
    importable = True

    def validate(self, config: State) -> None:
        super().validate(config)
        blocks = config.get("routing_config")
        for block in blocks if isinstance(blocks, list) else []:
            weights = (block or {}).get("additional_version_weights")
            for version, weight in (weights if isinstance(weights, dict) else {}).items():
                if isinstance(weight, int | float) and not 0 <= weight <= 1:
                    raise ResourceError(
                        f"additional_version_weights[{version}]: expected a weight between 0.0 and 1.0, "
                        f"got {weight}",
                        attribute="routing_config",
                    )

    def create(self, planned: State) -> State:
        got = self.client("lambda").create_alias(
            FunctionName=planned["function_name"],
            Name=planned["name"],
            FunctionVersion=planned["function_version"],
            Description=planned.get("description") or "",
            RoutingConfig=_routing(planned),
        )
        planned["id"] = got["AliasArn"]
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        got = self.found(
            lambda: self.client("lambda").get_alias(
                FunctionName=current["function_name"], Name=current["name"]
            )
        )
        if got is None:
            return None
        weights = (got.get("RoutingConfig") or {}).get("AdditionalVersionWeights") or {}
        if weights:
            routing = [{"additional_version_weights": {k: _number(v) for k, v in weights.items()}}]
        else:  # an empty block (or none) as configured: both mean "no weights"
            routing = [
                b
                for b in current.get("routing_config") or []
                if not (b or {}).get("additional_version_weights")
            ]
        arn = got["AliasArn"]
        return {
            **current,
            "id": arn,
            "arn": arn,
            "invoke_arn": invoke_arn(arn),
            "name": got["Name"],
            "function_version": got["FunctionVersion"],
            "description": empty_as(got.get("Description"), current.get("description")),
            "routing_config": routing,
            "region": self.region_of(current),
        }

    def update(self, prior: State, planned: State) -> State:
        self.client("lambda").update_alias(
            FunctionName=planned["function_name"],
            Name=planned["name"],
            FunctionVersion=planned["function_version"],
            Description=planned.get("description") or "",
            RoutingConfig=_routing(planned),
        )
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("lambda").delete_alias(FunctionName=prior["function_name"], Name=prior["name"])

    def import_state(self, import_id: str) -> State:
        parts = import_id.split(":")
        if import_id.startswith("arn:") and len(parts) == 8 and parts[5] == "function":
            return {"id": import_id, "function_name": parts[6], "name": parts[7]}
        function, sep, name = import_id.rpartition("/")
        if not sep or not function or not name:
            raise ResourceError(f"unexpected format of ID ({import_id!r}), expected FUNCTION_NAME/ALIAS")
        return {"id": import_id, "function_name": function, "name": name}
