"""Fixtures for the security tests: one enforcing LocalCloud per module, root clients, alarm events.

Like ``tests/functional/cloud``, a module gets one cloud (one per process: it owns moto's global state);
stopping it kills every execution environment, also when a test fails.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest

from selfheal.cloud import LocalCloud

EVENTS = Path(__file__).resolve().parents[1] / "events"

AwsFactory = Callable[..., Any]


@pytest.fixture(scope="module")
def cloud(request: pytest.FixtureRequest) -> Iterator[LocalCloud]:
    """A started LocalCloud on a free 127.0.0.1 port (module's ``CLOUD_TIME_SCALE``, ``ENFORCE_IAM``)."""
    scale = float(getattr(request.module, "CLOUD_TIME_SCALE", 60.0))
    enforce = bool(getattr(request.module, "ENFORCE_IAM", True))
    with LocalCloud(port=0, time_scale=scale, enforce_iam=enforce) as running:
        yield running


@pytest.fixture(scope="module")
def aws(cloud: LocalCloud) -> AwsFactory:
    """boto3 clients of the module's cloud signed with its operator key (root), unless keywords give
    other keys."""

    def client(service: str, **kwargs: Any) -> Any:
        return boto3.client(
            service,  # type: ignore[call-overload]
            endpoint_url=cloud.endpoint,
            region_name=cloud.region,
            **{**cloud.operator_key.boto3_arguments(), **kwargs},
        )

    return client


def alarm_event(cloud: LocalCloud, prefix: str) -> bytes:
    """An SNS event carrying an ALARM notification of ``{prefix}-fragile-errors`` stamped at cloud now."""
    raw = (EVENTS / "sns_alarm_fragile.json").read_text().replace("selfheal-", f"{prefix}-")
    event = json.loads(raw)
    message = json.loads(event["Records"][0]["Sns"]["Message"])
    now = datetime.fromtimestamp(cloud.clock.now(), UTC)
    message["StateChangeTime"] = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}+0000"
    event["Records"][0]["Sns"]["Message"] = json.dumps(message)
    event["Records"][0]["Sns"]["MessageId"] = str(uuid.uuid4())
    return json.dumps(event).encode()


def invoke_healer(aws: AwsFactory, cloud: LocalCloud, prefix: str) -> dict[str, Any]:
    """Invoke ``{prefix}-healer`` synchronously with an ALARM event; return its one result summary."""
    response = aws("lambda").invoke(FunctionName=f"{prefix}-healer", Payload=alarm_event(cloud, prefix))
    body = json.loads(response["Payload"].read())
    assert "FunctionError" not in response, body
    [summary] = body["results"]
    return dict(summary)


def failure_rate(aws: AwsFactory, prefix: str) -> str:
    """The fragile function's FAILURE_RATE as the control plane reports it."""
    config = aws("lambda").get_function_configuration(FunctionName=f"{prefix}-fragile")
    return str(config["Environment"]["Variables"]["FAILURE_RATE"])


def handler_zip() -> bytes:
    """A deployment package whose ``app.handler`` returns None."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return None\n")
    return buffer.getvalue()
