"""Inbox test personas and helpers.

Alice and Bob approve (group ``approver``), Carol only views (``viewer``), Dave
approves and belongs to ``ops``; Olive operates (starts runs) and may not approve.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, User

from executions.core import commands, runner
from executions.core.commands import Actor
from executions.models import Approval, Execution
from flux import Status
from tests.inbox import workflows  # noqa: F401 - registers the inbox_* workflows

PASSWORD = "correct horse battery staple"


def make_user(name: str, *groups: str) -> User:
    user = User.objects.create_user(name, email=f"{name}@example.com", password=PASSWORD)
    for group in groups:
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


@pytest.fixture
def people(db) -> dict[str, User]:
    return {
        "alice": make_user("alice", "approver"),
        "bob": make_user("bob", "approver"),
        "carol": make_user("carol", "viewer"),
        "dave": make_user("dave", "approver", "ops"),
        "olive": make_user("olive", "operator"),
    }


@pytest.fixture
def sent(monkeypatch):
    """Queue messages that would have been sent (execution ids)."""
    messages: list[str] = []
    monkeypatch.setattr(runner, "send",
                        lambda execution_id, delay=None: messages.append(execution_id))
    yield messages
    runner.close_thread_store()


def paused(pause: dict[str, Any] | None = None, *, actor: str = "olive",
           items: list | None = None, workflow: str = "inbox_order") -> Approval:
    """Start a run and run it until it pauses; its pending approval."""
    ex = commands.start(workflow, {"items": items or ["a", "b"], "pause": pause or {}},
                        actor=Actor.system(actor))
    assert runner.run(ex.id) == Status.PAUSED
    return Approval.objects.select_related("execution").get(execution_id=ex.id,
                                                            status="pending")


def finish(approval: Approval) -> Execution:
    """Run the decided approval's execution on this thread; the execution afterwards."""
    runner.run(approval.execution_id)
    return Execution.objects.get(pk=approval.execution_id)
