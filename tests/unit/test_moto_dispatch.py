"""The caching moto dispatcher: the same backend as moto's own for every kind of request, worked out once."""

from __future__ import annotations

from typing import Any

import pytest
from moto import backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

from selfheal.cloud.moto_dispatch import MAX_HOSTS, dispatcher
from selfheal.cloud.moto_patches import MotoIncompatible


def _signed(
    service: str, path: str = "/", target: str | None = None, region: str = "us-east-1"
) -> dict[str, Any]:
    environ = {
        "PATH_INFO": path,
        "REQUEST_METHOD": "POST",
        "HTTP_HOST": "127.0.0.1:4566",
        "HTTP_AUTHORIZATION": (
            f"AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261205/{region}/{service}/aws4_request, "
            "SignedHeaders=host, Signature=0"
        ),
        "CONTENT_TYPE": "application/x-amz-json-1.0",
        "CONTENT_LENGTH": "0",
    }
    if target is not None:
        environ["HTTP_X_AMZ_TARGET"] = target
    return environ


REQUESTS = [
    _signed("lambda", "/2015-03-31/functions/orders/configuration"),
    _signed("lambda", "/2015-03-31/functions/orders/configuration", region="eu-west-1"),
    _signed("monitoring"),
    _signed("dynamodb", target="DynamoDB_20120810.GetItem"),
    _signed("dynamodb", target="DynamoDBStreams_20120810.GetRecords"),
    _signed("sqs", target="AmazonSQS.ReceiveMessage"),
    _signed("ssm", target="AmazonSSM.GetParameter"),
    _signed("sns"),
    _signed("sts"),
    _signed("iam", region="us-east-1"),
    _signed("events", target="AWSEvents.PutRule"),
    _signed("scheduler", "/schedules/nightly"),
    _signed("s3", "/bucket/key"),
    _signed("apigateway", "/restapis"),
    _signed("logs", target="Logs_20140328.PutLogEvents"),
    {"PATH_INFO": "/moto-api/reset", "REQUEST_METHOD": "POST", "HTTP_HOST": "127.0.0.1:4566"},
]


def _backend(app: Any, environ: dict[str, Any]) -> Any:
    """The backend ``app`` picks for ``environ``, as its ``get_application`` works it out."""
    path = environ["PATH_INFO"]
    host = "moto_api" if path.startswith("/moto-api") else app.infer_service_region_host(dict(environ), path)
    return app.get_backend_for_host(host)


@pytest.mark.parametrize("environ", REQUESTS, ids=lambda e: e.get("HTTP_X_AMZ_TARGET") or e["PATH_INFO"])
def test_every_request_reaches_the_backend_moto_would_pick(environ: dict[str, Any]) -> None:
    moto_own = DomainDispatcherApplication(create_backend_app)
    cached = dispatcher()
    expected = _backend(moto_own, environ)
    assert expected is not None
    assert _backend(cached, environ) == expected
    assert _backend(cached, environ) == expected  # from memory the second time


def test_a_host_seen_before_is_not_worked_out_again(monkeypatch: pytest.MonkeyPatch) -> None:
    listed: list[int] = []
    original = backends.list_of_moto_modules

    def counting() -> Any:
        listed.append(1)
        return original()

    monkeypatch.setattr(backends, "list_of_moto_modules", counting)
    cached = dispatcher()
    environ = _signed("lambda", "/2015-03-31/functions/orders/configuration")
    first = cached.get_application(dict(environ))
    after_first = len(listed)
    assert after_first >= 1
    for _ in range(5):
        assert cached.get_application(dict(environ)) is first
    assert len(listed) == after_first


def test_the_memory_is_bounded() -> None:
    cached = dispatcher()
    for i in range(MAX_HOSTS + 20):
        assert cached.get_backend_for_host(f"unknown-{i}.example") is None
    assert len(cached.backends_by_host) == MAX_HOSTS
    assert cached.get_backend_for_host("lambda.us-east-1.amazonaws.com") == "awslambda"


def test_a_moto_without_the_overridden_method_fails_loudly(monkeypatch: pytest.MonkeyPatch) -> None:
    def renamed(self: Any, hostname: str | None) -> Any:
        return None

    monkeypatch.setattr(DomainDispatcherApplication, "get_backend_for_host", renamed)
    with pytest.raises(MotoIncompatible, match=r"get_backend_for_host takes \(hostname\)"):
        dispatcher()
