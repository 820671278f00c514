"""Functional tests of the healer's DynamoDB ledger: conditional writes, idempotent close, TTL, read API."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from healer_fixtures import TARGET, alarm_message, healer_sandbox

from healer.claims import Claims, Control
from healer.decisions import ActionCode, Decision
from healer.ledger import TTL_SECONDS, Ledger, LedgerUnavailable, recent_incidents
from healer.notification import parse_message

ACT = Decision(ActionCode.RESET_FAILURE_RATE, "why")


def lease(now: float) -> dict[str, Any]:
    """The lease arguments of a claim made at ``now`` by one test invocation."""
    return {"owner": "req-1/test", "lease_expires_at": now + 50}


def test_incident_is_recorded_once_per_transition() -> None:
    """Opening the same transition twice returns the same single incident."""
    with healer_sandbox() as box:
        ledger = Ledger("selfheal-ledger", box.aws["dynamodb"])
        note = parse_message(json.dumps(alarm_message(at=box.clock.now())))
        first = ledger.open_incident(note, TARGET, box.clock.now())
        second = ledger.open_incident(note, TARGET, box.clock.now() + 5)
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
        incident = ledger.open_incident(note, TARGET, now)
        stale = Control(version=7)
        assert claims.claim_action(incident, TARGET, stale, [], ACT, now, **lease(now)) == "control_changed"
        assert (
            claims.claim_action(incident, TARGET, Control(), [now - 50], ACT, now, **lease(now)) == "claimed"
        )
        control = claims.read_control(TARGET)
        assert control == Control(version=1, last_action_at=now, action_times=(now - 50, now))
        assert claims.claim_action(incident, TARGET, control, [], ACT, now, **lease(now)) == "already_decided"
        assert claims.read_control(TARGET).version == 1


def test_close_is_idempotent_and_only_for_open_incidents() -> None:
    """Closing returns the time to recover once; a second close, or closing a NEW incident, does nothing."""
    with healer_sandbox() as box:
        ledger = Ledger("selfheal-ledger", box.aws["dynamodb"])
        claims = Claims("selfheal-ledger", box.aws["dynamodb"])
        now = box.clock.now()
        note = parse_message(json.dumps(alarm_message(at=now)))
        incident = ledger.open_incident(note, TARGET, now)
        ok_time = note.state_change_time + timedelta(seconds=80)
        assert ledger.close(incident, ok_time, now) is None
        claims.claim_action(incident, TARGET, Control(), [], ACT, now, **lease(now))
        assert ledger.close(incident, ok_time, now) == pytest.approx(80)
        assert ledger.close(incident, ok_time + timedelta(seconds=5), now) is None
        [stored] = box.incidents()
        assert stored.status == "RECOVERED" and stored.time_to_recover == pytest.approx(80)


def test_items_expire_after_thirty_days() -> None:
    """Incident items carry expires_at, about 30 days after they were opened."""
    with healer_sandbox() as box:
        ledger = Ledger("selfheal-ledger", box.aws["dynamodb"])
        now = box.clock.now()
        incident = ledger.open_incident(parse_message(json.dumps(alarm_message(at=now))), TARGET, now)
        raw = box.aws["dynamodb"].get_item(
            TableName="selfheal-ledger", Key={"pk": {"S": "INCIDENTS"}, "sk": {"S": incident.sk}}
        )["Item"]
        assert float(raw["expires_at"]["N"]) == pytest.approx(now + TTL_SECONDS, abs=1)


def test_read_api_reports_missing_table_as_unavailable() -> None:
    """recent_incidents on a missing table raises LedgerUnavailable, not a raw boto error."""
    with healer_sandbox() as box, pytest.raises(LedgerUnavailable):
        recent_incidents("no-such-table", 5, client=box.aws["dynamodb"])
