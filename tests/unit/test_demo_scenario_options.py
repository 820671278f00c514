"""`selfheal demo --scenario`: the names, their checks, what each scenario applies, and `all`'s order."""

from __future__ import annotations

import io
import re
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
from selfheal.demo.plays import BAD_DEPLOY, FLAG, Breakage, find_deploy_dir, play
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
    [("flag", ("flag",)), ("bad-deploy", ("bad-deploy",)), ("all", ("flag", "bad-deploy"))],
)
def test_scenario_names_resolve_in_order(name: str, expected: tuple[str, ...]) -> None:
    """A scenario runs alone; `all` runs every one, flag first."""
    assert resolve_scenarios(name) == expected
    assert DemoSettings(scenario=name).scenarios == expected


@pytest.mark.parametrize("name", ["nope", "", "FLAG", "poison-queue"])
def test_an_unknown_scenario_is_refused_naming_the_known_ones(name: str) -> None:
    """An unknown (or not yet implemented) name is a ValueError listing flag, bad-deploy and all."""
    with pytest.raises(
        ValueError, match=r"unknown scenario .*: --scenario must be one of flag, bad-deploy, all"
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


def test_cli_help_names_the_scenarios_there_are_and_those_planned() -> None:
    """`demo --help` lists flag, bad-deploy and all, and says which planned scenarios are not there yet."""
    result = CliRunner().invoke(app, ["demo", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "--scenario" in text
    for name in [*SCENARIOS, "all", *PLANNED_SCENARIOS]:
        assert name in text
    assert re.search(r"Not implemented yet: poison-queue, overload, exhausted", text)


@pytest.mark.parametrize("given", [None, "flag", "bad-deploy", "all"])
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


def test_all_runs_flag_then_bad_deploy_and_returns_the_worst_exit(monkeypatch: pytest.MonkeyPatch) -> None:
    """`--scenario all` runs each scenario in turn, prints each summary, and exits with the worst code."""
    ran: list[str] = []

    def fake(settings: DemoSettings, *args: Any, **kwargs: Any) -> DemoResult:
        ran.append(settings.scenario)
        failed = settings.scenario == "flag"
        return DemoResult(_summary(settings.scenario, "boom" if failed else None), 1 if failed else 0)

    monkeypatch.setattr(selfheal.demo.run, "run_demo", fake)
    out = io.StringIO()
    code = run_demo_command(DemoSettings(scenario="all"), Workdir(Path("w")), Console(file=out, width=200))
    assert ran == ["flag", "bad-deploy"]
    assert code == 1
    text = out.getvalue()
    assert (
        text.index("scenario 1/2: flag")
        < text.index("scenario flag,")
        < text.index("scenario 2/2: bad-deploy")
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


@pytest.mark.parametrize("scenario", [FLAG, BAD_DEPLOY])
def test_each_scenario_applies_a_module_of_deploy_with_its_own_variables(scenario: Any) -> None:
    """The module is found from the checkout, and every variable the demo sets is one of its variables."""
    module = find_deploy_dir(scenario.module, start=ROOT)
    assert module == ROOT / scenario.module
    interface = read_interface(module)
    assert set(scenario.variables(DemoSettings())) <= set(interface.variables)
    # The names the demo, the dashboard and `selfheal status` read.
    assert {"api_endpoint", "fragile_function_name", "alarm_name", "ledger_table_name", "region"} <= set(
        interface.outputs
    )


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
