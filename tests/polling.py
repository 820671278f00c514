"""Waiting in tests: poll until something holds, or fail naming what never came; wait for SQS messages."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest

__all__ = ["eventually", "receive_messages", "wait_until"]

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


def receive_messages(sqs: Any, url: str, count: int, timeout: float, **receive: Any) -> list[dict[str, Any]]:
    """Up to ``count`` messages of the queue ``url`` (fewer if they never come within ``timeout`` real
    seconds), each deleted once received; ``receive``: more ReceiveMessage arguments."""
    messages: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(messages) < count and time.monotonic() < deadline:
        answer = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, **receive)
        for message in answer.get("Messages", []):
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            messages.append(message)
        time.sleep(0.05)
    return messages
