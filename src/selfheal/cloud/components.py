"""Pluggable parts of the local cloud (alarms, SNS delivery, HTTP API data plane) and the default set.

A component is started after the endpoint, moto and the Lambda service are up, and stopped (in reverse
order) before they go down. Each subsystem adds one line to :func:`default_components`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from .server import LocalCloud

__all__ = ["Component", "default_components"]


@runtime_checkable
class Component(Protocol):
    """Something that runs beside the local cloud while it is started."""

    def start(self, cloud: LocalCloud) -> None:
        """Start, using ``cloud`` (its clock, backends, Lambda service, ``mount``)."""
        ...

    def stop(self) -> None:
        """Stop every thread and release every resource started by :meth:`start`."""
        ...


def default_components() -> list[Component]:
    """Return fresh instances of the components a LocalCloud runs when none are given."""
    # Imports stay inside so that a component module may import the server without a cycle.
    from .alarm_scheduler import AlarmScheduler
    from .http_api import HttpApiDataPlane
    from .sns_delivery import SnsDelivery

    components: list[Component] = []
    components.append(HttpApiDataPlane())
    components.append(SnsDelivery())
    components.append(AlarmScheduler())
    return components
