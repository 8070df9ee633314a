"""System checks of the executions app. Ids are stable; SILENCED_SYSTEM_CHECKS takes them.

- ``executions.E001``: a workflow module (``FLUX_WORKFLOW_MODULES`` or an app's
  ``workflows.py``) failed to import; its workflows are not registered.
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register

from executions.core import registry


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
