"""Tests of `selfheal cloud --region`: checked against AWS's region names, given to the cloud, recorded."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from selfheal.cli.app import app
from selfheal.cli.cloud import run_cloud
from selfheal.cli.errors import CliError
from selfheal.stack import cloud_process
from selfheal.stack.cloud_process import CloudProcessError, start_cloud
from selfheal.workdir import CloudRecord, Workdir, check_region


class RecordingCloud:
    """A cloud that keeps the options it was made with (run_cloud's collaborator, not the thing tested)."""

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.region = str(options.get("region", "us-east-1"))
        self.endpoint = f"http://127.0.0.1:{options['port']}"

    def start(self) -> None:
        """Nothing to start."""

    def stop(self) -> None:
        """Nothing to stop."""


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A 127.0.0.1 port something already listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize("region", ["eu-north-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1"])
def test_aws_region_names_are_accepted(region: str) -> None:
    """Every partition's region names are regions."""
    assert check_region(region) == region


@pytest.mark.parametrize("region", ["", "eu-north", "EU-NORTH-1", "mars-north-1", "us-east-1 "])
def test_unknown_region_is_refused_by_the_cli_with_exit_2(region: str, tmp_path: Path) -> None:
    """`selfheal cloud --region` with a name that is no AWS region: a one-line error, exit code 2."""
    result = CliRunner().invoke(app, ["cloud", "--port", "0", "--region", region, "--workdir", str(tmp_path)])
    assert result.exit_code == 2
    assert f"unknown AWS region {region!r}" in result.output
    assert not (tmp_path / "credentials").exists()


def test_valid_region_passes_the_cli_checks(busy_port: int, tmp_path: Path) -> None:
    """A valid --region is accepted: the command gets as far as the (busy) port."""
    argv = ["cloud", "--port", str(busy_port), "--region", "eu-north-1", "--workdir", str(tmp_path)]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 1
    assert "cannot listen" in result.output


def test_run_cloud_makes_the_cloud_in_the_region_and_prints_it() -> None:
    """run_cloud gives the cloud its region and tells tools to use it."""
    made: list[RecordingCloud] = []
    stop = threading.Event()
    stop.set()

    def factory(**options: Any) -> RecordingCloud:
        made.append(RecordingCloud(**options))
        return made[-1]

    console = Console(record=True, width=200)
    run_cloud(4599, 1.0, console, cloud_factory=factory, stop=stop, region="eu-north-1")
    assert made[0].options["region"] == "eu-north-1"
    text = console.export_text()
    assert "region eu-north-1" in text
    assert "AWS_REGION=eu-north-1 AWS_DEFAULT_REGION=eu-north-1" in text


def test_run_cloud_refuses_an_unknown_region_before_making_a_cloud() -> None:
    """An unknown region never reaches the cloud factory."""
    made: list[Any] = []
    with pytest.raises(CliError, match="unknown AWS region 'nowhere-1'") as caught:
        run_cloud(4599, 1.0, Console(), cloud_factory=made.append, stop=threading.Event(), region="nowhere-1")
    assert caught.value.exit_code == 2
    assert made == []


def test_cloud_record_region_must_be_an_aws_region(tmp_path: Path) -> None:
    """cloud.json's region is checked when read: a damaged one is reported, not used."""
    record = CloudRecord(
        pid=4242,
        endpoint="http://127.0.0.1:4566",
        port=4566,
        time_scale=1.0,
        region="eu-north-1",
        started_at=1.0,
    )
    workdir = Workdir(tmp_path)
    workdir.write_cloud(record)
    assert workdir.read_cloud() == record
    data = json.loads(workdir.cloud_json.read_text())
    workdir.cloud_json.write_text(json.dumps({**data, "region": "nowhere-1"}))
    with pytest.raises(ValueError, match="unknown AWS region 'nowhere-1'"):
        workdir.read_cloud()


def test_start_cloud_refuses_an_unknown_region_changing_nothing(tmp_path: Path) -> None:
    """The background cloud is not started (no key, no cloud.json) for an unknown region."""
    workdir = Workdir(tmp_path / "wd")
    with pytest.raises(CloudProcessError, match="unknown AWS region 'nowhere-1'"):
        start_cloud(workdir, 0, 1.0, region="nowhere-1")
    assert not workdir.root.exists()


def test_start_cloud_passes_the_region_to_the_child(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The background cloud is started with --region and recorded with it."""
    argvs: list[list[str]] = []

    def spawn(argv: list[str], log_path: Path, banner: str) -> Any:
        argvs.append(argv)
        raise CloudProcessError("not started in this test")

    monkeypatch.setattr(cloud_process, "spawn_detached", spawn)
    with pytest.raises(CloudProcessError, match="not started in this test"):
        start_cloud(Workdir(tmp_path), 0, 1.0, region="eu-north-1")
    argv = argvs[0]
    assert argv[argv.index("--region") + 1] == "eu-north-1"
    # The child's command line is one `selfheal cloud` accepts.
    assert argv[argv.index("cloud") + 1 :][::2] == [
        "--port",
        "--time-scale",
        "--time-origin",
        "--workdir",
        "--region",
    ]
