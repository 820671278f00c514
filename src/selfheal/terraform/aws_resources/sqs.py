"""SQS: ``aws_sqs_queue`` and ``aws_sqs_queue_policy`` (id and import ID of both: the queue URL).

Every queue attribute is sent on create, defaults included, as the real provider does: the local
cloud's own defaults differ (moto's MaximumMessageSize is 1 MiB, the provider's default 256 KiB).
"""

from __future__ import annotations

import re
from typing import Any

from selfheal.terraform.aws_resources import register
from selfheal.terraform.aws_resources._common import (
    add_tags,
    attribute_text,
    check_json,
    check_name,
    check_policy_json,
    name_prefix_from_name,
    policy_state,
    tagging,
)
from selfheal.terraform.aws_resources._regional import (
    PrefixNamedResource,
    RegionalResource,
    check_range,
    json_state,
)
from selfheal.terraform.resource import ResourceError, State, Unknown, is_unknown

__all__ = ["SqsQueue", "SqsQueuePolicy"]

#: Terraform argument -> SQS queue attribute.
QUEUE_ATTRIBUTES = {
    "content_based_deduplication": "ContentBasedDeduplication",
    "deduplication_scope": "DeduplicationScope",
    "delay_seconds": "DelaySeconds",
    "fifo_queue": "FifoQueue",
    "fifo_throughput_limit": "FifoThroughputLimit",
    "kms_data_key_reuse_period_seconds": "KmsDataKeyReusePeriodSeconds",
    "kms_master_key_id": "KmsMasterKeyId",
    "max_message_size": "MaximumMessageSize",
    "message_retention_seconds": "MessageRetentionPeriod",
    "policy": "Policy",
    "receive_wait_time_seconds": "ReceiveMessageWaitTimeSeconds",
    "redrive_allow_policy": "RedriveAllowPolicy",
    "redrive_policy": "RedrivePolicy",
    "sqs_managed_sse_enabled": "SqsManagedSseEnabled",
    "visibility_timeout_seconds": "VisibilityTimeout",
}
_NUMBERS = {
    "delay_seconds", "kms_data_key_reuse_period_seconds", "max_message_size", "message_retention_seconds",
    "receive_wait_time_seconds", "visibility_timeout_seconds",
}  # fmt: skip
_BOOLS = {"content_based_deduplication", "fifo_queue", "sqs_managed_sse_enabled"}
_JSON = {"redrive_policy", "redrive_allow_policy"}


def _check_url(value: Any, attribute: str) -> None:
    if (
        isinstance(value, str)
        and not is_unknown(value)
        and not re.match(r"^https?://[^/]+/\d{12}/[^/]+$", value)
    ):
        raise ResourceError(f"SQS Queue URL ({value}) is in the incorrect format", attribute=attribute)


@register
class SqsQueue(PrefixNamedResource):
    """An SQS queue (id: its URL)."""

    type_name = "aws_sqs_queue"
    optional_computed = frozenset(
        {"name", "name_prefix", "policy", "redrive_policy", "redrive_allow_policy", "sqs_managed_sse_enabled",
         "kms_data_key_reuse_period_seconds", "deduplication_scope", "fifo_throughput_limit",
         "content_based_deduplication", "delay_seconds", "fifo_queue", "max_message_size",
         "message_retention_seconds", "receive_wait_time_seconds", "visibility_timeout_seconds"}
        | RegionalResource.TAGS_ALL | RegionalResource.REGION
    )  # fmt: skip
    defaults = {
        "content_based_deduplication": False, "delay_seconds": 0, "fifo_queue": False,
        "max_message_size": 262_144, "message_retention_seconds": 345_600, "receive_wait_time_seconds": 0,
        "visibility_timeout_seconds": 30,
    }  # fmt: skip
    force_new = frozenset({"name", "name_prefix", "fifo_queue"})
    importable = True
    not_found_codes = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})

    def validate(self, config: State) -> None:
        super().validate(config)
        check_range(config, "delay_seconds", 0, 900)
        check_range(config, "max_message_size", 1024, 1_048_576)
        check_range(config, "message_retention_seconds", 60, 1_209_600)
        check_range(config, "visibility_timeout_seconds", 0, 43_200)
        check_range(config, "receive_wait_time_seconds", 0, 20)
        check_range(config, "kms_data_key_reuse_period_seconds", 60, 86_400)
        if config.get("kms_master_key_id") is not None and config.get("sqs_managed_sse_enabled") is not None:
            raise ResourceError('"kms_master_key_id": conflicts with sqs_managed_sse_enabled',
                                attribute="kms_master_key_id")  # fmt: skip
        fifo = config.get("fifo_queue") is True
        if not fifo and config.get("content_based_deduplication") is True:
            raise ResourceError("content-based deduplication can only be set for FIFO queue")
        check_name(config, fifo=fifo, longest=80, kind="queue")
        check_json(config, "policy", *sorted(_JSON))

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        if prior is None:
            planned["url"] = Unknown
        return super().plan(prior, planned, config)

    def create(self, planned: State) -> State:
        sqs = self.client("sqs")
        name = self.name_to_create(planned, ".fifo" if planned.get("fifo_queue") else "")
        attributes: dict[str, str] = {}
        for tf_name, aws_name in QUEUE_ATTRIBUTES.items():
            value = planned.get(tf_name)
            if value is None or is_unknown(value) or value == "":
                continue
            if tf_name in ("fifo_queue", "content_based_deduplication") and value is False:
                continue  # standard queues refuse these attributes
            attributes[aws_name] = attribute_text(value)
        args: dict[str, Any] = {"QueueName": name, "Attributes": attributes}
        add_tags(args, self.all_tags(planned), key="tags", tags_as=dict)
        planned["id"] = sqs.create_queue(**args)["QueueUrl"]
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        sqs = self.client("sqs")
        url = str(current["id"])
        try:
            attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
            tags = sqs.list_queue_tags(QueueUrl=url).get("Tags") or {}
        except Exception as exc:
            if self.gone(exc):
                return None
            raise
        name = url.rstrip("/").rsplit("/", 1)[1]
        state: State = {
            **current,
            "id": url,
            "url": url,
            "name": name,
            "name_prefix": name_prefix_from_name(name, ".fifo"),
            "arn": attrs.get("QueueArn"),
            "region": self.region_of(current),
            **self.tags_state(tags, current),
        }
        for tf_name, aws_name in QUEUE_ATTRIBUTES.items():
            raw = attrs.get(aws_name)
            value: Any
            if tf_name in _NUMBERS:
                value = int(raw) if raw not in (None, "") else None
            elif tf_name in _BOOLS:
                value = raw == "true"
            elif tf_name == "policy":
                value = policy_state(raw, current.get("policy")) if raw else None
            elif tf_name in _JSON:
                value = json_state(raw, current.get(tf_name))
            else:
                value = raw or None
            state[tf_name] = value
        if not state["kms_data_key_reuse_period_seconds"]:
            state["kms_data_key_reuse_period_seconds"] = 300  # as the real provider reports it
        return state

    def update(self, prior: State, planned: State) -> State:
        sqs = self.client("sqs")
        url = prior["id"]
        changed = {
            aws_name: attribute_text(planned.get(tf_name))
            for tf_name, aws_name in QUEUE_ATTRIBUTES.items()
            if planned.get(tf_name) != prior.get(tf_name) and not is_unknown(planned.get(tf_name))
        }
        if changed:
            if "Policy" not in changed:
                # moto's SetQueueAttributes drops a policy it is not given; resending it is harmless on AWS.
                current = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get(
                    "Attributes", {}
                )
                if current.get("Policy"):
                    changed["Policy"] = current["Policy"]
            sqs.set_queue_attributes(QueueUrl=url, Attributes=changed)
        self.retag(prior, planned, *tagging(sqs.untag_queue, sqs.tag_queue, tags_as=dict, QueueUrl=url))
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("sqs").delete_queue(QueueUrl=prior["id"])

    def import_state(self, import_id: str) -> State:
        _check_url(import_id, "id")
        return {"id": import_id}


@register
class SqsQueuePolicy(RegionalResource):
    """A queue's access policy (id: the queue URL); deleting it clears the queue's policy."""

    type_name = "aws_sqs_queue_policy"
    optional_computed = RegionalResource.REGION
    force_new = frozenset({"queue_url"})
    importable = True
    not_found_codes = SqsQueue.not_found_codes

    def validate(self, config: State) -> None:
        super().validate(config)
        _check_url(config.get("queue_url"), "queue_url")
        check_policy_json(config.get("policy"))

    def create(self, planned: State) -> State:
        self.client("sqs").set_queue_attributes(
            QueueUrl=planned["queue_url"], Attributes={"Policy": planned["policy"]}
        )
        planned["id"] = planned["queue_url"]
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        attrs = self.found(
            lambda: self.client("sqs").get_queue_attributes(QueueUrl=current["id"], AttributeNames=["Policy"])
        )
        if attrs is None:
            return None
        policy = attrs.get("Attributes", {}).get("Policy")
        if not policy:
            return None  # the real provider: a queue without a policy has no policy resource
        return {
            **current,
            "queue_url": current["id"],
            "policy": policy_state(policy, current.get("policy")),
            "region": self.region_of(current),
        }

    def update(self, prior: State, planned: State) -> State:
        return self.create(planned)

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("sqs").set_queue_attributes(QueueUrl=prior["id"], Attributes={"Policy": ""})

    def import_state(self, import_id: str) -> State:
        _check_url(import_id, "id")
        return {"id": import_id}
