"""Composition on real workers (PostgreSQL + Redis): 200 executions wait for events
while 400 racing sends (two senders per order, in two processes) deliver them; each
waiter resumes exactly once with its own payload. Fails (never skips) without them."""

from __future__ import annotations

import json
import subprocess
import time

import pytest

from tests.runtime.harness import PYTHON, ROOT, Scaled

pytestmark = pytest.mark.scaled

WAITERS = 200

SENDER = """
import json, threading
from executions.core import commands
from executions.core.commands import Actor
tag = "{tag}"
orders = list(range({n}))
if tag == "b":
    orders.reverse()
answers, lock = [], threading.Lock()
def send(chunk):
    from django.db import connection
    for order in chunk:
        got = commands.send_event("payment", {{"order": order, "sender": tag}},
                                  actor=Actor.system("sender-" + tag))
        with lock:
            answers.append([order, got["delivered"], got["kept"]])
    connection.close()
threads = [threading.Thread(target=send, args=(orders[i::10],)) for i in range(10)]
for t in threads: t.start()
for t in threads: t.join()
print("@@" + json.dumps(answers))
"""


@pytest.fixture
def scaled(tmp_path, database_url, redis_url):
    d = Scaled(tmp_path, database_url, redis_url)
    try:
        d.migrate()
        yield d
    finally:
        d.close()


def test_200_waiters_and_racing_senders_each_waiter_resumes_once_with_its_payload(scaled):
    ids = scaled.start("rt_waiter", [{"order": n} for n in range(WAITERS)])
    scaled.worker(threads=4)
    scaled.worker(threads=4)
    scaled.wait_for(ids, lambda s: s["status"] == "sleeping", timeout=40)
    started = time.monotonic()
    senders = [subprocess.Popen([PYTHON, "manage.py", "shell", "-c",
                                 SENDER.format(n=WAITERS, tag=tag)],
                                cwd=ROOT, env=scaled.env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for tag in "ab"]
    answers = []
    for proc in senders:
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err[-3000:]
        answers += json.loads([x for x in out.splitlines() if x.startswith("@@")][-1][2:])
    state = scaled.finished(ids, timeout=40)
    elapsed = time.monotonic() - started
    delivered = [eid for _, got, _ in answers for eid in got]
    assert sorted(delivered) == sorted(ids), "each waiter gets exactly one delivery"
    assert sum(1 for *_, kept in answers if kept) == WAITERS  # the losing duplicates
    by_id = dict(zip(ids, range(WAITERS), strict=True))
    for eid, s in state.items():
        assert s["status"] == "completed", s
        assert s["output"]["order"] == by_id[eid]
        assert s["output"]["payload"]["order"] == by_id[eid]
    completions = scaled.query(
        "SELECT count(*) FROM executions_event WHERE type = 'TASK_COMPLETED' AND "
        "name = 'payment'")[0][0]
    assert completions == WAITERS
    assert scaled.query("SELECT count(*) FROM executions_eventwait")[0][0] == 0
    print(f"200 waiters, 400 racing sends: all resumed {elapsed:.1f}s after the sends began")
