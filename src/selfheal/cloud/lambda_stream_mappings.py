"""DynamoDB-stream event source mappings: Lambda's validation, the mapping's creation, its destinations.

Lambda answers a ``CreateEventSourceMapping``/``UpdateEventSourceMapping`` of a DynamoDB stream it refuses
with ``InvalidParameterValueException`` (or ``ValidationException`` for a value outside an enum) and
these texts: a missing ``StartingPosition``, ``AT_TIMESTAMP``, a stream that does not exist, a value out
of its documented range (``BatchSize`` 1..10000, ``MaximumRetryAttempts`` -1..10000,
``MaximumRecordAgeInSeconds`` -1 or 60..604800, ``ParallelizationFactor`` 1..10,
``MaximumBatchingWindowInSeconds`` 0..300), an SQS-only argument (``ScalingConfig``), an ``OnSuccess``
destination, a duplicate mapping. What the local cloud cannot do is refused naming it: a
``TumblingWindowInSeconds`` over 0, ``FilterCriteria``.

:func:`create_stream_mapping` builds moto's ``EventSourceMapping`` itself: moto's own creation looks the
stream up in the Lambda backend's region only, and hooks the mapping to the table, whose every write then
calls the function from the DynamoDB request thread (``StreamShard.add`` → ``send_dynamodb_items``) and
empties the shard. The mapping stays off the table; a :class:`~selfheal.cloud.lambda_stream_poller.
StreamPoller` reads the shard instead.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

__all__ = [
    "STREAM_DEFAULTS",
    "create_stream_mapping",
    "is_stream",
    "send_to_destination",
    "stream_table",
    "validate_stream_spec",
]

#: What Lambda reports for a stream mapping's settings left unset.
STREAM_DEFAULTS: dict[str, Any] = {
    "MaximumBatchingWindowInSeconds": 0,
    "MaximumRecordAgeInSeconds": -1,
    "MaximumRetryAttempts": -1,
    "BisectBatchOnFunctionError": False,
    "ParallelizationFactor": 1,
    "TumblingWindowInSeconds": 0,
    "FunctionResponseTypes": [],
    "DestinationConfig": {"OnFailure": {}},
}
#: (API name, request member name, minimum, maximum) of the integer settings Lambda range-checks.
_RANGES = (
    ("BatchSize", "batchSize", 1, 10000),
    ("MaximumRetryAttempts", "maximumRetryAttempts", -1, 10000),
    ("MaximumRecordAgeInSeconds", "maximumRecordAgeInSeconds", -1, 604800),
    ("ParallelizationFactor", "parallelizationFactor", 1, 10),
    ("MaximumBatchingWindowInSeconds", "maximumBatchingWindowInSeconds", 0, 300),
    ("TumblingWindowInSeconds", "tumblingWindowInSeconds", 0, 900),
)
_SQS_ONLY = ("ScalingConfig",)
_POSITIONS = ("LATEST", "AT_TIMESTAMP", "TRIM_HORIZON")


def _invalid(message: str) -> Exception:
    from moto.awslambda.exceptions import InvalidParameterValueException

    return InvalidParameterValueException(message)


def _validation(message: str) -> Exception:
    from moto.awslambda.exceptions import LambdaClientError

    return LambdaClientError("ValidationException", message)


def _conflict(message: str) -> Exception:
    from moto.awslambda.exceptions import LambdaClientError

    error = LambdaClientError("ResourceConflictException", message)
    error.code = 409
    return error


def is_stream(arn: Any) -> bool:
    """Whether ``arn`` names a DynamoDB stream (``arn:aws:dynamodb:REGION:ACCOUNT:table/T/stream/LABEL``)."""
    if not isinstance(arn, str) or not arn.startswith("arn:"):
        return False
    parts = arn.split(":", 5)
    return len(parts) == 6 and parts[2] == "dynamodb" and "/stream/" in parts[5]


def stream_table(dynamodb: Any, arn: str) -> Any:
    """moto's table whose current stream ``arn`` is, in ``dynamodb`` (the stream's region); else None."""
    resource = arn.split(":", 5)[5]
    name, _, label = resource.removeprefix("table/").partition("/stream/")
    table = dynamodb.tables.get(name)
    if table is None or table.stream_shard is None or table.latest_stream_label != label:
        return None
    if not (table.stream_specification or {}).get("StreamEnabled"):
        return None
    return table


def _ranges(spec: dict[str, Any]) -> None:
    for key, member, low, high in _RANGES:
        value = spec.get(key)
        if value is None:
            continue
        if int(value) < low:
            raise _invalid(
                f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
                f"Member must have value greater than or equal to {low}"
            )
        if int(value) > high:
            raise _invalid(
                f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: "
                f"Member must have value less than or equal to {high}"
            )
    age = spec.get("MaximumRecordAgeInSeconds")
    if age is not None and -1 < int(age) < 60:
        raise _invalid(
            f"1 validation error detected: Value '{age}' at 'maximumRecordAgeInSeconds' failed to satisfy "
            "constraint: Member must have value greater than or equal to 60"
        )


def validate_stream_spec(spec: dict[str, Any], *, creating: bool) -> None:
    """Refuse the stream mapping arguments Lambda (or the local cloud) refuses, before anything changes."""
    arn = str(spec.get("EventSourceArn", ""))
    if creating:
        position = spec.get("StartingPosition")
        if not position:
            raise _invalid(
                "1 validation error detected: Value null at 'startingPosition' failed to satisfy constraint: "
                "Member must not be null."
            )
        if position not in _POSITIONS:
            raise _validation(
                f"1 validation error detected: Value '{position}' at 'startingPosition' failed to satisfy "
                f"constraint: Member must satisfy enum value set: [{', '.join(_POSITIONS)}]"
            )
        if position == "AT_TIMESTAMP":
            raise _invalid(f"Unsupported starting position for arn type: {arn}")
    _ranges(spec)
    for key in _SQS_ONLY:
        if spec.get(key):
            raise _invalid(f"Unsupported {key} parameter for given event source mapping type.")
    destinations = spec.get("DestinationConfig") or {}
    if destinations.get("OnSuccess"):
        raise _invalid("Unsupported DestinationConfig parameter for given event source mapping type.")
    target = (destinations.get("OnFailure") or {}).get("Destination")
    if target and str(target).split(":")[2:3] not in (["sqs"], ["sns"]):
        raise _invalid(
            f"Unsupported on-failure destination {target}: a DynamoDB stream mapping sends discarded "
            "records to an SQS queue or SNS topic"
        )
    types = spec.get("FunctionResponseTypes") or []
    if any(t != "ReportBatchItemFailures" for t in types):
        raise _invalid(
            "1 validation error detected: Value at 'functionResponseTypes' failed to satisfy constraint: "
            "Member must satisfy enum value set: [ReportBatchItemFailures]"
        )
    if int(spec.get("TumblingWindowInSeconds") or 0) > 0:
        raise _invalid(
            "TumblingWindowInSeconds is not supported by the selfheal local cloud (no tumbling windows); "
            "leave it 0"
        )
    if (spec.get("FilterCriteria") or {}).get("Filters"):
        raise _invalid(
            "FilterCriteria is not supported by the selfheal local cloud for DynamoDB stream mappings"
        )


def create_stream_mapping(backend: Any, spec: dict[str, Any], dynamodb: Any) -> Any:
    """Create moto's mapping of a DynamoDB stream (``dynamodb``: the stream region's backend), kept off
    the table so moto never delivers itself; raise what Lambda answers for a refused one."""
    from moto.awslambda.models import EventSourceMapping

    for required in ("EventSourceArn", "FunctionName"):
        if not spec.get(required):
            raise _invalid(f"Missing {required}")
    validate_stream_spec(spec, creating=True)
    arn = str(spec["EventSourceArn"])
    fn = backend._lambdas.get_function_by_name_or_arn_with_qualifier(spec["FunctionName"])
    if stream_table(dynamodb, arn) is None:
        raise _invalid(f"Stream not found: {arn}")
    for mapping in backend._event_source_mappings.values():
        if mapping.event_source_arn == arn and mapping.function_arn == fn.function_arn:
            raise _conflict(
                f'The event source arn (" {arn} ") and function (" {fn.function_name} ") provided mapping '
                f"already exists. Please update or delete the existing mapping with UUID {mapping.uuid}"
            )
    full = {**copy.deepcopy(STREAM_DEFAULTS), **spec}
    full.update(RegionName=backend.region_name, AccountId=backend.account_id, FunctionArn=fn.function_arn)
    make: Any = EventSourceMapping  # moto's CloudFormation model: abstract to mypy, concrete at runtime
    mapping = make(full)
    backend._event_source_mappings[mapping.uuid] = mapping
    return mapping


def send_to_destination(backend: Callable[[str], Any], target: str, body: str) -> None:
    """Send ``body`` to an SQS queue or SNS topic ARN, in its own region (``backend(service)``: moto's)."""
    from .lambda_functions import backend_in_region

    parts = target.split(":")
    service, region = parts[2], parts[3] or None
    if service == "sqs":
        backend_in_region(backend("sqs"), "sqs", region).send_message(parts[5], body)
    elif service == "sns":
        backend_in_region(backend("sns"), "sns", region).publish(body, arn=target)
    else:
        raise ValueError(f"unsupported destination {target!r}")
