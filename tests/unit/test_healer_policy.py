"""Unit tests of the healer's pure decision policy."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from healer.config import HealerConfig
from healer.notification import AlarmNotification, parse_message
from healer.policy import (
    FunctionState,
    LedgerState,
    actions_in_window,
    decide,
    parse_failure_rate,
)

EVENTS = Path(__file__).resolve().parents[1] / "events"
NOW = 1_795_000_000.0
CONFIG = HealerConfig(
    target_function_name="selfheal-fragile",
    ledger_table_name="selfheal-ledger",
    escalation_topic_arn="arn:aws:sns:us-east-1:123456789012:selfheal-escalations",
    cooldown_seconds=300,
    max_actions_per_window=2,
    action_window_seconds=3600,
)
BROKEN = FunctionState(revision_id="r1", variables={"FAILURE_RATE": "0.5", "FAILURE_MODE": "exception"})


def notification(fixture: str = "alarm_fragile_alarm.json", **changes: Any) -> AlarmNotification:
    """Parse a fixture message with some fields changed."""
    message = json.loads((EVENTS / fixture).read_text())
    message.update(changes)
    return parse_message(json.dumps(message))


def test_alarm_on_target_with_failures_acts() -> None:
    """A fresh ALARM on the target with FAILURE_RATE > 0 and no history is acted on."""
    decision = decide(notification(), LedgerState(), BROKEN, NOW, CONFIG)
    assert (decision.kind, decision.code) == ("act", "reset_failure_rate")
    assert "0.5" in decision.reason


@pytest.mark.parametrize(
    ("fixture", "code"),
    [
        ("alarm_other_function.json", "foreign_function"),
        ("alarm_other_namespace.json", "foreign_namespace"),
        ("alarm_metric_math.json", "foreign_namespace"),
    ],
)
def test_foreign_alarms_are_skipped(fixture: str, code: str) -> None:
    """Alarms on other functions or namespaces are skipped with the reason."""
    decision = decide(notification(fixture), LedgerState(), BROKEN, NOW, CONFIG)
    assert (decision.kind, decision.code) == ("skip", code)


def test_insufficient_data_is_skipped() -> None:
    """INSUFFICIENT_DATA never causes an action."""
    decision = decide(
        notification("alarm_fragile_insufficient_data.json"), LedgerState(), BROKEN, NOW, CONFIG
    )
    assert (decision.kind, decision.code) == ("skip", "not_alarm")


def test_ok_closes_open_incident_only() -> None:
    """OK closes the alarm's open incident, and is skipped when none is open."""
    ok = notification("alarm_fragile_ok.json")
    assert decide(ok, LedgerState(open_incident_id="inc-1"), BROKEN, NOW, CONFIG).kind == "close"
    assert decide(ok, LedgerState(), BROKEN, NOW, CONFIG).code == "no_open_incident"


@pytest.mark.parametrize("status", ["ACTING", "ACTED", "RECOVERED", "ESCALATED", "DRY_RUN", "FAILED"])
def test_already_decided_transition_is_a_duplicate(status: str) -> None:
    """A transition whose incident is past NEW is skipped as a duplicate."""
    decision = decide(notification(), LedgerState(incident_status=status), BROKEN, NOW, CONFIG)
    assert (decision.kind, decision.code) == ("skip", "duplicate")


@pytest.mark.parametrize(
    "variables", [{"FAILURE_RATE": "0"}, {"FAILURE_RATE": "0.0"}, {}, {"FAILURE_RATE": " "}]
)
def test_failure_rate_already_zero_escalates(variables: dict[str, str]) -> None:
    """When FAILURE_RATE is already 0 or absent the healer escalates instead of acting."""
    decision = decide(notification(), LedgerState(), FunctionState("r", variables), NOW, CONFIG)
    assert (decision.kind, decision.code) == ("escalate", "failure_rate_zero")


def test_unreadable_target_escalates() -> None:
    """Without the target's configuration the healer escalates."""
    decision = decide(notification(), LedgerState(), None, NOW, CONFIG)
    assert (decision.kind, decision.code) == ("escalate", "target_unreadable")


def test_cooldown_escalates_inside_and_acts_after() -> None:
    """An ALARM inside the cooldown escalates; at the cooldown's end it acts."""
    inside = LedgerState(last_action_at=NOW - 299, action_times=(NOW - 299,))
    at_end = LedgerState(last_action_at=NOW - 300, action_times=(NOW - 300,))
    assert decide(notification(), inside, BROKEN, NOW, CONFIG).code == "cooldown"
    assert decide(notification(), at_end, BROKEN, NOW, CONFIG).kind == "act"


def test_cap_counts_only_actions_inside_the_window() -> None:
    """Reaching the cap escalates; actions older than the window no longer count."""
    full = LedgerState(last_action_at=NOW - 1000, action_times=(NOW - 2000, NOW - 1000))
    assert decide(notification(), full, BROKEN, NOW, CONFIG).code == "action_cap"
    aged = LedgerState(last_action_at=NOW - 1000, action_times=(NOW - 3600, NOW - 1000))
    assert decide(notification(), aged, BROKEN, NOW, CONFIG).kind == "act"


def test_dry_run_decides_but_never_acts() -> None:
    """In dry-run mode a would-be action becomes a dry_run decision; escalations stay escalations."""
    dry = HealerConfig(**{**CONFIG.__dict__, "dry_run": True})
    assert decide(notification(), LedgerState(), BROKEN, NOW, dry).kind == "dry_run"
    zero = FunctionState("r", {"FAILURE_RATE": "0"})
    assert decide(notification(), LedgerState(), zero, NOW, dry).kind == "escalate"


def test_unparseable_failure_rate_still_acts() -> None:
    """A FAILURE_RATE that is not a number is not 0, so resetting it can help."""
    decision = decide(
        notification(), LedgerState(), FunctionState("r", {"FAILURE_RATE": "lots"}), NOW, CONFIG
    )
    assert decision.kind == "act" and "not a number" in decision.reason


def test_failure_rate_parsing() -> None:
    """FAILURE_RATE parses to a number, absent counts as 0, junk and infinity as None."""
    assert parse_failure_rate(None) == 0.0
    assert parse_failure_rate("0.25") == 0.25
    assert parse_failure_rate("abc") is None
    assert parse_failure_rate("inf") is None


def test_actions_in_window_is_half_open() -> None:
    """The window (now - w, now] excludes its start and any future times."""
    assert actions_in_window([NOW - 10, NOW - 5, NOW, NOW + 1], NOW, 10) == [NOW - 5, NOW]


def claimed(lease_expires_at: float | None, **changes: Any) -> LedgerState:
    """The ledger state of a claimed action without outcome whose holder acted NOW - 100 s ago."""
    values: dict[str, Any] = {
        "incident_status": "ACTING",
        "incident_id": "inc-1",
        "claimed_by": "req-1/abc",
        "lease_expires_at": lease_expires_at,
        "last_action_at": NOW - 100,
        "action_times": (NOW - 100,),
    }
    values.update(changes)
    return LedgerState(**values)


def test_live_lease_is_left_to_its_holder() -> None:
    """A claim without outcome whose lease has not expired is skipped, naming the holder."""
    decision = decide(notification(), claimed(NOW + 1), BROKEN, NOW, CONFIG)
    assert (decision.kind, decision.code) == ("skip", "claim_held")
    assert "req-1/abc" in decision.reason


def test_expired_lease_is_taken_over_outside_cooldown_and_cap_accounting() -> None:
    """An expired claim is acted on though its own action time is inside the cooldown and fills the cap."""
    one_slot = HealerConfig(**{**CONFIG.__dict__, "max_actions_per_window": 1})
    decision = decide(notification(), claimed(NOW), BROKEN, NOW, one_slot)
    assert (decision.kind, decision.code) == ("act", "take_over")
    assert decision.reason.endswith("FAILURE_RATE is 0.5; set it to 0")


def test_expired_lease_with_the_incident_marker_records_without_acting_again() -> None:
    """If the killed holder's update landed (this incident's marker, FAILURE_RATE 0) it is only recorded."""
    landed = FunctionState("r2", {"FAILURE_RATE": "0", "HEALED_INCIDENT": "inc-1"})
    decision = decide(notification(), claimed(NOW - 1), landed, NOW, CONFIG)
    assert (decision.kind, decision.code) == ("act", "record_landed_action")


@pytest.mark.parametrize(
    ("variables", "code"),
    [
        ({"FAILURE_RATE": "0", "HEALED_INCIDENT": "inc-other"}, "failure_rate_zero"),
        ({"FAILURE_RATE": "0.5", "HEALED_INCIDENT": "inc-1"}, "take_over"),
    ],
)
def test_marker_counts_only_for_this_incident_with_failure_rate_zero(
    variables: dict[str, str], code: str
) -> None:
    """Another incident's marker, or this marker with failures back on, is not this action landing."""
    decision = decide(notification(), claimed(NOW - 1), FunctionState("r", variables), NOW, CONFIG)
    assert decision.code == code


@pytest.mark.parametrize(
    "state",
    [claimed(None), claimed(NOW - 1, action_recorded=True), claimed(NOW - 1, incident_status="ACTED")],
)
def test_claims_without_a_known_lease_or_with_an_outcome_are_duplicates(state: LedgerState) -> None:
    """Only an ACTING claim with a known, expired lease and no recorded outcome can be taken over."""
    decision = decide(notification(), state, BROKEN, NOW, CONFIG)
    assert (decision.kind, decision.code) == ("skip", "duplicate")
