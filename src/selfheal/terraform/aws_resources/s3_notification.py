"""``aws_s3_bucket_notification``: a bucket's event notifications to Lambda functions (id and import ID: the
bucket name).

The local cloud checks, as S3 does, that each function's resource policy lets ``s3.amazonaws.com`` invoke it
(an ``aws_lambda_permission``; S3 answers ``InvalidArgument`` otherwise) and invokes it asynchronously with
S3's event on each matching object event. Queue and topic destinations and EventBridge delivery are refused
at plan: the local cloud does not validate or deliver them as S3 does.
"""

from __future__ import annotations

from typing import Any

from selfheal.terraform.aws_resources import register
from selfheal.terraform.aws_resources._common import known, unique_name
from selfheal.terraform.aws_resources._regional import RegionalResource
from selfheal.terraform.aws_resources.s3 import BUCKET_GONE, check_bucket_name
from selfheal.terraform.resource import ResourceError, State, is_unknown

__all__ = ["S3BucketNotification"]

_EVENT_PREFIXES = (
    "s3:ObjectCreated:", "s3:ObjectRemoved:", "s3:ObjectRestore:", "s3:ReducedRedundancyLostObject",
    "s3:Replication:", "s3:LifecycleExpiration:", "s3:LifecycleTransition", "s3:IntelligentTiering",
    "s3:ObjectTagging:", "s3:ObjectAcl:", "s3:TestEvent",
)  # fmt: skip


def _filter_rules(item: State) -> list[dict[str, str]]:
    rules = []
    for name in ("prefix", "suffix"):
        value = item.get(f"filter_{name}")
        if value:
            rules.append({"Name": name, "Value": value})
    return rules


@register
class S3BucketNotification(RegionalResource):
    """Event notifications of one bucket to Lambda functions; destroying it clears the configuration."""

    type_name = "aws_s3_bucket_notification"
    optional_computed = frozenset({"lambda_function.id", "eventbridge"}) | RegionalResource.REGION
    defaults = {"eventbridge": False}
    force_new = frozenset({"bucket"})
    importable = True
    not_found_codes = frozenset(BUCKET_GONE)

    def validate(self, config: State) -> None:
        super().validate(config)
        check_bucket_name(config.get("bucket"))
        for name in ("queue", "topic"):
            if config.get(name):
                raise ResourceError(
                    f'"{name}" notifications are not supported by the selfheal local provider',
                    "The local cloud delivers S3 events to Lambda functions only (lambda_function blocks).",
                    name,
                )
        if config.get("eventbridge") is True:
            raise ResourceError(
                "eventbridge = true is not supported by the selfheal local provider",
                "The local cloud delivers S3 events to Lambda functions only (lambda_function blocks).",
                "eventbridge",
            )
        for item in config.get("lambda_function") or []:
            for event in item.get("events") or []:
                if isinstance(event, str) and not is_unknown(event) and not event.startswith(_EVENT_PREFIXES):
                    raise ResourceError(f"invalid S3 event type: {event}", attribute="lambda_function")

    def create(self, planned: State) -> State:
        self._put(planned)
        planned["id"] = planned["bucket"]
        return self.read(planned) or planned

    def update(self, prior: State, planned: State) -> State:
        self._put(planned)
        return self.read(planned) or planned

    def _put(self, planned: State) -> None:
        configurations = []
        for item in planned.get("lambda_function") or []:
            item["id"] = known(item.get("id")) or unique_name("tf-s3-lambda-")
            aws: dict[str, Any] = {
                "Id": item["id"],
                "LambdaFunctionArn": item["lambda_function_arn"],
                "Events": sorted(item["events"]),
            }
            if rules := _filter_rules(item):
                aws["Filter"] = {"Key": {"FilterRules": rules}}
            configurations.append(aws)
        self.client("s3").put_bucket_notification_configuration(
            Bucket=planned["bucket"],
            NotificationConfiguration={"LambdaFunctionConfigurations": configurations},
        )

    def read(self, current: State) -> State | None:
        bucket = str(current["id"])
        got = self.found(lambda: self.client("s3").get_bucket_notification_configuration(Bucket=bucket))
        if got is None:
            return None
        functions = []
        for aws in got.get("LambdaFunctionConfigurations") or []:
            rules = {
                str(r["Name"]).lower(): r["Value"]
                for r in aws.get("Filter", {}).get("Key", {}).get("FilterRules", [])
            }
            functions.append(
                {
                    "id": aws.get("Id"),
                    "lambda_function_arn": aws.get("LambdaFunctionArn"),
                    "events": sorted(aws.get("Events") or []),
                    "filter_prefix": rules.get("prefix"),
                    "filter_suffix": rules.get("suffix"),
                }
            )
        if not functions and not got.get("QueueConfigurations") and not got.get("TopicConfigurations"):
            return None
        return {
            **current,
            "id": bucket,
            "bucket": bucket,
            "lambda_function": functions,
            "queue": [],
            "topic": [],
            "eventbridge": "EventBridgeConfiguration" in got,
            "region": self.region_of(current),
        }

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("s3").put_bucket_notification_configuration(
                Bucket=prior["id"], NotificationConfiguration={}
            )

    def import_state(self, import_id: str) -> State:
        check_bucket_name(import_id, "id")
        return {"id": import_id}
