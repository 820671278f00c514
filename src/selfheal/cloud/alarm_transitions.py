"""What follows a CloudWatch alarm's state change in the local cloud: history, SNS actions, waiters.

:meth:`AlarmTransitions.record` takes a transition moto's alarm already shows (evaluated by the scheduler,
or set by ``SetAlarmState``), records it in the :class:`~selfheal.cloud.alarm_history.AlarmHistory` (served
by ``DescribeAlarmHistory``) and, when the alarm's actions are enabled, publishes AWS's notification to each
SNS action of the new state through moto's SNS backend (so SNS delivery applies; other actions are recorded
as failed). :meth:`AlarmTransitions.wait_for` waits for one.

Other components follow transitions through one hook (:func:`observe_transitions`): every transition is
handed to each observer (EventBridge's "CloudWatch Alarm State Change" event), and a Lambda function
action is run by the first observer that takes it (AWS's direct invocation payload).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, cast

from .alarm_evaluation import AlarmState
from .alarm_history import AlarmHistory
from .alarm_moto import AlarmState3, alarm_snapshot, epoch
from .alarm_notification import build_notification

__all__ = ["AlarmTransition", "AlarmTransitions", "StateChange", "TransitionObserver", "observe_transitions"]

log = logging.getLogger("selfheal.cloud.alarms")


@dataclass(frozen=True)
class AlarmTransition:
    """One state change: ``timestamp`` in cloud time, ``real_time`` when it happened on this machine."""

    alarm_name: str
    old_state: AlarmState
    new_state: AlarmState
    reason: str
    timestamp: float
    real_time: float
    boundary: float | None
    actions: tuple[str, ...]


class AlarmTransitions:
    """The transitions so far, their history and actions; ``lock`` is held by whoever calls :meth:`record`."""

    def __init__(self, lock: threading.RLock) -> None:
        self.history = AlarmHistory()
        self.transitions: list[AlarmTransition] = []
        self._changed = threading.Condition(lock)

    def record(
        self, alarm: Any, old: AlarmState3, boundary: float | None, *, account_id: str, region: str
    ) -> AlarmTransition:
        """Record a transition moto's alarm already shows, then run the new state's actions."""
        changed_at = epoch(alarm.state_updated_timestamp)
        new_state = cast(AlarmState, alarm.state_value)
        self.history.state_update(
            alarm.name, changed_at, old, (new_state, alarm.state_reason, alarm.state_reason_data or "")
        )
        snapshot = alarm_snapshot(alarm)
        actions = snapshot.actions_for(new_state) if alarm.actions_enabled else ()
        transition = AlarmTransition(
            alarm.name,
            cast(AlarmState, old[0]),
            new_state,
            alarm.state_reason,
            changed_at,
            time.time(),
            boundary,
            actions,
        )
        log.info("alarm %s: %s -> %s: %s", alarm.name, old[0], new_state, alarm.state_reason)
        change = StateChange(alarm, old, self._previous_change(alarm), changed_at, account_id, region)
        if actions:
            notification = build_notification(
                snapshot,
                old_state=cast(AlarmState, old[0]),
                new_state=new_state,
                reason=alarm.state_reason,
                change_time=changed_at,
                account_id=account_id,
                region=region,
            )
            for action in actions:
                if _is_lambda(action):
                    error = _run_lambda_action(action, change)
                else:
                    error = publish(action, notification.subject, notification.message)
                self.history.action(alarm.name, changed_at, action, error)
        _notify(change)
        self.transitions.append(transition)
        self._changed.notify_all()
        return transition

    def _previous_change(self, alarm: Any) -> float | None:
        """When ``alarm`` last changed state before now (its latest transition here), if known."""
        for transition in reversed(self.transitions):
            if transition.alarm_name == alarm.name:
                return transition.timestamp
        return None

    def wait_for(
        self, alarm_name: str, state: AlarmState, timeout: float, *, after: int = 0
    ) -> AlarmTransition | None:
        """Wait up to ``timeout`` real seconds for a transition of ``alarm_name`` into ``state``.

        Only transitions from index ``after`` of :attr:`transitions` on count. Return it, or None.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for transition in self.transitions[after:]:
                    if transition.alarm_name == alarm_name and transition.new_state == state:
                        return transition
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._changed.wait(remaining)


# -- the hook: observers of transitions (EventBridge events, Lambda function actions) -----------------------


@dataclass(frozen=True)
class StateChange:
    """A transition for observers: moto's alarm (new state already set), the old state and both times."""

    alarm: Any
    old: AlarmState3
    old_timestamp: float | None
    timestamp: float
    account_id: str
    region: str


class TransitionObserver(Protocol):
    """Follows transitions; called under the scheduler's lock, so it must not block."""

    def state_changed(self, change: StateChange) -> None:
        """A transition happened (whatever the alarm's actions)."""
        ...

    def lambda_action(self, action: str, change: StateChange) -> str | None:
        """Invoke the Lambda function ARN ``action`` for ``change``; return an error text, or None."""
        ...


_observers: list[TransitionObserver] = []


def observe_transitions(observer: TransitionObserver) -> Callable[[], None]:
    """Hand every transition to ``observer`` (process-wide, as moto is); return the function that stops it."""
    _observers.append(observer)

    def remove() -> None:
        if observer in _observers:
            _observers.remove(observer)

    return remove


def _is_lambda(action: str) -> bool:
    parts = action.split(":")
    return len(parts) >= 7 and parts[2] == "lambda" and parts[5] == "function"


def _run_lambda_action(action: str, change: StateChange) -> str | None:
    observers = list(_observers)
    if observers:
        return observers[0].lambda_action(action, change)
    log.warning("alarm action %s: no component runs Lambda alarm actions", action)
    return "no component of the local cloud runs Lambda alarm actions"


def _notify(change: StateChange) -> None:
    for observer in list(_observers):
        try:
            observer.state_changed(change)
        except Exception:
            log.exception("a transition observer failed")


def publish(action: str, subject: str, message: str) -> str | None:
    """Publish to an SNS action ARN; return an error text instead of raising."""
    parts = action.split(":")
    if len(parts) < 6 or parts[2] != "sns":
        log.warning("alarm action %s is not an SNS topic; only SNS actions run locally", action)
        return "only SNS actions run in the local cloud"
    from moto.sns.models import sns_backends

    try:
        sns_backends[parts[4]][parts[3]].publish(message, arn=action, subject=subject)
    except Exception as exc:
        log.warning("alarm action %s failed: %s", action, exc)
        return str(exc)
    return None
