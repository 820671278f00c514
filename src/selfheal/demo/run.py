"""`selfheal demo`: deploy with Terraform, send traffic, watch the loop heal the service live, report.

The demo runs `selfheal up` (background cloud + ``terraform apply`` of the scenario's module, by default
``deploy/fragile``), sends requests to the HTTP API while polling the cloud, causes the scenario's failure
if it has one to cause (:mod:`selfheal.demo.plays`), ends when the healer's incident is verified (or at a
deadline), shows what ``terraform plan`` now finds (for ``flag``, FAILURE_RATE back to its baseline; for
``bad-deploy``, the alias forward to the bad version again), tears everything down unless ``--keep``, and
prints the timings. ``--scenario all`` runs the scenarios one after another, each with its own cloud.
Defaults finish in well under a minute per scenario on two cores.

Unless ``--no-dashboard``, the live dashboard is served in-process for the demo's duration (port
policy of :func:`selfheal.stack.dashboard_process.choose_dashboard_port`), its clock the recorded cloud's
time scale and its "restore baseline" the same ``terraform apply`` of the work directory's stack as
``up``. With ``--keep`` it is handed over to a background ``selfheal dashboard`` that ``selfheal down``
stops.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from rich.console import Console

from healer.ledger import Incident, LedgerUnavailable
from selfheal.clock import Clock
from selfheal.dashboard import DashboardError, DashboardServer, start_dashboard, terraform_restore
from selfheal.demo.breaker import Breaker
from selfheal.demo.orders import OrderSender
from selfheal.demo.plays import FLAG, Play, Report, find_deploy_dir, play
from selfheal.demo.settings import DemoSettings
from selfheal.demo.summary import DemoSummary, drift_lines, loop_timings, render_summary
from selfheal.demo.timeline import Sample, Timeline
from selfheal.demo.view import DemoView, make_view
from selfheal.loop.deployment import AwsTarget, Deployment
from selfheal.loop.reader import LoopReader
from selfheal.loop.records import Datapoint, IncidentRecord
from selfheal.loop.traffic import LoadGenerator, TrafficPlan
from selfheal.progress import ConsoleReporter, Reporter
from selfheal.stack.control import (
    StackError,
    UpResult,
    down,
    stack_terraform,
    start_background_dashboard,
    up,
)
from selfheal.stack.dashboard_process import DashboardProcessError, choose_dashboard_port
from selfheal.workdir import DEFAULT_WORKDIR, Workdir

__all__ = [
    "DemoResult",
    "DemoSettings",
    "LoopProbe",
    "cloud_target",
    "kept_running",
    "run_demo",
    "run_demo_command",
]


@dataclass(frozen=True)
class DemoResult:
    """The summary and the exit code (0 only when the loop was verified and the drift shown)."""

    summary: DemoSummary
    exit_code: int


@dataclass(frozen=True)
class IncidentErrors:
    """The incident's errors per alarm period, in finer buckets before its alarm, and the period."""

    errors: list[Datapoint]
    fine: list[Datapoint]
    period: int


@dataclass(frozen=True)
class Watched:
    """What the demo saw: the timeline, the failure (None when the scenario ended as it should), the
    requests and 5xx served, the incident's errors per alarm period, and the traffic that was sent."""

    timeline: Timeline
    failure: str | None
    requests: int
    errors: int
    incident_errors: IncidentErrors
    traffic: Any


class LoopProbe:
    """The demo's poll of the loop (alarm, FAILURE_RATE, the healer's ledger) through :class:`LoopReader`.

    Each read returns None or empty when that part cannot be read right now: the demo keeps polling.
    ``read_setting`` reads the value the view watches instead of FAILURE_RATE (e.g. an alias's version).
    """

    def __init__(
        self,
        target: AwsTarget,
        outputs: dict[str, Any],
        read_setting: Callable[[Any, Mapping[str, Any]], str | None] | None = None,
    ) -> None:
        self.outputs, self.read_setting = outputs, read_setting
        self.lam = target.client("lambda") if read_setting is not None else None
        deployment = Deployment(
            fragile_function_name=str(outputs["fragile_function_name"]),
            healer_function_name=str(outputs.get("healer_function_name", "")),
            alarm_name=str(outputs["alarm_name"]),
            ledger_table_name=str(outputs["ledger_table_name"]),
            source="Terraform outputs",
        )
        self.reader = LoopReader(target, deployment)

    def function_variables(self) -> dict[str, str] | None:
        """The fragile function's environment variables (None if they cannot be read now)."""
        try:
            return self.reader.function_variables()
        except (BotoCoreError, ClientError):
            return None

    def alarm(self) -> tuple[str | None, str | None]:
        """The alarm's state and reason (None if it cannot be read now)."""
        try:
            info = self.reader.alarm()
        except (BotoCoreError, ClientError):
            return None, None
        return (info.state, info.reason) if info is not None else (None, None)

    def incidents(self) -> tuple[Incident, ...]:
        """The healer's recent incidents, newest first (empty if the ledger cannot be read now)."""
        try:
            return tuple(self.reader.ledger_incidents(limit=10))
        except (LedgerUnavailable, BotoCoreError, ClientError):
            return ()

    def incident_errors(self, incident: Incident | None) -> IncidentErrors:
        """The errors per alarm period around ``incident`` and in finer buckets before its alarm (for its
        timings), and the period; empty when they cannot be read."""
        period = 60
        if incident is None:
            return IncidentErrors([], [], period)
        try:
            info = self.reader.alarm()
            period = info.period if info is not None else period
            record = IncidentRecord.from_ledger(incident)
            last = max(t for t in (record.alarm_time, record.action_at, record.ok_time) if t is not None)
            _, errors = self.reader.metrics(record.alarm_time - 12 * period, last + period, period)
            fine = self.reader.onset_errors(record, period)
        except (BotoCoreError, ClientError, ValueError):
            return IncidentErrors([], [], period)
        return IncidentErrors(errors, fine, period)

    def sample(self, at: float, generator: LoadGenerator | OrderSender) -> Sample:
        """One poll of everything."""
        state, reason = self.alarm()
        variables = self.function_variables() or {}
        setting = variables.get("FAILURE_RATE")
        if self.read_setting is not None:
            setting = self.read_setting(self.lam, self.outputs)
        return Sample(
            at=at,
            traffic=generator.stats.snapshot(),
            alarm_state=state,
            alarm_reason=reason,
            failure_rate=setting,
            incidents=self.incidents(),
            healed_at=variables.get("HEALED_AT"),
        )


STOPPED_MESSAGE = (
    "The demo has finished and this dashboard stopped with it. "
    "Run `selfheal demo --keep` to keep the dashboard and the local cloud running."
)


def cloud_target(workdir: Workdir, deployed: UpResult) -> AwsTarget:
    """The deployment's local cloud, signed with the work directory's operator key."""
    cloud = deployed.cloud
    region = str(deployed.outputs.get("region") or cloud.region)
    return AwsTarget.resolve(cloud.endpoint, region, workdir=workdir.root)


def _serve_dashboard(
    settings: DemoSettings, workdir: Workdir, deployed: UpResult, reporter: Reporter
) -> DashboardServer | None:
    """The dashboard in this process for the deployment; None (with a warning) when it cannot listen."""
    cloud = deployed.cloud
    target = cloud_target(workdir, deployed)
    deployment = Deployment.resolve(None, workdir.outputs_json)
    clock = Clock(cloud.time_scale, origin=cloud.started_at).now if cloud.time_scale > 1 else None
    try:
        port, note = choose_dashboard_port(settings.dashboard_port)
        if note:
            reporter.note(note)
        return start_dashboard(
            target, deployment, port, now=clock, restore=lambda: terraform_restore(target, workdir.root)
        )
    except (DashboardError, DashboardProcessError) as error:
        reporter.note(f"warning: no dashboard: {error}")
        return None


def _watch(
    settings: DemoSettings,
    workdir: Workdir,
    deployed: UpResult,
    console: Console,
    view: DemoView | None,
    dashboard_url: str | None = None,
    scenario: Play | None = None,
    variables: Mapping[str, str] | None = None,
) -> Watched:
    """Send traffic, cause the scenario's failure if it has one, and poll until the scenario's end (a
    verified recovery unless it says otherwise), the healer gave up or the deadline."""
    scenario = scenario or play(settings.scenario)
    outputs = deployed.outputs
    target = cloud_target(workdir, deployed)
    # flag watches FAILURE_RATE, which comes with the environment the probe reads anyway.
    probe = LoopProbe(target, outputs, None if scenario is FLAG else scenario.read_setting)
    lam = target.client("lambda")
    breaker = Breaker(scenario, workdir, deployed, lam, variables or {})
    baseline = scenario.read_setting(lam, outputs)
    default = f"{settings.failure_rate:g}" if scenario is FLAG else "—"
    timeline = Timeline(baseline=baseline or default, setting=scenario.setting, ends=scenario.ends)
    generator: LoadGenerator | OrderSender
    if scenario.traffic is not None:  # e.g. messages to a queue rather than requests to an HTTP API
        generator, url = scenario.traffic(target, outputs, settings)
    else:
        url = str(outputs["api_endpoint"])
        plan = TrafficPlan(url=url, rate=settings.rate, duration=settings.deadline + 60, concurrency=16)
        generator = LoadGenerator(plan)
    sender = threading.Thread(target=generator.run, name="demo-traffic", daemon=True)
    view = view or make_view(console, settings.time_scale, url, dashboard_url)
    failure: str | None = None
    hold_until: float | None = None  # once the scenario's end is seen: watch on until then
    started = time.monotonic()
    sender.start()
    try:
        with view:
            while True:
                at = time.monotonic() - started
                new = timeline.observe(probe.sample(at, generator))
                new += breaker.maybe_start(at, timeline, settings.break_after)
                if isinstance(generator, OrderSender):
                    new += [timeline.note(at, "traffic", text) for text in generator.take_events()]
                done = breaker.take()
                if done is not None:
                    # What the failure left (the bad release) is the value the healer must move away from.
                    timeline.baseline = done.setting or timeline.baseline
                    new.append(timeline.note(at, "deploy", done.text))
                    if scenario.onset_at_break and timeline.marks.alarm is None:
                        timeline.marks.first_failure = at
                view.update(timeline, new)
                if breaker.error is not None:
                    failure = breaker.error
                    break
                if hold_until is None and timeline.ended and not breaker.pending:
                    hold_until = at + scenario.hold_seconds
                if hold_until is not None and at >= hold_until:
                    break
                failure = timeline.gave_up
                if failure:
                    break
                if at > settings.deadline and hold_until is None:
                    latest, incident = timeline.latest, timeline.incident
                    failure = (
                        f"no verified recovery within {settings.deadline:g} s: alarm {latest.alarm_state}, "
                        f"{timeline.setting} {latest.failure_rate}, incident "
                        f"{incident.status if incident else 'none'}"
                    )
                    break
                time.sleep(settings.poll_seconds)
    finally:
        generator.stop()
        sender.join(timeout=20)
        breaker.join(timeout=60)
    final = generator.stats.snapshot()
    errors = probe.incident_errors(timeline.incident)
    return Watched(timeline, failure, final.completed, final.server_errors, errors, generator)


def stop_demo_dashboard(dashboard: DashboardServer, keep: bool, reporter: Reporter) -> None:
    """Stop the in-process dashboard; without ``--keep`` the page and the console say it stopped."""
    if keep:
        dashboard.stop()  # a background dashboard takes over on the same port
        return
    dashboard.stop(STOPPED_MESSAGE)
    reporter.note(
        f"dashboard {dashboard.url} stopped with the demo — `selfheal demo --keep` keeps it running"
    )


def run_demo(
    settings: DemoSettings,
    workdir: Workdir,
    console: Console,
    *,
    reporter: Reporter | None = None,
    view: DemoView | None = None,
    command: str = "selfheal",
    command_hint: str | None = None,
) -> DemoResult:
    """Run the demo of one scenario (``settings.scenario``); StackError when the deployment cannot be
    brought up (nothing left running); ValueError for ``all`` (:func:`run_demo_command` runs each in turn).

    ``command`` and ``command_hint`` say how ``selfheal`` is typed in this shell (see :func:`kept_running`).
    """
    if len(settings.scenarios) != 1:
        raise ValueError(f"run_demo runs one scenario, not {settings.scenario!r} (see run_demo_command)")
    scenario = play(settings.scenarios[0])
    reporter = reporter or ConsoleReporter(console)
    started = time.monotonic()
    if settings.dashboard and settings.dashboard_port:
        try:
            choose_dashboard_port(settings.dashboard_port)  # a taken port is refused before anything starts
        except DashboardProcessError as error:
            raise StackError(str(error)) from None
    variables = scenario.variables(settings)
    deployed = up(
        workdir,
        variables=variables,
        port=settings.port,
        time_scale=settings.time_scale,
        module_dir=find_deploy_dir(scenario.module),
        reporter=reporter,
    )
    drift: tuple[str, ...] = ()
    report = Report(())
    dashboard: DashboardServer | None = None
    try:
        if settings.dashboard:
            dashboard = _serve_dashboard(settings, workdir, deployed, reporter)
        url = dashboard.url if dashboard is not None else None
        watched = _watch(settings, workdir, deployed, console, view, url, scenario, variables)
        timeline, failure, incident_errors = watched.timeline, watched.failure, watched.incident_errors
        if scenario.report is not None:
            target = cloud_target(workdir, deployed)
            report = scenario.report(target, deployed.outputs, timeline, watched.traffic)
            failure = failure or report.failure
        with reporter.phase("terraform plan (drift after the healer's change)"):
            plan = stack_terraform(workdir, deployed.cloud.endpoint).plan(check=False)
        drift = drift_lines(plan.stdout, scenario.drift)
        needed = scenario.drift_needed
        if failure is None and not any(needed in line for line in drift):
            failure = f"terraform plan shows no {needed} drift (exit {plan.rc}; see {workdir.terraform_log})"
    finally:
        if dashboard is not None:
            stop_demo_dashboard(dashboard, settings.keep, reporter)
        if not settings.keep:
            # Stopping the cloud removes every resource with it; a destroy first would only add seconds.
            down(workdir, reporter=reporter, destroy=False)
    if settings.keep and dashboard is not None:
        # This process ends here; a background dashboard, recorded for `selfheal down`, takes over.
        background, warnings = start_background_dashboard(workdir, deployed.cloud, dashboard.port, reporter)
        for warning in warnings:
            reporter.note(f"warning: {warning}")
        if background is not None:
            reporter.note(f"kept running: dashboard {background.url}")
    if settings.keep:
        for line in kept_running(deployed.cloud.endpoint, workdir, command, command_hint):
            reporter.note(line)
    summary = DemoSummary(
        time_scale=settings.time_scale,
        timings=loop_timings(
            timeline,
            settings.time_scale,
            # A failure that starts at the break (a slow downstream) is not where the errors start.
            () if scenario.onset_at_break else incident_errors.errors,
            incident_errors.period,
            () if scenario.onset_at_break else incident_errors.fine,
            scenario.act_span,
        ),
        requests=watched.requests,
        errors_served=watched.errors,
        traffic=scenario.traffic_noun,
        drift=drift,
        wall_seconds=time.monotonic() - started,
        failure=failure,
        scenario=scenario.name,
        change=healed_change(timeline) if scenario.ends == "RECOVERED" else None,
        drift_note=scenario.drift_note if drift else None,
        title=scenario.title,
        notes=report.lines,
    )
    return DemoResult(summary, 0 if failure is None else 1)


def healed_change(timeline: Timeline) -> str | None:
    """What the healer's action changed, as the view watched it: ``alias live 2 → 1 (rollback_alias …)``;
    None when no incident acted."""
    incident, latest = timeline.incident, timeline.latest
    if incident is None or not incident.action:
        return None
    action = incident.action.split(" ", 1)[0]
    moved = f"{timeline.baseline} → {latest.failure_rate}" if latest.failure_rate else "?"
    by = f"the healer's {action} (incident {incident.incident_id}, {incident.status})"
    return f"{timeline.setting} {moved} by {by}"


def kept_running(
    endpoint: str, workdir: Workdir, command: str = "selfheal", command_hint: str | None = None
) -> list[str]:
    """The closing lines of ``demo --keep``: the cloud left running and how to stop it, as it can be typed in
    this shell — ``command`` and ``command_hint`` as ``selfheal.cli.stack.selfheal_command`` gives them for
    ``up``'s ``next:`` block (``.venv/bin/selfheal``, and that ``source .venv/bin/activate`` allows plain
    ``selfheal``)."""
    at = "" if workdir.root == DEFAULT_WORKDIR else f" --workdir {workdir.root}"
    lines = [f"kept running: local cloud {endpoint} — `{command} down{at}` stops it"]
    return [*lines, f"  {command_hint}"] if command_hint else lines


def run_demo_command(
    settings: DemoSettings,
    workdir: Workdir,
    console: Console,
    command: str = "selfheal",
    command_hint: str | None = None,
) -> int:
    """The CLI's demo: run each scenario of ``settings.scenario`` in turn (``all``: every one), print each
    one's summary, return the worst exit code; errors are one line and stop the run."""
    names = settings.scenarios
    worst = 0
    for index, name in enumerate(names):
        if len(names) > 1:
            console.print(f"scenario {index + 1}/{len(names)}: {name}", markup=False, highlight=False)
        try:
            result = run_demo(
                replace(settings, scenario=name), workdir, console, command=command, command_hint=command_hint
            )
        except StackError as error:
            Console(stderr=True, highlight=False, soft_wrap=True).print(f"error: {error}", markup=False)
            return 1
        except ValueError as error:
            Console(stderr=True, highlight=False, soft_wrap=True).print(f"error: {error}", markup=False)
            return 2
        render_summary(result.summary, console)
        worst = max(worst, result.exit_code)
    return worst
