"""Functional tests of the CLI against a LocalCloud running the real fragile service behind an HTTP API."""

from __future__ import annotations

import io
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from typer.testing import CliRunner

from selfheal.cli.app import app
from selfheal.cloud import LocalCloud
from selfheal.cloud.credentials import OPERATOR_PROFILE, load_or_create, read_key

SOURCE = Path(__file__).resolve().parents[2] / "src" / "fragile_service"
FUNCTION = "selfheal-fragile"
ALARM = "selfheal-fragile-errors"


def _fragile_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(SOURCE.rglob("*.py")):
            archive.write(path, f"fragile_service/{path.relative_to(SOURCE).as_posix()}")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def credentials_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module cloud's operator key in a shared-credentials file (profile selfheal), as `selfheal
    cloud --workdir` keeps it."""
    return tmp_path_factory.mktemp("workdir") / "credentials"


@pytest.fixture(scope="module")
def cloud(credentials_file: Path) -> Iterator[LocalCloud]:
    """A LocalCloud on a free port for this module, with the operator key of ``credentials_file``."""
    with LocalCloud(port=0, operator_key=load_or_create(credentials_file)) as running:
        yield running


@pytest.fixture(autouse=True)
def _elsewhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run in an empty directory: no `.selfheal/credentials` of the checkout is picked up."""
    monkeypatch.chdir(tmp_path)


def _client(cloud: LocalCloud, service: str) -> Any:
    return cloud.client(service)


@pytest.fixture(scope="module")
def api_url(cloud: LocalCloud) -> str:
    """The fragile function behind an HTTP API's `$default` route and stage, plus its errors alarm."""
    role = _client(cloud, "iam").create_role(RoleName="fragile", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    function = _client(cloud, "lambda").create_function(
        FunctionName=FUNCTION,
        Runtime="python3.11",
        Role=role,
        Handler="fragile_service.app.handler",
        Code={"ZipFile": _fragile_zip()},
        Timeout=5,
        Environment={"Variables": {"FAILURE_RATE": "0", "POWERTOOLS_SERVICE_NAME": "fragile"}},
    )
    apigw = _client(cloud, "apigatewayv2")
    api = apigw.create_api(Name="selfheal-api", ProtocolType="HTTP")
    integration = apigw.create_integration(
        ApiId=api["ApiId"],
        IntegrationType="AWS_PROXY",
        IntegrationUri=function["FunctionArn"],
        PayloadFormatVersion="2.0",
    )
    apigw.create_route(
        ApiId=api["ApiId"], RouteKey="$default", Target=f"integrations/{integration['IntegrationId']}"
    )
    apigw.create_stage(ApiId=api["ApiId"], StageName="$default", AutoDeploy=True)
    _client(cloud, "cloudwatch").put_metric_alarm(
        AlarmName=ALARM,
        Namespace="AWS/Lambda",
        MetricName="Errors",
        Dimensions=[{"Name": "FunctionName", "Value": FUNCTION}],
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    return str(apigw.get_api(ApiId=api["ApiId"])["ApiEndpoint"])


def _run(credentials_file: Path | None, *arguments: str) -> Any:
    """The CLI in-process with the settings `selfheal cloud` prints (its key by file and profile), or
    with no AWS settings at all (``credentials_file`` None)."""
    chosen = str(credentials_file) if credentials_file else None
    return CliRunner().invoke(
        app,
        list(arguments),
        env={
            "AWS_SHARED_CREDENTIALS_FILE": chosen,
            "AWS_PROFILE": OPERATOR_PROFILE if chosen else None,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_ACCESS_KEY_ID": None,
            "AWS_SECRET_ACCESS_KEY": None,
            "AWS_SESSION_TOKEN": None,
            "AWS_EC2_METADATA_DISABLED": "true",
            "COLUMNS": "300",
        },
    )


def _traffic(url: str, tmp_path: Path) -> Any:
    arguments = ("traffic", "--url", url, "--rate", "20", "--duration", "1", "--outputs", str(tmp_path / "x"))
    return _run(None, *arguments)


def _summary(output: str) -> dict[str, int]:
    """The counts in traffic's summary table."""
    completed = re.search(r"(\d+) completed of (\d+) sent", output)
    ok = re.search(r"\bok\s*│\s*(\d+)", output)
    server = re.search(r"5xx errors\s*│\s*(\d+)", output)
    assert completed and ok and server, output
    return {"completed": int(completed[1]), "ok": int(ok[1]), "5xx": int(server[1])}


def test_traffic_counts_errors_at_failure_rate_one_and_none_at_zero(
    cloud: LocalCloud, api_url: str, tmp_path: Path, credentials_file: Path
) -> None:
    """At FAILURE_RATE 1 every request is a 5xx; after inject --rate 0 none is."""
    outputs = str(tmp_path / "none.json")
    injected = _run(
        credentials_file,
        *("inject", "--rate", "1", "--mode", "exception", "--endpoint-url", cloud.endpoint),
        *("--outputs", outputs),
    )
    assert injected.exit_code == 0, injected.output
    failing = _traffic(api_url, tmp_path)
    assert failing.exit_code == 0, failing.output
    counts = _summary(failing.output)
    assert counts["completed"] > 0
    assert counts["5xx"] == counts["completed"] and counts["ok"] == 0
    healed = _run(
        credentials_file, "inject", "--rate", "0", "--endpoint-url", cloud.endpoint, "--outputs", outputs
    )
    assert healed.exit_code == 0, healed.output
    passing = _traffic(api_url, tmp_path)
    assert passing.exit_code == 0, passing.output
    counts = _summary(passing.output)
    assert counts["completed"] > 0
    assert counts["ok"] == counts["completed"] and counts["5xx"] == 0


def test_inject_keeps_other_variables_in_the_local_cloud(
    cloud: LocalCloud, api_url: str, tmp_path: Path, credentials_file: Path
) -> None:
    """inject against the local cloud keeps POWERTOOLS_SERVICE_NAME and changes only the mode."""
    result = _run(
        credentials_file,
        "inject",
        "--mode",
        "status",
        "--status-code",
        "503",
        "--endpoint-url",
        cloud.endpoint,
        "--outputs",
        str(tmp_path / "none.json"),
    )
    assert result.exit_code == 0, result.output
    variables = _client(cloud, "lambda").get_function_configuration(FunctionName=FUNCTION)["Environment"][
        "Variables"
    ]
    assert variables["POWERTOOLS_SERVICE_NAME"] == "fragile"
    assert variables["FAILURE_MODE"] == "status"
    assert variables["FAILURE_STATUS_CODE"] == "503"


def test_status_shows_the_alarm_state(
    cloud: LocalCloud, api_url: str, tmp_path: Path, credentials_file: Path
) -> None:
    """status against the local cloud shows the alarm's current state."""
    state = _client(cloud, "cloudwatch").describe_alarms(AlarmNames=[ALARM])["MetricAlarms"][0]["StateValue"]
    outputs = str(tmp_path / "none.json")
    result = _run(credentials_file, "status", "--endpoint-url", cloud.endpoint, "--outputs", outputs)
    assert result.exit_code == 0, result.output
    assert state in result.output
    assert FUNCTION in result.output


def test_status_signs_with_the_default_workdirs_key(
    cloud: LocalCloud, api_url: str, tmp_path: Path, credentials_file: Path
) -> None:
    """With `.selfheal/credentials` in the current directory, status needs no AWS settings at all."""
    workdir = tmp_path / ".selfheal"
    workdir.mkdir()
    shutil.copy2(credentials_file, workdir / "credentials")
    outputs = str(tmp_path / "none.json")
    result = _run(None, "status", "--endpoint-url", cloud.endpoint, "--outputs", outputs)
    assert result.exit_code == 0, result.output
    assert FUNCTION in result.output


def test_status_without_any_key_says_how_to_get_one(cloud: LocalCloud, tmp_path: Path) -> None:
    """No key file and no AWS settings: one line naming the cloud's commands, nothing guessed."""
    outputs = str(tmp_path / "none.json")
    result = _run(None, "status", "--endpoint-url", cloud.endpoint, "--outputs", outputs)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "selfheal cloud" in lines[0] and "AWS_PROFILE" in lines[0], result.output


def test_cloud_command_runs_until_sigterm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`selfheal cloud` prints its endpoint and where its key is (never the secret), answers requests
    signed with that key, and exits 0 on SIGTERM."""
    workdir = tmp_path / "work"
    argv = ["cloud", "--port", "0", "--workdir", str(workdir)]
    process = subprocess.Popen(
        [sys.executable, "-c", "from selfheal.cli import main; main()", *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        assert process.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Ctrl-C" in line:
                break
        text = "".join(lines)
        assert "export AWS_ENDPOINT_URL=http://127.0.0.1:" in text, text
        credentials = workdir / "credentials"
        assert f"AWS_SHARED_CREDENTIALS_FILE={credentials.resolve()} AWS_PROFILE=selfheal" in text, text
        assert credentials.stat().st_mode & 0o777 == 0o600
        key = read_key(credentials)
        assert key.secret_access_key not in text
        endpoint = re.search(r"AWS_ENDPOINT_URL=(\S+)", text)
        assert endpoint, text
        # The file as `selfheal cloud` leaves it works as the AWS_SHARED_CREDENTIALS_FILE it prints.
        monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
        session = boto3.Session(profile_name=OPERATOR_PROFILE, region_name="us-east-1")
        sts = session.client("sts", endpoint_url=endpoint[1])
        assert sts.get_caller_identity()["Account"] == "123456789012"
        process.send_signal(signal.SIGTERM)
        rest, _ = process.communicate(timeout=60)
        assert process.returncode == 0, text + rest
        assert "stopped" in rest
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)


def test_cloud_command_on_a_busy_port_fails_clearly(tmp_path: Path) -> None:
    """`selfheal cloud` on a port already in use exits 1 with a one-line reason, no traceback."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        argv = ["cloud", "--port", str(port), "--workdir", str(tmp_path)]
        completed = subprocess.run(
            [sys.executable, "-c", "from selfheal.cli import main; main()", *argv],
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "COLUMNS": "200"},
        )
    assert completed.returncode == 1
    assert "is another `selfheal cloud` running?" in completed.stderr
    assert "Traceback" not in completed.stderr + completed.stdout
