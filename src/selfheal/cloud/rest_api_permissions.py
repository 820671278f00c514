"""Whether API Gateway may invoke a function for a REST API request: the function's resource policy.

On AWS a Lambda proxy integration without a permission for ``apigateway.amazonaws.com`` (usually
``aws_lambda_permission`` with ``source_arn = "${execution_arn}/*/*"``) answers 500 ``Internal server
error`` ("Execution failed due to configuration error: Invalid permissions on Lambda function"). The
request's source ARN is ``arn:aws:execute-api:{region}:{account}:{api_id}/{stage}/{METHOD}/{path}``; the
policy's statements for that service principal are evaluated by :func:`.iam_policy.evaluate` with
``aws:SourceArn`` and ``aws:SourceAccount``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .iam_policy import evaluate

__all__ = ["PRINCIPAL", "may_invoke", "source_arn"]

PRINCIPAL = "apigateway.amazonaws.com"


def source_arn(region: str, account_id: str, api_id: str, stage: str, method: str, path: str) -> str:
    """The ARN API Gateway invokes a function as for ``method`` ``path`` on ``stage`` (path without ``/``)."""
    return f"arn:aws:execute-api:{region}:{account_id}:{api_id}/{stage}/{method}/{path.lstrip('/')}"


def _names_principal(statement: Mapping[str, Any]) -> bool:
    principal = statement.get("Principal")
    if principal == "*":
        return True
    services = principal.get("Service") if isinstance(principal, Mapping) else None
    return PRINCIPAL in ([services] if isinstance(services, str) else list(services or []))


def may_invoke(lambda_backend: Any, function_arn: str, source: str, account_id: str) -> bool:
    """Whether the resource policy of ``function_arn`` lets API Gateway invoke it as ``source``."""
    parts = function_arn.split(":")
    name, qualifier = (
        (parts[6], parts[7] if len(parts) > 7 else None) if len(parts) > 6 else (function_arn, None)
    )
    try:
        wire = json.loads(lambda_backend.get_policy(name, qualifier))
        policy = json.loads(wire["Policy"]) if isinstance(wire.get("Policy"), str) else wire
    except Exception:  # no such function, or no policy at all: nothing allows API Gateway
        return False
    statements = policy.get("Statement", [])
    # The policy read is that of the function (or qualifier) invoked: its statements are about it, whatever
    # form of its ARN they name.
    mine = [
        {**s, "Resource": function_arn} for s in statements if isinstance(s, Mapping) and _names_principal(s)
    ]
    context = {"aws:SourceArn": [source], "aws:SourceAccount": [account_id]}
    return evaluate([{"Statement": mine}], "lambda:InvokeFunction", function_arn, context) == "allow"
