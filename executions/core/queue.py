"""The queue's Huey classes: Huey's, without message revocation.

A queue message only says "look at execution X" (``executions/core/runner.py``): the
database decides whether and how it runs, so a stale or duplicate message does
nothing, and stopping a run is cancelling its execution (``executions.core.commands.cancel``), never
revoking a message. Huey checks every message it runs for a revocation (a read) and
clears the message's revoke flag after it (a write): two round trips to the queue per
execution, a fifth of a busy worker's CPU, for a feature Fluxweb does not use. These
classes skip both, and refuse to revoke (it would silently do nothing).

``settings.HUEY["huey_class"]`` names them (this module imports no Django: settings
load it before the apps are ready).
"""

from __future__ import annotations

from typing import Any

from huey import PriorityRedisHuey, SqliteHuey

#: Huey's prefix of a message's revoke flag (``Task.revoke_id``).
_REVOKE_ID = "r:"


class WithoutRevocation:
    """Mixed into a Huey class: messages are never revoked (see the module docstring)."""

    def is_revoked(self, task: Any, timestamp: Any = None, peek: bool = True) -> bool:
        return False

    def delete(self, key: str) -> Any:
        if key.startswith(_REVOKE_ID):  # after each message: no flag was ever set
            return False
        return super().delete(key)  # type: ignore[misc]

    def revoke(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(
            "Fluxweb's queue does not revoke messages (a message only says 'look at this "
            "execution'): cancel the execution instead (flux runs cancel, or the API).")

    revoke_all = revoke_by_id = revoke


class RedisQueue(WithoutRevocation, PriorityRedisHuey):
    """The scaled shape's queue: Redis, with priorities."""


class SqliteQueue(WithoutRevocation, SqliteHuey):
    """The embedded shape's queue: a SQLite file, with priorities."""
