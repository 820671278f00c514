"""The live dashboard in a real browser while the loop heals itself in a LocalCloud 60 times faster."""

from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from selfheal.cloud import LocalCloud
from selfheal.cloud.testing import ProvisionedLoop, provision_loop
from selfheal.dashboard import DashboardServer, start_dashboard
from selfheal.loop.deployment import AwsTarget, Deployment
from selfheal.loop.traffic import LoadGenerator, TrafficPlan
from selfheal.report import build_report

DOCS_SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "dashboard.png"
STEP_TIMEOUT_MS = 60_000


@dataclass
class Running:
    """The cloud, the provisioned loop, the dashboard serving it and the (not yet started) traffic."""

    cloud: LocalCloud
    loop: ProvisionedLoop
    dashboard: DashboardServer
    sender: threading.Thread


@pytest.fixture(scope="module")
def running() -> Iterator[Running]:
    """A loop with half the requests failing and a dashboard; traffic starts when the test says so."""
    with LocalCloud(port=0, time_scale=60.0) as cloud:
        loop = provision_loop(
            cloud,
            failure_rate=0.5,
            alarm_period_seconds=60,
            alarm_evaluation_periods=1,
            alarm_datapoints_to_alarm=1,
            alarm_threshold=3,
        )
        deployment = replace(Deployment.from_prefix("selfheal"), api_endpoint=f"{loop.api_endpoint}/hello")
        traffic = LoadGenerator(TrafficPlan(url=deployment.api_endpoint or "", rate=12, duration=600))
        sender = threading.Thread(target=traffic.run, name="browser-test-traffic", daemon=True)
        dashboard = start_dashboard(
            AwsTarget(cloud.endpoint, cloud.region, cloud.operator_key),
            deployment,
            now=cloud.clock.now,
            window_periods=40,
        )
        try:
            yield Running(cloud, loop, dashboard, sender)
        finally:
            dashboard.stop()
            traffic.stop()
            if sender.is_alive():
                sender.join(timeout=30)


def test_dashboard_shows_alarm_then_recovery_and_the_healer_marker(
    running: Running, page: Any, tmp_path: Path
) -> None:
    """The band turns ALARM then OK, the healer's action marker explains itself, and a screenshot is kept."""
    page.goto(running.dashboard.url)
    page.wait_for_selector("#connection.pill-live", timeout=STEP_TIMEOUT_MS)
    running.sender.start()
    page.wait_for_selector("#alarm-state.state-ALARM", timeout=STEP_TIMEOUT_MS)
    page.wait_for_selector(".band[data-state='ALARM']", state="attached", timeout=STEP_TIMEOUT_MS)
    page.wait_for_selector(".marker.action", timeout=STEP_TIMEOUT_MS)
    page.wait_for_selector("#alarm-state.state-OK", timeout=STEP_TIMEOUT_MS)
    page.wait_for_selector("#incidents tr[data-status='RECOVERED']", timeout=STEP_TIMEOUT_MS)

    states = page.eval_on_selector_all(".band", "bands => bands.map(b => b.dataset.state)")
    assert "ALARM" in states and states.index("ALARM") < len(states) - 1 and states[-1] == "OK", states
    assert page.text_content("#failure-rate") == "0"
    assert page.eval_on_selector("#threshold-line", "line => line.tagName") == "line"

    # The card names the rate the healer replaced (PREVIOUS_FAILURE_RATE is in the snapshot).
    page.wait_for_selector("#failure-mode:has-text('(was 0.5)')", timeout=STEP_TIMEOUT_MS)
    assert "undefined" not in (page.text_content("#failure-mode") or "")

    # The dashboard and the report print the same detect / act / recover for this incident.
    cells = page.eval_on_selector(
        "#incidents tr[data-status='RECOVERED']", "row => [...row.cells].map(c => c.textContent)"
    )
    target = AwsTarget(running.cloud.endpoint, running.cloud.region, running.cloud.operator_key)
    report = build_report(
        target, Deployment.from_prefix("selfheal"), 3600, tmp_path / "report", now=running.cloud.clock.now
    )
    index = report.index.read_text()
    row = re.search(r"<tr><td><a [^>]*>[^<]*</a></td><td>RECOVERED</td>((?:<td>[^<]*</td>){3})", index)
    assert row is not None, index
    assert re.findall(r"<td>([^<]*)</td>", row.group(1)) == cells[3:6], (cells, index)

    # The chart is drawn again at every snapshot and its time axis slides: by the time the tip is read, the
    # cursor may rest on the ALARM band instead. Hover again until the marker's own tip is read (a few tries).
    explained = ""
    for _ in range(10):
        page.hover(".marker.action")
        tip = page.wait_for_selector("#tip:not([hidden])")
        explained = tip.text_content() or ""
        if "set_env FAILURE_RATE=0 (was 0.5)" in explained:
            break
    assert "set_env FAILURE_RATE=0 (was 0.5)" in explained

    shot = tmp_path / "dashboard.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    # Tests never modify tracked files: the README's screenshot is refreshed only when asked for.
    if os.environ.get("SELFHEAL_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, DOCS_SCREENSHOT)
