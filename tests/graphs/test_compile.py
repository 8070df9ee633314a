"""Graph definitions: validation names each node or edge at fault; compiled graphs run
on the engine; CEL conditions cannot reach Python; the Python export builds the same
Graph."""

from __future__ import annotations

import pytest

from flux import workflow
from flux.graph import describe_condition
from flux.store import MemoryStore
from flux.workflowdef import registry
from graphs.cel import ConditionError, compile_condition
from graphs.compile import (
    GraphDefinitionError,
    build_workflow,
    compile_graph,
    from_code_graph,
    lambda_to_cel,
    problems,
    python_code,
)
from tests.graphs.tasks import three_nodes


def codes(definition) -> list[tuple[str, object]]:
    return [(p["code"], p.get("node") or p.get("edge")) for p in problems(definition)]


def test_a_sound_definition_has_no_problems_and_compiles():
    graph = compile_graph(three_nodes())
    assert problems(three_nodes()) == []
    assert graph.to_dict()["edges"][0]["condition"] == "result > 10"
    assert graph.nodes["label"].action.retry_max_attempts == 2
    assert graph.nodes["negate"].action.timeout == 5


def test_an_unknown_task_names_its_node():
    d = three_nodes()
    d["nodes"][1]["task"] = "no_such_task"
    assert codes(d) == [("unknown_task", "label")]
    assert "not a registered task" in problems(d)[0]["message"]


def test_an_unknown_task_named_with_braces_is_a_problem_not_a_crash():
    d = three_nodes()
    d["nodes"][1]["task"] = "sum_{n"
    assert codes(d) == [("unknown_task", "label")]


def test_bad_options_name_their_node():
    d = three_nodes()
    d["nodes"][0]["options"] = {"retry_max_attempts": -1, "timeout": 0, "retry_backoff": "x",
                                "colour": "red"}
    d["nodes"][1]["options"] = {"retry_max_attempts": 1.5}
    found = codes(d)
    assert found.count(("bad_option", "double")) == 4
    assert ("bad_option", "label") in found
    messages = " ".join(p["message"] for p in problems(d))
    assert "Unknown option 'colour'" in messages and "greater than 0" in messages


def test_a_condition_that_does_not_parse_names_its_edge():
    d = three_nodes(condition="result >")
    found = problems(d)
    assert [p["edge"] for p in found] == [{"source": "double", "target": "label"},
                                          {"source": "double", "target": "negate"}]
    assert found[0]["code"] == "bad_condition"
    assert found[0]["message"].startswith("Edge double -> label: The condition is not valid CEL")


def test_the_engines_own_structural_checks_are_reported():
    d = three_nodes()
    d["edges"].append({"source": "label", "target": "negate", "condition": None})
    d["edges"].append({"source": "negate", "target": "label", "condition": None})
    found = problems(d)
    cycle = [p for p in found if p["code"] == "cycle"]
    assert cycle and cycle[0]["message"].startswith("Graph has a cycle: ")
    assert cycle[0]["node"] in ("label", "negate")

    d = three_nodes()
    d["start"], d["end"] = None, []
    d["nodes"].append({"id": "island", "task": "gt_double", "options": {}})
    found = codes(d)
    assert ("no_start", None) in found and ("no_end", None) in found
    d["start"] = "double"
    assert ("unreachable", "island") in codes(d)
    d["edges"].append({"source": "island", "target": "double", "condition": None})
    assert ("edge_into_start", {"source": "island", "target": "double"}) in codes(d)


def test_shape_errors_and_duplicates():
    assert ("missing_name", None) in codes({"nodes": []})
    assert ("empty", None) in codes({"name": "x"})
    assert ("bad_name", None) in codes({**three_nodes(), "name": "has space"})
    d = three_nodes()
    d["nodes"].append({"id": "double", "task": "gt_double"})
    d["edges"].append(dict(d["edges"][0]))
    found = codes(d)
    assert ("duplicate_node", "double") in found
    assert ("duplicate_edge", {"source": "double", "target": "label"}) in found
    assert ("invalid_definition", None) in codes({"name": "x", "nodes": [{"task": "gt_double"}],
                                                  "edges": ["nope"]})
    with pytest.raises(GraphDefinitionError) as info:
        compile_graph({"name": "x"})
    assert info.value.errors and "is not valid" in str(info.value)


@pytest.mark.parametrize("source", [
    '__import__("os").system("true")',
    "result.__class__.__mro__",
    "result.__globals__",
    "open('/etc/passwd')",
    "eval('1')",
    "os.getcwd() == ''",
    "result.format()",
    "result['__class__'] == 1",  # a key, not an attribute: allowed, evaluates safely
])
def test_conditions_cannot_reach_python(source):
    try:
        condition = compile_condition(source, "edge a -> b")
    except ConditionError as exc:
        assert "not allowed" in str(exc) or "Unknown" in str(exc)
        return
    with pytest.raises(ConditionError) as info:
        condition({"x": 1})
    assert "on edge a -> b could not be evaluated" in str(info.value)


def test_a_condition_is_cel_with_its_text_recorded():
    condition = compile_condition("  size(result.items) > 1 && result.kind == 'a' ")
    assert condition({"items": [1, 2], "kind": "a"}) is True
    assert condition({"items": [1], "kind": "a"}) is False
    assert describe_condition(condition) == "size(result.items) > 1 && result.kind == 'a'"
    assert compile_condition("result.items.all(i, i > 0)")({"items": [1, 2]}) is True


def test_an_evaluation_error_names_the_edge_and_the_reason():
    condition = compile_condition("result > 0", "edge a -> b")
    with pytest.raises(ConditionError, match=r"`result > 0` on edge a -> b could not be "
                                              r"evaluated: the operator > does not apply"):
        condition("text")
    with pytest.raises(ConditionError, match="not true or false"):
        compile_condition("result + 1")(1)


async def test_a_compiled_graph_runs_on_the_engine():
    graph, store = compile_graph(three_nodes()), MemoryStore()

    @workflow.with_options(name="gt_compiled_run")
    async def wf(ctx):
        return await graph(ctx.input)

    try:
        assert (await wf.run(7, store=store)).output == "n=14"
        assert (await wf.run(2, store=store)).output == -4
        ctx = await wf.run("x", store=store)  # `"xx" > 10` is an error that names the edge
        assert ctx.has_failed and "on edge double -> label" in ctx.error["message"]
    finally:
        registry.pop("gt_compiled_run", None)


async def test_build_workflow_stays_out_of_the_registry():
    wf = build_workflow(three_nodes("gt_built"))
    assert "gt_built" not in registry
    assert (await wf.run(6, store=MemoryStore())).output == "n=12"


def test_the_python_export_builds_the_same_graph():
    definition = three_nodes("gt_exported")
    code = python_code(definition)
    assert "from tests.graphs.tasks import gt_double, gt_label, gt_negate" in code
    assert ".add_edge('double', 'label', condition=cel('result > 10'))" in code
    namespace: dict = {}
    try:
        exec(compile(code, "exported.py", "exec"), namespace)
    finally:
        registry.pop("gt_exported", None)
    assert namespace["graph"].to_dict() == compile_graph(definition).to_dict()


def test_a_code_graph_becomes_an_editable_definition():
    from flux.tasks import Graph
    from tests.graphs.tasks import gt_double, gt_label, gt_negate

    graph = (Graph("code_graph").add_node("a", gt_double, retry_max_attempts=1)
             .add_node("b", gt_label).add_node("c", gt_negate)
             .add_edge("a", "b", condition=lambda result: result > 0 and result != 3)
             .add_edge("a", "c", condition=lambda r: not r > 0)
             .start_with("a").end_with("b").end_with("c"))
    copy = from_code_graph(graph.to_dict(), "code_graph_copy")
    assert [e["condition"] for e in copy["edges"]] == ["result > 0 && result != 3",
                                                      "!(result > 0)"]
    assert copy["nodes"][0]["options"] == {"retry_max_attempts": 1}
    assert problems(copy) == []
    assert lambda_to_cel("lambda r: len(r['xs']) in [1, 2]") == 'size(result["xs"]) in [1, 2]'
    assert lambda_to_cel("lambda r: r.startswith('a')") == 'result.startsWith("a")'
    assert lambda_to_cel("lambda r: some_call(r)") == "lambda r: some_call(r)"
    assert lambda_to_cel("is_big") == "is_big"
