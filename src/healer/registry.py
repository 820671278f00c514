"""The registry of protected functions, and the kill switch: SSM parameters written by Terraform.

``deploy/modules/protect`` writes one parameter per alarm, ``<registry path>/alarms/<alarm name>``, holding
what the healer may do when that alarm fires (``Protection``); ``deploy/modules/platform`` writes the kill
switch, ``<registry path>/kill-switch``. The healer routes every notification by its alarm's name through
``Registry.lookup``: no parameter means the alarm is not registered (nothing is changed), a parameter that
does not parse is ``RegistryInvalid``, and failing to read is ``RegistryUnavailable`` (fail closed). The
layout and the JSON are fixed in docs/platform.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

from botocore.exceptions import BotoCoreError, ClientError

from healer.clients import error_code

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

__all__ = [
    "ACTION_NAMES",
    "MODES",
    "KillSwitch",
    "Mode",
    "Protection",
    "Rails",
    "Registry",
    "RegistryInvalid",
    "RegistryUnavailable",
    "parse_protection",
]

Mode = Literal["observe", "approve", "auto"]
MODES: tuple[str, ...] = get_args(Mode)
ACTION_NAMES = ("set_env", "rollback_alias", "clamp_concurrency", "disable_event_source", "restart")
SCHEMA_VERSION = 1

_SEGMENT = re.compile(r"^[A-Za-z0-9_.-]{1,255}$")
_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ALIAS_NAME = re.compile(r"^(?!^[0-9]+$)[A-Za-z0-9_-]{1,128}$")
_ENV_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME (IAM's role name and path characters).
_ROLE_ARN = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/(?:[\x21-\x7e]+/)?[\w+=,.@-]{1,64}$", re.ASCII)


class RegistryInvalid(ValueError):
    """A registry parameter exists but does not hold a valid protection."""


class RegistryUnavailable(RuntimeError):
    """The registry (SSM) could not be read."""


@dataclass(frozen=True)
class Rails:
    """The per-function rails: cooldown after an action, cap of actions per window, verify deadline."""

    cooldown_seconds: float = 300.0
    max_actions_per_window: int = 3
    action_window_seconds: float = 3600.0
    verify_timeout_seconds: float = 300.0


@dataclass(frozen=True)
class Protection:
    """What the healer may do when one registered alarm fires: the function, its playbook, mode and rails."""

    alarm_name: str
    function_name: str
    playbook: tuple[str, ...]
    mode: Mode = "auto"
    alias_name: str | None = None
    signal: str = ""
    set_env: Mapping[str, str] = field(default_factory=dict)
    concurrency_limit: int | None = None
    allow_zero_concurrency: bool = False
    event_source_mapping_uuids: tuple[str, ...] = ()
    rails: Rails = field(default_factory=Rails)
    #: The remediation role the healer assumes to act on the function; None: it acts as itself.
    role_arn: str | None = None

    def to_json(self) -> str:
        """The registry parameter's value for this protection (what the protect module writes)."""
        return json.dumps(
            {
                "schema_version": SCHEMA_VERSION,
                "function_name": self.function_name,
                "alias_name": self.alias_name,
                "signal": self.signal,
                "playbook": list(self.playbook),
                "set_env": dict(self.set_env),
                "concurrency_limit": self.concurrency_limit,
                "allow_zero_concurrency": self.allow_zero_concurrency,
                "event_source_mapping_uuids": list(self.event_source_mapping_uuids),
                "mode": self.mode,
                "role_arn": self.role_arn,
                "rails": {
                    "cooldown_seconds": self.rails.cooldown_seconds,
                    "max_actions_per_window": self.rails.max_actions_per_window,
                    "action_window_seconds": self.rails.action_window_seconds,
                    "verify_timeout_seconds": self.rails.verify_timeout_seconds,
                },
            },
            sort_keys=True,
        )


@dataclass(frozen=True)
class KillSwitch:
    """The fleet's kill switch as read for one decision: engaged (every function observes) and why."""

    engaged: bool
    reason: str


def _number(raw: Any, name: str, minimum: float, *, integer: bool = False) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise RegistryInvalid(f"rails.{name} must be a number, got {raw!r}")
    if integer and float(raw) != int(raw):
        raise RegistryInvalid(f"rails.{name} must be a whole number, got {raw!r}")
    if not raw >= minimum or raw != raw or raw == float("inf"):
        raise RegistryInvalid(f"rails.{name} must be a finite number >= {minimum:g}, got {raw!r}")
    return float(raw)


def _rails(raw: Any) -> Rails:
    if raw is None:
        return Rails()
    if not isinstance(raw, dict):
        raise RegistryInvalid(f"rails must be an object, got {type(raw).__name__}")
    defaults = Rails()
    return Rails(
        cooldown_seconds=_number(
            raw.get("cooldown_seconds", defaults.cooldown_seconds), "cooldown_seconds", 0
        ),
        max_actions_per_window=int(
            _number(
                raw.get("max_actions_per_window", defaults.max_actions_per_window),
                "max_actions_per_window",
                1,
                integer=True,
            )
        ),
        action_window_seconds=_number(
            raw.get("action_window_seconds", defaults.action_window_seconds), "action_window_seconds", 1
        ),
        verify_timeout_seconds=_number(
            raw.get("verify_timeout_seconds", defaults.verify_timeout_seconds), "verify_timeout_seconds", 0
        ),
    )


def _playbook(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list) or not raw:
        raise RegistryInvalid("playbook must be a non-empty list of action names")
    unknown = [step for step in raw if step not in ACTION_NAMES]
    if unknown:
        raise RegistryInvalid(f"playbook names unknown actions {unknown}; known: {', '.join(ACTION_NAMES)}")
    if len(set(raw)) != len(raw):
        raise RegistryInvalid(f"playbook repeats an action: {raw}")
    return tuple(raw)


def _set_env(raw: Any) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        raise RegistryInvalid("set_env must be an object of string values")
    bad = [name for name in raw if not isinstance(name, str) or not _ENV_NAME.fullmatch(name)]
    if bad:
        raise RegistryInvalid(f"set_env names invalid environment variables: {bad}")
    return dict(raw)


def parse_protection(alarm_name: str, text: str) -> Protection:
    """Parse a registry parameter's value; raise ``RegistryInvalid`` naming the first problem."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RegistryInvalid(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RegistryInvalid("not a JSON object")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise RegistryInvalid(f"schema_version must be {SCHEMA_VERSION}, got {data.get('schema_version')!r}")
    function = data.get("function_name")
    if not isinstance(function, str) or not _FUNCTION_NAME.fullmatch(function):
        raise RegistryInvalid(f"function_name is not a Lambda function name: {function!r}")
    alias = data.get("alias_name")
    if alias is not None and (not isinstance(alias, str) or not _ALIAS_NAME.fullmatch(alias)):
        raise RegistryInvalid(f"alias_name is not a Lambda alias name: {alias!r}")
    mode = data.get("mode")  # required: a missing mode must not mean full automation
    if mode not in MODES:
        raise RegistryInvalid(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    playbook = _playbook(data.get("playbook"))
    set_env = _set_env(data.get("set_env"))
    if "set_env" in playbook and not set_env:
        raise RegistryInvalid("the playbook runs set_env but set_env names no variable")
    limit = data.get("concurrency_limit")
    allow_zero = data.get("allow_zero_concurrency", False)
    if not isinstance(allow_zero, bool):
        raise RegistryInvalid(f"allow_zero_concurrency must be true or false, got {allow_zero!r}")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise RegistryInvalid(f"concurrency_limit must be a whole number >= 0 or null, got {limit!r}")
    uuids = data.get("event_source_mapping_uuids")
    uuids = [] if uuids is None else uuids
    if not isinstance(uuids, list) or not all(isinstance(u, str) and u for u in uuids):
        raise RegistryInvalid("event_source_mapping_uuids must be a list of mapping UUIDs")
    if "disable_event_source" in playbook and not uuids:
        raise RegistryInvalid(
            "the playbook runs disable_event_source but event_source_mapping_uuids is empty"
        )
    role_arn = data.get("role_arn")
    if role_arn is not None and (not isinstance(role_arn, str) or not _ROLE_ARN.fullmatch(role_arn)):
        raise RegistryInvalid(f"role_arn is not an IAM role ARN: {role_arn!r}")
    signal = data.get("signal", "")
    return Protection(
        alarm_name=alarm_name,
        function_name=function,
        playbook=playbook,
        mode=mode,
        alias_name=alias,
        signal=signal if isinstance(signal, str) else "",
        set_env=set_env,
        concurrency_limit=limit,
        allow_zero_concurrency=allow_zero,
        event_source_mapping_uuids=tuple(uuids),
        rails=_rails(data.get("rails")),
        role_arn=role_arn,
    )


class Registry:
    """Reads of the registry and the kill switch under one path (``REGISTRY_PATH``)."""

    def __init__(self, path: str, client: SSMClient) -> None:
        self.path = path.rstrip("/")
        self.client = client

    def parameter_name(self, alarm_name: str) -> str | None:
        """The parameter of ``alarm_name``, or None when the name cannot be one (then it is unregistered)."""
        if not _SEGMENT.fullmatch(alarm_name):
            return None
        return f"{self.path}/alarms/{alarm_name}"

    @property
    def kill_switch_name(self) -> str:
        """The kill switch parameter's name."""
        return f"{self.path}/kill-switch"

    def lookup(self, alarm_name: str) -> Protection | None:
        """The protection registered for ``alarm_name``; None when it is not registered."""
        name = self.parameter_name(alarm_name)
        if name is None:
            return None
        try:
            value = self.client.get_parameter(Name=name)["Parameter"]["Value"]
        except ClientError as exc:
            if error_code(exc) == "ParameterNotFound":
                return None
            raise RegistryUnavailable(f"GetParameter({name}) failed: {error_code(exc)}") from exc
        except BotoCoreError as exc:
            raise RegistryUnavailable(f"GetParameter({name}) failed: {exc}") from exc
        try:
            return parse_protection(alarm_name, value)
        except RegistryInvalid as exc:
            raise RegistryInvalid(f"registry parameter {name} is invalid: {exc}") from None

    def kill_switch(self) -> KillSwitch:
        """Read the kill switch; anything but a readable ``off`` engages it (fail closed)."""
        name = self.kill_switch_name
        try:
            value = self.client.get_parameter(Name=name)["Parameter"]["Value"]
        except ClientError as exc:
            return KillSwitch(True, f"kill switch {name} unreadable ({error_code(exc)}): observing only")
        except BotoCoreError as exc:
            return KillSwitch(True, f"kill switch {name} unreadable ({exc}): observing only")
        state = value.strip().lower()
        if state == "off":
            return KillSwitch(False, "kill switch off")
        if state == "on":
            return KillSwitch(True, f"kill switch {name} is on: observing only")
        return KillSwitch(True, f"kill switch {name} holds {value!r}, not on/off: observing only")

    def protections(self) -> Iterator[Protection | tuple[str, str]]:
        """Every registered protection, or (alarm name, problem) for a parameter that does not parse."""
        prefix = f"{self.path}/alarms/"
        try:
            pages = self.client.get_paginator("get_parameters_by_path").paginate(Path=prefix, Recursive=False)
            parameters = [p for page in pages for p in page.get("Parameters", [])]
        except ClientError as exc:
            raise RegistryUnavailable(f"GetParametersByPath({prefix}) failed: {error_code(exc)}") from exc
        except BotoCoreError as exc:
            raise RegistryUnavailable(f"GetParametersByPath({prefix}) failed: {exc}") from exc
        for parameter in sorted(parameters, key=lambda p: p["Name"]):
            alarm_name = parameter["Name"][len(prefix) :]
            try:
                yield parse_protection(alarm_name, parameter["Value"])
            except RegistryInvalid as exc:
                yield alarm_name, str(exc)
