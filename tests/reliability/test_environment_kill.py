"""An execution environment killed mid-invocation: that invocation errors, the next one works."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
from reliability_helpers import client, eventually, function_pids, kill_and_reap_hook

from selfheal.cloud import LocalCloud
from selfheal.cloud.testing import provision_loop


def test_killed_environment_fails_its_invocation_and_the_next_one_works(cloud: LocalCloud) -> None:
    """SIGKILL the environment during a slow invocation: Runtime.ExitError, then a fresh one serves."""
    loop = provision_loop(
        cloud, name_prefix="envkill", failure_rate=1.0, failure_mode="latency", latency_ms=3000
    )
    lam = client(cloud, "lambda")
    answers: list[dict[str, Any]] = []

    def invoke() -> None:
        response = lam.invoke(FunctionName=loop.fragile_function_name, Payload=b"{}")
        answers.append({**response, "Payload": response["Payload"].read()})

    caller = threading.Thread(target=invoke, name="slow-invoke", daemon=True)
    caller.start()
    try:
        pids = eventually(lambda: function_pids(cloud, loop.fragile_function_name), 20, "an environment")
        time.sleep(0.5)  # inside the 3 s injected latency
        assert kill_and_reap_hook(cloud, loop.fragile_function_name)() == pids
    finally:
        caller.join(timeout=30)
    assert len(answers) == 1
    assert answers[0]["FunctionError"] == "Unhandled"
    assert json.loads(answers[0]["Payload"])["errorType"] == "Runtime.ExitError"

    variables = lam.get_function_configuration(FunctionName=loop.fragile_function_name)["Environment"]
    lam.update_function_configuration(
        FunctionName=loop.fragile_function_name,
        Environment={"Variables": {**variables["Variables"], "FAILURE_RATE": "0"}},
    )
    with httpx.Client(timeout=20) as http:
        assert http.get(f"{loop.api_endpoint}/after-kill").status_code == 200
    assert set(function_pids(cloud, loop.fragile_function_name)).isdisjoint(pids)


def test_killed_environment_is_replaced_without_a_configuration_change(cloud: LocalCloud) -> None:
    """A warm environment killed while idle: the next request cold-starts a new one and succeeds."""
    loop = provision_loop(cloud, name_prefix="idlekill", failure_rate=0.0)
    with httpx.Client(timeout=20) as http:
        assert http.get(f"{loop.api_endpoint}/warm").status_code == 200
        pids = kill_and_reap_hook(cloud, loop.fragile_function_name)()
        assert pids
        assert http.get(f"{loop.api_endpoint}/again").status_code == 200
    assert set(function_pids(cloud, loop.fragile_function_name)).isdisjoint(pids)
