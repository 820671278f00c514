"""The Runtime API's HTTP/1.1 for the event-loop server and its direct connections: heads, bodies, replies.

:class:`RequestReader` takes requests off a byte buffer with ``http.server``'s limits and statuses (the
threaded server's rules): a request line above 64 KiB is 414, a header line above 64 KiB or more than 100
headers 431, an HTTP version other than 1.0 and 1.1 505, a method other than GET and POST 501, a malformed
line or ``Content-Length`` 400, a body above 6 MB 413 (failing the invocation it answered, as on AWS). The
first of a repeated header wins. Heads are parsed here rather than by httptools: they are a few short lines,
and this keeps those exact answers. :func:`serve` answers one whole request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Protocol

from .lambda_runtime_api import (
    API_PREFIX,
    MAX_PAYLOAD_BYTES,
    PendingInvocation,
    ResultSink,
    error_payload,
    http_reply,
    invocation_headers,
    post_result,
    refuse_oversize,
)

__all__ = [
    "NEXT_PATH",
    "Refused",
    "Request",
    "RequestReader",
    "RuntimeServer",
    "gone_reply",
    "invocation_reply",
    "serve",
]

NEXT_PATH = f"{API_PREFIX}/invocation/next"
_MAX_LINE = 65536
_MAX_HEADERS = 100
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
_READ_HEADERS = frozenset((b"connection", b"content-length", b"expect"))


class Refused(Exception):
    """A request refused before it is served; the connection closes after :attr:`reply`."""

    def __init__(self, status: int, message: str, error_type: str = "InvalidRequest") -> None:
        super().__init__(message)
        self.reply = http_reply(status, error_payload(error_type, message), {"Connection": "close"})


@dataclass(frozen=True)
class Request:
    """One request's head: what is asked, whether the connection closes after it, its body's length."""

    method: str
    path: str
    close_after: bool
    length: int


class RuntimeServer(ResultSink, Protocol):
    """What a Runtime API server is to the requests it serves."""

    closing: bool

    def take_next(self) -> PendingInvocation | None: ...


class RequestReader:
    """Whole requests off the bytes a connection received (a head is parsed once, its body then awaited)."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self._head: Request | None = None

    def take(self, sink: ResultSink, write: Callable[[bytes], None]) -> tuple[Request, bytes] | None:
        """The next whole request and its body (None: more bytes needed); raise :class:`Refused`.

        ``write`` sends ``100 Continue`` when the client waits for it before its body.
        """
        if self._head is None:
            if not self.buffer:
                return None
            lines = _take_head(self.buffer)
            if lines is None:
                return None
            self._head, expect = _parse(lines, sink)
            if expect:
                write(_CONTINUE)
        head = self._head
        if len(self.buffer) < head.length:
            return None
        body = bytes(self.buffer[: head.length])
        del self.buffer[: head.length]
        self._head = None
        return head, body


def serve(server: RuntimeServer, request: Request, body: bytes) -> bytes | None:
    """The reply to ``request``; None for a /next that must wait for an invocation."""
    if request.method == "POST":
        return http_reply(*post_result(server, request.path, body))
    if request.path != NEXT_PATH:
        return http_reply(HTTPStatus.NOT_FOUND, b'{"errorType":"InvalidRequest"}')
    if server.closing:
        return gone_reply()
    pending = server.take_next()
    return None if pending is None else invocation_reply(pending)


def invocation_reply(pending: PendingInvocation) -> bytes:
    """/next's answer: the event, and its context in the headers awslambdaric reads."""
    return http_reply(HTTPStatus.OK, pending.payload, invocation_headers(pending))


def gone_reply() -> bytes:
    """/next's answer when the environment closes: the runtime stops asking (its process is then killed)."""
    return http_reply(HTTPStatus.GONE, b'{"errorType":"EnvironmentClosing"}', {"Connection": "close"})


def _take_head(buffer: bytearray) -> list[bytes] | None:
    """Take a complete request head off ``buffer`` as its lines (None: incomplete); an oversize one: raise.

    A whole head of CRLF lines within the limits (what awslambdaric's client sends) is split at once; any
    other (incomplete, bare LF, a line or header count over the limits) goes line by line.
    """
    end = buffer.find(b"\r\n\r\n")
    if end > 0:
        lines = bytes(buffer[:end]).split(b"\r\n")
        if (
            len(lines) <= _MAX_HEADERS + 1
            and max(map(len, lines)) + 2 <= _MAX_LINE
            and buffer.count(b"\n", 0, end) == len(lines) - 1
            and all(lines)
        ):
            del buffer[: end + 4]
            return lines
    return _take_head_by_lines(buffer)


def _take_head_by_lines(buffer: bytearray) -> list[bytes] | None:
    lines: list[bytes] = []
    start = 0
    while True:
        end = buffer.find(b"\n", start)
        size = (end + 1 if end >= 0 else len(buffer)) - start
        if size > _MAX_LINE:
            if not lines:
                raise Refused(HTTPStatus.REQUEST_URI_TOO_LONG, "Request line too long")
            raise Refused(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Line too long")
        if end < 0:
            return None
        line = bytes(buffer[start : end + 1])
        start = end + 1
        if lines and line in (b"\r\n", b"\n"):
            del buffer[:start]
            return lines
        lines.append(line)
        if len(lines) > _MAX_HEADERS + 1:
            raise Refused(HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE, "Too many headers")


def _parse(lines: list[bytes], sink: ResultSink) -> tuple[Request, bool]:
    """The request of a head's lines, and whether its client expects ``100 Continue``; refused: raise."""
    line = str(lines[0], "iso-8859-1").rstrip("\r\n")
    words = line.split()
    if len(words) != 3 or not words[2].startswith("HTTP/"):
        raise Refused(HTTPStatus.BAD_REQUEST, f"Bad request {line[:64]!r}")
    method, path, version = words
    if version not in ("HTTP/1.0", "HTTP/1.1"):
        raise Refused(HTTPStatus.HTTP_VERSION_NOT_SUPPORTED, f"Invalid HTTP version ({version[:16]})")
    # As http.server (gh-87389): '//path' is not taken for a host.
    path = "/" + path.lstrip("/") if path.startswith("//") else path
    fields: dict[bytes, str] = {}
    for raw in lines[1:]:
        name, colon, value = raw.partition(b":")
        if not colon or not name.strip():
            raise Refused(HTTPStatus.BAD_REQUEST, "Bad header line")
        # Only three headers matter here: the others are not decoded.
        key = name.strip().lower()
        if key in _READ_HEADERS and key not in fields:
            fields[key] = str(value, "iso-8859-1").strip()
    if method not in ("GET", "POST"):
        raise Refused(HTTPStatus.NOT_IMPLEMENTED, f"Unsupported method ({method[:16]!r})")
    connection = fields.get(b"connection", "").lower()
    close_after = connection == "close" or (version == "HTTP/1.0" and connection != "keep-alive")
    raw_length = fields.get(b"content-length") or "0"
    if not (raw_length.isascii() and raw_length.isdigit()):
        raise Refused(HTTPStatus.BAD_REQUEST, f"Invalid Content-Length {raw_length[:32]!r}.")
    length = int(raw_length)
    if length > MAX_PAYLOAD_BYTES:
        # Nothing of the body is read: the connection closes after the 413.
        refuse_oversize(sink, path, length)
        raise Refused(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            f"Exceeded maximum allowed payload size ({MAX_PAYLOAD_BYTES} bytes).",
            "RequestEntityTooLarge",
        )
    expect = fields.get(b"expect", "").lower() == "100-continue" and version == "HTTP/1.1"
    return Request(method, path, close_after, length), expect
