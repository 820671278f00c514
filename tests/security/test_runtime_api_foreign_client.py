"""A foreign local process attacks a Lambda environment's Runtime API: it must get nothing and forge nothing.

Each execution environment serves the Lambda Runtime API on a 127.0.0.1 port that any local process can
reach. The attacker here is the test process itself (or a ``python -c`` it spawns): it reads the port from the
runtime's environment and the request id from the function's CloudWatch log stream, as a local user could,
then asks for the next invocation and posts a forged response. The server must close those connections
unread (it answers only its own runtime process), while the real invocation completes with the function's own
result. The last tests pin the Runtime API's body bounds (6 MB, as on AWS) and its fail-closed peer check.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import logging
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from botocore.exceptions import ClientError

from polling import eventually
from selfheal.cloud import LocalCloud
from selfheal.cloud.lambda_runtime import (
    API_PREFIX,
    MAX_PAYLOAD_BYTES,
    ExecutionEnvironment,
    RuntimeApiServer,
    _Pending,
)

CLOUD_TIME_SCALE = 1.0
pytestmark = pytest.mark.timeout(120)

RUNTIME_LOGGER = "selfheal.cloud.lambda_runtime"
# Long enough for the attacker to read the request id from the logs and try both requests mid-invocation.
HANDLER_SLEEP_SECONDS = 3.0
# How long an attack request may wait for an answer: a refusal is immediate, a served /next blocks.
ATTACK_TIMEOUT = 1.0
VICTIM_SOURCE = f"""
import time

def handler(event, context):
    time.sleep(event.get("sleep", {HANDLER_SLEEP_SECONDS}))
    if event.get("huge"):
        return "x" * event["huge"]
    return {{"answer": "from the function", "nonce": event.get("nonce")}}
"""

ATTACK_SCRIPT = """
import http.client, sys
host, port = sys.argv[1].rsplit(":", 1)
conn = http.client.HTTPConnection(host, int(port), timeout=float(sys.argv[2]))
try:
    conn.request("GET", sys.argv[3])
    print("served", conn.getresponse().status)
except TimeoutError:
    print("timeout")
except (ConnectionError, http.client.HTTPException):
    print("closed")
"""


def _functional_helpers() -> Any:
    """The Lambda test helpers of ``tests/functional/cloud/conftest.py`` (zip builder, trust policy)."""
    path = Path(__file__).resolve().parents[1] / "functional" / "cloud" / "conftest.py"
    spec = importlib.util.spec_from_file_location("functional_cloud_helpers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def victim(cloud: LocalCloud) -> str:
    """A Python function that sleeps (3 s by default) and then returns its own answer."""
    helpers = _functional_helpers()
    role = cloud.client("iam").create_role(
        RoleName="runtime-api-victim-role", AssumeRolePolicyDocument=json.dumps(helpers.TRUST_POLICY)
    )
    name = "runtime-api-victim"
    cloud.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role["Role"]["Arn"],
        Handler="app.handler",
        Code={"ZipFile": helpers.build_zip(files={"app.py": VICTIM_SOURCE})},
        Timeout=20,
    )
    cloud.client("lambda").get_waiter("function_active_v2").wait(
        FunctionName=name, WaiterConfig={"Delay": 0.05}
    )
    return name


def _environment(cloud: LocalCloud, function: str) -> ExecutionEnvironment | None:
    """The started environment of ``function`` (white box: the service's invoker keeps them private)."""
    invoker = cloud.lambdas._invoker
    with invoker._lock:
        started = [env for env in invoker._environments if env.spec.function_name == function and env.pid]
    return started[0] if started else None


def _runtime_api_address(env: ExecutionEnvironment) -> str:
    """The address the attacker reads from the runtime process's environment (as /proc/<pid>/environ)."""
    assert env.pid is not None
    return str(psutil.Process(env.pid).environ()["AWS_LAMBDA_RUNTIME_API"])


def _start_request_ids(cloud: LocalCloud, function: str) -> set[str]:
    """The request ids in ``function``'s START log lines: what a reader of its logs learns."""
    try:
        events = cloud.client("logs").filter_log_events(logGroupName=f"/aws/lambda/{function}")["events"]
    except ClientError:
        return set()
    return {e["message"].split()[2] for e in events if e["message"].startswith("START RequestId: ")}


def _attempt(address: str, method: str, path: str, body: bytes | None = None) -> tuple[str, str]:
    """Send one request; return ``(outcome, our address)``: ``served <status>``, ``closed`` or ``timeout``."""
    host, port = address.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=ATTACK_TIMEOUT)
    conn.connect()
    assert conn.sock is not None
    ours = "{}:{}".format(*conn.sock.getsockname()[:2])
    try:
        conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        return f"served {response.status} {response.read()[:200]!r}", ours
    except TimeoutError:
        return "timeout", ours
    except (ConnectionError, http.client.HTTPException):
        return "closed", ours
    finally:
        conn.close()


def _invoke_in_thread(
    cloud: LocalCloud, function: str, event: dict[str, Any]
) -> tuple[threading.Thread, list[Any]]:
    answers: list[Any] = []

    def call() -> None:
        response = cloud.client("lambda").invoke(FunctionName=function, Payload=json.dumps(event).encode())
        answers.append((response.get("FunctionError"), json.loads(response["Payload"].read())))

    caller = threading.Thread(target=call, name="victim-invoke", daemon=True)
    caller.start()
    return caller, answers


def test_foreign_client_can_neither_take_nor_answer_a_live_invocation(
    cloud: LocalCloud, victim: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Mid-invocation, the test process's /next and forged response are refused; the real answer wins."""
    caplog.set_level(logging.WARNING, logger=RUNTIME_LOGGER)
    known = _start_request_ids(cloud, victim)
    nonce = uuid.uuid4().hex
    caller, answers = _invoke_in_thread(cloud, victim, {"nonce": nonce})
    try:
        env = eventually(lambda: _environment(cloud, victim), 20, "environment")
        address = _runtime_api_address(env)
        [request_id] = eventually(lambda: _start_request_ids(cloud, victim) - known, 20, "START line")
        refused_before = env.runtime_api.refused_connections

        stolen, stealer = _attempt(address, "GET", f"{API_PREFIX}/invocation/next")
        forged_body = json.dumps({"answer": "forged by a foreign process"}).encode()
        forged, forger = _attempt(
            address, "POST", f"{API_PREFIX}/invocation/{request_id}/response", forged_body
        )
    finally:
        caller.join(timeout=30)

    assert {"GET /next": stolen, "forged response": forged, "invocation": answers} == {
        "GET /next": "closed",
        "forged response": "closed",
        "invocation": [(None, {"answer": "from the function", "nonce": nonce})],
    }
    assert env.runtime_api.refused_connections >= refused_before + 2
    refusals = [
        r.getMessage() for r in caplog.records if r.name == RUNTIME_LOGGER and "refused" in r.getMessage()
    ]
    for peer in (stealer, forger):
        assert any(f"from {peer}:" in line for line in refusals), (peer, refusals)


def test_another_local_process_is_refused(cloud: LocalCloud, victim: str) -> None:
    """A spawned ``python -c`` asking a warm environment for its next invocation gets its connection cut."""
    caller, answers = _invoke_in_thread(cloud, victim, {"sleep": 0, "nonce": "warm-up"})
    caller.join(timeout=30)
    assert answers == [(None, {"answer": "from the function", "nonce": "warm-up"})]
    env = eventually(lambda: _environment(cloud, victim), 20, "environment")
    refused_before = env.runtime_api.refused_connections

    attacker = subprocess.run(
        [
            sys.executable,
            "-c",
            ATTACK_SCRIPT,
            _runtime_api_address(env),
            "2",
            f"{API_PREFIX}/invocation/next",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )

    assert attacker.stdout.strip() == "closed", attacker
    assert env.runtime_api.refused_connections == refused_before + 1
    caller, answers = _invoke_in_thread(cloud, victim, {"sleep": 0, "nonce": "after"})
    caller.join(timeout=30)
    assert answers == [(None, {"answer": "from the function", "nonce": "after"})]


def test_oversize_function_response_fails_the_invocation(cloud: LocalCloud, victim: str) -> None:
    """A handler returning more than 6 MB fails with Function.ResponseSizeTooLarge; the next invoke works."""
    caller, answers = _invoke_in_thread(cloud, victim, {"sleep": 0, "huge": MAX_PAYLOAD_BYTES + 1})
    caller.join(timeout=60)
    [(function_error, body)] = answers
    assert function_error == "Unhandled"
    assert body["errorType"] == "Function.ResponseSizeTooLarge", body
    caller, answers = _invoke_in_thread(cloud, victim, {"sleep": 0, "nonce": "next"})
    caller.join(timeout=30)
    assert answers == [(None, {"answer": "from the function", "nonce": "next"})]


# ----- the Runtime API server alone ------------------------------------------------------------------


@pytest.fixture
def api() -> Iterator[RuntimeApiServer]:
    """A started Runtime API server owned by no process yet."""
    server = RuntimeApiServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


def _raw(address: str, request: bytes) -> bytes:
    """Send raw bytes and read until the server closes (or stops answering)."""
    host, port = address.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=ATTACK_TIMEOUT) as sock:
        sock.sendall(request)
        received = b""
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except TimeoutError:
            pass
        except ConnectionError:
            pass
    return received


def _status_and_body(raw: bytes) -> tuple[int, dict[str, Any]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_no_owner_means_no_client(api: RuntimeApiServer) -> None:
    """Until the environment names its runtime process, every connection is refused."""
    outcome, _ = _attempt(api.address, "GET", f"{API_PREFIX}/invocation/next")
    assert outcome == "closed"
    assert api.refused_connections == 1


def test_owner_is_served(api: RuntimeApiServer) -> None:
    """The owner process gets the queued invocation and its response completes it."""
    api.owner_pid = os.getpid()
    pending = _Pending(request_id="req-1", payload=b'{"k": 1}', deadline_ms=0, function_arn="arn:fn")
    api.submit(pending)
    outcome, _ = _attempt(api.address, "GET", f"{API_PREFIX}/invocation/next")
    assert outcome.startswith("served 200"), outcome
    outcome, _ = _attempt(api.address, "POST", f"{API_PREFIX}/invocation/req-1/response", b'"ok"')
    assert outcome.startswith("served 202"), outcome
    assert pending.done.is_set() and pending.response == b'"ok"' and not pending.error
    assert api.refused_connections == 0


@pytest.mark.parametrize("expect", [False, True], ids=["plain", "expect-100-continue"])
def test_oversize_body_is_refused_unread(api: RuntimeApiServer, expect: bool) -> None:
    """A response above 6 MB gets 413 RequestEntityTooLarge with its body unsent, and fails its invocation."""
    api.owner_pid = os.getpid()
    pending = _Pending(request_id="req-2", payload=b"{}", deadline_ms=0, function_arn="arn:fn")
    api.submit(pending)
    head = (
        f"POST {API_PREFIX}/invocation/req-2/response HTTP/1.1\r\nHost: x\r\n"
        f"Content-Length: {MAX_PAYLOAD_BYTES + 1}\r\n"
        + ("Expect: 100-continue\r\n" if expect else "")
        + "\r\n"
    )
    status, body = _status_and_body(_raw(api.address, head.encode()))
    assert (status, body["errorType"]) == (413, "RequestEntityTooLarge")
    assert pending.done.is_set() and pending.error and pending.fatal
    assert json.loads(pending.response)["errorType"] == "Function.ResponseSizeTooLarge"


def test_six_megabyte_body_is_accepted(api: RuntimeApiServer) -> None:
    """A response of exactly 6 MB (6291456 bytes) is still accepted."""
    api.owner_pid = os.getpid()
    pending = _Pending(request_id="req-3", payload=b"{}", deadline_ms=0, function_arn="arn:fn")
    api.submit(pending)
    body = b'"' + b"x" * (MAX_PAYLOAD_BYTES - 2) + b'"'
    outcome, _ = _attempt(api.address, "POST", f"{API_PREFIX}/invocation/req-3/response", body)
    assert outcome.startswith("served 202"), outcome
    assert len(pending.response) == MAX_PAYLOAD_BYTES and not pending.error


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", ""], ids=["word", "negative", "float", "blank"])
def test_malformed_content_length_is_refused(api: RuntimeApiServer, length: str) -> None:
    """A non-numeric or negative Content-Length gets 400 (a blank one counts as no body)."""
    api.owner_pid = os.getpid()
    request = f"POST {API_PREFIX}/init/error HTTP/1.1\r\nHost: x\r\nContent-Length: {length}\r\n\r\n"
    status, body = _status_and_body(_raw(api.address, request.encode()))
    if length:
        assert (status, body["errorType"]) == (400, "InvalidRequest")
        assert api.init_error is None
    else:
        assert status == 202


def test_unreadable_owner_fails_closed(
    api: RuntimeApiServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """When psutil may not read the runtime's sockets, the owner itself is refused, with the reason logged."""
    caplog.set_level(logging.WARNING, logger=RUNTIME_LOGGER)
    api.owner_pid = os.getpid()

    def denied(kind: str = "inet") -> list[Any]:
        raise psutil.AccessDenied(os.getpid())

    assert api._owner is not None
    monkeypatch.setattr(api._owner, "net_connections", denied)
    outcome, ours = _attempt(api.address, "GET", f"{API_PREFIX}/invocation/next")
    assert outcome == "closed"
    assert api.refused_connections == 1
    [line] = [r.getMessage() for r in caplog.records if r.name == RUNTIME_LOGGER]
    assert f"from {ours}:" in line and "access denied" in line and "failing closed" in line
