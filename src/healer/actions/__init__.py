"""The healer's remediations: one module per action, each planning, applying and undoing its change.

``plan`` reads the target and says what would change (or why it cannot run); ``apply`` and ``undo``
return an ``ActionOutcome`` and never raise, and record each change before → after so that the ledger
can explain it and ``selfheal restore`` can undo it. ``ACTIONS`` (``healer.actions.catalogue``) maps a
playbook's action names to the actions. The contract is docs/platform.md, "Actions".
"""

from healer.actions.calls import TEMPORARY_ERROR_CODES, Action
from healer.actions.catalogue import ACTION_NAMES, ACTIONS
from healer.actions.clamp_concurrency import ClampConcurrency
from healer.actions.disable_event_source import DisableEventSource
from healer.actions.model import (
    ActionOutcome,
    Backoff,
    Change,
    JsonScalar,
    Plan,
    Target,
    TargetUnreadable,
)
from healer.actions.restart import Restart
from healer.actions.rollback_alias import RollbackAlias
from healer.actions.set_env import SetEnv

__all__ = [
    "ACTIONS",
    "ACTION_NAMES",
    "TEMPORARY_ERROR_CODES",
    "Action",
    "ActionOutcome",
    "Backoff",
    "Change",
    "ClampConcurrency",
    "DisableEventSource",
    "JsonScalar",
    "Plan",
    "Restart",
    "RollbackAlias",
    "SetEnv",
    "Target",
    "TargetUnreadable",
]
