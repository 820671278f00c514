"""Which Python runs a function: the interpreter its runtime names, when one that can serve it is installed.

A function declared ``python3.12`` should run on Python 3.12. :func:`choose_interpreter` takes
``pythonX.Y`` from ``PATH`` when the runtime asks for a version other than this venv's and that
interpreter can import what the venv otherwise provides to environments (:data:`REQUIRED_MODULES`:
awslambdaric, boto3 — which AWS's Python runtimes include — and aws_lambda_powertools, standing in for
the Powertools layer). That check runs once per interpreter (cached). Otherwise the venv's interpreter
runs the function and :attr:`Interpreter.note` says so; the invoker writes it once into the function's log
stream at each cold start, and :func:`runtime_note` gives it to whoever asks (``selfheal status``).
"""

from __future__ import annotations

import os
import platform
import re
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass

__all__ = [
    "CHECK_TIMEOUT_SECONDS",
    "REQUIRED_MODULES",
    "Interpreter",
    "child_base_environment",
    "choose_interpreter",
    "runtime_note",
    "serves_lambda",
]

REQUIRED_MODULES = ("awslambdaric", "boto3", "aws_lambda_powertools")
CHECK_TIMEOUT_SECONDS = 30.0

_RUNTIME = re.compile(r"^python(\d+)\.(\d+)$")
_checked: dict[str, bool] = {}
_checked_lock = threading.Lock()


@dataclass(frozen=True)
class Interpreter:
    """The interpreter an environment runs and, when it is not the one asked for, why (a log line)."""

    executable: str
    note: str | None = None


def child_base_environment() -> dict[str, str]:
    """The variables an environment inherits from the cloud's process (the rest is Lambda's own)."""
    return {key: os.environ[key] for key in ("PATH", "LANG", "SYSTEMROOT") if key in os.environ}


def serves_lambda(executable: str) -> bool:
    """Whether ``executable`` imports :data:`REQUIRED_MODULES` (checked once per interpreter, cached)."""
    with _checked_lock:
        known = _checked.get(executable)
    if known is not None:
        return known
    try:
        completed = subprocess.run(
            [executable, "-c", f"import {', '.join(REQUIRED_MODULES)}"],
            env=child_base_environment(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=CHECK_TIMEOUT_SECONDS,
            check=False,
        )
        serves = completed.returncode == 0
    except (OSError, subprocess.SubprocessError):
        serves = False
    with _checked_lock:
        _checked[executable] = serves
    return serves


def choose_interpreter(runtime: str) -> Interpreter:
    """The interpreter for a function of ``runtime`` (e.g. ``python3.12``); the venv's when none fits."""
    match = _RUNTIME.match(runtime or "")
    if match is None or (int(match[1]), int(match[2])) == sys.version_info[:2]:
        return Interpreter(sys.executable)
    wanted = f"python{match[1]}.{match[2]}"
    found = shutil.which(wanted, path=child_base_environment().get("PATH"))
    if found is not None and serves_lambda(found):
        return Interpreter(found)
    return Interpreter(
        sys.executable,
        f"selfheal: runtime {runtime} requested; running on Python {platform.python_version()} "
        f"(no {wanted} with {', '.join(REQUIRED_MODULES)} found)",
    )


def runtime_note(runtime: str) -> str | None:
    """Why a function of ``runtime`` does not run on the Python it names, or None when it does."""
    return choose_interpreter(runtime).note
