"""The Django store against the store contract, on the test database (SQLite or
PostgreSQL, whichever DATABASE_URL names), plus what only it does."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.db import connections

from executions.core.signals import events_committed
from executions.core.store import DjangoStore
from executions.models import Event, Execution
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


def test_the_append_that_ends_the_run_gives_the_lease_up(transactional_db):
    """Finishing, pausing or sleeping frees the execution in the same statement; the
    engine's release afterwards writes nothing, and the old lease can write no more."""
    from flux.errors import LeaseLostError

    store = DjangoStore()
    for eid, last in (("done", T.WORKFLOW_COMPLETED), ("paused", T.WORKFLOW_PAUSED),
                      ("asleep", T.WORKFLOW_SLEEPING)):
        store.create(new_record(eid))
        lease, rec = store.claim(eid, "w", 30)
        store.append(lease, events_for(rec, T.WORKFLOW_STARTED, T.TASK_STARTED), rec)
        assert Execution.objects.get(pk=eid).lease_owner == "w"  # still running
        store.append(lease, events_for(rec, last), rec)
        row = Execution.objects.get(pk=eid)
        assert (row.status, row.lease_owner, row.lease_expires) == (rec.status, None, None)
        with pytest.raises(LeaseLostError):
            store.append(lease, events_for(rec, T.TASK_STARTED), rec)
        store.release(lease)  # nothing left to do
        again = store.claim(eid, "w2", 30)
        assert again is not None and again[0].fence == lease.fence + 1


def _paused_then(store: DjangoStore, eid: str, *, read_log: bool) -> None:
    """A pause is recorded (its approval pending), then another run completes."""
    from executions.models import Approval

    store.create(new_record(eid))
    lease, rec = store.claim(eid, "w", 30)
    store.append(lease, events_for(rec, T.WORKFLOW_STARTED, T.TASK_PAUSED), rec)
    assert Approval.objects.get(execution_id=eid).status == "pending"
    store.release(lease)
    later = DjangoStore()  # another worker: it has not seen the pause being written
    lease, rec = later.claim(eid, "w2", 30)
    if read_log:
        later.events(eid)
    later.append(lease, events_for(rec, T.WORKFLOW_COMPLETED), rec)


@pytest.mark.parametrize("read_log", [True, False])
def test_completing_closes_the_approvals_of_pauses_in_the_log(transactional_db, read_log):
    from executions.models import Approval

    _paused_then(DjangoStore(), "exec-p", read_log=read_log)
    assert Approval.objects.get(execution_id="exec-p").status == "cancelled"


@pytest.mark.scaled
def test_a_one_task_run_on_a_worker_is_three_statements(transactional_db):
    """Claim, the task's events, the end (which also frees the lease): the hot path of
    every worker on PostgreSQL, kept from growing back (each statement is a round trip).
    (On SQLite appends go to the DB-API connection, past Django's cursor.)"""
    from django.db import connection

    from executions.core import runner
    from tests.runtime import workflows  # noqa: F401 - registers the rt_* workflows

    assert connection.vendor == "postgresql", "a scaled test: run it on PostgreSQL"
    eng = runner.engine()
    record = eng.create(eng.workflow_for("rt_hello"), {"a": 1, "b": 2}, status=Status.QUEUED)
    statements: list[str] = []

    def count(execute, sql, params, many, context):
        statements.append(sql.split(None, 1)[0].upper())
        return execute(sql, params, many, context)

    try:
        with connection.execute_wrapper(count):
            assert runner.run(record.id) == Status.COMPLETED
    finally:
        runner.close_thread_store()
    assert statements == ["UPDATE", "WITH", "WITH"]
    row = Execution.objects.get(pk=record.id)
    assert (row.status, row.lease_owner, row.output) == (Status.COMPLETED, None, 3)
