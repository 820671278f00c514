"""Waiting in tests: poll until something holds, or fail naming what never came."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

__all__ = ["eventually", "wait_until"]

T = TypeVar("T")


def eventually(
    probe: Callable[[], T | None],
    timeout: float,
    what: str,
    *,
    interval: float = 0.1,
    explain: Callable[[], str] | None = None,
) -> T:
    """The first truthy result of ``probe`` within ``timeout`` real seconds, polled every ``interval``;
    else fail with ``timed out after … waiting for {what}`` and ``explain()``'s detail."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            detail = explain() if explain is not None else ""
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(interval)


def wait_until(condition: Callable[[], bool], within: float = 2.0, interval: float = 0.02) -> bool:
    """Whether ``condition`` holds within ``within`` real seconds (polled every ``interval``)."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True
