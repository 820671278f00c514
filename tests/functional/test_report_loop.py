"""An incident report of a real loop run in a LocalCloud 60 times faster than real time."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from healer.ledger import recent_incidents
from selfheal.cli.app import app
from selfheal.cloud import LocalCloud
from selfheal.cloud.credentials import load_or_create
from selfheal.cloud.testing import ProvisionedLoop, provision_loop
from selfheal.loop.deployment import AwsTarget, Deployment
from selfheal.loop.traffic import LoadGenerator, TrafficPlan
from selfheal.report import build_report
from selfheal.workdir import Workdir

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Workdir:
    """A work directory holding only the cloud's operator key (no cloud record)."""
    return Workdir(tmp_path_factory.mktemp("workdir"))


@pytest.fixture(scope="module")
def healed(workdir: Workdir) -> Iterator[tuple[LocalCloud, ProvisionedLoop]]:
    """A loop that has gone through one incident and recovered; traffic stopped afterwards."""
    key = load_or_create(workdir.credentials_file)
    with LocalCloud(port=0, time_scale=60.0, operator_key=key) as cloud:
        loop = provision_loop(
            cloud,
            failure_rate=0.5,
            alarm_period_seconds=60,
            alarm_evaluation_periods=1,
            alarm_datapoints_to_alarm=1,
            alarm_threshold=3,
        )
        traffic = LoadGenerator(TrafficPlan(url=f"{loop.api_endpoint}/r", rate=12, duration=300))
        sender = threading.Thread(target=traffic.run, name="report-traffic", daemon=True)
        sender.start()
        target = AwsTarget(cloud.endpoint, cloud.region, cloud.operator_key)
        try:
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline:
                found = recent_incidents(loop.ledger_table_name, client=target.client("dynamodb"))
                if any(i.status == "RECOVERED" for i in found):
                    break
                time.sleep(0.5)
            else:
                pytest.fail("no RECOVERED incident within 90 s")
            time.sleep(3)  # a few more cloud minutes of clean traffic after the recovery
            yield cloud, loop
        finally:
            traffic.stop()
            sender.join(timeout=30)


def test_report_has_the_figures_and_a_timeline(
    healed: tuple[LocalCloud, ProvisionedLoop], tmp_path: Path
) -> None:
    """build_report writes an index and, for the incident, a PNG and a page with its figures."""
    cloud, _ = healed
    target = AwsTarget(cloud.endpoint, cloud.region, cloud.operator_key)
    steps: list[tuple[int, int, str]] = []
    result = build_report(
        target,
        Deployment.from_prefix("selfheal"),
        3600,
        tmp_path,
        now=cloud.clock.now,
        progress=lambda done, total, incident: steps.append((done, total, incident)),
    )
    total = len(result.pages)
    assert steps[0][:2] == (0, total) and steps[-1] == (total, total, "") and len(steps) == total + 1
    assert len(result.pages) >= 1 and len(result.images) == len(result.pages)
    assert all(image.read_bytes().startswith(PNG_MAGIC) for image in result.images)
    page = next(p.read_text() for p in result.pages if "RECOVERED" in p.read_text())
    assert "data:image/png;base64," in page
    assert "set_env FAILURE_RATE=0 (was " in page
    # The alarm's first evaluation may already breach: INSUFFICIENT_DATA → ALARM is as valid as OK → ALARM.
    # Rows of the transitions table (the figures' labels also say "ALARM → OK", so match the cells).
    assert re.search(r"<td>(OK|INSUFFICIENT_DATA) → ALARM</td>", page) and "<td>ALARM → OK</td>" in page
    for label in ("time to detect", "time to act", "time to recover", "errors served"):
        assert label in page
    assert result.pages[0].name in result.index.read_text()


def test_report_command_against_the_local_cloud(
    healed: tuple[LocalCloud, ProvisionedLoop], workdir: Workdir, tmp_path: Path
) -> None:
    """`selfheal report --since 1d` lists the incident page it wrote (signed with the work directory's
    key); a bad --since is a clear error."""
    cloud, _ = healed
    runner = CliRunner()
    common = [
        "--endpoint-url",
        cloud.endpoint,
        "--workdir",
        str(workdir.root),
        "--outputs",
        str(tmp_path / "o.json"),
    ]
    done = runner.invoke(app, ["report", "--since", "1d", "--out", str(tmp_path / "r"), *common])
    assert done.exit_code == 0, done.output
    assert (
        "incident(s) in the last 1d" in done.output
        and "0 incident(s)" not in done.output
        and (tmp_path / "r" / "index.html").exists()
    )
    assert "report: incident 1/" in done.output  # progress while it builds
    bad = runner.invoke(app, ["report", "--since", "yesterday", "--out", str(tmp_path / "bad"), *common])
    assert bad.exit_code == 2 and "--since must be" in bad.output
    assert not (tmp_path / "bad").exists()
