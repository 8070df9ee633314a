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
* ``children`` lists the executions a ``call`` started from an execution.
* Events from the world (``wait_for_event``): ``wait_event`` registers a waiter
  (or hands it a kept event that matches), ``send_event`` delivers a payload to
  every open waiter of that name whose ``match`` holds (each waiter at most once,
  however many senders race) or keeps it for a later wait, ``close_wait`` closes
  a waiter (its timeout) unless it was delivered, ``forget_waits`` drops them once
  the log has recorded the outcome. The base class keeps all this in the process
  (one lock); the SQLite and Django stores in their database.
* ``set_progress`` keeps the last ``progress()`` value of each task (not a log).

Stores are synchronous and fast (a commit); the engine calls them inline.
"""

from __future__ import annotations

import builtins
import copy
import threading
import time
import types
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any, cast, get_args, get_origin, get_type_hints

from flux import projection
from flux.clock import clock
from flux.domain.events import ExecutionEvent, utcnow
from flux.errors import ExecutionNotFoundError, LeaseLostError
from flux.projection import Status

#: ``field(metadata=BOOKKEEPING)``: a record field that an execution's JSON leaves out.
BOOKKEEPING = {"public": False}


@dataclass
class ExecutionRecord:
    """An execution's projection and bookkeeping. Values are encoded JSON.

    The one definition of an execution's fields: the stores' columns, the Django
    model's mirror (``executions.models.executions.RECORD_FIELDS``), the JSON (:meth:`to_json`,
    DESIGN.md's "An execution as JSON"), and through it the REST API's schema and the
    front-end's types are derived from these fields (:data:`RECORD_FIELDS`,
    :data:`PUBLIC_FIELDS`, :func:`field_kind`)."""

    id: str
    workflow: str
    input: Any = None
    status: str = Status.CREATED
    output: Any = None
    error: dict[str, Any] | None = None
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
    meta: dict[str, Any] = field(default_factory=dict, metadata=BOOKKEEPING)
    #: The execution whose ``call`` started this one.
    parent_execution_id: str | None = None
    #: The execution this one continues (``continue_as_new``), and the one continuing it.
    continued_from: str | None = None
    continued_as: str | None = None
    #: What a suspended execution waits for (pauses, a sleep, children, events).
    waiting_for: list[Any] | None = None
    #: When the whole run times out (``workflow.with_options(timeout=...)``).
    deadline: datetime | None = None
    #: The last ``progress()`` value of each task: {task id: {"name", "value", "time"}}.
    progress: dict[str, Any] = field(default_factory=dict)

    def lease_is_live(self, now: float | None = None) -> bool:
        now = time.time() if now is None else now
        return self.lease_owner is not None and (self.lease_expires or 0) > now

    def to_json(self) -> dict[str, Any]:
        """The execution as JSON: the :data:`PUBLIC_FIELDS`, times in ISO 8601."""
        return {name: iso_time(getattr(self, name)) if name in _PUBLIC_TIMES
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
    members = get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    # The classes, without None and type arguments (``list[Any] | None`` -> {list}).
    args = {get_origin(a) or a for a in members} - {type(None)}
    if datetime in args:
        return "time"
    if args == {bool}:
        return "bool"
    if args & {Any, dict, list}:
        return "json"
    return "scalar"


#: The :data:`PUBLIC_FIELDS` that hold times (``to_json`` writes them in ISO 8601).
_PUBLIC_TIMES = frozenset(name for name in PUBLIC_FIELDS if field_kind(name) == "time")


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
             limit: int = 100) -> builtins.list[ExecutionRecord]:
        """Recent executions, newest first."""

    def expired(self, now: float | None = None, limit: int = 100) -> builtins.list[ExecutionRecord]:
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

    def create_many(self, records: Sequence[ExecutionRecord]) -> None:
        """Insert new executions; ids that exist already are left as they are."""
        for record in records:
            try:
                self.create(record)
            except ValueError:
                pass

    # composition: children, events, progress ------------------------------------------
    def children(self, execution_id: str) -> builtins.list[ExecutionRecord]:
        """The executions whose ``parent_execution_id`` is ``execution_id``."""
        return [r for r in self.list(limit=1_000_000)
                if r.parent_execution_id == execution_id]

    def _events_state(self) -> _EventBook:
        book = self.__dict__.get("_event_book")
        if book is None:
            book = self.__dict__.setdefault("_event_book", _EventBook())
        return cast(_EventBook, book)

    def wait_event(self, execution_id: str, wait_id: str, name: str, match: dict[str, Any] | None,
                   expires_at: datetime | None = None) -> tuple[bool, Any]:
        """Register a waiter (once per ``wait_id``); ``(True, payload)`` when it has a
        delivery (now or earlier: a kept event that matches is taken for it)."""
        return self._events_state().wait(execution_id, wait_id, name, match)

    def send_event(self, name: str, payload: Any, *, execution_id: str | None = None,
                   keep_until: datetime | None = None, now: datetime | None = None
                   ) -> tuple[builtins.list[str], bool]:
        """Deliver to every open waiter called ``name`` (of ``execution_id`` only, when
        given) whose match holds; none: keep it until ``keep_until`` for a later wait.
        Returns the executions delivered to, and whether it was kept."""
        return self._events_state().send(self, name, payload, execution_id, keep_until,
                                         now or utcnow())

    def close_wait(self, execution_id: str, wait_id: str) -> tuple[bool, Any]:
        """Close the waiter so nothing more is delivered to it; ``(True, payload)`` when a
        delivery came first (it wins over the timeout)."""
        return self._events_state().close(execution_id, wait_id)

    def forget_waits(self, execution_id: str, wait_id: str | None = None) -> None:
        """Drop the waiter (every waiter of the execution when ``wait_id`` is None)."""
        self._events_state().forget(execution_id, wait_id)

    def drop_expired_events(self, now: datetime) -> int:
        """Forget kept events whose time ran out; how many."""
        return self._events_state().expire(now)

    def set_progress(self, execution_id: str, progress: dict[str, Any]) -> None:
        """Save the execution's progress values (the whole dict, replacing); ``get``
        returns them in ``progress``."""
        raise NotImplementedError(f"{type(self).__name__} does not keep progress")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the calling thread's resources (its connection, if any): a thread
        that used the store and is about to end calls it."""


def match_holds(match: dict[str, Any] | None, payload: Any) -> bool:
    """Whether ``payload`` has every field of ``match`` with the same value (a payload
    that is not an object, or lacks a field, does not match)."""
    if not match:
        return True
    if not isinstance(payload, dict):
        return False
    return all(key in payload and payload[key] == value for key, value in match.items())


class _EventBook:
    """Waiters and kept events in the process (the base Store's implementation)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        #: (execution id, wait id) -> {"name", "match", "delivered", "payload", "closed"}
        self.waiters: dict[tuple[str, str], dict[str, Any]] = {}
        #: [{"name", "payload", "execution_id", "keep_until"}] in arrival order
        self.kept: list[dict[str, Any]] = []

    def wait(self, execution_id: str, wait_id: str, name: str,
             match: dict[str, Any] | None) -> tuple[bool, Any]:
        with self.lock:
            w = self.waiters.get((execution_id, wait_id))
            if w is None:
                w = self.waiters[(execution_id, wait_id)] = {
                    "name": name, "match": copy.deepcopy(match), "delivered": False,
                    "payload": None, "closed": False}
                now = clock.now()
                for i, k in enumerate(self.kept):
                    if (k["name"] == name and k["execution_id"] in (None, execution_id)
                            and (k["keep_until"] is None or k["keep_until"] > now)
                            and match_holds(match, k["payload"])):
                        w["delivered"], w["payload"] = True, k["payload"]
                        del self.kept[i]
                        break
            return w["delivered"], copy.deepcopy(w["payload"])

    def send(self, store: Store, name: str, payload: Any, execution_id: str | None,
             keep_until: datetime | None, now: datetime) -> tuple[list[str], bool]:
        with self.lock:
            delivered: list[str] = []
            for (eid, _), w in self.waiters.items():
                if (w["name"] != name or w["delivered"] or w["closed"]
                        or (execution_id is not None and eid != execution_id)
                        or eid in delivered or not match_holds(w["match"], payload)
                        or _finished(store, eid)):
                    continue
                w["delivered"], w["payload"] = True, copy.deepcopy(payload)
                delivered.append(eid)
            if not delivered:
                self.kept.append({"name": name, "payload": copy.deepcopy(payload),
                                  "execution_id": execution_id, "keep_until": keep_until})
            return delivered, not delivered

    def close(self, execution_id: str, wait_id: str) -> tuple[bool, Any]:
        with self.lock:
            w = self.waiters.get((execution_id, wait_id))
            if w is None:
                return False, None
            if not w["delivered"]:
                w["closed"] = True
            return w["delivered"], copy.deepcopy(w["payload"])

    def forget(self, execution_id: str, wait_id: str | None) -> None:
        with self.lock:
            for key in [k for k in self.waiters
                        if k[0] == execution_id and wait_id in (None, k[1])]:
                del self.waiters[key]

    def expire(self, now: datetime) -> int:
        with self.lock:
            before = len(self.kept)
            self.kept = [k for k in self.kept
                         if k["keep_until"] is None or k["keep_until"] > now]
            return before - len(self.kept)


def _finished(store: Store, execution_id: str) -> bool:
    try:
        return store.get(execution_id).status in Status.FINISHED
    except ExecutionNotFoundError:
        return True


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

    def claim(self, execution_id: str, owner: str, lease_seconds: float, *,
              steal_from: str | None = None) -> tuple[Lease, ExecutionRecord] | None:
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

    def append(self, lease: Lease, events: Sequence[ExecutionEvent],
               record: ExecutionRecord) -> None:
        with self._lock:
            rec = self._check(lease)
            log = self._events[lease.execution_id]
            if events and events[0].seq != len(log) + 1:
                raise LeaseLostError(
                    f"Event {events[0].seq} of {lease.execution_id} does not follow {len(log)}"
                )
            log.extend(events)
            _copy_projection(record, rec)

    def renew(self, lease: Lease, lease_seconds: float) -> ExecutionRecord:
        with self._lock:
            rec = self._check(lease)
            rec.lease_expires = time.time() + lease_seconds
            return copy.deepcopy(rec)

    def release(self, lease: Lease) -> None:
        with self._lock:
            rec = self._records.get(lease.execution_id)
            if rec and rec.fence == lease.fence and rec.lease_owner == lease.owner:
                rec.lease_owner = None
                rec.lease_expires = None

    def request_cancel(self, execution_id: str, actor: str | None = None) -> ExecutionRecord:
        with self._lock:
            rec = self._get(execution_id)
            if rec.status not in Status.FINISHED:
                rec.cancel_requested = True
                rec.cancel_actor = actor
                rec.status = Status.CANCELLING
            return copy.deepcopy(rec)

    def children(self, execution_id: str) -> builtins.list[ExecutionRecord]:
        with self._lock:
            return [copy.deepcopy(r) for r in self._records.values()
                    if r.parent_execution_id == execution_id]

    def set_progress(self, execution_id: str, progress: dict[str, Any]) -> None:
        with self._lock:
            self._get(execution_id).progress = copy.deepcopy(progress)

    def list(self, *, status: str | None = None, workflow: str | None = None,
             limit: int = 100) -> builtins.list[ExecutionRecord]:
        with self._lock:
            recs = [r for r in self._records.values()
                    if (status is None or r.status == status)
                    and (workflow is None or r.workflow == workflow)]
        recs.sort(key=lambda r: r.created_at, reverse=True)
        return [copy.deepcopy(r) for r in recs[:limit]]


#: Record fields the projection (and thus ``append``) may change.
PROJECTION_FIELDS = ("status", "output", "error", "started_at", "finished_at",
                     "recovery_attempts", "last_seq", "wake_at", "waiting_for", "deadline",
                     "continued_as")


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
