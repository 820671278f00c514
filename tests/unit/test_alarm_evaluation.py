"""Alarm evaluation against the tables and wording of CloudWatch's documentation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from selfheal.cloud.alarm_evaluation import (
    AlarmRule,
    AlarmState,
    ComparisonOperator,
    Datapoint,
    TreatMissingData,
    evaluate,
    evaluation_range,
    format_number,
)

# 2026-11-23 19:48:00 UTC, a minute boundary.
T0 = 1795463280.0
PERIOD = 300
BREACHING_VALUE = 5.0
WITHIN_VALUE = 1.0
MODES: tuple[TreatMissingData, ...] = ("missing", "ignore", "breaching", "notBreaching")
RETAIN = "retain"


def _points(pattern: str, period: int = PERIOD) -> list[Datapoint]:
    """Turn the documentation's notation (0 within, X breaching, - missing; oldest first) into datapoints."""
    values = {"0": WITHIN_VALUE, "X": BREACHING_VALUE, "-": None}
    return [Datapoint(T0 + i * period, values[c]) for i, c in enumerate(pattern.split())]


def _rule(m: int, n: int, mode: TreatMissingData, **kwargs: Any) -> AlarmRule:
    base: dict[str, Any] = {
        "comparison_operator": "GreaterThanOrEqualToThreshold",
        "threshold": 3.0,
        "period": PERIOD,
        "evaluation_periods": n,
        "datapoints_to_alarm": m,
        "treat_missing_data": mode,
    }
    base.update(kwargs)
    return AlarmRule(**base)


# "Configuring how CloudWatch alarms treat missing data": the two tables, one row per line:
# (M, N, datapoints, states for MISSING, IGNORE, BREACHING, NOT BREACHING).
DOCUMENTED_TABLE = [
    (3, 3, "0 - X - X", ("OK", "OK", "OK", "OK")),
    (3, 3, "0 - - - -", ("OK", "OK", "OK", "OK")),
    (3, 3, "- - - - -", ("INSUFFICIENT_DATA", RETAIN, "ALARM", "OK")),
    (3, 3, "0 X X - X", ("ALARM", "ALARM", "ALARM", "ALARM")),
    (3, 3, "- - - - X", ("INSUFFICIENT_DATA", RETAIN, "ALARM", "OK")),
    (2, 3, "0 - X - X", ("ALARM", "ALARM", "ALARM", "ALARM")),
    (2, 3, "0 0 X 0 X", ("ALARM", "ALARM", "ALARM", "ALARM")),
    (2, 3, "0 - X - -", ("OK", "OK", "ALARM", "OK")),
    (2, 3, "- - - - 0", ("OK", "OK", "ALARM", "OK")),
    (2, 3, "- - - - X", ("INSUFFICIENT_DATA", RETAIN, "ALARM", "OK")),
]


@pytest.mark.parametrize(
    ("m", "n", "pattern", "mode", "expected"),
    [
        pytest.param(m, n, pattern, mode, expected, id=f"{m}of{n}[{pattern}]-{mode}")
        for m, n, pattern, states in DOCUMENTED_TABLE
        for mode, expected in zip(MODES, states, strict=True)
    ],
)
@pytest.mark.parametrize("current", ["OK", "ALARM", "INSUFFICIENT_DATA"])
def test_documented_missing_data_table(
    m: int, n: int, pattern: str, mode: TreatMissingData, expected: str, current: AlarmState
) -> None:
    """Each cell of the documented M-of-N missing-data tables gives the documented state."""
    result = evaluate(_rule(m, n, mode), _points(pattern), current, T0 + 5 * PERIOD)
    assert result.state == (current if expected == RETAIN else expected)


def test_evaluation_range_matches_documented_example() -> None:
    """For 3 evaluation periods CloudWatch retrieves the 5 most recent datapoints."""
    assert evaluation_range(_rule(3, 3, "missing")) == 5


# "Evaluating an alarm": threshold 3, 3 of 3; periods 3-5 breach (ALARM), period 6 dips (OK), a lone
# breach in period 9 leaves it OK.
FIGURE_VALUES = [1.0, 2.0, 4.0, 5.0, 4.5, 2.0, 1.0, 2.0, 4.0, 1.0]
FIGURE_STATES = ["OK", "OK", "OK", "OK", "ALARM", "OK", "OK", "OK", "OK", "OK"]


def test_documented_evaluation_figure() -> None:
    """Walking the documentation's figure period by period reproduces its state changes."""
    rule = AlarmRule("GreaterThanThreshold", 3.0, 60, 3)
    state: AlarmState = "INSUFFICIENT_DATA"
    states = []
    for end in range(1, len(FIGURE_VALUES) + 1):
        window = [Datapoint(T0 + i * 60, v) for i, v in enumerate(FIGURE_VALUES[:end])][
            -evaluation_range(rule) :
        ]
        state = evaluate(rule, window, state, T0 + end * 60).state
        states.append(state)
    assert states == FIGURE_STATES


@pytest.mark.parametrize(
    ("operator", "value", "breaches"),
    [
        ("GreaterThanOrEqualToThreshold", 3.0, True),
        ("GreaterThanOrEqualToThreshold", 2.9, False),
        ("GreaterThanThreshold", 3.0, False),
        ("GreaterThanThreshold", 3.1, True),
        ("LessThanThreshold", 3.0, False),
        ("LessThanThreshold", 2.9, True),
        ("LessThanOrEqualToThreshold", 3.0, True),
        ("LessThanOrEqualToThreshold", 3.1, False),
    ],
)
def test_comparison_operators_at_the_threshold(
    operator: ComparisonOperator, value: float, breaches: bool
) -> None:
    """Each operator treats the threshold itself as CloudWatch does."""
    rule = AlarmRule(operator, 3.0, 60, 1)
    state = evaluate(rule, [Datapoint(T0, value)], "OK", T0 + 60).state
    assert state == ("ALARM" if breaches else "OK")


def test_alarm_reason_wording_without_datapoints_to_alarm() -> None:
    """Without DatapointsToAlarm the reason is CloudWatch's short form, not M out of N.

    AWS recorded (LocalStack's tests/aws/services/cloudwatch/test_cloudwatch.snapshot.json,
    ``test_put_metric_alarm``): ``Threshold Crossed: 1 datapoint [21.5 (26/10/23 16:42:00)] was greater than
    the threshold (2.0).``
    """
    rule = AlarmRule("GreaterThanThreshold", 2.0, 30, 1, statistic="Average")
    moment = 1698338520.0  # 26/10/23 16:42:00 UTC
    result = evaluate(rule, [Datapoint(moment, 21.5, 2.0)], "INSUFFICIENT_DATA", moment + 45)
    assert result.state == "ALARM"
    assert result.reason == (
        "Threshold Crossed: 1 datapoint [21.5 (26/10/23 16:42:00)] was greater than the threshold (2.0)."
    )


def test_short_reason_wording_for_several_datapoints_and_back_to_ok() -> None:
    """N of N without DatapointsToAlarm: "3 datapoints [...] were ...", and back to OK on one datapoint."""
    rule = AlarmRule("GreaterThanThreshold", 0.0, 180, 3)
    points = [Datapoint(T0, 1.0), Datapoint(T0 + 180, 3.0), Datapoint(T0 + 360, 2.0)]
    result = evaluate(rule, points, "OK", T0 + 540)
    assert result.reason == (
        "Threshold Crossed: 3 datapoints [2.0 (23/11/26 19:54:00), 3.0 (23/11/26 19:51:00), "
        "1.0 (23/11/26 19:48:00)] were greater than the threshold (0.0)."
    )
    recovered = evaluate(rule, [*points[1:], Datapoint(T0 + 540, 0.0)], "ALARM", T0 + 720)
    assert recovered.state == "OK"
    assert recovered.reason == (
        "Threshold Crossed: 1 datapoint [0.0 (23/11/26 19:57:00)] was not greater than the threshold (0.0)."
    )


def test_short_reason_wording_names_filled_missing_datapoints() -> None:
    """Filled periods are named after the datapoints, as CloudWatch writes it without DatapointsToAlarm."""
    rule = AlarmRule("LessThanThreshold", 1.0, 60, 3, treat_missing_data="breaching")
    result = evaluate(rule, [Datapoint(T0 + 240, 1.0)], "ALARM", T0 + 300)
    assert result.state == "OK"
    assert result.reason == (
        "Threshold Crossed: 1 datapoint [1.0 (23/11/26 19:52:00)] was not less than the threshold (1.0) "
        "and 2 missing datapoints were treated as [Breaching]."
    )


def test_alarm_reason_wording_with_datapoints_to_alarm() -> None:
    """With DatapointsToAlarm set, the M out of N form (AWS: "1 out of the last 1 datapoints [...] ...")."""
    rule = AlarmRule("GreaterThanOrEqualToThreshold", 3.0, 60, 1, datapoints_to_alarm=1)
    result = evaluate(rule, [Datapoint(T0 + 240, 5.0)], "OK", T0 + 300.0123)
    assert result.reason == (
        "Threshold Crossed: 1 out of the last 1 datapoints [5.0 (23/11/26 19:52:00)] was greater than or "
        "equal to the threshold (3.0) (minimum 1 datapoint for OK -> ALARM transition)."
    )


def test_ok_reason_wording_lists_most_recent_first() -> None:
    """An ALARM -> OK reason lists the non-breaching datapoints, most recent first."""
    rule = AlarmRule("GreaterThanThreshold", 10.0, 60, 3, datapoints_to_alarm=2)
    points = [Datapoint(T0, 1.0), Datapoint(T0 + 60, 2.5), Datapoint(T0 + 120, 11.0)]
    result = evaluate(rule, points, "ALARM", T0 + 180)
    assert result.state == "OK"
    assert result.reason == (
        "Threshold Crossed: 2 out of the last 3 datapoints "
        "[2.5 (23/11/26 19:49:00), 1.0 (23/11/26 19:48:00)] were not greater than the threshold (10.0) "
        "(minimum 2 datapoints for ALARM -> OK transition)."
    )


@pytest.mark.parametrize(
    ("mode", "state", "reason"),
    [
        ("missing", "INSUFFICIENT_DATA", "Insufficient Data: 2 datapoints were unknown."),
        (
            "breaching",
            "ALARM",
            "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were "
            "treated as [Breaching].",
        ),
        (
            "notBreaching",
            "OK",
            "Threshold Crossed: no datapoints were received for 2 periods and 2 missing datapoints were "
            "treated as [NonBreaching].",
        ),
    ],
)
def test_all_missing_reason_wording(mode: TreatMissingData, state: str, reason: str) -> None:
    """With no data at all, each mode's state and reason follow CloudWatch."""
    result = evaluate(_rule(2, 2, mode), _points("- - - -"), "OK", T0 + 4 * PERIOD)
    assert (result.state, result.reason) == (state, reason)


def test_reason_data_is_cloudwatch_shaped_json() -> None:
    """Reason data carries version, dates, statistic, period, threshold and the evaluated datapoints."""
    rule = AlarmRule("GreaterThanOrEqualToThreshold", 3.0, 60, 2, statistic="Sum")
    points = [Datapoint(T0, 4.0, sample_count=7), Datapoint(T0 + 60, 6.0, sample_count=9)]
    data = evaluate(rule, points, "OK", T0 + 120.5).reason_data
    assert json.loads(json.dumps(data)) == {
        "version": "1.0",
        "queryDate": "2026-11-23T19:50:00.500+0000",
        "startDate": "2026-11-23T19:48:00.000+0000",
        "statistic": "Sum",
        "period": 60,
        "recentDatapoints": [4.0, 6.0],
        "threshold": 3.0,
        "evaluatedDatapoints": [
            {"timestamp": "2026-11-23T19:49:00.000+0000", "sampleCount": 9.0, "value": 6.0},
            {"timestamp": "2026-11-23T19:48:00.000+0000", "sampleCount": 7.0, "value": 4.0},
        ],
    }


def test_only_the_most_recent_n_real_datapoints_count() -> None:
    """Older breaching datapoints beyond the N most recent real ones are not counted."""
    result = evaluate(_rule(2, 2, "missing"), _points("X X 0 - 0"), "ALARM", T0 + 5 * PERIOD)
    assert result.state == "OK"


@pytest.mark.parametrize(
    ("value", "text"),
    [(5, "5.0"), (0.25, "0.25"), (-3, "-3.0"), (1e-5, "1.0E-5"), (12345678.0, "1.2345678E7")],
)
def test_numbers_are_formatted_like_java_doubles(value: float, text: str) -> None:
    """Numbers in reasons look like CloudWatch's (Java) doubles."""
    assert format_number(value) == text


@pytest.mark.parametrize(
    "overrides",
    [
        {"comparison_operator": "LessThanLowerOrGreaterThanUpperThreshold"},
        {"treat_missing_data": "sometimes"},
        {"statistic": "p99"},
        {"threshold": float("nan")},
        {"period": 45},
        {"period": 0},
        {"evaluation_periods": 0},
        {"datapoints_to_alarm": 4},
        {"datapoints_to_alarm": 0},
        {"period": 60, "evaluation_periods": 1441},
    ],
)
def test_invalid_rules_are_refused(overrides: dict[str, Any]) -> None:
    """A definition CloudWatch would refuse raises ValueError naming the problem."""
    base: dict[str, Any] = {"m": 3, "n": 3, "mode": "missing"}
    kwargs = {k: v for k, v in overrides.items()}
    n = kwargs.pop("evaluation_periods", base["n"])
    m = kwargs.pop("datapoints_to_alarm", min(base["m"], max(n, 1)))
    mode = kwargs.pop("treat_missing_data", base["mode"])
    with pytest.raises(ValueError):
        _rule(m, n, mode, **kwargs)
