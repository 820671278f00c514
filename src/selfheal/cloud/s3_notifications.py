"""S3 event notifications to Lambda for the local cloud: a PutObject invokes the bucket's functions.

moto stores a bucket's notification configuration and, on an object event, hands Lambda destinations to its
own Lambda model, whose invoke does not run our runtime (and swallows every error). While started, this
component (through a :class:`~selfheal.cloud.moto_patches.MotoPatches` registry):

- checks ``PutBucketNotificationConfiguration`` as S3 does for the cloud's buckets: each Lambda destination
  must exist and its resource policy must let ``s3.amazonaws.com`` invoke it (``lambda:InvokeFunction``,
  with a ``SourceArn`` condition naming the bucket and a ``SourceAccount`` one naming the account, if given);
  otherwise ``InvalidArgument`` "Unable to validate the following destination configurations" and nothing
  is stored;
- replaces ``moto.s3.notifications.send_event``: each matching Lambda configuration (event name or
  ``s3:ObjectCreated:*`` wildcard, key prefix/suffix filter) gets an Event invoke through
  ``cloud.lambdas.invoke_async`` with AWS's event (:func:`s3_event`: ``eventSource`` ``aws:s3``, the key
  URL-encoded as S3 encodes it, size, eTag, versionId of a versioned bucket, an increasing sequencer;
  ``eventTime`` in cloud time). Queue, topic and EventBridge destinations are left to moto, which delivers
  them with its own, shorter event (no ``sequencer`` nor ``userIdentity``).

Deliveries are recorded in :attr:`S3Notifications.deliveries`.
"""

from __future__ import annotations

import itertools
import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote_plus

from .moto_patches import MotoPatches, parameters
from .protocol import Cloud, CloudComponent

__all__ = ["S3Delivery", "S3Notifications", "invoke_allowed", "s3_event"]

log = logging.getLogger("selfheal.cloud.s3")

#: S3's answer when a destination's policy does not let S3 publish to it.
UNVALIDATED = "Unable to validate the following destination configurations"


@dataclass(frozen=True)
class S3Delivery:
    """One S3 event handed to one Lambda function (``request_id``: the async invoke's)."""

    function_arn: str
    event_name: str
    bucket: str
    key: str
    request_id: str | None
    error: str | None = None


def s3_event(
    *,
    event_name: str,
    region: str,
    event_time: float,
    configuration_id: str,
    bucket: str,
    bucket_arn: str,
    owner: str,
    key: str,
    size: int,
    etag: str,
    version_id: str | None,
    sequencer: str,
    request_id: str,
) -> dict[str, Any]:
    """The Lambda event S3 sends for one object event, in AWS's shape (event message structure 2.1).

    ``event_name`` is without the ``s3:`` prefix (``ObjectCreated:Put``); ``key`` is the raw key, encoded
    here as S3 does (``quote_plus``: a space becomes ``+``).
    """
    moment = datetime.fromtimestamp(event_time, UTC)
    obj: dict[str, Any] = {"key": quote_plus(key, safe="/"), "size": size, "eTag": etag.strip('"')}
    if version_id not in (None, "null"):
        obj["versionId"] = version_id
    obj["sequencer"] = sequencer
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": region,
                "eventTime": moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z",
                "eventName": event_name,
                "userIdentity": {"principalId": owner},
                "requestParameters": {"sourceIPAddress": "127.0.0.1"},
                "responseElements": {"x-amz-request-id": request_id, "x-amz-id-2": request_id},
                "s3": {
                    "s3SchemaVersion": "1.0",
                    "configurationId": configuration_id,
                    "bucket": {"name": bucket, "ownerIdentity": {"principalId": owner}, "arn": bucket_arn},
                    "object": obj,
                },
            }
        ]
    }


def invoke_allowed(policy: Mapping[str, Any], bucket_arn: str, account_id: str) -> bool:
    """Whether the function policy ``policy`` lets S3 invoke the function for ``bucket_arn``."""
    statements = policy.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        principal = statement.get("Principal")
        services = principal.get("Service") if isinstance(principal, Mapping) else principal
        if "s3.amazonaws.com" not in ([services] if isinstance(services, str) else services or []):
            continue
        actions = statement.get("Action")
        if not {"lambda:InvokeFunction", "lambda:*", "*"} & set(
            [actions] if isinstance(actions, str) else actions or []
        ):
            continue
        if _conditions_hold(statement.get("Condition") or {}, bucket_arn, account_id):
            return True
    return False


def _conditions_hold(condition: Mapping[str, Any], bucket_arn: str, account_id: str) -> bool:
    import fnmatch

    known = {"aws:sourcearn": bucket_arn, "aws:sourceaccount": account_id}
    for operator, tests in condition.items():
        for key, wanted in (tests or {}).items():
            actual = known.get(str(key).lower())
            values = [wanted] if isinstance(wanted, str) else list(wanted)
            if actual is None:
                return False
            if operator in ("ArnLike", "StringLike"):
                if not any(fnmatch.fnmatchcase(actual, str(v)) for v in values):
                    return False
            elif operator in ("ArnEquals", "StringEquals"):
                if actual not in values:
                    return False
            else:
                return False  # an operator S3's validation would not satisfy here: refuse, as AWS would
    return True


class S3Notifications(CloudComponent):
    """Check S3 Lambda destinations and deliver object events to them; a LocalCloud component."""

    def __init__(self) -> None:
        self.deliveries: list[S3Delivery] = []
        self._lock = threading.Lock()
        self._swap_lock = threading.Lock()
        self._sequence = itertools.count(1)
        self._patches = MotoPatches()
        self._cloud: Cloud | None = None

    def start(self, cloud: Cloud) -> None:
        """Check notification destinations and deliver object events to Lambda."""
        from moto.s3 import notifications
        from moto.s3.models import S3Backend

        if self._patches.installed:
            raise RuntimeError("S3 notifications are already started")
        component = self

        def checking(original: Callable[..., None]) -> Callable[..., None]:
            def put(backend: Any, bucket_name: str, notification_config: dict[str, Any]) -> None:
                bucket = backend.get_bucket(bucket_name)  # S3's backend is global: the bucket has the region
                if component._owns(backend.account_id, bucket.region_name):
                    component._check(bucket_name, notification_config)
                original(backend, bucket_name, notification_config)

            return put

        def sending(original: Callable[..., None]) -> Callable[..., None]:
            def send_event(account_id: str, event_name: Any, bucket: Any, key: Any) -> None:
                if not component._owns(account_id, bucket.region_name):
                    original(account_id, event_name, bucket, key)
                    return
                config = bucket.notification_configuration
                if config is None:
                    return
                with component._swap_lock:  # moto sends the rest: hide the functions from it meanwhile
                    functions = list(config.cloud_function)
                    config.cloud_function = []
                    try:
                        original(account_id, event_name, bucket, key)  # queues, topics, EventBridge
                    finally:
                        config.cloud_function = functions
                for notification in functions:
                    if notification.matches(event_name, key.name):
                        component._deliver(
                            notification, str(getattr(event_name, "value", event_name)), bucket, key
                        )

            return send_event

        patches = MotoPatches()
        patches.replace(
            S3Backend,
            "put_bucket_notification_configuration",
            checking,
            reason="refuse Lambda destinations S3 may not invoke (InvalidArgument), as S3 validates them",
            expect=parameters("bucket_name", "notification_config"),
        )
        patches.replace(
            notifications,
            "send_event",
            sending,
            reason="deliver S3 object events to Lambda by async invoke with AWS's event (moto's is a stub)",
            expect=parameters("account_id", "event_name", "bucket", "key"),
            where="moto.s3.notifications.send_event",
        )
        self._cloud = cloud
        patches.install()
        self._patches = patches

    def stop(self) -> None:
        """Restore moto's S3 notifications."""
        self._patches.restore()

    def delivered(self) -> list[S3Delivery]:
        """Deliveries so far."""
        with self._lock:
            return list(self.deliveries)

    def _owns(self, account_id: str, region: str) -> bool:
        cloud = self._cloud
        return cloud is not None and account_id == cloud.account_id and region == cloud.region

    def _check(self, bucket_name: str, config: Mapping[str, Any]) -> None:
        from moto.s3.exceptions import S3ClientError

        assert self._cloud is not None
        bucket_arn = f"arn:aws:s3:::{bucket_name}"
        refused = []
        for item in config.get("CloudFunctionConfiguration") or []:
            arn = str(item.get("CloudFunction", ""))
            if not self._may_invoke(arn, bucket_arn):
                refused.append(arn)
        if refused:
            raise S3ClientError("InvalidArgument", UNVALIDATED + f": {', '.join(refused)}")

    def _may_invoke(self, arn: str, bucket_arn: str) -> bool:
        assert self._cloud is not None
        parts = arn.split(":")
        name, qualifier = (parts[6], parts[7] if len(parts) > 7 else None) if len(parts) > 6 else (arn, None)
        try:
            wire = json.loads(self._cloud.backend("lambda").get_policy(name, qualifier))
            policy = json.loads(wire["Policy"]) if isinstance(wire.get("Policy"), str) else wire
        except Exception:  # no such function, or no policy at all: S3 cannot validate it either
            return False
        return invoke_allowed(policy, bucket_arn, self._cloud.account_id)

    def _deliver(self, notification: Any, event_name: str, bucket: Any, key: Any) -> None:
        assert self._cloud is not None
        cloud = self._cloud
        now = cloud.clock.now()
        sequencer = f"{int(now * 1000):012X}{next(self._sequence):06X}"
        name = event_name[3:] if event_name.startswith("s3:") else event_name
        event = s3_event(
            event_name=name,
            region=bucket.region_name,
            event_time=now,
            configuration_id=notification.id,
            bucket=bucket.name,
            bucket_arn=bucket.arn,
            owner=cloud.account_id,
            key=key.name,
            size=int(key.size),
            etag=str(key.etag),
            version_id=getattr(key, "version_id", None) if bucket.is_versioned else None,
            sequencer=sequencer,
            request_id=sequencer[-16:],
        )
        request_id: str | None = None
        error: str | None = None
        try:
            request_id = cloud.lambdas.invoke_async(notification.arn, json.dumps(event).encode())
        except Exception as exc:
            # S3 does not fail the PutObject because a destination cannot be invoked.
            error = str(exc)
            log.warning("S3 event delivery to %s failed: %s", notification.arn, exc)
        with self._lock:
            self.deliveries.append(
                S3Delivery(notification.arn, name, bucket.name, key.name, request_id, error)
            )
