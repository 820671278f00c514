"""The whole loop through real Terraform: `selfheal up` + dashboard, traffic, healed, drift, apply, down."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from rich.console import Console
from typer.testing import CliRunner

from healer.ledger import recent_incidents
from polling import eventually
from selfheal.cli.app import app
from selfheal.demo.run import DemoSettings, run_demo
from selfheal.loop.deployment import AwsTarget, load_outputs
from selfheal.loop.traffic import LoadGenerator, TrafficPlan
from selfheal.stack.cloud_process import cloud_alive, free_port, group_members, port_available
from selfheal.stack.control import destroy_stack, down, stack_terraform, state_resource_count
from selfheal.stack.dashboard_process import dashboard_alive
from selfheal.workdir import CloudRecord, Workdir

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

REPO = Path(__file__).resolve().parents[2]
TIME_SCALE = 20.0
LOOP_TIMEOUT = 90.0
T = TypeVar("T")


@pytest.fixture()
def workdir(tmp_path: Path) -> Iterator[Workdir]:
    """A fresh work directory; whatever the test leaves running is torn down afterwards."""
    place = Workdir(tmp_path / ".selfheal")
    yield place
    record, dashboard = place.read_cloud(), place.read_dashboard()
    down(place, grace=5.0)
    if record is not None:
        assert not group_members(record.pid), "processes of the cloud's group survived `down`"
    if dashboard is not None:
        assert not dashboard_alive(dashboard), "the dashboard survived `down`"


def _env_variables(lam: Any, function: str) -> dict[str, str]:
    variables: dict[str, str] = lam.get_function_configuration(FunctionName=function)["Environment"][
        "Variables"
    ]
    return variables


def _first_event(url: str) -> dict[str, Any]:
    """The data of the first ``snapshot`` event the dashboard's SSE stream at ``url`` sends."""
    with urllib.request.urlopen(url, timeout=30) as stream:
        assert stream.headers.get_content_type() == "text/event-stream"
        event = None
        for raw in stream:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line.removeprefix("event: ")
            elif line.startswith("data: ") and event == "snapshot":
                data: dict[str, Any] = json.loads(line.removeprefix("data: "))
                return data
    pytest.fail(f"{url} ended without a snapshot event")


def _assert_dashboard_serves(url: str) -> None:
    """The dashboard's page loads and its event stream sends a snapshot of the loop."""
    with urllib.request.urlopen(url, timeout=10) as page:
        assert page.status == 200 and page.headers.get_content_type() == "text/html"
        assert b"<html" in page.read().lower()
    snapshot = _first_event(url + "api/events")
    assert isinstance(snapshot.get("version"), int)


def test_up_heal_drift_apply_down(workdir: Workdir) -> None:
    """Terraform deploys the loop, the healer heals it, plan shows the drift, apply reverts, down cleans."""
    port, dashboard_port = free_port(), free_port()
    args = ["up", "--workdir", str(workdir.root), "--port", str(port), "--time-scale", str(TIME_SCALE)]
    args += ["--dashboard-port", str(dashboard_port)]
    for name, value in DemoSettings().variables().items():
        args += ["--var", f"{name}={value}"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "api_endpoint" in result.output and f"AWS_ENDPOINT_URL=http://127.0.0.1:{port}" in result.output
    assert re.search(rf"^dashboard +http://127\.0\.0\.1:{dashboard_port}/$", result.output, re.MULTILINE)
    dashboard = workdir.read_dashboard()
    assert dashboard is not None and dashboard_alive(dashboard) and dashboard.port == dashboard_port
    _assert_dashboard_serves(dashboard.url)

    record = workdir.read_cloud()
    assert record is not None and cloud_alive(record) and record.port == port
    outputs = load_outputs(workdir.outputs_json)
    assert outputs["api_endpoint"].startswith(f"http://127.0.0.1:{port}/_api/")
    # Signed with the work directory's operator key, the one `up` gave the background cloud.
    target = AwsTarget.resolve(record.endpoint, outputs["region"], workdir=workdir.root)
    assert target.operator_key is not None
    assert workdir.credentials_file.stat().st_mode & 0o777 == 0o600
    lam, ddb = target.client("lambda"), target.client("dynamodb")
    function = outputs["fragile_function_name"]
    baseline = _env_variables(lam, function)
    assert baseline["FAILURE_RATE"] == "0.3"

    generator = LoadGenerator(TrafficPlan(url=outputs["api_endpoint"], rate=20, duration=LOOP_TIMEOUT))
    sender = threading.Thread(target=generator.run, daemon=True)
    sender.start()
    try:
        healed = eventually(
            lambda: _env_variables(lam, function).get("FAILURE_RATE") == "0", LOOP_TIMEOUT, "FAILURE_RATE=0"
        )
        assert healed
        incidents = eventually(
            lambda: [
                i
                for i in recent_incidents(outputs["ledger_table_name"], client=ddb)
                if i.status == "RECOVERED"
            ],
            LOOP_TIMEOUT,
            "a RECOVERED (verified) incident in the ledger",
        )
    finally:
        generator.stop()
        sender.join(timeout=20)
    assert generator.stats.snapshot().server_errors > 0
    assert incidents[0].action is not None and incidents[0].time_to_recover is not None

    tf = stack_terraform(workdir, record.endpoint)
    plan = tf.plan()
    assert plan.rc == 2
    fragile = [
        c
        for c in plan.changes
        if c.type == "aws_lambda_function" and c.after.get("function_name") == function
    ]
    assert [c.action for c in fragile] == ["update"]
    before_env = fragile[0].before["environment"][0]["variables"]
    after_env = fragile[0].after["environment"][0]["variables"]
    assert (before_env["FAILURE_RATE"], after_env["FAILURE_RATE"]) == ("0", "0.3")
    assert "HEALED_INCIDENT" in before_env and "HEALED_INCIDENT" not in after_env
    assert re.search(r'"FAILURE_RATE"\s*=\s*"0" -> "0.3"', plan.stdout)

    tf.apply()
    restored = _env_variables(lam, function)
    assert restored["FAILURE_RATE"] == "0.3"
    assert not {k for k in restored if k.startswith("HEALED_") or k == "PREVIOUS_FAILURE_RATE"}

    assert destroy_stack(workdir, record) > 0
    assert state_resource_count(workdir) == 0
    _assert_cloud_empty(target)

    result = CliRunner().invoke(app, ["down", "--workdir", str(workdir.root)])
    assert result.exit_code == 0, result.output
    assert "; dashboard stopped" in result.output
    _assert_stopped(record, workdir)
    assert not dashboard_alive(dashboard) and port_available(dashboard_port)
    assert not workdir.dashboard_json.exists()


def _assert_cloud_empty(target: AwsTarget) -> None:
    """Nothing Terraform created is left in the local cloud."""
    assert target.client("lambda").list_functions()["Functions"] == []
    assert target.client("cloudwatch").describe_alarms()["MetricAlarms"] == []
    assert target.client("sns").list_topics()["Topics"] == []
    assert target.client("sqs").list_queues().get("QueueUrls", []) == []
    assert target.client("dynamodb").list_tables()["TableNames"] == []
    assert target.client("apigatewayv2").get_apis()["Items"] == []
    assert [r["RoleName"] for r in target.client("iam").list_roles()["Roles"]] == []
    # The platform's kill switch and the protect instance's registry entry.
    assert target.client("ssm").describe_parameters()["Parameters"] == []


def _assert_stopped(record: CloudRecord, workdir: Workdir) -> None:
    """The cloud, its Lambda environments and its port are gone, and so are the state files."""
    assert not cloud_alive(record)
    assert group_members(record.pid) == []
    assert port_available(record.port)
    assert not workdir.cloud_json.exists() and not workdir.outputs_json.exists()
    assert not workdir.state_file.exists()
    assert workdir.credentials_file.exists()  # the operator key stays: exported settings remain valid


def test_demo_runs_end_to_end(workdir: Workdir) -> None:
    """`selfheal demo` exits 0 with a verified loop, the FAILURE_RATE drift, and nothing left running."""
    started = time.monotonic()
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "from selfheal.cli import main; main()",
            "demo",
            "--workdir",
            str(workdir.root),
        ],
        cwd=REPO,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
        capture_output=True,
        text=True,
        timeout=200,
    )
    wall = time.monotonic() - started
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-3000:]
    assert "loop verified" in output
    assert re.search(r'"FAILURE_RATE"\s*=\s*"0" -> "0.3"', output)
    assert re.search(r"detect\s+│ first failure → ALARM", output)
    pid = int(re.findall(r"stopping the local cloud \(pid (\d+)\)", output)[-1])
    port = int(re.findall(r"traffic → http://127.0.0.1:(\d+)/", output)[0])
    dashboard_port = int(re.findall(r"dashboard → http://127.0.0.1:(\d+)/", output)[0])
    assert group_members(pid) == []
    assert port_available(port) and port_available(dashboard_port)
    assert not workdir.cloud_json.exists()
    print(f"demo wall time {wall:.1f} s")


class _DashboardProbe(io.StringIO):
    """Console output that, when the demo prints its dashboard's URL, fetches the snapshot right then."""

    def __init__(self) -> None:
        super().__init__()
        self.snapshot: dict[str, Any] | None = None
        self.port: int | None = None

    def write(self, text: str) -> int:
        found = re.search(r"dashboard → (http://127\.0\.0\.1:(\d+)/)", text)
        if found and self.snapshot is None:
            self.port = int(found.group(2))
            with urllib.request.urlopen(found.group(1) + "api/snapshot", timeout=10) as response:
                self.snapshot = json.loads(response.read())
        return super().write(text)


def test_demo_deadline_fails_with_a_reason_and_tears_down(workdir: Workdir) -> None:
    """A deadline shorter than detection ends the demo with exit 1, the reason, and nothing left running."""
    out = _DashboardProbe()
    console = Console(file=out, width=200, color_system=None)
    result = run_demo(DemoSettings(deadline=2.0, dashboard_port=0), workdir, console)
    assert out.snapshot is not None and isinstance(out.snapshot.get("version"), int)
    assert out.port is not None and port_available(out.port)
    assert result.exit_code == 1
    failure = result.summary.failure or ""
    assert failure.startswith("no verified recovery within 2 s: alarm ")
    assert "FAILURE_RATE 0.3" in failure
    assert not workdir.cloud_json.exists() and state_resource_count(workdir) == 0
    pid = int(re.findall(r"stopping the local cloud \(pid (\d+)\)", out.getvalue())[-1])
    assert group_members(pid) == []
