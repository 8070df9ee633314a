"""Real worker processes on a database of their own, for the end-to-end tests.

A :class:`Deployment` is one shape: the embedded one (a temporary SQLite file,
its Huey queue beside it) or the scaled one (a fresh PostgreSQL database and
Redis). Workers are ``manage.py flux worker`` processes; requests go through a
``manage.py shell`` (one Django start-up for many calls); checks read the
database directly, without Django.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable


class Deployment:
    def __init__(self, env: dict[str, str], workdir: Path) -> None:
        self.env = {**os.environ, **env}
        self.workdir = workdir
        self.workers: list[subprocess.Popen] = []
        self._db: Any = None

    # processes -------------------------------------------------------------------
    def manage(self, *args: str, input: str | None = None, timeout: float = 60
               ) -> subprocess.CompletedProcess:
        return subprocess.run([PYTHON, "manage.py", *args], cwd=ROOT, env=self.env,
                              input=input, capture_output=True, text=True, timeout=timeout)

    def migrate(self) -> None:
        done = self.manage("migrate", "-v0")
        assert done.returncode == 0, done.stderr

    def django(self, code: str, timeout: float = 60) -> Any:
        """Run ``code`` in a Django shell; it sets ``result``, which comes back as JSON."""
        script = (f"import json\nresult = None\n{code}\n"
                  "print('@@RESULT@@' + json.dumps(result, default=str))\n")
        done = self.manage("shell", "-c", script, timeout=timeout)
        assert done.returncode == 0, done.stderr[-3000:]
        line = [x for x in done.stdout.splitlines() if x.startswith("@@RESULT@@")][-1]
        return json.loads(line.removeprefix("@@RESULT@@"))

    def start(self, workflow: str, inputs: list[Any], copies: int = 1) -> list[str]:
        """Start one execution per input; ``copies`` messages are sent for each."""
        return self.django(
            "from executions.core import commands, runner\n"
            "from executions.models import Execution\n"
            f"inputs = json.loads({json.dumps(json.dumps(inputs))})\n"
            "result = []\n"
            "for value in inputs:\n"
            f"    ex = commands.start({workflow!r}, value, actor=commands.Actor.system('tester'))\n"
            f"    for _ in range({copies - 1}):\n"
            "        runner.send(ex.id)\n"
            "    result.append(ex.id)\n")

    def worker(self, threads: int = 2) -> subprocess.Popen:
        log = open(self.workdir / f"worker-{len(self.workers)}.log", "w")  # noqa: SIM115
        proc = subprocess.Popen([PYTHON, "manage.py", "flux", "worker", "--workers",
                                 str(threads)], cwd=ROOT, env=self.env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        self.workers.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def stop_workers(self) -> None:
        for proc in self.workers:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
        for proc in self.workers:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill(proc)

    def logs(self) -> str:
        return "\n".join(p.read_text()[-4000:] for p in sorted(self.workdir.glob("worker-*.log")))

    # the database, read directly --------------------------------------------------
    def query(self, sql: str, *params: Any) -> list[tuple]:
        raise NotImplementedError

    def executions(self, ids: list[str]) -> dict[str, dict]:
        marks = ", ".join(["%s"] * len(ids))
        rows = self.query(
            "SELECT id, status, recovery_attempts, last_seq, output, error FROM "
            f"executions_execution WHERE id IN ({marks})", *ids)
        return {r[0]: {"status": r[1], "recovery_attempts": r[2], "last_seq": r[3],
                       "output": r[4], "error": r[5]} for r in rows}

    def events(self, execution_id: str) -> list[tuple[int, str, str]]:
        return [tuple(r) for r in self.query(
            "SELECT seq, type, source_id FROM executions_event WHERE execution_id = %s "
            "ORDER BY seq", execution_id)]

    def wait_for(self, ids: list[str], done: Callable[[dict], bool], timeout: float,
                 ) -> dict[str, dict]:
        deadline = time.monotonic() + timeout
        while True:
            state = self.executions(ids)
            if all(done(state[i]) for i in ids):
                return state
            if time.monotonic() > deadline:
                pending = {i: s["status"] for i, s in state.items() if not done(s)}
                raise AssertionError(f"timed out; still {pending}\n{self.logs()}")
            time.sleep(0.05)

    def finished(self, ids: list[str], timeout: float = 30) -> dict[str, dict]:
        return self.wait_for(ids, lambda s: s["status"] in ("completed", "failed",
                                                             "cancelled"), timeout)

    def close(self) -> None:
        self.stop_workers()
        if self._db is not None:
            self._db.close()


class Embedded(Deployment):
    """A SQLite file and the SQLite Huey queue beside it (in ``workdir``)."""

    def __init__(self, workdir: Path, **env: str) -> None:
        self.path = workdir / "db.sqlite3"
        super().__init__({"DATABASE_URL": f"sqlite:///{self.path}", **_common(env)}, workdir)
        for name in ("REDIS_URL",):
            self.env.pop(name, None)

    def flush_queue(self) -> None:
        """Lose every queued and scheduled message (Huey's SQLite tables)."""
        with sqlite3.connect(self.workdir / "huey.db", timeout=30) as queue:
            for table in ("task", "schedule"):
                queue.execute(f"DELETE FROM {table}")

    def query(self, sql: str, *params: Any) -> list[tuple]:
        if self._db is None:
            self._db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        return self._db.execute(sql.replace("%s", "?"), params).fetchall()


class Scaled(Deployment):
    """A fresh PostgreSQL database (dropped on close) and Redis (flushed)."""

    def __init__(self, workdir: Path, database_url: str, redis_url: str, **env: str) -> None:
        import psycopg

        base = database_url.rsplit("/", 1)[0]
        self.admin_url = f"{base}/postgres"
        self.name = f"fluxweb_rt_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        self.url = f"{base}/{self.name}"
        super().__init__({"DATABASE_URL": self.url, "REDIS_URL": redis_url,
                          "SECRET_KEY": "test-only-secret-key-for-runtime-tests-not-for-production",
                          "FLUX_SECRETS_KEY": "test-only-secrets-key-for-runtime-tests",
                          **_common(env)}, workdir)
        self.redis_url = redis_url
        self.flush_redis()

    def flush_queue(self) -> None:
        self.flush_redis()

    def flush_redis(self) -> None:
        import redis

        redis.Redis.from_url(self.redis_url).flushdb()

    def query(self, sql: str, *params: Any) -> list[tuple]:
        import psycopg

        if self._db is None:
            self._db = psycopg.connect(self.url, autocommit=True)
        return self._db.execute(sql, params).fetchall()

    def close(self) -> None:
        import psycopg

        super().close()
        self._db = None
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')
        self.flush_redis()


def _common(env: dict[str, str]) -> dict[str, str]:
    return {
        "FLUX_WORKFLOW_MODULES": "tests.runtime.workflows",
        "FLUX_DEMO": "0",
        "FLUX_LEASE_SECONDS": "2",
        "FLUX_REQUEUE_SECONDS": "3",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_COOKIES": "0",
        "PYTHONPATH": str(ROOT),
        **env,
    }
