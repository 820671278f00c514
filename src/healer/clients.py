"""The AWS clients the healer uses: created lazily, cached per process, with short timeouts.

boto3 honours ``AWS_ENDPOINT_URL`` itself, so the same code talks to the local cloud or to AWS.
``Clients`` bundles them so tests can hand in wrapped clients for error injection; ``error_code`` reads
the AWS error code of a failed call.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_ssm import SSMClient

__all__ = ["CLIENT_CONFIG", "Clients", "client", "default_clients", "error_code", "reset_clients"]

CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10)

_cache: dict[str, Any] = {}
_lock = threading.Lock()


def client(service: str) -> Any:
    """Return the cached boto3 client for ``service``, creating it on first use."""
    with _lock:
        if service not in _cache:
            _cache[service] = boto3.client(service, config=CLIENT_CONFIG)  # type: ignore[call-overload]
        return _cache[service]


def reset_clients() -> None:
    """Forget cached clients (tests that change credentials or endpoints call this)."""
    with _lock:
        _cache.clear()


@dataclass(frozen=True)
class Clients:
    """The collaborators of one healer run."""

    lambda_: LambdaClient
    dynamodb: DynamoDBClient
    sns: SNSClient
    cloudwatch: CloudWatchClient
    ssm: SSMClient


def default_clients() -> Clients:
    """The process-wide clients, created on first use."""
    return Clients(
        lambda_=client("lambda"),
        dynamodb=client("dynamodb"),
        sns=client("sns"),
        cloudwatch=client("cloudwatch"),
        ssm=client("ssm"),
    )


def error_code(exc: ClientError) -> str:
    """The AWS error code of a failed call (e.g. ``ConditionalCheckFailedException``); "" when absent."""
    return str(exc.response.get("Error", {}).get("Code", ""))
