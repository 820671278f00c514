"""Attacks on the local cloud's front door, each written as the attacker would send it; each must be refused.

A web page can send "simple" cross-site requests to 127.0.0.1 without a preflight, a rebinding page can make
the browser send its own ``Host`` to the cloud's port, and any local program (a Lambda function's code too)
can sign with a well-known key. None of them may reach moto's back doors, act as root or exhaust memory.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import time
import zipfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from selfheal.cloud import LocalCloud
from selfheal.cloud.request_guard import INVOKE_ASYNC_LIMIT, INVOKE_SYNC_LIMIT
from selfheal.cloud.server import FRONTS

pytestmark = pytest.mark.timeout(120)

EVIL = "http://evil.example"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
GUESSING_HANDLER = '''
import boto3

def handler(event, context):
    """Try to act as root with the well-known test key instead of the role's own credentials."""
    client = boto3.client(
        event["service"], aws_access_key_id="testing", aws_secret_access_key="testing", aws_session_token=None
    )
    try:
        getattr(client, event["call"])()
    except Exception as error:
        return {"error": getattr(error, "response", {}).get("Error", {}).get("Code", repr(error))}
    return {"error": None}
'''
ECHO_HANDLER = "def handler(event, context):\n    return {'size': len(str(event))}\n"


@pytest.fixture(scope="module", params=FRONTS)
def cloud(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCloud]:
    """A LocalCloud with default (strict) settings on each front, started in an empty working directory."""
    workdir = tmp_path_factory.mktemp("front-door-cwd")
    previous = Path.cwd()
    os.chdir(workdir)
    try:
        with LocalCloud(port=0, front=request.param) as running:
            yield running
    finally:
        os.chdir(previous)


@pytest.fixture(scope="module")
def functions(cloud: LocalCloud) -> dict[str, str]:
    """Two functions: one whose code guesses a root key, one that echoes its payload size."""
    iam, lam = cloud.client("iam"), cloud.client("lambda")
    role = iam.create_role(RoleName="front-door", AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    names = {"guess": GUESSING_HANDLER, "echo": ECHO_HANDLER}
    for name, source in names.items():
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("app.py", source)
        lam.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role,
            Handler="app.handler",
            Code={"ZipFile": buffer.getvalue()},
            Timeout=30,
        )
        lam.get_waiter("function_active_v2").wait(FunctionName=name, WaiterConfig={"Delay": 0.05})
    return {name: name for name in names}


def _client(cloud: LocalCloud, service: str, key: str, secret: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service,
        endpoint_url=cloud.endpoint,
        region_name=cloud.region,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
    )


def _signed(
    cloud: LocalCloud,
    *,
    body: bytes,
    headers: dict[str, str],
    key: str | None = None,
    secret: str | None = None,
    host: str | None = None,
    when: datetime | None = None,
) -> dict[str, str]:
    """Headers of an ``sts:GetCallerIdentity``-style POST signed as botocore would (optionally forged)."""
    request = AWSRequest(method="POST", url=cloud.endpoint + "/", data=body, headers=dict(headers))
    if host is not None:
        request.headers["Host"] = host
    credentials = Credentials(
        key or cloud.operator_key.access_key_id, secret or cloud.operator_key.secret_access_key
    )
    auth = SigV4Auth(credentials, "sts", cloud.region)
    if when is None:
        auth.add_auth(request)
    else:
        with mock.patch("botocore.auth.get_current_datetime", return_value=when.replace(tzinfo=None)):
            auth.add_auth(request)
    return {name: str(value) for name, value in request.headers.items()}


STS_BODY = b"Action=GetCallerIdentity&Version=2011-06-15"
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


# ----- moto's back doors, from a web page ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/moto-api/recorder/upload-recording", b'{"a": 1}\n'),
        ("/moto-api/recorder/replay-recording", b""),
        ("/moto-api/reset", b""),
        ("/moto-api/config", b'{"lambda": {"use_docker": true}}'),
        ("/moto-api/reset-auth", b"0"),
        ("/moto-api/seed?a=42", b""),
        ("/moto-api/state-manager/set-transition", b'{"model_name": "x"}'),
    ],
)
def test_cross_site_simple_post_to_moto_back_doors_is_refused(
    cloud: LocalCloud, functions: dict[str, str], path: str, body: bytes
) -> None:
    """A page on another site POSTs text/plain to a moto endpoint: 403, no CORS grant, nothing changes."""
    response = httpx.post(
        cloud.endpoint + path,
        content=body,
        headers={"Content-Type": "text/plain", "Origin": EVIL, "Sec-Fetch-Site": "cross-site"},
    )
    assert response.status_code == 403
    assert "access-control-allow-origin" not in response.headers
    assert "evil.example" in response.json()["message"]
    names = [f["FunctionName"] for f in cloud.client("lambda").list_functions()["Functions"]]
    assert sorted(names) == ["echo", "guess"]
    assert not Path("moto_recording").exists()


@pytest.mark.parametrize("path", ["/moto-api/reset", "/moto-api/recorder/replay-recording", "/moto-api/"])
def test_moto_back_doors_are_closed_even_to_the_operator(
    cloud: LocalCloud, functions: dict[str, str], path: str
) -> None:
    """Without any Origin and signed by the operator key, moto's control API is still not served."""
    headers = _signed(cloud, body=b"", headers={})
    response = httpx.post(cloud.endpoint + path, content=b"", headers=headers)
    assert response.status_code == 404
    assert "not an AWS API" in response.text
    assert len(cloud.client("lambda").list_functions()["Functions"]) == 2


def test_instance_metadata_paths_are_not_served(cloud: LocalCloud) -> None:
    """moto's fake instance metadata (it hands out credentials) is no endpoint of the local cloud."""
    response = httpx.get(cloud.endpoint + "/latest/meta-data/iam/security-credentials/")
    assert response.status_code == 404


def test_cors_is_granted_to_nobody_by_default(cloud: LocalCloud) -> None:
    """moto's answers carry Access-Control-Allow-Origin for any origin; the cloud's carry none."""
    headers = _signed(cloud, body=STS_BODY, headers=FORM)
    response = httpx.post(cloud.endpoint + "/", content=STS_BODY, headers=headers)
    assert response.status_code == 200, response.text
    assert not [name for name in response.headers if name.lower().startswith("access-control-")]
    preflight = httpx.options(
        cloud.endpoint + "/", headers={"Origin": EVIL, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 403
    assert "access-control-allow-origin" not in preflight.headers


@pytest.mark.parametrize("site", ["cross-site", "same-site"])
def test_browser_request_from_another_site_without_origin_is_refused(cloud: LocalCloud, site: str) -> None:
    """A navigation or no-cors fetch from another site (Sec-Fetch-Site, no Origin) is refused."""
    headers = {**_signed(cloud, body=STS_BODY, headers=FORM), "Sec-Fetch-Site": site}
    response = httpx.post(cloud.endpoint + "/", content=STS_BODY, headers=headers)
    assert response.status_code == 403


def test_data_plane_is_behind_the_same_browser_checks(cloud: LocalCloud) -> None:
    """The HTTP API data plane (no signature needed, like API Gateway) still refuses foreign origins."""
    response = httpx.post(
        cloud.endpoint + "/_api/abc/", content=b"x", headers={"Origin": EVIL, "Content-Type": "text/plain"}
    )
    assert response.status_code == 403


# ----- DNS rebinding ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.evil.example", "localhost.evil.example:80"])
def test_rebinding_host_is_refused_even_with_a_valid_signature(cloud: LocalCloud, host: str) -> None:
    """A page whose name resolves to 127.0.0.1 makes the browser send its Host: refused before anything."""
    port = cloud.endpoint.rsplit(":", 1)[1]
    full_host = host if ":" in host else f"{host}:{port}"
    headers = _signed(cloud, body=STS_BODY, headers=FORM, host=full_host)
    response = httpx.post(cloud.endpoint + "/", content=STS_BODY, headers=headers)
    assert response.status_code == 403
    assert "loopback" in response.json()["message"]


def test_loopback_host_names_are_served(cloud: LocalCloud) -> None:
    """localhost and 127.0.0.1 (with the port) are this machine: served."""
    port = cloud.endpoint.rsplit(":", 1)[1]
    for host in (f"localhost:{port}", f"127.0.0.1:{port}"):
        headers = _signed(cloud, body=STS_BODY, headers=FORM, host=host)
        assert httpx.post(cloud.endpoint + "/", content=STS_BODY, headers=headers).status_code == 200


# ----- credentials ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "call", "code"),
    [
        ("sts", "get_caller_identity", "InvalidClientTokenId"),
        ("iam", "list_roles", "InvalidClientTokenId"),
        ("lambda", "list_functions", "UnrecognizedClientException"),
        ("dynamodb", "list_tables", "UnrecognizedClientException"),
        ("sns", "list_topics", "InvalidClientTokenId"),
        ("logs", "describe_log_groups", "UnrecognizedClientException"),
    ],
)
def test_well_known_test_key_is_not_root(cloud: LocalCloud, service: str, call: str, code: str) -> None:
    """A guessed key (``testing``/``testing``) gets AWS's error for an unknown key, not root."""
    client = _client(cloud, service, "testing", "testing")
    with pytest.raises(ClientError) as raised:
        getattr(client, call)()
    assert raised.value.response["Error"]["Code"] == code
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_operator_key_with_a_wrong_secret_is_refused(cloud: LocalCloud) -> None:
    """Knowing the operator's key id is not enough: the signature is checked."""
    sts = _client(cloud, "sts", cloud.operator_key.access_key_id, "x" * 40)
    with pytest.raises(ClientError) as raised:
        sts.get_caller_identity()
    assert raised.value.response["Error"]["Code"] == "SignatureDoesNotMatch"
    lam = _client(cloud, "lambda", cloud.operator_key.access_key_id, "x" * 40)
    with pytest.raises(ClientError) as raised:
        lam.list_functions()
    assert raised.value.response["Error"]["Code"] == "InvalidSignatureException"


def test_unsigned_request_is_refused(cloud: LocalCloud) -> None:
    """A request with no Authorization header is refused as AWS refuses it."""
    response = httpx.post(cloud.endpoint + "/", content=STS_BODY, headers=FORM)
    assert response.status_code == 403
    assert "<Code>MissingAuthenticationToken</Code>" in response.text
    response = httpx.get(cloud.endpoint + "/2015-03-31/functions/")
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_a_signature_cannot_be_replayed_on_another_body(cloud: LocalCloud) -> None:
    """Claiming the signed body's hash in X-Amz-Content-SHA256 while sending another body is refused."""
    claimed = {**FORM, "X-Amz-Content-SHA256": hashlib.sha256(STS_BODY).hexdigest()}
    headers = _signed(cloud, body=STS_BODY, headers=claimed)
    other = b"Action=ListRoles&Version=2010-05-08"
    response = httpx.post(cloud.endpoint + "/", content=other, headers=headers)
    assert response.status_code == 403
    assert "<Code>SignatureDoesNotMatch</Code>" in response.text


def test_an_old_signature_is_refused(cloud: LocalCloud) -> None:
    """A request signed 20 minutes ago (a captured one, replayed) is refused as expired."""
    old = datetime.fromtimestamp(time.time() - 20 * 60, UTC)
    headers = _signed(cloud, body=STS_BODY, headers=FORM, when=old)
    response = httpx.post(cloud.endpoint + "/", content=STS_BODY, headers=headers)
    assert response.status_code == 403
    assert "Signature expired" in response.text


def test_lambda_code_guessing_a_root_key_is_refused(cloud: LocalCloud, functions: dict[str, str]) -> None:
    """Function code that signs with ``testing``/``testing`` gets InvalidClientTokenId, not root."""
    lam = cloud.client("lambda")
    for service, call, code in (
        ("dynamodb", "list_tables", "UnrecognizedClientException"),
        ("iam", "list_roles", "InvalidClientTokenId"),
    ):
        payload = json.dumps({"service": service, "call": call}).encode()
        response = lam.invoke(FunctionName=functions["guess"], Payload=payload)
        assert "FunctionError" not in response
        assert json.loads(response["Payload"].read()) == {"error": code}


def test_iam_user_keys_created_in_the_cloud_are_accepted(cloud: LocalCloud) -> None:
    """Keys the cloud issued (an IAM user's) work; the same key after deletion does not."""
    iam = cloud.client("iam")
    iam.create_user(UserName="front-door-user")
    key = iam.create_access_key(UserName="front-door-user")["AccessKey"]
    sts = _client(cloud, "sts", key["AccessKeyId"], key["SecretAccessKey"])
    assert sts.get_caller_identity()["Arn"].endswith(":user/front-door-user")
    iam.delete_access_key(UserName="front-door-user", AccessKeyId=key["AccessKeyId"])
    with pytest.raises(ClientError) as raised:
        sts.get_caller_identity()
    assert raised.value.response["Error"]["Code"] == "InvalidClientTokenId"


# ----- payload and body limits ------------------------------------------------------------------------------


def test_sync_invoke_above_six_mb_is_refused_as_aws_does(
    cloud: LocalCloud, functions: dict[str, str]
) -> None:
    """A synchronous Invoke payload over 6 MB gets RequestTooLargeException (413); at the limit it runs."""
    lam = cloud.client("lambda")
    too_big = b'"' + b"a" * (INVOKE_SYNC_LIMIT - 1) + b'"'
    with pytest.raises(ClientError) as raised:
        lam.invoke(FunctionName=functions["echo"], Payload=too_big)
    assert raised.value.response["Error"]["Code"] == "RequestTooLargeException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 413
    assert "6291456 bytes" in raised.value.response["Error"]["Message"]
    fits = b'"' + b"a" * (INVOKE_SYNC_LIMIT - 2) + b'"'
    response = lam.invoke(FunctionName=functions["echo"], Payload=fits)
    assert json.loads(response["Payload"].read())["size"] == INVOKE_SYNC_LIMIT - 2


def test_async_invoke_above_one_mb_is_refused(cloud: LocalCloud, functions: dict[str, str]) -> None:
    """An asynchronous Invoke payload over 1 MB gets RequestTooLargeException; a small one is accepted."""
    lam = cloud.client("lambda")
    too_big = b'"' + b"a" * INVOKE_ASYNC_LIMIT + b'"'
    with pytest.raises(ClientError) as raised:
        lam.invoke(FunctionName=functions["echo"], Payload=too_big, InvocationType="Event")
    assert raised.value.response["Error"]["Code"] == "RequestTooLargeException"
    assert (
        lam.invoke(FunctionName=functions["echo"], Payload=b"{}", InvocationType="Event")["StatusCode"] == 202
    )


def test_a_fifty_mb_invoke_is_refused_before_its_body_is_read(cloud: LocalCloud) -> None:
    """Content-Length says 50 MB: the cloud answers 413 at once, without waiting for (or storing) the body."""
    host = cloud.endpoint.removeprefix("http://")
    address, port = host.rsplit(":", 1)
    head = (
        "POST /2015-03-31/functions/echo/invocations HTTP/1.1\r\n"
        f"Host: {host}\r\nContent-Type: application/json\r\nContent-Length: {50 * 1024 * 1024}\r\n\r\n"
    )
    with socket.create_connection((address, int(port)), timeout=10) as connection:
        connection.sendall(head.encode() + b"{" * 1024)
        answer = connection.recv(4096).decode(errors="replace")
    assert answer.startswith("HTTP/1.1 413"), answer
    assert "RequestTooLargeException" in answer


def test_a_chunked_body_without_length_is_bounded_too(cloud: LocalCloud) -> None:
    """A chunked upload (no Content-Length) to a control-plane API stops at the limit with 413."""

    def chunks() -> Iterator[bytes]:
        for _ in range(20):  # 20 MiB, over the 16 MiB default
            yield b"a" * (1024 * 1024)

    headers = {"Content-Type": "application/x-amz-json-1.0", "X-Amz-Target": "DynamoDB_20120810.ListTables"}
    try:
        response = httpx.post(cloud.endpoint + "/", content=chunks(), headers=headers, timeout=30)
        status = response.status_code
    except httpx.HTTPError:
        status = 413
    assert status == 413
