"""`selfheal demo --scenario`: the names, their checks, what each scenario applies, and `all`'s order."""

from __future__ import annotations

import io
import json
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

import selfheal.demo.run
from healer.ledger import Incident
from selfheal.cli.app import app
from selfheal.demo.breaker import Breaker
from selfheal.demo.exhausted import EXHAUSTED, read_escalations
from selfheal.demo.orders import OrderSender
from selfheal.demo.overload import OVERLOAD
from selfheal.demo.plays import BAD_DEPLOY, FLAG, Breakage, Play, Report, find_deploy_dir, play
from selfheal.demo.poison_queue import POISON_QUEUE
from selfheal.demo.run import DemoResult, DemoSettings, healed_change, run_demo_command
from selfheal.demo.scenarios import PLANNED_SCENARIOS, SCENARIOS, resolve_scenarios
from selfheal.demo.summary import DemoSummary, drift_lines, render_summary
from selfheal.demo.timeline import Sample, Timeline
from selfheal.loop.traffic import TrafficSnapshot
from selfheal.stack.control import StackError, UpResult
from selfheal.terraform.stack import read_interface
from selfheal.workdir import CloudRecord, Workdir

ROOT = Path(__file__).resolve().parents[2]


ALARM_TIME = datetime(2026, 1, 1, tzinfo=UTC)


def _incident(status: str, action: str | None) -> Incident:
    return Incident(
        incident_id="inc-1",
        sk="s",
        alarm_name="baddeploy-checkout-errors",
        alarm_arn="arn",
        target="baddeploy-checkout",
        status=status,  # type: ignore[arg-type]
        alarm_time=ALARM_TIME,
        opened_at=ALARM_TIME,
        action=action,
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("flag", ("flag",)),
        ("bad-deploy", ("bad-deploy",)),
        ("exhausted", ("exhausted",)),
        ("poison-queue", ("poison-queue",)),
        ("overload", ("overload",)),
        ("all", ("flag", "bad-deploy", "exhausted", "poison-queue", "overload")),
    ],
)
def test_scenario_names_resolve_in_order(name: str, expected: tuple[str, ...]) -> None:
    """A scenario runs alone; `all` runs every one, flag first."""
    assert resolve_scenarios(name) == expected
    assert DemoSettings(scenario=name).scenarios == expected


@pytest.mark.parametrize("name", ["nope", "", "FLAG", "over-load"])
def test_an_unknown_scenario_is_refused_naming_the_known_ones(name: str) -> None:
    """An unknown name is a ValueError listing the scenarios and all."""
    with pytest.raises(
        ValueError,
        match=r"unknown scenario .*: --scenario must be one of flag, bad-deploy, exhausted, poison-queue, "
        r"overload, all$",
    ):
        DemoSettings(scenario=name)


def test_the_default_scenario_is_the_seeds_loop() -> None:
    """Without --scenario the demo is flag: deploy/fragile with the seed's variables."""
    settings = DemoSettings()
    assert settings.scenarios == ("flag",)
    assert play("flag").variables(settings) == settings.variables()
    assert play("flag").module == Path("deploy/fragile")


@pytest.mark.parametrize("args", [["--scenario", "nope"], ["--scenario", "all", "--keep"]])
def test_cli_bad_scenario_is_one_line_exit_2_and_creates_nothing(tmp_path: Path, args: list[str]) -> None:
    """`demo --scenario nope` (or `all` with --keep) exits 2 with one line and no work directory."""
    workdir = tmp_path / "w"
    result = CliRunner().invoke(app, ["demo", "--workdir", str(workdir), *args])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.output
    assert "--scenario" in lines[0] and "all" in lines[0]
    assert not workdir.exists()


def test_cli_help_names_the_scenarios_there_are_and_no_planned_one_is_left() -> None:
    """`demo --help` lists the scenarios and all; every planned one is built, so it names none missing."""
    result = CliRunner().invoke(app, ["demo", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "--scenario" in text
    for name in [*SCENARIOS, "all", *PLANNED_SCENARIOS]:
        assert name in text
    assert PLANNED_SCENARIOS == () and "Not implemented yet" not in text
    assert "overload" in text


@pytest.mark.parametrize(
    "given", [None, "flag", "bad-deploy", "exhausted", "poison-queue", "overload", "all"]
)
def test_cli_passes_the_scenario_on(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, given: str | None
) -> None:
    """The demo command hands --scenario (default flag) to the demo in its settings."""
    seen: list[DemoSettings] = []

    def record(settings: DemoSettings, *rest: Any) -> int:
        seen.append(settings)
        return 0

    monkeypatch.setattr(selfheal.demo.run, "run_demo_command", record)
    args = ["demo", "--workdir", str(tmp_path / "w")] + (["--scenario", given] if given else [])
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert [s.scenario for s in seen] == [given or "flag"]


def _summary(scenario: str, failure: str | None = None) -> DemoSummary:
    return DemoSummary(20.0, (), 10, 1, (), 1.0, failure=failure, scenario=scenario)


def test_all_runs_every_scenario_in_order_and_returns_the_worst_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--scenario all` runs each scenario in turn, prints each summary, and exits with the worst code."""
    ran: list[str] = []

    def fake(settings: DemoSettings, *args: Any, **kwargs: Any) -> DemoResult:
        ran.append(settings.scenario)
        failed = settings.scenario == "flag"
        return DemoResult(_summary(settings.scenario, "boom" if failed else None), 1 if failed else 0)

    monkeypatch.setattr(selfheal.demo.run, "run_demo", fake)
    out = io.StringIO()
    code = run_demo_command(DemoSettings(scenario="all"), Workdir(Path("w")), Console(file=out, width=200))
    assert ran == ["flag", "bad-deploy", "exhausted", "poison-queue", "overload"]
    assert code == 1
    text = out.getvalue()
    assert (
        text.index("scenario 1/5: flag")
        < text.index("scenario flag,")
        < text.index("scenario 2/5: bad-deploy")
        < text.index("scenario 3/5: exhausted")
        < text.index("scenario 4/5: poison-queue")
        < text.index("scenario 5/5: overload")
    )
    assert "loop verified — scenario bad-deploy" in text


def test_all_stops_at_a_scenario_that_cannot_start(monkeypatch: pytest.MonkeyPatch) -> None:
    """A scenario whose deployment cannot come up ends the run with exit 1 and one error line."""
    ran: list[str] = []

    def fake(settings: DemoSettings, *args: Any, **kwargs: Any) -> DemoResult:
        ran.append(settings.scenario)
        raise StackError("port taken")

    monkeypatch.setattr(selfheal.demo.run, "run_demo", fake)
    code = run_demo_command(DemoSettings(scenario="all"), Workdir(Path("w")), Console(file=io.StringIO()))
    assert (ran, code) == (["flag"], 1)


def test_run_demo_runs_one_scenario() -> None:
    """run_demo refuses `all` (run_demo_command runs each in turn) before starting anything."""
    with pytest.raises(ValueError, match="one scenario"):
        selfheal.demo.run.run_demo(
            DemoSettings(scenario="all"), Workdir(Path("w")), Console(file=io.StringIO())
        )


@pytest.mark.parametrize("scenario", [FLAG, BAD_DEPLOY, EXHAUSTED, POISON_QUEUE, OVERLOAD])
def test_each_scenario_applies_a_module_of_deploy_with_its_own_variables(scenario: Any) -> None:
    """The module is found from the checkout, and every variable the demo sets is one of its variables."""
    module = find_deploy_dir(scenario.module, start=ROOT)
    assert module == ROOT / scenario.module
    interface = read_interface(module)
    assert set(scenario.variables(DemoSettings())) <= set(interface.variables)
    # The names the demo, the dashboard and `selfheal status` read.
    assert {"fragile_function_name", "alarm_name", "ledger_table_name", "region"} <= set(interface.outputs)
    # Where the traffic goes: the HTTP API, or the queue a queue-fed scenario's own sender fills.
    assert ("queue_url" if scenario.traffic_noun == "messages" else "api_endpoint") in interface.outputs


def test_bad_deploy_starts_healthy_and_watches_the_alias() -> None:
    """bad-deploy applies failure_rate 0 first (the bad release comes later) and watches alias live."""
    variables = BAD_DEPLOY.variables(DemoSettings())
    assert variables["failure_rate"] == "0"
    assert BAD_DEPLOY.setting == "alias live" and BAD_DEPLOY.breaks is not None
    assert "alias_name" in read_interface(ROOT / BAD_DEPLOY.module).outputs


def test_bad_deploy_drift_lines_are_the_alias_version_and_the_tally() -> None:
    """From a plan, bad-deploy keeps the alias's function_version line and the Plan line only."""
    plan = """
  # module.fragile.aws_lambda_alias.live will be updated in-place
  ~ resource "aws_lambda_alias" "live" {
      ~ function_version = "1" -> "2"
        id               = "arn:aws:lambda:us-east-1:123456789012:function:baddeploy-checkout:live"
        name             = "live"
    }

Plan: 0 to add, 1 to change, 0 to destroy.
"""
    assert drift_lines(plan, BAD_DEPLOY.drift) == (
        '~ function_version = "1" -> "2"',
        "Plan: 0 to add, 1 to change, 0 to destroy.",
    )
    assert drift_lines(plan, FLAG.drift) == ("Plan: 0 to add, 1 to change, 0 to destroy.",)


def test_the_timeline_labels_the_watched_setting() -> None:
    """With setting "alias live", a change reads `alias live 2 → 1`, and the healed line says so."""
    timeline = Timeline(baseline="1", setting="alias live")
    timeline.observe(Sample(0.0, failure_rate="1"))
    timeline.observe(Sample(1.0, failure_rate="2"))
    event = timeline.note(1.1, "deploy", "bad deploy: version 2")
    timeline.baseline = "2"
    timeline.observe(Sample(2.0, alarm_state="ALARM"))
    new = timeline.observe(
        Sample(
            3.0,
            failure_rate="1",
            incidents=(_incident("RECOVERED", "rollback_alias FunctionVersion=1 (was 2)"),),
        )
    )
    texts = [e.text for e in timeline.events]
    assert "alias live 1 → 2" in texts and "alias live 2 → 1" in [e.text for e in new]
    assert event in timeline.events
    assert (
        healed_change(timeline)
        == "alias live 2 → 1 by the healer's rollback_alias (incident inc-1, RECOVERED)"
    )


def test_no_healed_line_without_an_action() -> None:
    """An incident that did not act (or none) gives no healed line."""
    timeline = Timeline(baseline="0.3")
    assert healed_change(timeline) is None
    timeline.observe(Sample(1.0, incidents=(_incident("ESCALATED", None),)))
    assert healed_change(timeline) is None


def test_the_summary_names_the_scenario_the_change_and_the_drift_note() -> None:
    """The summary's title names the scenario; the healed line and the drift's note are printed."""
    summary = DemoSummary(
        20.0,
        (),
        100,
        10,
        ('~ function_version = "1" -> "2"',),
        30.0,
        scenario="bad-deploy",
        change="alias live 2 → 1 by the healer's rollback_alias (incident inc-1, RECOVERED)",
        drift_note=BAD_DEPLOY.drift_note,
    )
    out = io.StringIO()
    render_summary(summary, Console(file=out, width=200, color_system=None))
    text = " ".join(out.getvalue().split())  # the title wraps at the (narrow) table's width
    assert "loop verified — scenario bad-deploy, time scale 20" in text
    assert "healed: alias live 2 → 1 by the healer's rollback_alias" in text
    assert '~ function_version = "1" -> "2"' in text and "deploys it again" in text


def _snapshot(completed: int) -> TrafficSnapshot:
    return TrafficSnapshot(completed, completed, completed, 0, 0, 1.0, 20.0, None, None, None, {})


def test_the_breaker_waits_for_served_traffic_then_breaks_once() -> None:
    """The failure starts after `after` seconds with requests served, runs once, and is taken once."""
    calls: list[tuple[Any, ...]] = []

    def breaks(*args: Any) -> Breakage:
        calls.append(args)
        return Breakage("bad deploy: version 2", "2")

    scenario = replace(BAD_DEPLOY, breaks=breaks)
    deployed = UpResult(CloudRecord(2, "http://127.0.0.1:1", 1, 20.0, "us-east-1", 0.0), {}, 1.0)
    breaker = Breaker(scenario, Workdir(Path("w")), deployed, "lambda-client", {"failure_rate": "0"})
    timeline = Timeline(baseline="1", setting="alias live")
    assert breaker.pending and breaker.maybe_start(5.0, timeline, 2.0) == []  # no traffic served yet
    timeline.observe(Sample(1.0, traffic=_snapshot(10)))
    assert breaker.maybe_start(1.0, timeline, 2.0) == []  # too early
    [started] = breaker.maybe_start(2.5, timeline, 2.0)
    assert started.text == "bad-deploy: deploying a bad release (terraform apply)…"
    breaker.join(10)
    assert breaker.maybe_start(3.0, timeline, 2.0) == []  # once
    assert breaker.take() == Breakage("bad deploy: version 2", "2") and breaker.take() is None
    assert not breaker.pending and breaker.error is None
    assert calls == [(Workdir(Path("w")), "http://127.0.0.1:1", {"failure_rate": "0"}, "lambda-client", {})]


def test_exhausted_ends_unverified_and_that_is_not_giving_up() -> None:
    """For exhausted, an UNVERIFIED incident is the end the scenario expects, not a failure."""
    assert EXHAUSTED.ends == "UNVERIFIED" and EXHAUSTED.hold_seconds > 0 and EXHAUSTED.report is not None
    timeline = Timeline(baseline="on", setting="PRICE_CACHE", ends=EXHAUSTED.ends)
    timeline.observe(Sample(1.0, incidents=(_incident("UNVERIFIED", "restart HEALED_RESTART=inc-1"),)))
    assert timeline.ended and timeline.gave_up is None
    seeded = Timeline(baseline="0.3")
    seeded.observe(Sample(1.0, incidents=(_incident("UNVERIFIED", "set_env FAILURE_RATE=0"),)))
    assert not seeded.ended and "UNVERIFIED" in (seeded.gave_up or "")


def _report(scenario: Play, *args: Any) -> Report:
    """The scenario's report (each tested scenario has one)."""
    assert scenario.report is not None
    return scenario.report(*args)


class _Queue:
    """A stand-in SQS client holding SNS envelopes."""

    def __init__(self, bodies: list[str]) -> None:
        self.bodies = bodies

    def receive_message(self, **kwargs: Any) -> dict[str, Any]:
        return {"Messages": [{"Body": body} for body in self.bodies]}


class _Target:
    def __init__(self, queue: _Queue) -> None:
        self.queue = queue

    def client(self, name: str) -> _Queue:
        assert name == "sqs"
        return self.queue


def _exhausted_timeline(*incidents: Incident) -> Timeline:
    timeline = Timeline(baseline="on", setting="PRICE_CACHE", ends="UNVERIFIED")
    timeline.observe(Sample(1.0, alarm_state="ALARM", incidents=incidents))
    return timeline


def _exhausted_incident(actions: tuple[str, ...]) -> Incident:
    from healer.incident import StepRecord

    steps = tuple(
        StepRecord(
            i,
            a,
            0.0,
            "applied",
            "ok",
            ({"field": f"Environment.Variables.V{i}", "before": None, "after": "x"},),
        )
        for i, a in enumerate(actions)
    )
    return replace(
        _incident("UNVERIFIED", f"{actions[-1]} …"),
        steps=steps,
        decision_code="verify_timeout",
        playbook=("set_env", "restart"),
    )


ESCALATION = json.dumps(
    {
        "Subject": "selfheal: verify timeout for exhausted-pricing-errors",
        "Message": "selfheal escalation\n\nWhat was done:   restart\n"
        "Why:             the playbook is exhausted\n"
        "Incident:        inc-1 (see `selfheal status`)\n",
    }
)


def test_exhausted_report_shows_both_steps_the_escalation_and_no_further_action() -> None:
    """Two steps, an escalation of the incident in the queue, no third action: the report passes."""
    incident = _exhausted_incident(("set_env", "restart"))
    timeline = _exhausted_timeline(incident)
    report = _report(EXHAUSTED, _Target(_Queue([ESCALATION])), {"escalation_queue_url": "q"}, timeline, None)
    assert report.failure is None, report.failure
    text = "\n".join(report.lines)
    assert "step 1: set_env — V0 unset → x" in text and "step 2: restart" in text
    assert "escalated to people (escalation topic → SQS): selfheal: verify timeout" in text
    assert "Why:             the playbook is exhausted" in text
    assert "no further action: 2 actions in the ledger, alarm still ALARM" in text


@pytest.mark.parametrize(
    ("actions", "bodies", "problem"),
    [
        (("set_env", "restart"), [], "no escalation of incident inc-1"),
        (("set_env", "restart", "set_env"), [ESCALATION], "acted again"),
        (("set_env",), [ESCALATION], "not the playbook"),
    ],
)
def test_exhausted_report_fails_without_escalation_or_with_another_action(
    actions: tuple[str, ...], bodies: list[str], problem: str
) -> None:
    """A missing escalation, a third action or a step short is the scenario's failure."""
    incident = _exhausted_incident(actions)
    report = _report(
        EXHAUSTED, _Target(_Queue(bodies)), {"escalation_queue_url": "q"}, _exhausted_timeline(incident), None
    )
    assert report.failure is not None and problem in report.failure


def test_read_escalations_unwraps_sns_envelopes() -> None:
    """Each SQS message is an SNS envelope: its Subject and Message are the escalation."""
    [found] = read_escalations(_Queue([ESCALATION]), "q")
    assert found.subject.startswith("selfheal: verify timeout") and "Incident:        inc-1" in found.message


def test_an_escalation_scenario_titles_its_summary_and_prints_its_notes() -> None:
    """The summary's title is the scenario's, its notes follow the totals; a failure says NOT as expected."""
    out = io.StringIO()
    summary = replace(_summary("exhausted"), title=EXHAUSTED.title, notes=("no further action: 2 actions",))
    render_summary(summary, Console(file=out, width=200, color_system=None))
    text = " ".join(out.getvalue().split())
    assert "playbook exhausted, escalated to people — scenario exhausted" in text
    assert "no further action: 2 actions" in text
    out = io.StringIO()
    render_summary(replace(summary, failure="boom"), Console(file=out, width=200, color_system=None))
    assert "NOT as expected (playbook exhausted, escalated to people)" in " ".join(out.getvalue().split())


class _Sqs:
    """A stand-in SQS client: records bodies, refuses the ones listed."""

    def __init__(self, refuse: int = 0) -> None:
        self.bodies: list[str] = []
        self.refuse = refuse

    def send_message(self, QueueUrl: str, MessageBody: str) -> dict[str, str]:
        from botocore.exceptions import ClientError

        if self.refuse:
            self.refuse -= 1
            raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "SendMessage")
        self.bodies.append(MessageBody)
        return {"MessageId": str(len(self.bodies))}


def test_the_order_sender_counts_what_sqs_accepted_and_sends_the_poison_once() -> None:
    """Orders at the rate, five malformed ones after poison_after, each an event; refusals not counted."""
    import threading

    sqs = _Sqs(refuse=2)
    sender = OrderSender(sqs, "q", 200.0, poison=3, poison_after=0.05, poison_spacing=0.01)
    thread = threading.Thread(target=sender.run)
    thread.start()
    deadline = time.monotonic() + 10
    while sender.poison_sent < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    sender.stop()
    thread.join(5)
    bodies = [json.loads(b) for b in sqs.bodies]
    poison = [b for b in bodies if not isinstance(b["quantity"], int)]
    assert len(poison) == sender.poison_sent == 3 and sender.refused == 2
    assert sender.accepted == len(bodies) == sender.orders_sent + 3
    assert len({b["order_id"] for b in bodies}) == len(bodies)
    assert sender.take_events() == [
        f"poison: malformed order poison-{i} sent to the queue" for i in (1, 2, 3)
    ]
    assert sender.take_events() == []
    assert sender.stats.snapshot().completed == len(bodies) + 2


class _QueueCounts:
    """A stand-in SQS client answering GetQueueAttributes per queue URL."""

    def __init__(self, counts: dict[str, int]) -> None:
        self.counts = counts

    def get_queue_attributes(self, QueueUrl: str, AttributeNames: list[str]) -> dict[str, Any]:
        return {"Attributes": {"ApproximateNumberOfMessages": str(self.counts[QueueUrl])}}


class _Lambda:
    def __init__(self, state: str) -> None:
        self.state = state

    def get_event_source_mapping(self, UUID: str) -> dict[str, str]:
        return {"UUID": UUID, "State": self.state}


class _Cloud:
    def __init__(self, counts: dict[str, int], state: str) -> None:
        self.clients = {"sqs": _QueueCounts(counts), "lambda": _Lambda(state)}

    def client(self, name: str) -> Any:
        return self.clients[name]


POISON_OUTPUTS = {
    "queue_url": "orders",
    "dlq_url": "dlq",
    "fulfilment_queue_url": "done",
    "event_source_mapping_uuid": "u-1",
}


def _sent(orders: int, poison: int) -> OrderSender:
    sender = OrderSender(_Sqs(), "orders", 10.0)
    sender.orders_sent, sender.poison_sent = orders, poison
    return sender


def test_poison_queue_report_accounts_for_every_message() -> None:
    """Sent = processed + queued + dead, with the mapping Disabled: none lost, no failure."""
    cloud = _Cloud({"orders": 40, "dlq": 2, "done": 63}, "Disabled")
    report = _report(POISON_QUEUE, cloud, POISON_OUTPUTS, Timeline(baseline="Enabled"), _sent(100, 5))
    assert report.failure is None, report.failure
    assert report.lines[0] == (
        "messages: 105 sent (100 orders, 5 poison) = "
        "63 processed + 40 in the queue + 2 in the DLQ — none lost"
    )
    assert "event source mapping u-1: Disabled" in report.lines[1]


@pytest.mark.parametrize(
    ("counts", "state", "problem"),
    [
        ({"orders": 40, "dlq": 0, "done": 63}, "Disabled", "105 messages sent but 103 accounted for"),
        ({"orders": 40, "dlq": 2, "done": 63}, "Enabled", "the event source mapping is Enabled"),
    ],
)
def test_poison_queue_report_fails_on_a_lost_message_or_a_mapping_left_on(
    counts: dict[str, int], state: str, problem: str
) -> None:
    """A message unaccounted for, or a mapping still enabled, is the scenario's failure."""
    cloud = _Cloud(counts, state)
    report = _report(POISON_QUEUE, cloud, POISON_OUTPUTS, Timeline(baseline="Enabled"), _sent(100, 5))
    assert report.failure is not None and problem in report.failure


def test_poison_queue_drift_is_the_mapping_enabled_again() -> None:
    """From a plan, poison-queue keeps the mapping's enabled line and the tally."""
    plan = """
  ~ resource "aws_lambda_event_source_mapping" "orders" {
      ~ enabled                            = false -> true
        id                                 = "u-1"
    }

Plan: 0 to add, 1 to change, 0 to destroy.
"""
    assert drift_lines(plan, POISON_QUEUE.drift) == (
        "~ enabled                            = false -> true",
        "Plan: 0 to add, 1 to change, 0 to destroy.",
    )
