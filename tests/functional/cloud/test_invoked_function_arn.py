"""``context.invoked_function_arn`` is the ARN the caller used, as the Lambda context documents."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from selfheal.cloud import LocalCloud

AwsFactory = Callable[[str], Any]

ARN_OF_CONTEXT = "def handler(event, context):\n    return context.invoked_function_arn\n"


def test_alias_version_and_unqualified_invokes_report_the_arn_they_used(
    cloud: LocalCloud, aws: AwsFactory, lambda_role: str, lambda_zip: Callable[..., bytes]
) -> None:
    lam = aws("lambda")
    arn = lam.create_function(
        FunctionName="arn-echo",
        Runtime="python3.11",
        Role=lambda_role,
        Handler="app.handler",
        Code={"ZipFile": lambda_zip(files={"app.py": ARN_OF_CONTEXT})},
        Publish=True,
    )["FunctionArn"]
    lam.get_waiter("function_active_v2").wait(FunctionName="arn-echo", WaiterConfig={"Delay": 1})
    unqualified = ":".join(arn.split(":")[:7])
    alias_arn = lam.create_alias(FunctionName="arn-echo", Name="live", FunctionVersion="1")["AliasArn"]

    def invoked(function: str, qualifier: str | None = None) -> str:
        extra = {"Qualifier": qualifier} if qualifier else {}
        return str(json.loads(lam.invoke(FunctionName=function, **extra)["Payload"].read()))

    assert invoked(alias_arn) == alias_arn
    assert invoked("arn-echo", "live") == alias_arn
    assert invoked("arn-echo", "1") == f"{unqualified}:1"
    assert invoked("arn-echo") == unqualified
