"""``restart``: give the target a new configuration, so that Lambda starts new execution environments.

It sets ``HEALED_RESTART`` to the incident id (with ``HEALED_AT``, ``HEALED_BY`` and
``PREVIOUS_HEALED_RESTART``), keeping every other variable, guarded by the ``RevisionId`` the plan read.
``HEALED_RESTART`` is its own incident marker: it does not write ``HEALED_INCIDENT``, which says that
``set_env``'s variables landed. The plan has landed when ``HEALED_RESTART`` already equals the incident.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from healer.actions.environment import apply_environment, plan_environment, read_environment, undo_environment
from healer.actions.model import ActionOutcome, Backoff, Change, Plan, Target
from healer.clock import Clock

if TYPE_CHECKING:
    from mypy_boto3_lambda import LambdaClient

__all__ = ["RESTART_MARKER", "Restart"]

RESTART_MARKER = "HEALED_RESTART"


class Restart:
    """Set ``HEALED_RESTART=<incident id>`` so the next invocations cold-start."""

    name = "restart"

    def plan(self, lambda_client: LambdaClient, target: Target, incident_id: str) -> Plan:
        """Read the variables; one change (``HEALED_RESTART``) unless it landed; may raise
        ``TargetUnreadable``."""
        environment = read_environment(lambda_client, target.function_name)
        landed = environment.variables.get(RESTART_MARKER) == incident_id
        return plan_environment(
            self.name,
            target,
            incident_id,
            {RESTART_MARKER: incident_id},
            landed=landed,
            environment=environment,
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
        """Write ``HEALED_RESTART`` and the markers (RevisionId-guarded), wait for the update; never
        raises."""
        return apply_environment(
            lambda_client,
            plan,
            action=self.name,
            incident_marker=None,
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
        """Put ``HEALED_RESTART`` back (absent → removed) where it still names the incident; never raises.

        This is a new configuration too: the next invocations cold-start again.
        """
        return undo_environment(
            lambda_client, changes, clock=clock, backoff=backoff, settle_timeout=settle_timeout
        )
