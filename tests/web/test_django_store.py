"""The Django store against the store contract, on the test database (SQLite or
PostgreSQL, whichever DATABASE_URL names), plus what only it does."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.db import connections

from executions.models import Event, Execution
from executions.signals import events_committed
from executions.store import DjangoStore
from flux.domain.events import ExecutionEventType as T
from flux.projection import Status
from tests.engine.store_contract import StoreContract, events_for, new_record


class TestDjangoStore(StoreContract):
    """Called inline, in the caller's thread and connection (views, commands)."""

    @pytest.fixture
    def store(self, transactional_db):
        store = DjangoStore()
        yield ClosingInThreads(store)
        store.close()


class TestDjangoStoreFromAnEventLoop(StoreContract):
    """The same contract with every call made from inside a running event loop,
    as the engine makes them: the store hands them to its own thread."""

    @pytest.fixture
    def store(self, transactional_db):
        store = DjangoStore()
        yield InLoop(store)
        store.close()


class ClosingInThreads:
    """Closes the connection a call opened in a short-lived thread, as Django asks of
    threads (else the test database cannot be dropped on PostgreSQL)."""

    def __init__(self, store: DjangoStore) -> None:
        self._store = store

    def __getattr__(self, name):
        method = getattr(self._store, name)

        def call(*args, **kwargs):
            try:
                return method(*args, **kwargs)
            finally:
                if threading.current_thread() is not threading.main_thread():
                    connections.close_all()

        return call


class InLoop:
    """Calls the store's methods from inside a running event loop."""

    def __init__(self, store: DjangoStore) -> None:
        self._store = store

    def __getattr__(self, name):
        method = getattr(self._store, name)

        def call(*args, **kwargs):
            async def main():
                return method(*args, **kwargs)

            return asyncio.run(main())

        return call


def test_the_models_mirror_the_record(transactional_db):
    store = DjangoStore()
    store.create(new_record(meta={"k": 1}))
    row = Execution.objects.get(pk="exec-1")
    assert row.record() == store.get("exec-1")
    data = row.to_dict()
    for key in ("id", "workflow", "status", "input", "output", "error", "created_at",
                "started_at", "finished_at", "recovery_attempts", "max_recovery_attempts"):
        assert key in data
    assert data["status"] == "created" and data["input"] == {"n": 1}


def test_append_announces_committed_events_with_the_execution(transactional_db):
    store = DjangoStore()
    store.create(new_record())
    lease, rec = store.claim("exec-1", "w", 30)
    heard = []

    def receiver(sender, execution_id, events, execution, **kw):
        heard.append((execution_id, [e["seq"] for e in events], execution["status"]))

    events_committed.connect(receiver)
    try:
        store.append(lease, events_for(rec, T.WORKFLOW_STARTED, T.TASK_STARTED), rec)
        store.request_cancel("exec-1", "alice")
        store.append(lease, events_for(rec, T.TASK_COMPLETED), rec)
    finally:
        events_committed.disconnect(receiver)
    assert heard == [("exec-1", [1, 2], Status.RUNNING), ("exec-1", [3], Status.CANCELLING)]
    first = Event.objects.get(execution_id="exec-1", seq=1).to_dict()
    assert first["type"] == "WORKFLOW_STARTED" and first["time"]
    assert set(first) == {"seq", "type", "name", "source_id", "parent_id", "attempt",
                          "value", "time"}


def test_append_refuses_a_gap_in_the_log(transactional_db):
    from flux.errors import LeaseLostError

    store = DjangoStore()
    store.create(new_record())
    lease, rec = store.claim("exec-1", "w", 30)
    store.append(lease, events_for(rec, T.WORKFLOW_STARTED), rec)
    with pytest.raises(LeaseLostError):
        store.append(lease, events_for(rec, T.TASK_STARTED, start=5), rec)
    assert [e.seq for e in store.events("exec-1")] == [1]


def test_a_worker_store_claims_only_what_a_message_may_run(transactional_db):
    store, worker = DjangoStore(), DjangoStore(runnable_only=True)
    for status in (Status.QUEUED, Status.PAUSED, Status.FAILED, Status.COMPLETED):
        store.create(new_record(status, status=status))
    claimed = {s for s in (Status.QUEUED, Status.PAUSED, Status.FAILED, Status.COMPLETED)
               if worker.claim(s, "w", 30) is not None}
    assert claimed == {Status.QUEUED}
    assert store.claim(Status.PAUSED, "web", 30) is not None


def test_the_store_thread_reconnects_after_its_connection_breaks(transactional_db):
    store = DjangoStore()
    store.create(new_record())

    async def get():
        return store.get("exec-1")

    assert asyncio.run(get()).id == "exec-1"
    store.call(lambda: connections["default"].connection.close())  # the server went away
    with pytest.raises(Exception):  # noqa: B017 - whichever error the driver raises
        asyncio.run(get())
    assert asyncio.run(get()).id == "exec-1"
    store.close()
