"""Regenerate the recorded histories replayed by tests/engine/test_replay.py.

    .venv/bin/python tests/engine/histories/make_histories.py

order_flow_interrupted.json: order_flow's log when its process died inside the
last task (notify). order_flow_divergent.json: the log of an older order_flow
that called ``refund`` where today's code calls ``charge``.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parents[2]))

from flux import ExecutionContext, MemoryStore, task, workflow  # noqa: E402
from flux.engine import Engine  # noqa: E402
from flux.tasks import (  # noqa: E402
    now,
    randint,
    uuid4 as flux_uuid4,  # noqa: E402
)


@task
async def fetch(order_id: int) -> dict:
    return {"id": order_id, "amount": 40}


@task
async def charge(order: dict) -> str:
    return f"charged {order['amount']}"


@task
async def refund(order: dict) -> str:
    return f"refunded {order['amount']}"


@task
async def notify(message: str) -> str:
    raise KeyboardInterrupt  # the process dies here


def make(name: str, middle) -> None:
    @workflow.with_options(name="order_flow")
    async def order_flow(ctx: ExecutionContext[int]):
        order = await fetch(ctx.input)
        receipt = await middle(order)
        await now()
        await flux_uuid4()
        await randint(1, 1000)
        await notify(receipt)

    store = MemoryStore()
    engine = Engine(store, flush_delay=0)
    record = engine.create(order_flow, 7, execution_id=f"history-{name}")
    try:
        asyncio.run(engine.run(record.id, workflow=order_flow))
    except KeyboardInterrupt:
        pass
    rec = store.get(record.id)
    events = [e.to_dict() for e in store.events(record.id)]
    data = {"id": rec.id, "workflow": rec.workflow, "input": rec.input,
            "status": rec.status, "events": events}
    (HERE / f"order_flow_{name}.json").write_text(json.dumps(data, indent=1) + "\n")


if __name__ == "__main__":
    make("interrupted", charge)
    make("divergent", refund)
