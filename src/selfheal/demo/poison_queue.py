"""The ``poison-queue`` scenario: poison messages make a queue-fed function fail; the healer stops the feed.

``deploy/scenarios/poison_queue`` has an orders queue (with a DLQ) feeding the worker through an event
source mapping. The demo sends orders to the queue (:class:`selfheal.demo.orders.OrderSender`) and, after
a few seconds, a few malformed ones: every batch holding one fails whole and comes back, so the worker's
errors alarm fires and the healer's ``disable_event_source`` disables the mapping (its UUID is in the
registry). The alarm goes back to OK with no more failing invocations; the orders wait in the queue. At the
end the demo accounts for every message SQS accepted: processed (passed on to the fulfilment queue), still
in the queue, or in the DLQ — none lost.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from selfheal.demo.orders import OrderSender
from selfheal.demo.plays import Play, Report
from selfheal.demo.settings import DemoSettings
from selfheal.demo.timeline import Timeline

__all__ = ["POISON_QUEUE", "MessageCount", "count_messages"]

POISON = 5
_QUEUE_COUNTS = (
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
)


@dataclass(frozen=True)
class MessageCount:
    """Where the messages are: processed (passed on to the fulfilment queue), in the queue, in its DLQ."""

    processed: int
    queued: int
    dead: int

    @property
    def total(self) -> int:
        """Every message accounted for."""
        return self.processed + self.queued + self.dead


def _in_queue(sqs: Any, url: str) -> int:
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=list(_QUEUE_COUNTS))["Attributes"]
    return sum(int(got.get(name, 0)) for name in _QUEUE_COUNTS)


def count_messages(target: Any, outputs: Mapping[str, Any]) -> MessageCount:
    """Count the orders passed on (the fulfilment queue) and the messages left in the queue and the DLQ."""
    sqs = target.client("sqs")
    return MessageCount(
        processed=_in_queue(sqs, str(outputs["fulfilment_queue_url"])),
        queued=_in_queue(sqs, str(outputs["queue_url"])),
        dead=_in_queue(sqs, str(outputs["dlq_url"])),
    )


def _variables(settings: DemoSettings) -> dict[str, str]:
    return {
        "alarm_period_seconds": "60",
        "alarm_evaluation_periods": "2",
        "alarm_threshold": "2",
        "visibility_timeout_seconds": "30",
        "max_receive_count": "10",
    }


def _sender(target: Any, outputs: Mapping[str, Any], settings: DemoSettings) -> tuple[OrderSender, str]:
    # Half the HTTP demo's rate: each batch of orders is one invocation writing to DynamoDB.
    url = str(outputs["queue_url"])
    sender = OrderSender(
        target.client("sqs"),
        url,
        max(1.0, settings.rate / 2),
        poison=POISON,
        poison_after=settings.break_after,
    )
    return sender, url


def _mapping_state(lam: Any, outputs: Mapping[str, Any]) -> str | None:
    try:
        mapping = lam.get_event_source_mapping(UUID=str(outputs["event_source_mapping_uuid"]))
    except (BotoCoreError, ClientError):
        return None
    return str(mapping.get("State"))


def _settled(target: Any, outputs: Mapping[str, Any], timeout: float = 10.0) -> str | None:
    """The mapping's state once it is no longer moving (a batch in flight finishes before Disabled)."""
    lam = target.client("lambda")
    deadline = time.monotonic() + timeout
    state = _mapping_state(lam, outputs)
    while state not in ("Enabled", "Disabled") and time.monotonic() < deadline:
        time.sleep(0.2)
        state = _mapping_state(lam, outputs)
    return state


def _report(target: Any, outputs: Mapping[str, Any], timeline: Timeline, traffic: Any) -> Report:
    """Every message SQS accepted is processed, in the queue or in its DLQ; none lost."""
    state = _settled(target, outputs)
    if not isinstance(traffic, OrderSender):
        return Report((), "poison-queue: no orders were sent")
    try:
        count = count_messages(target, outputs)
    except (BotoCoreError, ClientError, KeyError, ValueError) as error:
        return Report((), f"the messages could not be counted: {error}")
    sent = traffic.accepted
    lines = [
        f"messages: {sent} sent ({traffic.orders_sent} orders, {traffic.poison_sent} poison) = "
        f"{count.processed} processed + {count.queued} in the queue + {count.dead} in the DLQ"
        + (" — none lost" if count.total == sent else ""),
        f"event source mapping {outputs['event_source_mapping_uuid']}: {state} "
        f"(the messages wait in the queue for a person)",
    ]
    problems = []
    if count.total != sent:
        problems.append(f"{sent} messages sent but {count.total} accounted for")
    if state != "Disabled":
        problems.append(f"the event source mapping is {state}, not Disabled")
    if traffic.poison_sent != POISON:
        problems.append(f"{traffic.poison_sent} of {POISON} poison messages were sent")
    return Report(tuple(lines), "; ".join(problems) or None)


POISON_QUEUE = Play(
    name="poison-queue",
    module=Path("deploy") / "scenarios" / "poison_queue",
    setting="event source",
    act_span="ALARM → event source disabled",
    variables=_variables,
    read_setting=_mapping_state,
    drift=re.compile(r"\benabled\s*=\s*false\s*->\s*true"),
    drift_needed="enabled",
    drift_note=(
        "the next apply enables the mapping again: deal with the poison messages (or fix the worker) first"
    ),
    report=_report,
    traffic=_sender,
    traffic_noun="messages",
)
