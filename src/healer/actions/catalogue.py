"""The catalogue of actions a playbook may name: ``ACTIONS`` maps each name to its ``Action``."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from healer.actions.calls import Action
from healer.actions.clamp_concurrency import ClampConcurrency
from healer.actions.disable_event_source import DisableEventSource
from healer.actions.restart import Restart
from healer.actions.rollback_alias import RollbackAlias
from healer.actions.set_env import SetEnv

__all__ = ["ACTIONS", "ACTION_NAMES"]

_ACTIONS: tuple[Action, ...] = (
    SetEnv(),
    RollbackAlias(),
    ClampConcurrency(),
    DisableEventSource(),
    Restart(),
)

ACTIONS: Mapping[str, Action] = MappingProxyType({action.name: action for action in _ACTIONS})
"""Every action by name (docs/platform.md, "Actions")."""

ACTION_NAMES: tuple[str, ...] = tuple(ACTIONS)
"""The names a playbook may use, in the order docs/platform.md lists them."""
