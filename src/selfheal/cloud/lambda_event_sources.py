"""Lambda event source mappings from SQS and DynamoDB streams: a poller per mapping, moto's delivery off.

moto keeps event source mappings (``CreateEventSourceMapping`` …) and, on every ``SendMessage`` to a queue
with a mapping, calls the function itself through ``LambdaBackend.invoke`` with arguments the local
cloud's invoke hook does not take (the ``SendMessage`` answered HTTP 500). While started, this component
(a :class:`~selfheal.cloud.protocol.Component`, in one :class:`~selfheal.cloud.moto_patches.MotoPatches`
registry) replaces, for the cloud's account in every region (a mapping polls its queue's region):

- ``LambdaBackend.create_event_source_mapping``: refuses what Lambda refuses for SQS (a second mapping of
  one queue and function, ``BatchSize`` over 10 without a batching window, a queue visibility timeout
  shorter than the function's timeout, unknown ``FunctionResponseTypes``), then detaches the mapping from
  moto's queue (``Queue.lambda_event_source_mappings``: moto's delivery path never runs) and starts its
  :class:`~selfheal.cloud.lambda_sqs_poller.SqsPoller`;
- ``LambdaBackend.update_event_source_mapping``: wakes the poller, which takes the change in after the batch
  in flight (``Enabled=false`` stops polling; the messages stay in the queue);
- ``LambdaBackend.delete_event_source_mapping``: stops the poller;
- ``EventSourceMapping.get_configuration``: reports ``State`` as Lambda does — ``Creating``, then
  ``Enabled`` (or ``Disabled``); ``Disabling`` → ``Disabled``; ``Enabling`` → ``Enabled``; ``Updating`` →
  either; ``Deleting`` — and ``StateTransitionReason`` ``USER_INITIATED``.

A DynamoDB stream's mapping is created by :func:`~selfheal.cloud.lambda_stream_mappings.
create_stream_mapping` (Lambda's validation; the mapping kept off moto's table, whose writes would otherwise
invoke the function from the DynamoDB request thread and empty the shard) and fed by a
:class:`~selfheal.cloud.lambda_stream_poller.StreamPoller` reading the stream of its own region; updates are
validated as Lambda does. Kinesis mappings are left to moto. One batch per mapping is in flight at a time
(Lambda scales SQS pollers out; ``ScalingConfig`` is stored, not applied; a stream's
``ParallelizationFactor`` is stored, 1 is applied).
"""

from __future__ import annotations

import threading
from typing import Any

from .lambda_functions import backend_in_region
from .lambda_sqs_poller import SqsPoller
from .lambda_stream_mappings import (
    create_stream_mapping,
    is_stream,
    send_to_destination,
    validate_stream_spec,
)
from .lambda_stream_poller import StreamPoller
from .moto_patches import MotoPatches, parameters
from .protocol import Cloud, CloudComponent

__all__ = ["REPORT_BATCH_ITEM_FAILURES", "EventSourceMappings"]

REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"
_JOIN_SECONDS = 5.0


def _invalid(message: str) -> Exception:
    from moto.awslambda.exceptions import InvalidParameterValueException

    return InvalidParameterValueException(message)


def _conflict(message: str) -> Exception:
    from moto.awslambda.exceptions import LambdaClientError

    error = LambdaClientError("ResourceConflictException", message)
    error.code = 409
    return error


def _is_sqs(arn: Any) -> bool:
    return isinstance(arn, str) and arn.startswith("arn:") and arn.split(":")[2:3] == ["sqs"]


class EventSourceMappings(CloudComponent):
    """Poll SQS queues and DynamoDB streams for their event source mappings and report the mappings'
    states; a component."""

    def __init__(self) -> None:
        self._cloud: Cloud | None = None
        self._patches = MotoPatches()
        self._lock = threading.Lock()
        self._pollers: dict[str, SqsPoller | StreamPoller] = {}
        self._states: dict[str, str] = {}
        # The state a Create/Update call answers with, by mapping: the poller may settle it before moto
        # renders the answer, so the calling thread gets the transitional state it announced.
        self._announced = threading.local()

    def start(self, cloud: Cloud) -> None:
        """Install the patches and start a poller for every SQS or DynamoDB-stream mapping moto holds."""
        if self._patches.installed:
            raise RuntimeError("the event source mappings are already started")
        patches = self._register()
        self._cloud = cloud
        patches.install()
        self._patches = patches
        for mapping in list(cloud.backend("lambda")._event_source_mappings.values()):
            if _is_sqs(mapping.event_source_arn) or is_stream(mapping.event_source_arn):
                self._detach(mapping)
                self._begin(mapping, "Creating", announce=False)

    def stop(self) -> None:
        """Stop every poller (after its batch in flight, waiting a few seconds at most) and the patches."""
        with self._lock:
            pollers = list(self._pollers.values())
            self._pollers.clear()
        for poller in pollers:
            poller.stop()
        for poller in pollers:
            poller.join(_JOIN_SECONDS)
        self._patches.restore()

    def state(self, uuid: str) -> str | None:
        """The mapping's ``State`` as this component reports it (None: not a mapping it polls)."""
        with self._lock:
            return self._states.get(uuid)

    def _announce(self, uuid: str, state: str | None) -> None:
        self._announced.answer = (uuid, state)

    def _answer(self, uuid: str) -> str | None:
        """The state announced to this thread for ``uuid`` (once), else the current one."""
        announced = getattr(self._announced, "answer", None)
        self._announced.answer = None
        if announced is not None and announced[0] == uuid and announced[1] is not None:
            return str(announced[1])
        return self.state(uuid)

    def batches(self, uuid: str) -> int:
        """How many batches the mapping's poller has handed to its function so far."""
        with self._lock:
            poller = self._pollers.get(uuid)
        return poller.batches if poller is not None else 0

    # -- mapping lifecycle ----------------------------------------------------------------------------

    def _begin(self, mapping: Any, state: str, *, announce: bool = True) -> None:
        assert self._cloud is not None
        cloud = self._cloud
        # The source's region (its ARN's): a mapping polls the queue or stream of its own region.
        region = _arn_region(str(mapping.event_source_arn)) or cloud.region
        poller: SqsPoller | StreamPoller
        if is_stream(mapping.event_source_arn):
            poller = StreamPoller(
                mapping,
                table=lambda: self._table(str(mapping.event_source_arn)),
                lambdas=cloud.lambdas,
                clock=cloud.clock,
                region=region,
                settle=self._settle,
                send=lambda target, body: send_to_destination(cloud.backend, target, body),
            )
        else:
            poller = SqsPoller(
                mapping,
                sqs=lambda: backend_in_region(cloud.backend("sqs"), "sqs", region),
                lambdas=cloud.lambdas,
                clock=cloud.clock,
                region=region,
                settle=self._settle,
            )
        with self._lock:
            self._states[mapping.uuid] = state
            self._pollers[mapping.uuid] = poller
        if announce:
            self._announce(mapping.uuid, state)
        poller.start()

    def _settle(self, uuid: str) -> bool:
        """Whether the mapping is enabled now; its state settles accordingly (one lock with updates)."""
        with self._lock:
            poller = self._pollers.get(uuid)
            enabled = poller is not None and bool(poller.mapping.enabled)
            if poller is not None:
                self._states[uuid] = "Enabled" if enabled else "Disabled"
            return enabled

    def _changed(self, mapping: Any, was_enabled: bool, spec: dict[str, Any]) -> None:
        with self._lock:
            poller = self._pollers.get(mapping.uuid)
            if poller is None:
                return
            if bool(mapping.enabled) != was_enabled:
                self._states[mapping.uuid] = "Enabling" if mapping.enabled else "Disabling"
            elif set(spec) - {"Enabled", "UUID"}:
                self._states[mapping.uuid] = "Updating"
            self._announce(mapping.uuid, self._states.get(mapping.uuid))
        poller.wake()

    def _end(self, uuid: str) -> None:
        with self._lock:
            poller = self._pollers.pop(uuid, None)
            self._states.pop(uuid, None)  # moto's DeleteEventSourceMapping answers "Deleting" itself
        if poller is not None:
            poller.stop()

    def _queue(self, arn: str) -> Any:
        assert self._cloud is not None
        sqs = backend_in_region(self._cloud.backend("sqs"), "sqs", _arn_region(arn))
        queue = sqs.queues.get(arn.split(":")[5])
        return queue if queue is not None and queue.queue_arn == arn else None

    def _dynamodb(self, arn: str) -> Any:
        assert self._cloud is not None
        return backend_in_region(self._cloud.backend("dynamodb"), "dynamodb", _arn_region(arn))

    def _table(self, arn: str) -> Any:
        """moto's table of the stream ``arn`` (None when the table is gone)."""
        name = arn.split(":", 5)[5].removeprefix("table/").partition("/stream/")[0]
        return self._dynamodb(arn).tables.get(name)

    def _detach(self, mapping: Any) -> None:
        if is_stream(mapping.event_source_arn):
            table = self._table(str(mapping.event_source_arn))
            if table is not None:
                table.lambda_event_source_mappings.pop(mapping.function_arn, None)
            return
        queue = self._queue(mapping.event_source_arn)
        if queue is not None:
            queue.lambda_event_source_mappings.pop(mapping.function_arn, None)

    def _validate(self, backend: Any, spec: dict[str, Any]) -> None:
        """Refuse an SQS mapping Lambda refuses (CreateEventSourceMapping's documented constraints)."""
        arn = str(spec.get("EventSourceArn"))
        queue = self._queue(arn)
        if queue is None:
            return  # moto answers for a queue that does not exist
        types = spec.get("FunctionResponseTypes") or []
        if any(t != REPORT_BATCH_ITEM_FAILURES for t in types):
            raise _invalid(
                "1 validation error detected: Value at 'functionResponseTypes' failed to satisfy constraint: "
                f"Member must satisfy enum value set: [{REPORT_BATCH_ITEM_FAILURES}]"
            )
        size, window = spec.get("BatchSize"), spec.get("MaximumBatchingWindowInSeconds")
        if size is not None and int(size) > 10 and not queue.fifo_queue and not window:
            raise _invalid(
                "Maximum batch window in seconds must be greater than 0 if maximum batch size is greater "
                "than 10"
            )
        fn = backend.get_function(spec["FunctionName"])
        for mapping in backend._event_source_mappings.values():
            if mapping.event_source_arn == arn and mapping.function_arn == fn.function_arn:
                raise _conflict(
                    f'An event source mapping with SQS arn (" {arn} ") and function (" {fn.function_name} ") '
                    f"already exists. Please update or delete the existing mapping with UUID {mapping.uuid}"
                )
        timeout = int(queue.visibility_timeout or 0)
        if timeout < int(fn.timeout):
            raise _invalid(
                f"Queue visibility timeout: {timeout} seconds is less than Function timeout: "
                f"{fn.timeout} seconds"
            )

    # -- moto patches ---------------------------------------------------------------------------------

    def _mine(self, backend: Any) -> bool:
        cloud = self._cloud
        # Every region of the cloud's account.
        return cloud is not None and backend.account_id == cloud.account_id

    def _register(self) -> MotoPatches:
        from moto.awslambda.models import EventSourceMapping, LambdaBackend

        component = self

        def create(original: Any) -> Any:
            def patched(backend: Any, spec: dict[str, Any]) -> Any:
                arn = spec.get("EventSourceArn")
                if component._mine(backend) and is_stream(arn):
                    stream = create_stream_mapping(backend, spec, component._dynamodb(str(arn)))
                    component._begin(stream, "Creating")
                    return stream
                if not component._mine(backend) or not _is_sqs(arn):
                    return original(backend, spec)
                component._validate(backend, spec)
                mapping = original(backend, spec)
                component._detach(mapping)
                component._begin(mapping, "Creating")
                return mapping

            return patched

        def update(original: Any) -> Any:
            def patched(backend: Any, uuid: str, spec: dict[str, Any]) -> Any:
                before = backend._event_source_mappings.get(uuid)
                was_enabled = bool(before.enabled) if before is not None else False
                if before is not None and is_stream(before.event_source_arn):
                    validate_stream_spec({**spec, "EventSourceArn": before.event_source_arn}, creating=False)
                types = spec.get("FunctionResponseTypes") or []
                if any(t != REPORT_BATCH_ITEM_FAILURES for t in types):
                    raise _invalid(
                        "1 validation error detected: Value at 'functionResponseTypes' failed to satisfy "
                        f"constraint: Member must satisfy enum value set: [{REPORT_BATCH_ITEM_FAILURES}]"
                    )
                mapping = original(backend, uuid, spec)
                if mapping is not None and component._mine(backend):
                    component._changed(mapping, was_enabled, spec)
                return mapping

            return patched

        def delete(original: Any) -> Any:
            def patched(backend: Any, uuid: str) -> Any:
                mapping = original(backend, uuid)
                if mapping is not None and component._mine(backend):
                    component._end(uuid)
                return mapping

            return patched

        def configuration(original: Any) -> Any:
            def patched(mapping: Any) -> dict[str, Any]:
                config: dict[str, Any] = original(mapping)
                state = component._answer(mapping.uuid)
                if state is not None:
                    config["State"] = state
                    config["StateTransitionReason"] = "USER_INITIATED"
                return config

            return patched

        patches = MotoPatches()
        patches.replace(
            LambdaBackend,
            "create_event_source_mapping",
            create,
            reason="poll SQS and DynamoDB-stream mappings ourselves (moto invokes in the request); validate",
            expect=parameters("spec"),
        )
        patches.replace(
            LambdaBackend,
            "update_event_source_mapping",
            update,
            reason="let the mapping's poller take Enabled/BatchSize/… changes in",
            expect=parameters("uuid", "spec"),
        )
        patches.replace(
            LambdaBackend,
            "delete_event_source_mapping",
            delete,
            reason="stop the mapping's poller",
            expect=parameters("uuid"),
        )
        patches.replace(
            EventSourceMapping,
            "get_configuration",
            configuration,
            reason="report State as Lambda does (Creating, Enabled, Disabling, Disabled, …)",
        )
        return patches


def _arn_region(arn: str) -> str | None:
    parts = arn.split(":")
    return (parts[3] or None) if len(parts) >= 6 else None
