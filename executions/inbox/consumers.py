"""``/ws/inbox/``: approvals appearing and leaving, for the inbox page (docs/frontend.md).

Permission is checked in ``connect()``: a logged-in user holding
``executions.decide_approval``; anyone else is closed with 4403. On
``{"type": "subscribe"}`` the consumer sends every pending approval the user
may see (``{"type": "approval", "approval": APPROVAL}``), then follows changes.

Approvals change only in the transactions that append a pause's events
(``executions.core.approvals.record_events``), so the consumer needs no publisher
of its own: it listens to ``executions.core.live``'s list group, whose
``flux.executions`` messages follow committed batches of events (pushed
through Redis in the scaled shape, a few times a second; polled from the
database in the embedded one). When executions' statuses change, the consumer
reads their approvals (one query) and sends the ones this user may see, as
they are now.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from channels.db import database_sync_to_async

from executions.access.permissions import APPROVE
from executions.core import approvals
from executions.views.consumers import ListGroupConsumer

#: Pending approvals sent on subscribe, at most.
SNAPSHOT = 200
#: Executions whose last status the consumer remembers.
REMEMBERED = 2000


def _pending(user: Any) -> list[dict]:
    from executions.inbox.views import item_dict

    rows = (approvals.visible(user).filter(status=approvals.PENDING)
            .order_by("requested_at", "id")[:SNAPSHOT])
    return [item_dict(a, user) for a in rows]


def _of_executions(user: Any, execution_ids: list[str]) -> list[dict]:
    from executions.inbox.views import item_dict

    rows = approvals.visible(user).filter(execution_id__in=execution_ids).order_by("id")
    return [item_dict(a, user) for a in rows]


class InboxConsumer(ListGroupConsumer):
    permission = APPROVE

    async def connect(self) -> None:
        self.statuses: OrderedDict[str, str] = OrderedDict()
        await super().connect()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "subscribe":
            return
        for approval in await database_sync_to_async(_pending)(self.user):
            await self.send_json({"type": "approval", "approval": approval})

    async def flux_executions(self, message: dict) -> None:
        """Executions' events were committed: send the approvals of those whose status
        moved since the last message."""
        await self._changed([e for e in message.get("executions") or () if e])

    async def flux_execution(self, message: dict) -> None:  # the older single form
        await self._changed([message.get("execution") or {}])

    async def _changed(self, executions: list[dict]) -> None:
        moved = []
        for execution in executions:
            execution_id, status = execution.get("id"), execution.get("status")
            if execution_id is None or self.statuses.get(execution_id) == status:
                continue
            self.statuses[execution_id] = status
            self.statuses.move_to_end(execution_id)
            moved.append(execution_id)
        while len(self.statuses) > REMEMBERED:
            self.statuses.popitem(last=False)
        if moved:
            for approval in await database_sync_to_async(_of_executions)(self.user, moved):
                await self.send_json({"type": "approval", "approval": approval})
