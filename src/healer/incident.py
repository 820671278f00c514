"""One incident: an ALARM transition of the target and everything the healer did about it.

``Incident`` is the frozen value read from the ledger (``incident_from_item``); ``incident_id_for`` gives a
transition's id, stable across redeliveries; ``incident_key`` and ``transition_value`` are the item's key
and an entry of its ``transitions`` list. The item layout is in ``healer.ledger``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from healer.decisions import OPEN_STATUSES, IncidentStatus
from healer.notification import AlarmNotification, AlarmState
from healer.table import Item, LedgerUnavailable, get_dt_epoch, get_dt_iso, get_n, get_s, s, s_time

__all__ = [
    "INCIDENTS_PK",
    "Incident",
    "StepRecord",
    "Transition",
    "incident_from_item",
    "incident_id_for",
    "incident_key",
    "transition_value",
]

INCIDENTS_PK = "INCIDENTS"
_EPOCH = datetime.fromtimestamp(0, UTC)


@dataclass(frozen=True)
class Transition:
    """One alarm state change seen for an incident."""

    state: str
    time: datetime


@dataclass(frozen=True)
class StepRecord:
    """One step of the playbook that ran: the action, when, how it ended, and what it changed."""

    index: int
    action: str
    at: float
    status: str
    detail: str
    changes: tuple[dict[str, Any], ...] = ()

    def to_json(self) -> str:
        """The step as stored in the incident's ``steps`` list (a JSON string)."""
        return json.dumps(
            {
                "index": self.index,
                "action": self.action,
                "at": self.at,
                "status": self.status,
                "detail": self.detail,
                "changes": list(self.changes),
            },
            sort_keys=True,
        )

    @classmethod
    def from_json(cls, text: str) -> StepRecord:
        """Read a stored step; raise ``LedgerUnavailable`` when it does not parse."""
        try:
            data = json.loads(text)
            return cls(
                index=int(data["index"]),
                action=str(data["action"]),
                at=float(data["at"]),
                status=str(data["status"]),
                detail=str(data.get("detail", "")),
                changes=tuple(dict(change) for change in data.get("changes", [])),
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise LedgerUnavailable(f"a recorded step does not parse: {exc}") from None


@dataclass(frozen=True)
class Incident:
    """One ALARM transition of the target and everything the healer did about it."""

    incident_id: str
    sk: str
    alarm_name: str
    alarm_arn: str
    target: str
    status: IncidentStatus
    alarm_time: datetime
    opened_at: datetime
    transitions: tuple[Transition, ...] = ()
    decision: str | None = None
    decision_code: str | None = None
    reason: str | None = None
    decided_at: datetime | None = None
    action: str | None = None
    action_at: datetime | None = None
    previous_failure_rate: str | None = None
    outcome: str | None = None
    ok_time: datetime | None = None
    time_to_recover: float | None = None
    claimed_by: str | None = None
    lease_expires_at: float | None = None
    takeovers: int = 0
    mode: str | None = None
    """The mode the incident was decided in (``observe``, ``approve``, ``auto``)."""
    playbook: tuple[str, ...] = ()
    step: int = 0
    """Index in ``playbook`` of the step to run next (or being run while ``ACTING``)."""
    steps: tuple[StepRecord, ...] = ()
    """What each step that ran changed, in order."""
    restored_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        """True while the incident waits for the alarm to be OK again."""
        return self.status in OPEN_STATUSES


def incident_id_for(notification: AlarmNotification) -> str:
    """The incident id of a transition: stable across redeliveries of the same transition."""
    digest = hashlib.sha256(notification.transition_key.encode()).hexdigest()
    return f"inc-{digest[:20]}"


def incident_key(sk: str) -> Item:
    """The key of the incident item with sort key ``sk``."""
    return {"pk": s(INCIDENTS_PK), "sk": s(sk)}


def transition_value(state: AlarmState | str, when: datetime) -> dict[str, Any]:
    """One entry of an incident's ``transitions`` list."""
    return {"M": {"state": s(state), "time": s_time(when)}}


def _status(item: Item) -> IncidentStatus:
    raw = get_s(item, "status") or IncidentStatus.NEW
    try:
        return IncidentStatus(raw)
    except ValueError:
        raise LedgerUnavailable(
            f"incident {get_s(item, 'incident_id')} has an unknown status {raw!r}"
        ) from None


def incident_from_item(item: Item) -> Incident:
    """Read an incident item of the ledger."""
    transitions = []
    for entry in item.get("transitions", {}).get("L", []):
        fields = entry.get("M", {})
        when = get_dt_iso(fields, "time")
        state = get_s(fields, "state")
        if when is not None and state is not None:
            transitions.append(Transition(state, when))
    return Incident(
        incident_id=get_s(item, "incident_id") or "",
        sk=get_s(item, "sk") or "",
        alarm_name=get_s(item, "alarm_name") or "",
        alarm_arn=get_s(item, "alarm_arn") or "",
        target=get_s(item, "target") or "",
        status=_status(item),
        alarm_time=get_dt_iso(item, "alarm_time") or _EPOCH,
        opened_at=get_dt_epoch(item, "opened_at") or _EPOCH,
        transitions=tuple(transitions),
        decision=get_s(item, "decision"),
        decision_code=get_s(item, "decision_code"),
        reason=get_s(item, "reason"),
        decided_at=get_dt_epoch(item, "decided_at"),
        action=get_s(item, "action"),
        action_at=get_dt_epoch(item, "action_at"),
        previous_failure_rate=get_s(item, "previous_failure_rate"),
        outcome=get_s(item, "outcome"),
        ok_time=get_dt_iso(item, "ok_time"),
        time_to_recover=get_n(item, "time_to_recover"),
        claimed_by=get_s(item, "claimed_by"),
        lease_expires_at=get_n(item, "lease_expires_at"),
        takeovers=int(get_n(item, "takeovers") or 0),
        mode=get_s(item, "mode"),
        playbook=tuple(entry["S"] for entry in item.get("playbook", {}).get("L", []) if "S" in entry),
        step=int(get_n(item, "step") or 0),
        steps=tuple(
            StepRecord.from_json(entry["S"]) for entry in item.get("steps", {}).get("L", []) if "S" in entry
        ),
        restored_at=get_dt_epoch(item, "restored_at"),
    )
