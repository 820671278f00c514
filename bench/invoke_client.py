"""boto3 Lambda ``Invoke`` latency, measured from its own process.

The peer benchmark runs the LocalCloud in its own process: a boto3 client there would share the cloud's
GIL and slow it down, and serverless-offline's client would not. This client runs apart for both targets,
as a user's program does. It reads one JSON object on stdin (``endpoint``, ``function``, ``payload_file``,
``count``, ``warmup``, ``region``, and the credentials) and prints the latencies in milliseconds, a JSON list.
Run as ``python -m bench.invoke_client < config.json``.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

__all__ = ["main", "measure"]


def measure(config: dict[str, Any]) -> list[float]:
    """``count`` Invoke latencies (ms) after ``warmup`` calls; RuntimeError when an Invoke fails."""
    import boto3

    client = boto3.client(
        "lambda",
        endpoint_url=config["endpoint"],
        region_name=config.get("region", "us-east-1"),
        aws_access_key_id=config["access_key_id"],
        aws_secret_access_key=config["secret_access_key"],
        aws_session_token=config.get("session_token"),
    )
    payload = Path(config["payload_file"]).read_bytes()
    function = config["function"]
    for _ in range(int(config.get("warmup", 5))):
        client.invoke(FunctionName=function, Payload=payload)["Payload"].read()
    latencies = []
    for _ in range(int(config["count"])):
        started = time.perf_counter()
        answer = client.invoke(FunctionName=function, Payload=payload)
        answer["Payload"].read()
        latencies.append((time.perf_counter() - started) * 1000)
        if answer["StatusCode"] != 200 or answer.get("FunctionError"):
            raise RuntimeError(f"Invoke of {function} failed: {answer.get('FunctionError')}")
    return latencies


def main() -> None:
    print(json.dumps(measure(json.load(sys.stdin))))


if __name__ == "__main__":
    main()
