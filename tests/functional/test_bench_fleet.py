"""Smoke test of the fleet benchmark: a small fleet, two functions failing at once, one incident in flight."""

from __future__ import annotations

from bench.fleet import FleetRun, measure, verdicts


def test_a_small_fleet_ends_every_incident_within_the_in_flight_rail() -> None:
    """Two of ten functions fail together with one incident allowed in flight: the rail holds, each incident
    ends acted or escalated past the rail, and every cycle evaluates all ten alarms."""
    settings = FleetRun(functions=10, failing_share=0.2, max_in_flight=1, time_scale=30.0, timeout=90.0)
    result = measure(settings)

    assert result["finished"], result["timeline"]
    assert len(result["failing"]) == 2 and result["incidents"] == 2
    assert set(result["by_status"]) <= {"RECOVERED", "ESCALATED"}, result["timeline"]
    assert result["acted"] == result["by_status"].get("RECOVERED") and result["acted"] >= 1
    escalated = {code: count for code, count in result["by_code"].items() if code != "run_step"}
    assert escalated in ({}, {"fleet_in_flight": 1}), result["by_code"]
    assert result["unexpected"] == []
    assert result["in_flight_max"]["claims"] == 1 and result["samples"] > 0
    assert result["alarms_per_cycle"]["max"] == 10 and result["cycle_ms"]["n"] >= 1
    assert result["decision_s"]["n"] == 2 and result["lag_ms"]["n"] >= 2
    assert result["memory"]["cloud_end_kib"] > 0 and result["datums"] > 0
    assert all("BROKEN" not in line and "NOT ALL" not in line for line in verdicts(result))
