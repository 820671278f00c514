"""Lambda logs in a cloud running 3,600 times faster than real time: cloud timestamps, retention, byte cap."""

from __future__ import annotations

import gc
import json
import time
import weakref
from collections.abc import Callable
from typing import Any

from moto.cloudwatch.models import MetricDatum
from moto.logs.models import LogEvent

from selfheal.cloud import LocalCloud
from selfheal.cloud.log_limits import event_size

# One real second is one cloud hour: a day of retention passes in 24 s.
CLOUD_TIME_SCALE = 3600.0

AwsFactory = Callable[..., Any]
FunctionFactory = Callable[..., str]

CHATTY = """
def handler(event, context):
    for index in range(event.get("lines", 1)):
        print(f"{event['tag']} line {index:04d} " + "." * 80)
    return event["tag"]
"""


def _run(aws: AwsFactory, name: str, tag: str, lines: int = 1) -> None:
    response = aws("lambda").invoke(FunctionName=name, Payload=json.dumps({"tag": tag, "lines": lines}))
    assert "FunctionError" not in response, response["Payload"].read()


def _events(aws: AwsFactory, cloud: LocalCloud, name: str) -> list[dict[str, Any]]:
    cloud.logs.flush()
    paginator = aws("logs").get_paginator("filter_log_events")
    return [e for page in paginator.paginate(logGroupName=f"/aws/lambda/{name}") for e in page["events"]]


def _stream_events(aws: AwsFactory, name: str, stream: str) -> list[dict[str, Any]]:
    answer = aws("logs").get_log_events(
        logGroupName=f"/aws/lambda/{name}", logStreamName=stream, startFromHead=True
    )
    return list(answer["events"])


def test_log_events_are_stamped_in_cloud_time(
    aws: AwsFactory, cloud: LocalCloud, make_function: FunctionFactory
) -> None:
    """Even hours ahead of the real clock (moto's PutLogEvents would refuse that), events carry cloud time."""
    make_function("clocked", CHATTY)
    while cloud.clock.now() - time.time() < 3 * 3600:
        time.sleep(0.1)
    before = cloud.clock.now() * 1000
    _run(aws, "clocked", "clocked")
    events = _events(aws, cloud, "clocked")
    after = cloud.clock.now() * 1000
    assert any(e["message"].startswith("clocked line 0000") for e in events)
    for event in events:
        assert before - 1000 <= event["timestamp"] <= after, (before, event, after)
        assert event["timestamp"] > (time.time() + 2 * 3600) * 1000
        assert before - 1000 <= event["ingestionTime"] <= after


def test_events_older_than_the_groups_retention_disappear(
    aws: AwsFactory, cloud: LocalCloud, make_function: FunctionFactory
) -> None:
    """With retentionInDays 1, a day of cloud time later the first events are gone from FilterLogEvents and
    GetLogEvents; the events since stay."""
    name = make_function("retained", CHATTY)
    group = f"/aws/lambda/{name}"
    aws("logs").create_log_group(logGroupName=group)
    aws("logs").put_retention_policy(logGroupName=group, retentionInDays=1)
    _run(aws, name, "old")
    first = _events(aws, cloud, name)
    assert any(e["message"].startswith("old line") for e in first)
    stream = first[0]["logStreamName"]
    expires = max(e["timestamp"] for e in first) / 1000 + 86_400 + 120
    while cloud.clock.now() < expires:
        time.sleep(0.2)
    _run(aws, name, "new")
    time.sleep(1.5)  # the flusher sweeps what expired within a second
    messages = [e["message"] for e in _events(aws, cloud, name)]
    assert not any(m.startswith("old line") for m in messages)
    assert any(m.startswith("new line") for m in messages)
    in_stream = [e["message"] for e in _stream_events(aws, name, stream)]
    assert not any(m.startswith("old line") for m in in_stream)
    assert any(m.startswith("new line") for m in in_stream)
    assert all(e["timestamp"] >= (cloud.clock.now() - 86_400) * 1000 for e in _events(aws, cloud, name))


def test_a_group_over_the_byte_cap_keeps_only_its_newest_events(
    aws: AwsFactory, cloud: LocalCloud, make_function: FunctionFactory
) -> None:
    """Past max_group_bytes, the oldest events are dropped first; what stays fits in the cap, and what was
    dropped is freed (moto's per-class list of every instance it made does not hold log events or datums)."""
    name = make_function("capped", CHATTY)
    limits = cloud.logs.limits
    saved, limits.max_group_bytes = limits.max_group_bytes, 8192
    try:
        _run(aws, name, "round0", lines=30)
        cloud.logs.flush()
        group = cloud.backend("logs").groups[f"/aws/lambda/{name}"]
        first = weakref.ref(next(iter(group.streams.values())).events[0])
        for round_ in range(1, 6):
            _run(aws, name, f"round{round_}", lines=30)
            cloud.logs.flush()
        events = _events(aws, cloud, name)
    finally:
        limits.max_group_bytes = saved
    gc.collect()
    assert first() is None
    assert LogEvent.instances_tracked == [] and MetricDatum.instances_tracked == []
    messages = [e["message"] for e in events]
    assert sum(event_size(m) for m in messages) <= 8192
    assert limits.stored_bytes(f"/aws/lambda/{name}") == sum(event_size(m) for m in messages)
    assert any(m.startswith("round5 line 0029") for m in messages)
    assert not any(m.startswith("round0 ") for m in messages)
    assert messages[-1].startswith("REPORT RequestId: ")
    streams = aws("logs").describe_log_streams(logGroupName=f"/aws/lambda/{name}")["logStreams"]
    assert sum(s["storedBytes"] for s in streams) == sum(len(m) for m in messages)
