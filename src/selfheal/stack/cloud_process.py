"""The local cloud as a background process: started detached by `selfheal up`, stopped by `selfheal down`.

The child runs ``selfheal cloud`` in a new session, so it and the Lambda environments it spawns share one
process group whose id is the child's pid: stopping sends SIGTERM to the cloud (which stops its
environments), then SIGKILL to whatever is left of the group.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from selfheal.workdir import CloudRecord, Workdir, check_region, rotate_log

__all__ = [
    "CloudProcessError",
    "check_can_start",
    "cloud_alive",
    "free_port",
    "group_members",
    "port_available",
    "spawn_detached",
    "start_cloud",
    "stop_cloud",
]

_ENTRY = "from selfheal.cli import main; main()"


class CloudProcessError(RuntimeError):
    """The background cloud could not be started (or is already running)."""


def port_available(port: int) -> bool:
    """Whether a server could listen on 127.0.0.1:``port`` right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        # The cloud's server sets SO_REUSEADDR too, so sockets in TIME_WAIT do not count as busy.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port on 127.0.0.1 that is free at the moment of asking."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _proc_stat(pid: int) -> list[str] | None:
    """Fields of ``/proc/<pid>/stat`` after the command name (state first), None if gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2 :].split()


def _reap(pid: int) -> None:
    """Collect the exit status if ``pid`` is our own child, so it does not linger as a zombie."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def _alive(pid: int) -> bool:
    stat = _proc_stat(pid)
    if stat is not None:
        return stat[0] not in ("Z", "X")
    _reap(pid)  # without /proc a zombie child would look alive
    from selfheal.cloud.lambda_functions import pid_alive

    return pid_alive(pid) and not Path("/proc").is_dir()


def _argv(pid: int) -> list[bytes] | None:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None


def _runs_selfheal(pid: int, command: bytes) -> bool:
    """Whether ``pid`` still runs `selfheal <command>` (and is not a recycled pid)."""
    argv = _argv(pid)
    if argv is None:
        return _alive(pid)
    return command in argv and any(b"selfheal" in part for part in argv)


def _is_ours(pid: int) -> bool:
    """Whether ``pid`` is the cloud or one of its Lambda environments (awslambdaric's bootstrap)."""
    argv = _argv(pid)
    if argv is None:
        return False
    return _runs_selfheal(pid, b"cloud") or any(b"awslambdaric" in part for part in argv)


def cloud_alive(record: CloudRecord) -> bool:
    """Whether the recorded cloud process is still running."""
    return _alive(record.pid) and _runs_selfheal(record.pid, b"cloud")


def group_members(pgid: int) -> list[int]:
    """Live processes of process group ``pgid`` that are the cloud or its Lambda environments (from /proc).

    Anything else in a group with that id is not ours: the id was recycled after our group ended.
    """
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        stat = _proc_stat(int(entry.name))
        if (
            stat is not None
            and stat[0] not in ("Z", "X")
            and int(stat[2]) == pgid
            and _is_ours(int(entry.name))
        ):
            members.append(int(entry.name))
    return members


def _answers(endpoint: str) -> bool:
    try:
        with urllib.request.urlopen(endpoint + "/", timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # any HTTP answer means the server is up
    except (urllib.error.URLError, OSError):
        return False


def _last_error(log: Path) -> str:
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no output"
    errors = [line for line in lines if line.lower().startswith("error")]
    return (errors or lines or ["no output"])[-1]


def check_can_start(workdir: Workdir, port: int) -> CloudRecord | None:
    """Refuse (``CloudProcessError``) when a recorded cloud is alive or ``port`` is taken (0: any port).

    Returns the record a cloud that died left behind, if any.
    """
    existing = workdir.read_cloud()
    if existing is not None and cloud_alive(existing):
        raise CloudProcessError(
            f"a local cloud is already running (pid {existing.pid}, {existing.endpoint}) — "
            "run `selfheal down` first"
        )
    if not 0 <= port <= 65535:
        raise ValueError(f"--port must be from 0 to 65535, got {port}")
    if port and not port_available(port):
        raise CloudProcessError(f"port {port} on 127.0.0.1 is taken — choose another --port")
    return existing


def start_cloud(
    workdir: Workdir,
    port: int,
    time_scale: float,
    *,
    region: str = "us-east-1",
    timeout: float = 60.0,
    on_wait: Callable[[float], None] | None = None,
) -> CloudRecord:
    """Start ``selfheal cloud`` detached, record it in ``cloud.json`` and wait until it answers.

    The child's operator key is the work directory's (``credentials``, created here first if missing).
    Refuses (``CloudProcessError``) when a recorded cloud is alive, the port is taken or ``region`` is not
    one of AWS's (the child's default region, ``selfheal cloud --region``); ``port`` 0 picks a free one.
    ``on_wait`` is called with the seconds waited so far while the cloud starts.
    """
    try:
        check_region(region)
    except ValueError as error:
        raise CloudProcessError(str(error)) from None
    check_can_start(workdir, port)
    if port == 0:
        port = free_port()
    workdir.ensure()
    # The operator key exists before the child starts, so this process (Terraform, the dashboard) signs
    # with the very key the child loads from the same file.
    from selfheal.cloud.credentials import load_or_create

    try:
        load_or_create(workdir.credentials_file)
    except ValueError as error:
        raise CloudProcessError(str(error)) from None
    except OSError as error:
        raise CloudProcessError(f"cannot create {workdir.credentials_file}: {error.strerror}") from None
    # The cloud's clock starts at the origin recorded here, so the demo and the dashboard, which read
    # started_at back, compute exactly the cloud's time.
    started_at = time.time()
    argv = [
        sys.executable, "-c", _ENTRY, "cloud", "--port", str(port),
        "--time-scale", repr(time_scale), "--time-origin", repr(started_at),
        "--workdir", str(workdir.root.resolve()), "--region", region,
    ]  # fmt: skip
    process = spawn_detached(argv, workdir.cloud_log, f"selfheal cloud --port {port}")
    record = CloudRecord(
        pid=process.pid,
        endpoint=f"http://127.0.0.1:{port}",
        port=port,
        time_scale=time_scale,
        region=region,
        started_at=started_at,
    )
    workdir.write_cloud(record)
    started = time.monotonic()
    while not _answers(record.endpoint):
        if process.poll() is not None:
            workdir.cloud_json.unlink(missing_ok=True)
            raise CloudProcessError(
                f"the local cloud exited while starting: {_last_error(workdir.cloud_log)} "
                f"(see {workdir.cloud_log})"
            )
        waited = time.monotonic() - started
        if waited > timeout:
            stop_cloud(record)
            workdir.cloud_json.unlink(missing_ok=True)
            raise CloudProcessError(
                f"the local cloud did not answer within {timeout:.0f} s (see {workdir.cloud_log})"
            )
        if on_wait is not None:
            on_wait(waited)
        time.sleep(0.1)
    return record


def _wait_gone(pids: Callable[[], list[int]], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while pids():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def stop_cloud(record: CloudRecord, grace: float = 10.0) -> str:
    """Stop the cloud and every process of its group; return how (for a message). Safe if already dead."""
    how = "was not running"
    if cloud_alive(record):
        with contextlib.suppress(ProcessLookupError):
            os.kill(record.pid, signal.SIGTERM)
        if _wait_gone(lambda: [record.pid] if _alive(record.pid) else [], grace):
            how = "stopped"
        else:
            how = f"killed (no exit {grace:g} s after SIGTERM)"
    # Lambda environments left behind (the cloud was killed, or crashed) are still in its group.
    leftovers = group_members(record.pid) if Path("/proc").is_dir() else []
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    if cloud_alive(record):
        with contextlib.suppress(ProcessLookupError):
            os.kill(record.pid, signal.SIGKILL)
    _wait_gone(lambda: group_members(record.pid) if Path("/proc").is_dir() else [], 5.0)
    if how == "was not running" and leftovers:
        how = f"was not running; killed {len(leftovers)} leftover process(es)"
    # A killed multi-threaded process shows as a zombie before its last thread has closed its files:
    # wait (bounded) until the port is really released, so a following `up` can bind it.
    _wait_gone(lambda: [] if port_available(record.port) else [record.port], 5.0)
    return how


def spawn_detached(argv: list[str], log_path: Path, banner: str) -> subprocess.Popen[bytes]:
    """Start ``argv`` in its own session with output appended to ``log_path`` (rotated first when large)
    after a dated banner."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    rotate_log(log_path)
    with log_path.open("ab") as log:
        log.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {banner}\n".encode())
        log.flush()
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
