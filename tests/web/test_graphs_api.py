"""/api/graphs/ and /api/tasks/: CRUD with versions, the stale-write 409, validation
naming nodes and edges, runs pinned to a version, the Python export, importing a
code-defined Graph, and who may do what."""

from __future__ import annotations

import pytest
from django.test import Client

from executions.core import commands, runner
from executions.core.commands import SYSTEM
from executions.core.registry import sync_workflows
from executions.models import Execution, Workflow as WorkflowRow
from flux import Status
from tests.graphs import (
    personas,
    tasks,  # noqa: F401 - registers the gt_* tasks
)
from tests.graphs.tasks import three_nodes
from tests.runtime import workflows  # noqa: F401 - registers rt_hello (a code workflow)

erin, vic, nora = personas.erin, personas.vic, personas.nora  # fixtures


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def api(erin) -> Client:
    return client_for(erin)


def post(client: Client, path: str, body) -> object:
    return client.post(path, body, content_type="application/json")


def put(client: Client, path: str, body) -> object:
    return client.put(path, body, content_type="application/json")


def test_create_get_list_and_versions(api):
    created = post(api, "/api/graphs/", {**three_nodes(), "version": 0})
    assert created.status_code == 201, created.json()
    graph = created.json()
    assert (graph["name"], graph["version"], graph["updated_by"]) == ("doubler", 1, "erin")
    assert graph["nodes"] == three_nodes()["nodes"] and graph["start"] == "double"
    gid = graph["id"]
    assert api.get(f"/api/graphs/{gid}").json() == graph
    listed = api.get("/api/graphs/").json()
    assert [g["id"] for g in listed["items"]] == [gid] and listed["next"] is None

    changed = three_nodes()
    changed["description"] = "second"
    second = put(api, f"/api/graphs/{gid}", {**changed, "version": 1})
    assert second.status_code == 200 and second.json()["version"] == 2
    versions = api.get(f"/api/graphs/{gid}/versions").json()["items"]
    assert [v["version"] for v in versions] == [2, 1]
    first = api.get(f"/api/graphs/{gid}/versions/1").json()
    assert (first["version"], first["description"], first["latest_version"]) == (
        1, "A small test graph", 2)
    assert api.get(f"/api/graphs/{gid}/versions/9").status_code == 404


def test_where_nodes_are_drawn_is_saved_with_the_version(api):
    layout = {"double": {"x": 0, "y": 0}, "label": {"x": -120.5, "y": 140},
              "negate": {"x": 120, "y": 140}, "gone": {"x": 1, "y": 1}}
    created = post(api, "/api/graphs/", {**three_nodes(), "layout": layout})
    assert created.status_code == 201, created.json()
    gid = created.json()["id"]
    expected = {k: v for k, v in layout.items() if k != "gone"}  # not a node: dropped
    assert api.get(f"/api/graphs/{gid}").json()["layout"] == expected
    moved = {**expected, "label": {"x": -200, "y": 150}}
    assert put(api, f"/api/graphs/{gid}", {**three_nodes(), "layout": moved,
                                          "version": 1}).status_code == 200
    assert api.get(f"/api/graphs/{gid}/versions/1").json()["layout"] == expected
    assert api.get(f"/api/graphs/{gid}").json()["layout"] == moved
    bad = post(api, "/api/graphs/validate", {**three_nodes(), "layout": {
        "label": {"x": "left", "y": 1}}})
    assert bad.status_code == 422
    assert [(e["code"], e.get("node")) for e in bad.json()["errors"]] == [
        ("bad_layout", "label")]
    assert post(api, "/api/graphs/validate", {**three_nodes(), "layout": [1]}).json()[
        "errors"][0]["code"] == "bad_layout"
    assert "layout" not in api.get(f"/api/graphs/{gid}/export").content.decode()


def test_a_stale_write_gets_409_and_changes_nothing(api):
    gid = post(api, "/api/graphs/", three_nodes()).json()["id"]
    assert put(api, f"/api/graphs/{gid}", {**three_nodes(), "version": 1}).status_code == 200
    stale = put(api, f"/api/graphs/{gid}", {**three_nodes(), "description": "mine",
                                            "version": 1})
    assert stale.status_code == 409
    assert stale.json()["code"] == "version_conflict" and "version 2" in stale.json()["detail"]
    missing = put(api, f"/api/graphs/{gid}", three_nodes())
    assert missing.status_code == 409
    assert api.get(f"/api/graphs/{gid}").json()["version"] == 2


def test_validate_answers_valid_or_names_each_node_and_edge(api):
    assert post(api, "/api/graphs/validate", three_nodes()).json() == {"valid": True}
    bad = three_nodes(condition="result >")
    bad["nodes"][0]["task"] = "nope"
    answer = post(api, "/api/graphs/validate", bad)
    assert answer.status_code == 422
    body = answer.json()
    assert body["code"] == "invalid_graph" and body["detail"]
    assert {"code": "unknown_task", "node": "double"}.items() <= body["errors"][0].items()
    assert body["errors"][1]["edge"] == {"source": "double", "target": "label"}


def test_saving_an_invalid_graph_or_a_taken_name_is_refused(api):
    cyclic = three_nodes()
    cyclic["edges"].append({"source": "label", "target": "double", "condition": None})
    answer = post(api, "/api/graphs/", cyclic)
    assert answer.status_code == 422 and answer.json()["code"] == "invalid_graph"
    taken = post(api, "/api/graphs/", three_nodes("rt_hello"))  # a code-defined workflow
    assert taken.status_code == 422 and taken.json()["errors"][0]["code"] == "name_taken"
    assert post(api, "/api/graphs/", three_nodes()).status_code == 201
    again = post(api, "/api/graphs/", three_nodes())
    assert again.status_code == 422 and again.json()["errors"][0]["code"] == "name_taken"


def test_delete(api):
    gid = post(api, "/api/graphs/", three_nodes()).json()["id"]
    assert api.delete(f"/api/graphs/{gid}").status_code == 204
    assert api.get(f"/api/graphs/{gid}").json()["code"] == "not_found"
    assert WorkflowRow.objects.get(name="doubler").is_active is False


def test_a_graph_with_unfinished_executions_cannot_be_deleted(api, sent):
    gid = post(api, "/api/graphs/", three_nodes()).json()["id"]
    assert post(api, f"/api/graphs/{gid}/run", {"input": 5}).status_code == 201
    refused = api.delete(f"/api/graphs/{gid}")
    assert refused.status_code == 409 and refused.json()["code"] == "graph_in_use"
    assert api.get(f"/api/graphs/{gid}").status_code == 200


def test_a_saved_graph_is_a_workflow_that_sync_keeps(api):
    post(api, "/api/graphs/", three_nodes())
    row = WorkflowRow.objects.get(name="doubler")
    assert row.is_active and row.version == "graph-v1" and row.module == "graphs"
    assert row.graphs[0]["edges"][0]["condition"] == "result > 10"
    result = sync_workflows()
    assert "doubler" not in result.deactivated
    assert WorkflowRow.objects.get(name="doubler").is_active


@pytest.fixture
def sent(monkeypatch, transactional_db):
    messages: list[str] = []
    monkeypatch.setattr(runner, "send", lambda execution_id, delay=None:
                        messages.append(execution_id))
    yield messages
    runner.close_thread_store()


def test_a_run_completes_pinned_to_the_version_it_started_with(api, sent):
    gid = post(api, "/api/graphs/", three_nodes()).json()["id"]
    started = post(api, f"/api/graphs/{gid}/run", {"input": 7})
    assert started.status_code == 201, started.json()
    first = started.json()
    assert first["workflow"] == "doubler" and first["status"] == "queued"
    assert sent == [first["id"]]

    # Version 2 labels differently; the queued run still runs version 1.
    v2 = three_nodes()
    v2["nodes"][1]["task"] = "gt_double"
    assert put(api, f"/api/graphs/{gid}", {**v2, "version": 1}).status_code == 200
    second = post(api, f"/api/graphs/{gid}/run", {"input": 7}).json()

    assert runner.run(first["id"]) == Status.COMPLETED
    assert runner.run(second["id"]) == Status.COMPLETED
    one, two = Execution.objects.get(pk=first["id"]), Execution.objects.get(pk=second["id"])
    assert (one.output, one.meta["graph"], one.workflow_version) == (
        "n=14", {"id": gid, "version": 1}, "graph-v1")
    assert (two.output, two.meta["graph"]["version"]) == (28, 2)
    # The run by name (dashboard, CLI) pins the newest version too.
    by_name = commands.start("doubler", 1, actor=SYSTEM)
    assert by_name.meta["graph"] == {"id": gid, "version": 2}
    assert runner.run(by_name.id) == Status.COMPLETED
    events = list(one.events.values_list("type", flat=True))
    assert "GRAPH_STARTED" in events and "GRAPH_NODE_SKIPPED" in events


def test_run_refuses_bad_versions(api, sent):
    gid = post(api, "/api/graphs/", three_nodes()).json()["id"]
    assert post(api, f"/api/graphs/{gid}/run", {"input": 1, "version": 5}).status_code == 404
    assert post(api, "/api/graphs/999/run", {"input": 1}).status_code == 404
    assert sent == []


def test_the_python_export(api):
    gid = post(api, "/api/graphs/", three_nodes("gt_export_api")).json()["id"]
    answer = api.get(f"/api/graphs/{gid}/python")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/x-python")
    code = answer.content.decode()
    assert "Graph('gt_export_api', description='A small test graph')" in code
    assert "@workflow.with_options(name='gt_export_api')" in code


def test_import_a_code_defined_graph_as_an_editable_copy(api):
    sync_workflows()
    from executions.core.registry import registered

    if "demo_graph" not in registered():
        import executions.demo  # noqa: F401 - FLUX_DEMO is off in the scaled shape
        sync_workflows()
    answer = post(api, "/api/graphs/import", {"workflow": "demo_graph"})
    assert answer.status_code == 201, answer.json()
    copy = answer.json()
    assert copy["name"] == "order_routing_copy" and copy["version"] == 1
    assert [e["condition"] for e in copy["edges"]] == ["result > 0", "result <= 0"]
    again = post(api, "/api/graphs/import", {"workflow": "demo_graph"}).json()
    assert again["name"] == "order_routing_copy_2"
    missing = post(api, "/api/graphs/import", {"workflow": "no_such"})
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"


def test_the_task_catalogue(api):
    answer = api.get("/api/tasks/").json()
    tasks_by_name = {t["name"]: t for t in answer["items"]}
    label = tasks_by_name["gt_label"]
    assert label["doc"] == "The input as text, after a prefix."
    assert label["parameters"] == [
        {"name": "value", "annotation": "int", "default": None, "required": True},
        {"name": "prefix", "annotation": "str", "default": "n=", "required": False}]
    assert label["options"]["retry_max_attempts"] == 0 and "timeout" in label["options"]
    assert "uuid4" not in tasks_by_name  # flux's own helpers are not nodes
    assert answer["next"] is None
    page = api.get("/api/tasks/?limit=1").json()
    following = api.get(f"/api/tasks/?limit=1&cursor={page['next']}").json()
    names = sorted(tasks_by_name)
    assert [t["name"] for t in page["items"] + following["items"]] == names[:2]


def test_who_may_do_what(vic, nora, erin):
    gid = post(client_for(erin), "/api/graphs/", three_nodes()).json()["id"]
    viewer, nobody = client_for(vic), client_for(nora)
    assert viewer.get(f"/api/graphs/{gid}").status_code == 200
    assert viewer.get("/api/tasks/").status_code == 200
    assert post(viewer, "/api/graphs/validate", three_nodes()).status_code == 200
    for answer in (post(viewer, "/api/graphs/", three_nodes("other")),
                   put(viewer, f"/api/graphs/{gid}", {**three_nodes(), "version": 1}),
                   viewer.delete(f"/api/graphs/{gid}"),
                   post(viewer, f"/api/graphs/{gid}/run", {"input": 1}),
                   nobody.get(f"/api/graphs/{gid}")):
        assert answer.status_code == 403 and answer.json()["code"] == "permission_denied"


def test_the_cli_runs_a_saved_graph_by_name(api, sent):
    from tests.cli.conftest import flux

    gid = post(api, "/api/graphs/", three_nodes()).json()["id"]
    result = flux("run", "doubler", "--input", "7", "--json")
    assert result.code == 0, result.err
    execution = Execution.objects.get(pk=result.json()["id"])
    assert execution.meta["graph"] == {"id": gid, "version": 1}
    assert runner.run(execution.pk) == Status.COMPLETED
    execution.refresh_from_db()
    assert execution.output == "n=14"
    assert flux("run", "no_such_graph").code == 2


def test_workflows_list_shows_saved_graphs_as_runnable(api):
    from tests.cli.conftest import flux

    post(api, "/api/graphs/", three_nodes())
    items = {i["name"]: i for i in flux("workflows", "list", "--json").json()}
    assert items["doubler"]["is_active"] is True
    assert items["doubler"]["version"] == "graph-v1"
    assert "doubler (saved graph)" in flux("workflows", "list").out


def test_a_node_id_that_is_not_text_is_a_problem_not_a_500(api):
    """What the OpenAPI document says a node is (an id as text) is checked, not assumed."""
    bad = {**three_nodes(), "nodes": [{"id": {"a": 1}, "task": "gt_double"}], "layout": {}}
    answer = post(api, "/api/graphs/", bad)
    assert answer.status_code == 422 and answer.json()["code"] == "invalid_graph"
