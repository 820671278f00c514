"""The AWS clients the healer uses: created lazily, cached per process, with short timeouts.

boto3 honours ``AWS_ENDPOINT_URL`` itself, so the same code talks to the local cloud or to AWS.
``Clients`` bundles them so tests can hand in wrapped clients for error injection; ``error_code`` reads
the AWS error code of a failed call.

A protected function's registry entry may name a *remediation role* (the protect module creates one per
function, docs/platform.md): the healer's own role may only assume such roles, and the calls on the
function (plan, apply, undo) and on its alarms (verify) go through a session of that role.
``Clients.acting_as`` gives those clients: one ``AssumeRole`` per role and process, renewed when less than
``RENEW_BEFORE_SECONDS`` of the session is left, so that a session outlives any one healer invocation.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from mypy_boto3_cloudwatch import CloudWatchClient
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_sns import SNSClient
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_sts import STSClient

__all__ = [
    "CLIENT_CONFIG",
    "RENEW_BEFORE_SECONDS",
    "SESSION_SECONDS",
    "Clients",
    "RoleUnavailable",
    "client",
    "default_clients",
    "error_code",
    "reset_clients",
]

CLIENT_CONFIG = Config(retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=10)

#: A session of a remediation role lasts an hour: the most AWS allows when a role session (the healer's)
#: assumes another role ("role chaining").
SESSION_SECONDS = 3600
#: A cached session with less left than this is renewed before use: longer than a healer invocation can
#: run (Lambda's 900 s), so a session never expires in the middle of one.
RENEW_BEFORE_SECONDS = 960

_cache: dict[str, Any] = {}
_lock = threading.Lock()


class RoleUnavailable(RuntimeError):
    """A remediation role could not be assumed; the message names the role and AWS's error."""


@dataclass(frozen=True)
class _RoleSession:
    lambda_: Any
    cloudwatch: Any
    expires: float


_sessions: dict[tuple[int, str, str], _RoleSession] = {}


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
        _sessions.clear()


@dataclass(frozen=True)
class Clients:
    """The collaborators of one healer run."""

    lambda_: LambdaClient
    dynamodb: DynamoDBClient
    sns: SNSClient
    cloudwatch: CloudWatchClient
    ssm: SSMClient
    #: STS for ``acting_as``; None: the process's client, created on first use.
    sts: STSClient | None = field(default=None, compare=False)

    def acting_as(self, role_arn: str | None, session_name: str) -> Clients:
        """These clients with Lambda and CloudWatch acting as ``role_arn`` (None: as the healer itself).

        Raises ``RoleUnavailable`` when the role cannot be assumed (its trust policy does not name the
        healer's role, the healer's role may not assume it, it does not exist, or STS cannot be reached).
        """
        if role_arn is None:
            return self
        sts = self.sts if self.sts is not None else client("sts")
        key = (id(sts), role_arn, session_name)
        with _lock:
            cached = _sessions.get(key)
        if cached is None or cached.expires - time.time() < RENEW_BEFORE_SECONDS:
            cached = _assume(sts, role_arn, session_name)
            with _lock:
                _sessions[key] = cached
        return replace(self, lambda_=cached.lambda_, cloudwatch=cached.cloudwatch)


def default_clients() -> Clients:
    """The process-wide clients, created on first use."""
    return Clients(
        lambda_=client("lambda"),
        dynamodb=client("dynamodb"),
        sns=client("sns"),
        cloudwatch=client("cloudwatch"),
        ssm=client("ssm"),
    )


def _assume(sts: STSClient, role_arn: str, session_name: str) -> _RoleSession:
    try:
        credentials = sts.assume_role(
            RoleArn=role_arn, RoleSessionName=session_name[:64], DurationSeconds=SESSION_SECONDS
        )["Credentials"]
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", "")
        raise RoleUnavailable(f"AssumeRole({role_arn}) failed: {error_code(exc)}: {message}") from None
    except BotoCoreError as exc:
        raise RoleUnavailable(f"AssumeRole({role_arn}) failed: {exc}") from None
    key, secret = credentials["AccessKeyId"], credentials["SecretAccessKey"]
    token, region = credentials["SessionToken"], sts.meta.region_name

    # Through boto3's default session, whose loaded service models every client shares: a Session per
    # role would load them again (tens of milliseconds per client).
    def make(service: Literal["lambda", "cloudwatch"]) -> Any:
        return boto3.client(
            service,
            region_name=region,
            config=CLIENT_CONFIG,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=token,
        )

    return _RoleSession(make("lambda"), make("cloudwatch"), credentials["Expiration"].timestamp())


def error_code(exc: ClientError) -> str:
    """The AWS error code of a failed call (e.g. ``ConditionalCheckFailedException``); "" when absent."""
    return str(exc.response.get("Error", {}).get("Code", ""))
