"""Growth: what costs more as the local cloud holds more alarms, functions and history.

- **alarms**: alarm evaluations per second of the scheduler with 10, 100 and 1,000 alarms (each on its
  own function's ``Errors``), over the same stored metric data (a fixed number of datums);
- **functions**: invocations per second through the Lambda service with 1, 4 and 16 functions, with the
  same four calling threads spread round-robin over the functions;
- **memory**: resident memory of the cloud's process plus its environments (children) at idle and after
  N requests through the HTTP API (the largest N that fits the time budget; it is stated), side by side
  with the log limits of the local cloud on (its default: a 16 MiB cap per log group) and off (every log
  event kept, as before the limits existed). ``python -m bench.growth`` runs only this comparison.

Each series is plotted into ``bench/out/`` (and the PNGs copied to ``bench/img/``), with a least-squares
line and its R², to say whether the growth is linear.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import OUT_DIR, load, machine, print_table, rss_kib, save_json

__all__ = ["run"]

IMG_DIR = Path(__file__).resolve().parent / "img"


def _client(cloud: Any, service: str) -> Any:
    return cloud.client(service)


def _fit(xs: list[float], ys: list[float]) -> tuple[float, float, float]:
    """Least-squares slope, intercept and R² of ys over xs."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    slope = sxy / sxx if sxx else 0.0
    intercept = my - slope * mx
    ss_res = sum((y - (slope * x + intercept)) ** 2 for x, y in zip(xs, ys, strict=True))
    ss_tot = sum((y - my) ** 2 for y in ys)
    return slope, intercept, (1.0 - ss_res / ss_tot) if ss_tot else 1.0


def _plot(name: str, title: str, xlabel: str, ylabel: str, xs: list[float], ys: list[float]) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    slope, intercept, r2 = _fit(xs, ys)
    figure, axes = plt.subplots(figsize=(6, 4))
    axes.plot(xs, ys, "o-", label="measured")
    axes.plot(xs, [slope * x + intercept for x in xs], "--", label=f"linear fit (R²={r2:.3f})")
    axes.set_title(title)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(True, alpha=0.3)
    axes.legend()
    figure.tight_layout()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{name}.png"
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


# ----- alarms ----------------------------------------------------------------------------------------


def _alarm_rate(count: int, datums_per_function: int, rounds: int) -> dict[str, Any]:
    from selfheal.cloud import LocalCloud
    from selfheal.cloud.alarm_scheduler import AlarmScheduler
    from selfheal.cloud.metrics import NAMESPACE

    with LocalCloud(port=0) as cloud:
        cloudwatch = _client(cloud, "cloudwatch")
        backend = cloud.backend("cloudwatch")
        now = datetime.fromtimestamp(cloud.clock.now(), UTC).replace(tzinfo=None)
        functions = 10
        for f in range(functions):
            dims = [{"Name": "FunctionName", "Value": f"fn-{f}"}]
            backend.put_metric_data(
                NAMESPACE,
                [
                    {
                        "MetricName": "Errors",
                        "Dimensions": dims,
                        "Timestamp": now - timedelta(seconds=s),
                        "Unit": "Count",
                        "Value": float(s % 5),
                    }
                    for s in range(datums_per_function)
                ],
            )
        for index in range(count):
            cloudwatch.put_metric_alarm(
                AlarmName=f"growth-{index}",
                Namespace=NAMESPACE,
                MetricName="Errors",
                Statistic="Sum",
                Dimensions=[{"Name": "FunctionName", "Value": f"fn-{index % functions}"}],
                Period=60,
                EvaluationPeriods=2,
                DatapointsToAlarm=2,
                Threshold=3.0,
                ComparisonOperator="GreaterThanOrEqualToThreshold",
                TreatMissingData="notBreaching",
            )
        scheduler = AlarmScheduler.of(cloud)
        base = cloud.clock.now()
        started = time.perf_counter()
        for round_ in range(rounds):
            # Each call sees every alarm due (its boundary passed), as at a minute boundary.
            scheduler.evaluate_due(base + 60.0 * (round_ + 1))
        elapsed = time.perf_counter() - started
        stored = sum(1 for _ in backend.metric_data)
    evaluations = count * rounds
    return {
        "alarms": count,
        "evaluations": evaluations,
        "seconds": elapsed,
        "per_second": evaluations / elapsed,
        "datums": stored,
    }


# ----- functions -------------------------------------------------------------------------------------


def _invocation_rate(functions: int, duration: float, threads: int = 4) -> dict[str, Any]:
    from selfheal.cloud import LocalCloud
    from selfheal.cloud.testing import LAMBDA_TRUST_POLICY, package_zip

    with LocalCloud(port=0) as cloud:
        lam, iam = _client(cloud, "lambda"), _client(cloud, "iam")
        role = iam.create_role(
            RoleName="growth",
            AssumeRolePolicyDocument=LAMBDA_TRUST_POLICY,
        )["Role"]["Arn"]
        code = package_zip("fragile_service")
        names = [f"growth-{i}" for i in range(functions)]
        for name in names:
            lam.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role,
                Handler="fragile_service.app.handler",
                Code={"ZipFile": code},
                Environment={"Variables": {"FAILURE_RATE": "0"}},
            )
            lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.05})
        counts = [0] * threads
        errors = [0] * threads
        stop = threading.Event()

        def call(slot: int, warm: bool) -> None:
            index = slot
            while not stop.is_set():
                result = cloud.lambdas.invoke(names[index % functions], b"{}")
                if result.function_error:
                    errors[slot] += 1
                elif not warm:
                    counts[slot] += 1
                index += threads
                if warm and index >= functions + threads:
                    return

        warmers = [threading.Thread(target=call, args=(i, True)) for i in range(threads)]
        for thread in warmers:
            thread.start()
        for thread in warmers:
            thread.join()
        workers = [threading.Thread(target=call, args=(i, False)) for i in range(threads)]
        started = time.perf_counter()
        for thread in workers:
            thread.start()
        time.sleep(duration)
        stop.set()
        for thread in workers:
            thread.join()
        elapsed = time.perf_counter() - started
        environments = cloud.lambdas.environments()
    return {
        "functions": functions,
        "invocations": sum(counts),
        "errors": sum(errors),
        "per_second": sum(counts) / elapsed,
        "environments": environments,
    }


# ----- memory ----------------------------------------------------------------------------------------


def _memory(
    checkpoints: tuple[int, ...], connections: int, *, log_limits: bool = True
) -> list[dict[str, Any]]:
    from selfheal.cloud import LocalCloud
    from selfheal.cloud.testing import provision_loop

    points: list[dict[str, Any]] = []
    with LocalCloud(port=0) as cloud:
        if not log_limits:
            cloud.logs.limits.max_group_bytes = None  # and no group has a retention policy: keep everything
        loop = provision_loop(cloud, failure_rate=0.0)
        url = f"{loop.api_endpoint}/memory"
        load(url, connections=connections, duration=0, requests=connections * 10)
        time.sleep(1.5)

        def sample(sent: int) -> None:
            children = cloud.lambdas.child_pids()
            points.append(
                {
                    "requests": sent,
                    "rss_kib": rss_kib([os.getpid(), *children]),
                    "parent_kib": rss_kib([os.getpid()]),
                    "children": len(children),
                    "log_events": sum(
                        len(s.events)
                        for g in cloud.backend("logs").groups.values()
                        for s in g.streams.values()
                    ),
                    "log_mib": sum(
                        cloud.logs.limits.stored_bytes(name) for name in cloud.backend("logs").groups
                    )
                    / 2**20,
                }
            )

        sample(0)
        sent = 0
        for target in checkpoints:
            if target <= sent:
                continue
            summary = load(url, connections=connections, duration=3600, requests=target - sent)
            sent += summary["sent"]
            if summary["answered"] != summary["sent"] or set(summary["statuses"]) != {"200"}:
                raise RuntimeError(f"requests failed during the memory run: {summary}")
            time.sleep(1.5)  # the metrics and logs of the last requests land
            sample(sent)
    return points


def run(
    alarm_counts: tuple[int, ...] = (10, 100, 1000),
    function_counts: tuple[int, ...] = (1, 4, 16),
    memory_checkpoints: tuple[int, ...] = (10_000, 30_000, 60_000, 100_000),
    duration: float = 5.0,
    datums_per_function: int = 600,
    rounds: int = 3,
) -> dict[str, Any]:
    """Run the three growth series, print them, plot them, return the figures."""
    where = machine()
    alarms = [_alarm_rate(n, datums_per_function, rounds) for n in alarm_counts]
    print_table(
        f"Alarm evaluations ({alarms[0]['datums']} stored datums; load avg {where['loadavg_1m']})",
        ["alarms", "evaluations", "seconds", "evaluations/s", "ms per alarm"],
        [
            [a["alarms"], a["evaluations"], a["seconds"], a["per_second"], 1000.0 / a["per_second"]]
            for a in alarms
        ],
    )
    functions = [_invocation_rate(n, duration) for n in function_counts]
    print_table(
        "Invocations through the Lambda service (4 calling threads)",
        ["functions", "invocations", "errors", "invocations/s", "environments"],
        [
            [f["functions"], f["invocations"], f["errors"], f["per_second"], f["environments"]]
            for f in functions
        ],
    )
    compared = memory_compare(memory_checkpoints, connections=4)
    memory = compared["after"]
    xs = [float(m["requests"]) for m in memory]
    ys = [m["rss_kib"] / 1024 for m in memory]
    slope, intercept, r2 = _fit(xs, ys)
    per_million = slope * 1_000_000
    alarm_cost = [1000.0 / a["per_second"] for a in alarms]
    cost_fit = _fit([float(a["alarms"]) for a in alarms], [a["seconds"] for a in alarms])
    print(
        f"\nmemory: {slope * 1024:.2f} KiB per request (R² {r2:.3f}); "
        f"extrapolated to 1,000,000 requests: +{per_million:.0f} MiB "
        f"over the {intercept:.0f} MiB idle baseline"
        f"\nalarms: time of one evaluation round vs alarms R² {cost_fit[2]:.3f}; ms per alarm "
        + ", ".join(f"{c:.2f}" for c in alarm_cost)
    )
    paths = [
        _plot(
            "growth_alarms",
            "Alarm evaluation round time",
            "alarms",
            "seconds per round (all alarms due)",
            [float(a["alarms"]) for a in alarms],
            [a["seconds"] / rounds for a in alarms],
        ),
        _plot(
            "growth_functions",
            "Invocations/s vs functions (4 threads)",
            "functions",
            "invocations per second",
            [float(f["functions"]) for f in functions],
            [f["per_second"] for f in functions],
        ),
        _plot("growth_memory", "Cloud RSS (incl. environments)", "requests served", "MiB", xs, ys),
    ]
    IMG_DIR.mkdir(exist_ok=True)
    for path in paths:
        shutil.copy(path, IMG_DIR / path.name)
    results = {
        "machine": where,
        "alarms": alarms,
        "functions": functions,
        "memory": memory,
        "memory_without_log_limits": compared["before"],
        "memory_fit": {
            "mib_per_request": slope,
            "idle_mib": intercept,
            "r2": r2,
            "mib_per_million": per_million,
        },
        "alarm_round_fit": {"slope_s_per_alarm": cost_fit[0], "r2": cost_fit[2]},
        "plots": [str(p) for p in paths],
    }
    save_json("growth", results)
    return results


def _mib_per_100k(points: list[dict[str, Any]]) -> tuple[float, float]:
    """RSS growth in MiB per 100,000 requests: over the whole run (fit) and over its last stretch."""
    xs = [float(p["requests"]) for p in points]
    ys = [p["rss_kib"] / 1024 for p in points]
    slope, _, _ = _fit(xs, ys)
    last = (ys[-1] - ys[-2]) / (xs[-1] - xs[-2]) if len(xs) > 1 and xs[-1] > xs[-2] else 0.0
    return slope * 100_000, last * 100_000


def _memory_in_child(
    checkpoints: tuple[int, ...], connections: int, *, log_limits: bool
) -> list[dict[str, Any]]:
    """:func:`_memory` in a new interpreter; its points come back as JSON on stdout's last line."""
    import json
    import subprocess
    import sys

    arguments = json.dumps(
        {"checkpoints": list(checkpoints), "connections": connections, "log_limits": log_limits}
    )
    completed = subprocess.run(
        [sys.executable, "-m", "bench.growth", "--memory-child", arguments],
        cwd=Path(__file__).resolve().parent.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"memory run failed: {completed.stderr.strip()[-2000:]}")
    points: list[dict[str, Any]] = json.loads(completed.stdout.strip().splitlines()[-1])
    return points


def memory_compare(
    checkpoints: tuple[int, ...] = (10_000, 30_000, 60_000, 100_000), connections: int = 4
) -> dict[str, Any]:
    """Memory after N requests with the log limits on (after) and off (before), printed side by side.

    Each configuration runs in a fresh process, so that neither reuses the heap the other left behind.
    """
    where = machine()
    after = _memory_in_child(checkpoints, connections, log_limits=True)
    before = _memory_in_child(checkpoints, connections, log_limits=False)
    print_table(
        f"Memory of the cloud (process + environments) after N requests through the HTTP API "
        f"(load avg {where['loadavg_1m']} at start, {machine()['loadavg_1m']} at end)",
        [
            "requests",
            "before: RSS MiB",
            "before: process MiB",
            "before: log events",
            "after: RSS MiB",
            "after: process MiB",
            "after: log events",
            "after: log MiB",
        ],
        [
            [
                b["requests"],
                b["rss_kib"] / 1024,
                b["parent_kib"] / 1024,
                b["log_events"],
                a["rss_kib"] / 1024,
                a["parent_kib"] / 1024,
                a["log_events"],
                a["log_mib"],
            ]
            for b, a in zip(before, after, strict=True)
        ],
    )
    slopes = {"before": _mib_per_100k(before), "after": _mib_per_100k(after)}
    for name, (overall, last) in slopes.items():
        print(f"{name}: {overall:.1f} MiB per 100k requests over the run, {last:.1f} over the last stretch")
    results = {"machine": where, "before": before, "after": after, "mib_per_100k": slopes}
    save_json("growth_memory", results)
    return results


QUICK: dict[str, object] = {
    "alarm_counts": (10, 100),
    "function_counts": (1, 4),
    "memory_checkpoints": (1000, 3000),
    "duration": 2.0,
    "rounds": 2,
}


if __name__ == "__main__":
    import json
    import sys

    if sys.argv[1:2] == ["--memory-child"]:
        options = json.loads(sys.argv[2])
        found = _memory(
            tuple(options["checkpoints"]), options["connections"], log_limits=options["log_limits"]
        )
        print(json.dumps(found))
    else:
        memory_compare()
