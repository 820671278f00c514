"""The dashboard's fleet: the snapshot's ``fleet``, drill-downs watched on demand, the read-only endpoints."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from werkzeug.test import Client

from healer.incident import StepRecord
from healer.registry import KillSwitch, RegistryUnavailable
from selfheal.dashboard.collector import Collector
from selfheal.dashboard.server import DashboardApp, view_of
from selfheal.loop.deployment import Deployment
from selfheal.loop.protected import ProtectedAlarm, ProtectedFunctions
from selfheal.loop.reader import AlarmInfo
from selfheal.loop.records import Datapoint

T0 = 1_800_000_000.0
PORT = 8765
DEPLOYMENT = Deployment.from_prefix("selfheal")


def _incident(incident_id: str, alarm: str, target: str, status: str, *steps: StepRecord) -> Any:
    return SimpleNamespace(
        incident_id=incident_id,
        alarm_name=alarm,
        target=target,
        status=status,
        alarm_time=datetime.fromtimestamp(T0 + 60, UTC),
        decision="act",
        reason="errors",
        decided_at=None,
        action=None,
        action_at=None,
        ok_time=None,
        previous_failure_rate=None,
        time_to_recover=None,
        transitions=(),
        steps=steps,
    )


class FakeReader:
    """One function's loop; counts the ledger queries."""

    ledger: list[Any] = []
    ledger_reads = 0

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment
        self.target = SimpleNamespace(description="hand-made data")

    def alarm(self) -> AlarmInfo:
        return AlarmInfo(self.deployment.alarm_name, "ALARM", "boom", 1.0, 60, 1, 1, T0 + 60)

    def ledger_incidents(self, limit: int) -> list[Any]:
        FakeReader.ledger_reads += 1
        return FakeReader.ledger

    def metrics(self, start: float, end: float, period: int) -> tuple[list[Datapoint], list[Datapoint]]:
        return [Datapoint(T0, 10.0)], [Datapoint(T0, 1.0)]

    def onset_errors(self, incident: Any, period: int) -> list[Datapoint]:
        return []

    def function_variables(self) -> dict[str, str]:
        return {"FAILURE_RATE": "0.5" if self.deployment.fragile_function_name == "orders" else "0"}

    def state_changes(self, start: float, end: float) -> list[Any]:
        return []


class FakeFleet:
    """The registry: the deployment's function, `orders` with two alarms, a broken entry."""

    def __init__(self) -> None:
        self.broken = False
        self.readers: list[tuple[str, str]] = []

    def read(self, incidents: list[Any]) -> ProtectedFunctions:
        if self.broken:
            raise RegistryUnavailable("GetParametersByPath failed")
        rows = [
            ProtectedAlarm("selfheal-fragile-errors", "selfheal-fragile", "errors", "auto", alarm_state="OK"),
            ProtectedAlarm("orders-slow", "orders", "duration", "observe", alarm_state="OK"),
            ProtectedAlarm("orders-errors", "orders", "errors", "observe", alarm_state="ALARM"),
            ProtectedAlarm("zz-broken", problem="not JSON"),
        ]
        return ProtectedFunctions("/selfheal/selfheal", KillSwitch(False, "kill switch off"), rows)

    def reader_for(self, function: str, alarm: str) -> FakeReader:
        self.readers.append((function, alarm))
        return FakeReader(replace(DEPLOYMENT, fragile_function_name=function, alarm_name=alarm))


@pytest.fixture
def fleet() -> FakeFleet:
    FakeReader.ledger = [
        _incident(
            "inc-orders", "orders-errors", "orders", "ACTED", StepRecord(0, "set_env", T0 + 70, "applied", "")
        ),
        _incident("inc-own", "selfheal-fragile-errors", "selfheal-fragile", "RECOVERED"),
    ]
    FakeReader.ledger_reads = 0
    return FakeFleet()


def _collector(fleet: FakeFleet) -> Collector:
    return Collector(FakeReader(DEPLOYMENT), now=lambda: T0 + 600, fleet=fleet)  # type: ignore[arg-type]


def test_the_snapshot_lists_the_fleet_and_keeps_each_functions_incidents_apart(fleet: FakeFleet) -> None:
    """The fleet has a row per function (with the alarm its charts draw); the deployment's own charts show
    only its own incidents."""
    snap = _collector(fleet).sample()
    rows = {row["function"]: row for row in snap["fleet"]["functions"]}
    assert set(rows) == {"orders", "selfheal-fragile", None}
    assert rows["orders"]["chart_alarm"] == "orders-errors" and rows["orders"]["modes"] == ["observe"]
    assert rows["orders"]["last_action"]["action"] == "set_env"
    assert rows[None]["problem"] == "not JSON"
    assert snap["fleet"]["focus"] == "selfheal-fragile" and snap["details"] == {}
    assert [i["id"] for i in snap["incidents"]] == ["inc-own"]


def test_a_watched_function_gets_its_own_charts_from_the_same_ledger_read(fleet: FakeFleet) -> None:
    """Drilling into `orders` reads its errors alarm and metrics; still one ledger query per refresh."""
    collector = _collector(fleet)
    collector.sample()
    assert collector.watch("orders") is True
    assert collector.watch("nobody") is False and collector.watch("zz-broken") is False
    before = FakeReader.ledger_reads
    snap = collector.sample()
    assert FakeReader.ledger_reads == before + 1
    orders = snap["details"]["orders"]
    assert fleet.readers == [("orders", "orders-errors")]
    assert orders["names"]["fragile"] == "orders" and orders["alarm"]["name"] == "orders-errors"
    assert [i["id"] for i in orders["incidents"]] == ["inc-orders"]
    assert orders["function"] == {"FAILURE_RATE": "0.5"}
    shown = view_of(snap, "orders")
    assert (
        shown["names"]["fragile"] == "orders" and shown["fleet"] == snap["fleet"] and "details" not in shown
    )
    assert view_of(snap, None)["names"]["fragile"] == "selfheal-fragile"


def test_an_unreadable_registry_is_the_fleets_error_and_the_charts_still_show(fleet: FakeFleet) -> None:
    """A registry that cannot be read leaves the fleet empty with its reason; nothing can be drilled into."""
    fleet.broken = True
    collector = _collector(fleet)
    snap = collector.sample()
    assert snap["fleet"]["functions"] == [] and "GetParametersByPath failed" in snap["fleet"]["error"]
    assert snap["alarm"]["state"] == "ALARM" and collector.watch("orders") is False


class FakeCollector:
    """The latest snapshot has `orders`' charts; only protected functions can be watched."""

    stopped = False

    def __init__(self) -> None:
        detail = {"ready": True, "names": {"fragile": "orders"}, "alarm": {"state": "ALARM"}}
        self.snapshot = {
            "version": 3,
            "ready": True,
            "names": {"fragile": "selfheal-fragile"},
            "fleet": {"focus": "selfheal-fragile", "functions": []},
            "details": {"orders": detail},
        }
        self.watched: list[str] = []

    def latest(self) -> dict[str, Any]:
        return self.snapshot

    def watch(self, function: str) -> bool:
        self.watched.append(function)
        return function in ("orders", "payments")

    def wait(self, after_version: int, timeout: float) -> dict[str, Any] | None:
        self.stopped = True
        return None


def _get(app: DashboardApp, path: str, host: str = f"127.0.0.1:{PORT}") -> Any:
    return Client(app).get(path, headers={"Host": host})


@pytest.fixture
def app() -> DashboardApp:
    dashboard = DashboardApp(FakeCollector(), SimpleNamespace())  # type: ignore[arg-type]
    dashboard.port = PORT
    return dashboard


def test_the_snapshot_of_a_protected_function_is_served(app: DashboardApp) -> None:
    """`?function=orders` answers `orders`' charts with the fleet; one not read yet says it is loading."""
    response = _get(app, "/api/snapshot?function=orders")
    assert response.status_code == 200
    body = json.loads(response.get_data())
    assert body["names"]["fragile"] == "orders" and body["version"] == 3 and "details" not in body
    loading = json.loads(_get(app, "/api/snapshot?function=payments").get_data())
    assert loading == {
        "version": 3,
        "fleet": {"focus": "selfheal-fragile", "functions": []},
        "ready": False,
        "loading": "payments",
    }


@pytest.mark.parametrize(
    ("query", "status", "message"),
    [
        ("function=nobody", 404, "function nobody is not protected"),
        ("function=%3Cscript%3E", 400, "function must be a Lambda function name"),
        ("function=" + "a" * 65, 400, "function must be a Lambda function name"),
    ],
)
def test_a_function_that_cannot_be_shown_is_a_clear_refusal(
    app: DashboardApp, query: str, status: int, message: str
) -> None:
    """Unknown functions are 404, names Lambda would refuse 400, both with a one-line message."""
    for path in ("/api/snapshot", "/api/events"):
        response = _get(app, f"{path}?{query}")
        assert response.status_code == status
        assert json.loads(response.get_data())["message"].startswith(message)


def test_the_fleet_endpoints_check_the_host_and_are_read_only(app: DashboardApp) -> None:
    """A foreign Host (DNS rebinding) is refused before anything is watched; POST is not allowed."""
    response = _get(app, "/api/snapshot?function=orders", host="evil.example:8765")
    assert response.status_code == 403
    assert app.collector.watched == []  # type: ignore[attr-defined]
    posted = Client(app).post("/api/snapshot?function=orders", headers={"Host": f"127.0.0.1:{PORT}"})
    assert posted.status_code == 405


def test_the_event_stream_of_a_function_sends_its_view(app: DashboardApp) -> None:
    """The stream's first event is `orders`' view, and the stream keeps it watched."""
    response = Client(app).get("/api/events?function=orders", headers={"Host": f"127.0.0.1:{PORT}"})
    text = response.get_data(as_text=True)
    first = next(line for line in text.splitlines() if line.startswith("data: "))
    assert json.loads(first[6:])["names"]["fragile"] == "orders"
    assert app.collector.watched.count("orders") >= 2  # type: ignore[attr-defined]
