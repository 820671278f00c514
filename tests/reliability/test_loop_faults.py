"""Faults injected into the whole loop in a LocalCloud at time scale 60 (one cloud minute per real second).

Each test provisions its own loop under its own name prefix (alarm period 60 s, 1 of 1, threshold 3),
sends steady traffic through the HTTP API and injects one fault: the healer killed mid-run, the ledger
deleted, a flapping failure, two alarms at once, an invalid FAILURE_RATE set by hand. Faults are injected
from outside the product (killing processes, wrapping moto's backends in this process): the healer has no
test hooks.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
from reliability_helpers import client, eventually, kill_and_reap_hook, patched

from healer.ledger import Incident, recent_incidents
from selfheal.cloud import LocalCloud
from selfheal.cloud.alarm_scheduler import AlarmScheduler
from selfheal.cloud.testing import ProvisionedLoop, provision_loop

CLOUD_TIME_SCALE = 60.0
STEP = 30.0  # real seconds any one step of the loop may take on a busy machine

FAST_LOOP: dict[str, Any] = {
    "failure_rate": 1.0,
    "alarm_period_seconds": 60,
    "alarm_evaluation_periods": 1,
    "alarm_datapoints_to_alarm": 1,
    "alarm_threshold": 3,
}


class Traffic:
    """Requests to a URL from a background thread, about ``rate`` per second, with their status codes."""

    def __init__(self, url: str, rate: float = 25.0) -> None:
        self.url, self.pause = url, 1.0 / rate
        self.statuses: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-traffic", daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=15.0) as http:
            while not self._stop.is_set():
                try:
                    self.statuses.append(http.get(self.url).status_code)
                except httpx.HTTPError:
                    self.statuses.append(0)
                self._stop.wait(self.pause)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=20)


@contextmanager
def escalations(cloud: LocalCloud, loop: ProvisionedLoop) -> Iterator[Callable[[], list[dict[str, Any]]]]:
    """Subscribe a queue to the escalation topic; yield a function returning the messages so far."""
    sqs, sns = client(cloud, "sqs"), client(cloud, "sns")
    url = sqs.create_queue(QueueName=f"{loop.settings.name_prefix}-escalations-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=loop.escalation_topic_arn, Protocol="sqs", Endpoint=arn)
    seen: list[dict[str, Any]] = []

    def read() -> list[dict[str, Any]]:
        while True:
            batch = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return list(seen)
            for message in batch:
                seen.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    yield read


def _variables(cloud: LocalCloud, name: str) -> dict[str, str]:
    config = client(cloud, "lambda").get_function_configuration(FunctionName=name)
    variables: dict[str, str] = config["Environment"]["Variables"]
    return variables


def _set_failure_rate(cloud: LocalCloud, name: str, rate: str) -> None:
    variables = {**_variables(cloud, name), "FAILURE_RATE": rate}
    client(cloud, "lambda").update_function_configuration(
        FunctionName=name, Environment={"Variables": variables}
    )


def _log_tail(cloud: LocalCloud, function_name: str, lines: int = 30) -> str:
    events = client(cloud, "logs").filter_log_events(logGroupName=f"/aws/lambda/{function_name}")["events"]
    return "\n".join(event["message"][:400] for event in events[-lines:])


def _incidents(cloud: LocalCloud, loop: ProvisionedLoop) -> list[Incident]:
    return recent_incidents(loop.ledger_table_name, client=client(cloud, "dynamodb"))


def _healer_updates(cloud: LocalCloud, loop: ProvisionedLoop) -> tuple[list[str], Any]:
    """Wrap moto's UpdateFunctionConfiguration to record each change that carries the healer's marker."""
    applied: list[str] = []

    def make(original: Callable[..., Any]) -> Callable[..., Any]:
        def update(function_name: str, qualifier: Any, body: dict[str, Any]) -> Any:
            current = cloud.backend("lambda").get_function(function_name, qualifier)
            previous = (current.environment_vars or {}).get("HEALED_INCIDENT")
            result = original(function_name, qualifier, body)
            marker = (body.get("Environment") or {}).get("Variables", {}).get("HEALED_INCIDENT")
            if marker and function_name.endswith(loop.fragile_function_name) and marker != previous:
                applied.append(marker)
            return result

        return update

    return applied, make


@pytest.mark.parametrize("stage", ["claim", "update"])
def test_healer_killed_mid_run_acts_exactly_once_on_retry(cloud: LocalCloud, stage: str) -> None:
    """The healer killed after its ledger write, before its action: Lambda's async retry acts exactly once."""
    loop = provision_loop(cloud, name_prefix=f"kill-{stage}", **FAST_LOOP)
    kill = kill_and_reap_hook(cloud, loop.healer_function_name)
    fired: list[list[int]] = []
    applied: list[str] = []

    def once(original: Callable[..., Any]) -> Callable[..., Any]:
        def hooked(*args: Any, **kwargs: Any) -> Any:
            if not fired:
                # The healer asked for its next step: it dies before the step happens.
                fired.append(kill())
                raise RuntimeError("healer killed by the reliability test")
            result = original(*args, **kwargs)
            if stage == "update":
                applied.append(str(args[0]))
            return result

        return hooked

    if stage == "claim":
        owner, name = cloud.backend("dynamodb"), "transact_write_items"
    else:
        owner, name = cloud.backend("lambda"), "update_function_configuration"
    counted, count = _healer_updates(cloud, loop)
    with (
        patched(cloud.backend("lambda"), "update_function_configuration", count),
        patched(owner, name, once),
        Traffic(f"{loop.api_endpoint}/kill"),
    ):
        eventually(lambda: fired, STEP, "the healer to reach the fault point")
        assert fired[0], "no healer environment was running at the fault point"
        # Lambda retries a failed async invoke after 60 cloud seconds (one real second here).
        eventually(
            lambda: cloud.metrics.snapshot()[loop.healer_function_name].invocations >= 2,
            STEP,
            "Lambda to retry the killed healer invocation",
        )
        eventually(
            lambda: _variables(cloud, loop.fragile_function_name).get("FAILURE_RATE") == "0",
            STEP / 2,
            "the retried healer to reset FAILURE_RATE",
        )
        eventually(
            lambda: [i for i in _incidents(cloud, loop) if i.status == "RECOVERED"],
            STEP,
            "the incident to be verified",
        )
    assert len(counted) == 1, f"expected exactly one remediation, saw {counted}"
    acted = [i for i in _incidents(cloud, loop) if i.action is not None]
    assert len(acted) == 1


def test_ledger_unavailable_fails_closed_and_escalates(cloud: LocalCloud) -> None:
    """With the ledger table deleted the healer changes nothing and publishes an escalation."""
    loop = provision_loop(cloud, name_prefix="noledger", **FAST_LOOP)
    client(cloud, "dynamodb").delete_table(TableName=loop.ledger_table_name)
    with escalations(cloud, loop) as inbox, Traffic(f"{loop.api_endpoint}/noledger"):
        try:
            messages = eventually(inbox, STEP, "an escalation")
        except AssertionError as exc:
            tail = _log_tail(cloud, loop.healer_function_name)
            raise AssertionError(f"{exc}; healer log:\n{tail}") from None
    assert "ledger unavailable" in messages[0]["Subject"]
    assert _variables(cloud, loop.fragile_function_name)["FAILURE_RATE"] == "1.0"
    assert "HEALED_INCIDENT" not in _variables(cloud, loop.fragile_function_name)


def test_flapping_fault_never_exceeds_the_action_cap(cloud: LocalCloud) -> None:
    """A fault that keeps coming back: at most the cap of actions, and escalations once it is reached."""
    cap = 2
    loop = provision_loop(
        cloud,
        name_prefix="flap",
        healer_cooldown_seconds=60,
        healer_max_actions_per_window=cap,
        **FAST_LOOP,
    )
    scheduler = AlarmScheduler.of(cloud)
    counted, count = _healer_updates(cloud, loop)
    with (
        patched(cloud.backend("lambda"), "update_function_configuration", count),
        escalations(cloud, loop) as inbox,
        Traffic(f"{loop.api_endpoint}/flap") as traffic,
    ):
        for cycle in range(4):
            mark = len(scheduler.transitions)
            if cycle:
                _set_failure_rate(cloud, loop.fragile_function_name, "1.0")
            alarm = scheduler.wait_for(loop.alarm_name, "ALARM", STEP, after=mark)
            assert alarm is not None, (
                f"cycle {cycle}: the alarm never went to ALARM; statuses {traffic.statuses[-20:]}, "
                f"{_variables(cloud, loop.fragile_function_name)}, {scheduler.transitions[-3:]}"
            )
            before = len(inbox())

            def handled(before: int = before) -> bool:
                healed = _variables(cloud, loop.fragile_function_name)["FAILURE_RATE"] == "0"
                return healed or len(inbox()) > before

            eventually(handled, STEP, f"cycle {cycle}: the healer to act or escalate")
            # Whatever the healer did, the fault goes away before the next cycle (as an operator would).
            _set_failure_rate(cloud, loop.fragile_function_name, "0")
            after = scheduler.transitions.index(alarm) + 1
            assert scheduler.wait_for(loop.alarm_name, "OK", STEP, after=after) is not None
        messages = inbox()
    assert len(counted) <= cap, f"{len(counted)} actions exceed the cap of {cap}"
    assert len(counted) >= 1
    subjects = [m["Subject"] for m in messages]
    assert any("action cap" in s or "cooldown" in s for s in subjects), subjects


def test_two_alarms_at_once_lead_to_one_action(cloud: LocalCloud) -> None:
    """Two alarms on the target fire together: one action, the other notification does not act again."""
    loop = provision_loop(cloud, name_prefix="twin", **FAST_LOOP)
    cloudwatch = client(cloud, "cloudwatch")
    alarm = cloudwatch.describe_alarms(AlarmNames=[loop.alarm_name])["MetricAlarms"][0]
    twin = {
        key: alarm[key]
        for key in (
            "Namespace",
            "MetricName",
            "Statistic",
            "Dimensions",
            "Period",
            "EvaluationPeriods",
            "DatapointsToAlarm",
            "Threshold",
            "ComparisonOperator",
            "TreatMissingData",
            "AlarmActions",
            "OKActions",
        )
    }
    cloudwatch.put_metric_alarm(AlarmName=f"{loop.alarm_name}-twin", **twin)
    # The healer routes by alarm name: the twin is registered for the same function, as a second signal.
    ssm = client(cloud, "ssm")
    registered = ssm.get_parameter(Name=f"/selfheal/twin/alarms/{loop.alarm_name}")["Parameter"]["Value"]
    ssm.put_parameter(Name=f"/selfheal/twin/alarms/{loop.alarm_name}-twin", Value=registered, Type="String")
    scheduler = AlarmScheduler.of(cloud)
    counted, count = _healer_updates(cloud, loop)
    with (
        patched(cloud.backend("lambda"), "update_function_configuration", count),
        Traffic(f"{loop.api_endpoint}/twin"),
    ):
        for name in (loop.alarm_name, f"{loop.alarm_name}-twin"):
            assert scheduler.wait_for(name, "ALARM", STEP) is not None, f"{name} never went to ALARM"

        def both_decided() -> list[Incident] | None:
            decided = [i for i in _incidents(cloud, loop) if i.status not in ("NEW", "ACTING")]
            return decided if len(decided) >= 2 else None

        incidents = eventually(both_decided, STEP, "both notifications to be decided")
    assert len(counted) == 1, f"expected one remediation, saw {counted}; {incidents}"
    assert len([i for i in incidents if i.action is not None]) == 1
    assert _variables(cloud, loop.fragile_function_name)["FAILURE_RATE"] == "0"


def test_invalid_failure_rate_injects_nothing_and_the_healer_survives(cloud: LocalCloud) -> None:
    """FAILURE_RATE=abc by hand: every request succeeds, and an ALARM for it is handled without a crash."""
    loop = provision_loop(cloud, name_prefix="invalid", **{**FAST_LOOP, "failure_rate": 0.0})
    _set_failure_rate(cloud, loop.fragile_function_name, "abc")
    with Traffic(f"{loop.api_endpoint}/invalid") as traffic:
        eventually(lambda: len(traffic.statuses) >= 50, STEP, "50 requests")
    assert set(traffic.statuses) == {200}, sorted(set(traffic.statuses))

    client(cloud, "cloudwatch").set_alarm_state(
        AlarmName=loop.alarm_name, StateValue="ALARM", StateReason="set by the reliability test"
    )
    incident = eventually(
        lambda: [i for i in _incidents(cloud, loop) if i.status not in ("NEW",)],
        STEP,
        "the healer to decide about the ALARM",
    )[0]
    totals = cloud.metrics.snapshot()[loop.healer_function_name]
    assert totals.invocations >= 1
    assert totals.errors == 0, "the healer crashed on FAILURE_RATE=abc"
    assert incident.decision in ("act", "escalate"), incident
    # Let a verifying healer see OK now rather than wait out its deadline during teardown.
    client(cloud, "cloudwatch").set_alarm_state(
        AlarmName=loop.alarm_name, StateValue="OK", StateReason="reset by the reliability test"
    )
