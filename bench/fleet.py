"""Fleet: one healer protecting 200 functions in one local cloud, 10 % of them failing at once (issue #11).

The platform and the functions are created through the API as the modules would (:mod:`bench.fleet_setup`);
every function is healthy and every alarm has settled ``OK`` before a tenth of them turn to FAILURE_RATE 1
together (a bad deploy) and get steady traffic by Lambda ``Invoke``; the others stay idle (no traffic: the
Lambda environments are capped and reused, so this measures the control plane, the alarms and the healer).
The run ends when every failing function's incident is closed, or at a deadline.

Figures:

- *alarm evaluation per cycle*: real ms the alarm scheduler spends on one boundary's pass over every due
  alarm (:attr:`~selfheal.cloud.alarm_scheduler.AlarmScheduler.cycles`), and how many alarms it evaluated;
- *evaluation lag*: period boundary → ALARM transition of each failing function's alarm, real ms;
- *healer decision latency*: ALARM transition → the incident's decision in the ledger (``decided_at``), real
  seconds (it includes SNS delivery, the healer's async invoke, cold start and reserved-concurrency queueing);
- *fleet rails*: the most incidents in flight at once (sampled from the ledger's fleet item every 0.1 s and
  from the incidents' statuses) against ``FLEET_MAX_IN_FLIGHT``, and actions against
  ``FLEET_MAX_ACTIONS_PER_HOUR``;
- *outcomes*: every incident must end acted (``RECOVERED``) or escalated (``ESCALATED``), one per failing
  function, none for a healthy one;
- *memory*: resident set of the cloud (this process) before and after provisioning and at the end, and of
  the Lambda environments (its children), with the number of CloudWatch datums stored.

The default runs the fleet twice, side by side: as shipped, and with at most 8 async-invoke workers per
function (:attr:`FleetRun.async_workers`, an experiment: the local cloud starts a function's event workers
as its events wait, up to ``ASYNC_WORKERS_PER_FUNCTION`` = 10; the healer's reserved concurrency of 5 is
what limits it, as on Lambda, and each incident in flight holds one for its whole verification).
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any

from bench.common import machine, print_table, rss_kib, save_json, wait_until
from bench.fleet_setup import FleetPlatform, provision_fleet

__all__ = ["FleetRun", "measure", "run", "verdicts"]

_SAMPLE_EVERY = 0.1  # real seconds between two samples of the fleet's in-flight count
_ENDED = ("RECOVERED", "ESCALATED")


@dataclass(frozen=True)
class FleetRun:
    """One fleet run's settings."""

    functions: int = 200
    failing_share: float = 0.1
    time_scale: float = 10.0
    max_in_flight: int = 3
    max_actions_per_hour: int = 10
    rate: float = 2.0
    """Invocations per real second of each failing function."""
    timeout: float = 300.0
    """Real seconds to wait for every incident to close, once the functions fail."""
    async_workers: int | None = None
    """An experiment: the local cloud's async-invoke workers per function for this run (None: as shipped)."""

    def __post_init__(self) -> None:
        if self.functions < 1 or not 0 < self.failing_share <= 1:
            raise ValueError("a fleet needs at least one function and a failing share in (0, 1]")

    def failing(self, names: Sequence[str]) -> list[str]:
        """The failing functions, spread evenly over the fleet."""
        count = max(1, round(len(names) * self.failing_share))
        return [names[i * len(names) // count] for i in range(count)]


@dataclass
class _Sampler:
    """Samples the ledger: the fleet item's in-flight claims and the incidents acting or verifying."""

    cloud: Any
    table: str
    limit: int
    claims_max: int = 0
    statuses_max: int = 0
    samples: int = 0
    over: list[dict[str, Any]] = field(default_factory=list)
    """Samples with more incidents acting or verifying than the limit: each one's claim, if any."""
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        from healer.claims import FLEET_KEY
        from healer.ledger import Ledger

        client = self.cloud.client("dynamodb")
        ledger = Ledger(self.table, client)
        while not self._stop.wait(_SAMPLE_EVERY):
            item = client.get_item(TableName=self.table, Key=FLEET_KEY, ConsistentRead=True).get("Item", {})
            now = self.cloud.clock.now()
            claims = item.get("in_flight", {}).get("M", {})
            self.claims_max = max(self.claims_max, sum(float(v["N"]) > now for v in claims.values()))
            acting = [i for i in ledger.recent(1000) if i.status in ("ACTING", "ACTED")]
            self.statuses_max = max(self.statuses_max, len(acting))
            if len(acting) > self.limit and len(self.over) < 20:
                self.over.append(
                    {
                        "cloud_time": now,
                        "incidents": {
                            i.alarm_name: {
                                "status": str(i.status),
                                "claim_until": float(claims[i.incident_id]["N"])
                                if i.incident_id in claims
                                else None,
                            }
                            for i in acting
                        },
                    }
                )
            self.samples += 1

    def stop(self) -> None:
        self._stop.set()


def _traffic(cloud: Any, name: str, rate: float, stop: threading.Event, counts: dict[str, int]) -> None:
    from botocore.config import Config

    client = cloud.client("lambda", config=Config(retries={"max_attempts": 0}, read_timeout=60))
    next_at = time.monotonic()
    while not stop.is_set():
        try:
            response = client.invoke(FunctionName=name, Payload=b"{}")
            counts["errors" if "FunctionError" in response else "ok"] += 1
        except Exception:  # throttled or refused: counted, the traffic goes on
            counts["refused"] += 1
        next_at += 1.0 / rate
        stop.wait(max(0.0, next_at - time.monotonic()))


def _set_failure_rate(cloud: Any, names: Sequence[str], rate: str) -> None:
    def one(name: str) -> None:
        client = cloud.client("lambda")
        variables = client.get_function_configuration(FunctionName=name)["Environment"]["Variables"]
        client.update_function_configuration(
            FunctionName=name, Environment={"Variables": {**variables, "FAILURE_RATE": rate}}
        )

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, names))


def _healer_troubles(cloud: Any, healer: str) -> list[str]:
    """The healer's log lines that report an error or a failed invocation (to explain a run that hung)."""
    logs = cloud.client("logs")
    lines: list[str] = []
    for page in logs.get_paginator("filter_log_events").paginate(logGroupName=f"/aws/lambda/{healer}"):
        for event in page.get("events", []):
            text = str(event.get("message", ""))
            if any(
                word in text for word in ('"ERROR"', "Traceback", "errorType", "selfheal-async", '"WARNING"')
            ):
                lines.append(text.strip()[:600])
    return lines[-40:]


def _summary(values: Sequence[float]) -> dict[str, float | int | None]:
    ordered = sorted(values)
    if not ordered:
        return {"n": 0, "median": None, "p95": None, "max": None}
    p95 = ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]
    return {"n": len(ordered), "median": statistics.median(ordered), "p95": p95, "max": ordered[-1]}


def _settled(cloud: Any, platform: FleetPlatform) -> bool:
    alarms = cloud.backend("cloudwatch").alarms
    return all(alarms[name].state_value == "OK" for name in platform.alarms)


def measure(settings: FleetRun) -> dict[str, Any]:
    """Run one fleet in its own LocalCloud and return its figures (see the module's docstring)."""
    from selfheal.cloud import lambda_async

    pid = os.getpid()
    memory: dict[str, int] = {"cloud_before_kib": rss_kib([pid])}
    shipped = lambda_async.ASYNC_WORKERS_PER_FUNCTION
    if settings.async_workers is not None:
        lambda_async.ASYNC_WORKERS_PER_FUNCTION = settings.async_workers
    try:
        return _measure(settings, memory)
    finally:
        lambda_async.ASYNC_WORKERS_PER_FUNCTION = shipped


def _measure(settings: FleetRun, memory: dict[str, int]) -> dict[str, Any]:
    from healer.ledger import Ledger
    from selfheal.cloud import LocalCloud
    from selfheal.cloud.alarm_scheduler import AlarmScheduler

    pid = os.getpid()
    with LocalCloud(port=0, time_scale=settings.time_scale) as cloud:
        started = time.perf_counter()
        platform = provision_fleet(
            cloud,
            settings.functions,
            max_in_flight=settings.max_in_flight,
            max_actions_per_hour=settings.max_actions_per_hour,
        )
        provision_s = time.perf_counter() - started
        scheduler = AlarmScheduler.of(cloud)
        # Every alarm starts INSUFFICIENT_DATA; without data (notBreaching) its first evaluation makes it OK.
        period_real = cloud.clock.real_seconds(60.0)
        if not wait_until(lambda: _settled(cloud, platform), timeout=max(60.0, period_real * 4), step=0.2):
            raise RuntimeError("the fleet's alarms did not all settle OK")
        memory["cloud_provisioned_kib"] = rss_kib([pid])
        first_cycle = len(scheduler.cycles)
        first_transition = len(scheduler.transitions)

        failing = settings.failing(platform.functions)
        broken_at = time.time()
        _set_failure_rate(cloud, failing, "1")
        stop = threading.Event()
        counts = {"ok": 0, "errors": 0, "refused": 0}
        threads = [
            threading.Thread(target=_traffic, args=(cloud, name, settings.rate, stop, counts), daemon=True)
            for name in failing
        ]
        sampler = _Sampler(cloud, platform.ledger_table, settings.max_in_flight)
        threads.append(threading.Thread(target=sampler.run, daemon=True))
        for thread in threads:
            thread.start()
        ledger = Ledger(platform.ledger_table, cloud.client("dynamodb"))

        def closed() -> bool:
            incidents = ledger.recent(1000)
            return len(incidents) >= len(failing) and all(i.status in _ENDED for i in incidents)

        try:
            finished = wait_until(closed, timeout=settings.timeout, step=0.5)
            ended_s = time.time() - broken_at
        finally:
            stop.set()
            sampler.stop()
            for thread in threads:
                thread.join(timeout=70)
        incidents = ledger.recent(1000)
        troubles = [] if finished else _healer_troubles(cloud, platform.healer)
        transitions = scheduler.transitions[first_transition:]
        cycles = list(scheduler.cycles)[first_cycle:]
        memory["cloud_end_kib"] = rss_kib([pid])
        children = cloud.lambdas.child_pids()
        memory["environments"] = len(children)
        memory["environments_kib"] = rss_kib(children)
        datums = len(cloud.backend("cloudwatch").metric_data)
        cold_starts = cloud.lambdas.cold_starts
        to_real = cloud.clock.to_real

    scale = settings.time_scale
    names = {alarm: function for alarm, function in zip(platform.alarms, platform.functions, strict=True)}
    lags = [
        (t.real_time - to_real(t.boundary)) * 1000.0
        for t in transitions
        if t.new_state == "ALARM" and t.boundary is not None
    ]
    # The notification's StateChangeTime (alarm_time) is the transition's cloud time.
    decisions = [
        (i.decided_at - i.alarm_time).total_seconds() / scale for i in incidents if i.decided_at is not None
    ]
    acted_at = [i.action_at or i.decided_at for i in incidents if i.steps or i.action is not None]
    acted = sorted(moment.timestamp() for moment in acted_at if moment is not None)
    failing_set = set(failing)
    return {
        "settings": asdict(settings),
        "provision_s": provision_s,
        "finished": finished,
        "ended_s": ended_s,
        "failing": failing,
        "traffic": counts,
        "cycles": [asdict(c) for c in cycles],
        "cycle_ms": _summary([c.seconds * 1000.0 for c in cycles]),
        "cycle_cpu_ms": _summary([c.cpu_seconds * 1000.0 for c in cycles]),
        "cycles_cpu_at_max": max(cycles, key=lambda c: c.seconds).cpu_seconds * 1000.0 if cycles else None,
        "alarms_per_cycle": _summary([float(c.alarms) for c in cycles]),
        "lag_ms": _summary(lags),
        "decision_s": _summary(decisions),
        "in_flight_max": {"claims": sampler.claims_max, "statuses": sampler.statuses_max},
        "over_limit_samples": sampler.over,
        "healer_troubles": troubles,
        "samples": sampler.samples,
        "incidents": len(incidents),
        "by_status": dict(Counter(str(i.status) for i in incidents)),
        "by_code": dict(Counter(i.decision_code or "-" for i in incidents)),
        "acted": len(acted),
        "acted_per_hour_max": max(
            (sum(1 for t in acted if at - 3600.0 < t <= at) for at in acted), default=0
        ),
        "unexpected": sorted(i.alarm_name for i in incidents if names.get(i.alarm_name) not in failing_set),
        "timeline": sorted(
            (
                {
                    "alarm": i.alarm_name,
                    "status": str(i.status),
                    "code": i.decision_code,
                    "alarm_time": i.alarm_time.timestamp(),
                    "decided_s": None
                    if i.decided_at is None
                    else (i.decided_at - i.alarm_time).total_seconds(),
                    "ok_s": None if i.ok_time is None else (i.ok_time - i.alarm_time).total_seconds(),
                }
                for i in incidents
            ),
            key=lambda item: float(item["alarm_time"]),
        ),
        "memory": memory,
        "datums": datums,
        "cold_starts": cold_starts,
    }


def verdicts(result: dict[str, Any]) -> list[str]:
    """One line on the fleet rails, one on the incidents' outcomes, of a :func:`measure` result."""
    settings = result["settings"]
    in_flight = result["in_flight_max"]["claims"]
    acting = result["in_flight_max"]["statuses"]
    ended = sum(result["by_status"].get(status, 0) for status in _ENDED)
    expected = len(result["failing"])
    return [
        f"rails: at most {in_flight} claims in flight (limit {settings['max_in_flight']}: "
        f"{'held' if in_flight <= settings['max_in_flight'] else 'BROKEN'}; incidents ACTING/ACTED at once: "
        f"{acting}), {result['acted']} acted, at most {result['acted_per_hour_max']} in a cloud hour "
        f"(limit {settings['max_actions_per_hour']}: "
        f"{'held' if result['acted_per_hour_max'] <= settings['max_actions_per_hour'] else 'BROKEN'})",
        f"incidents: {result['incidents']} for {expected} failing functions, {ended} acted or escalated "
        f"({'all' if ended == result['incidents'] == expected and result['finished'] else 'NOT ALL'}), "
        f"{len(result['unexpected'])} for healthy functions",
    ]


def run(runs: tuple[FleetRun, ...] = (FleetRun(), FleetRun(async_workers=8))) -> dict[str, Any]:
    """Run each fleet, print its figures and verdicts, save them to bench/out/fleet.json and return them."""
    where = machine()
    results: dict[str, Any] = {"machine": where, "runs": []}
    for settings in runs:
        result = measure(settings)
        result["verdicts"] = verdicts(result)
        results["runs"].append(result)
    print_table(
        f"Fleet (load avg {where['loadavg_1m']} on {where['cpus']} cpus)",
        [
            "functions",
            "async workers",
            "failing",
            "x",
            "setup s",
            "alarms/cycle",
            "cycle ms med",
            "cycle ms max",
            "its cpu ms",
            "lag ms max",
            "decide s med",
            "decide s max",
            "claims max",
            "acting max",
            "acted",
            "escalated",
            "closed s",
        ],
        [
            [
                r["settings"]["functions"],
                r["settings"]["async_workers"] or "shipped",
                len(r["failing"]),
                r["settings"]["time_scale"],
                r["provision_s"],
                r["alarms_per_cycle"]["median"],
                r["cycle_ms"]["median"],
                r["cycle_ms"]["max"],
                r["cycles_cpu_at_max"],
                r["lag_ms"]["max"],
                r["decision_s"]["median"],
                r["decision_s"]["max"],
                r["in_flight_max"]["claims"],
                r["in_flight_max"]["statuses"],
                r["acted"],
                r["by_status"].get("ESCALATED", 0),
                r["ended_s"],
            ]
            for r in results["runs"]
        ],
    )
    print_table(
        "Fleet memory (RSS, MiB) and store",
        [
            "functions",
            "cloud before",
            "provisioned",
            "end",
            "environments",
            "their RSS",
            "datums",
            "cold starts",
        ],
        [
            [
                r["settings"]["functions"],
                r["memory"]["cloud_before_kib"] / 1024,
                r["memory"]["cloud_provisioned_kib"] / 1024,
                r["memory"]["cloud_end_kib"] / 1024,
                r["memory"]["environments"],
                r["memory"]["environments_kib"] / 1024,
                r["datums"],
                r["cold_starts"],
            ]
            for r in results["runs"]
        ],
    )
    for r in results["runs"]:
        functions = r["settings"]["functions"]
        print(f"\n{functions} functions: incidents by status {r['by_status']}, by code {r['by_code']}")
        print("\n".join(r["verdicts"]))
    save_json("fleet", results)
    return results


QUICK: dict[str, object] = {"runs": (FleetRun(functions=20, timeout=120.0),)}
