"""What the execution page shows of composition: what a suspended run waits for (the
``data-waiting`` hook), its parent, continuations and children (a tree), and the last
progress of its tasks (docs/dashboard.md)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from executions.models import Execution
from flux.projection import Status

#: The children tree stops here (the list filtered by ?parent= shows them all).
TREE_NODES = 200
TREE_DEPTH = 3


@dataclass
class Waiting:
    kind: str
    text: str  # for a person, and the data-waiting attribute
    execution_id: str | None = None
    until: datetime | None = None


def _when(value: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def waiting(execution: Execution) -> list[Waiting]:
    """What a suspended execution waits for, one item per thing (empty when running)."""
    if execution.status not in (Status.PAUSED, Status.SLEEPING, Status.QUEUED):
        return []
    out = []
    for item in execution.waiting_for or []:
        kind = item.get("kind")
        if kind == "pause":
            out.append(Waiting("pause", f"approval: {item.get('title') or item.get('name')}"))
        elif kind == "child":
            out.append(Waiting("child", f"child {item.get('workflow')} "
                                        f"{str(item.get('execution_id'))[:8]}",
                               execution_id=item.get("execution_id")))
        elif kind == "event":
            match = item.get("match")
            text = f"event {item.get('name')}"
            if match:
                text += " matching " + json.dumps(match, sort_keys=True, ensure_ascii=False)
            out.append(Waiting("event", text, until=_when(item.get("until"))))
        elif kind == "sleep":
            out.append(Waiting("sleep", "a timer", until=_when(item.get("until"))))
    if not out and execution.status == Status.SLEEPING and execution.wake_at:
        out.append(Waiting("sleep", "a timer", until=execution.wake_at))
    return out


def summary(items: list[Waiting]) -> str:
    """The ``data-waiting`` value: what it waits for, in one line."""
    kids = [i for i in items if i.kind == "child"]
    rest = [i.text for i in items if i.kind != "child"]
    if len(kids) > 3:
        rest.insert(0, f"{len(kids)} children")
    else:
        rest = [i.text for i in kids] + rest
    return "; ".join(rest)


@dataclass
class Node:
    execution: Execution
    children: list[Node] = field(default_factory=list)
    more: int = 0  # children not drawn


def tree(root: Execution) -> list[Node]:
    """The executions ``root``'s calls started, and theirs, breadth first, bounded by
    :data:`TREE_NODES` and :data:`TREE_DEPTH`."""
    top = Node(root)
    level = [top]
    budget = TREE_NODES
    for _ in range(TREE_DEPTH):
        by_parent = {n.execution.pk: n for n in level}
        rows = list(Execution.objects.filter(parent_execution_id__in=list(by_parent))
                    .only("id", "workflow", "status", "created_at", "parent_execution_id")
                    .order_by("created_at", "id")[:budget + 1])
        level = []
        for row in rows[:budget]:
            node = Node(row)
            by_parent[row.parent_execution_id].children.append(node)
            level.append(node)
        if len(rows) > budget:
            top.more = len(rows) - budget
        budget -= len(level)
        if not level or budget <= 0:
            break
    return top.children


@dataclass
class TaskProgress:
    task_id: str
    name: str
    value: Any
    percent: int | None  # processed/total as a percentage, when both are numbers
    text: str
    time: datetime | None


def progress(execution: Execution) -> list[TaskProgress]:
    out = []
    for task_id, item in sorted((execution.progress or {}).items(),
                                key=lambda kv: kv[1].get("time") or ""):
        value = item.get("value")
        percent = None
        if isinstance(value, dict):
            done, total = value.get("processed"), value.get("total")
            if (isinstance(done, int | float) and isinstance(total, int | float)
                    and not isinstance(done, bool) and total > 0):
                percent = max(0, min(100, round(100 * done / total)))
        text = (f"{value['processed']} of {value['total']}" if percent is not None
                else json.dumps(value, ensure_ascii=False, default=str))
        out.append(TaskProgress(task_id, item.get("name") or task_id, value, percent, text,
                                _when(item.get("time"))))
    return out
