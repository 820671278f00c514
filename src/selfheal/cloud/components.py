"""The default pluggable parts of the local cloud (DynamoDB isolation, HTTP API data plane, SNS delivery,
EventBridge, SQS event source mappings, alarms, S3 notifications and bucket policies, EventBridge Scheduler).

A component (:class:`~selfheal.cloud.protocol.Component`) is started after the endpoint, moto and the Lambda
service are up, and stopped (in reverse order) before they go down; it sees the cloud through the
:class:`~selfheal.cloud.protocol.Cloud` protocol. Each subsystem adds one line to :func:`default_components`.
"""

from __future__ import annotations

from .alarm_scheduler import AlarmScheduler
from .dynamodb_isolation import DynamoDbIsolation
from .eventbridge import EventBridge
from .http_api import HttpApiDataPlane
from .lambda_event_sources import EventSourceMappings
from .protocol import Component
from .rest_api import RestApiDataPlane
from .s3_notifications import S3Notifications
from .s3_policies import S3BucketPolicies
from .scheduler import Scheduler
from .sns_delivery import SnsDelivery

__all__ = ["default_components"]


def default_components() -> list[Component]:
    """Return fresh instances of the components a LocalCloud runs when none are given."""
    components: list[Component] = []
    components.append(DynamoDbIsolation())
    components.append(HttpApiDataPlane())
    components.append(RestApiDataPlane())
    components.append(SnsDelivery())
    components.append(EventBridge())
    components.append(EventSourceMappings())
    components.append(AlarmScheduler())
    components.append(S3Notifications())
    components.append(S3BucketPolicies())
    components.append(Scheduler())
    return components
