"""Functional tests of the CLI against a LocalCloud running the real fragile service behind an HTTP API."""

from __future__ import annotations

import io
import json
import os
import queue
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
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
from selfheal.cloud.testing import LAMBDA_TRUST_POLICY
from selfheal.workdir import CloudRecord, Workdir

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
    role = _client(cloud, "iam").create_role(
        RoleName="fragile", AssumeRolePolicyDocument=LAMBDA_TRUST_POLICY
    )["Role"]["Arn"]
    function = _client(cloud, "lambda").create_function(
        FunctionName=FUNCTION,
        Runtime="python3.11",
        Role=role,
        Handler="fragile_service.app.handler",
        Code={"ZipFile": _fragile_zip()},
        Timeout=5,
        Environment={"Variables": {"FAILURE_RATE": "0", "POWERTOOLS_SERVICE_NAME": "fragile"}},
    )
    _client(cloud, "lambda").get_waiter("function_active_v2").wait(
        FunctionName=FUNCTION, WaiterConfig={"Delay": 0.05}
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
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), completed.stderr  # werkzeug's lines neither
    assert "is another `selfheal cloud` running?" in lines[0]
    assert "Traceback" not in completed.stderr + completed.stdout


# ----- the work directory's recorded cloud: every command finds it ------------------------------------------


@pytest.fixture
def cloud_process() -> Iterator[subprocess.Popen[bytes]]:
    """A process that looks like `selfheal cloud` to the liveness check (the cloud itself runs in-process)."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", "selfheal", "cloud"])
    try:
        yield process
    finally:
        process.kill()
        process.wait(timeout=30)


def _record(cloud: LocalCloud, credentials_file: Path, root: Path, pid: int) -> Workdir:
    """A work directory as `selfheal up` leaves it: the cloud's record and its operator key."""
    place = Workdir(root)
    place.ensure()
    shutil.copy2(credentials_file, place.credentials_file)
    port = int(cloud.endpoint.rsplit(":", 1)[1])
    place.write_cloud(CloudRecord(pid, cloud.endpoint, port, 1.0, cloud.region, time.time()))
    return place


def _bare(*arguments: str) -> Any:
    """The CLI with no AWS settings at all: no endpoint, no key, no profile."""
    return CliRunner().invoke(
        app,
        list(arguments),
        env={
            "AWS_ENDPOINT_URL": None,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_PROFILE": None,
            "AWS_ACCESS_KEY_ID": None,
            "AWS_SECRET_ACCESS_KEY": None,
            "AWS_SESSION_TOKEN": None,
            "AWS_EC2_METADATA_DISABLED": "true",
            "COLUMNS": "300",
        },
    )


def test_status_and_inject_use_the_cloud_recorded_in_the_workdir(
    cloud: LocalCloud,
    api_url: str,
    credentials_file: Path,
    cloud_process: subprocess.Popen[bytes],
    tmp_path: Path,
) -> None:
    """With `.selfheal/cloud.json` and its key in the current directory, `status` needs no endpoint and no
    AWS settings, and says where it went; `inject --workdir W` finds another work directory's cloud."""
    _record(cloud, credentials_file, Path(".selfheal"), cloud_process.pid)
    status = _bare("status")
    assert status.exit_code == 0, status.output
    assert FUNCTION in status.stdout
    target = status.stderr.splitlines()[0]
    assert target == (
        f"target: the local cloud at {cloud.endpoint} (recorded in .selfheal/cloud.json; "
        "key .selfheal/credentials)"
    )
    elsewhere = _record(cloud, credentials_file, tmp_path / "elsewhere", cloud_process.pid)
    inject = _bare("inject", "--rate", "0", "--workdir", str(elsewhere.root))
    assert inject.exit_code == 0, inject.output
    assert f"recorded in {elsewhere.cloud_json}" in inject.stderr


def test_an_endpoint_given_wins_over_the_recorded_cloud(
    cloud: LocalCloud, api_url: str, credentials_file: Path, tmp_path: Path
) -> None:
    """--endpoint-url is used as given, even beside a record (here of a cloud long gone)."""
    _record(cloud, credentials_file, Path(".selfheal"), _finished_pid())
    result = _bare("status", "--endpoint-url", cloud.endpoint, "--output", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["target"]["chosen_by"] == "--endpoint-url"


def _finished_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass", "selfheal", "cloud"])
    process.wait(timeout=30)
    return process.pid


@pytest.mark.parametrize("command", [["status"], ["inject", "--rate", "0"], ["logs"], ["report"]])
def test_a_recorded_cloud_that_stopped_is_one_line_at_once(
    cloud: LocalCloud, credentials_file: Path, command: list[str]
) -> None:
    """A record whose process is gone is a one-line error naming it and `selfheal up`, not a timeout."""
    _record(cloud, credentials_file, Path(".selfheal"), _finished_pid())
    started = time.monotonic()
    result = _bare(*command)
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: the local cloud recorded in .selfheal/cloud.json")
    assert "is not running" in lines[0] and "selfheal up" in lines[0]
    assert time.monotonic() - started < 10


# ----- selfheal logs ---------------------------------------------------------------------------------------


def _starts(cloud: LocalCloud) -> int:
    """How many invocations of the fragile function CloudWatch Logs holds (START lines; 0 before its log
    group exists, which the first flush of its lines creates)."""
    logs = _client(cloud, "logs")
    try:
        events = logs.filter_log_events(logGroupName=f"/aws/lambda/{FUNCTION}")["events"]
    except logs.exceptions.ResourceNotFoundException:
        return 0
    return sum(event["message"].startswith("START RequestId") for event in events)


def _invoke_function(cloud: LocalCloud) -> None:
    """One request to the fragile function, then wait until its START line is in CloudWatch Logs."""
    before = _starts(cloud)
    event = {"rawPath": "/", "requestContext": {"http": {"method": "GET"}}}
    _client(cloud, "lambda").invoke(FunctionName=FUNCTION, Payload=json.dumps(event).encode())
    deadline = time.monotonic() + 30
    while _starts(cloud) <= before:
        assert time.monotonic() < deadline, "the invocation's START line never reached CloudWatch Logs"
        time.sleep(0.2)


def test_logs_prints_the_functions_events_oldest_first(
    cloud: LocalCloud, api_url: str, credentials_file: Path, cloud_process: subprocess.Popen[bytes]
) -> None:
    """`selfheal logs` prints the fragile function's log events with UTC times, newest last; `-o json` one
    object a line; an unknown function is one line naming its log group."""
    _record(cloud, credentials_file, Path(".selfheal"), cloud_process.pid)
    _invoke_function(cloud)
    result = _bare("logs", "--since", "5m")
    assert result.exit_code == 0, result.output
    # Each event starts with its UTC time (a traceback's further lines follow it as they are).
    stamped = re.findall(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)  (.*)$", result.stdout, re.MULTILINE)
    assert any(m.startswith("START RequestId:") for _, m in stamped), result.stdout
    assert any(m.startswith("REPORT RequestId:") for _, m in stamped), result.stdout
    assert [stamp for stamp, _ in stamped] == sorted(stamp for stamp, _ in stamped)
    as_json = _bare("logs", FUNCTION, "--since", "5m", "--output", "json")
    records = [json.loads(line) for line in as_json.stdout.splitlines()]
    assert records and set(records[0]) == {"timestamp", "timestamp_ms", "stream", "message"}
    assert [r["timestamp_ms"] for r in records] == sorted(r["timestamp_ms"] for r in records)
    missing = _bare("logs", "nobody")
    assert missing.exit_code == 1
    errors = [line for line in missing.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "/aws/lambda/nobody" in errors[0]


def test_logs_follow_prints_new_events_until_interrupted(
    cloud: LocalCloud, api_url: str, credentials_file: Path, tmp_path: Path
) -> None:
    """`selfheal logs --follow` keeps printing events as the function writes them, each once, and ends
    with exit 0 on Ctrl-C (the real script, signed with the work directory's key)."""
    place = Workdir(tmp_path / "w")
    place.ensure()
    shutil.copy2(credentials_file, place.credentials_file)
    # The log group exists once the function has run (as on AWS, following a missing group is an error);
    # `--since 1s` must not reach back to this invocation or one an earlier test of this module made.
    _invoke_function(cloud)
    time.sleep(2.5)
    argv = ["logs", "--follow", "--since", "1s", "-o", "json", "--endpoint-url", cloud.endpoint]
    environment = {k: v for k, v in os.environ.items() if k not in ("AWS_ENDPOINT_URL", "AWS_PROFILE")}
    process = subprocess.Popen(
        [sys.executable, "-c", "from selfheal.cli import main; main()", *argv, "--workdir", str(place.root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=environment,
    )
    printed: queue.Queue[str] = queue.Queue()

    def read(stream: Any) -> None:
        for line in stream:
            printed.put(line)

    assert process.stdout is not None
    reader = threading.Thread(target=read, args=(process.stdout,), daemon=True)
    reader.start()
    try:
        time.sleep(3)  # it follows from now on
        seen: list[dict[str, Any]] = []
        for invocations in (1, 2):
            _invoke_function(cloud)
            while sum(r["message"].startswith("START RequestId") for r in seen) < invocations:
                seen.append(json.loads(printed.get(timeout=30)))
        process.send_signal(signal.SIGINT)
        # Not communicate(): it would read stdout too, racing the reader thread, and close it under it.
        process.wait(timeout=30)
        reader.join(timeout=10)
        assert process.stderr is not None
        errors = process.stderr.read()
        assert process.returncode == 0, errors
        while not printed.empty():
            seen.append(json.loads(printed.get()))
        keys = [(r["stream"], r["timestamp_ms"], r["message"]) for r in seen]
        assert len(keys) == len(set(keys)), "an event was printed twice"
        assert sum(r["message"].startswith("START RequestId") for r in seen) == 2
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
        reader.join(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
