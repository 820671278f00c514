"""The WSGI side of the asyncio front (:mod:`front`): environ from a parsed head, a request body stream fed by
the event loop and read by the application's thread, and the response head.

The environ carries what werkzeug's request handler put there (``REQUEST_URI``/``RAW_URI``, the
``HTTP_*`` headers with underscored names dropped, moto's preserved ``x-amz-meta-*`` spellings), so the
Gateway, moto and the HTTP API data plane see the same request on either front.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from email.utils import formatdate
from typing import Any
from urllib.parse import unquote, urlsplit

from .serving import ABANDONED_BODY_KEY

__all__ = [
    "BodyStream",
    "ClientGone",
    "Request",
    "Response",
    "build_environ",
    "response_head",
    "simple_response",
]

#: moto's environ key for header names it keeps as spelled (S3 metadata with underscores).
_PRESERVED_NAMES_KEY = "moto.preserved_header_names"
_NO_BODY_STATUSES = frozenset((204, 304))
_date_cache: tuple[int, str] = (0, "")
#: A body of known length up to this size is sent in one write, with its head.
_GATHER = 256 * 1024


class ClientGone(ConnectionError):
    """The client's connection ended, or timed out, while its request body was being read."""


def _dance(text: str) -> str:
    """WSGI's native string for a URL part: UTF-8 bytes seen as latin-1 (werkzeug's encoding dance)."""
    return text.encode("utf-8").decode("latin-1")


def build_environ(
    method: str,
    target: bytes,
    version: str,
    headers: list[tuple[bytes, bytes]],
    *,
    server: tuple[str, int],
    peer: tuple[str, int],
    body: BodyStream,
) -> dict[str, Any]:
    """The WSGI environ of one request, as werkzeug's request handler (and moto's subclass) build it."""
    path = target.decode("latin-1")
    url = urlsplit(path)
    path_info = f"/{url.netloc}{url.path}" if not url.scheme and url.netloc else url.path
    environ: dict[str, Any] = {
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        "SERVER_SOFTWARE": "selfheal-front",
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": _dance(unquote(path_info)),
        "QUERY_STRING": _dance(url.query),
        "REQUEST_URI": _dance(path),
        "RAW_URI": _dance(path),
        "REMOTE_ADDR": peer[0],
        "REMOTE_PORT": peer[1],
        "SERVER_NAME": server[0],
        "SERVER_PORT": str(server[1]),
        "SERVER_PROTOCOL": f"HTTP/{version}",
    }
    preserved_names: dict[str, str] = {}
    preserved_values: dict[str, list[str]] = {}
    dashed: set[str] = set()
    for raw_name, raw_value in headers:
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = f"HTTP_{key}"
        if "_" in name:
            # Dropped, as werkzeug does (WSGI cannot tell X_Foo from X-Foo), but for S3 metadata that
            # moto keeps under its own spelling.
            if name.lower().startswith("x-amz-meta-"):
                preserved_names.setdefault(key, name)
                preserved_values.setdefault(key, []).append(value)
            continue
        dashed.add(key)
        if key in environ and key.startswith("HTTP_"):
            value = f"{environ[key]},{value}"
        environ[key] = value
    for key, values in preserved_values.items():
        if key not in dashed:
            environ[key] = ",".join(values)
    if preserved_names:
        environ[_PRESERVED_NAMES_KEY] = {k: v for k, v in preserved_names.items() if k not in dashed}
    if "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower():
        environ["wsgi.input_terminated"] = True
    if url.scheme and url.netloc:
        environ["HTTP_HOST"] = url.netloc
    body.environ = environ
    return environ


def _http_date() -> str:
    global _date_cache
    now = int(time.time())
    if _date_cache[0] != now:
        _date_cache = (now, formatdate(now, usegmt=True))
    return _date_cache[1]


def response_head(
    status: str, headers: list[tuple[str, str]], *, head_only: bool, keep_alive: bool, chunked_ok: bool
) -> tuple[bytes, int | None, bool, bool]:
    """The response head; the declared length (or None), whether the body is chunked, whether to close.

    Without ``Content-Length`` the body is chunked for an HTTP/1.1 client, else ended by closing.
    """
    code = int(status.split(" ", 1)[0])
    length: int | None = None
    close = not keep_alive
    lines = [f"HTTP/1.1 {status}"]
    for name, value in headers:
        lowered = name.lower()
        if lowered == "content-length":
            length = int(value)
        elif lowered == "connection":
            close = close or value.strip().lower() == "close"
            continue
        elif lowered in ("transfer-encoding", "keep-alive"):
            continue  # hop-by-hop: this server frames the body itself
        lines.append(f"{name}: {value}")
    no_body = head_only or code in _NO_BODY_STATUSES or 100 <= code < 200
    chunked = False
    if length is None and not no_body:
        if chunked_ok:
            chunked = True
            lines.append("Transfer-Encoding: chunked")
        else:
            close = True
    lines.append(f"Date: {_http_date()}")
    if close:
        lines.append("Connection: close")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
    return head, (0 if no_body else length), chunked, close


class BodyStream:
    """A request body as ``wsgi.input``: the event loop feeds it, the application's thread reads it.

    ``on_drained`` is called (from the reading thread) when the buffered bytes fall below ``low_water``
    after the loop had stopped reading for having more than ``high_water``.
    """

    def __init__(self, on_drained: Callable[[], None], high_water: int, low_water: int) -> None:
        self._chunks: deque[bytes] = deque()
        self._size = 0
        self._done = False
        self._error: BaseException | None = None
        self._ready = threading.Condition(threading.Lock())
        self._on_drained = on_drained
        self._high = high_water
        self._low = low_water
        self.paused = False
        self._wanted = 0  # what a waiting read asks for
        self.environ: dict[str, Any] | None = None
        #: Called once, before the first read waits (``Expect: 100-continue``).
        self.on_first_read: Callable[[], object] | None = None

    # The loop's side.
    def feed(self, chunk: bytes) -> bool:
        """Add a received piece; whether the loop should stop reading (the buffer is over its high water)."""
        with self._ready:
            self._chunks.append(chunk)
            self._size += len(chunk)
            self._ready.notify()
            if self._size > max(self._high, self._wanted):
                self.paused = True
            return self.paused

    def finish(self) -> None:
        """The whole body has arrived."""
        with self._ready:
            self._done = True
            self._ready.notify_all()

    def fail(self, error: BaseException) -> None:
        """The body will never be complete: reads raise ``error``."""
        with self._ready:
            if not self._done:
                self._error = error
            self._ready.notify_all()

    @property
    def complete(self) -> bool:
        """Whether the whole body has arrived."""
        with self._ready:
            return self._done

    # The application's side.
    def read(self, size: int | None = -1) -> bytes:
        """``size`` bytes, fewer only at the end (all that is left if negative or None)."""
        if self.environ is not None and self.environ.get(ABANDONED_BODY_KEY):
            return b""
        want = -1 if size is None or size < 0 else size
        if want == 0:
            return b""
        announce = self.on_first_read
        if announce is not None:
            self.on_first_read = None
            announce()
        drained = False
        with self._ready:
            # Like a buffered file: wait for ``size`` bytes or the end (the WSGI apps read a length at once).
            while not self._done and self._error is None and (want < 0 or self._size < want):
                self._wanted = want if want > 0 else 1 << 62
                if self.paused:
                    # The application asks for more than the loop keeps ahead: let it read on.
                    self.paused = False
                    self._on_drained()
                self._ready.wait()
            self._wanted = 0
            if not self._done and self._error is not None and (want < 0 or self._size < want):
                raise self._error
            if want < 0 or want >= self._size:
                data = b"".join(self._chunks)
                self._chunks.clear()
            else:
                parts: list[bytes] = []
                got = 0
                while got < want:
                    chunk = self._chunks.popleft()
                    if got + len(chunk) > want:
                        self._chunks.appendleft(chunk[want - got :])
                        chunk = chunk[: want - got]
                    parts.append(chunk)
                    got += len(chunk)
                data = b"".join(parts)
            self._size -= len(data)
            if self.paused and self._size < self._low:
                self.paused = False
                drained = True
        if drained:
            self._on_drained()
        return data

    def readline(self, size: int | None = -1) -> bytes:
        """One line (with its ``\\n``), at most ``size`` bytes when that is positive."""
        line = bytearray()
        while size is None or size < 0 or len(line) < size:
            piece = self.read(1)
            if not piece:
                break
            line += piece
            if piece == b"\n":
                break
        return bytes(line)

    def __iter__(self) -> Any:
        return iter(self.readline, b"")


def simple_response(status: str, text: str) -> bytes:
    """A whole plain-text response that closes the connection."""
    body = (text + "\n").encode()
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


class Request:
    """One parsed request head and its body, waiting for or in the application."""

    __slots__ = ("body", "environ", "keep_alive", "on_loop")

    def __init__(
        self, environ: dict[str, Any], body: BodyStream, keep_alive: bool, on_loop: bool = False
    ) -> None:
        self.environ = environ
        self.body = body
        self.keep_alive = keep_alive
        #: Served on the front's loop once its whole body has arrived (see front_connection).
        self.on_loop = on_loop


class Response:
    """One response's framing: its head once ``start_response`` was called, its body's pieces (chunked
    without a ``Content-Length``), a small body of known length gathered into one write."""

    def __init__(self, request: Request, send: Callable[[bytes], None]) -> None:
        self._request = request
        self._send = send
        self._status: tuple[str, list[tuple[str, str]]] | None = None
        self._held: list[bytes] = []
        self.head_sent = False
        self._length: int | None = None
        self._chunked = False
        self._close = False
        self._sent = 0

    def start(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        if exc_info is not None and self.head_sent:
            raise exc_info[1].with_traceback(exc_info[2])
        self._status = (status, list(headers))
        return self.write

    def _head(self) -> bytes:
        if self._status is None:
            raise RuntimeError("the application sent a body before calling start_response")
        environ = self._request.environ
        head, self._length, self._chunked, self._close = response_head(
            *self._status,
            head_only=environ["REQUEST_METHOD"] == "HEAD",
            # A body not all received now will not be read: the connection cannot carry another request.
            keep_alive=self._request.keep_alive and self._request.body.complete,
            chunked_ok=environ["SERVER_PROTOCOL"] == "HTTP/1.1",
        )
        self.head_sent = True
        return head

    def write(self, data: bytes) -> None:
        out = b"" if self.head_sent else self._head()
        if self._length != 0:
            self._sent += len(data)
            out += b"%x\r\n%s\r\n" % (len(data), data) if self._chunked else data
        length = self._length
        if length is not None and 0 < length <= _GATHER and self._sent < length:
            self._held.append(out)  # more of a small body to come: one write for all of it
            return
        self._flush(out)

    def end(self) -> None:
        out = b"" if self.head_sent else self._head()
        if self._chunked:
            out += b"0\r\n\r\n"
        self._flush(out)

    def _flush(self, out: bytes) -> None:
        if self._held:
            out = b"".join(self._held) + out
            self._held.clear()
        self._send(out)

    @property
    def must_close(self) -> bool:
        """Whether the connection cannot carry another request (asked, or the body was not as declared)."""
        length = self._length
        return self._close or (length is not None and length != 0 and self._sent != length)
