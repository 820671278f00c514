"""What an EventBridge rule's target and an EventBridge Scheduler schedule's target share: their
``retry_policy`` and ``dead_letter_config`` blocks, sent as the same ``RetryPolicy`` and
``DeadLetterConfig``."""

from __future__ import annotations

from typing import Any

from selfheal.terraform.aws_resources._common import one_block
from selfheal.terraform.resource import State

__all__ = ["retry_and_dead_letter"]


def retry_and_dead_letter(target: State) -> dict[str, Any]:
    """The ``RetryPolicy`` and ``DeadLetterConfig`` of a target, for those of its blocks that are set."""
    args: dict[str, Any] = {}
    retry = one_block(target.get("retry_policy"))
    if retry:
        args["RetryPolicy"] = {
            key: int(retry[name])
            for key, name in (
                ("MaximumEventAgeInSeconds", "maximum_event_age_in_seconds"),
                ("MaximumRetryAttempts", "maximum_retry_attempts"),
            )
            if retry.get(name) is not None
        }
    dlq = one_block(target.get("dead_letter_config"))
    if dlq and dlq.get("arn"):
        args["DeadLetterConfig"] = {"Arn": dlq["arn"]}
    return args
