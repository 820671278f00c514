"""An API Gateway data plane's side of WSGI: the client's request as an :class:`ApiRequest`, and back.

Both data planes (HTTP APIs in :mod:`.http_api`, REST APIs in :mod:`.rest_api`) read a request the same
way: its headers as the client sent them, its body within the API's payload quota, and its method, query,
source address, protocol and port. What each answers for a body it refuses is its own. :func:`respond`
sends an :class:`ApiResponse` with its true ``Content-Length``.
"""

from __future__ import annotations

import http

from .gateway import StartResponse, WSGIEnvironment
from .http_api_event import ApiRequest, ApiResponse

__all__ = ["BadContentLength", "BodyTooLarge", "api_request", "read_body", "request_headers", "respond"]


#: WSGI status lines by code (an HTTPStatus lookup per response showed in the profile).
_STATUS_LINES = {int(status): f"{status.value} {status.phrase}" for status in http.HTTPStatus}


class BadContentLength(Exception):
    """The request's ``Content-Length`` is not a number."""


class BodyTooLarge(Exception):
    """The request's body is over the quota; ``declared`` is its ``Content-Length`` when it sent one."""

    def __init__(self, declared: int | None) -> None:
        super().__init__(declared)
        self.declared = declared


def request_headers(environ: WSGIEnvironment) -> list[tuple[str, str]]:
    """The request's headers, lower-case names in the order WSGI gives them."""
    headers: list[tuple[str, str]] = []
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            name = key[5:].replace("_", "-").lower()
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value:
            name = key.replace("_", "-").lower()
        else:
            continue
        # WSGI carries header text as latin-1 code points; give the function the UTF-8 text sent.
        text = str(value).encode("latin-1", "replace").decode("utf-8", "replace")
        headers.append((name, text))
    return headers


def read_body(environ: WSGIEnvironment, limit: int) -> bytes:
    """The request's body, at most ``limit`` bytes.

    Raises :class:`BadContentLength` or :class:`BodyTooLarge` (without reading a declared body).
    """
    stream = environ.get("wsgi.input")
    length_text = str(environ.get("CONTENT_LENGTH") or "").strip()
    if stream is None:
        return b""
    if length_text:
        if not length_text.isdigit():
            raise BadContentLength(length_text)
        length = int(length_text)
        if length > limit:
            raise BodyTooLarge(length)
        return bytes(stream.read(length)) if length else b""
    if environ.get("wsgi.input_terminated"):
        body = bytes(stream.read(limit + 1))
        if len(body) > limit:
            raise BodyTooLarge(None)
        return body
    return b""


def api_request(environ: WSGIEnvironment, raw_path: str, body: bytes) -> ApiRequest:
    """The request to serve: ``raw_path`` below the mount, ``body`` as :func:`read_body` gave it."""
    return ApiRequest(
        method=str(environ.get("REQUEST_METHOD") or "GET").upper(),
        raw_path=raw_path,
        raw_query=str(environ.get("QUERY_STRING") or ""),
        headers=request_headers(environ),
        body=body,
        source_ip=str(environ.get("REMOTE_ADDR") or "127.0.0.1"),
        protocol=str(environ.get("SERVER_PROTOCOL") or "HTTP/1.1"),
        port=int(str(environ.get("SERVER_PORT") or "80") or 80),
    )


def respond(start_response: StartResponse, response: ApiResponse, *extra: tuple[str, str]) -> list[bytes]:
    """Start ``response`` (its own ``Content-Length`` replaced by the body's, then the ``extra`` headers)
    and return its body."""
    headers = [(name, value) for name, value in response.headers if name.lower() != "content-length"]
    headers += [("Content-Length", str(len(response.body))), *extra]
    start_response(_STATUS_LINES.get(response.status) or f"{response.status} Unknown", headers)
    return [response.body]
