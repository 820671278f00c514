"""The whole deploy/fragile module, unchanged, through the wrapper root module against a moto server."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from selfheal.terraform.driver import Terraform
from selfheal.terraform.stack import write_stack
from selfheal.terraform.testing import MOTO_CREDENTIALS, moto_endpoint

pytestmark = pytest.mark.timeout(300)

MODULE = Path(__file__).resolve().parents[2] / "deploy" / "fragile"


def test_fragile_module_apply_drift_destroy(tmp_path: Path) -> None:
    """Apply, an empty re-plan, the healer's runtime drift planned and reverted, and a clean destroy."""
    stack = tmp_path / ".selfheal" / "stack"
    write_stack(stack, MODULE, {"failure_rate": "0.5"})
    with moto_endpoint() as endpoint:
        tf = Terraform(stack, endpoint, credentials=MOTO_CREDENTIALS)
        tf.init()
        tf.apply()
        out = tf.output()
        assert out["fragile_function_name"] == "selfheal-fragile"
        assert out["region"] == "us-east-1"
        assert tf.plan().rc == 0

        cloudwatch = boto3.client(
            "cloudwatch",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
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

        lam = boto3.client(
            "lambda",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        env = lam.get_function_configuration(FunctionName="selfheal-fragile")["Environment"]["Variables"]
        assert env["FAILURE_RATE"] == "0.5"
        lam.update_function_configuration(
            FunctionName="selfheal-fragile",
            Environment={"Variables": {**env, "FAILURE_RATE": "0", "HEALED_BY": "selfheal-healer"}},
        )
        drift = tf.plan()
        actions = {c.address: c.action for c in drift.changes}
        assert actions["module.fragile.aws_lambda_function.fragile"] == "update"
        # The healer's policy names the function's ARN built from its parts, so the drift is the
        # function alone: no policy document is deferred and re-read.
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
