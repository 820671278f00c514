"""LocalCloud: one AWS-compatible endpoint on 127.0.0.1, moto in-process, real Lambda execution."""

from __future__ import annotations

import gc
import os
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any

from selfheal.clock import Clock

from .authentication import Authenticator
from .components import default_components
from .credentials import CredentialIssuer, OperatorKey
from .front import AsyncWSGIServer
from .gateway import Gateway, WSGIApplication
from .iam_enforcement import IamEnforcement
from .lambda_invoke import Invoker
from .lambda_invoke_api import InvokeApi
from .lambda_logs import LogShipper
from .lambda_service import LambdaService
from .metrics import MetricsPublisher
from .moto_state import MotoState
from .protocol import Cloud, Component
from .serving import BoundedWSGIServer, require_loopback

__all__ = [
    "ACCOUNT_ID",
    "FRONTS",
    "FRONT_ENVIRONMENT_VARIABLE",
    "YOUNG_GENERATION_THRESHOLD",
    "LocalCloud",
    "settle_heap",
]

ACCOUNT_ID = "123456789012"
# Concurrent connections the endpoint serves (on werkzeug each holds a thread); enough for Terraform's
# parallelism, 32 Lambda environments calling back and a load generator, small enough that a flood cannot
# take the host.
MAX_CONNECTIONS = 128
#: The HTTP servers that can front the cloud: werkzeug's threaded server, bounded (``serving.py``; a thread
#: per connection, closed after each response) or the asyncio front (``front.py``; keep-alive).
FRONTS = ("werkzeug", "asyncio")
#: Chooses the front when ``LocalCloud(front=None)``, so ``selfheal cloud``/``up`` and the benchmarks can
#: switch without a new option.
FRONT_ENVIRONMENT_VARIABLE = "SELFHEAL_CLOUD_FRONT"


#: The youngest generation's collection threshold that :func:`settle_heap` sets (CPython's default: 700).
YOUNG_GENERATION_THRESHOLD = 50_000


def settle_heap() -> None:
    """Collect once, then keep everything alive now out of the cyclic collector's full passes (gc.freeze).

    For a process that runs one long-lived cloud (``selfheal cloud``, the benchmarks), called once it has
    started: moto, botocore's models and the cloud's own state are about 330,000 objects, and every full
    collection walked them all, stopping the process for about 200 ms every 10,000 requests or so (the
    requests' maximum latency). Objects made later are collected as before, the youngest generation once
    50,000 more containers have been made than freed instead of 700: a request makes hundreds and frees
    nearly all by reference counting, and a young collection per request or two cost 3-8 % of the
    cloud's CPU per request (cyclic garbage waits a little longer, a few MB at most).
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, *gc.get_threshold()[1:])


def _front(front: str | None) -> str:
    chosen = front if front is not None else os.environ.get(FRONT_ENVIRONMENT_VARIABLE) or "asyncio"
    if chosen not in FRONTS:
        source = "front" if front is not None else FRONT_ENVIRONMENT_VARIABLE
        raise ValueError(f"{source} must be one of {', '.join(FRONTS)}, got {chosen!r}")
    return chosen


def _quiet_handler() -> type:
    """moto's request handler (it keeps header spellings) without a log line per request."""
    from moto.moto_server.werkzeug_app import MotoRequestHandler

    class QuietRequestHandler(MotoRequestHandler):
        def log_request(self, *args: object, **kwargs: object) -> None:
            """Skip the access log; errors are still logged."""

    return QuietRequestHandler


class LocalCloud:
    """An embedded AWS-compatible cloud; use as a context manager or call ``start``/``stop``.

    Only one LocalCloud runs per process, and never while ``moto.mock_aws`` is active: both own moto's
    process-wide state (``start`` resets every moto backend).

    Each Lambda execution environment gets temporary credentials of its function's execution role
    (``credentials``); with ``enforce_iam`` requests signed by them are authorised by that role's policies
    (``iam_enforcement.py``), while other credentials act as the account's root.

    ``front`` picks the HTTP server (:data:`FRONTS`; default ``$SELFHEAL_CLOUD_FRONT``, else asyncio).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 4566,
        time_scale: float = 1.0,
        region: str = "us-east-1",
        components: Sequence[Component] | None = None,
        enforce_iam: bool = True,
        time_origin: float | None = None,
        operator_key: OperatorKey | None = None,
        accept_any_key: bool = False,
        allow_origins: Sequence[str] = (),
        front: str | None = None,
    ) -> None:
        require_loopback(host)
        self.front = _front(front)
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be from 0 to 65535, got {port!r}")
        self.host = host
        self.port = port
        self.region = region
        self.account_id = ACCOUNT_ID
        self.clock = Clock(time_scale, origin=time_origin)
        self.components: list[Component] = (
            list(components) if components is not None else default_components()
        )
        self.endpoint = ""
        self._moto = MotoState(self.account_id, region)
        # Datums are stamped when flushed: flush at least every 5 cloud seconds, so that at a high time
        # scale an error is not stamped into the next alarm period (never more often than 20 times a second).
        flush_every = max(0.05, min(1.0, self.clock.real_seconds(5.0)))
        self.metrics = MetricsPublisher(self.clock, lambda: self.backend("cloudwatch"), interval=flush_every)
        # Lambda's log events are stamped in cloud time, like every other timestamp of the cloud.
        self.logs = LogShipper(lambda: self.backend("logs"), lambda: int(self.clock.now() * 1000))
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self._started: list[Component] = []
        self._lambdas: LambdaService | None = None
        self.enforce_iam = enforce_iam
        self.credentials = CredentialIssuer(self.backend, region)
        self.iam = IamEnforcement()
        #: The key that acts as the account's root; no other long-term key is accepted (unless
        #: ``accept_any_key``, the documented opt-out for throwaway tests).
        self.operator_key = operator_key if operator_key is not None else OperatorKey.generate()
        self.accept_any_key = accept_any_key
        self.allow_origins = tuple(allow_origins)
        self._gateway = Gateway(
            authenticator=Authenticator(self.operator_key, self.account_id, accept_any_key=accept_any_key),
            allow_origins=self.allow_origins,
            own_ports=self._own_ports,
        )
        #: Lambda Invoke by the operator key, answered without moto's request machinery (issue #13).
        self.invoke_api = InvokeApi(
            lambda: self._lambdas, self.backend, self.clock.now, region, self.operator_key.access_key_id
        )
        self._gateway.shortcuts.append(self.invoke_api)

    def _own_ports(self) -> tuple[int, ...]:
        return (self._server.server_port,) if self._server is not None else ()

    @property
    def gateway(self) -> Gateway:
        """The front door (its ``refused`` counts requests refused before any service saw them)."""
        return self._gateway

    @property
    def lambdas(self) -> LambdaService:
        """The Lambda service (available once started)."""
        if self._lambdas is None:
            raise RuntimeError("the local cloud is not started")
        return self._lambdas

    @property
    def running(self) -> bool:
        """Whether the endpoint is serving."""
        return self._thread is not None

    def start(self) -> None:
        """Bind the endpoint, reset and hook moto, start the Lambda service and the components."""
        if self._server is not None:
            raise RuntimeError("the local cloud is already started")
        if self.front == "asyncio":
            self._server = AsyncWSGIServer(
                self.host, self.port, self._gateway, max_connections=MAX_CONNECTIONS
            )
        else:
            self._server = BoundedWSGIServer(
                self.host, self.port, self._gateway, handler=_quiet_handler(), max_connections=MAX_CONNECTIONS
            )
        try:
            self.endpoint = f"http://{self.host}:{self._server.server_port}"
            invoker = Invoker(
                endpoint=self.endpoint,
                region=self.region,
                clock=self.clock,
                metrics=self.metrics,
                logs=self.logs,
                credentials=lambda role, name: self.credentials.issue(role, name).environment(),
            )
            self._lambdas = LambdaService(self.backend, invoker)
            self._moto.start(self._lambdas)
            if self.enforce_iam:
                self.iam.start()
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="local-cloud", daemon=True
            )
            self._thread.start()
            self.metrics.start()
            self.logs.start()
            for component in self.components:
                component.start(self)
                self._started.append(component)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop components, kill and reap every environment, close the endpoint, undo moto's patches."""
        errors: list[BaseException] = []
        while self._started:
            try:
                self._started.pop().stop()
            except Exception as exc:  # keep stopping the rest, report afterwards
                errors.append(exc)
        if self._lambdas is not None:
            self._lambdas.shutdown()
        self.metrics.stop()
        self.logs.stop()
        if self._server is not None:
            if self._thread is not None:
                self._server.shutdown()
                self._thread.join(timeout=10)
            self._server.server_close()
        self._server, self._thread = None, None
        self.iam.stop()
        self._moto.stop()
        if errors:
            raise errors[0]

    def mount(self, prefix: str, app: WSGIApplication) -> None:
        """Serve requests whose path starts with ``prefix`` (e.g. ``/_api/``) by ``app`` instead of moto."""
        self._gateway.mount(prefix, app)

    def client(self, service: str, **options: Any) -> Any:
        """A boto3 client for ``service`` on this cloud, signed with the operator key (in the default region
        unless ``region_name`` is given)."""
        import boto3

        arguments = {"region_name": self.region, **self.operator_key.boto3_arguments(), **options}
        return boto3.client(service, endpoint_url=self.endpoint, **arguments)  # type: ignore[call-overload]

    def backend(self, service: str) -> Any:
        """Return moto's backend for ``service`` in this cloud's account and region."""
        return self._moto.backend(service)

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


if TYPE_CHECKING:
    # mypy checks that LocalCloud satisfies the protocol its components are typed against.
    _SATISFIES_CLOUD: type[Cloud] = LocalCloud
