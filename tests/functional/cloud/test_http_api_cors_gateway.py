"""An HTTP API's own CORS configuration, through the cloud's front door, as a browser would meet it.

The gateway refuses web origins the user did not allow; an API whose CORS configuration names an origin
answers that origin as API Gateway does. A wildcard there opens the API to pages served from this machine
only: the cloud runs on a developer's laptop, and a website visited in the same browser must not read it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from selfheal.cloud import LocalCloud

AwsFactory = Callable[[str], Any]
FunctionFactory = Callable[..., str]

NAMED = "https://app.example.com"
LOOPBACK_PAGE = "http://localhost:5173"
STRANGER = "https://evil.example"

HELLO = """
def handler(event, context):
    return {"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "*"}, "body": "hello"}
"""


def _api(cloud: LocalCloud, aws: AwsFactory, arn: str, name: str, cors: dict[str, Any] | None) -> str:
    apigw = aws("apigatewayv2")
    extra: dict[str, Any] = {"CorsConfiguration": cors} if cors is not None else {}
    api = apigw.create_api(Name=name, ProtocolType="HTTP", **extra)
    integration = apigw.create_integration(
        ApiId=api["ApiId"], IntegrationType="AWS_PROXY", IntegrationUri=arn, PayloadFormatVersion="2.0"
    )
    apigw.create_route(
        ApiId=api["ApiId"], RouteKey="GET /hello", Target=f"integrations/{integration['IntegrationId']}"
    )
    apigw.create_stage(ApiId=api["ApiId"], StageName="$default", AutoDeploy=True)
    return f"{cloud.endpoint}/_api/{api['ApiId']}/hello"


@pytest.fixture(scope="module")
def urls(cloud: LocalCloud, aws: AwsFactory, make_function: FunctionFactory) -> dict[str, str]:
    """Three APIs before one function: CORS for a named origin, CORS for any origin, and no CORS."""
    make_function("cors-hello", HELLO)
    arn = aws("lambda").get_function(FunctionName="cors-hello")["Configuration"]["FunctionArn"]
    methods = {"AllowMethods": ["GET"], "AllowHeaders": ["content-type"], "MaxAge": 300}
    return {
        "named": _api(cloud, aws, arn, "cors-named", {"AllowOrigins": [NAMED], **methods}),
        "wildcard": _api(cloud, aws, arn, "cors-any", {"AllowOrigins": ["*"], **methods}),
        "none": _api(cloud, aws, arn, "cors-none", None),
    }


def _preflight(url: str, origin: str) -> httpx.Response:
    headers = {"Origin": origin, "Access-Control-Request-Method": "GET", "Sec-Fetch-Site": "cross-site"}
    return httpx.options(url, headers=headers, timeout=60)


def _get(url: str, origin: str) -> httpx.Response:
    return httpx.get(url, headers={"Origin": origin, "Sec-Fetch-Site": "cross-site"}, timeout=60)


def test_a_named_origin_gets_the_apis_preflight_and_headers(urls: dict[str, str]) -> None:
    """The origin the API names: API Gateway's preflight answer, then the response with its Allow-Origin."""
    preflight = _preflight(urls["named"], NAMED)
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == NAMED
    assert preflight.headers["access-control-allow-methods"] == "GET"
    assert preflight.headers["access-control-max-age"] == "300"
    response = _get(urls["named"], NAMED)
    assert response.status_code == 200 and response.text == "hello"
    # The function's own "*" is replaced by the configuration's answer, as API Gateway does.
    assert response.headers["access-control-allow-origin"] == NAMED


def test_an_origin_the_api_does_not_name_is_refused_by_the_front_door(urls: dict[str, str]) -> None:
    """Another website gets the cloud's 403, for the preflight and for the request itself."""
    for response in (_preflight(urls["named"], STRANGER), _get(urls["named"], STRANGER)):
        assert response.status_code == 403
        assert "access-control-allow-origin" not in response.headers


def test_a_wildcard_covers_loopback_pages_only(urls: dict[str, str]) -> None:
    """allow_origins ["*"]: a page served from this machine reads the API; a website does not."""
    local = _get(urls["wildcard"], LOOPBACK_PAGE)
    assert local.status_code == 200
    assert local.headers["access-control-allow-origin"] == "*"
    assert _preflight(urls["wildcard"], LOOPBACK_PAGE).status_code == 204
    for response in (_preflight(urls["wildcard"], STRANGER), _get(urls["wildcard"], STRANGER)):
        assert response.status_code == 403
        assert "access-control-allow-origin" not in response.headers


def test_an_api_without_cors_keeps_the_front_doors_rules(urls: dict[str, str]) -> None:
    """No CORS configuration: web origins are refused as before, and the function's own header is dropped."""
    assert _get(urls["none"], NAMED).status_code == 403
    plain = httpx.get(urls["none"], timeout=60)
    assert plain.status_code == 200
    assert "access-control-allow-origin" not in plain.headers
