"""The IAM permissions EventBridge calls need: rule ARNs from names and buses, PutEvents per bus."""

from __future__ import annotations

from selfheal.cloud.iam_permissions import Permission, required_permissions

REGION, ACCOUNT = "us-east-1", "123456789012"
RULES = f"arn:aws:events:{REGION}:{ACCOUNT}:rule"
BUSES = f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus"


def needs(operation: str, params: dict[str, object]) -> list[Permission]:
    return required_permissions("events", operation, params, REGION, ACCOUNT)


def test_put_events_needs_each_entrys_bus() -> None:
    """PutEvents is authorised on the bus of every entry (the default bus when none is named)."""
    entries = [{"Source": "a"}, {"Source": "b", "EventBusName": "team"}, {"EventBusName": f"{BUSES}/team"}]
    assert needs("PutEvents", {"Entries": entries}) == [
        Permission("events:PutEvents", f"{BUSES}/default"),
        Permission("events:PutEvents", f"{BUSES}/team"),
    ]


def test_rule_and_target_calls_need_the_rule() -> None:
    """Rule and target calls name the rule's ARN, with the bus in it for custom buses."""
    assert needs("PutRule", {"Name": "r"}) == [Permission("events:PutRule", f"{RULES}/r")]
    assert needs("DisableRule", {"Name": "r", "EventBusName": "team"}) == [
        Permission("events:DisableRule", f"{RULES}/team/r")
    ]
    assert needs("PutTargets", {"Rule": "r", "EventBusName": f"{BUSES}/team"}) == [
        Permission("events:PutTargets", f"{RULES}/team/r")
    ]
    assert needs("CreateEventBus", {"Name": "team"}) == [Permission("events:CreateEventBus", f"{BUSES}/team")]
    assert needs("ListRules", {}) == [Permission("events:ListRules", "*")]
