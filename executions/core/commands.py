"""The one way to change an execution: start, rerun, resume, retry, cancel, decide.

Pages, the REST API, the CLI, the inbox and the admin are adapters over these
functions: they parse what came in (:func:`parse_json` for text), call a command
with decoded Python values and an :class:`Actor`, and map its errors to their
medium. Each command

* asks who is acting: ``actor.user``'s permission for the action
  (``executions/access/permissions.py``) and, for answering a pause, the approval's own
  rules (:func:`executions.core.approvals.refusal`: the pause's ``approvers`` and
  ``groups``, ``forbid_self_approval``). A pause is answered only through
  :func:`decide`, whichever door it came through (the inbox, ``POST
  /api/executions/{id}/resume``, ``flux runs resume``). An actor without a user is
  a trusted local caller: the command line (it holds the database's credentials)
  and the workers' deadline pass;
* validates once, with the engine's validators (the workflow's input schema, the
  pause's schema) plus :func:`check_input` (size and depth), and raises the
  engine's typed errors, having written nothing;
* writes in one transaction (the inbox's mirror is written inside it by the store's
  append hooks) and sends the queue message after the commit
  (:func:`executions.core.runner.enqueue`); live publishing follows the commit too. A start
  is a single INSERT (its queue fields in it, nothing read back), and many starts are
  one transaction with one enqueue of all their messages (:func:`begin_many`,
  :func:`start_many`).

Errors: :class:`flux.errors.InvalidStateError` (409), ``InvalidInputError`` (422;
:class:`InputTooLarge` 413), ``WorkflowNotFoundError`` / ``ExecutionNotFoundError``
(404), :class:`django.core.exceptions.PermissionDenied` (403) and the approval
errors of :mod:`executions.core.approvals`, each with its ``status`` and ``code``:
:data:`ERROR_ANSWERS` and :func:`error_answer` are the one map of them.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q

from executions.access.permissions import CANCEL, RUN, allowed
from executions.core import approvals, composition, runner, starting
from executions.core.approvals import (
    AlreadyDecided,
    ApprovalError,
    ApprovalNotFound,
    InvalidApprovalInput,
    NotAllowed,
    NotPaused,
)
from executions.core.conf import app_settings, clock
from executions.core.runner import engine, enqueue, workflow_version
from executions.core.store import DjangoStore
from executions.models import Approval, Execution
from flux import Status, Workflow
from flux.errors import (
    ExecutionError,
    ExecutionNotFoundError,
    InvalidInputError,
    InvalidStateError,
    WorkflowNotFoundError,
)
from flux.serialization import decode, encode
from flux.store import ExecutionRecord
from flux.waits import check_event_name

log = logging.getLogger("executions.commands")

#: Deep enough for any real document, shallow enough for json and the databases.
MAX_DEPTH = 200


@dataclass(frozen=True)
class Actor:
    """Who asks for a change: a user (pages, API, admin, inbox), or a trusted local
    caller with only a name (the command line, the workers' deadline pass)."""

    name: str | None
    user: Any = None

    @classmethod
    def of(cls, user: Any) -> Actor:
        return cls(user.get_username(), user)

    @classmethod
    def system(cls, name: str | None) -> Actor:
        return cls(name, None)

    def require(self, permission: str, doing: str) -> None:
        """Raise PermissionDenied unless this actor may do what ``permission`` guards."""
        if self.user is not None and not allowed(self.user, permission):
            raise PermissionDenied(f"You need the permission '{permission}' to {doing}.")


#: A trusted caller with no name (scripts, tests).
SYSTEM = Actor(None)


class InputTooLarge(InvalidInputError):
    """An input over ``FLUX_MAX_INPUT_BYTES`` (413)."""

    status, code = 413, "payload_too_large"


# checking what came in --------------------------------------------------------------

def parse_json(text: str | None, what: str = "The input") -> Any:
    """``text`` as JSON (empty: None), or InvalidInputError saying what is wrong."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except RecursionError:
        raise InvalidInputError(f"{what} is nested too deeply (at most {MAX_DEPTH} "
                                "levels).") from None
    except ValueError as exc:
        raise InvalidInputError(f"{what} is not valid JSON: {exc}.") from None


def check_input(value: Any, what: str = "The input") -> None:
    """Refuse an input that is too big (InputTooLarge) or nested too deeply."""
    if _depth_exceeds(value, MAX_DEPTH):
        raise InvalidInputError(f"{what} is nested too deeply (at most {MAX_DEPTH} levels).")
    limit = app_settings().max_input_bytes
    try:
        size = len(json.dumps(value, separators=(",", ":"), default=str).encode(
            "utf-8", "surrogatepass"))
    except (TypeError, ValueError):
        return  # not JSON as such: the engine's encoder says what it cannot store
    if size > limit:
        raise InputTooLarge(f"{what} is {size} bytes as JSON; the limit is {limit} "
                            "(FLUX_MAX_INPUT_BYTES).")


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether ``value`` nests containers more than ``limit`` deep (no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Iterable[Any] = item.values()
        elif isinstance(item, list | tuple | set | frozenset):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def execution(execution_id: str, *, knowing_children: bool = False) -> Execution:
    """The execution, or ExecutionNotFoundError (``knowing_children``: see
    ``Execution.read``)."""
    found = (Execution.read(execution_id, knowing_children=knowing_children)
             if isinstance(execution_id, str) and len(execution_id) <= 64 else None)
    if found is None:
        raise ExecutionNotFoundError(execution_id)
    return found


# starting -----------------------------------------------------------------------------

#: The most runs one batch may start (:func:`start_many`: the API's ``inputs``, a
#: ``--inputs-file``).
MAX_BATCH = 10_000
#: What an item of a batch may carry (the single start's options).
ITEM_FIELDS = ("input", "idempotency_key", "priority", "tags")


@dataclass(frozen=True)
class StartItem:
    """One start of :func:`begin_many`: the arguments of :func:`begin`, and, when the
    execution should name someone other than the caller as its actor (a schedule's
    runs), ``actor``."""

    workflow: str | Workflow
    input: Any = None
    idempotency_key: str | None = None
    priority: int | None = None
    tags: dict[str, str] | None = None
    meta: dict | None = None
    parent: Execution | str | None = None
    schedule: str | None = None
    scheduled_for: datetime | None = None
    slot: tuple[str, int] | None = None
    actor: Actor | None = None


class Started:
    """What :func:`begin` gave: the execution, and whether this call created it (False:
    an earlier start with the same idempotency key, or the same schedule fire, won).
    ``id`` costs nothing; ``execution`` builds the model instance when first asked
    (from what was inserted: nothing is read back)."""

    __slots__ = ("_execution", "_make", "created", "id")

    def __init__(self, execution: Execution | None, created: bool, *, id: str | None = None,
                 make: Callable[[], Execution] | None = None) -> None:
        self._execution, self._make, self.created = execution, make, created
        self.id: str = execution.pk if execution is not None else id  # type: ignore[assignment]

    @property
    def execution(self) -> Execution:
        if self._execution is None:
            self._execution = self._make()  # type: ignore[misc]
        return self._execution

    def __repr__(self) -> str:
        return f"Started({self.id!r}, created={self.created})"


class InvalidItem(InvalidInputError):
    """An item of a batch refused: ``index`` (from 0), the ``field`` at fault (None: the
    item itself) and the ``reason``. Its message and ``errors`` name it as the API's
    body does (``inputs[3].priority: ...``); the CLI says which line instead."""

    def __init__(self, index: int, field: str | None, exc: BaseException | str) -> None:
        self.index, self.field, self.reason = index, field, str(exc)
        where = f"inputs[{index}]" + (f".{field}" if field else "")
        path: list[Any] = ["inputs", index] + ([field] if field else [])
        inner = getattr(exc, "errors", None) or [{"path": [], "message": self.reason}]
        super().__init__(f"{where}: {self.reason}", errors=[
            {**e, "path": path + list(e.get("path") or [])} for e in inner])


class ItemTooLarge(InvalidItem, InputTooLarge):
    """An item of a batch whose input is over ``FLUX_MAX_INPUT_BYTES`` (413)."""


def start(workflow: str | Workflow, input: Any = None, *, actor: Actor,
          parent: Execution | str | None = None, meta: dict | None = None,
          idempotency_key: str | None = None, priority: int | None = None,
          tags: dict[str, str] | None = None) -> Execution:
    """Create a queued execution of ``workflow`` and queue it after the commit (or, with
    an ``idempotency_key`` already used for this workflow, return that execution).

    Raises WorkflowNotFoundError (unknown name) or InvalidInputError (the input
    fails the workflow's type or schema, or :func:`check_input`; a bad key, priority
    or tags: :mod:`executions.core.starting`) before writing.
    """
    return begin(workflow, input, actor=actor, parent=parent, meta=meta,
                 idempotency_key=idempotency_key, priority=priority, tags=tags).execution


def begin(workflow: str | Workflow, input: Any = None, *, actor: Actor,
          parent: Execution | str | None = None, meta: dict | None = None,
          idempotency_key: str | None = None, priority: int | None = None,
          tags: dict[str, str] | None = None, schedule: str | None = None,
          scheduled_for: datetime | None = None,
          slot: tuple[str, int] | None = None) -> Started:
    """:func:`start`, saying whether it created the execution.

    ``schedule`` and ``scheduled_for`` name the fire that starts it (the scheduler's,
    ``executions/core/schedules.py``): a second start for the same fire returns the first.
    ``slot`` (key, limit) replaces the workflow's concurrency setting (a schedule's
    ``buffer_one`` policy). Starts that race with one key (or one fire) give one
    execution: the losers' inserts skip the row the unique constraint refuses and they
    return the winner's. One statement: the execution's INSERT (with its queue fields);
    a key or fire taken already costs one more, the read of the existing execution.
    """
    item = StartItem(workflow, input, idempotency_key, priority, tags, meta, parent,
                     schedule, scheduled_for, slot)
    return begin_many([item], actor=actor, plain_errors=True)[0]  # type: ignore[return-value]


def start_many(workflow: str | Workflow, items: Iterable[Any], *, actor: Actor
               ) -> list[Started]:
    """Start a run of ``workflow`` for each item, in one transaction; the outcomes in
    the items' order. An item is an object with the single start's options
    (:data:`ITEM_FIELDS`: ``input``, ``idempotency_key``, ``priority``, ``tags``; the
    API's ``inputs``, a line of ``flux run --inputs-file``) or a :class:`StartItem`.
    A key used already (before, or by an earlier item) gives that execution back
    (``created`` False). Any bad item refuses the batch (:class:`InvalidItem` naming
    it, :class:`ItemTooLarge` for an input over the limit), nothing written; at most
    :data:`MAX_BATCH` items."""
    items = list(items)
    if len(items) > MAX_BATCH:
        raise InputTooLarge(f"At most {MAX_BATCH} runs per batch; got {len(items)}. "
                            "Split them into several batches.")
    if not items:
        raise InvalidInputError("Nothing to start: give at least one item.")
    eng = engine()
    wf = workflow if isinstance(workflow, Workflow) else eng.workflow_for(workflow)
    return begin_many([_item(wf, i, item) for i, item in enumerate(items)],
                      actor=actor)  # type: ignore[return-value]


def _item(wf: Workflow, index: int, item: Any) -> StartItem:
    if isinstance(item, StartItem):
        return item
    if not isinstance(item, dict):
        raise InvalidItem(index, None, "An item is an object with the run's \"input\" (and "
                                       "optionally \"idempotency_key\", \"priority\", "
                                       f"\"tags\"), not {type(item).__name__}.")
    unknown = sorted(set(item) - set(ITEM_FIELDS))
    if unknown:
        raise InvalidItem(index, unknown[0], f"Unknown field '{unknown[0]}': an item may "
                                             f"have {', '.join(ITEM_FIELDS)}.")
    return StartItem(wf, item.get("input"), item.get("idempotency_key"),
                     item.get("priority"), item.get("tags"))


def begin_many(items: Sequence[StartItem], *, actor: Actor,
               refused: Callable[[int, ExecutionError], None] | None = None,
               plain_errors: bool = False, messages: list[tuple[str, int]] | None = None
               ) -> list[Started | None]:
    """Start every item in one transaction, the queue messages sent together after the
    commit (``runner.send_many``: one Redis pipeline); the outcomes in order.

    Each item is checked as :func:`begin` checks one, before anything is written; a
    bad one refuses the whole batch (:class:`InvalidItem` naming its index), unless
    ``refused`` is given: then it is told ``(index, error)`` and the item is left out
    (its outcome None; the scheduler records such a fire as skipped). ``plain_errors``:
    a single start's errors, without an index. ``messages``: the queue messages ``(id,
    priority)`` are added to it after the commit instead of sent (the caller sends them
    with ``runner.send_many``: the scheduler, once per tick).

    Then the rows go in (:meth:`DjangoStore.insert_new`: one statement on PostgreSQL);
    a row the unique constraints refuse (a key or fire taken already, or twice in the
    batch) gives back the execution that holds it, read in one query.
    """
    for who in {item.actor or actor for item in items}:
        who.require(RUN, "start a run")
    eng = engine()
    now = clock.now()
    found: dict[Any, Workflow] = {}
    rows: list[tuple[ExecutionRecord, dict[str, Any]]] = []
    placed: list[int | None] = []  # per item: its row in `rows`
    for index, item in enumerate(items):
        try:
            rows.append(_prepared(eng, item, found, now, actor))
            placed.append(len(rows) - 1)
        except ExecutionError as exc:
            if refused is None:
                raise exc if plain_errors else _at(index, exc) from None
            refused(index, exc)
            placed.append(None)
    if not rows:
        return [None] * len(items)
    store = cast(DjangoStore, eng.store)
    with transaction.atomic(savepoint=False) if store.needs_transaction(len(rows)) else (
            _nothing()):
        inserted = store.insert_new(rows)
        queued = [(r.id, extra["priority"]) for r, extra in rows if r.id in inserted]
        if queued:
            transaction.on_commit(lambda: runner.send_many(queued) if messages is None
                                  else messages.extend(queued))
    existing = _holders([r for r in rows if r[0].id not in inserted]) if (
        len(inserted) < len(rows)) else {}
    out: list[Started | None] = []
    for at in placed:
        if at is None:
            out.append(None)
            continue
        record, extra = rows[at]
        if record.id in inserted:
            out.append(Started(None, True, id=record.id,
                               make=functools.partial(_inserted, record, extra)))
        else:
            out.append(Started(existing[record.id], False))
    return out


def _inserted(record: ExecutionRecord, extra: dict[str, Any]) -> Execution:
    """The model instance of a row just inserted, as a query would give it (saved: a
    later ``save()`` updates it)."""
    row = Execution.from_record(record, **extra)
    row._state.adding, row._state.db = False, "default"
    return row


def _prepared(eng: Any, item: StartItem, found: dict[Any, Workflow], now: datetime,
              actor: Actor) -> tuple[ExecutionRecord, dict[str, Any]]:
    """The item's record (validated, encoded) and its other columns; the error names the
    field at fault (``_field``)."""
    with _field("input"):
        check_input(item.input)
    with _field("idempotency_key"):
        key = starting.check_idempotency_key(item.idempotency_key)
    with _field("priority"):
        priority = starting.check_priority(item.priority)
    with _field("tags"):
        tags = starting.check_tags(item.tags)
    wf = item.workflow
    if not isinstance(wf, Workflow):
        wf = found.get(wf) or found.setdefault(wf, eng.workflow_for(wf))
    with _field("input"):
        slot = item.slot or starting.concurrency_for(wf, item.input)
        # A workflow built by a resolver (a saved graph) may pin what it runs in the meta.
        meta = {**(getattr(wf, "execution_meta", None) or {}), **(item.meta or {})}
        parent = item.parent.pk if isinstance(item.parent, Execution) else item.parent
        record = eng.record_for(wf, item.input, status=Status.QUEUED,
                                actor=(item.actor or actor).name, parent_id=parent,
                                meta=meta)
    version = getattr(wf, "execution_version", None) or workflow_version(wf)
    return record, {"workflow_version": version, "idempotency_key": key,
                    "priority": priority, "tags": tags, "schedule": item.schedule,
                    "scheduled_for": item.scheduled_for and item.scheduled_for.astimezone(UTC),
                    "concurrency_key": slot[0] if slot else None,
                    "concurrency_limit": slot[1] if slot else None, "enqueued_at": now}


class _field:  # noqa: N801 - used as a context manager
    """Tags an InvalidInputError raised inside with the item's field it is about."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, InvalidInputError) and not hasattr(exc, "item_field"):
            exc.item_field = self.name  # type: ignore[attr-defined]


def _at(index: int, exc: ExecutionError) -> ExecutionError:
    """The error of item ``index`` of a batch, naming it (an unknown workflow stays as
    it is: a batch names one)."""
    if not isinstance(exc, InvalidInputError):
        return exc
    cls = ItemTooLarge if isinstance(exc, InputTooLarge) else InvalidItem
    return cls(index, getattr(exc, "item_field", None), exc)


def _holders(rows: list[tuple[ExecutionRecord, dict[str, Any]]]) -> dict[str, Execution]:
    """For rows the unique constraints left out: the execution holding each one's
    idempotency key or schedule fire (one query), by the row's id. The same key twice
    in one batch: the later item gets the earlier one's execution."""
    keys: dict[tuple[str, str], list[str]] = {}
    fires: dict[tuple[str, datetime], list[str]] = {}
    for record, extra in rows:
        if extra["idempotency_key"] is not None:
            keys.setdefault((record.workflow, extra["idempotency_key"]), []).append(record.id)
        elif extra["schedule"] is not None:
            fires.setdefault((extra["schedule"], extra["scheduled_for"]), []).append(record.id)
    query = Q(pk__in=[])
    for workflow in {w for w, _ in keys}:
        query |= Q(workflow=workflow, idempotency_key__in=[k for w, k in keys if w == workflow])
    for schedule in {s for s, _ in fires}:
        query |= Q(schedule=schedule, scheduled_for__in=[t for s, t in fires if s == schedule])
    out: dict[str, Execution] = {}
    for row in Execution.objects.filter(query):
        ids = (keys.get((row.workflow, row.idempotency_key)) if row.idempotency_key
               is not None else None) or fires.get((row.schedule, row.scheduled_for), [])
        for pk in ids:
            out[pk] = row
    if any(record.id not in out for record, _ in rows):
        raise InvalidStateError("A start was refused by a unique constraint, but the run "
                                "holding it is gone; try again.")
    return out


@contextlib.contextmanager
def _nothing() -> Iterator[None]:
    yield


_UNSET: Any = object()


def rerun(original: Execution | str, *, actor: Actor, input: Any = _UNSET) -> Execution:
    """A new execution of the same workflow, ``parent_id`` naming ``original``; with
    ``input`` when given, else the original's input (decoded: a datetime stays one)."""
    found = original if isinstance(original, Execution) else execution(original)
    value = decode(found.input) if input is _UNSET else input
    return start(found.workflow, value, actor=actor, parent=found)


# answering a pause ----------------------------------------------------------------------

def resume(execution_id: str, input: Any = None, *, actor: Actor,
           pause: str | None = None, comment: str | None = None) -> Execution:
    """Approve the execution's pending pause (``pause``: its name or task id; else the
    first) with ``input``: the same decision, and the same rules, as :func:`decide`."""
    found = execution(execution_id)
    pending = list(Approval.objects.filter(execution_id=found.pk, status=approvals.PENDING)
                   .order_by("requested_at", "id"))
    if not pending:
        raise InvalidStateError(f"Execution {found.pk} is {found.status}, not paused: "
                                "only a paused execution can be resumed.", status=found.status)
    matches = [a for a in pending if pause is None or pause in (a.pause_name, a.source_id)]
    if not matches:
        names = ", ".join(a.pause_name for a in pending)
        raise InvalidStateError(f"Execution {found.pk} is not paused at '{pause}' "
                                f"(pending: {names}).", status=found.status)
    item = matches[0]
    decide(item.pk, actor=actor, approve=True, input=input, comment=comment)
    return Execution.objects.get(pk=found.pk)


def decide(approval_id: int | str, *, actor: Actor, approve: bool, input: Any = None,
           comment: str | None = None) -> Approval:
    """Approve (with ``input``) or reject an approval item as ``actor``.

    Locks the execution and the approval rows, checks who may decide
    (:func:`executions.core.approvals.refusal`), refuses what is no longer pending, and
    answers the pause through the engine (which validates the input against the
    pause's schema before writing) in the same transaction; the execution is queued
    after the commit. Two people deciding at once: the second waits for the first's
    lock, then finds the item decided (AlreadyDecided). Raises ApprovalNotFound,
    NotAllowed, AlreadyDecided, NotPaused or InvalidApprovalInput, having written
    nothing.
    """
    try:
        pk = int(approval_id)
    except (TypeError, ValueError):
        raise ApprovalNotFound(f"No approval {approval_id}.") from None
    comment = (comment or "").strip() or None
    if approve:
        try:
            check_input(input)
        except InvalidInputError as exc:
            raise InvalidApprovalInput(str(exc)) from None
    with transaction.atomic():
        approval = _locked(pk)
        if actor.user is not None:
            reason = approvals.refusal(actor.user, approval)
            if reason is not None:
                raise NotAllowed(reason)
        _answer(approval, approve=approve, input=input, actor=actor.name, comment=comment)
    approval.refresh_from_db()
    return approval


@dataclass
class Outcome:
    """One item of a bulk command: what it gave, or why it was refused."""

    id: int | str
    result: Any = None
    status: int = 200
    code: str | None = None
    detail: str | None = None

    @property
    def ok(self) -> bool:
        return self.code is None


def decide_many(ids: Iterable[int | str], *, actor: Actor, approve: bool,
                comment: str | None = None, input: Any = None) -> list[Outcome]:
    """Decide each item on its own (one transaction each); report each outcome."""
    return _each(ids, lambda pk: decide(pk, actor=actor, approve=approve, input=input,
                                        comment=comment))


def _locked(pk: int) -> Approval:
    """The approval with its execution, both rows locked (execution first, as appends do)."""
    execution_id = Approval.objects.filter(pk=pk).values_list("execution_id", flat=True).first()
    if execution_id is None:
        raise ApprovalNotFound(f"No approval {pk}.")
    list(Execution.objects.select_for_update().filter(pk=execution_id).values_list("pk"))
    approval = Approval.objects.select_for_update().get(pk=pk)
    approval.execution = Execution.objects.get(pk=execution_id)
    return approval


def _answer(approval: Approval, *, approve: bool, input: Any, actor: str | None,
            comment: str | None) -> None:
    """Answer the pause through the engine (in the caller's transaction), queue the run."""
    if not approval.is_pending:
        by = f" by {approval.decided_by}" if approval.decided_by else ""
        when = f" at {approval.decided_at:%Y-%m-%d %H:%M:%S} UTC" if approval.decided_at else ""
        raise AlreadyDecided(f"This item was already {approval.status}{by}{when}; "
                             "nothing was changed.")
    found = approval.execution
    waiting = approvals.not_decidable_now(approval)
    if waiting:
        raise NotPaused(f"{waiting} Nothing was changed.")
    if found.status in (Status.CANCELLED, Status.CANCELLING) or found.cancel_requested:
        raise NotPaused(f"Execution {found.pk} is {found.status}: its pause can no "
                        "longer be answered.")
    try:
        engine().request_resume(found.pk, input if approve else None,
                                pause=approval.source_id, approved=approve, actor=actor,
                                comment=comment)
    except InvalidInputError as exc:
        raise InvalidApprovalInput(str(exc), errors=getattr(exc, "errors", None)) from None
    except InvalidStateError as exc:
        raise NotPaused(f"{exc} Nothing was changed; try again once it is paused.") from None
    enqueue(found.pk)
    if not Approval.objects.filter(pk=approval.pk).exclude(status=approvals.PENDING).exists():
        raise RuntimeError(f"approval {approval.pk} stayed pending after its resume event")


def apply_deadlines(now: datetime, limit: int = 100) -> list[int]:
    """Apply the deadlines that passed (a pass of the workers' reaper); the ids of the
    approvals decided."""
    fired = []
    due = (Approval.objects.filter(status=approvals.PENDING, deadline__lte=now)
           .order_by("deadline", "id").values_list("pk", flat=True)[:limit])
    for pk in list(due):
        try:
            if apply_deadline(pk):
                fired.append(pk)
        except Exception:
            log.exception("inbox: applying the deadline of approval %s failed", pk)
    if fired:
        log.info("inbox: deadlines applied to approvals %s", fired)
    return fired


def apply_deadline(pk: int) -> bool:
    """Apply the approval's ``on_deadline`` as the actor "deadline"; False if it was not
    pending (anymore) or its execution cannot be resumed now (the next pass retries)."""
    actor = approvals.DEADLINE_ACTOR
    with transaction.atomic():
        try:
            approval = _locked(pk)
        except ApprovalNotFound:
            return False
        if not approval.is_pending:
            return False
        approve = approval.on_deadline == "approve"
        outcome = "approved with the default input" if approve else "rejected"
        try:
            _answer(approval, approve=approve, input=approval.default, actor=actor,
                    comment=f"The deadline passed: {outcome} automatically.")
        except InvalidApprovalInput as exc:
            _answer(approval, approve=False, input=None, actor=actor,
                    comment=f"The deadline passed and the default input does not fit the "
                            f"schema ({exc.detail}): rejected automatically.")
        except NotPaused:
            return False
    return True


# retrying and cancelling ---------------------------------------------------------------

def retry(execution_id: str, *, actor: Actor) -> Execution:
    """Run a failed execution again from its last successful state (its failed task)."""
    actor.require(RUN, "retry a run")
    found = execution(execution_id)
    if found.status == Status.FAILED:
        engine().workflow_for(found.workflow)  # refuse before writing when the code is gone
    with transaction.atomic():
        engine().request_retry(found.pk, actor=actor.name)
        enqueue(found.pk)
    return Execution.objects.get(pk=found.pk)


def cancel(execution_id: str, *, actor: Actor) -> Execution:
    """Cancel now when nothing runs it; else its worker stops it within about a second."""
    actor.require(CANCEL, "cancel a run")
    found = execution(execution_id)
    engine().cancel(found.pk, actor=actor.name)
    return Execution.objects.get(pk=found.pk)


def cancel_many(ids: Iterable[str], *, actor: Actor) -> list[Outcome]:
    actor.require(CANCEL, "cancel runs")
    return _each(ids, lambda pk: cancel(pk, actor=actor))


def rerun_many(ids: Iterable[str], *, actor: Actor) -> list[Outcome]:
    actor.require(RUN, "re-run runs")
    return _each(ids, lambda pk: rerun(pk, actor=actor))


def _each(ids: Iterable[Any], act: Callable[[Any], Any]) -> list[Outcome]:
    out = []
    for pk in ids:
        try:
            out.append(Outcome(pk, act(pk)))
        except (ApprovalError, ExecutionError, PermissionDenied) as exc:
            status, code, detail, _ = error_answer(exc)
            out.append(Outcome(pk, status=status, code=code, detail=detail))
    return out


# events from the world -------------------------------------------------------------------

def send_event(name: str, payload: Any = None, *, actor: Actor,
               execution_id: str | None = None) -> dict[str, Any]:
    """Deliver an event to the executions waiting for it (``wait_for_event``): to
    ``execution_id`` only, or to every waiter of ``name`` whose match the payload
    holds. Each waiter gets it once, however many senders race; nobody waiting: it is
    kept for a later wait (``FLUX_EVENT_KEEP_SECONDS``). The waiters are woken after the
    commit. Answers ``{"delivered": [execution ids], "kept": bool}``."""
    actor.require(RUN, "send an event")
    check_event_name(name)
    check_input(payload, "The payload")
    if execution_id is not None:
        found = execution(execution_id)
        if found.status in Status.FINISHED:
            raise InvalidStateError(f"Execution {found.pk} is {found.status}: it waits for "
                                    "no event.", status=found.status)
    try:
        encoded = encode(payload, "the payload")
    except ExecutionError as exc:
        raise InvalidInputError(str(exc)) from None
    now = clock.now()
    keep_until = now + timedelta(seconds=app_settings().event_keep_seconds)
    with transaction.atomic():
        delivered, kept = engine().store.send_event(
            name, encoded, execution_id=execution_id, keep_until=keep_until, now=now)
        for pk in delivered:
            composition.wake(pk)
    log.info("event %s from %s: delivered to %s%s", name, actor.name or "a script",
             delivered or "nobody", ", kept" if kept else "")
    return {"delivered": delivered, "kept": kept}


#: How each command error reads as an HTTP answer, first match wins (every adapter's
#: one map: the API's handlers, bulk outcomes, the CLI's exit 2): ``(class, status, code,
#: fallback)``, the fallback saying what was wrong when the error has no message.
#: Errors of our own (approvals', schedules') carry ``status``/``http_status``, ``code``
#: and ``fallback`` on their class instead.
ERROR_ANSWERS: tuple[tuple[type[BaseException], int, str, str], ...] = (
    (InputTooLarge, 413, "payload_too_large",
     "The input is too large (FLUX_MAX_INPUT_BYTES)."),
    (InvalidInputError, 422, "invalid_input",
     "The input is not valid for what it was sent to."),
    (InvalidStateError, 409, "invalid_state",
     "That cannot be done in the execution's current state."),
    (ExecutionNotFoundError, 404, "execution_not_found", "No such execution."),
    (WorkflowNotFoundError, 404, "workflow_not_found", "No workflow of that name is "
                                                       "registered."),
    (PermissionDenied, 403, "permission_denied",
     "You do not have the permission this needs."),
)

#: The classes :data:`ERROR_ANSWERS` answers for (to register handlers, to catch).
ERROR_CLASSES: tuple[type[BaseException], ...] = tuple(cls for cls, *_ in ERROR_ANSWERS)

#: The detail of an error that matches nothing and has no message.
REFUSED = "The request was refused."


def error_answer(exc: BaseException) -> tuple[int, str, str, dict[str, Any]]:
    """``(status, code, detail, extra)`` for a command's error; ``extra`` holds the
    ``errors`` of a refused input. An error class of a feature built on the commands
    (``executions.core.schedules``) may name its own ``http_status`` and ``code``. An error
    without a message gets its class's fallback (:data:`ERROR_ANSWERS`, or the class's
    ``fallback``), which says what was wrong."""
    if isinstance(exc, ApprovalError):
        return (exc.status, exc.code, _detail(exc.detail, exc.fallback),
                {"errors": exc.errors} if exc.errors else {})
    answer = next(((status, code, fallback) for cls, status, code, fallback in ERROR_ANSWERS
                   if isinstance(exc, cls)), None)
    http_status = getattr(exc, "http_status", None)
    if isinstance(http_status, int):  # a feature's own error
        fallback = getattr(exc, "fallback", None) or (answer[2] if answer else REFUSED)
        return http_status, getattr(exc, "code", "error"), _detail(str(exc), fallback), {}
    if answer is not None:
        status, code, fallback = answer
        errors = getattr(exc, "errors", None)
        return status, code, _detail(str(exc), fallback), {"errors": errors} if errors else {}
    return 400, "bad_request", _detail(str(exc), f"{REFUSED[:-1]} ({type(exc).__name__})."), {}


def _detail(message: str | None, fallback: str) -> str:
    return message if message and message.strip() else fallback
