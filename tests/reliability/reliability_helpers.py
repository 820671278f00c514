"""Helpers for the reliability suite: process and file-descriptor accounting, polling, cloud clients."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from polling import eventually
from selfheal.cloud import LocalCloud

__all__ = [
    "child_pids",
    "client",
    "eventually",
    "function_pids",
    "kill_and_reap_hook",
    "open_fds",
    "patched",
    "rss_kib",
]

T = TypeVar("T")


def client(cloud: LocalCloud, service: str) -> Any:
    """A boto3 client for ``service`` against ``cloud``, signed with its operator key."""
    return cloud.client(service)


def open_fds() -> int:
    """How many file descriptors this process has open."""
    return len(os.listdir("/proc/self/fd"))


def child_pids() -> set[int]:
    """The process ids of this process's live children (zombies excluded)."""
    pids: set[int] = set()
    for task in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{task}/children", encoding="ascii") as children:
                pids.update(int(pid) for pid in children.read().split())
        except FileNotFoundError:
            continue
    alive: set[int] = set()
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
                if stat.read().rsplit(")", 1)[1].split()[0] != "Z":
                    alive.add(pid)
        except FileNotFoundError:
            continue
    return alive


def rss_kib(pids: set[int] | None = None) -> int:
    """Resident memory (KiB) of this process plus ``pids`` (default: its children)."""
    total = 0
    for pid in {os.getpid(), *(child_pids() if pids is None else pids)}:
        try:
            with open(f"/proc/{pid}/status", encoding="ascii") as status:
                total += next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue
    return total


def function_pids(cloud: LocalCloud, function_name: str) -> list[int]:
    """The process ids of ``function_name``'s execution environments (read from their environment)."""
    found: list[int] = []
    marker = f"AWS_LAMBDA_FUNCTION_NAME={function_name}".encode()
    for pid in cloud.lambdas.child_pids():
        try:
            with open(f"/proc/{pid}/environ", "rb") as environ:
                if marker in environ.read().split(b"\0"):
                    found.append(pid)
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def kill_and_reap_hook(cloud: LocalCloud, function_name: str) -> Callable[[], list[int]]:
    """Return a callable that SIGKILLs every environment of ``function_name`` and waits until they exit."""

    def kill() -> list[int]:
        pids = function_pids(cloud, function_name)
        for pid in pids:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                continue
        deadline = time.monotonic() + 30  # SIGKILL takes a while to land on a loaded machine
        while time.monotonic() < deadline and any(
            pid in cloud.lambdas.child_pids() and _running(pid) for pid in pids
        ):
            time.sleep(0.01)
        return pids

    return kill


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):  # gone, or reaped between open and read (ESRCH)
        return False


@contextmanager
def patched(owner: Any, name: str, make: Callable[[Any], Any]) -> Iterator[None]:
    """Set instance attribute ``name`` of ``owner`` to ``make(original)``; remove it afterwards."""
    original = getattr(owner, name)
    setattr(owner, name, make(original))
    try:
        yield
    finally:
        owner.__dict__.pop(name, None)
