"""The alarm history kept by the local cloud."""

from __future__ import annotations

import json

import pytest

from selfheal.cloud.alarm_history import AlarmHistory


def test_state_update_item() -> None:
    """A state update has AWS's summary and old/new state data."""
    history = AlarmHistory()
    item = history.state_update("a", 10.0, ("OK", "was fine", "{}"), ("ALARM", "broke", '{"threshold":3.0}'))
    assert item.summary == "Alarm updated from OK to ALARM"
    data = json.loads(item.data)
    assert data["oldState"] == {"stateValue": "OK", "stateReason": "was fine"}
    assert data["newState"]["stateReasonData"] == {"threshold": 3.0}


def test_query_filters_and_orders() -> None:
    """Queries filter by alarm, type and time, newest first unless asked otherwise."""
    history = AlarmHistory()
    history.configuration("a", 1.0, created=True)
    history.action("a", 2.0, "arn:aws:sns:us-east-1:1:t")
    history.configuration("b", 3.0, created=True)
    assert [i.timestamp for i in history.query(alarm_name="a")] == [2.0, 1.0]
    assert [i.timestamp for i in history.query(newest_first=False)] == [1.0, 2.0, 3.0]
    assert [i.alarm_name for i in history.query(item_type="ConfigurationUpdate", start=2.0)] == ["b"]
    assert history.query(end=0.5) == []


def test_history_is_bounded() -> None:
    """Beyond its limit the oldest items are dropped."""
    history = AlarmHistory(limit=2)
    for t in range(3):
        history.configuration("a", float(t), created=t == 0)
    assert [i.timestamp for i in history.items()] == [1.0, 2.0]


def test_bad_limit_is_refused() -> None:
    """A limit below one is a clear error."""
    with pytest.raises(ValueError, match="at least 1"):
        AlarmHistory(limit=0)
