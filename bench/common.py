"""Helpers shared by the benchmarks: the baseline server, running the load generator, reporting."""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = [
    "OUT_DIR",
    "bare_server",
    "cpu_seconds",
    "load",
    "machine",
    "print_table",
    "rss_kib",
    "save_json",
]

OUT_DIR = Path(__file__).resolve().parent / "out"

WSGIEnv = dict[str, Any]


def _hello(environ: WSGIEnv, start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = b'{"message":"hello"}'
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


@contextmanager
def bare_server() -> Iterator[str]:
    """A hello-world WSGI app on the local cloud's server stack (werkzeug threaded, same handler)."""
    from werkzeug.serving import make_server

    from selfheal.cloud.server import _quiet_handler

    server = make_server("127.0.0.1", 0, _hello, threaded=True, request_handler=_quiet_handler())
    thread = threading.Thread(target=server.serve_forever, name="bench-bare", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hello"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def load(
    url: str,
    *,
    connections: int,
    duration: float,
    rate: float | None = None,
    requests: int | None = None,
) -> dict[str, Any]:
    """Run ``bench.loadgen`` in its own process against ``url`` and return its JSON summary."""
    command = [
        sys.executable,
        "-m",
        "bench.loadgen",
        url,
        "--connections",
        str(connections),
        "--duration",
        str(duration),
    ]
    if rate is not None:
        command += ["--rate", str(rate)]
    if requests is not None:
        command += ["--requests", str(requests)]
    root = Path(__file__).resolve().parent.parent
    completed = subprocess.run(
        command, cwd=root, capture_output=True, text=True, timeout=duration * 3 + 120, check=False
    )
    if completed.returncode != 0:
        raise RuntimeError(f"load generator failed: {completed.stderr.strip()[-2000:]}")
    summary: dict[str, Any] = json.loads(completed.stdout)
    return summary


def machine() -> dict[str, Any]:
    """Where and when a figure was measured, including how busy the machine was."""
    load1, load5, _ = os.getloadavg()
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
        "loadavg_1m": round(load1, 2),
        "loadavg_5m": round(load5, 2),
    }


def rss_kib(pids: Sequence[int]) -> int:
    """Sum of the resident set sizes (KiB) of ``pids`` (processes that vanished count 0)."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status", encoding="ascii") as status:
                for line in status:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def cpu_seconds(pids: Sequence[int]) -> float:
    """User plus system CPU seconds used so far by ``pids`` (all their threads; vanished ones count 0)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        total += (int(fields[11]) + int(fields[12])) / ticks
    return total


def save_json(name: str, data: dict[str, Any]) -> Path:
    """Write ``data`` to ``bench/out/<name>.json`` and return the path."""
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"{name}.json"
    path.write_text(json.dumps(data, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print an aligned plain-text table."""
    cells = [[str(c) for c in header], *[[_fmt(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for index, row in enumerate(cells):
        print("  " + "  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
        if index == 0:
            print("  " + "  ".join("-" * width for width in widths))
    sys.stdout.flush()


def _fmt(value: object) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    return str(value)


def wait_until(probe: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    """Poll ``probe`` until it is true or ``timeout`` real seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return True
        time.sleep(step)
    return probe()
