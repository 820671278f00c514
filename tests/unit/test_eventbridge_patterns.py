"""EventBridge event patterns: AWS's content filtering, as the user guide's examples describe it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selfheal.cloud.eventbridge_patterns import InvalidEventPattern, matches, parse_pattern, pattern_matches

EVENT: dict[str, Any] = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {
        "instance-id": "i-1234567890abcdef0",
        "state": "terminated",
        "c-count": 5,
        "d-count": 3,
        "x-limit": 301.8,
        "source-ip": "10.0.0.123",
        "flag": True,
        "nothing": None,
        "tags": ["prod", "web"],
        "location": {"city": "Seattle", "zip": "98101"},
        "items": [{"name": "a", "size": 1}, {"name": "b", "size": 7}],
    },
}


def match(pattern: dict[str, Any]) -> bool:
    return matches(parse_pattern(pattern), EVENT)


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"source": ["aws.ec2"]}, True),
        ({"source": ["aws.s3", "aws.ec2"]}, True),
        ({"source": ["aws.s3"]}, False),
        ({"source": ["aws.ec2"], "detail-type": ["nope"]}, False),
        ({"detail": {"state": ["terminated"]}}, True),
        ({"detail": {"location": {"city": ["Seattle"]}}}, True),
        ({"detail": {"location": {"city": ["Tacoma"]}}}, False),
        ({"detail": {"c-count": [5]}}, True),
        ({"detail": {"c-count": [5.0]}}, True),
        ({"detail": {"c-count": ["5"]}}, False),
        ({"detail": {"flag": [True]}}, True),
        ({"detail": {"flag": [1]}}, False),
        ({"detail": {"nothing": [None]}}, True),
        ({"detail": {"state": [None]}}, False),
        ({"detail": {"tags": ["web"]}}, True),
        ({"detail": {"tags": ["dev"]}}, False),
        ({"detail": {"items": {"name": ["b"]}}}, True),
        ({"detail": {"items": {"name": ["c"]}}}, False),
    ],
)
def test_exact_values(pattern: dict[str, Any], expected: bool) -> None:
    """Values in an array are alternatives; numbers compare as numbers; event arrays match on any element."""
    assert match(pattern) is expected


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"detail": {"state": [{"prefix": "term"}]}}, True),
        ({"detail": {"state": [{"prefix": "run"}]}}, False),
        ({"detail": {"state": [{"prefix": {"equals-ignore-case": "TERM"}}]}}, True),
        ({"detail": {"state": [{"suffix": "nated"}]}}, True),
        ({"detail": {"state": [{"equals-ignore-case": "TERMINATED"}]}}, True),
        ({"detail": {"state": [{"wildcard": "t*d"}]}}, True),
        ({"detail": {"state": [{"wildcard": "t*x"}]}}, False),
        ({"detail": {"c-count": [{"prefix": "5"}]}}, False),
        ({"detail": {"state": [{"anything-but": "running"}]}}, True),
        ({"detail": {"state": [{"anything-but": ["running", "terminated"]}]}}, False),
        ({"detail": {"state": [{"anything-but": {"prefix": "term"}}]}}, False),
        ({"detail": {"state": [{"anything-but": {"suffix": "ing"}}]}}, True),
        ({"detail": {"c-count": [{"anything-but": [1, 2]}]}}, True),
        ({"detail": {"missing": [{"anything-but": "x"}]}}, False),
        ({"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}]}}, True),
        ({"detail": {"d-count": [{"numeric": ["<", 3]}]}}, False),
        ({"detail": {"x-limit": [{"numeric": ["=", 301.8]}]}}, True),
        ({"detail": {"state": [{"numeric": [">", 0]}]}}, False),
        ({"detail": {"source-ip": [{"cidr": "10.0.0.0/24"}]}}, True),
        ({"detail": {"source-ip": [{"cidr": "10.0.1.0/24"}]}}, False),
        ({"detail": {"state": [{"exists": True}]}}, True),
        ({"detail": {"state": [{"exists": False}]}}, False),
        ({"detail": {"missing": [{"exists": False}]}}, True),
        ({"detail": {"missing": [{"exists": True}]}}, False),
        ({"detail": {"location": [{"exists": True}]}}, False),
        ({"nowhere": {"deep": [{"exists": False}]}}, True),
        ({"detail": {"missing": ["x", {"exists": False}]}}, True),
    ],
)
def test_filters(pattern: dict[str, Any], expected: bool) -> None:
    """prefix, suffix, equals-ignore-case, wildcard, anything-but, numeric, cidr and exists filters."""
    assert match(pattern) is expected


def test_or() -> None:
    """``$or`` needs one of its patterns; the other keys still all apply."""
    pattern = {"source": ["aws.ec2"], "$or": [{"detail": {"c-count": [1]}}, {"detail": {"d-count": [3]}}]}
    assert match(pattern)
    pattern["$or"] = [{"detail": {"c-count": [1]}}, {"detail": {"d-count": [4]}}]
    assert not match(pattern)


def test_empty_pattern_matches_everything() -> None:
    """An empty pattern object matches any event."""
    assert match({})


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        "[1]",
        json.dumps({"source": "aws.ec2"}),
        json.dumps({"source": []}),
        json.dumps({"source": [{"unknown": 1}]}),
        json.dumps({"detail": {"n": [{"numeric": [">", "x"]}]}}),
        json.dumps({"detail": {"n": [{"exists": "yes"}]}}),
        json.dumps({"$or": [{"a": ["b"]}]}),
    ],
)
def test_invalid_patterns(raw: str) -> None:
    """Patterns EventBridge refuses raise InvalidEventPattern."""
    with pytest.raises(InvalidEventPattern):
        pattern_matches(raw, EVENT)


scalars = st.one_of(st.text(max_size=8), st.integers(-1000, 1000), st.booleans(), st.none())


@given(value=scalars, others=st.lists(scalars, max_size=4))
def test_exact_match_is_membership(value: Any, others: list[Any]) -> None:
    """A field matches a list of exact values exactly when it is one of them."""
    event = {"detail": {"f": value}}
    pattern = {"detail": {"f": [*others, value]}}
    assert matches(parse_pattern(pattern), event)
    if others:
        wanted = any(
            (o is value)
            if isinstance(o, bool) or isinstance(value, bool) or o is None or value is None
            else (type(o) is type(value) and o == value)
            for o in others
        )
        assert matches(parse_pattern({"detail": {"f": others}}), event) is wanted


@given(value=st.text(max_size=12), prefix=st.text(max_size=4))
def test_prefix_and_anything_but_prefix_are_complements(value: str, prefix: str) -> None:
    """For a string field, ``prefix`` and ``anything-but`` ``prefix`` never agree."""
    event = {"f": value}
    plain = matches(parse_pattern({"f": [{"prefix": prefix}]}), event)
    negated = matches(parse_pattern({"f": [{"anything-but": {"prefix": prefix}}]}), event)
    assert plain is value.startswith(prefix)
    assert negated is not plain


@given(value=st.integers(-50, 50) | st.floats(-50, 50, allow_nan=False), low=st.integers(-60, 60))
def test_numeric_ranges(value: float, low: int) -> None:
    """``numeric`` compares as the operators say, and anything-but of a value excludes only that value."""
    event = {"n": value}
    assert matches(parse_pattern({"n": [{"numeric": [">=", low, "<", low + 10]}]}), event) is (
        low <= value < low + 10
    )
    assert matches(parse_pattern({"n": [{"anything-but": low}]}), event) is (value != low)
