"""EventBridge Scheduler in a running LocalCloud (time scale 60): schedules fire in cloud time as their
execution role, with retries and a dead-letter queue, and the API refuses what AWS refuses."""

from __future__ import annotations

import itertools
import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from polling import receive_messages
from selfheal.cloud import LocalCloud
from selfheal.cloud.scheduler import Scheduler
from selfheal.cloud.scheduler_expressions import At, ScheduleTimes, parse_expression, zone

CLOUD_TIME_SCALE = 60.0
WAIT = 20.0

AwsFactory = Callable[..., Any]
FunctionFactory = Callable[..., str]

RECORDER = """
import json
import os

import boto3


def handler(event, context):
    boto3.client("sqs").send_message(QueueUrl=os.environ["OUT_QUEUE"], MessageBody=json.dumps(event))
    return {"ok": True}
"""
SCHEDULER_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def _role(
    aws: AwsFactory, name: str, allow: list[tuple[str, str]], trust: dict[str, Any] | None = None
) -> str:
    """A role Scheduler may assume (unless ``trust`` says otherwise) allowed (action, resource) pairs."""
    iam = aws("iam")
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust or SCHEDULER_TRUST))[
        "Role"
    ]["Arn"]
    if allow:
        statements = [{"Effect": "Allow", "Action": a, "Resource": r} for a, r in allow]
        iam.put_role_policy(
            RoleName=name,
            PolicyName="targets",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )
    return str(arn)


def _queue(aws: AwsFactory, name: str) -> tuple[str, str]:
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return str(url), str(arn)


def _receive(aws: AwsFactory, url: str, count: int, timeout: float = WAIT) -> list[dict[str, Any]]:
    """Receive up to ``count`` messages within ``timeout`` real seconds."""
    return receive_messages(aws("sqs"), url, count, timeout, MessageAttributeNames=["All"])


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _at(cloud: LocalCloud, minutes: float, tz: str = "UTC") -> str:
    moment = datetime.fromtimestamp(cloud.clock.now() + minutes * 60, zone(tz)).replace(microsecond=0)
    return f"at({moment:%Y-%m-%dT%H:%M:%S})"


def test_an_at_schedule_invokes_the_lambda_once_with_its_input_then_deletes_itself(
    aws: AwsFactory, cloud: LocalCloud, make_function: FunctionFactory
) -> None:
    """at() in a time zone fires once, an Event invoke whose payload is the target's Input as is; with
    ActionAfterCompletion DELETE the schedule is gone afterwards."""
    name = _unique("sch-at")
    out, _ = _queue(aws, f"{name}-out")
    make_function(name, RECORDER, variables={"OUT_QUEUE": out}, timeout=10)
    function = aws("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    role = _role(aws, name, [("lambda:InvokeFunction", function)])
    scheduler = aws("scheduler")
    arn = scheduler.create_schedule(
        Name=name,
        ScheduleExpression=_at(cloud, 1.5, "Asia/Tokyo"),
        ScheduleExpressionTimezone="Asia/Tokyo",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": function, "RoleArn": role, "Input": json.dumps({"job": "nightly", "n": 1})},
        ActionAfterCompletion="DELETE",
    )["ScheduleArn"]
    bodies = [json.loads(m["Body"]) for m in _receive(aws, out, 1)]
    assert bodies == [{"job": "nightly", "n": 1}]
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            scheduler.get_schedule(Name=name)
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "ResourceNotFoundException"
            break
        time.sleep(0.1)
    else:
        pytest.fail("the schedule was not deleted after completion")
    time.sleep(2.0)  # two cloud minutes: nothing more
    assert len(Scheduler.of(cloud).delivered(arn)) == 1
    assert _receive(aws, out, 1, timeout=0.5) == []


def test_a_rate_schedule_fires_repeatedly_in_cloud_time_and_a_disabled_one_never(
    aws: AwsFactory, cloud: LocalCloud
) -> None:
    """rate(1 minute) sends its Input to the queue at once, then every cloud minute; DISABLED: nothing."""
    name = _unique("sch-rate")
    url, queue = _queue(aws, name)
    role = _role(aws, name, [("sqs:SendMessage", queue)])
    scheduler = aws("scheduler")
    target = {"Arn": queue, "RoleArn": role, "Input": "tick"}
    arn = scheduler.create_schedule(
        Name=name, ScheduleExpression="rate(1 minute)", FlexibleTimeWindow={"Mode": "OFF"}, Target=target
    )["ScheduleArn"]
    scheduler.create_schedule(
        Name=f"{name}-off",
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow={"Mode": "FLEXIBLE", "MaximumWindowInMinutes": 5},
        Target=target,
        State="DISABLED",
    )
    messages = _receive(aws, url, 3)
    assert [m["Body"] for m in messages] == ["tick", "tick", "tick"]
    times = [d.time for d in Scheduler.of(cloud).delivered(arn)]
    assert all(
        later - earlier == pytest.approx(60.0, abs=0.5) for earlier, later in itertools.pairwise(times)
    )
    scheduler.delete_schedule(Name=name)
    time.sleep(1.5)
    assert _receive(aws, url, 1, timeout=1.0) == []
    off_arn = arn.replace(name, f"{name}-off")
    assert Scheduler.of(cloud).delivered(off_arn) == []


def test_end_date_stops_a_schedule_and_start_date_delays_it(aws: AwsFactory, cloud: LocalCloud) -> None:
    """No firing at or after EndDate; none before StartDate."""
    name = _unique("sch-end")
    url, queue = _queue(aws, name)
    role = _role(aws, name, [("sqs:SendMessage", queue)])
    now = cloud.clock.now()
    end = datetime.fromtimestamp(now + 150, UTC)
    scheduler = aws("scheduler")
    arn = scheduler.create_schedule(
        Name=name,
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow={"Mode": "OFF"},
        EndDate=end,
        Target={"Arn": queue, "RoleArn": role, "Input": "until"},
    )["ScheduleArn"]
    start = datetime.fromtimestamp(now + 240, UTC)
    later = scheduler.create_schedule(
        Name=f"{name}-later",
        ScheduleExpression="rate(1 minute)",
        FlexibleTimeWindow={"Mode": "OFF"},
        StartDate=start,
        Target={"Arn": queue, "RoleArn": role, "Input": "later"},
    )["ScheduleArn"]
    time.sleep(3.5)
    fired = Scheduler.of(cloud).delivered(arn)
    assert 2 <= len(fired) <= 3 and all(d.time < end.timestamp() for d in fired)
    assert Scheduler.of(cloud).delivered(later) == []
    _receive(aws, url, 10, timeout=0.5)
    deadline = time.monotonic() + WAIT
    while not Scheduler.of(cloud).delivered(later) and time.monotonic() < deadline:
        time.sleep(0.1)
    first = Scheduler.of(cloud).delivered(later)[0]
    assert first.time >= start.timestamp()
    scheduler.delete_schedule(Name=f"{name}-later")


def test_a_role_without_permission_retries_then_sends_the_dead_letter_event(
    aws: AwsFactory, cloud: LocalCloud, make_function: FunctionFactory
) -> None:
    """A role that may not invoke the function: the call fails, is retried per RetryPolicy, then the DLQ
    gets the input with Scheduler's dead-letter attributes; the function never runs."""
    name = _unique("sch-dlq")
    out, _ = _queue(aws, f"{name}-out")
    make_function(name, RECORDER, variables={"OUT_QUEUE": out}, timeout=10)
    function = aws("lambda").get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    dlq_url, dlq = _queue(aws, f"{name}-dlq")
    role = _role(aws, name, [("sqs:SendMessage", dlq)])
    arn = aws("scheduler").create_schedule(
        Name=name,
        ScheduleExpression=_at(cloud, 0.5),
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": function,
            "RoleArn": role,
            "Input": '{"x": 1}',
            "RetryPolicy": {"MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 3600},
            "DeadLetterConfig": {"Arn": dlq},
        },
    )["ScheduleArn"]
    [message] = _receive(aws, dlq_url, 1)
    assert message["Body"] == '{"x": 1}'
    attributes = {k: (v["DataType"], v["StringValue"]) for k, v in message["MessageAttributes"].items()}
    assert attributes["ERROR_CODE"] == ("String", "AccessDeniedException")
    assert "lambda:InvokeFunction" in attributes["ERROR_MESSAGE"][1]
    assert attributes["RETRY_ATTEMPTS"] == ("String", "2")
    assert attributes["IS_PAYLOAD_TRUNCATED"] == ("String", "false")
    assert uuid.UUID(attributes["EXECUTION_ID"][1])
    [first, *_] = Scheduler.of(cloud).delivered(arn)
    scheduled = datetime.fromtimestamp(first.time, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert attributes["SCHEDULED_TIME"] == ("String", scheduled)
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == ("String", "MaximumRetryAttempts")
    assert attributes["SCHEDULE_ARN"] == ("String", arn)
    assert attributes["TARGET_ARN"] == ("String", function)
    assert [d.retry for d in Scheduler.of(cloud).delivered(arn)] == [0, 1, 2]
    assert _receive(aws, out, 1, timeout=0.5) == []


def _fire_once(aws: AwsFactory, cloud: LocalCloud, name: str, queue: str, role: str) -> tuple[str, Any]:
    """A one-time schedule sending "x" to ``queue`` as ``role``, no retry: its ARN and its one attempt."""
    arn = aws("scheduler").create_schedule(
        Name=name,
        ScheduleExpression=_at(cloud, 0.2),
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": queue, "RoleArn": role, "Input": "x", "RetryPolicy": {"MaximumRetryAttempts": 0}},
    )["ScheduleArn"]
    deadline = time.monotonic() + WAIT
    while not Scheduler.of(cloud).delivered(arn) and time.monotonic() < deadline:
        time.sleep(0.05)
    [attempt] = Scheduler.of(cloud).delivered(arn)
    return str(arn), attempt


def test_a_role_scheduler_may_not_assume_is_refused_at_call_time(aws: AwsFactory, cloud: LocalCloud) -> None:
    """A role trusting only Lambda never delivers: the attempt records Scheduler's refusal."""
    name = _unique("sch-trust")
    url, queue = _queue(aws, name)
    lambda_trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = _role(aws, name, [("sqs:SendMessage", queue)], trust=lambda_trust)
    _, attempt = _fire_once(aws, cloud, name, queue, role)
    assert attempt.error is not None and "trust policy" in attempt.error
    assert _receive(aws, url, 1, timeout=0.5) == []


def _scheduler_statement(effect: str = "Allow", **condition: dict[str, str]) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Effect": effect,
        "Principal": {"Service": "scheduler.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    if condition:
        statement["Condition"] = condition
    return statement


GROUP_ARN = "arn:aws:scheduler:us-east-1:123456789012:schedule-group/default"


@pytest.mark.parametrize(
    ("statements", "delivered"),
    [
        ([_scheduler_statement(StringEquals={"aws:SourceAccount": "123456789012"})], True),
        ([_scheduler_statement(ArnEquals={"aws:SourceArn": GROUP_ARN})], True),
        ([_scheduler_statement(StringEquals={"aws:SourceAccount": "210987654321"})], False),
        ([_scheduler_statement(ArnEquals={"aws:SourceArn": GROUP_ARN.replace("default", "other")})], False),
        ([_scheduler_statement(), _scheduler_statement("Deny")], False),
    ],
    ids=["own-account", "own-group", "other-account", "other-group", "explicit-deny"],
)
def test_trust_conditions_and_denies_decide_whether_scheduler_may_assume_the_role(
    aws: AwsFactory, cloud: LocalCloud, statements: list[dict[str, Any]], delivered: bool
) -> None:
    """The trust policy is evaluated like AWS's: the confused-deputy conditions AWS recommends
    (``aws:SourceAccount``, ``aws:SourceArn`` = the schedule group) hold only for this account and group,
    and an explicit Deny wins."""
    name = _unique("sch-cond")
    url, queue = _queue(aws, name)
    trust = {"Version": "2012-10-17", "Statement": statements}
    role = _role(aws, name, [("sqs:SendMessage", queue)], trust=trust)
    arn, attempt = _fire_once(aws, cloud, name, queue, role)
    assert arn.startswith(GROUP_ARN.replace("schedule-group/", "schedule/") + "/")
    if delivered:
        assert attempt.error is None, attempt.error
        assert [m["Body"] for m in _receive(aws, url, 1)] == ["x"]
    else:
        assert attempt.error is not None and "trust policy" in attempt.error
        assert _receive(aws, url, 1, timeout=0.5) == []


def _refusal(call: Callable[[], Any]) -> tuple[str, str]:
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def test_requests_aws_refuses_and_targets_the_cloud_cannot_run_are_refused(
    aws: AwsFactory, cloud: LocalCloud
) -> None:
    """Bad expressions, time zones, windows, retry policies, unknown groups and unsupported targets get
    AWS's codes and one-line messages, and create nothing."""
    scheduler = aws("scheduler", config=Config(parameter_validation=False))  # the server must refuse
    role = "arn:aws:iam::123456789012:role/any"
    queue = "arn:aws:sqs:us-east-1:123456789012:q"
    base: dict[str, Any] = {
        "Name": "refused",
        "ScheduleExpression": "rate(5 minutes)",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {"Arn": queue, "RoleArn": role},
    }
    cases: list[tuple[dict[str, Any], str, str]] = [
        (
            {"ScheduleExpression": "rate(0 minutes)"},
            "ValidationException",
            "Invalid Schedule Expression rate(0 minutes).",
        ),
        (
            {"ScheduleExpression": "at(2026-02-30T10:00:00)"},
            "ValidationException",
            "Invalid Schedule Expression",
        ),
        ({"ScheduleExpressionTimezone": "Mars/Olympus"}, "ValidationException", "Mars/Olympus"),
        ({"FlexibleTimeWindow": {"Mode": "FLEXIBLE"}}, "ValidationException", "MaximumWindowInMinutes"),
        (
            {"Target": {"Arn": queue, "RoleArn": role, "RetryPolicy": {"MaximumRetryAttempts": 186}}},
            "ValidationException",
            "at 'target.retryPolicy.maximumRetryAttempts' failed to satisfy constraint",
        ),
        (
            {"Target": {"Arn": queue, "RoleArn": role, "RetryPolicy": {"MaximumEventAgeInSeconds": 59}}},
            "ValidationException",
            "maximumEventAgeInSeconds",
        ),
        ({"Target": {"Arn": queue, "RoleArn": "not-a-role"}}, "ValidationException", "target.roleArn"),
        (
            {"Target": {"Arn": "arn:aws:scheduler:::aws-sdk:sqs:sendMessage", "RoleArn": role}},
            "ValidationException",
            "not supported by the selfheal local cloud",
        ),
        (
            {
                "Target": {
                    "Arn": "arn:aws:ecs:us-east-1:123456789012:cluster/c",
                    "RoleArn": role,
                    "EcsParameters": {
                        "TaskDefinitionArn": "arn:aws:ecs:us-east-1:123456789012:task-definition/t"
                    },
                }
            },
            "ValidationException",
            "EcsParameters is not supported",
        ),
        (
            {
                "Target": {
                    "Arn": "arn:aws:lambda:us-east-1:123456789012:function:f",
                    "RoleArn": role,
                    "Input": "x",
                }
            },
            "ValidationException",
            "well-formed JSON",
        ),
        (
            {"GroupName": "no-such-group"},
            "ResourceNotFoundException",
            "Schedule group no-such-group does not exist.",
        ),
        (
            {"StartDate": datetime.fromtimestamp(cloud.clock.now() - 600, UTC)},
            "ValidationException",
            "The StartDate you specify cannot be earlier than 5 minutes ago.",
        ),
    ]
    for change, code, text in cases:
        request = {**base, **change}
        got_code, message = _refusal(lambda: scheduler.create_schedule(**request))  # noqa: B023
        assert got_code == code and text in message, (change, got_code, message)
        assert "\n" not in message
    names = [s["Name"] for s in scheduler.list_schedules()["Schedules"]]
    assert "refused" not in names


def test_update_keeps_action_after_completion_and_groups_behave_as_on_aws(aws: AwsFactory) -> None:
    """UpdateSchedule stores ActionAfterCompletion and defaults State; a group name is unique, an unknown
    or the default group cannot be deleted, deleting a group deletes its schedules."""
    scheduler = aws("scheduler")
    group = _unique("grp")
    scheduler.create_schedule_group(Name=group, Tags=[{"Key": "team", "Value": "sre"}])
    assert _refusal(lambda: scheduler.create_schedule_group(Name=group))[0] == "ConflictException"
    args: dict[str, Any] = {
        "Name": "upd",
        "GroupName": group,
        "ScheduleExpression": "rate(1 day)",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {
            "Arn": "arn:aws:sqs:us-east-1:123456789012:q",
            "RoleArn": "arn:aws:iam::123456789012:role/r",
        },
        "State": "DISABLED",
    }
    scheduler.create_schedule(**args)
    args.pop("State")
    scheduler.update_schedule(**args, ActionAfterCompletion="DELETE")
    got = scheduler.get_schedule(Name="upd", GroupName=group)
    assert (got["ActionAfterCompletion"], got["State"]) == ("DELETE", "ENABLED")
    assert _refusal(lambda: scheduler.delete_schedule_group(Name="default"))[0] == "ValidationException"
    assert _refusal(lambda: scheduler.delete_schedule_group(Name="nope"))[0] == "ResourceNotFoundException"
    scheduler.delete_schedule_group(Name=group)
    assert (
        _refusal(lambda: scheduler.get_schedule(Name="upd", GroupName=group))[0]
        == "ResourceNotFoundException"
    )


def test_cron_reads_the_wall_clock_of_its_time_zone_and_skips_a_missing_hour() -> None:
    """cron(30 9 ...) in New York is 14:30 UTC in winter and 13:30 UTC in summer; 02:30 on the spring-forward
    day does not exist and is skipped; an at() is read in its zone."""
    ny = zone("America/New_York")
    times = ScheduleTimes(parse_expression("cron(30 9 * * ? *)", "America/New_York"), ny, None, None, 0.0)
    winter = datetime(2026, 1, 10, 12, 0, tzinfo=UTC).timestamp()
    assert datetime.fromtimestamp(times.after(winter), UTC) == datetime(2026, 1, 10, 14, 30, tzinfo=UTC)
    summer = datetime(2026, 7, 10, 12, 0, tzinfo=UTC).timestamp()
    assert datetime.fromtimestamp(times.after(summer), UTC) == datetime(2026, 7, 10, 13, 30, tzinfo=UTC)
    gap = ScheduleTimes(parse_expression("cron(30 2 * * ? *)", "America/New_York"), ny, None, None, 0.0)
    before = datetime(2026, 3, 8, 0, 0, tzinfo=ny).timestamp()  # 8 March 2026: 02:00 → 03:00
    assert datetime.fromtimestamp(gap.after(before), ny).replace(tzinfo=None) == datetime(2026, 3, 9, 2, 30)
    at = parse_expression("at(2026-06-01T09:00:00)", "Europe/Paris")
    assert isinstance(at, At)
    assert datetime.fromtimestamp(at.moment, UTC) == datetime(2026, 6, 1, 7, 0, tzinfo=UTC)
    ended = ScheduleTimes(
        parse_expression("rate(1 hour)"),
        zone("UTC"),
        None,
        winter + timedelta(hours=2).total_seconds(),
        winter,
    )
    assert ended.first() == winter and ended.after(winter + 3600) == float("inf")
    once = parse_expression("at(2026-06-01T09:00:00)")
    ignored = ScheduleTimes(once, zone("UTC"), winter + 10**8, winter, winter)  # AWS ignores both dates
    assert isinstance(once, At)
    assert ignored.first() == once.moment and ignored.after(once.moment) == float("inf")


def test_a_cron_schedule_in_a_time_zone_fires_in_cloud_time(aws: AwsFactory, cloud: LocalCloud) -> None:
    """cron(* * * * ? *) in Asia/Kolkata (UTC+05:30) fires on the minute, in cloud time, as a role whose
    permission comes from an attached managed policy."""
    name = _unique("sch-cron")
    url, queue = _queue(aws, name)
    role = _role(aws, name, [])
    iam = aws("iam")
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "sqs:*", "Resource": queue}],
    }
    policy = iam.create_policy(PolicyName=name, PolicyDocument=json.dumps(document))["Policy"]["Arn"]
    iam.attach_role_policy(RoleName=name, PolicyArn=policy)
    arn = aws("scheduler").create_schedule(
        Name=name,
        ScheduleExpression="cron(* * * * ? *)",
        ScheduleExpressionTimezone="Asia/Kolkata",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": queue, "RoleArn": role, "Input": "cron"},
    )["ScheduleArn"]
    assert [m["Body"] for m in _receive(aws, url, 2)] == ["cron", "cron"]
    assert all(d.time % 60 == pytest.approx(0, abs=1e-3) for d in Scheduler.of(cloud).delivered(arn))
    aws("scheduler").delete_schedule(Name=name)


def test_schedules_fire_in_every_region(cloud: LocalCloud) -> None:
    """A schedule created in another region fires its target in that region."""
    region = "eu-west-1"
    name = _unique("sch-region")

    def client(service: str) -> Any:
        return cloud.client(service, region_name=region)

    sqs = client("sqs")
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert f":{region}:" in queue
    role = _role(cloud.client, name, [("sqs:SendMessage", queue)])
    arn = client("scheduler").create_schedule(
        Name=name,
        ScheduleExpression=_at(cloud, 0.2),
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": queue, "RoleArn": role, "Input": "hello from eu-west-1"},
    )["ScheduleArn"]
    assert arn.startswith(f"arn:aws:scheduler:{region}:")
    deadline = time.monotonic() + WAIT
    bodies: list[str] = []
    while not bodies and time.monotonic() < deadline:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1).get("Messages", [])
        bodies = [m["Body"] for m in got]
        time.sleep(0.05)
    assert bodies == ["hello from eu-west-1"]


def test_an_update_keeps_the_cadence_and_takes_the_new_input(aws: AwsFactory, cloud: LocalCloud) -> None:
    """Updating a rate schedule's target does not fire it again at once: the next firing comes on the
    original cadence, with the new Input."""
    name = _unique("sch-upd")
    url, queue = _queue(aws, name)
    role = _role(aws, name, [("sqs:SendMessage", queue)])
    scheduler = aws("scheduler")
    args: dict[str, Any] = {
        "Name": name,
        "ScheduleExpression": "rate(5 minutes)",
        "FlexibleTimeWindow": {"Mode": "OFF"},
    }
    arn = scheduler.create_schedule(**args, Target={"Arn": queue, "RoleArn": role, "Input": "v1"})[
        "ScheduleArn"
    ]
    assert [m["Body"] for m in _receive(aws, url, 1)] == ["v1"]
    scheduler.update_schedule(**args, Target={"Arn": queue, "RoleArn": role, "Input": "v2"})
    assert _receive(aws, url, 1, timeout=1.5) == []
    assert [m["Body"] for m in _receive(aws, url, 1)] == ["v2"]
    first, second = (d.time for d in Scheduler.of(cloud).delivered(arn)[:2])
    assert second - first == pytest.approx(300.0)
    scheduler.delete_schedule(Name=name)


def test_an_sns_target_gets_the_input_published(aws: AwsFactory, cloud: LocalCloud) -> None:
    """An SNS topic target gets the Input as a Publish, which SNS delivers to its subscribers."""
    name = _unique("sch-sns")
    url, queue = _queue(aws, name)
    sns = aws("sns")
    topic = sns.create_topic(Name=name)["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue, Attributes={"RawMessageDelivery": "true"})
    role = _role(aws, name, [("sns:Publish", topic)])
    aws("scheduler").create_schedule(
        Name=name,
        ScheduleExpression=_at(cloud, 0.2),
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": topic, "RoleArn": role, "Input": '{"alert": "nightly"}'},
    )
    assert [json.loads(m["Body"]) for m in _receive(aws, url, 1)] == [{"alert": "nightly"}]


def test_retries_stop_at_the_maximum_event_age(aws: AwsFactory, cloud: LocalCloud) -> None:
    """With 185 attempts allowed but 60 s of event age, the retries (1, 2, 4 … s apart) stop within the
    age and the dead-letter event says MaximumEventAgeInSeconds."""
    name = _unique("sch-age")
    dlq_url, dlq = _queue(aws, f"{name}-dlq")
    role = _role(aws, name, [("sqs:SendMessage", dlq)])
    arn = aws("scheduler").create_schedule(
        Name=name,
        ScheduleExpression=_at(cloud, 0.2),
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": "arn:aws:sns:us-east-1:123456789012:not-allowed",
            "RoleArn": role,
            "Input": "late",
            "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 60},
            "DeadLetterConfig": {"Arn": dlq},
        },
    )["ScheduleArn"]
    [message] = _receive(aws, dlq_url, 1)
    attributes = {k: v["StringValue"] for k, v in message["MessageAttributes"].items()}
    assert attributes["EXHAUSTED_RETRY_CONDITION"] == "MaximumEventAgeInSeconds"
    attempts = Scheduler.of(cloud).delivered(arn)
    assert attributes["RETRY_ATTEMPTS"] == str(len(attempts) - 1) == "5"
    assert all("sns:Publish" in str(a.error) for a in attempts)
