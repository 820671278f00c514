"""The Invoke shortcut's request matching, and the SigV4 checks every Invoke passes first (cached keys)."""

from __future__ import annotations

import calendar
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from selfheal.cloud.lambda_invoke_api import invoke_target
from selfheal.cloud.sigv4 import parse_authorization, signature_matches, skew_problem

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
NOON = float(calendar.timegm((2026, 12, 5, 12, 0, 0)))


def _environ(path: str, query: str = "", method: str = "POST") -> dict[str, Any]:
    return {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query}


@pytest.mark.parametrize(
    ("path", "query", "method", "expected"),
    [
        ("/2015-03-31/functions/probe/invocations", "", "POST", ("probe", None)),
        ("/2015-03-31/functions/probe/invocations", "Qualifier=live", "POST", ("probe", "live")),
        ("/2015-03-31/functions/probe/invocations", "Qualifier=%24LATEST", "POST", ("probe", "$LATEST")),
        (
            "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Ap/invocations",
            "",
            "POST",
            ("arn:aws:lambda:us-east-1:123456789012:function:p", None),
        ),
        ("/2015-03-31/functions/probe/invocations", "Qualifier=", "POST", None),
        ("/2015-03-31/functions/probe/invocations", "Qualifier=1&Qualifier=2", "POST", None),
        ("/2015-03-31/functions/probe/invocations", "Other=1", "POST", None),
        ("/2015-03-31/functions/probe/invocations", "", "GET", None),
        ("/2015-03-31/functions/probe/invocations/", "", "POST", None),
        ("/2015-03-31/functions/probe", "", "POST", None),
        ("/2014-11-13/functions/probe/invoke-async/", "", "POST", None),
        ("/2015-03-31/functions//invocations", "", "POST", None),
    ],
)
def test_invoke_target_matches_only_plain_invoke(
    path: str, query: str, method: str, expected: tuple[str, str | None] | None
) -> None:
    """Only a POST to the Invoke path, with at most one non-empty Qualifier, is the shortcut's."""
    assert invoke_target(_environ(path, query, method)) == expected


@pytest.mark.parametrize(
    ("amz_date", "expected"),
    [
        ("20261205T120000Z", None),
        ("20261205T121459Z", None),
        ("20261205T114501Z", None),
        ("20261205T121501Z", "Signature not yet current: 20261205T121501Z is still later than"),
        ("20261205T114459Z", "Signature expired: 20261205T114459Z is now earlier than 20261205T114500Z"),
        ("20260231T120000Z", "Date must be in ISO-8601 'basic format'. Got '20260231T120000Z'."),
        ("2026-12-05T12:00:00Z", "Date must be in ISO-8601 'basic format'."),
        ("20261205T120000", "Date must be in ISO-8601 'basic format'."),
        ("", "Date must be in ISO-8601 'basic format'. Got ''."),
    ],
)
def test_skew_problem(amz_date: str, expected: str | None) -> None:
    """X-Amz-Date: basic format, a real calendar date, within 15 minutes of the server's clock."""
    problem = skew_problem(amz_date, NOON)
    if expected is None:
        assert problem is None
    else:
        assert problem is not None and problem.startswith(expected), problem


def _signed(date: str, region: str = "us-east-1", body: bytes = b'{"n": 1}') -> AWSRequest:
    request = AWSRequest(
        method="POST",
        url="http://127.0.0.1:4566/2015-03-31/functions/probe/invocations?Qualifier=live",
        data=body,
        headers={"Host": "127.0.0.1:4566"},
    )
    request.context["timestamp"] = date
    SigV4Auth(Credentials("AKIDEXAMPLE", SECRET), "lambda", region).add_auth(request)
    return request


def _matches(request: AWSRequest, *, secret: str = SECRET, body: bytes | None = None) -> bool:
    signed = parse_authorization(str(request.headers["Authorization"]))
    assert signed is not None
    return signature_matches(
        signed,
        method="POST",
        raw_path="/2015-03-31/functions/probe/invocations",
        query="Qualifier=live",
        headers={name.lower(): str(value) for name, value in request.headers.items()},
        body=request.body if body is None else body,
        secret_access_key=secret,
    )


def test_signatures_verify_across_days_regions_and_secrets() -> None:
    """A cached signing key never verifies another day's, region's or secret's signature."""
    first, second = _signed("20261205T120000Z"), _signed("20261206T120000Z")
    other_region = _signed("20261205T120000Z", region="eu-west-1")
    for request in (first, second, other_region, first):
        assert _matches(request)
    assert not _matches(first, secret=SECRET[:-1] + "X")
    assert not _matches(first, body=b'{"n": 2}')
    forged = _signed("20261205T120000Z")
    forged.headers.replace_header("X-Amz-Date", "20261206T120000Z")
    assert not _matches(forged)


def _signed_by(key_id: str, path: str = "/2015-03-31/functions/probe/invocations") -> dict[str, Any]:
    environ = _environ(path)
    environ["HTTP_AUTHORIZATION"] = (
        f"AWS4-HMAC-SHA256 Credential={key_id}/20261205/us-east-1/lambda/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64
    )
    return environ


def test_only_an_invoke_by_the_operator_key_is_claimed_for_the_event_loop() -> None:
    """The gateway runs an Invoke on the front's loop only when the shortcut will answer it."""
    from selfheal.cloud.gateway import Gateway
    from selfheal.cloud.lambda_invoke_api import InvokeApi

    gateway = Gateway(fallback=lambda environ, start_response: [])
    gateway.shortcuts.append(
        InvokeApi(lambda: None, lambda service: None, lambda: NOON, "us-east-1", "AKIAOPERATOR0000KEY")
    )
    assert gateway.serves_on_loop(_signed_by("AKIAOPERATOR0000KEY")) is True
    assert gateway.serves_on_loop(_signed_by("AKIAIAMUSER00000KEY")) is False  # moto's IAM path: the pool
    assert gateway.serves_on_loop(_signed_by("AKIAOPERATOR0000KEY", "/2015-03-31/functions")) is False
    assert gateway.serves_on_loop(_environ("/2015-03-31/functions/probe/invocations")) is False
