"""When the demo ends, its dashboard stops and says so — on the page and on the console — naming --keep."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from selfheal.demo.run import STOPPED_MESSAGE, stop_demo_dashboard


class FakeDashboard:
    url = "http://127.0.0.1:8765/"

    def __init__(self) -> None:
        self.stops: list[str | None] = []

    def stop(self, message: str | None = None) -> None:
        self.stops.append(message)


class Notes:
    def __init__(self) -> None:
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        self.notes.append(text)

    def phase(self, title: str) -> AbstractContextManager[Any]:
        raise AssertionError("no phase expected")


def test_without_keep_the_dashboard_says_it_stopped_and_mentions_keep() -> None:
    dashboard, reporter = FakeDashboard(), Notes()
    stop_demo_dashboard(dashboard, False, reporter)  # type: ignore[arg-type]
    assert dashboard.stops == [STOPPED_MESSAGE] and "--keep" in STOPPED_MESSAGE
    assert len(reporter.notes) == 1 and "stopped" in reporter.notes[0] and "--keep" in reporter.notes[0]


def test_with_keep_it_hands_over_quietly() -> None:
    dashboard, reporter = FakeDashboard(), Notes()
    stop_demo_dashboard(dashboard, True, reporter)  # type: ignore[arg-type]
    assert dashboard.stops == [None] and reporter.notes == []
