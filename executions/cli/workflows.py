"""``flux workflows list [--json]``: the workflows this deployment can run.

Lists the registered workflows (what the code defines, as ``sync_workflows``
would record them), the graphs saved in the editor (runnable by name like the
others), and, marked inactive, those the database still knows but the code no
longer defines.
"""

from __future__ import annotations

from typing import Any

from executions.cli.common import print_list, summary, verb, verb_group
from executions.core import registry
from executions.models import Workflow as WorkflowRow


def add_parser(verbs: Any) -> None:
    sub = verb_group(verbs, "workflows", "list workflows")
    verb(sub, "list", "list the registered workflows", handle_list, json="a JSON array")


def workflow_list() -> list[dict[str, Any]]:
    items = []
    for name, wf in sorted(registry.registered().items()):
        fields = registry.describe(wf)
        fields.pop("source")
        items.append({"name": name, **fields})
    known = {i["name"] for i in items}
    saved = registry.kept_names()
    for row in WorkflowRow.objects.exclude(name__in=known).order_by("name"):
        item = row.to_dict()
        # Saved graphs (drawn in the editor) run like code-defined workflows.
        item["is_active"] = row.name in saved
        items.append(item)
    return items


def handle_list(command: Any, options: dict[str, Any]) -> int:
    for failure in registry.import_failures:
        command.stderr.write(f"warning: {failure}")
    return print_list(
        command, options, workflow_list(), headers=["NAME", "VERSION", "DESCRIPTION"],
        row=lambda i: [i["name"] + ("" if i["is_active"] else " (inactive)")
                       + (" (saved graph)" if i.get("module") == "graphs" and i["is_active"]
                          else ""),
                       i["version"], summary((i["description"] or "").split("\n")[0], 70)],
        empty="No workflows registered (see FLUX_WORKFLOW_MODULES).")
