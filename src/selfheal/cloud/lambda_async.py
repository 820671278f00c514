"""Asynchronous (Event) Lambda invocation: per-function queues, retries, event age, destinations, DLQ.

:class:`AsyncInvocations` queues each event for its function, ordered by due time and drained by worker
threads, started as events arrive while every worker is busy, up to :data:`ASYNC_WORKERS_PER_FUNCTION`
(Lambda runs as many at once as the function's concurrency allows; the Invoker still throttles beyond
its reserved concurrency): at least once, retried on function error after
``retry_delays`` cloud seconds (``MaximumRetryAttempts``, ``MaximumEventAgeInSeconds`` of the event invoke
config); throttled events wait and try again without using an attempt. Then the on-failure destination
(SQS, SNS, Lambda) gets AWS's invocation record, or else the dead-letter queue or topic gets the event; an
on-success destination gets the record of a success.

An event keeps the version or alias it was sent to (its qualified ARN) and is looked up again at each
attempt, so an alias with additional version weights routes every attempt afresh, as Lambda does.
"""

from __future__ import annotations

import heapq
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from selfheal.clock import Clock

from .errors import FunctionNotFound, ServiceUnavailable, TooManyRequests
from .lambda_functions import FunctionConfig, backend_in_region, function_name, region_of
from .lambda_invoke import Target, checked_payload, json_or_text
from .lambda_logs import LogShipper, log_group_name
from .lambda_runtime import RawResult

__all__ = [
    "ASYNC_WORKERS_PER_FUNCTION",
    "DEFAULT_MAX_EVENT_AGE",
    "DEFAULT_RETRY_DELAYS",
    "DLQ_MESSAGE_BYTES",
    "AsyncInvocations",
    "Attributes",
    "dlq_attributes",
]

DEFAULT_RETRY_DELAYS = (60.0, 120.0)  # cloud seconds before the first and second async retry
DEFAULT_MAX_EVENT_AGE = 21600.0
ASYNC_WORKERS_PER_FUNCTION = 10
# "ErrorMessage | String | Error message (truncated to 1 KB)" (AWS Lambda Developer Guide, dead-letter
# queues).
DLQ_MESSAGE_BYTES = 1024

#: A message attribute as SQS and SNS take it: {"DataType": ..., "StringValue": ...}.
Attributes = dict[str, dict[str, str]]

#: Runs one invocation (see :meth:`selfheal.cloud.lambda_invoke.Invoker.run`).
Run = Callable[[Target, str, bytes], tuple[RawResult, list[str]]]
#: Looks a function reference up (raising FunctionNotFound); ``route``: pick an alias's version now.
Lookup = Callable[[str, bool], Target]


@dataclass(order=True)
class _Event:
    due: float
    seq: int
    request_id: str = field(compare=False)
    function: str = field(compare=False)
    payload: bytes = field(compare=False)
    first_cloud_time: float = field(compare=False)
    attempts: int = field(default=0, compare=False)


def dlq_attributes(request_id: str, condition: str, result: RawResult | None) -> Attributes:
    """The attributes Lambda gives an event it sends to a dead-letter queue or topic.

    AWS Lambda Developer Guide, "Dead-letter queues": ``RequestID`` (String, unique request identifier),
    ``ErrorCode`` (Number, 3-digit HTTP error code), ``ErrorMessage`` (String, truncated to 1 KB). A function
    error is answered with HTTP 200, so its code is 200.
    """
    error = json_or_text(result.payload) if result is not None else {}
    message = str(error.get("errorMessage", condition) if isinstance(error, dict) else condition)
    message = message.encode("utf-8")[:DLQ_MESSAGE_BYTES].decode("utf-8", "ignore")
    return {
        "RequestID": {"DataType": "String", "StringValue": request_id},
        "ErrorCode": {"DataType": "Number", "StringValue": "200"},
        "ErrorMessage": {"DataType": "String", "StringValue": message},
    }


class _AsyncQueue:
    """Due-time ordered events of one function, drained by worker threads."""

    def __init__(self) -> None:
        self.heap: list[_Event] = []
        self.cond = threading.Condition()
        self.workers: list[threading.Thread] = []
        self.idle = 0  # workers waiting for an event (under cond)


class AsyncInvocations:
    """Queue Event invokes and deliver them; ``close`` stops the workers, ``join`` waits for them.

    ``lookup(function, route)`` reads what an invocation of ``function`` runs (raising FunctionNotFound),
    ``run`` runs one invocation (raising TooManyRequests when throttled), ``backend(service)`` is moto's
    backend (SQS and SNS destinations are sent through it).
    """

    def __init__(
        self,
        *,
        lookup: Lookup,
        run: Run,
        backend: Callable[[str], Any],
        clock: Clock,
        logs: LogShipper,
        retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
    ) -> None:
        self._lookup = lookup
        self._run = run
        self._backend = backend
        self.clock = clock
        self.logs = logs
        self.retry_delays = tuple(retry_delays)
        self._lock = threading.Lock()
        self._queues: dict[str, _AsyncQueue] = {}
        self._seq = itertools.count()
        self._closed = False
        self._stop = threading.Event()

    def invoke_async(self, function: str, payload: bytes) -> str:
        """Queue an Event invoke and return its request id."""
        payload = checked_payload(payload)
        target = self._lookup(function, False)
        request_id = str(uuid.uuid4())
        self.enqueue(target, request_id, payload)
        return request_id

    def enqueue(self, target: Target, request_id: str, payload: bytes) -> None:
        """Queue an Event invoke of ``target``, due now; raise ServiceUnavailable once closed."""
        event = _Event(
            time.monotonic(), next(self._seq), request_id, target.reference, payload, self.clock.now()
        )
        self._push(target.fn.name, event)

    def close(self) -> None:
        """Refuse new events and wake every worker so that it returns (idempotent)."""
        with self._lock:
            self._closed = True
            queues = list(self._queues.values())
        self._stop.set()
        for queue in queues:
            with queue.cond:
                queue.cond.notify_all()

    def join(self) -> None:
        """Wait for the workers (after :meth:`close`)."""
        with self._lock:
            queues = list(self._queues.values())
        for queue in queues:
            for worker in queue.workers:
                worker.join(timeout=30)

    # ----- the queue -------------------------------------------------------------------------------

    def _push(self, name: str, event: _Event) -> None:
        with self._lock:
            if self._closed:
                raise ServiceUnavailable("the local cloud is stopping")
            queue = self._queues.get(name)
            if queue is None:
                queue = self._queues[name] = _AsyncQueue()
        with queue.cond:
            heapq.heappush(queue.heap, event)
            # More events than waiting workers (one may be woken already but not have taken its own yet).
            if len(queue.heap) > queue.idle and len(queue.workers) < ASYNC_WORKERS_PER_FUNCTION:
                worker = threading.Thread(
                    target=self._drain,
                    args=(queue,),
                    name=f"lambda-async-{name}-{len(queue.workers)}",
                    daemon=True,
                )
                queue.workers.append(worker)
                worker.start()
            else:
                queue.cond.notify()

    def _drain(self, queue: _AsyncQueue) -> None:
        while True:
            with queue.cond:
                while True:
                    if self._stop.is_set():
                        return
                    now = time.monotonic()
                    if queue.heap and queue.heap[0].due <= now:
                        event = heapq.heappop(queue.heap)
                        break
                    queue.idle += 1
                    try:
                        queue.cond.wait(min(0.5, queue.heap[0].due - now) if queue.heap else 0.5)
                    finally:
                        queue.idle -= 1
            try:
                self._deliver(event)
            except Exception as exc:  # a worker must survive anything one event does
                self._log_service_error(event, exc)

    def _log_service_error(self, event: _Event, exc: BaseException) -> None:
        self.logs.write(
            log_group_name(function_name(event.function)),
            "selfheal-async",
            f"async delivery of {event.request_id}: {exc!r}",
            region=region_of(event.function),
        )

    # ----- one delivery: run, retry, report --------------------------------------------------------

    def _deliver(self, event: _Event) -> None:
        try:
            target = self._lookup(event.function, True)
        except FunctionNotFound:
            return  # deleted since: nothing left to run or to report to
        fn = target.fn
        max_age = float(fn.event_config.get("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE))
        max_retries = int(fn.event_config.get("MaximumRetryAttempts", len(self.retry_delays)))
        if self.clock.now() - event.first_cloud_time > max_age:
            self._on_failure(fn, event, "EventAgeExceeded", None)
            return
        try:
            result, _ = self._run(target, event.request_id, event.payload)
        except TooManyRequests:
            # Throttled events wait and try again until they are too old; that is not a retry attempt.
            event.due = time.monotonic() + min(2.0, 0.1 * 2 ** min(event.seq % 5, 4))
            self._push(fn.name, event)
            return
        event.attempts += 1
        if result.error_type is None:
            self._on_success(fn, event, result)
            return
        if event.attempts <= max_retries:
            delay = self.retry_delays[min(event.attempts - 1, len(self.retry_delays) - 1)]
            event.due = time.monotonic() + self.clock.real_seconds(delay)
            self._push(fn.name, event)
            return
        self._on_failure(fn, event, "RetriesExhausted", result)

    def _record(self, fn: FunctionConfig, event: _Event, condition: str, result: RawResult | None) -> str:
        record: dict[str, Any] = {
            "version": "1.0",
            "timestamp": datetime.fromtimestamp(self.clock.now(), UTC).isoformat(timespec="milliseconds")[:-6]
            + "Z",
            "requestContext": {
                "requestId": event.request_id,
                # The version or alias it was sent to; unqualified: $LATEST.
                "functionArn": event.function if event.function.count(":") > 6 else f"{fn.arn}:{fn.version}",
                "condition": condition,
                "approximateInvokeCount": event.attempts,
            },
            "requestPayload": json_or_text(event.payload),
        }
        if result is not None:
            context: dict[str, Any] = {"statusCode": 200, "executedVersion": fn.version}
            if result.error_type is not None:
                context["functionError"] = result.error_type
            record["responseContext"] = context
            record["responsePayload"] = json_or_text(result.payload)
        return json.dumps(record)

    def _on_success(self, fn: FunctionConfig, event: _Event, result: RawResult) -> None:
        target = fn.event_config.get("DestinationConfig", {}).get("OnSuccess", {}).get("Destination")
        if target:
            self._send(target, self._record(fn, event, "Success", result), {})

    def _on_failure(
        self, fn: FunctionConfig, event: _Event, condition: str, result: RawResult | None
    ) -> None:
        target = fn.event_config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        if target:
            self._send(target, self._record(fn, event, condition, result), {})
        elif fn.dead_letter_arn:
            self._send(
                fn.dead_letter_arn,
                event.payload.decode("utf-8", "replace"),
                dlq_attributes(event.request_id, condition, result),
            )

    def _send(self, target_arn: str, body: str, attributes: Attributes) -> None:
        """Deliver ``body`` to an SQS queue, SNS topic or Lambda function ARN."""
        parts = target_arn.split(":")
        service, region = (parts[2], parts[3] or None) if len(parts) >= 6 else ("", None)
        if service == "sqs":
            sqs = backend_in_region(self._backend("sqs"), "sqs", region)
            sqs.send_message(parts[5], body, message_attributes=attributes)
        elif service == "sns":
            sns = backend_in_region(self._backend("sns"), "sns", region)
            sns.publish(body, arn=target_arn, message_attributes=attributes)
        elif service == "lambda":
            self.invoke_async(target_arn, body.encode())
        else:
            raise ValueError(f"unsupported destination {target_arn!r}")
