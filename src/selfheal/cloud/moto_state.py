"""moto as the local cloud's in-process state: reset, configuration, backends, and the Lambda hooks.

While a LocalCloud runs, moto's Lambda configuration and ``LambdaBackend`` methods are patched through a
:class:`~selfheal.cloud.moto_patches.MotoPatches` registry (installed at start, which fails loudly if moto
changed what they rely on; restored on stop):

* ``default_user_config["lambda"]`` is ``{"use_docker": False}``;
* ``default_user_config["iam"]`` loads AWS-managed policies (``arn:aws:iam::aws:policy/…``, about 1,600 of
  them, 0.1 s and 5 MB when the account's IAM backend is made), so stacks can attach
  ``service-role/AWSLambdaBasicExecutionRole`` and the IAM enforcement evaluates them like any policy;
* ``invoke`` (of ``LambdaBackend`` and of ``LambdaSimpleBackend``, which moto's API uses without Docker)
  runs the code through :class:`~selfheal.cloud.lambda_service.LambdaService` and sets Lambda's
  response headers; its errors become AWS error responses;
* ``update_function_configuration``, ``update_function_code`` and ``delete_function`` retire warm
  environments;
* ``create_function``/``update_function_configuration`` keep ``DeadLetterConfig`` (moto drops it) and
  ``LambdaFunction.get_configuration`` reports it; both refuse a role whose trust policy does not let Lambda
  assume it (:mod:`~selfheal.cloud.lambda_role_trust`);
* ``create_function`` makes the new function ``Pending`` for a moment of cloud time
  (:func:`~selfheal.cloud.lambda_functions.mark_pending`), ``get_configuration`` reports it and ``invoke``
  refuses it meanwhile (``ResourceConflictException``), as Lambda does;
* ``put_function_event_invoke_config`` replaces the stored config (moto appends and keeps reading the first),
  ``update_function_event_invoke_config`` merges into it;
* ``LambdaResponse._enrich_response`` keeps the invocation's request id as ``x-amzn-RequestId`` (moto writes
  a random 52-character one on every response; Lambda answers with the invocation's UUID);
* ``LambdaResponse.invoke`` takes the version or alias from Invoke's ``Qualifier`` query parameter (moto
  reads ``qualifier``, lower case, from the query string and then from the JSON payload: every qualified
  invoke ran ``$LATEST``, and an event with a ``"qualifier"`` key chose the version);
* SNS ``publish`` to a topic ARN that does not exist raises ``NotFound`` "Topic does not exist", as SNS does
  (moto falls back to platform endpoints and says "Endpoint does not exist");
* ``instances_tracked`` of moto's ``LogEvent``, ``MetricDatum`` and ``MetricAggregatedDatum`` keeps nothing:
  moto appends every model instance it ever creates to its class's list, for its ``/moto-api/data.json``
  dashboard (which the gateway does not serve), so log events and datums dropped by retention were never
  freed: about 1.6 KiB per Lambda request (four log events) and every metric datum, forever.

The patches and the reset are process-wide: a LocalCloud must not run while ``moto.mock_aws`` is active,
and only one LocalCloud runs per process.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from moto.core.exceptions import JsonRESTError

from .errors import CloudError
from .lambda_functions import DEAD_LETTER_ATTRIBUTE, mark_pending, pending_fields, refuse_pending
from .lambda_role_trust import check_execution_role
from .lambda_service import invoke_headers
from .moto_patches import MotoPatches, parameters

if TYPE_CHECKING:
    from .lambda_service import LambdaService

__all__ = ["REQUEST_ID_HEADER", "MotoState", "aws_error"]

#: The response header of a request's id, as moto spells it (HTTP headers are case-insensitive).
REQUEST_ID_HEADER = "x-amzn-requestid"
_running_lock = threading.Lock()
_running: list[MotoState] = []


def aws_error(error: CloudError) -> JsonRESTError:
    """Return the moto exception that renders ``error`` as AWS's JSON error response."""
    rendered = JsonRESTError(error.code, error.message)
    rendered.code = error.status
    return rendered


def _header(headers: Any, name: str) -> str | None:
    value = headers.get(name) if headers is not None else None
    return str(value) if value is not None else None


class MotoState:
    """Own moto's process-wide state for one running LocalCloud."""

    def __init__(self, account_id: str, region: str) -> None:
        self.account_id = account_id
        self.region = region
        self._patches = MotoPatches()
        self._backends: dict[str, Any] = {}

    def start(self, lambdas: LambdaService) -> None:
        """Reset every backend, turn Docker off for Lambda and install the Lambda hooks."""
        from moto.core.config import default_user_config
        from moto.moto_api._internal.models import moto_api_backend

        with _running_lock:
            if _running:
                raise RuntimeError("another LocalCloud is already running in this process")
            _running.append(self)
        moto_api_backend.reset()
        self._backends.clear()
        self._patches = patches = MotoPatches()
        patches.replace(
            default_user_config,
            "lambda",
            lambda original: {"use_docker": False},
            reason="run Lambda without Docker (moto's API then keeps it in lambda_simple_backends)",
            expect=_has_use_docker,
            where="moto.core.config.default_user_config['lambda']",
        )
        patches.replace(
            default_user_config,
            "iam",
            lambda original: {**original, "load_aws_managed_policies": True},
            reason="AWS-managed policies exist (arn:aws:iam::aws:policy/…), as in IAM: Lambda stacks attach "
            "AWSLambdaBasicExecutionRole; moto loads them when it creates an account's IAM backend",
            expect=_has_managed_policies_setting,
            where="moto.core.config.default_user_config['iam']",
        )
        self._register(patches, lambdas)
        patches.install()

    def stop(self) -> None:
        """Undo the hooks and the configuration change (idempotent)."""
        self._patches.restore()
        with _running_lock:
            if self in _running:
                _running.remove(self)

    def backend(self, service: str) -> Any:
        """Return moto's backend for ``service`` in this account and region (``global`` for IAM-like ones)."""
        # Kept: moto's own lookup takes a lock and scans its list of every BackendDict (about 30 µs, twice
        # per HTTP API request). A backend object lives as long as moto's state, which only start() resets.
        found = self._backends.get(service)
        if found is None:
            found = self._backends[service] = self._lookup(service)
        return found

    def _lookup(self, service: str) -> Any:
        from moto.awslambda.utils import get_backend as lambda_backend
        from moto.backends import get_backend
        from moto.core.base_backend import BackendDict

        if service in ("lambda", "awslambda"):
            # Without Docker, moto's Lambda API keeps its state in ``lambda_simple_backends``.
            return lambda_backend(self.account_id, self.region)
        try:
            backends = get_backend(service)  # type: ignore[call-overload]
        except (KeyError, ModuleNotFoundError, ValueError) as exc:
            raise ValueError(f"moto has no backend named {service!r}") from exc
        if not isinstance(backends, BackendDict):
            raise ValueError(f"moto has no backend named {service!r}")
        account = backends[self.account_id]
        # IAM and STS are global: moto keys them by partition ("global" for the aws partition).
        for region in (self.region, "global"):
            try:
                return account[region]
            except KeyError:
                continue
        raise ValueError(f"moto's {service!r} backend has no region {self.region!r}")

    def _mine(self, backend: Any) -> bool:
        # Every region of the cloud's account: LambdaService runs a function of any region.
        return bool(backend.account_id == self.account_id)

    def _register(self, patches: MotoPatches, lambdas: LambdaService) -> None:
        from moto.awslambda.models import EventInvokeConfig, LambdaBackend, LambdaFunction
        from moto.awslambda.responses import LambdaResponse
        from moto.awslambda_simple.models import LambdaSimpleBackend

        mine = self._mine
        # The cloud's clock, which LambdaService keeps on its invoker: function states run in cloud time.
        now = lambdas._invoker.clock.now

        def invoke(original: Any) -> Any:
            def patched(
                backend: Any, function_name: str, qualifier: str | None, body: Any, headers: Any, out: Any
            ) -> bytes | None:
                if not mine(backend):
                    return original(backend, function_name, qualifier, body, headers, out)  # type: ignore[no-any-return]
                payload = body if isinstance(body, bytes) else (body or "").encode()
                try:
                    checked = invoke_headers(
                        _header(headers, "X-Amz-Invocation-Type"),
                        _header(headers, "X-Amz-Log-Type"),
                        _header(headers, "X-Amz-Client-Context"),
                    )
                    refuse_pending(backend, function_name, qualifier, now())
                    result = lambdas.invoke(
                        function_name,
                        payload,
                        checked.invocation_type,
                        qualifier,
                        log_type=checked.log_type,
                        region=backend.region_name,
                        client_context=checked.client_context,
                    )
                except CloudError as exc:
                    raise aws_error(exc) from exc
                if result.request_id:
                    out[REQUEST_ID_HEADER] = result.request_id
                out["x-amz-executed-version"] = result.executed_version
                if result.function_error:
                    out["x-amz-function-error"] = result.function_error
                if result.log_result is not None:
                    out["x-amz-log-result"] = result.log_result
                out["Content-Length"] = str(len(result.payload))
                return result.payload

            return patched

        def retiring(original: Any) -> Any:
            def patched(backend: Any, function_name: str, *args: Any, **kwargs: Any) -> Any:
                result = original(backend, function_name, *args, **kwargs)
                if mine(backend):
                    lambdas.retire(function_name)
                return result

            return patched

        def keep_dead_letter_on_update(original: Any) -> Any:
            def patched(backend: Any, function_name: str, qualifier: Any, body: dict[str, Any]) -> Any:
                if isinstance(body.get("Role"), str):
                    arn = backend.get_function(function_name).function_arn
                    check_execution_role(backend.account_id, backend.partition, body["Role"], arn)
                result = original(backend, function_name, qualifier, body)
                if "DeadLetterConfig" in body:
                    fn = backend.get_function(function_name, qualifier)
                    setattr(fn, DEAD_LETTER_ATTRIBUTE, body["DeadLetterConfig"] or None)
                    result = fn.get_configuration()
                if mine(backend):
                    lambdas.retire(function_name)
                return result

            return patched

        def keep_dead_letter_on_create(original: Any) -> Any:
            def patched(backend: Any, spec: dict[str, Any]) -> Any:
                if isinstance(spec.get("Role"), str) and isinstance(spec.get("FunctionName"), str):
                    name = spec["FunctionName"].split(":function:")[-1].split(":")[0]
                    account, partition = backend.account_id, backend.partition
                    arn = f"arn:{partition}:lambda:{backend.region_name}:{account}:function:{name}"
                    check_execution_role(account, partition, spec["Role"], arn)
                fn = original(backend, spec)
                if mine(backend):
                    _mark_created(backend, fn, spec["FunctionName"], now())
                if spec.get("DeadLetterConfig"):
                    latest = backend.get_function(spec["FunctionName"])
                    for target in {id(fn): fn, id(latest): latest}.values():
                        setattr(target, DEAD_LETTER_ATTRIBUTE, spec["DeadLetterConfig"])
                return fn

            return patched

        def report_dead_letter(original: Any) -> Any:
            def patched(fn: Any, *args: Any, **kwargs: Any) -> Any:
                config = original(fn, *args, **kwargs)
                if isinstance(config, dict):
                    config.update(pending_fields(fn, now()))
                dead_letter = getattr(fn, DEAD_LETTER_ATTRIBUTE, None)
                if dead_letter and isinstance(config, dict):
                    config["DeadLetterConfig"] = dead_letter
                return config

            return patched

        def put_event_config(original: Any) -> Any:
            def patched(backend: Any, function_name: str, config: dict[str, Any]) -> Any:
                fn = backend.get_function(function_name)
                stored = EventInvokeConfig(fn.function_arn, fn.last_modified, config)
                fn.event_invoke_config = [stored]
                return stored.response()

            return patched

        def update_event_config(original: Any) -> Any:
            def patched(backend: Any, function_name: str, config: dict[str, Any]) -> Any:
                fn = backend.get_function(function_name)
                merged = dict(fn.event_invoke_config[0].config) if fn.event_invoke_config else {}
                merged.update(config)
                stored = EventInvokeConfig(fn.function_arn, fn.last_modified, merged)
                fn.event_invoke_config = [stored]
                return stored.response()

            return patched

        # Lambda's request ids are UUIDs with dashes ("8476a536-e9f4-11e8-9739-2dfe598c3fcd", AWS Lambda
        # Developer Guide, Runtime API, Lambda-Runtime-Aws-Request-Id) and an Invoke answers with the
        # invocation's own (the START RequestId of its log, the DLQ's RequestID).
        def keep_request_id(original: Any) -> Any:
            def enrich(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
                preset = headers.get(REQUEST_ID_HEADER)
                headers, body = original(headers, body)
                if preset:
                    headers[REQUEST_ID_HEADER] = preset
                return headers, body

            return staticmethod(enrich)

        invoke_parameters = parameters("function_name", "qualifier", "body", "headers", "response_headers")
        for backend_class in (LambdaBackend, LambdaSimpleBackend):
            patches.replace(
                backend_class,
                "invoke",
                invoke,
                reason="run the code through LambdaService and set Lambda's response headers",
                expect=invoke_parameters,
            )
        patches.replace(
            LambdaBackend,
            "update_function_code",
            retiring,
            reason="retire the function's warm environments",
            expect=parameters("function_name"),
        )
        patches.replace(
            LambdaBackend,
            "delete_function",
            retiring,
            reason="retire the function's warm environments",
            expect=parameters("function_name"),
        )
        patches.replace(
            LambdaBackend,
            "update_function_configuration",
            keep_dead_letter_on_update,
            reason="keep DeadLetterConfig (moto drops it), retire warm environments, check a role's trust",
            expect=parameters("function_name", "qualifier", "body"),
        )
        patches.replace(
            LambdaBackend,
            "create_function",
            keep_dead_letter_on_create,
            reason="keep DeadLetterConfig (moto drops it); start it Pending; check its role's trust",
            expect=parameters("spec"),
        )
        patches.replace(
            LambdaFunction,
            "get_configuration",
            report_dead_letter,
            reason="report the kept DeadLetterConfig and a new function's Pending state",
        )
        patches.replace(
            LambdaBackend,
            "put_function_event_invoke_config",
            put_event_config,
            reason="replace the stored event invoke config (moto appends and keeps reading the first)",
            expect=parameters("function_name", "config"),
        )
        patches.replace(
            LambdaBackend,
            "update_function_event_invoke_config",
            update_event_config,
            reason="merge into the stored event invoke config (moto appends and keeps reading the first)",
            expect=parameters("function_name", "config"),
        )
        patches.replace(
            LambdaResponse,
            "_enrich_response",
            keep_request_id,
            reason="answer Invoke with the invocation's request id (moto writes a random one)",
            expect=parameters("headers", "body"),
        )
        _register_invoke_qualifier(patches)
        _register_sns(patches)
        _register_untracked(patches)
        _register_dynamodb_serial(patches)


def _mark_created(backend: Any, fn: Any, name: str, now: float) -> None:
    """Make a new function (``$LATEST``, the returned model, a version published with it) Pending."""
    models = {id(fn): fn}
    for qualifier in {None, str(fn.version)}:
        try:
            model = backend.get_function(name, None if qualifier == "$LATEST" else qualifier)
        except Exception:  # the version is moto's to report; nothing to mark
            continue
        models[id(model)] = model
    for model in models.values():
        mark_pending(model, now)


class _Untracked(list[Any]):
    """A moto model class's ``instances_tracked`` that keeps no instance (iterates as empty)."""

    def append(self, instance: Any, /) -> None:
        """Keep nothing."""


def _is_list(current: Any) -> str | None:
    return None if isinstance(current, list) else "is no longer a list"


def _register_untracked(patches: MotoPatches) -> None:
    """High-volume models (a few per request or per second) go untracked, so that dropped ones are freed."""
    from moto.cloudwatch.models import MetricAggregatedDatum, MetricDatum
    from moto.logs.models import LogEvent

    for model in (LogEvent, MetricDatum, MetricAggregatedDatum):
        patches.replace(
            model,
            "instances_tracked",
            lambda original: _Untracked(),
            reason="keep no reference to every instance (moto's dashboard list), so retention frees memory",
            expect=_is_list,
        )


def _register_dynamodb_serial(patches: MotoPatches) -> None:
    """One DynamoDB call at a time, so that a transaction is atomic as on AWS.

    moto's TransactWriteItems works on copies of the tables and puts them back when a condition fails,
    wiping what other requests wrote meanwhile (the healer's fleet claims live in such a table).
    """
    from moto.dynamodb.responses import DynamoHandler

    lock = threading.Lock()

    def serial(original: Any) -> Any:
        def call_action(handler: Any) -> Any:
            with lock:
                return original(handler)

        return call_action

    patches.replace(
        DynamoHandler,
        "call_action",
        serial,
        reason="serialise DynamoDB calls: moto's TransactWriteItems is not atomic under concurrent requests",
        expect=parameters(),
    )


def _register_invoke_qualifier(patches: MotoPatches) -> None:
    """Invoke runs the version or alias its ``Qualifier`` names.

    Lambda API reference, Invoke: ``Qualifier`` is a URI query parameter ("Specify a version or alias to
    invoke a published version of the function"). moto's ``LambdaResponse.invoke`` asks
    ``_get_param("qualifier")``, which finds no such query parameter and falls back to the request body,
    the caller's event. The replacement puts the ``Qualifier`` query parameter (or none) under the name
    moto reads, so the body is never consulted; a qualifier inside the function name (``NAME:ALIAS``, an
    ARN) still wins, as in moto.
    """
    from moto.awslambda.responses import LambdaResponse

    def invoke(original: Any) -> Any:
        def patched(response: Any) -> Any:
            given = response.querystring.get("Qualifier") or [None]
            response.querystring["qualifier"] = [given[0]]
            return original(response)

        return patched

    patches.replace(
        LambdaResponse,
        "invoke",
        invoke,
        reason="invoke the version or alias of the Qualifier query parameter (moto reads 'qualifier')",
        expect=parameters(),
    )


def _register_sns(patches: MotoPatches) -> None:
    """SNS Publish to a missing topic: ``NotFound`` "Topic does not exist", as SNS answers.

    Amazon SNS API reference, Publish: ``NotFound``, "Indicates that the requested resource does not exist",
    HTTP 404; the message as SNS writes it, e.g. aws-solutions/automated-security-response-on-aws#41
    ("Topic does not exist" from a Publish to a missing topic). Platform-endpoint ARNs keep moto's answer.
    """
    from moto.sns.models import SNSBackend

    def publish(original: Any) -> Any:
        def patched(backend: Any, message: str, arn: str | None = None, *args: Any, **kwargs: Any) -> Any:
            phone_number = kwargs.get("phone_number", args[0] if args else None)
            if arn and not phone_number and ":endpoint/" not in arn:
                backend.get_topic(arn)  # raises moto's TopicNotFound: NotFound, "Topic does not exist"
            return original(backend, message, arn, *args, **kwargs)

        return patched

    patches.replace(
        SNSBackend,
        "publish",
        publish,
        reason='answer Publish to a missing topic "Topic does not exist" (moto: "Endpoint does not exist")',
        expect=parameters("message", "arn", "phone_number"),
    )


def _has_managed_policies_setting(config: Any) -> str | None:
    if isinstance(config, dict) and "load_aws_managed_policies" in config:
        return None
    return "has no load_aws_managed_policies setting"


def _has_use_docker(config: Any) -> str | None:
    if isinstance(config, dict) and "use_docker" in config:
        return None
    return "has no use_docker setting"
