"""One DynamoDB-stream event source mapping's poller: read the shard in order, invoke, retry, discard.

A :class:`StreamPoller` is one thread per mapping, alive from ``CreateEventSourceMapping`` to
``DeleteEventSourceMapping`` (or the cloud's stop). It reads moto's stream shard of the table
(``Table.stream_shard.items``, appended by every write) from its ``StartingPosition`` (``TRIM_HORIZON``: the
oldest record; ``LATEST``: what is written after the mapping was created) and, while the mapping is enabled,
invokes the function synchronously with AWS's DynamoDB Streams event (:func:`stream_record`): up to
``BatchSize`` records, waiting up to ``MaximumBatchingWindowInSeconds`` of *cloud* time for more, at most
6 MB of event. The shard is processed in order, one batch in flight (``ParallelizationFactor`` is stored,
1 is applied). A failed batch blocks the shard and is retried, as Lambda documents for streams:

- a function error (or an invalid ``batchItemFailures`` answer) counts a retry; after
  ``MaximumRetryAttempts`` retries (-1: until the record expires) the batch is discarded;
- ``BisectBatchOnFunctionError``: a failed batch of more than one record is split in two halves, processed
  one after the other, without counting a retry;
- ``FunctionResponseTypes=["ReportBatchItemFailures"]``: the records before the lowest failed
  ``itemIdentifier`` (a ``SequenceNumber``) are done; the batch is retried from that one;
- a throttle or a missing function retries without counting;
- a record older than ``MaximumRecordAgeInSeconds`` (-1: the stream's 24 hours of retention), in cloud
  time, is discarded before it is sent.

A discarded batch's metadata goes to ``DestinationConfig.OnFailure`` (an SQS queue or SNS topic) in AWS's
invocation record shape (:func:`failure_record`, ``DDBStreamBatchInfo``). Settings are read from moto's
``EventSourceMapping`` before each batch; ``settle`` reports the mapping's ``State`` as for SQS mappings.
"""

from __future__ import annotations

import copy
import json
import logging
import uuid as uuids
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from selfheal.clock import Clock

from .errors import CloudError
from .lambda_mapping_poller import MappingPoller
from .lambda_sqs_poller import MAX_EVENT_BYTES, failed_items
from .protocol import Lambdas

__all__ = ["RETENTION_SECONDS", "StreamPoller", "failure_record", "stream_record"]

log = logging.getLogger("selfheal.cloud.event_sources")

RETENTION_SECONDS = 86400.0  # DynamoDB Streams keeps a record 24 hours
_IDLE_WAIT = 0.1  # real seconds an idle poller waits before looking at the shard again
_RETRY_WAIT = 0.2  # real seconds before a failed batch is retried
#: Called with a destination ARN (an SQS queue or SNS topic) and the JSON body to send it.
Send = Callable[[str, str], None]


def _created_at(record: dict[str, Any], clock: Clock) -> float:
    """The record's creation, in cloud epoch seconds (moto stamps it with a naive UTC datetime)."""
    stamp = record["dynamodb"].get("ApproximateCreationDateTime")
    if isinstance(stamp, datetime):
        real = (stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)).timestamp()
    else:
        real = float(stamp or 0)
    return clock.to_cloud(real)


def stream_record(record: dict[str, Any], stream_arn: str, region: str, clock: Clock) -> dict[str, Any]:
    """The Lambda event record AWS builds for one stream record (moto's ``StreamRecord.to_json()``).

    AWS Lambda Developer Guide, "Using AWS Lambda with Amazon DynamoDB": ``eventVersion`` "1.1",
    ``awsRegion`` the stream's, ``eventSourceARN`` the stream's, ``ApproximateCreationDateTime`` in epoch
    seconds.
    """
    body = copy.deepcopy(record["dynamodb"])
    body["ApproximateCreationDateTime"] = float(int(_created_at(record, clock)))
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": body,
        "eventSourceARN": stream_arn,
    }


def _iso(cloud_epoch: float, *, millis: bool = False) -> str:
    stamp = datetime.fromtimestamp(cloud_epoch, UTC)
    if millis:
        return stamp.isoformat(timespec="milliseconds")[:-6] + "Z"
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def failure_record(
    *,
    mapping: Any,
    shard_id: str,
    batch: list[dict[str, Any]],
    condition: str,
    attempts: int,
    function_error: str | None,
    clock: Clock,
) -> dict[str, Any]:
    """What Lambda sends an on-failure destination for a discarded stream batch (AWS Lambda Developer Guide,
    "Retaining discarded records for a DynamoDB event source")."""
    first, last = batch[0]["dynamodb"], batch[-1]["dynamodb"]
    record: dict[str, Any] = {
        "requestContext": {
            "requestId": str(uuids.uuid4()),
            "functionArn": str(mapping.function_arn),
            "condition": condition,
            "approximateInvokeCount": attempts,
        },
        "version": "1.0",
        "timestamp": _iso(clock.now(), millis=True),
        "DDBStreamBatchInfo": {
            "shardId": shard_id,
            "startSequenceNumber": first["SequenceNumber"],
            "endSequenceNumber": last["SequenceNumber"],
            "approximateArrivalOfFirstRecord": _iso(first["ApproximateCreationDateTime"]),
            "approximateArrivalOfLastRecord": _iso(last["ApproximateCreationDateTime"]),
            "batchSize": len(batch),
            "streamArn": str(mapping.event_source_arn),
        },
    }
    if attempts:
        context: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if function_error:
            context["functionError"] = function_error
        record["responseContext"] = context
    return record


class StreamPoller(MappingPoller):
    """The thread that feeds one DynamoDB-stream event source mapping's function; :meth:`stop` ends it.

    ``table()`` is moto's table of the stream (None when it is gone), ``send`` delivers an on-failure record.
    """

    thread_prefix = "ddb-poller"
    retry_wait = _RETRY_WAIT

    def __init__(
        self,
        mapping: Any,
        *,
        table: Callable[[], Any],
        lambdas: Lambdas,
        clock: Clock,
        region: str,
        settle: Callable[[str], bool],
        send: Send,
    ) -> None:
        super().__init__(mapping, lambdas=lambdas, clock=clock, region=region, settle=settle)
        self._table = table
        self._send = send
        shard = self._shard()
        latest = str(mapping.starting_position or "TRIM_HORIZON") == "LATEST"
        self._position = len(shard.items) if latest and shard is not None else 0  # index in the shard
        self._attempts = 0  # failed invocations of the batch at the head of the shard
        self._splits: list[int] = []  # bisected batch sizes still to process, first at the head

    def _shard(self) -> Any:
        """moto's shard of the mapping's stream; None while the table or this stream is gone."""
        table = self._table()
        label = str(self.mapping.event_source_arn).rsplit("/stream/", 1)[-1]
        if table is None or table.stream_shard is None or table.latest_stream_label != label:
            return None
        return table.stream_shard

    def _poll(self) -> None:
        shard = self._shard()
        if shard is None:
            self._warn("the stream no longer exists")
            self._stopping.wait(_IDLE_WAIT * 5)
            return
        batch = self._gather(shard)
        if not batch:
            return
        batch = self._expire(shard, batch)
        if not batch:
            return
        payload = json.dumps({"Records": batch}).encode()
        try:
            result = self._lambdas.invoke(str(self.mapping.function_arn), payload)
        except CloudError as exc:  # throttled, function gone: the shard waits, no retry is counted
            self._warn(f"{exc.code}: {exc.message}")
            self._stopping.wait(_RETRY_WAIT)
            return
        self.batches += 1
        failed_at = 0 if result.function_error else self._first_failure(result.payload, batch)
        if failed_at is None:
            self._advance(len(batch))
            return
        if failed_at > 0:  # ReportBatchItemFailures: the records before the first failure are done
            self._advance(failed_at)
            batch = batch[failed_at:]
        if self._bisect(len(batch)):
            return
        self._attempts += 1
        limit = int(self.mapping.max_retry_attempts if self.mapping.max_retry_attempts is not None else -1)
        if 0 <= limit < self._attempts:
            self._discard(shard, batch, "RetryAttemptsExhausted", result.function_error)
            return
        self._stopping.wait(_RETRY_WAIT)

    def _gather(self, shard: Any) -> list[dict[str, Any]]:
        """The next batch from the shard: ``BatchSize`` records (or the bisected size), waiting up to the
        batching window (cloud time) for more once the first is in, at most 6 MB of event."""
        size = max(1, int(self.mapping.batch_size or 100))
        if self._splits:
            size = min(size, self._splits[0])
        records = shard.items[self._position : self._position + size]
        if not records:
            self._wake.wait(_IDLE_WAIT)
            return []
        window = float(self.mapping.max_batch_window or 0)
        deadline = self._clock.now() + window
        while len(records) < size and not self._stopping.is_set() and not self._wake.is_set():
            remaining = deadline - self._clock.now()
            if remaining <= 0:
                break
            self._stopping.wait(min(_IDLE_WAIT, self._clock.real_seconds(remaining)))
            records = shard.items[self._position : self._position + size]
        arn = str(self.mapping.event_source_arn)
        batch = [stream_record(r.to_json(), arn, self._region, self._clock) for r in records]
        while len(batch) > 1 and len(json.dumps({"Records": batch})) > MAX_EVENT_BYTES:
            batch.pop()
        return batch

    def _expire(self, shard: Any, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Discard the batch's leading records older than ``MaximumRecordAgeInSeconds``; the rest."""
        age = self.mapping.max_record_age
        limit = RETENTION_SECONDS if age is None or int(age) < 0 else float(age)
        now = self._clock.now()
        old = 0
        while old < len(batch) and now - batch[old]["dynamodb"]["ApproximateCreationDateTime"] > limit:
            old += 1
        if old:
            self._discard(shard, batch[:old], "RecordAgeExceeded", None)
        return batch[old:]

    def _first_failure(self, payload: bytes, batch: list[dict[str, Any]]) -> int | None:
        """None: the batch succeeded; else the index of the first record to retry from."""
        if "ReportBatchItemFailures" not in (self.mapping.function_response_types or []):
            return None
        sequence = [r["dynamodb"]["SequenceNumber"] for r in batch]
        failed = failed_items(payload, set(sequence))
        if failed is None:
            self._warn("invalid batchItemFailures answer: the whole batch failed")
            return 0
        if not failed:
            return None
        return min(sequence.index(s) for s in failed)

    def _bisect(self, count: int) -> bool:
        """Split a failed batch of ``count`` records in two (no retry counted); False: it cannot be."""
        if not self.mapping.bisect_on_error or count < 2:
            return False
        half = (count + 1) // 2
        if self._splits:
            self._splits.pop(0)
        self._splits[:0] = [half, count - half]
        return True

    def _advance(self, count: int) -> None:
        self._position += count
        self._attempts = 0
        if self._splits:
            rest = self._splits[0] - count
            if rest > 0:
                self._splits[0] = rest
            else:
                self._splits.pop(0)

    def _discard(
        self, shard: Any, batch: list[dict[str, Any]], condition: str, function_error: str | None
    ) -> None:
        attempts = self._attempts
        self._advance(len(batch))
        destination = ((self.mapping.destination_config or {}).get("OnFailure") or {}).get("Destination")
        log.info("event source mapping %s: %d record(s) discarded (%s)", self.uuid, len(batch), condition)
        if not destination:
            return
        record = failure_record(
            mapping=self.mapping,
            shard_id=str(shard.id),
            batch=batch,
            condition=condition,
            attempts=attempts,
            function_error=function_error,
            clock=self._clock,
        )
        try:
            self._send(str(destination), json.dumps(record))
        except Exception as exc:  # a destination deleted meanwhile: the record is lost, as on AWS
            self._warn(f"could not send the failure record to {destination}: {exc}")
