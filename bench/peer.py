"""Peer: selfheal's HTTP API → Lambda path side by side with serverless-offline (issue #13).

Both serve the fragile service's own handler (``fragile_service.app.handler``, FAILURE_RATE 0) on this
venv's Python, driven by the same client (``bench.loadgen``, its own process) in interleaved repetitions:

- **selfheal**: ``GET {api_endpoint}/bench`` through the LocalCloud's HTTP API data plane to warm
  awslambdaric environments (as in ``python -m bench throughput``);
- **offline**: ``GET /bench`` on Serverless Framework v3 + serverless-offline (``bench/peer_offline/``),
  which runs the handler in its Python runner processes.

CPU per request counts the whole process tree of each, and its two parts apart: the server (the cloud
process; node) and the handler processes (the awslambdaric environments; serverless-offline's Python
runners), which run the same handler. boto3 ``Invoke`` latency is measured against the cloud's endpoint
and against serverless-offline's Lambda port, by one client in its own process (``bench.invoke_client``)
for both: in this process it would share the cloud's GIL. Last, cold starts and configuration changes: on
selfheal, UpdateFunctionConfiguration with a new variable (it retires the warm environments, as Lambda does)
and the first request after it; on serverless-offline, which needs a restart to change a function's
configuration, fresh starts and the first request after each. The npm packages are installed, pinned by
``package-lock.json``, into ``bench/peer_offline/node_modules`` (gitignored) on first use; without Node and
npm the benchmark is skipped with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

from bench.common import OUT_DIR, cpu_seconds, load, machine, print_table, save_json

__all__ = ["PEER_DIR", "Offline", "install", "offline_server", "run", "unavailable"]

PEER_DIR = Path(__file__).resolve().parent / "peer_offline"
_ROOT = PEER_DIR.parent.parent
_SERVERLESS = PEER_DIR / "node_modules" / "serverless" / "bin" / "serverless.js"
_EVENT_FILE = _ROOT / "tests" / "events" / "http_api_get_root.json"
# serverless.yml's service, stage and function: serverless-offline's name for the function.
_OFFLINE_FUNCTION = "selfheal-bench-peer-bench-fragile"
_START_TIMEOUT = 90.0


@dataclass(frozen=True)
class Offline:
    """A running serverless-offline: its HTTP API URL, its Lambda endpoint and its root process id."""

    url: str
    lambda_endpoint: str
    pid: int


def unavailable() -> str | None:
    """Why the peer cannot run here (no Node or npm on PATH), or None."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    return f"{' and '.join(missing)} not found on PATH" if missing else None


def install() -> None:
    """Install the pinned Serverless Framework v3 and serverless-offline (once); raise RuntimeError."""
    if _SERVERLESS.exists():
        return
    command = ["npm", "ci" if (PEER_DIR / "package-lock.json").exists() else "install"]
    print(f"installing serverless + serverless-offline: {' '.join(command)} in {PEER_DIR}", flush=True)
    completed = subprocess.run(
        [*command, "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=PEER_DIR,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if completed.returncode != 0 or not _SERVERLESS.exists():
        output = (completed.stderr or completed.stdout).strip()[-2000:]
        raise RuntimeError(f"npm failed in {PEER_DIR}: {output}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _offline_env() -> dict[str, str]:
    env = dict(os.environ)
    venv_bin = str(Path(sys.executable).parent)
    env.update(
        {
            # serverless-offline's Python runner puts $VIRTUAL_ENV/bin first on PATH and runs `python3`.
            "VIRTUAL_ENV": sys.prefix,
            "PATH": os.pathsep.join([venv_bin, env.get("PATH", "")]),
            "PYTHONPATH": os.pathsep.join(p for p in (str(_ROOT / "src"), env.get("PYTHONPATH", "")) if p),
            "SLS_TELEMETRY_DISABLED": "1",
            "SLS_NOTIFICATIONS_MODE": "off",
            "SLS_DEPRECATION_DISABLE": "*",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
        }
    )
    return env


def _answers(url: str) -> bool:
    """Whether the HTTP server at ``url`` answers at all (a 404 counts: no handler runs for it)."""
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True
    except (OSError, urllib.error.URLError):
        return False


def _first_answer_ms(url: str) -> float:
    """Milliseconds for one GET of ``url`` on a new connection, which must answer 200."""
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as response:
        response.read()
        if response.status != 200:
            raise RuntimeError(f"{url} answered {response.status}")
    return (time.perf_counter() - started) * 1000


@contextmanager
def offline_server() -> Iterator[Offline]:
    """Run ``serverless offline start`` on free loopback ports until the context exits."""
    http_port, lambda_port = _free_port(), _free_port()
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    log_path = OUT_DIR / "peer_offline.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                "node",
                str(_SERVERLESS),
                "offline",
                "start",
                "--host",
                "127.0.0.1",
                "--httpPort",
                str(http_port),
                "--lambdaPort",
                str(lambda_port),
                "--noPrependStageInUrl",
                "--noSponsor",
            ],
            cwd=PEER_DIR,
            env=_offline_env(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: node and its Python runners go together
        )
    try:
        url = f"http://127.0.0.1:{http_port}/bench"
        deadline = time.monotonic() + _START_TIMEOUT
        # A route with no function: the server answers 404 without starting a handler, so the first
        # request to /bench is still a cold start.
        while not _answers(f"http://127.0.0.1:{http_port}/not-a-route"):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(encoding="utf-8", errors="replace")[-2000:]
                raise RuntimeError(f"serverless-offline did not start (see {log_path}):\n{tail}")
            time.sleep(0.2)
        yield Offline(url, f"http://127.0.0.1:{lambda_port}", process.pid)
    finally:
        for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=wait)
            except subprocess.TimeoutExpired:
                continue
        process.wait(timeout=5)


def tree_pids(pid: int) -> list[int]:
    """``pid`` and all its descendants (none if it is gone)."""
    try:
        root = psutil.Process(pid)
        return [pid, *(child.pid for child in root.children(recursive=True))]
    except psutil.Error:
        return []


def _handler_pythons(pids: list[int]) -> set[str]:
    """The real executables of the Python processes among ``pids``."""
    found: set[str] = set()
    for pid in _python_pids(pids):
        try:
            found.add(os.path.realpath(psutil.Process(pid).exe()))
        except psutil.Error:
            continue
    return found


def _python_pids(pids: list[int]) -> list[int]:
    """The Python processes among ``pids``: serverless-offline's handler runners below node."""
    found = []
    for pid in pids:
        try:
            if "python" in Path(psutil.Process(pid).exe()).name:
                found.append(pid)
        except psutil.Error:
            continue
    return found


def _measure(url: str, pids_of: Any, conns: int, duration: float) -> dict[str, Any]:
    """Warm ``conns`` handlers, then load ``url`` for ``duration`` s; CPU of the tree ``pids_of()``, which
    gives the server's processes and the handler processes apart."""
    load(url, connections=conns, duration=0, requests=conns * 20)
    server, handlers = pids_of()
    before_server, before_handlers = cpu_seconds(server), cpu_seconds(handlers)
    summary = load(url, connections=conns, duration=duration)
    answered = max(1, summary["answered"])
    server_ms = (cpu_seconds(server) - before_server) * 1000 / answered
    handlers_ms = (cpu_seconds(handlers) - before_handlers) * 1000 / answered
    summary["cpu_ms_per_request"] = server_ms + handlers_ms
    summary["server_cpu_ms_per_request"] = server_ms
    summary["handler_cpu_ms_per_request"] = handlers_ms
    summary["processes"] = len(server) + len(handlers)
    return summary


def _offline_pids(root: int) -> tuple[list[int], list[int]]:
    """serverless-offline's node processes and its Python handler runners."""
    tree = tree_pids(root)
    handlers = _python_pids(tree)
    return [pid for pid in tree if pid not in handlers], handlers


def _invoke_latencies(target: dict[str, Any], count: int) -> list[float]:
    """``count`` boto3 Invoke latencies (ms) of ``target`` (bench.invoke_client's config), from a client in
    its own process: in the benchmark's, it would share the LocalCloud's GIL."""
    completed = subprocess.run(
        [sys.executable, "-m", "bench.invoke_client"],
        cwd=_ROOT,
        input=json.dumps({**target, "payload_file": str(_EVENT_FILE), "count": count}),
        capture_output=True,
        text=True,
        timeout=120 + count,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"Invoke client failed: {completed.stderr.strip()[-2000:]}")
    latencies: list[float] = json.loads(completed.stdout)
    return latencies


def _selfheal_cold(cloud: Any, url: str, function: str, count: int) -> list[dict[str, float]]:
    """``count`` configuration changes of ``function`` (a new environment variable each, which retires its
    environments as Lambda does): the UpdateFunctionConfiguration call, the first request after it (a cold
    start), and the two together: how long a change takes to be served."""
    client = cloud.client("lambda")
    variables = client.get_function_configuration(FunctionName=function)["Environment"]["Variables"]
    samples = []
    for generation in range(count):
        cold_before = cloud.lambdas.cold_starts
        started = time.perf_counter()
        client.update_function_configuration(
            FunctionName=function,
            Environment={"Variables": {**variables, "BENCH_GENERATION": str(generation)}},
        )
        updated = time.perf_counter()
        first_ms = _first_answer_ms(url)
        if cloud.lambdas.cold_starts == cold_before:
            raise RuntimeError("the first request after a configuration change was not a cold start")
        samples.append(
            {
                "update_ms": (updated - started) * 1000,
                "first_request_ms": first_ms,
                "change_to_served_ms": (updated - started) * 1000 + first_ms,
            }
        )
    return samples


def _offline_cold(count: int) -> list[dict[str, float]]:
    """``count`` fresh starts of serverless-offline: the first request to /bench (a cold start of its Python
    runner), and the restart a configuration change needs there (start to first answer)."""
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        with offline_server() as offline:
            ready = time.perf_counter()
            first_ms = _first_answer_ms(offline.url)
        samples.append(
            {
                "start_ms": (ready - started) * 1000,
                "first_request_ms": first_ms,
                "change_to_served_ms": (ready - started) * 1000 + first_ms,
            }
        )
    return samples


def run(
    duration: float = 5.0,
    connections: tuple[int, ...] = (1, 4, 8),
    repetitions: int = 2,
    invokes: int = 200,
    cold: int = 5,
) -> dict[str, Any]:
    """Run the peer comparison, print the tables and ratios, return the figures (or why it was skipped)."""
    reason = unavailable()
    if reason is not None:
        print(f"peer: SKIPPED: {reason} (serverless-offline needs Node 18+ and npm)", flush=True)
        return {"skipped": reason}
    install()
    from selfheal.cloud import LocalCloud
    from selfheal.cloud.server import settle_heap
    from selfheal.cloud.testing import provision_loop

    where = machine()
    results: dict[str, Any] = {"machine": where, "duration": duration, "runs": [], "invoke": []}
    with LocalCloud(port=0) as cloud, offline_server() as offline:
        loop = provision_loop(cloud, failure_rate=0.0)
        settle_heap()  # as `selfheal cloud` does once started
        targets = {
            "selfheal": (
                f"{loop.api_endpoint}/bench",
                lambda: ([os.getpid()], cloud.lambdas.child_pids()),
            ),
            "offline": (offline.url, lambda: _offline_pids(offline.pid)),
        }
        key = cloud.operator_key
        clients = {
            "selfheal": {
                "endpoint": cloud.endpoint,
                "function": loop.fragile_function_name,
                "region": cloud.region,
                "access_key_id": key.access_key_id,
                "secret_access_key": key.secret_access_key,
            },
            "offline": {
                "endpoint": offline.lambda_endpoint,
                "function": _OFFLINE_FUNCTION,
                "access_key_id": "bench",
                "secret_access_key": "bench",
            },
        }
        for rep in range(repetitions):
            # Interleaved, and each repetition starts with the other target.
            order = ("selfheal", "offline") if rep % 2 == 0 else ("offline", "selfheal")
            for conns in connections:
                for name in order:
                    url, pids_of = targets[name]
                    summary = _measure(url, pids_of, conns, duration)
                    results["runs"].append({"target": name, "connections": conns, "rep": rep, **summary})
            for name in order:
                latencies = sorted(_invoke_latencies(clients[name], invokes))
                results["invoke"].append(
                    {
                        "target": name,
                        "rep": rep,
                        "count": len(latencies),
                        "p50_ms": statistics.median(latencies),
                        "p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
                    }
                )
        results["cold"] = {
            "selfheal": _selfheal_cold(cloud, targets["selfheal"][0], loop.fragile_function_name, cold),
        }
        results["pythons"] = {
            "bench": os.path.realpath(sys.executable),
            "selfheal": sorted(_handler_pythons(cloud.lambdas.child_pids())),
            "offline": sorted(_handler_pythons(tree_pids(offline.pid))),
        }
    results["cold"]["offline"] = _offline_cold(cold)
    where_after = machine()
    results["machine_after"] = where_after
    _report(results, connections, where, where_after)
    save_json("peer", results)
    return results


def _median(results: dict[str, Any], key: str, target: str, conns: int | None = None) -> float:
    rows = results["invoke"] if conns is None else results["runs"]
    values = [r[key] for r in rows if r["target"] == target and (conns is None or r["connections"] == conns)]
    return float(statistics.median(values)) if values else 0.0


def _ratio(a: float, b: float) -> float:
    return a / b if b else 0.0


def _report(
    results: dict[str, Any], connections: tuple[int, ...], where: dict[str, Any], after: dict[str, Any]
) -> None:
    print_table(
        f"Peer: HTTP API → fragile Lambda ({results['duration']:g} s per row; load avg "
        f"{where['loadavg_1m']} → {after['loadavg_1m']} on {where['cpus']} cpus)",
        [
            "rep",
            "target",
            "conns",
            "requests",
            "req/s",
            "p50 ms",
            "p99 ms",
            "CPU ms/req",
            "server",
            "handlers",
            "procs",
            "errors",
        ],
        [
            [
                r["rep"],
                r["target"],
                r["connections"],
                r["answered"],
                r["rps"],
                r["p50_ms"],
                r["p99_ms"],
                r["cpu_ms_per_request"],
                r["server_cpu_ms_per_request"],
                r["handler_cpu_ms_per_request"],
                r["processes"],
                sum(r["errors"].values()) + sum(v for k, v in r["statuses"].items() if k != "200"),
            ]
            for r in results["runs"]
        ],
    )
    ratio_rows = []
    for conns in connections:
        keys = (
            "rps",
            "p50_ms",
            "cpu_ms_per_request",
            "server_cpu_ms_per_request",
            "handler_cpu_ms_per_request",
        )
        sh = {k: _median(results, k, "selfheal", conns) for k in keys}
        off = {k: _median(results, k, "offline", conns) for k in keys}
        ratio_rows.append(
            [
                conns,
                sh["rps"],
                off["rps"],
                _ratio(sh["rps"], off["rps"]),
                _ratio(sh["p50_ms"], off["p50_ms"]),
                _ratio(sh["cpu_ms_per_request"], off["cpu_ms_per_request"]),
                _ratio(sh["server_cpu_ms_per_request"], off["server_cpu_ms_per_request"]),
                _ratio(sh["handler_cpu_ms_per_request"], off["handler_cpu_ms_per_request"]),
            ]
        )
    print_table(
        "Ratios, selfheal / serverless-offline (medians over repetitions; server: the cloud process or node, "
        "handlers: awslambdaric environments or the Python runners)",
        [
            "conns",
            "selfheal req/s",
            "offline req/s",
            "req/s ratio",
            "p50 ratio",
            "CPU/req ratio",
            "server CPU ratio",
            "handler CPU ratio",
        ],
        ratio_rows,
    )
    sh_p50, off_p50 = _median(results, "p50_ms", "selfheal"), _median(results, "p50_ms", "offline")
    print_table(
        "boto3 Invoke (the API Gateway event as payload; medians over repetitions)",
        ["target", "p50 ms", "p99 ms"],
        [
            ["selfheal", sh_p50, _median(results, "p99_ms", "selfheal")],
            ["offline", off_p50, _median(results, "p99_ms", "offline")],
            ["ratio", _ratio(sh_p50, off_p50), ""],
        ],
    )
    cold = results["cold"]

    def median_of(target: str, key: str) -> float:
        return float(statistics.median(sample[key] for sample in cold[target]))

    print_table(
        f"Cold start and configuration change (medians of {len(cold['selfheal'])}; selfheal: "
        "UpdateFunctionConfiguration then the first request; serverless-offline: a restart, which a change "
        "of serverless.yml needs, then the first request)",
        ["target", "first request ms (cold)", "change applied ms", "change → first response ms"],
        [
            [
                "selfheal",
                median_of("selfheal", "first_request_ms"),
                median_of("selfheal", "update_ms"),
                median_of("selfheal", "change_to_served_ms"),
            ],
            [
                "offline",
                median_of("offline", "first_request_ms"),
                median_of("offline", "start_ms"),
                median_of("offline", "change_to_served_ms"),
            ],
        ],
    )
    print(f"\nhandler Pythons: {json.dumps(results['pythons'])}", flush=True)


QUICK: dict[str, object] = {
    "duration": 2.0,
    "connections": (1, 4),
    "repetitions": 1,
    "invokes": 50,
    "cold": 2,
}
