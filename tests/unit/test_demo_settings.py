"""The demo's settings and its command line: defaults, validation, and bad input changing nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import selfheal.demo.run
from selfheal.cli.app import app
from selfheal.cli.stack import selfheal_command
from selfheal.demo.run import DemoSettings, kept_running
from selfheal.terraform.stack import read_interface
from selfheal.workdir import Workdir

MODULE = Path(__file__).resolve().parents[2] / "deploy" / "fragile"


def test_variables_exist_in_the_module() -> None:
    """Every Terraform variable the demo sets is a variable of deploy/fragile."""
    assert set(DemoSettings().variables()) <= set(read_interface(MODULE).variables)


def test_variables_follow_the_failure_rate() -> None:
    """The failure rate is passed to Terraform as Terraform prints numbers."""
    assert DemoSettings(failure_rate=0.5).variables()["failure_rate"] == "0.5"
    assert DemoSettings(failure_rate=1.0).variables()["failure_rate"] == "1"


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"time_scale": 0.5}, "--time-scale"),
        ({"time_scale": float("nan")}, "--time-scale"),
        ({"rate": 0}, "--rate"),
        ({"rate": 1000}, "--rate"),
        ({"deadline": -1}, "--deadline"),
        ({"port": 70000}, "--port"),
        ({"dashboard_port": 70000}, "--dashboard-port"),
        ({"port": 5000, "dashboard_port": 5000}, "--dashboard-port 5000 is the local cloud's --port"),
        ({"failure_rate": 0}, "failure rate"),
    ],
)
def test_bad_settings_are_refused(fields: dict[str, float], message: str) -> None:
    """Each out-of-range knob raises ValueError naming the option."""
    with pytest.raises(ValueError, match=message):
        DemoSettings(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "args",
    [
        ["--rate", "0"],
        ["--time-scale", "0.5"],
        ["--deadline", "0"],
        ["--port", "-3"],
        ["--dashboard-port", "70000"],
    ],
)
def test_demo_bad_option_is_one_line_and_creates_nothing(tmp_path: Path, args: list[str]) -> None:
    """`selfheal demo` with a bad option exits 2 with one line and no work directory."""
    workdir = tmp_path / "w"
    result = CliRunner().invoke(app, ["demo", "--workdir", str(workdir), *args])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output
    assert not workdir.exists()


@pytest.mark.parametrize(
    "args", [["--dashboard-port", "70000"], ["--port", "5000", "--dashboard-port", "5000"]]
)
def test_up_bad_dashboard_port_is_one_line_and_starts_nothing(tmp_path: Path, args: list[str]) -> None:
    """`selfheal up` with a dashboard port out of range or equal to the cloud's starts nothing."""
    workdir = tmp_path / "w"
    result = CliRunner().invoke(app, ["up", "--workdir", str(workdir), *args])
    assert result.exit_code in (1, 2), result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "--dashboard-port" in lines[0]
    assert not workdir.exists()


@pytest.mark.parametrize("var", ["no_equals_sign", "=value", "not_a_variable=1", "failure_rate=lots"])
def test_up_bad_var_is_one_line_and_starts_nothing(tmp_path: Path, var: str) -> None:
    """`selfheal up --var` that is malformed, unknown or mistyped exits 2 before starting a cloud."""
    workdir = tmp_path / "w"
    result = CliRunner().invoke(app, ["up", "--workdir", str(workdir), "--port", "0", "--var", var])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert not workdir.exists()


@pytest.mark.parametrize("workdir", [Path(".selfheal"), Path("/tmp/elsewhere")])
def test_demo_keep_says_how_to_type_selfheal_down(workdir: Path) -> None:
    """`demo --keep` ends with `down` as this shell can run it, and the venv hint of `up`'s `next:` block."""
    hint = "(selfheal is not on PATH: `source .venv/bin/activate` to type plain `selfheal`)"
    lines = kept_running("http://127.0.0.1:4566", Workdir(workdir), ".venv/bin/selfheal", hint)
    flag = "" if workdir == Path(".selfheal") else f" --workdir {workdir}"
    assert lines == [
        f"kept running: local cloud http://127.0.0.1:4566 — `.venv/bin/selfheal down{flag}` stops it",
        f"  {hint}",
    ]
    assert kept_running("http://127.0.0.1:4566", Workdir(workdir)) == [
        f"kept running: local cloud http://127.0.0.1:4566 — `selfheal down{flag}` stops it"
    ]


def test_demo_command_passes_on_how_selfheal_is_typed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """`selfheal demo` hands the demo the same command and hint as `up`'s `next:` block (not on PATH here)."""
    seen: list[tuple[Any, ...]] = []
    monkeypatch.setattr(selfheal.demo.run, "run_demo_command", lambda *args: seen.append(args) or 0)
    path = str(tmp_path)  # the venv's bin directory is not on it
    result = CliRunner().invoke(app, ["demo", "--keep", "--workdir", str(tmp_path / "w")], env={"PATH": path})
    assert result.exit_code == 0, result.output
    [(settings, _, _, command, hint)] = seen
    assert settings.keep and (command, hint) == selfheal_command(path=path)
    assert command.endswith("/selfheal") and "activate" in (hint or "")
