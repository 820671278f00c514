"""Unit tests of the fragile service's failure configuration: parsing and the per-request decision."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fragile_service.faults import (
    DEFAULT_FAILURE_STATUS_CODE,
    DEFAULT_LATENCY_MS,
    ENV_VARS,
    FaultConfig,
    decide_fault,
    parse_config,
)


def test_empty_environment_injects_nothing() -> None:
    """With no variables set the service is healthy: rate 0, exception mode, defaults elsewhere."""
    config = parse_config({})
    assert config == FaultConfig(
        enabled=True,
        rate=0.0,
        mode="exception",
        latency_ms=DEFAULT_LATENCY_MS,
        status_code=DEFAULT_FAILURE_STATUS_CODE,
    )
    assert not config.active


def test_well_formed_values_are_read() -> None:
    """Every variable is read into the matching field."""
    config = parse_config(
        {
            "FAILURE_RATE": "0.25",
            "FAILURE_MODE": "Status",
            "LATENCY_MS": " 1500 ",
            "FAILURE_STATUS_CODE": "429",
            "FAILURE_INJECTION_ENABLED": "TRUE",
        }
    )
    assert (config.rate, config.mode, config.latency_ms, config.status_code) == (0.25, "status", 1500, 429)
    assert config.enabled and config.errors == () and config.active


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"FAILURE_RATE": "abc"}, "FAILURE_RATE='abc' is not a number"),
        ({"FAILURE_RATE": "1.7"}, "FAILURE_RATE='1.7' is outside [0, 1]"),
        ({"FAILURE_RATE": "-0.1"}, "outside [0, 1]"),
        ({"FAILURE_RATE": "nan"}, "outside [0, 1]"),
        ({"FAILURE_RATE": "inf"}, "outside [0, 1]"),
        ({"FAILURE_MODE": "explode"}, "FAILURE_MODE='explode' is not one of exception, latency, status"),
        ({"LATENCY_MS": "1.5"}, "LATENCY_MS='1.5' is not a whole number"),
        ({"LATENCY_MS": "-1"}, "LATENCY_MS='-1' is outside"),
        ({"FAILURE_STATUS_CODE": "200"}, "FAILURE_STATUS_CODE='200' is outside [400, 599]"),
        ({"FAILURE_STATUS_CODE": "oops"}, "FAILURE_STATUS_CODE='oops' is not a whole number"),
        ({"FAILURE_INJECTION_ENABLED": "maybe"}, "FAILURE_INJECTION_ENABLED='maybe' is not true or false"),
    ],
)
def test_malformed_value_is_reported_and_disables_injection(env: dict[str, str], fragment: str) -> None:
    """A malformed value yields a clear error naming it, and a configuration that injects nothing."""
    config = parse_config({"FAILURE_RATE": "1", "FAILURE_MODE": "exception", **env})
    assert len(config.errors) == 1
    assert fragment in config.errors[0]
    assert not config.active
    assert decide_fault(config, random.Random(0)) is None


def test_every_malformed_value_is_reported() -> None:
    """Several bad values produce one error each, not just the first."""
    config = parse_config({"FAILURE_RATE": "x", "FAILURE_MODE": "y", "FAILURE_STATUS_CODE": "z"})
    assert [e.split("=")[0] for e in config.errors] == ["FAILURE_RATE", "FAILURE_MODE", "FAILURE_STATUS_CODE"]


@pytest.mark.parametrize("value", ["false", "False", "0", "no", "off"])
def test_kill_switch_disables_injection(value: str) -> None:
    """FAILURE_INJECTION_ENABLED=false means no request fails, even at rate 1."""
    config = parse_config({"FAILURE_RATE": "1", "FAILURE_INJECTION_ENABLED": value})
    assert config.errors == ()
    assert not config.enabled
    assert all(decide_fault(config, random.Random(seed)) is None for seed in range(20))


@pytest.mark.parametrize("mode", ["exception", "latency", "timeout", "status"])
def test_rate_one_always_fails_in_the_configured_mode(mode: str) -> None:
    """At rate 1 every decision is the configured mode."""
    config = parse_config({"FAILURE_RATE": "1.0", "FAILURE_MODE": mode})
    rng = random.Random(7)
    assert {decide_fault(config, rng) for _ in range(200)} == {mode}


def test_rate_zero_never_fails() -> None:
    """At rate 0 no decision injects a fault."""
    config = parse_config({"FAILURE_RATE": "0"})
    rng = random.Random(7)
    assert {decide_fault(config, rng) for _ in range(200)} == {None}


def test_same_seed_gives_same_decisions() -> None:
    """Two generators seeded alike make the same mixed sequence of decisions."""
    config = parse_config({"FAILURE_RATE": "0.5"})
    rng_a, rng_b = random.Random(42), random.Random(42)
    seq_a = [decide_fault(config, rng_a) for _ in range(100)]
    seq_b = [decide_fault(config, rng_b) for _ in range(100)]
    assert seq_a == seq_b
    assert set(seq_a) == {"exception", None}


def test_decision_follows_the_random_draw() -> None:
    """A request fails exactly when the generator's next draw is below the rate."""
    config = parse_config({"FAILURE_RATE": "0.3"})
    for seed in range(50):
        draw = random.Random(seed).random()
        expected = "exception" if draw < 0.3 else None
        assert decide_fault(config, random.Random(seed)) == expected


def test_observed_rate_is_close_to_configured_rate() -> None:
    """Over many seeded draws the failure fraction approaches FAILURE_RATE."""
    config = parse_config({"FAILURE_RATE": "0.3"})
    rng = random.Random(2026)
    failures = sum(decide_fault(config, rng) is not None for _ in range(20_000))
    # Binomial(20000, 0.3) has sd ~65: 0.3 +/- 0.02 is more than 9 sd wide.
    assert 0.28 < failures / 20_000 < 0.32


@given(raw=st.text(max_size=12))
def test_parsing_never_raises(raw: str) -> None:
    """Any string in any variable parses without raising and leaves a usable configuration."""
    for name in ENV_VARS:
        config = parse_config({name: raw})
        assert 0.0 <= config.rate <= 1.0
        assert config.mode in {"exception", "latency", "timeout", "status"}
        assert 400 <= config.status_code <= 599
        if config.errors:
            assert not config.active


@given(rate=st.floats(min_value=0.0, max_value=1.0))
def test_any_rate_in_range_is_accepted(rate: float) -> None:
    """Every probability in [0, 1] written with repr() round-trips without error."""
    config = parse_config({"FAILURE_RATE": repr(rate)})
    assert config.errors == ()
    assert config.rate == rate
