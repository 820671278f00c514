"""moto's request dispatcher, remembering which of its backends serves each host.

For every request moto's ``DomainDispatcherApplication`` works out the backend afresh, under one lock for
all requests: it lists moto's package directory (about 170 ``isdir`` calls) and then tries every
backend's URL patterns, about 0.5 ms of CPU a request on a control-plane call such as Lambda's
``GetFunction``. The answer depends only on the host it derives (``lambda.us-east-1.amazonaws.com``), so
:class:`CachingDispatcher` keeps it per host, up to :data:`MAX_HOSTS` hosts (a host is built from a signed
request's service and region, so only authenticated callers can add one).

This subclasses moto rather than patching it; :func:`dispatcher` checks at start that moto's method is
still the one overridden, and raises :class:`~.moto_patches.MotoIncompatible` if not, as a patch would.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .moto_patches import MotoIncompatible, parameters

__all__ = ["MAX_HOSTS", "dispatcher"]

#: Hosts remembered at most; others are worked out on every request, as moto does.
MAX_HOSTS = 512


def dispatcher() -> Any:
    """moto's WSGI dispatcher over its backends, with the backend of each host remembered."""
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    problem = parameters("host")(getattr(DomainDispatcherApplication, "get_backend_for_host", None))
    if problem is not None:
        raise MotoIncompatible(
            f"moto's DomainDispatcherApplication.get_backend_for_host {problem}: selfheal's dispatcher "
            "caches it per host (selfheal/cloud/moto_dispatch.py)"
        )

    class CachingDispatcher(DomainDispatcherApplication):  # type: ignore[misc]
        """moto's dispatcher; :meth:`get_backend_for_host` answers a host seen before from memory."""

        def __init__(self, create_app: Callable[..., Any]) -> None:
            super().__init__(create_app)
            self.backends_by_host: dict[str | None, Any] = {}

        def get_backend_for_host(self, host: str | None) -> Any:
            try:
                return self.backends_by_host[host]
            except KeyError:
                pass
            backend = super().get_backend_for_host(host)
            if len(self.backends_by_host) < MAX_HOSTS:
                self.backends_by_host[host] = backend
            return backend

    return CachingDispatcher(create_backend_app)
