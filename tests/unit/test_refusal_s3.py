"""The front door's refusals of S3 requests arrive through boto3 as S3 names them (XML ``Error``), not as a
bare "403 Forbidden"; other services keep their own families."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Generator, Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from werkzeug.serving import make_server

from selfheal.cloud.authentication import Authenticator
from selfheal.cloud.credentials import OperatorKey
from selfheal.cloud.gateway import Gateway
from selfheal.cloud.refusal import Refusal, protocol_of, render

KEY = OperatorKey.generate()


def _moto_stand_in(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "application/xml")])
    return [b"<ListAllMyBucketsResult><Buckets/></ListAllMyBucketsResult>"]


def _serve(now: Any = time.time) -> Generator[str, None, None]:
    gateway = Gateway(_moto_stand_in, authenticator=Authenticator(KEY, "123456789012", now=now))
    server = make_server("127.0.0.1", 0, gateway, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    yield from _serve()


def _s3(endpoint: str, key_id: str, secret: str, token: str | None = None) -> Any:
    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=key_id,
        aws_secret_access_key=secret,
        aws_session_token=token,
    )


def _error(call: Any) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as raised:
        call()
    response = raised.value.response
    return (
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Code"],
        response["Error"]["Message"],
    )


def test_the_right_key_passes(endpoint: str) -> None:
    """The stand-in answers a request signed by the operator key: the refusals below are the door's."""
    assert _s3(endpoint, KEY.access_key_id, KEY.secret_access_key).list_buckets()["Buckets"] == []


def test_bad_signature_is_signature_does_not_match(endpoint: str) -> None:
    """The operator's key id with a wrong secret: S3's SignatureDoesNotMatch, 403, with S3's message."""
    status, code, message = _error(_s3(endpoint, KEY.access_key_id, "x" * 40).list_buckets)
    assert (status, code) == (403, "SignatureDoesNotMatch")
    assert message.startswith("The request signature we calculated does not match the signature you provided")


def test_unknown_key_is_invalid_access_key_id(endpoint: str) -> None:
    """A key the cloud never issued: S3's InvalidAccessKeyId; with a session token: InvalidToken."""
    s3 = _s3(endpoint, "AKIAUNKNOWNKEY000000", "y" * 40)
    assert _error(lambda: s3.get_object(Bucket="b", Key="a b/c.txt")) == (
        403,
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
    )
    with_token = _s3(endpoint, "ASIAUNKNOWNKEY000000", "y" * 40, token="forged")
    assert _error(with_token.list_buckets) == (
        400,
        "InvalidToken",
        "The provided token is malformed or otherwise invalid.",
    )


def test_skewed_clock_is_request_time_too_skewed() -> None:
    """A request dated an hour off the server's clock: S3's RequestTimeTooSkewed."""
    served = _serve(now=lambda: time.time() + 3600)
    endpoint = next(served)
    try:
        status, code, _ = _error(_s3(endpoint, KEY.access_key_id, KEY.secret_access_key).list_buckets)
    finally:
        served.close()
    assert (status, code) == (403, "RequestTimeTooSkewed")


@pytest.mark.parametrize("signature_version", ["s3v4", None])
def test_presigned_url_is_not_implemented(endpoint: str, signature_version: str | None) -> None:
    """A presigned URL (SigV4, its scope in the query, or boto3's default SigV2 query signature) gets S3's
    XML NotImplemented naming what is unsupported."""
    s3 = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=KEY.access_key_id,
        aws_secret_access_key=KEY.secret_access_key,
        config=Config(signature_version=signature_version) if signature_version else None,
    )
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "b", "Key": "k"})
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(url, timeout=10)
    body = raised.value.read().decode()
    assert raised.value.code == 501 and raised.value.headers["x-amz-request-id"]
    assert "<Code>NotImplemented</Code>" in body and "Presigned URLs" in body


def test_other_services_keep_their_families() -> None:
    """A refusal of an STS or Lambda request is still rendered in its own family, and an operation's own
    code (Invoke's RequestTooLargeException) is kept."""
    sts = {"HTTP_AUTHORIZATION": "AWS4-HMAC-SHA256 Credential=AKIAX/20250101/us-east-1/sts/aws4_request, x"}
    assert protocol_of(sts) == "query"
    assert protocol_of({"HTTP_AUTHORIZATION": sts["HTTP_AUTHORIZATION"].replace("/sts/", "/s3/")}) == "s3"
    seen: list[str] = []
    body = b"".join(
        render(
            {"HTTP_AUTHORIZATION": sts["HTTP_AUTHORIZATION"].replace("/sts/", "/s3/")},
            Refusal("too_large", "Request must be smaller than 10 bytes", code="RequestTooLargeException"),
            lambda status, headers: seen.append(status),
        )
    )
    assert seen == ["400 Bad Request"]
    assert b"<Code>RequestTooLargeException</Code>" in body
    assert b"<Message>Request must be smaller than 10 bytes</Message>" in body
