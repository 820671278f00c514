"""Action claims: the per-function control item, the fleet item, and the incident's leased claim to act.

Claiming a step is one transaction of three updates: the incident → ``ACTING`` (leased to the claiming
run), the function's control item ``version`` v → v+1 with the action's time, and the fleet item
``version`` w → w+1 with the incident in flight and the action's time, so the cooldown, the cap and the
fleet rails hold across concurrent invocations. The claim is a lease: ``claimed_by`` names the holding run,
``lease_expires_at`` (cloud time) when it lapses. The holder renews it before every
UpdateFunctionConfiguration attempt; a redelivery after the lease expired takes the claim over with one
conditional write on the holder and lease it saw (one taker wins), without touching the control item (the
claim is already counted in the cooldown and the cap). The item layout is in ``healer.ledger``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from botocore.exceptions import BotoCoreError, ClientError

from healer.clients import error_code
from healer.decisions import Decision, IncidentStatus
from healer.incident import Incident, incident_key
from healer.lifecycle import require
from healer.table import Item, LedgerUnavailable, Table, get_n, n, s

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = ["FLEET_KEY", "ClaimResult", "Claims", "Control", "Fleet", "control_key"]

ClaimResult = Literal["claimed", "already_decided", "control_changed", "fleet_changed"]

FLEET_KEY: Item = {"pk": s("FLEET"), "sk": s("CONTROL")}


@dataclass(frozen=True)
class Control:
    """The per-function item that serialises actions: version, last action, actions in the window."""

    version: int = 0
    last_action_at: float | None = None
    action_times: tuple[float, ...] = ()


@dataclass(frozen=True)
class Fleet:
    """The fleet-wide item: version, incidents in flight (id → lease end) and the last hour's actions."""

    version: int = 0
    in_flight: Mapping[str, float] = field(default_factory=dict)
    action_times: tuple[float, ...] = ()

    def in_flight_at(self, now: float, excluding: str | None = None) -> list[str]:
        """The incidents still in flight at ``now`` (their lease not ended), ``excluding`` one."""
        return sorted(i for i, until in self.in_flight.items() if until > now and i != excluding)


def control_key(target: str) -> Item:
    """The key of ``target``'s control item."""
    return {"pk": s(f"TARGET#{target}"), "sk": s("CONTROL")}


def _versioned(version: int, values: Item, prefix: str) -> str:
    if version == 0:
        return "attribute_not_exists(version)"
    values[f":{prefix}v"] = n(version)
    return f"version = :{prefix}v"


class Claims:
    """Reads of the control and fleet items and the conditional writes of action claims."""

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

    def read_fleet(self) -> Fleet:
        """Read the fleet item (version 0 when it does not exist yet)."""
        response = self._table.call("get_item", Key=FLEET_KEY, ConsistentRead=True)
        item = response.get("Item")
        if not item:
            return Fleet()
        in_flight = {k: float(v["N"]) for k, v in item.get("in_flight", {}).get("M", {}).items()}
        times = tuple(float(entry["N"]) for entry in item.get("action_times", {}).get("L", []))
        return Fleet(int(get_n(item, "version") or 0), in_flight, times)

    def claim_action(
        self,
        incident: Incident,
        target: str,
        control: Control,
        keep_times: list[float],
        fleet: Fleet,
        fleet_keep_times: list[float],
        decision: Decision,
        now: float,
        *,
        owner: str,
        lease_expires_at: float,
        in_flight_until: float,
        step: int,
        expect: IncidentStatus = IncidentStatus.NEW,
    ) -> ClaimResult:
        """One transaction: the incident ``expect`` → ACTING (step ``step``, leased to ``owner``), the
        function's control version v → v+1 and the fleet's version w → w+1 with the incident in flight."""
        require(expect, IncidentStatus.ACTING)
        control_values: Item = {":next": n(control.version + 1), ":now": n(now)}
        control_values[":times"] = {"L": [n(t) for t in [*keep_times, now]]}
        control_condition = _versioned(control.version, control_values, "c")
        fleet_values: Item = {
            ":next": n(fleet.version + 1),
            ":times": {"L": [n(t) for t in [*fleet_keep_times, now]]},
            ":flight": {
                "M": {
                    **{
                        i: n(fleet.in_flight[i])
                        for i in fleet.in_flight_at(now, excluding=incident.incident_id)
                    },
                    incident.incident_id: n(in_flight_until),
                }
            },
        }
        fleet_condition = _versioned(fleet.version, fleet_values, "f")
        try:
            self._table.client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": self._table.name,
                            "Key": incident_key(incident.sk),
                            "UpdateExpression": "SET #s = :acting, decision = :d, decision_code = :c, "
                            "reason = :r, decided_at = :now, updated_at = :now, claimed_by = :owner, "
                            "lease_expires_at = :lease, step = :step",
                            "ConditionExpression": "#s = :expect",
                            "ExpressionAttributeNames": {"#s": "status"},
                            "ExpressionAttributeValues": {
                                ":acting": s(IncidentStatus.ACTING),
                                ":expect": s(expect),
                                ":d": s(decision.kind),
                                ":c": s(decision.code),
                                ":r": s(decision.reason),
                                ":now": n(now),
                                ":owner": s(owner),
                                ":lease": n(lease_expires_at),
                                ":step": n(step),
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
                    {
                        "Update": {
                            "TableName": self._table.name,
                            "Key": FLEET_KEY,
                            "UpdateExpression": "SET version = :next, action_times = :times, "
                            "in_flight = :flight",
                            "ConditionExpression": fleet_condition,
                            "ExpressionAttributeValues": fleet_values,
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
            if len(codes) > 2 and codes[2] == "ConditionalCheckFailed":
                return "fleet_changed"
            raise LedgerUnavailable(f"ledger claim cancelled: {codes or exc}") from exc
        except BotoCoreError as exc:
            raise LedgerUnavailable(f"ledger claim failed: {exc}") from exc
        return "claimed"

    def release(self, incident_id: str, now: float) -> bool:
        """Take the incident out of the fleet's in-flight set (its step ended); False if it was not in it.

        The version moves too, so a concurrent claim that read the set with this incident in it re-reads.
        """
        return self._table.update(
            FLEET_KEY,
            "SET version = version + :one, updated_at = :now REMOVE in_flight.#id",
            "attribute_exists(in_flight.#id)",
            {":one": n(1), ":now": n(now)},
            {"#id": incident_id},
        )

    def renew_lease(self, incident: Incident, owner: str, lease_expires_at: float, now: float) -> bool:
        """Extend ``owner``'s claim to ``lease_expires_at``; False if it no longer holds an open claim."""
        return self._table.update(
            incident_key(incident.sk),
            "SET lease_expires_at = :lease, updated_at = :now",
            "#s = :acting AND claimed_by = :owner",
            {
                ":acting": s(IncidentStatus.ACTING),
                ":owner": s(owner),
                ":lease": n(lease_expires_at),
                ":now": n(now),
            },
            {"#s": "status"},
        )

    def take_over(self, incident: Incident, owner: str, lease_expires_at: float, now: float) -> bool:
        """Take over the expired claim ``incident`` was read with; False if anything changed since.

        The write is conditional on the holder and lease that were read (so of concurrent takers only one
        wins, and a holder that renewed keeps its claim), on the lease having expired, and on the step's
        outcome not being recorded (the incident is still ``ACTING``).
        """
        values: Item = {
            ":acting": s(IncidentStatus.ACTING),
            ":owner": s(owner),
            ":lease": n(lease_expires_at),
            ":now": n(now),
            ":one": n(1),
            ":zero": n(0),
        }
        condition = "#s = :acting AND "
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
            {"#s": "status"},
        )
