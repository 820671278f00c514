"""The dashboard as a background process: started detached by `selfheal up`, stopped by `selfheal down`.

The child runs ``selfheal dashboard`` in a new session, against the cloud recorded in the work directory
(its endpoint, region and time scale), and is recorded in ``dashboard.json``. Stopping sends SIGTERM (the
command stops its server on it), then SIGKILL after a grace period.

Port policy, shared with ``selfheal demo``'s in-process dashboard: no port asked for means
:data:`DEFAULT_DASHBOARD_PORT`, or a free port when that one is taken (said in a note); 0 means a free
port; an explicit port that is taken is an error before anything starts.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable

from selfheal.stack.cloud_process import (
    _alive,
    _answers,
    _last_error,
    _runs_selfheal,
    _wait_gone,
    free_port,
    port_available,
    spawn_detached,
)
from selfheal.workdir import CloudRecord, DashboardRecord, Workdir

__all__ = [
    "DEFAULT_DASHBOARD_PORT",
    "DashboardProcessError",
    "choose_dashboard_port",
    "dashboard_alive",
    "start_dashboard_process",
    "stop_dashboard_process",
]

DEFAULT_DASHBOARD_PORT = 8765
_ENTRY = "from selfheal.cli import main; main()"


class DashboardProcessError(RuntimeError):
    """The background dashboard could not be started; the message is one line for the user."""


def choose_dashboard_port(requested: int | None) -> tuple[int, str | None]:
    """The port to serve on and a note when the default was taken.

    ``None``: :data:`DEFAULT_DASHBOARD_PORT`, else a free port (with a note); ``0``: a free port; anything
    else: that port, ValueError when out of range, DashboardProcessError when it is taken.
    """
    if requested is None:
        if port_available(DEFAULT_DASHBOARD_PORT):
            return DEFAULT_DASHBOARD_PORT, None
        port = free_port()
        return port, f"dashboard port {DEFAULT_DASHBOARD_PORT} is taken; using {port} instead"
    if not 0 <= requested <= 65535:
        raise ValueError(f"--dashboard-port must be from 0 to 65535, got {requested}")
    if requested == 0:
        return free_port(), None
    if not port_available(requested):
        raise DashboardProcessError(
            f"dashboard port {requested} on 127.0.0.1 is taken — choose another --dashboard-port"
        )
    return requested, None


def dashboard_alive(record: DashboardRecord) -> bool:
    """Whether the recorded dashboard process is still running."""
    return _alive(record.pid) and _runs_selfheal(record.pid, b"dashboard")


def start_dashboard_process(
    workdir: Workdir,
    cloud: CloudRecord,
    port: int,
    *,
    timeout: float = 30.0,
    on_wait: Callable[[float], None] | None = None,
) -> DashboardRecord:
    """Start ``selfheal dashboard`` detached against ``cloud``, record it and wait until it answers.

    ``port`` must be a concrete port (see :func:`choose_dashboard_port`). On any failure, an interrupt
    included, the child is stopped and its record removed before the error propagates.
    """
    if not 0 < port <= 65535:
        raise ValueError(f"dashboard port must be from 1 to 65535, got {port}")
    workdir.ensure()
    argv = [
        sys.executable,
        "-c",
        _ENTRY,
        "dashboard",
        "--port",
        str(port),
        "--endpoint-url",
        cloud.endpoint,
        "--region",
        cloud.region,
        "--outputs",
        str(workdir.outputs_json),
        "--workdir",
        str(workdir.root),
    ]
    process = spawn_detached(argv, workdir.dashboard_log, f"selfheal dashboard --port {port}")
    record = DashboardRecord(process.pid, f"http://127.0.0.1:{port}/", port, time.time())
    try:
        workdir.write_dashboard(record)
        started = time.monotonic()
        while not _answers(record.url.rstrip("/")):
            if process.poll() is not None:
                raise DashboardProcessError(
                    f"the dashboard exited while starting: {_last_error(workdir.dashboard_log)} "
                    f"(see {workdir.dashboard_log})"
                )
            waited = time.monotonic() - started
            if waited > timeout:
                raise DashboardProcessError(
                    f"the dashboard did not answer within {timeout:.0f} s (see {workdir.dashboard_log})"
                )
            if on_wait is not None:
                on_wait(waited)
            time.sleep(0.1)
    except BaseException:
        stop_dashboard_process(record, grace=2.0)
        process.wait(timeout=5)
        workdir.dashboard_json.unlink(missing_ok=True)
        raise
    return record


def stop_dashboard_process(record: DashboardRecord, grace: float = 10.0) -> str:
    """Stop the dashboard (SIGTERM, SIGKILL after ``grace``); return how. Safe if it already died."""
    if not dashboard_alive(record):
        return "was not running"
    with contextlib.suppress(ProcessLookupError):
        os.kill(record.pid, signal.SIGTERM)
    how = "stopped"
    if not _wait_gone(lambda: [record.pid] if dashboard_alive(record) else [], grace):
        with contextlib.suppress(ProcessLookupError):
            os.kill(record.pid, signal.SIGKILL)
        _wait_gone(lambda: [record.pid] if _alive(record.pid) else [], 5.0)
        how = f"killed (no exit {grace:g} s after SIGTERM)"
    # As for the cloud: wait (bounded) until the port is really released.
    _wait_gone(lambda: [] if port_available(record.port) else [record.port], 5.0)
    return how
