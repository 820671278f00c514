"""Lambda: ``aws_lambda_event_source_mapping`` from SQS queues (id: the mapping's UUID; import by UUID).

As the real provider (``internal/service/lambda/event_source_mapping.go``): create and update wait until the
mapping's ``State`` has settled (``Creating``/``Enabling``/``Disabling``/``Updating`` → ``Enabled`` or
``Disabled``), delete waits until it is gone; ``enabled`` (default true), ``batch_size`` (SQS: 10) and
``maximum_batching_window_in_seconds`` (0) plan their defaults; ``function_name`` may be a name or an ARN and
is kept as configured while it names the same function; ``event_source_arn`` changes replace the mapping,
``function_name``, ``enabled``, ``batch_size``, … update it in place.

The local cloud polls SQS queues only (``selfheal.cloud.lambda_event_sources``): another source (a stream, a
Kafka cluster, an MQ broker, a DocumentDB collection) and the arguments only they take are refused at plan,
naming them.
"""

from __future__ import annotations

import json
import time
from typing import Any

from selfheal.terraform.aws_resources import register
from selfheal.terraform.aws_resources._common import tagging
from selfheal.terraform.aws_resources._regional import RegionalResource, empty_as, json_equivalent
from selfheal.terraform.resource import ResourceError, State, Unknown, is_unknown

__all__ = ["LambdaEventSourceMapping"]

#: Arguments of stream, Kafka, MQ and DocumentDB sources, which SQS mappings do not take.
NOT_SQS = (
    "amazon_managed_kafka_event_source_config", "bisect_batch_on_function_error", "destination_config",
    "document_db_event_source_config", "maximum_record_age_in_seconds", "maximum_retry_attempts",
    "parallelization_factor", "provisioned_poller_config", "queues", "self_managed_event_source",
    "self_managed_kafka_event_source_config", "source_access_configuration", "starting_position",
    "starting_position_timestamp", "topics", "tumbling_window_in_seconds",
)  # fmt: skip
_KINDS = {
    "kinesis": "Kinesis stream",
    "dynamodb": "DynamoDB stream",
    "kafka": "MSK cluster",
    "mq": "Amazon MQ broker",
    "rds": "DocumentDB cluster",
}
_RESPONSE_TYPES = ("ReportBatchItemFailures",)
_SETTLE_SECONDS = 60.0


def _given(value: Any) -> bool:
    return value not in (None, [], {}, "") and not is_unknown(value)


def _function(name_or_arn: Any) -> str:
    """The function a ``function_name`` names (the name of an unqualified ARN or a name)."""
    parts = str(name_or_arn).split(":")
    return parts[6] if len(parts) >= 7 and parts[5] == "function" else str(name_or_arn)


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def check_sqs_source(arn: Any) -> None:
    """Refuse a known ``event_source_arn`` that is not an SQS queue's."""
    if not isinstance(arn, str) or is_unknown(arn):
        return
    parts = arn.split(":")
    service = parts[2] if len(parts) > 2 and parts[0] == "arn" else "?"
    if service != "sqs":
        kind = _KINDS.get(service, f"'{service}' source")
        raise ResourceError(
            f"event source {arn} is a {kind}: the selfheal local provider maps SQS queues only",
            "The local cloud polls SQS queues for Lambda; streams, Kafka, MQ and DocumentDB sources are not "
            "supported.",
            "event_source_arn",
        )


@register
class LambdaEventSourceMapping(RegionalResource):
    """A mapping that feeds a function the messages of an SQS queue."""

    type_name = "aws_lambda_event_source_mapping"
    optional_computed = frozenset(
        {"batch_size", "enabled", "maximum_batching_window_in_seconds"}
        | RegionalResource.TAGS_ALL
        | RegionalResource.REGION
    )
    defaults = {"batch_size": 10, "enabled": True, "maximum_batching_window_in_seconds": 0}
    force_new = frozenset({"event_source_arn", *NOT_SQS, "region"})
    unknown_on_update = frozenset({"last_modified", "state", "state_transition_reason", "function_arn"})
    importable = True

    def validate(self, config: State) -> None:
        super().validate(config)
        others = [name for name in NOT_SQS if _given(config.get(name)) and config.get(name) is not False]
        if others:
            raise ResourceError(
                f"{', '.join(others)}: not taken by SQS event source mappings, the only kind the selfheal "
                "local provider supports",
                "Remove them: they configure stream, Kafka, MQ or DocumentDB sources.",
                others[0],
            )
        if config.get("event_source_arn") is None:
            raise ResourceError(
                "event_source_arn is required: the selfheal local provider maps SQS queues only",
                attribute="event_source_arn",
            )
        check_sqs_source(config.get("event_source_arn"))
        types = config.get("function_response_types")
        for value in types if isinstance(types, list) else []:
            if isinstance(value, str) and not is_unknown(value) and value not in _RESPONSE_TYPES:
                raise ResourceError(
                    f'expected function_response_types to be one of ["ReportBatchItemFailures"], got {value}',
                    attribute="function_response_types",
                )
        size = config.get("batch_size")
        if isinstance(size, int | float) and not 1 <= size <= 10000:
            raise ResourceError(
                f"expected batch_size to be in the range (1 - 10000), got {size}", attribute="batch_size"
            )

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        planned = super().plan(prior, planned, config)
        check_sqs_source(planned.get("event_source_arn"))
        if prior is not None and _function(planned.get("function_name")) == _function(
            prior.get("function_name")
        ):
            planned["function_name"] = prior["function_name"]  # a name and its ARN: the same function
        if prior is None:
            for name in ("function_arn", "uuid", "arn", "state", "state_transition_reason", "last_modified"):
                planned[name] = Unknown
        return planned

    # ------------------------------------------------------------------ helpers

    def _arguments(self, planned: State) -> dict[str, Any]:
        args: dict[str, Any] = {
            "FunctionName": planned["function_name"],
            "Enabled": bool(planned.get("enabled", True)),
            "BatchSize": int(planned.get("batch_size") or 10),
            "MaximumBatchingWindowInSeconds": int(planned.get("maximum_batching_window_in_seconds") or 0),
            "FunctionResponseTypes": list(planned.get("function_response_types") or []),
        }
        scaling = (planned.get("scaling_config") or [None])[0]
        if scaling and scaling.get("maximum_concurrency") is not None:
            args["ScalingConfig"] = {"MaximumConcurrency": int(scaling["maximum_concurrency"])}
        criteria = (planned.get("filter_criteria") or [None])[0]
        if criteria is not None:
            filters = criteria.get("filter") or []
            args["FilterCriteria"] = {"Filters": [{"Pattern": f.get("pattern")} for f in filters]}
        metrics = (planned.get("metrics_config") or [None])[0]
        if metrics:
            args["MetricsConfig"] = {"Metrics": sorted(metrics.get("metrics") or [])}
        if _given(planned.get("kms_key_arn")):
            args["KMSKeyArn"] = planned["kms_key_arn"]
        return args

    def _settled(self, uuid: str) -> dict[str, Any] | None:
        """The mapping once its state no longer ends in ``ing`` (None: it is gone)."""
        deadline = time.monotonic() + _SETTLE_SECONDS
        while True:
            got = self.found(lambda: self.client("lambda").get_event_source_mapping(UUID=uuid))
            if got is None or not str(got.get("State", "")).endswith("ing"):
                return got
            if time.monotonic() > deadline:
                raise ResourceError(
                    f"event source mapping {uuid} still {got['State']} after {_SETTLE_SECONDS:g} s"
                )
            time.sleep(0.1)

    # ------------------------------------------------------------------ CRUD

    def create(self, planned: State) -> State:
        check_sqs_source(planned.get("event_source_arn"))
        args = self._arguments(planned)
        tags = self.all_tags(planned)
        if tags:
            args["Tags"] = tags
        got = self.client("lambda").create_event_source_mapping(
            EventSourceArn=planned["event_source_arn"], **args
        )
        planned["id"] = got["UUID"]
        self._settled(got["UUID"])
        return self.read(planned) or planned

    def read(self, current: State) -> State | None:
        got = self._settled(current["id"])
        if got is None:
            return None
        function_arn = got["FunctionArn"]
        configured = current.get("function_name")
        keep = configured is not None and _function(configured) == _function(function_arn)
        scaling = got.get("ScalingConfig") or {}
        filters = (got.get("FilterCriteria") or {}).get("Filters")
        old_filters = [
            f for block in current.get("filter_criteria") or [] for f in (block or {}).get("filter") or []
        ]
        metrics = (got.get("MetricsConfig") or {}).get("Metrics")
        tags = self.client("lambda").list_tags(Resource=got["EventSourceMappingArn"]).get("Tags") or {}
        return {
            **current,
            "id": got["UUID"],
            "uuid": got["UUID"],
            "arn": got["EventSourceMappingArn"],
            "function_arn": function_arn,
            "function_name": configured if keep else _function(function_arn),
            "event_source_arn": got["EventSourceArn"],
            "enabled": got.get("State") not in ("Disabled", "Disabling"),
            "batch_size": _number(got.get("BatchSize", 10)),
            "maximum_batching_window_in_seconds": _number(got.get("MaximumBatchingWindowInSeconds") or 0),
            "function_response_types": empty_as(
                got.get("FunctionResponseTypes"), current.get("function_response_types")
            ),
            "scaling_config": (
                [{"maximum_concurrency": _number(scaling["MaximumConcurrency"])}]
                if scaling.get("MaximumConcurrency") is not None
                else []
            ),
            "filter_criteria": (
                [{"filter": [{"pattern": self._pattern(f.get("Pattern"), old_filters)} for f in filters]}]
                if filters is not None
                else []
            ),
            "metrics_config": [{"metrics": sorted(metrics)}] if metrics else [],
            "kms_key_arn": got.get("KMSKeyArn") or current.get("kms_key_arn"),
            "state": got.get("State"),
            "state_transition_reason": got.get("StateTransitionReason"),
            "last_processing_result": got.get("LastProcessingResult"),
            "last_modified": self._timestamp(got.get("LastModified")),
            "region": self.region_of(current),
            **self.tags_state(tags, current),
        }

    @staticmethod
    def _pattern(pattern: Any, old_filters: list[dict[str, Any]]) -> Any:
        for old in old_filters:
            if json_equivalent(old.get("pattern"), pattern):
                return old.get("pattern")
        return pattern if isinstance(pattern, str) or pattern is None else json.dumps(pattern)

    @staticmethod
    def _timestamp(value: Any) -> str | None:
        if value is None:
            return None
        if hasattr(value, "strftime"):
            return str(value.strftime("%Y-%m-%dT%H:%M:%SZ"))
        return str(value)

    def update(self, prior: State, planned: State) -> State:
        lam = self.client("lambda")
        args = self._arguments(planned)
        if _function(prior.get("function_name")) == _function(planned.get("function_name")):
            args.pop("FunctionName")
        if prior.get("scaling_config") and "ScalingConfig" not in args:
            args["ScalingConfig"] = {}
        if prior.get("filter_criteria") and "FilterCriteria" not in args:
            args["FilterCriteria"] = {}
        lam.update_event_source_mapping(UUID=prior["id"], **args)
        self._settled(prior["id"])
        arn = str(prior.get("arn") or "")
        if arn:
            self.retag(
                prior, planned, *tagging(lam.untag_resource, lam.tag_resource, tags_as=dict, Resource=arn)
            )
        return self.read(planned) or planned

    def delete(self, prior: State) -> None:
        with self.ignoring_gone():
            self.client("lambda").delete_event_source_mapping(UUID=prior["id"])
        deadline = time.monotonic() + _SETTLE_SECONDS
        while (
            self.found(lambda: self.client("lambda").get_event_source_mapping(UUID=prior["id"])) is not None
        ):
            if time.monotonic() > deadline:
                raise ResourceError(
                    f"event source mapping {prior['id']} still exists after {_SETTLE_SECONDS:g} s"
                )
            time.sleep(0.1)
