"""S3's Lambda event, the check that a function policy lets S3 invoke it, and bucket policy decisions."""

from __future__ import annotations

import json

from selfheal.cloud.s3_notifications import invoke_allowed, s3_event
from selfheal.cloud.s3_policies import bucket_policy_decision

BUCKET_ARN = "arn:aws:s3:::uploads"


def _event(key: str, version_id: str | None = None) -> dict[str, object]:
    return s3_event(
        event_name="ObjectCreated:Put",
        region="us-east-1",
        event_time=1_700_000_000.25,
        configuration_id="cfg",
        bucket="uploads",
        bucket_arn=BUCKET_ARN,
        owner="123456789012",
        key=key,
        size=3,
        etag='"abc"',
        version_id=version_id,
        sequencer="0055AED6DCD90281E5",
        request_id="C3D13FE58DE4C810",
    )


def test_event_encodes_the_key_as_s3_does() -> None:
    """Spaces become '+', other reserved characters are percent-encoded, slashes stay."""
    record = _event("photos/red flower+1=ok.jpg")["Records"][0]  # type: ignore[index]
    assert record["s3"]["object"]["key"] == "photos/red+flower%2B1%3Dok.jpg"


def test_event_shape() -> None:
    """The record has AWS's fields; versionId only for a versioned object; eTag unquoted."""
    record = _event("a.txt")["Records"][0]  # type: ignore[index]
    assert (record["eventSource"], record["eventName"], record["eventVersion"]) == (
        "aws:s3",
        "ObjectCreated:Put",
        "2.1",
    )
    assert record["eventTime"] == "2023-11-14T22:13:20.250Z"
    assert record["s3"]["bucket"] == {
        "name": "uploads",
        "ownerIdentity": {"principalId": "123456789012"},
        "arn": BUCKET_ARN,
    }
    assert record["s3"]["object"] == {
        "key": "a.txt",
        "size": 3,
        "eTag": "abc",
        "sequencer": "0055AED6DCD90281E5",
    }
    versioned = _event("a.txt", "v1")["Records"][0]["s3"]["object"]  # type: ignore[index]
    assert versioned["versionId"] == "v1"
    assert "versionId" not in _event("a.txt", "null")["Records"][0]["s3"]["object"]  # type: ignore[index]


def _statement(**condition: dict[str, str]) -> dict[str, object]:
    statement: dict[str, object] = {
        "Effect": "Allow",
        "Principal": {"Service": "s3.amazonaws.com"},
        "Action": "lambda:InvokeFunction",
        "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f",
    }
    if condition:
        statement["Condition"] = condition
    return statement


def test_invoke_allowed_needs_s3_principal_and_matching_conditions() -> None:
    """S3 may invoke with a statement for its service principal whose SourceArn/SourceAccount match."""
    assert invoke_allowed({"Statement": [_statement()]}, BUCKET_ARN, "123456789012")
    assert invoke_allowed(
        {"Statement": [_statement(ArnLike={"AWS:SourceArn": "arn:aws:s3:::upl*"})]},
        BUCKET_ARN,
        "123456789012",
    )
    assert invoke_allowed(
        {"Statement": [_statement(StringEquals={"AWS:SourceAccount": "123456789012"})]},
        BUCKET_ARN,
        "123456789012",
    )
    assert not invoke_allowed(
        {"Statement": [_statement(ArnLike={"AWS:SourceArn": "arn:aws:s3:::other"})]},
        BUCKET_ARN,
        "123456789012",
    )
    assert not invoke_allowed(
        {"Statement": [_statement(StringEquals={"AWS:SourceAccount": "999999999999"})]},
        BUCKET_ARN,
        "123456789012",
    )
    sns = {**_statement(), "Principal": {"Service": "sns.amazonaws.com"}}
    assert not invoke_allowed({"Statement": [sns]}, BUCKET_ARN, "123456789012")
    assert not invoke_allowed({"Statement": []}, BUCKET_ARN, "123456789012")


def test_bucket_policy_conditions() -> None:
    """A TLS-only Deny does not apply to the cloud's requests; an unconditional one does; statements for
    a named principal are not evaluated."""
    resource = "arn:aws:s3:::b/k"

    def policy(**statement: object) -> str:
        base = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"}
        return json.dumps({"Version": "2012-10-17", "Statement": [{**base, **statement}]})

    tls_only = policy(Condition={"Bool": {"aws:SecureTransport": "false"}})
    assert bucket_policy_decision(tls_only, "s3:PutObject", resource) == "implicit_deny"
    assert bucket_policy_decision(policy(), "s3:PutObject", resource) == "explicit_deny"
    assert bucket_policy_decision(policy(Principal={"AWS": "*"}), "s3:GetObject", resource) == "explicit_deny"
    named = policy(Principal={"AWS": "arn:aws:iam::123456789012:role/x"})
    assert bucket_policy_decision(named, "s3:PutObject", resource) == "implicit_deny"
    assert bucket_policy_decision(policy(Effect="Allow"), "s3:GetObject", resource) == "allow"
