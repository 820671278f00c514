"""Throughput: the local HTTP API → fragile Lambda (awslambdaric environments) at FAILURE_RATE 0.

Measured side by side in one run, with the same load generator (``bench.loadgen``, its own process):

- **system**: ``GET {api_endpoint}/bench`` through the LocalCloud's HTTP API data plane to warm
  execution environments of the fragile function;
- **bare**: a hello-world WSGI app on the same server stack (werkzeug threaded, the cloud's handler);
- **direct**: the handler called in-process in a closed loop (``bench.direct``): the code's own cost.

Targets: ≥ 1,000 req/s with p99 < 25 ms, and ≥ 30 % of the bare server's throughput.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from bench.common import bare_server, cpu_seconds, load, machine, print_table, save_json

__all__ = ["run"]

TARGET_RPS = 1000.0
TARGET_P99_MS = 25.0
TARGET_SHARE_OF_BARE = 0.30


def _direct(duration: float) -> dict[str, Any]:
    import subprocess

    root = Path(__file__).resolve().parent.parent
    completed = subprocess.run(
        [sys.executable, "-m", "bench.direct", "--duration", str(duration)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=duration + 60,
        check=True,
    )
    summary: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return summary


def run(duration: float = 5.0, connections: tuple[int, ...] = (1, 4, 8)) -> dict[str, Any]:
    """Run the benchmark, print the table and ratios, return the figures."""
    from selfheal.cloud import LocalCloud
    from selfheal.cloud.server import settle_heap
    from selfheal.cloud.testing import provision_loop

    where = machine()
    rows: list[list[object]] = []
    results: dict[str, Any] = {"machine": where, "duration": duration, "runs": []}
    with LocalCloud(port=0) as cloud:
        loop = provision_loop(cloud, failure_rate=0.0)
        settle_heap()  # as `selfheal cloud` does once started
        system_url = f"{loop.api_endpoint}/bench"
        with bare_server() as bare_url:
            for conns in connections:
                # Warm up as many environments as there are connections, then measure.
                load(system_url, connections=conns, duration=0, requests=conns * 20)
                envs = cloud.lambdas.child_pids()
                before = cpu_seconds([os.getpid()]), cpu_seconds(envs)
                system = load(system_url, connections=conns, duration=duration)
                after = cpu_seconds([os.getpid()]), cpu_seconds(envs)
                answered = max(1, system["answered"])
                system["cloud_cpu_ms_per_request"] = (after[0] - before[0]) * 1000 / answered
                system["env_cpu_ms_per_request"] = (after[1] - before[1]) * 1000 / answered
                before_bare = cpu_seconds([os.getpid()])
                bare = load(bare_url, connections=conns, duration=duration)
                bare["cloud_cpu_ms_per_request"] = (
                    (cpu_seconds([os.getpid()]) - before_bare) * 1000 / max(1, bare["answered"])
                )
                share = system["rps"] / bare["rps"] if bare["rps"] else 0.0
                results["runs"].append(
                    {"connections": conns, "system": system, "bare": bare, "system_over_bare": share}
                )
                for name, summary in (("system", system), ("bare", bare)):
                    rows.append(
                        [
                            name,
                            conns,
                            summary["answered"],
                            summary["rps"],
                            summary["p50_ms"],
                            summary["p99_ms"],
                            sum(summary["errors"].values()),
                            ",".join(f"{k}:{v}" for k, v in summary["statuses"].items()),
                        ]
                    )
        results["environments"] = cloud.lambdas.environments(loop.fragile_function_name)
    direct = _direct(duration)
    results["direct"] = direct
    rows.append(["direct", 1, direct["answered"], direct["rps"], direct["p50_ms"], direct["p99_ms"], 0, "-"])
    print_table(
        f"Throughput ({duration:g} s per row; load avg {where['loadavg_1m']} on {where['cpus']} cpus)",
        ["target", "conns", "requests", "req/s", "p50 ms", "p99 ms", "errors", "statuses"],
        rows,
    )
    best = max(results["runs"], key=lambda r: r["system"]["rps"])
    ratio_rows = []
    for run_ in results["runs"]:
        system, bare = run_["system"], run_["bare"]
        ratio_rows.append(
            [
                run_["connections"],
                system["rps"] / bare["rps"] if bare["rps"] else 0.0,
                system["rps"] / direct["rps"] if direct["rps"] else 0.0,
                system["p99_ms"] / bare["p99_ms"] if bare["p99_ms"] else 0.0,
            ]
        )
    print_table(
        "Ratios", ["conns", "system/bare req/s", "system/direct req/s", "system/bare p99"], ratio_rows
    )
    print_table(
        "Where the CPU goes (ms of CPU per request; the server process holds one GIL)",
        ["conns", "system: cloud process", "system: environments", "bare: server process"],
        [
            [
                r["connections"],
                r["system"]["cloud_cpu_ms_per_request"],
                r["system"]["env_cpu_ms_per_request"],
                r["bare"]["cloud_cpu_ms_per_request"],
            ]
            for r in results["runs"]
        ],
    )
    system = best["system"]
    verdicts = {
        "rps>=1000": system["rps"] >= TARGET_RPS,
        "p99<25ms": system["p99_ms"] < TARGET_P99_MS,
        ">=30% of bare": best["system_over_bare"] >= TARGET_SHARE_OF_BARE,
    }
    results["best"] = {"connections": best["connections"], **verdicts}
    print(
        f"\nbest: {best['connections']} connections, {system['rps']:.0f} req/s, "
        f"p99 {system['p99_ms']:.1f} ms, "
        f"{best['system_over_bare']:.0%} of bare; targets: "
        + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in verdicts.items())
    )
    save_json("throughput", results)
    return results


QUICK: dict[str, object] = {"duration": 2.0, "connections": (1, 4)}
