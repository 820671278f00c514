"""While the whole loop runs: every listening socket is on 127.0.0.1, and no handed-out secret is logged."""

from __future__ import annotations

import contextlib
import io
import ipaddress
import logging
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from conftest import AwsFactory, failure_rate
from selfheal.cloud import LocalCloud
from selfheal.cloud.testing import provision_loop

CLOUD_TIME_SCALE = 60.0
pytestmark = pytest.mark.timeout(240)
HEAL_TIMEOUT = 90.0


@dataclass(frozen=True)
class Listener:
    """A listening (TCP) or bound (UDP) socket and the process holding it."""

    pid: int
    protocol: str
    address: str
    port: int


def _descendants(pid: int) -> set[int]:
    found = {pid}
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            for child in (task / "children").read_text().split():
                found |= _descendants(int(child))
    return found


def _socket_inodes(pids: set[int]) -> dict[int, int]:
    inodes: dict[int, int] = {}
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in os.listdir(f"/proc/{pid}/fd"):
                with contextlib.suppress(OSError):
                    target = os.readlink(f"/proc/{pid}/fd/{fd}")
                    if target.startswith("socket:["):
                        inodes[int(target[8:-1])] = pid
    return inodes


def _address(hex_address: str) -> str:
    raw = bytes.fromhex(hex_address)
    # /proc/net stores addresses as host-order (little-endian) 32-bit words.
    words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))
    return str(ipaddress.ip_address(words))


def listeners(pids: set[int]) -> list[Listener]:
    """Sockets in LISTEN state (TCP) or bound (UDP) owned by ``pids``, from /proc/net and /proc/<pid>/fd."""
    inodes = _socket_inodes(pids)
    found = []
    for protocol in ("tcp", "tcp6", "udp", "udp6"):
        lines = Path(f"/proc/net/{protocol}").read_text().splitlines()[1:]
        for line in lines:
            fields = line.split()
            local, state, inode = fields[1], fields[3], int(fields[9])
            host, port = local.split(":")
            if inode not in inodes or (protocol.startswith("tcp") and state != "0A"):
                continue
            found.append(Listener(inodes[inode], protocol, _address(host), int(port, 16)))
    return found


@dataclass
class LoopRun:
    """What one run of the loop left: the sockets seen mid-run, the log output, the secrets handed out."""

    sockets: list[Listener] = field(default_factory=list)
    environment_pids: list[int] = field(default_factory=list)
    log_text: str = ""
    healed: bool = False


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def run(cloud: LocalCloud, aws: AwsFactory) -> Iterator[LoopRun]:
    """Run Detect → Decide → Act under traffic, with every logger at DEBUG and stdout/stderr captured."""
    result = LoopRun()
    capture = _Capture()
    root = logging.getLogger()
    level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    printed = io.StringIO()
    stop = threading.Event()
    try:
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(printed):
            loop = provision_loop(
                cloud,
                name_prefix="exposed",
                failure_rate=0.5,
                alarm_period_seconds=60,
                alarm_evaluation_periods=1,
                alarm_datapoints_to_alarm=1,
                alarm_threshold=3,
                healer_verify_timeout_seconds=120,
            )

            def traffic() -> None:
                with httpx.Client(timeout=15.0) as http:
                    while not stop.is_set():
                        with contextlib.suppress(httpx.HTTPError):
                            http.get(f"{loop.api_endpoint}/hello")
                        stop.wait(0.01)

            sender = threading.Thread(target=traffic, name="exposure-traffic", daemon=True)
            sender.start()
            deadline = time.monotonic() + HEAL_TIMEOUT
            while time.monotonic() < deadline and not result.healed:
                if not result.sockets and len(cloud.lambdas.child_pids()) >= 2:
                    result.environment_pids = cloud.lambdas.child_pids()
                    result.sockets = listeners(_descendants(os.getpid()))
                result.healed = failure_rate(aws, "exposed") == "0"
                time.sleep(0.2)
            stop.set()
            sender.join(timeout=20)
            time.sleep(0.5)  # let the log shipper flush its last batch
    finally:
        stop.set()
        root.removeHandler(capture)
        root.setLevel(level)
    result.log_text = "\n".join(capture.lines) + "\n" + printed.getvalue()
    yield result


def test_every_listening_socket_is_loopback(cloud: LocalCloud, run: LoopRun) -> None:
    """The endpoint (and data plane) and each Runtime API server listen on 127.0.0.1 only, children too."""
    assert run.healed, "the loop did not heal in time"
    ports = {s.port for s in run.sockets}
    assert int(cloud.endpoint.rsplit(":", 1)[1]) in ports
    # One Runtime API server per execution environment, at least the fragile and the healer ones.
    assert len(run.environment_pids) >= 2 and len(run.sockets) >= 1 + len(run.environment_pids)
    exposed = [s for s in run.sockets if s.address != "127.0.0.1"]
    assert exposed == [], f"sockets not bound to 127.0.0.1: {exposed}"


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "example.com", ""])
def test_non_loopback_host_is_refused(host: str) -> None:
    """Asking the local cloud to bind anything but a loopback address fails before binding."""
    with pytest.raises(ValueError, match="loopback"):
        LocalCloud(host=host, port=0)


def test_no_handed_out_secret_in_any_log(cloud: LocalCloud, aws: AwsFactory, run: LoopRun) -> None:
    """No secret access key or session token appears in CloudWatch Logs or in the cloud's own output."""
    secrets = cloud.credentials.secrets()
    assert len(secrets) >= 4, "the fragile and healer environments should each hold a secret and a token"
    logs = aws("logs")
    messages: dict[str, list[str]] = {}
    for page in logs.get_paginator("describe_log_groups").paginate():
        for group in page["logGroups"]:
            name = group["logGroupName"]
            events = logs.get_paginator("filter_log_events").paginate(logGroupName=name)
            messages[name] = [event["message"] for batch in events for event in batch["events"]]
    assert messages.get("/aws/lambda/exposed-healer"), "the healer logged nothing: the scan would be vacuous"
    assert len(run.log_text) > 1000, "the cloud's output was not captured"
    for secret in secrets:
        for group, lines in messages.items():
            assert not any(secret in line for line in lines), f"a handed-out secret is in {group}"
        assert secret not in run.log_text, "a handed-out secret is in the cloud's own log output"
