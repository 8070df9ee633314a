"""Graph: validation that names the fault, concurrent branches, joins, several ends."""

from __future__ import annotations

import asyncio
import time

import pytest

from flux import task, workflow
from flux.domain.events import ExecutionEventType as T
from flux.errors import GraphValidationError
from flux.tasks import Graph, pause


@task
async def ident(x=None):
    return x


@task
async def slow_double(x):
    await asyncio.sleep(0.3)
    return x * 2


@task
async def join(values):
    return values


def codes(graph: Graph) -> list[tuple]:
    return [(p["code"], p.get("node"), tuple(p.get("edge", {}).values())) for p in graph.problems()]


def test_validation_finds_each_kind_of_problem():
    assert ("no_start", None, ()) in codes(Graph("g").add_node("a", ident).end_with("a"))
    assert ("no_end", None, ()) in codes(Graph("g").add_node("a", ident).start_with("a"))
    g = (Graph("g").add_node("a", ident).add_node("b", ident).add_node("lonely", ident)
         .add_edge("a", "b").add_edge("a", "ghost").start_with("a").end_with("b"))
    found = codes(g)
    assert ("unknown_node", None, ("a", "ghost")) in found
    assert ("unreachable", "lonely", ()) in found
    cyclic = (Graph("c").add_node("a", ident).add_node("b", ident).add_node("c", ident)
              .add_edge("a", "b").add_edge("b", "c").add_edge("c", "b")
              .start_with("a").end_with("c"))
    cycle = next(p for p in cyclic.problems() if p["code"] == "cycle")
    assert cycle["node"] in ("b", "c") and "b -> c -> b" in cycle["message"]
    with pytest.raises(GraphValidationError) as err:
        cyclic.validate()
    assert err.value.errors == cyclic.problems()


def test_duplicate_nodes_are_refused_at_once():
    with pytest.raises(ValueError, match="already has a node named 'a'"):
        Graph("g").add_node("a", ident).add_node("a", ident)


async def test_an_invalid_graph_fails_the_workflow_with_the_problems():
    @workflow
    async def wf(ctx):
        return await Graph("broken").add_node("a", ident)(1)

    ctx = await wf.run()
    assert ctx.has_failed and "no start node" in ctx.error["message"]


async def test_independent_branches_run_concurrently_and_join_receives_both():
    graph = (Graph("diamond").add_node("start", ident).add_node("left", slow_double)
             .add_node("right", slow_double).add_node("join", join)
             .add_edge("start", "left").add_edge("start", "right")
             .add_edge("left", "join").add_edge("right", "join")
             .start_with("start").end_with("join"))

    @workflow
    async def wf(ctx):
        return await graph(ctx.input)

    started = time.monotonic()
    ctx = await wf.run(5)
    assert time.monotonic() - started < 0.55  # the two 0.3 s branches overlapped
    assert ctx.output == {"left": 10, "right": 10}
    nodes = {e.value["node"]: e.parent_id for e in ctx.events
             if e.type is T.TASK_STARTED and "node" in (e.value or {})}
    graph_task = next(e for e in ctx.events if e.type is T.GRAPH_STARTED).source_id
    assert set(nodes) == {"start", "left", "right", "join"}
    assert set(nodes.values()) == {graph_task}


async def test_several_end_nodes_give_a_mapping_and_none_reached_gives_none():
    graph = (Graph("ends").add_node("a", ident).add_node("b", ident).add_node("c", ident)
             .add_edge("a", "b", condition=lambda r: r >= 0)
             .add_edge("a", "c", condition=lambda r: r >= 10)
             .start_with("a").end_with("b").end_with("c"))

    @workflow
    async def wf(ctx):
        return await graph(ctx.input)

    assert (await wf.run(20)).output == {"b": 20, "c": 20}
    assert (await wf.run(3)).output == 3
    assert (await wf.run(-1)).output is None


async def test_skipping_propagates_downstream():
    graph = (Graph("skip").add_node("a", ident).add_node("b", ident).add_node("c", ident)
             .add_edge("a", "b", condition=lambda r: False).add_edge("b", "c")
             .start_with("a").end_with("c"))

    @workflow
    async def wf(ctx):
        return await graph(1)

    ctx = await wf.run()
    assert ctx.output is None
    assert [e.value["node"] for e in ctx.events if e.type is T.GRAPH_NODE_SKIPPED] == ["b", "c"]


async def test_a_failing_condition_names_its_edge():
    graph = (Graph("oops").add_node("a", ident).add_node("b", ident)
             .add_edge("a", "b", condition=lambda r: r["missing"]).start_with("a").end_with("b"))

    @workflow
    async def wf(ctx):
        return await graph({})

    ctx = await wf.run()
    assert ctx.has_failed and "edge a -> b" in ctx.error["message"]


async def test_a_graph_node_can_pause_and_the_graph_resumes_without_rerunning_nodes():
    runs = []

    @task
    async def counted(x):
        runs.append(x)
        return x + 1

    async def approve(x):
        answer = await pause("approve_node")
        return x + answer

    graph = (Graph("hitl").add_node("first", counted).add_node("gate", approve)
             .add_node("last", counted).add_edge("first", "gate").add_edge("gate", "last")
             .start_with("first").end_with("last"))

    @workflow
    async def wf(ctx):
        return await graph(ctx.input)

    ctx = await wf.run(1)
    assert ctx.is_paused
    ctx = await wf.resume(ctx.execution_id, 100)
    assert ctx.output == 103 and runs == [1, 102]
    assert sum(e.type is T.GRAPH_STARTED for e in ctx.events) == 1


def test_structure_is_described_for_the_dashboard():
    def named_check(result):
        return bool(result)

    graph = (Graph("shape", "what it does").add_node("a", ident, retry_max_attempts=2)
             .add_node("b", ident).add_edge("a", "b", condition=named_check)
             .start_with("a").end_with("b"))
    assert graph.to_dict() == {
        "name": "shape", "description": "what it does",
        "nodes": [{"id": "a", "task": "ident", "options": {"retry_max_attempts": 2}},
                  {"id": "b", "task": "ident", "options": {}}],
        "edges": [{"source": "a", "target": "b",
                   "condition": "test_structure_is_described_for_the_dashboard.<locals>."
                                "named_check"}],
        "start": "a", "end": ["b"]}
