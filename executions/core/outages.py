"""Telling an outage of the database or the queue from a bug, in one place.

When PostgreSQL or Redis cannot be reached (an outage, a failover, a network
partition), every door says so instead of failing with a 500: the API answers 503
``database_unavailable`` / ``queue_unavailable`` (``fluxweb/api.py``), pages show
``templates/503.html`` (``fluxweb/middleware.py``), websockets close with
:data:`CLOSE_UNAVAILABLE` and the page reconnects (``executions/views/consumers.py``), and
the workers' reaper waits and tries again (``executions/core/runner.py``). docs/deploy.md
says what happens during an outage.
"""

from __future__ import annotations

DATABASE = "database"
QUEUE = "queue"

#: The websocket close code for "the server cannot answer now": the page reconnects
#: with backoff and catches up from its last event (frontend/live/stream.ts).
CLOSE_UNAVAILABLE = 4503

#: How long a client should wait before trying again (the Retry-After header).
RETRY_AFTER_SECONDS = 5

DETAILS = {
    DATABASE: "The database is unavailable right now; nothing was lost. Try again in a "
              "moment.",
    QUEUE: "The queue (Redis) is unavailable right now; nothing was lost. Try again in a "
           "moment.",
}


def _database_errors() -> tuple[type[BaseException], ...]:
    from django.db import InterfaceError, OperationalError

    errors: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)
    try:
        import psycopg

        errors += (psycopg.OperationalError, psycopg.InterfaceError)
    except ImportError:  # pragma: no cover - psycopg is a dependency
        pass
    return errors


def _queue_errors() -> tuple[type[BaseException], ...]:
    import redis.exceptions

    return (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def unavailable(exc: BaseException | None) -> str | None:
    """:data:`DATABASE` when ``exc`` (or what caused it) says the database cannot be
    reached or answer now (a lost connection, no connection within the pool's timeout,
    a busy SQLite), :data:`QUEUE` for Redis, else None (a bug: a 500)."""
    seen = 0
    while exc is not None and seen < 5:
        if isinstance(exc, _queue_errors()):
            return QUEUE
        if isinstance(exc, _database_errors()):
            return DATABASE
        exc = exc.__cause__  # Django wraps the driver's error: `raise … from exc`
        seen += 1
    return None


def code(part: str) -> str:
    """The API's error code: ``database_unavailable`` or ``queue_unavailable``."""
    return f"{part}_unavailable"
