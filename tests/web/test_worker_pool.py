"""A worker's threads each keep a database connection: the pool must fit them all."""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from executions.cli.worker import size_connection_pool


@pytest.mark.scaled
def test_a_worker_with_more_threads_than_the_pool_gets_a_pool_that_fits(transactional_db):
    pool = connections["default"].pool
    assert pool is not None, "a scaled test: PostgreSQL with psycopg's pool"
    before = (pool.min_size, pool.max_size)
    threads = pool.max_size + 4
    holding = threading.Barrier(threads)
    failed: list[BaseException] = []

    def hold_a_connection() -> None:
        try:
            connections["default"].ensure_connection()
            holding.wait(timeout=20)  # every thread holds one at the same time
        except BaseException as exc:  # noqa: BLE001 - reported below
            failed.append(exc)
            holding.abort()
        finally:
            connections.close_all()

    try:
        size_connection_pool(threads)
        assert pool.max_size >= threads + 1
        workers = [threading.Thread(target=hold_a_connection) for _ in range(threads)]
        for t in workers:
            t.start()
        for t in workers:
            t.join(timeout=30)
        assert failed == []
    finally:
        pool.resize(*before)
