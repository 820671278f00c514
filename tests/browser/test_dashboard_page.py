"""The dashboard page in Chromium against a hand-made snapshot: controls, cards, axes and small screens.

A real DashboardApp serves the page; the collector and the controls behind it are fakes, so each check
is about what the page does with known data.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from werkzeug.serving import make_server

from selfheal.dashboard.controls import ControlError, ControlResult
from selfheal.dashboard.server import DashboardApp, DashboardServer

PERIOD = 60
NOW = 1_800_000_000.0 + 45  # 45 s into a period


def snapshot() -> dict[str, Any]:
    """After one heal: the period still filling has 2 requests and 7 errors counted so far."""
    start = NOW - 30 * PERIOD
    last = NOW - 45 - PERIOD
    return {
        "version": 1,
        "ready": True,
        "now": NOW,
        "start": start,
        "end": NOW,
        "period": PERIOD,
        "target": "the local cloud",
        "names": {"fragile": "fragile", "healer": "healer", "alarm": "alarm", "ledger": "ledger"},
        "alarm": {
            "name": "alarm",
            "state": "OK",
            "reason": "back to normal",
            "threshold": 1,
            "period": PERIOD,
            "evaluation_periods": 1,
            "datapoints_to_alarm": 1,
            "updated": NOW - 100,
        },
        "segments": [
            {"start": start, "end": start + 50, "state": "INSUFFICIENT_DATA"},
            {"start": start + 50, "end": NOW - 600, "state": "OK"},
            {"start": NOW - 600, "end": NOW - 300, "state": "ALARM"},
            {"start": NOW - 300, "end": NOW, "state": "OK"},
        ],
        "requests": [[last - PERIOD, 1200], [last, 1200], [last + PERIOD, 2]],
        "errors": [[last - PERIOD, 1], [last, 0], [last + PERIOD, 7]],
        "error_rate": [],
        "failure_rate": [[NOW - 600, 0.5], [NOW - 300, 0.0]],
        "function": {
            "FAILURE_RATE": "0",
            "HEALED_AT": "2027-01-15T08:00:00Z",
            "HEALED_BY": "selfheal-healer",
            "PREVIOUS_FAILURE_RATE": "0.5",
        },
        "last_period": {"start": last, "requests": 1200, "errors": 0},
        "decisions": [],
        "incidents": [],
        "escalations": [],
        "problems": [],
    }


class FakeCollector:
    """Always the same snapshot; SSE readers get keepalives."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self.snapshot = snapshot()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        self._stop.set()

    def latest(self) -> dict[str, Any]:
        return self.snapshot

    def wait(self, after_version: int, timeout: float) -> dict[str, Any] | None:
        self._stop.wait(min(timeout, 0.5))
        return None


class FakeControls:
    """Records bursts; refuses a restore as a server would."""

    def __init__(self) -> None:
        self.bursts: list[dict[str, Any]] = []

    def inject(self, payload: dict[str, Any]) -> ControlResult:
        return ControlResult(True, "injected")

    def burst(self, payload: dict[str, Any]) -> ControlResult:
        self.bursts.append(payload)
        return ControlResult(True, f"sending {payload['rate']:g} req/s")

    def restore(self, payload: dict[str, Any]) -> ControlResult:
        raise ControlError("no Terraform stack at .selfheal/stack", 409)

    def stop(self) -> None:
        pass


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[str, FakeCollector, FakeControls]]:
    """The page on 127.0.0.1 with the fakes behind it."""
    collector, controls = FakeCollector(), FakeControls()
    app = DashboardApp(collector, controls)  # type: ignore[arg-type]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.port = int(server.server_port)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{app.port}/", collector, controls
    finally:
        collector.stop()
        server.shutdown()
        thread.join(timeout=10)


def _wait_text(page: Any, selector: str, needle: str, timeout: float = 10.0) -> str:
    """The element's text once it contains ``needle`` (polled: the page's CSP forbids eval)."""
    deadline = time.monotonic() + timeout
    while True:
        found = page.text_content(selector) or ""
        if needle in found or time.monotonic() > deadline:
            return found
        page.wait_for_timeout(100)


def _open(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("body[data-version='1']", timeout=20_000)


def test_burst_with_the_default_and_whole_values_is_sent(
    served: tuple[str, FakeCollector, FakeControls], page: Any
) -> None:
    url, _, controls = served
    _open(page, url)
    controls.bursts.clear()
    page.click("#form-traffic button")
    page.wait_for_selector("#control-result.ok", timeout=10_000)
    assert controls.bursts == [{"rate": 20, "duration": 10}]
    page.fill("#traffic-rate", "7")
    page.fill("#traffic-duration", "3")
    page.click("#form-traffic button")
    assert "sending 7" in _wait_text(page, "#control-result", "sending 7")
    assert controls.bursts[-1] == {"rate": 7, "duration": 3}


def test_a_refused_control_says_why(served: tuple[str, FakeCollector, FakeControls], page: Any) -> None:
    url, _, controls = served
    _open(page, url)
    sent = len(controls.bursts)
    page.fill("#traffic-rate", "500")
    page.click("#form-traffic button")
    page.wait_for_selector("#control-result.error", timeout=10_000)
    assert "not sent" in (page.text_content("#control-result") or "")
    assert len(controls.bursts) == sent
    page.click("#form-restore button")
    assert "refused" in _wait_text(page, "#control-result", "refused")
    assert "no Terraform stack" in (page.text_content("#control-result") or "")


def test_cards_show_the_previous_rate_and_the_last_complete_period(
    served: tuple[str, FakeCollector, FakeControls], page: Any
) -> None:
    url, _, _ = served
    _open(page, url)
    assert page.text_content("#failure-mode") == "healed by selfheal-healer (was 0.5)"
    assert page.text_content("#last-requests") == "1200"
    assert page.text_content("#last-errors") == "0"


def test_count_axes_have_distinct_whole_ticks_and_band_labels_fit(
    served: tuple[str, FakeCollector, FakeControls], page: Any
) -> None:
    url, _, _ = served
    _open(page, url)
    for chart in ("#chart-errors", "#chart-requests"):
        labels = page.eval_on_selector_all(
            f"{chart} > text[text-anchor='end']", "nodes => nodes.map(n => n.textContent)"
        )
        assert len(labels) == len(set(labels)) >= 2, (chart, labels)
        assert all(label.isdigit() for label in labels), (chart, labels)
    inside = page.eval_on_selector_all(
        "#chart-alarm text.band-label",
        """labels => labels.map(l => {
            const box = l.getBBox(), svg = l.ownerSVGElement.viewBox.baseVal;
            return box.x >= 56 && box.x + box.width <= svg.width - 56;
        })""",
    )
    assert inside and all(inside), inside


def test_no_horizontal_scrolling_on_a_phone(
    served: tuple[str, FakeCollector, FakeControls], browser: Any
) -> None:
    url, _, _ = served
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        phone = context.new_page()
        _open(phone, url)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
    finally:
        context.close()


def test_the_page_says_when_the_dashboard_stopped(browser: Any) -> None:
    """Stopping the server tells the open page why, instead of 'reconnecting' forever."""
    collector = FakeCollector()
    app = DashboardApp(collector, FakeControls())  # type: ignore[arg-type]
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.port = int(server.server_port)
    dashboard = DashboardServer(app, server)
    context = browser.new_context()
    try:
        page = context.new_page()
        _open(page, dashboard.url)
        dashboard.stop("The demo has finished; `selfheal demo --keep` keeps it running.")
        page.wait_for_selector("#stopped:not([hidden])", timeout=10_000)
        assert "--keep" in (page.text_content("#stopped") or "")
        assert page.text_content("#connection") == "stopped"
    finally:
        context.close()
