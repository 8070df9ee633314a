"""Which workflows this process knows: the registry every ``@workflow`` adds to, and the
resolvers asked for names it lacks. Apart from the definitions (``flux.workflowdef``)
so the engine can look workflows up without importing what defines them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flux.workflowdef import Workflow

#: Every workflow defined in this process, by name.
registry: dict[str, Workflow] = {}

#: Functions ``(name, record) -> Workflow | None`` asked for names the registry lacks
#: (``record`` is the execution's ExecutionRecord, or None when starting one). The
#: Django runtime adds one that builds workflows from graphs saved in the editor,
#: pinned to the version an execution started with.
resolvers: list[Callable[[str, Any], Workflow | None]] = []
