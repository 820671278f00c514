"""Causes a scenario's failure during the demo's traffic: once, in a thread, so the live view keeps going.

The failure waits for clean traffic first (a bad deploy replaces a version that served well), then runs
the scenario's ``breaks`` (:class:`selfheal.demo.plays.Play`); the demo takes its result once, to record
the event and the value the healer must move away from.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from selfheal.demo.plays import Breakage, Play
from selfheal.demo.timeline import Event, Timeline
from selfheal.stack.control import StackError, UpResult
from selfheal.workdir import Workdir

__all__ = ["Breaker"]


class Breaker:
    """Causes the scenario's failure once, in a thread, after clean traffic has flowed for a while."""

    def __init__(
        self,
        scenario: Play,
        workdir: Workdir,
        deployed: UpResult,
        lam: Any,
        variables: Mapping[str, str],
    ) -> None:
        self.scenario, self.workdir, self.deployed = scenario, workdir, deployed
        self.lam, self.variables = lam, variables
        self.result: Breakage | None = None
        self._taken = False
        self.error: str | None = None
        self._thread: threading.Thread | None = None

    @property
    def pending(self) -> bool:
        """The failure is still to be caused (or is being caused)."""
        return self.scenario.breaks is not None and (self.result is None and self.error is None)

    def maybe_start(self, at: float, timeline: Timeline, after: float) -> list[Event]:
        """Start the failure once ``after`` real seconds of traffic have passed and requests were served."""
        traffic = timeline.latest.traffic
        if self._thread is not None or self.scenario.breaks is None or at < after:
            return []
        if traffic is None or traffic.completed == 0:
            return []
        self._thread = threading.Thread(target=self._run, name="demo-breakage", daemon=True)
        self._thread.start()
        return [timeline.note(at, "deploy", f"{self.scenario.name}: {self.scenario.breaking}…")]

    def take(self) -> Breakage | None:
        """What the failure did, once, when it is done (None before, and after the first take)."""
        if self.result is None or self._taken:
            return None
        self._taken = True
        return self.result

    def _run(self) -> None:
        assert self.scenario.breaks is not None
        try:
            self.result = self.scenario.breaks(
                self.workdir, self.deployed.cloud.endpoint, self.variables, self.lam, self.deployed.outputs
            )
        except (StackError, BotoCoreError, ClientError, OSError, ValueError) as error:
            self.error = f"{self.scenario.name}: the failure could not be caused: {error}"

    def join(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for a failure still being caused."""
        if self._thread is not None:
            self._thread.join(timeout)
