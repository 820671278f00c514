"""Escalation to people: a readable message on the escalation topic when the healer will not fix it.

The message says what was seen, what was decided, why, and what to do. Publishing failures are logged
loudly and reported as False; they never raise, so a failing topic cannot make Lambda retry forever.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from healer.log import logger

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

__all__ = ["MAX_SUBJECT", "Escalation", "advice_for", "publish_escalation", "subject_line"]

MAX_SUBJECT = 100


_ADVICE = {
    "failure_rate_zero": "The errors are not caused by injected failures (FAILURE_RATE is 0), so the healer "
    "cannot help. Read the function's logs and recent deployments and fix the cause.",
    "cooldown": "A remediation was applied recently and the alarm fired again: something keeps breaking "
    "the function. Find what raises FAILURE_RATE (a deploy, an operator, a script) before resetting it.",
    "action_cap": "The healer reached its cap of automatic actions for the window. The problem keeps "
    "coming back: investigate it; the next terraform apply restores the baseline configuration.",
    "target_unreadable": "The healer could not read the function's configuration. Check that it exists "
    "and that the healer's role may call lambda:GetFunctionConfiguration on it.",
    "permanent_error": "The remediation call was refused. Check the healer's IAM permissions "
    "(lambda:UpdateFunctionConfiguration) and the function's state, then reset FAILURE_RATE by hand.",
    "retries_exhausted": "The function stayed busy or throttled. Reset FAILURE_RATE by hand once its "
    "update finishes, and check for competing deployments.",
    "not_settled": "The configuration update did not finish. Check the function's LastUpdateStatus.",
    "verify_timeout": "FAILURE_RATE was reset but the alarm is still not OK. The failure has another cause: "
    "read the function's logs and metrics.",
    "ledger_unavailable": "The healer could not use its ledger, so it took no action (fail closed). Check "
    "the DynamoDB table and the healer's permissions, then remediate by hand if needed.",
    "internal_error": "The healer itself failed while handling this alarm (see its logs). Check the "
    "function and remediate by hand if needed.",
    "revision_changed": "The function kept changing while the healer tried to act. Someone else is "
    "changing it: coordinate before remediating by hand.",
}


@dataclass(frozen=True)
class Escalation:
    """What the people on call need to know."""

    alarm_name: str
    code: str
    seen: str
    decided: str
    why: str
    incident_id: str | None = None

    def body(self) -> str:
        """The human-readable message."""
        lines = [
            f"selfheal escalation for alarm {self.alarm_name}",
            "",
            f"What was seen:   {self.seen}",
            f"What was done:   {self.decided}",
            f"Why:             {self.why}",
            f"What to do:      {advice_for(self.code)}",
        ]
        if self.incident_id:
            lines.append(f"Incident:        {self.incident_id} (see `selfheal status`)")
        return "\n".join(lines) + "\n"


def advice_for(code: str) -> str:
    """The recommended human action for a decision or outcome code."""
    return _ADVICE.get(code, "Look at the healer's logs for this incident and decide what to do.")


def subject_line(alarm_name: str, code: str) -> str:
    """An SNS-valid subject: printable ASCII, one line, at most 100 characters."""
    text = f"selfheal: {code.replace('_', ' ')} for {alarm_name}"
    text = re.sub(r"[^\x20-\x7e]", "?", text)
    return text if len(text) <= MAX_SUBJECT else text[: MAX_SUBJECT - 3] + "..."


def publish_escalation(client: SNSClient, topic_arn: str, escalation: Escalation) -> bool:
    """Publish the escalation; on failure log an error and return False."""
    try:
        client.publish(
            TopicArn=topic_arn,
            Subject=subject_line(escalation.alarm_name, escalation.code),
            Message=escalation.body(),
        )
    except (ClientError, BotoCoreError) as exc:
        logger.error(
            "ESCALATION NOT DELIVERED: nobody has been told",
            extra={"topic": topic_arn, "escalation_error": str(exc), "escalation": escalation.body()},
        )
        return False
    return True
