"""Tests of the CLI's input handling, name resolution, `cloud` lifecycle and `traffic` command."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner
from werkzeug.serving import make_server

from selfheal.cli.app import app
from selfheal.cli.cloud import run_cloud
from selfheal.cli.errors import CliError
from selfheal.loop.deployment import AwsTarget, Deployment, load_outputs


def _app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    failing = environ.get("PATH_INFO") == "/fail"
    start_response("502 Bad Gateway" if failing else "200 OK", [("Content-Length", "0")])
    return [b""]


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    """A threaded WSGI server on a free loopback port."""
    server = make_server("127.0.0.1", 0, _app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


def test_names_follow_the_prefix() -> None:
    """The default names follow docs/internals.md."""
    deployment = Deployment.from_prefix("demo")
    assert deployment.fragile_function_name == "demo-fragile"
    assert deployment.alarm_name == "demo-fragile-errors"
    assert deployment.ledger_table_name == "demo-ledger"
    with pytest.raises(ValueError):
        Deployment.from_prefix("bad prefix!")


def test_outputs_file_supplies_names(tmp_path: Path) -> None:
    """Terraform outputs override the convention; an explicit prefix overrides the file."""
    outputs = tmp_path / "outputs.json"
    outputs.write_text(
        json.dumps(
            {
                "fragile_function_name": "x-fragile",
                "api_endpoint": "http://127.0.0.1:1/_api/a",
                "region": "eu-west-1",
            }
        )
    )
    deployment = Deployment.resolve(None, outputs)
    assert deployment.fragile_function_name == "x-fragile"
    assert deployment.alarm_name == "selfheal-fragile-errors"
    assert deployment.api_endpoint == "http://127.0.0.1:1/_api/a"
    assert AwsTarget.resolve(None, None, deployment).region == "eu-west-1"
    assert Deployment.resolve("other", outputs).fragile_function_name == "other-fragile"


@pytest.mark.parametrize("content", ["not json", "[1, 2]", ""])
def test_bad_outputs_file_is_a_clear_error(tmp_path: Path, content: str) -> None:
    """An unreadable outputs file raises ValueError naming it."""
    outputs = tmp_path / "outputs.json"
    outputs.write_text(content)
    with pytest.raises(ValueError, match="outputs"):
        load_outputs(outputs)


def test_bad_endpoint_url_is_refused() -> None:
    """An endpoint that is not an http(s) URL is refused."""
    with pytest.raises(ValueError):
        AwsTarget.resolve("127.0.0.1:4566", "us-east-1")


def test_traffic_refuses_remote_targets(tmp_path: Path) -> None:
    """Without --allow-remote a non-loopback URL is refused before anything is sent."""
    result = CliRunner().invoke(
        app, ["traffic", "--url", "http://example.com/", "--duration", "1", "--outputs", str(tmp_path / "x")]
    )
    assert result.exit_code == 2
    assert "--allow-remote" in result.output
    assert "Traceback" not in result.output


def test_traffic_counts_errors_and_summarises(server_url: str, tmp_path: Path) -> None:
    """The summary reports the 5xx errors and --max-error-rate turns them into exit code 1."""
    arguments = ["traffic", "--url", f"{server_url}/fail", "--rate", "40", "--duration", "0.3"]
    result = CliRunner().invoke(app, [*arguments, "--outputs", str(tmp_path / "x")], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "5xx errors" in result.output
    assert "502" in result.output
    strict = CliRunner().invoke(
        app, [*arguments, "--max-error-rate", "0.5", "--outputs", str(tmp_path / "x")]
    )
    assert strict.exit_code == 1
    assert "error rate" in strict.output


def test_traffic_to_nothing_fails_clearly(tmp_path: Path) -> None:
    """When nothing answers, traffic exits 1 with a one-line reason."""
    result = CliRunner().invoke(
        app,
        [
            "traffic",
            "--url",
            "http://127.0.0.1:9/",
            "--rate",
            "10",
            "--duration",
            "0.2",
            "--outputs",
            str(tmp_path / "x"),
        ],
    )
    assert result.exit_code == 1
    assert "no HTTP response" in result.output


def test_traffic_without_url_or_outputs_asks_for_url(tmp_path: Path) -> None:
    """Without --url and without an outputs file the command says what to give."""
    result = CliRunner().invoke(app, ["traffic", "--outputs", str(tmp_path / "missing.json")])
    assert result.exit_code == 2
    assert "--url" in result.output


class FakeCloud:
    """Records the lifecycle calls run_cloud makes."""

    def __init__(self, port: int, time_scale: float, fail: OSError | None = None) -> None:
        self.endpoint = f"http://127.0.0.1:{port}"
        self.region = "us-east-1"
        self.calls: list[str] = []
        self.fail = fail

    def start(self) -> None:
        self.calls.append("start")
        if self.fail:
            raise self.fail

    def stop(self) -> None:
        self.calls.append("stop")


def test_cloud_prints_usage_and_stops_cleanly() -> None:
    """run_cloud prints the endpoint and how to use it, then stops the cloud when asked."""
    made: list[FakeCloud] = []
    stop = threading.Event()

    def factory(port: int, time_scale: float) -> FakeCloud:
        made.append(FakeCloud(port, time_scale))
        stop.set()
        return made[-1]

    console = Console(record=True, width=200)
    run_cloud(4599, 2.0, console, cloud_factory=factory, stop=stop)
    text = console.export_text()
    assert "export AWS_ENDPOINT_URL=http://127.0.0.1:4599" in text
    assert "aws --endpoint-url http://127.0.0.1:4599" in text
    assert made[0].calls == ["start", "stop"]


def test_cloud_port_in_use_is_a_clear_error() -> None:
    """A port that cannot be bound is a one-line CliError and the cloud is not left running."""
    failing = FakeCloud(4566, 1.0, fail=OSError(98, "Address already in use"))
    with pytest.raises(CliError, match="another `selfheal cloud`"):
        run_cloud(4566, 1.0, Console(), cloud_factory=lambda **_: failing, stop=threading.Event())
    assert failing.calls == ["start", "stop"]


def test_cloud_bad_time_scale_exits_2(tmp_path: Path) -> None:
    """An out-of-range time scale is refused with exit code 2 before anything starts."""
    argv = ["cloud", "--port", "0", "--time-scale", "0.5", "--workdir", str(tmp_path)]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 2
    assert "time scale" in result.output
