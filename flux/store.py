"""Where executions live: one small interface, several stores.

A store keeps, per execution, one :class:`ExecutionRecord` (the projection of
its log plus the lease) and its events. The contract every store honours
(``tests/engine/test_store_contract.py`` runs against each):

* ``append`` is atomic: the events and the updated record land together or
  not at all, and only while the caller's lease is still the current one
  (its ``fence`` matches). A worker whose lease was taken over gets
  :class:`~flux.errors.LeaseLostError` and nothing is written.
* ``append`` costs O(1) in the length of the history; ``events`` returns a
  log ordered by ``seq`` (1, 2, 3... no gaps).
* ``claim`` is a conditional update: one caller wins; the fence counter goes
  up by one on each claim, so an older holder can no longer write.
* ``cache_get``/``cache_put`` keep the results of ``cache=True`` tasks (encoded
  JSON by key) across executions; the base class keeps them in the process.

Stores are synchronous and fast (a commit); the engine calls them inline.
"""

from __future__ import annotations

import copy
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, get_type_hints

from flux import projection
from flux.domain.events import ExecutionEvent, utcnow
from flux.errors import ExecutionNotFoundError, LeaseLostError
from flux.projection import Status

#: ``field(metadata=BOOKKEEPING)``: a record field that an execution's JSON leaves out.
BOOKKEEPING = {"public": False}


@dataclass
class ExecutionRecord:
    """An execution's projection and bookkeeping. Values are encoded JSON.

    The one definition of an execution's fields: the stores' columns, the Django
    model's mirror (``executions.models.RECORD_FIELDS``), the JSON (:meth:`to_json`,
    DESIGN.md's "An execution as JSON"), and through it the REST API's schema and the
    front-end's types are derived from these fields (:data:`RECORD_FIELDS`,
    :data:`PUBLIC_FIELDS`, :func:`field_kind`)."""

    id: str
    workflow: str
    input: Any = None
    status: str = Status.CREATED
    output: Any = None
    error: dict | None = None
    created_at: datetime = field(default_factory=utcnow)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    recovery_attempts: int = 0
    max_recovery_attempts: int = 3
    recover_on_worker_loss: bool = True
    durable: bool = True
    parent_id: str | None = None
    last_seq: int = 0
    lease_owner: str | None = field(default=None, metadata=BOOKKEEPING)
    lease_expires: float | None = field(default=None, metadata=BOOKKEEPING)  # epoch s
    fence: int = field(default=0, metadata=BOOKKEEPING)
    cancel_requested: bool = False
    cancel_actor: str | None = field(default=None, metadata=BOOKKEEPING)
    wake_at: datetime | None = None
    worker: str | None = None
    actor: str | None = None
    meta: dict = field(default_factory=dict, metadata=BOOKKEEPING)

    def lease_is_live(self, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return self.lease_owner is not None and (self.lease_expires or 0) > now

    def to_json(self) -> dict[str, Any]:
        """The execution as JSON: the :data:`PUBLIC_FIELDS`, times in ISO 8601."""
        return {name: iso_time(getattr(self, name)) if field_kind(name) == "time"
                else getattr(self, name) for name in PUBLIC_FIELDS}


#: Every field of an :class:`ExecutionRecord`, in order.
RECORD_FIELDS: tuple[str, ...] = tuple(f.name for f in fields(ExecutionRecord))
#: The fields an execution's JSON shows; the others are the lease's and the engine's.
PUBLIC_FIELDS: tuple[str, ...] = tuple(
    f.name for f in fields(ExecutionRecord) if f.metadata.get("public", True))
_HINTS = get_type_hints(ExecutionRecord)


def field_type(name: str) -> Any:
    """The field's annotation (``datetime | None``, ``int``...)."""
    return _HINTS[name]


def field_kind(name: str) -> str:
    """How a store keeps the field: ``time``, ``bool``, ``json`` (any JSON value) or
    ``scalar`` (str, int, float)."""
    hint = _HINTS[name]
    args = set(getattr(hint, "__args__", ())) - {type(None)} or {hint}
    if datetime in args:
        return "time"
    if args == {bool}:
        return "bool"
    if args & {Any, dict}:
        return "json"
    return "scalar"


def iso_time(value: datetime | None) -> str | None:
    """ISO 8601 with an offset (naive times are UTC); None stays None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.isoformat()


@dataclass(frozen=True)
class Lease:
    """Proof that the holder may write an execution's events."""

    execution_id: str
    owner: str
    fence: int


#: What ``Store.cache_get`` returns for a key it does not hold (a cached None is None).
MISSING: Any = type("Missing", (), {"__repr__": lambda self: "MISSING"})()


class Store(ABC):
    """The storage interface of the engine. See the module docstring for the contract."""

    @abstractmethod
    def create(self, record: ExecutionRecord) -> None:
        """Insert a new execution. Raises ValueError if the id exists."""

    @abstractmethod
    def get(self, execution_id: str) -> ExecutionRecord:
        """The record. Raises ExecutionNotFoundError."""

    @abstractmethod
    def events(self, execution_id: str, after: int = 0) -> list[ExecutionEvent]:
        """Events with seq > ``after``, ordered by seq."""

    @abstractmethod
    def claim(
        self,
        execution_id: str,
        owner: str,
        lease_seconds: float,
        *,
        steal_from: str | None = None,
    ) -> tuple[Lease, ExecutionRecord] | None:
        """Take the execution's lease if nobody holds a live one.

        ``steal_from`` names a holder known to be dead (same host, process
        gone): its lease is taken even if it has not expired. Returns None when
        another holder has the lease.
        """

    @abstractmethod
    def append(self, lease: Lease, events: Sequence[ExecutionEvent],
               record: ExecutionRecord) -> None:
        """Atomically add ``events`` and save ``record``'s projection fields.

        ``record`` already has the events applied (the engine projects as it
        goes). Raises LeaseLostError when ``lease`` is no longer current.
        """

    @abstractmethod
    def renew(self, lease: Lease, lease_seconds: float) -> ExecutionRecord:
        """Extend the lease; returns the record (to see cancel requests)."""

    @abstractmethod
    def release(self, lease: Lease) -> None:
        """Give the lease up (no error if it was already lost)."""

    @abstractmethod
    def request_cancel(self, execution_id: str, actor: str | None = None) -> ExecutionRecord:
        """Flag a running execution for cancellation; its worker stops it."""

    @abstractmethod
    def list(self, *, status: str | None = None, workflow: str | None = None,
             limit: int = 100) -> list[ExecutionRecord]:
        """Recent executions, newest first."""

    def expired(self, now: float | None = None, limit: int = 100) -> list[ExecutionRecord]:
        """Running executions whose lease expired (their worker is gone)."""
        now = time.time() if now is None else now
        return [r for r in self.list(status=Status.RUNNING, limit=10_000)
                if r.lease_owner and (r.lease_expires or 0) < now][:limit]

    def cache_get(self, key: str) -> Any:
        """The encoded result cached under ``key`` (a ``cache=True`` task), or MISSING."""
        return self.__dict__.get("_task_cache", {}).get(key, MISSING)

    def cache_put(self, key: str, value: Any) -> None:
        """Cache the encoded result ``value`` under ``key`` (replacing any)."""
        self.__dict__.setdefault("_task_cache", {})[key] = copy.deepcopy(value)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the calling thread's resources (its connection, if any): a thread
        that used the store and is about to end calls it."""


def apply_events(record: ExecutionRecord, events: Iterable[ExecutionEvent]) -> None:
    for event in events:
        projection.apply(record, event)


class MemoryStore(Store):
    """Everything in a dict: for tests and short-lived scripts."""

    def __init__(self) -> None:
        self._records: dict[str, ExecutionRecord] = {}
        self._events: dict[str, list[ExecutionEvent]] = {}
        self._lock = threading.Lock()

    def create(self, record: ExecutionRecord) -> None:
        with self._lock:
            if record.id in self._records:
                raise ValueError(f"Execution '{record.id}' already exists")
            self._records[record.id] = copy.deepcopy(record)
            self._events[record.id] = []

    def _get(self, execution_id: str) -> ExecutionRecord:
        try:
            return self._records[execution_id]
        except KeyError:
            raise ExecutionNotFoundError(execution_id) from None

    def get(self, execution_id: str) -> ExecutionRecord:
        with self._lock:
            return copy.deepcopy(self._get(execution_id))

    def events(self, execution_id: str, after: int = 0) -> list[ExecutionEvent]:
        with self._lock:
            self._get(execution_id)
            return list(self._events[execution_id][after:])

    def claim(self, execution_id, owner, lease_seconds, *, steal_from=None):
        with self._lock:
            rec = self._get(execution_id)
            now = time.time()
            if rec.lease_is_live(now) and rec.lease_owner != steal_from:
                return None
            rec.fence += 1
            rec.lease_owner = owner
            rec.worker = owner
            rec.lease_expires = now + lease_seconds
            return Lease(execution_id, owner, rec.fence), copy.deepcopy(rec)

    def _check(self, lease: Lease) -> ExecutionRecord:
        rec = self._get(lease.execution_id)
        if rec.fence != lease.fence or rec.lease_owner != lease.owner:
            raise LeaseLostError(f"Lease on {lease.execution_id} was taken over")
        return rec

    def append(self, lease, events, record):
        with self._lock:
            rec = self._check(lease)
            log = self._events[lease.execution_id]
            if events and events[0].seq != len(log) + 1:
                raise LeaseLostError(
                    f"Event {events[0].seq} of {lease.execution_id} does not follow {len(log)}"
                )
            log.extend(events)
            _copy_projection(record, rec)

    def renew(self, lease, lease_seconds):
        with self._lock:
            rec = self._check(lease)
            rec.lease_expires = time.time() + lease_seconds
            return copy.deepcopy(rec)

    def release(self, lease):
        with self._lock:
            rec = self._records.get(lease.execution_id)
            if rec and rec.fence == lease.fence and rec.lease_owner == lease.owner:
                rec.lease_owner = None
                rec.lease_expires = None

    def request_cancel(self, execution_id, actor=None):
        with self._lock:
            rec = self._get(execution_id)
            if rec.status not in Status.FINISHED:
                rec.cancel_requested = True
                rec.cancel_actor = actor
                rec.status = Status.CANCELLING
            return copy.deepcopy(rec)

    def list(self, *, status=None, workflow=None, limit=100):
        with self._lock:
            recs = [r for r in self._records.values()
                    if (status is None or r.status == status)
                    and (workflow is None or r.workflow == workflow)]
        recs.sort(key=lambda r: r.created_at, reverse=True)
        return [copy.deepcopy(r) for r in recs[:limit]]


#: Record fields the projection (and thus ``append``) may change.
PROJECTION_FIELDS = ("status", "output", "error", "started_at", "finished_at",
                     "recovery_attempts", "last_seq", "wake_at")


def _copy_projection(src: ExecutionRecord, dst: ExecutionRecord) -> None:
    for name in PROJECTION_FIELDS:
        setattr(dst, name, getattr(src, name))
    merge_cancel_flag(dst)


def merge_cancel_flag(rec: ExecutionRecord) -> None:
    """A pending cancel request survives appends until the execution finishes."""
    if rec.status in Status.FINISHED:
        rec.cancel_requested = False
    elif rec.cancel_requested:
        rec.status = Status.CANCELLING
