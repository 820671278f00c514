"""The vocabulary every action shares: what it acts on, what it would change, what it did.

A ``Target`` is one protected function as the registry describes it. ``plan`` reads the function and
returns a ``Plan``: the ``Change`` values it would make (``resource``, ``field``, ``before`` → ``after``),
whether this incident's own change already landed, why it refuses to run, and the guard it was read at.
``apply`` and ``undo`` return an ``ActionOutcome`` and never raise; its ``changes`` are what was changed,
as the ledger records them (``Change.to_json``/``Change.from_json``). ``TargetUnreadable`` is the one
exception of the package: a plan could not read the function. ``Backoff`` bounds the retries of a write.

Resources are named ``function:<name>``, ``alias:<function>:<alias>`` and
``event-source-mapping:<uuid>``; an environment variable's field is ``Environment.Variables.<NAME>``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, TypeAlias

from healer.decisions import OutcomeStatus

__all__ = [
    "ActionOutcome",
    "Backoff",
    "Change",
    "JsonScalar",
    "Plan",
    "Target",
    "TargetUnreadable",
]

JsonScalar: TypeAlias = str | int | float | bool | None
"""A value a ``Change`` may hold: it goes verbatim into the ledger and the logs."""

_CHANGE_KEYS = ("resource", "field", "before", "after")


class TargetUnreadable(RuntimeError):
    """The target's current state (configuration, alias, concurrency, mappings) could not be read."""


@dataclass(frozen=True)
class Backoff:
    """Bounded exponential backoff for one write, in cloud seconds; every write starts afresh."""

    attempts: int = 5
    base: float = 1.0
    cap: float = 8.0

    def delay(self, attempt: int) -> float:
        """The wait before retry number ``attempt`` (1-based)."""
        return float(min(self.cap, self.base * 2 ** (attempt - 1)))


@dataclass(frozen=True)
class Target:
    """One protected function and the parameters of its playbook (from its registry entry).

    ``healer_name`` is who writes the ``HEALED_BY`` marker (the healer function's own name).
    """

    function_name: str
    alias_name: str | None = None
    set_env: Mapping[str, str] = field(default_factory=dict)
    concurrency_limit: int | None = None
    allow_zero_concurrency: bool = False
    event_source_mapping_uuids: tuple[str, ...] = ()
    healer_name: str = "selfheal-healer"

    def __post_init__(self) -> None:
        # A read-only copy: a frozen target must not change when the caller's dict does.
        object.__setattr__(self, "set_env", MappingProxyType(dict(self.set_env)))
        object.__setattr__(self, "event_source_mapping_uuids", tuple(self.event_source_mapping_uuids))


def _scalar(value: Any, name: str) -> JsonScalar:
    if isinstance(value, Decimal):  # DynamoDB hands numbers back as Decimal
        return int(value) if value == value.to_integral_value() else float(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    raise ValueError(f"change {name} must be a JSON scalar, got {type(value).__name__}")


@dataclass(frozen=True)
class Change:
    """One value an action changes: ``field`` of ``resource`` goes from ``before`` to ``after``.

    ``None`` means absent (a variable that did not exist, unreserved concurrency).
    """

    resource: str
    field: str
    before: JsonScalar
    after: JsonScalar

    def to_json(self) -> dict[str, JsonScalar]:
        """The change as a JSON object, for the ledger."""
        return {"resource": self.resource, "field": self.field, "before": self.before, "after": self.after}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Change:
        """Read a change back from ``to_json``'s shape; raise ``ValueError`` when it is not one."""
        missing = [key for key in _CHANGE_KEYS if key not in data]
        if missing:
            raise ValueError(f"change lacks {', '.join(missing)}")
        resource, name = data["resource"], data["field"]
        if not isinstance(resource, str) or not resource or not isinstance(name, str) or not name:
            raise ValueError("change resource and field must be non-empty strings")
        return cls(resource, name, _scalar(data["before"], "before"), _scalar(data["after"], "after"))

    def reverted(self) -> Change:
        """The change that undoes this one."""
        return Change(self.resource, self.field, self.after, self.before)

    def describe(self) -> str:
        """One line for logs and outcome details."""
        return f"{self.resource} {self.field}: {self.before!r} -> {self.after!r}"


@dataclass(frozen=True)
class Plan:
    """What an action would do to a target for an incident, read just now.

    ``landed``: this incident's own change is already in place (an earlier, interrupted run's update
    landed); ``changes`` then reconstructs what that run changed. ``refusal``: why the action cannot run
    now (``None`` when it can). ``guard``: the revision the state was read at (``None`` when the action
    has none, or the emulator reports none). ``environment``: the function's variables as read (the
    environment actions keep every other variable).
    """

    action: str
    target: Target
    incident_id: str
    changes: tuple[Change, ...] = ()
    landed: bool = False
    refusal: str | None = None
    guard: str | None = None
    environment: Mapping[str, str] = field(default_factory=dict)

    @property
    def nothing_to_change(self) -> bool:
        """True when the action may run but there is nothing for it to change (the caller decides)."""
        return self.refusal is None and not self.landed and not self.changes


@dataclass(frozen=True)
class ActionOutcome:
    """How an ``apply`` or ``undo`` ended; ``changes`` is what it changed, even when it failed part-way.

    For an ``undo`` the changes are the reverted ones (recorded ``after`` → recorded ``before``).
    """

    status: OutcomeStatus
    detail: str
    changes: tuple[Change, ...] = ()
    attempts: int = 0
    seconds: float = 0.0

    @property
    def applied(self) -> bool:
        """True when the wanted state is in place."""
        return self.status in ("applied", "already_applied")
