"""How the demo shows progress: plain lines for logs, a live panel for terminals, phases with timings."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from selfheal.demo.timeline import Sample, Timeline
from selfheal.demo.view import LiveView, PlainView, make_view
from selfheal.loop.traffic import TrafficSnapshot
from selfheal.progress import ConsoleReporter


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, width=120, force_terminal=terminal, color_system=None), out


def _traffic(completed: int, server_errors: int) -> TrafficSnapshot:
    return TrafficSnapshot(
        completed, completed, completed - server_errors, server_errors, 0, 1.0, 0.0, None, None, None, {}
    )


def _fed(timeline: Timeline, view: PlainView | LiveView, samples: list[Sample]) -> None:
    for sample in samples:
        view.update(timeline, timeline.observe(sample))


def test_plain_view_prints_events_and_periodic_numbers() -> None:
    """Each event is one line with its time; the numbers line comes at most every ``every`` seconds."""
    console, out = _console(terminal=False)
    timeline = Timeline(baseline="0.3")
    with PlainView(console, 20.0, "http://127.0.0.1:1/_api/a/", every=5.0) as view:
        _fed(
            timeline,
            view,
            [
                Sample(0.0, _traffic(0, 0), "OK", None, "0.3"),
                Sample(1.0, _traffic(20, 6), "OK", None, "0.3"),
                Sample(2.0, _traffic(40, 12), "ALARM", "Threshold Crossed", "0.3"),
                Sample(5.5, _traffic(110, 12), "ALARM", None, "0"),
            ],
        )
    lines = out.getvalue().splitlines()
    assert lines[0] == "traffic → http://127.0.0.1:1/_api/a/ (time scale 20)"
    assert "[+  1.0 s] first 5xx from the HTTP API" in lines
    assert "[+  2.0 s] alarm OK → ALARM: Threshold Crossed" in lines
    assert "[+  5.5 s] FAILURE_RATE 0.3 → 0" in lines
    numbers = [line for line in lines if "req/s" in line]
    assert [line[:10] for line in numbers] == ["[+  0.0 s]", "[+  5.5 s]"]
    assert "alarm ALARM  FAILURE_RATE 0  cloud +110 s" in numbers[-1]


def test_live_view_draws_state_and_events() -> None:
    """On a terminal the panel shows the time scale, alarm state, FAILURE_RATE and the events."""
    console, out = _console(terminal=True)
    timeline = Timeline(baseline="0.3")
    view = make_view(console, 20.0, "http://127.0.0.1:1/_api/a/")
    assert isinstance(view, LiveView)
    with view:
        _fed(
            timeline,
            view,
            [
                Sample(0.0, _traffic(0, 0), "OK", None, "0.3"),
                Sample(2.0, _traffic(40, 12), "ALARM", None, "0"),
            ],
        )
    text = out.getvalue()
    assert "time scale 20: 2.0 real s = 40 cloud s" in text
    assert "ALARM" in text and "FAILURE_RATE" in text
    assert "alarm OK → ALARM" in text and "FAILURE_RATE 0.3 → 0" in text


def test_make_view_is_plain_without_a_terminal() -> None:
    """CI output (not a terminal) gets plain lines."""
    console, _ = _console(terminal=False)
    assert isinstance(make_view(console, 1.0, "http://127.0.0.1:1/"), PlainView)


def test_reporter_marks_phases_done_and_failed() -> None:
    """Without a terminal a phase is a start line and a ✓ line with its duration, or ✗ when it raised."""
    console, out = _console(terminal=False)
    reporter = ConsoleReporter(console)
    with reporter.phase("terraform init") as phase:
        phase.update("ignored detail")
    with pytest.raises(RuntimeError), reporter.phase("terraform apply"):
        raise RuntimeError("boom")
    lines = out.getvalue().splitlines()
    assert lines[0] == "… terraform init"
    assert lines[1].startswith("✓ terraform init (") and lines[1].endswith(" s)")
    assert lines[2] == "… terraform apply"
    assert lines[3].startswith("✗ terraform apply (")
    assert len(lines) == 4


def test_plain_view_prints_the_dashboard_url_first() -> None:
    """In plain mode the dashboard's URL is the first line, before the traffic line."""
    console, out = _console(terminal=False)
    with make_view(console, 20.0, "http://127.0.0.1:1/_api/a/", "http://127.0.0.1:8765/"):
        pass
    assert out.getvalue().splitlines()[:2] == [
        "dashboard → http://127.0.0.1:8765/",
        "traffic → http://127.0.0.1:1/_api/a/ (time scale 20)",
    ]


def test_live_view_shows_the_dashboard_url() -> None:
    """The live panel names the dashboard's URL; without one it names none."""
    for dashboard_url in ("http://127.0.0.1:8765/", None):
        console, out = _console(terminal=True)
        timeline = Timeline(baseline="0.3")
        with LiveView(console, 20.0, "http://127.0.0.1:1/_api/a/", dashboard_url) as view:
            _fed(timeline, view, [Sample(0.0, _traffic(0, 0), "OK", None, "0.3")])
        assert ("dashboard http://127.0.0.1:8765/" in out.getvalue()) is (dashboard_url is not None)
