"""json_codec gives json's answers (values and errors) at orjson's speed where orjson agrees."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selfheal.cloud import json_codec

_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
_VALUES = st.recursive(
    _SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


def _outcome(read: Any, data: bytes) -> tuple[str, Any]:
    try:
        return "value", read(data)
    except Exception as error:  # the same kind of error is what must match
        return "error", type(error)


def _same(a: Any, b: Any) -> bool:
    """Equal, and of the same types throughout (1 and 1.0 are not the same answer)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


@given(_VALUES, st.booleans())
def test_json_text_reads_as_json_reads_it(value: Any, ascii_only: bool) -> None:
    data = json.dumps(value, ensure_ascii=ascii_only).encode()
    assert _same(json_codec.loads(data), json.loads(data))


@given(st.binary(max_size=64))
def test_any_bytes_give_json_s_value_or_json_s_error(data: bytes) -> None:
    ours, theirs = _outcome(json_codec.loads, data), _outcome(json.loads, data)
    assert ours[0] == theirs[0]
    assert ours[1] is theirs[1] if ours[0] == "error" else _same(ours[1], theirs[1])


@pytest.mark.parametrize(
    "data",
    [
        b"123456789012345678901234567890",  # beyond 64 bits: an exact int, not a float
        b'{"h": -9223372036854775809}',
        b"18446744073709551615",
        b"NaN",
        b"[Infinity, -Infinity]",
        b"1e400",
        b"\xef\xbb\xbf{}",  # a byte-order mark
        b'"\\ud800"',  # a lone surrogate
        b'{"a": 1, "a": 2}',
        b"-0",
        b'{"statusCode": 200, "body": "ok"}',
    ],
)
def test_where_orjson_differs_json_answers(data: bytes) -> None:
    assert _same(json_codec.loads(data), json.loads(data))


@pytest.mark.parametrize("data", [b"", b"{", b"nul", b"\xff\xfe{}", b"[1,]", b"'a'"])
def test_invalid_text_raises_json_s_error(data: bytes) -> None:
    with pytest.raises(ValueError) as ours:
        json_codec.loads(data)
    with pytest.raises(ValueError) as theirs:
        json.loads(data)
    assert type(ours.value) is type(theirs.value)


def test_dumps_is_compact_json_keeping_non_ascii_and_escaping_a_lone_surrogate() -> None:
    event = {"rawPath": "/a b", "headers": {"x-é": "ü"}, "body": None, "n": [1, 2.5, True]}
    encoded = json_codec.dumps(event)
    assert json.loads(encoded) == event
    assert b", " not in encoded and b'": ' not in encoded
    assert "ü".encode() in encoded
    odd = {"body": "\ud800"}
    assert json.loads(json_codec.dumps(odd)) == odd
