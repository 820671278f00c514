"""The REST API data plane's pure parts: routes, the proxy event, metrics datums, the invoke permission."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from selfheal.clock import Clock
from selfheal.cloud.http_api_event import ApiRequest, RequestContext
from selfheal.cloud.http_api_routes import select_route
from selfheal.cloud.rest_api import build_rest_event
from selfheal.cloud.rest_api_deployments import rest_routes
from selfheal.cloud.rest_api_metrics import RestApiMetrics
from selfheal.cloud.rest_api_permissions import may_invoke, source_arn


@dataclass
class _Method:
    authorization_type: str = "NONE"
    api_key_required: bool = False
    method_integration: Any = None


@dataclass
class _Resource:
    id: str
    path: str
    resource_methods: dict[str, _Method] = field(default_factory=dict)

    def get_path(self) -> str:
        return self.path


@dataclass
class _Api:
    resources: dict[str, _Resource]


def _api() -> _Api:
    resources = [
        _Resource("root", "/", {"GET": _Method()}),
        _Resource("greedy", "/{proxy+}", {"ANY": _Method()}),
        _Resource("item", "/items/{id}", {"GET": _Method(), "DELETE": _Method("AWS_IAM")}),
    ]
    return _Api({resource.id: resource for resource in resources})


def _event(body: bytes, content_type: str, binary: tuple[str, ...] = ()) -> dict[str, Any]:
    routes = rest_routes(_api())
    match = select_route(list(routes), "POST", "/a/b")
    assert match is not None
    request = ApiRequest("POST", "/a/b", "x=1&x=2", [("content-type", content_type)], body)
    route = routes[match.route_key]
    context = RequestContext(
        route_key=f"POST {route.resource_path}",
        route_path="/a/b",
        path_parameters=match.path_parameters,
        api_id="abc123",
        account_id="123456789012",
        stage="prod",
        stage_variables={},
        domain_name="abc123.execute-api.us-east-1.amazonaws.com",
        request_id="req-1",
        epoch_seconds=1_700_000_000.0,
    )
    return build_rest_event(request, context, resource_id=route.resource_id, binary_media_types=binary)


def test_routes_pick_the_most_specific_resource_and_method() -> None:
    """A literal path beats {proxy+}; an explicit method beats ANY; the root needs its own method."""
    routes = rest_routes(_api())
    assert set(routes) == {"GET /", "ANY /{proxy+}", "GET /items/{id}", "DELETE /items/{id}"}
    item = select_route(list(routes), "GET", "/items/7")
    assert item is not None and (item.route_key, item.path_parameters) == ("GET /items/{id}", {"id": "7"})
    other = select_route(list(routes), "PUT", "/items/7")
    assert other is not None and other.path_parameters == {"proxy": "items/7"}
    assert routes[other.route_key].resource_id == "greedy"
    assert routes["DELETE /items/{id}"].authorization == "AWS_IAM"
    assert routes["GET /"].integration_type is None
    assert select_route(list(routes), "POST", "/") is None


def test_event_is_the_rest_proxy_shape() -> None:
    """No version, the resource's id, the stage-prefixed context path, multi-value query parameters."""
    event = _event(b'{"a": 1}', "application/json")
    assert "version" not in event
    assert (event["resource"], event["path"], event["httpMethod"]) == ("/{proxy+}", "/a/b", "POST")
    assert event["pathParameters"] == {"proxy": "a/b"}
    assert event["multiValueQueryStringParameters"] == {"x": ["1", "2"]}
    assert event["queryStringParameters"] == {"x": "2"}
    context = event["requestContext"]
    assert (context["resourceId"], context["resourcePath"]) == ("greedy", "/{proxy+}")
    assert (context["path"], context["stage"], context["requestId"]) == ("/prod/a/b", "prod", "req-1")
    assert "authorizer" not in context
    assert (event["body"], event["isBase64Encoded"]) == ('{"a": 1}', False)


def test_body_is_base64_only_for_binary_media_types() -> None:
    """A body is text unless its content type matches one of the API's binary media types (or */*)."""
    raw = b"\x89PNG\r\n"
    text = _event(raw, "image/png")
    assert text["isBase64Encoded"] is False
    for binary in (("image/png",), ("image/*",), ("*/*",)):
        event = _event(raw, "image/png; q=1", binary)
        assert (event["body"], event["isBase64Encoded"]) == (base64.b64encode(raw).decode(), True), binary
    assert _event(raw, "text/plain", ("image/*",))["isBase64Encoded"] is False


class _Cloudwatch:
    def __init__(self) -> None:
        self.puts: list[tuple[str, list[dict[str, Any]]]] = []

    def put_metric_data(self, namespace: str, datums: list[dict[str, Any]]) -> None:
        self.puts.append((namespace, datums))


def test_metrics_are_per_api_name_and_stage_with_rest_names() -> None:
    """Count, 4XXError, 5XXError as 0/1 samples per request, by ApiName + Stage and by ApiName alone."""
    backend = _Cloudwatch()
    metrics = RestApiMetrics(Clock(), lambda: backend)
    metrics.record("shop", "prod", 200, 5.0, 3.0)
    metrics.record("shop", "prod", 403, 1.0, None)
    metrics.record("shop", "test", 502, 9.0, 8.0)
    assert metrics.flush() == 1
    ((namespace, datums),) = backend.puts
    assert namespace == "AWS/ApiGateway"

    def stats(name: str, *dimensions: str) -> dict[str, float]:
        (datum,) = [
            d
            for d in datums
            if d["MetricName"] == name and [x["Value"] for x in d["Dimensions"]] == list(dimensions)
        ]
        return dict(datum["StatisticValues"])

    assert stats("Count", "shop", "prod")["SampleCount"] == 2
    assert stats("4XXError", "shop", "prod")["Sum"] == 1
    assert stats("5XXError", "shop", "prod")["Sum"] == 0
    assert stats("5XXError", "shop")["Sum"] == 1
    assert stats("Count", "shop")["SampleCount"] == 3
    assert stats("IntegrationLatency", "shop")["SampleCount"] == 2
    assert stats("Latency", "shop", "test")["Maximum"] == 9.0
    assert metrics.flush() == 0


class _Lambda:
    def __init__(self, statements: list[dict[str, Any]] | None) -> None:
        self.statements = statements

    def get_policy(self, name: str, qualifier: str | None) -> str:
        if self.statements is None:
            raise KeyError(name)
        return json.dumps({"Policy": json.dumps({"Version": "2012-10-17", "Statement": self.statements})})


def test_permission_follows_the_functions_policy() -> None:
    """API Gateway may invoke only when a statement for its principal matches the request's source ARN."""
    function = "arn:aws:lambda:us-east-1:123456789012:function:fn"
    source = source_arn("us-east-1", "123456789012", "abc", "prod", "GET", "/cart/42")
    assert source == "arn:aws:execute-api:us-east-1:123456789012:abc/prod/GET/cart/42"

    def allow(principal: Any, pattern: str) -> dict[str, Any]:
        return {"Effect": "Allow", "Principal": principal, "Action": "lambda:InvokeFunction",
                "Resource": function, "Condition": {"ArnLike": {"AWS:SourceArn": pattern}}}  # fmt: skip

    apigw = {"Service": "apigateway.amazonaws.com"}
    everything = "arn:aws:execute-api:us-east-1:123456789012:abc/*/*"
    assert may_invoke(_Lambda([allow(apigw, everything)]), function, source, "123456789012")
    assert not may_invoke(_Lambda([allow(apigw, everything.replace("abc", "xyz"))]), function, source, "1")
    assert not may_invoke(
        _Lambda([allow({"Service": "s3.amazonaws.com"}, everything)]), function, source, "1"
    )
    assert not may_invoke(_Lambda([]), function, source, "123456789012")
    assert not may_invoke(_Lambda(None), function, source, "123456789012")
