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

from botocore.exceptions import EndpointConnectionError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healer.clients import Clients
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


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=40),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=5)
    ),
    max_leaves=20,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += _paths(child, (*prefix, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, document: Any) -> Any:
    """``document`` with one to four random mutations."""
    doc = copy.deepcopy(document)
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(doc) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = doc
        for step in path[:-1]:
            parent = parent[step]
        key = path[-1]
        kind = draw(st.sampled_from(["delete", "replace", "stringify", "case", "empty"]))
        if kind == "delete":
            del parent[key]
        elif kind == "replace":
            parent[key] = draw(json_values)
        elif kind == "stringify":
            parent[key] = json.dumps(parent[key]) if draw(st.booleans()) else str(parent[key])
        elif kind == "case" and isinstance(parent[key], str):
            parent[key] = parent[key].swapcase()
        else:
            parent[key] = type(parent[key])() if isinstance(parent[key], list | dict | str) else None
    return doc


@st.composite
def message_text(draw: st.DrawFn) -> str:
    """The Sns.Message string: a mutated notification, re-encoded and sometimes cut or corrupted."""
    text = json.dumps(draw(mutated(MESSAGE)))
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
        event = draw(mutated(event))
    return event


class RecordingFailingClient:
    """Stands in for a boto3 client: records every call and fails it as an unreachable endpoint would."""

    def __init__(self, service: str, calls: list[str]) -> None:
        self._service, self._calls = service, calls

    def __getattr__(self, operation: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            self._calls.append(f"{self._service}.{operation}")
            raise EndpointConnectionError(endpoint_url=f"https://{self._service}.fuzz.invalid")

        return call


def _healer(calls: list[str]) -> Healer:
    clients: Any = Clients(
        lambda_=RecordingFailingClient("lambda", calls),  # type: ignore[arg-type]
        dynamodb=RecordingFailingClient("dynamodb", calls),  # type: ignore[arg-type]
        sns=RecordingFailingClient("sns", calls),  # type: ignore[arg-type]
        cloudwatch=RecordingFailingClient("cloudwatch", calls),  # type: ignore[arg-type]
    )
    config = HealerConfig(
        target_function_name=TARGET,
        ledger_table_name="selfheal-ledger",
        escalation_topic_arn="arn:aws:sns:us-east-1:123456789012:selfheal-escalations",
    )
    return Healer(config, clients, ManualClock())


def _concerns_target(item: AlarmNotification | MalformedNotification) -> bool:
    if isinstance(item, MalformedNotification):
        return False
    return item.trigger.namespace == "AWS/Lambda" and item.trigger.dimension("FunctionName") == TARGET


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
    """The handler returns a summary for every payload, calls no AWS API for one that is not about its
    target, and never updates the function when AWS is unreachable."""
    calls: list[str] = []
    summary = _healer(calls).handle_event(event)
    assert isinstance(summary, dict)
    assert not any(call.endswith("update_function_configuration") for call in calls), calls
    try:
        parsed = parse_event(event)
    except NotAnSnsEvent:
        parsed = []
    if not any(_concerns_target(item) for item in parsed):
        assert calls == [], f"AWS was called for a payload that is not about {TARGET}: {calls}"
