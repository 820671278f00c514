"""SNS: ``aws_sns_topic``, ``aws_sns_topic_subscription``, ``aws_sns_topic_policy``.

IDs and import IDs as in the real provider: a topic's and a topic policy's ID is the topic ARN, a
subscription's is the subscription ARN.
"""

from __future__ import annotations

import json
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
    check_one_of,
    empty_as,
    json_state,
)
from selfheal.terraform.resource import ResourceError, State, is_unknown

__all__ = ["SnsTopic", "SnsTopicPolicy", "SnsTopicSubscription"]

_FEEDBACK = tuple(
    f"{proto}_{kind}"
    for proto in ("application", "firehose", "http", "lambda", "sqs")
    for kind in ("failure_feedback_role_arn", "success_feedback_role_arn", "success_feedback_sample_rate")
)


def _camel(name: str) -> str:
    special = {"kms_master_key_id": "KmsMasterKeyId", "fifo_topic": "FifoTopic"}
    if name in special:
        return special[name]
    parts = name.split("_")
    return "".join("SQS" if p == "sqs" else "HTTP" if p == "http" else p.title()
                   for p in parts)  # fmt: skip


#: Terraform argument -> SNS topic attribute name.
TOPIC_ATTRIBUTES: dict[str, str] = {
    "display_name": "DisplayName",
    "kms_master_key_id": "KmsMasterKeyId",
    "delivery_policy": "DeliveryPolicy",
    "policy": "Policy",
    "signature_version": "SignatureVersion",
    "tracing_config": "TracingConfig",
    "archive_policy": "ArchivePolicy",
    "content_based_deduplication": "ContentBasedDeduplication",
    "fifo_throughput_scope": "FifoThroughputScope",
    **{n: _camel(n) for n in _FEEDBACK},
}
_NUMBERS = {"signature_version", *(n for n in _FEEDBACK if n.endswith("sample_rate"))}
_JSON = {"delivery_policy", "archive_policy"}
# Attributes the local cloud (moto) accepts but does not keep: a read keeps the state's value for them.
_NOT_KEPT = {"signature_version", "tracing_config", "archive_policy", "fifo_throughput_scope", *_FEEDBACK}

_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_.-]+$")


def _check_topic_arn(value: Any, attribute: str) -> None:
    if isinstance(value, str) and not is_unknown(value) and not _ARN.match(value):
        raise ResourceError(f'"{attribute}" ({value}) is an invalid SNS topic ARN', attribute=attribute)


@register
class SnsTopic(PrefixNamedResource):
    """An SNS topic (id: its ARN)."""

    type_name = "aws_sns_topic"
    optional_computed = frozenset(
        {"name", "name_prefix", "policy", "signature_version", "tracing_config", "fifo_throughput_scope",
         "content_based_deduplication", "fifo_topic"}
        | RegionalResource.TAGS_ALL | RegionalResource.REGION
    )  # fmt: skip
    defaults = {"content_based_deduplication": False, "fifo_topic": False}
    attribute_types = {"signature_version": "number"}
    force_new = frozenset({"name", "name_prefix", "fifo_topic"})
    importable = True
    not_found_codes = frozenset({"NotFound", "NotFoundException"})

    def validate(self, config: State) -> None:
        super().validate(config)
        fifo = config.get("fifo_topic") is True
        check_name(config, fifo=fifo, longest=256, kind="topic")
        if not fifo and config.get("content_based_deduplication") is True:
            raise ResourceError("content-based deduplication can only be set for FIFO topics")
        if config.get("tracing_config") not in (None, "Active", "PassThrough") and not is_unknown(
            config.get("tracing_config")
        ):
            raise ResourceError('expected tracing_config to be one of ["PassThrough" "Active"]',
                                attribute="tracing_config")  # fmt: skip
        check_json(config, "policy", "delivery_policy", "archive_policy")

    def create(self, planned: State) -> State:
        sns = self.client("sns")
        name = self.name_to_create(planned, ".fifo" if planned.get("fifo_topic") else "")
        attributes: dict[str, str] = {}
        if planned.get("fifo_topic"):
            attributes["FifoTopic"] = "true"
        args: dict[str, Any] = {"Name": name, "Attributes": attributes}
        add_tags(args, self.all_tags(planned))
        arn = sns.create_topic(**args)["TopicArn"]
        for tf_name, aws_name in TOPIC_ATTRIBUTES.items():
            value = planned.get(tf_name)
            if value is None or value is False or is_unknown(value) or (tf_name == "policy" and not value):
                continue
            sns.set_topic_attributes(
                TopicArn=arn, AttributeName=aws_name, AttributeValue=attribute_text(value)
            )
        planned["id"] = arn
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        sns = self.client("sns")
        try:
            attrs = sns.get_topic_attributes(TopicArn=current["id"])["Attributes"]
            tags = {
                t["Key"]: t["Value"] for t in sns.list_tags_for_resource(ResourceArn=current["id"])["Tags"]
            }
        except Exception as exc:
            if self.gone(exc):
                return None
            raise
        arn = attrs["TopicArn"]
        name = arn.rsplit(":", 1)[1]
        state: State = {
            **current,
            "id": arn,
            "arn": arn,
            "name": name,
            "name_prefix": name_prefix_from_name(name, ".fifo"),
            "owner": attrs.get("Owner"),
            "fifo_topic": attrs.get("FifoTopic") == "true",
            "content_based_deduplication": attrs.get("ContentBasedDeduplication") == "true",
            "beginning_archive_time": attrs.get("BeginningArchiveTime"),
            "region": self.region_of(current),
            **self.tags_state(tags, current),
        }
        for tf_name, aws_name in TOPIC_ATTRIBUTES.items():
            if tf_name in ("content_based_deduplication",):
                continue
            value: Any = attrs.get(aws_name)
            if value in (None, "") and tf_name in _NOT_KEPT:
                state[tf_name] = current.get(tf_name)
                continue
            if tf_name == "policy":
                value = policy_state(value, current.get("policy")) if value else None
            elif tf_name in _JSON:
                value = json_state(value, current.get(tf_name))
            elif tf_name in _NUMBERS and value not in (None, ""):
                value = int(value)
            else:
                value = empty_as(value, current.get(tf_name))
            state[tf_name] = value
        return state

    def update(self, prior: State, planned: State) -> State:
        sns = self.client("sns")
        arn = prior["id"]
        for tf_name, aws_name in TOPIC_ATTRIBUTES.items():
            new, old = planned.get(tf_name), prior.get(tf_name)
            if new == old or is_unknown(new) or (tf_name == "policy" and not new):
                continue
            sns.set_topic_attributes(TopicArn=arn, AttributeName=aws_name, AttributeValue=attribute_text(new))
        self.retag(prior, planned, *tagging(sns.untag_resource, sns.tag_resource, ResourceArn=arn))
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("sns").delete_topic(TopicArn=prior["id"])

    def import_state(self, import_id: str) -> State:
        if not _ARN.match(import_id):
            raise ResourceError(f"unexpected format of ID ({import_id}), expected an SNS topic ARN")
        return {"id": import_id}


#: Terraform argument -> SNS subscription attribute name (the ones that can change in place).
SUBSCRIPTION_ATTRIBUTES = {
    "delivery_policy": "DeliveryPolicy",
    "filter_policy": "FilterPolicy",
    "filter_policy_scope": "FilterPolicyScope",
    "raw_message_delivery": "RawMessageDelivery",
    "redrive_policy": "RedrivePolicy",
    "replay_policy": "ReplayPolicy",
    "subscription_role_arn": "SubscriptionRoleArn",
}
_PROTOCOLS = ("application", "email", "email-json", "firehose", "http", "https", "lambda", "sms", "sqs")


@register
class SnsTopicSubscription(RegionalResource):
    """A subscription of an endpoint to a topic (id: the subscription ARN)."""

    type_name = "aws_sns_topic_subscription"
    optional_computed = frozenset(
        {"confirmation_timeout_in_minutes", "endpoint_auto_confirms", "raw_message_delivery",
         "filter_policy_scope"} | RegionalResource.REGION
    )  # fmt: skip
    defaults = {
        "confirmation_timeout_in_minutes": 1,
        "endpoint_auto_confirms": False,
        "raw_message_delivery": False,
    }
    attribute_types = {"confirmation_was_authenticated": "bool", "pending_confirmation": "bool"}
    force_new = frozenset({"topic_arn", "protocol", "endpoint"})
    importable = True
    not_found_codes = frozenset({"NotFound", "NotFoundException"})

    def validate(self, config: State) -> None:
        super().validate(config)
        _check_topic_arn(config.get("topic_arn"), "topic_arn")
        check_one_of(config, "protocol", _PROTOCOLS)
        if config.get("filter_policy_scope") not in (
            None,
            "MessageAttributes",
            "MessageBody",
        ) and not is_unknown(config.get("filter_policy_scope")):
            raise ResourceError("expected filter_policy_scope to be MessageAttributes or MessageBody",
                                attribute="filter_policy_scope")  # fmt: skip

    def create(self, planned: State) -> State:
        sns = self.client("sns")
        attributes = {
            aws: attribute_text(planned[tf])
            for tf, aws in SUBSCRIPTION_ATTRIBUTES.items()
            if planned.get(tf) not in (None, "", False) and not is_unknown(planned.get(tf))
        }
        arn = sns.subscribe(
            TopicArn=planned["topic_arn"],
            Protocol=planned["protocol"],
            Endpoint=planned["endpoint"],
            Attributes=attributes,
            ReturnSubscriptionArn=True,
        )["SubscriptionArn"]
        planned["id"] = arn
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        attrs = self.found(
            lambda: self.client("sns").get_subscription_attributes(SubscriptionArn=current["id"])[
                "Attributes"
            ]
        )
        if attrs is None:
            return None
        state: State = {
            **current,
            "arn": attrs.get("SubscriptionArn", current["id"]),
            "topic_arn": attrs["TopicArn"],
            "protocol": attrs["Protocol"],
            "endpoint": attrs["Endpoint"],
            "owner_id": attrs.get("Owner"),
            "pending_confirmation": attrs.get("PendingConfirmation") == "true",
            "confirmation_was_authenticated": attrs.get("ConfirmationWasAuthenticated") == "true",
            "raw_message_delivery": attrs.get("RawMessageDelivery") == "true",
            "confirmation_timeout_in_minutes": current.get("confirmation_timeout_in_minutes") or 1,
            "endpoint_auto_confirms": bool(current.get("endpoint_auto_confirms")),
            "region": self.region_of(current),
        }
        for tf_name in ("delivery_policy", "filter_policy", "redrive_policy", "replay_policy"):
            state[tf_name] = json_state(attrs.get(SUBSCRIPTION_ATTRIBUTES[tf_name]), current.get(tf_name))
        state["subscription_role_arn"] = empty_as(
            attrs.get("SubscriptionRoleArn"), current.get("subscription_role_arn")
        )
        scope = attrs.get("FilterPolicyScope")
        if not scope and state["filter_policy"]:
            scope = "MessageAttributes"  # SNS's default once a filter policy exists
        state["filter_policy_scope"] = scope or current.get("filter_policy_scope")
        return state

    def update(self, prior: State, planned: State) -> State:
        sns = self.client("sns")
        for tf_name, aws_name in SUBSCRIPTION_ATTRIBUTES.items():
            new = planned.get(tf_name)
            if new != prior.get(tf_name) and not is_unknown(new):
                sns.set_subscription_attributes(
                    SubscriptionArn=prior["id"],
                    AttributeName=aws_name,
                    AttributeValue=attribute_text(new),
                )
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("sns").unsubscribe(SubscriptionArn=prior["id"])

    def import_state(self, import_id: str) -> State:
        if not import_id.startswith("arn:") or import_id.count(":") != 6:
            raise ResourceError(f"unexpected format of ID ({import_id}), expected a subscription ARN")
        return {"id": import_id}


def default_topic_policy(arn: str, account: str) -> str:
    """The access policy SNS gives a new topic (the real provider restores it when a policy is removed)."""
    actions = ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
               "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic",
               "SNS:Publish"]  # fmt: skip
    doc = {
        "Version": "2008-10-17",
        "Id": "__default_policy_ID",
        "Statement": [{
            "Sid": "__default_statement_ID", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": actions,
            "Resource": arn, "Condition": {"StringEquals": {"AWS:SourceOwner": account}},
        }],
    }  # fmt: skip
    return json.dumps(doc, separators=(",", ":"))


@register
class SnsTopicPolicy(RegionalResource):
    """A topic's access policy (id: the topic ARN); deleting it restores SNS's default policy."""

    type_name = "aws_sns_topic_policy"
    optional_computed = RegionalResource.REGION
    force_new = frozenset({"arn"})
    importable = True
    not_found_codes = frozenset({"NotFound", "NotFoundException"})

    def validate(self, config: State) -> None:
        super().validate(config)
        _check_topic_arn(config.get("arn"), "arn")
        check_policy_json(config.get("policy"))

    def create(self, planned: State) -> State:
        self.client("sns").set_topic_attributes(
            TopicArn=planned["arn"], AttributeName="Policy", AttributeValue=planned["policy"]
        )
        planned["id"] = planned["arn"]
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        attrs = self.found(
            lambda: self.client("sns").get_topic_attributes(TopicArn=current["id"])["Attributes"]
        )
        if attrs is None:
            return None
        return {
            **current,
            "arn": attrs["TopicArn"],
            "owner": attrs.get("Owner"),
            "policy": policy_state(attrs.get("Policy") or "", current.get("policy")),
            "region": self.region_of(current),
        }

    def update(self, prior: State, planned: State) -> State:
        return self.create(planned)

    def delete(self, prior: State) -> None:
        arn = prior["id"]
        with self.ignoring_gone():
            self.client("sns").set_topic_attributes(
                TopicArn=arn,
                AttributeName="Policy",
                AttributeValue=default_topic_policy(arn, arn.split(":")[4]),
            )

    def import_state(self, import_id: str) -> State:
        if not _ARN.match(import_id):
            raise ResourceError(f"unexpected format of ID ({import_id}), expected an SNS topic ARN")
        return {"id": import_id}
