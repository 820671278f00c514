"""What the parts of the local cloud may use of it: the ``Cloud`` and ``Component`` protocols.

Components (the HTTP API data plane, SNS delivery, the alarm scheduler) and the test helpers in
:mod:`.testing` are typed against :class:`Cloud`, never against the server class: the server
(:class:`~selfheal.cloud.server.LocalCloud`, which satisfies :class:`Cloud`) imports them, they do not import
it. :class:`Lambdas` is the part of the Lambda service they call; :class:`CloudComponent` gives the
components that callers look up by class their ``X.of(cloud)``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, Self, TypeVar, runtime_checkable

from selfheal.clock import Clock

from .gateway import WSGIApplication
from .lambda_invoke import InvokeResult

__all__ = ["Cloud", "CloudComponent", "Component", "Lambdas", "component_of"]


class Lambdas(Protocol):
    """The Lambda service as components call it (:class:`~selfheal.cloud.lambda_service.LambdaService`)."""

    def invoke(self, function: str, payload: bytes, *, json_payload: bool = False) -> InvokeResult:
        """Invoke ``function`` (name or ARN) synchronously; raise a ``CloudError`` when it cannot run.
        ``json_payload``: the caller encoded ``payload`` as JSON itself (it is not checked again)."""
        ...

    def invoke_async(self, function: str, payload: bytes) -> str:
        """Queue an Event invoke of ``function`` and return its request id."""
        ...


class Cloud(Protocol):
    """A running local cloud, as its components and test helpers see it."""

    @property
    def region(self) -> str:
        """The default region (`selfheal cloud --region`); the cloud serves every region a caller names."""
        ...

    @property
    def account_id(self) -> str:
        """The one account the cloud serves."""
        ...

    @property
    def endpoint(self) -> str:
        """The endpoint URL (``http://127.0.0.1:PORT``), known once started."""
        ...

    @property
    def clock(self) -> Clock:
        """Cloud time (it may run faster than real time)."""
        ...

    @property
    def lambdas(self) -> Lambdas:
        """The Lambda service (available once started)."""
        ...

    @property
    def components(self) -> Sequence[Component]:
        """The components the cloud runs (``X.of(cloud)`` finds one among them)."""
        ...

    def backend(self, service: str) -> Any:
        """moto's backend for ``service`` in the cloud's account and region."""
        ...

    def client(self, service: str, **options: Any) -> Any:
        """A boto3 client for ``service`` on the cloud's endpoint, signed with the operator key."""
        ...

    def mount(self, prefix: str, app: WSGIApplication) -> None:
        """Serve requests whose path starts with ``prefix`` by ``app`` instead of moto."""
        ...


@runtime_checkable
class Component(Protocol):
    """Something that runs beside the local cloud while it is started."""

    def start(self, cloud: Cloud) -> None:
        """Start, using ``cloud`` (its clock, backends, Lambda service, ``mount``)."""
        ...

    def stop(self) -> None:
        """Stop every thread and release every resource started by :meth:`start`."""
        ...


_C = TypeVar("_C")


def component_of(cloud: Cloud, kind: type[_C]) -> _C:
    """The component of class ``kind`` among ``cloud``'s components; raise LookupError if it runs none."""
    for component in cloud.components:
        if isinstance(component, kind):
            return component
    raise LookupError(f"this LocalCloud runs no {kind.__name__}")


class CloudComponent:
    """Base of the components that callers look up by class: ``X.of(cloud)``."""

    @classmethod
    def of(cls, cloud: Cloud) -> Self:
        """The component of this class among ``cloud``'s components; raise LookupError if it runs none."""
        return component_of(cloud, cls)
