"""Functional tests of the Lambda entry point ``healer.app.handler`` configured only by environment."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from healer_fixtures import REGISTRY, FaultyClient, alarm_message, healer_sandbox, sns_event

from healer import app
from healer.clients import reset_clients


@dataclass
class Context:
    """A Lambda context with a real-time deadline."""

    deadline: float
    function_name: str = "selfheal-healer"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:selfheal-healer"
    aws_request_id: str = "req-app"

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds until the deadline."""
        return int(max(0.0, self.deadline - time.time()) * 1000)


@pytest.fixture
def fresh_clients() -> Iterator[None]:
    """Make the handler build its cached clients inside the test's moto mock."""
    reset_clients()
    yield
    reset_clients()


def decision_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The structured fields of each 'healer decision' log record, checked to be JSON-serialisable."""
    found = []
    for record in caplog.records:
        if record.getMessage() == "healer decision":
            fields = record.__dict__["healer"]
            found.append(json.loads(json.dumps(fields)))
    return found


def configure(monkeypatch: pytest.MonkeyPatch, topic_arn: str, **extra: str) -> None:
    """Set the healer's environment as Terraform would, plus a fast local-cloud clock."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    values = {
        "AWS_DEFAULT_REGION": "us-east-1",
        "REGISTRY_PATH": REGISTRY,
        "LEDGER_TABLE_NAME": "selfheal-ledger",
        "ESCALATION_TOPIC_ARN": topic_arn,
        "FLEET_MAX_IN_FLIGHT": "3",
        "FLEET_MAX_ACTIONS_PER_HOUR": "10",
        "DRY_RUN": "false",
        "SELFHEAL_TIME_SCALE": "1000",
        "SELFHEAL_TIME_ORIGIN": repr(time.time()),
    }
    values.update(extra)
    for name, value in values.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("fresh_clients")
def test_handler_runs_the_loop_from_its_environment(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Configured by env with a scaled clock, the handler acts, times out verification fast and escalates."""
    with healer_sandbox() as box:
        configure(monkeypatch, box.topic_arn)
        box.config(verify_timeout_seconds=30)  # the registry entry's rails
        caplog.set_level("INFO")
        alarm_at = time.time()
        started = time.monotonic()
        result = app.handler(sns_event(alarm_message(at=alarm_at)), Context(time.time() + 60))
        assert time.monotonic() - started < 20  # 30 cloud seconds of polling at k=1000
        [summary] = result["results"]
        assert summary["action_taken"].startswith("set_env FAILURE_RATE=0 ")
        assert summary["verification"] == "timed_out"
        assert box.function_env()["HEALED_BY"] == "selfheal-healer"
        assert [e["Subject"] for e in box.escalations()] == [
            "selfheal: verify timeout for selfheal-fragile-errors"
        ]
        [line] = decision_lines(caplog)
        for key in ("alarm", "decision", "reason", "action_taken", "duration_seconds", "verify_seconds"):
            assert key in line
        ok = app.handler(
            sns_event(alarm_message("alarm_fragile_ok.json", at=alarm_at + 42)), Context(time.time() + 60)
        )
        assert ok["results"][0]["time_to_recover_seconds"] == pytest.approx(42)
        assert box.incidents()[0].status == "RECOVERED"


@pytest.mark.usefixtures("fresh_clients")
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REGISTRY_PATH", ""),
        ("REGISTRY_PATH", "no-leading-slash"),
        ("FLEET_MAX_IN_FLIGHT", "-3"),
        ("SELFHEAL_TIME_SCALE", "slow"),
        ("DRY_RUN", "perhaps"),
    ],
)
def test_invalid_configuration_fails_closed(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    """With a bad variable the handler logs the error, returns, and touches nothing."""
    with healer_sandbox() as box:
        configure(monkeypatch, box.topic_arn, **{name: value})
        result = app.handler(sns_event(alarm_message(at=time.time())), Context(time.time() + 60))
        assert result["results"] == [] and name in result["error"]
        assert box.function_env()["FAILURE_RATE"] == "0.5"
        assert box.incidents() == [] and box.escalations() == []


@pytest.mark.usefixtures("fresh_clients")
def test_handler_returns_normally_for_a_poison_event(monkeypatch: pytest.MonkeyPatch) -> None:
    """A non-SNS event is rejected with its reason and does not raise (no Lambda retry)."""
    with healer_sandbox() as box:
        configure(monkeypatch, box.topic_arn)
        result = app.handler({"hello": "world"}, Context(time.time() + 60))
        assert result["results"] == [] and result["rejected"][0]["error"] == "NotAnSnsEvent"
        assert box.incidents() == []


def test_fixture_wrapper_forwards_non_callables() -> None:
    """The fault-injection wrapper passes attributes through untouched (sanity of the test helper)."""
    with healer_sandbox() as box:
        wrapped = FaultyClient(box.aws["lambda"])
        assert wrapped.meta.region_name == "us-east-1"
