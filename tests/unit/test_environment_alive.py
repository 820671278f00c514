"""An execution environment whose child died is never taken for alive (and handed an invocation)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

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
