"""Helpers for tests of the local cloud's APIs: an HTTP API in front of a function, an IAM user that invokes
(a module of its own name: a test that imported them from ``conftest`` would get whichever conftest module
was imported first)."""

from __future__ import annotations

import json
from typing import Any


def proxy_http_api(apigw: Any, region: str, function_arn: str, route_key: str) -> str:
    """Make an HTTP API (``apigw``: an apigatewayv2 client of ``region``) whose ``route_key`` invokes the
    function through a 2.0 proxy integration, on an auto-deployed ``$default`` stage; its id."""
    api = apigw.create_api(Name=f"api-{route_key.split()[-1].strip('/{}+') or 'root'}", ProtocolType="HTTP")
    integration = apigw.create_integration(
        ApiId=api["ApiId"],
        IntegrationType="AWS_PROXY",
        IntegrationUri=f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations",
        PayloadFormatVersion="2.0",
    )
    apigw.create_route(
        ApiId=api["ApiId"], RouteKey=route_key, Target=f"integrations/{integration['IntegrationId']}"
    )
    apigw.create_stage(ApiId=api["ApiId"], StageName="$default", AutoDeploy=True)
    return str(api["ApiId"])


def allow_invoke(iam: Any, user: str, function_arn: str) -> None:
    """Give the IAM ``user`` an inline policy allowing ``lambda:InvokeFunction`` on ``function_arn``."""
    statement = {"Effect": "Allow", "Action": "lambda:InvokeFunction", "Resource": function_arn}
    iam.put_user_policy(
        UserName=user,
        PolicyName="invoke",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )


def user_lambda_client(cloud: Any, iam: Any, user: str, **options: Any) -> Any:
    """Create the IAM ``user`` and an access key, and return a Lambda client of the cloud signing with it."""
    iam.create_user(UserName=user)
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return cloud.client(
        "lambda",
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        **options,
    )
