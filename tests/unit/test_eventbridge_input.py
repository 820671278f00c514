"""What EventBridge targets receive: the event, Input, InputPath and InputTransformer."""

from __future__ import annotations

import json
from typing import Any

import pytest

from selfheal.cloud.eventbridge_input import InvalidInputPath, json_path, target_input

EVENT: dict[str, Any] = {
    "id": "e-1",
    "source": "my.app",
    "resources": ["arn:a", "arn:b"],
    "detail": {"instance-id": "i-123", "state": "RUNNING", "count": 3, "odd key": {"x": [1, 2]}},
}
RULE = {"rule_arn": "arn:aws:events:us-east-1:123456789012:rule/r", "rule_name": "r"}


def deliver(target: dict[str, Any]) -> str:
    return target_input(
        {"Id": "t", "Arn": "arn:x", **target}, EVENT, ingestion_time="2026-01-01T00:00:00Z", **RULE
    )


def test_whole_event_by_default() -> None:
    """Without input settings the target gets the event."""
    assert json.loads(deliver({})) == EVENT


def test_input_is_given_as_is() -> None:
    """``Input`` replaces the event with its JSON text."""
    assert deliver({"Input": '{"fixed": true}'}) == '{"fixed": true}'


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("$", EVENT),
        ("$.detail", EVENT["detail"]),
        ("$.detail.state", "RUNNING"),
        ("$.resources[1]", "arn:b"),
        ("$.detail['odd key'].x[0]", 1),
        ("$.detail.missing", None),
        ("$.resources[5]", None),
    ],
)
def test_input_path(path: str, expected: Any) -> None:
    """``InputPath`` selects part of the event (nothing selected: null)."""
    assert json.loads(deliver({"InputPath": path})) == expected
    assert json_path(EVENT, path) == expected


def test_bad_input_path() -> None:
    """A path not starting with $ is refused."""
    with pytest.raises(InvalidInputPath):
        json_path(EVENT, "detail.state")


def test_input_transformer_json_template() -> None:
    """Placeholders go in as JSON outside strings and as text inside them; reserved names work."""
    target = {
        "InputTransformer": {
            "InputPathsMap": {
                "instance": "$.detail.instance-id",
                "count": "$.detail.count",
                "gone": "$.nope",
            },
            "InputTemplate": (
                '{"instance": <instance>, "count": <count>, "text": "<instance> is <count>", '
                '"rule": "<aws.events.rule-name>", "gone": <gone>, "keep": "<unknown>"}'
            ),
        }
    }
    assert json.loads(deliver(target)) == {
        "instance": "i-123",
        "count": 3,
        "text": "i-123 is 3",
        "rule": "r",
        "gone": None,
        "keep": "<unknown>",
    }


def test_input_transformer_text_templates() -> None:
    """A text template takes values as text (quoted or not); the reserved event names work in JSON."""
    paths = {"instance": "$.detail.instance-id", "state": "$.detail.state", "gone": "$.nope"}

    def render(template: str) -> str:
        return deliver({"InputTransformer": {"InputPathsMap": paths, "InputTemplate": template}})

    assert render("<instance> is in state <state><gone>") == "i-123 is in state RUNNING"
    assert render('<instance> is in state "<state>"') == 'i-123 is in state "RUNNING"'
    assert json.loads(render('"state is <state>"')) == "state is RUNNING"
    without_detail = {k: v for k, v in EVENT.items() if k != "detail"}
    whole = '{"e": <aws.events.event>, "j": <aws.events.event.json>}'
    assert json.loads(render(whole)) == {"e": without_detail, "j": EVENT}
