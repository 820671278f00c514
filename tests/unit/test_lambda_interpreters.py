"""Which Python a runtime gets, and what Lambda says when its runtime process exits."""

from __future__ import annotations

import platform
import signal
import sys
from pathlib import Path

import pytest

from selfheal.cloud import lambda_interpreters
from selfheal.cloud.lambda_interpreters import choose_interpreter, runtime_note, serves_lambda
from selfheal.cloud.lambda_runtime import exit_message

OTHER = "python3.12" if sys.version_info[:2] != (3, 12) else "python3.11"


def _script(directory: Path, name: str, body: str) -> Path:
    path = directory / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def test_the_venvs_own_version_and_other_languages_use_the_venv() -> None:
    here = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    assert choose_interpreter(here).executable == sys.executable
    assert choose_interpreter(here).note is None
    assert choose_interpreter("nodejs20.x").executable == sys.executable


def test_a_missing_interpreter_falls_back_with_a_note(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    chosen = choose_interpreter(OTHER)
    assert chosen.executable == sys.executable
    assert chosen.note == (
        f"selfheal: runtime {OTHER} requested; running on Python {platform.python_version()} "
        f"(no {OTHER} with awslambdaric, boto3, aws_lambda_powertools found)"
    )
    assert runtime_note(OTHER) == chosen.note


def test_an_interpreter_that_cannot_import_awslambdaric_is_not_used(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    _script(tmp_path, OTHER, "exit 1")
    monkeypatch.setenv("PATH", str(tmp_path))
    assert choose_interpreter(OTHER).executable == sys.executable


def test_a_usable_interpreter_is_chosen_and_checked_once(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    counter = tmp_path / "checks"
    wrapper = _script(tmp_path, OTHER, f'echo x >> "{counter}"\nexec "{sys.executable}" "$@"')
    monkeypatch.setenv("PATH", str(tmp_path))
    assert choose_interpreter(OTHER).executable == str(wrapper)
    assert choose_interpreter(OTHER).note is None
    assert serves_lambda(str(wrapper))
    assert counter.read_text().count("x") == 1
    assert lambda_interpreters._checked[str(wrapper)] is True


@pytest.mark.parametrize(
    ("returncode", "message"),
    [
        (0, "Runtime exited without providing a reason"),
        (1, "Runtime exited with error: exit status 1"),
        (129, "Runtime exited with error: exit status 129"),
        (-signal.SIGKILL, "Runtime exited with error: signal: killed"),
        (-signal.SIGSEGV, "Runtime exited with error: signal: segmentation fault"),
        (-signal.SIGABRT, "Runtime exited with error: signal: aborted"),
    ],
)
def test_exit_messages_are_lambdas(returncode: int, message: str) -> None:
    assert exit_message(returncode) == message
