"""The report's timeline image: a legend for the alarm band and a FAILURE_RATE trace from the ledger."""

from __future__ import annotations

from typing import Any

import pytest
from matplotlib.figure import Figure

from selfheal.loop.records import AlarmSegment, Datapoint, IncidentRecord
from selfheal.report.chart import failure_rate_steps, timeline_png
from selfheal.report.figures import incident_figures

INCIDENT = IncidentRecord("i", "RECOVERED", alarm_time=240.0, action_at=250.0, ok_time=360.0)
ERRORS = [Datapoint(i * 60.0, v) for i, v in enumerate([0, 0, 4, 6, 5, 0, 0, 0])]


def test_failure_rate_steps_come_from_the_ledger() -> None:
    steps = failure_rate_steps("0.5", "UpdateFunctionConfiguration FAILURE_RATE=0", 250.0)
    assert steps == [(float("-inf"), 0.5), (250.0, 0.0)]
    assert failure_rate_steps(None, "x", 250.0) == [] and failure_rate_steps("n/a", None, None) == []
    assert failure_rate_steps("0.3", None, None) == [(float("-inf"), 0.3)]


def test_timeline_has_a_band_legend_and_the_failure_rate_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    drawn: list[Figure] = []
    original = Figure.savefig

    def keep(self: Figure, *args: Any, **kwargs: Any) -> None:
        drawn.append(self)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", keep)
    png = timeline_png(
        title="t",
        errors=ERRORS,
        invocations=[],
        segments=[AlarmSegment(0, 240, "OK"), AlarmSegment(240, 360, "ALARM"), AlarmSegment(360, 480, "OK")],
        figures=incident_figures(INCIDENT, ERRORS, [], 60.0),
        threshold=3.0,
        period=60.0,
        start=0.0,
        end=480.0,
        failure_rate=[(float("-inf"), 0.5), (250.0, 0.0)],
    )
    assert png.startswith(b"\x89PNG")
    (figure,) = drawn
    labels = {
        text.get_text() for axes in figure.axes if axes.get_legend() for text in axes.get_legend().texts
    }
    assert {"alarm OK", "alarm ALARM", "FAILURE_RATE", "errors"} <= labels
    traces = [line for axes in figure.axes for line in axes.get_lines() if line.get_label() == "FAILURE_RATE"]
    assert traces
    values = [float(v) for v in traces[0].get_ydata()]
    assert (values[0], values[-1]) == (0.5, 0.0)
