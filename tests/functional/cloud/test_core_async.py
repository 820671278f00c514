"""Asynchronous invocation: retries with backoff, then the on-failure destination or dead-letter queue."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from polling import eventually

# Lambda's async retry backoff is 60 s and 120 s of cloud time: at this scale 0.1 s and 0.2 s.
CLOUD_TIME_SCALE = 600.0

AwsFactory = Callable[..., Any]
FunctionFactory = Callable[..., str]

FLAKY = """
import json, os

def handler(event, context):
    counter = event["counter"]
    count = int(open(counter).read()) + 1 if os.path.exists(counter) else 1
    with open(counter, "w") as out:
        out.write(str(count))
    if count <= event["failures"]:
        raise ValueError(f"attempt {count} fails")
    return {"attempt": count}
"""


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
    return eventually(predicate, timeout, "the condition", interval=0.05)


def receive(aws: AwsFactory, queue_url: str) -> list[dict[str, Any]]:
    response = aws("sqs").receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], WaitTimeSeconds=0
    )
    return list(response.get("Messages", []))


def arn_of(aws: AwsFactory, queue_url: str) -> str:
    attributes = aws("sqs").get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
    return str(attributes["Attributes"]["QueueArn"])


def test_failing_event_is_retried_until_it_succeeds(
    aws: AwsFactory, make_function: FunctionFactory, tmp_path: Path
) -> None:
    """A handler failing twice then succeeding runs three times for one Event invoke."""
    name = make_function("flaky", FLAKY)
    counter = tmp_path / "count"
    event = {"counter": str(counter), "failures": 2}
    response = aws("lambda").invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(event))
    assert response["StatusCode"] == 202
    wait_for(lambda: counter.exists() and counter.read_text() == "3")
    time.sleep(0.5)  # a fourth run would have happened by now if success were retried
    assert counter.read_text() == "3"


def test_exhausted_retries_reach_the_on_failure_destination(
    aws: AwsFactory, make_function: FunctionFactory, tmp_path: Path
) -> None:
    """After MaximumRetryAttempts, the SQS on-failure destination receives Lambda's record."""
    name = make_function("doomed", FLAKY)
    queue_url = aws("sqs").create_queue(QueueName="doomed-failures")["QueueUrl"]
    queue_arn = arn_of(aws, queue_url)
    aws("lambda").put_function_event_invoke_config(
        FunctionName=name,
        MaximumRetryAttempts=1,
        DestinationConfig={"OnFailure": {"Destination": queue_arn}},
    )
    counter = tmp_path / "count"
    event = {"counter": str(counter), "failures": 99}
    aws("lambda").invoke(FunctionName=name, InvocationType="Event", Payload=json.dumps(event))
    messages = wait_for(lambda: receive(aws, queue_url))
    record = json.loads(messages[0]["Body"])
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 2
    assert record["requestPayload"] == event
    assert record["responseContext"]["functionError"] == "Unhandled"
    assert record["responsePayload"]["errorMessage"] == "attempt 2 fails"
    assert counter.read_text() == "2"


def test_dead_letter_queue_gets_the_event_without_a_destination(
    aws: AwsFactory, make_function: FunctionFactory, lambda_role: str, lambda_zip: Any, tmp_path: Path
) -> None:
    """With no on-failure destination, the function's DeadLetterConfig queue receives the original event."""
    queue_url = aws("sqs").create_queue(QueueName="dead-letters")["QueueUrl"]
    queue_arn = arn_of(aws, queue_url)
    aws("lambda").create_function(
        FunctionName="lettered",
        Runtime="python3.11",
        Role=lambda_role,
        Handler="app.handler",
        Code={"ZipFile": lambda_zip(files={"app.py": FLAKY})},
        DeadLetterConfig={"TargetArn": queue_arn},
    )
    assert aws("lambda").get_function_configuration(FunctionName="lettered")["DeadLetterConfig"] == {
        "TargetArn": queue_arn
    }
    aws("lambda").put_function_event_invoke_config(FunctionName="lettered", MaximumRetryAttempts=0)
    event = {"counter": str(tmp_path / "count"), "failures": 99}
    aws("lambda").invoke(FunctionName="lettered", InvocationType="Event", Payload=json.dumps(event))
    messages = wait_for(lambda: receive(aws, queue_url))
    assert json.loads(messages[0]["Body"]) == event
    assert messages[0]["MessageAttributes"]["ErrorMessage"]["StringValue"] == "attempt 1 fails"


TOGETHER = """
import os, time

def handler(event, context):
    folder = event["folder"]
    mine = os.path.join(folder, "running-" + context.aws_request_id)
    open(mine, "w").close()
    seen = 0
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline:
        seen = max(seen, sum(name.startswith("running-") for name in os.listdir(folder)))
        if seen >= event["together"]:
            break
        time.sleep(0.02)
    with open(os.path.join(folder, "seen-" + context.aws_request_id), "w") as out:
        out.write(str(seen))
    return seen
"""


def test_event_invokes_run_as_many_at_once_as_the_reserved_concurrency(
    aws: AwsFactory, make_function: FunctionFactory, tmp_path: Path
) -> None:
    """Five Event invokes of a function reserved 5 (the healer's) run all at once, as on Lambda: the
    workers that deliver a function's events are started as its events wait (it had four)."""
    name = make_function("together", TOGETHER, timeout=15)
    aws("lambda").put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=5)
    for _ in range(5):
        aws("lambda").invoke(
            FunctionName=name,
            InvocationType="Event",
            Payload=json.dumps({"folder": str(tmp_path), "together": 5}),
        )
    wait_for(lambda: len(list(tmp_path.glob("seen-*"))) == 5, timeout=30)
    assert sorted(int(path.read_text()) for path in tmp_path.glob("seen-*")) == [5] * 5
