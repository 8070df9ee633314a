"""Group commit (docs/workflows.md): task ends are committed together unless something
depends on them being durable in between; a ``durable=True`` task, a pause, a sleep,
a call, an event wait, progress and the run's end commit at once. (What a crash loses
and re-runs: tests/engine/test_crash_recovery.py.)"""

from __future__ import annotations

import time

from flux import Status, call, task, workflow
from flux.domain.events import ExecutionEventType as T
from flux.engine import Engine
from flux.store import MemoryStore
from flux.tasks import sleep
from flux.waits import progress


class CountingStore(MemoryStore):
    """A MemoryStore that remembers what each append committed."""

    def __init__(self) -> None:
        super().__init__()
        self.commits: list[list[tuple[T, str]]] = []

    def append(self, lease, events, record):
        super().append(lease, events, record)
        self.commits.append([(e.type, e.name) for e in events])


def ended(store: MemoryStore, execution_id: str) -> list[str]:
    """The tasks whose end is committed, in order."""
    return [e.name for e in store.events(execution_id) if e.type is T.TASK_COMPLETED]


async def test_quick_tasks_back_to_back_are_committed_in_one_append():
    store = CountingStore()

    @task
    async def add(i: int) -> int:
        return i

    @workflow
    async def many(ctx):
        return sum([await add(i) for i in range(50)])

    engine = Engine(store, flush_delay=3600)
    ctx = await engine.run(engine.create(many).id, workflow=many)
    assert ctx.output == sum(range(50))
    [commit] = store.commits  # the start, 50 tasks' starts and ends, the end
    assert len(commit) == 102 and commit[-1] == (T.WORKFLOW_COMPLETED, "many")


async def test_a_durable_task_is_committed_before_the_next_task_runs():
    store = CountingStore()
    seen: dict[str, list[str]] = {}

    @task.with_options(durable=True)
    async def charge() -> str:
        return "charged"

    @task
    async def lookup() -> str:
        return "found"

    @task
    async def look(label: str) -> None:
        seen[label] = ended(store, current_id[0])

    current_id: list[str] = []

    @workflow
    async def checkout(ctx):
        await lookup()
        await look("after a task")
        await charge()
        await look("after a durable task")

    engine = Engine(store, flush_delay=3600)
    record = engine.create(checkout)
    current_id.append(record.id)
    ctx = await engine.run(record.id, workflow=checkout)
    assert ctx.status == Status.COMPLETED
    assert seen == {"after a task": [],  # waiting for its group
                    "after a durable task": ["lookup", "look", "charge"]}
    assert [c[-1] for c in store.commits] == [(T.TASK_COMPLETED, "charge"),
                                              (T.WORKFLOW_COMPLETED, "checkout")]


async def test_a_loop_that_never_yields_still_commits_every_flush_delay():
    """Tasks that hold the event loop (no await that waits) leave the flush timer no
    turn: the age of the oldest uncommitted event is checked as events come."""
    store = CountingStore()

    @task
    async def busy(i: int) -> int:
        time.sleep(0.003)  # blocks the loop, as CPU-bound work does
        return i

    @workflow
    async def crunch(ctx):
        return [await busy(i) for i in range(10)]

    engine = Engine(store, flush_delay=0.001)
    record = engine.create(crunch)
    await engine.run(record.id, workflow=crunch)
    # Each task ends more than flush_delay after the event before it: a commit each.
    assert len(store.commits) >= 10


async def test_progress_a_sleep_and_a_call_commit_what_came_before():
    snapshots: dict[str, list[str]] = {}

    class Watching(CountingStore):
        """Notes which task ends of the parent were committed at a progress save and
        at the child's creation."""

        def set_progress(self, execution_id, values):
            snapshots["progress"] = ended(self, execution_id)
            super().set_progress(execution_id, values)

        def create(self, record):
            if record.parent_execution_id:
                snapshots["child created"] = ended(self, record.parent_execution_id)
            super().create(record)

    store = Watching()

    @task
    async def quick(label: str) -> str:
        return label

    @task
    async def reports() -> None:
        await progress({"done": 1})

    @workflow
    async def child(ctx):
        return "child"

    @workflow
    async def parent(ctx):
        await quick("a")
        await reports()  # progress
        await quick("b")
        await sleep(0.001)  # a sleep
        await quick("c")
        await call(child)  # a call
        return "done"

    engine = Engine(store, flush_delay=3600)
    record = engine.create(parent)
    ctx = await engine.run(record.id, workflow=parent)
    assert ctx.output == "done"
    assert snapshots == {"progress": ["quick"],
                         "child created": ["quick", "reports", "quick", "sleep", "quick"]}
    parents = [c for c in store.commits if (T.WORKFLOW_STARTED, "parent") in c or
               any(name in ("quick", "sleep") for _, name in c)]
    sleep_start = next(c for c in parents if (T.TASK_STARTED, "sleep") in c)
    assert sleep_start[-1] == (T.TASK_STARTED, "sleep")  # committed as the sleep began
    assert (T.TASK_COMPLETED, "quick") in sleep_start
