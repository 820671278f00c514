"""Fixtures of the reliability suite: a LocalCloud per module, and a guard that no child process leaks."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from selfheal.cloud import LocalCloud


@pytest.fixture(scope="module")
def cloud(request: pytest.FixtureRequest) -> Iterator[LocalCloud]:
    """A started LocalCloud on a free port; time scale: the module's ``CLOUD_TIME_SCALE`` or 1."""
    scale: Any = getattr(request.module, "CLOUD_TIME_SCALE", 1.0)
    with LocalCloud(port=0, time_scale=float(scale)) as running:
        yield running
        environments = running.lambdas.child_pids()
    leaked = [pid for pid in environments if _alive(pid)]
    assert not leaked, f"environments still running after the cloud stopped: {leaked}"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
