"""Requests the local cloud refuses at its front door, answered in the protocol of the service called.

AWS answers an unsigned request, an unknown key or a bad signature before the service sees it, in the
service's own protocol: JSON services (Lambda, DynamoDB, Logs, API Gateway) with an ``x-amzn-ErrorType``
header and a ``__type`` body; query services (STS, IAM, SNS, CloudWatch, SQS) with an XML
``ErrorResponse``. The error codes differ by family too (``UnrecognizedClientException`` vs
``InvalidClientTokenId``), so a :class:`Refusal` names its *kind* and :func:`render` picks the code.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal
from xml.sax.saxutils import escape

__all__ = ["Refusal", "RefusalKind", "protocol_of", "render", "service_of"]

RefusalKind = Literal[
    "missing_token",
    "invalid_token",
    "bad_signature",
    "incomplete_signature",
    "expired_token",
    "too_large",
    "unsupported",
    "not_served",
]

# Query-protocol services (and SQS, whose JSON protocol keeps its query error codes).
_QUERY_SERVICES = frozenset({"sts", "iam", "sns", "monitoring", "cloudwatch", "sqs", "ec2", "ses", "email"})
# X-Amz-Target prefixes of JSON services → SigV4 signing name.
_TARGET_SERVICES = {
    "DynamoDB_": "dynamodb",
    "DynamoDBStreams_": "dynamodb",
    "Logs_": "logs",
    "AmazonSQS": "sqs",
    "GraniteServiceVersion": "monitoring",
    "TrentService": "kms",
    "AWSEvents": "events",
    "AmazonSSM": "ssm",
    "AWSStepFunctions": "states",
}
# (kind, family) → (HTTP status, error code).
_CODES: dict[tuple[RefusalKind, str], tuple[int, str]] = {
    ("missing_token", "json"): (403, "MissingAuthenticationTokenException"),
    ("missing_token", "query"): (403, "MissingAuthenticationToken"),
    ("invalid_token", "json"): (403, "UnrecognizedClientException"),
    ("invalid_token", "query"): (403, "InvalidClientTokenId"),
    ("bad_signature", "json"): (403, "InvalidSignatureException"),
    ("bad_signature", "query"): (403, "SignatureDoesNotMatch"),
    ("incomplete_signature", "json"): (400, "IncompleteSignatureException"),
    ("incomplete_signature", "query"): (400, "IncompleteSignature"),
    ("expired_token", "json"): (403, "ExpiredTokenException"),
    ("expired_token", "query"): (403, "ExpiredToken"),
    ("too_large", "json"): (413, "RequestEntityTooLargeException"),
    ("too_large", "query"): (413, "RequestEntityTooLarge"),
    ("unsupported", "json"): (400, "UnsupportedOperationException"),
    ("unsupported", "query"): (400, "UnsupportedOperation"),
    ("not_served", "json"): (404, "UnknownOperationException"),
    ("not_served", "query"): (404, "NotFound"),
}


@dataclass(frozen=True)
class Refusal(Exception):
    """A request refused before any service handled it; ``code`` overrides the family's code."""

    kind: RefusalKind
    message: str
    code: str = ""
    status: int = 0


def service_of(environ: dict[str, Any]) -> str:
    """The SigV4 signing name of the service a request is for, as far as its headers and path tell."""
    authorization = str(environ.get("HTTP_AUTHORIZATION") or "")
    scope = authorization.partition("Credential=")[2].partition(",")[0].split("/")
    if len(scope) >= 5 and scope[3]:
        return scope[3]
    target = str(environ.get("HTTP_X_AMZ_TARGET") or "")
    for prefix, service in _TARGET_SERVICES.items():
        if target.startswith(prefix):
            return service
    path = str(environ.get("PATH_INFO") or "")
    if path.startswith(("/2015-03-31/", "/2014-11-13/", "/2016-08-19/", "/2017-10-31/", "/2018-10-31/")):
        return "lambda"
    if path.startswith("/v2/"):
        return "apigateway"
    return ""


def protocol_of(environ: dict[str, Any]) -> Literal["json", "query"]:
    """Which error family the caller's SDK parses: ``json`` or ``query`` (XML)."""
    service = service_of(environ)
    if service in _QUERY_SERVICES:
        return "query"
    if service or environ.get("HTTP_X_AMZ_TARGET") or "json" in str(environ.get("CONTENT_TYPE") or ""):
        return "json"
    return "query"


def render(environ: dict[str, Any], refusal: Refusal, start_response: Any) -> Iterable[bytes]:
    """Answer ``refusal`` as the called service would."""
    family = protocol_of(environ)
    status, code = _CODES[(refusal.kind, family)]
    status = refusal.status or status
    code = refusal.code or code
    request_id = str(uuid.uuid4())
    if family == "json":
        body = json.dumps({"__type": code, "message": refusal.message}).encode()
        content_type = "application/x-amz-json-1.1"
    else:
        body = (
            '<ErrorResponse xmlns="http://webservices.amazon.com/AWSFault/2005-15-09">'
            f"<Error><Type>Sender</Type><Code>{escape(code)}</Code>"
            f"<Message>{escape(refusal.message)}</Message></Error>"
            f"<RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        content_type = "text/xml"
    start_response(
        f"{status} {_REASONS.get(status, 'Error')}",
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", request_id),
            ("x-amzn-ErrorType", code),
        ],
    )
    return [body]


_REASONS = {400: "Bad Request", 403: "Forbidden", 404: "Not Found", 413: "Request Entity Too Large"}
