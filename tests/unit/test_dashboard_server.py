"""The dashboard's HTTP surface: pages, snapshot, SSE, and the refusals that protect the controls."""

from __future__ import annotations

import json
import socket
from typing import Any

import pytest
from werkzeug.test import Client

from selfheal.cloud.credentials import OperatorKey
from selfheal.dashboard import start_dashboard
from selfheal.dashboard.controls import ControlError, ControlResult
from selfheal.dashboard.server import DashboardApp
from selfheal.loop.deployment import AwsTarget, Deployment

PORT = 8765
LOCAL = f"http://127.0.0.1:{PORT}"


class FakeCollector:
    """Hands out one snapshot, then says it has stopped."""

    def __init__(self) -> None:
        self.stopped = False
        self.snapshot = {"version": 1, "ready": True, "alarm": {"state": "OK"}}

    def latest(self) -> dict[str, Any]:
        return self.snapshot

    def wait(self, after_version: int, timeout: float) -> dict[str, Any] | None:
        self.stopped = True
        return None


class FakeControls:
    """Records what it was asked to do."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def inject(self, payload: dict[str, Any]) -> ControlResult:
        self.calls.append(("inject", payload))
        if payload.get("rate") == 7:
            raise ControlError("rate must be from 0 to 1, got 7")
        return ControlResult(True, "injected")

    def burst(self, payload: dict[str, Any]) -> ControlResult:
        self.calls.append(("burst", payload))
        return ControlResult(True, "sending")

    def restore(self, payload: dict[str, Any]) -> ControlResult:
        self.calls.append(("restore", payload))
        return ControlResult(True, "Apply complete!")


@pytest.fixture
def app() -> DashboardApp:
    """The WSGI app with fakes behind it, as if bound to 127.0.0.1:8765."""
    dashboard = DashboardApp(FakeCollector(), FakeControls())  # type: ignore[arg-type]
    dashboard.port = PORT
    return dashboard


def client(app: DashboardApp) -> Client:
    """A werkzeug test client whose requests name the dashboard's host."""
    return Client(app)


def post(app: DashboardApp, path: str, body: Any, **headers: str) -> Any:
    """POST JSON to ``path`` with the local Host."""
    return client(app).post(
        path,
        data=json.dumps(body),
        content_type=headers.pop("content_type", "application/json"),
        headers={"Host": f"127.0.0.1:{PORT}", **headers},
    )


def test_page_static_files_and_snapshot_are_served(app: DashboardApp) -> None:
    """The page, its script and the snapshot answer; unknown static files are 404."""
    http = client(app)
    headers = {"Host": f"127.0.0.1:{PORT}"}
    page = http.get("/", headers=headers)
    assert page.status_code == 200 and b"/static/dashboard.js" in page.data
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert http.get("/static/dashboard.js", headers=headers).status_code == 200
    assert http.get("/static/secret.py", headers=headers).status_code == 404
    assert http.get("/api/snapshot", headers=headers).json["alarm"]["state"] == "OK"


def test_page_loads_nothing_from_other_hosts() -> None:
    """The page and script reference no CDN: everything comes from this server."""
    from importlib import resources

    for name in ("index.html", "dashboard.js", "dashboard.css"):
        text = resources.files("selfheal.dashboard").joinpath("static", name).read_text()
        assert "https://" not in text and "//cdn" not in text, name


def test_events_stream_sends_the_snapshot(app: DashboardApp) -> None:
    """The SSE stream starts with the current snapshot as a ``snapshot`` event."""
    response = client(app).get("/api/events", headers={"Host": f"127.0.0.1:{PORT}"})
    assert response.mimetype == "text/event-stream"
    body = response.get_data(as_text=True)
    assert "event: snapshot" in body and '"state": "OK"' in body


def test_controls_go_through_with_a_local_origin(app: DashboardApp) -> None:
    """A same-origin JSON POST reaches the control and returns its result."""
    response = post(app, "/api/inject", {"rate": 0.5}, Origin=LOCAL)
    assert response.status_code == 200 and response.json == {"ok": True, "message": "injected"}
    assert post(app, "/api/restore", {}, Origin="http://localhost:8765").json["message"] == "Apply complete!"


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Origin": "http://evil.example"}, 403),
        ({"Origin": "http://127.0.0.1:9999"}, 403),
        ({"Sec-Fetch-Site": "cross-site"}, 403),
        ({"content_type": "text/plain"}, 415),
        ({"content_type": "application/x-www-form-urlencoded"}, 415),
    ],
)
def test_controls_refuse_foreign_requests(app: DashboardApp, headers: dict[str, str], status: int) -> None:
    """Other origins, cross-site fetches and non-JSON bodies are refused and nothing is called."""
    response = post(app, "/api/inject", {"rate": 0.5}, **headers)
    assert response.status_code == status
    assert response.json["ok"] is False
    assert app.controls.calls == []  # type: ignore[attr-defined]


def test_foreign_host_header_is_refused(app: DashboardApp) -> None:
    """A request naming another host (DNS rebinding) is refused, even for GET."""
    response = client(app).get("/api/snapshot", headers={"Host": "attacker.example:8765"})
    assert response.status_code == 403


def test_bad_bodies_and_methods_are_clear_errors(app: DashboardApp) -> None:
    """Bad JSON, a non-object and a GET on a control give one-line errors."""
    bad = client(app).post(
        "/api/inject", data="{", content_type="application/json", headers={"Host": f"127.0.0.1:{PORT}"}
    )
    assert bad.status_code == 400 and "not valid JSON" in bad.json["message"]
    assert post(app, "/api/inject", [1]).json["message"] == "body must be a JSON object"
    assert post(app, "/api/inject", {"rate": 7}).status_code == 400
    assert client(app).get("/api/inject", headers={"Host": f"127.0.0.1:{PORT}"}).status_code == 405


def test_start_dashboard_binds_loopback_only() -> None:
    """A non-loopback host is refused; a started dashboard listens on 127.0.0.1 and stops cleanly."""
    target = AwsTarget("http://127.0.0.1:9", "us-east-1", OperatorKey.generate())
    with pytest.raises(ValueError, match="loopback"):
        start_dashboard(target, Deployment.from_prefix("x"), host="0.0.0.0")
    server = start_dashboard(target, Deployment.from_prefix("x"), interval=5)
    try:
        assert server.url.startswith("http://127.0.0.1:")
        assert server._server.socket.getsockname()[0] == "127.0.0.1"
        problems = server.app.collector.latest()["problems"]
        assert any("cannot reach the local cloud" in p for p in problems)
        with pytest.raises(OSError), socket.create_connection(("::1", server.port), timeout=1):
            pass
    finally:
        server.stop()
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", server.port), timeout=1):
        pass
