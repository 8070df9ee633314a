"""Benchmark of call() fan-out on real workers (PostgreSQL + Redis).

    python tests/benchmarks/bench_compose.py [--children 1000] [--runs 3]

1. Baseline: N one-task workflows (``rt_child``) queued, then two ``flux worker``
   processes (2 threads each) run them: wall time from the workers' start to the
   last finish.
2. Fan-out: one ``rt_fanout`` parent whose ``call.map`` starts N children
   (``rt_child``) on the same two workers: wall time to the parent's end; the
   parent's wake-ups (runs after the first) and how long it held a worker in all
   (the sum of its runs, from each start or resume to its suspension or end).

Needs BENCH_DATABASE_URL (a PostgreSQL server; a fresh database is made and dropped)
and BENCH_REDIS_URL. Not collected by pytest. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.runtime.harness import Scaled  # noqa: E402

PG = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")


def _deployment(workdir: Path) -> Scaled:
    d = Scaled(workdir, PG, REDIS, FLUX_DEMO="0")
    d.migrate()
    return d


def baseline(n: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        d = _deployment(Path(tmp))
        try:
            ids = d.start("rt_child", list(range(n)))
            began = time.monotonic()
            d.worker()
            d.worker()
            d.finished(ids, timeout=600)
            return time.monotonic() - began
        finally:
            d.close()


def fanout(n: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        d = _deployment(Path(tmp))
        try:
            [parent] = d.start("rt_fanout", [n])
            began = time.monotonic()
            d.worker()
            d.worker()
            state = d.finished([parent], timeout=900)
            wall = time.monotonic() - began
            assert state[parent]["status"] == "completed", state
            assert state[parent]["output"] == sum(range(1, n + 1))
            rows = d.query("SELECT type, time FROM executions_event WHERE execution_id = %s "
                           "AND type LIKE 'WORKFLOW_%%' ORDER BY seq", parent)
            held, start, runs = 0.0, None, 0
            for kind, when in rows:
                moment = when if isinstance(when, datetime) else datetime.fromisoformat(when)
                if kind in ("WORKFLOW_STARTED", "WORKFLOW_RESUMED"):
                    start, runs = moment, runs + 1
                elif start is not None and kind in ("WORKFLOW_SLEEPING", "WORKFLOW_COMPLETED"):
                    held += (moment - start).total_seconds()
                    start = None
            events = d.query("SELECT count(*) FROM executions_event WHERE execution_id = %s",
                             parent)[0][0]
            return {"wall": wall, "runs": runs, "held": held, "events": events}
        finally:
            d.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--children", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    n = args.children
    base = [baseline(n) for _ in range(args.runs)]
    fans = [fanout(n) for _ in range(args.runs)]
    b = statistics.median(base)
    f = statistics.median(x["wall"] for x in fans)
    mid = sorted(fans, key=lambda x: x["wall"])[len(fans) // 2]
    print(f"| what ({n} children, 2 workers x 2 threads) | value |")
    print("|---|---|")
    print(f"| {n} one-task workflows, wall | {b:.2f} s ({1000 * b / n:.2f} ms each) |")
    print(f"| parent fanning out {n} children through call, wall | {f:.2f} s "
          f"({1000 * f / n:.2f} ms a child) |")
    print(f"| per-child overhead of call against a one-task workflow | "
          f"{1000 * (f - b) / n:+.2f} ms |")
    print(f"| parent's runs (first + wake-ups) | {mid['runs']} |")
    print(f"| time the parent held a worker, all runs | {mid['held']:.2f} s "
          f"({100 * mid['held'] / mid['wall']:.0f}% of the wall time) |")
    print(f"| parent's log | {mid['events']} events |")


if __name__ == "__main__":
    main()
