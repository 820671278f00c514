"""``restart``: give the target a new configuration, so that Lambda starts new execution environments.

It sets ``HEALED_RESTART`` to the incident id (with ``HEALED_AT``, ``HEALED_BY`` and
``PREVIOUS_HEALED_RESTART``), keeping every other variable, guarded by the ``RevisionId`` the plan read.
``HEALED_RESTART`` is its own incident marker: it does not write ``HEALED_INCIDENT``, which says that
``set_env``'s variables landed. The plan has landed when ``HEALED_RESTART`` already equals the incident.
"""

from __future__ import annotations

from collections.abc import Mapping

from healer.actions.environment import EnvironmentAction
from healer.actions.model import Target

__all__ = ["RESTART_MARKER", "Restart"]

RESTART_MARKER = "HEALED_RESTART"


class Restart(EnvironmentAction):
    """Set ``HEALED_RESTART=<incident id>`` so the next invocations cold-start (RevisionId-guarded, then
    wait for the update). An undo puts ``HEALED_RESTART`` back (absent → removed) where it still names the
    incident: a new configuration too, so the next invocations cold-start again."""

    name = "restart"

    def wanted(self, target: Target, incident_id: str) -> Mapping[str, str]:
        """``HEALED_RESTART``, set to the incident (its change has landed when it already is)."""
        return {RESTART_MARKER: incident_id}
