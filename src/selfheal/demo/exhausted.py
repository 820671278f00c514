"""The ``exhausted`` scenario: a playbook whose steps all fail to help, so the healer escalates to people.

``deploy/scenarios/exhausted`` serves pricing, whose release has a bug (FAILURE_RATE 0.5 from the start),
with the playbook ``set_env`` (PRICE_CACHE=off) then ``restart``: neither touches the bug. After each step
the errors alarm is still ALARM at the verify deadline, so the healer takes the next step, and after the
last it escalates (``verify_timeout``: the playbook is exhausted) and leaves the incident ``UNVERIFIED``.
The demo watches a while longer, then reads the escalation from the queue the stack subscribes to the
escalation topic, and checks in the ledger that no third action happened.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from selfheal.demo.plays import Play, Report, env_variable
from selfheal.demo.settings import DemoSettings
from selfheal.demo.timeline import Timeline

__all__ = ["EXHAUSTED", "EscalationMessage", "read_escalations"]

PLAYBOOK = ("set_env", "restart")
# Real seconds the demo keeps watching after the escalation (a minute of cloud time at the default scale):
# long enough for a third action to show, if the healer took one.
HOLD_SECONDS = 3.0


@dataclass(frozen=True)
class EscalationMessage:
    """One escalation as the people on call get it: the SNS subject and the message."""

    subject: str
    message: str


def read_escalations(sqs: Any, queue_url: str, rounds: int = 3) -> list[EscalationMessage]:
    """The escalations waiting in ``queue_url`` (SNS envelopes), read without deleting them."""
    found: list[EscalationMessage] = []
    for _ in range(rounds):
        answer = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
        for raw in answer.get("Messages", []):
            try:
                envelope = json.loads(raw["Body"])
                found.append(EscalationMessage(str(envelope.get("Subject", "")), str(envelope["Message"])))
            except (ValueError, KeyError, TypeError):
                found.append(EscalationMessage("", str(raw.get("Body", ""))))
        if found:
            break
    return found


def _variables(settings: DemoSettings) -> dict[str, str]:
    return {
        "failure_rate": "0.5",
        "verify_timeout_seconds": "60",
        "alarm_period_seconds": "60",
        "alarm_evaluation_periods": "2",
        "alarm_threshold": "3",
    }


def _value(value: Any) -> str:
    return "unset" if value is None else str(value)


def _step_line(step: Any) -> str:
    changes = ", ".join(
        f"{str(c.get('field', '?')).rsplit('.', 1)[-1]} {_value(c.get('before'))} → {_value(c.get('after'))}"
        for c in step.changes
    )
    return f"  step {step.index + 1}: {step.action} — {changes or step.detail} ({step.status})"


def _report(target: Any, outputs: Mapping[str, Any], timeline: Timeline, traffic: Any) -> Report:
    """The steps that ran, the escalation people got, and that nothing was done after it."""
    incident = timeline.incident
    if incident is None:
        return Report((), "the healer opened no incident")
    steps = len(incident.steps)
    lines = [f"playbook exhausted: incident {incident.incident_id} {incident.status} after {steps} steps"]
    lines += [_step_line(step) for step in incident.steps]
    problems = []
    ran = tuple(step.action for step in incident.steps)
    if ran != PLAYBOOK:
        problems.append(f"the steps that ran are {list(ran)}, not the playbook {list(PLAYBOOK)}")
    try:
        escalations = read_escalations(target.client("sqs"), str(outputs["escalation_queue_url"]))
    except (BotoCoreError, ClientError) as error:
        escalations = []
        problems.append(f"the escalation queue could not be read: {error}")
    mine = [e for e in escalations if incident.incident_id in e.message]
    if mine:
        lines.append(f"escalated to people (escalation topic → SQS): {mine[-1].subject}")
        for text in mine[-1].message.splitlines():
            if re.match(r"(What was done|Why):", text):
                lines.append(f"  {text}")
    else:
        problems.append(f"no escalation of incident {incident.incident_id} reached the escalation queue")
    if incident.decision_code != "verify_timeout":
        problems.append(f"the incident's last decision is {incident.decision_code}, not verify_timeout")
    # The last poll (after the hold) of the ledger: every action any incident took.
    actions = [step.action for other in timeline.latest.incidents for step in other.steps]
    others = [
        other.incident_id
        for other in timeline.latest.incidents
        if other.incident_id != incident.incident_id and other.action
    ]
    if len(actions) == len(PLAYBOOK) and not others:
        lines.append(
            f"no further action: {len(actions)} actions in the ledger, "
            f"alarm still {timeline.latest.alarm_state}"
        )
    else:
        problems.append(f"the healer acted again after the playbook: {actions} (other incidents {others})")
    return Report(tuple(lines), "; ".join(problems) or None)


EXHAUSTED = Play(
    name="exhausted",
    module=Path("deploy") / "scenarios" / "exhausted",
    setting="PRICE_CACHE",
    act_span="ALARM → last playbook step",
    variables=_variables,
    read_setting=env_variable("PRICE_CACHE"),
    drift=re.compile(r'"(PRICE_CACHE|PREVIOUS_PRICE_CACHE|HEALED_[A-Z]+)"\s*='),
    drift_needed="PRICE_CACHE",
    drift_note="the playbook's changes did not help: the next apply reverts them; the bug needs a code fix",
    ends="UNVERIFIED",
    hold_seconds=HOLD_SECONDS,
    report=_report,
    title="playbook exhausted, escalated to people",
)
