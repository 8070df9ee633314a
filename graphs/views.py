"""Pages: the list of graphs (saved and code-defined), the editor, versions with a drawn
diff, a code-defined Graph's drawing; and the live DAG in an execution's page.

The front-end islands (``frontend/graph-editor.tsx``, ``frontend/graph-view.tsx``) are
loaded through ``{% vite_entry %}`` and read their props from ``json_script``.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from executions.access.permissions import (
    ADD_GRAPHS,
    DELETE_GRAPHS,
    EDIT_GRAPHS,
    RUN,
    VIEW_GRAPHS,
    allowed,
    page_requires,
)
from executions.models import Event, Execution, Workflow as WorkflowRow
from graphs.diff import diff_graphs
from graphs.models import GraphDefinition, GraphVersion

#: Events the execution page hands to its live DAG (the island fetches any later ones).
SLOT_EVENTS = 5000

EMPTY_GRAPH = {"name": "", "description": "", "nodes": [], "edges": [], "start": None,
               "end": [], "version": 0}


def code_graphs() -> list[dict[str, Any]]:
    """Graphs of code-defined workflows (the Workflow table's ``graphs``), by workflow."""
    out = []
    for row in (WorkflowRow.objects.filter(is_active=True).exclude(module="graphs")
                .exclude(graphs=[]).order_by("name")):
        for graph in row.graphs or []:
            out.append({"workflow": row.name, "graph": graph, "name": graph.get("name"),
                        "nodes": len(graph.get("nodes") or []),
                        "edges": len(graph.get("edges") or [])})
    return out


@page_requires(VIEW_GRAPHS)
def graph_list(request: HttpRequest) -> HttpResponse:
    saved = GraphDefinition.objects.select_related("updated_by").order_by("name")
    return render(request, "graphs/list.html", {
        "saved": saved, "code_graphs": code_graphs(),
        "can_add": allowed(request.user, ADD_GRAPHS),
    })


@page_requires(ADD_GRAPHS)
def graph_new(request: HttpRequest) -> HttpResponse:
    """A new graph, empty or copied from a code-defined workflow's Graph (``?from=W``)."""
    definition = dict(EMPTY_GRAPH)
    source = request.GET.get("from")
    if source:
        from executions.api.errors import ApiError
        from graphs.api import code_graph_copy

        try:
            definition = {**code_graph_copy(source, request.GET.get("graph"), None),
                          "version": 0}
        except ApiError as exc:
            raise Http404(str(exc.message)) from None
    return _editor(request, None, definition, f"Copy of {source}" if source else "New graph")


@page_requires(VIEW_GRAPHS)
def graph_edit(request: HttpRequest, graph_id: int) -> HttpResponse:
    graph = get_object_or_404(GraphDefinition, pk=graph_id)
    return _editor(request, graph, graph.to_dict(), graph.name)


def _editor(request: HttpRequest, graph: GraphDefinition | None, definition: dict[str, Any],
            title: str) -> HttpResponse:
    can_edit = allowed(request.user, EDIT_GRAPHS if graph else ADD_GRAPHS)
    props = {"graphId": graph.pk if graph else None, "definition": definition,
             "canEdit": can_edit, "canRun": can_edit and allowed(request.user, RUN),
             "apiBase": "/api"}
    return render(request, "graphs/editor.html", {
        "graph": graph, "title": title, "props": props, "can_edit": can_edit,
        "can_delete": graph is not None and allowed(request.user, DELETE_GRAPHS),
    })


@page_requires(VIEW_GRAPHS)
def graph_versions(request: HttpRequest, graph_id: int) -> HttpResponse:
    """The versions, and a drawing of what changed from ``?a=`` to ``?b=``."""
    graph = get_object_or_404(GraphDefinition, pk=graph_id)
    versions = list(graph.versions.select_related("created_by").order_by("-version"))
    newest = graph.version

    def number(key: str, default: int) -> int:
        try:
            return int(request.GET.get(key, default))
        except ValueError:
            return default

    b = number("b", newest)
    a = number("a", max(1, b - 1))
    old = get_object_or_404(GraphVersion, definition=graph, version=a)
    new = get_object_or_404(GraphVersion, definition=graph, version=b)
    merged, diff = diff_graphs(old.graph, new.graph)
    changes = ([(kind, f"node {key}") for key, kind in sorted(diff["nodes"].items())]
               + [(kind, f"edge {key.replace('->', ' → ')}")
                  for key, kind in sorted(diff["edges"].items())])
    props = {"graph": {**merged, "version": b}, "executionId": None, "events": [],
             "diff": diff}
    return render(request, "graphs/versions.html", {
        "graph": graph, "versions": versions, "a": a, "b": b, "props": props,
        "changes": changes,
    })


@page_requires(VIEW_GRAPHS)
def code_graph(request: HttpRequest, workflow: str) -> HttpResponse:
    """A code-defined workflow's Graphs, drawn; each can be opened as an editable copy."""
    row = get_object_or_404(WorkflowRow, name=workflow)
    graphs = [g for g in row.graphs or []]
    if not graphs:
        raise Http404(f"Workflow '{workflow}' has no Graph.")
    items = [{"graph": g, "props_id": f"graph-props-{i}",
              "props": {"graph": {**g, "version": 0}, "executionId": None, "events": []}}
             for i, g in enumerate(graphs)]
    return render(request, "graphs/code_graph.html", {
        "workflow": row, "items": items, "can_add": allowed(request.user, ADD_GRAPHS),
    })


def execution_graph_props(execution: Execution) -> list[dict[str, Any]]:
    """graph-view props for each Graph an execution ran (the newest GRAPH_STARTED per name)."""
    events = list(Event.objects.filter(execution_id=execution.pk).order_by("-seq")
                  [:SLOT_EVENTS])[::-1]
    graphs: dict[str, dict[str, Any]] = {}
    for event in events:
        if event.type == "GRAPH_STARTED":
            graph = (event.value or {}).get("graph") if isinstance(event.value, dict) else None
            if isinstance(graph, dict) and graph.get("name"):
                graphs[graph["name"]] = graph
    if not graphs:
        return []
    rows = [e.to_dict() for e in events]
    return [{"graph": {**g, "version": g.get("version", 0)}, "executionId": execution.pk,
             "events": rows, "apiBase": "/api"} for g in graphs.values()]
