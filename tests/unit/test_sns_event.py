"""The SNS event envelope Lambda subscribers receive."""

from __future__ import annotations

import base64

from selfheal.cloud.sns_delivery import sns_event

TOPIC = "arn:aws:sns:eu-west-1:123456789012:alarms"
SUBSCRIPTION = f"{TOPIC}:0b7e4c2a-1111-2222-3333-444455556666"


def _event(subject: str | None = "ALARM: x", key: bytes = b"k" * 32) -> dict[str, object]:
    return sns_event(
        subscription_arn=SUBSCRIPTION,
        topic_arn=TOPIC,
        message_id="mid-1",
        subject=subject,
        message='{"AlarmName":"x"}',
        timestamp=1795463520.0125,
        message_attributes={"a": {"Type": "String", "Value": "b"}},
        signing_key=key,
    )


def test_envelope_fields() -> None:
    """The record carries AWS's source, version, subscription and Sns fields."""
    record = _event()["Records"][0]  # type: ignore[index]
    assert record["EventSource"] == "aws:sns"
    assert record["EventVersion"] == "1.0"
    assert record["EventSubscriptionArn"] == SUBSCRIPTION
    sns = record["Sns"]
    assert sns["Timestamp"] == "2026-11-23T19:52:00.012Z"
    assert sns["TopicArn"] == TOPIC
    assert sns["Subject"] == "ALARM: x"
    assert sns["Message"] == '{"AlarmName":"x"}'
    assert sns["MessageAttributes"] == {"a": {"Type": "String", "Value": "b"}}
    assert sns["SigningCertUrl"].startswith("https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-")
    assert sns["UnsubscribeUrl"].endswith(f"SubscriptionArn={SUBSCRIPTION}")


def test_missing_subject_is_null() -> None:
    """Without a subject the event says null, as AWS does."""
    assert _event(subject=None)["Records"][0]["Sns"]["Subject"] is None  # type: ignore[index]


def test_signature_depends_on_key_and_content() -> None:
    """The signature is base64 and changes with the signing key."""
    first = _event()["Records"][0]["Sns"]["Signature"]  # type: ignore[index]
    second = _event(key=b"z" * 32)["Records"][0]["Sns"]["Signature"]  # type: ignore[index]
    assert base64.b64decode(first) and first != second
