"""HTTP API access logs: a stage's ``accessLogSettings`` turned into one CloudWatch Logs event per request.

The ``format`` is compiled once per format string (:func:`compile_format`) into literal text and
``$context`` variables; a request's :class:`AccessRecord` fills them in (``-`` for a value the request does
not have, as on AWS). Variables the local cloud cannot give (authorizers, client certificates, custom
domains, WAF) are written as ``-`` too, and named once in a warning when the format is first used. The
events go through the cloud's log shipper into the log group of ``destinationArn``, in the stream
``{api_id}_{stage}`` (API Gateway does not document its stream names).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .http_api_event import format_request_time

__all__ = [
    "SUPPORTED_VARIABLES",
    "AccessLogFormat",
    "AccessRecord",
    "compile_format",
    "log_group_from_arn",
    "write_access_log",
]

_log = logging.getLogger(__name__)

_VARIABLE = re.compile(r"\$context\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)")
_LOG_GROUP_ARN = re.compile(r"^arn:aws[a-zA-Z-]*:logs:[a-z0-9-]+:\d{12}:log-group:([^:*]+)(?::\*)?$")


@dataclass
class AccessRecord:
    """What one request did, as the ``$context`` variables of an access log report it."""

    api_id: str
    account_id: str
    request_id: str
    epoch_seconds: float
    method: str
    path: str
    protocol: str
    source_ip: str
    user_agent: str
    domain_name: str = ""
    stage: str = ""
    route_key: str = ""
    status: int = 0
    response_length: int = 0
    request_length: int = 0
    response_latency_ms: float | None = None
    integration_latency_ms: float | None = None
    integration_status: int | None = None  # what Lambda's Invoke answered
    function_status: int | None = None  # the statusCode the function returned
    integration_error: str = ""
    integration_request_id: str = ""
    error_message: str = ""  # API Gateway's own error message, when it answered itself


def _ms(value: float | None) -> str:
    return str(round(value)) if value is not None else ""


def _number(value: int | None) -> str:
    return str(value) if value is not None else ""


def _quoted(text: str) -> str:
    return json.dumps(text) if text else ""


_Getter = Callable[[AccessRecord], str]

_GETTERS: dict[str, _Getter] = {
    "accountId": lambda r: r.account_id,
    "apiId": lambda r: r.api_id,
    "awsEndpointRequestId": lambda r: r.integration_request_id,
    "dataProcessed": lambda r: str(r.request_length + r.response_length),
    "domainName": lambda r: r.domain_name,
    "domainPrefix": lambda r: r.domain_name.split(".", 1)[0],
    "error.message": lambda r: r.error_message,
    "error.messageString": lambda r: _quoted(r.error_message),
    "extendedRequestId": lambda r: r.request_id,
    "httpMethod": lambda r: r.method,
    "identity.sourceIp": lambda r: r.source_ip,
    "identity.userAgent": lambda r: r.user_agent,
    "integration.error": lambda r: r.integration_error,
    "integration.integrationStatus": lambda r: _number(r.integration_status),
    "integration.latency": lambda r: _ms(r.integration_latency_ms),
    "integration.requestId": lambda r: r.integration_request_id,
    "integration.status": lambda r: _number(r.function_status),
    "integrationErrorMessage": lambda r: r.integration_error,
    "integrationLatency": lambda r: _ms(r.integration_latency_ms),
    "integrationStatus": lambda r: _number(r.integration_status),
    "path": lambda r: r.path,
    "protocol": lambda r: r.protocol,
    "requestId": lambda r: r.request_id,
    "requestTime": lambda r: format_request_time(r.epoch_seconds),
    "requestTimeEpoch": lambda r: str(int(r.epoch_seconds * 1000)),
    "responseLatency": lambda r: _ms(r.response_latency_ms),
    "responseLength": lambda r: str(r.response_length),
    "routeKey": lambda r: r.route_key,
    "stage": lambda r: r.stage,
    "status": lambda r: _number(r.status or None),
}

#: The ``$context`` variables (without the prefix) the local cloud fills in.
SUPPORTED_VARIABLES = frozenset(_GETTERS)


def _unsupported(_record: AccessRecord) -> str:
    return ""


@dataclass(frozen=True)
class AccessLogFormat:
    """A compiled access log format: literal pieces between variable getters."""

    literals: tuple[str, ...]
    getters: tuple[_Getter, ...]
    unsupported: tuple[str, ...]

    def render(self, record: AccessRecord) -> str:
        """The log line for ``record``; an empty value is written ``-`` as API Gateway writes it."""
        parts = [self.literals[0]]
        for getter, literal in zip(self.getters, self.literals[1:], strict=True):
            parts.append(getter(record) or "-")
            parts.append(literal)
        return "".join(parts)


def compile_format(text: str) -> AccessLogFormat:
    """Split ``text`` into literals and ``$context`` variables (unknown ones listed in ``unsupported``)."""
    literals: list[str] = []
    getters: list[_Getter] = []
    unsupported: list[str] = []
    position = 0
    for match in _VARIABLE.finditer(text):
        literals.append(text[position : match.start()])
        name = match.group(1)
        getter = _GETTERS.get(name)
        if getter is None:
            getter = _unsupported
            if f"$context.{name}" not in unsupported:
                unsupported.append(f"$context.{name}")
        getters.append(getter)
        position = match.end()
    literals.append(text[position:])
    return AccessLogFormat(tuple(literals), tuple(getters), tuple(unsupported))


def log_group_from_arn(arn: str) -> str | None:
    """The log group an access log ``destinationArn`` names, or None when it is not a log group ARN."""
    match = _LOG_GROUP_ARN.match(arn.strip())
    return match.group(1) if match else None


_cache_lock = threading.Lock()
_formats: dict[str, AccessLogFormat] = {}
_warned: set[tuple[str, str, str]] = set()
_MAX_CACHED = 256


def _compiled(api_id: str, stage: str, text: str) -> AccessLogFormat:
    with _cache_lock:
        compiled = _formats.get(text)
        if compiled is None:
            if len(_formats) >= _MAX_CACHED:
                _formats.clear()
            compiled = _formats[text] = compile_format(text)
        first_use = compiled.unsupported and (api_id, stage, text) not in _warned
        if first_use:
            _warned.add((api_id, stage, text))
    if first_use:
        _log.warning(
            "API %s stage %s: access log format uses %s, which the local cloud does not support; "
            "written as '-'",
            api_id,
            stage,
            ", ".join(compiled.unsupported),
        )
    return compiled


def write_access_log(
    settings: Any, record: AccessRecord, write: Callable[[str, str, str, int], None]
) -> bool:
    """Write ``record``'s line for a stage's ``accessLogSettings`` through ``write(group, stream, line, ms)``.

    Returns False (and writes nothing) when the stage has no usable settings.
    """
    if not isinstance(settings, Mapping):
        return False
    arn = settings.get("destinationArn", settings.get("DestinationArn"))
    text = settings.get("format", settings.get("Format"))
    if not isinstance(arn, str) or not isinstance(text, str) or not text:
        return False
    group = log_group_from_arn(arn)
    if group is None:
        with _cache_lock:
            first = (record.api_id, record.stage, arn) not in _warned
            _warned.add((record.api_id, record.stage, arn))
        if first:
            _log.warning(
                "API %s stage %s: access log destination %r is not a CloudWatch Logs log group ARN",
                record.api_id,
                record.stage,
                arn,
            )
        return False
    line = _compiled(record.api_id, record.stage, text).render(record)
    write(group, f"{record.api_id}_{record.stage}", line, int(record.epoch_seconds * 1000))
    return True
