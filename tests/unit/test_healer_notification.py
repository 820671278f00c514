"""Unit tests of the healer's SNS/alarm notification parser."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from healer import alarm
from healer.alarm import (
    AlarmNotification,
    MalformedNotification,
    MessageTooLarge,
    NotAnSnsEvent,
    parse_timestamp,
)
from healer.notification import parse_event, parse_message

EVENTS = Path(__file__).resolve().parents[1] / "events"
MALFORMED = sorted((EVENTS / "malformed").glob("*.json"))


def load(name: str) -> dict[str, Any]:
    """Load a JSON fixture from tests/events."""
    data: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return data


def test_real_sns_envelope_parses_into_typed_notification() -> None:
    """The SNS event fixture yields one frozen notification with every field typed."""
    [parsed] = parse_event(load("sns_alarm_fragile.json"))
    assert isinstance(parsed, AlarmNotification)
    assert parsed.alarm_name == "selfheal-fragile-errors"
    assert parsed.new_state == "ALARM" and parsed.old_state == "OK"
    assert parsed.state_change_time == datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
    assert parsed.trigger.namespace == "AWS/Lambda"
    assert parsed.trigger.dimension("FunctionName") == "selfheal-fragile"
    assert parsed.trigger.dimension("Resource") is None
    assert parsed.trigger.period == 60 and parsed.trigger.threshold == 1.0
    assert parsed.message_id == "95df01b4-ee98-5cb9-9903-4c221d41eb5e"
    with pytest.raises(AttributeError):
        parsed.new_state = "OK"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("fixture", "state"),
    [
        ("alarm_fragile_ok.json", "OK"),
        ("alarm_fragile_insufficient_data.json", "INSUFFICIENT_DATA"),
        ("alarm_other_function.json", "ALARM"),
        ("alarm_other_namespace.json", "ALARM"),
    ],
)
def test_valid_messages_parse(fixture: str, state: str) -> None:
    """Each valid alarm message fixture parses with its state."""
    assert parse_message(json.dumps(load(fixture))).new_state == state


def test_metric_math_alarm_has_no_single_metric() -> None:
    """A metric-math alarm parses, with no namespace or dimensions."""
    parsed = parse_message(json.dumps(load("alarm_metric_math.json")))
    assert parsed.kind == "metric_math" and parsed.trigger.metrics == ()
    assert parsed.trigger.namespace is None and parsed.trigger.dimensions == ()


def test_corpus_is_large_enough() -> None:
    """The malformed corpus holds at least 30 inputs."""
    assert len(MALFORMED) >= 30


@pytest.mark.parametrize("path", MALFORMED, ids=lambda p: p.stem)
def test_malformed_input_raises_its_own_error(path: Path) -> None:
    """Every malformed input is refused with the error class its file name announces."""
    expected = getattr(alarm, path.stem.split("--")[0])
    assert issubclass(expected, MalformedNotification)
    event = json.loads(path.read_text())
    if expected is NotAnSnsEvent:
        with pytest.raises(NotAnSnsEvent):
            parse_event(event)
        return
    results = parse_event(event)
    assert len(results) == 1
    assert type(results[0]) is expected, results[0]
    assert str(results[0])


def test_bad_record_does_not_hide_good_one() -> None:
    """In a two-record event, the bad record is reported and the good one still parses."""
    good = load("sns_alarm_fragile.json")["Records"][0]
    results = parse_event({"Records": [{"EventSource": "aws:sns", "Sns": {"Message": "nope"}}, good]})
    assert isinstance(results[0], MalformedNotification)
    assert isinstance(results[1], AlarmNotification)


def test_oversized_message_is_refused_before_parsing() -> None:
    """A message above 256 KiB is refused as too large."""
    message = load("alarm_fragile_alarm.json")
    message["NewStateReason"] = "x" * (256 * 1024)
    with pytest.raises(MessageTooLarge):
        parse_message(json.dumps(message))


def test_message_at_the_limit_is_accepted() -> None:
    """A message of exactly 256 KiB is still accepted."""
    message = load("alarm_fragile_alarm.json")
    message["NewStateReason"] = ""
    filler = 256 * 1024 - len(json.dumps(message).encode())
    message["NewStateReason"] = "y" * filler
    text = json.dumps(message)
    assert len(text.encode()) == 256 * 1024
    assert parse_message(text).reason.startswith("y")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-11-23T20:00:00.000+0000", datetime(2026, 11, 23, 20, 0, tzinfo=UTC)),
        ("2026-11-23T21:00:00+0100", datetime(2026, 11, 23, 20, 0, tzinfo=UTC)),
        ("2026-11-23T20:00:00.250Z", datetime(2026, 11, 23, 20, 0, 0, 250000, tzinfo=UTC)),
    ],
)
def test_timestamps_normalise_to_utc(text: str, expected: datetime) -> None:
    """CloudWatch and ISO timestamps become aware UTC datetimes."""
    assert parse_timestamp(text) == expected


def test_transition_key_separates_transitions() -> None:
    """Two transitions of one alarm at different times have different keys; a redelivery the same."""
    message = load("alarm_fragile_alarm.json")
    first = parse_message(json.dumps(message))
    again = parse_message(json.dumps(message))
    message["StateChangeTime"] = "2026-11-23T20:10:00.000+0000"
    later = parse_message(json.dumps(message))
    assert first.transition_key == again.transition_key != later.transition_key
