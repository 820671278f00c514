"""Helpers for tests that make API Gateway APIs in the local cloud (a module of its own name: a test that
imported it from ``conftest`` would get whichever conftest module was imported first)."""

from __future__ import annotations

from typing import Any


def proxy_http_api(apigw: Any, region: str, function_arn: str, route_key: str) -> str:
    """Make an HTTP API (``apigw``: an apigatewayv2 client of ``region``) whose ``route_key`` invokes the
    function through a 2.0 proxy integration, on an auto-deployed ``$default`` stage; its id."""
    api = apigw.create_api(Name=f"api-{route_key.split()[-1].strip('/{}+') or 'root'}", ProtocolType="HTTP")
    integration = apigw.create_integration(
        ApiId=api["ApiId"],
        IntegrationType="AWS_PROXY",
        IntegrationUri=f"arn:aws:apigateway:{region}:lambda:path/2015-03-31/functions/{function_arn}/invocations",
        PayloadFormatVersion="2.0",
    )
    apigw.create_route(
        ApiId=api["ApiId"], RouteKey=route_key, Target=f"integrations/{integration['IntegrationId']}"
    )
    apigw.create_stage(ApiId=api["ApiId"], StageName="$default", AutoDeploy=True)
    return str(api["ApiId"])
