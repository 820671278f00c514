"""The HTTP API data plane and the operator's Invoke served on the front's event loop: still side by side.

Each such request runs in a greenlet on the front's loop thread (cloud/cooperative.py). These tests make
the loop's failure modes visible: a wait that blocked the loop thread would serialise concurrent requests,
and a cold start, a timeout or a crash would hold up every other connection.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from api_helpers import proxy_http_api

from selfheal.cloud import LocalCloud

AwsFactory = Callable[[str], Any]
FunctionFactory = Callable[..., str]

SLOW = """
import json, os, time

def handler(event, context):
    path = event.get("rawPath", "")
    if path.endswith("/crash"):
        os._exit(3)
    seconds = float(path.rsplit("/", 1)[-1] or 0)
    time.sleep(seconds)
    return {"statusCode": 200, "body": json.dumps({"slept": seconds, "pid": os.getpid()})}
"""

INIT_SLOWLY = """
import json, time

time.sleep(1.5)

def handler(event, context):
    return {"statusCode": 200, "body": json.dumps({"cold": "done"})}
"""


def _api(cloud: LocalCloud, aws: AwsFactory, function: str) -> str:
    arn = aws("lambda").get_function(FunctionName=function)["Configuration"]["FunctionArn"]
    return f"{cloud.endpoint}/_api/{proxy_http_api(aws('apigatewayv2'), cloud.region, arn, 'ANY /{proxy+}')}"


@pytest.fixture(scope="module")
def slow_api(cloud: LocalCloud, aws: AwsFactory, make_function: FunctionFactory) -> str:
    make_function("on-loop-slow", SLOW, timeout=2)
    return _api(cloud, aws, "on-loop-slow")


@pytest.fixture(scope="module")
def cold_api(cloud: LocalCloud, aws: AwsFactory, make_function: FunctionFactory) -> str:
    make_function("on-loop-cold", INIT_SLOWLY)
    return _api(cloud, aws, "on-loop-cold")


def _get(url: str) -> tuple[int, dict[str, Any] | None, float]:
    started = time.monotonic()
    response = httpx.get(url, timeout=30)
    body = response.json() if response.status_code == 200 else None
    return response.status_code, body, time.monotonic() - started


def test_concurrent_requests_wait_for_their_functions_side_by_side(slow_api: str) -> None:
    """Four requests whose function sleeps 0.6 s each take about 0.6 s together, in four environments."""
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(_get, [f"{slow_api}/0"] * 4))  # four warm environments
        started = time.monotonic()
        results = list(pool.map(_get, [f"{slow_api}/0.6"] * 4))
        elapsed = time.monotonic() - started
    assert [status for status, _, _ in results] == [200] * 4
    assert len({body["pid"] for _, body, _ in results if body}) == 4
    assert elapsed < 4 * 0.6, f"the requests ran one after the other ({elapsed:.2f} s)"


def test_a_cold_start_does_not_hold_up_other_requests(slow_api: str, cold_api: str) -> None:
    """While one connection waits 1.5 s for a function's init, warm requests on others are answered."""
    assert _get(f"{slow_api}/0")[0] == 200
    cold: list[tuple[int, dict[str, Any] | None, float]] = []
    thread = threading.Thread(target=lambda: cold.append(_get(f"{cold_api}/x")))
    thread.start()
    time.sleep(0.3)  # the cold start is under way
    warm = [_get(f"{slow_api}/0") for _ in range(5)]
    still_cold = thread.is_alive()
    thread.join(30)
    assert [status for status, _, _ in warm] == [200] * 5
    assert still_cold, "the cold start ended before the warm requests: the test proves nothing"
    assert max(seconds for _, _, seconds in warm) < 1.0
    assert cold and cold[0][0] == 200 and cold[0][1] == {"cold": "done"}


def test_a_timeout_and_a_crash_answer_500_and_the_next_request_is_served(slow_api: str) -> None:
    """A function past its 2 s timeout and one that exits each get API Gateway's 500; the loop carries on."""
    with ThreadPoolExecutor(2) as pool:
        timed_out = pool.submit(_get, f"{slow_api}/5")
        time.sleep(0.2)
        crashed = _get(f"{slow_api}/crash")
        during = _get(f"{slow_api}/0")
        status, _, seconds = timed_out.result(30)
    assert status == 500 and 1.9 < seconds < 4.5
    assert crashed[0] == 500
    assert during[0] == 200 and during[2] < 1.5
    assert _get(f"{slow_api}/0")[0] == 200


def _invoke(aws: AwsFactory, path: str) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    response = aws("lambda").invoke(FunctionName="on-loop-slow", Payload=json.dumps({"rawPath": path}))
    return json.loads(response["Payload"].read()), time.monotonic() - started


def test_concurrent_invokes_by_the_operator_run_side_by_side(
    cloud: LocalCloud, aws: AwsFactory, slow_api: str
) -> None:
    """Four boto3 Invokes of a function sleeping 0.6 s take about 0.6 s together; the shortcut served them."""
    served = cloud.invoke_api.served
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: _invoke(aws, "/0"), range(4)))
        started = time.monotonic()
        results = list(pool.map(lambda _: _invoke(aws, "/0.6"), range(4)))
        elapsed = time.monotonic() - started
    assert [json.loads(body["body"])["slept"] for body, _ in results] == [0.6] * 4
    assert elapsed < 4 * 0.6, f"the invokes ran one after the other ({elapsed:.2f} s)"
    assert cloud.invoke_api.served - served == 8
