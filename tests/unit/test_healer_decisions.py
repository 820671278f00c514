"""Unit tests of the healer's vocabulary: decision codes, incident statuses and their lifecycle, advice, and
what docs/platform.md says about them."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import get_args

import pytest

from healer import lifecycle
from healer.decisions import (
    OPEN_STATUSES,
    ActionCode,
    CloseCode,
    Decision,
    DecisionCode,
    DecisionKind,
    EscalationCode,
    IncidentStatus,
    ObserveCode,
    OutcomeStatus,
    SkipCode,
    advice_for,
)
from healer.escalation import Escalation
from healer.setbacks import after_failed_action, recorded_status

PLATFORM = Path(__file__).resolve().parents[2] / "docs" / "platform.md"
CODES_BY_KIND: dict[DecisionKind, type[StrEnum]] = {
    "skip": SkipCode,
    "escalate": EscalationCode,
    "act": ActionCode,
    "close": CloseCode,
    "observe": ObserveCode,
}
ALL_CODES: list[DecisionCode] = [*SkipCode, *EscalationCode, *ActionCode, *CloseCode, *ObserveCode]
TERMINAL = {
    IncidentStatus.RECOVERED,
    IncidentStatus.ESCALATED,
    IncidentStatus.FAILED,
    IncidentStatus.OBSERVED,
}


def codes_section() -> str:
    """The section "Decision codes and statuses" of docs/platform.md."""
    text = PLATFORM.read_text()
    match = re.search(r"^## Decision codes and statuses\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    assert match is not None, "docs/platform.md has no section 'Decision codes and statuses'"
    return match.group(1)


def reachable_from(start: IncidentStatus) -> set[IncidentStatus]:
    """Every status the lifecycle can reach from ``start`` (``start`` included)."""
    seen = {start}
    frontier = [start]
    while frontier:
        current = frontier.pop()
        for source, target in lifecycle.TRANSITIONS:
            if source == current and target not in seen:
                seen.add(target)
                frontier.append(target)
    return seen


def test_every_escalation_code_has_its_own_advice() -> None:
    """Each escalation code, the platform's new ones included, has advice of its own for people."""
    codes = list(EscalationCode)
    for new in ("awaiting_approval", "fleet_in_flight", "fleet_rate", "registry_invalid", "action_refused"):
        assert new in codes
    advice = {code: advice_for(code) for code in codes}
    assert all(len(text) > 40 for text in advice.values()), advice
    assert len(set(advice.values())) == len(codes)


def test_escalation_body_carries_the_codes_advice() -> None:
    """The message to people ends with the advice of its code."""
    body = Escalation("a1", EscalationCode.CONTENTION, "seen", "done", "why").body()
    assert f"What to do:      {advice_for(EscalationCode.CONTENTION)}" in body


def test_each_kind_has_its_code_class_and_codes_are_unique() -> None:
    """A decision's kind follows from its code's class, and no code string belongs to two kinds."""
    assert set(CODES_BY_KIND) == set(get_args(DecisionKind))
    values: list[str] = []
    for kind, codes in CODES_BY_KIND.items():
        assert list(codes), kind
        for code in codes:
            assert Decision(code, "because").kind == kind  # type: ignore[arg-type]
            values.append(code.value)
    assert len(values) == len(set(values))
    assert all(re.fullmatch(r"[a-z_]+", value) for value in values)


def test_the_platform_codes_replace_the_seeds() -> None:
    """Observing replaced the dry run, and the registry, the kill switch and approvals have their codes."""
    assert [code.value for code in ObserveCode] == ["observe"]
    assert "DRY_RUN" not in {status.value for status in IncidentStatus}
    assert {"OBSERVED", "AWAITING_APPROVAL"} <= {status.value for status in IncidentStatus}
    assert {"unregistered_alarm", "kill_switch"} <= {code.value for code in SkipCode}
    assert {"run_step", "next_step", "approved", "take_over", "record_landed_action"} == {
        code.value for code in ActionCode
    }


def test_platform_doc_lists_every_code_by_kind() -> None:
    """docs/platform.md lists exactly these decision codes, each under its kind, once."""
    rows = re.findall(r"^\| `(\w+)` \| `(\w+)` \| [^|\n]+ \|$", codes_section(), re.M)
    documented: dict[str, list[str]] = {}
    for kind, code in rows:
        if kind.islower():
            documented.setdefault(kind, []).append(code)
    assert {kind: sorted(codes) for kind, codes in documented.items()} == {
        kind: sorted(code.value for code in codes) for kind, codes in CODES_BY_KIND.items()
    }


def test_platform_doc_lists_every_status_and_which_are_open() -> None:
    """docs/platform.md lists every incident status in order, and says which are open."""
    rows = re.findall(r"^\| `([A-Z_]+)` \| [^|\n]+ \| (yes|no) \|$", codes_section(), re.M)
    assert [status for status, _ in rows] == [status.value for status in IncidentStatus]
    assert {status for status, is_open in rows if is_open == "yes"} == {s.value for s in OPEN_STATUSES}


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (EscalationCode.COOLDOWN, IncidentStatus.ESCALATED),
        (EscalationCode.CONTENTION, IncidentStatus.ESCALATED),
        (EscalationCode.NOTHING_TO_CHANGE, IncidentStatus.ESCALATED),
        (EscalationCode.ACTION_REFUSED, IncidentStatus.ESCALATED),
        (EscalationCode.FLEET_IN_FLIGHT, IncidentStatus.ESCALATED),
        (EscalationCode.FLEET_RATE, IncidentStatus.ESCALATED),
        (EscalationCode.PERMANENT_ERROR, IncidentStatus.FAILED),
        (EscalationCode.RETRIES_EXHAUSTED, IncidentStatus.FAILED),
        (EscalationCode.NOT_SETTLED, IncidentStatus.FAILED),
        (EscalationCode.REVISION_CHANGED, IncidentStatus.FAILED),
        (EscalationCode.VERIFY_TIMEOUT, IncidentStatus.UNVERIFIED),
        (EscalationCode.AWAITING_APPROVAL, IncidentStatus.AWAITING_APPROVAL),
        (ObserveCode.OBSERVE, IncidentStatus.OBSERVED),
        (ActionCode.RUN_STEP, IncidentStatus.ACTING),
        (ActionCode.APPROVED, IncidentStatus.ACTING),
        (CloseCode.RECOVERED, IncidentStatus.RECOVERED),
    ],
)
def test_recorded_status_follows_the_code(code: DecisionCode, status: IncidentStatus) -> None:
    """Escalations before acting leave ESCALATED, failed steps FAILED, approve mode AWAITING_APPROVAL."""
    assert recorded_status(Decision(code, "because")) == status


@pytest.mark.parametrize("code", list(SkipCode))
def test_skips_are_never_recorded(code: SkipCode) -> None:
    """A skip has no status to record: the incident stays as it is."""
    with pytest.raises(ValueError, match="skip"):
        recorded_status(Decision(code, "because"))


def test_every_failed_outcome_maps_to_a_decision() -> None:
    """Each outcome that did not apply becomes a decision; a lost claim is a skip, the rest escalate."""
    failed = [s for s in get_args(OutcomeStatus) if s not in ("applied", "already_applied")]
    assert failed
    for status in failed:
        decision = after_failed_action(status, "detail")
        assert decision.kind == ("skip" if status == "lease_lost" else "escalate"), status
        assert decision.code == ("claim_lost" if status == "lease_lost" else status)
        if status != "revision_changed":
            assert "detail" in decision.reason
    for applied in ("applied", "already_applied"):
        with pytest.raises(ValueError, match="not a failed action"):
            after_failed_action(applied, "detail")


def test_transitions_are_between_statuses() -> None:
    """Every (from, to) of the lifecycle joins two different statuses and says what triggers it."""
    assert lifecycle.TRANSITIONS
    for (source, target), trigger in lifecycle.TRANSITIONS.items():
        assert isinstance(source, IncidentStatus) and isinstance(target, IncidentStatus)
        assert source in IncidentStatus and target in IncidentStatus
        assert source != target
        assert trigger.strip(), (source, target)


def test_every_status_is_reachable_from_new() -> None:
    """An incident starts NEW and can reach every status, the non-terminal ones in particular."""
    reachable = reachable_from(IncidentStatus.NEW)
    non_terminal = {status for status in IncidentStatus if not lifecycle.terminal(status)}
    assert non_terminal <= reachable
    assert reachable == set(IncidentStatus)


def test_terminal_statuses_are_exactly_the_final_ones() -> None:
    """RECOVERED, ESCALATED, FAILED and OBSERVED have no way out; every other status has one."""
    assert {status for status in IncidentStatus if lifecycle.terminal(status)} == TERMINAL
    for status in TERMINAL:
        assert not any(lifecycle.allowed(status, target) for target in IncidentStatus), status


def test_every_status_can_end() -> None:
    """From every status some terminal status is reachable: no incident is stuck for ever."""
    for status in IncidentStatus:
        assert reachable_from(status) & TERMINAL, status


def test_open_statuses_are_closed_by_ok() -> None:
    """The open statuses are the ones an OK closes: each has a transition to RECOVERED, no other has."""
    assert {s for s in IncidentStatus if lifecycle.is_open(s)} == set(OPEN_STATUSES)
    closable = {source for source, target in lifecycle.TRANSITIONS if target == IncidentStatus.RECOVERED}
    assert closable == set(OPEN_STATUSES)


def test_every_recorded_status_is_reachable() -> None:
    """Each status a decision can leave (``recorded_status``) is the target of some transition."""
    recorded = set()
    for code in ALL_CODES:
        if isinstance(code, SkipCode):
            continue
        recorded.add(recorded_status(Decision(code, "because")))
    targets = {target for _, target in lifecycle.TRANSITIONS}
    assert recorded <= targets
    assert recorded <= reachable_from(IncidentStatus.NEW)
    assert IncidentStatus.OBSERVED in recorded and IncidentStatus.AWAITING_APPROVAL in recorded


@pytest.mark.parametrize(
    ("source", "target"),
    [
        (IncidentStatus.RECOVERED, IncidentStatus.ACTING),
        (IncidentStatus.OBSERVED, IncidentStatus.ACTING),
        (IncidentStatus.NEW, IncidentStatus.ACTED),
        (IncidentStatus.ESCALATED, IncidentStatus.RECOVERED),
        (IncidentStatus.ACTED, IncidentStatus.ESCALATED),
        (IncidentStatus.ACTING, IncidentStatus.ACTING),
    ],
)
def test_require_refuses_transitions_outside_the_table(
    source: IncidentStatus, target: IncidentStatus
) -> None:
    """``require`` raises IllegalTransition, naming both statuses, for a change the lifecycle lacks."""
    assert not lifecycle.allowed(source, target)
    with pytest.raises(lifecycle.IllegalTransition, match=f"from {source} to {target}"):
        lifecycle.require(source, target)


def test_require_accepts_every_transition_of_the_table() -> None:
    """``require`` lets every transition of the table through."""
    for source, target in lifecycle.TRANSITIONS:
        lifecycle.require(source, target)
        assert lifecycle.allowed(source, target)
