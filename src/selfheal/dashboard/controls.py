"""The dashboard's controls, through the same code paths as the CLI.

- inject: :func:`selfheal.loop.injection.apply_failure_change` (``selfheal inject``);
- burst: :class:`selfheal.loop.traffic.LoadGenerator` (``selfheal traffic``), on a background thread, one at
  a time, its progress published with the snapshots;
- restore: ``terraform apply`` of the deployed stack. The hook is a callable given by whoever started the
  dashboard (``selfheal up``/``demo``); by default :func:`terraform_restore` applies the work directory's
  stack as ``selfheal up`` does (:func:`selfheal.stack.control.stack_terraform`) against the local cloud.

Every control validates its whole input before doing anything and returns a :class:`ControlResult`;
bad input raises :class:`ControlError` (HTTP 400), a control already running raises it with 409.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from selfheal.loop.aws_errors import describe_aws_error
from selfheal.loop.deployment import AwsTarget, Deployment
from selfheal.loop.injection import FAILURE_MODES, FailureChange, apply_failure_change
from selfheal.loop.traffic import LoadGenerator, TrafficPlan, TrafficSnapshot

__all__ = [
    "DEFAULT_WORKDIR",
    "ControlError",
    "ControlResult",
    "Controls",
    "RestoreHook",
    "RestoreSummary",
    "terraform_restore",
]

DEFAULT_WORKDIR = Path(".selfheal")
MAX_BURST_SECONDS = 120.0
MAX_BURST_RATE = 200.0
RestoreHook = Callable[[], str]


class RestoreSummary(str):
    """A restore's one-line summary that also carries the stack's outputs after the apply.

    A restore may re-create the HTTP API under a new URL; :meth:`Controls.restore` sends later bursts
    to the ``api_endpoint`` found here. A hook returning a plain ``str`` leaves the URL as it was.
    """

    outputs: dict[str, Any]

    def __new__(cls, text: str, outputs: dict[str, Any]) -> RestoreSummary:
        made = super().__new__(cls, text)
        made.outputs = dict(outputs)
        return made


class ControlError(Exception):
    """A control refused its input or could not run; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass(frozen=True)
class ControlResult:
    """What a control did, in one line, for the page."""

    ok: bool
    message: str

    def as_json(self) -> dict[str, Any]:
        """The result as the POST endpoints return it."""
        return asdict(self)


def _number(payload: dict[str, Any], name: str, low: float, high: float) -> float:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ControlError(f"{name} must be a number from {low:g} to {high:g}, got {value!r}")
    if not low <= value <= high:
        raise ControlError(f"{name} must be from {low:g} to {high:g}, got {value!r}")
    return float(value)


def _only(payload: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(payload) - allowed)
    if unknown:
        raise ControlError(f"unknown field(s): {', '.join(unknown)}; expected {', '.join(sorted(allowed))}")


def terraform_restore(target: AwsTarget, workdir: Path = DEFAULT_WORKDIR) -> str:
    """``terraform apply`` of the work directory's stack against the local cloud; a one-line summary."""
    if target.endpoint_url is None:
        raise ControlError(
            "restore runs Terraform against the local cloud only; on AWS run terraform apply yourself", 409
        )
    from selfheal.stack.control import stack_terraform
    from selfheal.terraform.driver import TerraformError
    from selfheal.workdir import Workdir

    work = Workdir(workdir)
    if not work.stack_dir.is_dir():
        raise ControlError(f"no Terraform stack at {work.stack_dir} — deploy with `selfheal up` first", 409)
    try:
        terraform = stack_terraform(work, target.endpoint_url)
        result = terraform.apply()
        # The apply may have re-created resources (the API's id is in its URL): outputs.json follows.
        outputs = terraform.output()
        work.write_outputs(outputs)
    except TerraformError as error:
        raise ControlError(str(error).splitlines()[0], 500) from error
    summary = [line for line in result.stdout.splitlines() if line.startswith("Apply complete")]
    return RestoreSummary(summary[-1] if summary else "terraform apply finished", outputs)


class Controls:
    """The POST actions of one dashboard."""

    def __init__(
        self,
        target: AwsTarget,
        deployment: Deployment,
        *,
        traffic_url: str | None = None,
        restore: RestoreHook | None = None,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.target = target
        self.deployment = deployment
        self.traffic_url = traffic_url or deployment.api_endpoint
        self._restore = restore or (lambda: terraform_restore(target))
        self._on_change = on_change or (lambda: None)
        self._lock = threading.Lock()
        self._burst: LoadGenerator | None = None
        self._burst_thread: threading.Thread | None = None
        self._burst_result: str | None = None

    def inject(self, payload: dict[str, Any]) -> ControlResult:
        """Set FAILURE_RATE (and optionally FAILURE_MODE) as ``selfheal inject`` does."""
        _only(payload, {"rate", "mode"})
        rate = _number(payload, "rate", 0.0, 1.0)
        mode = payload.get("mode")
        if mode is not None and mode not in FAILURE_MODES:
            raise ControlError(f"mode must be one of {', '.join(FAILURE_MODES)}, got {mode!r}")
        change = FailureChange(rate=rate, mode=mode)
        function = self.deployment.fragile_function_name
        if not self._lock.acquire(blocking=False):
            raise ControlError("another change is being applied; try again in a moment", 409)
        try:
            outcome = apply_failure_change(self.target.client("lambda"), function, change)
        except ValueError as error:
            raise ControlError(str(error), 409) from error
        except (BotoCoreError, ClientError) as error:
            raise ControlError(describe_aws_error(error, self.target, function), 502) from error
        finally:
            self._lock.release()
        self._on_change()
        if not outcome.updated:
            return ControlResult(True, f"{function}: already FAILURE_RATE={rate:g}, nothing changed")
        mode_text = f", FAILURE_MODE={mode}" if mode else ""
        before = outcome.before.get("FAILURE_RATE", "(unset)")
        return ControlResult(True, f"{function}: FAILURE_RATE {before} → {rate:g}{mode_text}")

    def burst(self, payload: dict[str, Any]) -> ControlResult:
        """Start a burst of traffic to the HTTP API (``selfheal traffic``) in the background."""
        _only(payload, {"rate", "duration"})
        rate = _number(payload, "rate", 0.1, MAX_BURST_RATE)
        duration = _number(payload, "duration", 0.5, MAX_BURST_SECONDS)
        if not self.traffic_url:
            raise ControlError("no API endpoint known for this deployment (no api_endpoint output)", 409)
        plan = TrafficPlan(url=self.traffic_url, rate=rate, duration=duration, concurrency=16, timeout=10.0)
        try:
            generator = LoadGenerator(plan)
        except ValueError as error:
            raise ControlError(str(error)) from error
        with self._lock:
            if self._burst_thread is not None and self._burst_thread.is_alive():
                raise ControlError("a burst is already running; wait for it to finish", 409)
            self._burst = generator
            self._burst_result = None
            self._burst_thread = threading.Thread(
                target=self._run_burst, args=(generator,), name="dashboard-burst", daemon=True
            )
            self._burst_thread.start()
        return ControlResult(True, f"sending {rate:g} req/s for {duration:g} s to {self.traffic_url}")

    def _run_burst(self, generator: LoadGenerator) -> None:
        try:
            final = generator.run()
            self._burst_result = _burst_summary(final)
        except Exception as error:  # the thread must record any failure for the page, not die silently
            self._burst_result = f"burst failed: {type(error).__name__}: {error}"

    def restore(self, payload: dict[str, Any]) -> ControlResult:
        """Run ``terraform apply`` to put the baseline back (the healer's change is a recorded drift)."""
        _only(payload, set())
        if not self._lock.acquire(blocking=False):
            raise ControlError("another change is being applied; try again in a moment", 409)
        try:
            message = self._restore()
            self._follow_endpoint(message)
        finally:
            self._lock.release()
        self._on_change()
        return ControlResult(True, str(message))

    def _follow_endpoint(self, message: str) -> None:
        """After a restore, bursts go to the API's current URL (keeping any path given after it)."""
        outputs = message.outputs if isinstance(message, RestoreSummary) else {}
        endpoint = outputs.get("api_endpoint")
        if not isinstance(endpoint, str) or not endpoint:
            return
        old = self.deployment.api_endpoint
        suffix = ""
        if old and self.traffic_url and self.traffic_url.startswith(old):
            suffix = self.traffic_url[len(old) :]
        self.traffic_url = endpoint.rstrip("/") + suffix if suffix else endpoint
        self.deployment = replace(self.deployment, api_endpoint=endpoint)

    def status(self) -> dict[str, Any]:
        """The burst's progress or result, for the snapshot."""
        running = self._burst_thread is not None and self._burst_thread.is_alive()
        if running and self._burst is not None:
            progress = _burst_summary(self._burst.stats.snapshot())
            return {"burst": {"running": True, "text": f"burst: {progress}"}}
        return {"burst": {"running": False, "text": self._burst_result or ""}}

    def stop(self) -> None:
        """Stop a running burst and wait for it."""
        if self._burst is not None:
            self._burst.stop()
        if self._burst_thread is not None:
            self._burst_thread.join(timeout=15)


def _burst_summary(snapshot: TrafficSnapshot) -> str:
    return (
        f"{snapshot.completed} of {snapshot.sent} requests answered in {snapshot.elapsed:.1f} s, "
        f"{snapshot.server_errors} 5xx, {snapshot.other_errors} other errors ({snapshot.error_rate:.0%})"
    )
