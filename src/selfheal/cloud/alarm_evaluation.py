"""CloudWatch metric alarm evaluation: M out of N, the four TreatMissingData modes, and AWS's wording.

Pure: :func:`evaluate` takes an alarm's rule, the per-period values of its *evaluation range* (oldest first,
``None`` where a period has no data) and the current state, and returns the state CloudWatch would set with
the reason text and reason data it would write. It follows "Configuring how CloudWatch alarms treat missing
data" in the CloudWatch User Guide:

- CloudWatch retrieves more periods than ``EvaluationPeriods`` (the evaluation range, see
  :func:`evaluation_range`). When at least N of them hold data, the N most recent real datapoints decide and
  the missing-data setting is not used.
- Otherwise the missing periods are filled, as few times as possible (N minus the real ones), per the
  setting: ``breaching`` and ``notBreaching`` count them as such; ``missing`` and ``ignore`` leave them
  unknown, so the alarm goes to ``ALARM`` if enough real datapoints breach, to ``OK`` if a real datapoint is
  within the threshold, and otherwise to ``INSUFFICIENT_DATA`` (``missing``) or keeps its state (``ignore``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, get_args

__all__ = [
    "EXTRA_RANGE_PERIODS",
    "AlarmRule",
    "AlarmState",
    "ComparisonOperator",
    "Datapoint",
    "Evaluation",
    "Statistic",
    "TreatMissingData",
    "evaluate",
    "evaluation_range",
    "format_number",
    "percentile",
]

AlarmState = Literal["OK", "ALARM", "INSUFFICIENT_DATA"]
ComparisonOperator = Literal[
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
]
TreatMissingData = Literal["missing", "notBreaching", "breaching", "ignore"]
Statistic = Literal["SampleCount", "Average", "Sum", "Minimum", "Maximum"]

# The User Guide's example retrieves 5 datapoints for an alarm of 3 evaluation periods.
EXTRA_RANGE_PERIODS = 2
HIGH_RESOLUTION_PERIODS = (10, 20, 30)
MAX_EVALUATION_SECONDS = 86_400
MAX_EVALUATION_SECONDS_LONG_PERIOD = 604_800

_OPERATOR_WORDS: dict[str, str] = {
    "GreaterThanOrEqualToThreshold": "greater than or equal to",
    "GreaterThanThreshold": "greater than",
    "LessThanThreshold": "less than",
    "LessThanOrEqualToThreshold": "less than or equal to",
}
_MISSING_WORDS: dict[str, str] = {"breaching": "Breaching", "notBreaching": "NonBreaching"}
_PERCENTILE = re.compile(r"p(\d{1,3}(?:\.\d{1,10})?)")


@dataclass(frozen=True)
class AlarmRule:
    """What decides a metric alarm's state; raises ValueError on a definition CloudWatch would refuse."""

    comparison_operator: ComparisonOperator
    threshold: float
    period: int
    evaluation_periods: int
    datapoints_to_alarm: int | None = None
    treat_missing_data: TreatMissingData = "missing"
    statistic: Statistic = "Sum"
    #: ``pNN`` for a percentile alarm (``statistic`` is then unused); reported in the reason data.
    extended_statistic: str | None = None
    #: A metric-math alarm: its reason data names no statistic.
    metric_math: bool = False

    def __post_init__(self) -> None:
        if self.comparison_operator not in _OPERATOR_WORDS:
            raise ValueError(f"unsupported comparison operator {self.comparison_operator!r}")
        if self.treat_missing_data not in get_args(TreatMissingData):
            raise ValueError(
                f"TreatMissingData must be one of {', '.join(get_args(TreatMissingData))}, "
                f"got {self.treat_missing_data!r}"
            )
        if self.statistic not in get_args(Statistic):
            raise ValueError(
                f"statistic must be one of {', '.join(get_args(Statistic))}, got {self.statistic!r}"
            )
        if self.extended_statistic is not None and percentile(self.extended_statistic) is None:
            raise ValueError(f"extended statistic must be p0 to p100, got {self.extended_statistic!r}")
        if isinstance(self.threshold, bool) or not math.isfinite(self.threshold):
            raise ValueError(f"threshold must be a finite number, got {self.threshold!r}")
        if (
            isinstance(self.period, bool)
            or not isinstance(self.period, int)
            or not (self.period in HIGH_RESOLUTION_PERIODS or (self.period > 0 and self.period % 60 == 0))
        ):
            raise ValueError(f"period must be 10, 20, 30 or a multiple of 60 seconds, got {self.period!r}")
        if isinstance(self.evaluation_periods, bool) or self.evaluation_periods < 1:
            raise ValueError(f"evaluation periods must be at least 1, got {self.evaluation_periods!r}")
        limit = MAX_EVALUATION_SECONDS if self.period < 3600 else MAX_EVALUATION_SECONDS_LONG_PERIOD
        if self.period * self.evaluation_periods > limit:
            raise ValueError(
                f"period x evaluation periods must not exceed {limit} seconds, "
                f"got {self.period} x {self.evaluation_periods}"
            )
        if (
            self.datapoints_to_alarm is not None
            and not 1 <= self.datapoints_to_alarm <= self.evaluation_periods
        ):
            raise ValueError(
                f"datapoints to alarm must be from 1 to the evaluation periods ({self.evaluation_periods}), "
                f"got {self.datapoints_to_alarm!r}"
            )

    @property
    def to_alarm(self) -> int:
        """M: how many breaching datapoints of the last N put the alarm in ALARM."""
        return self.evaluation_periods if self.datapoints_to_alarm is None else self.datapoints_to_alarm

    def breaches(self, value: float) -> bool:
        """Whether ``value`` is on the alarming side of the threshold."""
        operator = self.comparison_operator
        if operator == "GreaterThanOrEqualToThreshold":
            return value >= self.threshold
        if operator == "GreaterThanThreshold":
            return value > self.threshold
        if operator == "LessThanThreshold":
            return value < self.threshold
        return value <= self.threshold


@dataclass(frozen=True)
class Datapoint:
    """One period's aggregated value; ``timestamp`` is the period's start (epoch seconds)."""

    timestamp: float
    value: float | None
    sample_count: float | None = None


@dataclass(frozen=True)
class Evaluation:
    """The outcome of one evaluation: the state to be in, and why (reason data is JSON-ready)."""

    state: AlarmState
    reason: str
    reason_data: dict[str, Any]


def percentile(statistic: str) -> float | None:
    """The percentile a ``pNN`` statistic names (``p99`` → 99.0, ``p99.9`` → 99.9); None for anything else."""
    match = _PERCENTILE.fullmatch(statistic)
    if match is None:
        return None
    value = float(match.group(1))
    return value if 0 <= value <= 100 else None


def evaluation_range(rule: AlarmRule) -> int:
    """How many of the most recent periods CloudWatch retrieves to evaluate ``rule``."""
    return rule.evaluation_periods + EXTRA_RANGE_PERIODS


def format_number(value: float) -> str:
    """Format a number as CloudWatch's reasons do (Java's ``Double.toString``: ``5.0``, ``1.0E-5``)."""
    number = float(value)
    if number == 0 or 1e-3 <= abs(number) < 1e7:
        text = repr(number)
        return text if "." in text or "e" in text else f"{text}.0"
    sign, digits, exponent = Decimal(repr(number)).normalize().as_tuple()
    if not isinstance(exponent, int):
        return repr(number)
    shown = "".join(str(d) for d in digits)
    scientific = exponent + len(shown) - 1
    fraction = shown[1:] or "0"
    return f"{'-' if sign else ''}{shown[0]}.{fraction}E{scientific}"


def _reason_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%d/%m/%y %H:%M:%S")


def _iso(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _listing(points: Sequence[Datapoint]) -> str:
    # CloudWatch lists the most recent datapoint first.
    return ", ".join(
        f"{format_number(p.value)} ({_reason_time(p.timestamp)})"
        for p in reversed(points)
        if p.value is not None
    )


def _reason_data(rule: AlarmRule, evaluated: Sequence[Datapoint], query_time: float) -> dict[str, Any]:
    data: dict[str, Any] = {
        "version": "1.0",
        "queryDate": _iso(query_time),
    }
    if evaluated:
        data["startDate"] = _iso(evaluated[0].timestamp)
    if not rule.metric_math:
        data["statistic"] = rule.extended_statistic or rule.statistic
    data["period"] = rule.period
    data["recentDatapoints"] = [p.value for p in evaluated if p.value is not None]
    data["threshold"] = float(rule.threshold)
    points: list[dict[str, Any]] = []
    for point in reversed(evaluated):
        entry: dict[str, Any] = {"timestamp": _iso(point.timestamp)}
        if point.sample_count is not None:
            entry["sampleCount"] = float(point.sample_count)
        entry["value"] = point.value
        points.append(entry)
    data["evaluatedDatapoints"] = points
    return data


def _crossed(
    rule: AlarmRule, state: AlarmState, count: int, total: int, listed: Sequence[Datapoint], filled: int
) -> str:
    """The "Threshold Crossed" reason of an evaluation that moved to ``state`` on real datapoints.

    With ``DatapointsToAlarm`` set, CloudWatch writes the M-out-of-N form: ``Threshold Crossed: 2 out of the
    last 3 datapoints [...] were greater than the threshold (1.0) (minimum 2 datapoints for OK -> ALARM
    transition).`` Without it, the short form naming only the listed datapoints: ``Threshold Crossed:
    1 datapoint [21.5 (26/10/23 16:42:00)] was greater than the threshold (2.0).``, plus ``and 2 missing
    datapoints were treated as [Breaching]`` when missing periods were filled. Both as recorded against
    real AWS in LocalStack's ``tests/aws/services/cloudwatch/test_cloudwatch.snapshot.json``
    (``test_put_metric_alarm``: EvaluationPeriods 1, no DatapointsToAlarm) and in AWS's notifications
    (``... 2 out of the last 2 datapoints [...] were greater than the threshold (90.0) (minimum 2 datapoints
    for OK -> ALARM transition).`` for an alarm with DatapointsToAlarm).
    """
    words = _OPERATOR_WORDS[rule.comparison_operator]
    if state != "ALARM":
        words = f"not {words}"
    threshold = format_number(rule.threshold)
    if rule.datapoints_to_alarm is None:
        shown = len(listed)
        reason = (
            f"Threshold Crossed: {_plural(shown, 'datapoint')} [{_listing(listed)}] "
            f"{'was' if shown == 1 else 'were'} {words} the threshold ({threshold})"
        )
        if filled and rule.treat_missing_data in _MISSING_WORDS:
            reason += (
                f" and {_plural(filled, 'missing datapoint')} {'was' if filled == 1 else 'were'} treated as "
                f"[{_MISSING_WORDS[rule.treat_missing_data]}]"
            )
        return reason + "."
    if state == "ALARM":
        minimum, transition = rule.to_alarm, "OK -> ALARM"
    else:
        minimum, transition = rule.evaluation_periods - rule.to_alarm + 1, "ALARM -> OK"
    return (
        f"Threshold Crossed: {count} out of the last {total} datapoints [{_listing(listed)}] "
        f"{'was' if count == 1 else 'were'} {words} the threshold ({threshold}) "
        f"(minimum {_plural(minimum, 'datapoint')} for {transition} transition)."
    )


def _all_missing(rule: AlarmRule, current: AlarmState, query_time: float) -> Evaluation:
    n = rule.evaluation_periods
    data = _reason_data(rule, [], query_time)
    mode = rule.treat_missing_data
    if mode == "ignore":
        return Evaluation(current, "", data)
    if mode == "missing":
        verb = "was" if n == 1 else "were"
        return Evaluation(
            "INSUFFICIENT_DATA", f"Insufficient Data: {_plural(n, 'datapoint')} {verb} unknown.", data
        )
    state: AlarmState = "ALARM" if mode == "breaching" else "OK"
    verb = "was" if n == 1 else "were"
    reason = (
        f"Threshold Crossed: no datapoints were received for {_plural(n, 'period')} and "
        f"{_plural(n, 'missing datapoint')} {verb} treated as [{_MISSING_WORDS[mode]}]."
    )
    return Evaluation(state, reason, data)


def evaluate(
    rule: AlarmRule,
    datapoints: Sequence[Datapoint],
    current: AlarmState,
    query_time: float,
) -> Evaluation:
    """Evaluate ``rule`` over ``datapoints`` (the evaluation range, oldest first) from state ``current``.

    For ``ignore`` with nothing decisive, the returned state is ``current`` (no transition).
    """
    ordered = sorted(datapoints, key=lambda p: p.timestamp)
    real = [p for p in ordered if p.value is not None]
    n, m = rule.evaluation_periods, rule.to_alarm
    if not real:
        return _all_missing(rule, current, query_time)
    evaluated = real[-n:]
    filled = n - len(evaluated)
    breaching = [p for p in evaluated if p.value is not None and rule.breaches(p.value)]
    within = [p for p in evaluated if p.value is not None and not rule.breaches(p.value)]
    data = _reason_data(rule, evaluated, query_time)
    mode = rule.treat_missing_data
    breach_count = len(breaching) + (filled if mode == "breaching" else 0)
    within_count = len(within) + (filled if mode == "notBreaching" else 0)
    total = len(evaluated) + (filled if mode in ("breaching", "notBreaching") else 0)
    if breach_count >= m:
        return Evaluation("ALARM", _crossed(rule, "ALARM", breach_count, total, breaching, filled), data)
    if filled == 0 or mode in ("breaching", "notBreaching") or within:
        return Evaluation("OK", _crossed(rule, "OK", within_count, total, within, filled), data)
    if mode == "ignore":
        return Evaluation(current, "", data)
    unknown = filled
    verb = "was" if unknown == 1 else "were"
    return Evaluation(
        "INSUFFICIENT_DATA", f"Insufficient Data: {_plural(unknown, 'datapoint')} {verb} unknown.", data
    )
