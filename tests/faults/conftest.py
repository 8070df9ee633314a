"""Fault injection on the scaled shape: the real PostgreSQL and Redis behind a
:class:`~tests.faults.proxy.FaultProxy` that a test cuts, slows or resets.

These tests fail, never skip, when the services are unreachable (scripts/test runs
them in its scaled pass). Only this test session's own database is ever touched:
``terminate_backends`` ends the backends of one database by name, never the server's
others (other engineers' and other sessions' databases live on the same server).
"""

from __future__ import annotations

import os

import psycopg
import pytest
from django.db import connections

from tests.faults.proxy import FaultProxy, proxy_for
from tests.scaled.conftest import database_url, redis_url  # noqa: F401 - fixtures

#: The pool's wait for a connection while a test's database is down (the default, 5 s,
#: would make every request of an outage test last 5 s). More than the ~1 s psycopg's
#: pool waits after a failed check before it hands out a fresh connection.
OUTAGE_POOL_TIMEOUT = 2


def require_postgres() -> None:
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        pytest.fail("DATABASE_URL must name PostgreSQL for the fault tests "
                    "(scripts/test's scaled pass sets it).")


def admin_connection() -> psycopg.Connection:
    """A direct connection (not through any proxy) to the server's postgres database."""
    params = connections["default"].settings_dict
    return psycopg.connect(host=params["HOST"] or "127.0.0.1", port=params["PORT"] or 5432,
                           user=params["USER"], password=params["PASSWORD"] or None,
                           dbname="postgres", autocommit=True, connect_timeout=5)


def terminate_backends(dbname: str) -> int:
    """``pg_terminate_backend`` every backend of ``dbname`` (ours alone), as a failover
    or a restarted server does; how many were ended. It returns when they have exited
    (up to 5 s each), as after a restart: the pool's check sees a closed connection by
    its socket (``fluxweb.env.may_be_dropped``), and a request that takes one in the
    milliseconds while its backend is still exiting answers 503 (docs/deploy.md)."""
    with admin_connection() as admin:
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()", (dbname,)).fetchall()
    return sum(1 for (ended,) in rows if ended)


def repoint(alias: str, host: str, port: int, pool_timeout: int | None = None) -> None:
    """Point ``alias`` at ``host:port`` from its next connection on (a new pool)."""
    conn = connections[alias]
    conn.close()
    conn.close_pool()
    conn.settings_dict["HOST"], conn.settings_dict["PORT"] = host, port
    if pool_timeout is not None:
        options = dict(conn.settings_dict["OPTIONS"])
        options["pool"] = {**options["pool"], "timeout": pool_timeout}
        conn.settings_dict["OPTIONS"] = options


@pytest.fixture
def pg_proxy(transactional_db):
    """Django's connections (this test's database, committed data) go through a proxy."""
    require_postgres()
    conn = connections["default"]
    saved = conn.settings_dict["HOST"], conn.settings_dict["PORT"], conn.settings_dict["OPTIONS"]
    with proxy_for(f"postgres://{saved[0] or '127.0.0.1'}:{saved[1] or 5432}", 5432) as proxy:
        repoint("default", "127.0.0.1", proxy.port, pool_timeout=OUTAGE_POOL_TIMEOUT)
        try:
            yield proxy
        finally:
            proxy.restore()
            conn.close()
            conn.close_pool()
            conn.settings_dict["HOST"], conn.settings_dict["PORT"] = saved[:2]
            conn.settings_dict["OPTIONS"] = saved[2]


@pytest.fixture
def redis_proxy(monkeypatch) -> FaultProxy:
    """The queue's Redis client (Huey's) goes through a proxy."""
    import redis
    from huey.contrib.djhuey import HUEY

    url = os.environ.get("REDIS_URL", "")
    if not url.startswith("redis://"):
        pytest.fail("REDIS_URL must name Redis for the fault tests (redis://HOST:PORT/DB).")
    with proxy_for(url, 6379) as proxy:
        client = redis.Redis.from_url(proxy.url(url), socket_connect_timeout=2,
                                      socket_timeout=5)
        monkeypatch.setattr(HUEY.storage, "conn", client)
        try:
            yield proxy
        finally:
            proxy.restore()
            client.close()
