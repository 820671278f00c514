"""EventBridge Scheduler schedule expressions and when a schedule fires next. Pure.

Three kinds (Scheduler user guide, "Schedule types"): ``at(yyyy-mm-ddThh:mm:ss)`` fires once, ``rate(value
unit)`` every ``value`` minutes, hours or days from its ``StartDate`` (none: from when it is created, first at
once), ``cron(...)`` as EventBridge's cron (:mod:`.eventbridge_schedule`). ``at`` and ``cron`` are read in
the schedule's ``ScheduleExpressionTimezone`` (an IANA name, :mod:`zoneinfo`); ``rate`` counts elapsed time,
so a day is 24 hours across daylight saving changes. As AWS documents, a cron time that does not exist (the
hour skipped in spring) is skipped, and one that happens twice (autumn) fires once, the first time.
A recurring schedule never fires before ``StartDate`` or at/after ``EndDate``; AWS ignores both for
one-time schedules.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .eventbridge_schedule import Cron, InvalidSchedule, Rate, parse_schedule

__all__ = ["At", "InvalidExpression", "ScheduleTimes", "parse_expression", "zone"]

_AT = re.compile(r"^at\((\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\)$")
_CRON_SEARCH = 64  # cron firings tried in a row before giving up (daylight-saving gaps skip a few at most)


class InvalidExpression(ValueError):
    """The schedule expression or time zone is not valid (the message is AWS's)."""


@dataclass(frozen=True)
class At:
    """``at(...)``: one firing at ``moment`` (epoch seconds)."""

    moment: float


def zone(name: str | None) -> ZoneInfo:
    """The time zone ``name`` (None: UTC); raise :class:`InvalidExpression`."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidExpression(f"Invalid ScheduleExpressionTimezone {name}.") from None


def parse_expression(expression: str, timezone: str | None = None) -> At | Rate | Cron:
    """Parse a Scheduler ``ScheduleExpression`` read in ``timezone``; raise :class:`InvalidExpression`."""
    tz = zone(timezone)
    text = expression.strip()
    at = _AT.match(text)
    if at is not None:
        try:
            year, month, day, hour, minute, second = (int(part) for part in at.groups())
            local = datetime(year, month, day, hour, minute, second, tzinfo=tz)
        except ValueError:
            raise InvalidExpression(f"Invalid Schedule Expression {expression}.") from None
        return At(local.timestamp())
    try:
        return parse_schedule(text)
    except InvalidSchedule:
        raise InvalidExpression(f"Invalid Schedule Expression {expression}.") from None


@dataclass(frozen=True)
class ScheduleTimes:
    """When one schedule fires: its expression, time zone, start and end (epoch seconds or None), and when
    the local cloud first saw it (a rate without ``StartDate`` starts there)."""

    expression: At | Rate | Cron
    timezone: ZoneInfo
    start: float | None
    end: float | None
    created: float

    @property
    def one_time(self) -> bool:
        """True for ``at(...)``."""
        return isinstance(self.expression, At)

    def first(self) -> float:
        """The first firing (inf if none)."""
        expression = self.expression
        if isinstance(expression, At):
            return expression.moment  # AWS ignores StartDate and EndDate for one-time schedules
        if isinstance(expression, Rate):
            anchor = self.start if self.start is not None else self.created
            return self._bounded(anchor)
        lower = self.start if self.start is not None else self.created
        return self._bounded(self._cron_after(expression, lower - 1e-6))

    def after(self, moment: float) -> float:
        """The first firing strictly after ``moment`` (inf if none)."""
        expression = self.expression
        if isinstance(expression, At):
            return math.inf
        if isinstance(expression, Rate):
            anchor = self.start if self.start is not None else self.created
            return self._bounded(expression.next_after(moment, anchor))
        lower = max(moment, (self.start - 1e-6) if self.start is not None else moment)
        return self._bounded(self._cron_after(expression, lower))

    def _bounded(self, moment: float) -> float:
        if self.start is not None and moment < self.start:
            return math.inf
        if self.end is not None and moment >= self.end:
            return math.inf
        return moment

    def _cron_after(self, cron: Cron, moment: float) -> float:
        """The first real moment after ``moment`` at which ``cron`` matches the local wall clock."""
        tz = self.timezone
        wall = datetime.fromtimestamp(moment, tz).replace(tzinfo=UTC).timestamp()
        for _ in range(_CRON_SEARCH):
            wall = cron.next_after(wall)
            if not math.isfinite(wall):
                return math.inf
            naive = datetime.fromtimestamp(wall, UTC).replace(tzinfo=None)
            local = naive.replace(tzinfo=tz, fold=0)
            if local.astimezone(UTC).astimezone(tz).replace(tzinfo=None) != naive:
                continue  # skipped by a daylight-saving change: AWS skips the invocation
            real = local.timestamp()
            if real > moment:
                return real
        return math.inf
