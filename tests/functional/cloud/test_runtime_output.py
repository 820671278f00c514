"""A function's output: read by the invoking thread while it runs, by the reader thread in between."""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from selfheal.cloud import LocalCloud
from selfheal.cloud.lambda_output import ChildOutput

AwsFactory = Callable[..., Any]
FunctionFactory = Callable[..., str]

WRITER = """
import sys, threading, time

def handler(event, context):
    if event.get("lines"):
        # More than the child's output pipe holds: the function blocks until someone reads.
        for n in range(event["lines"]):
            sys.stdout.write(f"bulk {n:06d} " + "x" * 120 + "\\n")
        print("bulk done")
    if event.get("late"):
        def later():
            time.sleep(0.3)
            print("late", event["late"], flush=True)
        threading.Thread(target=later).start()
    print("said", event.get("say", ""))
    return {"ok": True}
"""


@pytest.fixture(scope="module")
def writer(make_function: FunctionFactory) -> str:
    return make_function("output-writer", WRITER, timeout=10)


def _invoke(aws: AwsFactory, name: str, event: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    response: dict[str, Any] = aws("lambda").invoke(
        FunctionName=name, Payload=json.dumps(event).encode(), **kwargs
    )
    response["body"] = json.loads(response["Payload"].read())
    return response


def _logged(aws: AwsFactory, cloud: LocalCloud, name: str, text: str, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        cloud.logs.flush()
        events = aws("logs").filter_log_events(logGroupName=f"/aws/lambda/{name}", filterPattern=f'"{text}"')
        if events["events"]:
            return True
        time.sleep(0.05)
    return False


def test_an_invocation_that_writes_more_than_its_pipe_holds_completes_with_all_its_output(
    aws: AwsFactory, cloud: LocalCloud, writer: str
) -> None:
    """2 MiB of output in one invocation: the invoking thread reads it while it waits, the function ends."""
    response = _invoke(aws, writer, {"lines": 16384, "say": "after-bulk"}, LogType="Tail")
    assert "FunctionError" not in response, response["body"]
    assert response["body"] == {"ok": True}
    tail = base64.b64decode(response["LogResult"]).decode()
    assert "said after-bulk" in tail
    assert _logged(aws, cloud, writer, "bulk 016383")
    assert _logged(aws, cloud, writer, "bulk 000000")


def test_output_written_after_the_invocation_reaches_the_log_group_without_another(
    aws: AwsFactory, cloud: LocalCloud, writer: str
) -> None:
    """A line the function's own thread prints once the invocation is over is still shipped."""
    response = _invoke(aws, writer, {"late": "marker-after-return"})
    assert response["body"] == {"ok": True}
    assert _logged(aws, cloud, writer, "late marker-after-return")


def test_the_reader_thread_reads_nothing_while_invocations_run(
    aws: AwsFactory, writer: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each line a function prints used to wake the environment's reader thread; the invoking thread now
    reads them all itself, and its tail still holds every one."""
    _invoke(aws, writer, {"say": "warm"})
    readers: list[str] = []
    consume = ChildOutput._consume

    def counted(self: ChildOutput, fd: int, *, drain: bool = False) -> bool:
        if threading.current_thread().name.startswith("lambda-env-"):
            readers.append(threading.current_thread().name)
        return consume(self, fd, drain=drain)

    monkeypatch.setattr(ChildOutput, "_consume", counted)
    for n in range(30):
        response = _invoke(aws, writer, {"say": f"line-{n}"}, LogType="Tail")
        assert f"said line-{n}" in base64.b64decode(response["LogResult"]).decode()
    assert readers == []
