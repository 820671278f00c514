"""Composite alarm rules: parsing, evaluation, and the composite state, reason and notification."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from healer.notification import AlarmNotification, parse_event
from selfheal.cloud.alarm_composite import composite_evaluation, triggering_children
from selfheal.cloud.alarm_notification import AlarmSnapshot, build_notification
from selfheal.cloud.composite_rules import (
    Constant,
    InvalidAlarmRule,
    Logical,
    Not,
    StateIs,
    children,
    holds,
    parse,
)

STATES = ("OK", "ALARM", "INSUFFICIENT_DATA")
ARN = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:"


def test_rule_with_quotes_arns_and_precedence() -> None:
    """NOT binds tighter than AND, AND tighter than OR; names may be quoted, bare, or ARNs."""
    rule = parse(f'ALARM("a b") OR NOT OK(c) AND INSUFFICIENT_DATA({ARN}d)')
    assert rule == Logical(
        "OR",
        StateIs("ALARM", "a b"),
        Logical("AND", Not(StateIs("OK", "c")), StateIs("INSUFFICIENT_DATA", "d")),
    )
    assert children(rule) == {"a b", "c", "d"}


def test_constants_and_parentheses() -> None:
    """TRUE/FALSE and parentheses are rules too; keywords are case-insensitive."""
    assert parse("(true AND NOT false)") == Logical("AND", Constant(True), Not(Constant(False)))
    assert holds(parse("TRUE"), {}) and not holds(parse("FALSE"), {})


@pytest.mark.parametrize(
    "rule",
    ["", "ALARM()", "ALARM(a", "ALARM a", "ALARM(a) AND", "ALARM(a) XOR ALARM(b)", "FIRING(a)", "ALARM(a) b"],
)
def test_invalid_rules_are_refused(rule: str) -> None:
    """Malformed rules raise InvalidAlarmRule."""
    with pytest.raises(InvalidAlarmRule):
        parse(rule)


def test_absent_alarm_is_in_no_state() -> None:
    """An alarm that does not exist satisfies no state function."""
    rule = parse("ALARM(x) OR OK(x) OR INSUFFICIENT_DATA(x)")
    assert not holds(rule, {})


Oracle = Callable[[dict[str, str]], bool]
names = st.sampled_from(["a", "b", "c"])


def _atom(state: str, name: str) -> tuple[str, Oracle]:
    return f"{state}({name})", lambda states: states.get(name) == state


def _not(inner: tuple[str, Oracle]) -> tuple[str, Oracle]:
    return f"NOT ({inner[0]})", lambda states: not inner[1](states)


def _join(a: tuple[str, Oracle], op: str, b: tuple[str, Oracle]) -> tuple[str, Oracle]:
    if op == "AND":
        return f"({a[0]}) AND ({b[0]})", lambda states: a[1](states) and b[1](states)
    return f"({a[0]}) OR ({b[0]})", lambda states: a[1](states) or b[1](states)


#: Rules paired with the same formula as a Python function (the test's oracle).
rules = st.recursive(
    st.builds(_atom, st.sampled_from(STATES), names)
    | st.sampled_from([("TRUE", lambda _: True), ("FALSE", lambda _: False)]),
    lambda inner: st.one_of(
        st.builds(_not, inner), st.builds(_join, inner, st.sampled_from(["AND", "OR"]), inner)
    ),
    max_leaves=10,
)


@given(rules, st.fixed_dictionaries({n: st.sampled_from(STATES) for n in "abc"}))
def test_rules_agree_with_boolean_logic(rule: tuple[str, Oracle], states: dict[str, str]) -> None:
    """Any generated rule evaluates as the same Boolean formula does in Python."""
    text, oracle = rule
    assert holds(parse(text), states) == oracle(states)


def _moto_alarm(name: str, state: str, changed: datetime, rule: str | None = None) -> SimpleNamespace:
    return SimpleNamespace(
        name=name,
        alarm_arn=ARN + name,
        state_value=state,
        state_updated_timestamp=changed,
        state_transitioned_timestamp=changed,
        rule=rule,
    )


def test_composite_state_reason_and_reason_data() -> None:
    """ALARM while the rule holds, naming the child that changed last, in AWS's words."""
    errors = _moto_alarm("errors", "ALARM", datetime(2026, 11, 23, 20, 0, 0))
    rate = _moto_alarm("rate", "OK", datetime(2026, 11, 23, 19, 0, 0))
    top = _moto_alarm(
        "top", "INSUFFICIENT_DATA", datetime(2026, 11, 23, 19), 'ALARM("errors") OR ALARM(rate)'
    )
    result = composite_evaluation(top, {"errors": errors, "rate": rate, "top": top})
    assert result.state == "ALARM"
    assert result.reason == f"{ARN}errors transitioned to ALARM at Monday 23 November, 2026 20:00:00 UTC"
    assert json.loads(result.reason_data) == {
        "triggeringAlarms": [
            {"arn": f"{ARN}errors", "state": {"value": "ALARM", "timestamp": "2026-11-23T20:00:00.000+0000"}}
        ]
    }
    errors.state_value = "OK"
    assert composite_evaluation(top, {"errors": errors, "rate": rate, "top": top}).state == "OK"


def test_composite_notification_is_parsed_by_the_healer() -> None:
    """The SNS message of a composite alarm has AlarmRule and TriggeringChildren, no Trigger."""
    reason_data = json.dumps(
        {"triggeringAlarms": [{"arn": f"{ARN}errors", "state": {"value": "ALARM", "timestamp": "t"}}]}
    )
    snapshot = AlarmSnapshot(
        name="unhealthy",
        arn=ARN + "unhealthy",
        description="errors or error rate",
        configuration_updated=0.0,
        namespace="",
        metric_name="",
        statistic="",
        unit=None,
        dimensions=(),
        period=0,
        evaluation_periods=0,
        datapoints_to_alarm=None,
        comparison_operator="",
        threshold=0.0,
        treat_missing_data=None,
        evaluate_low_sample_count_percentile=None,
        ok_actions=(),
        alarm_actions=("arn:aws:sns:us-east-1:123456789012:t",),
        insufficient_data_actions=(),
        alarm_rule='ALARM("errors") OR ALARM("rate")',
        triggering_children=triggering_children(reason_data),
    )
    note = build_notification(
        snapshot,
        old_state="OK",
        new_state="ALARM",
        reason="r",
        change_time=0.0,
        account_id="123456789012",
        region="us-east-1",
    )
    message = json.loads(note.message)
    assert "Trigger" not in message
    assert message["AlarmRule"] == 'ALARM("errors") OR ALARM("rate")'
    assert message["TriggeringChildren"] == [
        {"Arn": f"{ARN}errors", "State": {"Value": "ALARM", "Timestamp": "t"}}
    ]
    event = {
        "Records": [{"EventSource": "aws:sns", "Sns": {"Message": note.message, "Subject": note.subject}}]
    }
    [parsed] = parse_event(event)
    assert isinstance(parsed, AlarmNotification)
    assert parsed.kind == "composite" and parsed.trigger.alarm_rule == snapshot.alarm_rule
