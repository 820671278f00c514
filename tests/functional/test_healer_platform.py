"""Functional tests of the platform against moto: routing by the registry, playbooks, modes, rails, commands.

Two functions of their own — ``orders`` behind the alias ``live`` (playbook ``rollback_alias``) and
``payments`` (``set_env``) — beside the seed's fragile function. Each test drives the healer with alarm
notifications or operator commands and reads back what changed in Lambda, the ledger and the escalation
topic.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from healer_fixtures import (
    ALARM_NAME,
    EVENTS,
    REGISTRY,
    TARGET,
    FaultyClient,
    Sandbox,
    alarm_message_for,
    healer_sandbox,
    sns_event,
)

from healer.clients import reset_clients
from healer.registry import Protection, Rails

ORDERS, ORDERS_ALARM = "orders", "orders-errors"
PAYMENTS, PAYMENTS_ALARM = "payments", "payments-errors"
RAILS = Rails(cooldown_seconds=300, max_actions_per_window=3, verify_timeout_seconds=60)


def add_orders(box: Sandbox, mode: str = "auto") -> None:
    """``orders``: versions 1 and 2 published, alias ``live`` on 2, protected by ``rollback_alias``."""
    box.add_target(ORDERS, ORDERS_ALARM, "0", register=False)
    lam = box.aws["lambda"]
    assert lam.publish_version(FunctionName=ORDERS)["Version"] == "1"
    box.set_function_env({**box.function_env(ORDERS), "RELEASE": "2"}, ORDERS)
    assert lam.publish_version(FunctionName=ORDERS)["Version"] == "2"
    lam.create_alias(FunctionName=ORDERS, Name="live", FunctionVersion="2")
    box.register(
        Protection(ORDERS_ALARM, ORDERS, ("rollback_alias",), mode=mode, alias_name="live", rails=RAILS)  # type: ignore[arg-type]
    )


def add_payments(box: Sandbox, mode: str = "auto", playbook: tuple[str, ...] = ("set_env",)) -> None:
    """``payments``: FAILURE_RATE 0.5, protected by ``set_env FAILURE_RATE=0``."""
    box.add_target(PAYMENTS, PAYMENTS_ALARM, "0.5", register=False)
    box.register(
        Protection(
            PAYMENTS_ALARM,
            PAYMENTS,
            playbook,
            mode=mode,  # type: ignore[arg-type]
            set_env={"FAILURE_RATE": "0"},
            rails=RAILS,
        )
    )


def alarm(
    box: Sandbox, function: str, name: str, fixture: str = "alarm_fragile_alarm.json"
) -> dict[str, Any]:
    """An SNS event of ``name`` going to ALARM now, about ``function``."""
    return sns_event(alarm_message_for(function, name, fixture, box.clock.now()))


def alias_version(box: Sandbox) -> str:
    """The version the ``live`` alias of ``orders`` points to."""
    return str(box.aws["lambda"].get_alias(FunctionName=ORDERS, Name="live")["FunctionVersion"])


def command(box: Sandbox, healer: Any, name: str, incident_id: str) -> dict[str, Any]:
    """Run an operator command through the healer's entry point, as the CLI's Invoke does."""
    result: dict[str, Any] = healer.handle_event(
        {"selfheal_command": name, "incident_id": incident_id, "operator": "alice"}
    )
    return result


def test_an_alarm_runs_its_own_functions_playbook_and_touches_nothing_else() -> None:
    """orders' alarm rolls its alias back, touching nothing else; restore undoes it."""
    with healer_sandbox() as box:
        add_orders(box)
        add_payments(box)
        lambda_ = FaultyClient(box.aws["lambda"])
        healer = box.healer(box.clients(lambda_=lambda_))
        before = {name: box.function_env(name) for name in (PAYMENTS, TARGET)}
        box.clock.at(box.clock.now() + 20, lambda: box.set_alarm("OK", ORDERS_ALARM))
        [summary] = healer.handle_event(alarm(box, ORDERS, ORDERS_ALARM))["results"]
        assert (summary["code"], summary["function"], summary["verification"]) == (
            "run_step",
            ORDERS,
            "verified by DescribeAlarms",
        )
        assert alias_version(box) == "1"
        assert {name: box.function_env(name) for name in (PAYMENTS, TARGET)} == before
        touched = {kwargs.get("FunctionName") for name, kwargs in lambda_.calls if name.startswith("update")}
        assert touched == {ORDERS}
        [incident] = box.incidents()
        assert incident.status == "RECOVERED" and incident.target == ORDERS
        assert incident.action == "rollback_alias FunctionVersion=1 (was 2)"
        [step] = incident.steps
        assert (step.action, step.status) == ("rollback_alias", "applied")
        restored = command(box, healer, "restore", incident.incident_id)
        assert restored["rejected"] == [] and restored["results"][0]["restore"] == "restored"
        assert alias_version(box) == "2"
        again = command(box, healer, "restore", incident.incident_id)
        assert again["results"] == [] and "restored already" in again["rejected"][0]["reason"]
        assert alias_version(box) == "2"
        [record] = box.aws["dynamodb"].query(
            TableName="selfheal-ledger",
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": "RESTORES"}},
        )["Items"]
        assert record["incident_id"]["S"] == incident.incident_id and record["operator"]["S"] == "alice"


def test_restore_leaves_a_value_someone_changed_since() -> None:
    """Restore puts back only what still holds the healer's value, and says what it left."""
    with healer_sandbox() as box:
        healer = box.healer(verify_timeout_seconds=0)
        [summary] = healer.handle_event(alarm(box, TARGET, ALARM_NAME))["results"]
        assert box.function_env()["FAILURE_RATE"] == "0"
        box.set_function_env({**box.function_env(), "FAILURE_RATE": "0.2"})
        result = command(box, healer, "restore", summary["incident_id"])
        [done] = result["results"]
        assert done["restore"] == "not restored" and "FAILURE_RATE" in done["detail"]
        assert box.function_env()["FAILURE_RATE"] == "0.2"


def test_unregistered_alarm_changes_nothing_even_for_a_protected_function() -> None:
    """Routing is by alarm name: an alarm on the fragile function that is not registered is ignored."""
    with healer_sandbox() as box:
        lambda_ = FaultyClient(box.aws["lambda"])
        [summary] = box.healer(box.clients(lambda_=lambda_)).handle_event(
            alarm(box, TARGET, "selfheal-fragile-unregistered")
        )["results"]
        assert summary["code"] == "unregistered_alarm"
        assert lambda_.count("update_function_configuration") == 0
        assert box.incidents() == [] and box.escalations() == []


def test_invalid_registry_entry_escalates_and_changes_nothing() -> None:
    """A registry parameter that does not parse: people are told which, nothing is changed."""
    with healer_sandbox() as box:
        healer = box.healer()
        box.aws["ssm"].put_parameter(
            Name=f"{REGISTRY}/alarms/{ALARM_NAME}",
            Value='{"schema_version": 1}',
            Type="String",
            Overwrite=True,
        )
        [summary] = healer.handle_event(alarm(box, TARGET, ALARM_NAME))["results"]
        assert summary["code"] == "registry_invalid" and "function_name" in summary["reason"]
        assert box.function_env()["FAILURE_RATE"] == "0.5" and box.incidents() == []
        [escalation] = box.escalations()
        assert "registry invalid" in escalation["Subject"]


@pytest.mark.parametrize("switch", ["on", None, "maybe"])
def test_kill_switch_turns_every_function_to_observe(switch: str | None) -> None:
    """Kill switch on, missing or unreadable: the plan is recorded, nothing changes (fail closed)."""
    with healer_sandbox() as box:
        add_payments(box)
        healer = box.healer()
        box.kill_switch(switch)
        for function, name in ((TARGET, ALARM_NAME), (PAYMENTS, PAYMENTS_ALARM)):
            [summary] = healer.handle_event(alarm(box, function, name))["results"]
            assert (summary["decision"], summary["code"]) == ("observe", "observe")
            assert "kill switch" in summary["reason"]
            assert box.function_env(function)["FAILURE_RATE"] == "0.5"
        assert {i.status for i in box.incidents()} == {"OBSERVED"}
        box.kill_switch("off")
        box.set_alarm("OK", PAYMENTS_ALARM)
        box.clock.advance(60)
        [acted] = healer.handle_event(alarm(box, PAYMENTS, PAYMENTS_ALARM))["results"]
        assert acted["code"] == "run_step" and box.function_env(PAYMENTS)["FAILURE_RATE"] == "0"


def test_approve_mode_waits_for_selfheal_approve() -> None:
    """In approve mode the healer asks with the exact command, acts only after it, and only once."""
    with healer_sandbox() as box:
        add_payments(box, mode="approve")
        healer = box.healer()
        [summary] = healer.handle_event(alarm(box, PAYMENTS, PAYMENTS_ALARM))["results"]
        incident_id = summary["incident_id"]
        assert summary["code"] == "awaiting_approval"
        assert f"selfheal approve {incident_id}" in summary["reason"]
        assert box.function_env(PAYMENTS)["FAILURE_RATE"] == "0.5"
        [asked] = box.escalations()
        assert f"selfheal approve {incident_id}" in asked["Message"]
        assert box.incidents()[0].status == "AWAITING_APPROVAL"
        box.clock.at(box.clock.now() + 20, lambda: box.set_alarm("OK", PAYMENTS_ALARM))
        result = command(box, healer, "approve", incident_id)
        [approved] = result["results"]
        assert approved["code"] == "approved" and "alice" in approved["reason"]
        assert box.function_env(PAYMENTS)["FAILURE_RATE"] == "0"
        assert box.incidents()[0].status == "RECOVERED"
        again = command(box, healer, "approve", incident_id)
        assert "not AWAITING_APPROVAL" in again["rejected"][0]["reason"]
        assert command(box, healer, "approve", "inc-" + "0" * 20)["rejected"][0]["reason"].startswith(
            "no incident"
        )
        assert "incident_id" in command(box, healer, "approve", "42")["rejected"][0]["reason"]


def test_fleet_rail_escalates_past_the_in_flight_limit() -> None:
    """One remediation allowed in flight: a second function's alarm escalates while the first verifies."""
    with healer_sandbox() as box:
        add_payments(box)
        healer = box.healer(fleet_max_in_flight=1)
        # The fragile function's step is in flight (its verification ran out of invocation time).
        context = box.context(seconds=20)
        [first] = healer.handle_event(alarm(box, TARGET, ALARM_NAME), context.remaining_seconds)["results"]
        assert first["code"] == "run_step" and first["verification"] == "out_of_time"
        [second] = healer.handle_event(alarm(box, PAYMENTS, PAYMENTS_ALARM))["results"]
        assert second["code"] == "fleet_in_flight" and second["escalated"]
        assert box.function_env(PAYMENTS)["FAILURE_RATE"] == "0.5"


def test_fleet_rail_escalates_past_the_hourly_cap() -> None:
    """With one action per hour across the fleet, the second function's alarm escalates."""
    with healer_sandbox() as box:
        add_payments(box)
        healer = box.healer(fleet_max_actions_per_hour=1, verify_timeout_seconds=0)
        [first] = healer.handle_event(alarm(box, TARGET, ALARM_NAME))["results"]
        assert first["code"] == "run_step"
        box.clock.advance(120)
        [second] = healer.handle_event(alarm(box, PAYMENTS, PAYMENTS_ALARM))["results"]
        assert second["code"] == "fleet_rate"
        assert box.function_env(PAYMENTS)["FAILURE_RATE"] == "0.5"


def test_playbook_takes_the_next_step_when_the_first_did_not_hold() -> None:
    """set_env then restart: the alarm stays ALARM past the deadline, restart runs; then it escalates."""
    with healer_sandbox() as box:
        add_payments(box, playbook=("set_env", "restart"))
        [summary] = box.healer().handle_event(alarm(box, PAYMENTS, PAYMENTS_ALARM))["results"]
        assert summary["code"] == "run_step"
        assert [entry["code"] for entry in summary["then"]] == ["next_step", "verify_timeout"]
        env = box.function_env(PAYMENTS)
        assert env["FAILURE_RATE"] == "0" and env["HEALED_RESTART"] == summary["incident_id"]
        [incident] = box.incidents()
        assert [s.action for s in incident.steps] == ["set_env", "restart"]
        assert incident.status == "UNVERIFIED" and "playbook is exhausted" in (incident.reason or "")
        [escalation] = box.escalations()
        assert "verify timeout" in escalation["Subject"]


@pytest.mark.parametrize(
    "fixture",
    ["direct_alarm_metric_math.json", "eventbridge_alarm_composite.json", "sns_alarm_composite.json"],
)
def test_metric_math_and_composite_alarms_route_by_name(fixture: str) -> None:
    """Any delivery shape of a metric-math or composite alarm acts once its alarm name is registered."""
    with healer_sandbox() as box:
        event = json.loads((EVENTS / fixture).read_text())
        name = _alarm_name_of(event)
        box.register(Protection(name, TARGET, ("set_env",), set_env={"FAILURE_RATE": "0"}, rails=RAILS))
        [summary] = box.healer(verify_timeout_seconds=0).handle_event(event)["results"]
        assert summary["alarm"] == name and summary["function"] == TARGET and summary["code"] == "run_step"
        assert box.function_env()["FAILURE_RATE"] == "0"


def _alarm_name_of(event: dict[str, Any]) -> str:
    if "Records" in event:
        return str(json.loads(event["Records"][0]["Sns"]["Message"])["AlarmName"])
    if "detail" in event:
        return str(event["detail"]["alarmName"])
    return str(event["alarmData"]["alarmName"])


def test_clamp_concurrency_and_restore() -> None:
    """clamp_concurrency reserves the registered limit; restore puts the function back to unreserved."""
    with healer_sandbox() as box:
        box.add_target(PAYMENTS, PAYMENTS_ALARM, "0.5", register=False)
        box.register(
            Protection(PAYMENTS_ALARM, PAYMENTS, ("clamp_concurrency",), concurrency_limit=2, rails=RAILS)
        )
        healer = box.healer(verify_timeout_seconds=0)
        [summary] = healer.handle_event(alarm(box, PAYMENTS, PAYMENTS_ALARM))["results"]
        lam = box.aws["lambda"]
        assert summary["code"] == "run_step"
        assert lam.get_function_concurrency(FunctionName=PAYMENTS)["ReservedConcurrentExecutions"] == 2
        [incident] = box.incidents()
        assert incident.action == "clamp_concurrency ReservedConcurrentExecutions=2 (was unset)"
        assert command(box, healer, "restore", incident.incident_id)["results"][0]["restore"] == "restored"
        assert "ReservedConcurrentExecutions" not in lam.get_function_concurrency(FunctionName=PAYMENTS)


def test_disable_event_source_keeps_messages_and_restore_enables_it() -> None:
    """disable_event_source disables the listed mapping of the function only; restore enables it again."""
    with healer_sandbox() as box:
        box.add_target(PAYMENTS, PAYMENTS_ALARM, "0.5", register=False)
        lam, sqs = box.aws["lambda"], box.aws["sqs"]
        uuids = []
        for name in ("payments-in", "other-in"):
            url = sqs.create_queue(QueueName=name)["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
                "QueueArn"
            ]
            function = PAYMENTS if name == "payments-in" else TARGET
            uuids.append(lam.create_event_source_mapping(EventSourceArn=arn, FunctionName=function)["UUID"])
        box.register(
            Protection(
                PAYMENTS_ALARM,
                PAYMENTS,
                ("disable_event_source",),
                event_source_mapping_uuids=(uuids[0],),
                rails=RAILS,
            )
        )
        healer = box.healer(verify_timeout_seconds=0)
        [summary] = healer.handle_event(alarm(box, PAYMENTS, PAYMENTS_ALARM))["results"]
        assert summary["code"] == "run_step"
        states = [lam.get_event_source_mapping(UUID=u)["State"] for u in uuids]
        assert states[0] in ("Disabled", "Disabling") and states[1] in ("Enabled", "Enabling")
        [incident] = box.incidents()
        restored = command(box, healer, "restore", incident.incident_id)["results"][0]
        assert restored["restore"] == "restored", restored
        assert lam.get_event_source_mapping(UUID=uuids[0])["State"] in ("Enabled", "Enabling")


def test_restore_refused_when_the_remediation_role_cannot_be_assumed_changes_nothing() -> None:
    """A registry entry naming a remediation role: the healer acts through it; when STS then refuses it,
    restore is rejected with the role and the refusal named, and the function and ledger keep their state."""
    role = "arn:aws:iam::123456789012:role/selfheal/test/heal-fragile-0123abcd"
    with healer_sandbox() as box:
        sts = FaultyClient(box.client("sts"))
        healer = box.healer(box.clients(sts=sts), verify_timeout_seconds=0)
        rails = Rails(verify_timeout_seconds=0)
        protection = Protection(ALARM_NAME, TARGET, ("set_env",), set_env={"FAILURE_RATE": "0"}, rails=rails)
        box.register(replace(protection, role_arn=role))
        [summary] = healer.handle_event(alarm(box, TARGET, ALARM_NAME))["results"]
        assert box.function_env()["FAILURE_RATE"] == "0" and sts.count("assume_role") >= 1
        assert sts.calls[0][1]["RoleArn"] == role
        reset_clients()  # a new process: the cached session is gone, and STS now refuses
        sts.fail("assume_role", "AccessDenied")
        result = command(box, healer, "restore", summary["incident_id"])
        [rejected] = result["rejected"]
        assert f"AssumeRole({role}) failed: AccessDenied" in rejected["reason"], rejected
        assert box.function_env()["FAILURE_RATE"] == "0"
        [incident] = [i for i in box.incidents() if i.incident_id == summary["incident_id"]]
        assert incident.restored_at is None  # a later restore, once the role works again, may run
