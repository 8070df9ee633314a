"""Benchmark of the dashboard: live latency and page server time at scale.

    python tests/benchmarks/bench_live.py              # everything (PostgreSQL, Redis, chromium)
    python tests/benchmarks/bench_live.py latency      # commit-to-browser latency, both shapes
    python tests/benchmarks/bench_live.py pages        # list/detail over 1,000,000 executions

1. Commit-to-browser latency. A web server (daphne) runs in its own process; this
   process plays the worker: it runs a workflow of 100 tasks (each 10 ms) through the
   runner and notes, for each event, the time its commit's ``events_committed``
   callback ran. Headless Chromium, logged in, follows the execution with the
   dashboard's own ``LiveStream`` and notes when each event arrives
   (``performance.timeOrigin + performance.now()``, the same clock). Scaled shape:
   PostgreSQL + the Redis pub/sub layer (publisher thread). Embedded shape: SQLite +
   the in-memory layer (the web process's database poller).
2. Page server time. A PostgreSQL database (``fluxweb_bench_pages``, kept between
   runs) filled by COPY with 1,000,000 executions over 30 days and one execution with
   10,000 events; the executions list (several filters, sorts and a deep keyset
   page) and that execution's page are rendered in-process by Django's test client
   (the view's server time, no network), 30 times each: p50 and p95.

Each part runs in a child process with its own DATABASE_URL. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
BASE_ENV = {
    "FLUX_DEMO": "0",
    "FLUX_WORKFLOW_MODULES": "tests.benchmarks.bench_live",
    "SECRET_KEY": "benchmark-only-secret-key-not-for-production-use-anywhere",
    "FLUX_SECRETS_KEY": "benchmark-only-secrets-key-not-for-production",
    "SECURE_SSL_REDIRECT": "0",
    "SECURE_COOKIES": "0",
    "PYTHONPATH": str(ROOT),
    "DJANGO_SETTINGS_MODULE": "fluxweb.settings",
}
TASKS = 100
PAGES_DB = "fluxweb_bench_pages"
EXECUTIONS = 1_000_000
BIG_LOG = 10_000


def _define_workflows() -> None:
    import asyncio

    from flux import task, workflow

    @task
    async def live_step(i: int) -> int:
        await asyncio.sleep(0.01)
        return i

    @workflow.with_options(name="bench_live_steps")
    async def bench_live_steps(ctx):
        for i in range(ctx.input):
            await live_step(i)
        return ctx.input


if os.environ.get("FLUX_WORKFLOW_MODULES", "").find("tests.benchmarks.bench_live") >= 0:
    _define_workflows()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def create_database(name: str, *, drop: bool) -> None:
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists and drop:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def child(part: str, env: dict[str, str], *args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, f"_{part}", *args], cwd=ROOT,
                         env={**os.environ, **BASE_ENV, **env}, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"{part} failed:\n{out.stdout[-3000:]}\n{out.stderr[-5000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# 1. latency ------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def in_thread(fn, *args):
    """Django's ORM refuses the thread where sync Playwright runs its loop."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(fn, *args).result()


def run_latency() -> dict:
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from playwright.sync_api import sync_playwright

    from executions.core import commands, runner
    from executions.core.commands import SYSTEM
    from executions.core.registry import sync_workflows
    from executions.core.signals import events_committed

    call_command("migrate", verbosity=0)
    sync_workflows()
    User.objects.filter(username="bench").delete()
    User.objects.create_superuser("bench", "bench@example.com", "bench-password-1")
    port = free_port()
    web = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                            "fluxweb.asgi:application"], cwd=ROOT, env=os.environ.copy(),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           start_new_session=True)
    committed: dict[int, float] = {}

    def on_commit(sender, execution_id, events, **kwargs):
        now = time.time() * 1000
        for e in events:
            committed.setdefault(e["seq"], now)

    events_committed.connect(on_commit, weak=False)
    runner.send = lambda execution_id, delay=None: None  # this process is the worker
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=[
                "--headless", "--no-sandbox", "--disable-gpu",
                "--disable-background-networking"])
            page = browser.new_page(base_url=f"http://127.0.0.1:{port}")
            page.goto("/accounts/login/")
            page.fill("#id_username", "bench")
            page.fill("#id_password", "bench-password-1")
            page.click("button[type=submit]")
            page.wait_for_url(lambda url: "/accounts/login/" not in url)
            results = []
            for _round in range(3):
                committed.clear()
                ex = in_thread(commands.start, "bench_live_steps", TASKS, actor=SYSTEM)
                page.goto(f"/executions/{ex.pk}/")  # loads the live bundle
                page.wait_for_function("() => !!(window.Fluxweb && window.Fluxweb.LiveStream)")
                page.evaluate("window.fluxweb.stream.close()")  # the page's own stream
                page.evaluate("""id => new Promise(resolve => {
                  window.arrived = {};
                  window.benchStream = window.Fluxweb.LiveStream.forExecution(id, {
                    after: 0,
                    onEvent: e => {
                      window.arrived[e.seq] = performance.timeOrigin + performance.now();
                    },
                    onStatus: s => { if (s === 'live') resolve(); },
                  }).start();
                })""", ex.pk)
                page.wait_for_timeout(300)  # let the subscribe land before the run starts
                in_thread(runner.run, ex.pk)
                total = max(committed)
                page.wait_for_function("n => Object.keys(window.arrived).length >= n", arg=total)
                arrived = {int(k): v for k, v in page.evaluate("window.arrived").items()}
                page.evaluate("window.benchStream.close()")
                results += [arrived[s] - committed[s] for s in committed]
            browser.close()
    finally:
        web.send_signal(signal.SIGTERM)
        web.wait(10)
    return {"events": len(results), "p50": percentile(results, 50),
            "p99": percentile(results, 99), "max": max(results)}


# 2. pages --------------------------------------------------------------------------

def fill_database() -> None:
    """1,000,000 executions by COPY (skipped when already there) and one big log."""
    import uuid
    from datetime import UTC, datetime, timedelta

    from django.db import connection

    from executions.models import Event, Execution

    if Execution.objects.count() >= EXECUTIONS:
        return
    Execution.objects.all().delete()
    workflows = [f"workflow_{i:02d}" for i in range(40)]
    statuses = ["completed"] * 80 + ["failed"] * 10 + ["running"] * 3 + ["paused"] * 3 + \
        ["queued"] * 2 + ["cancelled"] * 2
    start = datetime.now(UTC) - timedelta(days=30)
    step = timedelta(days=30) / EXECUTIONS
    columns = ("id", "workflow", "workflow_version", "status", "input", "output", "error",
               "created_at", "started_at", "finished_at", "recovery_attempts",
               "max_recovery_attempts", "recover_on_worker_loss", "durable", "last_seq",
               "fence", "cancel_requested", "meta", "worker", "actor")
    import random

    rng = random.Random(7)
    with connection.cursor() as cur:
        raw = cur.connection
        with raw.cursor().copy(
                f"COPY executions_execution ({', '.join(columns)}) FROM STDIN") as copy:
            for i in range(EXECUTIONS):
                created = start + step * i
                status = statuses[i % len(statuses)]
                started = created + timedelta(milliseconds=rng.randint(1, 500))
                finished = (started + timedelta(milliseconds=rng.randint(5, 60_000))
                            if status in ("completed", "failed", "cancelled") else None)
                error = ('{"type": "ValueError", "message": "record has no customer id"}'
                         if status == "failed" else None)
                copy.write_row((uuid.uuid4().hex, workflows[i % 40], "abc123", status,
                                f'{{"n": {i}}}', '{"ok": true}' if status == "completed"
                                else None, error, created, started, finished, 0, 3, True,
                                True, 6, 1, False, "{}", "worker-1", "alice"))
        raw.commit()
        cur.execute("ANALYZE executions_execution")
    big = Execution.objects.order_by("-created_at").first()
    Execution.objects.filter(pk=big.pk).update(last_seq=BIG_LOG, status="completed")
    t0 = big.created_at
    rows = []
    seq = 0
    for i in range(BIG_LOG // 2):
        for kind in ("TASK_STARTED", "TASK_COMPLETED"):
            seq += 1
            rows.append(Event(execution=big, seq=seq, type=kind, name=f"step_{i % 50}",
                              source_id=f"task-{i}", parent_id=None, attempt=0,
                              value={"input": {"i": i}} if kind == "TASK_STARTED" else i,
                              time=t0 + timedelta(milliseconds=seq * 3)))
    Event.objects.bulk_create(rows, batch_size=2000)
    with connection.cursor() as cur:
        cur.execute("ANALYZE executions_event")


def run_pages() -> dict:
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.test import Client
    from django.test.utils import setup_test_environment

    from executions.models import Execution

    setup_test_environment()
    call_command("migrate", verbosity=0)
    fill_database()
    user = User.objects.filter(username="bench").first() or User.objects.create_superuser(
        "bench", "bench@example.com", "bench-password-1")
    client = Client()
    client.force_login(user)
    big = Execution.objects.filter(last_seq=BIG_LOG).first()
    first = client.get("/executions/?limit=50")
    deep = "/executions/"
    # a deep page: follow 20 keyset pages
    for _ in range(20):
        body = client.get(deep).content.decode()
        href = body.split('data-testid="next-page"')[0].rsplit('href="', 1)[1].split('"')[0]
        deep = "/executions/" + href.replace("&amp;", "&")
    assert first.status_code == 200
    cases = {
        "list, newest first": "/executions/",
        "list, status=failed": "/executions/?status=failed",
        "list, workflow + since 7d": "/executions/?workflow=workflow_07&since=7d",
        "list, longest first (duration)": "/executions/?sort=-duration",
        "list, page 21 (keyset cursor)": deep,
        "list, id prefix": f"/executions/?id={big.pk[:6]}",
        "detail, 10,000 events": f"/executions/{big.pk}/",
        "overview": "/",
    }
    out = {}
    for label, url in cases.items():
        times = []
        for _ in range(30):
            t = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, (url, response.status_code)
        out[label] = {"p50": percentile(times, 50), "p95": percentile(times, 95)}
    out["_rows"] = Execution.objects.count()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("part", nargs="?", default="all",
                        choices=["all", "latency", "pages", "_latency", "_pages"])
    part = parser.parse_args().part
    if part == "_latency":
        print(json.dumps(run_latency()))
        return
    if part == "_pages":
        print(json.dumps(run_pages()))
        return
    if part in ("all", "latency"):
        create_database("fluxweb_bench_live", drop=True)
        scaled = child("latency", {"DATABASE_URL": f"{PG}/fluxweb_bench_live",
                                   "REDIS_URL": REDIS})
        with tempfile.TemporaryDirectory() as tmp:
            embedded = child("latency", {"DATABASE_URL": f"sqlite:///{tmp}/db.sqlite3",
                                         "REDIS_URL": ""})
        print("| shape | events | p50 | p99 | max |\n|---|---|---|---|---|")
        for name, r in (("scaled (PostgreSQL + Redis pub/sub)", scaled),
                        ("embedded (SQLite + database poller)", embedded)):
            print(f"| {name} | {r['events']} | {r['p50']:.1f} ms | {r['p99']:.1f} ms | "
                  f"{r['max']:.1f} ms |")
    if part in ("all", "pages"):
        create_database(PAGES_DB, drop=False)
        r = child("pages", {"DATABASE_URL": f"{PG}/{PAGES_DB}", "REDIS_URL": REDIS})
        print(f"\n{r.pop('_rows'):,} executions\n\n| page | p50 | p95 |\n|---|---|---|")
        for label, t in r.items():
            print(f"| {label} | {t['p50']:.1f} ms | {t['p95']:.1f} ms |")


if __name__ == "__main__":
    main()
