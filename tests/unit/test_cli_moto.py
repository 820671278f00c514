"""Tests of ``selfheal inject`` and ``selfheal status`` against a moto server on 127.0.0.1."""

from __future__ import annotations

import io
import json
import os
import platform
import socket
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from typer.testing import CliRunner

from selfheal.cli.app import app
from selfheal.cloud.testing import LAMBDA_TRUST_POLICY

FUNCTION = "selfheal-fragile"
ALARM = "selfheal-fragile-errors"
TABLE = "selfheal-ledger"
BASE_VARIABLES = {
    "FAILURE_RATE": "0.0",
    "FAILURE_MODE": "exception",
    "POWERTOOLS_SERVICE_NAME": "fragile",
    "HEALED_AT": "2026-11-23T19:52:00Z",
}


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A moto server on a free loopback port, reset before use and stopped after the module."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        httpx.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
        yield endpoint
    finally:
        server.stop()


def _client(endpoint: str, service: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def deployed(moto_endpoint: str) -> str:
    """The fragile function, its alarm (in ALARM) and a ledger with one incident, in moto."""
    iam = _client(moto_endpoint, "iam")
    role = iam.create_role(RoleName="fragile-role", AssumeRolePolicyDocument=LAMBDA_TRUST_POLICY)["Role"][
        "Arn"
    ]
    _client(moto_endpoint, "lambda").create_function(
        FunctionName=FUNCTION,
        Runtime="python3.11",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": _zip()},
        Environment={"Variables": dict(BASE_VARIABLES)},
    )
    cloudwatch = _client(moto_endpoint, "cloudwatch")
    cloudwatch.put_metric_alarm(
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
    cloudwatch.set_alarm_state(
        AlarmName=ALARM, StateValue="ALARM", StateReason="Threshold Crossed: 1 datapoint [7.0] was >= 1.0"
    )
    dynamodb = _client(moto_endpoint, "dynamodb")
    dynamodb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.put_item(
        TableName=TABLE,
        Item={
            "pk": {"S": "INCIDENTS"},
            "sk": {"S": "2026-11-23T19:52:00Z#inc-1"},
            "incident_id": {"S": "inc-1"},
            "alarm_name": {"S": ALARM},
            "status": {"S": "RECOVERED"},
            "decision": {"S": "act"},
            "reason": {"S": "error alarm on the target"},
            "action": {"S": "set FAILURE_RATE=0"},
            "alarm_time": {"S": "2026-11-23T19:52:00+00:00"},
            "time_to_recover": {"N": "42.5"},
        },
    )
    return moto_endpoint


def _variables(endpoint: str) -> dict[str, str]:
    config = _client(endpoint, "lambda").get_function_configuration(FunctionName=FUNCTION)
    return dict(config["Environment"]["Variables"])


def _invoke(endpoint: str, *args: str, outputs: Path | None = None) -> Any:
    options = ["--endpoint-url", endpoint, "--region", "us-east-1"]
    if outputs is not None:
        options += ["--outputs", str(outputs)]
    return CliRunner().invoke(
        app, [*args, *options], env={"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    )


def test_inject_keeps_every_other_variable(deployed: str, tmp_path: Path) -> None:
    """inject changes only the failure settings it is given."""
    before = _variables(deployed)
    result = _invoke(
        deployed,
        "inject",
        "--rate",
        "0.5",
        "--mode",
        "latency",
        "--latency-ms",
        "250",
        outputs=tmp_path / "none.json",
    )
    assert result.exit_code == 0, result.output
    after = _variables(deployed)
    assert after["FAILURE_RATE"] == "0.5"
    assert after["FAILURE_MODE"] == "latency"
    assert after["LATENCY_MS"] == "250"
    for name in ("POWERTOOLS_SERVICE_NAME", "HEALED_AT"):
        assert after[name] == before[name]
    assert "FAILURE_RATE" in result.output


def test_inject_disable_and_enable(deployed: str, tmp_path: Path) -> None:
    """--disable and --enable set FAILURE_INJECTION_ENABLED."""
    outputs = tmp_path / "none.json"
    assert _invoke(deployed, "inject", "--disable", outputs=outputs).exit_code == 0
    assert _variables(deployed)["FAILURE_INJECTION_ENABLED"] == "false"
    assert _invoke(deployed, "inject", "--enable", outputs=outputs).exit_code == 0
    assert _variables(deployed)["FAILURE_INJECTION_ENABLED"] == "true"


@pytest.mark.parametrize(
    "arguments",
    [
        ["--rate", "1.5"],
        ["--rate", "-0.1"],
        ["--rate", "nan"],
        ["--mode", "explode"],
        ["--status-code", "200"],
        ["--latency-ms", "-5"],
        [],
    ],
)
def test_inject_bad_input_changes_nothing(deployed: str, tmp_path: Path, arguments: list[str]) -> None:
    """Bad input is a one-line error with exit code 2, and the function is left as it was."""
    before = _client(deployed, "lambda").get_function_configuration(FunctionName=FUNCTION)
    result = _invoke(deployed, "inject", *arguments, outputs=tmp_path / "none.json")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    after = _client(deployed, "lambda").get_function_configuration(FunctionName=FUNCTION)
    assert after["Environment"] == before["Environment"]
    assert after["LastModified"] == before["LastModified"]


def test_inject_unknown_function_is_a_clear_error(deployed: str, tmp_path: Path) -> None:
    """A prefix whose function does not exist is reported as not found, exit 1."""
    result = _invoke(deployed, "inject", "--rate", "0.1", "--prefix", "nobody", outputs=tmp_path / "x.json")
    assert result.exit_code == 1
    assert "not found" in result.output
    assert "nobody-fragile" in result.output


def test_status_shows_alarm_settings_and_decisions(deployed: str, tmp_path: Path) -> None:
    """status shows the alarm state and reason, the failure settings, the markers and the ledger."""
    result = CliRunner().invoke(
        app,
        [
            "status",
            "--endpoint-url",
            deployed,
            "--region",
            "us-east-1",
            "--outputs",
            str(tmp_path / "x.json"),
        ],
        env={"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "ALARM" in result.output
    assert "Threshold Crossed" in result.output
    assert "FAILURE_RATE" in result.output
    assert "HEALED_AT" in result.output
    assert "RECOVERED" in result.output
    assert "42.5 s" in result.output


def test_status_reads_names_from_terraform_outputs(deployed: str, tmp_path: Path) -> None:
    """Names come from the outputs file when it exists; a wrong name shows as not found."""
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {"alarm_name": "other-alarm", "fragile_function_name": FUNCTION, "ledger_table_name": TABLE}
        )
    )
    result = CliRunner().invoke(
        app,
        ["status", "--endpoint-url", deployed, "--region", "us-east-1", "--outputs", str(outputs)],
        env={"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "COLUMNS": "200"},
    )
    assert result.exit_code == 0, result.output
    assert "other-alarm not found" in result.output
    assert "FAILURE_RATE" in result.output


def _moto_env(endpoint: str) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": "us-east-1",
        "COLUMNS": "300",
    }


def test_status_output_json_has_stable_keys(deployed: str, tmp_path: Path) -> None:
    """`status --output json` prints one JSON object on stdout with the documented keys (the target line
    goes to stderr), so a script can read the alarm, the failure settings, the markers and the incidents."""
    result = _invoke(
        deployed, "status", "--output", "json", "--workdir", str(tmp_path), outputs=tmp_path / "x"
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert list(report) == [
        "target",
        "alarm",
        "alarm_error",
        "function",
        "function_error",
        "incidents",
        "incidents_error",
        "kill_switch",
        "protected",
        "protected_error",
        "fleet",
    ]
    assert report["target"]["endpoint_url"] == deployed and report["target"]["local"] is True
    assert report["target"]["chosen_by"] == "--endpoint-url"
    assert report["alarm"]["name"] == ALARM and report["alarm"]["state"] == "ALARM"
    assert report["alarm"]["reason"].startswith("Threshold Crossed") and report["alarm_error"] is None
    function = report["function"]
    assert function["name"] == FUNCTION
    assert list(function["failure"]) == [
        "FAILURE_RATE",
        "FAILURE_MODE",
        "LATENCY_MS",
        "FAILURE_STATUS_CODE",
        "FAILURE_INJECTION_ENABLED",
    ]
    assert function["markers"]["HEALED_AT"] == "2026-11-23T19:52:00Z"
    assert function["markers"]["HEALED_BY"] is None
    [incident] = report["incidents"]
    assert incident["incident_id"] == "inc-1" and incident["status"] == "RECOVERED"
    assert incident["time_to_recover"] == 42.5 and incident["alarm_time"] == "2026-11-23T19:52:00Z"
    assert result.stderr.startswith(f"target: the local cloud at {deployed} (--endpoint-url")
    # No registry under /selfheal/selfheal: no protected function, and the kill switch reads as engaged
    # (the healer fails closed on a kill switch it cannot read).
    assert report["protected"] == [] and report["protected_error"] is None
    assert report["kill_switch"]["engaged"] is True and "ParameterNotFound" in report["kill_switch"]["reason"]


def test_status_output_json_keeps_its_keys_when_parts_are_missing(deployed: str, tmp_path: Path) -> None:
    """A deployment that is not there still gives every key: null parts and their errors; exit 1."""
    argv = ["status", "-o", "json", "--prefix", "nobody", "--workdir", str(tmp_path)]
    result = _invoke(deployed, *argv, outputs=tmp_path / "x")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["alarm"] is None and "nobody-fragile-errors" in report["alarm_error"]
    assert report["function"] is None and "nobody-fragile" in report["function_error"]
    assert report["incidents"] == [] and "incidents_error" in report


THIS_PYTHON = f"python{sys.version_info[0]}.{sys.version_info[1]}"
OTHER_PYTHON = "python3.13" if THIS_PYTHON == "python3.12" else "python3.12"


@pytest.mark.parametrize("runtime", [OTHER_PYTHON, THIS_PYTHON])
def test_status_shows_the_runtime_note_of_a_function_run_on_another_python(
    deployed: str, tmp_path: Path, runtime: str
) -> None:
    """On a local cloud with no interpreter for the function's runtime, status shows the runtime and the
    note the cloud logs at each cold start (which Python runs it instead); none when the runtime's runs it."""
    prefix = runtime.replace(".", "")
    _client(deployed, "lambda").create_function(
        FunctionName=f"{prefix}-fragile",
        Runtime=runtime,
        Role="arn:aws:iam::123456789012:role/fragile-role",
        Handler="app.handler",
        Code={"ZipFile": _zip()},
    )
    empty = tmp_path / "bin"  # a PATH on which no pythonX.Y is found
    empty.mkdir()
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "PATH": str(empty)}
    argv = ["status", "--endpoint-url", deployed, "--region", "us-east-1", "--prefix", prefix]
    text = CliRunner().invoke(app, [*argv, "--outputs", str(tmp_path / "x")], env={**env, "COLUMNS": "300"})
    as_json = CliRunner().invoke(app, [*argv, "--outputs", str(tmp_path / "x"), "-o", "json"], env=env)
    assert text.exit_code == 0 and as_json.exit_code == 0, text.output + as_json.output
    function = json.loads(as_json.stdout)["function"]
    shown = " ".join(text.stdout.replace("│", " ").split())
    assert function["runtime"] == runtime and f"runtime {runtime} " in shown
    if runtime == THIS_PYTHON:
        assert function["runtime_note"] is None and "runtime note" not in shown
        return
    note = function["runtime_note"]
    assert note.startswith(
        f"selfheal: runtime {runtime} requested; running on Python {platform.python_version()}"
    )
    assert f"runtime note {note}" in shown


def test_inject_output_json(deployed: str, tmp_path: Path) -> None:
    """`inject --output json` reports the function, whether it changed and each change."""
    argv = ["inject", "--rate", "0.25", "--output", "json", "--workdir", str(tmp_path)]
    result = _invoke(deployed, *argv, outputs=tmp_path / "x")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["function"] == FUNCTION and answer["updated"] is True
    assert answer["changed"]["FAILURE_RATE"][1] == "0.25"


def test_dashboard_on_a_taken_port_exits_1(deployed: str, tmp_path: Path) -> None:
    """A port already in use is a failure at run time (exit 1, one line), as for `up` and `cloud`."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        argv = [
            "dashboard",
            "--port",
            str(port),
            "--workdir",
            str(tmp_path),
            "--outputs",
            str(tmp_path / "x"),
        ]
        completed = subprocess.run(
            [sys.executable, "-c", "from selfheal.cli import main; main()", *argv],
            capture_output=True,
            text=True,
            timeout=60,
            env=_moto_env(deployed),
        )
    assert completed.returncode == 1, completed.stdout + completed.stderr
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and f"port {port} on 127.0.0.1" in lines[0]


def test_dashboard_of_a_deployment_that_is_not_there_fails_fast(deployed: str, tmp_path: Path) -> None:
    """`selfheal dashboard` for names nothing answers to stops at once with one line, exit 1."""
    argv = ["dashboard", "--port", "0", "--prefix", "nobody", "--workdir", str(tmp_path)]
    completed = subprocess.run(
        [sys.executable, "-c", "from selfheal.cli import main; main()", *argv],
        capture_output=True,
        text=True,
        timeout=60,
        env=_moto_env(deployed),
    )
    assert completed.returncode == 1, completed.stdout + completed.stderr
    errors = [line for line in completed.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "not found" in errors[0] and "nobody-fragile" in errors[0]
    assert "dashboard:" not in completed.stdout


# ----- the protected functions of `status` ----------------------------------------------------------------

UNIT_REGISTRY = "/selfheal/unit"
UNIT_LEDGER = "unit-ledger"


def _incident_item(incident_id: str, alarm: str, status: str, minute: int) -> dict[str, Any]:
    return {
        "pk": {"S": "INCIDENTS"},
        "sk": {"S": f"2026-11-23T20:{minute:02d}:00Z#{incident_id}"},
        "incident_id": {"S": incident_id},
        "alarm_name": {"S": alarm},
        "status": {"S": status},
        "alarm_time": {"S": f"2026-11-23T20:{minute:02d}:00+00:00"},
    }


@pytest.fixture(scope="module")
def registered(deployed: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A registry under /selfheal/unit (the fragile alarm in auto mode, `orders` behind an alias in approve
    mode with no alarm of its own, an entry that does not parse; kill switch on), a ledger with open and
    closed incidents, and the outputs file naming both."""
    from healer.registry import Protection

    ssm = _client(deployed, "ssm")
    entries = {
        ALARM: Protection(
            ALARM, FUNCTION, ("set_env",), "auto", signal="errors", set_env={"FAILURE_RATE": "0"}
        ),
        "orders-errors": Protection(
            "orders-errors",
            "orders",
            ("rollback_alias", "restart"),
            "approve",
            alias_name="live",
            signal="errors",
        ),
    }
    for alarm, protection in entries.items():
        ssm.put_parameter(Name=f"{UNIT_REGISTRY}/alarms/{alarm}", Value=protection.to_json(), Type="String")
    ssm.put_parameter(Name=f"{UNIT_REGISTRY}/alarms/zz-broken", Value="{}", Type="String")
    ssm.put_parameter(Name=f"{UNIT_REGISTRY}/kill-switch", Value="on", Type="String")
    dynamodb = _client(deployed, "dynamodb")
    dynamodb.create_table(
        TableName=UNIT_LEDGER,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    for item in (
        _incident_item("inc-done", ALARM, "RECOVERED", 1),
        _incident_item("inc-open", ALARM, "ACTED", 2),
        _incident_item("inc-wait", "orders-errors", "AWAITING_APPROVAL", 3),
    ):
        dynamodb.put_item(TableName=UNIT_LEDGER, Item=item)
    outputs = tmp_path_factory.mktemp("registry") / "outputs.json"
    outputs.write_text(json.dumps({"ledger_table_name": UNIT_LEDGER, "registry_path": UNIT_REGISTRY}))
    return outputs


def _status(endpoint: str, outputs: Path, *extra: str) -> Any:
    argv = ["status", "--endpoint-url", endpoint, "--region", "us-east-1", "--outputs", str(outputs), *extra]
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "COLUMNS": "300"}
    return CliRunner().invoke(app, argv, env=env)


def test_status_lists_every_registered_alarm_with_its_state_and_open_incidents(
    deployed: str, registered: Path
) -> None:
    """The registry named by the outputs' `registry_path`: one row per alarm with function, signal, mode,
    playbook, the alarm's state and its open incidents only; a bad entry's row says its problem."""
    result = _status(deployed, registered, "-o", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["kill_switch"]["engaged"] is True and "is on" in report["kill_switch"]["reason"]
    assert report["protected_error"] is None
    assert report["protected"] == [
        {
            "function": "orders",
            "alarm": "orders-errors",
            "signal": "errors",
            "mode": "approve",
            "playbook": ["rollback_alias", "restart"],
            "alias": "live",
            "alarm_state": None,
            "open_incidents": ["inc-wait"],
            "problem": None,
        },
        {
            "function": FUNCTION,
            "alarm": ALARM,
            "signal": "errors",
            "mode": "auto",
            "playbook": ["set_env"],
            "alias": None,
            "alarm_state": "ALARM",
            "open_incidents": ["inc-open"],
            "problem": None,
        },
        {
            "function": None,
            "alarm": "zz-broken",
            "signal": None,
            "mode": None,
            "playbook": [],
            "alias": None,
            "alarm_state": None,
            "open_incidents": [],
            "problem": "schema_version must be 1, got None",
        },
    ]


def test_status_text_shows_the_protected_functions_table(deployed: str, registered: Path) -> None:
    """The text report titles the table with the registry and the kill switch, and says why it is on."""
    result = _status(deployed, registered)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "Protected functions (registry /selfheal/unit, kill switch on)" in text
    rows = {line.split("│")[2].strip(): line for line in text.splitlines() if line.count("│") == 8}
    assert set(rows) == {"orders-errors", ALARM, "zz-broken"}, text
    assert "orders:live" in rows["orders-errors"] and "approve" in rows["orders-errors"]
    assert "rollback_alias, restart" in rows["orders-errors"] and "not found" in rows["orders-errors"]
    assert "inc-wait" in rows["orders-errors"]
    assert "ALARM" in rows[ALARM] and "inc-open" in rows[ALARM] and "inc-done" not in rows[ALARM]
    assert "invalid entry: schema_version must be 1" in rows["zz-broken"]
    assert "kill switch /selfheal/unit/kill-switch is on: observing only" in text


def test_an_unreadable_registry_is_one_line_and_the_rest_still_shows(
    deployed: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A registry that cannot be listed is a yellow line (text) or null + `protected_error` (JSON); the
    alarm, function and incidents still show and the exit code is 0."""
    from botocore.exceptions import ClientError

    from healer.registry import Registry, RegistryUnavailable

    def refuse(self: Registry) -> Any:
        denied = ClientError(
            {"Error": {"Code": "AccessDeniedException", "Message": "not allowed"}}, "GetParametersByPath"
        )
        raise RegistryUnavailable("GetParametersByPath failed") from denied

    monkeypatch.setattr(Registry, "protections", refuse)
    text = _status(deployed, tmp_path / "x")
    as_json = _status(deployed, tmp_path / "x", "-o", "json")
    assert text.exit_code == 0 and as_json.exit_code == 0, text.output + as_json.output
    assert "registry /selfheal/selfheal unreadable: access denied" in text.stdout
    assert "not allowed" in text.stdout and "FAILURE_RATE" in text.stdout and "RECOVERED" in text.stdout
    report = json.loads(as_json.stdout)
    assert report["protected"] is None and report["kill_switch"] is None
    assert report["protected_error"].startswith("registry /selfheal/selfheal unreadable: access denied")
    assert report["alarm"]["state"] == "ALARM" and report["incidents"]


def test_alarm_states_are_read_100_names_a_call() -> None:
    """DescribeAlarms takes at most 100 names: 250 alarms are three calls, metric and composite alarms."""
    from selfheal.loop.protected import alarm_states

    calls: list[dict[str, Any]] = []

    class Cloudwatch:
        def describe_alarms(self, **request: Any) -> dict[str, Any]:
            calls.append(request)
            names = request["AlarmNames"]
            return {
                "MetricAlarms": [{"AlarmName": n, "StateValue": "OK"} for n in names if n != "a-007"],
                "CompositeAlarms": [{"AlarmName": n, "StateValue": "ALARM"} for n in names if n == "a-007"],
            }

    names = [f"a-{i:03d}" for i in range(250)]
    states = alarm_states(Cloudwatch(), [*names, "a-001"])
    assert [len(call["AlarmNames"]) for call in calls] == [100, 100, 50]
    assert all(call["AlarmTypes"] == ["MetricAlarm", "CompositeAlarm"] for call in calls)
    assert len(states) == 250 and states["a-007"] == "ALARM" and states["a-249"] == "OK"
