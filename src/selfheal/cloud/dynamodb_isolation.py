"""DynamoDB operations one at a time, so that a transaction is atomic against concurrent requests as on AWS.

DynamoDB's ``TransactWriteItems`` is all or nothing, and serializable with every other write; a read never
sees part of a transaction. moto 5.2 has no such isolation between requests: ``transact_write_items``
deep-copies each table it touches and, when a condition fails, puts those copies back, which discards
whatever other requests committed meanwhile (lost updates); a copy taken while another request inserts an
item fails with ``dictionary changed size during iteration``. The local cloud serves requests in several
threads, and the healer's claims are transactions: under load, two incidents could both win one claim.

While started, this component makes every moto DynamoDB backend method that reads or writes items, or
creates, replaces or copies a table, take one re-entrant lock (through a
:class:`~selfheal.cloud.moto_patches.MotoPatches` registry; re-entrant because moto's transactions call its
own ``put_item``, ``update_item`` and ``delete_item``). moto serves each of these in well under a millisecond
for the tables a local stack holds, so one lock costs little.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from typing import Any

from .moto_patches import MotoPatches
from .protocol import Cloud

__all__ = ["SERIALIZED_OPERATIONS", "DynamoDbIsolation"]

#: moto's DynamoDBBackend methods that run under the lock.
SERIALIZED_OPERATIONS = (
    "batch_execute_statement",
    "batch_get_item",
    "batch_write_item",
    "create_backup",
    "create_table",
    "delete_item",
    "delete_table",
    "execute_statement",
    "execute_transaction",
    "get_item",
    "put_item",
    "query",
    "restore_table_from_backup",
    "restore_table_to_point_in_time",
    "scan",
    "transact_get_items",
    "transact_write_items",
    "update_item",
    "update_table",
)


class DynamoDbIsolation:
    """Serialize moto's DynamoDB operations while started; a LocalCloud component."""

    def __init__(self) -> None:
        self._patches = MotoPatches()
        self.lock = threading.RLock()

    def start(self, cloud: Cloud) -> None:
        """Wrap moto's DynamoDB operations in the lock; raise MotoIncompatible if one is missing."""
        from moto.dynamodb.models import DynamoDBBackend

        if self._patches.installed:
            raise RuntimeError("DynamoDB isolation is already started")
        lock = self.lock

        def serialized(original: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(original)
            def operation(*args: Any, **kwargs: Any) -> Any:
                with lock:
                    return original(*args, **kwargs)

            return operation

        patches = MotoPatches()
        for name in SERIALIZED_OPERATIONS:
            patches.replace(
                DynamoDBBackend,
                name,
                serialized,
                reason="run DynamoDB operations one at a time: moto's transactions are not isolated",
            )
        patches.install()
        self._patches = patches

    def stop(self) -> None:
        """Give moto its own methods back (idempotent)."""
        self._patches.restore()
