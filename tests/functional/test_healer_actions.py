"""Functional tests of the action catalogue's shared parts and its environment actions (set_env, restart).

Each test runs against moto; faults come from ``FaultyClient`` wrapping the real moto client. The
``World`` here is shared with the other ``test_healer_actions_*`` modules.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from healer_fixtures import FaultyClient
from moto import mock_aws

from healer.actions import (
    ACTION_NAMES,
    ACTIONS,
    Backoff,
    Change,
    Plan,
    Restart,
    SetEnv,
    Target,
    TargetUnreadable,
)
from healer.clock import ManualClock

REGION = "us-east-1"
FUNCTION = "orders"
INCIDENT = "inc-1"
START_ENV = {"FAILURE_RATE": "0.5", "FAILURE_MODE": "exception"}
FAILURE_RATE = "Environment.Variables.FAILURE_RATE"


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return {'statusCode': 200}\n")
    return buffer.getvalue()


@dataclass
class World:
    """moto with one function, ``orders``, and helpers to change and read it as others would."""

    lambda_: Any
    sqs: Any
    role_arn: str
    clock: ManualClock = field(default_factory=ManualClock)

    def faulty(self) -> FaultyClient:
        """The Lambda client wrapped for fault injection."""
        return FaultyClient(self.lambda_)

    def create_function(self, name: str, variables: dict[str, str] | None = None) -> None:
        """Create a function (moto cannot run it; the actions only configure it)."""
        self.lambda_.create_function(
            FunctionName=name,
            Runtime="python3.11",
            Role=self.role_arn,
            Handler="app.handler",
            Code={"ZipFile": _zip()},
            Environment={"Variables": dict(START_ENV if variables is None else variables)},
        )

    def env(self) -> dict[str, str]:
        """The function's variables now."""
        response = self.lambda_.get_function_configuration(FunctionName=FUNCTION)
        return dict(response.get("Environment", {}).get("Variables", {}))

    def set_env(self, variables: dict[str, str]) -> None:
        """Someone else replaces the function's variables."""
        self.lambda_.update_function_configuration(
            FunctionName=FUNCTION, Environment={"Variables": variables}
        )

    def publish(self, count: int) -> None:
        """Publish ``count`` new versions, each from a different configuration."""
        for _ in range(count):
            self.set_env({**self.env(), "BUILD": str(len(self.env()) + self.clock.now())})
            self.lambda_.publish_version(FunctionName=FUNCTION)

    def alias(self, version: str, name: str = "live", weights: dict[str, float] | None = None) -> None:
        """Create the alias at ``version``, or move an existing one there."""
        routing = {"RoutingConfig": {"AdditionalVersionWeights": weights}} if weights else {}
        try:
            self.lambda_.create_alias(FunctionName=FUNCTION, Name=name, FunctionVersion=version, **routing)
        except ClientError:
            self.lambda_.update_alias(FunctionName=FUNCTION, Name=name, FunctionVersion=version, **routing)

    def alias_version(self, name: str = "live") -> str:
        """The version the alias points at now."""
        return str(self.lambda_.get_alias(FunctionName=FUNCTION, Name=name)["FunctionVersion"])

    def concurrency(self) -> int | None:
        """The function's reserved concurrency now (None: unreserved)."""
        return self.lambda_.get_function_concurrency(FunctionName=FUNCTION).get(
            "ReservedConcurrentExecutions"
        )

    def queue_mapping(self, queue: str, function: str = FUNCTION) -> str:
        """Map a new SQS queue to ``function`` (a name or an alias ARN); the mapping's UUID."""
        url = self.sqs.create_queue(QueueName=queue)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        return str(
            self.lambda_.create_event_source_mapping(EventSourceArn=arn, FunctionName=function)["UUID"]
        )

    def mapping_state(self, uuid: str) -> str:
        """The mapping's state now."""
        return str(self.lambda_.get_event_source_mapping(UUID=uuid)["State"])


@contextmanager
def moto_world() -> Iterator[World]:
    """moto with the function ``orders`` (FAILURE_RATE 0.5) and a fake clock."""
    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        role = iam.create_role(
            RoleName="orders-role",
            AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
        )["Role"]["Arn"]
        found = World(
            boto3.client("lambda", region_name=REGION), boto3.client("sqs", region_name=REGION), role
        )
        found.create_function(FUNCTION)
        yield found


@pytest.fixture
def world() -> Iterator[World]:
    """The moto world of these tests."""
    with moto_world() as found:
        yield found


def set_env_target(**variables: str) -> Target:
    """The target with ``set_env`` (FAILURE_RATE=0 unless given)."""
    return Target(FUNCTION, set_env=variables or {"FAILURE_RATE": "0"}, healer_name="healer-x")


def with_revisions(client: FaultyClient, world: World) -> FaultyClient:
    """Make moto behave like AWS about RevisionId: reads report one, a stale one fails the update."""

    def revision() -> str:
        return hashlib.sha256(json.dumps(world.env(), sort_keys=True).encode()).hexdigest()[:12]

    def report(response: Any) -> Any:
        return {**response, "RevisionId": revision()}

    def check(kwargs: dict[str, Any]) -> None:
        if kwargs.get("RevisionId") not in (None, revision()):
            raise ClientError(
                {"Error": {"Code": "PreconditionFailedException", "Message": "stale"}}, "Update"
            )

    return client.transform("get_function_configuration", report).before(
        "update_function_configuration", check
    )


def test_the_catalogue_has_every_action_of_the_contract() -> None:
    """ACTIONS maps the five names of docs/platform.md to actions of that name."""
    assert ACTION_NAMES == (
        "set_env",
        "rollback_alias",
        "clamp_concurrency",
        "disable_event_source",
        "restart",
    )
    assert {name: action.name for name, action in ACTIONS.items()} == {name: name for name in ACTION_NAMES}


def test_a_change_round_trips_through_the_ledger_json() -> None:
    """to_json/from_json round-trip, DynamoDB's Decimals come back as numbers, bad shapes are rejected."""
    change = Change("function:orders", "ReservedConcurrentExecutions", None, 5)
    assert Change.from_json(json.loads(json.dumps(change.to_json()))) == change
    stored = {"resource": "function:orders", "field": "X", "before": Decimal("10"), "after": Decimal("0.5")}
    assert Change.from_json(stored) == Change("function:orders", "X", 10, 0.5)
    with pytest.raises(ValueError, match="lacks after"):
        Change.from_json({"resource": "r", "field": "f", "before": 1})
    with pytest.raises(ValueError, match="JSON scalar"):
        Change.from_json({"resource": "r", "field": "f", "before": [1], "after": 2})


def test_backoff_doubles_up_to_its_cap() -> None:
    """Retry waits grow 1, 2, 4, 8 and stay at the cap."""
    assert [Backoff().delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 8.0]


def test_a_target_does_not_change_with_the_callers_dict() -> None:
    """The frozen target copies set_env."""
    variables = {"FAILURE_RATE": "0"}
    target = Target(FUNCTION, set_env=variables)
    variables["FAILURE_RATE"] = "1"
    assert dict(target.set_env) == {"FAILURE_RATE": "0"}


def test_set_env_applies_with_markers_and_undoes(world: World) -> None:
    """FAILURE_RATE goes to 0 with the HEALED_* markers, others kept; the undo puts 0.5 back."""
    action = SetEnv()
    plan = action.plan(world.lambda_, set_env_target(), INCIDENT)
    assert plan.changes == (Change("function:orders", FAILURE_RATE, "0.5", "0"),)
    assert (plan.landed, plan.refusal) == (False, None)
    outcome = action.apply(world.lambda_, plan, clock=world.clock)
    assert (outcome.status, outcome.applied, outcome.changes) == ("applied", True, plan.changes)
    assert world.env() == {
        "FAILURE_RATE": "0",
        "FAILURE_MODE": "exception",
        "PREVIOUS_FAILURE_RATE": "0.5",
        "HEALED_AT": "2027-01-15T08:00:00.000000Z",
        "HEALED_BY": "healer-x",
        "HEALED_INCIDENT": INCIDENT,
    }
    stored = [Change.from_json(json.loads(json.dumps(c.to_json()))) for c in outcome.changes]
    undone = action.undo(world.lambda_, stored, clock=world.clock)
    assert (undone.status, undone.changes) == (
        "applied",
        (Change("function:orders", FAILURE_RATE, "0", "0.5"),),
    )
    assert world.env()["FAILURE_RATE"] == "0.5"


def test_set_env_of_an_absent_variable_records_none_and_undo_removes_it(world: World) -> None:
    """A variable that did not exist has before None and PREVIOUS_ ""; the undo removes it again."""
    action = SetEnv()
    plan = action.plan(world.lambda_, set_env_target(FAILURE_RATE="0", SAFE_MODE="on"), INCIDENT)
    assert Change("function:orders", "Environment.Variables.SAFE_MODE", None, "on") in plan.changes
    action.apply(world.lambda_, plan, clock=world.clock)
    assert (world.env()["SAFE_MODE"], world.env()["PREVIOUS_SAFE_MODE"]) == ("on", "")
    assert action.undo(world.lambda_, plan.changes, clock=world.clock).status == "applied"
    assert "SAFE_MODE" not in world.env()
    assert world.env()["FAILURE_RATE"] == "0.5"


def test_set_env_sees_its_own_landed_update_and_does_not_write_again(world: World) -> None:
    """After an interrupted run's update landed, the plan is landed with the changes it made."""
    action = SetEnv()
    action.apply(world.lambda_, action.plan(world.lambda_, set_env_target(), INCIDENT), clock=world.clock)
    client = world.faulty()
    plan = action.plan(client, set_env_target(), INCIDENT)
    assert (plan.landed, plan.changes) == (True, (Change("function:orders", FAILURE_RATE, "0.5", "0"),))
    outcome = action.apply(client, plan, clock=world.clock)
    assert (outcome.status, outcome.changes) == ("already_applied", plan.changes)
    assert client.count("update_function_configuration") == 0
    assert action.plan(world.lambda_, set_env_target(), "inc-2").landed is False


def test_set_env_with_nothing_to_change_leaves_the_function_alone(world: World) -> None:
    """FAILURE_RATE already 0 and no marker: no changes, not landed; apply changes nothing."""
    world.set_env({"FAILURE_RATE": "0"})
    plan = SetEnv().plan(world.lambda_, set_env_target(), INCIDENT)
    assert (plan.changes, plan.landed, plan.nothing_to_change) == ((), False, True)
    assert SetEnv().apply(world.lambda_, plan, clock=world.clock).status == "already_applied"
    assert world.env() == {"FAILURE_RATE": "0"}


@pytest.mark.parametrize(
    ("variables", "reason"),
    [({}, "set_env is empty"), ({"HEALED_BY": "me"}, "healer's own markers \\(HEALED_BY\\)")],
)
def test_set_env_refuses_no_variables_and_marker_names(
    world: World, variables: dict[str, str], reason: str
) -> None:
    """Nothing to set, or a marker's name: refused, and apply refuses to run the plan."""
    plan = SetEnv().plan(world.lambda_, Target(FUNCTION, set_env=variables), INCIDENT)
    assert plan.refusal is not None
    assert plan.changes == ()
    assert re.search(reason, plan.refusal), plan.refusal
    assert SetEnv().apply(world.lambda_, plan, clock=world.clock).status == "permanent_error"
    assert world.env() == START_ENV


def test_a_plan_of_a_missing_function_is_unreadable(world: World) -> None:
    """The read fails: TargetUnreadable with a one-line reason."""
    with pytest.raises(TargetUnreadable, match=r"GetFunctionConfiguration\(ghost\) failed: ResourceNotFound"):
        SetEnv().plan(world.lambda_, Target("ghost", set_env={"FAILURE_RATE": "0"}), INCIDENT)


def test_undo_refuses_a_variable_someone_changed_since(world: World) -> None:
    """FAILURE_RATE changed by someone after the action: the undo leaves it and says so."""
    action = SetEnv()
    outcome = action.apply(
        world.lambda_, action.plan(world.lambda_, set_env_target(), INCIDENT), clock=world.clock
    )
    world.set_env({**world.env(), "FAILURE_RATE": "0.9"})
    undone = action.undo(world.lambda_, outcome.changes, clock=world.clock)
    assert (undone.status, undone.changes) == ("revision_changed", ())
    assert "FAILURE_RATE is '0.9', not the recorded '0'" in undone.detail
    assert world.env()["FAILURE_RATE"] == "0.9"


def test_undo_twice_finds_everything_already_restored(world: World) -> None:
    """A restore that runs again changes nothing and says so."""
    action = SetEnv()
    outcome = action.apply(
        world.lambda_, action.plan(world.lambda_, set_env_target(), INCIDENT), clock=world.clock
    )
    action.undo(world.lambda_, outcome.changes, clock=world.clock)
    again = action.undo(world.lambda_, outcome.changes, clock=world.clock)
    assert (again.status, again.changes) == ("already_applied", ())
    assert "already restored" in again.detail


def test_undo_of_nothing_is_already_applied(world: World) -> None:
    """No recorded changes: nothing to restore."""
    undone = SetEnv().undo(world.lambda_, [], clock=world.clock)
    assert (undone.status, undone.detail) == ("already_applied", "nothing to restore")


def test_temporary_errors_are_retried_with_backoff(world: World) -> None:
    """Two conflicts, then success: three attempts, waits of 1 and 2 cloud seconds."""
    client = world.faulty().fail("update_function_configuration", "ResourceConflictException", times=2)
    action = SetEnv()
    outcome = action.apply(client, action.plan(client, set_env_target(), INCIDENT), clock=world.clock)
    assert (outcome.status, outcome.attempts) == ("applied", 3)
    assert world.clock.slept == [1.0, 2.0]
    assert world.env()["FAILURE_RATE"] == "0"


def test_temporary_errors_beyond_the_backoff_exhaust_the_retries(world: World) -> None:
    """Throttled on every attempt: retries_exhausted after the backoff's attempts, nothing changed."""
    client = world.faulty().fail("update_function_configuration", "TooManyRequestsException", times=9)
    action = SetEnv()
    plan = action.plan(client, set_env_target(), INCIDENT)
    outcome = action.apply(client, plan, clock=world.clock, backoff=Backoff(attempts=3))
    assert (outcome.status, outcome.attempts, outcome.changes) == ("retries_exhausted", 3, ())
    assert "TooManyRequestsException" in outcome.detail
    assert world.env() == START_ENV


def test_a_permanent_error_is_reported_at_once(world: World) -> None:
    """Access denied: one attempt, permanent_error."""
    client = world.faulty().fail("update_function_configuration", "AccessDeniedException")
    action = SetEnv()
    outcome = action.apply(client, action.plan(client, set_env_target(), INCIDENT), clock=world.clock)
    assert (outcome.status, outcome.attempts) == ("permanent_error", 1)
    assert world.env() == START_ENV


def test_a_change_since_the_plan_is_revision_changed(world: World) -> None:
    """Someone changes the function between plan and apply: the RevisionId guard stops the write."""
    client = with_revisions(world.faulty(), world)
    action = SetEnv()
    plan = action.plan(client, set_env_target(), INCIDENT)
    assert plan.guard is not None
    world.set_env({**START_ENV, "FAILURE_RATE": "0.7"})
    outcome = action.apply(client, plan, clock=world.clock)
    assert (outcome.status, outcome.changes) == ("revision_changed", ())
    assert world.env()["FAILURE_RATE"] == "0.7"
    fresh = action.apply(client, action.plan(client, set_env_target(), INCIDENT), clock=world.clock)
    assert fresh.status == "applied"


@pytest.mark.parametrize("answers", [[False], [True, False]])
def test_a_lost_lease_stops_before_the_write(world: World, answers: list[bool]) -> None:
    """before_update says no (at once, or after a conflict): lease_lost, nothing written."""
    client = world.faulty().fail("update_function_configuration", "ResourceConflictException")
    action = SetEnv()
    plan = action.plan(client, set_env_target(), INCIDENT)
    renew: Callable[[], bool] = iter(answers).__next__
    outcome = action.apply(client, plan, clock=world.clock, before_update=renew)
    assert (outcome.status, outcome.attempts) == ("lease_lost", len(answers) - 1)
    assert world.env() == START_ENV


@pytest.mark.parametrize(("status", "waited"), [("InProgress", True), ("Failed", False)])
def test_an_update_that_does_not_settle_is_not_settled(world: World, status: str, waited: bool) -> None:
    """LastUpdateStatus stays InProgress (until the timeout) or is Failed: not_settled, change recorded."""
    client = world.faulty().transform(
        "get_function_configuration", lambda response: {**response, "LastUpdateStatus": status}
    )
    action = SetEnv()
    plan = action.plan(client, set_env_target(), INCIDENT)
    started = world.clock.now()
    outcome = action.apply(client, plan, clock=world.clock, settle_timeout=10.0)
    assert (outcome.status, outcome.changes) == ("not_settled", plan.changes)
    assert status in outcome.detail
    assert (world.clock.now() - started >= 9.0) is waited


def test_restart_sets_its_marker_and_the_undo_removes_it(world: World) -> None:
    """HEALED_RESTART=<incident> with HEALED_AT/BY, every other variable kept; undo removes it."""
    action = Restart()
    plan = action.plan(world.lambda_, Target(FUNCTION, healer_name="healer-x"), INCIDENT)
    assert plan.changes == (
        Change("function:orders", "Environment.Variables.HEALED_RESTART", None, INCIDENT),
    )
    outcome = action.apply(world.lambda_, plan, clock=world.clock)
    assert outcome.status == "applied"
    env = world.env()
    assert {
        k: env[k] for k in ("HEALED_RESTART", "HEALED_BY", "PREVIOUS_HEALED_RESTART", "FAILURE_RATE")
    } == {
        "HEALED_RESTART": INCIDENT,
        "HEALED_BY": "healer-x",
        "PREVIOUS_HEALED_RESTART": "",
        "FAILURE_RATE": "0.5",
    }
    assert "HEALED_INCIDENT" not in env
    assert action.undo(world.lambda_, outcome.changes, clock=world.clock).status == "applied"
    assert "HEALED_RESTART" not in world.env()


def test_restart_is_landed_for_its_incident_and_fresh_for_the_next(world: World) -> None:
    """The same incident finds its restart in place; the next one restarts again, recording the first."""
    action = Restart()
    action.apply(world.lambda_, action.plan(world.lambda_, Target(FUNCTION), INCIDENT), clock=world.clock)
    again = action.plan(world.lambda_, Target(FUNCTION), INCIDENT)
    assert (again.landed, again.changes[0].before, again.changes[0].after) == (True, None, INCIDENT)
    assert action.apply(world.lambda_, again, clock=world.clock).status == "already_applied"
    following = action.plan(world.lambda_, Target(FUNCTION), "inc-2")
    assert (following.landed, following.changes[0].before) == (False, INCIDENT)
    outcome = action.apply(world.lambda_, following, clock=world.clock)
    action.undo(world.lambda_, outcome.changes, clock=world.clock)
    assert world.env()["HEALED_RESTART"] == INCIDENT


def test_apply_refuses_a_plan_of_another_action(world: World) -> None:
    """A set_env plan handed to restart is not run."""
    plan: Plan = SetEnv().plan(world.lambda_, set_env_target(), INCIDENT)
    outcome = Restart().apply(world.lambda_, plan, clock=world.clock)
    assert (outcome.status, outcome.detail) == ("permanent_error", "a plan of set_env was given to restart")
    assert world.env() == START_ENV
