"""The graph's Python export writes code only from escaped literals.

Whatever text a graph holds (name, description, node ids, task names, options,
conditions), the exported module compiles, calls nothing but the graph's own
building blocks, and gives the text back unchanged as string values.
"""

from __future__ import annotations

import ast

import pytest
from django.test import Client

from flux.workflowdef import registry
from graphs.compile import compile_graph, python_code
from tests.graphs import (
    personas,
    tasks,  # noqa: F401 - registers the gt_* tasks
)
from tests.graphs.tasks import three_nodes

erin = personas.erin  # fixture

ATTACK = 'x"""\n__import__("os").system("echo pwned")  # \'\'\'\n"""\\'
ATTACKS = [ATTACK, "\\", '"', "'''", "a\r\nb = 1", "\x00", "\u2028z = 1", "é = 1"]
#: The only names the export may use: its imports, the graph, the workflow function.
NAMES = {"Graph", "cel", "workflow", "ExecutionContext", "graph", "ctx",
         "gt_double", "gt_label", "gt_negate"}


def strings(code: str) -> set[str]:
    return {n.value for n in ast.walk(ast.parse(code))
            if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def called_names(code: str) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Name)}


def hostile(text: str) -> dict:
    d = three_nodes(text)
    d["description"] = text
    d["nodes"][0]["id"] = text
    d["nodes"][2]["task"] = text
    d["nodes"][1]["options"] = {text: 1}
    d["edges"][0]["source"] = d["edges"][1]["source"] = d["start"] = text
    d["edges"][0]["condition"] = text
    d["end"] = [text, "negate"]
    return d


@pytest.mark.parametrize("text", ATTACKS)
def test_hostile_text_in_every_field_stays_a_string(text):
    code = python_code(hostile(text))
    tree = ast.parse(code)  # it compiles
    module_doc = ast.get_docstring(tree, clean=False)
    assert module_doc.startswith(f"Graph {text.strip()!r}, exported")
    assert text in strings(code)  # given back unchanged (name, ids, condition...)
    function = tree.body[-1]
    assert isinstance(function, ast.AsyncFunctionDef) and function.name.isidentifier()
    assert ast.get_docstring(function, clean=False) == (text.splitlines() or [""])[0] \
        or not text.strip()
    unknown_task = called_names(code) - NAMES
    assert len(unknown_task) == 1 and "__import__" not in unknown_task  # the alias for `text`
    assert not any(isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                   and n.func.attr == "system" for n in ast.walk(tree))


def test_a_graph_named_like_its_own_variable_or_a_keyword_still_runs():
    for name in ("graph", "class", "cel"):
        definition = three_nodes(name)
        namespace: dict = {}
        try:
            exec(compile(python_code(definition), "exported.py", "exec"), namespace)
        finally:
            registry.pop(name, None)
        assert namespace["graph"].to_dict() == compile_graph(definition).to_dict()


def test_a_saved_graph_with_hostile_text_exports_code_that_builds_it(erin):
    description = 'Pays out """\n__import__("os").system("touch /tmp/pwned")\n"""'
    condition = 'result > 10 && "\\"\\"\\"__import__" != ""'
    definition = {**three_nodes("gt_hostile_export", condition), "description": description}
    client = Client()
    client.force_login(erin)
    saved = client.post("/api/graphs/", definition, content_type="application/json")
    assert saved.status_code == 201, saved.json()
    code = client.get(f"/api/graphs/{saved.json()['id']}/python").content.decode()
    assert called_names(code) <= NAMES
    assert description in strings(code) and condition in strings(code)
    namespace: dict = {}
    try:
        exec(compile(code, "exported.py", "exec"), namespace)
    finally:
        registry.pop("gt_hostile_export", None)
    assert namespace["graph"].to_dict() == compile_graph(definition).to_dict()
    assert namespace["gt_hostile_export"].__doc__ == "Pays out \"\"\""
