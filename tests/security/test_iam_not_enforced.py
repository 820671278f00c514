"""With enforce_iam=False, role credentials are still handed out but their policies are not enforced."""

from __future__ import annotations

import json

import pytest

from conftest import AwsFactory, failure_rate, invoke_healer
from selfheal.cloud import LocalCloud
from selfheal.cloud.testing import provision_loop

CLOUD_TIME_SCALE = 60.0
ENFORCE_IAM = False
pytestmark = pytest.mark.timeout(180)


def test_healer_without_permissions_heals_when_not_enforced(cloud: LocalCloud, aws: AwsFactory) -> None:
    """A healer role with no Lambda permission still heals: nothing checks it, and nothing is counted."""
    loop = provision_loop(cloud, name_prefix="lax", failure_rate=1.0, healer_verify_timeout_seconds=60)
    nothing = {"Effect": "Allow", "Action": "sqs:ListQueues", "Resource": "*"}
    aws("iam").put_role_policy(
        RoleName=loop.healer_role_arn.rsplit("/", 1)[1],
        PolicyName="lambda-config",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [nothing]}),
    )
    assert not cloud.iam.active

    summary = invoke_healer(aws, cloud, "lax")

    assert summary["action_taken"].startswith("set_env FAILURE_RATE=0 "), summary
    assert failure_rate(aws, "lax") == "0"
    assert cloud.iam.refusals == 0 and cloud.credentials.secrets()
