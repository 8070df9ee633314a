"""Benchmark of request latency: the REST API and pages under daphne, against a floor.

    python tests/benchmarks/bench_api.py                    # both shapes, 400 rounds
    python tests/benchmarks/bench_api.py --shape scaled --rounds 1000
    python tests/benchmarks/bench_api.py --shape scaled --profile 200   # + cProfile

A web server (``daphne tests.benchmarks.bench_api_app:application``, the project's
application and settings plus the benchmark's floor) runs in its own process; this
process is one client sending requests one after the other on one keep-alive
connection, in rounds: each round sends every endpoint once, so load on this shared
machine falls on all of them alike (in a shuffled order, so that no request always
follows the same one). The figures are wall time per request at the
client (send to last byte read), p50 and p99, and the ratio of each p50 to the
floor's in the same run:

- ``floor``: a bare Django view (``JsonResponse({"status": "ok"})``, no database, no
  session) through the project's whole middleware stack, in the same process;
- ``bare``: the same view through Django's ASGI handler without any middleware
  (what daphne and Django cost by themselves);
- the API as a client uses it, with a bearer token of a user of the ``operator``
  group (not a superuser: permissions are looked up as for anyone): health, one
  execution, the workflow list, the executions list, a run start (``POST
  .../run``, one client's sequential starts; nothing works the queue);
- two pages with a logged-in session: an execution's page and the executions list.

Shapes: ``scaled`` (PostgreSQL database ``--db``, dropped and created, and Redis
``BENCH_REDIS_URL``, flushed) and ``embedded`` (SQLite and the SQLite queue in a temp
directory). ``--profile N`` then restarts daphne with ``BENCH_PROFILE=1`` and
prints the top of a cProfile of N requests of each API endpoint (inside daphne,
from the top of the middleware to the response). Not collected by pytest.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
BASE_ENV = {
    "FLUX_DEMO": "1",  # a realistic workflow list: the demo's and the benchmark's
    "FLUX_WORKFLOW_MODULES": "tests.benchmarks.bench_api",
    "SECRET_KEY": "benchmark-only-secret-key-not-for-production-use-anywhere",
    "FLUX_SECRETS_KEY": "benchmark-only-secrets-key-not-for-production",
    "SECURE_SSL_REDIRECT": "0",
    "SECURE_COOKIES": "0",
    "PYTHONPATH": str(ROOT),
    "DJANGO_SETTINGS_MODULE": "tests.benchmarks.bench_api_settings",
}
WORKFLOW = "bench_api_noop"
CPU_REQUESTS = 200


def _define_workflows() -> None:
    from flux import task, workflow

    @task
    async def bench_api_step(n: int) -> int:
        return n + 1

    @workflow.with_options(name=WORKFLOW)
    async def bench_api_noop(ctx):
        return await bench_api_step(ctx.input["n"])


if "tests.benchmarks.bench_api" in os.environ.get("FLUX_WORKFLOW_MODULES", "").split(","):
    _define_workflows()


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


# the server's side ---------------------------------------------------------------

def setup_child() -> None:
    """In a child with the shape's environment: migrate, a user of the operator group
    with a token and a session, one finished execution. Prints them as JSON."""
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from django.test import Client

    from executions.core import commands, runner
    from executions.core.commands import SYSTEM
    from executions.core.registry import sync_workflows
    from executions.models import Token

    call_command("migrate", verbosity=0)
    sync_workflows()
    user = User.objects.create_user("bench", "bench@example.com", "bench-password-1")
    user.groups.add(Group.objects.get(name="operator"))
    _token, raw = Token.issue(user, name="bench")
    client = Client()
    client.force_login(user)
    execution = commands.start(WORKFLOW, {"n": 1}, actor=SYSTEM)
    runner.run(execution.pk)
    print(json.dumps({"token": raw, "execution": execution.pk,
                      "session": client.cookies[settings.SESSION_COOKIE_NAME].value}))


def shape_env(shape: str, db: str, tmp: str) -> dict[str, str]:
    if shape == "scaled":
        import psycopg
        import redis

        with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{db}"')
        redis.Redis.from_url(REDIS).flushdb()
        return {"DATABASE_URL": f"{PG}/{db}", "REDIS_URL": REDIS}
    return {"DATABASE_URL": f"sqlite:///{tmp}/db.sqlite3", "REDIS_URL": ""}


def run_setup(env: dict[str, str]) -> dict:
    out = subprocess.run([sys.executable, __file__, "_setup"], cwd=ROOT, env=env,
                         capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"setup failed:\n{out.stdout[-3000:]}\n{out.stderr[-5000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Daphne:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.log = log
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
                 "tests.benchmarks.bench_api_app:application"],
                cwd=ROOT, env=env, stdout=out, stderr=out, start_new_session=True)
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    sys.exit(f"daphne did not start; its log:\n{log.read_text()[-5000:]}")
                time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


# the client's side ---------------------------------------------------------------

def endpoints(info: dict) -> list[tuple[str, str, str, dict[str, str], bytes | None, int]]:
    """(name, method, path, headers, body, expected status)."""
    token = {"Authorization": f"Bearer {info['token']}"}
    session = {"Cookie": f"sessionid={info['session']}"}
    ex = info["execution"]
    run_body = json.dumps({"input": {"n": 1}}).encode()
    return [
        ("bare (no middleware)", "GET", "/_bench/bare", {}, None, 200),
        ("floor", "GET", "/_bench/floor", {}, None, 200),
        ("GET /api/health", "GET", "/api/health", {}, None, 200),
        ("GET /api/executions/{id}", "GET", f"/api/executions/{ex}", token, None, 200),
        ("POST /api/workflows/{name}/run", "POST", f"/api/workflows/{WORKFLOW}/run",
         {**token, "Content-Type": "application/json"}, run_body, 201),
        ("GET /api/workflows/", "GET", "/api/workflows/", token, None, 200),
        ("GET /api/executions/", "GET", "/api/executions/", token, None, 200),
        ("page /executions/{id}/", "GET", f"/executions/{ex}/", session, None, 200),
        ("page /executions/", "GET", "/executions/", session, None, 200),
    ]


def send(conn: http.client.HTTPConnection, method: str, path: str, headers: dict,
         body: bytes | None, expected: int) -> float:
    t0 = time.perf_counter()
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    data = response.read()
    elapsed = time.perf_counter() - t0
    if response.status != expected:
        sys.exit(f"{method} {path}: {response.status} (expected {expected}): {data[:500]!r}")
    return elapsed


def measure(port: int, info: dict, rounds: int, warmup: int) -> dict[str, list[float]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    todo = endpoints(info)
    times: dict[str, list[float]] = {name: [] for name, *_ in todo}  # in todo's order
    order = random.Random(16)
    for i in range(warmup + rounds):
        order.shuffle(todo)  # no request always follows the same one
        for name, method, path, headers, body, expected in todo:
            elapsed = send(conn, method, path, headers, body, expected)
            if i >= warmup:
                times[name].append(elapsed * 1000)
    conn.close()
    return times


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` (all its threads) so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure_cpu(port: int, pid: int, info: dict, requests: int) -> dict[str, float]:
    """The web process's CPU time per request (ms), endpoint by endpoint, over
    ``requests`` requests in a row: less sensitive than wall time to the other work on
    the machine (it leaves out the database's and the client's)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    # What the process spends idle (the embedded shape's live-event poller thread) is
    # taken out: its rate over two quiet seconds.
    before, t0 = cpu_seconds(pid), time.perf_counter()
    time.sleep(2)
    idle = (cpu_seconds(pid) - before) / (time.perf_counter() - t0)
    cpu: dict[str, float] = {}
    for _pass in range(3):  # the least of three passes: what the request needs
        for name, method, path, headers, body, expected in endpoints(info):
            send(conn, method, path, headers, body, expected)
            before, t0 = cpu_seconds(pid), time.perf_counter()
            for _ in range(requests):
                send(conn, method, path, headers, body, expected)
            spent = cpu_seconds(pid) - before - idle * (time.perf_counter() - t0)
            cpu[name] = min(cpu.get(name, float("inf")), spent * 1000 / requests)
    conn.close()
    return cpu


def report(shape: str, times: dict[str, list[float]], cpu: dict[str, float]) -> None:
    floor = percentile(times["floor"], 50)
    bare = percentile(times["bare (no middleware)"], 50)
    print(f"\n{shape}: {len(times['floor'])} requests each, sequential, one connection;"
          f" web process CPU: the least of 3 times {CPU_REQUESTS} in a row\n")
    print("| request | p50 ms | p99 ms | p50 / floor | p50 / bare | CPU ms | CPU / floor |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, values in times.items():
        p50, p99 = percentile(values, 50), percentile(values, 99)
        print(f"| {name} | {p50:.2f} | {p99:.2f} | {p50 / floor:.2f}x | {p50 / bare:.2f}x "
              f"| {cpu[name]:.2f} | {cpu[name] / cpu['floor']:.2f}x |")


def profile(port: int, info: dict, requests: int, limit: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for name, method, path, headers, body, expected in endpoints(info):
        if path.startswith("/_bench/"):
            continue
        for _ in range(5):  # warm, unprofiled
            send(conn, method, path, headers, body, expected)
        tagged = {**headers, "X-Bench-Profile": "p"}
        for _ in range(requests):
            send(conn, method, path, tagged, body, expected)
        conn.request("GET", f"/_bench/profile?name=p&limit={limit}")
        text = conn.getresponse().read().decode()
        print(f"\n### {name}: cProfile of {requests} requests\n\n```\n{text}```")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--shape", choices=["scaled", "embedded", "both"], default="both")
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--warmup", type=int, default=30)
    parser.add_argument("--db", default="fluxweb_bench_api",
                        help="PostgreSQL database (dropped and created) for the scaled shape")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="also profile N requests of each API endpoint")
    parser.add_argument("--limit", type=int, default=25, help="rows of each profile")
    args = parser.parse_args()
    shapes = ["scaled", "embedded"] if args.shape == "both" else [args.shape]
    for shape in shapes:
        with tempfile.TemporaryDirectory(prefix="bench-api-") as tmp:
            env = {**os.environ, **BASE_ENV, **shape_env(shape, args.db, tmp)}
            info = run_setup(env)
            log = Path(tmp) / "daphne.log"
            server = Daphne(env, log)
            try:
                times = measure(server.port, info, args.rounds, args.warmup)
                cpu = measure_cpu(server.port, server.proc.pid, info, CPU_REQUESTS)
                report(shape, times, cpu)
            finally:
                server.stop()
            if args.profile:
                server = Daphne({**env, "BENCH_PROFILE": "1"}, log)
                try:
                    profile(server.port, info, args.profile, args.limit)
                finally:
                    server.stop()


if __name__ == "__main__":
    if sys.argv[1:] == ["_setup"]:
        setup_child()
    else:
        main()
