"""``flux up``: web server and workers as children; signals passed on; a dead child stops all."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("executions.tasks", reason="the Huey task (executions.tasks) is not here")

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def env(tmp_path):
    environ = dict(os.environ)
    for name in ("REDIS_URL", "PYTEST_CURRENT_TEST"):
        environ.pop(name, None)
    environ.update(DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
                   DJANGO_SETTINGS_MODULE="fluxweb.settings", PYTHONUNBUFFERED="1")
    return environ


def database_file(env) -> str:
    return env["DATABASE_URL"].removeprefix("sqlite:///")


def start_up(env, port: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "manage.py", "flux", "up", "--port", str(port)],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def wait_for_line(proc: subprocess.Popen, fragment: str, timeout: float = 30) -> list[str]:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            break
        seen.append(line)
        if fragment in line:
            return seen
    raise AssertionError(f"never printed {fragment!r}:\n{''.join(seen)}")


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True,
                         text=True).stdout
    return [int(p) for p in out.split()]


def test_up_refuses_an_unmigrated_database(env):
    done = subprocess.run([sys.executable, "manage.py", "flux", "up", "--port",
                           str(free_port())], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2
    assert "not applied" in done.stderr and "manage.py migrate" in done.stderr


def test_up_serves_and_stops_cleanly_on_sigterm(env):
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env,
                   check=True, timeout=60)
    port = free_port()
    proc = start_up(env, port)
    try:
        wait_for_line(proc, f"serving http://127.0.0.1:{port}/")
        deadline = time.monotonic() + 20
        while True:  # the worker's first heartbeat comes with its first reaper pass
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health",
                                        timeout=5) as r:
                assert r.status == 200
                if json.load(r)["workers"] == 1 or time.monotonic() > deadline:
                    break
            time.sleep(0.2)
        assert time.monotonic() <= deadline, "the worker never reported itself"
        kids = children_of(proc.pid)
        assert len(kids) == 2  # daphne and one worker
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        for pid in kids:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        # a worker that stops gracefully takes its heartbeat row with it
        with sqlite3.connect(database_file(env)) as db:
            assert db.execute("SELECT count(*) FROM executions_worker").fetchone() == (0,)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_up_exits_1_naming_the_child_that_died(env):
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env,
                   check=True, timeout=60)
    port = free_port()
    proc = start_up(env, port)
    try:
        wait_for_line(proc, "serving http://")
        kids = children_of(proc.pid)
        worker = [p for p in kids
                  if b"worker" in Path(f"/proc/{p}/cmdline").read_bytes()][0]
        os.kill(worker, signal.SIGKILL)
        lines = wait_for_line(proc, "exited with code")
        assert f"the worker 1 (pid {worker}) exited with code -9" in lines[-1]
        assert proc.wait(30) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
