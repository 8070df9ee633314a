"""The scaled shape end to end: `manage.py flux worker` processes on a fresh
PostgreSQL database and Huey on Redis. Fails (never skips) without them."""

from __future__ import annotations

import pytest

from tests.runtime import scenarios
from tests.runtime.harness import Scaled

pytestmark = pytest.mark.scaled


@pytest.fixture
def scaled(tmp_path, database_url, redis_url):
    if not database_url.startswith(("postgres://", "postgresql://")):
        pytest.fail(f"DATABASE_URL must name PostgreSQL for the scaled tests, not {database_url}")
    d = Scaled(tmp_path, database_url, redis_url)
    try:
        d.migrate()
        yield d
    finally:
        d.close()


def test_a_workflow_completes(scaled):
    scenarios.a_workflow_completes(scaled)


def test_pause_then_resume(scaled):
    scenarios.pause_then_resume(scaled)


def test_a_durable_sleep_frees_the_worker(scaled):
    scenarios.a_durable_sleep_frees_the_worker(scaled)


def test_cancelling_a_running_execution_stops_it_within_two_seconds(scaled):
    scenarios.cancelling_a_running_execution_stops_it(scaled)


def test_queued_work_survives_a_flushed_redis(scaled):
    scenarios.lost_messages_are_sent_again(scaled, scaled.flush_redis)


def test_it_survives_workers_killed_at_random_points(scaled, tmp_path):
    report = scenarios.crash_campaign(scaled, tmp_path, executions=14, kills=12)
    print("crash campaign (scaled):", report)
    assert report["kills"] >= 8


def test_it_survives_kills_and_duplicates_and_a_flushed_redis(scaled, tmp_path):
    report = scenarios.crash_campaign(scaled, tmp_path, executions=6, kills=8, copies=2,
                                      delay=0.3, flush_queue=scaled.flush_redis)
    print("crash campaign with duplicates and Redis flushes (scaled):", report)
