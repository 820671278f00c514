"""The fleet's rows: protected functions grouped from registry entries, with open incidents, last actions."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

from rich.console import Console

from healer.incident import StepRecord
from healer.registry import KillSwitch
from selfheal.cli.status import render_fleet
from selfheal.loop.protected import ProtectedAlarm, ProtectedFunctions, fleet_rows

T0 = 1_800_000_000.0


def _protected(*rows: ProtectedAlarm) -> ProtectedFunctions:
    return ProtectedFunctions("/selfheal/unit", KillSwitch(False, "kill switch off"), list(rows))


def _incident(
    incident_id: str,
    alarm: str,
    status: str,
    *steps: StepRecord,
    target: str = "",
    action: str | None = None,
    action_at: float | None = None,
) -> Any:
    return SimpleNamespace(
        incident_id=incident_id,
        alarm_name=alarm,
        target=target,
        status=status,
        decision="act",
        reason="why not",
        steps=steps,
        action=action,
        action_at=None if action_at is None else datetime.fromtimestamp(action_at, UTC),
    )


ORDERS_ERRORS = ProtectedAlarm("orders-errors", "orders", "errors", "auto", ("set_env",), alarm_state="ALARM")
ORDERS_SLOW = ProtectedAlarm("orders-slow", "orders", "duration", "auto", ("restart",), alarm_state="OK")
PAYMENTS = ProtectedAlarm("payments-errors", "payments", "errors", "approve", alarm_state=None)
BROKEN = ProtectedAlarm("zz-broken", problem="schema_version must be 1, got None")


def test_several_alarms_of_one_function_make_one_row_with_each_state() -> None:
    """Two alarms of `orders` are one row listing both states; a function per row, sorted by name."""
    rows = fleet_rows(_protected(PAYMENTS, ORDERS_ERRORS, ORDERS_SLOW))
    assert [row.function_name for row in rows] == ["orders", "payments"]
    orders = rows[0].as_json()
    assert orders["modes"] == ["auto"]
    assert [(a["name"], a["state"]) for a in orders["alarms"]] == [
        ("orders-errors", "ALARM"),
        ("orders-slow", "OK"),
    ]
    assert rows[1].as_json()["alarms"] == [
        {"name": "payments-errors", "signal": "errors", "state": None, "mode": "approve"}
    ]


def test_the_last_action_is_the_newest_step_of_the_functions_incidents() -> None:
    """The newest recorded step wins across incidents; another function's steps are not its own."""
    older = _incident(
        "inc-1",
        "orders-errors",
        "RECOVERED",
        StepRecord(0, "set_env", T0 + 10, "applied", "FAILURE_RATE 0.5 → 0"),
    )
    newer = _incident(
        "inc-2",
        "orders-slow",
        "ACTED",
        StepRecord(0, "set_env", T0 + 100, "applied", "again"),
        StepRecord(1, "restart", T0 + 200, "applied", "new environments"),
    )
    theirs = _incident(
        "inc-3", "payments-errors", "ACTED", StepRecord(0, "rollback", T0 + 900, "applied", "")
    )
    rows = {
        row.function_name: row
        for row in fleet_rows(_protected(ORDERS_ERRORS, ORDERS_SLOW, PAYMENTS), [theirs, newer, older])
    }
    action = rows["orders"].last_action
    assert action is not None
    assert (action.incident_id, action.action, action.status, action.at) == (
        "inc-2",
        "restart",
        "applied",
        T0 + 200,
    )
    assert action.detail == "new environments"
    payments = rows["payments"].last_action
    assert payments is not None and payments.action == "rollback"


def test_an_incident_without_steps_shows_its_recorded_action() -> None:
    """A ledger item written before steps were recorded still says what was done, and when."""
    legacy = _incident("inc-old", "orders-errors", "RECOVERED", action="set_env FAILURE_RATE=0", action_at=T0)
    [row] = fleet_rows(_protected(ORDERS_ERRORS), [legacy])
    assert row.last_action is not None
    assert (row.last_action.action, row.last_action.at, row.last_action.status) == (
        "set_env FAILURE_RATE=0",
        T0,
        "recorded",
    )


def test_the_open_incident_is_the_newest_open_one_and_closed_ones_are_not_open() -> None:
    """Incidents come newest first: the first open one is shown, with how many are open in all."""
    incidents = [
        _incident("inc-new", "orders-slow", "AWAITING_APPROVAL"),
        _incident("inc-done", "orders-errors", "RECOVERED"),
        _incident("inc-acted", "orders-errors", "ACTED"),
    ]
    [orders, payments] = fleet_rows(_protected(ORDERS_ERRORS, ORDERS_SLOW, PAYMENTS), incidents)
    assert orders.open_incident is not None
    assert (orders.open_incident.incident_id, orders.open_incident.status) == ("inc-new", "AWAITING_APPROVAL")
    assert orders.open_count == 2
    assert payments.open_incident is None and payments.open_count == 0 and payments.last_action is None


def test_an_incident_of_an_unregistered_alarm_is_matched_by_its_target() -> None:
    """An alarm no longer registered still counts for the function the incident names as its target."""
    gone = _incident("inc-x", "orders-old-alarm", "ACTED", target="orders")
    stranger = _incident("inc-y", "other-errors", "ACTED", target="other")
    rows = fleet_rows(_protected(ORDERS_ERRORS), [stranger, gone])
    assert [row.function_name for row in rows] == ["orders"]
    assert rows[0].open_incident is not None and rows[0].open_incident.incident_id == "inc-x"


def test_a_broken_registry_entry_is_a_row_of_its_own_naming_its_problem() -> None:
    """An entry that does not parse is listed after the functions, with no function and its problem."""
    rows = fleet_rows(_protected(BROKEN, ORDERS_ERRORS))
    assert [row.function_name for row in rows] == ["orders", None]
    broken = rows[1].as_json()
    assert broken["problem"] == "schema_version must be 1, got None"
    assert broken["alarms"][0]["name"] == "zz-broken" and broken["modes"] == []


def test_status_prints_one_fleet_row_per_function() -> None:
    """The text fleet table: one row per function with its alarms' states, open incident and last action."""
    incidents = [
        _incident("inc-2", "orders-slow", "ACTED", StepRecord(0, "restart", T0, "applied", "")),
        _incident("inc-1", "orders-errors", "ACTED"),
    ]
    rows = fleet_rows(_protected(ORDERS_ERRORS, ORDERS_SLOW, PAYMENTS, BROKEN), incidents)
    out = io.StringIO()
    render_fleet(rows, Console(file=out, width=300, highlight=False))
    text = out.getvalue()
    lines = [line for line in text.splitlines() if line.startswith("│")]
    orders = next(line for line in lines if "orders " in line or "│ orders" in line)
    assert "orders-errors ALARM" in orders and "inc-2 ACTED (+1 more open)" in orders
    assert "restart applied at 2027-01-15 08:00:00 UTC (inc-2)" in orders
    assert "orders-slow OK" in text
    payments = next(line for line in lines if "payments" in line)
    assert "approve" in payments and "payments-errors not found" in payments
    assert "invalid entry: schema_version must be 1" in text
