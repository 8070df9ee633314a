"""Which worker processes are running: each one's heartbeat row (``Worker``).

A ``flux worker`` process calls :func:`beat` on every pass of its reaper (every
2 s) and :func:`gone` when it stops gracefully. :func:`alive` is what the health
check (:func:`count_alive`), the overview and ``flux workers`` read: rows seen within
:data:`ALIVE_SECONDS`. Nothing depends on these rows for correctness (leases
and the reaper do that); they tell people whether anyone is there to run the
queued work.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from executions.core.conf import clock
from executions.models import Worker

#: A worker not heard of for this long is taken for stopped (5 missed beats).
ALIVE_SECONDS = 10.0
#: Rows of workers gone this long are deleted when a worker starts (its first beat).
FORGET_AFTER = timedelta(days=1)


def beat(name: str, host: str, pid: int, threads: int, started_at: datetime,
         now: datetime | None = None) -> None:
    """Record that this worker is alive (one UPDATE; an INSERT the first time)."""
    now = now or clock.now()
    if not Worker.objects.filter(pk=name).update(seen_at=now, threads=threads):
        Worker.objects.update_or_create(name=name, defaults={
            "host": host, "pid": pid, "threads": threads, "started_at": started_at,
            "seen_at": now})
        Worker.objects.filter(seen_at__lt=now - FORGET_AFTER).delete()


def gone(name: str) -> None:
    """This worker stops: remove its row."""
    Worker.objects.filter(pk=name).delete()


def alive(now: datetime | None = None):
    """Workers heard of within ALIVE_SECONDS, by name."""
    now = now or clock.now()
    return Worker.objects.filter(seen_at__gte=now - timedelta(seconds=ALIVE_SECONDS))


def count_alive(now: datetime | None = None) -> int:
    """How many workers :func:`alive` has, in plain SQL (the health check asks on every
    call, and the ORM's count costs several times the query's own time)."""
    from django.db import connections, router

    now = now or clock.now()
    alias = router.db_for_read(Worker)
    connection = connections[alias]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COUNT(*) FROM {quote(Worker._meta.db_table)} "
            f"WHERE {quote(Worker._meta.get_field('seen_at').column)} >= %s",
            [connection.ops.adapt_datetimefield_value(now - timedelta(seconds=ALIVE_SECONDS))])
        return int(cursor.fetchone()[0])


def recent(now: datetime | None = None) -> list[dict]:
    """Every known worker as JSON, the alive ones first."""
    now = now or clock.now()
    cutoff = now - timedelta(seconds=ALIVE_SECONDS)
    rows = sorted(Worker.objects.all(), key=lambda w: (w.seen_at < cutoff, w.name))
    return [w.to_dict(alive=w.seen_at >= cutoff) for w in rows]
