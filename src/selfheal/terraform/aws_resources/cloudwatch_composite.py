"""CloudWatch: ``aws_cloudwatch_composite_alarm`` (ID: the alarm name, also its import ID).

Created with ``PutCompositeAlarm`` and read back with ``DescribeAlarms(AlarmTypes=["CompositeAlarm"])``,
served by the local cloud (moto lacks ``PutCompositeAlarm``; the alarm scheduler adds it and evaluates the
rule). ``actions_suppressor`` is stored and read back; the local cloud does not suppress actions with it.
"""

from __future__ import annotations

from typing import Any

from selfheal.terraform.aws_resources import register
from selfheal.terraform.aws_resources._alarm_actions import actions_input, actions_state, check_action_arns
from selfheal.terraform.aws_resources._common import add_tags, tagging
from selfheal.terraform.aws_resources._regional import RegionalResource, empty_as
from selfheal.terraform.resource import ResourceError, State, is_unknown

__all__ = ["CloudWatchCompositeAlarm"]

_MAX_RULE = 10_240


@register
class CloudWatchCompositeAlarm(RegionalResource):
    """A composite alarm (id: the alarm name)."""

    type_name = "aws_cloudwatch_composite_alarm"
    optional_computed = frozenset({"actions_enabled"} | RegionalResource.TAGS_ALL | RegionalResource.REGION)
    defaults = {"actions_enabled": True}
    force_new = frozenset({"alarm_name"})
    importable = True

    def validate(self, config: State) -> None:
        super().validate(config)
        name = config.get("alarm_name")
        if isinstance(name, str) and not is_unknown(name) and not 1 <= len(name) <= 255:
            raise ResourceError(
                f'expected length of alarm_name to be in the range (1 - 255), got "{name}"',
                attribute="alarm_name",
            )
        rule = config.get("alarm_rule")
        if isinstance(rule, str) and not is_unknown(rule) and not 1 <= len(rule) <= _MAX_RULE:
            raise ResourceError(
                f"expected length of alarm_rule to be in the range (1 - {_MAX_RULE})", attribute="alarm_rule"
            )
        check_action_arns(config)

    def _put_input(self, planned: State) -> dict[str, Any]:
        args: dict[str, Any] = {
            "AlarmName": planned["alarm_name"],
            "AlarmRule": planned["alarm_rule"],
            "ActionsEnabled": bool(planned.get("actions_enabled", True)),
            **actions_input(planned),
        }
        if planned.get("alarm_description"):
            args["AlarmDescription"] = planned["alarm_description"]
        for suppressor in planned.get("actions_suppressor") or []:
            args["ActionsSuppressor"] = suppressor["alarm"]
            args["ActionsSuppressorWaitPeriod"] = int(suppressor["wait_period"])
            args["ActionsSuppressorExtensionPeriod"] = int(suppressor["extension_period"])
        return args

    def _describe(self, name: str) -> dict[str, Any] | None:
        cw = self.client("cloudwatch")
        alarms = cw.describe_alarms(AlarmNames=[name], AlarmTypes=["CompositeAlarm"])["CompositeAlarms"]
        return dict(alarms[0]) if alarms else None

    def create(self, planned: State) -> State:
        name = planned["alarm_name"]
        if self._describe(name) is not None:
            raise ResourceError(f'CloudWatch composite alarm "{name}" already exists', attribute="alarm_name")
        args = self._put_input(planned)
        add_tags(args, self.all_tags(planned))
        self.client("cloudwatch").put_composite_alarm(**args)
        planned["id"] = name
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        alarm = self._describe(current["id"])
        if alarm is None:
            return None
        cw = self.client("cloudwatch")
        tags = {
            t["Key"]: t["Value"] for t in cw.list_tags_for_resource(ResourceARN=alarm["AlarmArn"])["Tags"]
        }
        suppressor = []
        if alarm.get("ActionsSuppressor"):
            suppressor = [
                {
                    "alarm": alarm["ActionsSuppressor"],
                    "wait_period": alarm.get("ActionsSuppressorWaitPeriod"),
                    "extension_period": alarm.get("ActionsSuppressorExtensionPeriod"),
                }
            ]
        state: State = {
            **current,
            "id": alarm["AlarmName"],
            "alarm_name": alarm["AlarmName"],
            "arn": alarm["AlarmArn"],
            "alarm_rule": alarm.get("AlarmRule"),
            "actions_enabled": bool(alarm.get("ActionsEnabled", True)),
            "alarm_description": empty_as(alarm.get("AlarmDescription"), current.get("alarm_description")),
            "actions_suppressor": suppressor,
            "region": self.region_of(current),
            **self.tags_state(tags, current),
        }
        state.update(actions_state(alarm, current))
        return state

    def update(self, prior: State, planned: State) -> State:
        cw = self.client("cloudwatch")
        cw.put_composite_alarm(**self._put_input(planned))
        self.retag(prior, planned, *tagging(cw.untag_resource, cw.tag_resource, ResourceARN=prior["arn"]))
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("cloudwatch").delete_alarms(AlarmNames=[prior["id"]])
