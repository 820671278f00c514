"""Runs the fragile handler under AWS's runtime interface client (awslambdaric) against a tiny Runtime API."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
EVENT = json.loads((ROOT / "tests" / "events" / "http_api_get_root.json").read_text())
PREFIX = "/2018-06-01/runtime"


class RuntimeApi:
    """The three Runtime API routes awslambdaric needs, serving queued events and recording outcomes."""

    def __init__(self) -> None:
        self.pending: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.outcomes: dict[str, queue.Queue[tuple[str, Any]]] = {}
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                if self.path != f"{PREFIX}/invocation/next":
                    self.send_error(404)
                    return
                request_id, event = api.pending.get()
                body = json.dumps(event).encode()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 3000))
                self.send_header(
                    "Lambda-Runtime-Invoked-Function-Arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:selfheal-fragile",
                )
                self.send_header(
                    "Lambda-Runtime-Trace-Id", f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]}"
                )
                # awslambdaric's C client crashes on a reply without a Content-Type.
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                payload = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                parts = self.path.removeprefix(f"{PREFIX}/").split("/")
                self.send_response(202)
                self.send_header("Content-Length", "0")
                self.end_headers()
                if len(parts) == 3 and parts[0] == "invocation" and parts[2] in {"response", "error"}:
                    api.outcomes[parts[1]].put((parts[2], json.loads(payload or b"null")))

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host!s}:{port}"

    def invoke(self, event: dict[str, Any]) -> tuple[str, Any]:
        request_id = str(uuid.uuid4())
        self.outcomes[request_id] = queue.Queue()
        self.pending.put((request_id, event))
        return self.outcomes[request_id].get(timeout=30)


@pytest.fixture
def runtime_api() -> Iterator[RuntimeApi]:
    """A Runtime API server on 127.0.0.1, shut down after the test."""
    api = RuntimeApi()
    api.thread.start()
    try:
        yield api
    finally:
        api.server.shutdown()
        api.server.server_close()


def start_function(api: RuntimeApi, log_path: Path, **env: str) -> subprocess.Popen[bytes]:
    """One execution environment: awslambdaric running fragile_service.app.handler with ``env``."""
    child_env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("FAILURE_", "LATENCY_"))},
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "POWERTOOLS_SERVICE_NAME": "selfheal-fragile",
        "PYTHONPATH": str(ROOT / "src"),
        # Unbuffered, so a log line is in the file before the response that follows it is posted.
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    with log_path.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "awslambdaric", "fragile_service.app.handler"],
            env=child_env,
            cwd=ROOT / "src",
            stdout=log,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture
def launch(runtime_api: RuntimeApi, tmp_path: Path) -> Iterator[Any]:
    """Start execution environments for the test and kill every one of them afterwards."""
    children: list[subprocess.Popen[bytes]] = []

    def _launch(**env: str) -> Path:
        log_path = tmp_path / f"env-{len(children)}.log"
        children.append(start_function(runtime_api, log_path, **env))
        return log_path

    try:
        yield _launch
    finally:
        for child in children:
            child.kill()
            child.wait(timeout=10)


def test_healthy_invocation_returns_200(runtime_api: RuntimeApi, launch: Any) -> None:
    """With FAILURE_RATE=0 the runtime posts a 200 response carrying the configuration."""
    log_path = launch(FAILURE_RATE="0")
    kind, payload = runtime_api.invoke(EVENT)
    assert kind == "response"
    assert payload["statusCode"] == 200
    assert json.loads(payload["body"])["config"]["rate"] == 0.0
    records = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    assert any(r.get("fault_injected") is False and r.get("service") == "selfheal-fragile" for r in records)


def test_exception_mode_is_reported_as_a_function_error(runtime_api: RuntimeApi, launch: Any) -> None:
    """At FAILURE_RATE=1 the runtime reports an InjectedException error (what Lambda counts in Errors)."""
    launch(FAILURE_RATE="1", FAILURE_MODE="exception")
    for _ in range(3):
        kind, payload = runtime_api.invoke(EVENT)
        assert kind == "error"
        assert payload["errorType"] == "InjectedException"


def test_status_mode_is_a_successful_invocation(runtime_api: RuntimeApi, launch: Any) -> None:
    """Status mode completes normally: the runtime posts a response whose statusCode is the failure status."""
    launch(FAILURE_RATE="1", FAILURE_MODE="status", FAILURE_STATUS_CODE="503")
    kind, payload = runtime_api.invoke(EVENT)
    assert kind == "response"
    assert payload["statusCode"] == 503
