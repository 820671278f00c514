"""`selfheal cloud --enforce-iam/--no-enforce-iam` reaches the LocalCloud it starts."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

import selfheal.cli.cloud
from selfheal.cli.app import app
from selfheal.cli.cloud import run_cloud


class _Cloud:
    endpoint = "http://127.0.0.1:4599"
    region = "us-east-1"

    def start(self) -> None:
        """Nothing to start."""

    def stop(self) -> None:
        """Nothing to stop."""


@pytest.mark.parametrize("enforce", [True, False])
def test_run_cloud_passes_enforce_iam_and_says_so(enforce: bool) -> None:
    """run_cloud hands enforce_iam to the cloud factory and prints whether IAM is enforced."""
    seen: list[dict[str, Any]] = []
    stop = threading.Event()

    def factory(**kwargs: Any) -> _Cloud:
        seen.append(kwargs)
        stop.set()
        return _Cloud()

    console = Console(record=True, width=200)
    run_cloud(4599, 1.0, console, cloud_factory=factory, stop=stop, enforce_iam=enforce)
    assert seen == [{"port": 4599, "time_scale": 1.0, "enforce_iam": enforce}]
    assert ("IAM enforced" in console.export_text()) is enforce


@pytest.mark.parametrize(
    ("flag", "expected"), [([], True), (["--no-enforce-iam"], False), (["--enforce-iam"], True)]
)
def test_cli_flag_reaches_run_cloud(monkeypatch: pytest.MonkeyPatch, flag: list[str], expected: bool) -> None:
    """The command line's flag (default on) is what run_cloud receives."""
    received: list[Any] = []
    monkeypatch.setattr(selfheal.cli.cloud, "run_cloud", lambda *a, **kw: received.append(kw["enforce_iam"]))
    result = CliRunner().invoke(app, ["cloud", "--port", "0", *flag])
    assert result.exit_code == 0, result.output
    assert received == [expected]
