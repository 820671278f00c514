"""The ledger table at DynamoDB's level: attribute values, calls that fail as one error, conditional updates.

``Table`` wraps the healer's DynamoDB client for one table. Any failure to reach the table raises
``LedgerUnavailable`` (callers fail closed), except a condition that did not hold, which a conditional write
reports as False. ``s``/``n`` build attribute values and ``get_*`` read them back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from healer.clients import error_code
from healer.clock import iso_utc

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

__all__ = [
    "Item",
    "LedgerUnavailable",
    "Table",
    "get_dt_epoch",
    "get_dt_iso",
    "get_n",
    "get_s",
    "n",
    "s",
    "s_time",
]

Item = dict[str, Any]


class LedgerUnavailable(RuntimeError):
    """The ledger table could not be read or written."""


def s(value: str) -> dict[str, str]:
    """A string attribute value."""
    return {"S": str(value)}


def s_time(moment: datetime) -> dict[str, str]:
    """A moment as a string attribute value (``healer.clock.iso_utc``)."""
    return s(iso_utc(moment))


def n(value: float) -> dict[str, str]:
    """A number attribute value (integers without a decimal point)."""
    return {"N": repr(float(value)) if not float(value).is_integer() else str(int(value))}


def get_s(item: Item, name: str) -> str | None:
    """The string attribute ``name`` of ``item``, or None."""
    value = item.get(name)
    return value["S"] if isinstance(value, dict) and "S" in value else None


def get_n(item: Item, name: str) -> float | None:
    """The number attribute ``name`` of ``item``, or None."""
    value = item.get(name)
    return float(value["N"]) if isinstance(value, dict) and "N" in value else None


def get_dt_iso(item: Item, name: str) -> datetime | None:
    """The ISO-8601 string attribute ``name`` of ``item`` as a moment, or None."""
    text = get_s(item, name)
    return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None


def get_dt_epoch(item: Item, name: str) -> datetime | None:
    """The epoch-seconds number attribute ``name`` of ``item`` as a moment, or None."""
    epoch = get_n(item, name)
    return datetime.fromtimestamp(epoch, UTC) if epoch is not None else None


class Table:
    """One DynamoDB table, through the healer's client."""

    def __init__(self, name: str, client: DynamoDBClient) -> None:
        self.name = name
        self.client = client

    def call(self, operation: str, **kwargs: Any) -> Any:
        """Call ``operation`` on the table; a failed condition propagates, anything else is unavailability."""
        try:
            return getattr(self.client, operation)(TableName=self.name, **kwargs)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise
            raise LedgerUnavailable(f"ledger {operation} failed: {error_code(exc)}: {exc}") from exc
        except BotoCoreError as exc:
            raise LedgerUnavailable(f"ledger {operation} failed: {exc}") from exc

    def update(self, key: Item, update: str, condition: str, values: Item, names: Item | None = None) -> bool:
        """Conditional UpdateItem; False when the condition did not hold."""
        kwargs: dict[str, Any] = {
            "Key": key,
            "UpdateExpression": update,
            "ConditionExpression": condition,
            "ExpressionAttributeValues": values,
        }
        if names:
            kwargs["ExpressionAttributeNames"] = names
        try:
            self.call("update_item", **kwargs)
        except ClientError:
            return False
        return True
