"""The websocket consumers (docs/frontend.md's contract) with channels' communicator.

They run on whichever shape the test run has: in the embedded shape (in-memory
layer) live events come from the web process's database poller; in the scaled
shape (REDIS_URL: the Redis pub/sub layer) from the publisher thread that
``events_committed`` feeds. Either way: the permission is checked on connect, a
subscribe gets the missed events from the database, live events follow in seq
order with no gap and no duplicate.
"""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser, Group, User

from executions.core import commands, live, registry, runner
from executions.core.commands import SYSTEM
from executions.models import Execution
from fluxweb.routing import websocket_urlpatterns
from tests.runtime import workflows  # noqa: F401 - registers the rt_* workflows

pytestmark = pytest.mark.django_db(transaction=True)
TIMEOUT = 10


@pytest.fixture(autouse=True)
def no_queue(monkeypatch):
    monkeypatch.setattr(runner, "send", lambda execution_id, delay=None: None)
    registry.sync_workflows()
    yield
    runner.close_thread_store()


@pytest.fixture(autouse=True)
async def close_connections():
    """Close the connection of the thread database_sync_to_async uses (PostgreSQL's
    test database cannot be dropped while it is open)."""
    yield
    from django.db import connections

    await database_sync_to_async(connections.close_all)()


def viewer() -> User:
    user = User.objects.create_user("vera", password="x")
    user.groups.add(Group.objects.get(name="viewer"))
    return user


def communicator(path: str, user) -> WebsocketCommunicator:
    com = WebsocketCommunicator(URLRouter(websocket_urlpatterns), path)
    com.scope["user"] = user
    return com


async def close_code(com: WebsocketCommunicator, timeout: float = 1) -> int | None:
    """The code a refused socket is closed with. A refusal is accepted first, then
    closed, so that the browser's ``onclose`` sees the code (not an HTTP 403)."""
    connected, _ = await com.connect(timeout=timeout)
    assert connected, "refusals are sent after the handshake"
    message = await com.receive_output(timeout=timeout)
    assert message["type"] == "websocket.close", message
    return message.get("code")


def run_in_thread(execution_id: str) -> str | None:
    """runner.run as a worker thread does it, closing that thread's connections."""
    from django.db import connections

    try:
        return runner.run(execution_id)
    finally:
        runner.close_thread_store()
        connections.close_all()


def finished_run() -> Execution:
    ex = commands.start("rt_hello", {"a": 1, "b": 2}, actor=SYSTEM)
    try:
        runner.run(ex.pk)
    finally:
        runner.close_thread_store()
    return ex


async def receive_events(com: WebsocketCommunicator, until_seq: int) -> tuple[list[dict], list]:
    """Messages until the event ``until_seq`` arrived: (events, execution statuses)."""
    events, statuses = [], []
    while not events or events[-1]["seq"] < until_seq:
        message = await com.receive_json_from(timeout=TIMEOUT)
        if message["type"] == "event":
            events.append(message["event"])
        elif message["type"] == "events":
            events.extend(message["events"])
        elif message["type"] == "execution":
            statuses.append(message["execution"]["status"])
    return events, statuses


async def test_anonymous_and_unprivileged_users_are_refused():
    ex = await database_sync_to_async(finished_run)()
    nobody = await database_sync_to_async(User.objects.create_user)("nobody")
    for user in (AnonymousUser(), nobody):
        for path in (f"/ws/executions/{ex.pk}/", "/ws/executions/"):
            assert await close_code(communicator(path, user)) == 4403


async def test_an_unknown_execution_is_refused():
    user = await database_sync_to_async(viewer)()
    assert await close_code(communicator("/ws/executions/nope/", user)) == 4404


@pytest.mark.parametrize("path", ["/ws/nope/", "/ws/executions/a/b/", "/", "/api/"])
async def test_an_unknown_path_is_answered_and_closed_with_4404(path):
    user = await database_sync_to_async(viewer)()
    assert await close_code(communicator(path, user)) == 4404


async def test_subscribe_sends_the_missed_events_then_the_execution():
    user = await database_sync_to_async(viewer)()
    ex = await database_sync_to_async(finished_run)()
    last = await database_sync_to_async(lambda: Execution.objects.get(pk=ex.pk).last_seq)()
    com = communicator(f"/ws/executions/{ex.pk}/", user)
    assert (await com.connect())[0]
    await com.send_json_to({"type": "subscribe", "after": 0})
    events, statuses = await receive_events(com, last)
    assert [e["seq"] for e in events] == list(range(1, last + 1))
    assert set(events[0]) == {"seq", "type", "name", "source_id", "parent_id", "attempt",
                              "value", "time"}
    assert (await com.receive_json_from(timeout=TIMEOUT))["execution"]["status"] == "completed"
    # a reconnect that has seen up to 2 gets 3.. only
    await com.send_json_to({"type": "subscribe", "after": 2})
    again, _ = await receive_events(com, last)
    assert [e["seq"] for e in again] == list(range(3, last + 1))
    await com.disconnect()


async def test_live_events_arrive_in_order_without_gap_or_duplicate():
    user = await database_sync_to_async(viewer)()
    ex = await database_sync_to_async(commands.start)("rt_hello", {"a": 1, "b": 2},
                                                actor=SYSTEM)
    com = communicator(f"/ws/executions/{ex.pk}/", user)
    lists = communicator("/ws/executions/", user)
    assert (await com.connect())[0] and (await lists.connect())[0]
    await com.send_json_to({"type": "subscribe", "after": 0})
    await lists.send_json_to({"type": "subscribe", "after": 0})
    assert (await com.receive_json_from(timeout=TIMEOUT))["type"] == "execution"  # queued
    await asyncio.to_thread(run_in_thread, ex.pk)
    total = await database_sync_to_async(lambda: Execution.objects.get(pk=ex.pk).last_seq)()
    events, statuses = await receive_events(com, total)
    assert [e["seq"] for e in events] == list(range(1, total + 1))
    assert events[-1]["type"] == "WORKFLOW_COMPLETED"
    while "completed" not in statuses:
        statuses.append((await com.receive_json_from(timeout=TIMEOUT))["execution"]["status"])
    seen = []
    while "completed" not in seen:
        message = await lists.receive_json_from(timeout=TIMEOUT)
        assert message["type"] == "execution"
        if message["execution"]["id"] == ex.pk:
            seen.append(message["execution"]["status"])
    await com.disconnect()
    await lists.disconnect()


async def test_duplicates_are_dropped_and_gaps_are_read_from_the_database():
    user = await database_sync_to_async(viewer)()
    ex = await database_sync_to_async(finished_run)()
    total = await database_sync_to_async(lambda: Execution.objects.get(pk=ex.pk).last_seq)()
    assert total >= 4
    com = communicator(f"/ws/executions/{ex.pk}/", user)
    assert (await com.connect())[0]
    await com.send_json_to({"type": "subscribe", "after": total - 3})
    events, _ = await receive_events(com, total)
    assert [e["seq"] for e in events] == list(range(total - 2, total + 1))
    await com.receive_json_from(timeout=TIMEOUT)  # the execution
    layer = get_channel_layer()
    group = live.execution_group(ex.pk)
    # a late duplicate: nothing is sent
    old = dict(events[0])
    await layer.group_send(group, {"type": "flux.events", "execution_id": ex.pk,
                                   "events": [old], "execution": None})
    assert await com.receive_nothing(timeout=0.3)
    await com.disconnect()


async def test_a_gap_in_live_messages_is_filled_from_the_database(monkeypatch):
    user = await database_sync_to_async(viewer)()
    ex = await database_sync_to_async(commands.start)("rt_approval", None, actor=SYSTEM)
    await asyncio.to_thread(run_in_thread, ex.pk)  # pauses
    paused_at = await database_sync_to_async(
        lambda: Execution.objects.get(pk=ex.pk).last_seq)()
    com = communicator(f"/ws/executions/{ex.pk}/", user)
    assert (await com.connect())[0]
    await com.send_json_to({"type": "subscribe", "after": paused_at})
    assert (await com.receive_json_from(timeout=TIMEOUT))["execution"]["status"] == "paused"

    async def lost(*args, **kwargs):  # the live layer loses every message from now on
        return None

    monkeypatch.setattr(live, "send_events", lost)
    await database_sync_to_async(commands.resume)(ex.pk, "yes", actor=SYSTEM)
    await asyncio.to_thread(run_in_thread, ex.pk)
    rows = await database_sync_to_async(lambda: [
        e.to_dict() for e in Execution.objects.get(pk=ex.pk).events.order_by("seq")])()
    total = rows[-1]["seq"]
    assert total > paused_at + 1
    assert await com.receive_nothing(timeout=0.3)
    # only the last event's message arrives: the consumer reads the gap first
    await get_channel_layer().group_send(live.execution_group(ex.pk), {
        "type": "flux.events", "execution_id": ex.pk, "events": [rows[-1]],
        "execution": None})
    events, _ = await receive_events(com, total)
    assert [e["seq"] for e in events] == list(range(paused_at + 1, total + 1))
    assert events == rows[paused_at:]
    await com.disconnect()


def test_merge_batches_events_per_execution_in_seq_order():
    e = lambda seq: {"seq": seq}  # noqa: E731
    merged = live.merge([("a", [e(2)], {"last_seq": 2}), ("b", [e(1)], None),
                         ("a", [e(1), e(3)], {"last_seq": 3}), ("a", [e(3)], {"last_seq": 1})])
    assert merged == {"a": ([e(1), e(2), e(3)], {"last_seq": 3}), "b": ([e(1)], None)}


def test_the_publisher_sends_events_at_once_and_lists_coalesced(monkeypatch):
    """Each batch goes to its execution's group at once; the lists' group gets one
    message per LIST_INTERVAL carrying every execution that changed, at its latest."""
    import threading

    sent: list[tuple[str, object]] = []
    first_list = threading.Event()

    async def send_events(layer, merged):
        sent.append(("events", {eid: [e["seq"] for e in events]
                                for eid, (events, _) in merged.items()}))

    async def send_list(layer, executions):
        sent.append(("list", sorted((e["id"], e["last_seq"]) for e in executions)))
        first_list.set()

    monkeypatch.setattr(live, "send_events", send_events)
    monkeypatch.setattr(live, "send_list", send_list)
    monkeypatch.setattr(live, "LIST_INTERVAL", 1.0)
    publisher = live.Publisher()
    ev = lambda seq: {"seq": seq}  # noqa: E731
    publisher.submit("a", [ev(1)], {"id": "a", "last_seq": 1})
    assert first_list.wait(2)  # the first change is listed at once
    publisher.submit("b", [ev(1)], {"id": "b", "last_seq": 1})
    publisher.submit("b", [ev(2)], {"id": "b", "last_seq": 2})
    publisher.submit("c", [ev(1)], {"id": "c", "last_seq": 1})
    assert publisher.flush(3)
    lists = [payload for kind, payload in sent if kind == "list"]
    assert lists == [[("a", 1)], [("b", 2), ("c", 1)]]
    events = {}
    for kind, payload in sent:
        if kind == "events":
            for eid, seqs in payload.items():
                events.setdefault(eid, []).extend(seqs)
    assert events == {"a": [1], "b": [1, 2], "c": [1]}
    # the events of b and c went out before their (coalesced) list message
    assert sent.index(("list", lists[1])) == len(sent) - 1


async def test_a_list_message_of_several_executions_reaches_list_sockets():
    user = await database_sync_to_async(viewer)()
    lists = communicator("/ws/executions/", user)
    assert (await lists.connect())[0]
    executions = [{"id": f"x{i}", "status": "completed", "last_seq": 4} for i in range(3)]
    await get_channel_layer().group_send(live.LIST_GROUP, {
        "type": "flux.executions", "executions": executions})
    got = [await lists.receive_json_from(timeout=TIMEOUT) for _ in executions]
    assert got == [{"type": "execution", "execution": e} for e in executions]
    await lists.disconnect()
