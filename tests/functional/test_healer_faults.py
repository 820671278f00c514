"""Functional tests of the healer under failures: AWS errors, races, a missing ledger, bad input."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config
from healer_fixtures import EVENTS, TARGET, FaultyClient, alarm_message, healer_sandbox, sns_event

from healer.actions import Backoff
from healer.decisions import EscalationCode, advice_for
from healer.healing import RunLimits


def test_resource_conflict_is_retried_with_backoff_then_succeeds() -> None:
    """Two ResourceConflictExceptions are retried after 1 s and 2 s; the third call succeeds."""
    with healer_sandbox() as box:
        lambda_ = FaultyClient(box.aws["lambda"]).fail(
            "update_function_configuration", "ResourceConflictException", 2
        )
        [summary] = box.healer(box.clients(lambda_=lambda_), verify_timeout_seconds=0).handle_event(
            sns_event(alarm_message(at=box.clock.now()))
        )["results"]
        assert (
            summary["action_taken"].startswith("set_env FAILURE_RATE=0 ") and summary["action_attempts"] == 3
        )
        assert box.clock.slept[:2] == [1.0, 2.0]
        assert lambda_.count("update_function_configuration") == 3
        assert box.function_env()["FAILURE_RATE"] == "0"


def test_backoff_starts_afresh_for_each_action() -> None:
    """A conflict in a later incident waits the base delay again, not a grown one."""
    with healer_sandbox() as box:
        lambda_ = FaultyClient(box.aws["lambda"])
        healer = box.healer(box.clients(lambda_=lambda_), verify_timeout_seconds=0, cooldown_seconds=0)
        for _ in range(2):
            box.set_function_env({**box.function_env(), "FAILURE_RATE": "0.5"})
            lambda_.fail("update_function_configuration", "ResourceConflictException", 1)
            box.clock.slept.clear()
            healer.handle_event(sns_event(alarm_message(at=box.clock.now())))
            assert box.clock.slept[0] == 1.0
            box.clock.advance(60)


def test_throttling_gives_up_after_bounded_attempts_and_escalates() -> None:
    """Persistent throttling stops after the attempt bound and is escalated; nothing changed."""
    with healer_sandbox() as box:
        lambda_ = FaultyClient(box.aws["lambda"]).fail(
            "update_function_configuration", "TooManyRequestsException", 50
        )
        limits = RunLimits(backoff=Backoff(attempts=4, base=1.0, cap=2.0))
        [summary] = box.healer(box.clients(lambda_=lambda_), limits).handle_event(
            sns_event(alarm_message(at=box.clock.now()))
        )["results"]
        assert (summary["decision"], summary["code"]) == ("escalate", "retries_exhausted")
        assert lambda_.count("update_function_configuration") == 4
        assert box.clock.slept == [1.0, 2.0, 2.0]
        assert box.function_env()["FAILURE_RATE"] == "0.5"
        assert box.incidents()[0].status == "FAILED"
        [escalation] = box.escalations()
        assert "throttled" in escalation["Message"]


def test_access_denied_escalates_without_retrying() -> None:
    """AccessDenied is permanent: one attempt, an escalation naming IAM, no retry loop."""
    with healer_sandbox() as box:
        lambda_ = FaultyClient(box.aws["lambda"]).fail(
            "update_function_configuration", "AccessDeniedException", 5
        )
        [summary] = box.healer(box.clients(lambda_=lambda_)).handle_event(
            sns_event(alarm_message(at=box.clock.now()))
        )["results"]
        assert (summary["decision"], summary["code"]) == ("escalate", "permanent_error")
        assert lambda_.count("update_function_configuration") == 1 and box.clock.slept == []
        [escalation] = box.escalations()
        assert "IAM" in escalation["Message"] and "AccessDeniedException" in escalation["Message"]


def test_unreadable_target_escalates() -> None:
    """If GetFunctionConfiguration is denied the healer escalates and changes nothing."""
    with healer_sandbox() as box:
        lambda_ = FaultyClient(box.aws["lambda"]).fail(
            "get_function_configuration", "AccessDeniedException", 5
        )
        [summary] = box.healer(box.clients(lambda_=lambda_)).handle_event(
            sns_event(alarm_message(at=box.clock.now()))
        )["results"]
        assert summary["code"] == "target_unreadable" and "AccessDeniedException" in summary["reason"]
        assert lambda_.count("update_function_configuration") == 0
        assert len(box.escalations()) == 1


def test_concurrent_change_is_reread_and_kept() -> None:
    """PreconditionFailed (someone changed the function) → re-read, re-decide, keep their change."""
    with healer_sandbox() as box:
        lambda_ = FaultyClient(box.aws["lambda"])
        changed: list[bool] = []

        def with_revision(response: dict[str, Any]) -> dict[str, Any]:
            # moto reports no RevisionId; AWS does, and it changes with every update.
            return {**response, "RevisionId": f"rev-{len(changed)}"}

        def operator_edits(_: dict[str, Any]) -> None:
            if not changed:
                changed.append(True)
                box.set_function_env({**box.function_env(), "OWNER": "ops"})

        lambda_.transform("get_function_configuration", with_revision)

        lambda_.before("update_function_configuration", operator_edits)
        lambda_.fail("update_function_configuration", "PreconditionFailedException", 1)
        [summary] = box.healer(box.clients(lambda_=lambda_), verify_timeout_seconds=0).handle_event(
            sns_event(alarm_message(at=box.clock.now()))
        )["results"]
        env = box.function_env()
        assert env["OWNER"] == "ops" and env["FAILURE_RATE"] == "0"
        assert summary["redecisions"] == 1 and summary["action_taken"].startswith("set_env FAILURE_RATE=0 ")
        updates = [kwargs for name, kwargs in lambda_.calls if name == "update_function_configuration"]
        assert [u["RevisionId"] for u in updates] == ["rev-0", "rev-1"]
        assert "OWNER" not in updates[0]["Environment"]["Variables"]
        assert updates[1]["Environment"]["Variables"]["OWNER"] == "ops"


def test_concurrent_fix_is_not_overwritten() -> None:
    """If the concurrent change already set FAILURE_RATE to 0, the re-decision does not act again."""
    with healer_sandbox() as box:
        lambda_ = FaultyClient(box.aws["lambda"])
        lambda_.fail("update_function_configuration", "PreconditionFailedException", 1)
        lambda_.before(
            "update_function_configuration",
            lambda _: box.set_function_env({"FAILURE_RATE": "0", "FIXED_BY": "human"}),
        )
        [summary] = box.healer(box.clients(lambda_=lambda_)).handle_event(
            sns_event(alarm_message(at=box.clock.now()))
        )["results"]
        assert summary["code"] == "nothing_to_change"
        assert lambda_.count("update_function_configuration") == 1
        assert box.function_env() == {"FAILURE_RATE": "0", "FIXED_BY": "human"}
        assert box.incidents()[0].status == "ESCALATED"


def test_missing_ledger_table_fails_closed_and_escalates() -> None:
    """Without its ledger the healer takes no action and tells people why."""
    with healer_sandbox() as box:
        lambda_ = FaultyClient(box.aws["lambda"])
        [summary] = box.healer(box.clients(lambda_=lambda_), ledger_table_name="no-such-table").handle_event(
            sns_event(alarm_message(at=box.clock.now()))
        )["results"]
        assert (summary["decision"], summary["code"]) == ("escalate", "ledger_unavailable")
        assert lambda_.count("update_function_configuration") == 0
        [escalation] = box.escalations()
        assert "ledger" in escalation["Subject"] and "fail closed" in escalation["Message"]


def test_unreachable_ledger_endpoint_fails_closed_and_escalates() -> None:
    """A ledger endpoint that refuses connections means no action and an escalation."""
    with healer_sandbox() as box:
        lambda_ = FaultyClient(box.aws["lambda"])
        dead = boto3.client(
            "dynamodb",
            region_name="us-east-1",
            endpoint_url="http://127.0.0.1:9",
            config=Config(retries={"mode": "standard", "max_attempts": 1}, connect_timeout=1, read_timeout=1),
        )
        [summary] = box.healer(box.clients(lambda_=lambda_, dynamodb=dead)).handle_event(
            sns_event(alarm_message(at=box.clock.now()))
        )["results"]
        assert summary["code"] == "ledger_unavailable" and "no action taken" in summary["reason"]
        assert lambda_.count("update_function_configuration") == 0
        assert box.function_env()["FAILURE_RATE"] == "0.5"
        assert len(box.escalations()) == 1


def test_failed_escalation_is_reported_not_raised() -> None:
    """If the escalation topic is gone the invocation still returns, saying it was not delivered."""
    with healer_sandbox("0") as box:
        gone = box.topic_arn.replace("selfheal-escalations", "deleted-topic")
        [summary] = box.healer(escalation_topic_arn=gone).handle_event(
            sns_event(alarm_message(at=box.clock.now()))
        )["results"]
        assert summary["escalated"] and summary["escalation_delivered"] is False


def _run_concurrently(box: Any, events: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], FaultyClient]:
    """Run one healer invocation per event in threads that all read state before any of them writes."""
    lock = threading.Lock()
    lambda_ = FaultyClient(box.aws["lambda"], lock)
    dynamodb = FaultyClient(box.aws["dynamodb"], lock)
    barrier = threading.Barrier(len(events), timeout=20)
    waited: set[int] = set()

    def rendezvous(_: dict[str, Any]) -> None:
        if threading.get_ident() not in waited:
            waited.add(threading.get_ident())
            barrier.wait()

    lambda_.before("get_function_configuration", rendezvous)
    results: list[dict[str, Any]] = []

    def invoke(event: dict[str, Any]) -> None:
        healer = box.healer(box.clients(lambda_=lambda_, dynamodb=dynamodb), verify_timeout_seconds=0)
        results.extend(healer.handle_event(event)["results"])

    threads = [threading.Thread(target=invoke, args=(event,)) for event in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(results) == len(events)
    return results, lambda_


def test_two_concurrent_invocations_for_one_transition_act_once() -> None:
    """Two invocations racing on the same notification: one acts, the other sees the claim and skips."""
    with healer_sandbox() as box:
        event = sns_event(alarm_message(at=box.clock.now()))
        results, lambda_ = _run_concurrently(box, [event, event])
        assert sorted(r["code"] for r in results) == ["duplicate", "run_step"]
        assert lambda_.count("update_function_configuration") == 1


def test_concurrent_transitions_respect_the_cooldown() -> None:
    """Two different ALARM transitions decided at once: the losing claim re-decides into the cooldown."""
    with healer_sandbox() as box:
        now = box.clock.now()
        events = [sns_event(alarm_message(at=now)), sns_event(alarm_message(at=now - 1))]
        results, lambda_ = _run_concurrently(box, events)
        assert sorted(r["code"] for r in results) == ["cooldown", "run_step"]
        assert lambda_.count("update_function_configuration") == 1


def test_contention_on_the_control_item_escalates_with_advice() -> None:
    """Other claims changing the control item under every claim attempt: no action, people told what to do."""
    with healer_sandbox() as box:
        dynamodb = FaultyClient(box.aws["dynamodb"])

        def another_claim(_: dict[str, Any]) -> None:
            box.aws["dynamodb"].update_item(
                TableName="selfheal-ledger",
                Key={"pk": {"S": f"TARGET#{TARGET}"}, "sk": {"S": "CONTROL"}},
                UpdateExpression="SET version = if_not_exists(version, :zero) + :one",
                ExpressionAttributeValues={":zero": {"N": "0"}, ":one": {"N": "1"}},
            )

        dynamodb.before("transact_write_items", another_claim)
        lambda_ = FaultyClient(box.aws["lambda"])
        healer = box.healer(box.clients(lambda_=lambda_, dynamodb=dynamodb))
        [summary] = healer.handle_event(sns_event(alarm_message(at=box.clock.now())))["results"]
        assert (summary["decision"], summary["code"]) == ("escalate", "contention")
        assert summary["escalated"] and summary["escalation_delivered"]
        assert dynamodb.count("transact_write_items") == RunLimits().max_redecisions
        assert lambda_.count("update_function_configuration") == 0
        assert box.function_env()["FAILURE_RATE"] == "0.5"
        [incident] = box.incidents()
        assert (incident.status, incident.decision, incident.decision_code) == (
            "ESCALATED",
            "escalate",
            "contention",
        )
        assert incident.reason == summary["reason"]
        [escalation] = box.escalations()
        assert escalation["Subject"] == "selfheal: contention for selfheal-fragile-errors"
        assert advice_for(EscalationCode.CONTENTION) in escalation["Message"]
        assert summary["reason"] in escalation["Message"]


def test_malformed_corpus_changes_nothing() -> None:
    """Every malformed input returns normally with its reason, and writes, updates or publishes nothing."""
    corpus = sorted((EVENTS / "malformed").glob("*.json"))
    assert len(corpus) >= 30
    with healer_sandbox() as box:
        lambda_ = FaultyClient(box.aws["lambda"])
        dynamodb = FaultyClient(box.aws["dynamodb"])
        healer = box.healer(box.clients(lambda_=lambda_, dynamodb=dynamodb))
        for path in corpus:
            result = healer.handle_event(json.loads(Path(path).read_text()))
            assert result["results"] == [], path.name
            [rejected] = result["rejected"]
            assert rejected["error"] == path.stem.split("--")[0] and rejected["reason"], path.name
        assert lambda_.calls == [] and dynamodb.calls == []
        assert box.escalations() == [] and box.function_env()["FAILURE_RATE"] == "0.5"
        assert box.aws["lambda"].get_function_configuration(FunctionName=TARGET)["Environment"]


def test_unexpected_collaborator_failure_escalates_instead_of_raising() -> None:
    """An unexpected exception is logged and escalated, and the invocation still returns."""
    with healer_sandbox() as box:

        def explode(_: dict[str, Any]) -> None:
            raise RuntimeError("disk on fire")

        dynamodb = FaultyClient(box.aws["dynamodb"]).before("get_item", explode)
        [summary] = box.healer(box.clients(dynamodb=dynamodb)).handle_event(
            sns_event(alarm_message(at=box.clock.now()))
        )["results"]
        assert summary["code"] == "internal_error" and "disk on fire" in summary["reason"]
        [escalation] = box.escalations()
        assert "internal error" in escalation["Subject"]
        assert box.function_env()["FAILURE_RATE"] == "0.5"


def _status_after_update(lambda_: FaultyClient, statuses: list[str]) -> None:
    """Report ``statuses`` as LastUpdateStatus on the reads after the first update (updates are async)."""

    def change(response: dict[str, Any]) -> dict[str, Any]:
        if lambda_.count("update_function_configuration") and statuses:
            return {**response, "LastUpdateStatus": statuses.pop(0)}
        return response

    lambda_.transform("get_function_configuration", change)


def test_waits_for_the_update_to_finish() -> None:
    """After the update the healer polls until LastUpdateStatus is Successful before verifying."""
    with healer_sandbox() as box:
        lambda_ = FaultyClient(box.aws["lambda"])
        _status_after_update(lambda_, ["InProgress", "InProgress", "Successful"])
        [summary] = box.healer(box.clients(lambda_=lambda_), verify_timeout_seconds=0).handle_event(
            sns_event(alarm_message(at=box.clock.now()))
        )["results"]
        assert summary["action_taken"].startswith("set_env FAILURE_RATE=0 ")
        assert box.clock.slept[:2] == [1.0, 1.0]
        assert lambda_.count("get_function_configuration") == 4


def test_failed_update_is_escalated() -> None:
    """LastUpdateStatus Failed after the update is reported to people, not verified."""
    with healer_sandbox() as box:
        lambda_ = FaultyClient(box.aws["lambda"])
        _status_after_update(lambda_, ["InProgress", "Failed"])
        [summary] = box.healer(box.clients(lambda_=lambda_)).handle_event(
            sns_event(alarm_message(at=box.clock.now()))
        )["results"]
        assert (summary["decision"], summary["code"]) == ("escalate", "not_settled")
        assert box.incidents()[0].status == "FAILED"
        [escalation] = box.escalations()
        assert "did not finish" in escalation["Message"]
