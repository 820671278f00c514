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
    The action claim is a lease: ``claimed_by`` names the holding invocation (Lambda request id + a
    random suffix, unique per run), ``lease_expires_at`` (epoch seconds, cloud time) when the claim
    lapses. The holder renews the lease (conditional on ``claimed_by``) before every
    UpdateFunctionConfiguration attempt, and its ACTING → ACTED/FAILED/ESCALATED writes are conditional
    on still holding it. If the holder is killed, the incident stays ``ACTING`` with no ``action``;
    a redelivery of the transition after ``lease_expires_at`` takes the claim over with one conditional
    write on the holder and lease it saw (one taker wins), without touching the control item (the
    claim is already counted in the cooldown and the cap). A claim written without a lease (before
    leases existed) counts as expiring one lease length after ``decided_at``.
``pk="ALARM#<alarm arn>"``, ``sk="LATEST"`` — the alarm's latest incident (``incident_sk``,
    ``alarm_epoch``), moved only forward; an ``OK`` notification finds the incident to close through it.
``pk="TARGET#<function>"``, ``sk="CONTROL"`` — ``version``, ``last_action_at``, ``action_times`` (inside
    the window). Claiming an action is one transaction: incident ``NEW`` → ``ACTING`` and control
    ``version`` v → v+1, so the cooldown and the cap hold across concurrent invocations. No TTL: the
    cooldown and the cap must outlive the incidents.

Statuses: NEW, ACTING, ACTED, RECOVERED, UNVERIFIED (not OK by the verify deadline; escalated), ESCALATED,
DRY_RUN, FAILED (the action failed; escalated). ACTING, ACTED and UNVERIFIED are *open*: an ``OK`` closes
them. Any failure to reach the table raises ``LedgerUnavailable`` (callers fail closed).

``recent_incidents`` is the read API for operators (the ``selfheal status`` CLI).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from healer.clients import client as shared_client
from healer.notification import AlarmNotification, AlarmState

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "OPEN_STATUSES",
    "TTL_SECONDS",
    "ClaimResult",
    "Control",
    "Incident",
    "Ledger",
    "LedgerUnavailable",
    "Transition",
    "incident_id_for",
    "recent_incidents",
]

TTL_SECONDS = 30 * 24 * 3600
INCIDENTS_PK = "INCIDENTS"
OPEN_STATUSES = ("ACTING", "ACTED", "UNVERIFIED")
ClaimResult = Literal["claimed", "already_decided", "control_changed"]

Item = dict[str, Any]


class LedgerUnavailable(RuntimeError):
    """The ledger table could not be read or written."""


@dataclass(frozen=True)
class Transition:
    """One alarm state change seen for an incident."""

    state: str
    time: datetime


@dataclass(frozen=True)
class Incident:
    """One ALARM transition of the target and everything the healer did about it."""

    incident_id: str
    sk: str
    alarm_name: str
    alarm_arn: str
    target: str
    status: str
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

    @property
    def is_open(self) -> bool:
        """True while the incident waits for the alarm to be OK again."""
        return self.status in OPEN_STATUSES


@dataclass(frozen=True)
class Control:
    """The per-target item that serialises actions: version, last action, actions in the window."""

    version: int = 0
    last_action_at: float | None = None
    action_times: tuple[float, ...] = ()


def incident_id_for(notification: AlarmNotification) -> str:
    """The incident id of a transition: stable across redeliveries of the same transition."""
    digest = hashlib.sha256(notification.transition_key.encode()).hexdigest()
    return f"inc-{digest[:20]}"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _epoch_dt(epoch: float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float) -> dict[str, str]:
    return {"N": repr(float(value)) if not float(value).is_integer() else str(int(value))}


def _get_s(item: Item, name: str) -> str | None:
    value = item.get(name)
    return value["S"] if isinstance(value, dict) and "S" in value else None


def _get_n(item: Item, name: str) -> float | None:
    value = item.get(name)
    return float(value["N"]) if isinstance(value, dict) and "N" in value else None


def _get_dt_iso(item: Item, name: str) -> datetime | None:
    text = _get_s(item, name)
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def _get_dt_epoch(item: Item, name: str) -> datetime | None:
    epoch = _get_n(item, name)
    return _epoch_dt(epoch) if epoch is not None else None


def _incident_from_item(item: Item) -> Incident:
    transitions = []
    for entry in item.get("transitions", {}).get("L", []):
        fields = entry.get("M", {})
        when = _get_dt_iso(fields, "time")
        state = _get_s(fields, "state")
        if when is not None and state is not None:
            transitions.append(Transition(state, when))
    alarm_time = _get_dt_iso(item, "alarm_time")
    opened_at = _get_dt_epoch(item, "opened_at")
    return Incident(
        incident_id=_get_s(item, "incident_id") or "",
        sk=_get_s(item, "sk") or "",
        alarm_name=_get_s(item, "alarm_name") or "",
        alarm_arn=_get_s(item, "alarm_arn") or "",
        target=_get_s(item, "target") or "",
        status=_get_s(item, "status") or "NEW",
        alarm_time=alarm_time or _epoch_dt(0),
        opened_at=opened_at or _epoch_dt(0),
        transitions=tuple(transitions),
        decision=_get_s(item, "decision"),
        decision_code=_get_s(item, "decision_code"),
        reason=_get_s(item, "reason"),
        decided_at=_get_dt_epoch(item, "decided_at"),
        action=_get_s(item, "action"),
        action_at=_get_dt_epoch(item, "action_at"),
        previous_failure_rate=_get_s(item, "previous_failure_rate"),
        outcome=_get_s(item, "outcome"),
        ok_time=_get_dt_iso(item, "ok_time"),
        time_to_recover=_get_n(item, "time_to_recover"),
        claimed_by=_get_s(item, "claimed_by"),
        lease_expires_at=_get_n(item, "lease_expires_at"),
        takeovers=int(_get_n(item, "takeovers") or 0),
    )


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _transition(state: AlarmState | str, when: datetime) -> dict[str, Any]:
    return {"M": {"state": _s(state), "time": _s(_iso(when))}}


class Ledger:
    """Reads and conditional writes of the ledger table."""

    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self.table_name = table_name
        self._client = client

    def _call(self, operation: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._client, operation)(TableName=self.table_name, **kwargs)
        except ClientError as exc:
            if _code(exc) == "ConditionalCheckFailedException":
                raise
            raise LedgerUnavailable(f"ledger {operation} failed: {_code(exc)}: {exc}") from exc
        except BotoCoreError as exc:
            raise LedgerUnavailable(f"ledger {operation} failed: {exc}") from exc

    def _update(
        self, key: Item, update: str, condition: str, values: Item, names: Item | None = None
    ) -> bool:
        """Conditional UpdateItem; False when the condition did not hold."""
        kwargs: dict[str, Any] = {
            "Key": key,
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        if names:
            kwargs["ExpressionAttributeNames"] = names
        try:
            self._call("update_item", **kwargs)
        except ClientError:
            return False
        return True

    @staticmethod
    def _key(incident: Incident) -> Item:
        return {"pk": _s(INCIDENTS_PK), "sk": _s(incident.sk)}

    def get_incident(self, sk: str) -> Incident | None:
        """Read one incident by its sort key."""
        response = self._call("get_item", Key={"pk": _s(INCIDENTS_PK), "sk": _s(sk)}, ConsistentRead=True)
        item = response.get("Item")
        return _incident_from_item(item) if item else None

    def open_incident(self, notification: AlarmNotification, target: str, now: float) -> Incident:
        """Record the ALARM transition as a NEW incident, or return the one already recorded for it."""
        incident_id = incident_id_for(notification)
        sk = f"{_iso(notification.state_change_time)}#{incident_id}"
        alarm_epoch = notification.state_change_time.timestamp()
        item: Item = {
            "pk": _s(INCIDENTS_PK),
            "sk": _s(sk),
            "incident_id": _s(incident_id),
            "alarm_name": _s(notification.alarm_name),
            "alarm_arn": _s(notification.alarm_arn),
            "target": _s(target),
            "status": _s("NEW"),
            "alarm_time": _s(_iso(notification.state_change_time)),
            "alarm_epoch": _n(alarm_epoch),
            "opened_at": _n(now),
            "updated_at": _n(now),
            "transitions": {"L": [_transition(notification.new_state, notification.state_change_time)]},
            "expires_at": _n(int(now) + TTL_SECONDS),
        }
        try:
            self._call("put_item", Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError:
            existing = self.get_incident(sk)
            if existing is None:
                raise LedgerUnavailable(f"incident {incident_id} exists but cannot be read") from None
            return existing
        self._update(
            {"pk": _s(f"ALARM#{notification.alarm_arn}"), "sk": _s("LATEST")},
            "SET incident_sk = :sk, incident_id = :id, alarm_epoch = :epoch, expires_at = :exp",
            "attribute_not_exists(alarm_epoch) OR alarm_epoch < :epoch",
            {
                ":sk": _s(sk),
                ":id": _s(incident_id),
                ":epoch": _n(alarm_epoch),
                ":exp": _n(int(now) + TTL_SECONDS),
            },
        )
        created = self.get_incident(sk)
        if created is None:
            raise LedgerUnavailable(f"incident {incident_id} vanished after it was written")
        return created

    def latest_incident(self, alarm_arn: str) -> Incident | None:
        """The alarm's latest incident, whatever its status."""
        response = self._call(
            "get_item", Key={"pk": _s(f"ALARM#{alarm_arn}"), "sk": _s("LATEST")}, ConsistentRead=True
        )
        item = response.get("Item")
        sk = _get_s(item, "incident_sk") if item else None
        return self.get_incident(sk) if sk else None

    def read_control(self, target: str) -> Control:
        """Read the target's control item (version 0 when it does not exist yet)."""
        response = self._call(
            "get_item", Key={"pk": _s(f"TARGET#{target}"), "sk": _s("CONTROL")}, ConsistentRead=True
        )
        item = response.get("Item")
        if not item:
            return Control()
        times = tuple(float(entry["N"]) for entry in item.get("action_times", {}).get("L", []))
        return Control(
            version=int(_get_n(item, "version") or 0),
            last_action_at=_get_n(item, "last_action_at"),
            action_times=times,
        )

    def claim_action(
        self,
        incident: Incident,
        target: str,
        control: Control,
        keep_times: list[float],
        code: str,
        reason: str,
        now: float,
        *,
        owner: str,
        lease_expires_at: float,
    ) -> ClaimResult:
        """Atomically move the incident NEW → ACTING (leased to ``owner``) and control version v → v+1."""
        control_condition = "attribute_not_exists(version)" if control.version == 0 else "version = :v"
        control_values: Item = {":next": _n(control.version + 1), ":now": _n(now)}
        control_values[":times"] = {"L": [_n(t) for t in [*keep_times, now]]}
        if control.version:
            control_values[":v"] = _n(control.version)
        try:
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": self._key(incident),
                            "UpdateExpression": "SET #s = :acting, decision = :d, decision_code = :c, "
                            "reason = :r, decided_at = :now, updated_at = :now, claimed_by = :owner, "
                            "lease_expires_at = :lease",
                            "ConditionExpression": "#s = :new",
                            "ExpressionAttributeNames": {"#s": "status"},
                            "ExpressionAttributeValues": {
                                ":acting": _s("ACTING"),
                                ":new": _s("NEW"),
                                ":d": _s("act"),
                                ":c": _s(code),
                                ":r": _s(reason),
                                ":now": _n(now),
                                ":owner": _s(owner),
                                ":lease": _n(lease_expires_at),
                            },
                        }
                    },
                    {
                        "Update": {
                            "TableName": self.table_name,
                            "Key": {"pk": _s(f"TARGET#{target}"), "sk": _s("CONTROL")},
                            "UpdateExpression": "SET version = :next, last_action_at = :now, "
                            "action_times = :times",
                            "ConditionExpression": control_condition,
                            "ExpressionAttributeValues": control_values,
                        }
                    },
                ]
            )
        except ClientError as exc:
            if _code(exc) != "TransactionCanceledException":
                raise LedgerUnavailable(f"ledger claim failed: {_code(exc)}: {exc}") from exc
            reasons = exc.response.get("CancellationReasons") or []  # type: ignore[typeddict-item]
            codes = [str(r.get("Code", "")) for r in reasons]
            if codes and codes[0] == "ConditionalCheckFailed":
                return "already_decided"
            if len(codes) > 1 and codes[1] == "ConditionalCheckFailed":
                return "control_changed"
            raise LedgerUnavailable(f"ledger claim cancelled: {codes or exc}") from exc
        except BotoCoreError as exc:
            raise LedgerUnavailable(f"ledger claim failed: {exc}") from exc
        return "claimed"

    def record_decision(
        self,
        incident: Incident,
        status: str,
        kind: str,
        code: str,
        reason: str,
        now: float,
        *,
        expect: str = "NEW",
        owner: str | None = None,
    ) -> bool:
        """Record a decision that takes no action (``expect`` → ``status``); False if it lost a race.

        With ``owner``, the write also requires that ``owner`` still holds the action claim.
        """
        values: Item = {
            ":status": _s(status),
            ":expect": _s(expect),
            ":d": _s(kind),
            ":c": _s(code),
            ":r": _s(reason),
            ":now": _n(now),
        }
        condition = "#s = :expect"
        if owner is not None:
            condition += " AND claimed_by = :owner"
            values[":owner"] = _s(owner)
        return self._update(
            self._key(incident),
            "SET #s = :status, decision = :d, decision_code = :c, reason = :r, decided_at = :now, "
            "updated_at = :now",
            condition,
            values,
            {"#s": "status"},
        )

    def record_action(
        self,
        incident: Incident,
        previous_failure_rate: str | None,
        action_at: float,
        *,
        owner: str | None = None,
    ) -> bool:
        """ACTING → ACTED with what was changed; False if the incident moved on (e.g. already recovered).

        With ``owner``, the write also requires that ``owner`` still holds the action claim.
        """
        values: Item = {
            ":acted": _s("ACTED"),
            ":acting": _s("ACTING"),
            ":action": _s("UpdateFunctionConfiguration FAILURE_RATE=0"),
            ":at": _n(action_at),
            ":prev": _s(previous_failure_rate if previous_failure_rate is not None else ""),
        }
        condition = "#s = :acting"
        if owner is not None:
            condition += " AND claimed_by = :owner"
            values[":owner"] = _s(owner)
        return self._update(
            self._key(incident),
            "SET #s = :acted, #a = :action, action_at = :at, previous_failure_rate = :prev, updated_at = :at",
            condition,
            values,
            {"#s": "status", "#a": "action"},
        )

    def renew_lease(self, incident: Incident, owner: str, lease_expires_at: float, now: float) -> bool:
        """Extend ``owner``'s claim to ``lease_expires_at``; False if it no longer holds an open claim."""
        return self._update(
            self._key(incident),
            "SET lease_expires_at = :lease, updated_at = :now",
            "#s = :acting AND claimed_by = :owner AND attribute_not_exists(#a)",
            {":acting": _s("ACTING"), ":owner": _s(owner), ":lease": _n(lease_expires_at), ":now": _n(now)},
            {"#s": "status", "#a": "action"},
        )

    def take_over(self, incident: Incident, owner: str, lease_expires_at: float, now: float) -> bool:
        """Take over the expired claim ``incident`` was read with; False if anything changed since.

        The write is conditional on the holder and lease that were read (so of concurrent takers only one
        wins, and a holder that renewed keeps its claim), on the lease having expired, and on no outcome
        being recorded.
        """
        values: Item = {
            ":acting": _s("ACTING"),
            ":owner": _s(owner),
            ":lease": _n(lease_expires_at),
            ":now": _n(now),
            ":one": _n(1),
            ":zero": _n(0),
        }
        condition = "#s = :acting AND attribute_not_exists(#a) AND "
        if incident.claimed_by is None:
            condition += "attribute_not_exists(claimed_by) AND attribute_not_exists(lease_expires_at)"
        else:
            condition += (
                "claimed_by = :held_by AND lease_expires_at = :held_until AND lease_expires_at <= :now"
            )
            values[":held_by"] = _s(incident.claimed_by)
            values[":held_until"] = _n(incident.lease_expires_at or 0.0)
        return self._update(
            self._key(incident),
            "SET claimed_by = :owner, lease_expires_at = :lease, updated_at = :now, "
            "takeovers = if_not_exists(takeovers, :zero) + :one",
            condition,
            values,
            {"#s": "status", "#a": "action"},
        )

    def mark_unverified(self, incident: Incident, reason: str, now: float) -> bool:
        """ACTED → UNVERIFIED after the verify deadline passed."""
        return self._update(
            self._key(incident),
            "SET #s = :unverified, outcome = :r, updated_at = :now",
            "#s = :acted",
            {":unverified": _s("UNVERIFIED"), ":acted": _s("ACTED"), ":r": _s(reason), ":now": _n(now)},
            {"#s": "status"},
        )

    def close(self, incident: Incident, ok_time: datetime, now: float, via: str = "") -> float | None:
        """Mark an open incident RECOVERED at ``ok_time``; return the time to recover, or None if not open."""
        ttr = max(0.0, (ok_time - incident.alarm_time).total_seconds())
        closed = self._update(
            self._key(incident),
            "SET #s = :recovered, ok_time = :ok, time_to_recover = :ttr, updated_at = :now, outcome = :via, "
            "transitions = list_append(if_not_exists(transitions, :empty), :ok_transition)",
            "#s IN (:s1, :s2, :s3)",
            {
                ":recovered": _s("RECOVERED"),
                ":via": _s(f"recovered ({via})" if via else "recovered"),
                ":ok": _s(_iso(ok_time)),
                ":ttr": _n(round(ttr, 3)),
                ":now": _n(now),
                ":empty": {"L": []},
                ":ok_transition": {"L": [_transition("OK", ok_time)]},
                ":s1": _s(OPEN_STATUSES[0]),
                ":s2": _s(OPEN_STATUSES[1]),
                ":s3": _s(OPEN_STATUSES[2]),
            },
            {"#s": "status"},
        )
        return ttr if closed else None

    def recent(self, limit: int) -> list[Incident]:
        """Up to ``limit`` incidents, newest alarm first."""
        response = self._call(
            "query",
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": _s(INCIDENTS_PK)},
            ScanIndexForward=False,
            Limit=limit,
        )
        return [_incident_from_item(item) for item in response.get("Items", [])]

    def add_transition(self, incident: Incident, state: AlarmState, when: datetime, now: float) -> None:
        """Append a non-closing alarm transition (e.g. INSUFFICIENT_DATA) to an incident."""
        self._update(
            self._key(incident),
            "SET transitions = list_append(if_not_exists(transitions, :empty), :t), updated_at = :now",
            "attribute_exists(pk)",
            {":empty": {"L": []}, ":t": {"L": [_transition(state, when)]}, ":now": _n(now)},
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
