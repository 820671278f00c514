"""Functional tests of the healer's DynamoDB ledger: conditional writes, idempotent close, TTL, read API."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from healer_fixtures import ALARM_NAME, TARGET, alarm_message, healer_sandbox

from healer.claims import Claims, Control, Fleet
from healer.decisions import ActionCode, Decision, IncidentStatus
from healer.ledger import TTL_SECONDS, Incident, Ledger, LedgerUnavailable, recent_incidents
from healer.lifecycle import IllegalTransition
from healer.notification import parse_message
from healer.registry import Protection

ACT = Decision(ActionCode.RUN_STEP, "why")


PROTECTION = Protection(ALARM_NAME, TARGET, ("set_env",), set_env={"FAILURE_RATE": "0"})


def lease(now: float) -> dict[str, Any]:
    """The lease arguments of a first-step claim made at ``now`` by one test invocation."""
    return {"owner": "req-1/test", "lease_expires_at": now + 50, "in_flight_until": now + 400, "step": 0}


def claim(
    claims: Claims,
    incident: Incident,
    control: Control,
    keep: list[float],
    now: float,
    fleet: Fleet | None = None,
) -> str:
    """Claim the first step of ``incident`` as one test invocation."""
    fleet = fleet or claims.read_fleet()
    return claims.claim_action(incident, TARGET, control, keep, fleet, [], ACT, now, **lease(now))


def test_incident_is_recorded_once_per_transition() -> None:
    """Opening the same transition twice returns the same single incident."""
    with healer_sandbox() as box:
        ledger = Ledger("selfheal-ledger", box.aws["dynamodb"])
        note = parse_message(json.dumps(alarm_message(at=box.clock.now())))
        first = ledger.open_incident(note, PROTECTION, box.clock.now())
        second = ledger.open_incident(note, PROTECTION, box.clock.now() + 5)
        assert first.incident_id == second.incident_id and first.status == "NEW"
        assert len(box.incidents()) == 1
        assert ledger.latest_incident(note.alarm_arn) == first


def test_claim_is_exclusive_and_guarded_by_control_version() -> None:
    """A stale control version is refused, a fresh claim wins once, and a second claim sees it decided."""
    with healer_sandbox() as box:
        ledger = Ledger("selfheal-ledger", box.aws["dynamodb"])
        claims = Claims("selfheal-ledger", box.aws["dynamodb"])
        now = box.clock.now()
        note = parse_message(json.dumps(alarm_message(at=now)))
        incident = ledger.open_incident(note, PROTECTION, now)
        stale = Control(version=7)
        assert claim(claims, incident, stale, [], now) == "control_changed"
        assert claim(claims, incident, Control(), [now - 50], now) == "claimed"
        control = claims.read_control(TARGET)
        assert control == Control(version=1, last_action_at=now, action_times=(now - 50, now))
        assert claim(claims, incident, control, [], now) == "already_decided"
        assert claims.read_control(TARGET).version == 1
        assert claims.read_fleet().in_flight == {incident.incident_id: now + 400}


def test_claim_is_guarded_by_the_fleet_version_and_release_moves_it() -> None:
    """A claim on a stale fleet item is refused; releasing an incident takes it out of flight, once."""
    with healer_sandbox() as box:
        ledger = Ledger("selfheal-ledger", box.aws["dynamodb"])
        claims = Claims("selfheal-ledger", box.aws["dynamodb"])
        now = box.clock.now()
        incident = ledger.open_incident(parse_message(json.dumps(alarm_message(at=now))), PROTECTION, now)
        assert claim(claims, incident, Control(), [], now, fleet=Fleet(version=3)) == "fleet_changed"
        assert ledger.get_incident(incident.sk).status == "NEW"  # type: ignore[union-attr]
        assert claim(claims, incident, Control(), [], now) == "claimed"
        before = claims.read_fleet()
        assert before.in_flight_at(now) == [incident.incident_id]
        assert claims.release(incident.incident_id, now) is True
        after = claims.read_fleet()
        assert after.in_flight == {} and after.version == before.version + 1
        assert claims.release(incident.incident_id, now) is False


def test_ledger_refuses_a_transition_the_lifecycle_does_not_allow() -> None:
    """Recording a decision from a status the lifecycle does not leave that way raises before writing."""
    with healer_sandbox() as box:
        ledger = Ledger("selfheal-ledger", box.aws["dynamodb"])
        now = box.clock.now()
        incident = ledger.open_incident(parse_message(json.dumps(alarm_message(at=now))), PROTECTION, now)
        with pytest.raises(IllegalTransition):
            ledger.record_decision(incident, IncidentStatus.RECOVERED, ACT, now, expect=IncidentStatus.NEW)
        assert ledger.get_incident(incident.sk).status == "NEW"  # type: ignore[union-attr]


def test_close_is_idempotent_and_only_for_open_incidents() -> None:
    """Closing returns the time to recover once; a second close, or closing a NEW incident, does nothing."""
    with healer_sandbox() as box:
        ledger = Ledger("selfheal-ledger", box.aws["dynamodb"])
        claims = Claims("selfheal-ledger", box.aws["dynamodb"])
        now = box.clock.now()
        note = parse_message(json.dumps(alarm_message(at=now)))
        incident = ledger.open_incident(note, PROTECTION, now)
        ok_time = note.state_change_time + timedelta(seconds=80)
        assert ledger.close(incident, ok_time, now) is None
        claim(claims, incident, Control(), [], now)
        assert ledger.close(incident, ok_time, now) == pytest.approx(80)
        assert ledger.close(incident, ok_time + timedelta(seconds=5), now) is None
        [stored] = box.incidents()
        assert stored.status == "RECOVERED" and stored.time_to_recover == pytest.approx(80)


def test_items_expire_after_thirty_days() -> None:
    """Incident items carry expires_at, about 30 days after they were opened."""
    with healer_sandbox() as box:
        ledger = Ledger("selfheal-ledger", box.aws["dynamodb"])
        now = box.clock.now()
        incident = ledger.open_incident(parse_message(json.dumps(alarm_message(at=now))), PROTECTION, now)
        raw = box.aws["dynamodb"].get_item(
            TableName="selfheal-ledger", Key={"pk": {"S": "INCIDENTS"}, "sk": {"S": incident.sk}}
        )["Item"]
        assert float(raw["expires_at"]["N"]) == pytest.approx(now + TTL_SECONDS, abs=1)


def test_read_api_reports_missing_table_as_unavailable() -> None:
    """recent_incidents on a missing table raises LedgerUnavailable, not a raw boto error."""
    with healer_sandbox() as box, pytest.raises(LedgerUnavailable):
        recent_incidents("no-such-table", 5, client=box.aws["dynamodb"])
