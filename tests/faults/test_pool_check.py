"""The pool's check of a connection it hands out (``fluxweb.env.check_pooled_connection``):
a round trip only for a connection that may have been dropped (``may_be_dropped``:
the server or the network said something on an idle connection), none for one that
says nothing. tests/faults/test_web.py shows requests after terminated backends and
network resets get no 500."""

from __future__ import annotations

import select

import psycopg
import pytest
from django.db import connections

from fluxweb.env import check_pooled_connection, may_be_dropped
from tests.faults.conftest import admin_connection, require_postgres

pytestmark = [pytest.mark.scaled, pytest.mark.django_db]


@pytest.fixture
def conn():
    require_postgres()
    params = connections["default"].settings_dict
    with psycopg.connect(host=params["HOST"] or "127.0.0.1", port=params["PORT"] or 5432,
                         user=params["USER"], password=params["PASSWORD"] or None,
                         dbname=params["NAME"], autocommit=True) as opened:
        yield opened


def last_statement(pid: int) -> str:
    with admin_connection() as admin:
        return admin.execute("SELECT query FROM pg_stat_activity WHERE pid = %s",
                             (pid,)).fetchone()[0]


def test_a_quiet_idle_connection_is_handed_out_without_a_round_trip(conn):
    conn.execute("SELECT 42")
    assert not may_be_dropped(conn)
    check_pooled_connection(conn)
    assert last_statement(conn.info.backend_pid) == "SELECT 42"  # no empty query since


def test_a_connection_in_a_transaction_is_suspect(conn):
    conn.autocommit = False
    conn.execute("SELECT 1")
    assert may_be_dropped(conn)
    conn.rollback()
    assert not may_be_dropped(conn)


def test_a_terminated_backend_is_seen_and_fails_the_check(conn):
    with admin_connection() as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
    # The server's goodbye (an error, then the socket closed) arrives on its own.
    assert select.select([conn.pgconn.socket], [], [], 10)[0]
    assert may_be_dropped(conn)
    with pytest.raises(psycopg.OperationalError):
        check_pooled_connection(conn)


def test_a_closed_connection_is_suspect(conn):
    conn.close()
    assert may_be_dropped(conn)
