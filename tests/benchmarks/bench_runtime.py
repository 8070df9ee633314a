"""Benchmark of the Django runtime: durable per-task overhead and end-to-end throughput.

    python tests/benchmarks/bench_runtime.py            # everything (needs PostgreSQL, Redis)
    python tests/benchmarks/bench_runtime.py --sqlite-only --sizes 100,1000

1. Per-task overhead: one workflow of N sequential trivial tasks run by the
   engine on ``DjangoStore`` (each task: one append = one commit), on a fresh
   SQLite file and a fresh PostgreSQL database, at N = 100 / 1,000 / 10,000;
   next to "one commit per task" measured in the same process: N transactions
   each inserting one event-sized row through Django's connection.
2. Throughput: M one-task workflows queued, then two ``manage.py flux worker``
   processes on Redis (Huey) and PostgreSQL run them; executions per second
   from the first start to the last finish.

Each measurement runs in a child process with its own DATABASE_URL (settings are
read once per process). Not collected by pytest. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PG = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
BASE_ENV = {
    "FLUX_DEMO": "0",
    "FLUX_WORKFLOW_MODULES": "tests.benchmarks.bench_runtime",
    "SECRET_KEY": "benchmark-only-secret-key-not-for-production-use-anywhere",
    "FLUX_SECRETS_KEY": "benchmark-only-secrets-key-not-for-production",
    "SECURE_SSL_REDIRECT": "0",
    "SECURE_COOKIES": "0",
    "PYTHONPATH": str(ROOT),
}


# the workflows (imported by the children and the workers) -------------------------
def _define_workflows() -> None:
    from flux import task, workflow

    @task
    async def noop(i: int) -> int:
        return i

    @workflow.with_options(name="bench_tasks")
    async def bench_tasks(ctx):
        for i in range(ctx.input):
            await noop(i)
        return ctx.input

    @workflow.with_options(name="bench_one")
    async def bench_one(ctx):
        return await noop(0)


if os.environ.get("DJANGO_SETTINGS_MODULE") and __name__ != "__main__":
    _define_workflows()


# the peer: Huey alone, no-op tasks, same processes and threads -----------------------
NOOP_KEY = "flux-bench-noop"


def _noop_huey():
    from huey import PriorityRedisHuey

    huey = PriorityRedisHuey(NOOP_KEY, url=REDIS, results=False)

    @huey.task()
    def bench_noop() -> None:
        now = time.time()
        pipe = huey.storage.conn.pipeline()
        pipe.incr(f"{NOOP_KEY}:done")
        pipe.setnx(f"{NOOP_KEY}:first", now)
        pipe.set(f"{NOOP_KEY}:last", now)
        pipe.execute()

    return huey, bench_noop


if os.environ.get("BENCH_NOOP_HUEY"):
    NOOP_HUEY, bench_noop = _noop_huey()


# databases -----------------------------------------------------------------------
class Database:
    def __init__(self, kind: str) -> None:
        self.kind = kind
        if kind == "sqlite":
            self.dir = Path(tempfile.mkdtemp(prefix="flux-bench-"))
            self.url = f"sqlite:///{self.dir / 'db.sqlite3'}"
        else:
            import psycopg

            self.name = f"flux_bench_{uuid.uuid4().hex[:8]}"
            with psycopg.connect(PG, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{self.name}"')
            self.url = PG.rsplit("/", 1)[0] + "/" + self.name

    def env(self, **extra: str) -> dict[str, str]:
        env = {**os.environ, **BASE_ENV, "DATABASE_URL": self.url, **extra}
        if "REDIS_URL" not in extra:
            env.pop("REDIS_URL", None)
        return env

    def stats(self) -> dict:
        """Completed and total executions, and first start to last finish (PostgreSQL)."""
        import psycopg

        with psycopg.connect(self.url) as conn:
            done, total, span = conn.execute(
                "SELECT count(*) FILTER (WHERE status = 'completed'), count(*), "
                "extract(epoch FROM max(finished_at) - min(started_at)) "
                "FROM executions_execution").fetchone()
        return {"done": done, "total": total,
                "span": float(span) if span is not None and done == total else None}

    def drop(self) -> None:
        if self.kind == "postgres":
            import psycopg

            with psycopg.connect(PG, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


def cpu_seconds(procs: list[subprocess.Popen]) -> float:
    """User + system CPU time of the processes so far (Linux /proc)."""
    total = 0
    for p in procs:
        fields = Path(f"/proc/{p.pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / os.sysconf("SC_CLK_TCK")


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
                   capture_output=True)


def child(env: dict[str, str], *args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# measurements (in children) ------------------------------------------------------
def _setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fluxweb.settings")
    import django

    django.setup()
    _define_workflows()


def measure_overhead(sizes: list[int]) -> dict:
    import asyncio

    from django.db import connection, transaction

    from executions.core import runner
    from executions.core.store import DjangoStore

    store = DjangoStore()
    eng = runner.engine(store)
    from flux.workflowdef import registry

    wf = registry["bench_tasks"]
    results = {"per_task_us": {}, "commit_us": {}, "memory_us": {}}
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE bench_commit (id BIGINT PRIMARY KEY, execution_id "
                    "VARCHAR(64), seq INTEGER, type VARCHAR(40), value TEXT, time TEXT)")
    for n in sizes:
        rec = eng.create(wf, n)
        t0 = time.perf_counter()
        asyncio.run(eng.run(rec.id))
        elapsed = time.perf_counter() - t0
        assert store.get(rec.id).status == "completed"
        results["per_task_us"][n] = elapsed / n * 1e6
        # The engine alone (MemoryStore, no I/O): the part no store can remove.
        from flux import Engine, MemoryStore

        mem = Engine(MemoryStore(), lease_seconds=eng.lease_seconds)
        t0 = time.perf_counter()
        asyncio.run(mem.start(wf, n))
        results["memory_us"][n] = (time.perf_counter() - t0) / n * 1e6
        # One commit per task: the floor a durable engine is measured against.
        m = min(n, 2000)
        base = n * 10
        t0 = time.perf_counter()
        for i in range(m):
            with transaction.atomic(), connection.cursor() as cur:
                cur.execute("INSERT INTO bench_commit VALUES (%s, %s, %s, %s, %s, %s)",
                            (base + i, rec.id, i, "TASK_COMPLETED", '{"value": 1}',
                             "2026-01-01T00:00:00+00:00"))
        results["commit_us"][n] = (time.perf_counter() - t0) / m * 1e6
    store.close()
    return results


def enqueue_many(count: int) -> dict:
    from executions.core import commands
    from executions.core.commands import SYSTEM

    t0 = time.perf_counter()
    for _ in range(count):
        commands.start("bench_one", None, actor=SYSTEM)
    return {"enqueue_per_s": count / (time.perf_counter() - t0)}


# the parent ------------------------------------------------------------------------
def overhead(kind: str, sizes: list[int]) -> dict:
    db = Database(kind)
    try:
        env = db.env()
        manage(env, "migrate", "-v0")
        return child(env, "overhead", ",".join(map(str, sizes)))
    finally:
        db.drop()


def throughput(count: int, workers: int = 2, threads: int | None = None) -> dict:
    import redis

    db = Database("postgres")
    redis.Redis.from_url(REDIS).flushdb()
    procs: list[subprocess.Popen] = []
    try:
        env = db.env(REDIS_URL=REDIS)
        manage(env, "migrate", "-v0")
        queued = child(env, "enqueue", str(count))
        for _ in range(workers):
            procs.append(subprocess.Popen(
                [sys.executable, "manage.py", "flux", "worker",
                 *(["--workers", str(threads)] if threads else [])], cwd=ROOT, env=env,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        # Progress is read with one small query a second from here: a Django child
        # process per check would take CPU from the workers being measured.
        # The workers' own CPU time per execution (less noisy than the rate on a shared
        # machine): measured from the first completed execution (after start-up) on.
        deadline = time.monotonic() + 300
        first: tuple[int, float] | None = None
        while True:
            stats = db.stats()
            if first is None and stats["done"]:
                first = (stats["done"], cpu_seconds(procs))
            if stats["done"] == stats["total"] or time.monotonic() > deadline:
                break
            time.sleep(0.25 if first is None else 1)
        cpu = None
        if first is not None and stats["done"] > first[0]:
            cpu = (cpu_seconds(procs) - first[1]) / (stats["done"] - first[0])
        return {**queued, **stats, "per_s": count / stats["span"] if stats["span"] else None,
                "cpu_ms": cpu * 1e3 if cpu is not None else None}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        redis.Redis.from_url(REDIS).flushdb()
        db.drop()


def huey_noops(count: int, workers: int = 2, threads: int = 4) -> dict:
    """Raw Huey: ``count`` no-op tasks through ``workers`` consumer processes (no
    Django, no database): the queue's own ceiling on this machine, in the same run."""
    import redis

    conn = redis.Redis.from_url(REDIS)
    conn.flushdb()
    # Enqueued under the name the consumers know it by (not __main__'s).
    os.environ["BENCH_NOOP_HUEY"] = "1"
    sys.path.insert(0, str(ROOT))
    import importlib

    task = importlib.import_module("tests.benchmarks.bench_runtime").bench_noop
    for _ in range(count):
        task()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_NOOP_HUEY": "1"}
    procs = [subprocess.Popen(
        [sys.executable, "-m", "huey.bin.huey_consumer",
         "tests.benchmarks.bench_runtime.NOOP_HUEY", "-w", str(threads), "-k", "thread",
         "-q"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(workers)]
    try:
        deadline = time.monotonic() + 120
        while int(conn.get(f"{NOOP_KEY}:done") or 0) < count and time.monotonic() < deadline:
            time.sleep(0.1)
        done = int(conn.get(f"{NOOP_KEY}:done") or 0)
        span = float(conn.get(f"{NOOP_KEY}:last")) - float(conn.get(f"{NOOP_KEY}:first"))
        return {"done": done, "per_s": done / span if span > 0 else None}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        conn.flushdb()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--executions", type=int, default=3000,
                        help="one-task workflows for the throughput run")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads per worker process (default: the HUEY setting)")
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--sqlite-only", action="store_true")
    args = parser.parse_args()
    if args.child:
        _setup_django()
        what, *rest = args.child
        if what == "overhead":
            out = measure_overhead([int(x) for x in rest[0].split(",")])
        else:
            out = enqueue_many(int(rest[0]))
        print(json.dumps(out))
        return

    sizes = [int(x) for x in args.sizes.split(",")]
    kinds = ["sqlite"] if args.sqlite_only else ["sqlite", "postgres"]
    print("| store | tasks | per task (us) | one commit (us) | ratio | engine alone, "
          "MemoryStore (us) |")
    print("|---|---:|---:|---:|---:|---:|")
    for kind in [] if args.skip_overhead else kinds:
        res = overhead(kind, sizes)
        for n in sizes:
            per, commit = res["per_task_us"][str(n)], res["commit_us"][str(n)]
            print(f"| DjangoStore, {kind} | {n:,} | {per:.0f} | {commit:.0f} | "
                  f"{per / commit:.1f}x | {res['memory_us'][str(n)]:.0f} |", flush=True)
    if not args.sqlite_only:
        t = throughput(args.executions, threads=args.threads)
        print()
        print(f"| throughput: one-task workflows, 2 worker processes x "
              f"{args.threads or 'default'} threads, PostgreSQL + Redis | value |")
        print("|---|---:|")
        print(f"| executions | {t['total']:,} |")
        print(f"| first start to last finish (s) | {t['span']:.2f} |")
        print(f"| executions per second | {t['per_s']:.0f} |")
        if t["cpu_ms"] is not None:
            print(f"| worker CPU per execution, both processes (ms) | {t['cpu_ms']:.2f} |")
        print(f"| (queued by start_execution, one process) per second | "
              f"{t['enqueue_per_s']:.0f} |")
        threads = args.threads or 4
        peer = huey_noops(args.executions, threads=threads)
        print(f"| peer, same run: raw Huey no-op tasks, 2 processes x {threads} threads, "
              f"per second | {peer['per_s']:.0f} |")
        print(f"| one-task workflows / Huey no-ops | {t['per_s'] / peer['per_s']:.2f} |")


if __name__ == "__main__":
    main()
