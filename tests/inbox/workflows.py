"""Workflows for the inbox tests: a run that pauses as its input says, and handles a
rejection (registered in flux's registry on import)."""

from __future__ import annotations

from flux import ExecutionContext, task, workflow
from flux.errors import RejectedError
from flux.tasks import pause


@task
async def quote(items: list) -> dict:
    return {"items": len(items), "total": 10 * len(items)}


@workflow.with_options(name="inbox_order")
async def inbox_order(ctx: ExecutionContext):
    """Input: {"items": [...], "pause": {pause() keyword arguments}}."""
    spec = dict(ctx.input or {})
    priced = await quote(spec.get("items") or [])
    options = dict(spec.get("pause") or {})
    options.setdefault("output", priced)
    try:
        decision = await pause("ship", **options)
    except RejectedError as exc:
        return {"rejected": True, "comment": exc.comment, "by": exc.actor}
    return {"shipped": decision, "total": priced["total"]}


@workflow.with_options(name="inbox_two_steps")
async def inbox_two_steps(ctx: ExecutionContext):
    first = await pause("first", title="First")
    second = await pause("second", title="Second")
    return [first, second]
