"""Requests the local cloud refuses at its front door, answered in the protocol of the service called.

AWS answers an unsigned request, an unknown key or a bad signature before the service sees it, in the
service's own protocol: JSON services (Lambda, DynamoDB, Logs, API Gateway) with an ``x-amzn-ErrorType``
header and a ``__type`` body; query services (STS, IAM, SNS, CloudWatch, SQS) with an XML
``ErrorResponse``; S3 with its own XML ``Error`` (``Code``, ``Message``, ``RequestId``, ``HostId``) and
``x-amz-request-id``. The error codes differ by family too (``UnrecognizedClientException`` vs
``InvalidClientTokenId`` vs S3's ``InvalidAccessKeyId``), so a :class:`Refusal` names its *kind* and
:func:`render` picks the code. The service is the one the request was signed for (the SigV4 credential
scope, of the ``Authorization`` header or of a presigned URL's ``X-Amz-Credential``), else what its
``X-Amz-Target`` or path tell.
"""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs
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
# S3's codes, statuses and messages (its "Error responses" list); None keeps the refusal's own message,
# which names what the local cloud does not serve.
_S3: dict[RefusalKind, tuple[int, str, str | None]] = {
    "missing_token": (403, "AccessDenied", None),
    "invalid_token": (
        403,
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
    ),
    "bad_signature": (
        403,
        "SignatureDoesNotMatch",
        "The request signature we calculated does not match the signature you provided. Check your key and "
        "signing method.",
    ),
    "incomplete_signature": (400, "AuthorizationHeaderMalformed", None),
    "expired_token": (400, "ExpiredToken", "The provided token has expired."),
    "too_large": (400, "EntityTooLarge", None),
    "unsupported": (501, "NotImplemented", None),
    "not_served": (404, "NoSuchBucket", None),
}
_S3_BAD_TOKEN = (400, "InvalidToken", "The provided token is malformed or otherwise invalid.")
_S3_SKEWED = (
    403,
    "RequestTimeTooSkewed",
    "The difference between the request time and the current time is too large.",
)
_S3_SIGV2_PRESIGNED = (
    501,
    "NotImplemented",
    "Presigned URLs (query-string signatures, SigV2 or SigV4) are not supported by the local cloud.",
)
_S3_NO_DATE = (403, "AccessDenied", "AWS authentication requires a valid Date or x-amz-date header")


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
    credential = authorization.partition("Credential=")[2].partition(",")[0]
    query = parse_qs(str(environ.get("QUERY_STRING") or ""))
    if not credential:  # a presigned URL carries its scope in the query
        credential = (query.get("X-Amz-Credential") or [""])[0]
    scope = credential.split("/")
    if len(scope) >= 5 and scope[3]:
        return scope[3]
    if _sigv2_presigned(query):
        return "s3"
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


def protocol_of(environ: dict[str, Any]) -> Literal["json", "query", "s3"]:
    """Which error family the caller's SDK parses: ``json``, ``query`` (XML) or ``s3`` (S3's XML)."""
    service = service_of(environ)
    if service == "s3":
        return "s3"
    if service in _QUERY_SERVICES:
        return "query"
    if service or environ.get("HTTP_X_AMZ_TARGET") or "json" in str(environ.get("CONTENT_TYPE") or ""):
        return "json"
    return "query"


def render(environ: dict[str, Any], refusal: Refusal, start_response: Any) -> Iterable[bytes]:
    """Answer ``refusal`` as the called service would."""
    family = protocol_of(environ)
    if family == "s3":
        return _render_s3(environ, refusal, start_response)
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


def _sigv2_presigned(query: dict[str, list[str]]) -> bool:
    """Whether the query is S3's SigV2 query authentication (what boto3 presigns for S3 by default)."""
    return "AWSAccessKeyId" in query and "Signature" in query


def _s3_error(environ: dict[str, Any], refusal: Refusal) -> tuple[int, str, str]:
    """S3's status, code and message for ``refusal``."""
    status, code, message = _S3[refusal.kind]
    if refusal.kind == "missing_token" and _sigv2_presigned(parse_qs(str(environ.get("QUERY_STRING") or ""))):
        status, code, message = _S3_SIGV2_PRESIGNED
    elif refusal.kind == "invalid_token" and environ.get("HTTP_X_AMZ_SECURITY_TOKEN"):
        status, code, message = _S3_BAD_TOKEN
    elif refusal.kind == "bad_signature" and refusal.message.startswith(
        ("Signature expired", "Signature not yet")
    ):
        status, code, message = _S3_SKEWED
    elif refusal.kind == "bad_signature" and refusal.message.startswith("Date must be"):
        status, code, message = _S3_NO_DATE
    if refusal.code:  # an operation's own refusal (e.g. Invoke's) is not S3's
        code, message = refusal.code, None
    return refusal.status or status, code, refusal.message if message is None else message


def _render_s3(environ: dict[str, Any], refusal: Refusal, start_response: Any) -> Iterable[bytes]:
    status, code, message = _s3_error(environ, refusal)
    request_id = secrets.token_hex(8).upper()
    host_id = secrets.token_urlsafe(48)
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
        f"<RequestId>{request_id}</RequestId><HostId>{host_id}</HostId></Error>"
    ).encode()
    start_response(
        f"{status} {_REASONS.get(status, 'Error')}",
        [
            ("Content-Type", "application/xml"),
            ("Content-Length", str(len(body))),
            ("x-amz-request-id", request_id),
            ("x-amz-id-2", host_id),
        ],
    )
    return [body]


_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    413: "Request Entity Too Large",
    501: "Not Implemented",
}
