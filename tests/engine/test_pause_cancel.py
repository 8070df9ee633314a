"""Pauses (approve, reject, schemas, many per workflow), cancellation, recovery limits."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from flux import Status, task, workflow
from flux.domain.events import ExecutionEventType as T
from flux.engine import Engine
from flux.errors import InvalidInputError, InvalidStateError, RejectedError
from flux.tasks import parallel, pause


async def test_a_workflow_may_pause_many_times_and_each_resume_passes_one_point():
    @workflow
    async def two_step(ctx):
        first = await pause("first")
        second = await pause("second")
        return first, second

    ctx = await two_step.run()
    ctx = await two_step.resume(ctx.execution_id, "a")
    assert ctx.is_paused
    pending = [e for e in ctx.events if e.type is T.WORKFLOW_PAUSED][-1].value["pauses"]
    assert pending == ["second"]
    ctx = await two_step.resume(ctx.execution_id, {"b": [1]})
    assert ctx.output == ("a", {"b": [1]}) or ctx.output == ["a", {"b": [1]}]


async def test_rejection_raises_a_catchable_error_at_the_pause():
    @workflow
    async def guarded(ctx):
        try:
            await pause("approve", title="Ship it?")
        except RejectedError as e:
            return f"rejected by {e.actor}: {e.comment}"
        return "shipped"

    ctx = await guarded.run()
    ctx = await guarded.reject(ctx.execution_id, comment="not today", actor="bob")
    assert ctx.output == "rejected by bob: not today"
    decision = next(e for e in ctx.events if e.type is T.TASK_RESUMED)
    assert decision.value["actor"] == "bob" and decision.value["approved"] is False


async def test_resume_input_must_match_the_pause_schema_and_nothing_changes_otherwise(store):
    schema = {"type": "object", "required": ["amount"],
              "properties": {"amount": {"type": "number", "minimum": 0}}}

    @workflow
    async def spend(ctx):
        answer = await pause("budget", schema=schema, description="**How much?**")
        return answer["amount"]

    ctx = await spend.run()
    before = len(store.events(ctx.execution_id))
    with pytest.raises(InvalidInputError) as err:
        await spend.resume(ctx.execution_id, {"amount": -3})
    assert "amount" in str(err.value) and err.value.errors
    assert len(store.events(ctx.execution_id)) == before
    assert store.get(ctx.execution_id).status == Status.PAUSED
    ctx = await spend.resume(ctx.execution_id, {"amount": 12.5})
    assert ctx.output == 12.5


async def test_resuming_something_not_paused_is_refused(store):
    @workflow
    async def quick(ctx):
        return 1

    ctx = await quick.run()
    with pytest.raises(InvalidStateError, match="not paused"):
        await quick.resume(ctx.execution_id, 1)


async def test_parallel_pauses_wait_for_all_branches_and_resume_by_name():
    @task
    async def work(x):
        return x * 2

    async def branch(name, x):
        value = await work(x)
        return value + await pause(name)

    @workflow
    async def fan(ctx):
        return await parallel(branch("left", 1), branch("right", 2))

    ctx = await fan.run()
    assert ctx.is_paused
    assert sum(e.type is T.TASK_COMPLETED for e in ctx.events) == 2  # both branches got there
    ctx = await fan.resume(ctx.execution_id, 10, pause="right")
    assert ctx.is_paused
    ctx = await fan.resume(ctx.execution_id, 100, pause="left")
    assert ctx.output == [102, 14]


async def test_both_parallel_pauses_can_be_answered_before_the_next_run(store):
    async def branch(name):
        return await pause(name)

    @workflow
    async def fan(ctx):
        return await parallel(branch("left"), branch("right"))

    ctx = await fan.run()
    engine = Engine(store)
    assert engine.request_resume(ctx.execution_id, 1, pause="left").status == Status.QUEUED
    assert engine.request_resume(ctx.execution_id, 2, pause="right").status == Status.QUEUED
    with pytest.raises(InvalidStateError, match="not paused"):
        engine.request_resume(ctx.execution_id, 3, pause="left")
    ctx = await engine.run(ctx.execution_id, workflow=fan)
    assert ctx.output == [1, 2]


async def test_cancelling_a_paused_execution_and_a_finished_one(store):
    @workflow
    async def waits(ctx):
        await pause("forever")

    ctx = await waits.run()
    record = waits.cancel(ctx.execution_id, actor="carol")
    assert record.status == Status.CANCELLED
    with pytest.raises(InvalidStateError, match="already cancelled"):
        waits.cancel(ctx.execution_id)
    with pytest.raises(InvalidStateError):
        await waits.resume(ctx.execution_id)


async def test_a_running_execution_is_cancelled_within_a_second_and_cannot_swallow_it(store):
    swallowed = []

    @task
    async def slow():
        await asyncio.sleep(30)

    @workflow
    async def stubborn(ctx):
        try:
            await slow()
        except Exception as e:  # user code that catches everything it can
            swallowed.append(e)
        return "finished anyway"

    engine = Engine(store, lease_seconds=3)
    record = engine.create(stubborn)
    threading.Timer(0.3, lambda: Engine(store).cancel(record.id, actor="dave")).start()
    started = time.monotonic()
    ctx = await engine.run(record.id, workflow=stubborn)
    assert time.monotonic() - started < 2.0
    assert ctx.state == Status.CANCELLED and swallowed == []
    assert ctx.events[-1].type is T.WORKFLOW_CANCELLED and ctx.events[-1].value["actor"] == "dave"


async def test_a_worker_that_lost_its_lease_stops_writing(store):
    @task
    async def slow():
        await asyncio.sleep(5)

    @workflow
    async def long(ctx):
        await slow()
        return "done"

    engine = Engine(store, lease_seconds=0.3)
    record = engine.create(long)

    def steal() -> None:
        time.sleep(0.1)
        # another worker takes over (as after an expired lease)
        rec = store.get(record.id)
        store.claim(record.id, "thief", 60, steal_from=rec.lease_owner)

    threading.Thread(target=steal).start()
    await asyncio.wait_for(engine.run(record.id, workflow=long), 3)
    assert store.get(record.id).lease_owner == "thief"
    assert not any(e.type is T.WORKFLOW_COMPLETED for e in store.events(record.id))


async def test_recovery_stops_after_max_recovery_attempts(store):
    @workflow.with_options(max_recovery_attempts=2)
    async def fragile(ctx):
        await asyncio.sleep(0)
        return "ok"

    engine = Engine(store)
    record = engine.create(fragile)
    lease, rec = store.claim(record.id, "w", 30)
    from flux.domain.events import ExecutionEvent
    from flux.projection import apply

    started = ExecutionEvent(T.WORKFLOW_STARTED, "fragile", record.id, None, seq=1,
                             execution_id=record.id)
    apply(rec, started)
    store.append(lease, [started], rec)
    store.release(lease)
    for attempt in (1, 2):
        store.claim(record.id, f"dead-{attempt}", 0)  # a worker takes it and dies
        time.sleep(0.01)
        assert engine.recover(record.id) is not None
        assert store.get(record.id).status == Status.INTERRUPTED
        assert store.get(record.id).recovery_attempts == attempt
        lease, rec = store.claim(record.id, "w", 30)  # runs again...
        resumed = ExecutionEvent(T.WORKFLOW_RESUMED, "fragile", record.id, {"reason": "x"},
                                 seq=rec.last_seq + 1, execution_id=record.id)
        apply(rec, resumed)
        store.append(lease, [resumed], rec)
        store.release(lease)
    store.claim(record.id, "dead-3", 0)
    time.sleep(0.01)
    assert engine.recover(record.id) is None  # third loss: no more recovery
    final = store.get(record.id)
    assert final.status == Status.FAILED and final.recovery_attempts == 3
    assert "2 recovery attempts are used up" in final.error["message"]


async def test_a_transient_workflow_restarts_from_the_beginning_after_a_crash(store):
    runs = []

    class Died(BaseException):
        pass

    @task.with_options(durable=True)  # step 1's end is in the log when step 2 dies
    async def step(i):
        runs.append(i)
        if len(runs) == 2:
            raise Died
        return i

    @workflow.with_options(durable=False, recover_on_worker_loss=True)
    async def transient(ctx):
        return [await step(1), await step(2)]

    engine = Engine(store)
    record = engine.create(transient)
    with pytest.raises(Died):
        await engine.run(record.id, workflow=transient)
    ctx = await Engine(store).run(record.id, workflow=transient)
    assert ctx.output == [1, 2] and runs == [1, 2, 1, 2]
    assert any(e.type is T.WORKFLOW_RESUMED and e.value.get("restart") for e in ctx.events)


async def test_a_queue_worker_run_never_resumes_or_retries_on_its_own(store):
    @workflow
    async def waits(ctx):
        await pause("gate")

    @workflow
    async def breaks(ctx):
        raise RuntimeError("broken")

    paused = await waits.run()
    failed = await breaks.run()
    engine = Engine(store)
    again = await engine.run(paused.execution_id, workflow=waits, only_runnable=True)
    assert again.is_paused and len(again.events) == len(paused.events)
    again = await engine.run(failed.execution_id, workflow=breaks, only_runnable=True)
    assert again.has_failed and len(again.events) == len(failed.events)
