"""Unit tests of the healer's vocabulary: decision codes, incident statuses, advice, and what the docs say."""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import Path
from typing import get_args

import pytest

from healer.decisions import (
    ActionCode,
    CloseCode,
    Decision,
    DecisionKind,
    DryRunCode,
    EscalationCode,
    IncidentStatus,
    OutcomeStatus,
    SkipCode,
    advice_for,
)
from healer.escalation import Escalation
from healer.policy import after_failed_action, recorded_status

INTERNALS = Path(__file__).resolve().parents[2] / "docs" / "internals.md"
CODES_BY_KIND: dict[DecisionKind, type[StrEnum]] = {
    "skip": SkipCode,
    "escalate": EscalationCode,
    "act": ActionCode,
    "close": CloseCode,
    "dry_run": DryRunCode,
}


def internals_bullet(start: str) -> str:
    """The bullet of docs/internals.md's Healer section that begins with ``start``, on one line."""
    match = re.search(rf"^- {re.escape(start)}(.*?)(?=^- |^\n|^#)", INTERNALS.read_text(), re.M | re.S)
    assert match is not None, start
    return " ".join(match.group(1).split())


def test_every_escalation_code_has_its_own_advice() -> None:
    """Each escalation code, contention included, has advice of its own for the people on call."""
    codes = list(EscalationCode)
    assert EscalationCode.CONTENTION in codes
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
            assert Decision(code, "because").kind == kind
            values.append(code.value)
    assert len(values) == len(set(values))
    assert all(re.fullmatch(r"[a-z_]+", value) for value in values)


def test_codes_and_statuses_are_the_documented_strings() -> None:
    """docs/internals.md lists exactly these decision codes per kind, and these incident statuses."""
    codes = internals_bullet("Decision codes")
    documented: dict[str, set[str]] = {}
    for kind, names in re.findall(r"`(\w+)`: ((?:`\w+`(?:, )?)+)", codes):
        documented[kind] = set(re.findall(r"`(\w+)`", names))
    assert documented == {kind: {c.value for c in codes} for kind, codes in CODES_BY_KIND.items()}
    statuses = internals_bullet("Ledger item layout").split("Incident statuses", 1)[1]
    assert re.findall(r"`([A-Z_]+)`", statuses) == [status.value for status in IncidentStatus]


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (EscalationCode.COOLDOWN, IncidentStatus.ESCALATED),
        (EscalationCode.CONTENTION, IncidentStatus.ESCALATED),
        (EscalationCode.FAILURE_RATE_ZERO, IncidentStatus.ESCALATED),
        (EscalationCode.PERMANENT_ERROR, IncidentStatus.FAILED),
        (EscalationCode.REVISION_CHANGED, IncidentStatus.FAILED),
        (EscalationCode.VERIFY_TIMEOUT, IncidentStatus.UNVERIFIED),
        (DryRunCode.DRY_RUN, IncidentStatus.DRY_RUN),
    ],
)
def test_recorded_status_follows_the_code(code: EscalationCode | DryRunCode, status: IncidentStatus) -> None:
    """Escalations before acting leave ESCALATED, failed actions FAILED, a dry run DRY_RUN."""
    assert recorded_status(Decision(code, "because")) == status


def test_skips_are_never_recorded() -> None:
    """A skip has no status to record: the incident stays as it is."""
    with pytest.raises(ValueError, match="skip"):
        recorded_status(Decision(SkipCode.DUPLICATE, "because"))


def test_every_failed_outcome_maps_to_a_decision() -> None:
    """Each outcome that did not apply becomes a decision; a lost claim is a skip, the rest escalate."""
    failed = [s for s in get_args(OutcomeStatus) if s not in ("applied", "already_applied")]
    assert failed
    for status in failed:
        decision = after_failed_action(status, "detail")
        assert decision.kind == ("skip" if status == "lease_lost" else "escalate"), status
        assert decision.code == ("claim_lost" if status == "lease_lost" else status)
    with pytest.raises(ValueError):
        after_failed_action("applied", "detail")
