"""Fuzz of the healer's input handling: 10,000 generated and mutated SNS payloads.

Payloads are arbitrary JSON-like values and mutations of a real alarm notification (keys dropped, values
replaced by other JSON, types changed, the message string truncated, corrupted or re-encoded). The parser
must classify every one without an exception; the handler, run with AWS clients that fail (and record)
every call, must never let an exception escape and never act.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fuzzing
from fuzzing import failing_clients, mutated
from healer.clock import ManualClock
from healer.config import HealerConfig
from healer.healing import Healer
from healer.notification import AlarmNotification, MalformedNotification, NotAnSnsEvent, parse_event

EVENT = json.loads((Path(__file__).parents[1] / "events" / "sns_alarm_fragile.json").read_text("utf-8"))
MESSAGE = json.loads(EVENT["Records"][0]["Sns"]["Message"])
TARGET = "selfheal-fragile"


def fuzz(examples: int) -> settings:
    """Settings of a fuzz test with ``examples`` examples and no deadline."""
    return settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
        database=None,
    )


json_values = fuzzing.json_values(text=40, items=5, keys=12, leaves=20)


@st.composite
def message_text(draw: st.DrawFn) -> str:
    """The Sns.Message string: a mutated notification, re-encoded and sometimes cut or corrupted."""
    text = json.dumps(draw(mutated(MESSAGE, json_values)))
    damage = draw(st.sampled_from(["none", "truncate", "flip", "garbage", "huge"]))
    if damage == "truncate":
        text = text[: draw(st.integers(0, len(text)))]
    elif damage == "flip" and text:
        index = draw(st.integers(0, len(text) - 1))
        text = text[:index] + draw(st.characters()) + text[index + 1 :]
    elif damage == "garbage":
        text = draw(st.text(max_size=200))
    elif damage == "huge":
        text = text[:-1] + ', "Padding": "' + "x" * 300_000 + '"}'
    return text


@st.composite
def sns_events(draw: st.DrawFn) -> Any:
    """An event: the fixture with a mutated message and envelope, or arbitrary JSON."""
    if draw(st.integers(0, 9)) == 0:
        return draw(json_values)
    event = copy.deepcopy(EVENT)
    event["Records"][0]["Sns"]["Message"] = draw(message_text())
    records = event["Records"] * draw(st.integers(1, 3))
    event["Records"] = [copy.deepcopy(r) for r in records]
    if draw(st.booleans()):
        event = draw(mutated(event, json_values))
    return event


def _healer(calls: list[str]) -> Healer:
    config = HealerConfig(
        registry_path="/selfheal/selfheal",
        ledger_table_name="selfheal-ledger",
        escalation_topic_arn="arn:aws:sns:us-east-1:123456789012:selfheal-escalations",
    )
    return Healer(config, failing_clients(calls), ManualClock())


@fuzz(3000)
@given(json_values)
def test_parser_classifies_arbitrary_json(event: Any) -> None:
    """Any JSON value is an SNS event with classified records, or rejected as not an SNS event."""
    try:
        parsed = parse_event(event)
    except NotAnSnsEvent:
        return
    assert all(isinstance(item, AlarmNotification | MalformedNotification) for item in parsed)


@fuzz(3000)
@given(sns_events())
def test_parser_classifies_mutated_notifications(event: Any) -> None:
    """Every mutated notification parses or is reported malformed; none raises anything else."""
    try:
        parsed = parse_event(event)
    except NotAnSnsEvent:
        return
    assert len(parsed) == len(event["Records"])
    assert all(isinstance(item, AlarmNotification | MalformedNotification) for item in parsed)


@fuzz(4000)
@given(sns_events())
def test_handler_survives_fuzzed_events_and_never_acts(event: Any) -> None:
    """The handler returns a summary for every payload, calls no AWS API for one without a well-formed
    notification, asks the registry before anything else, and never updates a function when AWS is
    unreachable."""
    calls: list[str] = []
    summary = _healer(calls).handle_event(event)
    assert isinstance(summary, dict)
    assert not any(call.endswith("update_function_configuration") for call in calls), calls
    try:
        parsed = parse_event(event)
    except NotAnSnsEvent:
        parsed = []
    if not any(isinstance(item, AlarmNotification) for item in parsed):
        assert calls == [], f"AWS was called for a payload without a notification: {calls}"
    else:
        assert not calls or calls[0] == "ssm.get_parameter", calls  # a name SSM cannot hold: no call
