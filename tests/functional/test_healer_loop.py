"""Functional tests of the healer's Detect → Decide → Act → Verify loop against moto."""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

import pytest
from healer_fixtures import ALARM_NAME, TARGET, FaultyClient, alarm_message, healer_sandbox, sns_event

from healer.healing import RunLimits


def emf_lines(captured: str) -> list[dict[str, Any]]:
    """The EMF metric documents among captured stdout lines."""
    lines = []
    for line in captured.splitlines():
        try:
            document = json.loads(line)
        except ValueError:
            continue
        if isinstance(document, dict) and "_aws" in document:
            lines.append(document)
    return lines


def test_alarm_resets_failure_rate_keeping_every_other_variable() -> None:
    """An ALARM on the target sets FAILURE_RATE=0, keeps the rest, adds the markers and records it."""
    with healer_sandbox("0.7") as box:
        box.set_function_env({**box.function_env(), "LATENCY_MS": "250"})
        box.clock.at(box.clock.now() + 30, lambda: box.set_alarm("OK"))
        result = box.healer().handle_event(
            sns_event(alarm_message(at=box.clock.now())), box.context().remaining_seconds
        )
        [summary] = result["results"]
        env = box.function_env()
        assert (
            env["FAILURE_RATE"] == "0" and env["LATENCY_MS"] == "250" and env["FAILURE_MODE"] == "exception"
        )
        assert env["PREVIOUS_FAILURE_RATE"] == "0.7" and env["HEALED_BY"] == "selfheal-healer"
        assert env["HEALED_INCIDENT"] == summary["incident_id"]
        assert summary["decision"] == "act" and summary["action_taken"].startswith("set_env FAILURE_RATE=0 ")
        [incident] = box.incidents()
        assert incident.status == "RECOVERED" and incident.action_at is not None
        assert incident.previous_failure_rate == "0.7"
        assert box.escalations() == []


def test_verify_success_records_time_to_recover_and_prints_emf(capsys: pytest.CaptureFixture[str]) -> None:
    """When the alarm turns OK the time from ALARM to OK is recorded and emitted as TimeToRecover."""
    with healer_sandbox() as box:
        alarm_at = box.clock.now() - 120
        box.clock.at(box.clock.now() + 40, lambda: box.set_alarm("OK"))
        capsys.readouterr()
        box.healer().handle_event(sns_event(alarm_message(at=alarm_at)))
        ok_at = box.aws["cloudwatch"].describe_alarms(AlarmNames=[ALARM_NAME])["MetricAlarms"][0]
        expected = ok_at["StateUpdatedTimestamp"].astimezone(UTC).timestamp() - alarm_at
        [incident] = box.incidents()
        assert incident.status == "RECOVERED"
        assert incident.time_to_recover == pytest.approx(expected, abs=0.01)
        [emf] = emf_lines(capsys.readouterr().out)
        [directive] = emf["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == "Selfheal"
        assert directive["Metrics"] == [{"Name": "TimeToRecover", "Unit": "Seconds"}]
        assert emf["TimeToRecover"] == [pytest.approx(expected, abs=0.01)]


def test_verify_timeout_escalates_and_never_acts_twice() -> None:
    """If the alarm stays in ALARM past the verify deadline, people are told; redelivery acts no more."""
    with healer_sandbox() as box:
        lambda_ = FaultyClient(box.aws["lambda"])
        healer = box.healer(box.clients(lambda_=lambda_), verify_timeout_seconds=60)
        event = sns_event(alarm_message(at=box.clock.now()))
        [summary] = healer.handle_event(event)["results"]
        assert summary["verification"] == "timed_out" and summary["escalated"]
        [incident] = box.incidents()
        assert incident.status == "UNVERIFIED" and "not OK within 60s" in (incident.outcome or "")
        assert incident.decision_code == "verify_timeout" and "playbook is exhausted" in (
            incident.reason or ""
        )
        assert incident.action == "set_env FAILURE_RATE=0 (was 0.5)"
        [escalation] = box.escalations()
        assert "verify timeout" in escalation["Subject"] and len(escalation["Subject"]) <= 100
        assert (
            "set_env FAILURE_RATE=0 (was 0.5)" in escalation["Message"]
            and "What to do" in escalation["Message"]
        )
        box.set_function_env({**box.function_env(), "FAILURE_RATE": "0.9"})
        [again] = healer.handle_event(event)["results"]
        assert again["code"] == "duplicate"
        assert lambda_.count("update_function_configuration") == 1
        assert box.function_env()["FAILURE_RATE"] == "0.9"


def test_running_out_of_lambda_time_leaves_incident_open_for_ok_notification(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Verification stops before the invocation's deadline; the OK notification later closes it, once."""
    with healer_sandbox() as box:
        alarm_at = box.clock.now()
        healer = box.healer(verify_timeout_seconds=600)
        context = box.context(seconds=30)
        event = sns_event(alarm_message(at=alarm_at))
        [summary] = healer.handle_event(event, context.remaining_seconds)["results"]
        assert summary["verification"] == "out_of_time"
        assert box.clock.now() < context.deadline
        assert box.incidents()[0].status == "ACTED"
        capsys.readouterr()
        ok = sns_event(alarm_message("alarm_fragile_ok.json", at=alarm_at + 95))
        [closed] = healer.handle_event(ok)["results"]
        assert closed["decision"] == "close" and closed["time_to_recover_seconds"] == pytest.approx(95)
        [incident] = box.incidents()
        assert incident.status == "RECOVERED" and incident.time_to_recover == pytest.approx(95)
        assert incident.outcome == "recovered (verified by OK notification)"
        assert [t.state for t in incident.transitions] == ["ALARM", "OK"]
        assert len(emf_lines(capsys.readouterr().out)) == 1
        [again] = healer.handle_event(ok)["results"]
        assert (again["decision"], again["code"]) == ("skip", "no_open_incident")
        assert emf_lines(capsys.readouterr().out) == []
        assert box.escalations() == []


def test_duplicate_delivery_acts_once() -> None:
    """The same transition delivered twice (SNS/Lambda retry) leads to one action."""
    with healer_sandbox() as box:
        box.clock.at(box.clock.now() + 10, lambda: box.set_alarm("OK"))
        lambda_ = FaultyClient(box.aws["lambda"])
        healer = box.healer(box.clients(lambda_=lambda_))
        event = sns_event(alarm_message(at=box.clock.now()))
        first = healer.handle_event(event)["results"][0]
        box.set_function_env({**box.function_env(), "FAILURE_RATE": "0.5"})
        second = healer.handle_event(event)["results"][0]
        assert first["decision"] == "act" and second["code"] == "duplicate"
        assert lambda_.count("update_function_configuration") == 1
        assert len(box.incidents()) == 1


def test_dry_run_records_without_acting() -> None:
    """With DRY_RUN the decision is recorded but the function is untouched."""
    with healer_sandbox() as box:
        lambda_ = FaultyClient(box.aws["lambda"])
        [summary] = box.healer(box.clients(lambda_=lambda_), dry_run=True).handle_event(
            sns_event(alarm_message(at=box.clock.now()))
        )["results"]
        assert summary["decision"] == "observe" and summary["action_taken"] == "none"
        assert lambda_.count("update_function_configuration") == 0
        assert box.function_env()["FAILURE_RATE"] == "0.5"
        [incident] = box.incidents()
        assert incident.status == "OBSERVED" and "would run step 1: set_env FAILURE_RATE=0" in (
            incident.reason or ""
        )


@pytest.mark.parametrize(
    ("fixture", "code"),
    [
        ("alarm_other_function.json", "unregistered_alarm"),
        ("alarm_other_namespace.json", "unregistered_alarm"),
        ("alarm_metric_math.json", "unregistered_alarm"),
        ("alarm_fragile_insufficient_data.json", "not_alarm"),
        ("alarm_fragile_ok.json", "no_open_incident"),
    ],
)
def test_notifications_that_are_not_ours_change_nothing(fixture: str, code: str) -> None:
    """Alarms not in the registry, INSUFFICIENT_DATA and an OK without incident are skipped with no writes."""
    with healer_sandbox() as box:
        lambda_ = FaultyClient(box.aws["lambda"])
        [summary] = box.healer(box.clients(lambda_=lambda_)).handle_event(sns_event(alarm_message(fixture)))[
            "results"
        ]
        assert (summary["decision"], summary["code"]) == ("skip", code)
        assert lambda_.count("update_function_configuration") == 0
        assert box.incidents() == [] and box.escalations() == []


@pytest.mark.parametrize("failure_rate", ["0"])
def test_failure_rate_already_zero_escalates(failure_rate: str | None) -> None:
    """A failing target whose FAILURE_RATE is already 0 is escalated, not touched."""
    with healer_sandbox(failure_rate) as box:
        before = box.function_env()
        [summary] = box.healer().handle_event(sns_event(alarm_message(at=box.clock.now())))["results"]
        assert (summary["decision"], summary["code"]) == ("escalate", "nothing_to_change")
        assert box.function_env() == before
        [escalation] = box.escalations()
        assert "cannot help" in escalation["Message"]
        assert box.incidents()[0].status == "ESCALATED"


def test_new_alarm_inside_cooldown_escalates() -> None:
    """A second ALARM transition within the cooldown of the first action escalates without acting."""
    with healer_sandbox() as box:
        healer = box.healer(verify_timeout_seconds=0, cooldown_seconds=300)
        healer.handle_event(sns_event(alarm_message(at=box.clock.now())))
        box.escalations()
        box.set_function_env({**box.function_env(), "FAILURE_RATE": "0.5"})
        box.clock.advance(120)
        [summary] = healer.handle_event(sns_event(alarm_message(at=box.clock.now())))["results"]
        assert summary["code"] == "cooldown"
        assert box.function_env()["FAILURE_RATE"] == "0.5"
        [escalation] = box.escalations()
        assert "cooldown" in escalation["Subject"]
        box.clock.advance(200)
        [later] = healer.handle_event(sns_event(alarm_message(at=box.clock.now())))["results"]
        assert later["decision"] == "act"


def test_cap_per_window_escalates_then_resets() -> None:
    """Beyond MAX_ACTIONS_PER_WINDOW actions in the window it escalates; once they age out it acts again."""
    with healer_sandbox() as box:
        healer = box.healer(
            verify_timeout_seconds=0, cooldown_seconds=0, max_actions_per_window=2, action_window_seconds=1000
        )
        codes = []
        for _ in range(3):
            box.set_function_env({**box.function_env(), "FAILURE_RATE": "0.5"})
            codes.append(
                healer.handle_event(sns_event(alarm_message(at=box.clock.now())))["results"][0]["code"]
            )
            box.clock.advance(100)
        assert codes == ["run_step", "run_step", "action_cap"]
        box.clock.advance(1000)
        [summary] = healer.handle_event(sns_event(alarm_message(at=box.clock.now())))["results"]
        assert summary["decision"] == "act"


def test_recent_incidents_lists_newest_first_with_limit() -> None:
    """The operator read API returns incidents newest first and honours the limit."""
    with healer_sandbox() as box:
        healer = box.healer(verify_timeout_seconds=0, cooldown_seconds=0, limits=RunLimits())
        starts = [box.clock.now() + offset for offset in (0, 500, 1000)]
        for start in starts:
            box.set_function_env({**box.function_env(), "FAILURE_RATE": "0.5"})
            healer.handle_event(sns_event(alarm_message(at=start)))
        incidents = box.incidents(limit=2)
        assert [i.alarm_time.timestamp() for i in incidents] == [starts[2], starts[1]]
        assert all(i.alarm_name == ALARM_NAME and i.target == TARGET for i in incidents)
        with pytest.raises(ValueError, match="limit"):
            box.incidents(limit=0)


def test_insufficient_data_is_noted_on_the_open_incident_without_closing_it() -> None:
    """INSUFFICIENT_DATA while an incident waits for OK is recorded as a transition; it stays open."""
    with healer_sandbox() as box:
        alarm_at = box.clock.now()
        healer = box.healer(verify_timeout_seconds=600)
        context = box.context(seconds=10)
        healer.handle_event(sns_event(alarm_message(at=alarm_at)), context.remaining_seconds)
        event = sns_event(alarm_message("alarm_fragile_insufficient_data.json", at=alarm_at + 30))
        [summary] = healer.handle_event(event)["results"]
        assert (summary["decision"], summary["code"]) == ("skip", "not_alarm")
        [incident] = box.incidents()
        assert incident.status == "ACTED" and incident.is_open
        assert [t.state for t in incident.transitions] == ["ALARM", "INSUFFICIENT_DATA"]
