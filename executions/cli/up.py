"""``flux up [--host H] [--port P] [--workers N]``: the embedded shape in one command.

Checks that migrations are applied, syncs the workflow table, then starts
``daphne fluxweb.asgi:application`` and N ``flux worker`` processes as
children, prints the URL once the server listens, and supervises: SIGINT or
SIGTERM is passed to every child; when any child dies the others are stopped
and ``up`` exits 1 saying which one.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from executions.cli.common import EXIT_FAILED, EXIT_OK, CliError, at_least, verb
from executions.cli.worker import check_ready

STOP_GRACE = 15.0


def add_parser(verbs: Any) -> None:
    p = verb(verbs, "up", "run the web server and workers together", handle)
    p.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"),
                   help="address to serve on (default 127.0.0.1, or $HOST)")
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")),
                   help="port (default 8000, or $PORT)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="worker processes (default 1)")


def unapplied_migrations() -> list[str]:
    executor = MigrationExecutor(connection)
    plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return [f"{m.app_label}.{m.name}" for m, _ in plan]


def handle(command: Any, options: dict[str, Any]) -> int:
    at_least(options["workers"], "--workers")
    pending = unapplied_migrations()
    if pending:
        raise CliError(f"{len(pending)} migration(s) not applied ({', '.join(pending[:3])}"
                       f"{'…' if len(pending) > 3 else ''}): run `manage.py migrate` first.")
    check_ready(command)
    connection.close()
    host, port = options["host"], options["port"]
    children = start_children(host, port, options["workers"])
    return supervise(command, children, host, port)


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", settings.SETTINGS_MODULE)
    return env


def start_children(host: str, port: int, workers: int) -> list[tuple[str, subprocess.Popen]]:
    base = str(settings.BASE_DIR)
    env = _child_env()
    web = [sys.executable, "-m", "daphne", "-b", host, "-p", str(port),
           "fluxweb.asgi:application"]
    manage = [sys.executable, os.path.join(base, "manage.py"), "flux", "worker"]
    children = [("web server (daphne)", _spawn(web, base, env))]
    for i in range(workers):
        children.append((f"worker {i + 1}", _spawn(manage, base, env)))
    return children


def _spawn(argv: list[str], cwd: str, env: dict[str, str]) -> subprocess.Popen:
    # A session of their own: a terminal's Ctrl-C reaches us only, and we pass it on once.
    return subprocess.Popen(argv, cwd=cwd, env=env, start_new_session=True,
                            preexec_fn=_die_with_parent)


def _die_with_parent() -> None:
    try:  # Linux: the child gets SIGTERM if `up` itself is killed
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def supervise(command: Any, children: list[tuple[str, subprocess.Popen]], host: str,
              port: int) -> int:
    received: list[int] = []

    def on_signal(signum: int, frame: Any) -> None:
        received.append(signum)

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    announced = False
    try:
        while True:
            if received:
                command.stdout.write(f"flux up: {signal.Signals(received[0]).name} received, "
                                     "stopping")
                stop_all(children, received[0])
                return EXIT_OK
            for label, proc in children:
                code = proc.poll()
                if code is not None:
                    command.stderr.write(f"flux up: the {label} (pid {proc.pid}) exited with "
                                         f"code {code}; stopping the others")
                    stop_all(children, signal.SIGTERM)
                    return EXIT_FAILED
            if not announced and _listening(host, port):
                shown = "localhost" if host in ("0.0.0.0", "::") else host
                command.stdout.write(f"flux up: serving http://{shown}:{port}/ with "
                                     f"{len(children) - 1} worker process(es); Ctrl-C stops")
                announced = True
            time.sleep(0.2)
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


def stop_all(children: list[tuple[str, subprocess.Popen]], signum: int) -> None:
    for _, proc in children:
        if proc.poll() is None:
            proc.send_signal(signum)
    deadline = time.monotonic() + STOP_GRACE
    for _, proc in children:
        try:
            proc.wait(max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _listening(host: str, port: int) -> bool:
    target = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
    try:
        with socket.create_connection((target, port), timeout=0.2):
            return True
    except OSError:
        return False
