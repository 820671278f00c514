"""Lambda Invoke through the local cloud's endpoint runs the real code in awslambdaric environments."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from polling import eventually
from selfheal.cloud import LocalCloud

AwsFactory = Callable[..., Any]
FunctionFactory = Callable[..., str]

PROBE = """
import json, os, time

def handler(event, context):
    action = event.get("action", "echo")
    print("probe action", action)
    if action == "raise":
        raise RuntimeError("probe failure")
    if action == "sleep":
        time.sleep(event["seconds"])
    if action == "exit":
        os._exit(7)
    if action == "touch":
        with open(event["path"], "w") as out:
            out.write(context.aws_request_id)
    return {"pid": os.getpid(), "event": event, "color": os.environ.get("COLOR"),
            "function": os.environ["AWS_LAMBDA_FUNCTION_NAME"],
            "endpoint": os.environ.get("AWS_ENDPOINT_URL")}
"""


@pytest.fixture(scope="module")
def probe(make_function: FunctionFactory) -> str:
    """A function that echoes, raises, sleeps, exits or touches a file on request."""
    return make_function("probe", PROBE, variables={"COLOR": "blue"}, timeout=1)


def invoke(aws: AwsFactory, name: str, event: dict[str, Any], **kwargs: Any) -> tuple[dict[str, Any], Any]:
    response = aws("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode(), **kwargs)
    return response, json.loads(response["Payload"].read() or b"null")


def wait_for(predicate: Any, timeout: float = 10.0) -> Any:
    return eventually(predicate, timeout, "the condition", interval=0.05)


def test_request_response_runs_the_code(aws: AwsFactory, probe: str, cloud: LocalCloud) -> None:
    """A synchronous invoke returns what the handler returned, run with the function's environment."""
    response, body = invoke(aws, probe, {"n": 1})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert response["ExecutedVersion"] == "$LATEST"
    assert body["event"] == {"n": 1}
    assert body["color"] == "blue"
    assert body["function"] == probe
    assert body["endpoint"] == cloud.endpoint


def test_warm_environment_is_reused(aws: AwsFactory, probe: str) -> None:
    """Two sequential invokes run in the same process."""
    _, first = invoke(aws, probe, {})
    _, second = invoke(aws, probe, {})
    assert first["pid"] == second["pid"]


def test_log_tail_holds_the_invocation_lines(aws: AwsFactory, probe: str) -> None:
    """LogType=Tail returns START, the handler's output, END and REPORT, base64-encoded."""
    response, _ = invoke(aws, probe, {}, LogType="Tail")
    tail = base64.b64decode(response["LogResult"]).decode()
    assert tail.startswith("START RequestId: ")
    assert "probe action echo" in tail
    assert "END RequestId: " in tail and "REPORT RequestId: " in tail


def test_dry_run_answers_204_without_running(aws: AwsFactory, probe: str, cloud: LocalCloud) -> None:
    """DryRun only validates: 204 and no invocation counted."""
    before = cloud.metrics.snapshot().get(probe)
    response = aws("lambda").invoke(FunctionName=probe, InvocationType="DryRun", Payload=b"{}")
    assert response["StatusCode"] == 204
    assert cloud.metrics.snapshot().get(probe) == before


def test_event_invoke_returns_202_and_runs(aws: AwsFactory, probe: str, tmp_path: Path) -> None:
    """An Event invoke is accepted with 202 and the handler runs later."""
    marker = tmp_path / "touched"
    response = aws("lambda").invoke(
        FunctionName=probe,
        InvocationType="Event",
        Payload=json.dumps({"action": "touch", "path": str(marker)}),
    )
    assert response["StatusCode"] == 202
    assert wait_for(lambda: marker.exists() and marker.read_text())


def test_unhandled_exception_has_aws_shape(aws: AwsFactory, probe: str) -> None:
    """A raised exception comes back as FunctionError Unhandled with errorMessage, errorType, stackTrace."""
    response, body = invoke(aws, probe, {"action": "raise"})
    assert response["StatusCode"] == 200
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "RuntimeError"
    assert body["errorMessage"] == "probe failure"
    assert isinstance(body["stackTrace"], list) and body["stackTrace"]


def test_timeout_kills_and_replaces_the_environment(aws: AwsFactory, probe: str) -> None:
    """A handler running past its timeout gets Sandbox.Timedout; the next invoke runs in a new process."""
    _, before = invoke(aws, probe, {})
    response, body = invoke(aws, probe, {"action": "sleep", "seconds": 5})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Sandbox.Timedout"
    assert "Task timed out after 1.00 seconds" in body["errorMessage"]
    _, after = invoke(aws, probe, {})
    assert after["pid"] != before["pid"]


def test_crash_reports_exit_error_and_recovers(aws: AwsFactory, probe: str) -> None:
    """A handler that exits the process gives Runtime.ExitError; the next invoke cold-starts and works."""
    response, body = invoke(aws, probe, {"action": "exit"})
    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "Runtime.ExitError"
    assert "exit status 7" in body["errorMessage"]
    response, body = invoke(aws, probe, {"n": 2})
    assert "FunctionError" not in response and body["event"] == {"n": 2}


def test_configuration_change_cold_starts_with_new_environment(
    aws: AwsFactory, make_function: FunctionFactory
) -> None:
    """UpdateFunctionConfiguration retires warm environments; the next invoke sees the new variables."""
    name = make_function("recolor", PROBE, variables={"COLOR": "red"})
    _, before = invoke(aws, name, {})
    aws("lambda").update_function_configuration(
        FunctionName=name, Environment={"Variables": {"COLOR": "green"}}
    )
    _, after = invoke(aws, name, {})
    assert (before["color"], after["color"]) == ("red", "green")
    assert after["pid"] != before["pid"]


def test_unknown_function_and_bad_payload_are_rejected(aws: AwsFactory, probe: str) -> None:
    """A missing function is ResourceNotFound; a non-JSON payload is InvalidRequestContent."""
    with pytest.raises(ClientError) as missing:
        aws("lambda").invoke(FunctionName="no-such-function", Payload=b"{}")
    assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as bad:
        aws("lambda").invoke(FunctionName=probe, Payload=b"{not json")
    assert bad.value.response["Error"]["Code"] == "InvalidRequestContentException"


def test_reserved_concurrency_throttles_and_counts(
    aws: AwsFactory, make_function: FunctionFactory, cloud: LocalCloud
) -> None:
    """With reserved concurrency 1, the second of two concurrent slow invokes is throttled and counted."""
    name = make_function("single", PROBE, timeout=3)
    aws("lambda").put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1)
    invoke(aws, name, {})  # warm up so that the slow call is running before the second starts
    outcomes: list[str] = []

    def slow() -> None:
        response, _ = invoke(aws, name, {"action": "sleep", "seconds": 1.0})
        outcomes.append(response.get("FunctionError") or "ok")

    worker = threading.Thread(target=slow)
    worker.start()
    wait_for(lambda: cloud.metrics.snapshot()[name].concurrent_executions == 1)
    no_retry = aws("lambda", config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError) as throttled:
        no_retry.invoke(FunctionName=name, Payload=b"{}")
    worker.join()
    assert throttled.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert outcomes == ["ok"]
    assert cloud.metrics.snapshot()[name].throttles == 1
    cloud.metrics.flush()
    stats = aws("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="Throttles",
        Dimensions=[{"Name": "FunctionName", "Value": name}],
        StartTime=datetime.now(UTC) - timedelta(minutes=5),
        EndTime=datetime.now(UTC) + timedelta(minutes=5),
        Period=600,
        Statistics=["Sum"],
    )
    assert sum(point["Sum"] for point in stats["Datapoints"]) == 1


def test_metrics_are_one_datapoint_per_function_per_flush(
    aws: AwsFactory, make_function: FunctionFactory, cloud: LocalCloud
) -> None:
    """Many invocations between two flushes become one Invocations datum whose value is their count."""
    name = make_function("counted", PROBE)
    cloud.metrics.flush()
    for _ in range(3):
        invoke(aws, name, {})
    invoke(aws, name, {"action": "raise"})
    assert cloud.metrics.flush() >= 1
    datums = [
        d
        for d in cloud.backend("cloudwatch").metric_data
        if d.namespace == "AWS/Lambda"
        and {"Name": "FunctionName", "Value": name}
        in [{"Name": dim.name, "Value": dim.value} for dim in d.dimensions]
    ]
    by_metric: dict[str, list[Any]] = {}
    for datum in datums:
        by_metric.setdefault(datum.name, []).append(datum)
    assert sum(d.value for d in by_metric["Invocations"]) == 4
    assert sum(d.value for d in by_metric["Errors"]) == 1
    assert len(by_metric["Invocations"]) <= 2  # a flush of the background flusher may split the four
    stats = aws("cloudwatch").get_metric_statistics(
        Namespace="AWS/Lambda",
        MetricName="Invocations",
        Dimensions=[{"Name": "FunctionName", "Value": name}],
        StartTime=datetime.now(UTC) - timedelta(minutes=5),
        EndTime=datetime.now(UTC) + timedelta(minutes=5),
        Period=600,
        Statistics=["Sum"],
    )
    assert sum(point["Sum"] for point in stats["Datapoints"]) == 4


def test_logs_reach_cloudwatch_logs(aws: AwsFactory, probe: str, cloud: LocalCloud) -> None:
    """The handler's output and Lambda's START/END/REPORT lines land in /aws/lambda/<name>."""
    invoke(aws, probe, {"action": "echo"})
    cloud.logs.flush()
    events = aws("logs").filter_log_events(logGroupName=f"/aws/lambda/{probe}")["events"]
    messages = [event["message"] for event in events]
    assert any(m.startswith("START RequestId: ") for m in messages)
    assert any("probe action echo" in m for m in messages)
    assert any(m.startswith("REPORT RequestId: ") for m in messages)
    streams = {event["logStreamName"] for event in events}
    assert all("/[$LATEST]" in stream for stream in streams)


def test_each_tail_holds_its_own_output_between_start_and_end(aws: AwsFactory, probe: str) -> None:
    """The handler's output is read by the invoking thread before END, at every one of many invokes."""
    for n in range(15):
        response, _ = invoke(aws, probe, {"action": f"marker-{n}"}, LogType="Tail")
        lines = base64.b64decode(response["LogResult"]).decode().splitlines()
        said = [i for i, line in enumerate(lines) if f"marker-{n}" in line]
        end = next(i for i, line in enumerate(lines) if line.startswith("END RequestId: "))
        assert said and all(0 < i < end for i in said), lines
