"""The metric-math parser and per-period evaluator of the local cloud's alarms."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selfheal.cloud.metric_math import (
    Call,
    Number,
    Operation,
    Reference,
    UnsupportedExpression,
    evaluate_series,
    parse,
    references,
)

values = st.one_of(st.none(), st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))


def one(expression: str, **series: float | None) -> float | None:
    return evaluate_series(parse(expression), {k: [v] for k, v in series.items()}, 1)[0]


def test_error_rate_expression_parses_with_precedence() -> None:
    """``100*m1/m2`` is (100*m1)/m2, left to right."""
    assert parse("100*m1/m2") == Operation(
        "/", Operation("*", Number(100.0), Reference("m1")), Reference("m2")
    )


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("2 ^ 3 ^ 2", 512.0),
        ("-2 ^ 2", -4.0),
        ("10 - 4 - 3", 3.0),
        ("1e3 / 4", 250.0),
        (".5 + 1.", 1.5),
        ("3 > 2", 1.0),
        ("3 <= 2", 0.0),
        ("2 == 2 && 1 != 1", 0.0),
        ("2 == 2 OR 1 != 1", 1.0),
        ("IF(1 > 2, 5, 6)", 6.0),
        ("if(2 > 1, 5, 6)", 5.0),
        ("ABS(-3) + CEIL(1.2) + FLOOR(1.8)", 6.0),
    ],
)
def test_arithmetic_comparisons_and_functions(expression: str, expected: float) -> None:
    """Operators, comparisons (1/0), logic and functions give CloudWatch's values."""
    assert one(expression) == pytest.approx(expected)


def test_error_rate_per_period() -> None:
    """100*m1/m2 per period; a missing term or a zero divisor gives no value."""
    node = parse("100*m1/m2")
    result = evaluate_series(node, {"m1": [1.0, None, 0.0, 3.0], "m2": [4.0, 5.0, 0.0, None]}, 4)
    assert result == [25.0, None, None, None]


def test_fill_gives_missing_periods_a_value() -> None:
    """FILL(m, v) replaces only the missing periods."""
    node = parse("100*FILL(m1, 0)/m2")
    assert evaluate_series(node, {"m1": [None, 2.0], "m2": [4.0, 4.0]}, 2) == [0.0, 50.0]
    assert one("FILL(m1, -1)", m1=None) == -1.0


def test_if_without_false_value_and_missing_condition() -> None:
    """IF with two arguments has no value where the condition is false; a missing condition gives none."""
    assert one("IF(m1 > 1, m1)", m1=0.0) is None
    assert one("IF(m1 > 1, m1)", m1=3.0) == 3.0
    assert one("IF(m1, 1, 2)", m1=None) is None


@pytest.mark.parametrize(
    ("expression", "named"),
    [
        ("SUM(METRICS())", "SUM()"),
        ("METRICS()", "METRICS()"),
        ("SEARCH('{AWS/Lambda} Errors', 'Sum', 60)", "SEARCH()"),
        ("RATE(m1)", "RATE()"),
        ("FILL(m1, REPEAT)", "REPEAT"),
        ("FILL(m1, m2)", "FILL's second argument"),
        ("m1 + ", "ends too early"),
        ("m1 m2", "'m2'"),
        ("(m1", "expected ')'"),
        ("m1 % 2", "'%'"),
        ("Errors + 1", "'Errors'"),
        ("1 < m1 < 3", "chained"),
        ("IF(m1)", "IF() takes 2 or 3 arguments"),
        ("", "empty"),
    ],
)
def test_unsupported_parts_are_named(expression: str, named: str) -> None:
    """Anything not implemented is refused with a message naming it."""
    with pytest.raises(UnsupportedExpression, match=None) as caught:
        parse(expression)
    assert named in str(caught.value)


def test_unknown_reference_is_refused_at_evaluation() -> None:
    """An id that is no query of the alarm is named."""
    with pytest.raises(UnsupportedExpression, match="'m3'"):
        evaluate_series(parse("m1 + m3"), {"m1": [1.0]}, 1)


def test_references_and_calls() -> None:
    """references() lists the ids read, through calls and operators."""
    node = parse("IF(e1 > 0, FILL(m1, 0) / m2, 0)")
    assert isinstance(node, Call)
    assert references(node) == {"e1", "m1", "m2"}


def test_deep_nesting_is_refused_not_crashing() -> None:
    """A deeply nested expression is refused with a message, never a RecursionError."""
    with pytest.raises(UnsupportedExpression, match="nests deeper"):
        parse("(" * 500 + "1" + ")" * 500)


@given(a=values, b=values)
def test_sum_and_ratio_match_python(a: float | None, b: float | None) -> None:
    """m1+m2 and m1/m2 are Python's arithmetic where both terms have values, else no value."""
    total = one("m1 + m2", m1=a, m2=b)
    ratio = one("m1 / m2", m1=a, m2=b)
    if a is None or b is None:
        assert total is None and ratio is None
        return
    assert total == pytest.approx(a + b)
    exact = None if b == 0 else a / b
    assert ratio == (pytest.approx(exact) if exact is not None and math.isfinite(exact) else None)


@given(a=values, fill=st.floats(min_value=-100, max_value=100, allow_nan=False))
def test_fill_never_leaves_a_gap(a: float | None, fill: float) -> None:
    """FILL(m1, v) always has a value: m1's, or v."""
    assert one("FILL(m1, v)".replace("v", repr(fill)), m1=a) == (fill if a is None else a)


@given(
    st.recursive(
        st.sampled_from(["m1", "m2", "1", "2.5"]),
        lambda inner: st.builds(
            lambda a, op, b: f"({a} {op} {b})",
            inner,
            st.sampled_from(["+", "-", "*", "/", ">", "AND"]),
            inner,
        ),
        max_leaves=12,
    ),
    values,
    values,
)
def test_random_expressions_evaluate_to_finite_or_nothing(
    expression: str, a: float | None, b: float | None
) -> None:
    """Any well-formed expression parses and evaluates to a finite number or no value."""
    result = one(expression, m1=a, m2=b)
    assert result is None or math.isfinite(result)
