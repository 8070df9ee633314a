"""/ws/inbox/ on both shapes: new approvals appear and decided ones leave, live.

In the embedded shape the messages come from the web process's database poller,
in the scaled shape from the Redis publisher (executions/core/live.py); either way the
consumer reads the execution's approvals when its status moves.
"""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator

from executions.core import commands, live, runner
from executions.core.commands import Actor
from fluxweb.routing import websocket_urlpatterns
from tests.inbox.conftest import paused, people, sent  # noqa: F401 - fixtures

pytestmark = pytest.mark.django_db(transaction=True)
TIMEOUT = 10


@pytest.fixture(autouse=True)
async def close_connections():
    yield
    from django.db import connections

    # database_sync_to_async's thread ran executions: close its store and connection.
    await database_sync_to_async(runner.close_thread_store)()
    await database_sync_to_async(connections.close_all)()


def communicator(user) -> WebsocketCommunicator:
    com = WebsocketCommunicator(URLRouter(websocket_urlpatterns), "/ws/inbox/")
    com.scope["user"] = user
    return com


async def next_approval(com: WebsocketCommunicator, status: str, pk: int | None = None
                        ) -> dict:
    """The next approval message with this status (and id). An approval may be sent
    again as it is (a late status message of its execution): the page replaces it."""
    while True:
        message = await com.receive_json_from(timeout=TIMEOUT)
        approval = message.get("approval") or {}
        if (message["type"] == "approval" and approval["status"] == status
                and pk in (None, approval["id"])):
            return approval


async def test_items_appear_and_leave_live(people, sent):  # noqa: F811
    early = await database_sync_to_async(paused)({"title": "Early"})
    com = communicator(people["alice"])
    connected, _ = await com.connect(timeout=TIMEOUT)
    assert connected
    await com.send_json_to({"type": "subscribe", "after": 0})
    snapshot = await next_approval(com, "pending")
    assert (snapshot["id"], snapshot["title"], snapshot["may_decide"]) == (early.pk, "Early", True)

    fresh = await database_sync_to_async(paused)({"title": "Fresh", "output": {"n": 1}})
    shown = await next_approval(com, "pending", fresh.pk)
    assert shown["output"] == {"n": 1}

    await database_sync_to_async(commands.decide)(fresh.pk, actor=Actor.of(people["bob"]),
                                                  approve=True, input="ok")
    gone = await next_approval(com, "approved", fresh.pk)
    assert gone["decided_by"] == "bob"
    await com.disconnect()
    if live.mode() == "push":
        live.publisher().flush()


async def test_only_approvers_may_connect(people, sent):  # noqa: F811
    from django.contrib.auth.models import AnonymousUser

    from tests.live.test_consumers import close_code

    assert await close_code(communicator(people["carol"]), TIMEOUT) == 4403
    assert await close_code(communicator(AnonymousUser()), TIMEOUT) == 4403


async def test_items_naming_others_are_not_sent(people, sent):  # noqa: F811
    com = communicator(people["alice"])
    assert (await com.connect(timeout=TIMEOUT))[0]
    await com.send_json_to({"type": "subscribe", "after": 0})
    await database_sync_to_async(paused)({"title": "Bob's", "approvers": ["bob"]})
    mine = await database_sync_to_async(paused)({"title": "Anyone's"})
    shown = await next_approval(com, "pending")
    assert shown["id"] == mine.pk  # Bob's never came
    await com.disconnect()
