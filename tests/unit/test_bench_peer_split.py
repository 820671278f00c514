"""The peer benchmark's CPU split: serverless-offline's tree is node (the server) and Python runners (the
handlers); a process of any other kind is the server's, and a vanished one is left out."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator

import psutil
import pytest
from bench.peer import _offline_pids


@pytest.fixture
def tree() -> Iterator[tuple[int, int, int]]:
    """A shell (standing in for node) with a Python child and a ``sleep`` child."""
    shell = subprocess.Popen(
        ["sh", "-c", f"{sys.executable} -c 'import time; time.sleep(60)' & sleep 60 & wait"],
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
        python = sleeper = 0
        while not (python and sleeper):  # both forks have exec'd
            assert time.monotonic() < deadline, "the shell's children did not start"
            time.sleep(0.05)
            for child in psutil.Process(shell.pid).children():
                exe = child.exe()
                python = child.pid if "python" in exe else python
                sleeper = child.pid if exe.endswith("/sleep") else sleeper
        yield shell.pid, python, sleeper
    finally:
        subprocess.run(["pkill", "-KILL", "-s", str(shell.pid)], check=False)
        shell.wait(timeout=10)


def test_python_children_are_the_handlers_and_the_rest_is_the_server(tree: tuple[int, int, int]) -> None:
    shell, python, sleeper = tree
    server, handlers = _offline_pids(shell)
    assert handlers == [python]
    assert sorted(server) == sorted([shell, sleeper])


def test_a_vanished_root_gives_nothing() -> None:
    done = subprocess.Popen(["true"])
    done.wait()
    assert _offline_pids(done.pid) == ([], [])
