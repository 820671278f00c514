"""Property test: whatever notifications arrive, the healer's actions respect its safety limits."""

from __future__ import annotations

import itertools
from typing import Any

from healer_fixtures import FaultyClient, ScheduledClock, alarm_message_for, healer_sandbox, sns_event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

COOLDOWN = 100.0
CAP = 2
WINDOW = 600.0

Step = tuple[str, float, float]
steps = st.lists(
    st.one_of(
        st.tuples(st.just("alarm"), st.floats(0, 400), st.floats(0, 30)),
        st.tuples(st.just("redeliver"), st.integers(0, 20).map(float), st.just(0.0)),
        st.tuples(st.just("ok"), st.floats(0, 200), st.just(0.0)),
        st.tuples(st.just("insufficient"), st.floats(0, 50), st.just(0.0)),
        st.tuples(st.just("break"), st.just(0.0), st.just(0.0)),
        st.tuples(st.just("alarm_ok"), st.just(0.0), st.just(0.0)),
    ),
    min_size=1,
    max_size=14,
)


def test_actions_are_unique_per_incident_outside_cooldown_and_within_cap() -> None:
    """Any mix of ALARMs, redeliveries and OKs: ≤ 1 action per incident, none in cooldown, ≤ cap a window."""
    with healer_sandbox() as box:
        serial = itertools.count()

        @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(steps)
        def check(plan: list[Step]) -> None:
            number = next(serial)
            target, alarm = f"fragile-{number}", f"fragile-{number}-errors"
            box.add_target(target, alarm)
            box.clock = ScheduledClock()
            lambda_ = FaultyClient(box.aws["lambda"])
            actions: list[tuple[float, str]] = []

            def record(kwargs: dict[str, Any]) -> None:
                actions.append((box.clock.now(), kwargs["Environment"]["Variables"]["HEALED_INCIDENT"]))

            lambda_.before("update_function_configuration", record)
            healer = box.healer(
                box.clients(lambda_=lambda_),
                target=target,
                alarm=alarm,
                cooldown_seconds=COOLDOWN,
                max_actions_per_window=CAP,
                action_window_seconds=WINDOW,
                verify_timeout_seconds=20,
            )

            def deliver(fixture: str, at: float) -> dict[str, Any]:
                event = sns_event(alarm_message_for(target, alarm, fixture, at))
                healer.handle_event(event)
                return event

            delivered: list[dict[str, Any]] = []
            for kind, amount, lag in plan:
                if kind in ("alarm", "ok", "insufficient"):
                    box.clock.advance(amount)
                if kind == "alarm":
                    box.set_alarm("ALARM", alarm)
                    delivered.append(deliver("alarm_fragile_alarm.json", box.clock.now() - lag))
                elif kind == "redeliver" and delivered:
                    healer.handle_event(delivered[int(amount) % len(delivered)])
                elif kind == "ok":
                    deliver("alarm_fragile_ok.json", box.clock.now())
                elif kind == "insufficient":
                    deliver("alarm_fragile_insufficient_data.json", box.clock.now())
                elif kind == "break":
                    box.set_function_env({**box.function_env(target), "FAILURE_RATE": "0.5"}, target)
                elif kind == "alarm_ok":
                    box.set_alarm("OK", alarm)

            incidents = [incident for _, incident in actions]
            assert len(incidents) == len(set(incidents)), "two actions for one incident"
            times = [moment for moment, _ in actions]
            assert all(later - earlier >= COOLDOWN for earlier, later in itertools.pairwise(times))
            for moment in times:
                assert sum(1 for t in times if moment - WINDOW < t <= moment) <= CAP
            acted = {i.incident_id for i in box.incidents(1000) if i.target == target and i.action_at}
            assert acted == set(incidents)

        check()
