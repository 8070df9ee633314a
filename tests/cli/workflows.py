"""Sample workflows for the registry tests (found as the ``workflows.py`` of an app)."""

from flux import ExecutionContext, task, workflow
from flux.tasks import Graph


@task
async def double(x: int) -> int:
    return x * 2


@task
async def describe(x: int) -> str:
    return f"got {x}"


sample_graph = (Graph("cli_sample_graph").add_node("double", double)
                .add_node("describe", describe).add_edge("double", "describe")
                .start_with("double").end_with("describe"))


@workflow
async def cli_sample(ctx: ExecutionContext[int]) -> int:
    """Double the input."""
    return await double(ctx.input)


@workflow
async def cli_sample_graph_workflow(ctx: ExecutionContext[int]) -> str:
    """Run the sample graph."""
    return await sample_graph(ctx.input)
