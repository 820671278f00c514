"""Escalation to people: a readable message on the escalation topic when the healer will not fix it.

The message says what was seen, what was decided, why, and what to do (``healer.decisions.advice_for``).
Publishing failures are logged loudly and reported as False; they never raise, so a failing topic cannot
make Lambda retry forever.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from healer.decisions import EscalationCode, advice_for
from healer.log import logger

if TYPE_CHECKING:
    from mypy_boto3_sns import SNSClient

__all__ = ["MAX_SUBJECT", "Escalation", "publish_escalation", "subject_line"]

MAX_SUBJECT = 100


@dataclass(frozen=True)
class Escalation:
    """What the people on call need to know."""

    alarm_name: str
    code: EscalationCode
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
