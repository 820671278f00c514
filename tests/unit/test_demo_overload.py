"""`selfheal demo --scenario overload`: its stack's numbers, its functions, what the view and report read."""

from __future__ import annotations

import importlib.util
import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import hcl2
import pytest
from botocore.exceptions import ClientError

from healer.ledger import Incident
from selfheal.demo.overload import (
    OVERLOAD,
    P99_THRESHOLD_MS,
    SLOW_DELAY_MS,
    alarm_datapoints,
    reserved_concurrency,
    warm_up,
)
from selfheal.demo.plays import Report, play
from selfheal.demo.settings import DemoSettings
from selfheal.demo.summary import drift_lines
from selfheal.demo.timeline import Sample, Timeline
from selfheal.terraform.stack import read_interface

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "deploy" / "scenarios" / "overload"
ALARM_AT = datetime(2026, 12, 5, 1, 33, tzinfo=UTC)
ACTED_AT = ALARM_AT + timedelta(seconds=13)
# As the local cloud wrote them in a run (alarm_evaluation._crossed, CloudWatch's M-out-of-N form).
TO_ALARM = (
    "Threshold Crossed: 2 out of the last 2 datapoints [3062.8367899989826 (05/12/26 01:34:00), "
    "1270.3412379996735 (05/12/26 01:33:00)] were greater than or equal to the threshold (1000.0) "
    "(minimum 2 datapoints for OK -> ALARM transition)."
)
TO_OK = (
    "Threshold Crossed: 1 out of the last 2 datapoints [355.00657400189084 (05/12/26 01:36:00)] was not "
    "greater than or equal to the threshold (1000.0) (minimum 1 datapoint for ALARM -> OK transition)."
)
OUTPUTS = {
    "fragile_function_name": "overload-storefront",
    "inventory_function_name": "overload-inventory",
    "concurrency_limit": 2,
    "inventory_concurrency": 2,
    "storefront_concurrency": 8,
}


def _defaults() -> dict[str, Any]:
    with (STACK / "variables.tf").open() as file:
        parsed = hcl2.load(file)
    return {
        name.strip('"'): body.get("default") for entry in parsed["variable"] for name, body in entry.items()
    }


def test_the_stack_clamps_below_the_downstream_and_the_slow_release_overloads_it() -> None:
    """Clamp ≤ inventory's slots < storefront's concurrency; the slow release cannot serve the demo's rate."""
    defaults = _defaults()
    assert (
        defaults["concurrency_limit"]
        <= defaults["inventory_concurrency"]
        < defaults["storefront_concurrency"]
    )
    capacity = defaults["inventory_concurrency"] / (SLOW_DELAY_MS / 1000)
    assert capacity < DemoSettings().rate
    # Queueing for the slots at storefront's full concurrency takes longer than the threshold; one call
    # (what a clamped storefront waits) takes well under it.
    queued_ms = defaults["storefront_concurrency"] / defaults["inventory_concurrency"] * SLOW_DELAY_MS
    assert SLOW_DELAY_MS * 2 < P99_THRESHOLD_MS < queued_ms
    assert defaults["inventory_wait_seconds"] * 1000 > P99_THRESHOLD_MS


def test_the_play_applies_variables_of_the_stack_and_reads_its_outputs() -> None:
    """The demo's variables are the stack's; the outputs the report reads exist."""
    interface = read_interface(STACK)
    variables = OVERLOAD.variables(DemoSettings())
    assert set(variables) <= set(interface.variables)
    read = {"inventory_function_name", "inventory_concurrency", "storefront_concurrency", "concurrency_limit"}
    assert read | {"api_endpoint", "alarm_name"} <= set(interface.outputs)
    assert "inventory_delay_ms" in variables and int(variables["inventory_delay_ms"]) < SLOW_DELAY_MS
    assert play("overload") is OVERLOAD and OVERLOAD.breaks is not None


def test_alarm_datapoints_reads_the_values_of_a_state_reason() -> None:
    """The datapoints in brackets, in order, timestamps dropped; none when the reason lists none."""
    assert alarm_datapoints(TO_ALARM) == (3062.8367899989826, 1270.3412379996735)
    assert alarm_datapoints(TO_OK) == (355.00657400189084,)
    assert alarm_datapoints("Threshold Crossed: no datapoints were received for 2 periods") == ()
    assert alarm_datapoints(None) == ()


class _Lambda:
    def __init__(self, reserved: int | None) -> None:
        self.reserved = reserved

    def get_function_concurrency(self, FunctionName: str) -> dict[str, Any]:
        if FunctionName != OUTPUTS["fragile_function_name"]:
            raise ClientError({"Error": {"Code": "ResourceNotFoundException"}}, "GetFunctionConcurrency")
        return {} if self.reserved is None else {"ReservedConcurrentExecutions": self.reserved}


@pytest.mark.parametrize(("reserved", "shown"), [(None, "unreserved"), (8, "8"), (2, "2")])
def test_reserved_concurrency_is_read_as_the_view_shows_it(reserved: int | None, shown: str) -> None:
    """No reserved concurrency reads as unreserved; an unreadable function as None."""
    assert reserved_concurrency(_Lambda(reserved), OUTPUTS) == shown
    assert reserved_concurrency(_Lambda(reserved), {"fragile_function_name": "other"}) is None


class _CloudWatch:
    """Throttles per minute from the minute of the alarm on: ``series[function]`` oldest first."""

    def __init__(self, series: dict[str, list[float]]) -> None:
        self.series = series

    def get_metric_statistics(self, **kwargs: Any) -> dict[str, Any]:
        assert kwargs["MetricName"] == "Throttles" and kwargs["Statistics"] == ["Sum"]
        function = kwargs["Dimensions"][0]["Value"]
        start = ALARM_AT - timedelta(minutes=2)
        points = [
            {"Timestamp": start + timedelta(minutes=i), "Sum": value}
            for i, value in enumerate(self.series[function])
        ]
        return {
            "Datapoints": [p for p in points if kwargs["StartTime"] <= p["Timestamp"] < kwargs["EndTime"]]
        }


class _Cloud:
    def __init__(self, reserved: int, inventory: list[float], storefront: list[float]) -> None:
        throttles = {"overload-inventory": inventory, "overload-storefront": storefront}
        self.clients = {"lambda": _Lambda(reserved), "cloudwatch": _CloudWatch(throttles)}

    def client(self, name: str) -> Any:
        return self.clients[name]


def _timeline(released: bool = True) -> Timeline:
    incident = Incident(
        incident_id="inc-1",
        sk="s",
        alarm_name="overload-storefront-duration-p99",
        alarm_arn="arn",
        target="overload-storefront",
        status="RECOVERED",
        alarm_time=ALARM_AT,
        opened_at=ALARM_AT,
        action="clamp_concurrency ReservedConcurrentExecutions=2 (was 8)",
        action_at=ACTED_AT,
        ok_time=ACTED_AT + timedelta(minutes=2),
    )
    timeline = Timeline(baseline="8", setting="reserved concurrency")
    timeline.observe(Sample(0.0, alarm_state="OK", alarm_reason="no datapoints"))
    if released:
        timeline.note(
            0.5, "deploy", f"slow downstream: terraform apply -var inventory_delay_ms={SLOW_DELAY_MS}"
        )
    timeline.observe(Sample(1.0, alarm_state="ALARM", alarm_reason=TO_ALARM, failure_rate="8"))
    timeline.observe(
        Sample(2.0, alarm_state="OK", alarm_reason=TO_OK, failure_rate="2", incidents=(incident,))
    )
    return timeline


def _report(cloud: _Cloud, timeline: Timeline | None = None) -> Report:
    assert OVERLOAD.report is not None
    return OVERLOAD.report(cloud, OUTPUTS, timeline or _timeline(), None)


def test_the_report_shows_p99_and_the_throttles_falling_after_the_clamp() -> None:
    """p99 at ALARM and at OK from the alarm's reasons; throttles per minute split at the clamp."""
    # Minutes: alarm-2, alarm-1 (before the clamp), alarm (the clamp's minute), alarm+1, alarm+2 (after).
    report = _report(_Cloud(2, [3, 101, 166, 20, 0], [0, 23, 41, 44, 46]))
    assert report.failure is None, report.failure
    assert report.lines == (
        "storefront Duration p99 per period at ALARM: 3063, 1270 ms; at OK: 355 ms (threshold 1500 ms)",
        "calls inventory throttled per minute: 3, 101 | clamp | 20, 0",
        "requests storefront shed (throttled) per minute: 0, 23 | clamp | 44, 46",
    )


@pytest.mark.parametrize(
    ("reserved", "inventory", "problem"),
    [
        (8, [3, 101, 166, 20, 0], "reserved concurrency is 8, not the clamp's 2"),
        (2, [3, 101, 166, 150, 120], "inventory throttles its callers as much after the clamp"),
    ],
)
def test_the_report_fails_when_the_clamp_is_gone_or_did_not_relieve_inventory(
    reserved: int, inventory: list[float], problem: str
) -> None:
    """A concurrency not at the clamp, or inventory throttling as before, is the scenario's failure."""
    report = _report(_Cloud(reserved, inventory, [0, 0, 0, 0, 0]))
    assert report.failure is not None and problem in report.failure


def test_the_report_fails_when_the_healer_did_not_act() -> None:
    """No action in the ledger: nothing to report but that."""
    timeline = _timeline()
    assert timeline.incident is not None
    timeline.incident = replace(timeline.incident, action=None, action_at=None)
    assert _report(_Cloud(8, [0] * 5, [0] * 5), timeline) == Report((), "the healer did not act")


def test_the_drift_is_storefronts_reserved_concurrency() -> None:
    """From a plan, overload keeps the reserved concurrency lines and the tally."""
    plan = """
  # module.fragile.aws_lambda_function.storefront has changed
      ~ reserved_concurrent_executions = 8 -> 2
  ~ resource "aws_lambda_function" "storefront" {
      ~ reserved_concurrent_executions = 2 -> 8
        timeout                        = 10
    }

Plan: 0 to add, 1 to change, 0 to destroy.
"""
    assert drift_lines(plan, OVERLOAD.drift) == (
        "~ reserved_concurrent_executions = 8 -> 2",
        "~ reserved_concurrent_executions = 2 -> 8",
        "Plan: 0 to add, 1 to change, 0 to destroy.",
    )


def _load(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    spec = importlib.util.spec_from_file_location(f"overload_{name}", STACK / "src" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class _Inventory:
    """A Lambda client whose inventory is busy for the first ``busy`` calls (or answers ``error``)."""

    def __init__(self, busy: int, code: str = "TooManyRequestsException") -> None:
        self.busy, self.code, self.calls = busy, code, 0

    def invoke(self, FunctionName: str, Payload: bytes) -> dict[str, Any]:
        self.calls += 1
        if self.calls <= self.busy:
            raise ClientError({"Error": {"Code": self.code, "Message": "Rate Exceeded."}}, "Invoke")
        return {"StatusCode": 200, "Payload": io.BytesIO(b'{"item": "x", "in_stock": true}')}


def test_storefront_waits_for_a_free_inventory_slot(monkeypatch: pytest.MonkeyPatch) -> None:
    """Throttled calls are tried again until inventory answers; the count comes back with the answer."""
    storefront = _load("storefront", monkeypatch)
    monkeypatch.setenv("INVENTORY_FUNCTION", "overload-inventory")
    monkeypatch.setenv("BACKOFF_SECONDS", "0")
    monkeypatch.setattr(storefront, "_LAMBDA", _Inventory(busy=3))
    assert storefront.ask_inventory("x") == ({"item": "x", "in_stock": True}, 3)
    answer = storefront.handler({"rawPath": "/x"}, None)
    assert answer["statusCode"] == 200 and '"inventory_throttled": 0' in answer["body"]


def test_storefront_gives_up_after_wait_seconds_and_passes_other_errors_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Busy past WAIT_SECONDS: InventoryUnavailable; any other refusal is raised as it came."""
    storefront = _load("storefront", monkeypatch)
    monkeypatch.setenv("INVENTORY_FUNCTION", "overload-inventory")
    monkeypatch.setenv("WAIT_SECONDS", "0")
    monkeypatch.setattr(storefront, "_LAMBDA", _Inventory(busy=10**6))
    with pytest.raises(storefront.InventoryUnavailable, match="busy after 1 throttled calls"):
        storefront.ask_inventory("x")
    monkeypatch.setattr(storefront, "_LAMBDA", _Inventory(busy=1, code="AccessDeniedException"))
    with pytest.raises(ClientError, match="AccessDenied"):
        storefront.ask_inventory("x")


@pytest.mark.parametrize(("text", "seconds"), [("300", 0.3), ("-5", 0.0), ("99999", 5.0), ("x", 0.0)])
def test_inventory_holds_its_slot_for_delay_ms(
    monkeypatch: pytest.MonkeyPatch, text: str, seconds: float
) -> None:
    """DELAY_MS is clamped to 0..5000 ms; anything unreadable is no delay."""
    inventory = _load("inventory", monkeypatch)
    monkeypatch.setenv("DELAY_MS", text)
    assert inventory.delay_seconds() == pytest.approx(seconds)


class _Warm:
    """A Lambda client recording invocations; ``failing`` functions answer with a function error."""

    def __init__(self, failing: frozenset[str] = frozenset()) -> None:
        self.calls: list[str] = []
        self.failing = failing

    def invoke(self, FunctionName: str, Payload: bytes) -> dict[str, Any]:
        self.calls.append(FunctionName)
        return {"StatusCode": 200, "FunctionError": "Unhandled"} if FunctionName in self.failing else {}


def test_warm_up_runs_each_function_as_often_as_it_may_run_inventory_first() -> None:
    """As many inventory invocations as its slots, then storefront's; the count is of those that answered."""
    lam = _Warm()
    assert warm_up(lam, OUTPUTS) == 10
    assert lam.calls == ["overload-inventory"] * 2 + ["overload-storefront"] * 8
    assert warm_up(_Warm(frozenset({"overload-storefront"})), OUTPUTS) == 2


def test_an_alarm_before_the_slow_release_fails_the_report() -> None:
    """The clamp must answer the slow release: an ALARM seen before the release's note is a failure."""
    early = _timeline(released=False)
    early.note(3.0, "deploy", f"slow downstream: terraform apply -var inventory_delay_ms={SLOW_DELAY_MS}; …")
    report = _report(_Cloud(2, [3, 101, 166, 20, 0], [0, 23, 41, 44, 46]), early)
    assert (
        report.failure is not None and "the alarm fired before the slow inventory release" in report.failure
    )
