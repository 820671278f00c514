"""EventBridge: ``aws_cloudwatch_event_rule`` and ``aws_cloudwatch_event_target``.

As in the real provider (``internal/service/events``): a rule's id is its name, or ``BUS/NAME`` on a custom
bus; a target's is ``RULE/TARGET_ID`` (``BUS/RULE/TARGET_ID``); both are also the import IDs.
``event_bus_name`` defaults to ``default``; a rule's ``state`` and the deprecated ``is_enabled`` are kept in
step (``ENABLED`` when neither is set); ``event_pattern`` keeps the configured text when AWS's is the same
JSON; a target without ``target_id`` gets a generated one. Target kinds the local cloud cannot run (ECS,
Batch, Redshift, SageMaker, AppSync, Kinesis, Run Command, HTTP) are refused at plan time.
"""

from __future__ import annotations

import json
from typing import Any

from selfheal.terraform.aws_resources import register
from selfheal.terraform.aws_resources._common import (
    is_set,
    name_prefix_from_name,
    one_block,
    put_fields,
    tag_list,
    tagging,
    unique_name,
)
from selfheal.terraform.aws_resources._event_targets import retry_and_dead_letter
from selfheal.terraform.aws_resources._regional import (
    PrefixNamedResource,
    RegionalResource,
    check_one_of,
    json_state,
)
from selfheal.terraform.resource import ResourceError, State, Unknown, is_unknown

__all__ = ["CloudWatchEventRule", "CloudWatchEventTarget"]

_STATES = ("ENABLED", "DISABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")
_UNSUPPORTED_TARGETS = (
    "ecs_target", "batch_target", "redshift_target", "sagemaker_pipeline_target", "appsync_target",
    "kinesis_target", "run_command_targets", "http_target",
)  # fmt: skip


def _bus_args(bus: Any) -> dict[str, Any]:
    return {"EventBusName": bus} if bus and bus != "default" else {}


@register
class CloudWatchEventRule(PrefixNamedResource):
    """A rule on an event bus (id: its name, or ``BUS/NAME``)."""

    type_name = "aws_cloudwatch_event_rule"
    optional_computed = frozenset(
        {"name", "name_prefix", "event_bus_name", "state", "is_enabled", "force_destroy"}
        | RegionalResource.TAGS_ALL
        | RegionalResource.REGION
    )
    defaults = {"event_bus_name": "default", "force_destroy": False}
    force_new = frozenset({"name", "name_prefix", "event_bus_name"})
    importable = True

    def validate(self, config: State) -> None:
        super().validate(config)
        check_one_of(config, "state", _STATES)
        if config.get("event_pattern") is None and config.get("schedule_expression") is None:
            raise ResourceError(
                "one of `event_pattern,schedule_expression` must be specified", attribute="event_pattern"
            )
        if config.get("state") is not None and config.get("is_enabled") is not None:
            raise ResourceError('"is_enabled": conflicts with state', attribute="is_enabled")
        pattern = config.get("event_pattern")
        if isinstance(pattern, str) and not is_unknown(pattern):
            try:
                json.loads(pattern)
            except ValueError:
                raise ResourceError(
                    '"event_pattern" contains an invalid JSON', attribute="event_pattern"
                ) from None
        # The cloud itself refuses patterns and schedule expressions EventBridge refuses (at apply).

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        planned = super().plan(prior, planned, config)
        state, enabled = config.get("state"), config.get("is_enabled")
        if is_set(state):
            planned["is_enabled"] = state != "DISABLED"
        elif is_set(enabled):
            planned["state"] = "ENABLED" if enabled else "DISABLED"
        elif state is None and enabled is None:
            planned["state"], planned["is_enabled"] = "ENABLED", True
        if prior is None:
            planned["arn"] = Unknown
            planned["id"] = Unknown
        return planned

    def _put(self, planned: State, name: str) -> dict[str, Any]:
        args: dict[str, Any] = {"Name": name, "State": planned.get("state") or "ENABLED"}
        args.update(_bus_args(planned.get("event_bus_name")))
        put_fields(
            args,
            planned,
            {
                "event_pattern": "EventPattern",
                "schedule_expression": "ScheduleExpression",
                "description": "Description",
                "role_arn": "RoleArn",
            },
        )
        return args

    def create(self, planned: State) -> State:
        name = self.name_to_create(planned)
        args = self._put(planned, name)
        tags = self.all_tags(planned)
        if tags:
            args["Tags"] = tag_list(tags)
        self.client("events").put_rule(**args)
        bus = planned.get("event_bus_name") or "default"
        planned["id"] = name if bus == "default" else f"{bus}/{name}"
        return self.read(planned) or planned

    @staticmethod
    def _split(rule_id: str) -> tuple[str, str]:
        bus, _, name = rule_id.rpartition("/")
        return (bus or "default"), name

    def read(self, current: State) -> State | None:
        events = self.client("events")
        bus, name = self._split(str(current["id"]))
        rule = self.found(lambda: events.describe_rule(Name=name, **_bus_args(bus)))
        if rule is None:
            return None
        tags = events.list_tags_for_resource(ResourceARN=rule["Arn"]).get("Tags", [])
        state = rule.get("State", "ENABLED")
        return {
            **current,
            "id": current["id"],
            "name": rule["Name"],
            "name_prefix": name_prefix_from_name(rule["Name"]),
            "arn": rule["Arn"],
            "event_bus_name": rule.get("EventBusName") or bus,
            "event_pattern": json_state(rule.get("EventPattern"), current.get("event_pattern")),
            "schedule_expression": rule.get("ScheduleExpression")
            or (None if current.get("schedule_expression") is None else ""),
            "description": rule.get("Description") or (None if current.get("description") is None else ""),
            "role_arn": rule.get("RoleArn") or (None if current.get("role_arn") is None else ""),
            "state": state,
            "is_enabled": state != "DISABLED",
            "force_destroy": bool(current.get("force_destroy")),
            "region": self.region_of(current),
            **self.tags_state({t["Key"]: t["Value"] for t in tags}, current),
        }

    def update(self, prior: State, planned: State) -> State:
        events = self.client("events")
        events.put_rule(**self._put(planned, str(prior["name"])))
        arn = prior["arn"]
        self.retag(prior, planned, *tagging(events.untag_resource, events.tag_resource, ResourceARN=arn))
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        events = self.client("events")
        with self.ignoring_gone():
            events.delete_rule(Name=prior["name"], **_bus_args(prior.get("event_bus_name")))

    def import_state(self, import_id: str) -> State:
        return {"id": import_id}


@register
class CloudWatchEventTarget(RegionalResource):
    """A target of a rule (id: ``RULE/TARGET_ID``, or ``BUS/RULE/TARGET_ID``)."""

    type_name = "aws_cloudwatch_event_target"
    optional_computed = frozenset({"target_id", "event_bus_name", "force_destroy"} | RegionalResource.REGION)
    defaults = {"event_bus_name": "default", "force_destroy": False}
    force_new = frozenset({"rule", "target_id", "event_bus_name"})
    importable = True

    def validate(self, config: State) -> None:
        super().validate(config)
        for block in _UNSUPPORTED_TARGETS:
            if config.get(block):
                raise ResourceError(
                    f"{block} is not supported by the selfheal local cloud",
                    "The local EventBridge delivers to Lambda, SQS, SNS and log group targets.",
                    block,
                )
        given = [k for k in ("input", "input_path", "input_transformer") if config.get(k)]
        if len(given) > 1:
            raise ResourceError(f'"{given[0]}": conflicts with {given[1]}', attribute=given[0])

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        planned = super().plan(prior, planned, config)
        if prior is None:
            planned["id"] = Unknown
            if config.get("target_id") is None:
                planned["target_id"] = Unknown
        return planned

    def _target(self, planned: State, target_id: str) -> dict[str, Any]:
        target: dict[str, Any] = {"Id": target_id, "Arn": planned["arn"]}
        put_fields(target, planned, {"input": "Input", "input_path": "InputPath", "role_arn": "RoleArn"})
        transformer = one_block(planned.get("input_transformer"))
        if transformer:
            target["InputTransformer"] = {"InputTemplate": transformer["input_template"]}
            if transformer.get("input_paths"):
                target["InputTransformer"]["InputPathsMap"] = dict(transformer["input_paths"])
        target.update(retry_and_dead_letter(planned))
        sqs = one_block(planned.get("sqs_target"))
        if sqs and sqs.get("message_group_id"):
            target["SqsParameters"] = {"MessageGroupId": sqs["message_group_id"]}
        return target

    def _put(self, planned: State, target_id: str) -> None:
        result = self.client("events").put_targets(
            Rule=planned["rule"],
            Targets=[self._target(planned, target_id)],
            **_bus_args(planned.get("event_bus_name")),
        )
        if result.get("FailedEntryCount"):
            failed = result["FailedEntries"][0]
            raise ResourceError(
                f"putting target {target_id}: {failed.get('ErrorCode')}: {failed.get('ErrorMessage')}"
            )

    def create(self, planned: State) -> State:
        target_id = planned.get("target_id")
        if not is_set(target_id):
            target_id = unique_name()
        self._put(planned, str(target_id))
        bus = planned.get("event_bus_name") or "default"
        planned["target_id"] = target_id
        planned["id"] = (
            f"{planned['rule']}/{target_id}" if bus == "default" else f"{bus}/{planned['rule']}/{target_id}"
        )
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        parts = str(current["id"]).split("/")
        bus, rule, target_id = (parts[0], parts[1], parts[2]) if len(parts) == 3 else ("default", *parts[:2])
        events = self.client("events")
        listed = self.found(lambda: events.list_targets_by_rule(Rule=rule, **_bus_args(bus)))
        if listed is None:
            return None
        target = next((t for t in listed.get("Targets", []) if t.get("Id") == target_id), None)
        if target is None:
            return None
        transformer = target.get("InputTransformer")
        retry = target.get("RetryPolicy")
        return {
            **current,
            "rule": rule,
            "target_id": target_id,
            "event_bus_name": current.get("event_bus_name") or bus,
            "arn": target["Arn"],
            "input": json_state(target.get("Input"), current.get("input")),
            "input_path": target.get("InputPath") or None,
            "role_arn": target.get("RoleArn") or None,
            "input_transformer": [
                {
                    "input_paths": dict(transformer.get("InputPathsMap") or {})
                    or (
                        None
                        if not (one_block(current.get("input_transformer")) or {}).get("input_paths")
                        else {}
                    ),
                    "input_template": transformer.get("InputTemplate", ""),
                }
            ]
            if transformer
            else [],
            "retry_policy": [
                {
                    "maximum_retry_attempts": retry.get("MaximumRetryAttempts"),
                    "maximum_event_age_in_seconds": retry.get("MaximumEventAgeInSeconds"),
                }
            ]
            if retry
            else [],
            "dead_letter_config": [{"arn": target["DeadLetterConfig"].get("Arn")}]
            if target.get("DeadLetterConfig")
            else [],
            "sqs_target": [{"message_group_id": target["SqsParameters"].get("MessageGroupId")}]
            if target.get("SqsParameters")
            else [],
            "force_destroy": bool(current.get("force_destroy")),
            "region": self.region_of(current),
        }

    def update(self, prior: State, planned: State) -> State:
        self._put(planned, str(prior["target_id"]))
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        events = self.client("events")
        with self.ignoring_gone():
            events.remove_targets(
                Rule=prior["rule"], Ids=[prior["target_id"]], **_bus_args(prior.get("event_bus_name"))
            )

    def import_state(self, import_id: str) -> State:
        parts = import_id.split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ResourceError(
                f"unexpected format of ID ({import_id}), expected EVENT_BUS_NAME/RULE_NAME/TARGET_ID"
                " or RULE_NAME/TARGET_ID"
            )
        bus = parts[0] if len(parts) == 3 else "default"
        return {"id": import_id, "event_bus_name": bus}
