"""Crash tests with real processes: SIGKILL mid-workflow, resume in a new process.

Each task body appends a line to a counter file when it starts, so the file
tells how many times each body ran across processes. Task ends are committed in
groups (docs/workflows.md, "Group commit"): what a kill loses is exactly the tasks
whose end was not committed yet, and those run again; a ``durable=True`` task's end
is committed before the next task runs.
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
    import flux
    from flux import workflow, task, ExecutionContext
    from flux.tasks import now, uuid4, randint

    COUNTER = os.environ["COUNTER"]
    KILL_AT = int(os.environ.get("KILL_AT", "-1"))
    # Which steps are durable=True: "all", "none", or one step's number.
    DURABLE = os.environ.get("DURABLE", "all")
    # No commit by the clock: only durability points commit, so what a kill loses
    # does not depend on how fast this machine is.
    flux.configure(flush_delay=3600)

    @task
    async def step(i: int) -> int:
        with open(COUNTER, "a") as f:
            f.write(f"{i}\\n")
        if i == KILL_AT:
            os.kill(os.getpid(), signal.SIGKILL)
        return i * i

    durable_step = step.with_options(durable=True)

    def is_durable(i):
        return DURABLE == "all" or DURABLE == str(i)

    @workflow
    async def twenty(ctx: ExecutionContext[int]):
        marks = [str(await now()), str(await uuid4()), await randint(1, 10**9)]
        with open(COUNTER + ".marks", "a") as f:
            f.write(json.dumps(marks) + "\\n")
        total = 0
        for i in range(ctx.input):
            total += await (durable_step if is_durable(i) else step)(i)
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


def run_script(tmp_path: Path, *args: str, kill_at: int = -1,
               durable: str = "all") -> subprocess.CompletedProcess:
    script = tmp_path / "crashy.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "FLUX_HOME": str(tmp_path / "home"), "COUNTER": str(tmp_path / "ran"),
           "KILL_AT": str(kill_at), "DURABLE": durable,
           "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    return subprocess.run([sys.executable, str(script), *args], env=env, capture_output=True,
                          text=True, timeout=60)


def completed_steps(store: SQLiteStore, execution_id: str) -> set[int]:
    """The steps whose end the log holds (each step's name is step; its value i*i)."""
    return {int(e.value ** 0.5) for e in store.events(execution_id)
            if e.type.value == "TASK_COMPLETED" and e.name == "step"}


@pytest.mark.parametrize(("durable", "kill_at", "committed"), [
    ("all", 0, set()),
    ("all", 7, set(range(7))),
    ("all", 19, set(range(19))),
    # Group commit: steps 0-3 end with the durable step 3's commit; 4-6 were not
    # committed when step 7 was killed, so they run again.
    ("3", 7, set(range(4))),
    ("none", 7, set()),
])
def test_a_killed_process_is_resumed_by_another_and_only_uncommitted_tasks_run_again(
        tmp_path, durable, kill_at, committed):
    first = run_script(tmp_path, "start", "crash-1", kill_at=kill_at, durable=durable)
    assert first.returncode == -9, first.stderr  # SIGKILL
    store = SQLiteStore(tmp_path / "home" / "flux.db")
    # A durable=True step's end is committed before the next step runs.
    assert completed_steps(store, "crash-1") == committed
    logged = bool(store.events("crash-1"))
    assert logged == bool(committed)
    # nobody told the store
    assert store.get("crash-1").status == (Status.RUNNING if logged else Status.CREATED)

    second = run_script(tmp_path, "resume", "crash-1", durable=durable)
    assert second.returncode == 0, second.stderr
    result = json.loads(second.stdout)
    assert result["status"] == "completed"
    assert result["output"]["total"] == sum(i * i for i in range(20))

    ran = [int(x) for x in (tmp_path / "ran").read_text().split()]
    counts = {i: ran.count(i) for i in range(20)}
    # The killed step and the steps whose end was not committed ran twice; every
    # other step once.
    assert counts == {i: 1 if i in committed or i > kill_at else 2 for i in range(20)}

    marks = [json.loads(line) for line in (tmp_path / "ran.marks").read_text().splitlines()]
    assert len(marks) == 2
    if committed:  # now/uuid4/randint were committed with the first durable step
        assert marks[0] == marks[1]  # replayed
    assert result["output"]["marks"] == marks[1]

    # The history records each task once, with no gap.
    events = store.events("crash-1")
    assert [e.seq for e in events] == list(range(1, len(events) + 1))
    completed = [e.source_id for e in events if e.type.value == "TASK_COMPLETED"]
    assert len(completed) == len(set(completed)) == 23
    rec = store.get("crash-1")
    interrupted = 1 if logged else 0  # with nothing logged, the second run starts afresh
    assert rec.recovery_attempts == interrupted
    assert sum(e.type.value == "WORKFLOW_INTERRUPTED" for e in events) == interrupted


def test_a_fresh_flux_home_is_created_and_shared_between_processes(tmp_path):
    done = run_script(tmp_path, "start", "plain-1")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "home" / "flux.db").exists()
    again = run_script(tmp_path, "resume", "plain-1")
    assert json.loads(again.stdout) == json.loads(done.stdout)
    assert len((tmp_path / "ran").read_text().split()) == 20  # nothing ran again
