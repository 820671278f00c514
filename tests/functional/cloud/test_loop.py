"""The whole Detect → Decide → Act → Verify loop in a LocalCloud running 60 times faster than real time."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from healer.ledger import Incident, recent_incidents
from polling import eventually
from selfheal.cloud import LocalCloud
from selfheal.cloud.alarm_scheduler import AlarmScheduler
from selfheal.cloud.testing import ProvisionedLoop, provision_loop

CLOUD_TIME_SCALE = 60.0
STEP_TIMEOUT = 30.0

AwsFactory = Callable[[str], Any]
T = TypeVar("T")


class Traffic:
    """Requests sent to the HTTP API from a background thread, with their status codes."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.statuses: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="loop-traffic", daemon=True)

    def _run(self) -> None:
        with httpx.Client(timeout=15.0) as http:
            while not self._stop.is_set():
                try:
                    self.statuses.append(http.get(self.url).status_code)
                except httpx.HTTPError:
                    self.statuses.append(0)
                self._stop.wait(0.01)

    def __enter__(self) -> Traffic:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=20)


@pytest.fixture(scope="module")
def loop(cloud: LocalCloud) -> ProvisionedLoop:
    """The loop provisioned with half of the fragile function's invocations failing."""
    return provision_loop(
        cloud,
        failure_rate=0.5,
        alarm_period_seconds=60,
        alarm_evaluation_periods=1,
        alarm_datapoints_to_alarm=1,
        alarm_threshold=3,
    )


@pytest.fixture(scope="module")
def traffic(loop: ProvisionedLoop) -> Iterator[Traffic]:
    """Steady requests to the HTTP API for the whole module."""
    with Traffic(f"{loop.api_endpoint}/hello") as running:
        yield running


def test_full_loop_heals_and_verifies(
    cloud: LocalCloud, aws: AwsFactory, loop: ProvisionedLoop, traffic: Traffic
) -> None:
    """Errors raise the alarm, the healer sets FAILURE_RATE=0 once, the alarm clears, the ledger verifies."""
    started = time.monotonic()
    scheduler = AlarmScheduler.of(cloud)
    lam = aws("lambda")
    before = lam.get_function_configuration(FunctionName=loop.fragile_function_name)["Environment"][
        "Variables"
    ]

    alarm = scheduler.wait_for(loop.alarm_name, "ALARM", STEP_TIMEOUT)
    assert alarm is not None, f"the alarm never went to ALARM; statuses seen: {sorted(set(traffic.statuses))}"
    assert 500 in traffic.statuses

    def healed_variables() -> dict[str, str] | None:
        variables: dict[str, str] = lam.get_function_configuration(FunctionName=loop.fragile_function_name)[
            "Environment"
        ]["Variables"]
        return variables if variables.get("FAILURE_RATE") == "0" else None

    after = eventually(healed_variables, STEP_TIMEOUT, "the healer to set FAILURE_RATE=0")
    assert {k: v for k, v in after.items() if k in before and k != "FAILURE_RATE"} == {
        k: v for k, v in before.items() if k != "FAILURE_RATE"
    }
    assert after["PREVIOUS_FAILURE_RATE"] == before["FAILURE_RATE"]

    index = scheduler.transitions.index(alarm)
    recovered = scheduler.wait_for(loop.alarm_name, "OK", STEP_TIMEOUT, after=index + 1)
    assert recovered is not None, "the alarm never returned to OK after the remediation"

    with httpx.Client(timeout=15.0) as http:
        fresh = [http.get(f"{loop.api_endpoint}/after").status_code for _ in range(20)]
    assert fresh == [200] * 20

    ddb = aws("dynamodb")

    def verified() -> list[Incident] | None:
        incidents = recent_incidents(loop.ledger_table_name, client=ddb)
        done = [i for i in incidents if i.status == "RECOVERED" and i.time_to_recover is not None]
        return incidents if done else None

    incidents = eventually(verified, STEP_TIMEOUT, "a RECOVERED incident with a time to recover")
    acted = [i for i in incidents if i.action is not None]
    assert len(acted) == 1, f"expected one remediation, got {[(i.incident_id, i.status) for i in incidents]}"
    incident = acted[0]
    assert incident.incident_id == after["HEALED_INCIDENT"]
    assert incident.time_to_recover is not None and incident.time_to_recover > 0
    assert [t.new_state for t in scheduler.transitions if t.alarm_name == loop.alarm_name].count("ALARM") >= 1
    assert time.monotonic() - started < 90
