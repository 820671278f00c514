"""Lambda Invoke answers the same through the gateway's shortcut (lambda_invoke_api) as through moto."""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from api_helpers import allow_invoke, user_lambda_client
from botocore.config import Config
from botocore.exceptions import ClientError

from selfheal.cloud import LocalCloud

AwsFactory = Callable[..., Any]
FunctionFactory = Callable[..., str]

SOURCE = """
def handler(event, context):
    print("probe says hi")
    if event.get("fail"):
        raise ValueError("probe failure")
    return {"event": event, "arn": context.invoked_function_arn}
"""
ARN = "arn:aws:lambda:us-east-1:123456789012:function:probe"
# The answer's headers that vary per request; their shapes are checked on their own.
VARYING = {"date", "x-amzn-requestid", "x-amz-crc32", "x-amz-log-result", "content-length", "connection"}
# boto3 retries a throttled Invoke: one attempt each, so that each request is answered once.
ONCE = Config(retries={"total_max_attempts": 1, "mode": "standard"})
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")

CASES: dict[str, dict[str, Any]] = {
    "plain": {},
    "tail": {"LogType": "Tail"},
    "unknown log type": {"LogType": "Verbose"},
    "unknown log type, event": {"LogType": "Verbose", "InvocationType": "Event"},
    "client context not base64": {"ClientContext": "not base64!"},
    "client context not an object": {"ClientContext": base64.b64encode(b"[1]").decode()},
    "client context too long": {"ClientContext": base64.b64encode(b"{}" + b" " * 2700).decode()},
    "client context, event": {"InvocationType": "Event", "ClientContext": base64.b64encode(b"{}").decode()},
    "event": {"InvocationType": "Event"},
    "dry run": {"InvocationType": "DryRun"},
    "bad invocation type": {"InvocationType": "Sometimes"},
    "latest": {"Qualifier": "$LATEST"},
    "version": {"Qualifier": "1"},
    "alias": {"Qualifier": "live"},
    "alias in the name": {"FunctionName": "probe:live"},
    "arn": {"FunctionName": ARN},
    "qualified arn": {"FunctionName": f"{ARN}:1", "LogType": "Tail"},
    "missing version": {"Qualifier": "9"},
    "missing alias": {"Qualifier": "nope"},
    "missing function": {"FunctionName": "absent"},
    "not json": {"Payload": b"{not json"},
    "function error": {"Payload": b'{"fail": true}'},
    "function error tail": {"Payload": b'{"fail": true}', "LogType": "Tail"},
    "throttled": {"FunctionName": "stopped"},
    "too large": {"Payload": json.dumps({"pad": "x" * 6_300_000}).encode()},
}
# Requests that stop before the shortcut (the body bound) or that it leaves to moto.
NOT_SHORTCUT = {"too large"}


@pytest.fixture(scope="module")
def probe(aws: AwsFactory, make_function: FunctionFactory) -> str:
    """``probe`` with version 1 and alias ``live``, and ``stopped`` whose reserved concurrency is 0."""
    name = make_function("probe", SOURCE)
    lambdas = aws("lambda")
    lambdas.publish_version(FunctionName=name)
    lambdas.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    make_function("stopped", SOURCE)
    lambdas.put_function_concurrency(FunctionName="stopped", ReservedConcurrentExecutions=0)
    return name


@pytest.fixture()
def moto_path(cloud: LocalCloud) -> Iterator[Callable[[bool], None]]:
    """Switch the gateway's shortcuts off (True) or on (False); they are restored after the test."""
    kept = list(cloud.gateway.shortcuts)

    def use_moto(on: bool) -> None:
        cloud.gateway.shortcuts[:] = [] if on else kept

    yield use_moto
    cloud.gateway.shortcuts[:] = kept


def _call(client: Any, case: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    arguments = {"FunctionName": "probe", "Payload": b'{"n": 1}', **case}
    try:
        response = client.invoke(**arguments)
        body = response["Payload"].read()
    except ClientError as error:
        response, body = error.response, json.dumps(error.response["Error"]).encode()
    metadata = response["ResponseMetadata"]
    return metadata["HTTPStatusCode"], dict(metadata["HTTPHeaders"]), body


def _comparable(status: int, headers: dict[str, str], body: bytes) -> tuple[Any, ...]:
    """What must be equal on both paths: status, stable headers, the body without per-run details."""
    stable = {name: value for name, value in headers.items() if name not in VARYING}
    loaded = json.loads(body) if body else None
    if isinstance(loaded, dict) and "stackTrace" in loaded:
        loaded = {key: loaded[key] for key in ("errorMessage", "errorType")}
    return status, stable, loaded, "x-amz-log-result" in headers


def _check_shape(status: int, headers: dict[str, str], body: bytes) -> None:
    request_id = headers["x-amzn-requestid"]
    if status in (200, 202):
        assert UUID.match(request_id), request_id
    else:  # moto's own form of request id, or the gateway's for a refusal
        assert UUID.match(request_id) or re.fullmatch(r"[A-Za-z0-9]{52}", request_id), request_id
    if "x-amz-crc32" in headers:
        assert headers["x-amz-crc32"] == str(binascii.crc32(body))
    if "x-amz-log-result" in headers:
        log = base64.b64decode(headers["x-amz-log-result"]).decode()
        assert f"START RequestId: {request_id}" in log and "probe says hi" in log


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_invoke_answers_alike_on_both_paths(
    case: str, cloud: LocalCloud, aws: AwsFactory, probe: str, moto_path: Callable[[bool], None]
) -> None:
    """The same Invoke request gets the same status, headers and body through the shortcut and moto."""
    client = aws("lambda", config=ONCE)
    moto_path(True)
    before = cloud.invoke_api.served
    through_moto = _call(client, CASES[case])
    assert cloud.invoke_api.served == before
    moto_path(False)
    through_shortcut = _call(client, CASES[case])
    assert cloud.invoke_api.served == before + (0 if case in NOT_SHORTCUT else 1)
    for answer in (through_moto, through_shortcut):
        _check_shape(*answer)
    assert _comparable(*through_shortcut) == _comparable(*through_moto)


def test_invoke_answers_as_lambda_documents(aws: AwsFactory, probe: str) -> None:
    """Spot checks against Lambda's documented answers, so that both paths cannot drift together."""
    client = aws("lambda", config=ONCE)
    status, headers, body = _call(client, {"Qualifier": "live"})
    assert (status, headers["x-amz-executed-version"]) == (200, "1")
    assert json.loads(body)["arn"] == f"{ARN}:live"
    status, headers, body = _call(client, {"Payload": b'{"fail": true}'})
    assert (status, headers["x-amz-function-error"], json.loads(body)["errorType"]) == (
        200,
        "Unhandled",
        "ValueError",
    )
    assert _call(client, {"InvocationType": "Event"})[0] == 202
    assert _call(client, {"InvocationType": "DryRun"})[:1] == (204,)
    status, headers, body = _call(client, {"FunctionName": "absent"})
    assert (status, json.loads(body)["Code"]) == (404, "ResourceNotFoundException")
    status, _, body = _call(client, {"FunctionName": "stopped"})
    assert (status, json.loads(body)["Code"]) == (429, "TooManyRequestsException")
    status, _, body = _call(client, {"InvocationType": "Sometimes"})
    assert (status, json.loads(body)["Code"]) == (400, "InvalidParameterValueException")
    status, _, body = _call(client, {"LogType": "Verbose"})
    assert (status, json.loads(body)["Code"]) == (400, "InvalidParameterValueException")
    status, _, body = _call(client, {"ClientContext": "not base64!"})
    assert (status, json.loads(body)["Code"]) == (400, "InvalidRequestContentException")


def test_iam_user_is_still_judged_by_its_policies(
    cloud: LocalCloud, aws: AwsFactory, probe: str, moto_path: Callable[[bool], None]
) -> None:
    """An IAM user's Invoke skips the shortcut: denied without a policy, allowed with one, on both paths."""
    iam = aws("iam")
    client = user_lambda_client(cloud, iam, "invoker", config=ONCE)
    served = cloud.invoke_api.served
    for use_moto in (True, False):
        moto_path(use_moto)
        status, _, body = _call(client, {})
        assert (status, json.loads(body)["Code"]) == (403, "AccessDeniedException")
        assert f"lambda:InvokeFunction on resource: {ARN}" in json.loads(body)["Message"]
    allow_invoke(iam, "invoker", ARN)
    for use_moto in (True, False):
        moto_path(use_moto)
        assert _call(client, {})[0] == 200
    assert cloud.invoke_api.served == served


def test_unauthenticated_invoke_is_refused_before_the_shortcut(
    cloud: LocalCloud, aws: AwsFactory, probe: str
) -> None:
    """A request signed with a key the cloud never issued is refused, and nothing is invoked."""
    client = cloud.client(
        "lambda", aws_access_key_id="AKIAUNKNOWN000000000", aws_secret_access_key="x" * 40, config=ONCE
    )
    served = cloud.invoke_api.served
    status, _, body = _call(client, {})
    assert (status, json.loads(body)["Code"]) == (403, "UnrecognizedClientException")
    assert cloud.invoke_api.served == served
