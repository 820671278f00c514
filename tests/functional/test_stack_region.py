"""`selfheal up --region`: the whole loop in a region other than the cloud's default one (issue #12)."""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from typer.testing import CliRunner

from polling import eventually
from selfheal.cli.app import app
from selfheal.demo.settings import DemoSettings
from selfheal.loop.deployment import AwsTarget, load_outputs
from selfheal.loop.traffic import LoadGenerator, TrafficPlan
from selfheal.stack.cloud_process import cloud_alive, free_port, group_members
from selfheal.stack.control import down, state_resource_count
from selfheal.workdir import Workdir

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

REGION = "eu-north-1"
TIME_SCALE = 20.0
LOOP_TIMEOUT = 90.0
T = TypeVar("T")


@pytest.fixture()
def workdir(tmp_path: Path) -> Iterator[Workdir]:
    """A fresh work directory; whatever the test leaves running is torn down afterwards."""
    place = Workdir(tmp_path / ".selfheal")
    yield place
    down(place, grace=5.0)


def _cli(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def _failure_rate(lam: Any, function: str) -> str | None:
    config = lam.get_function_configuration(FunctionName=function)
    rate: str | None = config["Environment"]["Variables"].get("FAILURE_RATE")
    return rate


def test_up_in_another_region_heals_and_every_command_follows(workdir: Workdir) -> None:
    """`up --region eu-north-1` deploys there; status, inject and the dashboard read it; the healer heals."""
    at = ("--workdir", str(workdir.root))
    variables = dict(DemoSettings().variables(), failure_rate="0")
    args = ["up", *at, "--port", str(free_port()), "--time-scale", str(TIME_SCALE), "--region", REGION]
    args += ["--dashboard-port", "0"]
    for name, value in variables.items():
        args += ["--var", f"{name}={value}"]
    result = _cli(*args)
    assert result.exit_code == 0, result.output
    assert f"region {REGION}" in result.output
    assert f"export AWS_REGION={REGION} AWS_DEFAULT_REGION={REGION}" in result.output

    record = workdir.read_cloud()
    assert record is not None and cloud_alive(record) and record.region == REGION
    outputs = load_outputs(workdir.outputs_json)
    assert outputs["region"] == REGION
    assert outputs["alarm_topic_arn"].startswith(f"arn:aws:sns:{REGION}:")
    target = AwsTarget.resolve(record.endpoint, REGION, workdir=workdir.root)
    lam = target.client("lambda")
    function = outputs["fragile_function_name"]
    arn = lam.get_function_configuration(FunctionName=function)["FunctionArn"]
    assert arn.startswith(f"arn:aws:lambda:{REGION}:")
    # Nothing went to the default region.
    default = AwsTarget.resolve(record.endpoint, "us-east-1", workdir=workdir.root)
    assert default.client("lambda").list_functions()["Functions"] == []

    status = _cli("status", *at, "-o", "json")
    assert status.exit_code == 0, status.output
    report = json.loads(status.stdout)
    assert report["target"]["region"] == REGION
    assert function in status.output

    dashboard = workdir.read_dashboard()
    assert dashboard is not None
    with urllib.request.urlopen(dashboard.url + "api/snapshot", timeout=10) as response:
        snapshot = json.loads(response.read())
    assert snapshot.get("alarm") is not None, snapshot.get("problems")

    injected = _cli("inject", *at, "--rate", "1")
    assert injected.exit_code == 0, injected.output
    assert float(_failure_rate(lam, function) or 0) == 1.0

    generator = LoadGenerator(TrafficPlan(url=outputs["api_endpoint"], rate=20, duration=LOOP_TIMEOUT))
    sender = threading.Thread(target=generator.run, daemon=True)
    sender.start()
    try:
        eventually(lambda: _failure_rate(lam, function) == "0", LOOP_TIMEOUT, "the healer's FAILURE_RATE=0")
    finally:
        generator.stop()
        sender.join(timeout=20)
    assert generator.stats.snapshot().server_errors > 0
    alarm = target.client("cloudwatch").describe_alarms(AlarmNames=[outputs["alarm_name"]])["MetricAlarms"]
    assert alarm and alarm[0]["AlarmArn"].startswith(f"arn:aws:cloudwatch:{REGION}:")

    result = _cli("down", *at)
    assert result.exit_code == 0, result.output
    assert "resources destroyed" in result.output
    assert not cloud_alive(record) and group_members(record.pid) == []
    assert state_resource_count(workdir) == 0 and not workdir.cloud_json.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--region", "mars-1"], "--region: unknown AWS region 'mars-1'"),
        (["--region", "eu-north-1", "--var", "aws_region=eu-west-1"], "disagree"),
        (["--var", "aws_region=moon-east-1"], "--var aws_region: unknown AWS region"),
        (["--cloud-only", "--region", "mars-1"], "--region: unknown AWS region 'mars-1'"),
        (["--cloud-only", "--var", "failure_rate=1"], "--cloud-only applies nothing"),
    ],
)
def test_up_refuses_a_bad_region_before_starting_anything(
    tmp_path: Path, args: list[str], message: str
) -> None:
    """An unknown or contradicted region is one line, exit 2, and no cloud or state is left."""
    place = Workdir(tmp_path / ".selfheal")
    result = _cli("up", "--workdir", str(place.root), "--no-dashboard", "--port", "0", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not place.cloud_json.exists() and not place.stack_dir.exists()
