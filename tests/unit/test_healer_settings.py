"""Unit tests of the healer's configuration, clock and escalation text."""

from __future__ import annotations

import time

import pytest

from healer.clock import ClockError, ManualClock, ScaledClock
from healer.config import ConfigError, HealerConfig
from healer.decisions import EscalationCode
from healer.escalation import MAX_SUBJECT, Escalation, subject_line

GOOD_ENV = {
    "REGISTRY_PATH": "/selfheal/prod",
    "LEDGER_TABLE_NAME": "selfheal-ledger",
    "ESCALATION_TOPIC_ARN": "arn:aws:sns:us-east-1:123456789012:selfheal-escalations",
    "FLEET_MAX_IN_FLIGHT": "5",
    "FLEET_MAX_ACTIONS_PER_HOUR": "20",
    "DRY_RUN": "false",
}
REQUIRED = ("REGISTRY_PATH", "LEDGER_TABLE_NAME", "ESCALATION_TOPIC_ARN")


def test_config_reads_every_variable() -> None:
    """A complete environment yields the matching configuration."""
    config = HealerConfig.from_env(
        {**GOOD_ENV, "POWERTOOLS_METRICS_NAMESPACE": "Custom", "AWS_LAMBDA_FUNCTION_NAME": "prod-healer"}
    )
    assert config == HealerConfig(
        registry_path="/selfheal/prod",
        ledger_table_name="selfheal-ledger",
        escalation_topic_arn="arn:aws:sns:us-east-1:123456789012:selfheal-escalations",
        fleet_max_in_flight=5,
        fleet_max_actions_per_hour=20,
        dry_run=False,
        healer_name="prod-healer",
        metrics_namespace="Custom",
    )


def test_config_defaults_the_optional_variables() -> None:
    """With only the required variables the fleet rails are 3 and 10, DRY_RUN is off, names are defaults."""
    config = HealerConfig.from_env({name: GOOD_ENV[name] for name in REQUIRED})
    assert (config.fleet_max_in_flight, config.fleet_max_actions_per_hour) == (3, 10)
    assert config.dry_run is False
    assert (config.healer_name, config.metrics_namespace) == ("selfheal-healer", "Selfheal")


def test_config_trims_the_registry_path_and_blank_optionals() -> None:
    """A trailing slash of REGISTRY_PATH is dropped; blank optional variables take their defaults."""
    config = HealerConfig.from_env(
        {**GOOD_ENV, "REGISTRY_PATH": " /selfheal/prod/ ", "FLEET_MAX_IN_FLIGHT": " ", "DRY_RUN": ""}
    )
    assert config.registry_path == "/selfheal/prod"
    assert config.fleet_max_in_flight == 3 and config.dry_run is False


@pytest.mark.parametrize("name", REQUIRED)
def test_missing_required_variable_is_named(name: str) -> None:
    """Each required variable, absent or blank, is reported by name as not set."""
    for env in ({k: v for k, v in GOOD_ENV.items() if k != name}, {**GOOD_ENV, name: "  "}):
        with pytest.raises(ConfigError) as info:
            HealerConfig.from_env(env)
        assert info.value.problems == [f"{name} is not set"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REGISTRY_PATH", "selfheal/prod"),
        ("REGISTRY_PATH", "/"),
        ("REGISTRY_PATH", "//selfheal"),
        ("REGISTRY_PATH", "/selfheal prod"),
        ("REGISTRY_PATH", "/selfheal/pr*d"),
        ("REGISTRY_PATH", "/a/b/c/d/e/f/g/h/i/j/k"),
        ("LEDGER_TABLE_NAME", "x"),
        ("LEDGER_TABLE_NAME", "bad table!"),
        ("ESCALATION_TOPIC_ARN", "selfheal-escalations"),
        ("ESCALATION_TOPIC_ARN", "arn:aws:sqs:us-east-1:123456789012:selfheal-escalations"),
        ("ESCALATION_TOPIC_ARN", "arn:aws:sns:us-east-1:1234:selfheal-escalations"),
        ("FLEET_MAX_IN_FLIGHT", "0"),
        ("FLEET_MAX_IN_FLIGHT", "-1"),
        ("FLEET_MAX_IN_FLIGHT", "1.5"),
        ("FLEET_MAX_IN_FLIGHT", "three"),
        ("FLEET_MAX_ACTIONS_PER_HOUR", "0"),
        ("FLEET_MAX_ACTIONS_PER_HOUR", "-10"),
        ("FLEET_MAX_ACTIONS_PER_HOUR", "2.0"),
        ("FLEET_MAX_ACTIONS_PER_HOUR", "lots"),
        ("DRY_RUN", "maybe"),
        ("DRY_RUN", "2"),
    ],
)
def test_invalid_config_is_refused_with_the_variable_named(name: str, value: str) -> None:
    """Each invalid variable is the one problem reported, by name and with its value."""
    with pytest.raises(ConfigError) as info:
        HealerConfig.from_env({**GOOD_ENV, name: value})
    assert len(info.value.problems) == 1, info.value.problems
    assert info.value.problems[0].startswith(name)
    assert repr(value) in info.value.problems[0]
    assert name in str(info.value)


def test_every_bad_variable_is_reported_at_once() -> None:
    """All problems are listed together, one per variable, in the error's message too."""
    env = {
        "LEDGER_TABLE_NAME": "x",
        "FLEET_MAX_IN_FLIGHT": "0",
        "FLEET_MAX_ACTIONS_PER_HOUR": "n",
        "DRY_RUN": "?",
    }
    with pytest.raises(ConfigError) as info:
        HealerConfig.from_env(env)
    names = ["REGISTRY_PATH", "LEDGER_TABLE_NAME", "ESCALATION_TOPIC_ARN", "FLEET_MAX_IN_FLIGHT"]
    names += ["FLEET_MAX_ACTIONS_PER_HOUR", "DRY_RUN"]
    assert [problem.split()[0] for problem in info.value.problems] == names
    assert all(name in str(info.value) for name in names)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        *[(value, True) for value in ("true", "TRUE", " 1 ", "yes", "on")],
        *[(value, False) for value in ("false", "False", "0", "no", "off")],
    ],
)
def test_dry_run_spellings(value: str, expected: bool) -> None:
    """DRY_RUN accepts the usual spellings of true and false, in any case."""
    assert HealerConfig.from_env({**GOOD_ENV, "DRY_RUN": value}).dry_run is expected


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
        "a1", EscalationCode.COOLDOWN, "a1 went OK -> ALARM", "no automatic action", "acted 10s ago", "inc-1"
    ).body()
    for part in ("a1", "What was seen", "What was done", "Why:", "What to do", "keeps breaking", "inc-1"):
        assert part in body
