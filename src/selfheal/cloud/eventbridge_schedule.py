"""EventBridge schedule expressions: ``rate(value unit)`` and ``cron(min hour day-of-month month day-of-week
year)``, in UTC, and when each fires next. Pure.

``rate`` fires every ``value`` minutes, hours or days from a start (the local cloud: when the rule was first
seen). ``cron`` fields take ``*``, ``,``, ``-``, ``/`` and names (``JAN``-``DEC``, ``SUN``-``SAT``, where
day-of-week 1 is Sunday); day-of-month also ``L`` (last day), ``W`` (nearest weekday), ``LW``; day-of-week
also ``L`` (Saturday), ``nL`` (last such weekday of the month) and ``n#k`` (the k-th); one of day-of-month
and day-of-week must be ``?`` (EventBridge user guide, "Schedule expressions for rules").
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

__all__ = ["Cron", "InvalidSchedule", "Rate", "Schedule", "parse_schedule"]

_RATE = re.compile(r"^rate\(\s*(\d+)\s+(minute|minutes|hour|hours|day|days)\s*\)$")
_CRON = re.compile(r"^cron\((.*)\)$")
_UNIT_SECONDS = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {name.upper(): i for i, name in enumerate(calendar.month_abbr) if name}
_DAYS = {name: i + 1 for i, name in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"))}
_SEARCH_DAYS = 366 * 8  # enough for any valid expression (29 February, leap years) within the year range


class InvalidSchedule(ValueError):
    """``Parameter ScheduleExpression is not valid.``"""


@dataclass(frozen=True)
class Rate:
    """``rate(value unit)``: every ``seconds`` from a start."""

    seconds: int

    def next_after(self, moment: float, start: float = 0.0) -> float:
        """The first firing strictly after ``moment`` of a rate started at ``start`` (epoch seconds)."""
        if moment < start:
            return start + self.seconds
        return start + (math.floor((moment - start) / self.seconds) + 1) * self.seconds


@dataclass(frozen=True)
class Cron:
    """``cron(...)``: the minutes, hours, months and years it fires, and a day test."""

    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int] | None
    day: Callable[[date], bool]

    def next_after(self, moment: float, start: float = 0.0) -> float:
        """The first firing strictly after ``moment`` (epoch seconds; ``start`` is unused); inf if none."""
        first = datetime.fromtimestamp(math.floor(moment / 60) * 60 + 60, UTC)
        hours, minutes = sorted(self.hours), sorted(self.minutes)
        for offset in range(_SEARCH_DAYS):
            day = first.date() + timedelta(days=offset)
            if self.years is not None and day.year not in self.years:
                if day.year > max(self.years):
                    return math.inf
                continue
            if day.month not in self.months or not self.day(day):
                continue
            earliest = (first.hour, first.minute) if offset == 0 else (0, 0)
            for hour in hours:
                for minute in minutes:
                    if (hour, minute) >= earliest:
                        return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC).timestamp()
        return math.inf


Schedule = Rate | Cron


def parse_schedule(expression: str) -> Schedule:
    """Parse a ScheduleExpression; raise :class:`InvalidSchedule`."""
    rate = _RATE.match(expression.strip())
    if rate is not None:
        value = int(rate.group(1))
        if value < 1:
            raise InvalidSchedule("Parameter ScheduleExpression is not valid.")
        return Rate(value * _UNIT_SECONDS[rate.group(2).rstrip("s")])
    cron = _CRON.match(expression.strip())
    if cron is None:
        raise InvalidSchedule("Parameter ScheduleExpression is not valid.")
    fields = cron.group(1).split()
    if len(fields) != 6:
        raise InvalidSchedule("Parameter ScheduleExpression is not valid.")
    minute, hour, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise InvalidSchedule("Parameter ScheduleExpression is not valid.")
    try:
        return Cron(
            minutes=_values(minute, 0, 59),
            hours=_values(hour, 0, 23),
            months=_values(month, 1, 12, _MONTHS),
            years=None if year in ("*", "?") else _values(year, 1970, 2199),
            day=_day_of_week(dow) if dom == "?" else _day_of_month(dom),
        )
    except (ValueError, KeyError):
        raise InvalidSchedule("Parameter ScheduleExpression is not valid.") from None


def _number(text: str, names: dict[str, int] | None) -> int:
    return names[text.upper()] if names and text.upper() in names else int(text)


def _values(field: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int]:
    out: set[int] = set()
    for part in field.split(","):
        step, has_step = 1, "/" in part
        if has_step:
            part, step_text = part.split("/", 1)
            step = int(step_text)
            if step < 1:
                raise ValueError(field)
        if part in ("*", "?"):
            first, last = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            first, last = _number(a, names), _number(b, names)
        else:
            first = _number(part, names)
            last = high if has_step else first
        if not low <= first <= high or not low <= last <= high or first > last:
            raise ValueError(field)
        out.update(range(first, last + 1, step))
    return frozenset(out)


def _weekday(day: date) -> int:
    """EventBridge's day of week: 1 is Sunday, 7 is Saturday."""
    return (day.weekday() + 1) % 7 + 1


def _last_day(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def _nearest_weekday(day: date, target: int) -> bool:
    last = _last_day(day)
    if target > last:
        return False
    wanted = date(day.year, day.month, target)
    if wanted.weekday() == 5:  # Saturday: the Friday before, or the Monday after on the 1st
        wanted = wanted - timedelta(days=1) if target > 1 else wanted + timedelta(days=2)
    elif wanted.weekday() == 6:  # Sunday: the Monday after, or the Friday before on the last day
        wanted = wanted + timedelta(days=1) if target < last else wanted - timedelta(days=2)
    return day == wanted


def _day_of_month(field: str) -> Callable[[date], bool]:
    if field == "L":
        return lambda day: day.day == _last_day(day)
    if field == "LW":
        return lambda day: _nearest_weekday(day, _last_day(day))
    if field.endswith("W"):
        target = int(field[:-1])
        if not 1 <= target <= 31:
            raise ValueError(field)
        return lambda day: _nearest_weekday(day, target)
    days = _values(field, 1, 31)
    return lambda day: day.day in days


def _day_of_week(field: str) -> Callable[[date], bool]:
    if field == "L":
        return lambda day: _weekday(day) == 7
    if "#" in field:
        weekday_text, nth_text = field.split("#", 1)
        weekday, nth = _number(weekday_text, _DAYS), int(nth_text)
        if not 1 <= weekday <= 7 or not 1 <= nth <= 5:
            raise ValueError(field)
        return lambda day: _weekday(day) == weekday and (day.day - 1) // 7 + 1 == nth
    if field.endswith("L"):
        weekday = _number(field[:-1], _DAYS)
        if not 1 <= weekday <= 7:
            raise ValueError(field)
        return lambda day: _weekday(day) == weekday and day.day + 7 > _last_day(day)
    days = _values(field, 1, 7, _DAYS)
    return lambda day: _weekday(day) in days
