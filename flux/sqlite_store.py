"""A SQLite-file store: the standalone engine's default.

Lives at ``$FLUX_HOME/flux.db`` (``./.flux`` by default; created when
missing). WAL journal with ``synchronous=NORMAL``: a crashed process loses
nothing it committed; a power cut may lose the last commits, which then run
again (tasks are at-least-once). Several processes may share the file: the
lease in each row decides who writes an execution.
"""

from __future__ import annotations

import builtins
import json
import os
import sqlite3
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from flux.clock import clock
from flux.domain.events import ExecutionEvent, ExecutionEventType
from flux.errors import ExecutionNotFoundError, LeaseLostError
from flux.projection import Status
from flux.store import (
    MISSING,
    RECORD_FIELDS,
    ExecutionRecord,
    Lease,
    Store,
    field_kind,
    match_holds,
    merge_cancel_flag,
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS executions (
    id TEXT PRIMARY KEY,
    workflow TEXT NOT NULL,
    input TEXT,
    status TEXT NOT NULL,
    output TEXT,
    error TEXT,
    created_at TEXT NOT NULL,
    started_at TEXT,
    finished_at TEXT,
    recovery_attempts INTEGER NOT NULL DEFAULT 0,
    max_recovery_attempts INTEGER NOT NULL DEFAULT 3,
    recover_on_worker_loss INTEGER NOT NULL DEFAULT 1,
    durable INTEGER NOT NULL DEFAULT 1,
    parent_id TEXT,
    last_seq INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_expires REAL,
    fence INTEGER NOT NULL DEFAULT 0,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    cancel_actor TEXT,
    wake_at TEXT,
    worker TEXT,
    actor TEXT,
    meta TEXT NOT NULL DEFAULT '{}',
    parent_execution_id TEXT,
    continued_from TEXT,
    continued_as TEXT,
    waiting_for TEXT,
    deadline TEXT,
    progress TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS executions_status ON executions (status, created_at);
CREATE INDEX IF NOT EXISTS executions_workflow ON executions (workflow, created_at);
CREATE TABLE IF NOT EXISTS events (
    execution_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    name TEXT NOT NULL,
    source_id TEXT NOT NULL,
    parent_id TEXT,
    attempt INTEGER NOT NULL DEFAULT 0,
    value TEXT,
    time TEXT NOT NULL,
    PRIMARY KEY (execution_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS task_cache (
    key TEXT PRIMARY KEY,
    value TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS event_waits (
    execution_id TEXT NOT NULL,
    wait_id TEXT NOT NULL,
    name TEXT NOT NULL,
    match TEXT,
    delivered INTEGER NOT NULL DEFAULT 0,
    payload TEXT,
    closed INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (execution_id, wait_id)
);
CREATE INDEX IF NOT EXISTS event_waits_name ON event_waits (name);
CREATE TABLE IF NOT EXISTS kept_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    execution_id TEXT,
    payload TEXT,
    keep_until TEXT
);
CREATE INDEX IF NOT EXISTS kept_events_name ON kept_events (name);
"""

#: Columns added after the first release: (name, SQL type), added to older files.
_ADDED = (("parent_execution_id", "TEXT"), ("continued_from", "TEXT"),
          ("continued_as", "TEXT"), ("waiting_for", "TEXT"), ("deadline", "TEXT"),
          ("progress", "TEXT NOT NULL DEFAULT '{}'"))

# The executions table's columns are the record's fields (tests/engine/test_sqlite_store.py
# checks SCHEMA against them); JSON values, times and booleans are converted.
_COLUMNS = RECORD_FIELDS
_JSON = {n for n in RECORD_FIELDS if field_kind(n) == "json"}
_TIMES = {n for n in RECORD_FIELDS if field_kind(n) == "time"}
_BOOLS = {n for n in RECORD_FIELDS if field_kind(n) == "bool"}


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _to_row(rec: ExecutionRecord) -> tuple[Any, ...]:
    out: list[Any] = []
    for name in _COLUMNS:
        v = getattr(rec, name)
        if name in _JSON:
            v = _dumps(v)
        elif name in _TIMES:
            v = v.isoformat() if v is not None else None
        elif name in _BOOLS:
            v = int(bool(v))
        out.append(v)
    return tuple(out)


def _from_row(row: sqlite3.Row) -> ExecutionRecord:
    kw = {}
    for name in _COLUMNS:
        v = row[name]
        if name in _JSON:
            v = json.loads(v) if v is not None else None
        elif name in _TIMES:
            v = datetime.fromisoformat(v) if v is not None else None
        elif name in _BOOLS:
            v = bool(v)
        kw[name] = v
    kw["meta"] = kw["meta"] or {}
    kw["progress"] = kw["progress"] or {}
    return ExecutionRecord(**kw)


class SQLiteStore(Store):
    """Executions in one SQLite file, safe across threads and processes."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._conn() as conn:
            conn.executescript(SCHEMA)
            have = {r[1] for r in conn.execute("PRAGMA table_info(executions)")}
            for name, kind in _ADDED:
                if name not in have:
                    conn.execute(f"ALTER TABLE executions ADD COLUMN {name} {kind}")
            conn.execute("CREATE INDEX IF NOT EXISTS executions_parent ON executions "
                         "(parent_execution_id)")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                   check_same_thread=False)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA busy_timeout=30000")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    def _tx(self) -> _Tx:
        return _Tx(self._conn())

    def create(self, record: ExecutionRecord) -> None:
        marks = ",".join("?" * len(_COLUMNS))
        try:
            with self._tx() as c:
                c.execute(f"INSERT INTO executions ({','.join(_COLUMNS)}) VALUES ({marks})",
                          _to_row(record))
        except sqlite3.IntegrityError:
            raise ValueError(f"Execution '{record.id}' already exists") from None

    def get(self, execution_id: str) -> ExecutionRecord:
        row = self._conn().execute("SELECT * FROM executions WHERE id=?",
                                   (execution_id,)).fetchone()
        if row is None:
            raise ExecutionNotFoundError(execution_id)
        return _from_row(row)

    def events(self, execution_id: str, after: int = 0) -> list[ExecutionEvent]:
        conn = self._conn()
        rows = conn.execute(
            "SELECT seq, type, name, source_id, parent_id, attempt, value, time FROM events "
            "WHERE execution_id=? AND seq>? ORDER BY seq", (execution_id, after)).fetchall()
        if not rows and after == 0:
            self.get(execution_id)  # raises when unknown
        loads, fromiso, etype = json.loads, datetime.fromisoformat, ExecutionEventType
        return [
            ExecutionEvent(
                type=etype(r[1]), name=r[2], source_id=r[3], parent_id=r[4], attempt=r[5],
                value=loads(r[6]) if r[6] is not None else None, time=fromiso(r[7]),
                seq=r[0], execution_id=execution_id,
            )
            for r in rows
        ]

    def claim(self, execution_id: str, owner: str, lease_seconds: float, *,
              steal_from: str | None = None) -> tuple[Lease, ExecutionRecord] | None:
        now = time.time()
        with self._tx() as c:
            cur = c.execute(
                "UPDATE executions SET fence=fence+1, lease_owner=?, worker=?, lease_expires=? "
                "WHERE id=? AND (lease_owner IS NULL OR lease_expires<? OR lease_owner IS ?)",
                (owner, owner, now + lease_seconds, execution_id, now, steal_from))
            if cur.rowcount == 0:
                self.get(execution_id)  # raises when unknown
                return None
            rec = _from_row(c.execute("SELECT * FROM executions WHERE id=?",
                                      (execution_id,)).fetchone())
        return Lease(execution_id, owner, rec.fence), rec

    def append(self, lease: Lease, events: Sequence[ExecutionEvent],
               record: ExecutionRecord) -> None:
        with self._tx() as c:
            row = c.execute("SELECT cancel_requested FROM executions WHERE id=? AND fence=? "
                            "AND lease_owner=?", (lease.execution_id, lease.fence,
                                                  lease.owner)).fetchone()
            if row is None:
                raise LeaseLostError(f"Lease on {lease.execution_id} was taken over")
            status = record.status
            cancel = bool(row[0])
            if status in Status.FINISHED:
                cancel = False
            elif cancel:
                status = Status.CANCELLING
            c.execute(
                "UPDATE executions SET status=?, output=?, error=?, started_at=?, "
                "finished_at=?, recovery_attempts=?, last_seq=?, wake_at=?, "
                "cancel_requested=?, waiting_for=?, deadline=?, continued_as=? WHERE id=?",
                (status, _dumps(record.output), _dumps(record.error),
                 _iso(record.started_at), _iso(record.finished_at),
                 record.recovery_attempts, record.last_seq, _iso(record.wake_at), int(cancel),
                 _dumps(record.waiting_for), _iso(record.deadline), record.continued_as,
                 lease.execution_id))
            try:
                c.executemany(
                    "INSERT INTO events (execution_id, seq, type, name, source_id, parent_id, "
                    "attempt, value, time) VALUES (?,?,?,?,?,?,?,?,?)",
                    [(lease.execution_id, e.seq, e.type.value, e.name, e.source_id,
                      e.parent_id, e.attempt, _dumps(e.value), e.time.isoformat())
                     for e in events])
            except sqlite3.IntegrityError:
                raise LeaseLostError(
                    f"Events of {lease.execution_id} were written by someone else") from None

    def renew(self, lease: Lease, lease_seconds: float) -> ExecutionRecord:
        with self._tx() as c:
            cur = c.execute("UPDATE executions SET lease_expires=? WHERE id=? AND fence=? "
                            "AND lease_owner=?", (time.time() + lease_seconds,
                                                  lease.execution_id, lease.fence, lease.owner))
            if cur.rowcount == 0:
                raise LeaseLostError(f"Lease on {lease.execution_id} was taken over")
            return _from_row(c.execute("SELECT * FROM executions WHERE id=?",
                                       (lease.execution_id,)).fetchone())

    def release(self, lease: Lease) -> None:
        with self._tx() as c:
            c.execute("UPDATE executions SET lease_owner=NULL, lease_expires=NULL "
                      "WHERE id=? AND fence=? AND lease_owner=?",
                      (lease.execution_id, lease.fence, lease.owner))

    def request_cancel(self, execution_id: str, actor: str | None = None) -> ExecutionRecord:
        with self._tx() as c:
            c.execute("UPDATE executions SET cancel_requested=1, cancel_actor=?, "
                      "status=? WHERE id=? AND status NOT IN (?,?,?)",
                      (actor, Status.CANCELLING, execution_id, *sorted(Status.FINISHED)))
        return self.get(execution_id)

    def list(self, *, status: str | None = None, workflow: str | None = None,
             limit: int = 100) -> builtins.list[ExecutionRecord]:
        where: builtins.list[str] = []
        args: builtins.list[Any] = []
        if status is not None:
            where.append("status=?")
            args.append(status)
        if workflow is not None:
            where.append("workflow=?")
            args.append(workflow)
        sql = "SELECT * FROM executions"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY created_at DESC LIMIT ?"
        return [_from_row(r) for r in self._conn().execute(sql, (*args, limit)).fetchall()]


    def cache_get(self, key: str) -> Any:
        row = self._conn().execute("SELECT value FROM task_cache WHERE key=?",
                                   (key,)).fetchone()
        return MISSING if row is None else json.loads(row[0])

    def cache_put(self, key: str, value: Any) -> None:
        with self._tx() as c:
            c.execute("INSERT OR REPLACE INTO task_cache (key, value) VALUES (?, ?)",
                      (key, _dumps(value)))


    # composition --------------------------------------------------------------
    def children(self, execution_id: str) -> builtins.list[ExecutionRecord]:
        rows = self._conn().execute("SELECT * FROM executions WHERE parent_execution_id=? "
                                    "ORDER BY created_at", (execution_id,)).fetchall()
        return [_from_row(r) for r in rows]

    def set_progress(self, execution_id: str, progress: dict[str, Any]) -> None:
        with self._tx() as c:
            c.execute("UPDATE executions SET progress=? WHERE id=?",
                      (_dumps(progress), execution_id))

    def wait_event(self, execution_id: str, wait_id: str, name: str, match: dict[str, Any] | None,
                   expires_at: datetime | None = None) -> tuple[bool, Any]:
        with self._tx() as c:
            row = c.execute("SELECT delivered, payload FROM event_waits WHERE "
                            "execution_id=? AND wait_id=?", (execution_id, wait_id)).fetchone()
            if row is not None:
                return bool(row[0]), _loads(row[1])
            now = clock.now().isoformat()
            taken = None
            for kept in c.execute("SELECT id, payload, keep_until FROM kept_events WHERE "
                                  "name=? AND (execution_id IS NULL OR execution_id=?) "
                                  "ORDER BY id", (name, execution_id)).fetchall():
                if (kept[2] is None or kept[2] > now) and match_holds(match, _loads(kept[1])):
                    taken = kept
                    break
            if taken is not None:
                c.execute("DELETE FROM kept_events WHERE id=?", (taken[0],))
            c.execute("INSERT INTO event_waits (execution_id, wait_id, name, match, "
                      "delivered, payload) VALUES (?,?,?,?,?,?)",
                      (execution_id, wait_id, name, _dumps(match), int(taken is not None),
                       taken[1] if taken is not None else None))
            return (True, _loads(taken[1])) if taken is not None else (False, None)

    def send_event(self, name: str, payload: Any, *, execution_id: str | None = None,
                   keep_until: datetime | None = None, now: datetime | None = None
                   ) -> tuple[builtins.list[str], bool]:
        with self._tx() as c:
            sql = ("SELECT w.execution_id, w.wait_id, w.match FROM event_waits w JOIN "
                   "executions e ON e.id = w.execution_id WHERE w.name=? AND w.delivered=0 "
                   "AND w.closed=0 AND e.status NOT IN (?,?,?)")
            args: builtins.list[Any] = [name, *sorted(Status.FINISHED)]
            if execution_id is not None:
                sql += " AND w.execution_id=?"
                args.append(execution_id)
            delivered: builtins.list[str] = []
            for eid, wait_id, match in c.execute(sql + " ORDER BY w.rowid", args).fetchall():
                if eid in delivered or not match_holds(_loads(match), payload):
                    continue
                c.execute("UPDATE event_waits SET delivered=1, payload=? WHERE "
                          "execution_id=? AND wait_id=? AND delivered=0",
                          (_dumps(payload), eid, wait_id))
                delivered.append(eid)
            if not delivered:
                c.execute("INSERT INTO kept_events (name, execution_id, payload, keep_until) "
                          "VALUES (?,?,?,?)", (name, execution_id, _dumps(payload),
                                               _iso(keep_until)))
            return delivered, not delivered

    def close_wait(self, execution_id: str, wait_id: str) -> tuple[bool, Any]:
        with self._tx() as c:
            row = c.execute("SELECT delivered, payload FROM event_waits WHERE "
                            "execution_id=? AND wait_id=?", (execution_id, wait_id)).fetchone()
            if row is None:
                return False, None
            if not row[0]:
                c.execute("UPDATE event_waits SET closed=1 WHERE execution_id=? AND "
                          "wait_id=?", (execution_id, wait_id))
            return bool(row[0]), _loads(row[1])

    def forget_waits(self, execution_id: str, wait_id: str | None = None) -> None:
        with self._tx() as c:
            if wait_id is None:
                c.execute("DELETE FROM event_waits WHERE execution_id=?", (execution_id,))
            else:
                c.execute("DELETE FROM event_waits WHERE execution_id=? AND wait_id=?",
                          (execution_id, wait_id))

    def drop_expired_events(self, now: datetime) -> int:
        with self._tx() as c:
            return c.execute("DELETE FROM kept_events WHERE keep_until IS NOT NULL AND "
                             "keep_until<=?", (now.isoformat(),)).rowcount


def _loads(text: str | None) -> Any:
    return json.loads(text) if text is not None else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class _Tx:
    """BEGIN IMMEDIATE ... COMMIT (or ROLLBACK on error)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> sqlite3.Connection:
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.conn.execute("COMMIT")
        else:
            self.conn.execute("ROLLBACK")


__all__ = ["SQLiteStore", "merge_cancel_flag"]
