"""Schedules and concurrency limits with real worker processes on PostgreSQL + Redis."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest

from tests.runtime.harness import Scaled

pytestmark = pytest.mark.scaled

MODULES = "tests.runtime.workflows,tests.schedules.workflows"


@pytest.fixture
def scaled(tmp_path, database_url, redis_url):
    if not database_url.startswith(("postgres://", "postgresql://")):
        pytest.fail(f"DATABASE_URL must name PostgreSQL for the scaled tests, not {database_url}")
    d = Scaled(tmp_path, database_url, redis_url, FLUX_WORKFLOW_MODULES=MODULES)
    try:
        d.migrate()
        yield d
    finally:
        d.close()


def test_a_schedule_every_second_fires_once_per_second_through_a_worker_kill(scaled):
    """Three workers tick one every-second schedule for 30 s; one is SIGKILLed half-way.
    Every fire time between the first and the last has exactly one run."""
    made = scaled.manage("flux", "schedules", "create", "every-second", "--workflow",
                         "sched_echo", "--every", "1s", "--overlap", "allow",
                         "--input", '"tick"')
    assert made.returncode == 0, made.stderr
    workers = [scaled.worker(threads=2) for _ in range(3)]
    time.sleep(15)
    scaled.kill(workers[0])
    time.sleep(15)
    paused = scaled.manage("flux", "schedules", "pause", "every-second")
    assert paused.returncode == 0, paused.stderr
    rows = scaled.query("SELECT id, scheduled_for, created_at FROM executions_execution "
                        "WHERE schedule = 'every-second' ORDER BY scheduled_for")
    fires = [r[1] for r in rows]
    assert len(fires) >= 25, scaled.logs()
    assert len(set(fires)) == len(fires)  # no duplicate
    expected = [fires[0] + timedelta(seconds=i) for i in range(len(fires))]
    assert fires == expected, "a fire time has no run"  # no gap
    scaled.finished([r[0] for r in rows], timeout=30)
    lags = sorted((created - fire).total_seconds() for _, fire, created in rows)
    print(f"fire lag (created - scheduled_for): p50 {lags[len(lags) // 2]:.3f} s, "
          f"max {lags[-1]:.3f} s over {len(lags)} fires")


def test_a_limit_of_two_holds_with_four_worker_threads_and_keys_do_not_block(scaled):
    scaled.worker(threads=2)
    scaled.worker(threads=2)
    limited = scaled.start("sched_limited_slow", [{"seconds": 0.3}] * 10)
    keyed = scaled.start("sched_per_customer_slow",
                         [{"customer": c, "seconds": 0.5} for c in ("a", "b", "a", "b")])
    scaled.finished(limited + keyed, timeout=60)

    def spans(ids):
        out = []
        for pk in ids:
            rows = scaled.query("SELECT type, time FROM executions_event WHERE "
                                "execution_id = %s AND type IN ('WORKFLOW_STARTED', "
                                "'WORKFLOW_COMPLETED') ORDER BY seq", pk)
            times = dict(rows)
            out.append((times["WORKFLOW_STARTED"], times["WORKFLOW_COMPLETED"]))
        return out

    def most_at_once(intervals):
        edges = sorted([(s, 1) for s, _ in intervals] + [(e, -1) for _, e in intervals],
                       key=lambda x: (x[0], x[1]))
        running = peak = 0
        for _, step in edges:
            running += step
            peak = max(peak, running)
        return peak

    assert most_at_once(spans(limited)) == 2
    a, b = spans(keyed[0::2]), spans(keyed[1::2])
    assert most_at_once(a) == 1 and most_at_once(b) == 1
    assert most_at_once(a + b) == 2  # customer a's runs do not hold up customer b's
