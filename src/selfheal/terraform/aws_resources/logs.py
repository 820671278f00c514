"""CloudWatch Logs: ``aws_cloudwatch_log_group`` (id and import ID: the group name).

As in the real provider, ``arn`` is the group ARN without the trailing ``:*`` that DescribeLogGroups's
``arn`` field carries.
"""

from __future__ import annotations

import re
from typing import Any

from selfheal.terraform.aws_resources import register
from selfheal.terraform.aws_resources._common import add_tags, name_prefix_from_name
from selfheal.terraform.aws_resources._regional import PrefixNamedResource, RegionalResource
from selfheal.terraform.resource import ResourceError, State, is_unknown

__all__ = ["CloudWatchLogGroup"]

#: Retention values CloudWatch Logs accepts (0 = never expire).
RETENTION_DAYS = (0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                  2922, 3288, 3653)  # fmt: skip
_NAME = re.compile(r"^[\.\-_/#A-Za-z0-9]{1,512}$")


@register
class CloudWatchLogGroup(PrefixNamedResource):
    """A log group (id: its name)."""

    type_name = "aws_cloudwatch_log_group"
    optional_computed = frozenset(
        {"name", "name_prefix", "retention_in_days", "log_group_class", "skip_destroy",
         "deletion_protection_enabled"} | RegionalResource.TAGS_ALL | RegionalResource.REGION
    )  # fmt: skip
    defaults = {
        "retention_in_days": 0, "skip_destroy": False, "log_group_class": "STANDARD",
        "deletion_protection_enabled": False,
    }  # fmt: skip
    force_new = frozenset({"name", "name_prefix", "log_group_class"})
    importable = True

    def validate(self, config: State) -> None:
        super().validate(config)
        days = config.get("retention_in_days")
        if isinstance(days, int | float) and not is_unknown(days) and days not in RETENTION_DAYS:
            raise ResourceError(
                f"expected retention_in_days to be one of {list(RETENTION_DAYS)}, got {days:g}",
                attribute="retention_in_days",
            )
        if config.get("deletion_protection_enabled") is True:
            raise ResourceError(
                "the local cloud does not support log group deletion protection",
                attribute="deletion_protection_enabled",
            )
        name = config.get("name")
        if isinstance(name, str) and not is_unknown(name) and not _NAME.match(name):
            raise ResourceError(f"invalid log group name: {name!r}", attribute="name")
        cls = config.get("log_group_class")
        if (
            isinstance(cls, str)
            and not is_unknown(cls)
            and cls not in ("STANDARD", "INFREQUENT_ACCESS", "DELIVERY")
        ):
            raise ResourceError(f"invalid log_group_class: {cls}", attribute="log_group_class")

    def create(self, planned: State) -> State:
        logs = self.client("logs")
        name = self.name_to_create(planned)
        args: dict[str, Any] = {"logGroupName": name}
        if planned.get("kms_key_id"):
            args["kmsKeyId"] = planned["kms_key_id"]
        if planned.get("log_group_class") and planned["log_group_class"] != "STANDARD":
            args["logGroupClass"] = planned["log_group_class"]
        add_tags(args, self.all_tags(planned), key="tags", tags_as=dict)
        logs.create_log_group(**args)
        if planned.get("retention_in_days"):
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(planned["retention_in_days"]))
        planned["id"] = name
        return self.read(planned) or planned

    def _find(self, name: str) -> dict[str, Any] | None:
        paginator = self.client("logs").get_paginator("describe_log_groups")
        for page in paginator.paginate(logGroupNamePrefix=name):
            for group in page.get("logGroups", []):
                if group["logGroupName"] == name:
                    return dict(group)
        return None

    def read(self, current: State) -> State | None:
        group = self._find(str(current["id"]))
        if group is None:
            return None
        logs = self.client("logs")
        arn = group.get("logGroupArn") or str(group["arn"]).removesuffix(":*")
        tags = logs.list_tags_for_resource(resourceArn=arn).get("tags", {})
        return {
            **current,
            "id": group["logGroupName"],
            "name": group["logGroupName"],
            "name_prefix": name_prefix_from_name(group["logGroupName"]),
            "arn": arn,
            "retention_in_days": group.get("retentionInDays", 0),
            "kms_key_id": group.get("kmsKeyId") or (None if current.get("kms_key_id") is None else ""),
            "log_group_class": group.get("logGroupClass", "STANDARD"),
            "deletion_protection_enabled": bool(group.get("deletionProtectionEnabled", False)),
            "skip_destroy": bool(current.get("skip_destroy")),
            "region": self.region_of(current),
            **self.tags_state(tags, current),
        }

    def update(self, prior: State, planned: State) -> State:
        logs = self.client("logs")
        name = prior["id"]
        if planned.get("retention_in_days") != prior.get("retention_in_days"):
            if planned.get("retention_in_days"):
                logs.put_retention_policy(
                    logGroupName=name, retentionInDays=int(planned["retention_in_days"])
                )
            else:
                logs.delete_retention_policy(logGroupName=name)
        if (planned.get("kms_key_id") or "") != (prior.get("kms_key_id") or ""):
            try:
                if planned.get("kms_key_id"):
                    logs.associate_kms_key(logGroupName=name, kmsKeyId=planned["kms_key_id"])
                else:
                    logs.disassociate_kms_key(logGroupName=name)
            except Exception as exc:
                raise ResourceError(
                    "the local cloud cannot change a log group's KMS key in place",
                    f"AssociateKmsKey/DisassociateKmsKey failed: {exc}. Replace the log group instead "
                    "(for example with -replace).",
                    "kms_key_id",
                ) from None
        arn = prior["arn"]
        self.retag(
            prior,
            planned,
            lambda keys: logs.untag_resource(resourceArn=arn, tagKeys=keys),
            lambda tags: logs.tag_resource(resourceArn=arn, tags=tags),
        )
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        if prior.get("skip_destroy"):
            return  # the real provider only forgets the group
        with self.ignoring_gone():
            self.client("logs").delete_log_group(logGroupName=prior["id"])
