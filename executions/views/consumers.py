"""Websocket consumers: one execution's events, and execution summaries for lists.

The contract is docs/frontend.md's. The browser sends ``{"type": "subscribe",
"after": SEQ}`` on every (re)connect; the server answers with the events after
SEQ read from the database, then the execution's JSON, then pushes live ones.
Each consumer remembers the last seq it sent: live events at or below it are
dropped, and a live event beyond ``last + 1`` makes it read the gap from the
database first. So a lost, late or doubled group message never shows as a
missed or doubled event (``executions/core/live.py`` says where group messages come
from). Permission is checked in ``connect()``: a logged-in user allowed to view
executions; anyone else is closed (code 4403; an unknown execution 4404), after
the handshake so that the browser sees the code; any other path is closed with 4404.
When the database or the channel layer's Redis cannot be reached, the socket is
closed with 4503 (``outages.CLOSE_UNAVAILABLE``): the page reconnects with backoff
and its subscribe catches up from its last seq (frontend/live/stream.ts).
"""

from __future__ import annotations

import logging
from typing import Any

from channels.db import database_sync_to_async
from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncJsonWebsocketConsumer, AsyncWebsocketConsumer

from executions.access import permissions
from executions.core import live, outages

log = logging.getLogger(__name__)

#: Events per websocket message when catching up (a 10,000-event log is 20 messages).
CATCH_UP_PAGE = 500
#: Executions sent to a list page when it (re)subscribes.
LIST_SNAPSHOT = 50

CLOSE_FORBIDDEN = 4403
CLOSE_NOT_FOUND = 4404
CLOSE_UNAVAILABLE = outages.CLOSE_UNAVAILABLE


async def refuse(consumer: AsyncWebsocketConsumer, code: int) -> None:
    """Close with ``code`` where the browser can read it: a close before ``accept()`` is
    an HTTP 403 at the handshake, and the code never reaches the page's ``onclose``."""
    await consumer.accept()
    await consumer.close(code=code)


class ClosesOnOutage:
    """Closes the socket with 4503 when the database or Redis is unavailable, instead
    of an error close (1011) or, during the handshake, an HTTP 500."""

    async def dispatch(self, message: dict) -> None:
        try:
            await super().dispatch(message)  # type: ignore[misc]
        except Exception as exc:
            part = outages.unavailable(exc)
            if part is None:
                raise
            log.warning("websocket %s: the %s is unavailable: %s", message.get("type"), part,
                        str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            if message.get("type") == "websocket.disconnect":
                raise StopConsumer() from None
            if message.get("type") == "websocket.connect":
                await refuse(self, CLOSE_UNAVAILABLE)  # type: ignore[arg-type]
            else:
                await self.close(code=CLOSE_UNAVAILABLE)  # type: ignore[attr-defined]


class NotFoundConsumer(AsyncWebsocketConsumer):
    """Any websocket path no route claims: answered, and closed with 4404."""

    async def connect(self) -> None:
        await refuse(self, CLOSE_NOT_FOUND)


def _events_after(execution_id: str, after: int, limit: int) -> list[dict]:
    from executions.models import Event

    rows = (Event.objects.filter(execution_id=execution_id, seq__gt=after)
            .order_by("seq")[:limit])
    return [row.to_dict() for row in rows]


def _execution(execution_id: str) -> dict | None:
    from executions.models import Execution

    row = Execution.objects.filter(pk=execution_id).first()
    return row.to_dict() if row else None


def _recent_executions(limit: int) -> list[dict]:
    from executions.models import Execution

    rows = Execution.objects.order_by("-created_at", "-id")[:limit]
    return [row.to_dict() for row in rows]


class ExecutionConsumer(ClosesOnOutage, AsyncJsonWebsocketConsumer):
    """``/ws/executions/<id>/``: the execution's events in seq order, then live."""

    execution_id: str
    #: The last seq sent to this browser; None until it subscribed.
    last_seq: int | None = None
    attached = False

    async def connect(self) -> None:
        self.execution_id = self.scope["url_route"]["kwargs"]["execution_id"]
        user = self.scope.get("user")
        if not await permissions.ws_allowed(user, permissions.VIEW):
            await refuse(self, CLOSE_FORBIDDEN)
            return
        if await database_sync_to_async(_execution)(self.execution_id) is None:
            await refuse(self, CLOSE_NOT_FOUND)
            return
        await self.channel_layer.group_add(live.execution_group(self.execution_id),
                                           self.channel_name)
        await live.attach()
        self.attached = True
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.attached:
            self.attached = False
            try:
                await self.channel_layer.group_discard(
                    live.execution_group(self.execution_id), self.channel_name)
            finally:
                await live.detach()

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "subscribe":
            return
        try:
            after = max(0, int(content.get("after") or 0))
        except (TypeError, ValueError):
            after = 0
        self.last_seq = after
        await self.catch_up()
        execution = await database_sync_to_async(_execution)(self.execution_id)
        if execution is not None:
            await self.send_json({"type": "execution", "execution": execution})

    async def catch_up(self) -> None:
        """Send every event after ``last_seq`` from the database."""
        assert self.last_seq is not None
        while True:
            events = await database_sync_to_async(_events_after)(
                self.execution_id, self.last_seq, CATCH_UP_PAGE)
            if events:
                await self.send_events(events)
            if len(events) < CATCH_UP_PAGE:
                return

    async def send_events(self, events: list[dict]) -> None:
        if len(events) == 1:
            await self.send_json({"type": "event", "execution_id": self.execution_id,
                                  "event": events[0]})
        else:
            await self.send_json({"type": "events", "execution_id": self.execution_id,
                                  "events": events})
        self.last_seq = events[-1]["seq"]

    async def flux_events(self, message: dict) -> None:
        """A group message from ``executions.core.live``: new events and the execution's JSON."""
        if self.last_seq is None:
            return  # not subscribed yet: its catch-up reads these from the database
        fresh = [e for e in message.get("events") or () if e["seq"] > self.last_seq]
        if fresh:
            if fresh[0]["seq"] != self.last_seq + 1 or any(
                    b["seq"] != a["seq"] + 1 for a, b in zip(fresh, fresh[1:], strict=False)):
                await self.catch_up()  # a gap: the database has everything up to these
            else:
                await self.send_events(fresh)
        execution = message.get("execution")
        if execution is not None:
            await self.send_json({"type": "execution", "execution": execution})


class ListGroupConsumer(ClosesOnOutage, AsyncJsonWebsocketConsumer):
    """A socket following the list group (every execution's status changes), open to
    users with ``permission``."""

    permission = permissions.VIEW
    attached = False

    async def connect(self) -> None:
        self.user = self.scope.get("user")
        if not await permissions.ws_allowed(self.user, self.permission):
            await refuse(self, CLOSE_FORBIDDEN)
            return
        await self.channel_layer.group_add(live.LIST_GROUP, self.channel_name)
        await live.attach()
        self.attached = True
        await self.accept()

    async def disconnect(self, code: int) -> None:
        if self.attached:
            self.attached = False
            try:
                await self.channel_layer.group_discard(live.LIST_GROUP, self.channel_name)
            finally:
                await live.detach()


class ExecutionsConsumer(ListGroupConsumer):
    """``/ws/executions/``: execution summaries (new runs, status changes) for lists."""

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "subscribe":
            return
        # What changed while the page was away: the latest executions, oldest first.
        for execution in reversed(await database_sync_to_async(_recent_executions)(
                LIST_SNAPSHOT)):
            await self.send_json({"type": "execution", "execution": execution})

    async def flux_executions(self, message: dict) -> None:
        for execution in message["executions"]:
            await self.send_json({"type": "execution", "execution": execution})

    async def flux_execution(self, message: dict) -> None:  # the older single form
        await self.send_json({"type": "execution", "execution": message["execution"]})
