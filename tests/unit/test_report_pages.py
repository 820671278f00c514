"""The timeline PNG and the self-contained HTML pages, rendered from hand-made data."""

from __future__ import annotations

import base64

import pytest

from selfheal.loop.records import Datapoint, IncidentRecord, StateChange
from selfheal.report.chart import timeline_png
from selfheal.report.figures import alarm_segments, incident_figures
from selfheal.report.page import IncidentPage, format_duration, incident_html, index_html

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
INCIDENT = IncidentRecord(
    "inc-<b>1</b>",
    "RECOVERED",
    alarm_time=240.0,
    decision="act",
    reason="FAILURE_RATE is 0.5; set it to 0 & <wait>",
    action_at=250.0,
    action="UpdateFunctionConfiguration FAILURE_RATE=0",
    ok_time=360.0,
)
ERRORS = [Datapoint(i * 60.0, v) for i, v in enumerate([0, 0, 4, 6, 5, 0, 0, 0])]
CALLS = [Datapoint(i * 60.0, 10.0) for i in range(8)]
CHANGES = [StateChange(240.0, "OK", "ALARM", "Threshold Crossed"), StateChange(360.0, "ALARM", "OK")]


def render() -> bytes:
    """The PNG of the sample incident."""
    return timeline_png(
        title="sample",
        errors=ERRORS,
        invocations=CALLS,
        segments=alarm_segments(CHANGES, 0.0, 480.0),
        figures=incident_figures(INCIDENT, ERRORS, CALLS, 60.0),
        threshold=3.0,
        period=60.0,
        start=0.0,
        end=480.0,
    )


def test_timeline_is_a_png() -> None:
    """The chart renders to a non-trivial PNG without a display."""
    png = render()
    assert png.startswith(PNG_MAGIC) and len(png) > 5_000


def test_timeline_rejects_an_empty_window() -> None:
    """An end before the start is refused."""
    with pytest.raises(ValueError, match="must be after start"):
        timeline_png(
            title="x",
            errors=[],
            invocations=[],
            segments=[],
            figures=incident_figures(INCIDENT, [], [], 60.0),
            threshold=None,
            period=60.0,
            start=10.0,
            end=10.0,
        )


def test_incident_page_embeds_the_png_and_escapes_text() -> None:
    """The page holds the image as base64, the figures, and escapes ledger text."""
    png = render()
    figures = incident_figures(INCIDENT, ERRORS, CALLS, 60.0)
    page = incident_html(INCIDENT, figures, png, CHANGES, "selfheal-fragile on test")
    assert base64.b64encode(png).decode() in page
    assert "<wait>" not in page and "&lt;wait&gt;" in page
    assert "inc-&lt;b&gt;1&lt;/b&gt;" in page
    assert "2 min 0 s" in page  # time to recover
    assert "15 of 40 requests" in page
    assert "http" not in page.replace("http-equiv", "")  # self-contained: no external reference


def test_index_lists_incidents_or_says_none() -> None:
    """The index links each incident page; an empty report says so."""
    figures = incident_figures(INCIDENT, ERRORS, CALLS, 60.0)
    listed = index_html([IncidentPage(INCIDENT, figures, "inc-1.html")], "1h", "src")
    assert 'href="inc-1.html"' in listed and "RECOVERED" in listed
    assert "No incidents" in index_html([], "1h", "src")


@pytest.mark.parametrize(
    ("seconds", "text"), [(None, "-"), (42.4, "42 s"), (185.0, "3 min 5 s"), (3720.0, "1 h 2 min")]
)
def test_format_duration(seconds: float | None, text: str) -> None:
    """Durations read naturally."""
    assert format_duration(seconds) == text


def test_format_duration_rounds_before_splitting() -> None:
    """119.9 s reads 2 min 0 s, never 1 min 60 s."""
    assert format_duration(119.9) == "2 min 0 s"
