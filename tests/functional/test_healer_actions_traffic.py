"""Functional tests of the actions that change where traffic goes: rollback_alias, clamp_concurrency,
disable_event_source (against moto, faults from ``FaultyClient``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from botocore.exceptions import ClientError
from test_healer_actions import FUNCTION, INCIDENT, World, moto_world

from healer.actions import (
    Backoff,
    Change,
    ClampConcurrency,
    DisableEventSource,
    RollbackAlias,
    Target,
    TargetUnreadable,
)

LIVE = Target(FUNCTION, alias_name="live")
ALIAS = "alias:orders:live"


@pytest.fixture
def world() -> Iterator[World]:
    """moto with the function ``orders`` and a fake clock."""
    with moto_world() as found:
        yield found


def test_rollback_points_the_alias_one_version_back_and_undo_returns_it(world: World) -> None:
    """Alias at 3 of 4 versions: rolled back to 2 (never 4), recorded in the description; undo → 3."""
    world.publish(4)
    world.alias("3")
    action = RollbackAlias()
    plan = action.plan(world.lambda_, LIVE, INCIDENT)
    assert (plan.changes, plan.refusal, plan.landed) == (
        (Change(ALIAS, "FunctionVersion", "3", "2"),),
        None,
        False,
    )
    outcome = action.apply(world.lambda_, plan, clock=world.clock)
    assert (outcome.status, outcome.changes) == ("applied", plan.changes)
    assert world.alias_version() == "2"
    description = world.lambda_.get_alias(FunctionName=FUNCTION, Name="live")["Description"]
    assert description == "selfheal inc-1: rolled back from version 3 to 2"
    undone = action.undo(world.lambda_, outcome.changes, clock=world.clock)
    assert (undone.status, undone.changes) == ("applied", (Change(ALIAS, "FunctionVersion", "2", "3"),))
    assert world.alias_version() == "3"


def test_rollback_that_landed_is_not_rolled_back_twice(world: World) -> None:
    """The same incident finds its rollback in place (already_applied); another would go further back."""
    world.publish(3)
    world.alias("3")
    action = RollbackAlias()
    action.apply(world.lambda_, action.plan(world.lambda_, LIVE, INCIDENT), clock=world.clock)
    again = action.plan(world.lambda_, LIVE, INCIDENT)
    assert (again.landed, again.changes) == (True, (Change(ALIAS, "FunctionVersion", "3", "2"),))
    assert action.apply(world.lambda_, again, clock=world.clock).status == "already_applied"
    assert world.alias_version() == "2"
    assert action.plan(world.lambda_, LIVE, "inc-2").changes == (Change(ALIAS, "FunctionVersion", "2", "1"),)


@pytest.mark.parametrize(
    ("version", "weights", "target", "refusal"),
    [
        (
            "3",
            {"2": 0.1},
            LIVE,
            "alias live is shifting traffic to version 2 (weight 0.1): someone else is deploying; "
            "not rolling back",
        ),
        ("1", None, LIVE, "alias live is at version 1: there is no published version below it"),
        (
            "$LATEST",
            None,
            LIVE,
            "alias live points at $LATEST, not a published version: nothing to roll back",
        ),
        ("3", None, Target(FUNCTION), "the target has no alias to roll back"),
    ],
)
def test_rollback_refusals(
    world: World, version: str, weights: dict[str, float] | None, target: Target, refusal: str
) -> None:
    """A shifting alias, no older version, $LATEST, no alias: refused, and apply does not touch the alias."""
    world.publish(3)
    world.alias(version, weights=weights)
    plan = RollbackAlias().plan(world.lambda_, target, INCIDENT)
    assert (plan.refusal, plan.changes) == (refusal, ())
    assert RollbackAlias().apply(world.lambda_, plan, clock=world.clock).status == "permanent_error"
    assert world.alias_version() == version


def test_rollback_of_a_missing_alias_is_unreadable(world: World) -> None:
    """No such alias: TargetUnreadable naming the read."""
    with pytest.raises(TargetUnreadable, match=r"GetAlias\(orders:live\) failed: ResourceNotFoundException"):
        RollbackAlias().plan(world.lambda_, LIVE, INCIDENT)


def test_rollback_undo_refuses_an_alias_moved_since(world: World) -> None:
    """Someone deployed version 4 after the rollback: the undo leaves the alias at 4."""
    world.publish(4)
    world.alias("3")
    action = RollbackAlias()
    outcome = action.apply(world.lambda_, action.plan(world.lambda_, LIVE, INCIDENT), clock=world.clock)
    world.alias("4")
    undone = action.undo(world.lambda_, outcome.changes, clock=world.clock)
    assert undone.status == "revision_changed"
    assert "FunctionVersion is '4', not the recorded '2'" in undone.detail
    assert world.alias_version() == "4"


def test_rollback_guarded_by_the_alias_revision_is_revision_changed(world: World) -> None:
    """UpdateAlias fails its RevisionId precondition: revision_changed, the alias untouched."""
    world.publish(3)
    world.alias("3")
    client = world.faulty().fail("update_alias", "PreconditionFailedException")
    plan = RollbackAlias().plan(client, LIVE, INCIDENT)
    assert plan.guard
    outcome = RollbackAlias().apply(client, plan, clock=world.clock)
    assert (outcome.status, outcome.changes) == ("revision_changed", ())
    assert world.alias_version() == "3"


def test_clamp_reserves_the_limit_and_undo_unreserves(world: World) -> None:
    """Unreserved → 5 → unreserved again (recorded as None)."""
    action = ClampConcurrency()
    plan = action.plan(world.lambda_, Target(FUNCTION, concurrency_limit=5), INCIDENT)
    assert plan.changes == (Change("function:orders", "ReservedConcurrentExecutions", None, 5),)
    outcome = action.apply(world.lambda_, plan, clock=world.clock)
    assert (outcome.status, world.concurrency()) == ("applied", 5)
    assert action.undo(world.lambda_, outcome.changes, clock=world.clock).status == "applied"
    assert world.concurrency() is None


def test_clamp_undo_puts_the_previous_reservation_back(world: World) -> None:
    """Reserved 10 → 2 → 10."""
    world.lambda_.put_function_concurrency(FunctionName=FUNCTION, ReservedConcurrentExecutions=10)
    action = ClampConcurrency()
    outcome = action.apply(
        world.lambda_,
        action.plan(world.lambda_, Target(FUNCTION, concurrency_limit=2), INCIDENT),
        clock=world.clock,
    )
    assert (outcome.changes[0].before, world.concurrency()) == (10, 2)
    action.undo(world.lambda_, outcome.changes, clock=world.clock)
    assert world.concurrency() == 10


def test_clamp_at_the_limit_already_has_nothing_to_change(world: World) -> None:
    """Reserved 5 with a limit of 5: no changes."""
    world.lambda_.put_function_concurrency(FunctionName=FUNCTION, ReservedConcurrentExecutions=5)
    plan = ClampConcurrency().plan(world.lambda_, Target(FUNCTION, concurrency_limit=5), INCIDENT)
    assert (plan.changes, plan.nothing_to_change) == ((), True)


@pytest.mark.parametrize(
    ("target", "refusal"),
    [
        (Target(FUNCTION), "the target has no concurrency_limit"),
        (
            Target(FUNCTION, concurrency_limit=0),
            "a concurrency limit of 0 stops the function, and allow_zero_concurrency is false",
        ),
    ],
)
def test_clamp_refusals(world: World, target: Target, refusal: str) -> None:
    """No limit, or 0 without allow_zero_concurrency: refused, concurrency untouched."""
    plan = ClampConcurrency().plan(world.lambda_, target, INCIDENT)
    assert plan.refusal == refusal
    assert ClampConcurrency().apply(world.lambda_, plan, clock=world.clock).status == "permanent_error"
    assert world.concurrency() is None


def test_clamp_to_zero_when_allowed(world: World) -> None:
    """allow_zero_concurrency lets the limit be 0."""
    target = Target(FUNCTION, concurrency_limit=0, allow_zero_concurrency=True)
    plan = ClampConcurrency().plan(world.lambda_, target, INCIDENT)
    assert ClampConcurrency().apply(world.lambda_, plan, clock=world.clock).status == "applied"
    assert world.concurrency() == 0


def test_clamp_undo_refuses_a_reservation_changed_since(world: World) -> None:
    """Someone set 7 after the clamp to 2: the undo leaves 7."""
    action = ClampConcurrency()
    outcome = action.apply(
        world.lambda_,
        action.plan(world.lambda_, Target(FUNCTION, concurrency_limit=2), INCIDENT),
        clock=world.clock,
    )
    world.lambda_.put_function_concurrency(FunctionName=FUNCTION, ReservedConcurrentExecutions=7)
    undone = action.undo(world.lambda_, outcome.changes, clock=world.clock)
    assert (undone.status, undone.changes) == ("revision_changed", ())
    assert world.concurrency() == 7


def test_clamp_retries_throttling_then_gives_up(world: World) -> None:
    """Throttled on every attempt: retries_exhausted after the backoff's attempts, nothing reserved."""
    client = world.faulty().fail("put_function_concurrency", "TooManyRequestsException", times=9)
    plan = ClampConcurrency().plan(client, Target(FUNCTION, concurrency_limit=3), INCIDENT)
    outcome = ClampConcurrency().apply(client, plan, clock=world.clock, backoff=Backoff(attempts=4))
    assert (outcome.status, outcome.attempts, world.clock.slept) == ("retries_exhausted", 4, [1.0, 2.0, 4.0])
    assert world.concurrency() is None


def test_clamp_stops_when_the_lease_is_lost(world: World) -> None:
    """before_update returns False: lease_lost, nothing reserved."""
    plan = ClampConcurrency().plan(world.lambda_, Target(FUNCTION, concurrency_limit=3), INCIDENT)
    outcome = ClampConcurrency().apply(world.lambda_, plan, clock=world.clock, before_update=lambda: False)
    assert (outcome.status, outcome.attempts) == ("lease_lost", 0)
    assert world.concurrency() is None


def test_disable_event_source_disables_the_function_and_alias_mappings_and_undo_enables(world: World) -> None:
    """Enabled mappings of the function and of its alias are disabled; a disabled one is left; undo."""
    world.publish(1)
    world.alias("1")
    alias_arn = world.lambda_.get_alias(FunctionName=FUNCTION, Name="live")["AliasArn"]
    direct, via_alias, off = (
        world.queue_mapping("a"),
        world.queue_mapping("b", alias_arn),
        world.queue_mapping("c"),
    )
    world.lambda_.update_event_source_mapping(UUID=off, Enabled=False)
    action = DisableEventSource()
    plan = action.plan(world.lambda_, LIVE, INCIDENT)
    assert {c.resource for c in plan.changes} == {f"event-source-mapping:{u}" for u in (direct, via_alias)}
    assert {(c.field, c.before, c.after) for c in plan.changes} == {("State", "Enabled", "Disabled")}
    outcome = action.apply(world.lambda_, plan, clock=world.clock)
    assert (outcome.status, outcome.changes) == ("applied", plan.changes)
    assert [world.mapping_state(u) for u in (direct, via_alias, off)] == ["Disabled"] * 3
    assert action.undo(world.lambda_, outcome.changes, clock=world.clock).status == "applied"
    assert [world.mapping_state(u) for u in (direct, via_alias, off)] == ["Enabled", "Enabled", "Disabled"]


def test_disable_event_source_without_the_alias_leaves_the_alias_mappings(world: World) -> None:
    """No alias_name: only the function's own mappings."""
    world.publish(1)
    world.alias("1")
    alias_arn = world.lambda_.get_alias(FunctionName=FUNCTION, Name="live")["AliasArn"]
    direct, via_alias = world.queue_mapping("a"), world.queue_mapping("b", alias_arn)
    plan = DisableEventSource().plan(world.lambda_, Target(FUNCTION), INCIDENT)
    assert [c.resource for c in plan.changes] == [f"event-source-mapping:{direct}"]
    DisableEventSource().apply(world.lambda_, plan, clock=world.clock)
    assert (world.mapping_state(direct), world.mapping_state(via_alias)) == ("Disabled", "Enabled")


def test_disable_event_source_of_named_mappings_only(world: World) -> None:
    """event_source_mapping_uuids given: only those; one of another function is refused."""
    first, second = world.queue_mapping("a"), world.queue_mapping("b")
    plan = DisableEventSource().plan(
        world.lambda_, Target(FUNCTION, event_source_mapping_uuids=(second,)), INCIDENT
    )
    assert [c.resource for c in plan.changes] == [f"event-source-mapping:{second}"]
    world.create_function("payments")
    foreign = world.queue_mapping("c", "payments")
    refused = DisableEventSource().plan(
        world.lambda_, Target(FUNCTION, event_source_mapping_uuids=(first, foreign)), INCIDENT
    )
    assert refused.refusal == f"event source mappings not of orders: {foreign} (of payments)"


def test_disable_event_source_refuses_without_an_enabled_mapping(world: World) -> None:
    """Only disabled mappings (or none): refused."""
    world.lambda_.update_event_source_mapping(UUID=world.queue_mapping("a"), Enabled=False)
    plan = DisableEventSource().plan(world.lambda_, Target(FUNCTION), INCIDENT)
    assert (plan.refusal, plan.changes) == ("no enabled event source mapping on orders", ())


def test_disable_event_source_failing_part_way_records_what_it_disabled(world: World) -> None:
    """The second mapping's update is denied: permanent_error, the first is recorded as changed."""
    first, second = world.queue_mapping("a"), world.queue_mapping("b")

    def deny_second(kwargs: dict[str, Any]) -> None:
        if kwargs["UUID"] == second:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": "no"}}, "Update")

    client = world.faulty().before("update_event_source_mapping", deny_second)
    plan = DisableEventSource().plan(client, Target(FUNCTION), INCIDENT)
    outcome = DisableEventSource().apply(client, plan, clock=world.clock)
    assert outcome.status == "permanent_error"
    assert outcome.changes == (Change(f"event-source-mapping:{first}", "State", "Enabled", "Disabled"),)
    assert (world.mapping_state(first), world.mapping_state(second)) == ("Disabled", "Enabled")


def test_disable_event_source_undo_with_a_mapping_deleted_since_is_partial(world: World) -> None:
    """One mapping deleted after the action: the other is re-enabled, the deleted one named as refused."""
    kept, gone = world.queue_mapping("a"), world.queue_mapping("b")
    action = DisableEventSource()
    outcome = action.apply(
        world.lambda_, action.plan(world.lambda_, Target(FUNCTION), INCIDENT), clock=world.clock
    )
    world.lambda_.delete_event_source_mapping(UUID=gone)
    undone = action.undo(world.lambda_, outcome.changes, clock=world.clock)
    assert undone.status == "revision_changed"
    assert f"event-source-mapping:{gone} State no longer exists" in undone.detail
    assert undone.changes == (Change(f"event-source-mapping:{kept}", "State", "Disabled", "Enabled"),)
    assert world.mapping_state(kept) == "Enabled"


def test_disable_event_source_stops_when_the_lease_is_lost(world: World) -> None:
    """before_update returns False: lease_lost, the mapping stays enabled."""
    uuid = world.queue_mapping("a")
    plan = DisableEventSource().plan(world.lambda_, Target(FUNCTION), INCIDENT)
    outcome = DisableEventSource().apply(world.lambda_, plan, clock=world.clock, before_update=lambda: False)
    assert (outcome.status, outcome.changes) == ("lease_lost", ())
    assert world.mapping_state(uuid) == "Enabled"
