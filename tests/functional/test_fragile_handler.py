"""Functional tests of the fragile service's Lambda handler on HTTP API events, in every failure mode."""

from __future__ import annotations

import io
import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools import Logger

from fragile_service import app
from fragile_service.errors import InjectedException, InjectedTimeout
from fragile_service.faults import ENV_VARS

EVENTS = Path(__file__).resolve().parents[1] / "events"


def load_event(name: str) -> dict[str, Any]:
    """Read one HTTP API event fixture from tests/events."""
    return dict(json.loads((EVENTS / name).read_text()))


@dataclass
class FakeContext:
    """The Lambda context attributes the handler reads."""

    remaining_ms: int = 3000
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_name: str = "selfheal-fragile"

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class Harness:
    """The handler wired to an in-memory log, a recording sleep and a seeded random source."""

    log: io.StringIO
    sleeps: list[float]
    monkeypatch: pytest.MonkeyPatch

    def configure(self, **env: str) -> None:
        for name in ENV_VARS:
            self.monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)

    def seed(self, seed: int) -> None:
        self.monkeypatch.setattr(app, "rng", random.Random(seed))

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.getvalue().splitlines() if line.strip()]


@pytest.fixture
def harness(monkeypatch: pytest.MonkeyPatch) -> Iterator[Harness]:
    """A handler whose logs, sleeps and randomness the test controls."""
    log = io.StringIO()
    sleeps: list[float] = []
    # A unique service name gives a fresh underlying logging.Logger, so handlers do not pile up.
    monkeypatch.setattr(app, "logger", Logger(service=f"fragile-test-{uuid.uuid4().hex}", stream=log))
    monkeypatch.setattr(app, "sleep", sleeps.append)
    monkeypatch.setattr(app, "rng", random.Random(0))
    h = Harness(log=log, sleeps=sleeps, monkeypatch=monkeypatch)
    h.configure()
    yield h


@pytest.mark.parametrize("event_file", sorted(p.name for p in EVENTS.glob("http_api_*.json")))
def test_healthy_request_returns_json_body(harness: Harness, event_file: str) -> None:
    """Without injection every fixture gets 200 and a JSON body with ids, timestamp and configuration."""
    event = load_event(event_file)
    context = FakeContext()
    response = app.handler(event, context)
    assert response["statusCode"] == 200
    assert response["headers"]["content-type"] == "application/json"
    body = json.loads(response["body"])
    assert body["request_id"] == context.aws_request_id
    assert body["api_request_id"] == event["requestContext"]["requestId"]
    assert body["fault"] is None
    assert body["config"]["rate"] == 0.0
    assert body["timestamp"].endswith("+00:00")
    assert harness.sleeps == []


def test_exception_mode_raises(harness: Harness) -> None:
    """At rate 1 in exception mode the handler raises, which Lambda counts as an error."""
    harness.configure(FAILURE_RATE="1", FAILURE_MODE="exception")
    with pytest.raises(InjectedException, match=r"FAILURE_RATE=1\.0"):
        app.handler(load_event("http_api_get_root.json"), FakeContext())
    (record,) = harness.records()
    assert record["level"] == "WARNING"
    assert record["fault_injected"] is True
    assert record["fault_mode"] == "exception"


def test_default_mode_is_exception(harness: Harness) -> None:
    """With FAILURE_MODE unset an injected failure is an exception."""
    harness.configure(FAILURE_RATE="1")
    with pytest.raises(InjectedException):
        app.handler(load_event("http_api_get_root.json"), FakeContext())


def test_latency_mode_sleeps_then_succeeds(harness: Harness) -> None:
    """Latency mode waits LATENCY_MS and still answers 200."""
    harness.configure(FAILURE_RATE="1", FAILURE_MODE="latency", LATENCY_MS="1250")
    response = app.handler(load_event("http_api_get_query.json"), FakeContext())
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["fault"] == "latency"
    assert harness.sleeps == [1.25]


def test_timeout_mode_sleeps_past_the_deadline(harness: Harness) -> None:
    """Timeout mode sleeps longer than the invocation has left, then raises if nothing stopped it."""
    harness.configure(FAILURE_RATE="1", FAILURE_MODE="timeout")
    with pytest.raises(InjectedTimeout):
        app.handler(load_event("http_api_get_root.json"), FakeContext(remaining_ms=2500))
    assert len(harness.sleeps) == 1
    assert harness.sleeps[0] > 2.5


def test_status_mode_returns_status_without_raising(harness: Harness) -> None:
    """Status mode returns FAILURE_STATUS_CODE as a normal response (not a Lambda error)."""
    harness.configure(FAILURE_RATE="1", FAILURE_MODE="status", FAILURE_STATUS_CODE="429")
    response = app.handler(load_event("http_api_post_json.json"), FakeContext())
    assert response["statusCode"] == 429
    body = json.loads(response["body"])
    assert body["fault"] == "status"
    assert body["config"]["status_code"] == 429


def test_kill_switch_wins_over_rate_one(harness: Harness) -> None:
    """FAILURE_INJECTION_ENABLED=false serves every request even at rate 1."""
    harness.configure(FAILURE_RATE="1", FAILURE_MODE="exception", FAILURE_INJECTION_ENABLED="false")
    for _ in range(20):
        assert app.handler(load_event("http_api_get_root.json"), FakeContext())["statusCode"] == 200
    assert all(r["fault_injected"] is False for r in harness.records())


@pytest.mark.parametrize(
    ("env", "bad_name"),
    [
        ({"FAILURE_RATE": "abc"}, "FAILURE_RATE"),
        ({"FAILURE_RATE": "1.7"}, "FAILURE_RATE"),
        ({"FAILURE_RATE": "1", "FAILURE_MODE": "meltdown"}, "FAILURE_MODE"),
        ({"FAILURE_RATE": "1", "FAILURE_MODE": "status", "FAILURE_STATUS_CODE": "2"}, "FAILURE_STATUS_CODE"),
        ({"FAILURE_RATE": "1", "FAILURE_MODE": "latency", "LATENCY_MS": "soon"}, "LATENCY_MS"),
    ],
)
def test_malformed_configuration_logs_error_and_serves(
    harness: Harness, env: dict[str, str], bad_name: str
) -> None:
    """A malformed value is logged as an error naming it, and the request is served normally."""
    harness.configure(**env)
    response = app.handler(load_event("http_api_get_root.json"), FakeContext())
    assert response["statusCode"] == 200
    assert harness.sleeps == []
    errors = [r for r in harness.records() if r["level"] == "ERROR"]
    assert len(errors) == 1
    assert "malformed" in errors[0]["message"]
    assert [e.split("=")[0] for e in errors[0]["config_errors"]] == [bad_name]


def test_seeded_runs_are_reproducible(harness: Harness) -> None:
    """Two runs with the same seed fail on the same requests; a different seed fails on others."""

    def outcomes(seed: int) -> list[int]:
        harness.seed(seed)
        result = []
        for _ in range(60):
            try:
                result.append(app.handler(load_event("http_api_get_root.json"), FakeContext())["statusCode"])
            except InjectedException:
                result.append(500)
        return result

    harness.configure(FAILURE_RATE="0.3")
    first, again, other = outcomes(11), outcomes(11), outcomes(12)
    assert first == again
    assert first != other
    assert set(first) == {200, 500}


def test_logs_are_structured_with_request_id(harness: Harness) -> None:
    """Each request logs one JSON record carrying its request id and whether a fault was injected."""
    context = FakeContext()
    app.handler(load_event("http_api_get_root.json"), context)
    (record,) = harness.records()
    assert record["request_id"] == context.aws_request_id
    assert record["fault_injected"] is False
    assert record["service"].startswith("fragile-test-")


def test_configuration_is_read_at_each_invocation(harness: Harness) -> None:
    """A changed environment takes effect on the next request, as after a healer's update."""
    harness.configure(FAILURE_RATE="1")
    with pytest.raises(InjectedException):
        app.handler(load_event("http_api_get_root.json"), FakeContext())
    harness.configure(FAILURE_RATE="0")
    assert app.handler(load_event("http_api_get_root.json"), FakeContext())["statusCode"] == 200
