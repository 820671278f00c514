"""Lambda: ``aws_lambda_permission`` (a statement of a function's resource policy) and
``aws_lambda_function_event_invoke_config`` (how its asynchronous invocations are retried and where their
results go)."""

from __future__ import annotations

import json
from typing import Any

from selfheal.terraform.aws_provider import AwsResource
from selfheal.terraform.aws_resources import register
from selfheal.terraform.aws_resources._common import error_code, ignoring, one_block, put_fields, unique_name
from selfheal.terraform.aws_resources._regional import check_range
from selfheal.terraform.resource import ResourceError, State, Unknown

__all__ = ["LambdaEventInvokeConfig", "LambdaPermission"]

#: The optional arguments of ``aws_lambda_permission`` that AddPermission takes when they are given.
_PERMISSION_ARGS = {
    "source_arn": "SourceArn",
    "source_account": "SourceAccount",
    "event_source_token": "EventSourceToken",
    "qualifier": "Qualifier",
    "principal_org_id": "PrincipalOrgID",
    "function_url_auth_type": "FunctionUrlAuthType",
}


def _permission_statement(policy: str, sid: str) -> dict[str, Any] | None:
    for st in json.loads(policy).get("Statement", []):
        if st.get("Sid") == sid:
            return dict(st)
    return None


@register
class LambdaPermission(AwsResource):
    """A statement in a function's resource policy (id: the statement id)."""

    type_name = "aws_lambda_permission"
    optional_computed = frozenset({"statement_id", "statement_id_prefix", "region"})
    force_new = frozenset(
        {"action", "event_source_token", "function_name", "function_url_auth_type", "principal"}
        | {"principal_org_id", "qualifier", "source_account", "source_arn", "statement_id"}
        | {"statement_id_prefix", "region"}
    )
    importable = True

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        if config.get("region") is None:
            planned["region"] = self.aws.region
        if prior is None and config.get("statement_id") is None:
            if config.get("statement_id_prefix") is None:
                planned["statement_id_prefix"] = None
            planned["statement_id"] = Unknown
        return planned

    def create(self, planned: State) -> State:
        sid = planned.get("statement_id")
        if not sid or sid is Unknown:
            prefix = planned.get("statement_id_prefix")
            sid = unique_name(prefix if isinstance(prefix, str) else "terraform-")
        args: dict[str, Any] = {
            "FunctionName": planned["function_name"],
            "StatementId": sid,
            "Action": planned["action"],
            "Principal": planned["principal"],
        }
        put_fields(args, planned, _PERMISSION_ARGS)
        self.client("lambda").add_permission(**args)
        planned.update(id=sid, statement_id=sid)
        return planned

    def read(self, current: State) -> State | None:
        args: dict[str, Any] = {"FunctionName": current["function_name"]}
        if current.get("qualifier"):
            args["Qualifier"] = current["qualifier"]
        try:
            policy = self.client("lambda").get_policy(**args)["Policy"]
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise
        st = _permission_statement(policy, current["id"])
        if st is None:
            return None
        principal = st.get("Principal")
        if isinstance(principal, dict):
            principal = principal.get("Service") or principal.get("AWS") or current.get("principal")
        condition = st.get("Condition") or {}
        source_arn = (condition.get("ArnLike") or {}).get("AWS:SourceArn")
        return {
            **current,
            "statement_id": st["Sid"],
            "action": st.get("Action", current.get("action")),
            "principal": principal,
            "source_arn": source_arn if source_arn is not None else current.get("source_arn"),
        }

    def update(self, prior: State, planned: State) -> State:
        return planned  # every argument forces a new statement

    def delete(self, prior: State) -> None:
        args: dict[str, Any] = {"FunctionName": prior["function_name"], "StatementId": prior["id"]}
        if prior.get("qualifier"):
            args["Qualifier"] = prior["qualifier"]
        with ignoring("ResourceNotFoundException"):
            self.client("lambda").remove_permission(**args)

    def import_state(self, import_id: str) -> State:
        function, sep, sid = import_id.partition("/")
        if not sep or not sid:
            raise ResourceError(f"unexpected format of ID ({import_id}), expected FUNCTION_NAME/STATEMENT_ID")
        return {"id": sid, "function_name": function}


def _destinations(planned: State) -> dict[str, Any]:
    dest = one_block(planned.get("destination_config"))
    out: dict[str, Any] = {}
    if dest:
        for key, name in (("OnSuccess", "on_success"), ("OnFailure", "on_failure")):
            item = one_block(dest.get(name))
            if item:
                out[key] = {"Destination": item["destination"]}
    return out


@register
class LambdaEventInvokeConfig(AwsResource):
    """Asynchronous invocation settings of a function (id: ``function_name`` or ``name:qualifier``)."""

    type_name = "aws_lambda_function_event_invoke_config"
    optional_computed = frozenset({"maximum_retry_attempts", "region"})
    defaults = {"maximum_retry_attempts": 2}
    force_new = frozenset({"function_name", "qualifier", "region"})
    importable = True

    def validate(self, config: State) -> None:
        check_range(config, "maximum_retry_attempts", 0, 2)
        check_range(config, "maximum_event_age_in_seconds", 60, 21600)

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        if config.get("region") is None:
            planned["region"] = self.aws.region
        return planned

    def _put(self, planned: State) -> None:
        lam = self.client("lambda")
        args: dict[str, Any] = {
            "FunctionName": planned["function_name"],
            "MaximumRetryAttempts": int(planned["maximum_retry_attempts"]),
            "DestinationConfig": _destinations(planned),
        }
        if planned.get("qualifier"):
            args["Qualifier"] = planned["qualifier"]
        if planned.get("maximum_event_age_in_seconds") is not None:
            args["MaximumEventAgeInSeconds"] = int(planned["maximum_event_age_in_seconds"])
        lam.put_function_event_invoke_config(**args)

    def create(self, planned: State) -> State:
        self._put(planned)
        qualifier = planned.get("qualifier")
        planned["id"] = f"{planned['function_name']}:{qualifier}" if qualifier else planned["function_name"]
        return planned

    def read(self, current: State) -> State | None:
        function, _, qualifier = str(current["id"]).partition(":")
        args: dict[str, Any] = {"FunctionName": function}
        if qualifier:
            args["Qualifier"] = qualifier
        try:
            got = self.client("lambda").get_function_event_invoke_config(**args)
        except Exception as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise
        dest = got.get("DestinationConfig") or {}
        block: dict[str, Any] = {}
        for key, name in (("OnSuccess", "on_success"), ("OnFailure", "on_failure")):
            target = (dest.get(key) or {}).get("Destination")
            block[name] = [{"destination": target}] if target else []
        return {
            **current,
            "function_name": current.get("function_name") or function,
            "qualifier": qualifier or None,
            "maximum_retry_attempts": got.get("MaximumRetryAttempts", 2),
            "maximum_event_age_in_seconds": got.get("MaximumEventAgeInSeconds"),
            "destination_config": [block] if any(block.values()) else [],
        }

    def update(self, prior: State, planned: State) -> State:
        # moto appends on update and keeps answering with the first config: replace it instead.
        self.delete(prior)
        self._put(planned)
        return planned

    def delete(self, prior: State) -> None:
        function, _, qualifier = str(prior["id"]).partition(":")
        args: dict[str, Any] = {"FunctionName": function}
        if qualifier:
            args["Qualifier"] = qualifier
        with ignoring("ResourceNotFoundException"):
            self.client("lambda").delete_function_event_invoke_config(**args)
