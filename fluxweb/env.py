"""Read configuration from environment variables, failing loudly on bad values.

`fluxweb/settings.py` calls these helpers once, at import. Each one names the variable
and the offending value in its `ImproperlyConfigured` error, so a typo in a deployment
stops the process at start-up with a message that says what to fix.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off"}
DATABASE_SCHEMES = {"postgres", "postgresql", "sqlite"}


def env_str(
    name: str, default: str | None = None, env: Mapping[str, str] = os.environ
) -> str | None:
    """The variable's value, stripped; `default` when unset or blank."""
    value = env.get(name, "").strip()
    return value or default


def env_bool(name: str, default: bool, env: Mapping[str, str] = os.environ) -> bool:
    """1/0, true/false, yes/no, on/off (any case); `default` when unset or blank."""
    value = env_str(name, env=env)
    if value is None:
        return default
    if value.lower() in TRUE:
        return True
    if value.lower() in FALSE:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use 1 or 0 (or true/false).")


def env_int(
    name: str, default: int, minimum: int | None = None, env: Mapping[str, str] = os.environ
) -> int:
    """A whole number, at least `minimum` when given; `default` when unset or blank."""
    value = env_str(name, env=env)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={value!r} is not a whole number.") from None
    if minimum is not None and number < minimum:
        raise ImproperlyConfigured(f"{name}={value!r} must be at least {minimum}.")
    return number


def env_list(name: str, default: list[str], env: Mapping[str, str] = os.environ) -> list[str]:
    """A comma-separated list, blanks dropped; `default` when unset or blank."""
    value = env_str(name, env=env)
    if value is None:
        return list(default)
    return [item.strip() for item in value.split(",") if item.strip()]


def redact_url(url: str) -> str:
    """The URL with any password replaced by ***, safe to print in an error."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable URL>"
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


#: Redis client timeouts for the queue, unless the URL sets its own: without them a
#: Redis that stops answering (a network partition) hangs a request or a worker.
REDIS_TIMEOUTS = {"socket_connect_timeout": "5", "socket_timeout": "10"}


def redis_with_timeouts(url: str) -> str:
    """``url`` with :data:`REDIS_TIMEOUTS` added as query parameters it lacks."""
    parts = urlsplit(url)
    present = {item.split("=", 1)[0] for item in parts.query.split("&") if item}
    extra = [f"{k}={v}" for k, v in REDIS_TIMEOUTS.items() if k not in present]
    query = "&".join(filter(None, [parts.query, *extra]))
    return urlunsplit(parts._replace(query=query))


def database_from_url(name: str, url: str, env: Mapping[str, str] = os.environ
                      ) -> dict[str, Any]:
    """A Django DATABASES entry for a postgres://, postgresql:// or sqlite:/// URL.

    PostgreSQL connections come from psycopg's pool (DATABASE_POOL_SIZE connections
    at most per process). Each one is checked when it is taken from the pool
    (:func:`check_pooled_connection`), so a connection the server dropped (a
    failover, a restart, a proxy's idle reaper) is replaced instead of failing a
    request, which waits about a second for it (psycopg's back-off). A
    request waits at most DATABASE_POOL_TIMEOUT seconds for a connection, and a new
    connection at most DATABASE_CONNECT_TIMEOUT seconds: then it fails (the API
    answers 503 ``database_unavailable``)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in DATABASE_SCHEMES:
        raise ImproperlyConfigured(
            f"{name}={redact_url(url)!r} is not supported: use postgres://USER@HOST:PORT/DB, "
            "postgresql://… or sqlite:///PATH."
        )
    try:
        config: dict[str, Any] = dict(dj_database_url.parse(url))
    except Exception as exc:  # dj-database-url raises several kinds
        raise ImproperlyConfigured(
            f"{name}={redact_url(url)!r} is not a valid database URL: {exc}"
        ) from None
    if scheme == "sqlite":
        if not config.get("NAME"):
            raise ImproperlyConfigured(f"{name}={url!r} names no SQLite file (sqlite:///PATH).")
        return sqlite_database(config["NAME"])
    if not config.get("NAME"):
        raise ImproperlyConfigured(f"{name}={redact_url(url)!r} names no database (…/DBNAME).")
    config["CONN_MAX_AGE"] = 0  # required with the pool below
    config["CONN_HEALTH_CHECKS"] = False
    # psycopg 3's connection pool: the way Django recommends for ASGI (persistent
    # connections are per-thread and leak under async views).
    config["OPTIONS"] = {
        "connect_timeout": env_int("DATABASE_CONNECT_TIMEOUT", 5, minimum=1, env=env),
        "pool": {
            "min_size": 1,
            "max_size": env_int("DATABASE_POOL_SIZE", 10, minimum=1, env=env),
            "timeout": env_int("DATABASE_POOL_TIMEOUT", 5, minimum=1, env=env),
            "check": check_pooled_connection,
        },
    }
    return config


def check_pooled_connection(conn: Any) -> None:
    """The pool's ``check``, when a connection is taken from the pool: raises when the
    connection cannot be used (the pool then takes another).

    A connection that :func:`may_be_dropped` says nothing against is handed out as it
    is (a few µs); one it suspects gets psycopg's own check (one empty query, a
    round trip), and when that fails, every other idle connection of the pool is
    checked at once too. After a failover or a restart they are all dead, and the
    pool waits about a second after each failed check: without the sweep, a pool of
    ten dead connections would make the request that meets them wait for all of them
    (and time out with a 503)."""
    from psycopg_pool import ConnectionPool

    if not may_be_dropped(conn):
        return
    try:
        ConnectionPool.check_connection(conn)
    except Exception:
        pool = getattr(conn, "_pool", None)
        if pool is not None:
            pool.check()
        raise


def may_be_dropped(conn: Any) -> bool:
    """Whether an idle pooled connection may be unusable: psycopg knows it is closed or
    broken, it is not idle, or its socket has something to read. An idle connection
    that works has nothing to read; a server that ends it (a restart, a failover,
    ``pg_terminate_backend``) sends its error and closes the socket, and a network
    reset (a proxy's idle reaper) makes it readable too. (Rarely, harmless data, a
    notice, is waiting: then it gets the full check.) A peer that vanishes without a
    packet is not seen here, nor by an empty query, which would wait for TCP to give
    up."""
    import select

    from psycopg.pq import ConnStatus, TransactionStatus

    if conn.closed or conn.broken:
        return True
    pgconn = conn.pgconn
    if (pgconn.status != ConnStatus.OK
            or pgconn.transaction_status != TransactionStatus.IDLE):
        return True
    try:
        poller = select.poll()
        poller.register(pgconn.socket, select.POLLIN | select.POLLPRI)
        return bool(poller.poll(0))
    except (OSError, ValueError, AttributeError):  # no socket, or no poll() here
        return True


def sqlite_database(path: str | Path) -> dict[str, Any]:
    """A Django DATABASES entry for SQLite tuned for a web app plus workers: WAL so
    readers never wait for the writer, synchronous=NORMAL (durable at checkpoints,
    35 µs commits), IMMEDIATE transactions and a busy timeout so concurrent writers
    queue instead of failing with 'database is locked'."""
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        "OPTIONS": {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }
