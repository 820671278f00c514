"""`up`/`down` around the background cloud and dashboard: refusals, failed applies, dead or stubborn ones."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from selfheal.cli.app import app
from selfheal.cloud.credentials import load_or_create, read_key
from selfheal.cloud.testing import LAMBDA_TRUST_POLICY, package_zip
from selfheal.loop.deployment import AwsTarget
from selfheal.stack.cloud_process import (
    CloudProcessError,
    cloud_alive,
    free_port,
    group_members,
    port_available,
    start_cloud,
    stop_cloud,
)
from selfheal.stack.control import StackError, down, up
from selfheal.stack.dashboard_process import dashboard_alive, start_dashboard_process, stop_dashboard_process
from selfheal.workdir import CloudRecord, DashboardRecord, Workdir

pytestmark = pytest.mark.timeout(120)


@pytest.fixture()
def workdir(tmp_path: Path) -> Iterator[Workdir]:
    """A work directory whose cloud, if any, is stopped after the test."""
    place = Workdir(tmp_path / ".selfheal")
    yield place
    dashboard = place.read_dashboard()
    if dashboard is not None:
        stop_dashboard_process(dashboard, grace=2.0)
    record = place.read_cloud()
    if record is not None:
        stop_cloud(record, grace=2.0)


def _one_error_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), output
    return lines[0]


def _fake_cloud(ignore_sigterm: bool, command: str = "cloud") -> subprocess.Popen[bytes]:
    """A process that looks like `selfheal <command>` to the stop logic (its argv names both)."""
    code = "import signal, time\n"
    if ignore_sigterm:
        code += "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    code += "time.sleep(120)\n"
    return subprocess.Popen([sys.executable, "-c", code, "selfheal", command], start_new_session=True)


def _record(pid: int) -> CloudRecord:
    port = free_port()
    return CloudRecord(pid, f"http://127.0.0.1:{port}", port, 1.0, "us-east-1", time.time())


def test_up_refuses_while_a_cloud_runs(workdir: Workdir) -> None:
    """A second `up` says a cloud is running and leaves it (and its record) alone."""
    record = start_cloud(workdir, 0, 1.0)
    with pytest.raises(StackError, match=rf"already running \(pid {record.pid}.*selfheal down"):
        up(workdir, port=0)
    assert cloud_alive(record) and workdir.read_cloud() == record
    with pytest.raises(CloudProcessError, match="already running"):
        start_cloud(workdir, 0, 1.0)


def test_up_refuses_a_busy_port(tmp_path: Path) -> None:
    """`selfheal up --port P` with P taken exits 1 with one line and creates nothing."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = CliRunner().invoke(app, ["up", "--workdir", str(tmp_path / "w"), "--port", str(port)])
    assert result.exit_code == 1
    assert f"port {port} on 127.0.0.1 is taken" in _one_error_line(result.output)
    assert not (tmp_path / "w").exists()


def test_up_refuses_a_busy_dashboard_port(tmp_path: Path) -> None:
    """`selfheal up --dashboard-port P` with P taken exits 1 with one line and creates nothing."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        args = ["up", "--workdir", str(tmp_path / "w"), "--port", "0", "--dashboard-port", str(port)]
        result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert f"dashboard port {port} on 127.0.0.1 is taken" in _one_error_line(result.output)
    assert not (tmp_path / "w").exists()


def test_background_dashboard_serves_then_down_stops_it_even_dead(workdir: Workdir) -> None:
    """The detached dashboard answers and is recorded; `down` stops it, or cleans up after it died."""
    cloud = _record(os.getpid())  # no cloud answers there: the dashboard still serves, listing problems
    load_or_create(workdir.credentials_file)  # as start_cloud leaves it
    port = free_port()
    record = start_dashboard_process(workdir, cloud, port)
    assert workdir.read_dashboard() == record and record.url == f"http://127.0.0.1:{port}/"
    with urllib.request.urlopen(record.url, timeout=10) as response:
        assert response.status == 200 and b"<html" in response.read().lower()
    result = down(workdir, grace=5.0)
    assert result.dashboard == "stopped"
    assert not dashboard_alive(record) and port_available(port) and not workdir.dashboard_json.exists()

    again = start_dashboard_process(workdir, cloud, port)
    os.kill(again.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while dashboard_alive(again) and time.monotonic() < deadline:
        time.sleep(0.05)
    result = down(workdir, grace=1.0)
    assert result.dashboard == "was not running"
    assert not workdir.dashboard_json.exists()


def test_dashboard_that_ignores_sigterm_is_killed_after_the_grace_period() -> None:
    """A dashboard ignoring SIGTERM is killed once the grace period is over."""
    fake = _fake_cloud(ignore_sigterm=True, command="dashboard")
    try:
        time.sleep(0.3)  # let it install its SIGTERM handler
        port = free_port()
        record = DashboardRecord(fake.pid, f"http://127.0.0.1:{port}/", port, time.time())
        assert dashboard_alive(record)
        assert stop_dashboard_process(record, grace=0.5) == "killed (no exit 0.5 s after SIGTERM)"
        assert fake.wait(timeout=5) == -signal.SIGKILL
    finally:
        if fake.poll() is None:
            fake.kill()
            fake.wait()


def test_failed_apply_stops_the_cloud(workdir: Workdir) -> None:
    """A variable Terraform's validation rejects gives one line, and the cloud started for it is stopped."""
    port = free_port()
    with pytest.raises(StackError) as caught:
        up(workdir, variables={"failure_rate": "5"}, port=port)
    message = str(caught.value)
    assert "\n" not in message
    assert (
        "terraform apply failed: Invalid value for variable: failure_rate must be between 0 and 1" in message
    )
    assert str(workdir.terraform_log) in message
    assert not workdir.cloud_json.exists() and not workdir.outputs_json.exists()
    assert port_available(port)
    assert "failure_rate must be between 0 and 1" in workdir.terraform_log.read_text()


def _busy_lambda_environment(workdir: Workdir, record: CloudRecord) -> list[int]:
    """Start a 60 s invocation in the cloud, so its Lambda environment outlives a killed cloud; its pids.

    An idle environment would exit by itself once the cloud's Runtime API is gone; a busy one does not.
    """
    target = AwsTarget.resolve(record.endpoint, record.region, workdir=workdir.root)
    role = target.client("iam").create_role(RoleName="r", AssumeRolePolicyDocument=LAMBDA_TRUST_POLICY)[
        "Role"
    ]["Arn"]
    lam = target.client("lambda")
    lam.create_function(
        FunctionName="busy",
        Runtime="python3.12",
        Role=role,
        Handler="fragile_service.app.handler",
        Code={"ZipFile": package_zip("fragile_service")},
        Timeout=120,
        Environment={"Variables": {"FAILURE_RATE": "1", "FAILURE_MODE": "latency", "LATENCY_MS": "60000"}},
    )
    lam.get_waiter("function_active_v2").wait(FunctionName="busy", WaiterConfig={"Delay": 0.05})
    assert lam.invoke(FunctionName="busy", InvocationType="Event", Payload=b"{}")["StatusCode"] == 202
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        environments = [pid for pid in group_members(record.pid) if pid != record.pid]
        if environments:
            return environments
        time.sleep(0.1)
    pytest.fail("no Lambda environment started within 30 s")


def test_down_after_the_cloud_died_kills_leftovers(workdir: Workdir) -> None:
    """With the cloud killed, `down` skips Terraform, kills its orphaned Lambda environments, drops state."""
    record = start_cloud(workdir, 0, 1.0)
    environments = _busy_lambda_environment(workdir, record)
    # Read the group again once it is steady: the first member seen may be the cloud's one-off probe of the
    # runtime's interpreter, gone by the time the environment runs the invocation.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        time.sleep(0.5)
        again = [pid for pid in group_members(record.pid) if pid != record.pid]
        if again == environments:
            break
        environments = again
    assert len(environments) == 1
    workdir.state_file.write_text('{"resources": [{"mode": "managed", "instances": [{}]}]}')
    os.kill(record.pid, signal.SIGKILL)  # no chance to stop its environments
    deadline = time.monotonic() + 10
    while cloud_alive(record) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert group_members(record.pid) == environments
    result = down(workdir, grace=1.0)
    assert result.destroyed is None
    assert result.cloud == "was not running; killed 1 leftover process(es)"
    assert group_members(record.pid) == []
    assert not workdir.cloud_json.exists() and not workdir.state_file.exists()
    assert port_available(record.port)


def test_down_with_nothing_running_succeeds(tmp_path: Path) -> None:
    """`selfheal down` in an empty work directory says there was nothing and exits 0."""
    result = CliRunner().invoke(app, ["down", "--workdir", str(tmp_path / "w")])
    assert result.exit_code == 0, result.output
    assert "nothing to destroy; local cloud not recorded (nothing to stop)" in result.output


def test_stop_escalates_to_sigkill_after_the_grace_period() -> None:
    """A cloud that ignores SIGTERM is killed once the grace period is over."""
    fake = _fake_cloud(ignore_sigterm=True)
    try:
        time.sleep(0.3)  # let it install its SIGTERM handler
        record = _record(fake.pid)
        assert cloud_alive(record)
        assert stop_cloud(record, grace=0.5) == "killed (no exit 0.5 s after SIGTERM)"
        assert fake.wait(timeout=5) == -signal.SIGKILL
    finally:
        if fake.poll() is None:
            fake.kill()
            fake.wait()


def test_stop_leaves_an_unrelated_process_alone() -> None:
    """A recycled pid that does not run `selfheal cloud` is neither signalled nor reported as the cloud."""
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"], start_new_session=True)
    try:
        record = _record(other.pid)
        assert not cloud_alive(record)
        assert stop_cloud(record, grace=0.5).startswith("was not running")
    finally:
        alive = other.poll() is None
        other.kill()
        other.wait()
    assert alive


def test_background_cloud_runs_on_the_recorded_clock(workdir: Workdir) -> None:
    """The cloud `up` starts keeps the clock recorded in cloud.json, so other processes share its time."""
    from selfheal.clock import Clock

    record = start_cloud(workdir, 0, 50.0)
    try:
        shared = Clock(record.time_scale, origin=record.started_at)
        target = AwsTarget.resolve(record.endpoint, record.region, workdir=workdir.root)
        cloudwatch = target.client("cloudwatch")
        before = shared.now()
        cloudwatch.put_metric_alarm(
            AlarmName="clock-probe",
            MetricName="Errors",
            Namespace="AWS/Lambda",
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
        )
        after = shared.now()
        (alarm,) = cloudwatch.describe_alarms(AlarmNames=["clock-probe"])["MetricAlarms"]
        stamped = alarm["StateUpdatedTimestamp"].timestamp()
        # Without a shared origin the cloud's clock would lag by its start-up time times 50.
        assert before - 1 <= stamped <= after + 1
    finally:
        stop_cloud(record)


def test_background_cloud_keeps_the_workdirs_key_across_restarts(workdir: Workdir) -> None:
    """`start_cloud` makes the key file (mode 0600) before the child starts; the child signs nothing else
    in: requests with the file's key work, and after `down` the next cloud has the same key."""
    record = start_cloud(workdir, 0, 1.0)
    key = read_key(workdir.credentials_file)
    assert workdir.credentials_file.stat().st_mode & 0o777 == 0o600
    assert f"--workdir {workdir.root.resolve()}" in " ".join(
        part.decode() for part in Path(f"/proc/{record.pid}/cmdline").read_bytes().split(b"\0")
    )
    target = AwsTarget.resolve(record.endpoint, record.region, workdir=workdir.root)
    assert target.operator_key == key
    assert target.client("sts").get_caller_identity()["Account"] == "123456789012"
    down(workdir)
    assert workdir.credentials_file.exists()
    record = start_cloud(workdir, 0, 1.0)
    try:
        assert read_key(workdir.credentials_file) == key
        again = AwsTarget.resolve(record.endpoint, record.region, workdir=workdir.root)
        assert again.client("lambda").list_functions()["Functions"] == []
    finally:
        stop_cloud(record)


def test_down_with_an_unwritable_terraform_log_still_stops_everything(workdir: Workdir) -> None:
    """terraform.log cannot be written (as on a full disk): `down` warns in one line and stops the cloud."""
    record = start_cloud(workdir, 0, 1.0)
    workdir.state_file.write_text('{"resources": [{"mode": "managed", "instances": [{}]}]}')
    workdir.terraform_log.unlink(missing_ok=True)
    workdir.terraform_log.mkdir()  # opening it for appending now fails with an OSError
    result = down(workdir, grace=2.0)
    assert any(f"cannot write {workdir.terraform_log}" in warning for warning in result.warnings), result
    assert all("\n" not in warning for warning in result.warnings)
    assert result.cloud == "stopped"
    assert not cloud_alive(record) and group_members(record.pid) == []
    assert port_available(record.port)


def test_up_stops_a_stale_dashboard_holding_the_dashboard_port(workdir: Workdir) -> None:
    """After `kill -9` of the cloud, `up --dashboard-port P` frees P from its own stale dashboard first."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    workdir.ensure()
    workdir.write_cloud(_record(dead.pid))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code = (
        "import socket, time\n"
        "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
        f"s.bind(('127.0.0.1', {port})); s.listen(); time.sleep(120)\n"
    )
    stale = subprocess.Popen([sys.executable, "-c", code, "selfheal", "dashboard"], start_new_session=True)
    try:
        deadline = time.monotonic() + 10
        while port_available(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        record = DashboardRecord(stale.pid, f"http://127.0.0.1:{port}/", port, time.time())
        workdir.write_dashboard(record)
        # A bad variable stops `up` right after its checks, before any cloud starts.
        with pytest.raises(ValueError, match="no variable"):
            up(workdir, port=0, dashboard=True, dashboard_port=port, variables={"no_such_variable": "1"})
        assert stale.wait(timeout=15) is not None
        assert port_available(port) and workdir.read_dashboard() is None
    finally:
        if stale.poll() is None:
            stale.kill()
            stale.wait()


def test_restore_that_recreates_the_api_rewrites_outputs_and_moves_bursts(workdir: Workdir) -> None:
    """The dashboard's restore re-creates a deleted HTTP API: outputs.json and the bursts follow its URL."""
    from selfheal.dashboard.controls import Controls, terraform_restore
    from selfheal.loop.deployment import Deployment

    deployed = up(workdir, port=0)
    old = str(deployed.outputs["api_endpoint"])
    target = AwsTarget.resolve(deployed.cloud.endpoint, deployed.cloud.region, workdir=workdir.root)
    gateway = target.client("apigatewayv2")
    for api in gateway.get_apis()["Items"]:
        gateway.delete_api(ApiId=api["ApiId"])
    controls = Controls(
        target,
        Deployment.resolve(None, workdir.outputs_json),
        restore=lambda: terraform_restore(target, workdir.root),
    )
    assert controls.traffic_url == old
    assert controls.restore({}).ok
    new = Deployment.resolve(None, workdir.outputs_json).api_endpoint
    assert new and new != old
    assert controls.traffic_url == new
    assert controls.burst({"rate": 1, "duration": 0.5}).message.endswith(f"to {new}")
    controls.stop()
