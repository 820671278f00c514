"""Test helpers for the healer's functional tests: a moto sandbox, a scheduled fake clock, fault injection.

``healer_sandbox()`` starts ``mock_aws`` with what the healer talks to: the ledger table, the target
function, its errors alarm, and the escalation topic with an SQS queue subscribed to capture messages.
``FaultyClient`` wraps a real (moto) boto3 client to inject errors or run code before a call — the
collaborator is faked, never the healer.
"""

from __future__ import annotations

import io
import json
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError
from moto import mock_aws

from healer.clients import CLIENT_CONFIG, Clients
from healer.clock import ManualClock
from healer.config import HealerConfig
from healer.healing import Healer, RunLimits
from healer.ledger import Incident, recent_incidents
from healer.registry import Protection, Rails

__all__ = [
    "ALARM_NAME",
    "EVENTS",
    "REGISTRY",
    "TARGET",
    "FaultyClient",
    "LambdaContext",
    "Sandbox",
    "ScheduledClock",
    "alarm_message",
    "alarm_message_for",
    "cloudwatch_time",
    "healer_sandbox",
    "sns_event",
]

EVENTS = Path(__file__).resolve().parents[1] / "events"
REGION = "us-east-1"
TARGET = "selfheal-fragile"
ALARM_NAME = "selfheal-fragile-errors"
TABLE = "selfheal-ledger"
REGISTRY = "/selfheal/selfheal"
RAIL_KEYS = ("cooldown_seconds", "max_actions_per_window", "action_window_seconds", "verify_timeout_seconds")
PROTECTION_KEYS = ("mode", "playbook", "set_env", "alias_name", "concurrency_limit", "allow_zero_concurrency")


def alarm_message(
    fixture: str = "alarm_fragile_alarm.json", at: float | None = None, **changes: Any
) -> dict[str, Any]:
    """An alarm notification message from a fixture, with some fields changed; ``at`` sets its time."""
    message: dict[str, Any] = json.loads((EVENTS / fixture).read_text())
    if at is not None:
        message["StateChangeTime"] = cloudwatch_time(at)
    message.update(changes)
    return message


def alarm_message_for(target: str, alarm_name: str, fixture: str, at: float) -> dict[str, Any]:
    """An alarm message of ``fixture`` re-addressed to another target function and alarm."""
    message = alarm_message(fixture, at=at)
    message["AlarmName"] = alarm_name
    message["AlarmArn"] = message["AlarmArn"].rsplit(":", 1)[0] + ":" + alarm_name
    message["Trigger"]["Dimensions"] = [{"value": target, "name": "FunctionName"}]
    return message


def cloudwatch_time(epoch: float) -> str:
    """Format an epoch time as CloudWatch does in alarm notifications."""
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def sns_event(*messages: dict[str, Any] | str) -> dict[str, Any]:
    """Wrap alarm messages in the SNS event envelope Lambda receives."""
    template = json.loads((EVENTS / "sns_alarm_fragile.json").read_text())["Records"][0]
    records = []
    for index, message in enumerate(messages):
        record = json.loads(json.dumps(template))
        record["Sns"]["Message"] = message if isinstance(message, str) else json.dumps(message)
        record["Sns"]["MessageId"] = f"msg-{index}"
        records.append(record)
    return {"Records": records}


class ScheduledClock(ManualClock):
    """A fake clock that runs callbacks once time reaches their moment (e.g. the alarm going OK)."""

    def __init__(self, start: float | None = None) -> None:
        super().__init__(float(int(time.time())) if start is None else start)
        self._pending: list[tuple[float, Callable[[], None]]] = []

    def at(self, moment: float, callback: Callable[[], None]) -> None:
        """Run ``callback`` when the clock reaches ``moment``."""
        self._pending.append((moment, callback))

    def sleep(self, seconds: float) -> None:
        """Advance time and run every callback now due."""
        super().sleep(seconds)
        due = [item for item in self._pending if item[0] <= self.now()]
        self._pending = [item for item in self._pending if item[0] > self.now()]
        for _, callback in due:
            callback()


@dataclass
class LambdaContext:
    """The parts of a Lambda context the healer uses, with remaining time on the fake clock."""

    clock: ManualClock
    deadline: float
    function_name: str = "selfheal-healer"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:selfheal-healer"
    aws_request_id: str = "req-1"

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until the fake deadline."""
        return int(max(0.0, self.deadline - self.clock.now()) * 1000)

    def remaining_seconds(self) -> float:
        """Seconds until the fake deadline (what ``Healer.handle_event`` takes)."""
        return self.get_remaining_time_in_millis() / 1000.0


def _client_error(code: str, operation: str, message: str = "injected by test") -> ClientError:
    status = (
        403 if "Denied" in code else 409 if "Conflict" in code else 412 if "Precondition" in code else 429
    )
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


class FaultyClient:
    """A boto3 client wrapper that records calls and can fail or run hooks before chosen operations."""

    def __init__(self, inner: Any, lock: threading.Lock | None = None) -> None:
        self._inner = inner
        # moto applies a request in several Python steps; DynamoDB applies each request atomically.
        # A shared lock restores that guarantee when threads call the same moto backend.
        self._lock = lock
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._faults: dict[str, list[BaseException]] = {}
        self._hooks: dict[str, list[Callable[[dict[str, Any]], None]]] = {}
        self._transforms: dict[str, list[Callable[[Any], Any]]] = {}

    def fail(self, operation: str, code: str, times: int = 1) -> FaultyClient:
        """Make the next ``times`` calls of ``operation`` fail with error ``code``."""
        self._faults.setdefault(operation, []).extend(_client_error(code, operation) for _ in range(times))
        return self

    def before(self, operation: str, hook: Callable[[dict[str, Any]], None]) -> FaultyClient:
        """Run ``hook(kwargs)`` before every call of ``operation``."""
        self._hooks.setdefault(operation, []).append(hook)
        return self

    def transform(self, operation: str, change: Callable[[Any], Any]) -> FaultyClient:
        """Pass every response of ``operation`` through ``change`` (e.g. add what AWS returns, moto not)."""
        self._transforms.setdefault(operation, []).append(change)
        return self

    def count(self, operation: str) -> int:
        """How many times ``operation`` was called (failed calls included)."""
        return sum(1 for name, _ in self.calls if name == operation)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if not callable(attr) or name.startswith("_") or name in ("get_paginator", "get_waiter"):
            return attr

        def call(**kwargs: Any) -> Any:
            self.calls.append((name, kwargs))
            for hook in self._hooks.get(name, []):
                hook(kwargs)
            faults = self._faults.get(name)
            if faults:
                raise faults.pop(0)
            if self._lock is None:
                response = attr(**kwargs)
            else:
                with self._lock:
                    response = attr(**kwargs)
            for change in self._transforms.get(name, []):
                response = change(response)
            return response

        return call


def _dummy_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
    return buffer.getvalue()


@dataclass
class Sandbox:
    """Resources in moto plus helpers to look at them."""

    aws: dict[str, Any]
    topic_arn: str
    queue_url: str
    alarm_topic_arn: str
    role_arn: str
    clock: ScheduledClock = field(default_factory=ScheduledClock)

    def add_target(
        self, name: str, alarm_name: str, failure_rate: str | None = "0.5", *, register: bool = True
    ) -> None:
        """Create a function and its errors alarm (in ALARM), registered unless ``register`` is False."""
        variables = {"FAILURE_MODE": "exception", "POWERTOOLS_SERVICE_NAME": "fragile"}
        if failure_rate is not None:
            variables["FAILURE_RATE"] = failure_rate
        self.aws["lambda"].create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=self.role_arn,
            Handler="app.handler",
            Code={"ZipFile": _dummy_zip()},
            Environment={"Variables": variables},
        )
        self.aws["cloudwatch"].put_metric_alarm(
            AlarmName=alarm_name,
            Namespace="AWS/Lambda",
            MetricName="Errors",
            Dimensions=[{"Name": "FunctionName", "Value": name}],
            Statistic="Sum",
            Period=60,
            EvaluationPeriods=1,
            Threshold=1.0,
            ComparisonOperator="GreaterThanOrEqualToThreshold",
            AlarmActions=[self.alarm_topic_arn],
            OKActions=[self.alarm_topic_arn],
        )
        self.set_alarm("ALARM", alarm_name)
        if register:
            self.register(Protection(alarm_name, name, ("set_env",), set_env={"FAILURE_RATE": "0"}))

    def register(self, protection: Protection) -> None:
        """Write ``protection`` into the registry (what the protect module does)."""
        self.aws["ssm"].put_parameter(
            Name=f"{REGISTRY}/alarms/{protection.alarm_name}",
            Value=protection.to_json(),
            Type="String",
            Overwrite=True,
        )

    def kill_switch(self, value: str | None) -> None:
        """Set the kill switch to ``value`` (None deletes it)."""
        name = f"{REGISTRY}/kill-switch"
        if value is None:
            self.aws["ssm"].delete_parameter(Name=name)
        else:
            self.aws["ssm"].put_parameter(Name=name, Value=value, Type="String", Overwrite=True)

    def client(self, service: str) -> Any:
        """A fresh boto3 client against moto."""
        return boto3.client(service, region_name=REGION, config=CLIENT_CONFIG)  # type: ignore[call-overload]

    def config(self, **changes: Any) -> HealerConfig:
        """The healer configuration for this sandbox; rails and protection keys re-register the target.

        ``cooldown_seconds`` … ``verify_timeout_seconds`` (``RAIL_KEYS``) and ``mode``, ``playbook``,
        ``set_env`` … (``PROTECTION_KEYS``) go into the registry entry of ``target`` (default the fragile
        function) and its ``alarm`` (default ``<target>-errors``); the rest into the config.
        """
        rails = {"cooldown_seconds": 300.0, "max_actions_per_window": 3, "verify_timeout_seconds": 120.0}
        rails.update({k: changes.pop(k) for k in RAIL_KEYS if k in changes})
        protection: dict[str, Any] = {"playbook": ("set_env",), "set_env": {"FAILURE_RATE": "0"}}
        protection.update({k: changes.pop(k) for k in PROTECTION_KEYS if k in changes})
        protection["playbook"] = tuple(protection["playbook"])
        target, alarm = changes.pop("target", TARGET), changes.pop("alarm", None)
        alarm = alarm or (ALARM_NAME if target == TARGET else f"{target}-errors")
        self.register(Protection(alarm, target, rails=Rails(**rails), **protection))
        values: dict[str, Any] = {
            "registry_path": REGISTRY,
            "ledger_table_name": TABLE,
            "escalation_topic_arn": self.topic_arn,
            # Property tests run many functions in one sandbox; the fleet rails have tests of their own.
            "fleet_max_in_flight": 1000,
            "fleet_max_actions_per_hour": 1000,
        }
        values.update(changes)
        return HealerConfig(**values)

    def clients(self, **overrides: Any) -> Clients:
        """Healer clients against moto; pass wrapped ones to inject faults."""
        values = {
            "lambda_": self.aws["lambda"],
            "dynamodb": self.aws["dynamodb"],
            "sns": self.aws["sns"],
            "cloudwatch": self.aws["cloudwatch"],
            "ssm": self.aws["ssm"],
        }
        values.update(overrides)
        return Clients(**values)

    def healer(
        self, clients: Clients | None = None, limits: RunLimits | None = None, **config: Any
    ) -> Healer:
        """A healer wired to this sandbox and its fake clock."""
        return Healer(self.config(**config), clients or self.clients(), self.clock, limits)

    def context(self, seconds: float = 900.0) -> LambdaContext:
        """A Lambda context with ``seconds`` of remaining time from now."""
        return LambdaContext(self.clock, self.clock.now() + seconds)

    def function_env(self, name: str = TARGET) -> dict[str, str]:
        """The target function's current environment variables."""
        response = self.aws["lambda"].get_function_configuration(FunctionName=name)
        return dict(response.get("Environment", {}).get("Variables", {}))

    def set_function_env(self, variables: dict[str, str], name: str = TARGET) -> None:
        """Replace the target's environment (an operator or deploy changing it)."""
        self.aws["lambda"].update_function_configuration(
            FunctionName=name, Environment={"Variables": variables}
        )

    def set_alarm(self, state: str, alarm_name: str = ALARM_NAME) -> None:
        """Drive the CloudWatch alarm to ``state`` (moto never evaluates alarms)."""
        self.aws["cloudwatch"].set_alarm_state(AlarmName=alarm_name, StateValue=state, StateReason="test")

    def escalations(self) -> list[dict[str, str]]:
        """Every escalation published so far (drained from the subscribed queue)."""
        found: list[dict[str, str]] = []
        while True:
            response = self.aws["sqs"].receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
            messages = response.get("Messages", [])
            if not messages:
                return found
            for message in messages:
                body = json.loads(message["Body"])
                found.append({"Subject": body.get("Subject", ""), "Message": body["Message"]})
                self.aws["sqs"].delete_message(
                    QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"]
                )

    def incidents(self, limit: int = 100) -> list[Incident]:
        """Incidents in the ledger, newest first."""
        return recent_incidents(TABLE, limit, client=self.aws["dynamodb"])


@contextmanager
def healer_sandbox(failure_rate: str | None = "0.5") -> Iterator[Sandbox]:
    """Start moto with the healer's world; the target starts broken with ``failure_rate``."""
    with mock_aws():
        aws = {
            name: boto3.client(name, region_name=REGION, config=CLIENT_CONFIG)  # type: ignore[call-overload]
            for name in ("lambda", "dynamodb", "sns", "sqs", "cloudwatch", "iam", "ssm")
        }
        aws["dynamodb"].create_table(
            TableName=TABLE,
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        role = aws["iam"].create_role(
            RoleName="fragile-role",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
        )["Role"]["Arn"]
        alarm_topic = aws["sns"].create_topic(Name="selfheal-alarms")["TopicArn"]
        topic = aws["sns"].create_topic(Name="selfheal-escalations")["TopicArn"]
        queue_url = aws["sqs"].create_queue(QueueName="escalations")["QueueUrl"]
        queue_arn = aws["sqs"].get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        aws["sns"].subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        sandbox = Sandbox(
            aws=aws, topic_arn=topic, queue_url=queue_url, alarm_topic_arn=alarm_topic, role_arn=role
        )
        sandbox.add_target(TARGET, ALARM_NAME, failure_rate)
        sandbox.kill_switch("off")
        yield sandbox
