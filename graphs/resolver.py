"""Saved graphs as workflows: the engine's resolver and the Workflow table's rows.

The engine asks ``flux.workflowdef.resolvers`` for names its registry lacks.
:func:`resolve` answers with the Workflow of a saved graph: for an execution,
the version pinned in its ``meta["graph"]`` (``{"id", "version"}``) when it
started, so every worker runs the same graph even after later edits; for a
new execution, the newest version, whose Workflow carries ``execution_meta``
(the pin ``executions.core.commands.start`` records) and
``execution_version``. Built workflows are cached per (graph, version): a
version never changes.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from executions.core import dbsync
from flux.workflowdef import Workflow
from graphs.compile import GraphDefinitionError, build_workflow

_CACHE_SIZE = 256
_cache: OrderedDict[tuple[int, int, str], Workflow] = OrderedDict()
_lock = threading.Lock()


def pin(definition_id: int, version: int) -> dict[str, Any]:
    """What an execution's ``meta`` records about the graph version it runs."""
    return {"graph": {"id": definition_id, "version": version}}


def version_label(version: int) -> str:
    """``Execution.workflow_version`` for a saved graph's version."""
    return f"graph-v{version}"


def resolve(name: str, record: Any = None) -> Workflow | None:
    """The Workflow for saved graph ``name`` (pinned to ``record``'s version), or None."""
    pinned = ((getattr(record, "meta", None) or {}).get("graph")
              if record is not None else None)
    if isinstance(pinned, dict) and "id" in pinned and "version" in pinned:
        key = (int(pinned["id"]), int(pinned["version"]), name)
    else:
        found = dbsync.call(lambda: _current(name))
        if found is None:
            return None
        key = (found[0], found[1], name)
    with _lock:
        wf = _cache.get(key)
        if wf is not None:
            _cache.move_to_end(key)
            return wf
    graph = dbsync.call(lambda: _version_graph(key[0], key[1]))
    if graph is None:
        return None
    try:
        wf = build_workflow(graph, name=name)
    except GraphDefinitionError:
        return None  # e.g. a task no longer registered: the engine reports the name unknown
    wf.execution_meta = pin(key[0], key[1])  # type: ignore[attr-defined]
    wf.execution_version = version_label(key[1])  # type: ignore[attr-defined]
    with _lock:
        _cache[key] = wf
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return wf


def saved_graph_names(using: str = "default") -> set[str]:
    """Names of saved graphs: ``sync_workflows`` keeps their Workflow rows active."""
    from graphs.models import GraphDefinition

    return set(GraphDefinition.objects.using(using).values_list("name", flat=True))


def _current(name: str) -> tuple[int, int] | None:
    from graphs.models import GraphDefinition

    row = GraphDefinition.objects.filter(name=name).values_list("pk", "version").first()
    return (row[0], row[1]) if row and row[1] > 0 else None


def _version_graph(definition_id: int, version: int) -> dict[str, Any] | None:
    from graphs.models import GraphVersion

    return (GraphVersion.objects.filter(definition_id=definition_id, version=version)
            .values_list("graph", flat=True).first())


def sync_row(definition: Any, graph: dict[str, Any]) -> None:
    """Write the saved graph's row in the Workflow table (listed like any workflow)."""
    from executions.core.registry import workflow_options
    from executions.models import Workflow as WorkflowRow
    from graphs.compile import python_code

    wf = build_workflow(graph, name=definition.name)
    WorkflowRow.objects.update_or_create(name=definition.name, defaults={
        "description": definition.description,
        "source": python_code(graph),
        "module": "graphs",
        "version": version_label(definition.version),
        "input_schema": None,
        "options": {**workflow_options(wf), "graph_id": definition.pk,
                    "graph_version": definition.version},
        "graphs": [wf.graph.to_dict()],
        "is_active": True,
    })


def deactivate_row(name: str) -> None:
    from executions.models import Workflow as WorkflowRow

    WorkflowRow.objects.filter(name=name).update(is_active=False)
