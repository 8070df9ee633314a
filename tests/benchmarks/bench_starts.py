"""Benchmark of starting runs: single starts against batches, through the command layer
and through the REST API, in the same run.

    .venv/bin/python tests/benchmarks/bench_starts.py [--batch 10000] [--singles 1000]
                                                      [--sqlite-only]

For each database (a fresh SQLite file with SQLite Huey; a fresh PostgreSQL database with
Huey on Redis: ``BENCH_DATABASE_URL``, ``BENCH_REDIS_URL``, whose queue is flushed) a
child process measures, one after the other:

1. ``commands.start`` called ``--singles`` times (one INSERT and one queue message each);
2. ``commands.start_many`` with a batch of ``--batch`` items (one transaction, multi-row
   INSERTs, one pipelined enqueue);
3. ``POST /api/workflows/{name}/run`` ``--singles`` / 2 times, one after the other;
4. ``POST /api/workflows/{name}/runs`` with ``--batch`` items.

The API is called in-process through Django's test client with a bearer token (the
application's whole cost per request, without a server's or the network's). Every run
started is checked to be in the database and its message on the queue. Starts per
second; batch over single as a ratio. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import subprocess  # noqa: E402

from tests.benchmarks.bench_runtime import REDIS, Database, manage  # noqa: E402

WORKFLOW = "bench_one"


def measure(batch: int, singles: int) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fluxweb.settings")
    import django

    django.setup()
    from flux.workflowdef import registry

    if WORKFLOW not in registry:  # bench_runtime was imported before the settings were
        from tests.benchmarks.bench_runtime import _define_workflows

        _define_workflows()
    from django.contrib.auth.models import Group, User
    from django.test import Client
    from django.test.utils import setup_test_environment

    from executions.core import commands, runner
    from executions.core.commands import Actor
    from executions.models import Execution, Token

    setup_test_environment()
    storage = runner.run_execution.huey.storage
    storage.flush_queue()
    actor = Actor.system("bench")
    out: dict[str, float] = {}

    def rate(name: str, count: int, seconds: float) -> None:
        out[name] = count / seconds

    # warm up: imports, the workflow's version, prepared connections
    commands.start(WORKFLOW, 0, actor=actor)
    commands.start_many(WORKFLOW, [{"input": 0}] * 10, actor=actor)

    t0 = time.perf_counter()
    for i in range(singles):
        commands.start(WORKFLOW, i, actor=actor)
    rate("command_single", singles, time.perf_counter() - t0)

    items = [{"input": i} for i in range(batch)]
    t0 = time.perf_counter()
    started = commands.start_many(WORKFLOW, items, actor=actor)
    rate("command_batch", batch, time.perf_counter() - t0)
    assert sum(s.created for s in started) == batch

    user = User.objects.create_user("bench")
    user.groups.add(Group.objects.get(name="operator"))
    _, raw = Token.issue(user, name="bench")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")

    def post(path: str, body: dict) -> dict:
        answer = client.post(path, json.dumps(body), content_type="application/json")
        assert answer.status_code == 201, answer.content[:500]
        return answer.json()

    post(f"/api/workflows/{WORKFLOW}/run", {"input": 0})
    calls = singles // 2
    t0 = time.perf_counter()
    for i in range(calls):
        post(f"/api/workflows/{WORKFLOW}/run", {"input": i})
    rate("api_single", calls, time.perf_counter() - t0)

    t0 = time.perf_counter()
    answer = post(f"/api/workflows/{WORKFLOW}/runs", {"inputs": items})
    rate("api_batch", batch, time.perf_counter() - t0)
    assert answer["created"] == batch

    expected = 1 + 10 + singles + batch + 1 + calls + batch
    stored = Execution.objects.count()
    queued = storage.queue_size()
    assert stored == expected and queued == expected, (stored, queued, expected)
    storage.flush_queue()
    return out


def child(env: dict[str, str], *args: str) -> dict:
    done = subprocess.run([sys.executable, __file__, "--child", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"child {args} failed:\n{done.stderr[-6000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--singles", type=int, default=1000)
    parser.add_argument("--sqlite-only", action="store_true")
    parser.add_argument("--postgres-only", action="store_true")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.batch, args.singles)))
        return
    kinds = ["sqlite"] if args.sqlite_only else ["postgres"] if args.postgres_only else [
        "sqlite", "postgres"]
    rows = []
    for kind in kinds:
        db = Database(kind)
        try:
            extra = {"REDIS_URL": REDIS} if kind == "postgres" else {}
            env = db.env(**extra)
            manage(env, "migrate", "--noinput")
            rows.append((kind, child(env, "--batch", str(args.batch), "--singles",
                                     str(args.singles))))
        finally:
            db.drop()
    print(f"| database, queue | single `commands.start` | `commands.start_many` "
          f"({args.batch:,}) | ratio | single `POST .../run` | `POST .../runs` "
          f"({args.batch:,}) | ratio |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for kind, r in rows:
        name = "SQLite, SQLite Huey" if kind == "sqlite" else "PostgreSQL, Redis"
        print(f"| {name} | {r['command_single']:,.0f}/s | {r['command_batch']:,.0f}/s | "
              f"{r['command_batch'] / r['command_single']:.1f}x | {r['api_single']:,.0f}/s | "
              f"{r['api_batch']:,.0f}/s | {r['api_batch'] / r['api_single']:.1f}x |")


if __name__ == "__main__":
    main()
