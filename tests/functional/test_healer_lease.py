"""Functional tests of the action claim's lease: a killed healer's claim is taken over and acted on once."""

from __future__ import annotations

import itertools
import threading
from typing import Any

import pytest
from healer_fixtures import (
    TARGET,
    FaultyClient,
    Sandbox,
    ScheduledClock,
    alarm_message,
    alarm_message_for,
    healer_sandbox,
    sns_event,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healer.actions import Backoff
from healer.claims import Claims
from healer.healing import RunLimits

FIRST_RETRY = 60.0
"""Cloud seconds Lambda waits before retrying a failed async invocation (the local cloud does the same)."""
LEASE = RunLimits().lease_seconds


class Killed(BaseException):
    """The execution environment vanishing mid-run: nothing in the healer can catch or record it."""


def kill(_: Any) -> Any:
    """A hook or transform that kills the run at that point."""
    raise Killed


def crash(box: Sandbox, event: dict[str, Any], lambda_: FaultyClient) -> None:
    """Run the healer with ``lambda_`` and expect it to be killed."""
    with pytest.raises(Killed):
        box.healer(box.clients(lambda_=lambda_)).handle_event(event, request_id="req-1")


def landed_updates(client: FaultyClient) -> list[str]:
    """Record the incident of every UpdateFunctionConfiguration that reached (moto's) Lambda."""
    landed: list[str] = []

    def record(response: Any) -> Any:
        landed.append(response["Environment"]["Variables"]["HEALED_INCIDENT"])
        return response

    client.transform("update_function_configuration", record)
    return landed


def test_retry_after_a_crash_before_the_update_acts_once() -> None:
    """Killed after the claim, before the update: the retry takes the expired claim over and acts once."""
    with healer_sandbox() as box:
        event = sns_event(alarm_message(at=box.clock.now()))
        doomed = FaultyClient(box.aws["lambda"]).before("update_function_configuration", kill)
        crash(box, event, doomed)
        [stuck] = box.incidents()
        assert stuck.status == "ACTING" and stuck.action is None
        assert (stuck.claimed_by or "").startswith("req-1/") and stuck.lease_expires_at is not None
        assert box.function_env()["FAILURE_RATE"] == "0.5"

        box.clock.advance(FIRST_RETRY)
        box.clock.at(box.clock.now() + 20, lambda: box.set_alarm("OK"))
        lambda_ = FaultyClient(box.aws["lambda"])
        landed = landed_updates(lambda_)
        [summary] = box.healer(box.clients(lambda_=lambda_)).handle_event(event, request_id="req-1")[
            "results"
        ]
        assert summary["code"] == "take_over" and summary["took_over_from"] == stuck.claimed_by
        assert summary["claimed_by"] != stuck.claimed_by
        assert landed == [stuck.incident_id]
        env = box.function_env()
        assert env["FAILURE_RATE"] == "0" and env["HEALED_INCIDENT"] == stuck.incident_id
        [incident] = box.incidents()
        assert incident.status == "RECOVERED" and incident.takeovers == 1
        assert incident.previous_failure_rate == "0.5" and incident.action_at is not None
        control = Claims("selfheal-ledger", box.aws["dynamodb"]).read_control(TARGET)
        assert control.version == 1 and len(control.action_times) == 1
        assert box.escalations() == []


def test_retry_after_the_update_landed_records_it_without_updating_again() -> None:
    """Killed after the update landed, before its outcome was recorded: the retry records it, no update."""
    with healer_sandbox() as box:
        event = sns_event(alarm_message(at=box.clock.now()))
        doomed = FaultyClient(box.aws["lambda"])
        landed = landed_updates(doomed)
        doomed.transform("update_function_configuration", kill)
        crash(box, event, doomed)
        [stuck] = box.incidents()
        assert stuck.status == "ACTING" and landed == [stuck.incident_id]
        assert box.function_env()["FAILURE_RATE"] == "0"

        box.clock.advance(FIRST_RETRY)
        box.clock.at(box.clock.now() + 20, lambda: box.set_alarm("OK"))
        lambda_ = FaultyClient(box.aws["lambda"])
        [summary] = box.healer(box.clients(lambda_=lambda_)).handle_event(event)["results"]
        assert summary["code"] == "record_landed_action"
        assert lambda_.count("update_function_configuration") == 0
        assert summary["verification"] == "verified by DescribeAlarms"
        [incident] = box.incidents()
        assert incident.status == "RECOVERED" and incident.previous_failure_rate == "0.5"
        assert box.escalations() == []


def test_retry_while_the_lease_is_live_skips() -> None:
    """A redelivery inside the lease leaves the claim to its holder: no action, nothing recorded."""
    with healer_sandbox() as box:
        event = sns_event(alarm_message(at=box.clock.now()))
        crash(box, event, FaultyClient(box.aws["lambda"]).before("update_function_configuration", kill))
        [before] = box.incidents()
        box.clock.advance(LEASE - 1)
        lambda_ = FaultyClient(box.aws["lambda"])
        [summary] = box.healer(box.clients(lambda_=lambda_)).handle_event(event)["results"]
        assert (summary["decision"], summary["code"]) == ("skip", "claim_held")
        assert lambda_.count("update_function_configuration") == 0
        assert box.incidents() == [before] and box.function_env()["FAILURE_RATE"] == "0.5"


def test_lease_is_shorter_than_lambdas_first_retry() -> None:
    """The default lease lapses before Lambda's first async retry, yet outlasts one whole action."""
    limits = RunLimits()
    delays = sum(limits.backoff.delay(n) for n in range(1, limits.backoff.attempts))
    assert delays + limits.settle_timeout < limits.lease_seconds < FIRST_RETRY


def test_concurrent_retries_after_expiry_take_over_once() -> None:
    """Two retries racing for one expired claim: exactly one takes it over and acts."""
    with healer_sandbox() as box:
        event = sns_event(alarm_message(at=box.clock.now()))
        crash(box, event, FaultyClient(box.aws["lambda"]).before("update_function_configuration", kill))
        box.clock.advance(FIRST_RETRY)
        lock = threading.Lock()
        lambda_ = FaultyClient(box.aws["lambda"], lock)
        dynamodb = FaultyClient(box.aws["dynamodb"], lock)
        landed = landed_updates(lambda_)
        barrier = threading.Barrier(2, timeout=20)
        waited: set[int] = set()

        def rendezvous(_: dict[str, Any]) -> None:
            if threading.get_ident() not in waited:
                waited.add(threading.get_ident())
                barrier.wait()

        lambda_.before("get_function_configuration", rendezvous)
        results: list[dict[str, Any]] = []

        def invoke() -> None:
            healer = box.healer(box.clients(lambda_=lambda_, dynamodb=dynamodb), verify_timeout_seconds=0)
            results.extend(healer.handle_event(event)["results"])

        threads = [threading.Thread(target=invoke) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert sorted(r["code"] for r in results) == ["duplicate", "take_over"]
        assert len(landed) == 1
        [incident] = box.incidents()
        assert incident.takeovers == 1 and incident.action is not None


def test_holder_that_lost_its_lease_does_not_act() -> None:
    """A holder slowed past its lease finds the claim taken over at its next attempt and stops."""
    with healer_sandbox() as box:
        event = sns_event(alarm_message(at=box.clock.now()))
        slow = FaultyClient(box.aws["lambda"]).fail(
            "update_function_configuration", "ResourceConflictException"
        )
        taker = FaultyClient(box.aws["lambda"])
        slow_landed, taker_landed = landed_updates(slow), landed_updates(taker)
        taken: list[dict[str, Any]] = []

        def redelivery() -> None:
            healer = box.healer(box.clients(lambda_=taker), verify_timeout_seconds=0)
            taken.extend(healer.handle_event(event)["results"])

        box.clock.at(box.clock.now() + LEASE + 1, redelivery)
        limits = RunLimits(backoff=Backoff(attempts=3, base=LEASE + 5, cap=LEASE + 5))
        [summary] = box.healer(box.clients(lambda_=slow), limits, verify_timeout_seconds=0).handle_event(
            event
        )["results"]
        assert [t["code"] for t in taken] == ["take_over"]
        assert (summary["decision"], summary["code"]) == ("skip", "claim_lost")
        assert slow.count("update_function_configuration") == 1 and slow_landed == []
        [incident] = box.incidents()
        assert taker_landed == [incident.incident_id] and box.function_env()["FAILURE_RATE"] == "0"
        assert incident.claimed_by == taken[0]["claimed_by"] and incident.action is not None


def test_claim_without_a_lease_is_taken_over_one_lease_after_the_decision() -> None:
    """A claim written before leases existed is taken over once a lease length has passed."""
    with healer_sandbox() as box:
        event = sns_event(alarm_message(at=box.clock.now()))
        crash(box, event, FaultyClient(box.aws["lambda"]).before("update_function_configuration", kill))
        [stuck] = box.incidents()
        box.aws["dynamodb"].update_item(
            TableName="selfheal-ledger",
            Key={"pk": {"S": "INCIDENTS"}, "sk": {"S": stuck.sk}},
            UpdateExpression="REMOVE claimed_by, lease_expires_at",
        )
        box.clock.advance(LEASE - 1)
        healer = box.healer(verify_timeout_seconds=0)
        assert healer.handle_event(event)["results"][0]["code"] == "claim_held"
        box.clock.advance(2)
        assert healer.handle_event(event)["results"][0]["code"] == "take_over"
        assert box.function_env()["FAILURE_RATE"] == "0"


OPERATIONS = {
    "lambda": ("get_function_configuration", "update_function_configuration"),
    "dynamodb": ("get_item", "put_item", "update_item", "transact_write_items"),
    "cloudwatch": ("describe_alarms",),
    "sns": ("publish",),
}
Delivery = tuple[float, int | None, bool]
deliveries = st.lists(
    st.tuples(st.floats(0, 130), st.one_of(st.none(), st.integers(0, 16)), st.booleans()),
    min_size=1,
    max_size=5,
)


def test_any_interleaving_of_deliveries_and_crashes_acts_exactly_once() -> None:
    """Redeliveries killed at any AWS call: never two updates, and a final retry leaves exactly one."""
    with healer_sandbox() as box:
        serial = itertools.count()

        @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(deliveries)
        def check(plan: list[Delivery]) -> None:
            number = next(serial)
            target, alarm = f"leased-{number}", f"leased-{number}-errors"
            box.add_target(target, alarm)
            box.clock = ScheduledClock()
            event = sns_event(alarm_message_for(target, alarm, "alarm_fragile_alarm.json", box.clock.now()))
            landed: list[str] = []

            def deliver(crash_at: int | None, after: bool) -> None:
                calls = itertools.count()
                wrapped = {name: FaultyClient(box.aws[name]) for name in OPERATIONS}
                landed_here = landed_updates(wrapped["lambda"])

                def maybe_kill(response: Any) -> Any:
                    if next(calls) == crash_at:
                        raise Killed
                    return response

                for name, operations in OPERATIONS.items():
                    for operation in operations:
                        if after:
                            wrapped[name].transform(operation, maybe_kill)
                        else:
                            wrapped[name].before(operation, maybe_kill)
                clients = box.clients(
                    lambda_=wrapped["lambda"],
                    dynamodb=wrapped["dynamodb"],
                    cloudwatch=wrapped["cloudwatch"],
                    sns=wrapped["sns"],
                )
                healer = box.healer(clients, target=target, alarm=alarm, verify_timeout_seconds=0)
                try:
                    healer.handle_event(event)
                except Killed:
                    pass
                finally:
                    landed.extend(landed_here)

            for gap, crash_at, after in plan:
                box.clock.advance(gap)
                deliver(crash_at, after)
                assert len(landed) <= 1, "two updates for one incident"
            box.clock.advance(FIRST_RETRY)
            deliver(None, False)
            assert len(landed) == 1, "the incident was never remediated"
            [incident] = [i for i in box.incidents(1000) if i.target == target]
            assert incident.status in ("ACTED", "UNVERIFIED") and incident.action is not None
            assert box.function_env(target)["HEALED_INCIDENT"] == incident.incident_id

        check()
