"""The graphs API (`/api/graphs/`) and the task catalogue (`/api/tasks/`).

Graph definitions as JSON (DESIGN.md): `{"name", "description", "nodes": [{"id",
"task", "options"}], "edges": [{"source", "target", "condition"}], "start",
"end", "version"}`, plus `id`, `latest_version`, `created_at`, `updated_at`,
`updated_by` in answers. Every save is a new version; `PUT` must carry the
`version` it edited (else 409 `version_conflict`). An invalid definition gets
422 `invalid_graph` with `errors`, each naming its node or edge.

Permissions (``executions.access.permissions``): reading needs `graphs.view_graphdefinition`;
creating, changing and deleting the graphs' add/change/delete permissions; running
`executions.run_workflow`. The task catalogue needs the view permission too.
"""

import inspect
from types import SimpleNamespace
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Router, Status
from ninja.pagination import paginate

from executions.access.permissions import (
    ADD_GRAPHS,
    DELETE_GRAPHS,
    EDIT_GRAPHS,
    RUN,
    VIEW_GRAPHS,
    api_requires,
)
from executions.api.errors import ApiError
from executions.api.pagination import KeysetPagination
from executions.api.schemas import MUTATION_ERRORS, Execution
from executions.core import commands
from executions.core.commands import Actor
from flux.taskdef import Task, task_registry
from flux.text import text_problem
from flux.workflowdef import registry
from graphs import resolver
from graphs.compile import from_code_graph, normalize, problems, python_code
from graphs.models import GraphDefinition, GraphVersion
from graphs.schemas import (
    GraphIn,
    GraphOut,
    GraphSummary,
    ImportIn,
    Invalid,
    RunIn,
    TaskInfo,
    Valid,
    VersionSummary,
)

router = Router(tags=["graphs"])
tasks_router = Router(tags=["tasks"])

MAX_LIMIT = 500


#: Every graph operation's error answers; an invalid definition's 422 names each problem.
ERRORS = {**MUTATION_ERRORS, 422: Invalid}


def api_error(status: int, detail: str, code: str) -> Exception:
    return ApiError(status, detail, code)


def invalid(request: HttpRequest, errors: list[dict[str, Any]],
            definition: dict[str, Any] | None = None) -> Status:
    count = len(errors)
    body: dict[str, Any] = {
        "detail": f"The graph has {count} problem{'s' if count != 1 else ''}: "
                  f"{errors[0]['message']}" + (" ..." if count > 1 else ""),
        "code": "invalid_graph", "valid": False, "errors": errors}
    if definition is not None:
        body["definition"] = definition
    return Status(422, body)


def name_problems(name: Any, definition_id: int | None = None) -> list[dict[str, Any]]:
    """A clash with a code-defined workflow or another saved graph (none for a name
    ``problems`` refuses anyway, e.g. one no database can hold)."""
    if not isinstance(name, str) or not name or text_problem(name):
        return []
    if name in registry:
        return [{"code": "name_taken", "message": f"'{name}' is the name of a workflow defined "
                                                  "in code: choose another name."}]
    clash = GraphDefinition.objects.filter(name=name).exclude(pk=definition_id).exists()
    if clash:
        return [{"code": "name_taken", "message": f"Another saved graph is named '{name}'."}]
    return []


def _definition(payload: GraphIn) -> dict[str, Any]:
    return normalize(payload.model_dump())


# graphs ---------------------------------------------------------------------------------

def summary(g: GraphDefinition) -> dict[str, Any]:
    return {"id": g.pk, "name": g.name, "description": g.description, "version": g.version,
            "updated_at": g.updated_at.isoformat().replace("+00:00", "Z"),
            "updated_by": g.updated_by.get_username() if g.updated_by else None}


@router.get("/", response={200: list[GraphSummary], **ERRORS},
            summary="List saved graphs (newest change first)")
@paginate(KeysetPagination, order=("-updated_at", "-id"), item=summary)
@api_requires(VIEW_GRAPHS)
def list_graphs(request: HttpRequest):
    return GraphDefinition.objects.select_related("updated_by")


@router.post("/", response={201: GraphOut, **ERRORS}, exclude_unset=True,
             summary="Save a new graph (version 1)")
@api_requires(ADD_GRAPHS)
def create_graph(request: HttpRequest, payload: GraphIn):
    definition = _definition(payload)
    errors = problems(definition) + name_problems(definition["name"])
    if errors:
        return invalid(request, errors)
    try:
        with transaction.atomic():
            graph = GraphDefinition()
            saved = graph.save_version(definition, request.user)
            resolver.sync_row(graph, saved.graph)
    except IntegrityError:
        return invalid(request, [{"code": "name_taken",
                                  "message": f"Another saved graph is named "
                                             f"'{definition['name']}'."}])
    return Status(201, graph.to_dict(saved))


@router.post("/validate", response={200: Valid, **ERRORS},
             summary="Check a definition without saving it")
@api_requires(VIEW_GRAPHS)
def validate_graph(request: HttpRequest, payload: GraphIn):
    definition = _definition(payload)
    errors = problems(definition)
    if isinstance(definition["name"], str) and definition["name"] in registry:
        errors += name_problems(definition["name"])
    if errors:
        return invalid(request, errors)
    return {"valid": True}


@router.post("/import", response={201: GraphOut, **ERRORS}, exclude_unset=True,
             summary="Copy a code-defined workflow's Graph into a new saved graph")
@api_requires(ADD_GRAPHS)
def import_graph(request: HttpRequest, payload: ImportIn):
    definition = code_graph_copy(payload.workflow, payload.graph, payload.name)
    errors = problems(definition) + name_problems(definition["name"])
    if errors:
        return invalid(request, errors, definition)
    with transaction.atomic():
        graph = GraphDefinition()
        saved = graph.save_version(definition, request.user)
        resolver.sync_row(graph, saved.graph)
    return Status(201, graph.to_dict(saved))


@router.get("/{int:graph_id}", response={200: GraphOut, **ERRORS}, exclude_unset=True,
            summary="A saved graph at its newest version")
@api_requires(VIEW_GRAPHS)
def get_graph(request: HttpRequest, graph_id: int):
    return _graph(graph_id).to_dict()


@router.put("/{int:graph_id}", response={200: GraphOut, **ERRORS}, exclude_unset=True,
            summary="Save a new version (send the version you edited)")
@api_requires(EDIT_GRAPHS)
def update_graph(request: HttpRequest, graph_id: int, payload: GraphIn):
    definition = _definition(payload)
    with transaction.atomic():
        graph = get_object_or_404(GraphDefinition.objects.select_for_update(), pk=graph_id)
        if payload.version != graph.version:
            edited = ("no version" if payload.version is None
                      else f"version {payload.version}")
            raise api_error(409, f"Graph '{graph.name}' is at version {graph.version}; you "
                                f"edited {edited}. Reload it and apply your changes again.",
                           "version_conflict")
        errors = problems(definition) + name_problems(definition["name"], graph.pk)
        if errors:
            return invalid(request, errors)
        old_name = graph.name
        try:
            with transaction.atomic():
                saved = graph.save_version(definition, request.user)
        except IntegrityError:
            raise api_error(409, f"Graph '{old_name}' was saved by someone else meanwhile. "
                                "Reload it and apply your changes again.",
                           "version_conflict") from None
        if old_name != graph.name:
            resolver.deactivate_row(old_name)
        resolver.sync_row(graph, saved.graph)
    return graph.to_dict(saved)


@router.delete("/{int:graph_id}", response={204: None, **ERRORS},
               summary="Delete a saved graph and its versions")
@api_requires(DELETE_GRAPHS)
def delete_graph(request: HttpRequest, graph_id: int):
    graph = _graph(graph_id)
    from executions.models import Execution
    from flux.projection import Status as RunStatus

    unfinished = (Execution.objects.filter(workflow=graph.name)
                  .exclude(status__in=RunStatus.FINISHED).count())
    if unfinished:
        raise api_error(409, f"Graph '{graph.name}' has {unfinished} unfinished "
                             "execution(s) that need its saved versions: cancel them or "
                             "wait for them to finish first.", "graph_in_use")
    with transaction.atomic():
        resolver.deactivate_row(graph.name)
        graph.delete()
    return Status(204, None)


@router.get("/{int:graph_id}/versions", response={200: list[VersionSummary], **ERRORS},
            summary="The graph's versions, newest first")
@paginate(KeysetPagination, order=("-version",), item=GraphVersion.summary)
@api_requires(VIEW_GRAPHS)
def list_versions(request: HttpRequest, graph_id: int):
    return _graph(graph_id).versions.select_related("created_by")


@router.get("/{int:graph_id}/versions/{int:version}", response={200: GraphOut, **ERRORS},
            exclude_unset=True, summary="One version of a graph")
@api_requires(VIEW_GRAPHS)
def get_version(request: HttpRequest, graph_id: int, version: int):
    graph = _graph(graph_id)
    found = get_object_or_404(GraphVersion, definition=graph, version=version)
    return graph.to_dict(found)


@router.post("/{int:graph_id}/run", response={201: Execution, **ERRORS},
             summary="Run the graph (its newest version, or `version`)")
@api_requires(RUN)
def run_graph(request: HttpRequest, graph_id: int, payload: RunIn):
    graph = _graph(graph_id)
    version = payload.version or graph.version
    if not graph.versions.filter(version=version).exists():
        raise api_error(404, f"Graph '{graph.name}' has no version {version}.", "not_found")
    record = SimpleNamespace(meta=resolver.pin(graph.pk, version))
    wf = resolver.resolve(graph.name, record)
    if wf is None:  # saved while valid, but e.g. a task has since disappeared
        found = graph.versions.get(version=version)
        return invalid(request, problems(found.graph) or [{"code": "invalid_graph",
                                                   "message": "The graph cannot be built."}])
    execution = commands.start(wf, payload.input, actor=Actor.of(request.user))
    return Status(201, execution.to_dict())


@router.get("/{int:graph_id}/python", summary="The equivalent Python Graph(...) code",
            response={200: None, **ERRORS}, openapi_extra={"responses": {200: {
                "description": "A Python module (text/x-python).",
                "content": {"text/x-python": {"schema": {"type": "string"}}}}}})
@api_requires(VIEW_GRAPHS)
def graph_python(request: HttpRequest, graph_id: int, version: int | None = None):
    graph = _graph(graph_id)
    found = get_object_or_404(GraphVersion, definition=graph, version=version or graph.version)
    response = HttpResponse(python_code(found.graph), content_type="text/x-python; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{graph.name}.py"'
    return response


def _graph(graph_id: int) -> GraphDefinition:
    return get_object_or_404(GraphDefinition, pk=graph_id)


def code_graph_copy(workflow: str, graph_name: str | None, name: str | None) -> dict[str, Any]:
    """An editable definition copied from a code-defined workflow's Graph (404 if none)."""
    from executions.models import Workflow as WorkflowRow

    row = WorkflowRow.objects.filter(name=workflow).first()
    graphs = list(row.graphs or []) if row is not None else []
    if not graphs:
        raise api_error(404, f"Workflow '{workflow}' has no Graph to copy.", "not_found")
    found = next((g for g in graphs if g.get("name") == graph_name), None) if graph_name \
        else graphs[0]
    if found is None:
        raise api_error(404, f"Workflow '{workflow}' has no Graph named '{graph_name}'.",
                       "not_found")
    return from_code_graph(found, name or free_name(f"{found.get('name') or workflow}_copy"))


def free_name(base: str) -> str:
    """``base``, or ``base_2``, ``base_3``... whichever no workflow or graph uses."""
    taken = set(GraphDefinition.objects.filter(name__startswith=base)
                .values_list("name", flat=True)) | set(registry)
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    return name


# tasks ----------------------------------------------------------------------------------

@tasks_router.get("/", response={200: list[TaskInfo], **ERRORS},
                  summary="Every registered task, for the editor's palette")
@paginate(KeysetPagination, order=("name",), default=MAX_LIMIT, maximum=MAX_LIMIT)
@api_requires(VIEW_GRAPHS)
def list_tasks(request: HttpRequest):
    """By name; the first page holds them all unless there are over 500."""
    return [describe_task(t) for name, t in sorted(task_registry.items())
            if not _internal(t)]


def describe_task(task: Task) -> dict[str, Any]:
    """A task as the palette shows it: name, doc, parameters, options."""
    params = []
    for p in task.signature.parameters.values():
        if p.name == "secrets" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        empty = p.default is inspect.Parameter.empty
        params.append({
            "name": p.name,
            "annotation": None if p.annotation is inspect.Parameter.empty
            else p.annotation if isinstance(p.annotation, str)
            else inspect.formatannotation(p.annotation),
            "default": None if empty else _jsonable(p.default),
            "required": empty,
        })
    return {"name": task.name, "doc": task.description or "", "parameters": params,
            "options": task.options(), "module": getattr(task.func, "__module__", "")}


def _internal(task: Task) -> bool:
    """flux's own deterministic helpers (now, uuid4, randint...) are not graph nodes."""
    return (getattr(task.func, "__module__", "") or "").startswith("flux.")


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)


