"""One SQS event source mapping's poller: receive a batch, invoke the function, delete what succeeded.

A :class:`SqsPoller` is one thread per mapping, alive from ``CreateEventSourceMapping`` to
``DeleteEventSourceMapping`` (or the cloud's stop). While the mapping is enabled it receives up to
``BatchSize`` messages from moto's queue (waiting up to ``MaximumBatchingWindowInSeconds`` of *cloud* time
for more once the first one is in, at most 6 MB of event), invokes the function synchronously with
AWS's SQS event (:func:`sqs_record`) and then:

- success: deletes the whole batch;
- a function error, a throttle, a missing function: deletes nothing; the messages reappear after the
  queue's visibility timeout (in cloud time), and moto's redrive moves a message received
  ``maxReceiveCount`` times to the dead-letter queue when it is next received;
- ``FunctionResponseTypes=["ReportBatchItemFailures"]``: deletes all but the ``batchItemFailures``'
  ``itemIdentifier``s (:func:`failed_items`; an invalid answer fails the whole batch, as Lambda does).

The poller reads the mapping's settings (``Enabled``, ``BatchSize``, the window, ``FunctionResponseTypes``,
``FunctionArn``) from moto's ``EventSourceMapping`` before each batch and reports its ``State`` through
``settle``: a transitional state (``Creating``, ``Enabling``, ``Disabling``, ``Updating``) becomes
``Enabled``/``Disabled`` when the poller has taken the change in, after any batch in flight.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Callable
from typing import Any

from selfheal.clock import Clock

from .errors import CloudError
from .lambda_mapping_poller import MappingPoller
from .protocol import Lambdas

__all__ = ["MAX_EVENT_BYTES", "SqsPoller", "failed_items", "sqs_record"]

log = logging.getLogger("selfheal.cloud.event_sources")

MAX_EVENT_BYTES = 6 * 1024 * 1024  # a synchronous invoke's payload limit
_RECEIVE_MAX = 10  # SQS's ReceiveMessage maximum
_IDLE_WAIT = 0.1  # real seconds an idle poller waits for a message before looking again
_BACKOFF = 0.5  # real seconds after a batch that could not be invoked


def _cloud_millis(clock: Clock, real_millis: Any) -> str:
    return str(int(clock.to_cloud(float(real_millis or 0) / 1000.0) * 1000))


def _attribute(value: dict[str, Any]) -> dict[str, Any]:
    kind = str(value.get("DataType", "String"))
    shaped: dict[str, Any] = {}
    if "BinaryValue" in value and value["BinaryValue"] is not None:
        binary = value["BinaryValue"]
        shaped["binaryValue"] = base64.b64encode(binary).decode() if isinstance(binary, bytes) else binary
    else:
        shaped["stringValue"] = value.get("StringValue")
    shaped.update({"stringListValues": [], "binaryListValues": [], "dataType": kind})
    return shaped


def sqs_record(message: Any, queue: Any, region: str, clock: Clock) -> dict[str, Any]:
    """The Lambda event record AWS builds for one received SQS message (moto's ``Message``)."""
    attributes = {
        "ApproximateReceiveCount": str(message.approximate_receive_count),
        "SentTimestamp": _cloud_millis(clock, message.sent_timestamp),
        "SenderId": str(message.sender_id),
        "ApproximateFirstReceiveTimestamp": _cloud_millis(clock, message.approximate_first_receive_timestamp),
    }
    if queue.fifo_queue:
        attributes["SequenceNumber"] = str(message.sequence_number)
        attributes["MessageGroupId"] = str(message.group_id)
        attributes["MessageDeduplicationId"] = str(message.deduplication_id)
    return {
        "messageId": message.id,
        "receiptHandle": message.receipt_handle,
        "body": message.body,
        "attributes": attributes,
        "messageAttributes": {name: _attribute(v) for name, v in (message.message_attributes or {}).items()},
        "md5OfBody": message.body_md5,
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.queue_arn,
        "awsRegion": region,
    }


def failed_items(payload: bytes, message_ids: set[str]) -> set[str] | None:
    """The message ids a ``ReportBatchItemFailures`` answer marks failed; None: the whole batch failed.

    Lambda Developer Guide, "Implementing partial batch responses": an empty or null answer or
    ``batchItemFailures`` is a complete success; an invalid JSON answer, an empty, null or unknown
    ``itemIdentifier`` (or an item without one) a complete failure.
    """
    try:
        answer = json.loads(payload) if payload.strip() else None
    except (ValueError, UnicodeDecodeError):
        return None
    if answer is None:
        return set()
    if not isinstance(answer, dict):
        return None
    items = answer.get("batchItemFailures")
    if items is None:
        return set()
    if not isinstance(items, list):
        return None
    failed: set[str] = set()
    for item in items:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(identifier, str) or identifier not in message_ids:
            return None
        failed.add(identifier)
    return failed


class SqsPoller(MappingPoller):
    """The thread that feeds one SQS event source mapping's function; :meth:`stop` ends it."""

    thread_prefix = "sqs-poller"
    retry_wait = _BACKOFF

    def __init__(
        self,
        mapping: Any,
        *,
        sqs: Callable[[], Any],
        lambdas: Lambdas,
        clock: Clock,
        region: str,
        settle: Callable[[str], bool],
    ) -> None:
        super().__init__(mapping, lambdas=lambdas, clock=clock, region=region, settle=settle)
        self._sqs = sqs

    def _queue(self) -> tuple[Any, Any]:
        sqs = self._sqs()
        name = str(self.mapping.event_source_arn).split(":")[5]
        return sqs, sqs.get_queue(name)

    def _poll(self) -> None:
        sqs, queue = self._queue()
        size = max(1, int(self.mapping.batch_size or 10))
        batch = self._receive(sqs, queue, size)
        if not batch:
            return
        records = [sqs_record(m, queue, self._region, self._clock) for m in batch]
        payload = json.dumps({"Records": records}).encode()
        ids = {m.id for m in batch}
        try:
            result = self._lambdas.invoke(str(self.mapping.function_arn), payload)
        except CloudError as exc:  # throttled, function gone: the messages come back after the timeout
            self._warn(f"{exc.code}: {exc.message}")
            self._stopping.wait(_BACKOFF)
            return
        self.batches += 1
        if result.function_error:
            return
        failed: set[str] | None = set()
        if "ReportBatchItemFailures" in (self.mapping.function_response_types or []):
            failed = failed_items(result.payload, ids)
        if failed is None:
            self._warn("invalid batchItemFailures answer: the whole batch failed")
            return
        self._delete(sqs, queue, [m for m in batch if m.id not in failed])

    def _receive(self, sqs: Any, queue: Any, size: int) -> list[Any]:
        """Up to ``size`` messages: after the first, more until 6 MB or the batching window (cloud time)."""
        batch = self._receive_some(sqs, queue, min(_RECEIVE_MAX, size))
        if not batch:
            if self._stopping.is_set() or self._wake.is_set():
                return []
            if queue.messages:  # visible but not receivable (a FIFO group in flight): look again soon
                self._wake.wait(_IDLE_WAIT / 2)
            else:
                queue.wait_for_messages(_IDLE_WAIT)
            return []
        window = float(self.mapping.max_batch_window or 0)
        deadline = self._clock.now() + window
        total = sum(len(m.body.encode()) for m in batch)
        while len(batch) < size and total < MAX_EVENT_BYTES and not self._stopping.is_set():
            more = self._receive_some(sqs, queue, min(_RECEIVE_MAX, size - len(batch)))
            batch.extend(more)
            total += sum(len(m.body.encode()) for m in more)
            remaining = deadline - self._clock.now()
            if remaining <= 0:
                break
            if not more:
                queue.wait_for_messages(min(_IDLE_WAIT, self._clock.real_seconds(remaining)))
        while total > MAX_EVENT_BYTES and len(batch) > 1:  # hand the surplus back to the queue
            extra = batch.pop()
            total -= len(extra.body.encode())
            self._release(sqs, queue, extra)
        return batch

    def _receive_some(self, sqs: Any, queue: Any, count: int) -> list[Any]:
        """Receive up to ``count`` messages, invisible for the queue's visibility timeout in cloud time."""
        if count <= 0:
            return []
        timeout = int(queue.visibility_timeout or 0)
        # Holding the queue's lock keeps a concurrent SendMessage's append from racing our receive.
        with queue._messages_lock:
            got = sqs.receive_message(queue.name, count, 0, timeout, message_attribute_names=["All"])
            if got and timeout:
                ids = {m.id for m in got}
                visible_at = self._real_millis() + self._clock.real_seconds(timeout) * 1000.0
                for stored in queue._messages:
                    if stored.id in ids:
                        stored.visible_at = visible_at
        return list(got)

    def _release(self, sqs: Any, queue: Any, message: Any) -> None:
        with queue._messages_lock:
            try:
                sqs.change_message_visibility(queue.name, message.receipt_handle, 0)
            except Exception as exc:  # deleted meanwhile
                log.debug("could not release %s: %s", message.id, exc)

    def _delete(self, sqs: Any, queue: Any, messages: list[Any]) -> None:
        # moto rebuilds the queue's message list on delete: under its lock, so no SendMessage is lost.
        with queue._messages_lock:
            for message in messages:
                try:
                    sqs.delete_message(queue.name, message.receipt_handle)
                except Exception as exc:  # purged or deleted by someone else meanwhile
                    log.debug("could not delete %s: %s", message.id, exc)

    @staticmethod
    def _real_millis() -> float:
        from moto.core.utils import unix_time_millis

        return float(unix_time_millis())
