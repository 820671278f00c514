"""The platform heals in the local cloud, end to end: deploy/examples/two_functions through real Terraform.

A LocalCloud as ``selfheal up`` runs it (IAM enforced, signed by its operator key only) at time scale 20;
Terraform applies the example (from a snapshot of deploy/ and src/healer) with ``payments_failure_rate = 1``.
Then, with the real healer running in the local Lambda runtime and only real traffic raising the alarms:

1. payments fails → one of its alarms (errors, error rate) goes ALARM → the healer (SNS, async) writes
   FAILURE_RATE=0, the ledger records the incident, the alarm returns to OK (RECOVERED); orders is untouched;
2. a bad release of orders (version 2 behind the alias ``live``, published out of band) fails through the
   alias → the healer rolls the alias back to 1 → RECOVERED; the operator's ``restore`` (a synchronous
   Invoke of the healer) moves it back to 2;
3. with the kill switch on, payments broken again → ALARM → the incident is only OBSERVED, FAILURE_RATE
   stays 1.0.
"""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from healer.incident import Incident
from healer.ledger import recent_incidents
from polling import eventually
from selfheal.cloud import LocalCloud
from selfheal.cloud.alarm_scheduler import AlarmScheduler
from selfheal.terraform.driver import Terraform
from selfheal.terraform.stack import write_stack

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]

REPO = Path(__file__).resolve().parents[2]
TIME_SCALE = 20.0  # a 60 s alarm period is 3 real seconds; the healer's waits shrink alike
STEP_TIMEOUT = 45.0  # real seconds for any one stage (an alarm, an action, a recovery)
INVOKE_GAP = 0.1  # real seconds between two invocations of the traffic: ~30 per alarm period
T = TypeVar("T")


def _snapshot(into: Path) -> Path:
    """Copy what the example needs (modules, examples, the healer's source) under ``into``."""
    for part in ("deploy/modules", "deploy/examples"):
        shutil.copytree(REPO / part, into / part, ignore=shutil.ignore_patterns(".build", ".terraform*"))
    shutil.copytree(
        REPO / "src" / "healer", into / "src" / "healer", ignore=shutil.ignore_patterns("__pycache__")
    )
    return into / "deploy" / "examples" / "two_functions"


@dataclass
class Platform:
    """The applied example in a running cloud, and the clients the operator uses."""

    cloud: LocalCloud
    out: dict[str, Any]

    def __post_init__(self) -> None:
        self.lam = self.cloud.client("lambda")
        self.cloudwatch = self.cloud.client("cloudwatch")
        self.ddb = self.cloud.client("dynamodb")
        self.ssm = self.cloud.client("ssm")

    def alarms(self, function: str) -> list[str]:
        """The names of ``function``'s alarms (payments: errors and error rate; orders: errors)."""
        return sorted(self.out["alarm_names"][function].values())

    def alarm_state(self, name: str) -> str:
        [alarm] = self.cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
        return str(alarm["StateValue"])

    def alarmed_since(self, function: str, since: float) -> list[str]:
        """``function``'s alarms that went to ALARM after cloud time ``since``; the alarms' history says, so
        an ALARM already healed back to OK between two looks still counts."""
        went = []
        for name in self.alarms(function):
            items = self.cloudwatch.describe_alarm_history(
                AlarmName=name, HistoryItemType="StateUpdate", StartDate=datetime.fromtimestamp(since, UTC)
            )["AlarmHistoryItems"]
            if any(json.loads(i["HistoryData"])["newState"]["stateValue"] == "ALARM" for i in items):
                went.append(name)
        return went

    def env(self, function: str) -> dict[str, str]:
        name = self.out[f"{function}_function_name"]
        variables: dict[str, str] = self.lam.get_function_configuration(FunctionName=name)["Environment"][
            "Variables"
        ]
        return variables

    def alias_version(self) -> str:
        alias = self.lam.get_alias(FunctionName=self.out["orders_function_name"], Name="live")
        return str(alias["FunctionVersion"])

    def incidents(self, function: str) -> list[Incident]:
        """The incidents of ``function`` (any of its alarms), newest first."""
        name = self.out[f"{function}_function_name"]
        found = recent_incidents(self.out["ledger_table_name"], limit=100, client=self.ddb)
        return [i for i in found if i.target == name]

    def invoke(self, function: str, qualifier: str | None = None) -> dict[str, Any]:
        """One synchronous invoke of ``function`` (through ``qualifier``), as a caller makes it."""
        extra = {"Qualifier": qualifier} if qualifier else {}
        response: dict[str, Any] = self.lam.invoke(
            FunctionName=self.out[f"{function}_function_name"], Payload=b"{}", **extra
        )
        response["Payload"].read()
        return response

    def traffic_until(
        self, function: str, done: Callable[[], T | None], what: str, qualifier: str | None = None
    ) -> tuple[T, list[dict[str, Any]]]:
        """Invoke ``function`` until ``done()`` is truthy; return it and every invoke's response."""
        responses: list[dict[str, Any]] = []

        def probe() -> T | None:
            responses.append(self.invoke(function, qualifier))
            time.sleep(INVOKE_GAP)
            return done()

        return self.eventually(probe, what), responses

    def eventually(self, probe: Callable[[], T | None], what: str) -> T:
        """:func:`polling.eventually` within a step's time, explaining a timeout with what the cloud shows."""
        return eventually(probe, STEP_TIMEOUT, what, explain=self.situation)

    def situation(self) -> str:
        """Alarms, their transitions, incidents, the two functions and the healer's last log lines."""
        lines = [f"{f}: env {self.env(f)}" for f in ("payments", "orders")]
        lines += [f"alarm {a}: {self.alarm_state(a)}" for f in ("payments", "orders") for a in self.alarms(f)]
        lines.append(f"orders alias live → {self.alias_version()}")
        transitions = AlarmScheduler.of(self.cloud).transitions
        lines += [f"transition {t.alarm_name} → {t.new_state}" for t in transitions]
        for function in ("payments", "orders"):
            lines += [
                f"incident {i.incident_id} {i.alarm_name} {i.status} {i.decision_code}: {i.reason}"
                for i in self.incidents(function)
            ]
        logs = self.cloud.client("logs")
        group = f"/aws/lambda/{self.out['healer_function_name']}"
        events = logs.filter_log_events(logGroupName=group)["events"]
        for event in events[-20:]:
            message = event["message"].rstrip()
            with contextlib.suppress(ValueError, KeyError, TypeError):
                message = json.dumps(json.loads(message)["healer"])  # a decision: what and why
            lines.append(message[:400])
        return "\n" + "\n".join(lines)


@pytest.fixture()
def platform(tmp_path: Path) -> Iterator[Platform]:
    """The two_functions example applied by real Terraform to a LocalCloud as `selfheal up` runs it."""
    example = _snapshot(tmp_path / "repo")
    stack = tmp_path / "stack"
    write_stack(stack, example, {"payments_failure_rate": "1.0"}, name="example")
    with LocalCloud(port=0, time_scale=TIME_SCALE, enforce_iam=True) as cloud:
        tf = Terraform(stack, cloud.endpoint, credentials=cloud.operator_key.environment())
        tf.init()
        tf.apply()
        yield Platform(cloud, tf.output())


def test_two_functions_heal_roll_back_restore_and_obey_the_kill_switch(platform: Platform) -> None:
    """set_env heals payments, rollback_alias (then restore) orders, and the kill switch only observes."""
    started = time.monotonic()
    p = platform
    assert p.env("payments")["FAILURE_RATE"] == "1"
    assert p.alias_version() == "1"
    orders_before = p.env("orders")

    healed = _heal_payments(p)
    assert p.alias_version() == "1" and p.env("orders") == orders_before, "orders was touched"

    payments_after = p.env("payments")
    _roll_back_and_restore_orders(p)
    assert p.env("payments") == payments_after, "payments was touched by orders' incident"

    _kill_switch_observes(p, healed)
    # Every call the healer made with its role's session was allowed by the policies Terraform wrote.
    assert p.cloud.iam.refusals == 0
    print(f"platform e2e: {time.monotonic() - started:.1f} s after apply")


def _heal_payments(p: Platform) -> Incident:
    """Failing payments → ALARM → FAILURE_RATE=0 by the healer → OK; the incident RECOVERED in the ledger.

    payments has two alarms (errors: 3 errors in 2 of 2 periods; error rate: 20 % in 2 of 3): whichever
    goes to ALARM first gets the incident that acts; the other, if it follows, finds the cooldown.
    """
    since = p.cloud.clock.now()
    _, responses = p.traffic_until(
        "payments", lambda: p.alarmed_since("payments", since), "an alarm of payments in ALARM"
    )
    assert responses[0].get("FunctionError") == "Unhandled"
    # Traffic goes on: the healed configuration serves it, and the alarm returns to OK.
    [incident], served = p.traffic_until(
        "payments",
        lambda: [i for i in p.incidents("payments") if i.status == "RECOVERED" and i.action],
        "a RECOVERED payments incident that acted",
    )
    assert served[-1].get("FunctionError") is None
    assert [i.incident_id for i in p.incidents("payments") if i.action] == [incident.incident_id]
    assert incident.alarm_name in p.alarms("payments")
    env = p.env("payments")
    assert env["FAILURE_RATE"] == "0"
    assert (env["PREVIOUS_FAILURE_RATE"], env["HEALED_INCIDENT"]) == ("1", incident.incident_id)
    assert incident.action is not None
    assert re.fullmatch(r"set_env FAILURE_RATE=0 \(was 1(\.0)?\)", incident.action), incident.action
    assert (incident.target, incident.mode, incident.decision_code) == ("shop-payments", "auto", "run_step")
    assert incident.time_to_recover is not None and incident.time_to_recover > 0
    assert p.alarm_state(incident.alarm_name) == "OK"
    return incident


def _roll_back_and_restore_orders(p: Platform) -> None:
    """A bad version behind ``live`` → ALARM → the alias back to 1 → OK; ``restore`` puts it on 2 again."""
    name = p.out["orders_function_name"]
    # A bad release, out of band: FAILURE_RATE 1.0 published as version 2, the alias moved onto it.
    p.lam.update_function_configuration(
        FunctionName=name, Environment={"Variables": {**p.env("orders"), "FAILURE_RATE": "1.0"}}
    )
    assert p.lam.publish_version(FunctionName=name)["Version"] == "2"
    p.lam.update_alias(FunctionName=name, Name="live", FunctionVersion="2")

    # Callers invoke the alias; the healer's rollback_alias moves it under their feet.
    _, failing = p.traffic_until(
        "orders", lambda: p.alias_version() == "1", "the alias rolled back to version 1", qualifier="live"
    )
    assert {(r["ExecutedVersion"], r.get("FunctionError")) for r in failing[:3]} == {("2", "Unhandled")}
    [incident], served = p.traffic_until(
        "orders",
        lambda: [i for i in p.incidents("orders") if i.status == "RECOVERED"],
        "a RECOVERED orders incident",
        qualifier="live",
    )
    assert {(r["ExecutedVersion"], r.get("FunctionError")) for r in served[-3:]} == {("1", None)}
    assert incident.action == "rollback_alias FunctionVersion=1 (was 2)"
    assert (incident.target, incident.decision_code) == (name, "run_step")
    assert p.alarm_state(incident.alarm_name) == "OK"

    # The operator's restore: a direct, synchronous Invoke of the healer.
    command = {"selfheal_command": "restore", "incident_id": incident.incident_id, "operator": "e2e"}
    response = p.lam.invoke(FunctionName=p.out["healer_function_name"], Payload=json.dumps(command).encode())
    assert response.get("FunctionError") is None
    answer = json.loads(response["Payload"].read())
    assert answer["rejected"] == [], answer
    [summary] = answer["results"]
    assert (summary["restore"], summary["operator"], summary["incident_id"]) == (
        "restored",
        "e2e",
        incident.incident_id,
    )
    assert p.alias_version() == "2"
    [restored] = [i for i in p.incidents("orders") if i.incident_id == incident.incident_id]
    assert restored.restored_at is not None


def _kill_switch_observes(p: Platform, healed: Incident) -> None:
    """Kill switch on, payments broken again → ALARM → OBSERVED: the plan is recorded, nothing changes."""
    kill_switch = p.out["kill_switch_parameter_name"]
    p.ssm.put_parameter(Name=kill_switch, Value="on", Type="String", Overwrite=True)
    env = p.env("payments")
    p.lam.update_function_configuration(
        FunctionName=p.out["payments_function_name"],
        Environment={"Variables": {**env, "FAILURE_RATE": "1.0"}},
    )
    # Past payments' cooldown since the healer's action (rails from the registry), so that the decision
    # is the kill switch's and not the cooldown's escalation.
    registry = p.out["registry_parameter_names"]["payments"]["errors"]  # both alarms: the same rails
    rails = json.loads(p.ssm.get_parameter(Name=registry)["Parameter"]["Value"])["rails"]
    assert healed.action_at is not None
    cooled = healed.action_at.timestamp() + rails["cooldown_seconds"]
    p.eventually(lambda: p.cloud.clock.now() > cooled, "payments' cooldown to pass")

    since = p.cloud.clock.now()
    alarmed, responses = p.traffic_until(
        "payments", lambda: p.alarmed_since("payments", since), "an alarm of payments in ALARM again"
    )
    assert responses[-1].get("FunctionError") == "Unhandled"
    observed = p.eventually(
        lambda: [
            i
            for i in p.incidents("payments")
            if i.alarm_name in alarmed and i.opened_at > healed.opened_at and i.status == "OBSERVED"
        ],
        "an OBSERVED payments incident",
    )
    for incident in observed:
        assert (incident.decision, incident.decision_code, incident.action) == ("observe", "observe", None)
        assert incident.reason is not None and f"kill switch {kill_switch} is on" in incident.reason
        assert "set_env" in incident.reason
    assert [i.incident_id for i in p.incidents("payments") if i.action] == [healed.incident_id]
    assert p.env("payments")["FAILURE_RATE"] == "1.0"
