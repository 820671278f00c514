"""The demo's summary: timings from observations and the ledger, drift lines from a plan, the printout."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from rich.console import Console

from healer.ledger import Incident
from selfheal.demo.summary import DemoSummary, Timing, drift_lines, loop_timings, render_summary
from selfheal.demo.timeline import Milestones, Sample, Timeline
from selfheal.loop.records import Datapoint

ALARM_TIME = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)

PLAN_TEXT = """\
module.fragile.aws_lambda_function.fragile: Refreshing state... [id=selfheal-fragile]

  # module.fragile.aws_lambda_function.fragile will be updated in-place
  ~ resource "aws_lambda_function" "fragile" {
      ~ environment {
          ~ variables = {
              ~ "FAILURE_RATE"              = "0" -> "0.3"
                "FAILURE_MODE"              = "exception"
              - "HEALED_AT"                 = "2026-11-23T20:23:01Z" -> null
              - "PREVIOUS_FAILURE_RATE"     = "0.3" -> null
            }
        }
    }

Plan: 0 to add, 1 to change, 0 to destroy.
"""


def _timeline(marks: Milestones, incident: Incident | None) -> Timeline:
    timeline = Timeline(baseline="0.3", marks=marks)
    timeline.incident = incident
    return timeline


def _incident(**fields: object) -> Incident:
    return Incident(
        incident_id="inc-1",
        sk="s",
        alarm_name="a",
        alarm_arn="arn",
        target="f",
        status="RECOVERED",
        alarm_time=ALARM_TIME,
        opened_at=ALARM_TIME,
        **fields,  # type: ignore[arg-type]
    )


def test_timings_are_the_shared_definition_from_ledger_and_metrics() -> None:
    """Detect from the errors metric, act and recover from the ledger — what the dashboard and report use."""
    incident = _incident(action_at=ALARM_TIME + timedelta(seconds=1), time_to_recover=120.0)
    marks = Milestones(first_failure=1.0, alarm=7.0, acted=8.0, ok=13.0, verified=13.5)
    timeline = _timeline(marks, incident)
    timeline.latest = Sample(13.5, healed_at=ALARM_TIME.strftime("%Y-%m-%dT%H:%M:%SZ"))
    alarm = ALARM_TIME.timestamp()
    errors = [Datapoint(alarm - 180, 0.0), Datapoint(alarm - 120, 4.0), Datapoint(alarm - 60, 30.0)]
    detect, act, recover = loop_timings(timeline, scale=20.0, errors=errors, period=60)
    assert (detect.cloud_seconds, detect.real_seconds, detect.source) == (120.0, 6.0, "metrics + ledger")
    assert (act.cloud_seconds, act.real_seconds, act.source) == (1.0, 0.05, "ledger")
    assert (recover.cloud_seconds, recover.real_seconds, recover.source) == (120.0, 6.0, "ledger")


def test_detect_is_observed_when_no_errors_were_counted() -> None:
    """Without the metric the demo's own observation of the first 5xx stands in, scaled to cloud time."""
    incident = _incident(action_at=ALARM_TIME + timedelta(seconds=100), time_to_recover=120.0)
    marks = Milestones(first_failure=1.0, alarm=7.0, acted=8.0, ok=13.0, verified=13.5)
    detect, act, _ = loop_timings(_timeline(marks, incident), scale=20.0)
    assert (detect.cloud_seconds, detect.real_seconds, detect.source) == (120.0, 6.0, "observed")
    assert (act.cloud_seconds, act.source) == (100.0, "ledger")


def test_timings_fall_back_to_observations() -> None:
    """Without ledger times, act and recover are the observed spans from ALARM."""
    marks = Milestones(first_failure=1.0, alarm=7.0, acted=8.0, ok=13.0)
    _, act, recover = loop_timings(_timeline(marks, None), scale=10.0)
    assert (act.real_seconds, act.cloud_seconds, act.source) == (1.0, 10.0, "observed")
    assert (recover.real_seconds, recover.cloud_seconds) == (6.0, 60.0)


def test_steps_never_seen_have_no_timing() -> None:
    """A loop that never reached ALARM reports no times rather than made-up ones."""
    timings = loop_timings(_timeline(Milestones(first_failure=1.0), None), scale=20.0)
    assert all(t.cloud_seconds is None and t.real_seconds is None for t in timings)


def test_drift_lines_are_the_healer_markers_and_the_tally() -> None:
    """Only FAILURE_RATE, the HEALED_* markers, PREVIOUS_FAILURE_RATE and the Plan line are kept."""
    assert drift_lines(PLAN_TEXT) == (
        '~ "FAILURE_RATE"              = "0" -> "0.3"',
        '- "HEALED_AT"                 = "2026-11-23T20:23:01Z" -> null',
        '- "PREVIOUS_FAILURE_RATE"     = "0.3" -> null',
        "Plan: 0 to add, 1 to change, 0 to destroy.",
    )
    assert drift_lines("No changes. Your infrastructure matches the configuration.") == ()


@pytest.mark.parametrize("failure", [None, "no verified recovery within 60 s"])
def test_render_shows_timings_totals_drift_and_outcome(failure: str | None) -> None:
    """The printout names each step, the errors served, the drift and whether the loop was verified."""
    summary = DemoSummary(
        time_scale=20.0,
        timings=(Timing("detect", "first failure → ALARM", 120.0, 6.0, "observed"),),
        requests=200,
        errors_served=30,
        drift=('~ "FAILURE_RATE" = "0" -> "0.3"',),
        wall_seconds=38.7,
        failure=failure,
    )
    out = io.StringIO()
    render_summary(summary, Console(file=out, width=120, color_system=None))
    text = out.getvalue()
    assert "first failure → ALARM" in text and "2 min 0 s" in text and "6.0 s" in text
    assert "errors served (5xx): 30 (15.0%)" in text
    assert '"FAILURE_RATE" = "0" -> "0.3"' in text
    assert "demo wall time: 38.7 s" in text
    assert ("loop NOT verified" in text) == (failure is not None)
    assert (f"failed: {failure}" in text) == (failure is not None)
