"""Unit tests of ``Clients.acting_as``: the remediation role's session, cached per process and renewed
before it could expire inside an invocation, and a clear error when the role cannot be assumed (moto STS)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from moto import mock_aws

from healer import clients as clients_module
from healer.clients import (
    RENEW_BEFORE_SECONDS,
    SESSION_SECONDS,
    Clients,
    RoleUnavailable,
    default_clients,
    reset_clients,
)

REGION = "us-east-1"
ROLE = "arn:aws:iam::123456789012:role/selfheal/test/heal-orders-0123abcd"


class CountingSts:
    """STS that counts AssumeRole calls and can be made to fail; everything else is moto's."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.meta = real.meta
        self.calls: list[dict[str, Any]] = []
        self.failure: Exception | None = None

    def assume_role(self, **kwargs: Any) -> Any:
        self.calls.append(kwargs)
        if self.failure is not None:
            raise self.failure
        return self.real.assume_role(**kwargs)


@pytest.fixture
def sts(monkeypatch: pytest.MonkeyPatch) -> Iterator[CountingSts]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    with mock_aws():
        reset_clients()
        yield CountingSts(boto3.client("sts", region_name=REGION))
        reset_clients()


def own_clients(sts: CountingSts) -> Clients:
    """The healer's own (process) clients, against moto, with ``sts`` for the role sessions."""
    return replace(default_clients(), sts=sts)  # type: ignore[arg-type]


def access_key(client: Any) -> str:
    return str(client._request_signer._credentials.get_frozen_credentials().access_key)


def test_no_role_means_the_healers_own_clients(sts: CountingSts) -> None:
    """A registry entry without role_arn: the very same clients, and no STS call."""
    own = own_clients(sts)
    assert own.acting_as(None, "selfheal-healer") is own
    assert sts.calls == []


def test_role_session_signs_lambda_and_cloudwatch_only(sts: CountingSts) -> None:
    """Lambda and CloudWatch sign with the role's session; ledger, topic and registry stay the healer's."""
    own = own_clients(sts)
    acting = own.acting_as(ROLE, "selfheal-healer")
    [call] = sts.calls
    assert call == {"RoleArn": ROLE, "RoleSessionName": "selfheal-healer", "DurationSeconds": SESSION_SECONDS}
    session_key = access_key(acting.lambda_)
    assert session_key.startswith("ASIA") and access_key(acting.cloudwatch) == session_key
    assert access_key(own.lambda_) != session_key and access_key(own.cloudwatch) != session_key
    assert (acting.dynamodb, acting.sns, acting.ssm) == (own.dynamodb, own.sns, own.ssm)
    assert acting.lambda_.meta.region_name == REGION


def test_session_is_reused_until_close_to_expiry_then_renewed(
    sts: CountingSts, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One AssumeRole per role and process while more than RENEW_BEFORE_SECONDS are left; then a new one."""
    own = own_clients(sts)
    first = own.acting_as(ROLE, "selfheal-healer")
    again = own.acting_as(ROLE, "selfheal-healer")
    assert len(sts.calls) == 1 and again.lambda_ is first.lambda_
    now = time.time()
    monkeypatch.setattr(clients_module.time, "time", lambda: now + SESSION_SECONDS - RENEW_BEFORE_SECONDS + 5)
    renewed = own.acting_as(ROLE, "selfheal-healer")
    assert len(sts.calls) == 2 and renewed.lambda_ is not first.lambda_


def test_long_session_names_are_cut_to_stss_limit(sts: CountingSts) -> None:
    """RoleSessionName is at most 64 characters; a healer's function name may be longer."""
    own_clients(sts).acting_as(ROLE, "h" * 70)
    assert sts.calls[0]["RoleSessionName"] == "h" * 64


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        (
            ClientError(
                {"Error": {"Code": "AccessDenied", "Message": "not authorized to perform: sts:AssumeRole"}},
                "AssumeRole",
            ),
            f"AssumeRole({ROLE}) failed: AccessDenied: not authorized to perform: sts:AssumeRole",
        ),
        (
            EndpointConnectionError(endpoint_url="https://sts.us-east-1.amazonaws.com/"),
            f"AssumeRole({ROLE}) failed: Could not connect to the endpoint URL",
        ),
    ],
)
def test_a_role_that_cannot_be_assumed_raises_role_unavailable(
    sts: CountingSts, failure: Exception, expected: str
) -> None:
    """AccessDenied or an unreachable STS: ``RoleUnavailable`` naming the role and the cause, one line,
    and nothing cached (the next call tries again)."""
    sts.failure = failure
    with pytest.raises(RoleUnavailable) as info:
        own_clients(sts).acting_as(ROLE, "selfheal-healer")
    assert str(info.value).startswith(expected) and "\n" not in str(info.value)
    sts.failure = None
    own_clients(sts).acting_as(ROLE, "selfheal-healer")
    assert len(sts.calls) == 2
