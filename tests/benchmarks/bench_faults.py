"""Faults from below (issue 18): the long versions of the fault tests, and the cost of
checking pooled connections.

    python tests/benchmarks/bench_faults.py      # needs PostgreSQL and Redis

1. The pool's check (``fluxweb.env.check_pooled_connection``): the time to take a
   connection from psycopg's pool and give it back, without a check, with psycopg's
   own (an empty query: a round trip) and with ours (one per request), on this
   machine's PostgreSQL.
2. SQLite under load: 4 worker threads + 20 web writers for 30 s
   (``tests/runtime/test_sqlite_stress.py`` with FLUX_STRESS_SECONDS=30).
3. Terminating every backend of the workers' database every 0.5 s for 20 s while two
   workers run 60 runs (``tests/faults/test_workers.py`` with FLUX_FAULT_SECONDS=20).

Environment: DATABASE_URL (a server where it may create a database) and REDIS_URL, as
for the scaled tests (defaults: the local servers, Redis db 15). Not collected by pytest.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
SCALED = {
    "DATABASE_URL": os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/fluxweb"),
    "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15"),
    "SECRET_KEY": "bench-only-secret-key-not-for-production-use-anywhere-at-all",
    "FLUX_SECRETS_KEY": "bench-only-secrets-key", "SECURE_SSL_REDIRECT": "0",
    "SECURE_COOKIES": "0",
}


def pool_check_cost(n: int = 3000) -> dict[str, float]:
    from psycopg_pool import ConnectionPool

    sys.path.insert(0, str(ROOT))
    from fluxweb.env import check_pooled_connection

    base = SCALED["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    out = {}
    for name, check in (("no check", None), ("empty query", ConnectionPool.check_connection),
                        ("check", check_pooled_connection)):
        with ConnectionPool(base, min_size=1, max_size=1, check=check, open=True) as pool:
            pool.wait()
            for _ in range(200):  # warm up
                pool.putconn(pool.getconn())
            began = time.perf_counter()
            for _ in range(n):
                pool.putconn(pool.getconn())
            out[name] = (time.perf_counter() - began) / n * 1e6
    return out


def pytest_line(args: list[str], env: dict[str, str], marker: str) -> str:
    done = subprocess.run([PYTHON, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                           "-o", "timeout=900", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if marker in line]
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-500:]
    return f"{lines[-1] if lines else '(no report)'}\n    pytest: {summary}"


def main() -> None:
    cost = pool_check_cost()
    print("| pool | µs per getconn + putconn |\n|---|---:|")
    for name, micros in cost.items():
        print(f"| {name} | {micros:.0f} |")
    print(f"\ncheck costs {cost['check'] - cost['no check']:.0f} µs per request (an empty "
          f"query {cost['empty query'] - cost['no check']:.0f} µs)\n")

    embedded = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    print("SQLite, 4 worker threads + 20 web writers, 30 s:")
    print(pytest_line(["tests/runtime/test_sqlite_stress.py"],
                      {**embedded, "FLUX_STRESS_SECONDS": "30"}, "sqlite stress:"))

    print("\nPostgreSQL backends terminated every 0.5 s for 20 s, 2 workers, 60 runs:")
    print(pytest_line(["tests/faults/test_workers.py", "-k", "terminating"],
                      {**os.environ, **SCALED, "FLUX_FAULT_SECONDS": "20",
                       "FLUX_FAULT_RUNS": "60"}, "terminate under load:"))


if __name__ == "__main__":
    main()
