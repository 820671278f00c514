"""The local ``hashicorp/time`` provider: ``time_sleep``, ``time_static``, ``time_offset``, ``time_rotating``
as the real one (0.13.1) behaves.

Times are RFC 3339 strings in UTC unless a base time with another offset is given; ``triggers`` (and the
base times) replace a resource; offsets and rotations change it in place, recomputing the derived times at
plan. ``time_sleep`` sleeps in real time (never on the local cloud's scaled clock), at most
:data:`MAX_SLEEP_SECONDS`, and a Ctrl-C (Terraform's StopProvider) ends it. ``time_rotating`` leaves the
state once its rotation time has passed, so the next plan creates it anew. Nothing is stored in the cloud.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar

from selfheal.terraform.resource import (
    Provider,
    Resource,
    ResourceError,
    State,
    StateOnlyResource,
    Unknown,
    is_unknown,
)
from selfheal.terraform.schema import Attr, BlockSchema

__all__ = [
    "MAX_SLEEP_SECONDS",
    "TimeOffset",
    "TimeProvider",
    "TimeRotating",
    "TimeSleep",
    "TimeStatic",
    "add_date",
    "format_rfc3339",
    "main",
    "parse_duration",
    "parse_rfc3339",
]

#: The longest ``time_sleep`` the local provider runs (a deliberate bound; the real provider has none).
MAX_SLEEP_SECONDS = 15 * 60
_PARTS = ("year", "month", "day", "hour", "minute", "second")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_DURATION_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str) -> float:
    """Seconds of a Go duration (``30s``, ``1m30s``, ``1.5h``, ``500ms``); ValueError if it is not one."""
    body = text[1:] if text[:1] in "+-" else text
    if body == "0":
        return 0.0
    pos, total = 0, 0.0
    while pos < len(body):
        match = _DURATION_PART.match(body, pos)
        if match is None:
            raise ValueError(f'time: invalid duration "{text}"')
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if not body:
        raise ValueError(f'time: invalid duration "{text}"')
    return -total if text.startswith("-") else total


def parse_rfc3339(text: str, attribute: str) -> datetime:
    """The time of an RFC 3339 string; ResourceError naming ``attribute`` if it is not one."""
    if not _RFC3339.match(text):
        raise ResourceError(f"{attribute}: {text!r} is not an RFC 3339 time", attribute=attribute)
    try:
        return datetime.fromisoformat(text.upper().replace("Z", "+00:00"))
    except ValueError as error:
        raise ResourceError(
            f"{attribute}: {text!r} is not an RFC 3339 time: {error}", attribute=attribute
        ) from None


def format_rfc3339(moment: datetime) -> str:
    """``moment`` as Go's ``time.RFC3339`` prints it: whole seconds, ``Z`` for a zero offset."""
    offset = moment.utcoffset() or timedelta(0)
    if not offset:
        return f"{moment:%Y-%m-%dT%H:%M:%S}Z"
    minutes = int(offset.total_seconds()) // 60
    sign = "+" if minutes >= 0 else "-"
    return f"{moment:%Y-%m-%dT%H:%M:%S}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def add_date(moment: datetime, years: int = 0, months: int = 0, days: int = 0) -> datetime:
    """Go's ``time.AddDate``: out-of-range days roll over (January 31 plus one month is March 2 or 3)."""
    month0 = moment.month - 1 + months
    year = moment.year + years + month0 // 12
    first = moment.replace(year=year, month=month0 % 12 + 1, day=1)
    return first + timedelta(days=moment.day - 1 + days)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _parts(moment: datetime) -> State:
    """The computed ``year``…``second`` and ``unix`` of a time."""
    values: State = {name: getattr(moment, name) for name in _PARTS}
    values["unix"] = int(moment.timestamp())
    return values


def _number(value: Any) -> int:
    return int(value) if isinstance(value, int | float) else 0


class _TimeResource(StateOnlyResource):
    """A time resource: a schema from ``_arguments`` + ``_computed``; read/update/delete keep state."""

    _arguments: ClassVar[dict[str, Attr]] = {}
    _computed: ClassVar[tuple[str, ...]] = ()
    importable = True

    @classmethod
    def schema(cls) -> BlockSchema:
        if cls.__dict__.get("_schema") is None:
            attrs = {"id": Attr("id", "string", computed=True), **cls._arguments}
            for name in cls._computed:
                attrs[name] = Attr(name, "string" if name == "rfc3339" else "number", computed=True)
            cls._schema = BlockSchema(attrs)
        assert cls._schema is not None
        return cls._schema

    def _check_rfc3339(self, config: State, *names: str) -> None:
        for name in names:
            value = config.get(name)
            if isinstance(value, str) and not is_unknown(value):
                parse_rfc3339(value, name)


def _require_one(config: State, names: tuple[str, ...], attribute: str) -> None:
    """Refuse a configuration that sets none of ``names`` (named in the message in this order)."""
    if all(config.get(name) is None for name in names):
        listed = ", ".join(names[:-1])
        raise ResourceError(f"at least one of {listed} and {names[-1]} must be set", attribute=attribute)


def _integers(import_id: str, names: tuple[str, ...], values: list[str], what: str) -> State:
    """An import ID's ``values`` as the integer arguments ``names`` (None where empty)."""
    try:
        return {name: int(v) if v else None for name, v in zip(names, values, strict=True)}
    except ValueError:
        raise ResourceError(f"unexpected format of ID ({import_id}): {what} must be integers") from None


def _triggers() -> Attr:
    return Attr("triggers", ["map", "string"], optional=True)


def _number_args(*names: str) -> dict[str, Attr]:
    return {name: Attr(name, "number", optional=True) for name in names}


class TimeSleep(_TimeResource):
    """``time_sleep``: sleeps ``create_duration`` at create and ``destroy_duration`` at destroy."""

    type_name = "time_sleep"
    _arguments: ClassVar[dict[str, Attr]] = {
        "create_duration": Attr("create_duration", "string", optional=True),
        "destroy_duration": Attr("destroy_duration", "string", optional=True),
        "triggers": _triggers(),
    }
    force_new = frozenset({"triggers"})

    def validate(self, config: State) -> None:
        for name in ("create_duration", "destroy_duration"):
            value = config.get(name)
            if not isinstance(value, str) or is_unknown(value):
                continue
            try:
                seconds = parse_duration(value)
            except ValueError as error:
                raise ResourceError(f"{name}: {error}", attribute=name) from None
            if seconds < 0:
                raise ResourceError(f"{name}: a duration must not be negative, got {value}", attribute=name)
            if seconds > MAX_SLEEP_SECONDS:
                raise ResourceError(
                    f"{name} {value} is longer than the local time provider sleeps "
                    f"({MAX_SLEEP_SECONDS // 60}m): unsupported by selfheal's local cloud",
                    "time_sleep sleeps in real time here; use a shorter duration.",
                    attribute=name,
                )

    def _sleep(self, value: Any, name: str) -> None:
        if isinstance(value, str) and value:
            seconds = parse_duration(value)
            if seconds > 0 and self._time.stopping.wait(min(seconds, MAX_SLEEP_SECONDS)):
                raise ResourceError(f"{name} interrupted: Terraform asked the provider to stop")

    @property
    def _time(self) -> TimeProvider:
        assert isinstance(self.provider, TimeProvider)
        return self.provider

    def create(self, planned: State) -> State:
        self._sleep(planned.get("create_duration"), "create_duration")
        return {**planned, "id": format_rfc3339(_now())}

    def delete(self, prior: State) -> None:
        self._sleep(prior.get("destroy_duration"), "destroy_duration")

    def import_state(self, import_id: str) -> State:
        create, sep, destroy = import_id.partition(",")
        if not sep or "," in destroy or not (create or destroy):
            raise ResourceError(
                f"unexpected format of ID ({import_id}), expected CREATE_DURATION,DESTROY_DURATION "
                "(either may be empty, not both)"
            )
        state = {"create_duration": create or None, "destroy_duration": destroy or None}
        self.validate(state)
        return {**state, "id": format_rfc3339(_now())}


class TimeStatic(_TimeResource):
    """``time_static``: a time fixed at create (``rfc3339``, default now) and its parts."""

    type_name = "time_static"
    _arguments: ClassVar[dict[str, Attr]] = {
        "rfc3339": Attr("rfc3339", "string", optional=True, computed=True),
        "triggers": _triggers(),
    }
    _computed = (*_PARTS, "unix")
    force_new = frozenset({"rfc3339", "triggers"})

    def validate(self, config: State) -> None:
        self._check_rfc3339(config, "rfc3339")

    def create(self, planned: State) -> State:
        text = planned.get("rfc3339")
        moment = parse_rfc3339(text, "rfc3339") if isinstance(text, str) else _now()
        return {**planned, **_parts(moment), "rfc3339": format_rfc3339(moment), "id": format_rfc3339(moment)}

    def import_state(self, import_id: str) -> State:
        return self.create({"rfc3339": import_id, "triggers": None})


_OFFSETS = (
    "offset_years",
    "offset_months",
    "offset_days",
    "offset_hours",
    "offset_minutes",
    "offset_seconds",
)


class TimeOffset(_TimeResource):
    """``time_offset``: ``base_rfc3339`` (default now) plus the offsets, as ``rfc3339`` and its parts."""

    type_name = "time_offset"
    _arguments: ClassVar[dict[str, Attr]] = {
        "base_rfc3339": Attr("base_rfc3339", "string", optional=True, computed=True),
        **_number_args(*_OFFSETS),
        "triggers": _triggers(),
    }
    _computed = ("rfc3339", *_PARTS, "unix")
    force_new = frozenset({"base_rfc3339", "triggers"})

    def validate(self, config: State) -> None:
        self._check_rfc3339(config, "base_rfc3339")
        _require_one(config, _OFFSETS, "offset_days")

    @staticmethod
    def _derived(base: datetime, state: State) -> State:
        y, mo, d, h, mi, s = (_number(state.get(name)) for name in _OFFSETS)
        moment = add_date(base, y, mo, d) + timedelta(hours=h, minutes=mi, seconds=s)
        return {**_parts(moment), "rfc3339": format_rfc3339(moment)}

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        base = planned.get("base_rfc3339")
        if isinstance(base, str) and not any(is_unknown(planned.get(name)) for name in _OFFSETS):
            planned.update(self._derived(parse_rfc3339(base, "base_rfc3339"), planned), id=base)
        return planned

    def create(self, planned: State) -> State:
        base_text = planned.get("base_rfc3339")
        base = parse_rfc3339(base_text, "base_rfc3339") if isinstance(base_text, str) else _now()
        text = format_rfc3339(base)
        return {**planned, **self._derived(base, planned), "base_rfc3339": text, "id": text}

    def import_state(self, import_id: str) -> State:
        parts = import_id.split(",")
        if len(parts) != 7 or not parts[0]:
            raise ResourceError(
                f"unexpected format of ID ({import_id}), expected "
                "BASE_RFC3339,YEARS,MONTHS,DAYS,HOURS,MINUTES,SECONDS (empty for an unset offset)"
            )
        offsets = _integers(import_id, _OFFSETS, parts[1:], "offsets")
        return self.create({**offsets, "base_rfc3339": parts[0], "triggers": None})


_ROTATIONS = ("rotation_years", "rotation_months", "rotation_days", "rotation_hours", "rotation_minutes")


class TimeRotating(_TimeResource):
    """``time_rotating``: a base time (``rfc3339``) and when to rotate it (``rotation_rfc3339``); past
    that time the resource is gone from state and the next apply creates it anew."""

    type_name = "time_rotating"
    _arguments: ClassVar[dict[str, Attr]] = {
        "rfc3339": Attr("rfc3339", "string", optional=True, computed=True),
        **_number_args(*_ROTATIONS),
        "rotation_rfc3339": Attr("rotation_rfc3339", "string", optional=True, computed=True),
        "triggers": _triggers(),
    }
    _computed = (*_PARTS, "unix")
    force_new = frozenset({"rfc3339", "triggers"})

    def __init__(self, provider: Provider, now: Callable[[], datetime] = _now) -> None:
        super().__init__(provider)
        self._clock = now

    def validate(self, config: State) -> None:
        self._check_rfc3339(config, "rfc3339", "rotation_rfc3339")
        _require_one(config, tuple(sorted((*_ROTATIONS, "rotation_rfc3339"))), "rotation_days")

    @staticmethod
    def _rotation(base: datetime, state: State) -> str:
        y, mo, d, h, mi = (_number(state.get(name)) for name in _ROTATIONS)
        return format_rfc3339(add_date(base, y, mo, d) + timedelta(hours=h, minutes=mi))

    def plan(self, prior: State | None, planned: State, config: State) -> State:
        base = planned.get("rfc3339")
        if config.get("rotation_rfc3339") is None:
            if isinstance(base, str) and not any(is_unknown(planned.get(name)) for name in _ROTATIONS):
                planned["rotation_rfc3339"] = self._rotation(parse_rfc3339(base, "rfc3339"), planned)
            else:
                planned["rotation_rfc3339"] = Unknown
        return planned

    def create(self, planned: State) -> State:
        text = planned.get("rfc3339")
        base = parse_rfc3339(text, "rfc3339") if isinstance(text, str) else self._clock()
        rotation = planned.get("rotation_rfc3339")
        if not isinstance(rotation, str) or is_unknown(rotation):
            rotation = self._rotation(base, planned)
        base_text = format_rfc3339(base)
        return {
            **planned,
            **_parts(base),
            "rfc3339": base_text,
            "rotation_rfc3339": rotation,
            "id": base_text,
        }

    def update(self, prior: State, planned: State) -> State:
        if is_unknown(planned.get("rotation_rfc3339")):
            planned["rotation_rfc3339"] = self._rotation(
                parse_rfc3339(planned["rfc3339"], "rfc3339"), planned
            )
        return planned

    def read(self, current: State) -> State | None:
        rotation = current.get("rotation_rfc3339")
        if isinstance(rotation, str) and self._clock() >= parse_rfc3339(rotation, "rotation_rfc3339"):
            return None  # rotated: the next plan creates it anew, as the real provider does
        return current

    def import_state(self, import_id: str) -> State:
        parts = import_id.split(",")
        if len(parts) == 2 and parts[0] and parts[1]:
            return self.create({"rfc3339": parts[0], "rotation_rfc3339": parts[1], "triggers": None})
        if len(parts) != 6 or not parts[0] or not any(parts[1:]):
            raise ResourceError(
                f"unexpected format of ID ({import_id}), expected BASE_RFC3339,YEARS,MONTHS,DAYS,HOURS,"
                "MINUTES or BASE_RFC3339,ROTATION_RFC3339"
            )
        rotations = _integers(import_id, _ROTATIONS, parts[1:], "rotations")
        return self.create({**rotations, "rfc3339": parts[0], "triggers": None})


class TimeProvider(Provider):
    """The local time provider (no configuration); :meth:`stop` ends running sleeps."""

    address = "registry.terraform.io/hashicorp/time"

    def __init__(self) -> None:
        self.stopping = threading.Event()

    def stop(self) -> None:
        self.stopping.set()

    def resources(self) -> Mapping[str, type[Resource]]:
        return {cls.type_name: cls for cls in (TimeOffset, TimeRotating, TimeSleep, TimeStatic)}


def main() -> None:
    """Entry point of the ``terraform-provider-time`` executable."""
    from selfheal.terraform.serve import serve

    serve(TimeProvider())


if __name__ == "__main__":
    main()
