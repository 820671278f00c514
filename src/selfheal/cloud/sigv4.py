"""Checking AWS Signature Version 4 on a received request, with botocore's canonicalisation.

A client signs a canonical form of its request (method, path, query, the headers it lists in
``SignedHeaders``, a SHA-256 of the body) with a key derived from its secret. The server recomputes the
signature with the secret it holds for the access key and compares in constant time. botocore's
``SigV4Auth`` does the canonical form; :class:`_Verifier` only makes it use exactly the headers the client
signed, and the body's hash is checked against ``X-Amz-Content-SHA256`` when the client sends one (botocore
trusts that header when signing, so a verifier that did too would accept a replayed signature on another
body). The signing key (four HMACs of the secret, date, region and service) depends on nothing else, so it
is kept per secret, day, region and service, as AWS's SDKs keep it (aws-sdk-go-v2's ``derivedKeyCache``,
``@smithy/signature-v4``'s ``signingKeyCache``). The path is canonicalised as the client did: URI-encoded
once more for every service but S3, whose signers use the path exactly as sent (AWS: "Each path segment
must be URI-encoded twice (except for Amazon S3 which only gets URI-encoded once)"), so S3 keys with
spaces, ``+``, ``=`` or non-ASCII letters verify.
"""

from __future__ import annotations

import calendar
import functools
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["MAX_SKEW_SECONDS", "SignedRequest", "parse_authorization", "signature_matches", "skew_problem"]

#: How far a request's X-Amz-Date may be from the server's clock (AWS: 15 minutes).
MAX_SKEW_SECONDS = 15 * 60

_AMZ_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z")
_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256\s+"
    r"Credential=(?P<key>[^/,\s]+)/(?P<date>\d{8})/(?P<region>[^/,\s]+)/(?P<service>[^/,\s]+)/aws4_request\s*,\s*"
    r"SignedHeaders=(?P<headers>[a-z0-9;._-]+)\s*,\s*"
    r"Signature=(?P<signature>[0-9a-f]{64})\s*$"
)


@dataclass(frozen=True)
class SignedRequest:
    """The parts of a SigV4 ``Authorization`` header."""

    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_authorization(header: str) -> SignedRequest | None:
    """The SigV4 fields of an ``Authorization`` header, or None when it is not a complete SigV4 header."""
    match = _AUTHORIZATION.match(header.strip())
    if match is None:
        return None
    signed = tuple(match["headers"].split(";"))
    if "host" not in signed:
        return None
    return SignedRequest(
        access_key_id=match["key"],
        date=match["date"],
        region=match["region"],
        service=match["service"],
        signed_headers=signed,
        signature=match["signature"],
    )


def skew_problem(amz_date: str, now: float) -> str | None:
    """AWS's message when ``amz_date`` (``YYYYMMDDTHHMMSSZ``) is malformed or over 15 minutes off ``now``."""
    match = _AMZ_DATE.fullmatch(amz_date)
    try:
        if match is None:
            raise ValueError(amz_date)
        # datetime checks the calendar (no 31 February); timegm is the fast way to seconds since the epoch.
        year, month, day, hour, minute, second = (int(part) for part in match.groups())
        stamp = float(calendar.timegm(datetime(year, month, day, hour, minute, second).timetuple()))
    except ValueError:
        return f"Date must be in ISO-8601 'basic format'. Got '{amz_date}'."

    def fmt(seconds: float) -> str:
        return datetime.fromtimestamp(seconds, UTC).strftime("%Y%m%dT%H%M%SZ")

    if stamp < now - MAX_SKEW_SECONDS:
        return (
            f"Signature expired: {amz_date} is now earlier than {fmt(now - MAX_SKEW_SECONDS)} "
            f"({fmt(now)} - 15 min.)"
        )
    if stamp > now + MAX_SKEW_SECONDS:
        return (
            f"Signature not yet current: {amz_date} is still later than {fmt(now + MAX_SKEW_SECONDS)} "
            f"({fmt(now)} + 15 min.)"
        )
    return None


def signature_matches(
    signed: SignedRequest,
    *,
    method: str,
    raw_path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
    secret_access_key: str,
    session_token: str | None = None,
) -> bool:
    """Whether ``signed.signature`` is the signature of this request under ``secret_access_key``.

    ``raw_path`` is the path as sent (still percent-encoded), ``headers`` are keyed by lower-case name.
    """
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    claimed_hash = headers.get("x-amz-content-sha256")
    if claimed_hash is not None and claimed_hash != hashlib.sha256(body).hexdigest():
        return False
    amz_date = headers.get("x-amz-date", "")
    if amz_date[:8] != signed.date:
        return False
    chosen = {name: headers[name] for name in signed.signed_headers if name in headers}
    if len(chosen) != len(signed.signed_headers):
        return False
    url = raw_path + (f"?{query}" if query else "")
    request = AWSRequest(method=method, url=url, data=body, headers=chosen)
    request.context["timestamp"] = amz_date
    verifier = _verifier_class(signed.service == "s3")(
        Credentials(signed.access_key_id, secret_access_key, session_token),
        signed.service,
        signed.region,
    )
    canonical = verifier.canonical_request(request)
    expected = verifier.signature(verifier.string_to_sign(request, canonical), request)
    return hmac.compare_digest(expected, signed.signature)


@functools.cache
def _verifier_class(s3: bool) -> type:
    from botocore.auth import S3SigV4Auth, SigV4Auth

    base = S3SigV4Auth if s3 else SigV4Auth

    class _Verifier(base):  # type: ignore[misc,valid-type]
        """botocore's SigV4 (S3's, which keeps the path as sent, for S3) with the client's own list of
        signed headers (botocore picks its own)."""

        def headers_to_sign(self, request: Any) -> Any:
            from botocore.awsrequest import HTTPHeaders

            chosen = HTTPHeaders()
            for name, value in request.headers.items():
                chosen[name.lower()] = value
            return chosen

        def signature(self, string_to_sign: str, request: Any) -> str:
            key = _signing_key(
                self.credentials.secret_key,
                request.context["timestamp"][0:8],
                self._region_name,
                self._service_name,
            )
            return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()

    return _Verifier


@functools.lru_cache(maxsize=256)
def _signing_key(secret_access_key: str, date: str, region: str, service: str) -> bytes:
    """SigV4's signing key: HMAC-SHA256 chained over the date, region, service and ``aws4_request``."""
    key = f"AWS4{secret_access_key}".encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key
