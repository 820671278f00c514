"""The safety rails as pure checks: per function (cooldown, cap per window) and fleet-wide (in flight, rate).

Each check returns the escalation that stops an action, or None when the rail holds. ``healer.policy``
applies them in order; ``healer.claims`` makes what they read consistent (every claim moves the versions
of the function's control item and the fleet item it was decided on).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from healer.decisions import Decision, EscalationCode
from healer.registry import Rails

__all__ = [
    "FLEET_WINDOW_SECONDS",
    "FleetLimits",
    "RailState",
    "actions_in_window",
    "fleet_check",
    "function_check",
]

FLEET_WINDOW_SECONDS = 3600.0


@dataclass(frozen=True)
class FleetLimits:
    """The fleet-wide rails (``FLEET_MAX_IN_FLIGHT``, ``FLEET_MAX_ACTIONS_PER_HOUR``)."""

    max_in_flight: int = 3
    max_actions_per_hour: int = 10


@dataclass(frozen=True)
class RailState:
    """What the ledger says the rails count: this function's actions, and the fleet's."""

    last_action_at: float | None = None
    action_times: tuple[float, ...] = ()
    fleet_in_flight: tuple[str, ...] = ()
    """Other incidents in flight across the fleet (this one excluded)."""
    fleet_action_times: tuple[float, ...] = ()


def actions_in_window(times: Iterable[float], now: float, window_seconds: float) -> list[float]:
    """Return the action times inside the window ``(now - window_seconds, now]``."""
    return sorted(t for t in times if now - window_seconds < t <= now)


def function_check(state: RailState, rails: Rails, now: float, *, cooldown: bool = True) -> Decision | None:
    """The per-function rails: the cooldown since the last action (unless ``cooldown`` is False: a next
    step of the same incident) and the cap of actions per window."""
    if cooldown and state.last_action_at is not None and now - state.last_action_at < rails.cooldown_seconds:
        since = now - state.last_action_at
        return Decision(
            EscalationCode.COOLDOWN,
            f"last action was {since:.0f}s ago, inside the {rails.cooldown_seconds:g}s cooldown; "
            "the remediation did not hold",
        )
    recent = actions_in_window(state.action_times, now, rails.action_window_seconds)
    if len(recent) >= rails.max_actions_per_window:
        return Decision(
            EscalationCode.ACTION_CAP,
            f"{len(recent)} actions in the last {rails.action_window_seconds:g}s reach the cap of "
            f"{rails.max_actions_per_window}",
        )
    return None


def fleet_check(state: RailState, limits: FleetLimits, now: float) -> Decision | None:
    """The fleet rails: incidents in flight at once, and actions per hour across every function."""
    if len(state.fleet_in_flight) >= limits.max_in_flight:
        shown = ", ".join(state.fleet_in_flight[:5]) + (" …" if len(state.fleet_in_flight) > 5 else "")
        return Decision(
            EscalationCode.FLEET_IN_FLIGHT,
            f"{len(state.fleet_in_flight)} other incidents are being remediated ({shown}); the fleet allows "
            f"{limits.max_in_flight} at once",
        )
    recent = actions_in_window(state.fleet_action_times, now, FLEET_WINDOW_SECONDS)
    if len(recent) >= limits.max_actions_per_hour:
        return Decision(
            EscalationCode.FLEET_RATE,
            f"{len(recent)} actions across the fleet in the last hour reach its cap of "
            f"{limits.max_actions_per_hour}",
        )
    return None
