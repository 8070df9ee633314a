"""Crash tests with real processes: SIGKILL mid-workflow, resume in a new process.

Each task body appends a line to a counter file when it starts, so the file
tells how many times each body ran across processes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flux import Status
from flux.sqlite_store import SQLiteStore

SCRIPT = textwrap.dedent('''
    import asyncio, json, os, signal, sys
    from flux import workflow, task, ExecutionContext
    from flux.tasks import now, uuid4, randint

    COUNTER = os.environ["COUNTER"]
    KILL_AT = int(os.environ.get("KILL_AT", "-1"))

    @task
    async def step(i: int) -> int:
        with open(COUNTER, "a") as f:
            f.write(f"{i}\\n")
        if i == KILL_AT:
            os.kill(os.getpid(), signal.SIGKILL)
        return i * i

    @workflow
    async def twenty(ctx: ExecutionContext[int]):
        marks = [str(await now()), str(await uuid4()), await randint(1, 10**9)]
        with open(COUNTER + ".marks", "a") as f:
            f.write(json.dumps(marks) + "\\n")
        total = 0
        for i in range(ctx.input):
            total += await step(i)
        return {"total": total, "marks": marks}

    if sys.argv[1] == "start":
        from flux.engine import Engine
        engine = Engine()
        record = engine.create(twenty, 20, execution_id=sys.argv[2])
        ctx = asyncio.run(engine.run(record.id, workflow=twenty))
    else:
        ctx = twenty.run_sync(execution_id=sys.argv[2])
    print(json.dumps({"status": ctx.state, "output": ctx.output}))
''')


def run_script(tmp_path: Path, *args: str, kill_at: int = -1) -> subprocess.CompletedProcess:
    script = tmp_path / "crashy.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "FLUX_HOME": str(tmp_path / "home"), "COUNTER": str(tmp_path / "ran"),
           "KILL_AT": str(kill_at),
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run([sys.executable, str(script), *args], env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("kill_at", [0, 7, 19])
def test_a_killed_process_is_resumed_by_another_and_each_task_completes_once(tmp_path,
                                                                             kill_at):
    first = run_script(tmp_path, "start", "crash-1", kill_at=kill_at)
    assert first.returncode == -9, first.stderr  # SIGKILL
    store = SQLiteStore(tmp_path / "home" / "flux.db")
    assert store.get("crash-1").status == Status.RUNNING  # nobody told the store

    second = run_script(tmp_path, "resume", "crash-1")
    assert second.returncode == 0, second.stderr
    result = json.loads(second.stdout)
    assert result["status"] == "completed"
    assert result["output"]["total"] == sum(i * i for i in range(20))

    ran = [int(x) for x in (tmp_path / "ran").read_text().split()]
    counts = {i: ran.count(i) for i in range(20)}
    # the killed task's body ran twice (it never recorded an end); every other once
    assert counts == {i: (2 if i == kill_at else 1) for i in range(20)}

    marks = [json.loads(line) for line in (tmp_path / "ran.marks").read_text().splitlines()]
    assert len(marks) == 2 and marks[0] == marks[1]  # now/uuid4/randint replayed
    assert result["output"]["marks"] == marks[0]

    events = store.events("crash-1")
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    completed = [e.source_id for e in events if e.type.value == "TASK_COMPLETED"]
    assert len(completed) == len(set(completed)) == 23
    rec = store.get("crash-1")
    assert rec.recovery_attempts == 1
    assert sum(e.type.value == "WORKFLOW_INTERRUPTED" for e in events) == 1


def test_a_fresh_flux_home_is_created_and_shared_between_processes(tmp_path):
    done = run_script(tmp_path, "start", "plain-1")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "home" / "flux.db").exists()
    again = run_script(tmp_path, "resume", "plain-1")
    assert json.loads(again.stdout) == json.loads(done.stdout)
    assert len((tmp_path / "ran").read_text().split()) == 20  # nothing ran again
