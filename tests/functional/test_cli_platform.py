"""Functional tests of the platform's CLI against a LocalCloud where the healer really runs: `selfheal
approve`, `selfheal restore` and the protected functions of `selfheal status`."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from selfheal.cli.app import app
from selfheal.cloud import LocalCloud
from selfheal.cloud.credentials import OPERATOR_PROFILE, load_or_create
from selfheal.cloud.testing import ProvisionedLoop, provision_loop

EVENTS = Path(__file__).resolve().parents[1] / "events"
# 60 cloud seconds of verification take one real second; no cooldown between this module's incidents.
LOOP = {"failure_rate": 1.0, "healer_verify_timeout_seconds": 60, "healer_cooldown_seconds": 0}
pytestmark = pytest.mark.timeout(240)


@pytest.fixture(scope="module")
def credentials_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The module cloud's operator key, as `selfheal cloud --workdir` keeps it."""
    return tmp_path_factory.mktemp("workdir") / "credentials"


@pytest.fixture(scope="module")
def cloud(credentials_file: Path) -> Iterator[LocalCloud]:
    """A LocalCloud at time scale 60 (IAM enforced: the healer runs with its role's policies)."""
    with LocalCloud(port=0, time_scale=60.0, operator_key=load_or_create(credentials_file)) as running:
        yield running


@pytest.fixture(autouse=True)
def _elsewhere(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Run in an empty directory: no `.selfheal/` of the checkout is picked up."""
    monkeypatch.chdir(tmp_path)


def _loop(cloud: LocalCloud, prefix: str, **settings: Any) -> ProvisionedLoop:
    """The seed's loop under ``prefix``; its alarm's actions off, so only this test's events reach the
    healer (the alarm going OK on its own would close the incidents)."""
    loop = provision_loop(cloud, name_prefix=prefix, **LOOP, **settings)
    cloud.client("cloudwatch").disable_alarm_actions(AlarmNames=[loop.alarm_name])
    return loop


def _alarm(cloud: LocalCloud, loop: ProvisionedLoop) -> dict[str, Any]:
    """Invoke the loop's healer as SNS does with an ALARM of its alarm, stamped now; its one summary."""
    prefix = loop.settings.name_prefix
    event = json.loads((EVENTS / "sns_alarm_fragile.json").read_text().replace("selfheal-", f"{prefix}-"))
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    now = datetime.fromtimestamp(cloud.clock.now(), UTC)
    message["StateChangeTime"] = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    event["Records"][0]["Sns"]["MessageId"] = str(uuid.uuid4())
    response = cloud.client("lambda").invoke(
        FunctionName=loop.healer_function_name, Payload=json.dumps(event).encode()
    )
    body = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, body
    [summary] = body["results"]
    return dict(summary)


def _failure_rate(cloud: LocalCloud, loop: ProvisionedLoop) -> str:
    config = cloud.client("lambda").get_function_configuration(FunctionName=loop.fragile_function_name)
    return str(config["Environment"]["Variables"]["FAILURE_RATE"])


def _selfheal(cloud: LocalCloud, credentials: Path, loop: ProvisionedLoop, *arguments: str) -> Any:
    """The CLI in-process against ``cloud``, names by the loop's prefix, signed as `selfheal cloud` says."""
    return CliRunner().invoke(
        app,
        [*arguments, "--endpoint-url", cloud.endpoint, "--prefix", loop.settings.name_prefix],
        env={
            "AWS_SHARED_CREDENTIALS_FILE": str(credentials),
            "AWS_PROFILE": OPERATOR_PROFILE,
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_ACCESS_KEY_ID": None,
            "AWS_SECRET_ACCESS_KEY": None,
            "AWS_SESSION_TOKEN": None,
            "AWS_ENDPOINT_URL": None,
            "COLUMNS": "300",
        },
    )


def _errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("error: ")]


def _incident(cloud: LocalCloud, loop: ProvisionedLoop, incident_id: str) -> dict[str, Any]:
    items = cloud.client("dynamodb").scan(TableName=loop.ledger_table_name)["Items"]
    [item] = [
        i for i in items if i.get("incident_id", {}).get("S") == incident_id and i["pk"]["S"] == "INCIDENTS"
    ]
    return dict(item)


def test_restore_puts_back_what_the_healer_changed(cloud: LocalCloud, credentials_file: Path) -> None:
    """`selfheal restore` of a healed incident puts FAILURE_RATE back, records a restore by the operator,
    and a second restore is refused with the healer's reason and exit 1."""
    loop = _loop(cloud, "mend")
    healed = _alarm(cloud, loop)
    assert healed["action_taken"].startswith("set_env FAILURE_RATE=0 "), healed
    assert _failure_rate(cloud, loop) == "0"
    incident_id = healed["incident_id"]

    result = _selfheal(cloud, credentials_file, loop, "restore", incident_id, "--operator", "alice")

    assert result.exit_code == 0, result.output
    assert f"restoring {incident_id} as alice" in result.stderr
    assert "restore by alice: restored" in result.stdout and "step 1 set_env: applied" in result.stdout
    assert _failure_rate(cloud, loop) == "1.0"
    items = cloud.client("dynamodb").scan(TableName=loop.ledger_table_name)["Items"]
    restores = [i for i in items if i["pk"]["S"] == "RESTORES"]
    assert len(restores) == 1 and restores[0]["sk"]["S"].endswith(f"#{incident_id}")
    assert "alice" in json.dumps(restores[0])
    assert "restored_at" in _incident(cloud, loop, incident_id)

    again = _selfheal(cloud, credentials_file, loop, "restore", incident_id, "-o", "json")

    assert again.exit_code == 1, again.output
    assert _errors(again.stderr) == [f"error: incident {incident_id} was restored already"]
    assert json.loads(again.stdout)["rejected"][0]["reason"].endswith("was restored already")
    assert _failure_rate(cloud, loop) == "1.0"


def test_status_lists_the_protected_function_and_approve_acts(
    cloud: LocalCloud, credentials_file: Path
) -> None:
    """An approve-mode incident shows in `status` (mode, open incident, kill switch); approving it while
    the kill switch is on is refused with the healer's reason; once off, `selfheal approve` acts."""
    loop = _loop(cloud, "gate", healer_mode="approve")
    waiting = _alarm(cloud, loop)
    assert waiting["code"] == "awaiting_approval", waiting
    assert _failure_rate(cloud, loop) == "1.0"
    incident_id = waiting["incident_id"]
    ssm = cloud.client("ssm")
    ssm.put_parameter(Name="/selfheal/gate/alarms/gate-broken", Value="{not json", Type="String")

    text = _selfheal(cloud, credentials_file, loop, "status")
    listed = _selfheal(cloud, credentials_file, loop, "status", "-o", "json")

    assert text.exit_code == 0 and listed.exit_code == 0, text.output + listed.output
    assert "Protected functions (registry /selfheal/gate, kill switch off)" in text.stdout
    row = next(
        line for line in text.stdout.splitlines() if "gate-fragile-errors" in line and "approve" in line
    )
    assert "gate-fragile" in row and "set_env" in row and incident_id in row
    assert "invalid entry" in text.stdout
    report = json.loads(listed.stdout)
    assert report["kill_switch"] == {"engaged": False, "reason": "kill switch off"}
    assert report["protected_error"] is None
    [broken, fragile] = report["protected"]
    assert broken["alarm"] == "gate-broken" and "not JSON" in broken["problem"]
    assert fragile == {
        "function": "gate-fragile",
        "alarm": "gate-fragile-errors",
        "signal": "errors",
        "mode": "approve",
        "playbook": ["set_env"],
        "alias": None,
        "alarm_state": fragile["alarm_state"],
        "open_incidents": [incident_id],
        "problem": None,
    }
    assert fragile["alarm_state"] in ("OK", "ALARM", "INSUFFICIENT_DATA")
    [gate, invalid] = report["fleet"]
    assert gate["function"] == "gate-fragile" and gate["modes"] == ["approve"]
    assert gate["open_incident"]["id"] == incident_id
    assert gate["open_incident"]["status"] == "AWAITING_APPROVAL"
    assert gate["last_action"] is None  # nothing done before the approval
    assert invalid["function"] is None and "not JSON" in invalid["problem"]
    assert f"{incident_id} AWAITING_APPROVAL" in text.stdout

    ssm.put_parameter(Name="/selfheal/gate/kill-switch", Value="on", Type="String", Overwrite=True)
    engaged = _selfheal(cloud, credentials_file, loop, "status", "-o", "json")
    refused = _selfheal(cloud, credentials_file, loop, "approve", incident_id, "--operator", "bob")

    assert json.loads(engaged.stdout)["kill_switch"]["engaged"] is True
    assert refused.exit_code == 1, refused.output
    [error] = _errors(refused.stderr)
    assert "kill switch" in error and "the approval waits" in error
    assert _failure_rate(cloud, loop) == "1.0"
    assert _incident(cloud, loop, incident_id)["status"]["S"] == "AWAITING_APPROVAL"

    ssm.put_parameter(Name="/selfheal/gate/kill-switch", Value="off", Type="String", Overwrite=True)
    approved = _selfheal(cloud, credentials_file, loop, "approve", incident_id, "--operator", "bob")

    assert approved.exit_code == 0, approved.output
    assert f"approving {incident_id} as bob: the healer acts and verifies" in approved.stderr
    assert "approved by bob" in approved.stdout and "set_env FAILURE_RATE=0" in approved.stdout
    assert "verification" in approved.stdout
    assert _failure_rate(cloud, loop) == "0"
    assert _incident(cloud, loop, incident_id)["status"]["S"] != "AWAITING_APPROVAL"

    twice = _selfheal(cloud, credentials_file, loop, "approve", incident_id)

    assert twice.exit_code == 1 and "not AWAITING_APPROVAL" in _errors(twice.stderr)[0], twice.output
