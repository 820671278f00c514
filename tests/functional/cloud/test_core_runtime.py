"""Fidelity of the Lambda runtime and its neighbours: exit errors, request ids, the DLQ, SNS, interpreters.

Each wording is AWS's (sources in the docstrings and in the modules they test).
"""

from __future__ import annotations

import base64
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from polling import eventually
from selfheal.cloud import LocalCloud

AwsFactory = Callable[..., Any]
FunctionFactory = Callable[..., str]

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

EXITING = """
import os, signal

def handler(event, context):
    if event.get("signal"):
        os.kill(os.getpid(), getattr(signal, event["signal"]))
    os._exit(event["status"])
"""

FAILING = """
def handler(event, context):
    raise ValueError("always " + "x" * event.get("padding", 0))
"""

VERSION = """
import os, sys

def handler(event, context):
    return {
        "version": "%d.%d" % sys.version_info[:2],
        "wrapper": os.environ.get("SELFHEAL_TEST_WRAPPER"),
        "execution_env": os.environ.get("AWS_EXECUTION_ENV"),
    }
"""


def wait_for(predicate: Callable[[], Any], timeout: float = 15.0) -> Any:
    return eventually(predicate, timeout, "the condition", interval=0.05)


def invoke(aws: AwsFactory, name: str, event: dict[str, Any], **kwargs: Any) -> tuple[dict[str, Any], Any]:
    response = aws("lambda").invoke(FunctionName=name, Payload=json.dumps(event), **kwargs)
    return response, json.loads(response["Payload"].read() or b"null")


@pytest.mark.parametrize(
    ("event", "message"),
    [
        # AWS Lambda Developer Guide, execution environment lifecycle (runtime crash example).
        ({"status": 0}, "Runtime exited without providing a reason"),
        # AWS re:Post Knowledge Center, "lambda-runtime-error": "... exit status 129".
        ({"status": 3}, "Runtime exited with error: exit status 3"),
        # What Lambda reports for an out-of-memory kill.
        ({"status": 0, "signal": "SIGKILL"}, "Runtime exited with error: signal: killed"),
    ],
    ids=["exit-0", "exit-3", "sigkill"],
)
def test_runtime_exit_errors_are_worded_as_on_aws(
    aws: AwsFactory, make_function: FunctionFactory, event: dict[str, Any], message: str
) -> None:
    """Exit status 0, a non-zero status and a signal each give AWS's Runtime.ExitError message."""
    name = f"exiting-{'-'.join(str(v).lower() for v in event.values())}"
    make_function(name, EXITING)
    response, body = invoke(aws, name, event)
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert body["errorMessage"] == f"RequestId: {response['ResponseMetadata']['RequestId']} Error: {message}"


def test_sync_invoke_answers_with_the_invocations_request_id(
    aws: AwsFactory, make_function: FunctionFactory
) -> None:
    """x-amzn-RequestId of a synchronous Invoke is the invocation's id (the one in START RequestId)."""
    make_function("versioned-sync", VERSION)
    response, _ = invoke(aws, "versioned-sync", {}, LogType="Tail")
    request_id = response["ResponseMetadata"]["RequestId"]
    assert UUID.match(request_id)
    assert f"START RequestId: {request_id} " in base64.b64decode(response["LogResult"]).decode()


def test_event_invoke_request_id_is_a_uuid_and_reaches_the_dead_letter_queue(
    aws: AwsFactory, lambda_role: str, lambda_zip: Any
) -> None:
    """An Event invoke answers with a dashed UUID; the DLQ message carries it, ErrorCode as a Number and
    ErrorMessage cut to 1 KB (AWS Lambda Developer Guide, "Dead-letter queues")."""
    sqs = aws("sqs")
    queue_url = sqs.create_queue(QueueName="runtime-dead-letters")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    aws("lambda").create_function(
        FunctionName="always-failing",
        Runtime="python3.11",
        Role=lambda_role,
        Handler="app.handler",
        Code={"ZipFile": lambda_zip(files={"app.py": FAILING})},
        DeadLetterConfig={"TargetArn": queue_arn},
    )
    aws("lambda").get_waiter("function_active_v2").wait(
        FunctionName="always-failing", WaiterConfig={"Delay": 0.05}
    )
    aws("lambda").put_function_event_invoke_config(FunctionName="always-failing", MaximumRetryAttempts=0)
    response = aws("lambda").invoke(
        FunctionName="always-failing", InvocationType="Event", Payload=json.dumps({"padding": 3000})
    )
    assert response["StatusCode"] == 202
    request_id = response["ResponseMetadata"]["RequestId"]
    assert UUID.match(request_id), request_id

    def receive() -> list[dict[str, Any]]:
        answer = sqs.receive_message(QueueUrl=queue_url, MessageAttributeNames=["All"], WaitTimeSeconds=0)
        return list(answer.get("Messages", []))

    attributes = wait_for(receive)[0]["MessageAttributes"]
    assert attributes["RequestID"] == {"DataType": "String", "StringValue": request_id}
    assert attributes["ErrorCode"] == {"DataType": "Number", "StringValue": "200"}
    error_message = attributes["ErrorMessage"]["StringValue"]
    assert error_message.startswith("always xxx") and len(error_message.encode()) == 1024


def test_publish_to_a_missing_topic_is_not_found(aws: AwsFactory, cloud: LocalCloud) -> None:
    """SNS answers Publish to a topic that does not exist with NotFound "Topic does not exist"."""
    missing = f"arn:aws:sns:{cloud.region}:{cloud.account_id}:no-such-topic"
    with pytest.raises(ClientError) as raised:
        aws("sns").publish(TopicArn=missing, Message="hello")
    error = raised.value.response["Error"]
    assert (error["Code"], error["Message"]) == ("NotFound", "Topic does not exist")
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    topic = aws("sns").create_topic(Name="existing-topic")["TopicArn"]
    assert aws("sns").publish(TopicArn=topic, Message="hello")["MessageId"]


# -- the interpreter a runtime asks for -----------------------------------------------------------------

OTHER = (3, 12) if sys.version_info[:2] != (3, 12) else (3, 11)
OTHER_RUNTIME = f"python{OTHER[0]}.{OTHER[1]}"


@pytest.fixture
def path_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory that is the cloud process's whole PATH during the test."""
    saved = os.environ["PATH"]
    os.environ["PATH"] = str(tmp_path)
    try:
        yield tmp_path
    finally:
        os.environ["PATH"] = saved


def _create(aws: AwsFactory, lambda_role: str, lambda_zip: Any, name: str) -> None:
    aws("lambda").create_function(
        FunctionName=name,
        Runtime=OTHER_RUNTIME,
        Role=lambda_role,
        Handler="app.handler",
        Code={"ZipFile": lambda_zip(files={"app.py": VERSION})},
    )
    aws("lambda").get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.05})


def _messages(aws: AwsFactory, cloud: LocalCloud, name: str) -> list[str]:
    cloud.logs.flush()
    events = aws("logs").filter_log_events(logGroupName=f"/aws/lambda/{name}")["events"]
    return [event["message"] for event in events]


def test_runtime_without_its_interpreter_runs_on_the_venv_and_says_so_once(
    aws: AwsFactory, cloud: LocalCloud, lambda_role: str, lambda_zip: Any, path_dir: Path
) -> None:
    """No usable pythonX.Y on PATH: the venv's Python runs it, one log line per cold start says so, and
    LambdaService.runtime_note gives the same line."""
    broken = path_dir / f"python{OTHER[0]}.{OTHER[1]}"
    broken.write_text("#!/bin/sh\nexit 1\n")  # like a pyenv shim of a version that is not selected
    broken.chmod(0o755)
    _create(aws, lambda_role, lambda_zip, "wants-other-python")
    _, first = invoke(aws, "wants-other-python", {})
    _, second = invoke(aws, "wants-other-python", {})
    venv = f"{sys.version_info[0]}.{sys.version_info[1]}"
    assert first["version"] == second["version"] == venv
    assert first["execution_env"] == f"AWS_Lambda_{OTHER_RUNTIME}"
    note = cloud.lambdas.runtime_note("wants-other-python")
    assert note is not None
    assert note.startswith(f"selfheal: runtime {OTHER_RUNTIME} requested; running on Python {venv}.")
    assert f"(no {OTHER_RUNTIME} with awslambdaric" in note
    assert _messages(aws, cloud, "wants-other-python").count(note) == 1
    assert cloud.lambdas.runtime_notes()["wants-other-python"] == note


def test_runtime_with_its_interpreter_on_path_runs_on_it(
    aws: AwsFactory, cloud: LocalCloud, lambda_role: str, lambda_zip: Any, path_dir: Path
) -> None:
    """A pythonX.Y on PATH that imports awslambdaric (here a wrapper marking its children) is used."""
    wrapper = path_dir / f"python{OTHER[0]}.{OTHER[1]}"
    wrapper.write_text(f'#!/bin/sh\nexport SELFHEAL_TEST_WRAPPER=yes\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    _create(aws, lambda_role, lambda_zip, "finds-other-python")
    _, body = invoke(aws, "finds-other-python", {})
    assert body["wrapper"] == "yes"
    assert cloud.lambdas.runtime_note("finds-other-python") is None
    assert not any(m.startswith("selfheal: runtime") for m in _messages(aws, cloud, "finds-other-python"))


COUNTING_THREADS = """
import os, threading

started = []
_start = threading.Thread.start

def _counting_start(self):
    started.append(self.name)
    _start(self)

threading.Thread.start = _counting_start

def handler(event, context):
    return {"started": list(started), "execution_env": os.environ["AWS_EXECUTION_ENV"]}
"""


def test_a_python_3_12_environment_awaits_next_without_a_thread_per_invocation(
    aws: AwsFactory, make_function: FunctionFactory
) -> None:
    """awslambdaric would start and join a thread for every /next under python3.12+; the local cloud's
    bootstrap keeps AWS_EXECUTION_ENV as Lambda sets it and awaits /next on the main thread."""
    make_function("no-polling-thread", COUNTING_THREADS, runtime="python3.12")
    bodies = [invoke(aws, "no-polling-thread", {})[1] for _ in range(3)]
    assert bodies[-1] == {"started": [], "execution_env": "AWS_Lambda_python3.12"}
