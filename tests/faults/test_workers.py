"""Worker processes through outages of PostgreSQL and Redis (issue 18, item 2), and
the terminate-backends-under-load scenario (item 4): real `flux worker` processes on
a fresh database, their connections through fault proxies."""

from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter

import pytest

from tests.faults.conftest import terminate_backends
from tests.faults.proxy import proxy_for
from tests.runtime.harness import Scaled

pytestmark = pytest.mark.scaled

TASKS = 8
#: The terminate-under-load scenario's length and runs (tests/benchmarks/bench_faults.py
#: sets them for the long version).
SOAK_SECONDS = float(os.environ.get("FLUX_FAULT_SECONDS", "5"))
SOAK_RUNS = int(os.environ.get("FLUX_FAULT_RUNS", "10"))


@pytest.fixture
def deployment(tmp_path, database_url, redis_url):
    if not database_url.startswith(("postgres://", "postgresql://")):
        pytest.fail(f"DATABASE_URL must name PostgreSQL for the fault tests, not {database_url}")
    d = Scaled(tmp_path, database_url, redis_url)
    with proxy_for(database_url, 5432) as pg, proxy_for(redis_url, 6379) as rd:
        try:
            d.migrate()
            d.env["DATABASE_URL"] = pg.url(d.url)
            d.env["REDIS_URL"] = rd.url(redis_url)
            d.pg, d.redis = pg, rd
            yield d
        finally:
            pg.restore()
            rd.restore()
            d.close()


def start(d: Scaled, tmp_path, n: int, tag: str) -> list[str]:
    return d.start("rt_crash", [{"path": str(tmp_path / "steps.log"), "tag": f"{tag}{i}",
                                 "tasks": TASKS, "delay": 0.05} for i in range(n)])


def assert_each_completed_once(d: Scaled, ids: list[str], timeout: float = 90) -> None:
    state = d.finished(ids, timeout=timeout)
    assert {i: s["status"] for i, s in state.items()} == dict.fromkeys(ids, "completed")
    assert {json.loads(s["output"]) if isinstance(s["output"], str) else s["output"]
            for s in state.values()} == {sum(range(TASKS))}
    for eid in ids:
        events = d.events(eid)
        assert [seq for seq, _, _ in events] == list(range(1, len(events) + 1)), eid
        done = Counter(source for _, kind, source in events if kind == "TASK_COMPLETED")
        assert len(done) == TASKS and set(done.values()) == {1}, (eid, done)


def test_workers_wait_out_a_database_and_a_redis_outage_and_finish_every_run(
        deployment, tmp_path):
    d = deployment
    workers = [d.worker(threads=2), d.worker(threads=2)]
    ids = start(d, tmp_path, 6, "a")
    d.wait_for(ids, lambda s: s["status"] == "running" or s["last_seq"] > 2, 30)

    with d.pg.down():  # PostgreSQL unreachable for 4 s, runs in flight
        time.sleep(4)
    assert all(w.poll() is None for w in workers), d.logs()

    with d.redis.down():  # Redis unreachable: runs started meanwhile lose their message
        later = start(d, tmp_path, 3, "b")
        time.sleep(3)
    assert all(w.poll() is None for w in workers), d.logs()

    assert_each_completed_once(d, ids + later)  # the reaper re-sent the lost messages
    assert all(w.poll() is None for w in workers), d.logs()


def test_terminating_every_backend_under_load_loses_nothing(deployment, tmp_path):
    """The issue's measurement, shortened: every backend of the workers' database is
    terminated every 0.5 s while two workers run the runs (tests/benchmarks/
    bench_faults.py runs the long version)."""
    d = deployment
    workers = [d.worker(threads=2), d.worker(threads=2)]
    ids = start(d, tmp_path, SOAK_RUNS, "t")
    stop, kills = threading.Event(), []

    def killer():
        while not stop.wait(0.5):
            kills.append(terminate_backends(d.name))

    thread = threading.Thread(target=killer)
    thread.start()
    try:
        time.sleep(SOAK_SECONDS)
    finally:
        stop.set()
        thread.join()
    assert sum(kills) >= 5
    assert_each_completed_once(d, ids, timeout=90 + SOAK_RUNS)
    print(f"terminate under load: {SOAK_RUNS} runs of {TASKS} tasks, {sum(kills)} backends "
          f"terminated in {len(kills)} rounds over {SOAK_SECONDS:.0f} s: all completed once")
    assert all(w.poll() is None for w in workers), d.logs()
