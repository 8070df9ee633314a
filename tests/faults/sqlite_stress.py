"""The embedded shape under load (issue 18, item 3): worker threads and web writers on
one SQLite file at once.

``stress(seconds)`` runs, in this process, ``workers`` threads that run executions
(``runner.run``, as Huey's worker threads do; each has its own connection) and
``writers`` threads that each act as a browser: start a run through the API, list the
executions, read the one it started. Each thread has its own Django connection to the
SQLite file, so they compete for its write lock exactly as daphne's threads and a
worker's threads do. It returns what a user would have seen.
tests/runtime/test_sqlite_stress.py runs it (the embedded pass) for a few seconds;
tests/benchmarks/bench_faults.py for 30.
"""

from __future__ import annotations

import queue
import threading
import time
from collections import Counter
from typing import Any

WORKFLOW = "rt_crash"


def stress(seconds: float, tmp_path, *, workers: int = 4, writers: int = 20,
           tasks: int = 3) -> dict[str, Any]:
    from django.contrib.auth.models import User
    from django.db import close_old_connections, connection
    from django.test import Client

    from executions.core import registry, runner
    from executions.models import Event, Execution, Token

    registry.sync_workflows()
    _, token = Token.issue(User.objects.create_superuser("stress", "s@example.com", None))
    messages: queue.Queue[str | None] = queue.Queue()
    original_send = runner.send
    runner.send = lambda execution_id, delay=None: messages.put(execution_id)
    statuses: Counter[int] = Counter()
    problems: list[str] = []
    started: list[str] = []
    worker_errors: list[str] = []
    lock = threading.Lock()
    deadline = time.monotonic() + seconds

    def work() -> None:
        try:
            while (execution_id := messages.get()) is not None:
                try:
                    runner.run(execution_id)
                except Exception as exc:  # a worker thread must survive anything
                    with lock:
                        worker_errors.append(f"{execution_id}: {exc!r}")
        finally:
            runner.close_thread_store()
            connection.close()

    def write(n: int) -> None:
        client = Client(HTTP_AUTHORIZATION=f"Bearer {token}")
        body = {"input": {"path": str(tmp_path / "steps.log"), "tag": f"w{n}",
                          "tasks": tasks, "delay": 0}}
        try:
            while time.monotonic() < deadline:
                answers = [client.post(f"/api/workflows/{WORKFLOW}/run", body,
                                       content_type="application/json")]
                if answers[0].status_code == 201:
                    eid = answers[0].json()["id"]
                    with lock:
                        started.append(eid)
                    answers.append(client.get(f"/api/executions/{eid}"))
                answers.append(client.get("/api/executions/?limit=20"))
                close_old_connections()
                with lock:
                    for answer in answers:
                        statuses[answer.status_code] += 1
                        if answer.status_code >= 500 or b"locked" in answer.content:
                            problems.append(f"{answer.status_code} {answer.content[:200]!r}")
        finally:
            connection.close()

    pool = [threading.Thread(target=work, name=f"worker-{i}") for i in range(workers)]
    web = [threading.Thread(target=write, args=(i,), name=f"web-{i}") for i in range(writers)]
    began = time.monotonic()
    try:
        for thread in pool + web:
            thread.start()
        for thread in web:
            thread.join()
        # The backlog: the workers finish what the writers started.
        drain_deadline = time.monotonic() + max(60.0, seconds * 2)
        while (Execution.objects.filter(pk__in=started).exclude(status="completed").exists()
               and time.monotonic() < drain_deadline):
            time.sleep(0.1)
        alive = sum(thread.is_alive() for thread in pool)
    finally:
        for _ in pool:
            messages.put(None)
        for thread in pool:
            thread.join(timeout=30)
        runner.send = original_send
    elapsed = time.monotonic() - began
    by_status = Counter(Execution.objects.filter(pk__in=started)
                        .values_list("status", flat=True))
    completed_twice = (Event.objects.filter(execution_id__in=started, type="TASK_COMPLETED")
                       .values_list("execution_id", "source_id"))
    duplicates = [key for key, count in Counter(completed_twice).items() if count > 1]
    return {"seconds": round(elapsed, 1), "runs": len(started), "by_status": dict(by_status),
            "requests": sum(statuses.values()), "statuses": dict(statuses),
            "problems": problems[:10], "duplicate_tasks": duplicates[:10],
            "workers_alive": alive, "worker_errors": worker_errors[:10]}
