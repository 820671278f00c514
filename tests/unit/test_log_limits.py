"""LogLimits on stand-ins for moto's log groups and streams: retention, byte cap, amortised deletion."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from selfheal.cloud.log_limits import DAY_MS, EVENT_OVERHEAD_BYTES, LogLimits, event_size


@dataclass
class Stream:
    events: list[Any] = field(default_factory=list)
    stored_bytes: int = 0


@dataclass
class Group:
    name: str
    retention_in_days: int | None = None


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _write(limits: LogLimits, group: Group, stream: Stream, stamps: list[int], text: str = "x" * 74) -> None:
    events: list[dict[str, Any]] = [{"timestamp": t, "message": text} for t in stamps]
    stream.events += events
    stream.stored_bytes += len(text) * len(events)
    limits.added(group, stream, events)


def test_event_size_is_cloudwatchs() -> None:
    """UTF-8 bytes of the message plus 26 (PutLogEvents)."""
    assert event_size("é") == 2 + EVENT_OVERHEAD_BYTES == 28


def test_retention_drops_only_expired_events_in_cloud_time() -> None:
    clock = Clock()
    limits = LogLimits(None, monotonic=clock)
    group, stream = Group("/aws/lambda/f", retention_in_days=1), Stream()
    _write(limits, group, stream, [0, 1000])
    _write(limits, group, stream, [5 * 60_000])
    groups = {group.name: group}
    assert limits.enforce(DAY_MS, groups) == 0  # nothing older than a day yet
    assert limits.enforce(DAY_MS + 2000, groups) == 2
    assert [e["timestamp"] for e in stream.events] == [5 * 60_000]
    assert stream.stored_bytes == 74
    assert limits.stored_bytes(group.name) == 100


def test_no_retention_policy_keeps_everything() -> None:
    limits = LogLimits(None)
    group, stream = Group("g"), Stream()
    _write(limits, group, stream, [0])
    assert limits.enforce(10_000 * DAY_MS, {"g": group}) == 0
    assert len(stream.events) == 1


def test_cap_drops_oldest_first_down_to_seven_eighths() -> None:
    limits = LogLimits(1000)
    group, older, newer = Group("g"), Stream(), Stream()
    for index in range(12):  # 100 bytes per event, alternating streams, minutes apart (no merging)
        _write(limits, group, older if index % 2 == 0 else newer, [index * 120_000])
    assert limits.enforce(0, {"g": group}) == 4
    kept = sorted(e["timestamp"] for e in older.events + newer.events)
    assert kept == [index * 120_000 for index in range(4, 12)]
    assert limits.stored_bytes("g") == 800 <= 1000 * 7 // 8


def test_expired_events_wait_for_an_eighth_or_a_second() -> None:
    """Deleting from a list's head copies it: small expiries wait (amortised), at most a second."""
    clock = Clock()
    limits = LogLimits(None, monotonic=clock)
    group, stream = Group("g", retention_in_days=1), Stream()
    _write(limits, group, stream, [0])
    _write(limits, group, stream, [i * 61_000 + 120_000 for i in range(20)])
    assert limits.enforce(DAY_MS + 1, {"g": group}) == 0  # 1 of 21 due: waits
    clock.now = 1.0
    assert limits.enforce(DAY_MS + 1, {"g": group}) == 1
    assert len(stream.events) == 20


def test_a_deleted_or_recreated_group_is_forgotten() -> None:
    limits = LogLimits(100)
    group, stream = Group("g"), Stream()
    _write(limits, group, stream, [0, 1, 2])
    assert limits.enforce(0, {}) == 0
    assert limits.stored_bytes("g") == 0
    assert len(stream.events) == 3


def test_invalid_cap_is_refused() -> None:
    with pytest.raises(ValueError, match="max_group_bytes"):
        LogLimits(0)
