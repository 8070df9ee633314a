"""Finding workflows and recording them in the ``Workflow`` table.

Workflows are registered by importing the modules that define them (the
``@workflow`` decorator adds each to ``flux.workflow.registry``). The modules
are, in order:

1. ``settings.FLUX_WORKFLOW_MODULES`` (the env var ``FLUX_WORKFLOW_MODULES``,
   comma-separated, plus ``executions.demo`` unless ``FLUX_DEMO=0``);
2. ``<app>.workflows`` of every installed app that has one.

:func:`load_workflows` imports them once, from ``ExecutionsConfig.ready``; a
module that fails to import is remembered, not raised, and reported by the
system check ``executions.E001`` (so ``manage.py check``, ``migrate`` and
every ``manage.py flux`` verb name it). :func:`sync_workflows` writes what the
registry holds to the database; it runs from ``flux demo``, ``flux up``,
``flux worker`` and after ``migrate``, never at import time.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import logging
import sys
import types
import weakref
from dataclasses import dataclass
from typing import Any

from django.apps import apps
from django.conf import settings
from django.utils.module_loading import module_has_submodule

from flux import Task, Workflow
from flux.tasks import Graph

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ImportFailure:
    """A workflow module that could not be imported."""

    module: str
    error: str  # "ExceptionType: message"

    def __str__(self) -> str:
        return f"Cannot import workflow module '{self.module}': {self.error}"


#: Functions ``(using) -> names`` of workflows defined outside the registry (graphs
#: saved in the editor): sync_workflows leaves their rows active.
kept_workflows: list[Any] = []

#: Functions ``(workflows, using)`` that write what the workflows declare besides
#: themselves (their schedules: ``executions.core.schedules.sync_declared``), called by
#: sync_workflows in its transaction.
sync_hooks: list[Any] = []


def kept_names(using: str = "default") -> set[str]:
    """Names of the runnable workflows defined outside the registry (saved graphs)."""
    return set().union(*(names(using) for names in kept_workflows))


#: Modules imported by load_workflows, and those that failed.
loaded_modules: list[str] = []
import_failures: list[ImportFailure] = []


def workflow_modules() -> list[str]:
    """The modules whose workflows are registered, without duplicates."""
    names: list[str] = [m for m in getattr(settings, "FLUX_WORKFLOW_MODULES", []) if m]
    for app in apps.get_app_configs():
        if app.module is not None and module_has_submodule(app.module, "workflows"):
            names.append(f"{app.name}.workflows")
    return list(dict.fromkeys(names))


def load_workflows() -> list[ImportFailure]:
    """Import every workflow module; remember (and return) those that fail."""
    loaded_modules.clear()
    import_failures.clear()
    for name in workflow_modules():
        try:
            importlib.import_module(name)
        except Exception as exc:  # any error in user code: report it, don't crash Django
            import_failures.append(ImportFailure(name, f"{type(exc).__name__}: {exc}"))
            log.error("flux: cannot import workflow module %r: %s: %s", name,
                      type(exc).__name__, exc)
        else:
            loaded_modules.append(name)
    return list(import_failures)


def registered() -> dict[str, Workflow]:
    """The workflows this process knows, by name (the engine's registry)."""
    return dict(sys.modules[Workflow.__module__].registry)


# describing a workflow ----------------------------------------------------------------

def workflow_source(wf: Workflow) -> str:
    try:
        return inspect.getsource(wf.func)
    except (OSError, TypeError):
        return ""


def workflow_version(source: str) -> str:
    """A short, stable fingerprint of the source: changes when the code does."""
    return hashlib.sha256(source.encode()).hexdigest()[:12]


def workflow_options(wf: Workflow) -> dict[str, Any]:
    storage = wf.output_storage
    return {
        "durable": wf.durable,
        "recover_on_worker_loss": wf.recover_on_worker_loss,
        "max_recovery_attempts": wf.max_recovery_attempts,
        "secret_requests": list(wf.secret_requests),
        "output_storage": type(storage).__name__ if storage is not None else None,
    }


def workflow_graphs(wf: Workflow) -> list[dict[str, Any]]:
    """The module-level Graphs the workflow (or a task it calls) names, as dicts.

    Found cheaply: the global names the function's code uses (nested code
    too), one level into the tasks it names. A graph built inside the
    function is not found.
    """
    found: dict[int, Graph] = {}
    seen: set[int] = set()

    def visit(func: Any, depth: int) -> None:
        code = getattr(func, "__code__", None)
        if code is None or id(func) in seen:
            return
        seen.add(id(func))
        namespace = getattr(func, "__globals__", {})
        for name in _global_names(code):
            value = namespace.get(name)
            if isinstance(value, Graph):
                found.setdefault(id(value), value)
            elif isinstance(value, Task) and depth > 0:
                visit(value.func, depth - 1)

    visit(wf.func, 1)
    graphs = []
    for graph in found.values():
        try:
            graphs.append(graph.to_dict())
        except Exception:  # a graph that cannot describe itself is left out, not fatal
            log.exception("flux: cannot describe graph %r", getattr(graph, "name", graph))
    return graphs


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


#: What :func:`describe` reads from a workflow's code (its source, that source's
#: version and the graphs it names), by workflow object: the code a process has
#: loaded does not change while it runs, and reading the source is the slow part
#: (the module's file, tokenized), about 0.2 ms a workflow, on every workflow list.
_from_code: weakref.WeakKeyDictionary[Workflow, tuple[str, str, list[dict[str, Any]]]] = \
    weakref.WeakKeyDictionary()


def describe(wf: Workflow) -> dict[str, Any]:
    """The ``Workflow`` row's fields for ``wf`` (a new dict; the values within are
    shared between calls: don't change them)."""
    found = _from_code.get(wf)
    if found is None:
        source = workflow_source(wf)
        found = _from_code[wf] = (source, workflow_version(source), workflow_graphs(wf))
    source, version, graphs = found
    try:
        schema = wf.input_schema()
    except Exception:
        schema = None
    return {
        "description": wf.description or "",
        "source": source,
        "module": getattr(wf.func, "__module__", "") or "",
        "version": version,
        "input_schema": schema,
        "options": workflow_options(wf),
        "graphs": graphs,
        "is_active": True,
    }


# syncing ---------------------------------------------------------------------------------

@dataclass
class SyncResult:
    created: list[str]
    updated: list[str]
    deactivated: list[str]
    unchanged: list[str]

    def __str__(self) -> str:
        parts = [f"{len(self.created)} new", f"{len(self.updated)} updated",
                 f"{len(self.unchanged)} unchanged"]
        if self.deactivated:
            parts.append(f"{len(self.deactivated)} no longer defined")
        return "Workflows: " + ", ".join(parts)


def sync_workflows(using: str = "default",
                   workflows: dict[str, Workflow] | None = None) -> SyncResult:
    """Write the registry to the ``Workflow`` table; mark vanished ones inactive."""
    from django.db import transaction

    from executions.models import Workflow as WorkflowRow

    current = registered() if workflows is None else workflows
    result = SyncResult([], [], [], [])
    with transaction.atomic(using=using):
        rows = {row.name: row for row in WorkflowRow.objects.using(using).all()}
        for name, wf in sorted(current.items()):
            fields = describe(wf)
            row = rows.get(name)
            if row is None:
                WorkflowRow.objects.using(using).create(name=name, **fields)
                result.created.append(name)
                continue
            changed = [k for k, v in fields.items() if getattr(row, k) != v]
            if changed:
                for k in changed:
                    setattr(row, k, fields[k])
                row.save(using=using)
                result.updated.append(name)
            else:
                result.unchanged.append(name)
        kept = kept_names(using)
        for name, row in rows.items():
            if name not in current and name not in kept and row.is_active:
                row.is_active = False
                row.save(using=using, update_fields=["is_active", "updated_at"])
                result.deactivated.append(name)
        for hook in sync_hooks:
            hook(current, using)
    return result


def sync_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """post_migrate: record the workflows once the table exists."""
    from django.db import connections

    from executions import models

    WorkflowRow = getattr(models, "Workflow", None)
    if WorkflowRow is None:
        return
    table = WorkflowRow._meta.db_table
    if table not in connections[using].introspection.table_names():
        return
    sync_workflows(using=using)
