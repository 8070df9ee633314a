"""The engine's store on Django's database (SQLite or PostgreSQL).

:class:`DjangoStore` implements :class:`flux.store.Store` over the
``Execution`` and ``Event`` models and passes the store contract
(``tests/engine/store_contract.py``). Design points:

* **Threads.** The engine calls its store synchronously from inside its
  asyncio loop, where Django refuses ORM calls (``SynchronousOnlyOperation``).
  Each such call is short, blocking and made between two awaits, so the store
  runs it on the calling thread's own connection with the loop hidden from
  Django for its length (:mod:`executions.core.dbsync`). ``close()`` closes that
  connection.
* **Append is one transaction**: a conditional UPDATE of the execution row
  (fence, lease owner and ``last_seq`` must match, so a replaced worker writes
  nothing and the log can have no gap) that merges the pending cancel flag as
  :func:`flux.store.merge_cancel_flag` does, then one multi-row INSERT of the
  events. Both statements are written in SQL through Django's connection: the
  cost is O(1) in the history's length and close to one commit.
* **The end of a run frees it.** The append that records a finished, paused or
  sleeping status also clears the lease in its UPDATE, so ``release()`` after it
  writes nothing; the end of a log without pauses has no approval to close. A
  one-task run is three statements on PostgreSQL (claim, the task's events, the
  end), prepared on the server after a few uses (``_hot_cursor``).
* **Live layer.** After each commit the new events are announced with
  :data:`executions.core.signals.events_committed` (only when someone listens).
* ``runnable_only=True`` (the workers' stores) makes ``claim`` succeed only on
  executions a queue message may run: never a paused or failed one (running
  those would resume or retry them without anyone asking), and a sleeping one
  only when it is due. A duplicate or stale message then does nothing.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import DatabaseError, IntegrityError, connections, transaction

from executions.core import admission
from executions.core.dbsync import outside_the_loop
from executions.core.signals import events_committed
from executions.core.store_composition import CompositionStore
from executions.models import Event, Execution, TaskCache
from executions.models.executions import RECORD_FIELDS, record_dict
from flux.clock import clock
from flux.domain.events import ExecutionEvent, ExecutionEventType
from flux.errors import ExecutionNotFoundError, LeaseLostError
from flux.projection import Status
from flux.store import (
    MISSING,
    PROJECTION_FIELDS,
    ExecutionRecord,
    Lease,
    Store,
)


@dataclass(frozen=True)
class AppendHook:
    """Work an app does inside the transaction of an append (``AppConfig.ready`` adds it
    with :func:`add_append_hook`): ``concerns(events, may_have_pauses)`` says cheaply
    whether the batch matters to it (``may_have_pauses=False``: the store has seen the
    whole log and it holds no pause); ``record(execution_id, events, workflow, using)``
    writes, on the database alias ``using``. A hook that needs the execution's record
    gives ``wants(events, record)`` and ``write(record, events, using)`` instead."""

    name: str
    concerns: Callable[[Sequence[ExecutionEvent], bool], bool] | None = None
    record: Callable[[str, Sequence[ExecutionEvent], str, str], None] | None = None
    wants: Callable[[Sequence[ExecutionEvent], ExecutionRecord], bool] | None = None
    write: Callable[[ExecutionRecord, Sequence[ExecutionEvent], str], None] | None = None

    def applies(self, events: Sequence[ExecutionEvent], may_have_pauses: bool,
                record: ExecutionRecord) -> bool:
        if self.wants is not None:
            return self.wants(events, record)
        assert self.concerns is not None, f"the append hook {self.name} says no concern"
        return self.concerns(events, may_have_pauses)

    def run(self, record: ExecutionRecord, events: Sequence[ExecutionEvent],
            using: str) -> None:
        if self.write is not None:
            self.write(record, events, using)
        else:
            assert self.record is not None, f"the append hook {self.name} writes nothing"
            self.record(record.id, events, record.workflow, using)


#: The hooks every append asks (the store imports no app above it).
APPEND_HOOKS: list[AppendHook] = []


def add_append_hook(hook: AppendHook) -> None:
    """Install ``hook`` (replacing one of the same name)."""
    APPEND_HOOKS[:] = [h for h in APPEND_HOOKS if h.name != hook.name]
    APPEND_HOOKS.append(hook)

R = TypeVar("R")

#: A sleeping execution may be claimed this many seconds before it is due.
WAKE_SLACK = 1.0
_CLAIMABLE = (Status.CREATED, Status.QUEUED, Status.INTERRUPTED, Status.RUNNING,
              Status.CANCELLING)
#: Statuses a run stops at: the append that records one also gives the lease up.
_ENDS_RUN = frozenset(Status.FINISHED) | {Status.PAUSED, Status.SLEEPING}
_PAUSED = ExecutionEventType.TASK_PAUSED
#: Execution columns an append writes.
_PROJECTED = PROJECTION_FIELDS
_JSON_COLUMNS = frozenset({"output", "error", "waiting_for"})
_TIME_COLUMNS = frozenset({"started_at", "finished_at", "wake_at", "deadline"})
_EVENT_COLUMNS = ("execution_id", "seq", "type", "name", "source_id", "parent_id", "attempt",
                  "value", "time")


class DjangoStore(CompositionStore, Store):
    """Executions and events in Django models. See the module docstring."""

    def __init__(self, using: str = "default", *, runnable_only: bool = False) -> None:
        self.using = using
        self.runnable_only = runnable_only
        self._sql: dict[Any, Any] = {}  # SQL text, statements and converters, by use
        #: Per execution: (fence, projection) as this store last wrote it.
        self._written: dict[str, tuple[int, dict[str, Any]]] = {}
        #: Executions this store holds a lease on (known to exist).
        self._claimed: dict[str, int] = {}  # execution id -> last_seq when claimed
        #: Claimed executions whose whole log this store has seen, with no pause in it.
        self._pauseless: set[str] = set()
        #: Leases the last append gave up (execution id -> fence): release() is a no-op.
        self._released: dict[str, int] = {}
        #: Executions claimed with a concurrency slot, and its key (the runner wakes the
        #: key's waiters when the run stops: ``executions.core.runner.run``).
        self.slot_keys: dict[str, str] = {}

    # threads -------------------------------------------------------------------
    def _call(self, fn: Callable[..., R], *args: Any) -> R:
        """Run ``fn`` on this thread's connection, even from inside the engine's loop."""
        with outside_the_loop():
            return self._guarded(fn, *args)

    def _guarded(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """A connection broken by a database error (a restarted server) is closed, so
        the next call opens a fresh one instead of failing."""
        try:
            return fn(*args, **kwargs)
        except DatabaseError:
            conn = self._conn
            if not conn.in_atomic_block:
                conn.close_if_unusable_or_obsolete()
            raise

    def call(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """Run ``fn`` (e.g. an extra ORM query) as the store's own calls run."""
        with outside_the_loop():
            return self._guarded(fn, *args, **kwargs)

    def close(self) -> None:
        """Close this thread's database connection (the store's)."""
        with outside_the_loop():
            conn = self._conn
            if not conn.in_atomic_block:
                conn.close()

    # SQL helpers ---------------------------------------------------------------
    @property
    def _conn(self):
        return connections[self.using]

    def _hot_cursor(self) -> Any:
        """A cursor for the statements every run makes (claim, append).

        On PostgreSQL it binds parameters on the server, so psycopg prepares each
        statement after a few uses (``prepare_threshold``): the server plans it once
        per connection, and the client sends values instead of quoting every one into
        the SQL text (Django's default, client-side binding, is kept for the rest).
        Measured alone, a 3-event append took ~120 instead of ~190 µs of client CPU
        and ~280 instead of ~350 µs end to end. Django's wrapper stays around it (its
        execute wrappers and error translation apply).
        """
        conn = self._conn
        if conn.vendor != "postgresql":
            return conn.cursor()
        pg = _postgres()
        conn.ensure_connection()
        cursor = pg.Cursor(conn.connection)
        # As Django's create_cursor does: timestamps read in the connection's zone.
        if conn.timezone != conn.connection.adapters.get_loader(pg.timestamptz,
                                                               pg.text).timezone:
            pg.register_tzloader(conn.timezone, cursor)
        return pg.CursorWrapper(cursor, conn)

    def _json(self, value: Any) -> Any:
        if value is None:
            return None
        return self._conn.ops.adapt_json_value(value, None)

    def _dt(self, value: datetime | None) -> Any:
        return self._conn.ops.adapt_datetimefield_value(value)

    def _update_sql(self, columns: tuple[str, ...], with_status: bool, release: bool) -> str:
        """The append's conditional UPDATE, setting only ``columns`` (and the status, and
        clearing the lease when ``release``)."""
        key = (columns, with_status, release)
        sql = self._sql.get(key)
        if sql is None:
            qn = self._conn.ops.quote_name
            sets = [f"{qn(c)} = %s" for c in columns]
            if with_status:
                # The cancel-flag merge of flux.store.merge_cancel_flag.
                sets += ["status = CASE WHEN %s THEN %s WHEN cancel_requested THEN %s "
                         "ELSE %s END",
                         "cancel_requested = CASE WHEN %s THEN %s ELSE cancel_requested END"]
            if release:
                sets += ["lease_owner = NULL", "lease_expires = NULL"]
            sql = self._sql[key] = (
                f"UPDATE {qn(Execution._meta.db_table)} SET {', '.join(sets)} "
                "WHERE id = %s AND fence = %s AND lease_owner = %s AND last_seq = %s "
                "RETURNING status, cancel_requested")
        return sql

    def _insert_sql(self, rows: int) -> str:
        sql = self._sql.get(rows)
        if sql is None:
            qn = self._conn.ops.quote_name
            marks = "(" + ", ".join(["%s"] * len(_EVENT_COLUMNS)) + ")"
            sql = self._sql[rows] = (
                f"INSERT INTO {qn(Event._meta.db_table)} "
                f"({', '.join(qn(c) for c in _EVENT_COLUMNS)}) VALUES "
                + ", ".join([marks] * rows))
        return sql

    def _execution(self, execution_id: str) -> Execution:
        try:
            return Execution.objects.using(self.using).get(pk=execution_id)
        except Execution.DoesNotExist:
            raise ExecutionNotFoundError(execution_id) from None

    # the interface ---------------------------------------------------------------
    def create(self, record: ExecutionRecord) -> None:
        self._call(self._create, record)

    def _create(self, record: ExecutionRecord) -> None:
        try:
            with transaction.atomic(using=self.using):
                Execution.from_record(record).save(using=self.using, force_insert=True)
        except IntegrityError:
            raise ValueError(f"Execution '{record.id}' already exists") from None

    def create_many(self, records: Sequence[ExecutionRecord]) -> None:
        """One multi-row insert; ids that exist already are left as they are."""
        self._call(lambda: Execution.objects.using(self.using).bulk_create(
            [Execution.from_record(r) for r in records], ignore_conflicts=True))

    def get(self, execution_id: str) -> ExecutionRecord:
        return self._call(lambda: self._execution(execution_id).record())

    def events(self, execution_id: str, after: int = 0) -> list[ExecutionEvent]:
        return self._call(self._events, execution_id, after)

    def _events(self, execution_id: str, after: int) -> list[ExecutionEvent]:
        if self._claimed.get(execution_id, -1) == after:
            return []  # we hold the lease and wrote nothing yet: the log ends at `after`
        rows = (Event.objects.using(self.using)
                .filter(execution_id=execution_id, seq__gt=after).order_by("seq")
                .values_list("seq", "type", "name", "source_id", "parent_id", "attempt",
                             "value", "time"))
        etype = ExecutionEventType
        out = [ExecutionEvent(etype(t), name, source, value, when, seq, execution_id, parent,
                              attempt)
               for seq, t, name, source, parent, attempt, value, when in rows]
        if not out and after == 0 and execution_id not in self._claimed:
            self._execution(execution_id)  # raises when unknown
        if after == 0 and execution_id in self._claimed:
            if all(e.type is not _PAUSED for e in out):
                self._pauseless.add(execution_id)
        return out

    def claim(self, execution_id: str, owner: str, lease_seconds: float, *,
              steal_from: str | None = None) -> tuple[Lease, ExecutionRecord] | None:
        return self._call(self._claim, execution_id, owner, lease_seconds, steal_from)

    def _claim(self, execution_id, owner, lease_seconds, steal_from):
        # One statement (UPDATE ... RETURNING): one round trip, atomic on its own.
        now = clock.time()
        params: list[Any] = [owner, owner, now + lease_seconds, execution_id, now, steal_from]
        sql = self._claim_sql()
        if self.runnable_only:
            params += [*_CLAIMABLE, Status.SLEEPING,
                       self._dt(clock.now() + timedelta(seconds=WAKE_SLACK))]
        with self._hot_cursor() as cur:
            cur.execute(sql, params)
            row = cur.fetchone()
        if row is None:
            if not self.runnable_only:
                self._execution(execution_id)  # raises when unknown
                return None
            row = self._claim_a_slot(execution_id, params, now)  # raises when unknown
            if row is None:
                return None
        rec = self._record_from_row(row)
        self._claimed[execution_id] = rec.last_seq
        self._released.pop(execution_id, None)
        if rec.last_seq == 0:
            self._pauseless.add(execution_id)  # no log yet, so no pause in it
        else:
            self._pauseless.discard(execution_id)  # until events() reads the log
        return Lease(execution_id, owner, rec.fence), rec

    def _claim_a_slot(self, execution_id: str, params: list[Any], now: float
                      ) -> Sequence[Any] | None:
        """A run with a concurrency key (the hot claim skips those): claimed only when
        :func:`executions.core.admission.admit` gives it a slot, in the same transaction."""
        found = (Execution.objects.using(self.using).filter(pk=execution_id)
                 .values_list("concurrency_key").first())
        if found is None:
            raise ExecutionNotFoundError(execution_id)
        key = found[0]
        if key is None:
            return None
        with transaction.atomic(using=self.using):
            if not admission.admit(execution_id, key, now, self.using):
                return None
            with self._hot_cursor() as cur:
                cur.execute(self._claim_sql(gated=False), params)
                row = cur.fetchone()
        if row is not None:
            self.slot_keys[execution_id] = key
        return row

    def _record_from_row(self, row: Sequence[Any]) -> ExecutionRecord:
        """An ExecutionRecord from a row of the :meth:`_record_fields` columns (values
        converted as a queryset converts them, without building a model)."""
        conn = self._conn
        converters = self._sql.get(("converters", conn.vendor))
        if converters is None:
            converters = []
            for i, field in enumerate(self._record_fields()):
                col = field.get_col(Execution._meta.db_table)
                found = conn.ops.get_db_converters(col) + field.get_db_converters(conn)
                if found:
                    converters.append((i, found, col))
            self._sql[("converters", conn.vendor)] = converters
        values = list(row)
        for i, found, col in converters:
            value = values[i]
            for convert in found:
                value = convert(value, col, conn)
            values[i] = value
        kw = dict(zip((*RECORD_FIELDS, "parent_id"), values, strict=True))
        kw["meta"] = kw["meta"] or {}
        return ExecutionRecord(**kw)

    @staticmethod
    def _record_fields() -> list[Any]:
        get = Execution._meta.get_field
        return [get(name) for name in RECORD_FIELDS] + [get("parent")]

    def _claim_sql(self, gated: bool = True) -> str:
        """The claim's UPDATE; a worker's store's (``runnable_only``) claims only what a
        message may run, and when ``gated``, only runs without a concurrency key."""
        key = ("claim", self.runnable_only, gated)
        sql = self._sql.get(key)
        if sql is None:
            qn = self._conn.ops.quote_name
            columns = ", ".join(qn(f.column) for f in self._record_fields())
            sql = (f"UPDATE {qn(Execution._meta.db_table)} SET fence = fence + 1, "
                   "lease_owner = %s, worker = %s, lease_expires = %s WHERE id = %s AND "
                   "(lease_owner IS NULL OR lease_expires < %s OR lease_owner = %s)")
            if self.runnable_only:
                marks = ", ".join(["%s"] * len(_CLAIMABLE))
                sql += (f" AND (status IN ({marks}) OR (status = %s AND "
                        "(wake_at IS NULL OR wake_at <= %s)))")
                if gated:
                    sql += " AND concurrency_key IS NULL"
            sql = self._sql[key] = f"{sql} RETURNING {columns}"
        return sql

    def append(self, lease: Lease, events: Sequence[ExecutionEvent],
               record: ExecutionRecord) -> None:
        self._call(self._append, lease, events, record)

    def _append(self, lease: Lease, events: Sequence[ExecutionEvent],
                record: ExecutionRecord) -> None:
        eid = lease.execution_id
        first = events[0].seq - 1 if events else record.last_seq
        values = {name: getattr(record, name) for name in _PROJECTED}
        # Only what changed since this lease's last append is written: most appends
        # move last_seq alone, and untouched indexed columns cost nothing to commit.
        fence, before = self._written.pop(eid, (None, {}))
        if fence != lease.fence:
            before = {}
        changed = tuple(n for n in _PROJECTED if n not in before or before[n] != values[n])
        with_status = record.status != before.get("status", object())
        # The append that stops the run (finished, paused, sleeping) gives the lease up
        # in the same statement: release() then has nothing left to write.
        ends = record.status in _ENDS_RUN
        columns = ("last_seq",) + tuple(n for n in changed if n not in ("status", "last_seq"))
        params: list[Any] = [self._param(n, values[n]) for n in columns]
        if with_status:
            finished = record.status in Status.FINISHED
            params += (finished, record.status, Status.CANCELLING, record.status,
                       finished, False)
        params += (eid, lease.fence, lease.owner, first)
        rows: list[Any] = []
        for e in events:
            rows += (eid, e.seq, e.type.value, e.name, e.source_id, e.parent_id, e.attempt,
                     self._json(e.value), self._dt(e.time))
        update = self._update_sql(columns, with_status, ends)
        # The append hooks (the inbox's mirror of pauses and their answers) write in the
        # same transaction (the end of a run whose whole log has no pause has nothing
        # to close there).
        pauseless = eid in self._pauseless
        hooks = [h for h in APPEND_HOOKS if h.applies(events, not pauseless, record)]
        inbox = bool(hooks)
        if pauseless and any(e.type is _PAUSED for e in events):
            self._pauseless.discard(eid)
        try:
            with transaction.atomic(using=self.using) if inbox else _nothing():
                if self._conn.vendor == "postgresql" and events:
                    row = self._append_in_one_statement(update, params, rows, len(events),
                                                        savepoint=not inbox)
                else:
                    row = self._append_in_a_transaction(update, params, rows, len(events))
                if row is not None:
                    for hook in hooks:
                        hook.run(record, events, self.using)
        except IntegrityError:
            raise LeaseLostError(f"Events of {eid} were written by someone else") from None
        if row is None:
            raise LeaseLostError(
                f"Lease on {eid} was taken over (or its log moved past event {first})")
        if eid in self._claimed:
            self._claimed[eid] = record.last_seq
        if ends:
            self._released[eid] = lease.fence
        if events and events_committed.has_listeners():
            announce = _announcement(eid, events, record, row[0], bool(row[1]))
            transaction.on_commit(announce, using=self.using, robust=True)
        self._written[eid] = (lease.fence, values)

    def _append_in_a_transaction(self, update: str, params: list, rows: list, count: int
                                 ) -> tuple | None:
        """UPDATE, then INSERT the events (SQLite: local, so round trips are cheap)."""
        conn = self._conn
        if conn.vendor == "sqlite" and not conn.in_atomic_block:
            return self._append_on_sqlite(update, params, rows, count)
        with transaction.atomic(using=self.using), self._conn.cursor() as cur:
            cur.execute(update, params)
            row = cur.fetchone()
            if row is not None and count:
                cur.execute(self._insert_sql(count), rows)
        return row

    def _append_on_sqlite(self, update: str, params: list, rows: list, count: int
                          ) -> tuple | None:
        """The same transaction on the DB-API connection itself: Django's atomic block
        and cursor wrapper (a regex rewrite of every query) cost more than the commit."""
        conn = self._conn
        conn.ensure_connection()
        raw = conn.connection
        statements = self._sql.get(("sqlite", update, count))
        if statements is None:
            statements = self._sql[("sqlite", update, count)] = (
                update.replace("%s", "?"), self._insert_sql(count).replace("%s", "?"))
        with conn.wrap_database_errors:
            raw.execute("BEGIN IMMEDIATE")
            try:
                row = raw.execute(statements[0], params).fetchone()
                if row is not None and count:
                    raw.execute(statements[1], rows)
            except BaseException:
                raw.execute("ROLLBACK")
                raise
            raw.execute("COMMIT")
        return row

    def _append_in_one_statement(self, update: str, params: list, rows: list, count: int,
                                 *, savepoint: bool = True) -> tuple | None:
        """PostgreSQL: the UPDATE and the INSERT in one statement, so one round trip
        (atomic by itself; a savepoint when the caller has a transaction open, unless
        ``savepoint=False``: the append opened that transaction itself)."""
        key = ("cte", update, count)
        sql = self._sql.get(key)
        if sql is None:
            qn = self._conn.ops.quote_name
            row = "(%s, %s::integer, %s, %s, %s, %s, %s::integer, %s::jsonb, %s::timestamptz)"
            columns = ", ".join(qn(c) for c in _EVENT_COLUMNS)
            sql = self._sql[key] = (
                f"WITH u AS ({update}), "
                f"i AS (INSERT INTO {qn(Event._meta.db_table)} ({columns}) "
                f"SELECT {columns} FROM (VALUES {', '.join([row] * count)}) "
                f"AS v ({columns}) WHERE EXISTS (SELECT 1 FROM u) RETURNING 1) "
                "SELECT status, cancel_requested, (SELECT count(*) FROM i) FROM u")
        nested = savepoint and self._conn.in_atomic_block
        with transaction.atomic(using=self.using) if nested else _nothing():
            with self._hot_cursor() as cur:
                cur.execute(sql, params + rows)
                return cur.fetchone()

    def _param(self, name: str, value: Any) -> Any:
        if name in _JSON_COLUMNS:
            return self._json(value)
        if name in _TIME_COLUMNS:
            return self._dt(value)
        return value

    def renew(self, lease: Lease, lease_seconds: float) -> ExecutionRecord:
        return self._call(self._renew, lease, lease_seconds)

    def _renew(self, lease: Lease, lease_seconds: float) -> ExecutionRecord:
        with transaction.atomic(using=self.using):
            won = (Execution.objects.using(self.using)
                   .filter(pk=lease.execution_id, fence=lease.fence, lease_owner=lease.owner)
                   .update(lease_expires=clock.time() + lease_seconds))
            if not won:
                raise LeaseLostError(f"Lease on {lease.execution_id} was taken over")
            return self._execution(lease.execution_id).record()

    def release(self, lease: Lease) -> None:
        eid = lease.execution_id
        self._written.pop(eid, None)
        self._claimed.pop(eid, None)
        self._pauseless.discard(eid)
        if self._released.pop(eid, None) == lease.fence:
            return  # the append that ended the run gave the lease up
        self._call(self._release, lease)

    def _release(self, lease: Lease) -> None:
        qn = self._conn.ops.quote_name
        with self._conn.cursor() as cur:
            cur.execute(f"UPDATE {qn(Execution._meta.db_table)} SET lease_owner = NULL, "
                        "lease_expires = NULL WHERE id = %s AND fence = %s AND "
                        "lease_owner = %s", (lease.execution_id, lease.fence, lease.owner))

    def request_cancel(self, execution_id: str, actor: str | None = None) -> ExecutionRecord:
        return self._call(self._request_cancel, execution_id, actor)

    def _request_cancel(self, execution_id: str, actor: str | None) -> ExecutionRecord:
        (Execution.objects.using(self.using).filter(pk=execution_id)
         .exclude(status__in=Status.FINISHED)
         .update(cancel_requested=True, cancel_actor=actor, status=Status.CANCELLING))
        return self._execution(execution_id).record()

    def list(self, *, status: str | None = None, workflow: str | None = None,
             limit: int = 100) -> list[ExecutionRecord]:
        return self._call(self._list, status, workflow, limit)

    def cache_get(self, key: str) -> Any:
        return self._call(self._cache_get, key)

    def _cache_get(self, key: str) -> Any:
        found = TaskCache.objects.using(self.using).filter(pk=key).values_list("value")[:1]
        return found[0][0] if found else MISSING

    def cache_put(self, key: str, value: Any) -> None:
        self._call(self._cache_put, key, value)

    def _cache_put(self, key: str, value: Any) -> None:
        TaskCache.objects.using(self.using).update_or_create(pk=key,
                                                             defaults={"value": value})

    def _list(self, status, workflow, limit):
        rows = Execution.objects.using(self.using).order_by("-created_at", "-id")
        if status is not None:
            rows = rows.filter(status=status)
        if workflow is not None:
            rows = rows.filter(workflow=workflow)
        return [row.record() for row in rows[:limit]]

    def expired(self, now: float | None = None, limit: int = 100
                ) -> builtins.list[ExecutionRecord]:
        now = clock.time() if now is None else now
        return self._call(lambda: [
            row.record() for row in Execution.objects.using(self.using)
            .filter(status=Status.RUNNING, lease_owner__isnull=False, lease_expires__lt=now)
            .order_by("lease_expires")[:limit]])


@functools.cache
def _postgres() -> types.SimpleNamespace:
    """What ``_hot_cursor`` needs from psycopg and Django's backend, imported once (and
    only by a process that uses PostgreSQL)."""
    import psycopg
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from django.db.backends.utils import CursorWrapper
    from psycopg.pq import Format

    return types.SimpleNamespace(
        Cursor=psycopg.Cursor, CursorWrapper=CursorWrapper,
        register_tzloader=register_tzloader,
        timestamptz=psycopg.adapters.types["timestamptz"].oid, text=Format.TEXT)


@contextlib.contextmanager
def _nothing():
    yield


def _announcement(execution_id: str, events: Sequence[ExecutionEvent],
                  record: ExecutionRecord, status: str, cancel_requested: bool
                  ) -> Callable[[], None]:
    """A callback sending events_committed with a snapshot taken now (before commit)."""
    execution = record_dict(record)
    execution["status"] = status
    execution["cancel_requested"] = cancel_requested
    payload = [e.to_dict() for e in events]

    def send() -> None:
        events_committed.send(sender=DjangoStore, execution_id=execution_id, events=payload,
                              execution=execution)

    return send
