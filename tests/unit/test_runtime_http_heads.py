"""Runtime API heads: the one-step split of a plain CRLF head agrees with the line-by-line reading."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from selfheal.cloud.lambda_runtime_http import Refused, _take_head, _take_head_by_lines

POST = (
    b"POST /2018-06-01/runtime/invocation/abc/response HTTP/1.1\r\nHost: 127.0.0.1:9001\r\n"
    b"User-Agent: aws-lambda-cpp/0.2.6\r\nAccept: */*\r\nContent-Type: application/json\r\n"
    b"Content-Length: 2\r\n\r\n{}"
)


def _both(data: bytes) -> tuple[object, object]:
    """What each way takes off ``data`` (lines without their endings, or the refusal), and what is left."""
    results = []
    for take in (_take_head, _take_head_by_lines):
        buffer = bytearray(data)
        try:
            lines = take(buffer)
        except Refused as refused:
            results.append(("refused", refused.reply[:40]))
            continue
        stripped = None if lines is None else [line.rstrip(b"\r\n") for line in lines]
        results.append((stripped, bytes(buffer)))
    return results[0], results[1]


@pytest.mark.parametrize(
    "data",
    [
        POST,
        b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\nHost: x\n\n",  # bare LF
        b"GET / HTTP/1.1\r\nHost: x\nAccept: y\r\n\r\n",  # mixed endings
        b"\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n",  # a blank line first
        b"GET / HTTP/1.1\r\nHost: x\r\n",  # incomplete
        b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n",  # request line too long
        b"GET / HTTP/1.1\r\nX: " + b"a" * 70000 + b"\r\n\r\n",  # header line too long
        b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 101 + b"\r\n",  # too many headers
        b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 100 + b"\r\n",  # just within
    ],
    ids=[
        "post",
        "next",
        "lf",
        "mixed",
        "leading-blank",
        "incomplete",
        "long-line",
        "long-header",
        "101",
        "100",
    ],
)
def test_both_ways_take_the_same_head(data: bytes) -> None:
    fast, slow = _both(data)
    assert fast == slow


def test_the_common_head_is_taken_whole_and_the_body_left() -> None:
    buffer = bytearray(POST)
    lines = _take_head(buffer)
    assert lines is not None and lines[0].startswith(b"POST ") and lines[-1] == b"Content-Length: 2"
    assert bytes(buffer) == b"{}"


@given(
    st.lists(st.sampled_from([b"GET / HTTP/1.1", b"Host: x", b"A: b", b"", b"\n", b"\r", b"X"]), max_size=8)
)
def test_any_arrangement_of_short_lines_agrees(parts: list[bytes]) -> None:
    data = b"\r\n".join(parts) + b"\r\n\r\nrest"
    fast, slow = _both(data)
    assert fast == slow
