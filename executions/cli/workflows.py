"""``flux workflows list [--json]``: the workflows this deployment can run.

Lists the registered workflows (what the code defines, as ``sync_workflows``
would record them), the graphs saved in the editor (runnable by name like the
others), and, marked inactive, those the database still knows but the code no
longer defines.
"""

from __future__ import annotations

from typing import Any

from executions.cli.common import EXIT_OK, dumps, summary, table
from executions.core import registry
from executions.models import Workflow as WorkflowRow


def add_parser(verbs: Any) -> None:
    p = verbs.add_parser("workflows", help="list workflows")
    sub = p.add_subparsers(dest="workflows_verb", metavar="VERB", required=True)
    lst = sub.add_parser("list", help="list the registered workflows")
    lst.add_argument("--json", action="store_true", help="print a JSON array")
    lst.set_defaults(handler=handle_list)


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
    items = workflow_list()
    if options["json"]:
        command.stdout.write(dumps(items))
        return EXIT_OK
    if not items:
        command.stdout.write("No workflows registered (see FLUX_WORKFLOW_MODULES).")
        return EXIT_OK
    rows = [[i["name"] + ("" if i["is_active"] else " (inactive)")
             + (" (saved graph)" if i.get("module") == "graphs" and i["is_active"] else ""),
             i["version"],
             summary((i["description"] or "").split("\n")[0], 70)] for i in items]
    command.stdout.write(table(rows, ["NAME", "VERSION", "DESCRIPTION"]))
    return EXIT_OK
