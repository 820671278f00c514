"""The healer's ledger in DynamoDB: what was seen, decided and done, made safe for concurrent runs.

Table: string hash key ``pk``, string range key ``sk``, TTL attribute ``expires_at`` (epoch seconds).
Three kinds of item:

``pk="INCIDENTS"``, ``sk="<alarm time, ISO UTC>#<incident id>"`` — one per ALARM transition of the target
    (incident id = hash of alarm ARN + StateChangeTime, so a redelivered transition maps to the same item).
    Attributes: ``incident_id``, ``alarm_name``, ``alarm_arn``, ``target``, ``alarm_time`` (ISO),
    ``alarm_epoch``, ``opened_at``, ``status``, ``decision``, ``decision_code``, ``reason``, ``decided_at``,
    ``action``, ``action_at``, ``previous_failure_rate``, ``outcome`` (how verification ended),
    ``ok_time`` (ISO), ``time_to_recover`` (s), ``claimed_by`` and ``lease_expires_at`` (the action
    claim's lease, below), ``takeovers`` (how many times an expired claim was taken over),
    ``transitions`` (list of {state, time}), ``updated_at``, ``expires_at`` (30 days).
    Created with ``attribute_not_exists`` (status ``NEW``); every later change is conditional on the
    status it expects, so only one invocation decides and at most one acts.
    The action claim is a lease (``healer.claims``): ``claimed_by`` names the holding invocation (Lambda
    request id + a random suffix, unique per run), ``lease_expires_at`` (epoch seconds, cloud time) when
    the claim lapses. The holder renews the lease (conditional on ``claimed_by``) before every
    UpdateFunctionConfiguration attempt, and its ACTING → ACTED/FAILED/ESCALATED writes are conditional
    on still holding it. If the holder is killed, the incident stays ``ACTING`` with no ``action``;
    a redelivery of the transition after ``lease_expires_at`` takes the claim over. A claim written
    without a lease (before leases existed) counts as expiring one lease length after ``decided_at``.
``pk="ALARM#<alarm arn>"``, ``sk="LATEST"`` — the alarm's latest incident (``incident_sk``,
    ``alarm_epoch``), moved only forward; an ``OK`` notification finds the incident to close through it.
``pk="TARGET#<function>"``, ``sk="CONTROL"`` — ``version``, ``last_action_at``, ``action_times`` (inside
    the window). Claiming an action is one transaction: incident ``NEW`` → ``ACTING`` and control
    ``version`` v → v+1, so the cooldown and the cap hold across concurrent invocations. No TTL: the
    cooldown and the cap must outlive the incidents.

Statuses (``healer.decisions.IncidentStatus``) and the transitions between them are the state machine
of ``healer.lifecycle``; every write checks its transition there and is conditional on the status it
leaves. Any failure to reach the table raises ``LedgerUnavailable``
(callers fail closed).

Modules: ``healer.table`` (attribute values, errors), ``healer.incident`` (the incident item),
``healer.claims`` (the control item and action claims), and this one (the incident's life from ``NEW`` to
its end). ``recent_incidents`` is the read API for operators (the ``selfheal status`` CLI).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from healer.clients import client as shared_client
from healer.clock import iso_utc
from healer.decisions import OPEN_STATUSES, Decision, IncidentStatus
from healer.incident import (
    INCIDENTS_PK,
    Incident,
    StepRecord,
    Transition,
    incident_from_item,
    incident_id_for,
    incident_key,
    transition_value,
)
from healer.lifecycle import require
from healer.notification import AlarmNotification, AlarmState
from healer.registry import Protection
from healer.table import Item, LedgerUnavailable, Table, get_s, n, s, s_time

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "TTL_SECONDS",
    "Incident",
    "Ledger",
    "LedgerUnavailable",
    "StepRecord",
    "Transition",
    "incident_id_for",
    "recent_incidents",
]

TTL_SECONDS = 30 * 24 * 3600


def _latest_key(alarm_arn: str) -> Item:
    return {"pk": s(f"ALARM#{alarm_arn}"), "sk": s("LATEST")}


class Ledger:
    """Reads and conditional writes of the incident items, from ``NEW`` to their end."""

    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self.table_name = table_name
        self._table = Table(table_name, client)

    def get_incident(self, sk: str) -> Incident | None:
        """Read one incident by its sort key."""
        response = self._table.call("get_item", Key=incident_key(sk), ConsistentRead=True)
        item = response.get("Item")
        return incident_from_item(item) if item else None

    def open_incident(self, notification: AlarmNotification, protection: Protection, now: float) -> Incident:
        """Record the ALARM transition as a NEW incident, or return the one already recorded for it."""
        incident_id = incident_id_for(notification)
        sk = f"{iso_utc(notification.state_change_time)}#{incident_id}"
        alarm_epoch = notification.state_change_time.timestamp()
        item: Item = {
            **incident_key(sk),
            "incident_id": s(incident_id),
            "alarm_name": s(notification.alarm_name),
            "alarm_arn": s(notification.alarm_arn),
            "target": s(protection.function_name),
            "mode": s(protection.mode),
            "playbook": {"L": [s(step) for step in protection.playbook]},
            "step": n(0),
            "status": s(IncidentStatus.NEW),
            "alarm_time": s_time(notification.state_change_time),
            "alarm_epoch": n(alarm_epoch),
            "opened_at": n(now),
            "updated_at": n(now),
            "transitions": {"L": [transition_value(notification.new_state, notification.state_change_time)]},
            "expires_at": n(int(now) + TTL_SECONDS),
        }
        try:
            self._table.call("put_item", Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError:
            existing = self.get_incident(sk)
            if existing is None:
                raise LedgerUnavailable(f"incident {incident_id} exists but cannot be read") from None
            return existing
        self._table.update(
            _latest_key(notification.alarm_arn),
            "SET incident_sk = :sk, incident_id = :id, alarm_epoch = :epoch, expires_at = :exp",
            "attribute_not_exists(alarm_epoch) OR alarm_epoch < :epoch",
            {
                ":sk": s(sk),
                ":id": s(incident_id),
                ":epoch": n(alarm_epoch),
                ":exp": n(int(now) + TTL_SECONDS),
            },
        )
        created = self.get_incident(sk)
        if created is None:
            raise LedgerUnavailable(f"incident {incident_id} vanished after it was written")
        return created

    def latest_incident(self, alarm_arn: str) -> Incident | None:
        """The alarm's latest incident, whatever its status."""
        response = self._table.call("get_item", Key=_latest_key(alarm_arn), ConsistentRead=True)
        item = response.get("Item")
        sk = get_s(item, "incident_sk") if item else None
        return self.get_incident(sk) if sk else None

    def record_decision(
        self,
        incident: Incident,
        status: IncidentStatus,
        decision: Decision,
        now: float,
        *,
        expect: IncidentStatus = IncidentStatus.NEW,
        owner: str | None = None,
        context: str = "",
        step: StepRecord | None = None,
    ) -> bool:
        """Record a decision that takes no action (``expect`` → ``status``); False if it lost a race.

        ``context`` goes before the decision's reason in the ledger. With ``owner``, the write also requires
        that ``owner`` still holds the action claim. ``step`` (a failed step) is appended to ``steps``.
        """
        require(expect, status)
        values: Item = {
            ":status": s(status),
            ":expect": s(expect),
            ":d": s(decision.kind),
            ":c": s(decision.code),
            ":r": s(context + decision.reason),
            ":now": n(now),
        }
        condition = "#s = :expect"
        if owner is not None:
            condition += " AND claimed_by = :owner"
            values[":owner"] = s(owner)
        update = (
            "SET #s = :status, decision = :d, decision_code = :c, reason = :r, decided_at = :now, "
            "updated_at = :now"
        )
        if step is not None:
            update += ", steps = list_append(if_not_exists(steps, :empty), :step)"
            values[":empty"] = {"L": []}
            values[":step"] = {"L": [s(step.to_json())]}
        return self._table.update(incident_key(incident.sk), update, condition, values, {"#s": "status"})

    def record_step(
        self,
        incident: Incident,
        step: StepRecord,
        summary: str,
        previous_failure_rate: str | None,
        *,
        owner: str | None = None,
    ) -> bool:
        """ACTING → ACTED with the step's changes; False if the incident moved on (e.g. already recovered).

        ``summary`` becomes the incident's ``action`` (its latest change, for people); the next step is
        ``step.index + 1``. With ``owner``, the write also requires that ``owner`` still holds the claim.
        """
        require(IncidentStatus.ACTING, IncidentStatus.ACTED)
        values: Item = {
            ":acted": s(IncidentStatus.ACTED),
            ":acting": s(IncidentStatus.ACTING),
            ":action": s(summary),
            ":at": n(step.at),
            ":next": n(step.index + 1),
            ":empty": {"L": []},
            ":step": {"L": [s(step.to_json())]},
        }
        update = (
            "SET #s = :acted, #a = :action, action_at = :at, updated_at = :at, step = :next, "
            "steps = list_append(if_not_exists(steps, :empty), :step)"
        )
        if previous_failure_rate is not None:
            update += ", previous_failure_rate = :prev"
            values[":prev"] = s(previous_failure_rate)
        condition = "#s = :acting"
        if owner is not None:
            condition += " AND claimed_by = :owner"
            values[":owner"] = s(owner)
        return self._table.update(
            incident_key(incident.sk), update, condition, values, {"#s": "status", "#a": "action"}
        )

    def mark_unverified(self, incident: Incident, decision: Decision, now: float) -> bool:
        """ACTED → UNVERIFIED after the verify deadline passed and no next step was taken."""
        require(IncidentStatus.ACTED, IncidentStatus.UNVERIFIED)
        return self._table.update(
            incident_key(incident.sk),
            "SET #s = :unverified, outcome = :r, decision = :d, decision_code = :c, reason = :r, "
            "decided_at = :now, updated_at = :now",
            "#s = :acted",
            {
                ":unverified": s(IncidentStatus.UNVERIFIED),
                ":acted": s(IncidentStatus.ACTED),
                ":d": s(decision.kind),
                ":c": s(decision.code),
                ":r": s(decision.reason),
                ":now": n(now),
            },
            {"#s": "status"},
        )

    def mark_restored(self, incident: Incident, now: float) -> bool:
        """Claim the incident's restore (``restored_at``); False if it was restored already."""
        return self._table.update(
            incident_key(incident.sk),
            "SET restored_at = :now, updated_at = :now",
            "attribute_exists(pk) AND attribute_not_exists(restored_at)",
            {":now": n(now)},
        )

    def record_restore(
        self, incident: Incident, operator: str, outcome: str, detail: str, now: float
    ) -> None:
        """Write the restore as its own ledger item (``pk = RESTORES``)."""
        self._table.call(
            "put_item",
            Item={
                "pk": s("RESTORES"),
                "sk": s(f"{iso_utc(datetime.fromtimestamp(now, UTC))}#{incident.incident_id}"),
                "incident_id": s(incident.incident_id),
                "target": s(incident.target),
                "operator": s(operator),
                "outcome": s(outcome),
                "detail": s(detail),
                "restored_at": n(now),
                "expires_at": n(int(now) + TTL_SECONDS),
            },
        )

    def find(self, incident_id: str, limit: int = 1000) -> Incident | None:
        """The incident with ``incident_id`` among the newest ``limit`` (operator commands name one)."""
        response = self._table.call(
            "query",
            KeyConditionExpression="pk = :pk",
            FilterExpression="incident_id = :id",
            ExpressionAttributeValues={":pk": s(INCIDENTS_PK), ":id": s(incident_id)},
            ScanIndexForward=False,
            Limit=limit,
        )
        items = response.get("Items", [])
        return incident_from_item(items[0]) if items else None

    def close(self, incident: Incident, ok_time: datetime, now: float, via: str = "") -> float | None:
        """Mark an open incident RECOVERED at ``ok_time``; return the time to recover, or None if not open."""
        ttr = max(0.0, (ok_time - incident.alarm_time).total_seconds())
        closed = self._table.update(
            incident_key(incident.sk),
            "SET #s = :recovered, ok_time = :ok, time_to_recover = :ttr, updated_at = :now, outcome = :via, "
            "transitions = list_append(if_not_exists(transitions, :empty), :ok_transition)",
            "#s IN (" + ", ".join(f":s{i}" for i in range(len(OPEN_STATUSES))) + ")",
            {
                ":recovered": s(IncidentStatus.RECOVERED),
                ":via": s(f"recovered ({via})" if via else "recovered"),
                ":ok": s_time(ok_time),
                ":ttr": n(round(ttr, 3)),
                ":now": n(now),
                ":empty": {"L": []},
                ":ok_transition": {"L": [transition_value("OK", ok_time)]},
                **{f":s{i}": s(status) for i, status in enumerate(OPEN_STATUSES)},
            },
            {"#s": "status"},
        )
        return ttr if closed else None

    def recent(self, limit: int) -> list[Incident]:
        """Up to ``limit`` incidents, newest alarm first."""
        response = self._table.call(
            "query",
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": s(INCIDENTS_PK)},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [incident_from_item(item) for item in response.get("Items", [])]

    def add_transition(self, incident: Incident, state: AlarmState, when: datetime, now: float) -> None:
        """Append a non-closing alarm transition (e.g. INSUFFICIENT_DATA) to an incident."""
        self._table.update(
            incident_key(incident.sk),
            "SET transitions = list_append(if_not_exists(transitions, :empty), :t), updated_at = :now",
            "attribute_exists(pk)",
            {":empty": {"L": []}, ":t": {"L": [transition_value(state, when)]}, ":now": n(now)},
        )


def recent_incidents(
    table_name: str, limit: int = 20, client: DynamoDBClient | None = None
) -> list[Incident]:
    """Return up to ``limit`` incidents, newest alarm first (raises ``LedgerUnavailable``)."""
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000:
        raise ValueError(f"limit must be an integer from 1 to 1000, got {limit!r}")
    if client is None:
        client = shared_client("dynamodb")
    return Ledger(table_name, client).recent(limit)
