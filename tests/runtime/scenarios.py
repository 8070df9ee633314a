"""End-to-end scenarios through real worker processes, for either shape.

``tests/runtime/test_workers.py`` runs them on the embedded shape and
``tests/scaled/test_runtime.py`` on PostgreSQL + Redis.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.runtime.harness import Deployment


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


def a_workflow_completes(d: Deployment) -> None:
    d.worker()
    ids = d.start("rt_hello", [{"a": i, "b": 1} for i in range(3)])
    state = d.finished(ids)
    assert [(state[i]["status"], _json(state[i]["output"])) for i in ids] == [
        ("completed", 1), ("completed", 2), ("completed", 3)]


def pause_then_resume(d: Deployment) -> None:
    d.worker()
    [eid] = d.start("rt_approval", [None])
    d.wait_for([eid], lambda s: s["status"] == "paused", 30)
    d.django(f"from executions.core import commands\ncommands.resume({eid!r}, 'yes', "
             "actor=commands.Actor.system('bob'))")
    state = d.finished([eid])
    assert state[eid]["status"] == "completed"
    assert _json(state[eid]["output"]) == {"answer": "yes"}
    types = [t for _, t, _ in d.events(eid)]
    assert types.count("WORKFLOW_PAUSED") == 1 and "TASK_RESUMED" in types


def a_durable_sleep_frees_the_worker(d: Deployment) -> None:
    d.worker(threads=1)
    [sleeper] = d.start("rt_sleepy", [4.0])
    d.wait_for([sleeper], lambda s: s["status"] == "sleeping", 30)
    started = time.monotonic()
    quick = d.start("rt_hello", [{"a": 1, "b": 1}])
    assert d.finished(quick)[quick[0]]["status"] == "completed"
    assert d.executions([sleeper])[sleeper]["status"] == "sleeping"  # one thread, not held
    state = d.finished([sleeper], timeout=30)
    assert state[sleeper]["status"] == "completed"
    assert time.monotonic() - started < 15
    types = [t for _, t, _ in d.events(sleeper)]
    assert "WORKFLOW_SLEEPING" in types and types[-1] == "WORKFLOW_COMPLETED"


def cancelling_a_running_execution_stops_it(d: Deployment) -> float:
    d.worker()
    [eid] = d.start("rt_forever", [None])
    d.wait_for([eid], lambda s: s["status"] == "running" and s["last_seq"] > 4, 30)
    elapsed = d.django(
        "import time\n"
        "from executions.core import commands\nfrom executions.models import Execution\n"
        "t0 = time.monotonic()\n"
        f"commands.cancel({eid!r}, actor=commands.Actor.system('carol'))\n"
        f"while Execution.objects.get(pk={eid!r}).status != 'cancelled':\n"
        "    assert time.monotonic() - t0 < 10, 'not cancelled within 10 s'\n"
        "    time.sleep(0.02)\n"
        "result = time.monotonic() - t0\n")
    assert elapsed < 2.0, f"cancelled after {elapsed:.2f} s"
    assert [t for _, t, _ in d.events(eid)][-1] == "WORKFLOW_CANCELLED"
    return elapsed


def crash_campaign(d: Deployment, workdir: Path, *, executions: int = 10, kills: int = 12,
                   workers: int = 2, threads: int = 2, copies: int = 1, delay: float = 0.1,
                   seed: int | None = None, flush_queue=None,
                   min_kills: int | None = None) -> dict[str, int]:
    """SIGKILL workers at random moments while 20-task workflows run; check the log.

    At least ``min_kills`` (default: half of ``kills``) must have happened before the
    runs finished, or the campaign proved nothing: it fails then (give the runs more
    work: more executions or a longer ``delay``).

    Every execution completes; each task is recorded completed once; seq has no
    gap; each task body ran at most 1 + kills times, and all re-runs together
    are at most kills x threads (a kill hits at most one task per thread).
    """
    rng = random.Random(seed)
    path = workdir / "bodies.txt"
    path.write_text("")
    born = {}
    for _ in range(workers):
        proc = d.worker(threads)
        born[proc] = time.monotonic()
    inputs = [{"path": str(path), "tag": f"run{n}", "delay": delay}
              for n in range(executions)]
    ids = d.start("rt_crash", inputs, copies=copies)
    done_kills = 0
    deadline = time.monotonic() + 90
    while done_kills < kills and time.monotonic() < deadline:
        time.sleep(rng.uniform(0.2, 0.8))
        state = d.executions(ids)
        if all(s["status"] == "completed" for s in state.values()):
            break
        # Kill a worker that is up (started a while ago), at a random moment.
        ready = [p for p, t in born.items() if time.monotonic() - t > 2.5]
        if not ready:
            continue
        victim = rng.choice(ready)
        d.kill(victim)
        done_kills += 1
        del born[victim]
        born[d.worker(threads)] = time.monotonic()
        if flush_queue is not None and done_kills % 4 == 0:
            flush_queue()
    wanted = (kills + 1) // 2 if min_kills is None else min_kills
    assert done_kills >= wanted, (
        f"only {done_kills} of {kills} kills happened before the runs finished: the "
        "campaign tested too little (give it more executions or a longer delay)")
    state = d.finished(ids, timeout=60)

    bodies = Counter(tuple(line.split()) for line in path.read_text().splitlines())
    interrupted = 0
    for n, eid in enumerate(ids):
        s = state[eid]
        assert s["status"] == "completed", (eid, s)
        assert _json(s["output"]) == sum(range(20))
        events = d.events(eid)
        assert [seq for seq, _, _ in events] == list(range(1, len(events) + 1))
        completed = Counter(src for _, t, src in events if t == "TASK_COMPLETED")
        assert len(completed) == 20 and set(completed.values()) == {1}, completed
        assert sum(1 for _, t, _ in events if t == "WORKFLOW_COMPLETED") == 1
        count = sum(1 for _, t, _ in events if t == "WORKFLOW_INTERRUPTED")
        assert count == s["recovery_attempts"]
        interrupted += count
        for i in range(20):
            assert 1 <= bodies[(f"run{n}", str(i))] <= 1 + done_kills
    reruns = sum(bodies.values()) - executions * 20
    assert reruns <= done_kills * threads, (reruns, done_kills)
    return {"kills": done_kills, "interruptions": interrupted, "body_reruns": reruns}


def lost_messages_are_sent_again(d: Deployment, flush_queue) -> None:
    """Queued work whose messages vanish (the queue flushed) still runs."""
    ids = d.start("rt_hello", [{"a": i, "b": 0} for i in range(5)])
    flush_queue()
    d.worker()
    state = d.finished(ids, timeout=30)
    assert {s["status"] for s in state.values()} == {"completed"}
