"""An execution environment whose child died is never taken for alive (and handed an invocation)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from selfheal.cloud.lambda_output import ChildOutput
from selfheal.cloud.lambda_runtime import ExecutionEnvironment


class _BusyPoll:
    """A Popen whose poll() answers None, as Popen does while another thread holds its waitpid lock."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def poll(self) -> None:
        return None


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_a_zombie_child_is_not_alive_even_when_poll_cannot_tell() -> None:
    """A killed, not yet reaped child (a zombie) counts as dead although poll() said nothing."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 10
    while Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.01)
    environment = object.__new__(ExecutionEnvironment)
    environment._process = _BusyPoll(child.pid)  # type: ignore[assignment]
    try:
        assert environment.alive is False
    finally:
        child.wait()
    assert environment.alive is False  # reaped meanwhile: gone from /proc


def test_a_running_child_is_alive() -> None:
    """A child that still runs is alive."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    environment = object.__new__(ExecutionEnvironment)
    environment._process = child
    try:
        assert environment.alive is True
    finally:
        child.kill()
        child.wait()
    assert environment.alive is False


def _wait_zombie(pid: int) -> None:
    deadline = time.monotonic() + 10
    while Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
        assert time.monotonic() < deadline, "the child did not exit"
        time.sleep(0.01)


def _watched(kind: type[ExecutionEnvironment], child: subprocess.Popen[bytes]) -> ExecutionEnvironment:
    """An environment of ``kind`` around ``child`` with its exit watch and stat file, as start() sets them."""
    environment = object.__new__(kind)
    environment._process = child
    environment._pidfd_lock = threading.Lock()
    environment._watch_exit(child.pid)
    return environment


def _close_fds(environment: ExecutionEnvironment) -> None:
    for fd in (environment._stat_fd, environment._pidfd):
        if fd is not None:
            os.close(fd)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_the_open_stat_file_tells_running_from_zombie_and_reaped() -> None:
    """The /proc stat file opened once at start reads running, then zombie, then ESRCH once reaped."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    environment = _watched(ExecutionEnvironment, child)
    try:
        assert environment._stat_fd is not None
        assert environment._proc_running() is True
        child.kill()
        _wait_zombie(child.pid)
        assert environment._proc_running() is False
        child.wait()
        assert environment._proc_running() is False
    finally:
        child.wait()
        _close_fds(environment)


class _PidfdNotYetReadable(ExecutionEnvironment):
    """An environment in the window where a killed child's pidfd has not turned readable yet."""

    @property
    def alive(self) -> bool:
        return True


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_healthy_asks_the_stat_file_opened_at_start() -> None:
    """While ``alive`` still says yes, a zombie child is not healthy: the stat file opened at start says Z."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    environment = _watched(_PidfdNotYetReadable, child)
    try:
        assert environment._stat_fd is not None
        assert environment.healthy is True
        child.kill()
        _wait_zombie(child.pid)
        assert environment.healthy is False
    finally:
        child.kill()
        child.wait()
        _close_fds(environment)


class _ClosedApi:
    closing = True


def test_close_before_the_output_reader_has_started_neither_fails_nor_leaves_it_reading() -> None:
    """stop() may close an environment that start() is still starting: its reader is not started yet."""
    child = subprocess.Popen([sys.executable, "-c", "pass"], stdout=subprocess.PIPE)
    environment = object.__new__(ExecutionEnvironment)
    environment._process = child
    environment._pidfd_lock = threading.Lock()
    environment._api = _ClosedApi()  # type: ignore[assignment]
    lines: list[str] = []
    environment._output = ChildOutput(lines.append)
    assert child.stdout is not None
    environment._output.attach(child.stdout)
    environment.close()
    assert child.returncode is not None and child.stdout.closed
    environment._output.start_reader("late-reader", lambda: True)  # as start() would, late
    reader = environment._output._reader
    assert reader is not None
    reader.join(timeout=5)
    assert not reader.is_alive()
    assert lines == []
