"""The conventions users of the aws CLI, SAM and Terraform bring: --version, -h, plain help, one-line errors
with one exit code per kind of failure, shell completion, --debug, and a `next:` block they can run."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import selfheal.cli.stack
import selfheal.cli.traffic
from selfheal.cli.app import app
from selfheal.cli.stack import next_steps
from selfheal.stack.control import UpResult
from selfheal.workdir import CloudRecord, Workdir

COMMANDS = [
    "cloud",
    "up",
    "down",
    "demo",
    "status",
    "approve",
    "restore",
    "inject",
    "logs",
    "traffic",
    "dashboard",
    "report",
]
NO_AWS = {
    "AWS_ACCESS_KEY_ID": None,
    "AWS_SECRET_ACCESS_KEY": None,
    "AWS_SESSION_TOKEN": None,
    "AWS_PROFILE": None,
    "AWS_ENDPOINT_URL": None,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "COLUMNS": "300",
}


def _lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def _entry_point(*argv: str, env: dict[str, str | None] | None = None, timeout: float = 60) -> Any:
    """The CLI as the `selfheal` script runs it, in its own interpreter (``env`` None values unset)."""
    merged: dict[str, str | None] = {**os.environ, "COLUMNS": "300", **(env or {})}
    return subprocess.run(
        [sys.executable, "-c", "from selfheal.cli import main; main()", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={name: value for name, value in merged.items() if value is not None},
    )


# ----- --version, -h, help ----------------------------------------------------------------------------------


def test_version_prints_the_package_version() -> None:
    """`selfheal --version` prints the installed distribution's version and exits 0."""
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"selfheal {version('selfheal')}"


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_dash_h_is_help_everywhere_and_flags_show_no_type(command: str) -> None:
    """`-h` is `--help`, on the group and every command; a plain flag is shown without a `<bool>` type."""
    argv = [command, "-h"] if command else ["-h"]
    result = CliRunner().invoke(app, argv, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: selfheal {command}".rstrip())
    assert "-h, --help" in result.output
    assert "<bool>" not in result.output and "╭" not in result.output


def test_flags_are_listed_bare() -> None:
    """`--no-dashboard`, `--keep`, `--debug` read as flags in the help: no value after them."""
    up = CliRunner().invoke(app, ["up", "-h"], env={"COLUMNS": "200"}).output
    assert any(line.split()[:2] == ["--no-dashboard", "Do"] for line in up.splitlines())
    top = CliRunner().invoke(app, ["-h"], env={"COLUMNS": "200"}).output
    assert any(line.split()[:2] == ["--debug", "Show"] for line in top.splitlines())


# ----- usage errors: one line, exit 2 -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["status", "--bogus"],
        ["inject", "--rate", "abc"],
        ["status", "--limit", "0"],
        ["status", "--output", "yaml"],
        ["no-such-command"],
        ["logs", "--since", "soon"],
        ["dashboard", "--port", "70000"],
    ],
)
def test_usage_errors_are_one_plain_line_with_exit_2(argv: list[str], tmp_path: Path) -> None:
    """Bad input is `error: …` on one line with exit code 2: no usage block, no boxed panel."""
    result = CliRunner().invoke(app, [*argv, "--workdir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    lines = _lines(result.output)
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "╭" not in result.output and "Traceback" not in result.output


def test_the_script_reports_usage_errors_as_one_line() -> None:
    """The `selfheal` entry point itself (not only the test runner) prints one line on stderr, exit 2."""
    completed = _entry_point("status", "--bogus")
    assert completed.returncode == 2
    assert _lines(completed.stderr) == [
        "error: No such option: --bogus (Possible options: --outputs) (see `selfheal status -h`)"
    ]
    assert completed.stdout == ""


# ----- shell completion -------------------------------------------------------------------------------------


def test_shell_completion_completes_commands_and_options_offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Completion is offered (`--install-completion`) and answers from the command tree alone: with every
    network connection refused, `selfheal sta<TAB>` and `selfheal status --out<TAB>` still complete."""

    def no_network(self: socket.socket, address: Any) -> None:
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    help_text = CliRunner().invoke(app, ["-h"]).output
    assert "--install-completion" in help_text and "--show-completion" in help_text
    for words, cword, expected in [
        ("selfheal sta", "1", {"status"}),
        ("selfheal status --out", "2", {"--output", "--outputs"}),
        ("selfheal status --output ", "3", {"text", "json"}),
    ]:
        env = {"_SELFHEAL_COMPLETE": "complete_bash", "COMP_WORDS": words, "COMP_CWORD": cword}
        result = CliRunner().invoke(app, [], env=env, prog_name="selfheal")
        assert result.exit_code == 0, result.output
        assert set(result.output.split()) == expected, result.output


# ----- unexpected errors and --debug ------------------------------------------------------------------------


def _explode(plan: Any, console: Any) -> Any:
    logging.getLogger("selfheal.test").debug("about to fail")
    logging.getLogger("botocore.endpoint").debug("aws sdk noise")
    raise RuntimeError("boom")


@pytest.fixture
def exploding_traffic(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """`selfheal traffic` whose load generator fails in a way nothing expects (and logs first)."""
    monkeypatch.setattr(selfheal.cli.traffic, "run_traffic_command", _explode)
    return ["traffic", "--url", "http://127.0.0.1:9/", "--duration", "0.1", "--workdir", str(tmp_path)]


def test_an_unexpected_error_is_one_line_with_exit_1(exploding_traffic: list[str]) -> None:
    """Without --debug an unexpected exception is one line naming it and --debug; no traceback, no logs."""
    result = CliRunner().invoke(app, exploding_traffic)
    assert result.exit_code == 1
    lines = _lines(result.output)
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: unexpected RuntimeError: boom") and "--debug" in lines[0]
    assert "Traceback" not in result.output and "about to fail" not in result.output


def test_debug_shows_the_traceback_and_debug_logs_but_not_the_sdks(exploding_traffic: list[str]) -> None:
    """`--debug`: the traceback and DEBUG logs on stderr, botocore kept at WARNING; `--debug-aws` adds it.
    Logging is as it was once the command is over."""
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    debug = CliRunner().invoke(app, ["--debug", *exploding_traffic])
    assert debug.exit_code == 1
    assert "Traceback" in debug.stderr and "RuntimeError: boom" in debug.stderr
    assert "selfheal.test: about to fail" in debug.stderr
    assert "aws sdk noise" not in debug.stderr
    noisy = CliRunner().invoke(app, ["--debug-aws", *exploding_traffic])
    assert "aws sdk noise" in noisy.stderr and "Traceback" in noisy.stderr
    assert root.level == level and root.handlers == handlers
    assert logging.getLogger("botocore").level == logging.NOTSET


# ----- exit codes and one-line runtime errors ---------------------------------------------------------------


def test_unknown_aws_profile_names_it_and_how_to_list_profiles(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An AWS_PROFILE that names no profile is one line naming it, `aws configure list-profiles` and the
    local cloud, exit 2 — whether boto3 notices while picking the region or while making a client."""
    from selfheal.cloud.credentials import load_or_create

    monkeypatch.chdir(tmp_path)
    env = {**NO_AWS, "AWS_PROFILE": "no-such-profile", "AWS_REGION": None, "AWS_DEFAULT_REGION": None}
    early = CliRunner().invoke(app, ["status"], env=env)
    load_or_create(Workdir().credentials_file)  # signed with the work directory's key: noticed later
    late_argv = ["inject", "--rate", "0.1", "--endpoint-url", "http://127.0.0.1:9", "--region", "us-east-1"]
    late = CliRunner().invoke(app, late_argv, env=env)
    for result in (early, late):
        assert result.exit_code == 2, result.output
        errors = [line for line in _lines(result.output) if not line.startswith("target: ")]
        assert len(errors) == 1 and errors[0].startswith("error: "), result.output
        assert "'no-such-profile'" in errors[0] and "aws configure list-profiles" in errors[0]
        assert "unset AWS_PROFILE" in errors[0]


def test_dashboard_with_nothing_deployed_fails_fast(tmp_path: Path) -> None:
    """`selfheal dashboard` where nothing was deployed (no cloud recorded, no credentials) stops at once
    with one line and exit 1, instead of serving a dashboard of warnings until Ctrl-C."""
    started = time.monotonic()
    completed = _entry_point("dashboard", "--port", "0", "--workdir", str(tmp_path / "w"), env=NO_AWS)
    assert completed.returncode == 1, completed.stdout + completed.stderr
    assert time.monotonic() - started < 30
    lines = _lines(completed.stderr)
    assert lines[0].startswith("target: AWS") and "no --endpoint-url" in lines[0]
    assert (
        len(lines) == 2 and lines[1].startswith("error: no credentials for AWS") and "selfheal up" in lines[1]
    )
    assert "dashboard:" not in completed.stdout


@pytest.mark.parametrize("command", ["up", "down", "demo"])
def test_an_unwritable_work_directory_is_one_line(
    command: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A work directory that cannot be written is one line naming the file and --workdir, exit 1."""
    place = tmp_path / "w"
    if command == "down":
        (tmp_path / "file").write_text("")
        place = tmp_path / "file" / "w"  # writing under a regular file: NotADirectoryError, root or not
    else:

        def refuse(*args: Any, **kwargs: Any) -> Any:
            raise PermissionError(13, "Permission denied", str(place / "stack" / "main.tf"))

        # As root nothing is read-only; the OS's error is raised where `up`/the demo first write.
        import selfheal.demo.run

        monkeypatch.setattr(selfheal.cli.stack, "up", refuse)
        monkeypatch.setattr(selfheal.demo.run, "run_demo", refuse)
    result = CliRunner().invoke(app, [command, "--workdir", str(place)])
    assert result.exit_code == 1, result.output
    errors = [line for line in _lines(result.output) if line.startswith("error: ")]
    assert len(errors) == 1 and "Traceback" not in result.output, result.output
    assert str(place) in errors[0] and "--workdir" in errors[0]


# ----- the next steps after `up` ----------------------------------------------------------------------------


def _up_result(time_scale: float) -> UpResult:
    cloud = CloudRecord(4321, "http://127.0.0.1:4566", 4566, time_scale, "us-east-1", time.time())
    return UpResult(cloud, {"api_endpoint": "http://127.0.0.1:4566/_api/abc/"}, 12.0)


def test_next_steps_say_how_to_run_selfheal_when_it_is_not_on_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """After `make demo` `.venv/bin` is not on PATH: the commands are printed as `.venv/bin/selfheal …`,
    with how to activate the venv."""
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (bin_dir / "activate").write_text("")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(bin_dir / "selfheal"), "up"])
    monkeypatch.setenv("PATH", "/usr/local/bin:/usr/bin:/bin")
    lines = next_steps(_up_result(30.0), Workdir())
    assert "  .venv/bin/selfheal status" in lines
    assert "  .venv/bin/selfheal down" in lines
    assert not any(line.startswith("  selfheal ") for line in lines)
    assert any("source .venv/bin/activate" in line for line in lines)
    assert "  export AWS_ENDPOINT_URL=http://127.0.0.1:4566" in lines


def test_next_steps_use_plain_selfheal_when_it_is_on_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With the script's directory on PATH the commands are plain `selfheal …`, and no hint."""
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    monkeypatch.setattr(sys, "argv", [str(bin_dir / "selfheal"), "up"])
    monkeypatch.setenv("PATH", f"/usr/bin{os.pathsep}{bin_dir}")
    lines = next_steps(_up_result(30.0), Workdir(tmp_path / "w"))
    assert f"  selfheal status --workdir {tmp_path / 'w'}" in lines
    assert not any("activate" in line or "not on PATH" in line for line in lines)


def test_next_steps_at_time_scale_1_say_it_takes_minutes(monkeypatch: pytest.MonkeyPatch) -> None:
    """At time scale 1 the suggested traffic outlasts detection and recovery (minutes, not 60 s), and the
    block says what to expect and how to make it faster; at a high time scale 60 s is plenty."""
    monkeypatch.setattr(sys, "argv", ["selfheal"])
    slow = next_steps(_up_result(1.0), Workdir())
    traffic = next(line for line in slow if " traffic " in line)
    duration = int(traffic.rsplit("--duration", 1)[1])
    assert duration >= 2 * 3 * 60  # 2 periods + the one in progress, to fire and again to recover
    expect = next(line for line in slow if line.startswith("expect:"))
    assert "time scale 1 " in expect and "min" in expect and "--time-scale 30" in expect
    fast = next_steps(_up_result(60.0), Workdir())
    assert any(line.endswith("--duration 60") for line in fast)
    assert "--time-scale" not in next(line for line in fast if line.startswith("expect:"))


# ----- logs: parsing and the follow cursor ------------------------------------------------------------------


class FakeLogs:
    """FilterLogEvents over a list of events, two per page, honouring startTime."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.calls = 0

    def add(self, timestamp: int, message: str) -> None:
        self.events.append({"eventId": f"e{len(self.events)}", "timestamp": timestamp, "message": message})

    def filter_log_events(self, **request: Any) -> dict[str, Any]:
        self.calls += 1
        matching = [e for e in self.events if e["timestamp"] >= request["startTime"]]
        start = int(request.get("nextToken", 0))
        page: dict[str, Any] = {"events": matching[start : start + 2]}
        if start + 2 < len(matching):
            page["nextToken"] = str(start + 2)
        return page


def test_log_tail_reads_every_page_and_never_repeats_an_event() -> None:
    """Each poll follows nextToken to the end, returns events oldest first, and a later poll returns only
    new events — including new ones at the very timestamp the previous poll ended on."""
    from selfheal.cli.logs import LogTail

    logs = FakeLogs()
    for stamp, message in [(1000, "a"), (999, "old"), (2000, "b"), (2000, "c"), (3000, "d")]:
        logs.add(stamp, message)
    tail = LogTail(logs, "/aws/lambda/f", start_ms=1000)
    assert [e["message"] for e in tail.poll()] == ["a", "b", "c", "d"]
    assert tail.poll() == []
    logs.add(3000, "e")
    logs.add(4000, "f")
    assert [e["message"] for e in tail.poll()] == ["e", "f"]


@pytest.mark.parametrize(("text", "seconds"), [("90s", 90), ("10m", 600), ("2h", 7200), ("1d", 86400)])
def test_since_durations(text: str, seconds: float) -> None:
    """--since takes a number and a unit."""
    from selfheal.cli.logs import parse_duration

    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "10", "0m", "-5m", "soon"])
def test_bad_since_is_refused(text: str) -> None:
    """Anything else is a ValueError naming --since."""
    from selfheal.cli.logs import parse_duration

    with pytest.raises(ValueError, match="--since"):
        parse_duration(text)
