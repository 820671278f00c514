"""What a REST API deployment serves: a snapshot of the API's methods taken at CreateDeployment, as on AWS.

On AWS a stage serves the deployment it points at, never the API's later edits: a method added without a
new deployment answers 403 ``Missing Authentication Token``. moto keeps no such snapshot, so while a REST
API data plane runs, ``APIGatewayBackend.create_deployment`` is wrapped (through a
:class:`~selfheal.cloud.moto_patches.MotoPatches` registry shared by the running data planes): it refuses a
deployment with a method that has no integration, as AWS does (moto refused only when no method at all had
one), then records :func:`rest_routes` of the API for the new deployment.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .moto_patches import MotoPatches, parameters

__all__ = ["Route", "deployed_routes", "rest_routes", "start_snapshots", "stop_snapshots"]

_lock = threading.Lock()
_users = 0
_patches: MotoPatches | None = None
_snapshots: weakref.WeakKeyDictionary[Any, dict[str, Route]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class Route:
    """One method of a resource as a deployment holds it (copied: later edits of the API do not show)."""

    resource_id: str
    resource_path: str
    http_method: str
    authorization: str
    api_key_required: bool
    integration_type: str | None
    uri: str | None


def rest_routes(api: Any) -> dict[str, Route]:
    """Every method of ``api`` (moto's RestAPI) by route key ``METHOD /resource/path``."""
    routes: dict[str, Route] = {}
    for resource in list(api.resources.values()):
        path = str(resource.get_path())
        for verb, method in list(resource.resource_methods.items()):
            integration = method.method_integration
            routes[f"{verb} {path}"] = Route(
                resource_id=str(resource.id),
                resource_path=path,
                http_method=str(verb),
                authorization=str(method.authorization_type or "NONE"),
                api_key_required=bool(method.api_key_required),
                integration_type=None if integration is None else str(integration.integration_type),
                uri=None if integration is None else str(integration.uri or ""),
            )
    return routes


def deployed_routes(api: Any, deployment_id: str | None) -> dict[str, Route]:
    """The routes the deployment ``deployment_id`` of ``api`` serves (none for an unknown deployment)."""
    deployment = api.deployments.get(deployment_id) if deployment_id else None
    if deployment is None:
        return {}
    with _lock:
        return dict(_snapshots.get(deployment) or {})


def _snapshotting(original: Callable[..., Any]) -> Callable[..., Any]:
    def create_deployment(backend: Any, function_id: str, *args: Any, **kwargs: Any) -> Any:
        from moto.apigateway.exceptions import NoIntegrationDefined

        api = backend.get_rest_api(function_id)
        routes = rest_routes(api)
        if routes and any(route.integration_type is None for route in routes.values()):
            raise NoIntegrationDefined()
        deployment = original(backend, function_id, *args, **kwargs)
        with _lock:
            _snapshots[deployment] = routes
        return deployment

    return create_deployment


def start_snapshots() -> None:
    """Install the CreateDeployment wrapper (once for every running data plane)."""
    global _users, _patches
    from moto.apigateway.models import APIGatewayBackend

    with _lock:
        if _patches is None:
            patches = MotoPatches()
            patches.replace(
                APIGatewayBackend,
                "create_deployment",
                _snapshotting,
                reason="a REST API stage serves its deployment's snapshot of the API, as on AWS",
                expect=parameters("function_id", "name", "description", "stage_variables"),
            )
            patches.install()
            _patches = patches
        _users += 1


def stop_snapshots() -> None:
    """Undo :func:`start_snapshots` once the last data plane stops."""
    global _users, _patches
    with _lock:
        _users = max(0, _users - 1)
        if _users == 0 and _patches is not None:
            _patches.restore()
            _patches = None
