"""Graph pages: the list (saved and code-defined graphs), the editor's props for people
who may and may not edit, versions with a drawn diff, a code Graph opened as an
editable copy, and the live DAG on an execution's page."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from executions.core import commands, runner
from executions.core.commands import SYSTEM
from executions.core.registry import sync_workflows
from graphs.models import GraphDefinition
from tests.graphs import personas, tasks  # noqa: F401 - registers the gt_* tasks
from tests.graphs.tasks import three_nodes

erin, vic, nora = personas.erin, personas.vic, personas.nora  # fixtures


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def props(response, element_id: str) -> dict:
    html = response.content.decode()
    start = html.index(f'<script id="{element_id}" type="application/json">')
    start = html.index(">", start) + 1
    return json.loads(html[start:html.index("</script>", start)])


@pytest.fixture
def saved(erin) -> GraphDefinition:
    graph = GraphDefinition()
    graph.save_version(three_nodes(), erin)
    changed = three_nodes()
    changed["nodes"].append({"id": "extra", "task": "gt_double", "options": {}})
    changed["edges"][0]["condition"] = "result > 20"
    changed["edges"].append({"source": "negate", "target": "extra", "condition": None})
    del changed["edges"][1]
    changed["edges"].append({"source": "double", "target": "negate", "condition": None})
    graph.save_version(changed, erin)
    return graph


@pytest.fixture
def demo_row(db):
    import executions.demo  # noqa: F401 - FLUX_DEMO is off in the scaled shape

    sync_workflows()


def test_the_list_shows_saved_and_code_defined_graphs(erin, saved, demo_row):
    page = client_for(erin).get("/graphs/")
    html = page.content.decode()
    assert page.status_code == 200
    assert f'data-graph-id="{saved.pk}"' in html and "v2" in html
    assert 'data-code-graph="demo_graph/order_routing"' in html
    assert "/graphs/new/?from=demo_graph&amp;graph=order_routing" in html


def test_the_editor_gets_its_props(erin, vic, saved):
    page = client_for(erin).get(f"/graphs/{saved.pk}/edit/")
    assert page.status_code == 200 and 'data-island="graph-editor"' in page.content.decode()
    data = props(page, "graph-editor-props")
    assert (data["graphId"], data["canEdit"], data["canRun"], data["apiBase"]) == (
        saved.pk, True, True, "/api")
    assert data["definition"]["version"] == 2 and data["definition"]["name"] == "doubler"
    read_only = props(client_for(vic).get(f"/graphs/{saved.pk}/edit/"), "graph-editor-props")
    assert (read_only["canEdit"], read_only["canRun"]) == (False, False)


def test_new_graph_pages(erin, vic, demo_row):
    blank = props(client_for(erin).get("/graphs/new/"), "graph-editor-props")
    assert blank["graphId"] is None and blank["definition"]["nodes"] == []
    copy = props(client_for(erin).get("/graphs/new/?from=demo_graph"), "graph-editor-props")
    assert copy["definition"]["name"] == "order_routing_copy"
    assert copy["definition"]["edges"][0]["condition"] == "result > 0"
    assert client_for(erin).get("/graphs/new/?from=nope").status_code == 404
    assert client_for(vic).get("/graphs/new/").status_code == 403


def test_versions_page_draws_the_diff(erin, saved):
    page = client_for(erin).get(f"/graphs/{saved.pk}/versions/")
    assert page.status_code == 200
    data = props(page, "diff-props")
    assert data["diff"] == {
        "nodes": {"extra": "added"},
        "edges": {"double->label": "changed", "negate->extra": "added",
                  "double->negate": "changed"},
    }
    same = props(client_for(erin).get(f"/graphs/{saved.pk}/versions/?a=2&b=2"), "diff-props")
    assert same["diff"] == {"nodes": {}, "edges": {}}
    back = props(client_for(erin).get(f"/graphs/{saved.pk}/versions/?a=2&b=1"), "diff-props")
    assert back["diff"]["nodes"] == {"extra": "removed"}
    assert {n["id"] for n in back["graph"]["nodes"]} == {"double", "label", "negate", "extra"}


def test_a_code_graph_is_drawn(erin, demo_row):
    page = client_for(erin).get("/graphs/code/demo_graph/")
    assert page.status_code == 200
    assert props(page, "graph-props-0")["graph"]["name"] == "order_routing"
    assert client_for(erin).get("/graphs/code/no_such/").status_code == 404


def test_who_may_open_the_pages(vic, nora, saved):
    assert client_for(vic).get("/graphs/").status_code == 200
    assert client_for(nora).get("/graphs/").status_code == 403
    assert client_for(nora).get(f"/graphs/{saved.pk}/edit/").status_code == 403
    anonymous = Client().get("/graphs/")
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


def test_the_execution_page_shows_the_live_graph(erin, monkeypatch, transactional_db):
    monkeypatch.setattr(runner, "send", lambda execution_id, delay=None: None)
    graph = GraphDefinition()
    graph.save_version(three_nodes(), erin)
    execution = commands.start("doubler", 7, actor=SYSTEM)
    try:
        runner.run(execution.pk)
    finally:
        runner.close_thread_store()
    page = client_for(erin).get(f"/executions/{execution.pk}/")
    assert page.status_code == 200
    data = props(page, "graph-slot-props-1")
    assert data["executionId"] == execution.pk and data["graph"]["name"] == "doubler"
    assert any(e["type"] == "GRAPH_STARTED" for e in data["events"])
