"""An HTTP API made directly in moto's API Gateway v2 backend, for data-plane tests without a server."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from moto.apigatewayv2.models import ApiGatewayV2Backend

__all__ = ["FUNCTION_ARN", "moto_http_api"]

FUNCTION_ARN = "arn:aws:lambda:us-east-1:123456789012:function:echo"


def moto_http_api(
    backend: ApiGatewayV2Backend,
    *,
    cors: dict[str, Any] | None = None,
    payload_version: str = "2.0",
    routes: Sequence[str] = ("$default",),
    stage: dict[str, Any] | None = None,
) -> str:
    """Create an API whose ``routes`` all go to one AWS_PROXY integration of :data:`FUNCTION_ARN`, and its
    ``stage`` (default ``$default``); return its id."""
    api = backend.create_api(
        api_key_selection_expression="",
        cors_configuration=cors or "",  # type: ignore[arg-type]
        description="",
        disable_schema_validation="",
        disable_execute_api_endpoint="",
        name="t",
        protocol_type="HTTP",
        route_selection_expression="",
        tags={},
        version="",
    )
    integration = api.create_integration(
        connection_type="INTERNET",
        description="",
        integration_method="POST",
        integration_type="AWS_PROXY",
        integration_uri=FUNCTION_ARN,
        passthrough_behavior=None,
        payload_format_version=payload_version,
        integration_subtype=None,
        request_parameters=None,
        request_templates=None,
        response_parameters=None,
        template_selection_expression=None,
        timeout_in_millis=None,
        tls_config=None,
        connection_id=None,
        content_handling_strategy=None,
        credentials_arn=None,
    )
    for key in routes:
        api.create_route(
            api_key_required=False,
            authorization_scopes=[],
            authorization_type=None,
            authorizer_id=None,
            model_selection_expression=None,
            operation_name=None,
            request_models=None,
            request_parameters=None,
            route_key=key,
            route_response_selection_expression=None,
            target=f"integrations/{integration.id}",
        )
    api.create_stage(stage or {"stageName": "$default"})
    return str(api.api_id)
