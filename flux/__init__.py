"""Flux: durable Python workflows.

    from flux import workflow, task, ExecutionContext

    @task
    async def shout(text: str) -> str:
        return text.upper()

    @workflow
    async def hello(ctx: ExecutionContext[str]):
        return await shout(ctx.input)

    ctx = hello.run_sync("world")   # or: await hello.run("world")
"""

from flux.compose import call
from flux.config import configure
from flux.context import ExecutionContext, WorkflowExecutionContext
from flux.domain.events import ExecutionEvent, ExecutionEventType
from flux.engine import Engine
from flux.lineage import continue_as_new
from flux.output_storage import InlineOutputStorage, LocalFileStorage, OutputStorage
from flux.projection import Status
from flux.schedule import Schedule, cron, interval
from flux.store import MemoryStore, Store
from flux.taskdef import Task, task
from flux.waits import send_event
from flux.workflowdef import Workflow, workflow

__all__ = [
    "Engine",
    "ExecutionContext",
    "ExecutionEvent",
    "ExecutionEventType",
    "InlineOutputStorage",
    "LocalFileStorage",
    "MemoryStore",
    "OutputStorage",
    "Schedule",
    "Status",
    "Store",
    "Task",
    "Workflow",
    "WorkflowExecutionContext",
    "call",
    "configure",
    "cron",
    "interval",
    "continue_as_new",
    "send_event",
    "task",
    "workflow",
]
