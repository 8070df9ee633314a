"""Workflows, executions and their events, stored by Django.

An :class:`Execution` row is the projection of its log (the :class:`Event`
rows) plus the bookkeeping of the lease that decides which worker may write
it. The engine (``flux``) owns the state transitions; these models convert to
and from its :class:`~flux.store.ExecutionRecord` and give the JSON shapes of
the public contract (``to_dict``). ``executions.core.store.DjangoStore`` is the
only writer of executions and events.
"""

from __future__ import annotations

import functools
from typing import Any

from django.db import connections, models, router

from executions.models.markup import render_markdown
from executions.models.rows import Rows
from flux import store as flux_store
from flux.domain.events import ExecutionEvent, ExecutionEventType
from flux.projection import Status
from flux.store import ExecutionRecord


class Workflow(models.Model):
    """A workflow known to this deployment (synced from the flux registry)."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True, default="")
    source = models.TextField(blank=True, default="")
    module = models.CharField(max_length=300, blank=True, default="")
    version = models.CharField(max_length=40, blank=True, default="",
                               help_text="Short sha of the source.")
    input_schema = models.JSONField(null=True, blank=True)
    options = models.JSONField(default=dict, blank=True, help_text=(
        "durable, max_recovery_attempts, recover_on_worker_loss, secret_requests"))
    graphs = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "module": self.module,
            "version": self.version,
            "input_schema": self.input_schema,
            "options": self.options,
            "graphs": self.graphs,
            "is_active": self.is_active,
            "updated_at": _iso(self.updated_at),
        }


#: Fields of Execution that mirror ExecutionRecord's one to one (``parent`` aside: the
#: record's ``parent_id``); tests/web/test_models.py checks the model has each.
RECORD_FIELDS = tuple(name for name in flux_store.RECORD_FIELDS if name != "parent_id")


class Execution(models.Model):
    """One run of a workflow: the projection of its event log, and its lease."""

    class StatusChoices(models.TextChoices):
        CREATED = Status.CREATED
        QUEUED = Status.QUEUED
        RUNNING = Status.RUNNING
        PAUSED = Status.PAUSED
        SLEEPING = Status.SLEEPING
        INTERRUPTED = Status.INTERRUPTED
        COMPLETED = Status.COMPLETED
        FAILED = Status.FAILED
        CANCELLING = Status.CANCELLING
        CANCELLED = Status.CANCELLED

    id = models.CharField(primary_key=True, max_length=64)
    # A name, not a foreign key: executions outlive the code that defined them.
    workflow = models.CharField(max_length=200, db_index=True)
    workflow_version = models.CharField(max_length=40, blank=True, default="")
    status = models.CharField(max_length=16, choices=StatusChoices.choices,
                              default=Status.CREATED)
    input = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    recovery_attempts = models.PositiveIntegerField(default=0)
    max_recovery_attempts = models.PositiveIntegerField(default=3)
    recover_on_worker_loss = models.BooleanField(default=True)
    durable = models.BooleanField(default=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="reruns")
    last_seq = models.PositiveIntegerField(default=0)
    # The lease: who may write this execution's events, until when, and the
    # fencing counter that goes up on each claim.
    lease_owner = models.CharField(max_length=200, null=True, blank=True)
    lease_expires = models.FloatField(null=True, blank=True, help_text="Epoch seconds.")
    fence = models.PositiveBigIntegerField(default=0)
    cancel_requested = models.BooleanField(default=False)
    cancel_actor = models.CharField(max_length=150, null=True, blank=True)
    wake_at = models.DateTimeField(null=True, blank=True, db_index=True)
    #: When a wake-up message was last put on the queue (the reaper resends lost ones).
    enqueued_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, null=True, blank=True)
    actor = models.CharField(max_length=150, null=True, blank=True)
    meta = models.JSONField(default=dict, blank=True)
    # When runs start (executions/core/schedules.py, executions/core/admission.py): the schedule
    # and fire time that started it (unique together: one run per fire), the caller's
    # idempotency key (unique per workflow), the queue priority (higher first), tags,
    # and the concurrency key it takes a slot of (with that key's limit) and why it
    # still waits for one.
    schedule = models.CharField(max_length=200, null=True, blank=True)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)
    priority = models.IntegerField(default=0)
    tags = models.JSONField(default=dict, blank=True)
    concurrency_key = models.CharField(max_length=300, null=True, blank=True)
    concurrency_limit = models.PositiveIntegerField(null=True, blank=True)
    waiting_reason = models.CharField(max_length=200, blank=True, default="")
    # Composition (issue 15): the execution whose call() started this one, and whether
    # that parent has recorded this child's outcome (a finished child it has not
    # collected wakes it); continue_as_new's links; what a suspended run waits for;
    # the whole run's deadline; the last progress() value of each task.
    parent_execution = models.ForeignKey("self", null=True, blank=True,
                                         on_delete=models.SET_NULL, related_name="children")
    collected = models.BooleanField(default=False)
    continued_from = models.CharField(max_length=64, null=True, blank=True, db_index=True)
    continued_as = models.CharField(max_length=64, null=True, blank=True)
    waiting_for = models.JSONField(null=True, blank=True)
    deadline = models.DateTimeField(null=True, blank=True, db_index=True)
    progress = models.JSONField(default=dict, blank=True)
    #: finished_at - started_at, kept by the database, indexed for "sort by duration".
    duration = models.GeneratedField(
        expression=models.F("finished_at") - models.F("started_at"),
        output_field=models.DurationField(), db_persist=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "-created_at"], name="execution_status_created"),
            models.Index(fields=["workflow", "-created_at"], name="execution_wf_created"),
            models.Index(fields=["-created_at", "-id"], name="execution_created_id"),
            models.Index(fields=["duration", "id"], name="execution_duration_id",
                         condition=models.Q(duration__isnull=False)),
            models.Index(fields=["concurrency_key", "status"], name="execution_concurrency",
                         condition=models.Q(concurrency_key__isnull=False)),
            models.Index(fields=["schedule", "-created_at"], name="execution_schedule_created",
                         condition=models.Q(schedule__isnull=False)),
        ]
        constraints = [
            models.UniqueConstraint(fields=["schedule", "scheduled_for"],
                                    name="execution_schedule_fire",
                                    condition=models.Q(schedule__isnull=False)),
            models.UniqueConstraint(fields=["workflow", "idempotency_key"],
                                    name="execution_idempotency_key",
                                    condition=models.Q(idempotency_key__isnull=False)),
        ]
        # Who may do what: executions/access/permissions.py (groups are made by a migration).
        permissions = [
            ("run_workflow", "Can start, re-run, retry and resume executions"),
            ("cancel_execution", "Can cancel executions"),
            ("decide_approval", "Can approve or reject paused executions"),
        ]

    def __str__(self) -> str:
        return f"{self.workflow} {self.id} ({self.status})"

    # the engine's view ---------------------------------------------------------
    def record(self) -> ExecutionRecord:
        """This row as the engine's :class:`ExecutionRecord`."""
        kw = {name: getattr(self, name) for name in RECORD_FIELDS}
        kw["parent_id"] = self.parent_id
        kw["meta"] = kw["meta"] or {}
        kw["progress"] = kw["progress"] or {}
        return ExecutionRecord(**kw)

    @classmethod
    def from_record(cls, record: ExecutionRecord, **extra: Any) -> Execution:
        """An unsaved row for ``record`` (``extra``: workflow_version, enqueued_at...)."""
        kw = {name: getattr(record, name) for name in RECORD_FIELDS}
        kw["meta"] = kw["meta"] or {}
        kw["progress"] = kw["progress"] or {}
        return cls(parent_id=record.parent_id, **kw, **extra)

    # state ---------------------------------------------------------------------
    @property
    def has_finished(self) -> bool:
        return self.status in Status.FINISHED

    def lease_is_live(self, now: float | None = None) -> bool:
        return self.record().lease_is_live(now)

    def to_dict(self) -> dict[str, Any]:
        """The execution as JSON (the API's and ``flux ... --json``'s shape)."""
        return record_dict(self.record(), workflow_version=self.workflow_version,
                           **self.start_fields())

    def start_fields(self) -> dict[str, Any]:
        """How it came to start: schedule, idempotency key, priority, tags, and what a
        queued run waits for (DESIGN.md, "Interfaces of the second wave")."""
        return {"schedule": self.schedule, "scheduled_for": _iso(self.scheduled_for),
                "idempotency_key": self.idempotency_key, "priority": self.priority,
                "tags": self.tags or {}, "waiting_reason": self.waiting_reason or None}

    #: The detail lists at most this many children (the list API filters by parent).
    CHILDREN_SHOWN = 200

    @classmethod
    def read(cls, pk: str, *, knowing_children: bool = False) -> Execution | None:
        """The execution with this id, or None: the API's hot read, in SQL built once
        (``executions.models.rows``). ``knowing_children`` reads with it whether it has
        children (``has_children``), so :meth:`children_summary` needs no query of its
        own for one that has none (most)."""
        alias = router.db_for_read(cls)
        sql, rows = _execution_sql(alias, knowing_children)
        with connections[alias].cursor() as cursor:
            cursor.execute(sql, [pk])
            row = cursor.fetchone()
        if row is None:
            return None
        found = rows.make(alias, row[:len(rows)])
        if knowing_children:
            found.has_children = bool(row[-1])
        return found

    def children_summary(self) -> list[dict[str, Any]]:
        """The executions this one's ``call``s started (the detail's ``children``)."""
        if getattr(self, "has_children", True) is False:
            return []
        rows = (Execution.objects.filter(parent_execution_id=self.pk)
                .order_by("created_at", "id")
                .values("id", "workflow", "status", "created_at", "finished_at")
                [:self.CHILDREN_SHOWN])
        return [{**r, "created_at": _iso(r["created_at"]),
                 "finished_at": _iso(r["finished_at"])} for r in rows]


@functools.cache
def _execution_sql(alias: str, knowing_children: bool) -> tuple[str, Rows]:
    quote = connections[alias].ops.quote_name
    rows = Rows(Execution)
    table, pk = quote(Execution._meta.db_table), quote(Execution._meta.pk.column)
    children = (f", EXISTS (SELECT 1 FROM {table} c WHERE c."
                f"{quote(Execution._meta.get_field('parent_execution').column)} = e.{pk})"
                if knowing_children else "")
    return (f"SELECT {rows.columns(alias, 'e')}{children} FROM {table} e "
            f"WHERE e.{pk} = %s", rows)


def record_dict(rec: ExecutionRecord, **extra: Any) -> dict[str, Any]:
    """The public JSON shape of an execution, from an ExecutionRecord."""
    return {**rec.to_json(), **extra}


class EventWait(models.Model):
    """An execution waiting for an event (``wait_for_event``): open until a matching
    event is delivered to it (``delivered``, with its ``payload``) or its timeout
    closes it; deleted once its log has recorded the outcome."""

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE,
                                  related_name="event_waits")
    wait_id = models.CharField(max_length=200)
    name = models.CharField(max_length=200, db_index=True)
    match = models.JSONField(null=True, blank=True)
    delivered = models.BooleanField(default=False)
    closed = models.BooleanField(default=False)
    payload = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["execution", "wait_id"],
                                               name="event_wait_execution_wait")]

    def __str__(self) -> str:
        return f"{self.execution_id} waits for {self.name}"


class KeptEvent(models.Model):
    """An event sent when no execution waited for it, kept for a later
    ``wait_for_event`` until ``keep_until`` (``FLUX_EVENT_KEEP_SECONDS``)."""

    name = models.CharField(max_length=200, db_index=True)
    #: Sent to one execution (``POST /api/executions/{id}/events/{name}``), or None.
    execution_id = models.CharField(max_length=64, null=True, blank=True)
    payload = models.JSONField(null=True, blank=True)
    sent_at = models.DateTimeField()
    keep_until = models.DateTimeField(null=True, blank=True, db_index=True)

    def __str__(self) -> str:
        return f"kept event {self.name}"


class Event(models.Model):
    """One entry of an execution's log. ``seq`` starts at 1 with no gaps."""

    # No index of its own: the (execution, seq) constraint's index serves the lookups,
    # and one index fewer makes each append's commit cheaper.
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="events",
                                  db_index=False)
    seq = models.PositiveIntegerField()
    type = models.CharField(max_length=40, help_text="An ExecutionEventType name.")
    name = models.CharField(max_length=200)
    source_id = models.CharField(max_length=200)
    parent_id = models.CharField(max_length=200, null=True, blank=True)
    attempt = models.PositiveIntegerField(default=0)
    value = models.JSONField(null=True, blank=True)
    time = models.DateTimeField()

    class Meta:
        ordering = ["seq"]
        constraints = [
            models.UniqueConstraint(fields=["execution", "seq"], name="event_execution_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.execution_id}#{self.seq} {self.type}"

    def event(self) -> ExecutionEvent:
        """This row as the engine's :class:`ExecutionEvent`."""
        return ExecutionEvent(ExecutionEventType(self.type), self.name, self.source_id,
                              self.value, self.time, self.seq, self.execution_id,
                              self.parent_id, self.attempt)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "type": self.type,
            "name": self.name,
            "source_id": self.source_id,
            "parent_id": self.parent_id,
            "attempt": self.attempt,
            "value": self.value,
            "time": _iso(self.time),
        }


_iso = flux_store.iso_time


class Worker(models.Model):
    """A worker process as it last reported itself (``executions.core.workers``).

    Each ``flux worker`` writes its row on every pass of its reaper (every 2 s) and
    deletes it when it stops gracefully; a row not refreshed for
    ``workers.ALIVE_SECONDS`` is a worker that stopped without saying so.
    """

    name = models.CharField(primary_key=True, max_length=200, help_text="host:pid")
    host = models.CharField(max_length=200)
    pid = models.PositiveIntegerField()
    threads = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    seen_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def to_dict(self, alive: bool) -> dict[str, Any]:
        return {"name": self.name, "host": self.host, "pid": self.pid,
                "threads": self.threads, "started_at": _iso(self.started_at),
                "seen_at": _iso(self.seen_at), "alive": alive}


class Approval(models.Model):
    """A decision a paused execution waits for: one per pause point (``TASK_PAUSED``).

    Created in the transaction that writes the ``TASK_PAUSED`` event and closed
    in the one that writes its ``TASK_RESUMED`` (or the execution's end), both
    by :func:`executions.core.approvals.record_events`; decided through
    :func:`executions.core.approvals.decide`. ``to_dict`` is the public JSON shape.
    """

    class StatusChoices(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"
        EXPIRED = "expired"
        CANCELLED = "cancelled"

    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="approvals")
    workflow = models.CharField(max_length=200)
    pause_name = models.CharField(max_length=200)
    #: The pause task's id (the event's ``source_id``): what a resume names.
    source_id = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=StatusChoices.choices,
                              default=StatusChoices.PENDING)
    title = models.CharField(max_length=300, blank=True, default="")
    description = models.TextField(blank=True, default="", help_text="Markdown.")
    schema = models.JSONField(null=True, blank=True)
    approvers = models.JSONField(default=list, blank=True)
    groups = models.JSONField(default=list, blank=True)
    #: " u:alice g:ops " for approvers and groups: a portable "assigned to me" filter.
    assignees = models.TextField(blank=True, default="")
    forbid_self_approval = models.BooleanField(default=False)
    deadline = models.DateTimeField(null=True, blank=True)
    on_deadline = models.CharField(max_length=16, default="reject")
    default = models.JSONField(null=True, blank=True)
    output = models.JSONField(null=True, blank=True)
    requested_at = models.DateTimeField()
    decided_by = models.CharField(max_length=150, null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    comment = models.TextField(null=True, blank=True)
    input = models.JSONField(null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["execution", "source_id"],
                                    name="approval_execution_pause"),
        ]
        indexes = [
            models.Index(fields=["status", "-requested_at", "-id"], name="approval_status_new"),
            models.Index(fields=["status", "deadline", "id"], name="approval_status_due"),
        ]

    def __str__(self) -> str:
        return f"{self.workflow} {self.execution_id} '{self.pause_name}' ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status == self.StatusChoices.PENDING

    @property
    def execution_actor(self) -> str | None:
        return self.execution.actor

    def description_html(self) -> str:
        """The description rendered from markdown and sanitized (safe to insert)."""
        return render_markdown(self.description)

    def to_dict(self) -> dict[str, Any]:
        """The approval as JSON (DESIGN.md's shape, plus what the inbox shows)."""
        return {
            "id": self.pk,
            "execution_id": self.execution_id,
            "workflow": self.workflow,
            "pause_name": self.pause_name,
            "status": self.status,
            "title": self.title or self.pause_name,
            "requested_at": _iso(self.requested_at),
            "deadline": _iso(self.deadline),
            "decided_by": self.decided_by,
            "decided_at": _iso(self.decided_at),
            "comment": self.comment,
            "input": self.input,
            "source_id": self.source_id,
            "description": self.description,
            "description_html": self.description_html(),
            "schema": self.schema,
            "approvers": self.approvers,
            "groups": self.groups,
            "forbid_self_approval": self.forbid_self_approval,
            "on_deadline": self.on_deadline,
            "default": self.default,
            "output": self.output,
            "started_by": self.execution.actor if self._execution_loaded() else None,
            "url": f"/inbox/#approval-{self.pk}",
            "execution_url": f"/executions/{self.execution_id}/",
        }

    def _execution_loaded(self) -> bool:
        return "execution" in self._state.fields_cache


class TaskCache(models.Model):
    """Results of ``@task.with_options(cache=True)`` tasks, by task name and arguments,
    kept across executions (``flux.store.Store.cache_get``/``cache_put``)."""

    key = models.CharField(max_length=255, primary_key=True)
    value = models.JSONField(null=True, blank=True, help_text="The encoded result.")
    created_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.key
