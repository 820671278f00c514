"""Unit tests of the healer's configuration, clock, escalation text and remediation helpers."""

from __future__ import annotations

import time

import pytest

from healer.clock import ClockError, ManualClock, ScaledClock
from healer.config import ConfigError, HealerConfig
from healer.escalation import MAX_SUBJECT, Escalation, subject_line
from healer.remediation import Backoff, remediated_variables

GOOD_ENV = {
    "TARGET_FUNCTION_NAME": "selfheal-fragile",
    "LEDGER_TABLE_NAME": "selfheal-ledger",
    "ESCALATION_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:selfheal-escalations",
    "COOLDOWN_SECONDS": "120",
    "MAX_ACTIONS_PER_WINDOW": "2",
    "ACTION_WINDOW_SECONDS": "1800",
    "VERIFY_TIMEOUT_SECONDS": "90",
    "DRY_RUN": "false",
}


def test_config_reads_every_variable() -> None:
    """A complete environment yields the matching configuration."""
    config = HealerConfig.from_env({**GOOD_ENV, "POWERTOOLS_METRICS_NAMESPACE": "Custom"})
    assert config.cooldown_seconds == 120 and config.max_actions_per_window == 2
    assert config.action_window_seconds == 1800 and config.verify_timeout_seconds == 90
    assert config.dry_run is False and config.metrics_namespace == "Custom"


def test_config_defaults_namespace_and_dry_run() -> None:
    """Optional variables fall back to their defaults."""
    env = {
        k: v
        for k, v in GOOD_ENV.items()
        if k in ("TARGET_FUNCTION_NAME", "LEDGER_TABLE_NAME", "ESCALATION_TOPIC_ARN")
    }
    config = HealerConfig.from_env(env)
    assert config.metrics_namespace == "Selfheal" and config.dry_run is False


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("TARGET_FUNCTION_NAME", ""),
        ("TARGET_FUNCTION_NAME", "bad name!"),
        ("LEDGER_TABLE_NAME", "x"),
        ("ESCALATION_TOPIC_ARN", "selfheal-escalations"),
        ("COOLDOWN_SECONDS", "-1"),
        ("COOLDOWN_SECONDS", "soon"),
        ("COOLDOWN_SECONDS", "nan"),
        ("MAX_ACTIONS_PER_WINDOW", "0"),
        ("MAX_ACTIONS_PER_WINDOW", "1.5"),
        ("ACTION_WINDOW_SECONDS", "inf"),
        ("VERIFY_TIMEOUT_SECONDS", "-5"),
        ("DRY_RUN", "maybe"),
    ],
)
def test_invalid_config_is_refused_with_the_variable_named(name: str, value: str) -> None:
    """Each invalid variable is reported by name."""
    with pytest.raises(ConfigError) as info:
        HealerConfig.from_env({**GOOD_ENV, name: value})
    assert any(name in problem for problem in info.value.problems)


def test_dry_run_true_values() -> None:
    """DRY_RUN accepts the usual spellings of true."""
    for value in ("true", "TRUE", "1", "yes"):
        assert HealerConfig.from_env({**GOOD_ENV, "DRY_RUN": value}).dry_run


def test_scaled_clock_from_env_runs_faster() -> None:
    """With scale k the cloud clock is k times further from the origin than real time."""
    origin = time.time() - 10
    clock = ScaledClock.from_env({"SELFHEAL_TIME_SCALE": "6", "SELFHEAL_TIME_ORIGIN": repr(origin)})
    assert clock.now() == pytest.approx(origin + 60, abs=1.0)
    assert clock.cloud_seconds(2.0) == 12.0


def test_scaled_clock_absent_is_real_time() -> None:
    """Without the variables cloud time is real time."""
    assert ScaledClock.from_env({}).now() == pytest.approx(time.time(), abs=1.0)


@pytest.mark.parametrize(
    "env",
    [
        {"SELFHEAL_TIME_SCALE": "fast", "SELFHEAL_TIME_ORIGIN": "0"},
        {"SELFHEAL_TIME_SCALE": "0.5", "SELFHEAL_TIME_ORIGIN": "0"},
        {"SELFHEAL_TIME_SCALE": "10"},
        {"SELFHEAL_TIME_SCALE": "10", "SELFHEAL_TIME_ORIGIN": "then"},
    ],
)
def test_bad_clock_variables_are_refused(env: dict[str, str]) -> None:
    """Invalid time scale or origin raises ClockError."""
    with pytest.raises(ClockError):
        ScaledClock.from_env(env)


def test_manual_clock_sleep_advances_without_sleeping() -> None:
    """The test clock moves forward on sleep and records the waits."""
    clock = ManualClock(100.0)
    clock.sleep(30)
    clock.advance(5)
    assert clock.now() == 135.0 and clock.slept == [30]


def test_subject_is_short_ascii_one_line() -> None:
    """Subjects stay within 100 printable ASCII characters whatever the alarm name."""
    subject = subject_line("ä" * 200 + "\nnext", "verify_timeout")
    assert len(subject) <= MAX_SUBJECT
    assert all(32 <= ord(ch) < 127 for ch in subject)


def test_escalation_body_says_what_why_and_what_to_do() -> None:
    """The body names the alarm, what was seen, the decision, the reason and advice."""
    body = Escalation(
        "a1", "cooldown", "a1 went OK -> ALARM", "no automatic action", "acted 10s ago", "inc-1"
    ).body()
    for part in ("a1", "What was seen", "What was done", "Why:", "What to do", "keeps breaking", "inc-1"):
        assert part in body


def test_remediated_variables_keep_everything_else() -> None:
    """The new environment keeps every variable and adds the markers."""
    new = remediated_variables({"FAILURE_RATE": "0.7", "LATENCY_MS": "50"}, "healer", "inc-9", 1_795_000_000)
    assert new["LATENCY_MS"] == "50" and new["FAILURE_RATE"] == "0"
    assert new["PREVIOUS_FAILURE_RATE"] == "0.7" and new["HEALED_INCIDENT"] == "inc-9"
    assert new["HEALED_BY"] == "healer" and new["HEALED_AT"].endswith("Z")


def test_backoff_doubles_up_to_its_cap() -> None:
    """Backoff delays double from the base and stop at the cap."""
    backoff = Backoff(attempts=6, base=1.0, cap=8.0)
    assert [backoff.delay(n) for n in range(1, 6)] == [1.0, 2.0, 4.0, 8.0, 8.0]
