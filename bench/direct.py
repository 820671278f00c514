"""Call the fragile service's handler directly, in-process, in a closed loop: the ceiling of the code itself.

Run as ``python -m bench.direct --duration S`` (in its own process, so the handler's module state and its
log output stay out of the benchmark's process); prints the same JSON summary as ``bench.loadgen``.
The handler's log lines go to /dev/null (file descriptor 1 is redirected), as a Lambda's stdout
costs its caller nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from bench.loadgen import LoadResult

__all__ = ["main", "run_direct"]

_EVENT_FILE = Path(__file__).resolve().parent.parent / "tests" / "events" / "http_api_get_root.json"


@dataclass
class _Context:
    aws_request_id: str
    deadline: float

    def get_remaining_time_in_millis(self) -> int:
        return int((self.deadline - time.time()) * 1000)


def run_direct(duration: float) -> LoadResult:
    """Call ``fragile_service.app.handler`` with FAILURE_RATE=0 for ``duration`` seconds."""
    os.environ.update({"FAILURE_RATE": "0", "FAILURE_MODE": "exception", "POWERTOOLS_SERVICE_NAME": "bench"})
    from fragile_service.app import handler

    event = json.loads(_EVENT_FILE.read_text(encoding="utf-8"))
    result = LoadResult()
    # Powertools' logger holds the original sys.stdout: silence file descriptor 1 itself.
    saved = os.dup(1)
    sink = os.open(os.devnull, os.O_WRONLY)
    sys.stdout.flush()
    os.dup2(sink, 1)
    try:
        start = time.perf_counter()
        stop_at = start + duration
        while True:
            began = time.perf_counter()
            if began >= stop_at:
                break
            result.sent += 1
            response = handler(event, _Context(str(uuid.uuid4()), time.time() + 3))
            result.latencies_ms.append((time.perf_counter() - began) * 1000.0)
            result.statuses[int(response["statusCode"])] += 1
        result.seconds = time.perf_counter() - start
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(sink)
        os.close(saved)
    return result


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: print the JSON summary."""
    parser = argparse.ArgumentParser(prog="python -m bench.direct", description=__doc__)
    parser.add_argument("--duration", type=float, default=3.0)
    args = parser.parse_args(argv)
    json.dump(run_direct(args.duration).summary(), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
