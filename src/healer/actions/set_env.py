"""``set_env``: set the target's configured variables (the seed's ``FAILURE_RATE=0``), keeping the others.

The write adds ``HEALED_AT``, ``HEALED_BY``, ``HEALED_INCIDENT`` and ``PREVIOUS_<VAR>`` for each variable
it sets, and is guarded by the ``RevisionId`` the plan read. The plan has one change per variable whose
value differs; it has landed when the function carries ``HEALED_INCIDENT`` equal to the incident and every
variable already has its value. It refuses an empty ``set_env`` and variables named like the healer's own
markers (``HEALED_*``, ``PREVIOUS_*``).
"""

from __future__ import annotations

from collections.abc import Mapping

from healer.actions.environment import MARKER_PREFIXES, EnvironmentAction
from healer.actions.model import Target

__all__ = ["INCIDENT_MARKER", "SetEnv"]

INCIDENT_MARKER = "HEALED_INCIDENT"


class SetEnv(EnvironmentAction):
    """Write ``target.set_env`` into the function's environment (RevisionId-guarded, then wait for the
    update); an undo puts each variable back (absent → removed) where it still has the recorded value."""

    name = "set_env"
    incident_marker = INCIDENT_MARKER

    def wanted(self, target: Target, incident_id: str) -> Mapping[str, str]:
        """``target.set_env``."""
        return dict(target.set_env)

    def refusal(self, wanted: Mapping[str, str]) -> str | None:
        """An empty ``set_env``, or one naming the healer's own markers, is refused."""
        reserved = sorted(name for name in wanted if name.startswith(MARKER_PREFIXES))
        if not wanted:
            return "set_env is empty: there is no variable to set"
        if reserved:
            return f"set_env names the healer's own markers ({', '.join(reserved)}): not setting them"
        return None
