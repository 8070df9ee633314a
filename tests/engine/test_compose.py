"""Composition: call(), events from the world, workflow timeouts, progress,
continue-as-new (the engine alone: inline children, and a queue-like dispatch)."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta

import pytest

from flux import Status, call, children, continue_as_new, send_event, task, workflow
from flux.clock import clock
from flux.domain.events import ExecutionEventType as T
from flux.engine import Engine
from flux.errors import (
    ExecutionError,
    ExecutionTimeoutError,
    InvalidInputError,
    LeaseLostError,
    WorkflowNotFoundError,
)
from flux.lineage import child_id
from flux.sqlite_store import SQLiteStore
from flux.store import MemoryStore
from flux.tasks import parallel, pause, progress, wait_for_event

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@task
async def double(x: int) -> int:
    return x * 2


@workflow
async def child_wf(ctx):
    return await double(ctx.input)


@workflow
async def failing_child(ctx):
    raise ValueError(f"bad {ctx.input}")


class Dispatcher:
    """A queue standing in for workers: ``dispatch`` collects ids, ``drain`` runs them."""

    def __init__(self, store) -> None:
        self.sent: list[str] = []
        self.engine = Engine(store, dispatch=lambda records: self.sent.extend(
            r.id for r in records))

    async def drain(self) -> None:
        while self.sent:
            await self.engine.run(self.sent.pop(0), only_runnable=True)


# call -----------------------------------------------------------------------------------

async def test_call_runs_a_child_execution_and_returns_its_output(store):
    @workflow
    async def parent(ctx):
        return await call(child_wf, 21)

    ctx = await parent.run()
    assert ctx.status == Status.COMPLETED and ctx.output == 42
    [child] = store.children(ctx.execution_id)
    assert child.workflow == "child_wf" and child.output == 42
    assert child.parent_execution_id == ctx.execution_id
    started = next(e for e in ctx.events if e.type is T.TASK_STARTED)
    assert started.name == "call_workflow_child_wf"
    assert started.value["execution_id"] == child.id


async def test_a_failed_child_raises_a_catchable_execution_error_in_the_parent(store):
    @workflow
    async def parent(ctx):
        try:
            await call(failing_child, 7)
        except ExecutionError as exc:
            return f"caught: {exc}"

    ctx = await parent.run()
    assert ctx.status == Status.COMPLETED
    assert "failed" in ctx.output and "bad 7" in ctx.output
    failed = next(e for e in ctx.events if e.type is T.TASK_FAILED)
    assert failed.name == "call_workflow_failing_child"


async def test_an_uncaught_child_failure_fails_the_parent(store):
    @workflow
    async def parent(ctx):
        return await call(failing_child, 1)

    ctx = await parent.run()
    assert ctx.status == Status.FAILED
    assert "bad 1" in ctx.error["message"]


async def test_calling_an_unknown_workflow_fails_at_the_call_and_starts_nothing(store):
    @workflow
    async def parent(ctx):
        try:
            await call("no_such_workflow", 1)
        except WorkflowNotFoundError as exc:
            return f"missing: {exc}"

    ctx = await parent.run()
    assert ctx.output.startswith("missing:") and "no_such_workflow" in ctx.output
    assert store.children(ctx.execution_id) == []


async def test_a_child_input_its_schema_refuses_fails_at_the_call_and_starts_nothing(store):
    @workflow
    async def typed(ctx):
        return ctx.input

    typed_wf = typed.with_options(name="typed_child", input_schema={"type": "integer"})

    @workflow
    async def parent(ctx):
        return await call(typed_wf, "not a number")

    ctx = await parent.run()
    assert ctx.status == Status.FAILED
    assert ctx.error["type"] == InvalidInputError.__name__
    assert store.children(ctx.execution_id) == []


async def test_parallel_calls_and_call_map_fan_out(store):
    @workflow
    async def parent(ctx):
        pair = await parallel(call(child_wf, 1), call(child_wf, 2))
        mapped = await call.map(child_wf, [3, 4, 5], max_concurrent=2)
        return pair, mapped

    ctx = await parent.run()
    assert ctx.output == ([2, 4], [6, 8, 10]) or ctx.output == [[2, 4], [6, 8, 10]]
    assert len(store.children(ctx.execution_id)) == 5


async def test_replay_never_starts_a_child_twice(store):
    @workflow
    async def parent(ctx):
        out = await call(child_wf, 5)
        more = await pause("more")
        return out + more

    ctx = await parent.run()
    assert ctx.is_paused
    ctx = await parent.resume(ctx.execution_id, 1)
    assert ctx.output == 11
    assert len(store.children(ctx.execution_id)) == 1


async def test_a_crash_between_starting_a_child_and_recording_it_finds_that_child(
        store, monkeypatch):
    @workflow
    async def parent(ctx):
        return await call(child_wf, 4)

    real = children.start_child

    def crash_after_starting(run, wf, input, kid):
        real(run, wf, input, kid)
        raise LeaseLostError("the worker died here")

    monkeypatch.setattr(children, "start_child", crash_after_starting)
    engine = Engine(store)
    record = engine.create(parent)
    await engine.run(record.id)
    assert len(store.children(record.id)) == 1
    assert not any(e.name.startswith("call_workflow") for e in store.events(record.id))
    monkeypatch.setattr(children, "start_child", real)
    ctx = await Engine(store).run(record.id)
    assert ctx.output == 8
    [child] = store.children(record.id)
    assert child.id == child_id(record.id, next(
        e.source_id for e in ctx.events if e.type is T.TASK_STARTED))


async def test_a_child_whose_task_retries_gives_its_output_and_a_retried_parent_retries_the_child(
        store, delays):
    attempts = {"n": 0}

    @task.with_options(retry_max_attempts=1, retry_delay=0)
    async def flaky():
        attempts["n"] += 1
        if attempts["n"] in (1, 2):
            raise RuntimeError(f"attempt {attempts['n']}")
        return attempts["n"]

    @workflow
    async def flaky_child(ctx):
        return await flaky()

    @workflow
    async def parent(ctx):
        return await call(flaky_child)

    ctx = await parent.run()  # attempts 1 and 2 fail: the child fails, so does the parent
    assert ctx.status == Status.FAILED
    [child] = store.children(ctx.execution_id)
    assert store.get(child.id).status == Status.FAILED
    engine = Engine(store)
    engine.request_retry(ctx.execution_id)
    ctx = await engine.run(ctx.execution_id)
    assert ctx.status == Status.COMPLETED and ctx.output == 3
    assert store.get(child.id).status == Status.COMPLETED
    assert len(store.children(ctx.execution_id)) == 1


async def test_with_workers_the_parent_waits_holding_nothing_and_the_children_wake_it(store):
    q = Dispatcher(store)

    @workflow
    async def parent(ctx):
        return sum(await call.map(child_wf, range(5)))

    record = q.engine.create(parent)
    ctx = await q.engine.run(record.id)
    assert ctx.status == Status.SLEEPING
    rec = store.get(record.id)
    assert rec.wake_at is None and rec.lease_owner is None
    assert len(rec.waiting_for) == 5 and {w["kind"] for w in rec.waiting_for} == {"child"}
    assert len(q.sent) == 5  # every child started before the parent suspended
    await q.drain()
    ctx = await q.engine.run(record.id)
    assert ctx.status == Status.COMPLETED and ctx.output == 20
    assert store.get(record.id).waiting_for is None


async def test_cancelling_a_parent_cancels_its_running_children(store):
    q = Dispatcher(store)

    @workflow
    async def parent(ctx):
        return await call(child_wf, 1)

    record = q.engine.create(parent)
    await q.engine.run(record.id)
    [child] = store.children(record.id)
    q.engine.cancel(record.id, actor="ann")
    assert store.get(record.id).status == Status.CANCELLED
    assert store.get(child.id).status == Status.CANCELLED


async def test_a_cancelled_child_raises_in_its_parent(store):
    q = Dispatcher(store)

    @workflow
    async def parent(ctx):
        try:
            return await call(child_wf, 1)
        except ExecutionError as exc:
            return str(exc)

    record = q.engine.create(parent)
    await q.engine.run(record.id)
    [child] = store.children(record.id)
    q.engine.cancel(child.id)
    ctx = await q.engine.run(record.id)
    assert "was cancelled" in ctx.output


# events ---------------------------------------------------------------------------------

@workflow
async def wait_payment(ctx):
    return await wait_for_event("payment", match={"order": ctx.input})


async def test_an_event_sent_by_name_reaches_the_waiter_whose_match_holds(store):
    a = await wait_payment.run(1)
    b = await wait_payment.run(2)
    assert a.status == b.status == Status.SLEEPING
    rec = store.get(a.execution_id)
    assert rec.waiting_for == [{"kind": "event", "name": "payment", "match": {"order": 1},
                                "until": None}]
    delivered, kept = send_event("payment", {"order": 2, "paid": 30})
    assert delivered == [b.execution_id] and kept is False
    b = await wait_payment.run(execution_id=b.execution_id)
    assert b.output == {"order": 2, "paid": 30}
    a = await wait_payment.run(execution_id=a.execution_id)
    assert a.status == Status.SLEEPING  # not its order: still waiting


async def test_an_event_that_arrives_first_is_kept_for_the_wait(store):
    delivered, kept = send_event("payment", {"order": 9})
    assert delivered == [] and kept is True
    ctx = await wait_payment.run(9)
    assert ctx.output == {"order": 9}
    assert send_event("payment", {"order": 9}) == ([], True)  # consumed: kept anew


async def test_a_kept_event_expires(store):
    with clock.frozen(T0) as now:
        send_event("payment", {"order": 3}, keep_for=60)
        now.advance(seconds=61)
        assert store.drop_expired_events(now.now) == 1
        ctx = await wait_payment.run(3)
    assert ctx.status == Status.SLEEPING


async def test_a_payload_without_the_matched_field_does_not_match(store):
    ctx = await wait_payment.run(5)
    assert send_event("payment", {"amount": 5})[0] == []
    assert send_event("payment", "just text")[0] == []
    assert store.get(ctx.execution_id).status == Status.SLEEPING


async def test_a_bad_match_is_a_clear_error(store):
    @workflow
    async def bad(ctx):
        return await wait_for_event("x", match=["order"])

    ctx = await bad.run()
    assert ctx.status == Status.FAILED and "match must be an object" in ctx.error["message"]


async def test_an_event_wait_times_out_with_a_catchable_error(store):
    @workflow
    async def waits(ctx):
        try:
            return await wait_for_event("approval", timeout=timedelta(hours=1))
        except ExecutionTimeoutError as exc:
            return f"gave up: {exc}"

    with clock.frozen(T0) as now:
        ctx = await waits.run()
        assert ctx.status == Status.SLEEPING
        assert store.get(ctx.execution_id).wake_at == T0 + timedelta(hours=1)
        now.advance(minutes=59)
        ctx = await waits.run(execution_id=ctx.execution_id)
        assert ctx.status == Status.SLEEPING
        now.advance(minutes=2)
        ctx = await waits.run(execution_id=ctx.execution_id)
    assert ctx.output.startswith("gave up: No event 'approval'")
    assert send_event("approval", {})[0] == []  # a late event reaches nobody


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_racing_senders_deliver_exactly_once_per_waiter(kind, tmp_path):
    store = MemoryStore() if kind == "memory" else SQLiteStore(tmp_path / "f.db")
    engine = Engine(store)
    ids = []
    for n in range(20):
        rec = engine.create(wait_payment, n)
        asyncio.run(engine.run(rec.id))
        ids.append(rec.id)
    results: list[tuple[list[str], bool]] = []
    lock = threading.Lock()

    def sender(n: int) -> None:
        out = send_event("payment", {"order": n % 20, "from": n}, store=store)
        with lock:
            results.append(out)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(60)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    delivered = [eid for got, _ in results for eid in got]
    assert sorted(delivered) == sorted(ids)  # each waiter exactly once
    assert sum(kept for _, kept in results) == 40
    for n, eid in enumerate(ids):
        ctx = asyncio.run(engine.run(eid))
        assert ctx.output["order"] == n
    if kind == "sqlite":
        store.close()


# workflow timeout -----------------------------------------------------------------------

async def test_a_workflow_timeout_fails_a_suspended_run_when_it_runs_out(store):
    @workflow.with_options(timeout=timedelta(minutes=10))
    async def slow(ctx):
        await wait_for_event("never")

    with clock.frozen(T0) as now:
        ctx = await slow.run()
        rec = store.get(ctx.execution_id)
        assert rec.deadline == T0 + timedelta(minutes=10)
        assert rec.wake_at == rec.deadline  # the timer that enforces it
        now.advance(minutes=11)
        ctx = await slow.run(execution_id=ctx.execution_id)
    assert ctx.status == Status.FAILED
    assert ctx.error["type"] == "ExecutionTimeoutError"
    assert isinstance(ctx.output, ExecutionTimeoutError)


async def test_a_workflow_timeout_stops_a_running_run(store):
    never = asyncio.Event()

    @task
    async def hang():
        await never.wait()

    @workflow.with_options(timeout=0.05)
    async def hung(ctx):
        await hang()

    ctx = await hung.run()
    assert ctx.status == Status.FAILED and ctx.error["type"] == "ExecutionTimeoutError"


async def test_a_timeout_cancels_the_children(store):
    q = Dispatcher(store)

    @workflow.with_options(timeout=60)
    async def parent(ctx):
        return await call(child_wf, 1)

    with clock.frozen(T0) as now:
        record = q.engine.create(parent)
        await q.engine.run(record.id)
        now.advance(seconds=61)
        ctx = await q.engine.run(record.id)
    assert ctx.status == Status.FAILED
    [child] = store.children(record.id)
    assert store.get(child.id).status == Status.CANCELLED


def test_a_bad_timeout_is_refused():
    with pytest.raises(ValueError, match="timeout must be"):
        @workflow.with_options(timeout=0)
        async def never_runs(ctx):
            pass


# progress -------------------------------------------------------------------------------

async def test_progress_keeps_the_last_value_per_task_and_adds_no_events(store):
    @task
    async def crunch(n: int):
        for i in range(n):
            await progress({"processed": i + 1, "total": n})
        return n

    @workflow
    async def job(ctx):
        await progress("ignored at the top level")
        return await crunch(500)

    ctx = await job.run()
    assert ctx.output == 500
    assert [e.type for e in ctx.events] == [T.WORKFLOW_STARTED, T.TASK_STARTED,
                                            T.TASK_COMPLETED, T.WORKFLOW_COMPLETED]
    [(task_id, value)] = store.get(ctx.execution_id).progress.items()
    assert value["name"] == "crunch"
    assert value["value"] == {"processed": 500, "total": 500}


async def test_progress_outside_a_workflow_does_nothing():
    await progress({"processed": 1})


# continue-as-new ------------------------------------------------------------------------

async def test_continue_as_new_starts_a_fresh_linked_execution(store):
    @workflow
    async def countdown(ctx):
        await double(ctx.input)
        if ctx.input > 0:
            return continue_as_new(ctx.input - 1)
        return "done"

    ctx = await countdown.run(3)
    assert ctx.output == "done"
    chain = [ctx.record]
    while chain[-1].continued_from:
        chain.append(store.get(chain[-1].continued_from))
    assert len(chain) == 4
    first = chain[-1]
    assert first.output == {"continued_as": chain[-2].id}
    assert first.continued_as == chain[-2].id
    assert all(len(store.events(r.id)) == 5 for r in chain[1:])  # each log stays short
    assert T.WORKFLOW_CONTINUED in [e.type for e in store.events(first.id)]


async def test_a_call_follows_a_child_that_continued_as_new(store):
    q = Dispatcher(store)

    @workflow
    async def looping(ctx):
        if ctx.input < 2:
            return continue_as_new(ctx.input + 1)
        return ctx.input * 100

    @workflow
    async def parent(ctx):
        return await call(looping, 0)

    record = q.engine.create(parent)
    await q.engine.run(record.id)
    await q.drain()
    ctx = await q.engine.run(record.id)
    assert ctx.output == 200


async def test_a_call_recorded_but_whose_child_was_never_created_starts_it(store,
                                                                          monkeypatch):
    """With workers, children are created in a batch after the calls: a crash in between
    leaves a recorded call without its child; the next run creates it."""
    q = Dispatcher(store)

    @workflow
    async def parent(ctx):
        return await call(child_wf, 6)

    real = children.start_pending
    monkeypatch.setattr(children, "start_pending", lambda run: run.pending_children.clear())
    record = q.engine.create(parent)
    await q.engine.run(record.id)  # the children it asked for are lost
    monkeypatch.setattr(children, "start_pending", real)
    assert store.children(record.id) == [] and q.sent == []
    assert any(e.name == "call_workflow_child_wf" for e in store.events(record.id))
    await q.engine.run(record.id)  # woken (by the reaper, say): the child starts now
    assert len(store.children(record.id)) == 1
    await q.drain()
    ctx = await q.engine.run(record.id)
    assert ctx.output == 12
