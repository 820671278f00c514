"""Lambda: ``aws_lambda_event_source_mapping`` from SQS queues and DynamoDB streams (id: the mapping's UUID).

As the real provider (``internal/service/lambda/event_source_mapping.go``): create and update wait until the
mapping's ``State`` has settled (``Creating``/``Enabling``/``Disabling``/``Updating`` → ``Enabled`` or
``Disabled``), delete waits until it is gone; ``enabled`` (default true), ``batch_size`` (SQS: 10) and
``maximum_batching_window_in_seconds`` (0) plan their defaults; ``function_name`` may be a name or an ARN and
is kept as configured while it names the same function; ``event_source_arn`` and ``starting_position``
changes replace the mapping, ``function_name``, ``enabled``, ``batch_size``, … update it in place; import by
UUID.

DynamoDB stream sources take ``starting_position`` (required: ``TRIM_HORIZON`` or ``LATEST``),
``batch_size`` (default 100), ``maximum_batching_window_in_seconds``, ``maximum_retry_attempts`` and
``maximum_record_age_in_seconds`` (computed: -1), ``bisect_batch_on_function_error``,
``parallelization_factor`` (computed: 1; stored, the local cloud applies 1), ``function_response_types``,
``destination_config.on_failure`` (an SQS queue or SNS topic); ``tumbling_window_in_seconds`` other than 0,
``filter_criteria`` and the SQS-only ``scaling_config`` are refused at plan, naming them.

The local cloud polls SQS queues and DynamoDB streams (``selfheal.cloud.lambda_event_sources``): another
source (a Kinesis stream, a Kafka cluster, an MQ broker, a DocumentDB collection) and the arguments only they
take are refused at plan, naming them.
"""

from __future__ import annotations

import json
import time
from typing import Any

from selfheal.terraform.aws_resources import register
from selfheal.terraform.aws_resources._common import rfc3339, tagging
from selfheal.terraform.aws_resources._regional import (
    RegionalResource,
    check_range,
    empty_as,
    json_equivalent,
)
from selfheal.terraform.resource import ResourceError, State, Unknown, is_unknown

__all__ = ["LambdaEventSourceMapping"]

#: Arguments of stream sources (DynamoDB streams take them), which SQS mappings do not take.
STREAM_ONLY = (
    "bisect_batch_on_function_error", "destination_config", "maximum_record_age_in_seconds",
    "maximum_retry_attempts", "parallelization_factor", "starting_position", "tumbling_window_in_seconds",
)  # fmt: skip
#: Arguments of Kinesis, Kafka, MQ and DocumentDB sources, which neither SQS nor DynamoDB mappings take here.
UNSUPPORTED = (
    "amazon_managed_kafka_event_source_config", "document_db_event_source_config",
    "provisioned_poller_config", "queues", "self_managed_event_source",
    "self_managed_kafka_event_source_config", "source_access_configuration", "starting_position_timestamp",
    "topics",
)  # fmt: skip
NOT_SQS = STREAM_ONLY + UNSUPPORTED
#: Arguments a DynamoDB stream mapping does not take (SQS-only) or the local cloud cannot apply.
NOT_STREAM = ("scaling_config", "filter_criteria", *UNSUPPORTED)
#: What Lambda reports for a stream mapping's settings left unset.
STREAM_COMPUTED = {
    "maximum_record_age_in_seconds": -1,
    "maximum_retry_attempts": -1,
    "parallelization_factor": 1,
}
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


def is_dynamodb_stream(arn: Any) -> bool:
    """Whether a known ``event_source_arn`` is a DynamoDB stream's."""
    if not isinstance(arn, str) or is_unknown(arn):
        return False
    parts = arn.split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and parts[2] == "dynamodb" and "/stream/" in parts[5]


def check_sqs_source(arn: Any) -> None:
    """Refuse a known ``event_source_arn`` that is neither an SQS queue's nor a DynamoDB stream's."""
    if not isinstance(arn, str) or is_unknown(arn) or is_dynamodb_stream(arn):
        return
    parts = arn.split(":")
    service = parts[2] if len(parts) > 2 and parts[0] == "arn" else "?"
    if service != "sqs":
        kind = _KINDS.get(service, f"'{service}' source")
        raise ResourceError(
            f"event source {arn} is a {kind}: the selfheal local provider maps SQS queues and DynamoDB "
            "streams only",
            "The local cloud polls SQS queues and DynamoDB streams for Lambda; Kinesis, Kafka, MQ and "
            "DocumentDB sources are not supported.",
            "event_source_arn",
        )


def _check_stream(config: State) -> None:
    """Refuse what a DynamoDB stream mapping does not take, or the local cloud cannot apply."""
    others = [name for name in NOT_STREAM if _given(config.get(name))]
    if others:
        raise ResourceError(
            f"{', '.join(others)}: not taken by DynamoDB stream event source mappings in the selfheal local "
            "provider",
            "scaling_config is for SQS sources; filter_criteria is not applied by the local cloud; "
            "the others configure Kinesis, Kafka, MQ or DocumentDB sources.",
            others[0],
        )
    position = config.get("starting_position")
    if position is None:
        raise ResourceError(
            "starting_position is required for a DynamoDB stream source (TRIM_HORIZON or LATEST)",
            attribute="starting_position",
        )
    if isinstance(position, str) and not is_unknown(position) and position not in ("TRIM_HORIZON", "LATEST"):
        raise ResourceError(
            f"starting_position {position} is not taken by DynamoDB stream sources: TRIM_HORIZON or LATEST",
            attribute="starting_position",
        )
    window = config.get("tumbling_window_in_seconds")
    if isinstance(window, int | float) and window != 0:
        raise ResourceError(
            f"tumbling_window_in_seconds = {window:g}: tumbling windows are not supported by the selfheal "
            "local cloud",
            "Leave tumbling_window_in_seconds unset or 0.",
            "tumbling_window_in_seconds",
        )
    check_range(config, "maximum_retry_attempts", -1, 10000)
    check_range(config, "maximum_record_age_in_seconds", -1, 604800)
    check_range(config, "parallelization_factor", 1, 10)
    check_range(config, "maximum_batching_window_in_seconds", 0, 300)
    age = config.get("maximum_record_age_in_seconds")
    if isinstance(age, int | float) and -1 < age < 60:
        raise ResourceError(
            f"expected maximum_record_age_in_seconds to be -1 or at least 60, got {age:g}",
            attribute="maximum_record_age_in_seconds",
        )


@register
class LambdaEventSourceMapping(RegionalResource):
    """A mapping that feeds a function the messages of an SQS queue or the records of a DynamoDB stream."""

    type_name = "aws_lambda_event_source_mapping"
    optional_computed = frozenset(
        {"batch_size", "enabled", "maximum_batching_window_in_seconds", *STREAM_COMPUTED}
        | RegionalResource.TAGS_ALL
        | RegionalResource.REGION
    )
    defaults = {"batch_size": 10, "enabled": True, "maximum_batching_window_in_seconds": 0}
    force_new = frozenset({"event_source_arn", "starting_position", *UNSUPPORTED, "region"})
    unknown_on_update = frozenset({"last_modified", "state", "state_transition_reason", "function_arn"})
    importable = True

    def validate(self, config: State) -> None:
        super().validate(config)
        arn = config.get("event_source_arn")
        if is_dynamodb_stream(arn):
            _check_stream(config)
        others = [name for name in NOT_SQS if _given(config.get(name)) and config.get(name) is not False]
        if is_unknown(arn) or is_dynamodb_stream(arn):
            others = [name for name in others if name not in STREAM_ONLY]
        if others:
            raise ResourceError(
                f"{', '.join(others)}: not taken by SQS event source mappings (the selfheal local provider "
                "supports SQS queues and DynamoDB streams)",
                "Remove them: they configure stream, Kafka, MQ or DocumentDB sources.",
                others[0],
            )
        if config.get("event_source_arn") is None:
            raise ResourceError(
                "event_source_arn is required: the selfheal local provider maps SQS queues and DynamoDB "
                "streams",
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
        check_range(config, "batch_size", 1, 10000)

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        planned = super().plan(prior, planned, config)
        arn = planned.get("event_source_arn")
        check_sqs_source(arn)
        stream = is_dynamodb_stream(arn)
        if config.get("batch_size") is None and (stream or is_unknown(arn)):
            planned["batch_size"] = Unknown if is_unknown(arn) else 100  # the source's default
        for name, default in STREAM_COMPUTED.items():
            if config.get(name) is None and not is_unknown(arn):
                planned[name] = default if stream else None
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
        if is_dynamodb_stream(planned.get("event_source_arn")):
            args.update(self._stream_arguments(planned))
        return args

    @staticmethod
    def _stream_arguments(planned: State) -> dict[str, Any]:
        args: dict[str, Any] = {"StartingPosition": planned.get("starting_position")}
        for name, key in (
            ("maximum_retry_attempts", "MaximumRetryAttempts"),
            ("maximum_record_age_in_seconds", "MaximumRecordAgeInSeconds"),
            ("parallelization_factor", "ParallelizationFactor"),
            ("tumbling_window_in_seconds", "TumblingWindowInSeconds"),
        ):
            if planned.get(name) is not None:
                args[key] = int(planned[name])
        args["BisectBatchOnFunctionError"] = bool(planned.get("bisect_batch_on_function_error"))
        failure = ((planned.get("destination_config") or [{}])[0] or {}).get("on_failure") or [None]
        target = (failure[0] or {}).get("destination_arn")
        args["DestinationConfig"] = {"OnFailure": {"Destination": target}} if target else {"OnFailure": {}}
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
            **self._stream_state(got, current),
            "kms_key_arn": got.get("KMSKeyArn") or current.get("kms_key_arn"),
            "state": got.get("State"),
            "state_transition_reason": got.get("StateTransitionReason"),
            "last_processing_result": got.get("LastProcessingResult"),
            "last_modified": rfc3339(got.get("LastModified")),
            "region": self.region_of(current),
            **self.tags_state(tags, current),
        }

    @staticmethod
    def _stream_state(got: dict[str, Any], current: State) -> State:
        """The stream-only attributes as read back (null where the configuration left them and AWS reports
        the default of an Optional-only argument)."""
        bisect = got.get("BisectBatchOnFunctionError")
        window = got.get("TumblingWindowInSeconds")
        target = ((got.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        return {
            "starting_position": got.get("StartingPosition")
            if is_dynamodb_stream(got["EventSourceArn"])
            else current.get("starting_position"),
            "maximum_retry_attempts": _number(got.get("MaximumRetryAttempts")),
            "maximum_record_age_in_seconds": _number(got.get("MaximumRecordAgeInSeconds")),
            "parallelization_factor": _number(got.get("ParallelizationFactor")),
            "bisect_batch_on_function_error": True
            if bisect
            else (False if current.get("bisect_batch_on_function_error") is not None else None),
            "tumbling_window_in_seconds": _number(window)
            if window
            else current.get("tumbling_window_in_seconds"),
            "destination_config": [{"on_failure": [{"destination_arn": target}]}] if target else [],
        }

    @staticmethod
    def _pattern(pattern: Any, old_filters: list[dict[str, Any]]) -> Any:
        for old in old_filters:
            if json_equivalent(old.get("pattern"), pattern):
                return old.get("pattern")
        return pattern if isinstance(pattern, str) or pattern is None else json.dumps(pattern)

    def update(self, prior: State, planned: State) -> State:
        lam = self.client("lambda")
        args = self._arguments(planned)
        if _function(prior.get("function_name")) == _function(planned.get("function_name")):
            args.pop("FunctionName")
        args.pop("StartingPosition", None)  # not updatable: a change replaces the mapping
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
