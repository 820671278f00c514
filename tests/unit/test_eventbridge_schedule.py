"""EventBridge schedule expressions: rate and cron, and when they fire next (UTC)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selfheal.cloud.eventbridge_schedule import Cron, InvalidSchedule, Rate, parse_schedule


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M")


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [("rate(1 minute)", 60), ("rate(5 minutes)", 300), ("rate(2 hours)", 7200), ("rate(1 day)", 86400)],
)
def test_rate(expression: str, seconds: int) -> None:
    """A rate fires every period from its start."""
    schedule = parse_schedule(expression)
    assert schedule == Rate(seconds)
    assert schedule.next_after(100.0, 100.0) == 100.0 + seconds
    assert schedule.next_after(100.0 + seconds, 100.0) == 100.0 + 2 * seconds


@pytest.mark.parametrize(
    ("expression", "after", "expected"),
    [
        ("cron(0/15 * * * ? *)", "2026-11-23 10:07", "2026-11-23 10:15"),
        ("cron(0 10 * * ? *)", "2026-11-23 10:00", "2026-11-24 10:00"),
        ("cron(15 12 * * ? *)", "2026-11-23 10:07", "2026-11-23 12:15"),
        ("cron(0 18 ? * MON-FRI *)", "2026-11-28 00:00", "2026-11-30 18:00"),  # Saturday → Monday
        ("cron(0 8 1 * ? *)", "2026-11-23 00:00", "2026-12-01 08:00"),
        ("cron(0 0 L * ? *)", "2026-02-03 00:00", "2026-02-28 00:00"),
        ("cron(0 0 ? * 6L *)", "2026-11-01 00:00", "2026-11-27 00:00"),  # last Friday
        ("cron(0 0 ? * 2#1 *)", "2026-11-03 00:00", "2026-12-07 00:00"),  # first Monday
        ("cron(0 0 1W * ? *)", "2026-11-01 00:00", "2026-11-02 00:00"),  # 1st is a Sunday
        ("cron(0 0 15W * ? *)", "2026-11-01 00:00", "2026-11-16 00:00"),  # 15th is a Sunday
        ("cron(0,30 9 ? JAN,JUL SUN 2027)", "2026-11-23 00:00", "2027-01-03 09:00"),
    ],
)
def test_cron(expression: str, after: str, expected: str) -> None:
    """cron fields: lists, ranges, steps, names, L, W and #, in UTC."""
    assert iso(parse_schedule(expression).next_after(at(after))) == expected


def test_cron_in_the_past_never_fires() -> None:
    """A cron limited to past years has no next firing."""
    assert parse_schedule("cron(0 0 * * ? 2020)").next_after(at("2026-01-01 00:00")) == float("inf")


@pytest.mark.parametrize(
    "expression",
    [
        "rate(0 minutes)",
        "rate(5 weeks)",
        "every 5 minutes",
        "cron(0 10 * * *)",
        "cron(0 10 * * * *)",
        "cron(0 10 ? * ? *)",
        "cron(61 10 * * ? *)",
        "cron(0 10 * FOO ? *)",
    ],
)
def test_invalid(expression: str) -> None:
    """Expressions EventBridge refuses raise InvalidSchedule."""
    with pytest.raises(InvalidSchedule):
        parse_schedule(expression)


@given(
    minute=st.integers(0, 59),
    hour=st.integers(0, 23),
    moment=st.floats(at("2025-01-01 00:00"), at("2030-01-01 00:00")),
)
def test_daily_cron_fires_within_a_day(minute: int, hour: int, moment: float) -> None:
    """A daily cron fires strictly after the moment, within a day, at its minute and hour."""
    schedule = parse_schedule(f"cron({minute} {hour} * * ? *)")
    assert isinstance(schedule, Cron)
    fired = schedule.next_after(moment)
    assert moment < fired <= moment + 86400
    when = datetime.fromtimestamp(fired, UTC)
    assert (when.hour, when.minute, when.second) == (hour, minute, 0)
