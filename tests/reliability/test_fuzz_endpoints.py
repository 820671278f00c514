"""Malformed requests to the local cloud's endpoint and its HTTP API data plane.

Bad JSON, huge bodies, wrong methods, odd paths, broken HTTP: each gets the right status code (or at
least an HTTP answer), the endpoint keeps serving, and nothing is lost: afterwards a normal request works
and the resources are as they were.
"""

from __future__ import annotations

import contextlib
import json
import socket
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from reliability_helpers import client

from selfheal.cloud import LocalCloud
from selfheal.cloud.testing import ProvisionedLoop, provision_loop

MiB = 1024 * 1024


@pytest.fixture(scope="module")
def loop(cloud: LocalCloud) -> ProvisionedLoop:
    """The loop, failure injection off."""
    return provision_loop(cloud, failure_rate=0.0)


def _raw(cloud: LocalCloud, request: bytes, timeout: float = 30.0) -> tuple[int, bytes]:
    """Send raw bytes to the cloud endpoint; return the status code (0 if none came back) and the body."""
    parts = urlsplit(cloud.endpoint)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=timeout) as sock:
        # The server may refuse before reading everything; its answer still counts.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except (ConnectionResetError, TimeoutError):
                break
            if not chunk:
                break
            chunks.append(chunk)
    data = b"".join(chunks)
    head, _, body = data.partition(b"\r\n\r\n")
    first = head.split(b"\r\n", 1)[0].split()
    return (int(first[1]) if len(first) > 1 and first[1].isdigit() else 0), body


def _signature(
    cloud: LocalCloud, method: str, path: str, body: bytes, service: str, headers: dict[str, str]
) -> bytes:
    """``headers`` plus a real SigV4 signature (``Authorization``, ``X-Amz-Date``) by the cloud's operator
    key, as raw header lines: the request passes the front door and reaches moto's parsers."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    key = cloud.operator_key
    request = AWSRequest(method=method, url=cloud.endpoint + path, data=body, headers=dict(headers))
    SigV4Auth(Credentials(key.access_key_id, key.secret_access_key), service, cloud.region).add_auth(request)
    return b"".join(f"{name}: {value}\r\n".encode() for name, value in request.headers.items())


def _state(cloud: LocalCloud, loop: ProvisionedLoop) -> dict[str, Any]:
    lam = client(cloud, "lambda")
    config = lam.get_function_configuration(FunctionName=loop.fragile_function_name)
    return {
        "functions": sorted(f["FunctionName"] for f in lam.list_functions()["Functions"]),
        "variables": config["Environment"]["Variables"],
        "code": (config["CodeSha256"], config["LastModified"]),
        "tables": client(cloud, "dynamodb").list_tables()["TableNames"],
        "topics": sorted(t["TopicArn"] for t in client(cloud, "sns").list_topics()["Topics"]),
        "alarms": [a["AlarmName"] for a in client(cloud, "cloudwatch").describe_alarms()["MetricAlarms"]],
        "apis": [a["ApiId"] for a in client(cloud, "apigatewayv2").get_apis()["Items"]],
    }


def _api_path(loop: ProvisionedLoop) -> str:
    return urlsplit(loop.api_endpoint).path


def _assert_intact(cloud: LocalCloud, loop: ProvisionedLoop, before: dict[str, Any]) -> None:
    with httpx.Client(timeout=20) as http:
        response = http.get(f"{loop.api_endpoint}/after-fuzz")
    assert response.status_code == 200, response.text
    assert response.json()["fault"] is None
    assert _state(cloud, loop) == before


def test_malformed_requests_get_the_right_status(cloud: LocalCloud, loop: ProvisionedLoop) -> None:
    """Each malformed request gets its documented status, then the cloud works and its state is intact."""
    before = _state(cloud, loop)
    api = _api_path(loop)
    host = f"Host: {urlsplit(cloud.endpoint).netloc}\r\n".encode()
    fn = loop.fragile_function_name
    invoke = f"/2015-03-31/functions/{fn}/invocations"

    def request(method: str, path: str, body: bytes = b"", extra: bytes = b"", length: bool = True) -> bytes:
        head = f"{method} {path} HTTP/1.1\r\n".encode() + host + extra
        sized = f"Content-Length: {len(body)}\r\n".encode() if length else b""
        return head + sized + b"Connection: close\r\n\r\n" + body

    def signed(method: str, path: str, body: bytes, service: str, **headers: str) -> bytes:
        # moto routes a request by the service named in its credential scope.
        extra = _signature(
            cloud, method, path, body, service, {k.replace("_", "-"): v for k, v in headers.items()}
        )
        return request(method, path, body, extra)

    missing = "/2015-03-31/functions/nope/invocations"
    query = b"Action=NoSuchThing&Version=2010-08-01"
    # None: any answer, even none at all (the stdlib parser drops some garbage without a status line).
    cases: list[tuple[str, bytes, set[int] | None]] = [
        ("invoke with bad JSON", signed("POST", invoke, b"{not json", "lambda"), {400}),
        ("invoke with a JSON prefix", signed("POST", invoke, b'{"a": ', "lambda"), {400}),
        ("invoke a missing function", signed("POST", missing, b"{}", "lambda"), {404}),
        ("invoke with GET", signed("GET", invoke, b"", "lambda"), {404, 405}),
        ("HTTP API: 11 MiB body", request("POST", f"{api}/big", b"x" * (11 * MiB)), {413}),
        ("HTTP API: unknown API", request("GET", "/_api/doesnotexist/x"), {404}),
        ("HTTP API: no API id", request("GET", "/_api/"), {404}),
        ("HTTP API: DELETE on $default", request("DELETE", f"{api}/thing"), {200}),
        ("HTTP API: PATCH with body", request("PATCH", f"{api}/thing", b'{"a":1}'), {200}),
        ("HTTP API: OPTIONS", request("OPTIONS", f"{api}/"), {200}),
        ("HTTP API: dot segments", request("GET", f"{api}/../../../etc/passwd"), {200, 404}),
        ("HTTP API: encoded NUL and bad UTF-8", request("GET", f"{api}/%00/%ff%fe?q=%c3%28"), {200}),
        ("HTTP API: 8 KiB path", request("GET", f"{api}/{'a' * 8192}"), {200, 414}),
        (
            "HTTP API: bad Content-Length",
            request("POST", f"{api}/x", b"", b"Content-Length: x\r\n", length=False),
            {400},
        ),
        (
            "DynamoDB: unknown operation",
            signed("POST", "/", b"{}", "dynamodb", X_Amz_Target="DynamoDB_20120810.Nope"),
            None,
        ),
        ("unknown Query action", signed("POST", "/", query, "sns"), None),
        ("broken request line", b"GARBAGE\r\n\r\n", None),
        ("unsupported HTTP version", b"GET / HTTP/7.0\r\n\r\n", None),
        ("header without a colon", b"GET / HTTP/1.1\r\nnot a header\r\n\r\n", None),
        ("half a request, then close", b"POST / HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc", None),
    ]
    failures = []
    for name, raw, expected in cases:
        status, body = _raw(cloud, raw, timeout=10 if expected is None else 30)
        if expected is not None and status not in expected:
            failures.append(f"{name}: got {status} ({body[:120]!r}), expected {sorted(expected)}")
    assert not failures, "\n".join(failures)
    _assert_intact(cloud, loop, before)


methods = st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "BREW"])
segments = st.lists(
    st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12), max_size=4
)
bodies = st.one_of(st.binary(max_size=2048), st.text(max_size=500).map(str.encode))
headers = st.dictionaries(
    st.from_regex(r"\Ax-[a-z]{1,10}\Z"),
    st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=20),
    max_size=3,
)


def test_fuzzed_http_api_requests_never_break_the_data_plane(
    cloud: LocalCloud, loop: ProvisionedLoop
) -> None:
    """Random methods, paths, headers and bodies: always an answer below 500, and the cloud stays intact."""
    before = _state(cloud, loop)
    api = _api_path(loop)
    seen: list[int] = []

    @settings(max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(methods, segments, bodies, headers)
    def check(method: str, parts: list[str], body: bytes, extra: dict[str, str]) -> None:
        from urllib.parse import quote

        path = api + "/" + "/".join(quote(part, safe="") for part in parts)
        with httpx.Client(timeout=20) as http:
            response = http.request(method, f"{cloud.endpoint}{path}", content=body, headers=extra)
        seen.append(response.status_code)
        assert response.status_code < 500, (method, path, response.status_code, response.text[:200])

    check()
    assert seen and set(seen) <= {200, 400, 404, 413}, sorted(set(seen))
    _assert_intact(cloud, loop, before)


def test_fuzzed_requests_to_the_cloud_endpoint_are_answered(cloud: LocalCloud, loop: ProvisionedLoop) -> None:
    """Random requests to moto's side of the endpoint all get an HTTP answer, and nothing changes."""
    before = _state(cloud, loop)

    @settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    @given(methods, segments, bodies, st.sampled_from(["", "DynamoDB_20120810.GetItem", "AWSEvents.Nope"]))
    def check(method: str, parts: list[str], body: bytes, target: str) -> None:
        from urllib.parse import quote

        path = "/" + "/".join(quote(part, safe="") for part in parts)
        extra = {"X-Amz-Target": target} if target else {}
        with httpx.Client(timeout=20) as http:
            response = http.request(method, f"{cloud.endpoint}{path}", content=body, headers=extra)
        assert 100 <= response.status_code < 600

    check()
    _assert_intact(cloud, loop, before)


def test_invoke_payload_variants(cloud: LocalCloud, loop: ProvisionedLoop) -> None:
    """Empty, non-object and deeply nested JSON payloads are accepted; bad JSON is InvalidRequestContent."""
    lam = client(cloud, "lambda")
    for payload in (b"", b"[]", b'"text"', b"42", json.dumps({"a": [[[[{}]]]]}).encode()):
        response = lam.invoke(FunctionName=loop.fragile_function_name, Payload=payload)
        assert response["StatusCode"] == 200, payload
    with pytest.raises(lam.exceptions.InvalidRequestContentException):
        lam.invoke(FunctionName=loop.fragile_function_name, Payload=b"{nope")


def _signed_post(
    cloud: LocalCloud, service: str, path: str, body: bytes, headers: dict[str, str] | None = None
) -> bytes:
    signature = _signature(cloud, "POST", path, body, service, headers or {})
    return (
        f"POST {path} HTTP/1.1\r\nHost: {urlsplit(cloud.endpoint).netloc}\r\n".encode()
        + signature
        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )


@pytest.mark.parametrize(
    "case",
    [
        # Signed by the operator key, Invoke is answered by the gateway's shortcut (lambda_invoke_api), which
        # reads the body as bytes. Signed by an IAM user it still goes through moto, which decodes every body
        # as UTF-8 before dispatch (moto/core/responses.py setup_class) and answers 500 there.
        pytest.param("invoke-non-utf8"),
        pytest.param(
            "dynamodb-bad-json",
            marks=pytest.mark.xfail(
                strict=True,
                reason="known gap: moto's DynamoDB answers a body that is not JSON with a 500, where AWS "
                "answers 400 SerializationException",
            ),
        ),
    ],
)
def test_undecodable_bodies_are_client_errors(cloud: LocalCloud, loop: ProvisionedLoop, case: str) -> None:
    """A body that cannot be decoded is a 400 client error, as on AWS, and never a 500."""
    if case == "invoke-non-utf8":
        path = f"/2015-03-31/functions/{loop.fragile_function_name}/invocations"
        raw = _signed_post(cloud, "lambda", path, b"\xff\xfe")
    else:
        target = {"X-Amz-Target": "DynamoDB_20120810.GetItem", "Content-Type": "application/x-amz-json-1.0"}
        raw = _signed_post(cloud, "dynamodb", "/", b"{oops", target)
    status, body = _raw(cloud, raw)
    assert status == 400, (status, body[:200])
