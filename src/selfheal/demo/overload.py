"""The ``overload`` scenario: a slow downstream makes callers queue; the healer clamps their concurrency.

``deploy/scenarios/overload`` serves storefront behind an HTTP API; each request asks inventory, a second
function with few slots (reserved concurrency 2), and waits for a free slot while inventory throttles it.
After a few seconds of clean traffic the demo deploys a slower inventory release (``terraform apply`` with
``inventory_delay_ms`` raised): storefront's invocations, up to its reserved concurrency of 8, now queue
for two slots, so storefront's Duration p99 climbs past the alarm's threshold, inventory throttles its
callers and the API's requests beyond storefront's concurrency are throttled (5xx). The healer's
``clamp_concurrency`` puts storefront's reserved concurrency at 2: each invocation finds a slot at once,
its duration falls back to inventory's own, p99 drops and the alarm goes back to OK; the requests beyond
two at a time are shed at the edge instead of queueing. ``terraform plan`` then shows the concurrency
going back to 8 on the next apply.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from selfheal.demo.plays import Breakage, Play, Report, apply_stack
from selfheal.demo.settings import DemoSettings
from selfheal.demo.timeline import Timeline
from selfheal.loop.traffic import LoadGenerator, TrafficPlan
from selfheal.workdir import Workdir

__all__ = [
    "OVERLOAD",
    "SLOW_DELAY_MS",
    "alarm_datapoints",
    "reserved_concurrency",
    "throttles_per_period",
    "warm_up",
]

MODULE = Path("deploy") / "scenarios" / "overload"
BASE_DELAY_MS = 20
# Each call holds one of inventory's two slots this long: two slots then serve 5 calls a second, a
# quarter of the demo's 20 requests a second, so storefront's 8 invocations queue for them (~1.6 s each
# on average, longer in the tail), while one call alone stays far under the threshold.
SLOW_DELAY_MS = 400
P99_THRESHOLD_MS = 1500
# Before its traffic the demo runs each function as many times at once as it may run (the output with its
# reserved concurrency), inventory first.
WARM = (
    ("inventory_function_name", "inventory_concurrency"),
    ("fragile_function_name", "storefront_concurrency"),
)
# Real seconds the demo keeps watching after the recovery (a minute of cloud time at the default scale):
# a full alarm period of the clamped storefront, for the throttles after the clamp.
HOLD_SECONDS = 3.0
_DATAPOINTS = re.compile(r"\[([^\]]*)\]")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def _variables(settings: DemoSettings) -> dict[str, str]:
    return {
        "inventory_delay_ms": str(BASE_DELAY_MS),
        "inventory_wait_seconds": "4",
        "p99_threshold_ms": str(P99_THRESHOLD_MS),
        "alarm_period_seconds": "60",
        "alarm_evaluation_periods": "2",
    }


def warm_up(lam: Any, outputs: Mapping[str, Any]) -> int:
    """Invoke inventory, then storefront, as many times at once as each may run (their reserved
    concurrency, from the outputs), so that their execution environments exist before the traffic: a
    service that has been running, whose healthy p99 is not its cold starts. Returns the invocations that
    answered without an error."""

    def once(function: str) -> bool:
        try:
            answer = lam.invoke(FunctionName=function, Payload=json.dumps({"rawPath": "/warm-up"}).encode())
        except (BotoCoreError, ClientError):
            return False
        return not answer.get("FunctionError")

    answered = 0
    for name, concurrency in WARM:
        count = int(outputs[concurrency])
        with ThreadPoolExecutor(max_workers=count, thread_name_prefix="demo-warm-up") as pool:
            answered += sum(pool.map(once, [str(outputs[name])] * count))
    return answered


def _warmed_traffic(
    target: Any, outputs: Mapping[str, Any], settings: DemoSettings
) -> tuple[LoadGenerator, str]:
    """The demo's HTTP load, once both functions are warm."""
    warm_up(target.client("lambda"), outputs)
    url = str(outputs["api_endpoint"])
    plan = TrafficPlan(url=url, rate=settings.rate, duration=settings.deadline + 60, concurrency=16)
    return LoadGenerator(plan), url


def reserved_concurrency(lam: Any, outputs: Mapping[str, Any]) -> str | None:
    """storefront's reserved concurrency as text (``unreserved`` when it has none; None: unreadable)."""
    try:
        got = lam.get_function_concurrency(FunctionName=str(outputs["fragile_function_name"]))
    except (BotoCoreError, ClientError):
        return None
    value = got.get("ReservedConcurrentExecutions")
    return "unreserved" if value is None else str(value)


def _delay_ms(lam: Any, outputs: Mapping[str, Any]) -> str:
    try:
        config = lam.get_function_configuration(FunctionName=str(outputs["inventory_function_name"]))
    except (BotoCoreError, ClientError):
        return "?"
    return str(((config.get("Environment") or {}).get("Variables") or {}).get("DELAY_MS", "?"))


def _slow_release(
    workdir: Workdir, endpoint: str, variables: Mapping[str, str], lam: Any, outputs: Mapping[str, Any]
) -> Breakage:
    """``terraform apply`` with ``inventory_delay_ms`` raised: inventory's slower release."""
    before = _delay_ms(lam, outputs)
    slow = str(SLOW_DELAY_MS)
    apply_stack(
        workdir, endpoint, MODULE, {**variables, "inventory_delay_ms": slow}, "the slow inventory release"
    )
    text = (
        f"slow downstream: terraform apply -var inventory_delay_ms={slow}; "
        f"{outputs['inventory_function_name']} DELAY_MS {before} → {_delay_ms(lam, outputs)}"
    )
    # The release leaves storefront's concurrency as it was: the baseline the view watches stays.
    return Breakage(text, None)


def alarm_datapoints(reason: str | None) -> tuple[float, ...]:
    """The datapoints an alarm's state reason lists (``… datapoints [1534.2 (05/12/26 01:00:00), …]``)."""
    found = _DATAPOINTS.search(reason or "")
    if found is None:
        return ()
    values = []
    for part in found.group(1).split(","):
        number = _NUMBER.match(part.strip())
        if number is not None:
            values.append(float(number.group()))
    return tuple(values)


def throttles_per_period(
    cloudwatch: Any, function: str, start: datetime, end: datetime, period: int = 60
) -> list[tuple[datetime, float]]:
    """``function``'s Throttles (Sum per ``period``) from ``start`` to ``end``, oldest first."""
    got = cloudwatch.get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="Throttles",
        Dimensions=[{"Name": "FunctionName", "Value": function}],
        StartTime=start,
        EndTime=end,
        Period=period,
        Statistics=["Sum"],
    )
    points = [(p["Timestamp"].astimezone(UTC), float(p["Sum"])) for p in got.get("Datapoints", [])]
    return sorted(points)


def _counts(values: Sequence[float]) -> str:
    return ", ".join(f"{value:g}" for value in values) or "none"


def _p99_line(timeline: Timeline) -> str | None:
    """p99 at ALARM (the datapoints that breached) and at OK (those that did not), from the alarm's
    state reasons as the view recorded them."""
    breached: tuple[float, ...] = ()
    recovered: tuple[float, ...] = ()
    for event in timeline.events:
        if event.kind != "alarm":
            continue
        points = alarm_datapoints(event.text)
        if " → ALARM" in event.text and points and not breached:
            breached = points
        elif " → OK" in event.text and points and breached:
            recovered = points
    if not breached:
        return None
    shown = ", ".join(f"{value:.0f}" for value in breached)
    at_ok = f"; at OK: {', '.join(f'{value:.0f}' for value in recovered)} ms" if recovered else ""
    return f"storefront Duration p99 per period at ALARM: {shown} ms{at_ok} (threshold {P99_THRESHOLD_MS} ms)"


def _alarm_after_release(timeline: Timeline) -> bool:
    """The first ALARM came after the slow release (the demo's deploy note), as the scenario says."""
    released = alarmed = None
    for index, event in enumerate(timeline.events):
        if released is None and event.kind == "deploy" and event.text.startswith("slow downstream"):
            released = index
        if alarmed is None and event.kind == "alarm" and " → ALARM" in event.text:
            alarmed = index
    return released is not None and alarmed is not None and released < alarmed


def _report(target: Any, outputs: Mapping[str, Any], timeline: Timeline, traffic: Any) -> Report:
    """p99 before and after, the throttles of inventory and storefront around the clamp, the clamp itself."""
    incident = timeline.incident
    if incident is None or incident.action_at is None:
        return Report((), "the healer did not act")
    lines: list[str] = []
    problems: list[str] = []
    p99 = _p99_line(timeline)
    if p99 is not None:
        lines.append(p99)
    if not _alarm_after_release(timeline):
        problems.append(
            "the alarm fired before the slow inventory release landed: storefront was slow while healthy "
            "(an overloaded machine?), so the clamp did not answer the scenario's failure"
        )
    limit = str(outputs.get("concurrency_limit", "?"))
    now = reserved_concurrency(target.client("lambda"), outputs)
    if now != limit:
        problems.append(f"storefront's reserved concurrency is {now}, not the clamp's {limit}")
    acted = incident.action_at.astimezone(UTC)
    start = incident.alarm_time.astimezone(UTC) - timedelta(minutes=4)
    end = (incident.ok_time or acted).astimezone(UTC) + timedelta(minutes=3)
    cloudwatch = target.client("cloudwatch")
    inventory = str(outputs["inventory_function_name"])
    for function, what in (
        (inventory, "calls inventory throttled"),
        (str(outputs["fragile_function_name"]), "requests storefront shed (throttled)"),
    ):
        try:
            points = throttles_per_period(cloudwatch, function, start, end)
        except (BotoCoreError, ClientError) as error:
            problems.append(f"the Throttles of {function} could not be read: {error}")
            continue
        before = [value for at, value in points if at + timedelta(minutes=1) <= acted]
        after = [value for at, value in points if at >= acted]
        lines.append(f"{what} per minute: {_counts(before)} | clamp | {_counts(after)}")
        if function == inventory and before and after and after[-1] >= max(before):
            problems.append("inventory throttles its callers as much after the clamp as before")
    return Report(tuple(lines), "; ".join(problems) or None)


OVERLOAD = Play(
    name="overload",
    module=MODULE,
    setting="reserved concurrency",
    act_span="ALARM → clamped",
    variables=_variables,
    read_setting=reserved_concurrency,
    drift=re.compile(r"\breserved_concurrent_executions\s*="),
    drift_needed="reserved_concurrent_executions",
    breaks=_slow_release,
    breaking="deploying a slower inventory (terraform apply)",
    drift_note=(
        "the next apply puts storefront's concurrency back: make the clamp storefront_concurrency, or fix "
        "inventory, before it"
    ),
    report=_report,
    hold_seconds=HOLD_SECONDS,
    traffic=_warmed_traffic,
    onset_at_break=True,
)
