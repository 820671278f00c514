"""The fleet from the healer's own records (moto): `selfheal status` fleet rows and a dashboard drill-down.

Two protected functions are registered as the protect module does (the fragile one, and `orders` with two
alarms), the real healer handles an ALARM of `orders`, and a registry entry is broken; then the status
report and the dashboard's collector read it all back through the public APIs.
"""

from __future__ import annotations

from typing import Any

import pytest
from healer_fixtures import REGISTRY, Sandbox, alarm_message_for, healer_sandbox, sns_event

from healer.registry import Protection
from selfheal.cli.status import collect_status, status_json
from selfheal.dashboard.collector import Collector
from selfheal.dashboard.fleet import FleetSource
from selfheal.loop.deployment import AwsTarget, Deployment
from selfheal.loop.reader import LoopReader


@pytest.fixture
def fleet(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The sandbox after the healer acted on `orders`; yields (sandbox, orders' incident id)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with healer_sandbox() as box:
        box.add_target("orders", "orders-errors")
        box.register(Protection("orders-slow", "orders", ("set_env",), signal="duration", set_env={"A": "1"}))
        box.aws["ssm"].put_parameter(Name=f"{REGISTRY}/alarms/zz-broken", Value="{not json", Type="String")
        message = alarm_message_for("orders", "orders-errors", "alarm_fragile_alarm.json", box.clock.now())
        [summary] = box.healer().handle_event(sns_event(message))["results"]
        yield box, summary["incident_id"]


def test_status_shows_each_function_once_with_its_alarms_open_incident_and_action(
    fleet: tuple[Sandbox, str],
) -> None:
    """`orders` is one row with both alarms' states, its open incident and the set_env the healer ran; the
    fragile function has neither."""
    box, incident_id = fleet
    [incident] = [i for i in box.incidents() if i.incident_id == incident_id]
    report = status_json(collect_status(Deployment.from_prefix("selfheal"), AwsTarget(None, "us-east-1")))
    rows = {row["function"]: row for row in report["fleet"]}
    assert set(rows) == {"orders", "selfheal-fragile", None}
    orders = rows["orders"]
    assert [(a["name"], a["state"]) for a in orders["alarms"]] == [
        ("orders-errors", "ALARM"),
        ("orders-slow", None),
    ]
    assert orders["modes"] == ["auto"]
    action = orders["last_action"]
    assert action["incident"] == incident_id and action["action"] == "set_env"
    assert action["at"] == incident.steps[-1].at and action["status"] == incident.steps[-1].status
    # The alarm stays ALARM in moto, so verification timed out: the incident is UNVERIFIED, still open.
    assert orders["open_incident"]["id"] == incident_id and orders["open_incidents"] == 1
    assert orders["open_incident"]["status"] == incident.status == "UNVERIFIED"
    assert (
        rows["selfheal-fragile"]["last_action"] is None and rows["selfheal-fragile"]["open_incident"] is None
    )
    assert "not JSON" in rows[None]["problem"]


def test_the_dashboard_drills_down_into_a_function_of_the_fleet(fleet: tuple[Sandbox, str]) -> None:
    """The collector's fleet lists both functions; watching `orders` adds its charts: its errors alarm,
    its FAILURE_RATE after the healer's set_env, and its incident only."""
    box, incident_id = fleet
    target = AwsTarget(None, "us-east-1")
    deployment = Deployment.from_prefix("selfheal")
    collector = Collector(
        LoopReader(target, deployment), now=box.clock.now, fleet=FleetSource(target, deployment)
    )
    first = collector.sample()
    assert sorted(str(row["function"]) for row in first["fleet"]["functions"]) == [
        "None",
        "orders",
        "selfheal-fragile",
    ]
    assert incident_id not in [i["id"] for i in first["incidents"]]
    assert collector.watch("orders")
    orders = collector.sample()["details"]["orders"]
    assert orders["alarm"]["name"] == "orders-errors" and orders["alarm"]["state"] == "ALARM"
    assert orders["function"]["FAILURE_RATE"] == box.function_env("orders")["FAILURE_RATE"] == "0"
    assert [i["id"] for i in orders["incidents"]] == [incident_id]
