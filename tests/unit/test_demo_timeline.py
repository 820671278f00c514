"""The demo's timeline: samples of the loop in, events, rates and milestones out."""

from __future__ import annotations

from datetime import UTC, datetime

from healer.ledger import Incident
from selfheal.demo.timeline import Sample, Timeline
from selfheal.loop.traffic import TrafficSnapshot

ALARM_TIME = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)


def _traffic(completed: int, server_errors: int) -> TrafficSnapshot:
    return TrafficSnapshot(
        sent=completed,
        completed=completed,
        ok=completed - server_errors,
        server_errors=server_errors,
        other_errors=0,
        elapsed=1.0,
        achieved_rate=0.0,
        p50=None,
        p95=None,
        p99=None,
        statuses={},
    )


def _incident(status: str, **fields: object) -> Incident:
    return Incident(
        incident_id="inc-1",
        sk="s",
        alarm_name="selfheal-fragile-errors",
        alarm_arn="arn",
        target="selfheal-fragile",
        status=status,
        alarm_time=ALARM_TIME,
        opened_at=ALARM_TIME,
        **fields,  # type: ignore[arg-type]
    )


def _run(timeline: Timeline, samples: list[Sample]) -> list[str]:
    texts = []
    for sample in samples:
        texts += [event.text for event in timeline.observe(sample)]
    return texts


def test_a_full_loop_gives_milestones_in_order() -> None:
    """First 5xx, ALARM, FAILURE_RATE change, OK and a RECOVERED incident are each recorded once."""
    acted = _incident("ACTED", decision="act", reason="FAILURE_RATE is 0.3", action="Update FAILURE_RATE=0")
    recovered = _incident("RECOVERED", decision="act", action="Update FAILURE_RATE=0", time_to_recover=120.0)
    timeline = Timeline(baseline="0.3")
    texts = _run(
        timeline,
        [
            Sample(0.0, _traffic(0, 0), "INSUFFICIENT_DATA", None, "0.3"),
            Sample(1.0, _traffic(20, 5), "OK", "no data", "0.3"),
            Sample(7.0, _traffic(140, 40), "ALARM", "Threshold Crossed", "0.3"),
            Sample(7.5, _traffic(150, 42), "ALARM", None, "0", (acted,)),
            Sample(13.0, _traffic(260, 42), "OK", None, "0", (acted,)),
            Sample(13.5, _traffic(270, 42), "OK", None, "0", (recovered,)),
        ],
    )
    marks = timeline.marks
    assert (marks.first_failure, marks.alarm, marks.acted, marks.ok, marks.verified) == (
        1.0,
        7.0,
        7.5,
        13.0,
        13.5,
    )
    assert timeline.verified and timeline.gave_up is None
    assert "alarm OK → ALARM: Threshold Crossed" in texts
    assert "FAILURE_RATE 0.3 → 0" in texts
    assert "healer decided: act — FAILURE_RATE is 0.3" in texts
    assert "healer acted: Update FAILURE_RATE=0" in texts
    assert "incident inc-1: RECOVERED (alarm → OK in 120 cloud s)" in texts
    assert len([t for t in texts if t.startswith("incident inc-1")]) == 2


def test_an_alarm_before_any_failure_is_not_detection() -> None:
    """ALARM only counts as detected after the first failure was seen."""
    timeline = Timeline(baseline="0.3")
    _run(timeline, [Sample(0.0, _traffic(0, 0), "ALARM", None, "0.3")])
    assert timeline.marks.alarm is None


def test_rates_cover_the_recent_window() -> None:
    """Request and error rates come from the last few seconds, not the whole run."""
    timeline = Timeline(baseline="0.3")
    _run(
        timeline,
        [
            Sample(0.0, _traffic(0, 0)),
            Sample(5.0, _traffic(100, 50)),
            Sample(6.0, _traffic(120, 50)),
            Sample(7.0, _traffic(140, 50)),
            Sample(8.0, _traffic(160, 50)),
            Sample(9.0, _traffic(180, 50)),
        ],
    )
    assert timeline.request_rate == 20.0
    assert timeline.error_rate == 0.0


def test_a_missing_reading_keeps_the_last_known_value() -> None:
    """A poll that could not read the alarm or the function does not erase what was known."""
    timeline = Timeline(baseline="0.3")
    _run(timeline, [Sample(0.0, None, "OK", None, "0.3"), Sample(1.0, None, None, None, None)])
    assert (timeline.latest.alarm_state, timeline.latest.failure_rate) == ("OK", "0.3")
    assert [event.text for event in timeline.events] == ["alarm is OK"]


def test_an_escalated_incident_is_giving_up() -> None:
    """The healer escalating instead of acting ends the demo with its reason."""
    timeline = Timeline(baseline="0.3")
    _run(timeline, [Sample(1.0, None, "ALARM", None, "0.3", (_incident("ESCALATED", reason="cap reached"),))])
    assert not timeline.verified
    assert timeline.gave_up == "the healer ended incident inc-1 as ESCALATED: cap reached"


def test_the_acted_incident_wins_over_newer_ones() -> None:
    """With several incidents, the one that acted is the one reported."""
    acted = _incident("RECOVERED", action="Update", time_to_recover=60.0)
    newer = Incident(**{**acted.__dict__, "incident_id": "inc-2", "status": "ESCALATED", "action": None})
    timeline = Timeline(baseline="0.3")
    _run(timeline, [Sample(1.0, None, None, None, None, (newer, acted))])
    assert timeline.incident is not None and timeline.incident.incident_id == "inc-1"
    assert timeline.verified
