"""The embedded shape: 4 worker threads and 20 web writers on one SQLite file never
show a user "database is locked" or a 500 (issue 18, item 3). A few seconds here;
tests/benchmarks/bench_faults.py runs the 30 s version (docs/benchmarks.md)."""

from __future__ import annotations

import os

import pytest

import tests.runtime.workflows  # noqa: F401 - registers rt_crash
from tests.faults.sqlite_stress import stress

SECONDS = float(os.environ.get("FLUX_STRESS_SECONDS", "4"))


@pytest.mark.django_db(transaction=True)
def test_workers_and_web_writers_share_sqlite_without_a_locked_error(tmp_path):
    from django.db import connection

    if connection.vendor != "sqlite":
        pytest.fail("an embedded-shape test: run it without DATABASE_URL")
    report = stress(SECONDS, tmp_path)
    print("sqlite stress:", report)
    assert report["problems"] == [] and set(report["statuses"]) <= {200, 201}, report
    assert report["runs"] >= 20, report
    assert report["by_status"] == {"completed": report["runs"]}, report
    assert report["duplicate_tasks"] == [] and report["worker_errors"] == [], report
    assert report["workers_alive"] == 4, report
