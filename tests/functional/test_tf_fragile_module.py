"""The whole deploy/fragile module (with the platform modules it calls), unchanged, through the wrapper
root module against a moto server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

from selfheal.terraform.driver import Terraform
from selfheal.terraform.stack import write_stack
from selfheal.terraform.testing import MOTO_CREDENTIALS, moto_endpoint

pytestmark = pytest.mark.timeout(300)

MODULE = Path(__file__).resolve().parents[2] / "deploy" / "fragile"


def client(service: str, endpoint: str) -> Any:
    return boto3.client(
        service,  # type: ignore[call-overload]
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def test_fragile_module_apply_drift_destroy(tmp_path: Path) -> None:
    """Apply, an empty re-plan, the healer's runtime drift planned and reverted, and a clean destroy."""
    stack = tmp_path / ".selfheal" / "stack"
    write_stack(stack, MODULE, {"failure_rate": "0.5", "healer_cooldown_seconds": "120"})
    with moto_endpoint() as endpoint:
        tf = Terraform(stack, endpoint, credentials=MOTO_CREDENTIALS)
        tf.init()
        tf.apply()
        out = tf.output()
        assert out["fragile_function_name"] == "selfheal-fragile"
        assert out["region"] == "us-east-1"
        assert out["alarm_name"] == "selfheal-fragile-errors"
        assert out["healer_function_name"] == "selfheal-healer"
        assert out["ledger_table_name"] == "selfheal-ledger"
        assert tf.plan().rc == 0

        # The fragile function's registry entry carries the seed's playbook and healer_* rails.
        ssm = client("ssm", endpoint)
        name = "/selfheal/selfheal/alarms/selfheal-fragile-errors"
        entry = json.loads(ssm.get_parameter(Name=name)["Parameter"]["Value"])
        assert (entry["function_name"], entry["signal"], entry["mode"]) == (
            "selfheal-fragile",
            "errors",
            "auto",
        )
        assert (entry["playbook"], entry["set_env"]) == (["set_env"], {"FAILURE_RATE": "0"})
        assert entry["rails"] == {
            "cooldown_seconds": 120,
            "max_actions_per_window": 3,
            "action_window_seconds": 3600,
            "verify_timeout_seconds": 600,
        }
        alarm = client("cloudwatch", endpoint).describe_alarms(AlarmNames=[out["alarm_name"]])["MetricAlarms"]
        assert [
            (a["MetricName"], a["Period"], a["EvaluationPeriods"], a["DatapointsToAlarm"]) for a in alarm
        ] == [("Errors", 60, 2, 2)]
        assert alarm[0]["AlarmActions"] == alarm[0]["OKActions"] == [out["alarm_topic_arn"]]
        healer = client("lambda", endpoint).get_function_configuration(
            FunctionName=out["healer_function_name"]
        )
        healer_env = healer["Environment"]["Variables"]
        assert healer_env["REGISTRY_PATH"] == "/selfheal/selfheal"
        assert (healer_env["DRY_RUN"], healer_env["FLEET_MAX_IN_FLIGHT"]) == ("false", "1")
        assert healer_env["FLEET_MAX_ACTIONS_PER_HOUR"] == "10"

        cloudwatch = client("cloudwatch", endpoint)
        body = json.loads(cloudwatch.get_dashboard(DashboardName=out["dashboard_name"])["DashboardBody"])
        titles = {w["properties"]["title"] for w in body["widgets"]}
        # The AWS dashboard shows the loop's panels, as the local one does.
        assert titles == {
            "Requests",
            "Fragile errors (alarm input)",
            "Alarm state",
            "Healer invocations and errors",
            "Time to recover (s)",
            "FAILURE_RATE the fragile function ran with",
            "Healer decisions",
        }
        queries = [w["properties"].get("query", "") for w in body["widgets"]]
        assert any("/aws/lambda/selfheal-healer" in q and "healer decision" in q for q in queries)

        lam = client("lambda", endpoint)
        env = lam.get_function_configuration(FunctionName="selfheal-fragile")["Environment"]["Variables"]
        assert env["FAILURE_RATE"] == "0.5"
        lam.update_function_configuration(
            FunctionName="selfheal-fragile",
            Environment={"Variables": {**env, "FAILURE_RATE": "0", "HEALED_BY": "selfheal-healer"}},
        )
        drift = tf.plan()
        actions = {c.address: c.action for c in drift.changes}
        assert actions["module.fragile.aws_lambda_function.fragile"] == "update"
        # The protect instance's grants name the function's ARN built from its parts (and deploy/fragile
        # passes it the name, not the resource), so the drift is the function alone: no policy document
        # is deferred and re-read.
        assert actions == {"module.fragile.aws_lambda_function.fragile": "update"}
        [fn] = [c for c in drift.changes if c.address.endswith("aws_lambda_function.fragile")]
        assert fn.before["environment"][0]["variables"]["FAILURE_RATE"] == "0"
        assert fn.after["environment"][0]["variables"]["FAILURE_RATE"] == "0.5"
        tf.apply()
        env = lam.get_function_configuration(FunctionName="selfheal-fragile")["Environment"]["Variables"]
        assert env["FAILURE_RATE"] == "0.5" and "HEALED_BY" not in env

        tf.destroy()
        assert tf.resources() == {}
        assert lam.list_functions()["Functions"] == []
        assert ssm.describe_parameters()["Parameters"] == []
