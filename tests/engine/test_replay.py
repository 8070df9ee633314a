"""Replay: recorded results come back, bodies don't run again, divergence is caught."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from flux import ExecutionContext, MemoryStore, task, workflow
from flux.domain.events import ExecutionEvent, ExecutionEventType as T
from flux.engine import Engine
from flux.errors import ExecutionError
from flux.store import ExecutionRecord
from flux.tasks import now, parallel, pause, randint, uuid4 as flux_uuid4

HISTORIES = Path(__file__).parent / "histories"


class ProcessDied(BaseException):
    """Stands in for the process dying mid-task (nothing in the engine catches it)."""

calls: list[str] = []


@task
async def fetch(order_id: int) -> dict:
    calls.append(f"fetch:{order_id}")
    return {"id": order_id, "amount": 40}


@task
async def charge(order: dict) -> str:
    calls.append(f"charge:{order['id']}")
    return f"charged {order['amount']}"


@task
async def notify(message: str) -> str:
    calls.append(f"notify:{message}")
    return "sent"


@workflow.with_options(name="order_flow")
async def order_flow(ctx: ExecutionContext[int]):
    order = await fetch(ctx.input)
    receipt = await charge(order)
    stamp = await now()
    ident = await flux_uuid4()
    lucky = await randint(1, 1000)
    await notify(receipt)
    return {"receipt": receipt, "stamp": stamp, "id": ident, "lucky": lucky}


def load_history(name: str, store: MemoryStore) -> str:
    """Put a recorded history (a JSON file beside the tests) into ``store``."""
    data = json.loads((HISTORIES / name).read_text())
    rec = ExecutionRecord(id=data["id"], workflow=data["workflow"], input=data["input"],
                          status=data["status"])
    store.create(rec)
    lease, rec = store.claim(rec.id, "loader", 30)
    events = [ExecutionEvent.from_dict(e, rec.id) for e in data["events"]]
    from flux.store import apply_events

    apply_events(rec, events)
    store.append(lease, events, rec)
    store.release(lease)
    return rec.id


@pytest.fixture(autouse=True)
def _reset_calls():
    calls.clear()


async def test_a_recorded_history_replays_without_running_any_task(store):
    execution_id = load_history("order_flow_interrupted.json", store)
    ctx = await order_flow.run(execution_id=execution_id)
    assert ctx.has_succeeded
    # fetch, charge and the deterministic stand-ins were recorded: only notify ran.
    assert calls == ["notify:charged 40"]
    recorded = {e.source_id: e.value for e in ctx.events if e.type is T.TASK_COMPLETED}
    assert str(ctx.output["id"]) == next(v["v"] for k, v in recorded.items()
                                         if k.startswith("uuid4_"))
    assert ctx.output["lucky"] == next(v for k, v in recorded.items() if k.startswith("randint"))


async def test_a_history_recorded_by_other_code_fails_as_divergent(store):
    execution_id = load_history("order_flow_divergent.json", store)
    ctx = await order_flow.run(execution_id=execution_id)
    assert ctx.has_failed
    assert ctx.error["type"] == "ReplayDivergenceError"
    message = ctx.error["message"]
    assert "refund_" in message and "charge_" in message  # names both
    assert "charge:" not in " ".join(calls)  # the new work did not run


async def test_resuming_a_finished_execution_returns_it_unchanged():
    ctx = await order_flow.run(7)
    events = len(ctx.events)
    again = await order_flow.run(execution_id=ctx.execution_id)
    assert again.output == ctx.output and len(again.events) == events
    assert calls.count("fetch:7") == 1


async def test_replay_returns_the_same_values_for_time_uuid_and_random(store):
    gate = {"open": False}

    @workflow
    async def wf(ctx):
        values = [await now(), await flux_uuid4(), await randint(1, 10**9)]
        if not gate["open"]:
            raise RuntimeError("stop here")
        return values

    first = await wf.run()
    recorded = [e.value for e in first.events if e.type is T.TASK_COMPLETED]
    gate["open"] = True
    second = await wf.run(execution_id=first.execution_id)
    from flux.serialization import encode

    assert [encode(v) for v in second.output] == recorded


async def test_recorded_failures_reraise_on_replay_without_running_again():
    runs = []

    @task
    async def brittle():
        runs.append(1)
        raise ValueError("recorded")

    @task
    async def after():
        return "after"

    @workflow
    async def wf(ctx):
        try:
            await brittle()
        except ExecutionError as e:
            caught = type(e.inner_exception).__name__
        await pause("hold")
        return caught, await after()

    ctx = await wf.run()
    assert ctx.is_paused
    ctx = await wf.resume(ctx.execution_id)
    assert ctx.output == ("ValueError", "after")
    assert len(runs) == 1


async def test_identity_ignores_positional_or_keyword_spelling():
    @task
    async def add(x, y=0):
        calls.append("add")
        return x + y

    @workflow
    async def wf(ctx):
        a = await add(1, 2)
        await pause("p")
        b = await add(x=1, y=2)  # a new call: second occurrence of the same call
        return a, b

    ctx = await wf.run()
    ids = [e.source_id for e in ctx.events if e.type is T.TASK_STARTED]
    ctx = await wf.resume(ctx.execution_id)
    ids2 = [e.source_id for e in ctx.events if e.type is T.TASK_STARTED]
    assert ids2[0] == ids[0] and ids2[1] == ids[0] + "~1"


async def test_parallel_children_get_their_own_ids_and_replay_out_of_order():
    order: list[str] = []

    @task
    async def leaf(tag: str, delay: float) -> str:
        await asyncio.sleep(delay)
        order.append(tag)
        return tag

    async def branch(tag: str, delay: float) -> list[str]:
        # plain coroutines calling tasks concurrently under the same parent
        return [await leaf(f"{tag}1", delay), await leaf(f"{tag}2", delay)]

    gate = {"open": False}

    @workflow
    async def wf(ctx):
        result = await parallel(branch("a", 0.02), branch("b", 0.001))
        if not gate["open"]:
            raise RuntimeError("crash after the branches")
        return result

    ctx = await wf.run()
    assert ctx.has_failed
    gate["open"] = True
    order.clear()
    ctx = await wf.run(execution_id=ctx.execution_id)
    assert ctx.output == [["a1", "a2"], ["b1", "b2"]]
    assert order == []  # every leaf replayed, no divergence despite a different order


async def test_a_task_interrupted_mid_retries_resumes_its_attempt_count(store, delays):
    attempts = []
    died = []

    @task.with_options(retry_max_attempts=4, retry_delay=1, retry_backoff=2)
    async def shaky():
        attempts.append(1)
        if len(attempts) == 3 and not died:
            died.append(1)
            raise ProcessDied  # the process dies during attempt 3
        raise ConnectionError("no")

    @workflow
    async def wf(ctx):
        return await shaky()

    engine = Engine(store)
    record = engine.create(wf)
    with pytest.raises(ProcessDied):
        await engine.run(record.id, workflow=wf)
    retry_starts = [e.attempt for e in store.events(record.id) if e.type is T.TASK_RETRY_STARTED]
    assert retry_starts == [2, 3]
    attempts.clear()
    delays.clear()
    store.release(store.claim(record.id, "x", 0)[0])  # the dead run's lease is gone
    ctx = await Engine(store).run(record.id, workflow=wf)
    # attempt 3 runs again, then 4 and 5: three more attempts, not five
    assert len(attempts) == 3 and ctx.has_failed
    assert 0 < delays[0] <= 2 and delays[1:] == [4, 8]  # only what was left of delay 2
    assert ctx.error["cause"]["attrs"]["attempts"] == 5
