"""Concurrency slots: whether a run with a concurrency key may start now.

A run holds a slot of its key (``Execution.concurrency_key``, limit
``concurrency_limit``) while it holds a live lease: from the worker's claim until
the append that stops it (finished, paused or sleeping) gives the lease up, or the
lease runs out because its worker died; so a crashed worker's slot comes back with
its lease. A waiting run is a queued (or interrupted) one of that key with no live
lease; waiting runs take free slots in order: higher ``priority`` first, then the
oldest.

The workers' store (``DjangoStore(runnable_only=True)``) claims a keyed execution
only through :func:`admit`, in one transaction that first takes a lock on the key
(PostgreSQL: an advisory transaction lock; SQLite: its transactions are already
serialised), so two workers can never both take the last slot. A run refused here
stays queued with ``waiting_reason`` ("waiting for a slot: 2 of 2 running"); the
runner sends the next waiters' messages when a run of the key stops
(:func:`executions.core.runner.wake_waiters`), and every reaper pass does it for keys
whose waiters were not sent a message lately.
"""

from __future__ import annotations

from datetime import datetime

from django.db import connections
from django.db.models import Q, QuerySet

from executions.models import Execution
from flux.projection import Status

#: The statuses of a run that waits for a slot (no live lease).
WAITING = (Status.CREATED, Status.QUEUED, Status.INTERRUPTED)
#: The statuses of a run that may hold a slot (with a live lease).
HOLDING = (*WAITING, Status.RUNNING, Status.CANCELLING, Status.SLEEPING)


def _live(now: float) -> Q:
    return Q(lease_owner__isnull=False, lease_expires__gte=now)


def holders(key: str, now: float, using: str = "default") -> QuerySet:
    """The runs of ``key`` holding a slot now."""
    return (Execution.objects.using(using)
            .filter(concurrency_key=key, status__in=HOLDING).filter(_live(now)))


def waiters(key: str, now: float, using: str = "default") -> QuerySet:
    """The runs of ``key`` waiting for a slot, in the order they get one."""
    return (Execution.objects.using(using)
            .filter(concurrency_key=key, status__in=WAITING).exclude(_live(now))
            .order_by("-priority", "created_at", "id"))


def lock(key: str, using: str = "default") -> None:
    """Serialise admissions of ``key`` until the transaction ends."""
    conn = connections[using]
    if conn.vendor == "postgresql":
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"flux:slot:{key}"])


def admit(execution_id: str, key: str, now: float, using: str = "default") -> bool:
    """Whether the execution may take a slot of ``key`` now (call in a transaction; the
    claim follows in it). When not, its ``waiting_reason`` says why."""
    lock(key, using)
    me = (Execution.objects.using(using).filter(pk=execution_id)
          .values("priority", "created_at", "status", "concurrency_limit", "waiting_reason")
          .first())
    if me is None:
        return False
    limit = me["concurrency_limit"] or 1
    held = holders(key, now, using).exclude(pk=execution_id).count()
    if me["status"] not in WAITING:
        # Running with an expired lease (its worker died) or sleeping: it had its turn.
        ahead = 0
    else:
        p, created = me["priority"], me["created_at"]
        ahead = waiters(key, now, using).exclude(pk=execution_id).filter(
            Q(priority__gt=p) | Q(priority=p, created_at__lt=created)
            | Q(priority=p, created_at=created, id__lt=execution_id)).count()
    if held + ahead < limit:
        if me["waiting_reason"]:
            Execution.objects.using(using).filter(pk=execution_id).update(waiting_reason="")
        return True
    if me["status"] in WAITING:
        reason = f"waiting for a slot: {held} of {limit} running"
        if ahead:
            reason += f", {ahead} waiting ahead"
        if reason != me["waiting_reason"]:
            Execution.objects.using(using).filter(pk=execution_id).update(
                waiting_reason=reason)
    return False


def free_slots(key: str, now: float, using: str = "default") -> list[tuple[str, int]]:
    """The waiters (id, priority) that may take the free slots of ``key`` now."""
    limit = (Execution.objects.using(using).filter(concurrency_key=key)
             .exclude(concurrency_limit__isnull=True).order_by("-created_at")
             .values_list("concurrency_limit", flat=True).first()) or 1
    free = limit - holders(key, now, using).count()
    if free <= 0:
        return []
    return list(waiters(key, now, using).values_list("id", "priority")[:free])


def waiting_keys(before: datetime, limit: int, using: str = "default") -> list[str]:
    """Keys with waiters whose last message was sent before ``before``."""
    return list(Execution.objects.using(using)
                .filter(concurrency_key__isnull=False, status__in=WAITING)
                .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lt=before))
                .order_by().values_list("concurrency_key", flat=True).distinct()[:limit])
