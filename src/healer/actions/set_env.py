"""``set_env``: set the target's configured variables (the seed's ``FAILURE_RATE=0``), keeping the others.

The write adds ``HEALED_AT``, ``HEALED_BY``, ``HEALED_INCIDENT`` and ``PREVIOUS_<VAR>`` for each variable
it sets, and is guarded by the ``RevisionId`` the plan read. The plan has one change per variable whose
value differs; it has landed when the function carries ``HEALED_INCIDENT`` equal to the incident and every
variable already has its value. It refuses an empty ``set_env`` and variables named like the healer's own
markers (``HEALED_*``, ``PREVIOUS_*``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from healer.actions.environment import (
    MARKER_PREFIXES,
    apply_environment,
    plan_environment,
    read_environment,
    undo_environment,
)
from healer.actions.model import ActionOutcome, Backoff, Change, Plan, Target
from healer.clock import Clock

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

__all__ = ["INCIDENT_MARKER", "SetEnv"]

INCIDENT_MARKER = "HEALED_INCIDENT"


class SetEnv:
    """Write ``target.set_env`` into the function's environment."""

    name = "set_env"

    def plan(self, lambda_client: LambdaClient, target: Target, incident_id: str) -> Plan:
        """Read the variables and say which of ``target.set_env`` differ; may raise ``TargetUnreadable``."""
        environment = read_environment(lambda_client, target.function_name)
        wanted = dict(target.set_env)
        current = environment.variables
        reserved = sorted(name for name in wanted if name.startswith(MARKER_PREFIXES))
        refusal = None
        if not wanted:
            refusal = "set_env is empty: there is no variable to set"
        elif reserved:
            refusal = f"set_env names the healer's own markers ({', '.join(reserved)}): not setting them"
        landed = current.get(INCIDENT_MARKER) == incident_id and all(
            current.get(name) == value for name, value in wanted.items()
        )
        return plan_environment(
            self.name, target, incident_id, wanted, landed=landed, environment=environment, refusal=refusal
        )

    def apply(
        self,
        lambda_client: LambdaClient,
        plan: Plan,
        *,
        clock: Clock,
        backoff: Backoff | None = None,
        settle_timeout: float = 30.0,
        before_update: Callable[[], bool] | None = None,
    ) -> ActionOutcome:
        """Write the variables and markers (RevisionId-guarded), then wait for the update; never raises."""
        return apply_environment(
            lambda_client,
            plan,
            action=self.name,
            incident_marker=INCIDENT_MARKER,
            clock=clock,
            backoff=backoff,
            settle_timeout=settle_timeout,
            before_update=before_update,
        )

    def undo(
        self,
        lambda_client: LambdaClient,
        changes: Sequence[Change],
        *,
        clock: Clock,
        backoff: Backoff | None = None,
        settle_timeout: float = 30.0,
    ) -> ActionOutcome:
        """Put each variable back (absent → removed) where it still has the recorded value; never raises."""
        return undo_environment(
            lambda_client, changes, clock=clock, backoff=backoff, settle_timeout=settle_timeout
        )
