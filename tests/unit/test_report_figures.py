"""The incident figures, alarm segments and rates, computed from hand-made data."""

from __future__ import annotations

import pytest

from selfheal.loop.records import AlarmSegment, Datapoint, IncidentRecord, StateChange
from selfheal.report.builder import parse_since
from selfheal.report.figures import alarm_segments, error_onset, error_rate, incident_figures, per_second

P = 60.0


def series(*values: float, start: float = 0.0) -> list[Datapoint]:
    """One datapoint per period from ``start``."""
    return [Datapoint(start + i * P, v) for i, v in enumerate(values)]


def test_onset_is_the_start_of_the_erroring_run_before_the_alarm() -> None:
    """Errors in periods 2-4 and an alarm at 300 s: onset is the start of period 2."""
    errors = series(0, 0, 2, 5, 6, 0)
    assert error_onset(errors, 300.0, P) == 120.0


def test_onset_ignores_errors_after_the_alarm_and_old_runs() -> None:
    """An earlier run separated by a clean period and errors after the alarm are not the onset."""
    errors = series(4, 0, 3, 3, 9, 9)
    assert error_onset(errors, 240.0, P) == 120.0


def test_onset_is_none_without_errors_and_rejects_a_bad_period() -> None:
    """No errors before the alarm: no onset; a zero period is an error."""
    assert error_onset(series(0, 0, 0), 180.0, P) is None
    with pytest.raises(ValueError, match="period must be positive"):
        error_onset([], 0.0, 0)


def test_incident_figures_detect_act_recover_and_errors_served() -> None:
    """Detect = alarm - onset, act = action - alarm, recover = OK - alarm, errors from onset to OK."""
    errors = series(0, 2, 5, 6, 1, 0, 0)
    calls = series(10, 10, 10, 10, 10, 10, 10)
    incident = IncidentRecord("inc-1", "RECOVERED", alarm_time=200.0, action_at=215.0, ok_time=300.0)
    figures = incident_figures(incident, errors, calls, P)
    assert figures.onset == 60.0
    assert figures.time_to_detect == pytest.approx(140.0)
    assert figures.time_to_act == pytest.approx(15.0)
    assert figures.time_to_recover == pytest.approx(100.0)
    assert figures.errors_served == 2 + 5 + 6 + 1
    assert figures.requests_served == 40


def test_open_incident_has_no_recovery_and_counts_errors_to_the_end() -> None:
    """While the alarm is still ALARM: no time to recover, errors counted to the end of the data."""
    incident = IncidentRecord("inc-2", "ACTED", alarm_time=120.0, action_at=130.0)
    figures = incident_figures(incident, series(3, 3, 3, 3), series(5, 5, 5, 5), P)
    assert figures.time_to_recover is None
    assert figures.errors_served == 12


def test_alarm_segments_follow_the_changes_and_clip_to_the_window() -> None:
    """OK → ALARM at 100 → OK at 200 over [50, 300] gives three segments."""
    changes = [StateChange(200.0, "ALARM", "OK"), StateChange(100.0, "OK", "ALARM")]
    assert alarm_segments(changes, 50.0, 300.0) == [
        AlarmSegment(50.0, 100.0, "OK"),
        AlarmSegment(100.0, 200.0, "ALARM"),
        AlarmSegment(200.0, 300.0, "OK"),
    ]


def test_alarm_segments_without_changes_use_the_current_state() -> None:
    """No history: one segment in the current state, none when that is unknown."""
    assert alarm_segments([], 0.0, 10.0, "ALARM") == [AlarmSegment(0.0, 10.0, "ALARM")]
    assert alarm_segments([], 0.0, 10.0) == []
    with pytest.raises(ValueError, match="before start"):
        alarm_segments([], 10.0, 0.0)


def test_error_rate_and_per_second() -> None:
    """Error rate is a percentage of invocations where there were some; per_second divides by the period."""
    rates = error_rate(series(1, 0, 2), series(4, 0, 2))
    assert rates == [Datapoint(0.0, 25.0), Datapoint(120.0, 100.0)]
    assert per_second(series(60, 120), P) == [Datapoint(0.0, 1.0), Datapoint(60.0, 2.0)]


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("30m", 1800), ("1h", 3600), ("2d", 172800)])
def test_parse_since_accepts_units(text: str, seconds: float) -> None:
    """s, m, h and d are understood."""
    assert parse_since(text) == seconds


@pytest.mark.parametrize("text", ["", "1", "h", "-1h", "1w", "31d", "0s"])
def test_parse_since_rejects_bad_input(text: str) -> None:
    """Anything else is a clear ValueError."""
    with pytest.raises(ValueError, match="--since"):
        parse_since(text)
