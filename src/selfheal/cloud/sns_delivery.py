"""SNS delivery for the local cloud: ``lambda`` subscribers get an asynchronous invoke with AWS's SNS event.

moto delivers to ``sqs`` subscribers itself but hands ``lambda`` ones to its Docker-only runtime (the error is
logged and swallowed) and POSTs to ``http(s)`` endpoints. While started, this component replaces moto's
per-subscription delivery (``moto.sns.models.Subscription.publish``, through a
:class:`~selfheal.cloud.moto_patches.MotoPatches` registry) for the topics of the cloud's account in every
region, so every publish — an alarm action, or a client's Publish/PublishBatch through the endpoint —
is delivered as follows:

- ``lambda``: an Event invoke through ``cloud.lambdas.invoke_async`` (Lambda's async retries apply), with the
  ``Records[0].Sns`` envelope AWS sends; filter policies and ``MessageStructure=json`` are honoured.
- ``sqs``: left to moto (it sends the SNS JSON, or the raw message, to the queue) — delivered once.
- anything else (``http``, ``https``, ``email``, ``sms``, …): nothing leaves the machine; the delivery is
  recorded in :attr:`SnsDelivery.deliveries`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .moto_patches import MotoPatches, parameters
from .protocol import Cloud, CloudComponent

__all__ = ["Delivery", "SnsDelivery", "sns_event"]

log = logging.getLogger("selfheal.cloud.sns")


@dataclass(frozen=True)
class Delivery:
    """One message handed to one subscriber (``request_id`` is the async invoke's, for ``lambda``)."""

    protocol: str
    endpoint: str
    subscription_arn: str
    topic_arn: str
    message_id: str
    subject: str | None
    message: str
    request_id: str | None = None
    error: str | None = None


def _timestamp(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def sns_event(
    *,
    subscription_arn: str,
    topic_arn: str,
    message_id: str,
    subject: str | None,
    message: str,
    timestamp: float,
    message_attributes: dict[str, Any] | None,
    signing_key: bytes,
) -> dict[str, Any]:
    """The Lambda event SNS sends for one message, in AWS's shape and key order.

    The signature is an HMAC of SNS's string to sign with a key local to the cloud: it has the right form,
    but (like the certificate URL) nothing outside the local cloud can verify it.
    """
    region = topic_arn.split(":")[3] if topic_arn.count(":") >= 5 else "us-east-1"
    stamp = _timestamp(timestamp)
    to_sign = "".join(
        f"{key}\n{value}\n"
        for key, value in (
            ("Message", message),
            ("MessageId", message_id),
            *((("Subject", subject),) if subject is not None else ()),
            ("Timestamp", stamp),
            ("TopicArn", topic_arn),
            ("Type", "Notification"),
        )
    )
    signature = base64.b64encode(hmac.new(signing_key, to_sign.encode(), hashlib.sha256).digest()).decode()
    certificate = hashlib.sha256(signing_key).hexdigest()[:32]
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": subscription_arn,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": topic_arn,
                    "Subject": subject,
                    "Message": message,
                    "Timestamp": stamp,
                    "SignatureVersion": "1",
                    "Signature": signature,
                    "SigningCertUrl": (
                        f"https://sns.{region}.amazonaws.com/SimpleNotificationService-{certificate}.pem"
                    ),
                    "UnsubscribeUrl": (
                        f"https://sns.{region}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={subscription_arn}"
                    ),
                    "MessageAttributes": {
                        name: {"Type": attr.get("Type"), "Value": attr.get("Value")}
                        for name, attr in (message_attributes or {}).items()
                    },
                },
            }
        ]
    }


class SnsDelivery(CloudComponent):
    """Deliver SNS messages to Lambda (async invoke) and record other protocols; a LocalCloud component."""

    def __init__(self) -> None:
        self.deliveries: list[Delivery] = []
        self._signing_key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._patches = MotoPatches()
        self._cloud: Cloud | None = None

    def start(self, cloud: Cloud) -> None:
        """Replace moto's per-subscription delivery."""
        from moto.sns.models import Subscription

        if self._patches.installed:
            raise RuntimeError("SNS delivery is already started")
        component = self

        def delivering(original: Callable[..., None]) -> Callable[..., None]:
            def publish(subscription: Any, message: str, message_id: str, **kwargs: Any) -> None:
                if not component._owns(subscription):
                    original(subscription, message, message_id, **kwargs)
                    return
                component._deliver(subscription, original, message, message_id, **kwargs)

            return publish

        patches = MotoPatches()
        patches.replace(
            Subscription,
            "publish",
            delivering,
            reason="deliver this cloud's SNS messages to Lambda (async invoke) and record other protocols",
            expect=parameters("message", "message_id"),
        )
        self._cloud = cloud
        patches.install()
        self._patches = patches

    def stop(self) -> None:
        """Restore moto's delivery."""
        self._patches.restore()

    def delivered(self, protocol: str | None = None) -> list[Delivery]:
        """Deliveries so far (of ``protocol`` only, when given)."""
        with self._lock:
            return [d for d in self.deliveries if protocol is None or d.protocol == protocol]

    def _owns(self, subscription: Any) -> bool:
        cloud = self._cloud
        backend = subscription.topic.sns_backend
        # Every region of the account: a topic's Lambda subscribers are function ARNs, naming their region.
        return cloud is not None and backend.account_id == cloud.account_id

    def _deliver(
        self,
        subscription: Any,
        original: Callable[..., None],
        message: str,
        message_id: str,
        subject: str | None = None,
        message_attributes: dict[str, Any] | None = None,
        group_id: str | None = None,
        deduplication_id: str | None = None,
        message_structure: str | None = None,
    ) -> None:
        assert self._cloud is not None
        if subscription.protocol == "sqs":
            original(
                subscription,
                message,
                message_id,
                subject=subject,
                message_attributes=message_attributes,
                group_id=group_id,
                deduplication_id=deduplication_id,
                message_structure=message_structure,
            )
            return
        matcher = subscription._filter_policy_matcher
        if matcher is not None and not matcher.matches(message_attributes, message):
            return
        if message_structure == "json":
            message = subscription._parse_message_structure(message, subscription.protocol)
        request_id: str | None = None
        error: str | None = None
        if subscription.protocol == "lambda":
            event = sns_event(
                subscription_arn=subscription.arn,
                topic_arn=subscription.topic.arn,
                message_id=message_id,
                subject=subject,
                message=message,
                timestamp=self._cloud.clock.now(),
                message_attributes=message_attributes,
                signing_key=self._signing_key,
            )
            try:
                request_id = self._cloud.lambdas.invoke_async(
                    subscription.endpoint, json.dumps(event).encode()
                )
            except Exception as exc:
                # SNS does not fail a Publish because one subscriber is gone; it logs the failed delivery.
                error = str(exc)
                log.warning("SNS delivery to %s failed: %s", subscription.endpoint, exc)
        else:
            log.info("SNS %s delivery to %s recorded, not sent", subscription.protocol, subscription.endpoint)
        with self._lock:
            self.deliveries.append(
                Delivery(
                    subscription.protocol,
                    subscription.endpoint,
                    subscription.arn,
                    subscription.topic.arn,
                    message_id,
                    subject,
                    message,
                    request_id,
                    error,
                )
            )
