"""The whole deploy/fragile module (platform + protect) applied by Terraform to an enforcing LocalCloud:
its policies heal."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from conftest import AwsFactory, failure_rate, invoke_healer
from selfheal.cloud import LocalCloud
from selfheal.terraform.driver import Terraform
from selfheal.terraform.stack import write_stack

CLOUD_TIME_SCALE = 60.0
MODULE = Path(__file__).resolve().parents[2] / "deploy" / "fragile"
pytestmark = pytest.mark.timeout(300)


def test_module_policies_let_the_healer_heal_and_nothing_more(
    cloud: LocalCloud, aws: AwsFactory, tmp_path: Path
) -> None:
    """With the platform's and the protect instance's policies the healer resets FAILURE_RATE; its role
    still may not change another function (its own)."""
    stack = tmp_path / "stack"
    write_stack(stack, MODULE, {"failure_rate": "1", "healer_verify_timeout_seconds": "60"})
    tf = Terraform(stack, cloud.endpoint, credentials=cloud.operator_key.environment())
    tf.init()
    tf.apply()
    outputs = tf.output()
    assert failure_rate(aws, "selfheal") == "1"
    refusals = cloud.iam.refusals

    summary = invoke_healer(aws, cloud, "selfheal")

    assert summary["action_taken"].startswith("set_env FAILURE_RATE=0 "), summary
    assert failure_rate(aws, "selfheal") == "0"
    assert cloud.iam.refusals == refusals

    role = aws("lambda").get_function_configuration(FunctionName=outputs["healer_function_name"])["Role"]
    issued = cloud.credentials.issue(role, outputs["healer_function_name"])
    lam = boto3.client(
        "lambda",
        endpoint_url=cloud.endpoint,
        region_name=cloud.region,
        aws_access_key_id=issued.access_key_id,
        aws_secret_access_key=issued.secret_access_key,
        aws_session_token=issued.session_token,
    )
    with pytest.raises(ClientError) as denied:
        lam.update_function_configuration(FunctionName=outputs["healer_function_name"], Timeout=900)
    assert denied.value.response["Error"]["Code"] == "AccessDeniedException"
