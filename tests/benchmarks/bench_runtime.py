"""Benchmark of the Django runtime: durable per-task cost and end-to-end throughput.

    python tests/benchmarks/bench_runtime.py            # everything (needs PostgreSQL, Redis)
    python tests/benchmarks/bench_runtime.py --sqlite-only --sizes 100,1000
    python tests/benchmarks/bench_runtime.py --skip-overhead --runs 3 --profile

1. Per-task cost: one workflow of N sequential trivial tasks run by the engine on
   ``DjangoStore`` (the worker's code path), on a fresh SQLite file and a fresh
   PostgreSQL database, at N = 100 / 1,000 / 10,000: with group commit (plain tasks:
   their ends are committed together) and with ``durable=True`` tasks (a commit
   each). Next to it, in the same process: **one bare commit** (the database driver
   itself, no Django: one transaction inserting one event-sized row), the same through
   Django's atomic block and cursor (the floor of earlier runs), and the engine alone
   on the MemoryStore.
2. Throughput: M one-task workflows queued, then two ``manage.py flux worker``
   processes on Redis (Huey) and PostgreSQL run them; executions per second from the
   first start to the last finish, and the CPU each one cost: the workers', the
   PostgreSQL backends serving them, the Redis server's. Then, in the same run, the
   **peer**: raw Huey no-op tasks through the same Redis with the same worker
   processes and threads. ``--runs R`` repeats both R times (alternating).
3. ``--profile``: one more throughput pass with py-spy (``pip install py-spy``)
   sampling the workers' threads that hold the GIL; prints the top entries.

Each measurement runs in a child process with its own DATABASE_URL (settings are
read once per process). Not collected by pytest. Prints Markdown tables.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shutil
import statistics
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
    # Everything is queued before the workers start: with the default 30 s, a slow
    # enqueue makes the reaper re-send the first messages (duplicates, claimed by
    # nobody), which is recovery, not what is measured here.
    "FLUX_REQUEUE_SECONDS": "3600",
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

    try:
        durable_noop = noop.with_options(durable=True)
    except TypeError:  # an engine from before group commit: every task commits
        durable_noop = noop

    @workflow.with_options(name="bench_durable_tasks")
    async def bench_durable_tasks(ctx):
        for i in range(ctx.input):
            await durable_noop(i)
        return ctx.input


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

    def stats(self, conn) -> dict:
        """Completed and total executions, and first start to last finish (PostgreSQL)."""
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


def cpu_of(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime, stime


def cpu_seconds(procs: list[subprocess.Popen]) -> float:
    return sum(cpu_of(p.pid) for p in procs)


class Backends:
    """The CPU of the PostgreSQL backends serving one database (this machine's)."""

    def __init__(self, conn, name: str) -> None:
        self.conn, self.name = conn, name
        self.start: dict[int, float] = {}

    def pids(self) -> list[int]:
        return [pid for (pid,) in self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> "
            "pg_backend_pid()", (self.name,))]

    def mark(self) -> None:
        self.start = {pid: cpu_of(pid) for pid in self.pids()}

    def used(self) -> float:
        return sum(cpu_of(pid) - self.start.get(pid, 0.0) for pid in self.pids())


def redis_cpu() -> float:
    """The Redis server's CPU seconds so far (all of its clients)."""
    import redis

    info = redis.Redis.from_url(REDIS).info("cpu")
    return float(info["used_cpu_sys"]) + float(info["used_cpu_user"])


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


def bare_commits(count: int, execution_id: str) -> float:
    """Microseconds per transaction inserting one event-sized row, through the database
    driver itself (sqlite3 / psycopg on Django's connection, no Django in between)."""
    from django.db import connection

    connection.ensure_connection()
    raw = connection.connection
    row = (execution_id, "TASK_COMPLETED", '{"value": 1}', "2026-01-01T00:00:00+00:00")
    if connection.vendor == "sqlite":
        raw.execute("CREATE TABLE IF NOT EXISTS bench_commit (id INTEGER PRIMARY KEY, "
                    "execution_id TEXT, seq INTEGER, type TEXT, value TEXT, time TEXT)")
        t0 = time.perf_counter()
        for i in range(count):
            raw.execute("BEGIN IMMEDIATE")
            raw.execute("INSERT INTO bench_commit (execution_id, seq, type, value, time) "
                        "VALUES (?, ?, ?, ?, ?)", (row[0], i, *row[1:]))
            raw.execute("COMMIT")
        return (time.perf_counter() - t0) / count * 1e6
    raw.autocommit = True
    raw.execute("CREATE TABLE IF NOT EXISTS bench_commit (id BIGSERIAL PRIMARY KEY, "
                "execution_id VARCHAR(64), seq INTEGER, type VARCHAR(40), value JSONB, "
                "time TIMESTAMPTZ)")
    t0 = time.perf_counter()
    for i in range(count):  # autocommit: each statement is its own transaction
        raw.execute("INSERT INTO bench_commit (execution_id, seq, type, value, time) "
                    "VALUES (%s, %s, %s, %s, %s)", (row[0], i, *row[1:]))
    return (time.perf_counter() - t0) / count * 1e6


def django_commits(count: int, execution_id: str) -> float:
    """Microseconds per transaction inserting one event-sized row through Django (its
    atomic block and cursor): the floor earlier runs of this benchmark used."""
    from django.db import connection, transaction

    with connection.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_django_commit (id BIGINT PRIMARY KEY, "
                    "execution_id VARCHAR(64), seq INTEGER, type VARCHAR(40), value TEXT, "
                    "time TEXT)")
        cur.execute("SELECT count(*) FROM bench_django_commit")
        base = cur.fetchone()[0]
    t0 = time.perf_counter()
    for i in range(count):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("INSERT INTO bench_django_commit VALUES (%s, %s, %s, %s, %s, %s)",
                        (base + i, execution_id, i, "TASK_COMPLETED", '{"value": 1}',
                         "2026-01-01T00:00:00+00:00"))
    return (time.perf_counter() - t0) / count * 1e6


def measure_overhead(sizes: list[int]) -> dict:
    import asyncio

    from executions.core import runner
    from executions.core.store import DjangoStore
    from flux import Engine, MemoryStore
    from flux.workflowdef import registry

    store = DjangoStore()
    eng = runner.engine(store)
    results: dict[str, dict[int, float]] = {
        "group_us": {}, "durable_us": {}, "commit_us": {}, "django_commit_us": {},
        "memory_us": {}}
    for n in sizes:
        for key, name in (("group_us", "bench_tasks"), ("durable_us", "bench_durable_tasks")):
            rec = eng.create(registry[name], n)
            t0 = time.perf_counter()
            asyncio.run(eng.run(rec.id))
            results[key][n] = (time.perf_counter() - t0) / n * 1e6
            assert store.get(rec.id).status == "completed"
        # The engine alone (MemoryStore, no I/O): the part no store can remove.
        mem = Engine(MemoryStore(), lease_seconds=eng.lease_seconds)
        t0 = time.perf_counter()
        asyncio.run(mem.start(registry["bench_tasks"], n))
        results["memory_us"][n] = (time.perf_counter() - t0) / n * 1e6
        results["django_commit_us"][n] = django_commits(min(n, 2000), rec.id)
        results["commit_us"][n] = bare_commits(min(n, 2000), rec.id)
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


def py_spy() -> str | None:
    return shutil.which("py-spy") or next(
        (str(p) for p in [Path(sys.executable).parent / "py-spy"] if p.exists()), None)


def throughput(count: int, workers: int = 2, threads: int | None = None,
               profile_to: Path | None = None) -> dict:
    """One-task workflows through ``workers`` ``flux worker`` processes; with
    ``profile_to``, each runs under py-spy (its figures are then not measurements)."""
    import psycopg
    import redis

    db = Database("postgres")
    redis.Redis.from_url(REDIS).flushdb()
    procs: list[subprocess.Popen] = []
    spies: list[subprocess.Popen] = []
    try:
        env = db.env(REDIS_URL=REDIS)
        manage(env, "migrate", "-v0")
        queued = child(env, "enqueue", str(count))
        command = [sys.executable, "manage.py", "flux", "worker",
                   *(["--workers", str(threads)] if threads else [])]
        for w in range(workers):
            if profile_to is None:
                procs.append(subprocess.Popen(command, cwd=ROOT, env=env,
                                              stdout=subprocess.DEVNULL,
                                              stderr=subprocess.DEVNULL))
                continue
            spies.append(subprocess.Popen(
                [py_spy(), "record", "--gil", "--threads", "--nonblocking", "-r", "200",
                 "--format", "raw", "-o", str(profile_to.with_suffix(f".{w}.txt")), "--",
                 *command], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
        if spies:
            deadline = time.monotonic() + 30
            while len(procs) < len(spies) and time.monotonic() < deadline:
                procs = [child_of(s.pid) for s in spies]
                procs = [p for p in procs if p is not None]
                time.sleep(0.1)
        # Progress is read with one small query a second from here: a Django child
        # process per check would take CPU from the workers being measured. CPU per
        # execution (less noisy than the rate on a shared machine) is measured from the
        # first completed execution (after start-up) on.
        conn = psycopg.connect(db.url, autocommit=True)
        backends = Backends(conn, db.name)
        deadline = time.monotonic() + 300
        first: tuple[int, float, float] | None = None
        while True:
            stats = db.stats(conn)
            if first is None and stats["done"]:
                backends.mark()
                first = (stats["done"], cpu_seconds(procs), redis_cpu())
            if stats["done"] == stats["total"] or time.monotonic() > deadline:
                break
            time.sleep(0.1 if first is None else 1)
        cpu = {}
        if first is not None and stats["done"] > first[0]:
            runs = stats["done"] - first[0]
            cpu = {"cpu_ms": (cpu_seconds(procs) - first[1]) / runs * 1e3,
                   "db_cpu_ms": backends.used() / runs * 1e3,
                   "redis_cpu_ms": (redis_cpu() - first[2]) / runs * 1e3}
        conn.close()
        return {**queued, **stats, **cpu,
                "per_s": count / stats["span"] if stats["span"] else None}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        for s in spies:
            s.wait(timeout=60)
        redis.Redis.from_url(REDIS).flushdb()
        db.drop()


class _Proc:
    """Just enough of Popen (a pid) for cpu_seconds and terminate()."""

    def __init__(self, pid: int) -> None:
        self.pid = pid

    def terminate(self) -> None:
        try:
            os.kill(self.pid, 15)
        except ProcessLookupError:
            pass

    def wait(self, timeout: float | None = None) -> None:
        deadline = time.monotonic() + (timeout or 30)
        while Path(f"/proc/{self.pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.05)


def child_of(pid: int) -> _Proc | None:
    """A child process of ``pid`` (the worker py-spy started), from /proc."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            return _Proc(int(stat.parent.name))
    return None


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
        first: tuple[int, float, float] | None = None
        while (done := int(conn.get(f"{NOOP_KEY}:done") or 0)) < count \
                and time.monotonic() < deadline:
            if first is None and done:
                first = (done, cpu_seconds(procs), redis_cpu())
            time.sleep(0.05)
        span = float(conn.get(f"{NOOP_KEY}:last")) - float(conn.get(f"{NOOP_KEY}:first"))
        cpu = {}
        if first is not None and done > first[0]:
            cpu = {"cpu_ms": (cpu_seconds(procs) - first[1]) / (done - first[0]) * 1e3,
                   "redis_cpu_ms": (redis_cpu() - first[2]) / (done - first[0]) * 1e3}
        return {"done": done, "per_s": done / span if span > 0 else None, **cpu}
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(timeout=30)
        conn.flushdb()


#: Where a worker's CPU goes, by the frames a sample passes through (a sample counts in
#: every group whose frame it holds: the announcement is part of the append).
PROFILE_GROUPS: list[tuple[str, tuple[str, ...], tuple[str, ...]]] = [
    # (label, a sample counts when it holds one of these frames, and none of these)
    ("a message, all of it (Huey's worker threads)", ("Worker.loop (",), ()),
    ("- Huey taking the message (dequeue)", ("Huey.dequeue (",), ()),
    ("- Huey's revocation check and clean-up", ("Huey.is_revoked (", "Huey.delete ("), ()),
    ("- the run (executions.core.runner.run)", ("run (executions/core/runner.py",), ()),
    ("  - claiming the execution", ("Engine.claim (", "Engine._claim ("), ()),
    ("  - committing its events (the appends)", ("DjangoStore.append (",), ()),
    ("    - of which announcing them to the live layer", ("_announcement (",), ()),
    ("  - the rest: engine, workflow, event loop", ("run (executions/core/runner.py",),
     ("DjangoStore._call (",)),
    ("publishing live events (the publisher thread)", ("flux-live-publisher",), ()),
]


def profile_summary(files: list[Path], limit: int = 15
                    ) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """From py-spy's raw output, over the workers' Huey threads and live publisher:
    each :data:`PROFILE_GROUPS` group's share of the samples, and the functions the
    most samples were in (themselves, not their callees)."""
    total = 0
    groups: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    for path in files:
        for line in path.read_text().splitlines():
            stack, _, n = line.rpartition(" ")
            if "Worker.loop" not in stack and "flux-live-publisher" not in stack:
                continue
            total += int(n)
            own[re.sub(r":\d+\)$", ")", stack.rsplit(";", 1)[-1])] += int(n)
            for label, frames, unless in PROFILE_GROUPS:
                if (any(frame in stack for frame in frames)
                        and not any(frame in stack for frame in unless)):
                    groups[label] += int(n)
    if not total:
        return [], []
    return ([(label, groups[label] / total) for label, _, _ in PROFILE_GROUPS],
            [(f, n / total) for f, n in own.most_common(limit)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--sizes", default="100,1000,10000")
    parser.add_argument("--executions", type=int, default=3000,
                        help="one-task workflows for the throughput run")
    parser.add_argument("--threads", type=int, default=None,
                        help="threads per worker process (default: the HUEY setting)")
    parser.add_argument("--runs", type=int, default=1, help="throughput runs (and peers)")
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--skip-throughput", action="store_true")
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--profile", action="store_true",
                        help="one more throughput pass under py-spy; print its top entries")
    parser.add_argument("--show-profile", nargs="+", type=Path, metavar="FILE",
                        help=argparse.SUPPRESS)  # py-spy raw files of an earlier pass
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

    if args.show_profile:
        print_profile(args.show_profile)
        return
    sizes = [int(x) for x in args.sizes.split(",")]
    kinds = ["sqlite"] if args.sqlite_only else ["sqlite", "postgres"]
    if not args.skip_overhead:
        print("| store | tasks | per task, group commit (µs) | per task, durable=True (µs) "
              "| one bare commit (µs) | group / commit | durable / commit "
              "| one commit through Django (µs) | engine alone, MemoryStore (µs) |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for kind in [] if args.skip_overhead else kinds:
        res = overhead(kind, sizes)
        for n in sizes:
            group, durable = res["group_us"][str(n)], res["durable_us"][str(n)]
            commit = res["commit_us"][str(n)]
            print(f"| DjangoStore, {kind} | {n:,} | {group:.0f} | {durable:.0f} | "
                  f"{commit:.0f} | {group / commit:.2f}x | {durable / commit:.2f}x | "
                  f"{res['django_commit_us'][str(n)]:.0f} | "
                  f"{res['memory_us'][str(n)]:.0f} |", flush=True)
    if args.sqlite_only or args.skip_throughput:
        return
    threads = args.threads or 4
    print()
    print(f"Throughput: {args.executions:,} one-task workflows, 2 worker processes x "
          f"{threads} threads, PostgreSQL + Redis; peer: as many raw Huey no-ops, same "
          "Redis, processes and threads. CPU per execution (ms): workers / PostgreSQL "
          "backends / Redis server (all its clients).")
    print()
    print("| run | workflows/s | Huey no-ops/s | ratio | CPU: workers | PostgreSQL | Redis "
          "| peer CPU: consumers | Redis | starts/s (start_execution) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    ratios = []
    for run in range(1, args.runs + 1):
        t = throughput(args.executions, threads=args.threads)
        peer = huey_noops(args.executions, threads=threads)
        ratio = t["per_s"] / peer["per_s"] if t["per_s"] and peer["per_s"] else None
        if ratio is not None:
            ratios.append(ratio)

        def ms(d: dict, key: str) -> str:
            return f"{d[key]:.2f}" if d.get(key) is not None else "-"

        print(f"| {run} | {t['per_s'] or 0:.0f} | {peer['per_s'] or 0:.0f} | "
              f"{ratio or 0:.2f} | {ms(t, 'cpu_ms')} | {ms(t, 'db_cpu_ms')} | "
              f"{ms(t, 'redis_cpu_ms')} | {ms(peer, 'cpu_ms')} | {ms(peer, 'redis_cpu_ms')} | "
              f"{t['enqueue_per_s']:.0f} |", flush=True)
    if len(ratios) > 1:
        print(f"\nmedian ratio: {statistics.median(ratios):.2f}")
    if args.profile:
        if py_spy() is None:
            raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
        out = Path(tempfile.mkdtemp(prefix="flux-bench-profile-")) / "worker"
        throughput(args.executions, threads=args.threads, profile_to=out)
        print_profile(sorted(out.parent.glob("worker.*.txt")))


def print_profile(files: list[Path]) -> None:
    groups, own = profile_summary(files)
    print("\nProfile (py-spy, samples of the workers' threads holding the GIL: Huey's "
          "worker threads and the live publisher):\n")
    print("| where | share of samples |\n|---|---:|")
    for label, share in groups:
        print(f"| {label} | {share:.0%} |")
    print("\n| function (itself, not its callees) | share |\n|---|---:|")
    for frame, share in own:
        print(f"| `{frame}` | {share:.1%} |")


if __name__ == "__main__":
    main()
