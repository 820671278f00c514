"""The local time provider's pieces that real Terraform runs cannot reach quickly: a sleep ended by
StopProvider, and a rotation that falls due."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from selfheal.terraform.resource import ResourceError
from selfheal.terraform.servicer import ProviderServicer
from selfheal.terraform.time_provider import TimeProvider, TimeRotating, TimeSleep


def test_stop_provider_ends_a_running_sleep() -> None:
    """Terraform's StopProvider (Ctrl-C) ends a time_sleep at once, as an error naming the argument."""
    provider = TimeProvider()
    sleep = TimeSleep(provider)
    threading.Timer(0.2, ProviderServicer(provider).StopProvider, args=(None, None)).start()
    started = time.monotonic()
    with pytest.raises(ResourceError, match="create_duration interrupted"):
        sleep.create({"create_duration": "10m", "destroy_duration": None, "triggers": None, "id": None})
    assert time.monotonic() - started < 5


def test_a_rotation_that_falls_due_leaves_the_state() -> None:
    """Before rotation_rfc3339 the state is kept; from then on read reports it gone."""
    clock = [datetime(2026, 1, 1, tzinfo=UTC)]
    rotating = TimeRotating(TimeProvider(), now=lambda: clock[0])
    state = rotating.create(
        {"rfc3339": None, "rotation_days": 1, "rotation_rfc3339": None, "triggers": None, "id": None}
    )
    assert state["rotation_rfc3339"] == "2026-01-02T00:00:00Z" and state["id"] == "2026-01-01T00:00:00Z"
    assert rotating.read(state) == state
    clock[0] = datetime(2026, 1, 2, tzinfo=UTC)
    assert rotating.read(state) is None
