"""Property test: random alarm streams over many functions never break the fleet's rails.

Several protected functions, alarms and OKs arriving in any order, invocations that run out of time before
verifying (so remediations stay in flight): at most ``IN_FLIGHT`` remediations are in flight at once and at
most ``PER_HOUR`` actions happen in any hour across the fleet, as counted from the functions' own updates.
"""

from __future__ import annotations

import itertools
from typing import Any

from healer_fixtures import FaultyClient, ScheduledClock, alarm_message_for, healer_sandbox, sns_event
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from healer.healing import RunLimits
from healer.registry import Protection, Rails

IN_FLIGHT = 2
PER_HOUR = 4
FUNCTIONS = 4
VERIFY = 60.0
LIMITS = RunLimits()
IN_FLIGHT_SPAN = LIMITS.lease_seconds + VERIFY

Event = tuple[str, int, float]
events = st.lists(
    st.tuples(
        st.sampled_from(["alarm", "alarm_short", "ok", "break"]),
        st.integers(0, FUNCTIONS - 1),
        st.floats(0, 900),
    ),
    min_size=1,
    max_size=16,
)


def test_fleet_rails_hold_for_any_alarm_stream() -> None:
    """In flight ≤ IN_FLIGHT at every action, ≤ PER_HOUR actions per hour, whatever arrives."""
    with healer_sandbox() as box:
        serial = itertools.count()

        @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(events)
        def check(stream: list[Event]) -> None:
            number = next(serial)
            names = [(f"fleet{number}-f{i}", f"fleet{number}-f{i}-errors") for i in range(FUNCTIONS)]
            for function, alarm in names:
                box.add_target(function, alarm, register=False)
                box.register(
                    Protection(
                        alarm,
                        function,
                        ("set_env",),
                        set_env={"FAILURE_RATE": "0"},
                        rails=Rails(
                            cooldown_seconds=0, max_actions_per_window=100, verify_timeout_seconds=VERIFY
                        ),
                    )
                )
            # A fresh fleet item per example: each example is its own fleet.
            box.aws["dynamodb"].delete_item(
                TableName="selfheal-ledger", Key={"pk": {"S": "FLEET"}, "sk": {"S": "CONTROL"}}
            )
            box.clock = ScheduledClock()
            lambda_ = FaultyClient(box.aws["lambda"])
            actions: list[tuple[float, str]] = []
            closed: dict[str, float] = {}

            def record(kwargs: dict[str, Any]) -> None:
                actions.append((box.clock.now(), kwargs["Environment"]["Variables"]["HEALED_INCIDENT"]))

            lambda_.before("update_function_configuration", record)
            healer = box.healer(
                box.clients(lambda_=lambda_),
                target=names[0][0],
                alarm=names[0][1],
                verify_timeout_seconds=VERIFY,
                cooldown_seconds=0,
                max_actions_per_window=100,
                fleet_max_in_flight=IN_FLIGHT,
                fleet_max_actions_per_hour=PER_HOUR,
            )
            for kind, index, gap in stream:
                function, alarm = names[index]
                box.clock.advance(gap)
                if kind in ("alarm", "alarm_short"):
                    box.set_alarm("ALARM", alarm)
                    seconds = 10.0 if kind == "alarm_short" else 900.0
                    context = box.context(seconds=seconds)
                    event = sns_event(
                        alarm_message_for(function, alarm, "alarm_fragile_alarm.json", box.clock.now())
                    )
                    healer.handle_event(event, context.remaining_seconds)
                elif kind == "ok":
                    box.set_alarm("OK", alarm)
                    event = sns_event(
                        alarm_message_for(function, alarm, "alarm_fragile_ok.json", box.clock.now())
                    )
                    for result in healer.handle_event(event)["results"]:
                        if result["decision"] == "close":
                            closed[result["incident_id"]] = box.clock.now()
                else:
                    box.set_function_env({**box.function_env(function), "FAILURE_RATE": "0.5"}, function)

            times = [moment for moment, _ in actions]
            for moment in times:
                assert sum(1 for t in times if moment - 3600 < t <= moment) <= PER_HOUR
            finished = _finished_at(box, closed)
            for moment, incident in actions:
                in_flight = {
                    other
                    for at, other in actions
                    if other != incident
                    and at <= moment < min(at + IN_FLIGHT_SPAN, finished.get(other, 1e18))
                }
                assert len(in_flight) < IN_FLIGHT, (moment, incident, in_flight)

        check()


def _finished_at(box: Any, closed: dict[str, float]) -> dict[str, float]:
    """When each acted incident stopped being in flight: closed by OK, or escalated after its verify."""
    finished = dict(closed)
    for incident in box.incidents(1000):
        if incident.status in ("UNVERIFIED", "FAILED", "ESCALATED") and incident.decided_at is not None:
            finished.setdefault(incident.incident_id, incident.decided_at.timestamp())
    return finished
