"""Action claims: the per-target control item and the incident's leased claim to act.

Claiming an action is one transaction of two updates: the incident ``NEW`` → ``ACTING`` (leased to the
claiming run) and the target's control item ``version`` v → v+1 with the action's time, so the cooldown
and the cap hold across concurrent invocations. The claim is a lease: ``claimed_by`` names the holding run,
``lease_expires_at`` (cloud time) when it lapses. The holder renews it before every
UpdateFunctionConfiguration attempt; a redelivery after the lease expired takes the claim over with one
conditional write on the holder and lease it saw (one taker wins), without touching the control item (the
claim is already counted in the cooldown and the cap). The item layout is in ``healer.ledger``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from botocore.exceptions import BotoCoreError, ClientError

from healer.clients import error_code
from healer.decisions import Decision, IncidentStatus
from healer.incident import Incident, incident_key
from healer.table import Item, LedgerUnavailable, Table, get_n, n, s

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["ClaimResult", "Claims", "Control", "control_key"]

ClaimResult = Literal["claimed", "already_decided", "control_changed"]


@dataclass(frozen=True)
class Control:
    """The per-target item that serialises actions: version, last action, actions in the window."""

    version: int = 0
    last_action_at: float | None = None
    action_times: tuple[float, ...] = ()


def control_key(target: str) -> Item:
    """The key of ``target``'s control item."""
    return {"pk": s(f"TARGET#{target}"), "sk": s("CONTROL")}


class Claims:
    """Reads of the control item and the conditional writes of action claims."""

    def __init__(self, table_name: str, client: DynamoDBClient) -> None:
        self._table = Table(table_name, client)

    def read_control(self, target: str) -> Control:
        """Read the target's control item (version 0 when it does not exist yet)."""
        response = self._table.call("get_item", Key=control_key(target), ConsistentRead=True)
        item = response.get("Item")
        if not item:
            return Control()
        times = tuple(float(entry["N"]) for entry in item.get("action_times", {}).get("L", []))
        return Control(
            version=int(get_n(item, "version") or 0),
            last_action_at=get_n(item, "last_action_at"),
            action_times=times,
        )

    def claim_action(
        self,
        incident: Incident,
        target: str,
        control: Control,
        keep_times: list[float],
        decision: Decision,
        now: float,
        *,
        owner: str,
        lease_expires_at: float,
    ) -> ClaimResult:
        """Atomically move the incident NEW → ACTING (leased to ``owner``) and control version v → v+1."""
        control_condition = "attribute_not_exists(version)" if control.version == 0 else "version = :v"
        control_values: Item = {":next": n(control.version + 1), ":now": n(now)}
        control_values[":times"] = {"L": [n(t) for t in [*keep_times, now]]}
        if control.version:
            control_values[":v"] = n(control.version)
        try:
            self._table.client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self._table.name,
                            "Key": incident_key(incident.sk),
                            "UpdateExpression": "SET #s = :acting, decision = :d, decision_code = :c, "
                            "reason = :r, decided_at = :now, updated_at = :now, claimed_by = :owner, "
                            "lease_expires_at = :lease",
                            "ConditionExpression": "#s = :new",
                            "ExpressionAttributeNames": {"#s": "status"},
                            "ExpressionAttributeValues": {
                                ":acting": s(IncidentStatus.ACTING),
                                ":new": s(IncidentStatus.NEW),
                                ":d": s(decision.kind),
                                ":c": s(decision.code),
                                ":r": s(decision.reason),
                                ":now": n(now),
                                ":owner": s(owner),
                                ":lease": n(lease_expires_at),
                            },
                        }
                    },
                    {
                        "Update": {
                            "TableName": self._table.name,
                            "Key": control_key(target),
                            "UpdateExpression": "SET version = :next, last_action_at = :now, "
                            "action_times = :times",
                            "ConditionExpression": control_condition,
                            "ExpressionAttributeValues": control_values,
                        }
                    },
                ]
            )
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise LedgerUnavailable(f"ledger claim failed: {error_code(exc)}: {exc}") from exc
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

    def renew_lease(self, incident: Incident, owner: str, lease_expires_at: float, now: float) -> bool:
        """Extend ``owner``'s claim to ``lease_expires_at``; False if it no longer holds an open claim."""
        return self._table.update(
            incident_key(incident.sk),
            "SET lease_expires_at = :lease, updated_at = :now",
            "#s = :acting AND claimed_by = :owner AND attribute_not_exists(#a)",
            {
                ":acting": s(IncidentStatus.ACTING),
                ":owner": s(owner),
                ":lease": n(lease_expires_at),
                ":now": n(now),
            },
            {"#s": "status", "#a": "action"},
        )

    def take_over(self, incident: Incident, owner: str, lease_expires_at: float, now: float) -> bool:
        """Take over the expired claim ``incident`` was read with; False if anything changed since.

        The write is conditional on the holder and lease that were read (so of concurrent takers only one
        wins, and a holder that renewed keeps its claim), on the lease having expired, and on no outcome
        being recorded.
        """
        values: Item = {
            ":acting": s(IncidentStatus.ACTING),
            ":owner": s(owner),
            ":lease": n(lease_expires_at),
            ":now": n(now),
            ":one": n(1),
            ":zero": n(0),
        }
        condition = "#s = :acting AND attribute_not_exists(#a) AND "
        if incident.claimed_by is None:
            condition += "attribute_not_exists(claimed_by) AND attribute_not_exists(lease_expires_at)"
        else:
            condition += (
                "claimed_by = :held_by AND lease_expires_at = :held_until AND lease_expires_at <= :now"
            )
            values[":held_by"] = s(incident.claimed_by)
            values[":held_until"] = n(incident.lease_expires_at or 0.0)
        return self._table.update(
            incident_key(incident.sk),
            "SET claimed_by = :owner, lease_expires_at = :lease, updated_at = :now, "
            "takeovers = if_not_exists(takeovers, :zero) + :one",
            condition,
            values,
            {"#s": "status", "#a": "action"},
        )
