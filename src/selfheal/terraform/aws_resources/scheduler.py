"""EventBridge Scheduler: ``aws_scheduler_schedule`` and ``aws_scheduler_schedule_group``.

As in the real provider (``internal/service/scheduler``): a schedule's id is ``GROUP/NAME`` (also its import
ID), ``group_name`` defaults to ``default``, ``schedule_expression_timezone`` to ``UTC``, ``state`` to
``ENABLED``, ``action_after_completion`` is computed (``NONE``); ``start_date``/``end_date`` are RFC 3339;
every argument but the name and group updates in place (UpdateSchedule replaces the whole schedule). A group's
id is its name. Targets the local cloud cannot run (ECS, EventBridge PutEvents, Kinesis, SageMaker, universal
targets) are refused at plan time; the cloud refuses the rest of what AWS refuses at apply.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from selfheal.terraform.aws_resources import register
from selfheal.terraform.aws_resources._common import (
    is_set,
    name_prefix_from_name,
    one_block,
    put_fields,
    tag_list,
    tagging,
)
from selfheal.terraform.aws_resources._event_targets import retry_and_dead_letter
from selfheal.terraform.aws_resources._regional import (
    PrefixNamedResource,
    RegionalResource,
    check_one_of,
    check_range,
    json_state,
)
from selfheal.terraform.resource import ResourceError, State, Unknown, is_unknown

__all__ = ["SchedulerSchedule", "SchedulerScheduleGroup"]

_UNSUPPORTED = (
    "ecs_parameters",
    "eventbridge_parameters",
    "kinesis_parameters",
    "sagemaker_pipeline_parameters",
)
_DEFAULT_RETRY = {"maximum_event_age_in_seconds": 86400, "maximum_retry_attempts": 185}


def _parse_date(value: Any, attribute: str) -> datetime | None:
    if not isinstance(value, str) or is_unknown(value) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ResourceError(
            f'"{attribute}" must be a valid RFC3339 timestamp, got {value}', attribute=attribute
        ) from None


def _date_state(actual: Any, current: Any) -> str | None:
    """AWS's timestamp as RFC 3339, or the configured text when it names the same instant."""
    if not isinstance(actual, datetime):
        return None
    if isinstance(current, str):
        try:
            if datetime.fromisoformat(current.replace("Z", "+00:00")) == actual:
                return current
        except ValueError:
            pass
    return actual.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@register
class SchedulerSchedule(PrefixNamedResource):
    """A schedule (id: ``GROUP/NAME``)."""

    type_name = "aws_scheduler_schedule"
    optional_computed = frozenset(
        {
            "name",
            "name_prefix",
            "group_name",
            "schedule_expression_timezone",
            "state",
            "action_after_completion",
        }
        | RegionalResource.REGION
    )
    defaults = {"group_name": "default", "schedule_expression_timezone": "UTC", "state": "ENABLED"}
    force_new = frozenset({"name", "name_prefix", "group_name"})
    importable = True

    def validate(self, config: State) -> None:
        super().validate(config)
        check_one_of(config, "state", ("ENABLED", "DISABLED"))
        check_one_of(config, "action_after_completion", ("NONE", "DELETE"))
        window = one_block(config.get("flexible_time_window")) or {}
        check_one_of(window, "mode", ("OFF", "FLEXIBLE"))
        check_range(window, "maximum_window_in_minutes", 1, 1440)
        _parse_date(config.get("start_date"), "start_date")
        _parse_date(config.get("end_date"), "end_date")
        target = one_block(config.get("target")) or {}
        for block in _UNSUPPORTED:
            if target.get(block):
                raise ResourceError(
                    f"target.{block} is not supported by the selfheal local cloud",
                    "The local EventBridge Scheduler invokes Lambda functions, sends to SQS queues and "
                    "publishes to SNS topics.",
                    "target",
                )
        arn = target.get("arn")
        if isinstance(arn, str) and not is_unknown(arn) and arn.startswith("arn:aws:scheduler:::aws-sdk:"):
            raise ResourceError(
                f"universal target {arn} is not supported by the selfheal local cloud",
                "The local EventBridge Scheduler invokes Lambda functions, sends to SQS queues and "
                "publishes to SNS topics.",
                "target",
            )
        retry = one_block(target.get("retry_policy")) or {}
        check_range(retry, "maximum_event_age_in_seconds", 60, 86400)
        check_range(retry, "maximum_retry_attempts", 0, 185)

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        planned = super().plan(prior, planned, config)
        if config.get("action_after_completion") is None:
            planned["action_after_completion"] = (prior or {}).get("action_after_completion") or "NONE"
        if prior is None:
            planned["arn"] = Unknown
            planned["id"] = Unknown
        return planned

    def _args(self, planned: State, name: str) -> dict[str, Any]:
        window = one_block(planned.get("flexible_time_window")) or {}
        flexible: dict[str, Any] = {"Mode": window.get("mode") or "OFF"}
        if window.get("maximum_window_in_minutes") is not None:
            flexible["MaximumWindowInMinutes"] = int(window["maximum_window_in_minutes"])
        args: dict[str, Any] = {
            "Name": name,
            "GroupName": planned.get("group_name") or "default",
            "ScheduleExpression": planned["schedule_expression"],
            "ScheduleExpressionTimezone": planned.get("schedule_expression_timezone") or "UTC",
            "State": planned.get("state") or "ENABLED",
            "FlexibleTimeWindow": flexible,
            "Target": self._target(one_block(planned.get("target")) or {}),
        }
        if is_set(planned.get("action_after_completion")):
            args["ActionAfterCompletion"] = planned["action_after_completion"]
        put_fields(args, planned, {"description": "Description", "kms_key_arn": "KmsKeyArn"})
        for key, arg in (("start_date", "StartDate"), ("end_date", "EndDate")):
            moment = _parse_date(planned.get(key), key)
            if moment is not None:
                args[arg] = moment
        return args

    @staticmethod
    def _target(target: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"Arn": target["arn"], "RoleArn": target["role_arn"]}
        if target.get("input"):
            out["Input"] = target["input"]
        out.update(retry_and_dead_letter(target))
        sqs = one_block(target.get("sqs_parameters"))
        if sqs is not None:
            out["SqsParameters"] = (
                {"MessageGroupId": sqs["message_group_id"]} if sqs.get("message_group_id") else {}
            )
        return out

    def create(self, planned: State) -> State:
        name = self.name_to_create(planned)
        self.client("scheduler").create_schedule(**self._args(planned, name))
        planned["id"] = f"{planned.get('group_name') or 'default'}/{name}"
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        group, _, name = str(current["id"]).partition("/")
        scheduler = self.client("scheduler")
        got = self.found(lambda: scheduler.get_schedule(Name=name, GroupName=group))
        if got is None:
            return None
        window = got.get("FlexibleTimeWindow") or {}
        return {
            **current,
            "id": f"{got.get('GroupName') or group}/{got['Name']}",
            "name": got["Name"],
            "name_prefix": name_prefix_from_name(got["Name"]),
            "group_name": got.get("GroupName") or group,
            "arn": got["Arn"],
            "description": got.get("Description") or (None if current.get("description") is None else ""),
            "schedule_expression": got["ScheduleExpression"],
            "schedule_expression_timezone": got.get("ScheduleExpressionTimezone") or "UTC",
            "state": got.get("State") or "ENABLED",
            "action_after_completion": got.get("ActionAfterCompletion") or "NONE",
            "kms_key_arn": got.get("KmsKeyArn") or None,
            "start_date": _date_state(got.get("StartDate"), current.get("start_date")),
            "end_date": _date_state(got.get("EndDate"), current.get("end_date")),
            "flexible_time_window": [
                {
                    "mode": window.get("Mode", "OFF"),
                    "maximum_window_in_minutes": window.get("MaximumWindowInMinutes"),
                }
            ],
            "target": [self._target_state(got.get("Target") or {}, one_block(current.get("target")) or {})],
            "region": self.region_of(current),
        }

    @staticmethod
    def _target_state(target: dict[str, Any], current: dict[str, Any]) -> dict[str, Any]:
        retry = target.get("RetryPolicy") or {}
        policy = {
            "maximum_event_age_in_seconds": retry.get("MaximumEventAgeInSeconds"),
            "maximum_retry_attempts": retry.get("MaximumRetryAttempts"),
        }
        # AWS fills in its defaults: left out of the configuration, they read as no block (no drift).
        keep_empty = not current.get("retry_policy") and policy == _DEFAULT_RETRY
        sqs = target.get("SqsParameters")
        return {
            "arn": target.get("Arn"),
            "role_arn": target.get("RoleArn"),
            "input": json_state(target.get("Input"), current.get("input"))
            if current.get("input") is not None
            else target.get("Input"),
            "retry_policy": [] if keep_empty or not retry else [policy],
            "dead_letter_config": [{"arn": target["DeadLetterConfig"].get("Arn")}]
            if (target.get("DeadLetterConfig") or {}).get("Arn")
            else [],
            "sqs_parameters": [{"message_group_id": sqs.get("MessageGroupId")}] if sqs is not None else [],
            **{block: current.get(block) or [] for block in _UNSUPPORTED},
        }

    def update(self, prior: State, planned: State) -> State:
        self.client("scheduler").update_schedule(**self._args(planned, str(prior["name"])))
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("scheduler").delete_schedule(
                Name=prior["name"], GroupName=prior.get("group_name") or "default"
            )

    def import_state(self, import_id: str) -> State:
        group, sep, name = import_id.partition("/")
        if not sep or not group or not name or "/" in name:
            raise ResourceError(
                f"unexpected format of ID ({import_id}), expected SCHEDULE_GROUP_NAME/SCHEDULE_NAME"
            )
        return {"id": import_id, "group_name": group}


@register
class SchedulerScheduleGroup(PrefixNamedResource):
    """A schedule group (id: its name)."""

    type_name = "aws_scheduler_schedule_group"
    optional_computed = frozenset(
        {"name", "name_prefix"} | RegionalResource.TAGS_ALL | RegionalResource.REGION
    )
    force_new = frozenset({"name", "name_prefix"})
    importable = True

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        planned = super().plan(prior, planned, config)
        if prior is None:
            for key in ("arn", "id", "creation_date", "last_modification_date", "state"):
                planned[key] = Unknown
        return planned

    def create(self, planned: State) -> State:
        name = self.name_to_create(planned)
        args: dict[str, Any] = {"Name": name}
        tags = self.all_tags(planned)
        if tags:
            args["Tags"] = tag_list(tags)
        self.client("scheduler").create_schedule_group(**args)
        planned["id"] = name
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        scheduler = self.client("scheduler")
        got = self.found(lambda: scheduler.get_schedule_group(Name=str(current["id"])))
        if got is None:
            return None
        tags = scheduler.list_tags_for_resource(ResourceArn=got["Arn"]).get("Tags", [])
        return {
            **current,
            "id": got["Name"],
            "name": got["Name"],
            "name_prefix": name_prefix_from_name(got["Name"]),
            "arn": got["Arn"],
            "creation_date": _date_state(got.get("CreationDate"), None),
            "last_modification_date": _date_state(got.get("LastModificationDate"), None),
            "state": got.get("State") or "ACTIVE",
            "region": self.region_of(current),
            **self.tags_state({t["Key"]: t["Value"] for t in tags}, current),
        }

    def update(self, prior: State, planned: State) -> State:
        scheduler = self.client("scheduler")
        arn = prior["arn"]
        self.retag(
            prior, planned, *tagging(scheduler.untag_resource, scheduler.tag_resource, ResourceArn=arn)
        )
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("scheduler").delete_schedule_group(Name=prior["id"])

    def import_state(self, import_id: str) -> State:
        return {"id": import_id}
