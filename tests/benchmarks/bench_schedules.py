"""Benchmark of the scheduler: N schedules firing every minute on two workers
(PostgreSQL + Redis).

    python tests/benchmarks/bench_schedules.py [--schedules 10000] [--minutes 2]

Makes a fresh database (tests/runtime/harness.py's Scaled), N schedules of
``sched_echo`` with ``* * * * *`` (overlap ``allow``), and starts two ``flux worker``
processes (8 threads each). After ``--minutes`` fire minutes it pauses them and
reports the fire lag of every run: created minus ``scheduled_for`` (the scheduler's
own delay) and started minus ``scheduled_for`` (with the queue's), p50 and p99; and
the scheduler threads' CPU per minute (their log lines). Not collected by pytest.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.runtime.harness import Scaled  # noqa: E402

PG = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")

MAKE = """
from datetime import timedelta
from executions.core.conf import clock
from executions.models import Schedule
now = clock.now()
first = now.replace(second=0, microsecond=0) + timedelta(minutes=1)
if (first - now).total_seconds() < 20:
    first += timedelta(minutes=1)
Schedule.objects.bulk_create([Schedule(name=f"bench-{i:05d}", workflow="sched_echo",
    cron="* * * * *", overlap="allow", next_fire_at=first) for i in range({n})],
    batch_size=1000)
result = first.isoformat()
"""


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--schedules", type=int, default=10_000)
    parser.add_argument("--minutes", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        d = Scaled(Path(tmp), PG, REDIS, FLUX_WORKFLOW_MODULES="tests.schedules.workflows",
                   FLUX_LEASE_SECONDS="30", FLUX_REQUEUE_SECONDS="30")
        try:
            d.migrate()
            first = d.django(MAKE.replace("{n}", str(args.schedules)))
            for _ in range(2):
                d.worker(threads=8)
            from datetime import datetime

            until = datetime.fromisoformat(first).timestamp() + 60 * args.minutes - 1
            time.sleep(max(0.0, until - time.time()))
            d.query("WITH u AS (UPDATE executions_schedule SET paused = true RETURNING 1) "
                    "SELECT count(*) FROM u")
            expected = args.schedules * args.minutes
            deadline = time.time() + 600
            while time.time() < deadline:
                (done,), = d.query("SELECT count(*) FROM executions_execution WHERE "
                                   "schedule IS NOT NULL AND status = 'completed'")
                if done >= expected:
                    break
                time.sleep(2)
            rows = d.query("SELECT extract(epoch FROM created_at - scheduled_for), "
                           "extract(epoch FROM started_at - scheduled_for) FROM "
                           "executions_execution WHERE schedule IS NOT NULL")
            (dupes,), = d.query("SELECT count(*) - count(DISTINCT (schedule, scheduled_for)) "
                                "FROM executions_execution WHERE schedule IS NOT NULL")
            created = [float(r[0]) for r in rows]
            started = [float(r[1]) for r in rows if r[1] is not None]
            cpu = [float(m) for m in re.findall(
                r"flux scheduler: ([0-9.]+) s CPU over the last", d.logs())]
            print("| schedules | runs | duplicates | created lag p50 / p99 | started lag "
                  "p50 / p99 | scheduler CPU per minute (per worker) |")
            print("|---|---|---|---|---|---|")
            print(f"| {args.schedules} | {len(rows)} of {expected} | {dupes} | "
                  f"{pct(created, .5):.2f} / {pct(created, .99):.2f} s | "
                  f"{pct(started, .5):.2f} / {pct(started, .99):.2f} s | "
                  f"{', '.join(f'{c:.1f} s' for c in cpu) or 'n/a'} |")
        finally:
            d.close()


if __name__ == "__main__":
    main()
