"""System checks of the executions app. Ids are stable; SILENCED_SYSTEM_CHECKS takes them.

- ``executions.E001``: a workflow module (``FLUX_WORKFLOW_MODULES`` or an app's
  ``workflows.py``) failed to import; its workflows are not registered.
- ``executions.E002``: ``FLUX_CONCURRENCY`` is not a dict of workflow names.
- ``executions.E003``: an entry of ``FLUX_CONCURRENCY`` is not a concurrency setting
  (a whole number 1 or more, or ``{"limit": N, "key": "input.field"}``).
- ``executions.E004``: a concurrency key (``FLUX_CONCURRENCY`` or a workflow's
  ``concurrency=`` option) is not a CEL expression.
- ``executions.W001``: ``FLUX_CONCURRENCY`` names no registered workflow (a typo, or a
  saved graph: silence it then).

Without these, a bad concurrency setting would only be found when a run of its workflow
starts: every start refused (422, exit 2) while the deployment looks healthy.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning as CheckWarning, register

from executions.core import registry, starting
from flux.schedule import Concurrency, ScheduleError

#: The setting's shape, for hints.
CONCURRENCY_SHAPE = ('{"workflow": 2, "other": {"limit": 1, "key": "input.customer"}} '
                     "(docs/schedules.md)")


@register("flux")
def check_workflow_modules(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return [
        Error(
            str(failure),
            hint=("Fix the module, or remove it from FLUX_WORKFLOW_MODULES. Its workflows "
                  "are not registered until it imports."),
            obj=failure.module,
            id="executions.E001",
        )
        for failure in registry.import_failures
    ]


@register("flux")
def check_concurrency(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    return concurrency_messages(getattr(settings, "FLUX_CONCURRENCY", None),
                                registry.registered())


def concurrency_messages(configured: Any, workflows: dict[str, Any]) -> list[CheckMessage]:
    """What is wrong with ``FLUX_CONCURRENCY`` (``configured``) and with the concurrency
    keys the ``workflows`` declare in code."""
    messages: list[CheckMessage] = []
    if configured is None:
        configured = {}
    if not isinstance(configured, dict):
        return [Error(f"FLUX_CONCURRENCY must be a dict of workflow names, not "
                      f"{type(configured).__name__} {_show(configured)}.",
                      hint=f"For example {CONCURRENCY_SHAPE}.", obj="FLUX_CONCURRENCY",
                      id="executions.E002")]
    for name, value in configured.items():
        where = f"FLUX_CONCURRENCY[{name!r}]"
        if not isinstance(name, str):
            messages.append(Error(f"{where}: a key of FLUX_CONCURRENCY is a workflow's name, "
                                  f"not {type(name).__name__} {_show(name)}.",
                                  hint=f"For example {CONCURRENCY_SHAPE}.",
                                  obj="FLUX_CONCURRENCY", id="executions.E002"))
            continue
        try:
            setting = Concurrency.of(value)
        except ScheduleError as exc:
            messages.append(Error(f"{where}: {exc}", hint=f"For example {CONCURRENCY_SHAPE}.",
                                  obj=where, id="executions.E003"))
            continue
        if setting is not None:  # None: no limit, whatever the code declares
            messages += _key_messages(where, setting)
        if name not in workflows:
            known = ", ".join(sorted(workflows)[:20]) or "none"
            messages.append(CheckWarning(
                f"{where}: no registered workflow is called {name!r}; the limit applies to "
                "nothing.",
                hint=(f"Registered workflows: {known}. A saved graph of that name is fine: "
                      "add 'executions.W001' to SILENCED_SYSTEM_CHECKS."),
                obj=where, id="executions.W001"))
    for name, wf in sorted(workflows.items()):
        declared = getattr(wf, "concurrency", None)
        if isinstance(declared, Concurrency) and name not in configured:
            messages += _key_messages(f"workflow {name!r} (concurrency=)", declared)
    return messages


def _key_messages(where: str, setting: Concurrency) -> list[CheckMessage]:
    if setting.key is None:
        return []
    try:
        starting.compiled_key(setting.key)  # the compiled program starts use (cached)
    except Exception as exc:  # celpy.CELParseError, and anything its compiler raises
        column = getattr(exc, "column", None)
        at = f" (at column {column})" if column else ""
        return [Error(f"{where}: the concurrency key `{setting.key}` is not a CEL "
                      f"expression{at}.",
                      hint=("The key is CEL over the run's input, e.g. 'input.customer' or "
                            "'input.region + \"/\" + input.customer'."),
                      obj=where, id="executions.E004")]
    return []


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
