"""LocalCloud: one AWS-compatible endpoint on 127.0.0.1, moto in-process, real Lambda execution."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from selfheal.clock import Clock

from .components import Component, default_components
from .gateway import WSGIApplication
from .lambda_service import LambdaService
from .metrics import MetricsPublisher

__all__ = ["ACCOUNT_ID", "LocalCloud"]

ACCOUNT_ID = "123456789012"


def _require_loopback(host: str) -> None:
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback:
        raise ValueError(f"the local cloud binds only to a loopback address such as 127.0.0.1, got {host!r}")


class LocalCloud:
    """An embedded AWS-compatible cloud; use as a context manager or call ``start``/``stop``."""

    endpoint: str
    lambdas: LambdaService
    metrics: MetricsPublisher

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 4566,
        time_scale: float = 1.0,
        region: str = "us-east-1",
        components: Sequence[Component] | None = None,
    ) -> None:
        _require_loopback(host)
        self.host = host
        self.port = port
        self.region = region
        self.account_id = ACCOUNT_ID
        self.clock = Clock(time_scale)
        self.components: list[Component] = (
            list(components) if components is not None else default_components()
        )

    def start(self) -> None:
        """Bind the endpoint, reset and hook moto, start the Lambda service and the components."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop components, kill and reap every environment, close the endpoint, undo moto's patches."""
        raise NotImplementedError

    def mount(self, prefix: str, app: WSGIApplication) -> None:
        """Serve requests whose path starts with ``prefix`` (e.g. ``/_api/``) by ``app`` instead of moto."""
        raise NotImplementedError

    def backend(self, service: str) -> Any:
        """Return moto's backend for ``service`` in this cloud's account and region."""
        raise NotImplementedError

    def __enter__(self) -> LocalCloud:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
