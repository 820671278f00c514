"""Tests of `selfheal approve` and `selfheal restore` against a stand-in for the healer's Invoke: what is
sent, how each kind of answer is shown and which exit code it gives."""

from __future__ import annotations

import getpass
import io
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from typer.testing import CliRunner

import selfheal.cli.incident_commands as incident_commands
from selfheal.cli.app import app
from selfheal.loop.deployment import AwsTarget, Deployment

INCIDENT = "inc-0123456789abcdef0123"
SUMMARY = {
    "command": "approve",
    "operator": "alice",
    "incident_id": INCIDENT,
    "decision": "act",
    "code": "approved",
    "reason": "approved by alice: step 1: set_env FAILURE_RATE=0 (was 0.5) on orders",
    "action_taken": "set_env FAILURE_RATE=0 (was 0.5)",
    "escalated": False,
    "verification": "verified by DescribeAlarms",
    "time_to_recover_seconds": 12.5,
}


class FakeLambda:
    """Records each Invoke and answers with the response it was given (or raises it)."""

    def __init__(self, response: dict[str, Any] | Exception) -> None:
        self.response = response
        self.calls: list[dict[str, Any]] = []
        self.configs: list[Any] = []

    def invoke(self, **request: Any) -> dict[str, Any]:
        self.calls.append(request)
        if isinstance(self.response, Exception):
            raise self.response
        return self.response


def _answer(body: Any, function_error: str | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(body).encode())}
    if function_error:
        response["FunctionError"] = function_error
    return response


@pytest.fixture
def healer(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Make every client the CLI asks for the fake Lambda; returns a setter of the healer's response."""
    made: dict[str, FakeLambda] = {}

    def client(self: AwsTarget, service: str, config: Any = None) -> FakeLambda:
        assert service == "lambda", service
        made["lambda"].configs.append(config)
        return made["lambda"]

    monkeypatch.setattr(AwsTarget, "client", client)

    def answer(response: dict[str, Any] | Exception) -> FakeLambda:
        made["lambda"] = FakeLambda(response)
        return made["lambda"]

    return answer


def _selfheal(tmp_path: Path, *arguments: str) -> Any:
    """The CLI against a made-up endpoint (the fake answers), names by prefix `shop`."""
    argv = [*arguments, "--endpoint-url", "http://127.0.0.1:9", "--region", "eu-west-1", "--prefix", "shop"]
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_PROFILE": None}
    return CliRunner().invoke(app, [*argv, "--workdir", str(tmp_path)], env={**env, "COLUMNS": "200"})


def _errors(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("error: ")]


@pytest.mark.parametrize("command", ["approve", "restore"])
def test_the_command_is_one_synchronous_invoke_of_the_healer(
    command: str, healer: Any, tmp_path: Path
) -> None:
    """The healer of the deployment gets exactly the command, synchronously, on a client that waits out the
    healer's 900 s and never sends it twice; stderr says first what is happening."""
    fake = healer(_answer({"results": [{**SUMMARY, "command": command}], "rejected": []}))
    result = _selfheal(tmp_path, command, INCIDENT, "--operator", "alice")
    assert result.exit_code == 0, result.output
    [call] = fake.calls
    assert call["FunctionName"] == "shop-healer" and call["InvocationType"] == "RequestResponse"
    assert json.loads(call["Payload"]) == {
        "selfheal_command": command,
        "incident_id": INCIDENT,
        "operator": "alice",
    }
    [config] = fake.configs
    assert config.read_timeout > 900 and config.retries["total_max_attempts"] == 1
    lines = result.stderr.splitlines()
    assert lines[0].startswith("target: the local cloud at http://127.0.0.1:9")
    assert lines[1].startswith(f"{command[:-1]}ing {INCIDENT} as alice: the healer ")


def test_approve_prints_the_healers_summary(healer: Any, tmp_path: Path) -> None:
    """The summary's decision, code, reason, action and verification are shown; exit 0."""
    healer(_answer({"results": [SUMMARY], "rejected": []}))
    result = _selfheal(tmp_path, "approve", INCIDENT, "--operator", "alice")
    assert result.exit_code == 0, result.output
    for value in (
        "approved",
        SUMMARY["reason"],
        SUMMARY["action_taken"],
        "verified by DescribeAlarms",
        "12.5",
    ):
        assert str(value) in result.stdout, value
    assert "approving" in result.stderr and "up to the verify deadline" in result.stderr


def test_output_json_prints_the_healers_answer(healer: Any, tmp_path: Path) -> None:
    """`-o json` prints the healer's answer as it came."""
    answer = {"results": [SUMMARY], "rejected": []}
    healer(_answer(answer))
    result = _selfheal(tmp_path, "approve", INCIDENT, "-o", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == answer


def test_a_rejected_command_is_its_reason_and_exit_1(healer: Any, tmp_path: Path) -> None:
    """The healer's rejection is one `error:` line with its reason, exit 1 (-o json still prints it)."""
    reason = f"incident {INCIDENT} is RECOVERED, not AWAITING_APPROVAL"
    answer = {"results": [], "rejected": [{"error": "Rejected", "reason": reason}]}
    healer(_answer(answer))
    text = _selfheal(tmp_path, "approve", INCIDENT)
    healer(_answer(answer))
    as_json = _selfheal(tmp_path, "approve", INCIDENT, "-o", "json")
    assert text.exit_code == 1 and as_json.exit_code == 1
    assert _errors(text.stderr) == [f"error: {reason}"] and text.stdout == ""
    assert json.loads(as_json.stdout) == answer and _errors(as_json.stderr) == [f"error: {reason}"]


def test_a_healer_that_crashed_is_one_line_and_exit_1(healer: Any, tmp_path: Path) -> None:
    """A FunctionError names the error's type and message and where to look; exit 1, no traceback."""
    body = {"errorMessage": "boom", "errorType": "RuntimeError", "stackTrace": ["  File x"]}
    healer(_answer(body, function_error="Unhandled"))
    result = _selfheal(tmp_path, "restore", INCIDENT)
    assert result.exit_code == 1, result.output
    [error] = _errors(result.stderr)
    assert "shop-healer failed (RuntimeError): boom" in error and "selfheal logs shop-healer" in error
    assert "Traceback" not in result.output and "File x" not in result.output


def test_an_internal_error_of_the_healer_is_exit_1(healer: Any, tmp_path: Path) -> None:
    """A command the healer failed inside (code internal_error) is not a success: its reason, exit 1."""
    failed = {
        **SUMMARY,
        "decision": "escalate",
        "code": "internal_error",
        "reason": "the healer failed: boom",
    }
    healer(_answer({"results": [failed], "rejected": []}))
    result = _selfheal(tmp_path, "restore", INCIDENT)
    assert result.exit_code == 1
    assert _errors(result.stderr) == ["error: the healer failed: boom"]


def test_an_aws_error_is_one_line(healer: Any, tmp_path: Path) -> None:
    """A healer that is not deployed is `not found … is it deployed?`, exit 1."""
    missing = ClientError(
        {"Error": {"Code": "ResourceNotFoundException", "Message": "Function not found: shop-healer"}},
        "Invoke",
    )
    healer(missing)
    result = _selfheal(tmp_path, "approve", INCIDENT)
    assert result.exit_code == 1
    [error] = _errors(result.stderr)
    assert "not found" in error and "shop-healer" in error and "is it deployed?" in error


@pytest.mark.parametrize(
    "incident",
    ["inc-123", "INC-0123456789abcdef0123", "inc-0123456789ABCDEF0123", "inc-0123456789abcdef012g", "x", ""],
)
@pytest.mark.parametrize("command", ["approve", "restore"])
def test_a_malformed_incident_id_sends_nothing(
    command: str, incident: str, healer: Any, tmp_path: Path
) -> None:
    """A malformed INCIDENT is one line naming the expected form, exit 2, and nothing is sent."""
    fake = healer(_answer({"results": [SUMMARY], "rejected": []}))
    result = _selfheal(tmp_path, command, incident)
    assert result.exit_code == 2, result.output
    assert [line for line in result.output.splitlines() if line.strip()] == [
        f"error: INCIDENT must look like inc-<20 lowercase hex digits>, got {incident!r}"
    ]
    assert fake.calls == [] and fake.configs == []


@pytest.mark.parametrize("operator", ["", "eve;rm", "x" * 129, "new\nline"])
def test_an_operator_the_healer_would_refuse_is_exit_2(operator: str, healer: Any, tmp_path: Path) -> None:
    """--operator is checked with the healer's own rule before anything is sent."""
    fake = healer(_answer({"results": [SUMMARY], "rejected": []}))
    result = _selfheal(tmp_path, "approve", INCIDENT, "--operator", operator)
    assert result.exit_code == 2, result.output
    assert _errors(result.output)[0].startswith("error: --operator must be 1-128")
    assert fake.calls == []


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        ("alice", "alice"),
        ("CORP\\bob smith", "CORP_bob smith"),
        ("ève.o'neil@example.com", "ève.o_neil@example.com"),
        ("x" * 200, "x" * 128),
        ("", "operator"),
        (OSError("no user name"), "operator"),
    ],
)
def test_the_default_operator_is_the_user_name_made_acceptable(
    user: str | Exception, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --operator the local user name is used, each character the healer refuses made `_`."""

    def getuser() -> str:
        if isinstance(user, Exception):
            raise user
        return user

    monkeypatch.setattr(getpass, "getuser", getuser)
    assert incident_commands.default_operator() == expected
    assert incident_commands.check_operator(None) == expected


def test_the_default_operator_is_sent(healer: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command carries the sanitised user name when no --operator is given."""
    monkeypatch.setattr(getpass, "getuser", lambda: "CORP\\carol")
    fake = healer(_answer({"results": [SUMMARY], "rejected": []}))
    assert _selfheal(tmp_path, "restore", INCIDENT).exit_code == 0
    assert json.loads(fake.calls[0]["Payload"])["operator"] == "CORP_carol"


def test_the_registry_path_follows_the_prefix_or_the_outputs(tmp_path: Path) -> None:
    """`registry_path` is /selfheal/<prefix> by convention, the outputs' value when they have one."""
    assert Deployment.from_prefix("shop").registry_path == "/selfheal/shop"
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps({"registry_path": "/teams/payments"}))
    assert Deployment.resolve(None, outputs).registry_path == "/teams/payments"
    outputs.write_text(json.dumps({"ledger_table_name": "t"}))
    assert Deployment.resolve(None, outputs).registry_path == "/selfheal/selfheal"


def test_a_client_config_overrides_only_what_it_sets() -> None:
    """`AwsTarget.client(service, config)` keeps the usual settings and takes the given ones (the Invoke's
    long read timeout and single attempt)."""
    target = AwsTarget("http://127.0.0.1:9", "eu-west-1")
    usual = target.client("lambda").meta.config
    invoking = target.client("lambda", config=incident_commands._INVOKE_CONFIG).meta.config
    assert usual.read_timeout == 15 and invoking.read_timeout == incident_commands.HEALER_TIMEOUT_SECONDS + 30
    assert invoking.retries["total_max_attempts"] == 1 and usual.retries["total_max_attempts"] == 3
    assert invoking.region_name == usual.region_name == "eu-west-1"
