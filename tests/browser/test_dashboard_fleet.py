"""The fleet view in Chromium: the landing page with two protected functions, and a drill-down into one.

A real DashboardApp serves the page; behind it a fake collector holds one snapshot with the fleet and the
charts of the function drilled into, so each check is about what the page does with known data.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from test_dashboard_page import FakeControls, snapshot
from werkzeug.serving import make_server

from selfheal.dashboard.server import DashboardApp

HOSTILE = "<img src=x onerror=document.title='owned'>"


def _fleet() -> dict[str, Any]:
    return {
        "focus": "fragile",
        "registry": "/selfheal/selfheal",
        "kill_switch": {"engaged": False, "reason": "kill switch off"},
        "error": None,
        "functions": [
            {
                "function": "fragile",
                "aliases": [],
                "modes": ["auto"],
                "alarms": [{"name": "alarm", "signal": "errors", "state": "OK", "mode": "auto"}],
                "open_incident": None,
                "open_incidents": 0,
                "last_action": None,
                "problem": None,
                "chart_alarm": "alarm",
            },
            {
                "function": "orders",
                "aliases": ["live"],
                "modes": ["approve"],
                "alarms": [
                    {"name": "orders-errors", "signal": "errors", "state": "ALARM", "mode": "approve"},
                    {"name": HOSTILE, "signal": "duration", "state": None, "mode": "approve"},
                ],
                "open_incident": {
                    "id": "inc-7",
                    "status": "ACTED",
                    "alarm": "orders-errors",
                    "decision": "act",
                    "reason": "x",
                },
                "open_incidents": 1,
                "last_action": {
                    "incident": "inc-7",
                    "action": "set_env",
                    "status": "applied",
                    "at": 1_800_000_000,
                    "detail": "",
                },
                "problem": None,
                "chart_alarm": "orders-errors",
            },
            {
                "function": None,
                "aliases": [],
                "modes": [],
                "alarms": [{"name": "zz-broken", "signal": None, "state": None, "mode": None}],
                "open_incident": None,
                "open_incidents": 0,
                "last_action": None,
                "problem": "not JSON",
                "chart_alarm": None,
            },
        ],
    }


class FleetCollector:
    """The deployment's own charts, the fleet, and `orders`' charts as a watched function's."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        orders = snapshot()
        orders["names"] = {**orders["names"], "fragile": "orders", "alarm": "orders-errors"}
        orders["alarm"] = {**orders["alarm"], "name": "orders-errors", "state": "ALARM", "reason": "3 errors"}
        orders["function"] = {"FAILURE_RATE": "0.5", "FAILURE_MODE": "exception"}
        self.snapshot = {**snapshot(), "fleet": _fleet(), "details": {"orders": orders}}
        self.watched: list[str] = []

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        self._stop.set()

    def latest(self) -> dict[str, Any]:
        return self.snapshot

    def watch(self, function: str) -> bool:
        self.watched.append(function)
        return function in ("fragile", "orders")

    def wait(self, after_version: int, timeout: float) -> dict[str, Any] | None:
        self._stop.wait(min(timeout, 0.5))
        return None


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, FleetCollector]]:
    """The page on 127.0.0.1 with the fleet behind it."""
    collector = FleetCollector()
    app = DashboardApp(collector, FakeControls())  # type: ignore[arg-type]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.port = int(server.server_port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{app.port}/", collector
    finally:
        collector.stop()
        server.shutdown()
        thread.join(timeout=10)


def test_the_fleet_is_the_landing_page_and_a_click_drills_down(
    served: tuple[str, FleetCollector], page: Any
) -> None:
    """Two protected functions: the page lands on the fleet (one row each, and the broken entry); a click
    on `orders` opens its charts at ?function=orders, and the crumb leads back to the fleet."""
    url, collector = served
    page.goto(url)
    page.wait_for_selector("body[data-view='fleet'][data-version='1']", timeout=20_000)
    assert page.is_hidden("#detail") and page.is_visible("#fleet")
    rows = page.eval_on_selector_all("#fleet-table tbody tr", "rows => rows.map(r => r.innerText)")
    assert len(rows) == 3, rows
    orders = next(row for row in rows if row.startswith("orders:live"))
    assert "approve" in orders and "orders-errors ALARM" in orders
    assert "inc-7 ACTED" in orders and "set_env applied at 08:00:00" in orders
    assert "invalid entry: not JSON" in rows[2]
    # An alarm name is shown as text: no element made of it, no script run.
    assert f"{HOSTILE} not found" in orders
    assert page.query_selector("#fleet-table img") is None and page.title() != "owned"

    page.click("#fleet-table a:text('orders:live')")
    page.wait_for_selector("body[data-view='function'][data-version='1']", timeout=20_000)
    assert page.url.endswith("?function=orders")
    assert "orders" in collector.watched
    assert (page.text_content("#target") or "").startswith("orders on ")
    assert page.text_content("#alarm-state") == "ALARM" and page.text_content("#failure-rate") == "0.5"
    assert page.is_hidden("#fleet") and page.is_hidden("#controls")  # the controls act on `fragile` only
    assert "orders" in (page.text_content("#crumb-function") or "")

    page.click("#fleet-link")
    page.wait_for_selector("body[data-view='fleet'][data-version='1']", timeout=20_000)
    assert page.url.endswith("?view=fleet")


def test_the_deployments_own_function_keeps_its_controls(
    served: tuple[str, FleetCollector], page: Any
) -> None:
    """?function=fragile is the deployment's own charts, with the controls."""
    url, _ = served
    page.goto(url + "?function=fragile")
    page.wait_for_selector("body[data-view='function'][data-version='1']", timeout=20_000)
    assert page.is_visible("#controls") and page.text_content("#alarm-state") == "OK"


def test_a_function_that_is_not_protected_is_said_and_the_fleet_shows(
    served: tuple[str, FleetCollector], page: Any
) -> None:
    """?function=nobody: the server's refusal is on the page, above the fleet."""
    url, _ = served
    page.goto(url + "?function=nobody")
    page.wait_for_selector("body[data-view='fleet'][data-version='1']", timeout=20_000)
    refused = page.text_content("#refused") or ""
    assert page.is_visible("#refused") and "function nobody is not protected" in refused
