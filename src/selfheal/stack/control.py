"""`selfheal up` and `selfheal down`: the background local cloud plus `deploy/fragile` applied by Terraform.

``up`` refuses before changing anything when a cloud is already running, the port is taken or a
``--var`` is unknown or badly typed; if Terraform then fails, it stops the cloud it started, so a failed
``up`` leaves nothing running. ``down`` destroys what Terraform created (when the cloud still runs),
stops the cloud and its Lambda environments, and removes the state files; it works when the cloud has
already died. With ``dashboard=True``, ``up`` then starts ``selfheal dashboard`` in the background
(:mod:`selfheal.stack.dashboard_process`); a dashboard that fails to start is a warning, not a failed ``up``
(the deployment is fine, and ``selfheal dashboard`` can serve it by hand). ``down`` stops it first.

``up(region=R)`` deploys into region R: the cloud's default region is R (recorded in ``cloud.json``, read
back by every command that builds AWS clients and by the dashboard) and the module's ``aws_region``
variable is R, so its provider, ARNs and alarms are in R. A ``--var aws_region`` alone chooses the region
too; one that contradicts ``region`` is refused before anything starts.

``up(apply=False)`` (``selfheal up --cloud-only``) starts the cloud and applies nothing (no dashboard:
it watches a deployment, and there is none yet): the cloud is recorded in ``cloud.json``, so ``selfheal
tf`` applies the user's own Terraform to it with nothing exported, and ``down`` stops it.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from selfheal.clock import check_scale
from selfheal.progress import Phase, Reporter, SilentReporter
from selfheal.stack.cloud_process import (
    CloudProcessError,
    check_can_start,
    cloud_alive,
    start_cloud,
    stop_cloud,
)
from selfheal.stack.dashboard_process import (
    DashboardProcessError,
    choose_dashboard_port,
    dashboard_alive,
    start_dashboard_process,
    stop_dashboard_process,
)
from selfheal.terraform.driver import Result, Terraform, TerraformError, TerraformOutputError
from selfheal.terraform.stack import read_interface, write_stack
from selfheal.workdir import CloudRecord, DashboardRecord, Workdir, check_region, rotate_log

__all__ = [
    "DownResult",
    "StackError",
    "UpResult",
    "destroy_stack",
    "down",
    "find_module_dir",
    "parse_var_options",
    "stack_region",
    "stack_terraform",
    "start_background_dashboard",
    "state_resource_count",
    "up",
]

MODULE_RELATIVE = Path("deploy") / "fragile"
DEFAULT_REGION = "us-east-1"
REGION_VARIABLE = "aws_region"
_COUNTED = re.compile(r": (Creation|Modifications|Destruction) complete after")
_PLAN_TOTAL = re.compile(r"^Plan: (\d+) to add, (\d+) to change, (\d+) to destroy")


class StackError(RuntimeError):
    """`up` or `down` could not do its work; the message is one line for the user."""


@dataclass(frozen=True)
class UpResult:
    """A running deployment: the cloud, Terraform's outputs and (if asked for and started) the dashboard."""

    cloud: CloudRecord
    outputs: dict[str, Any]
    seconds: float
    dashboard: DashboardRecord | None = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class DownResult:
    """What `down` did."""

    destroyed: int | None
    cloud: str
    removed: tuple[Path, ...]
    warnings: tuple[str, ...] = ()
    dashboard: str | None = None


def find_module_dir(start: Path | None = None) -> Path:
    """``deploy/fragile`` under the current directory, else beside the installed source tree."""
    here = (start or Path.cwd()).resolve()
    candidates = [here / MODULE_RELATIVE, Path(__file__).resolve().parents[2] / MODULE_RELATIVE]
    for candidate in candidates:
        if (candidate / "variables.tf").is_file():
            return candidate
    raise StackError(f"cannot find the Terraform module {MODULE_RELATIVE} (run from the selfheal checkout)")


def parse_var_options(options: list[str]) -> dict[str, str]:
    """``["k=v", ...]`` → ``{"k": "v"}``; ValueError for an item without ``=`` or with an empty name."""
    variables: dict[str, str] = {}
    for option in options:
        name, sep, value = option.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"--var must look like name=value, got {option!r}")
        variables[name.strip()] = value
    return variables


def stack_region(
    module_dir: Path | None, variables: Mapping[str, str], region: str | None
) -> tuple[str, dict[str, str]]:
    """The region a stack goes to and the variables that put it there; ValueError (one line) for an
    unknown region or a ``--var aws_region`` that contradicts ``region``.

    ``region`` (``--region``) wins; else the module's ``aws_region`` from ``variables``; else us-east-1.
    The module's ``aws_region`` (when it has one) is set to the chosen region, so the provider, the ARNs
    and the alarms are in the region the cloud defaults to (``module_dir`` None: no module, only the check).
    """
    given = variables.get(REGION_VARIABLE)
    if region is not None and given is not None and given != region:
        raise ValueError(f"--region {region} and --var {REGION_VARIABLE}={given} disagree; give one of them")
    chosen = region or given or DEFAULT_REGION
    try:
        check_region(chosen)
    except ValueError as error:
        flag = "--region" if region is not None else f"--var {REGION_VARIABLE}"
        raise ValueError(f"{flag}: {error}") from None
    if module_dir is None:
        return chosen, dict(variables)
    chosen_variables = dict(variables)
    if region is not None and REGION_VARIABLE in read_interface(module_dir).variables:
        chosen_variables[REGION_VARIABLE] = region
    return chosen, chosen_variables


class _TerraformLog:
    """Appends Terraform's lines to ``terraform.log`` and turns them into phase progress."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.phase: Phase | None = None
        self.total: int | None = None
        self.done = 0

    def begin(self, command: str, phase: Phase | None) -> None:
        self.phase, self.total, self.done = phase, None, 0
        rotate_log(self.path)
        with self.path.open("a", encoding="utf-8") as log:
            log.write(f"\n=== terraform {command} ({time.strftime('%Y-%m-%d %H:%M:%S')})\n")

    def __call__(self, line: str, stream: Literal["stdout", "stderr"]) -> None:
        with self.path.open("a", encoding="utf-8") as log:
            log.write(line + "\n")
        total = _PLAN_TOTAL.match(line)
        if total:
            self.total = sum(int(n) for n in total.groups())
        if _COUNTED.search(line):
            self.done += 1
        if self.phase is not None and (total or _COUNTED.search(line)):
            of = f"/{self.total}" if self.total else ""
            self.phase.update(f"{self.done}{of} resources")


def stack_terraform(
    workdir: Workdir,
    endpoint: str,
    log: Callable[[str, Any], None] | None = None,
    *,
    region: str | None = None,
) -> Terraform:
    """Terraform for the work directory's stack against the cloud at ``endpoint``, signed with the work
    directory's operator key (the one its cloud was started with); StackError when there is none.

    ``region`` (None: the recorded cloud's, else us-east-1) is Terraform's ``AWS_REGION``."""
    from selfheal.cloud.credentials import read_key

    if not workdir.credentials_file.exists():
        raise StackError(
            f"no operator key in {workdir.credentials_file} — start the local cloud with `selfheal up`"
        )
    try:
        key = read_key(workdir.credentials_file)
    except ValueError as error:
        raise StackError(str(error)) from None
    if region is None:
        try:
            record = workdir.read_cloud()
        except ValueError:
            record = None
        region = record.region if record is not None else DEFAULT_REGION
    return Terraform(workdir.stack_dir, endpoint, credentials=key.environment(), region=region, on_line=log)


def _failure(error: TerraformError, log: Path) -> StackError:
    """One line from Terraform's first diagnostic: its summary and its explanation."""
    if isinstance(error, TerraformOutputError):
        return StackError(f"{error} ({log})")
    text = error.result.stderr or error.result.stdout
    lines = [line.strip(" │╷╵") for line in text.splitlines()]
    summary, detail = "", ""
    for index, line in enumerate(lines):
        if line.startswith("Error:"):
            summary = line.removeprefix("Error:").strip()
            for following in lines[index + 1 :]:
                if following.startswith("Error:"):
                    break
                if following and not re.match(r"^(on |\d+:|├|│|var\.|This was checked|with )", following):
                    detail = following
                    break
            break
    what = f"{summary}: {detail}" if summary and detail else summary or "see the log"
    return StackError(f"terraform {error.result.command} failed: {what} (full output in {log})")


def state_resource_count(workdir: Workdir) -> int:
    """How many resources Terraform's state holds (0 when there is no state)."""
    try:
        state = json.loads(workdir.state_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return 0
    return sum(len(r.get("instances", [])) for r in state.get("resources", []) if r.get("mode") == "managed")


def _run_phase(
    reporter: Reporter, title: str, log: _TerraformLog, command: str, action: Callable[[], Result]
) -> Result:
    with reporter.phase(title) as phase:
        try:
            log.begin(command, phase)
            return action()
        except OSError as error:
            raise StackError(f"cannot write {log.path}: {error.strerror or error}") from None
        except TerraformError as error:
            raise _failure(error, log.path) from None


def up(
    workdir: Workdir,
    *,
    variables: Mapping[str, str] | None = None,
    port: int = 4566,
    time_scale: float = 1.0,
    module_dir: Path | None = None,
    reporter: Reporter | None = None,
    dashboard: bool = False,
    dashboard_port: int | None = None,
    region: str | None = None,
    apply: bool = True,
) -> UpResult:
    """Start the cloud in the background, apply the module, write ``outputs.json``; return the outputs.

    ``region``: the region the cloud defaults to and the module deploys into (see the module docstring).
    ``apply=False``: only the cloud (no module, outputs or dashboard); ``variables`` are refused.

    With ``dashboard``, then start the dashboard in the background on ``dashboard_port`` (None: 8765, or
    a free port if it is taken; 0: a free port; a taken explicit port is refused before anything starts).
    """
    reporter = reporter or SilentReporter()
    started = time.monotonic()
    check_scale(time_scale)  # ValueError: nothing started
    if not apply and variables:
        raise ValueError("--var sets deploy/fragile's variables, and --cloud-only applies nothing")
    module = (module_dir or find_module_dir()) if apply else None
    dashboard = dashboard and apply
    if dashboard and dashboard_port and dashboard_port == port:
        raise ValueError(f"--dashboard-port {dashboard_port} is the local cloud's --port; choose another")
    chosen_region, variables = stack_region(module, variables or {}, region)  # ValueError: nothing started
    try:
        existing = check_can_start(workdir, port)
    except CloudProcessError as error:
        raise StackError(str(error)) from None
    # No cloud runs now: a recorded dashboard is one left beside a cloud that died (`kill -9`); it may
    # hold the very --dashboard-port asked for, so it goes before that port is checked.
    _stop_recorded_dashboard(workdir, reporter)
    if dashboard and dashboard_port is not None:
        try:
            choose_dashboard_port(dashboard_port)  # checked now, chosen once the cloud holds its port
        except DashboardProcessError as error:
            raise StackError(str(error)) from None
    if module is not None:
        write_stack(workdir.stack_dir, module, variables)  # ValueError before anything is written
    if existing is not None or state_resource_count(workdir) or module is None:
        # Left by a cloud that died: its resources died with it (without a stack, no outputs may stay).
        workdir.remove_state()
    try:
        with reporter.phase(f"starting the local cloud (time scale {time_scale:g})") as phase:
            record = start_cloud(
                workdir,
                port,
                time_scale,
                region=chosen_region,
                on_wait=lambda s: phase.update(f"{s:.0f} s"),
            )
    except CloudProcessError as error:
        raise StackError(str(error)) from None
    try:
        outputs = _apply_stack(workdir, record, module, reporter) if module is not None else {}
        served, warnings = (
            start_background_dashboard(workdir, record, dashboard_port, reporter) if dashboard else (None, ())
        )
    except BaseException:
        stop_cloud(record)
        workdir.remove_state()
        raise
    return UpResult(record, outputs, time.monotonic() - started, served, warnings)


def _apply_stack(workdir: Workdir, record: CloudRecord, module: Path, reporter: Reporter) -> dict[str, Any]:
    """``terraform init`` and ``apply`` of the written stack; its outputs, written to ``outputs.json``."""
    log = _TerraformLog(workdir.terraform_log)
    tf = stack_terraform(workdir, record.endpoint, log, region=record.region)
    _run_phase(reporter, "terraform init", log, "init", tf.init)
    _run_phase(reporter, f"terraform apply {module.name}", log, "apply", tf.apply)
    log.begin("output", None)
    outputs = tf.output()
    workdir.write_outputs(outputs)
    return outputs


def start_background_dashboard(
    workdir: Workdir, cloud: CloudRecord, requested: int | None, reporter: Reporter
) -> tuple[DashboardRecord | None, tuple[str, ...]]:
    """Start the background dashboard on ``requested`` (see :func:`up`); None and a warning if it fails."""
    try:
        port, note = choose_dashboard_port(requested)
        if note:
            reporter.note(note)
        with reporter.phase(f"starting the dashboard on 127.0.0.1:{port}") as phase:
            served = start_dashboard_process(
                workdir, cloud, port, on_wait=lambda s: phase.update(f"{s:.0f} s")
            )
    except DashboardProcessError as error:
        return None, (f"{error}; the deployment is up — `selfheal dashboard` serves it by hand",)
    return served, ()


def _stop_recorded_dashboard(workdir: Workdir, reporter: Reporter, grace: float = 10.0) -> str | None:
    """Stop the recorded dashboard if there is one and remove its record; how it went (None: no record)."""
    try:
        record = workdir.read_dashboard()
    except ValueError as error:
        reporter.note(f"warning: {error}; removing it")
        workdir.dashboard_json.unlink(missing_ok=True)
        return None
    if record is None:
        return None
    if dashboard_alive(record):
        with reporter.phase(f"stopping the dashboard (pid {record.pid})"):
            how = stop_dashboard_process(record, grace)
    else:
        how = "was not running"
    workdir.dashboard_json.unlink(missing_ok=True)
    return how


def destroy_stack(workdir: Workdir, record: CloudRecord, reporter: Reporter | None = None) -> int:
    """``terraform destroy`` of the stack against the running cloud; return how many resources it held."""
    reporter = reporter or SilentReporter()
    count = state_resource_count(workdir)
    if count == 0:
        return 0
    log = _TerraformLog(workdir.terraform_log)
    tf = stack_terraform(workdir, record.endpoint, log, region=record.region)
    # Without a refresh: the local provider's deletes accept what is already gone, and it halves the time.
    args = ("-input=false", "-no-color", "-auto-approve", "-refresh=false")
    _run_phase(reporter, "terraform destroy", log, "destroy", lambda: tf.run("destroy", *args, check=True))
    return count


def down(
    workdir: Workdir, *, reporter: Reporter | None = None, grace: float = 10.0, destroy: bool = True
) -> DownResult:
    """Destroy the stack if the cloud runs, stop the cloud and its children, remove the state files.

    ``destroy=False`` skips ``terraform destroy``: the cloud keeps its resources in memory, so stopping it
    removes them as surely, and sooner (the demo's teardown).
    """
    reporter = reporter or SilentReporter()
    try:
        record = workdir.read_cloud()
    except ValueError as error:
        reporter.note(f"warning: {error}; removing it")
        record = None
    warnings: list[str] = []
    destroyed: int | None = None
    how = "not recorded (nothing to stop)"
    dashboard: str | None = None
    stopped_dashboard = False
    try:
        # First, so it does not read the deployment while it goes away.
        dashboard = _stop_recorded_dashboard(workdir, reporter, grace)
        stopped_dashboard = True
        if destroy and record is not None and cloud_alive(record):
            try:
                destroyed = destroy_stack(workdir, record, reporter)
            except StackError as error:
                warnings.append(f"{error}; the cloud's resources go with it")
    finally:
        # Even when interrupted mid-destroy: the cloud's resources die with it, so its state goes too.
        if not stopped_dashboard:
            dashboard = _stop_recorded_dashboard(workdir, reporter, grace)
        if record is not None:
            with reporter.phase(f"stopping the local cloud (pid {record.pid})"):
                how = stop_cloud(record, grace)
        removed = workdir.remove_state()
    return DownResult(destroyed, how, tuple(removed), tuple(warnings), dashboard)
