"""Tests of ``selfheal inject`` and ``selfheal status`` against a moto server on 127.0.0.1."""

from __future__ import annotations

import io
import json
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
    role = iam.create_role(RoleName="fragile-role", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
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
